'use strict'
// leakguard's analysis against memlab's, an independent parser and
// dominator tree, on the same file. memlab computes the raw graph's
// dominators and self sizes; leakguard computes DevTools' (edges from V8's
// own roots into the page do not dominate, internal arrays count towards
// their owner, plain objects named by shape: see devtools.test.js), so only
// what those rules leave alone is compared: the node and edge counts, the
// total size, the number of objects of each JS class, and the retained size
// of the leak's class (which holds no internal array of its own and is
// reached only from the page).
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const leakguard = require('..')
const { tmpDir, runChild } = require('./helpers')

test('summary agrees with memlab on counts, total size, objects per class and the leak\'s retained size', async () => {
  const dir = tmpDir('memlab')
  const r = runChild(`
    const leakguard = require(LG)
    class Session { constructor (i) { this.id = i; this.user = { name: 'u' + i }; this.log = [] } }
    globalThis.sessions = new Map()
    for (let i = 0; i < 5000; i++) sessions.set(i, new Session(i))
    globalThis.handlers = Array.from({ length: 2000 }, (_, i) => () => sessions.get(i))
    setTimeout(() => leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'heap.heapsnapshot' }).then((s) => console.log(s.path)), 10)
  `)
  assert.equal(r.status, 0, r.stderr)
  const file = r.stdout.trim()
  const out = execFileSync(process.execPath, [path.join(__dirname, 'memlab-groups.js'), file],
    { encoding: 'utf8', maxBuffer: 64 << 20 })
  const memlab = JSON.parse(out.match(/^RESULT (.*)$/m)[1])
  const ours = await leakguard.analyze.summary(file, { top: 1e6 })
  assert.equal(ours.nodes, memlab.nodes)
  assert.equal(ours.edges, memlab.edges)
  assert.equal(ours.totalSize, memlab.totalSize)
  const byName = new Map(ours.byCount.map((g) => [g.name, g]))
  for (const name of ['Session', 'Map', 'Array', 'Set', 'Error']) {
    assert.ok(byName.has(name), `a ${name} row`)
    assert.equal(byName.get(name).count, memlab.groups[name]?.count, `${name} objects`)
  }
  assert.equal(byName.get('Function').count, memlab.groups['(closure)'].count, 'closures')
  assert.ok(byName.get('{name}').count >= 5000, 'the sessions\' user objects, named by shape')
  assert.equal(byName.get('Session').retainedSize, memlab.groups.Session.retainedSize)
  assert.ok(byName.get('Session').retainedSize >= 5000 * 3 * 16, 'a Session retains its user object and log')
})
