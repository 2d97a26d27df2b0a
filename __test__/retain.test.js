'use strict'
// Retention deletes leakguard's own oldest snapshots, never anything else.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { tmpDir } = require('./helpers')

test('retain.maxFiles keeps the newest of leakguard\'s files and touches nothing else', async (t) => {
  const dir = tmpDir('retain')
  const others = ['app.heapsnapshot', 'notes.txt', 'heapdump-old.heapsnapshot']
  for (const f of others) fs.writeFileSync(path.join(dir, f), 'not ours')
  // Named by the app: not leakguard's default name, so never deleted.
  const named = (await leakguard.snapshot({ dir, filename: 'before-deploy.heapsnapshot' })).path
  t.after(() => leakguard.configure({ retain: false, dir: process.cwd() }))
  leakguard.configure({ dir, retain: { maxFiles: 2 } })
  const made = []
  for (let i = 0; i < 4; i++) made.push((await leakguard.snapshot()).path)
  const left = fs.readdirSync(dir).sort()
  assert.deepEqual(left, [...others, path.basename(named), ...made.slice(2).map((p) => path.basename(p))].sort())
})

test('retain.maxBytes never deletes the newest file', async (t) => {
  const dir = tmpDir('retain-bytes')
  t.after(() => leakguard.configure({ retain: false, dir: process.cwd() }))
  leakguard.configure({ dir, retain: { maxBytes: 1 } })
  await leakguard.snapshot()
  const last = await leakguard.snapshot()
  assert.deepEqual(fs.readdirSync(dir), [path.basename(last.path)])
})
