'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const leakguard = require('..')
const { tmpDir, listDir, runChild } = require('./helpers')

test('a missing directory rejects with ERR_LEAKGUARD_WRITE naming the path; no file', async () => {
  const dir = path.join(tmpDir('missing'), 'does', 'not', 'exist')
  await assert.rejects(leakguard.snapshot({ dir, filename: 'x.heapsnapshot' }), (e) => {
    assert.equal(e.code, 'ERR_LEAKGUARD_WRITE')
    assert.equal(e.osCode, 'ENOENT')
    assert.equal(e.syscall, 'open')
    assert.equal(e.path, path.join(dir, 'x.heapsnapshot'))
    assert.match(e.message, /does not exist/)
    assert.ok(e.message.includes(e.path))
    return true
  })
  assert.equal(fs.existsSync(path.dirname(dir)), false)
})

test('an unwritable directory gives EACCES and leaves nothing', () => {
  const dir = tmpDir('readonly')
  fs.chmodSync(dir, 0o555)
  // root ignores permissions: as root, run the child without the capabilities
  // that bypass them (it stays root, so it can still read a 0700 checkout).
  const asRoot = process.getuid() === 0
    ? { wrap: ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--'] }
    : {}
  const r = runChild(`
    require(LG).snapshot({ dir: ${JSON.stringify(dir)} })
      .then(() => console.log('resolved'), (e) => console.log(JSON.stringify({ code: e.code, osCode: e.osCode, path: e.path, message: e.message })))
  `, { ...asRoot, cwd: '/' })
  assert.equal(r.status, 0, r.stderr)
  const e = JSON.parse(r.stdout)
  assert.equal(e.code, 'ERR_LEAKGUARD_WRITE')
  assert.equal(e.osCode, 'EACCES')
  assert.ok(e.path.startsWith(dir))
  assert.match(e.message, /permission denied/)
  assert.deepEqual(listDir(dir), [])
})

const unshareWorks = spawnSync('unshare', ['-rm', 'true']).status === 0

test('a disk that fills up mid-write gives ENOSPC and leaves no file', { skip: !unshareWorks && 'needs unshare -rm (user namespaces) to mount a tiny tmpfs' }, () => {
  // A 1 MiB tmpfs in a private mount namespace: the snapshot (several MB) cannot fit.
  const mnt = tmpDir('full')
  const r = runChild(`
    const fs = require('node:fs')
    const out = (o) => console.log(JSON.stringify(o))
    require(LG).snapshot({ dir: ${JSON.stringify(mnt)}, filename: 'big.heapsnapshot' }).then(
      () => out({ resolved: true }),
      (e) => out({ code: e.code, osCode: e.osCode, message: e.message, left: fs.readdirSync(${JSON.stringify(mnt)}) }))
  `, { wrap: ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs ${mnt} && exec "$@"`, 'sh'] })
  assert.equal(r.status, 0, r.stderr)
  const e = JSON.parse(r.stdout)
  assert.equal(e.code, 'ERR_LEAKGUARD_WRITE', r.stdout)
  assert.equal(e.osCode, 'ENOSPC')
  assert.match(e.message, /disk is full/)
  assert.deepEqual(e.left, [], 'neither the final nor the temporary file may remain')
})

test('bad options throw a TypeError naming the option and the accepted values', async () => {
  const cases = [
    [() => leakguard.configure({ gzip: 'yes' }), /`gzip`.*"yes" \(string\).*1-9/],
    [() => leakguard.configure({ gzip: 10 }), /`gzip`.*10 \(number\)/],
    [() => leakguard.configure({ gzip: 1.5 }), /`gzip`/],
    [() => leakguard.configure({ directory: '/tmp' }), /unknown option `directory`.*dir, gzip/],
    [() => leakguard.configure({ dir: '' }), /`dir`.*non-empty path/],
    [() => leakguard.configure(42), /options object/],
    [() => leakguard.writeSnapshot(42), /filename must be a non-empty string or a callback/],
    [() => leakguard.writeSnapshot('a\0b'), /filename contains a NUL byte/],
    [() => leakguard.writeSnapshot(''), /filename is empty/],
    [() => leakguard.writeSnapshot('x', 'y'), /callback must be a function/]
  ]
  for (const [fn, message] of cases) {
    assert.throws(fn, (e) => {
      assert.ok(e instanceof TypeError, `${e} is a TypeError`)
      assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
      assert.match(e.message, message)
      return true
    })
  }
  await assert.rejects(leakguard.snapshot({ dri: '/tmp' }), (e) => {
    assert.ok(e instanceof TypeError)
    assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
    assert.match(e.message, /unknown option `dri`.*dir, filename, gzip, reason/)
    return true
  })
  await assert.rejects(leakguard.snapshot({ reason: '' }), /`reason`/)
})

test('writeSnapshot without a callback reports a failure as a warning, never a crash', () => {
  const r = runChild(`
    process.on('warning', (w) => console.log('warning', w.code, w.message.includes('/nonexistent-dir-xyz')))
    console.log('returned', require(LG).writeSnapshot('/nonexistent-dir-xyz/a.heapsnapshot'))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /returned true/)
  assert.match(r.stdout, /warning ERR_LEAKGUARD_WRITE true/)
})

test('a target that is not a regular file (a device, a directory) is refused, never replaced', async () => {
  for (const filename of ['/dev/null', tmpDir('is-a-dir')]) {
    await assert.rejects(leakguard.snapshot({ filename }), (e) => {
      assert.equal(e.code, 'ERR_LEAKGUARD_WRITE')
      assert.equal(e.path, filename)
      assert.match(e.message, /not a regular file/)
      return true
    })
  }
  assert.ok(fs.statSync('/dev/null').isCharacterDevice())
})
