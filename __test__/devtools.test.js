'use strict'
// leakguard's summary against Chrome DevTools' Summary view on the same
// file: DevTools' own heap-snapshot model (the devDependency
// chrome-devtools-frontend, bundled on first use into .cache/devtools/ by
// scripts/devtools-bundle.js; see __test__/devtools-model.js) and
// leakguard's `summary` must give the same rows: class names, counts, self
// and retained sizes, exactly, top 20 by retained size, self size and count.
// The four kinds of snapshot of bench/devtools-app.js (an idle event loop,
// module code and a request handler with stack roots, a worker), on the
// Node major running the suite (it runs under each).
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const leakguard = require('..')
const { summarize } = require('./devtools-model')
const { PKG, nodeCommand, tmpDir } = require('./helpers')

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
