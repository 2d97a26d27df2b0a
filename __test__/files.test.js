'use strict'
// Never a half file, never debris: leftover temporary files from killed
// writers neither block nor stay, and an exit mid-write finishes the file.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { once } = require('node:events')
const leakguard = require('..')
const { tmpDir, listDir, readSnapshot, runChild } = require('./helpers')

const unshareWorks = spawnSync('unshare', ['-rm', 'true']).status === 0
const temp = (name, pid, hex = '0123456789abcdef') => `.${name}.${pid}.${hex}.leakguard.tmp`
const isTemp = (f) => f.endsWith('.tmp')

function deadPid () {
  const r = spawnSync('true')
  return r.pid
}

test('as PID 1 (a restarted container), leftovers of the killed PID 1 neither block nor stay', { skip: !unshareWorks && 'needs unshare (user and pid namespaces)' }, () => {
  const dir = tmpDir('pid1')
  // The old naming scheme's first name for this file, and the new one's.
  const old = '.app.heapsnapshot.1-0.tmp'
  const stale = temp('app.heapsnapshot', 1)
  const hoursAgo = new Date(Date.now() - 3 * 3600_000)
  for (const f of [old, stale]) {
    fs.writeFileSync(path.join(dir, f), '{"partial', { mode: 0o600 })
    fs.utimesSync(path.join(dir, f), hoursAgo, hoursAgo)
  }
  const r = runChild(`
    const out = (o) => console.log(JSON.stringify(o))
    require(LG).snapshot({ dir: ${JSON.stringify(dir)}, filename: 'app.heapsnapshot' })
      .then((s) => out({ pid: process.pid, path: s.path }), (e) => out({ pid: process.pid, message: e.message }))
  `, { wrap: ['unshare', '-rmpf', '--mount-proc'] })
  assert.equal(r.status, 0, r.stderr)
  const o = JSON.parse(r.stdout)
  assert.equal(o.pid, 1)
  assert.equal(o.path, path.join(dir, 'app.heapsnapshot'), o.message)
  readSnapshot(o.path)
  // The old-style name is not leakguard's exact pattern: left alone.
  assert.deepEqual(listDir(dir), [old, 'app.heapsnapshot'].sort())
})

