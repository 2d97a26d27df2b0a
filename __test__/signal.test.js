'use strict'
// `kill -USR2 <pid>`: real signals from kill(1) to real child processes.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir, readSnapshot, startChild, kill } = require('./helpers')

const snapshots = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'))

test('SIGUSR2 writes a snapshot while JS is stuck in a synchronous loop', async () => {
  const dir = tmpDir('sig-busy')
  const c = startChild(`
    const fs = require('node:fs')
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)} })
    console.log('spinning')
    const end = Date.now() + 8000
    while (Date.now() < end) {}
    // Still inside the same synchronous run: the file is already there.
    console.log('at-loop-end ' + JSON.stringify(fs.readdirSync(${JSON.stringify(dir)})))
  `)
  await c.line(/^spinning$/)
  await new Promise((resolve) => setTimeout(resolve, 300))
  kill('USR2', c.pid)
  const { code, stdout, stderr } = await c.exited
  assert.equal(code, 0, stderr)
  const files = JSON.parse(stdout.match(/^at-loop-end (.*)$/m)[1])
  const done = files.filter((f) => f.endsWith('.heapsnapshot'))
  assert.equal(done.length, 1, `a complete snapshot before the loop ended, got ${files}`)
  readSnapshot(path.join(dir, done[0]))
  // Nobody awaits a signal: one stderr line says where the file is.
  assert.match(stderr, new RegExp(`heap snapshot \\(signal\\) written to ${path.join(dir, done[0])}`))
})

test("SIGUSR2 composes with the app's listener, and survives its removal", async () => {
  const dir = tmpDir('sig-compose')
  const c = startChild(`
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)}, quiet: true })
    const appListener = () => console.log('app-listener')
    process.on('SIGUSR2', appListener)
    let n = 0
    leakguard.on('snapshot', (r) => {
      console.log('snapshot ' + (++n) + ' ' + r.reason)
      if (n === 1) { process.off('SIGUSR2', appListener); console.log('removed') }
      if (n === 2) process.exit(0)
    })
    setInterval(() => {}, 1000)
    console.log('ready')
  `)
  await c.line(/^ready$/)
  kill('USR2', c.pid)
  await c.line(/^app-listener$/)
  await c.line(/^snapshot 1 signal$/)
  await c.line(/^removed$/)
  kill('USR2', c.pid)
  await c.line(/^snapshot 2 signal$/)
  const { code, signal, stderr } = await c.exited
  assert.equal(signal, null, 'not killed by SIGUSR2')
  assert.equal(code, 0)
  assert.equal(stderr, '', 'quiet: no stderr line')
  assert.equal(snapshots(dir).length, 2)
})

test('a storm of 100 signals gives one snapshot in flight and one queued, and the process stays up', async () => {
  const dir = tmpDir('sig-storm')
  const c = startChild(`
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)}, quiet: true })
    // A heap that takes longer to snapshot than the storm lasts.
    globalThis.keep = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'k' + i }))
    let n = 0
    leakguard.on('snapshot', () => console.log('snapshot ' + (++n)))
    setInterval(() => {}, 1000)
    console.log('ready')
  `)
  await c.line(/^ready$/)
  execFileSync('bash', ['-c', 'for i in $(seq 100); do kill -USR2 "$1"; done', '_', String(c.pid)])
  await c.line(/^snapshot 1$/)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  assert.equal(c.child.exitCode, null, 'still running')
  kill('TERM', c.pid)
  const { signal } = await c.exited
  assert.equal(signal, 'SIGTERM')
  const n = snapshots(dir).length
  assert.ok(n >= 1 && n <= 2, `one in flight plus at most one queued, got ${n}`)
})

test('another signal can be chosen; refused ones say why', async () => {
  const leakguard = require('..')
  for (const [name, why] of [
    ['SIGUSR1', /SIGUSR1 is refused: Node's inspector owns it; accepted: SIGUSR2, SIGHUP/],
    ['SIGINT', /asks the process to stop/],
    ['SIGTERM', /asks the process to stop/],
    ['SIGKILL', /cannot be caught/],
    ['SIGSTOP', /cannot be caught/],
    ['SIGPROF', /profilers own it/],
    ['USR2', /"USR2" is not a signal leakguard listens on/]
  ]) {
    assert.throws(() => leakguard.configure({ signal: name }),
      (e) => e instanceof TypeError && e.code === 'ERR_LEAKGUARD_CONFIG' && why.test(e.message), name)
  }
  assert.throws(() => leakguard.configure({ signal: true }), /`signal`.*got true.*or false/)

  const dir = tmpDir('sig-hup')
  const c = startChild(`
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)}, signal: 'SIGHUP' })
    leakguard.on('snapshot', (r) => { console.log('snapshot ' + r.reason); process.exit(0) })
    setInterval(() => {}, 1000)
    console.log('ready')
  `)
  await c.line(/^ready$/)
  kill('HUP', c.pid)
  await c.line(/^snapshot signal$/)
  assert.equal((await c.exited).code, 0)
})

for (const [what, env, script] of [
  ['signal: false', {}, 'require(LG).configure({ signal: false })'],
  ['LEAKGUARD_OPTIONS=nosignal', { LEAKGUARD_OPTIONS: 'nosignal' }, 'require(LG)'],
  ["heapdump's NODE_HEAPDUMP_OPTIONS=nosignal", { NODE_HEAPDUMP_OPTIONS: 'nosignal' }, 'require(LG)']
]) {
  test(`${what} leaves SIGUSR2 alone`, async () => {
    const dir = tmpDir('sig-off')
    const c = startChild(`${script}; setInterval(() => {}, 1000); console.log('ready')`, { cwd: dir, env })
    await c.line(/^ready$/)
    kill('USR2', c.pid)
    const { signal } = await c.exited
    assert.equal(signal, 'SIGUSR2', 'the default action: nobody listens')
    assert.deepEqual(snapshots(dir), [])
  })
}
