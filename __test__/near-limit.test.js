'use strict'
// The last moment before an out-of-memory death, in children that really die.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir, readSnapshot, countObjects, runChild } = require('./helpers')

// Few, large objects: the heap fills fast and the snapshot stays quick.
const LEAK = `
  class LeakedRecord { constructor () { this.payload = new Array(1024).fill(0) } }
  const leak = []
  setInterval(() => { for (let i = 0; i < 100; i++) leak.push(new LeakedRecord()) }, 1)
`

test('a process leaking to its heap limit leaves a complete snapshot, then dies', () => {
  const dir = tmpDir('near-limit')
  const r = runChild(`
    require(LG).configure({ dir: ${JSON.stringify(dir)}, nearHeapLimit: true, gzip: true })
    ${LEAK}
  `, { env: { NODE_OPTIONS: '--max-old-space-size=64' } })
  assert.notEqual(r.status, 0, 'it still runs out of memory')
  assert.match(r.stderr, /heap out of memory/)
  const files = fs.readdirSync(dir)
  assert.equal(files.length, 1, `one finished file, nothing half-written: ${files}`)
  assert.match(files[0], /^heapdump-\d+\.\d{6}\.heapsnapshot\.gz$/)
  const s = readSnapshot(path.join(dir, files[0]))
  assert.ok(countObjects(s, 'LeakedRecord') > 5000, 'the leaked objects are in it')
  assert.match(r.stderr, new RegExp(`heap snapshot \\(near-heap-limit\\) written to ${path.join(dir, files[0])}`))
})

test('when the guard refuses, the process dies as it would have, and stderr says why', () => {
  const dir = tmpDir('near-limit-refused')
  const r = runChild(`
    require(LG).configure({ dir: ${JSON.stringify(dir)}, nearHeapLimit: true, headroom: { limitMb: 1 } })
    ${LEAK}
  `, { env: { NODE_OPTIONS: '--max-old-space-size=64' } })
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /heap out of memory/)
  assert.match(r.stderr, /heap snapshot \(near-heap-limit\) skipped: .*needs (at least|an estimated) \d+ MiB.*\d+ MiB are available \(bound by headroom\.limitMb\).*; the process now runs out of heap as it would without leakguard/)
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('with memory tight enough for the guard to walk the heap, the near-limit snapshot is still taken', () => {
  const dir = tmpDir('near-limit-tight')
  // 1000 MiB to spare is below what a 64 MiB heap's bytes could need at worst,
  // so the guard counts and walks the heap, inside V8's near-heap-limit callback.
  const r = runChild(`
    require(LG).configure({ dir: ${JSON.stringify(dir)}, nearHeapLimit: true, gzip: true,
      headroom: { limitMb: process.memoryUsage().rss / 2 ** 20 + 1000 } })
    ${LEAK}
  `, { env: { NODE_OPTIONS: '--max-old-space-size=64' } })
  assert.match(r.stderr, /heap out of memory/)
  const files = fs.readdirSync(dir)
  assert.equal(files.length, 1, `one finished file: ${files}\n${r.stderr.slice(0, 2000)}`)
  assert.ok(countObjects(readSnapshot(path.join(dir, files[0])), 'LeakedRecord') > 5000)
})
