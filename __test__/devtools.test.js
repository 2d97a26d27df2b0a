'use strict'
// leakguard's summary against Chrome DevTools' Summary view on the same
// file: DevTools' own heap-snapshot model (the devDependency
// chrome-devtools-frontend, bundled on first use into .cache/devtools/ by
// scripts/devtools-bundle.js; see __test__/devtools-model.js) and
// leakguard's `summary` must give the same rows: class names, counts, self
// and retained sizes, exactly, top 20 by retained size, self size and count.
// The four kinds of snapshot of bench/devtools-app.js (an idle event loop,
// module code and a request handler with stack roots, a worker), on the
// Node major running the suite (it runs under each). And diff against the
// Summary view's "Objects allocated between" filter on three snapshots.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const leakguard = require('..')
const { summarize, allocatedBetween } = require('./devtools-model')
const { PKG, nodeCommand, tmpDir, runChild } = require('./helpers')

const APP = path.join(PKG, 'bench', 'devtools-app.js')
const CLI = path.join(PKG, 'bin', 'leakguard.js')
const TOP = 20
const major = process.versions.node.split('.')[0]

/** Writes one snapshot of `kind` with a small leak; returns its path. */
function snapshot (kind) {
  const dir = tmpDir(`devtools-${kind}`)
  const out = execFileSync(...nodeCommand([APP, kind, dir, '--n', '2000']), { encoding: 'utf8', cwd: PKG, timeout: 120_000 })
  return out.trim().split(/\s+/)[0]
}

// One order for both sides, so ties cannot reorder rows: `by`, then retained,
// self, count (largest first), then name.
const order = (by) => (a, b) => b[by] - a[by] || b.retained - a.retained || b.self - a.self ||
  b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
const top = (rows, by) => rows.slice().sort(order(by)).slice(0, TOP)
  .map((r) => `${r.name}: ${r.count} objects, self ${r.self}, retained ${r.retained}`)

for (const kind of ['idle', 'sync', 'handler', 'worker']) {
  test(`summary = DevTools' Summary view: ${kind} snapshot, Node ${major}`, async () => {
    const file = snapshot(kind)
    // DevTools warns about nodes only weak edges reach (8 Intl functions on
    // Node 26): both sides hang them off the root.
    const warn = console.warn
    console.warn = () => {}
    const devtools = await summarize(file).finally(() => { console.warn = warn })
    delete devtools.snapshot
    const ours = await leakguard.analyze.summary(file, { top: 1e6 })
    assert.equal(ours.nodes, devtools.nodeCount)
    assert.equal(ours.edges, devtools.edgeCount)
    assert.equal(ours.totalSize, devtools.totalSize)
    const rows = ours.byRetainedSize.map((g) => ({ name: g.name, count: g.count, self: g.selfSize, retained: g.retainedSize }))
    assert.equal(rows.length, devtools.rows.length, 'as many classes')
    for (const by of ['retained', 'self', 'count']) {
      assert.deepEqual(top(rows, by), top(devtools.rows, by), `top ${TOP} by ${by}`)
    }
    // DevTools' names for what this app leaks are all there.
    const names = new Set(rows.map((r) => r.name))
    for (const name of ['SessionEntry', '{name, roles}', 'Function', '(concatenated string)', '(sliced string)', '(number)', 'Map', 'Set']) {
      assert.ok(names.has(name), `a ${name} row`)
    }
    // The API's top N is the CLI's.
    if (kind === 'idle') {
      const json = JSON.parse(execFileSync(...nodeCommand([CLI, 'summary', file, '--json', '--top', String(TOP)]), { encoding: 'utf8' }))
      assert.deepEqual(json.byRetainedSize, ours.byRetainedSize.slice(0, TOP))
      assert.deepEqual(json.bySelfSize, ours.bySelfSize.slice(0, TOP))
      assert.deepEqual(json.byCount, ours.byCount.slice(0, TOP))
    }
  })
}

test(`diff = DevTools' "Objects allocated between s1 and s2" on s3, Node ${major}`, async () => {
  const dir = tmpDir('devtools-diff')
  const r = runChild(`
    const leakguard = require(LG)
    class SessionEntry { constructor (i) { this.id = i; this.user = { name: 'user' + i, roles: ['reader'] }; this.token = 'tok-' + i.toString(36) + '-' + 'x'.repeat(20) } }
    const sessions = new Map()
    const listeners = []
    let n = 0
    function step () {
      n++
      const e = new SessionEntry(n)
      sessions.set('session:' + n, e)
      listeners.push(function onConfigChange () { return e.id })
    }
    ;(async () => {
      for (let i = 0; i < 50; i++) step()
      const snap = async (filename) => (await leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename })).path
      const s1 = await snap('s1.heapsnapshot')
      for (let i = 0; i < 3000; i++) step()
      const s2 = await snap('s2.heapsnapshot')
      for (let i = 0; i < 3000; i++) step()
      console.log(JSON.stringify([s1, s2, await snap('s3.heapsnapshot')]))
    })()
  `)
  assert.equal(r.status, 0, r.stderr)
  const files = JSON.parse(r.stdout)
  const warn = console.warn
  console.warn = () => {}
  const devtools = new Map((await allocatedBetween(...files).finally(() => { console.warn = warn })).map((r) => [r.name, r]))
  const ours = await leakguard.analyze.diff(...files, { top: 1e6 })
  assert.equal(ours.groups[0].name, 'SessionEntry')
  for (const g of ours.groups) {
    assert.deepEqual({ name: g.name, count: g.count, self: g.selfSize, retained: g.retainedSize }, devtools.get(g.name), `the ${g.name} row`)
  }
  // DevTools' other rows are what diff leaves out: V8's code, shapes and
  // arrays, and Node's native objects.
  const listed = new Set(ours.groups.map((g) => g.name))
  const left = [...devtools.keys()].filter((name) => !listed.has(name))
  assert.deepEqual(left.filter((name) => !/^(\(system\)|\(compiled code\)|\(array\)|\(object shape\)|\(number\)|system \/ |Node \/ )/.test(name)), [])
})