test('a leftover temp file with this process\'s own pid does not block a snapshot', () => {
  const dir = tmpDir('own-pid')
  const r = runChild(`
    const fs = require('node:fs')
    fs.writeFileSync(${JSON.stringify(dir)} + '/.app.heapsnapshot.' + process.pid + '-0.tmp', 'x')
    require(LG).snapshot({ dir: ${JSON.stringify(dir)}, filename: 'app.heapsnapshot' })
      .then((s) => console.log('ok', s.path), (e) => console.log('failed', e.message))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^ok /, r.stdout)
  assert.ok(listDir(dir).includes('app.heapsnapshot'))
})

test('stale temp files (no writer holds their lock) are removed; a live writer\'s and anything else are not', async (t) => {
  const dir = tmpDir('stale')
  const dead = deadPid()
  const hoursAgo = new Date(Date.now() - 3 * 3600_000)
  const write = (f, { old = true } = {}) => {
    fs.writeFileSync(path.join(dir, f), 'secret', { mode: 0o600 })
    if (old) fs.utimesSync(path.join(dir, f), hoursAgo, hoursAgo)
  }
  const gone = [
    temp('a.heapsnapshot', dead),
    // A live pid is no proof of a live writer (pids are reused): the lock is.
    temp('heapdump-1.000001.heapsnapshot.gz', process.pid, 'ffffffffffffffff')
  ]
  const locked = temp('b.heapsnapshot', dead)
  const kept = [
    locked,
    temp('c.heapsnapshot', dead), // too recent: another writer may not have locked it yet
    `.a.heapsnapshot.${dead}.nothex0123456789.leakguard.tmp`, // not the exact pattern
    `.a.heapsnapshot.${dead}-0.tmp`,
    'notes.txt'
  ]
  for (const f of [...gone, ...kept]) write(f, { old: f !== kept[1] })
  // A live writer: flock(1) holds the lock on its file as leakguard's writer does.
  // It lets go when its stdin closes (at the latest when this process ends).
  const holder = spawn('flock', ['-x', path.join(dir, locked), '-c', 'echo locked; read x'], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => holder.stdin.end())
  await once(holder.stdout, 'data')
  // A symlink in the pattern is never followed, nor removed.
  const target = path.join(tmpDir('stale-target'), 'precious')
  fs.writeFileSync(target, 'precious')
  const link = temp('d.heapsnapshot', dead)
  fs.symlinkSync(target, path.join(dir, link))
  fs.lutimesSync(path.join(dir, link), hoursAgo, hoursAgo)

  const s = await leakguard.snapshot({ dir, filename: 'new.heapsnapshot' })
  assert.deepEqual(listDir(dir), [...kept, link, path.basename(s.path)].sort())
  assert.equal(fs.readFileSync(target, 'utf8'), 'precious')
})

// ~100 MB of heap, written with gzip: the writer still compresses, fsyncs and
// renames after the JS thread's part (take + serialize) has returned.
const bigHeap = `
  globalThis.keep = Array.from({ length: 1_200_000 }, (_, i) => ({ i, s: 'item-' + i }))
`

for (const [how, end] of [
  ['process.exit()', 'process.exit(0)'],
  ['an uncaught exception', 'throw new Error("boom")']
]) {
  test(`${how} while the writer finishes leaves the complete file, no temp`, () => {
    const dir = tmpDir('exit')
    const r = runChild(`
      ${bigHeap}
      const lg = require(LG)
      lg.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'exit.heapsnapshot', gzip: true })
      // snapshot() has returned: V8 serialized everything into the writer's queue.
      console.log('exiting', Date.now())
      ${end}
    `)
    assert.notEqual(r.status, null, `child killed by ${r.signal}: ${r.stderr}`)
    assert.deepEqual(listDir(dir), ['exit.heapsnapshot.gz'], r.stderr)
    readSnapshot(path.join(dir, 'exit.heapsnapshot.gz'))
  })
}

test('a retention delete that fails is an \'error\' event naming the file; the snapshot still succeeds', { skip: !unshareWorks && 'needs unshare -rm to bind-mount over a file' }, () => {
  const dir = tmpDir('retain-fail')
  const older = path.join(dir, 'heapdump-1.000001.heapsnapshot')
  fs.writeFileSync(older, 'old')
  const src = path.join(tmpDir('retain-src'), 'f')
  fs.writeFileSync(src, 'old')
  // A mount point cannot be unlinked (EBUSY).
  const r = runChild(`
    const lg = require(LG)
    const out = (o) => console.log(JSON.stringify(o))
    lg.on('error', (e) => out({ event: 'error', code: e.code, path: e.path, syscall: e.syscall, osCode: e.osCode, reason: e.reason, message: e.message }))
    lg.on('snapshot', (s) => out({ event: 'snapshot', path: s.path }))
    lg.configure({ dir: ${JSON.stringify(dir)}, retain: { maxFiles: 1 } })
    lg.snapshot().then((s) => out({ resolved: s.path }), (e) => out({ rejected: e.message }))
  `, { wrap: ['unshare', '-rm', 'sh', '-c', `mount --bind ${src} ${older} && exec "$@"`, 'sh'] })
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  const error = lines.find((l) => l.event === 'error')
  assert.ok(error, r.stdout)
  assert.equal(error.code, 'ERR_LEAKGUARD_WRITE')
  assert.equal(error.path, older)
  assert.equal(error.syscall, 'unlink')
  assert.equal(error.osCode, 'EBUSY')
  assert.equal(error.reason, 'api')
  assert.match(error.message, /retention could not delete .*heapdump-1\.000001\.heapsnapshot.*EBUSY/)
  const resolved = lines.find((l) => l.resolved)
  assert.ok(resolved, r.stdout)
  assert.ok(lines.some((l) => l.event === 'snapshot' && l.path === resolved.resolved))
  assert.match(r.stderr, /retention could not delete/)
  assert.ok(!listDir(dir).some(isTemp))
})
