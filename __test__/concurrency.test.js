'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { tmpDir, readSnapshot, listDir } = require('./helpers')

test('concurrent calls run one at a time, in call order, each to its own complete file', async () => {
  const dir = tmpDir('concurrent')
  const done = []
  const calls = ['a', 'b', 'c'].map((name) =>
    leakguard.snapshot({ dir, filename: name, gzip: name === 'b' }).then((r) => { done.push(name); return r }))
  const results = await Promise.all(calls)
  assert.deepEqual(done, ['a', 'b', 'c'])
  assert.deepEqual(results.map((r) => path.basename(r.path)), ['a', 'b.gz', 'c'])
  for (const r of results) readSnapshot(r.path)
  assert.deepEqual(listDir(dir), ['a', 'b.gz', 'c'])
})

test('a queued call waits for the previous file to be complete before capturing', async () => {
  const dir = tmpDir('waits')
  let firstComplete = false
  const t0 = performance.now()
  const first = leakguard.snapshot({ dir, filename: 'first', gzip: true }).then((r) => {
    firstComplete = fs.existsSync(r.path)
    return r
  })
  const second = await leakguard.snapshot({ dir, filename: 'second' })
  const elapsed = performance.now() - t0
  const a = await first
  assert.ok(firstComplete)
  // The second capture started after the first finished: its file is newer.
  assert.ok(fs.statSync(second.path).mtimeMs >= fs.statSync(a.path).mtimeMs)
  // Each totalMs runs from that capture's own start to its rename; had they
  // overlapped, the whole would take less than the sum.
  assert.ok(elapsed >= a.totalMs + second.totalMs - 5, `${elapsed} ms for ${a.totalMs} + ${second.totalMs} ms`)
})

test('a failing call does not block the ones queued behind it', async () => {
  const dir = tmpDir('failing')
  const results = await Promise.allSettled([
    leakguard.snapshot({ dir, filename: 'ok1' }),
    leakguard.snapshot({ dir: path.join(dir, 'missing'), filename: 'bad' }),
    leakguard.snapshot({ dir, filename: 'ok2' })
  ])
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  assert.equal(results[1].reason.code, 'ERR_LEAKGUARD_WRITE')
  assert.deepEqual(listDir(dir), ['ok1', 'ok2'])
})
