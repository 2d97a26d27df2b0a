'use strict'
// leakguard's analysis against memlab's on the same file: the same node and
// edge counts, the same top-10 constructors by retained size.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const leakguard = require('..')
const { tmpDir, runChild } = require('./helpers')

test('summary agrees with memlab on counts and the top-10 constructors by retained size', async () => {
  const dir = tmpDir('memlab')
  const r = runChild(`
    const leakguard = require(LG)
    class Session { constructor (i) { this.id = i; this.user = { name: 'u' + i }; this.log = [] } }
    globalThis.sessions = new Map()
    for (let i = 0; i < 5000; i++) sessions.set(i, new Session(i))
    globalThis.handlers = Array.from({ length: 2000 }, (_, i) => () => sessions.get(i))
    leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'heap.heapsnapshot' }).then((s) => console.log(s.path))
  `)
  assert.equal(r.status, 0, r.stderr)
  const file = r.stdout.trim()
  const out = execFileSync(process.execPath, [path.join(__dirname, 'memlab-groups.js'), file],
    { encoding: 'utf8', maxBuffer: 64 << 20 })
  const memlab = JSON.parse(out.match(/^RESULT (.*)$/m)[1])
  const ours = await leakguard.analyze.summary(file, { top: 10 })
  assert.equal(ours.nodes, memlab.nodes)
  assert.equal(ours.edges, memlab.edges)
  assert.deepEqual(ours.byRetainedSize.map((g) => [g.name, g.count, g.retainedSize]),
    memlab.top.map((g) => [g.name, g.count, g.retainedSize]))
})
