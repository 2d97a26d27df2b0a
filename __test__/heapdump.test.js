'use strict'
// leakguard as a drop-in for the `heapdump` module.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { tmpDir, readSnapshot, listDir, runChild } = require('./helpers')

test('writeSnapshot() returns true and writes heapdump-<sec>.<usec>.heapsnapshot in the cwd, even as the last thing a script does', () => {
  const cwd = tmpDir('hd-default')
  const before = Date.now() / 1000
  const r = runChild('console.log(require(LG).writeSnapshot())', { cwd })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'true')
  const files = listDir(cwd)
  assert.equal(files.length, 1, `one complete file, no temporaries: ${files}`)
  const m = files[0].match(/^heapdump-(\d+)\.(\d{6})\.heapsnapshot$/)
  assert.ok(m, files[0])
  assert.ok(Math.abs(Number(m[1]) - before) < 60, 'seconds are wall-clock time')
  readSnapshot(path.join(cwd, files[0]))
})

test('writeSnapshot(filename, cb) and writeSnapshot(cb) call back (null, filename) once complete', () => {
  const cwd = tmpDir('hd-cb')
  const r = runChild(`
    const fs = require('node:fs')
    const hd = require(LG)
    hd.writeSnapshot('named.heapsnapshot', (err, file) => {
      console.log(JSON.stringify({ err, file, size: fs.statSync(file).size }))
      hd.writeSnapshot((err2, file2) => console.log(JSON.stringify({ err: err2, file: file2 })))
    })
  `, { cwd })
  assert.equal(r.status, 0, r.stderr)
  const [a, b] = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(a.err, null)
  assert.equal(a.file, path.join(cwd, 'named.heapsnapshot'))
  assert.ok(a.size > 0)
  assert.equal(b.err, null)
  assert.match(path.basename(b.file), /^heapdump-\d+\.\d{6}\.heapsnapshot$/)
})

test('writeSnapshot(cb) passes a write error to the callback', () => {
  const r = runChild(`
    require(LG).writeSnapshot('/nonexistent-dir-xyz/a.heapsnapshot', (err, file) =>
      console.log(JSON.stringify({ code: err && err.code, osCode: err && err.osCode, file })))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { code: 'ERR_LEAKGUARD_WRITE', osCode: 'ENOENT' })
})
