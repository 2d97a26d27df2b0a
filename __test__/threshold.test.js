'use strict'
// The heap threshold, checked after garbage collections, in real children.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir, readSnapshot, runChild } = require('./helpers')

test('a heap growing past heapUsedMb takes maxSnapshots snapshots, each logged', () => {
  const dir = tmpDir('threshold')
  const r = runChild(`
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)},
      threshold: { heapUsedMb: 24, cooldownMs: 0, maxSnapshots: 2 } })
    const seen = []
    leakguard.on('snapshot', (s) => { seen.push(s); console.log('snapshot ' + s.reason + ' ' + s.heapUsed) })
    const leak = []
    const grow = setInterval(() => {
      for (let i = 0; i < 5000; i++) leak.push('x'.repeat(64) + i)
      if (leak.length > 400000) { clearInterval(grow); console.log('grown') }
    }, 1)
  `)
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.match(/^snapshot .*$/gm) ?? []
  assert.equal(lines.length, 2, r.stdout)
  for (const l of lines) {
    const [, reason, heapUsed] = l.split(' ')
    assert.equal(reason, 'threshold')
    assert.ok(Number(heapUsed) >= 24 * 1048576, `taken at or above the threshold: ${heapUsed}`)
  }
  const files = fs.readdirSync(dir)
  assert.equal(files.length, 2)
  for (const f of files) {
    readSnapshot(path.join(dir, f))
    assert.match(r.stderr, new RegExp(`heap snapshot \\(threshold\\) written to ${path.join(dir, f)}`))
  }
})

test('threshold options are checked', () => {
  const leakguard = require('..')
  assert.throws(() => leakguard.configure({ threshold: {} }), /set heapUsedMb or heapUsedRatio/)
  assert.throws(() => leakguard.configure({ threshold: { heapUsedRatio: 2 } }), /0 < ratio <= 1/)
  assert.throws(() => leakguard.configure({ threshold: { heapUsedMb: 10, maxSnapshots: 0 } }),
    /`maxSnapshots`.*whole number >= 1/)
  assert.throws(() => leakguard.configure({ threshold: { heapUsedMB: 10 } }), /unknown option `heapUsedMB`/)
  leakguard.configure({ threshold: { heapUsedRatio: 0.99 } })
  leakguard.configure({ threshold: false })
})

test('a refusal is not a snapshot: the threshold stays armed and takes one once memory allows', () => {
  const dir = tmpDir('threshold-refused')
  const r = runChild(`
    const leakguard = require(LG)
    const tight = { limitMb: process.memoryUsage().rss / 2 ** 20 + 1 }
    leakguard.configure({ dir: ${JSON.stringify(dir)}, quiet: true, headroom: tight,
      threshold: { heapUsedMb: 24, cooldownMs: 0, maxSnapshots: 2 } })
    let skipped = 0
    leakguard.on('skipped', () => {
      // More refusals than maxSnapshots, then room: the next crossing must snapshot.
      if (++skipped === 4) leakguard.configure({ headroom: {} })
    })
    leakguard.on('snapshot', (s) => { console.log('snapshot after ' + skipped + ' refusals'); process.exit(0) })
    // About 40 MB held above the threshold, and garbage so that collections keep coming.
    const held = []
    let n = 0
    setInterval(() => { for (let i = 0; i < 5000; i++) held[n++ % 400000] = 'x'.repeat(64) + n }, 1)
    setTimeout(() => { console.log('no snapshot after ' + skipped + ' refusals'); process.exit(1) }, 60000)
  `)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /^snapshot after 4 refusals$/m)
  assert.equal(fs.readdirSync(dir).length, 1)
})
