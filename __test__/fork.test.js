'use strict'
// capture: 'fork' (Linux): the snapshot is built and written by a forked
// child while the app runs on. Real forks of real child processes; the
// files are parsed as snapshots.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { PKG, nodeCommand, tmpDir, readSnapshot, countObjects, listDir, runChild, startChild, kill } = require('./helpers')

const linux = process.platform === 'linux'
const cli = (...args) => nodeCommand([path.join(PKG, 'bin', 'leakguard.js'), ...args])

// In the app: the pids of this process's children (the fork child among them).
const CHILDREN = `
  const children = () => require('node:fs').readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).filter((p) => {
    try { return require('node:fs').readFileSync('/proc/' + p + '/stat', 'utf8').split(') ')[1].split(' ')[1] === String(process.pid) } catch { return false }
  }).map(Number)
`

// A heap of small objects, so that the child runs for a while.
const HEAP = (mb) => `
  class Ballast { constructor (i) { this.i = i; this.s = 'b' + i } }
  globalThis.ballast = Array.from({ length: ${mb} * 12000 }, (_, i) => new Ballast(i))
`

test('a fork snapshot parses, holds a marker class, and says its ids are fresh', { skip: !linux }, () => {
  const dir = tmpDir('fork-basic')
  const r = runChild(`
    const leakguard = require(LG)
    class ForkMarker { constructor (i) { this.i = i } }
    globalThis.keep = Array.from({ length: 3210 }, (_, i) => new ForkMarker(i))
    Promise.all([
      leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'raw.heapsnapshot', capture: 'fork' }),
      leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'z.heapsnapshot', capture: 'fork', gzip: true })
    ]).then((rs) => console.log(JSON.stringify(rs)), (e) => { console.error(e); process.exit(1) })
  `)
  assert.equal(r.status, 0, r.stderr)
  const results = JSON.parse(r.stdout)
  for (const [i, file] of [['0', 'raw.heapsnapshot'], ['1', 'z.heapsnapshot.gz']]) {
    const result = results[i]
    assert.equal(result.path, path.join(dir, file))
    assert.equal(result.objectIds, 'fresh')
    assert.ok(result.fork.pid > 0 && result.fork.childPeakRss > 1 << 20, JSON.stringify(result.fork))
    assert.ok(result.fork.parentGrowth >= 0)
    const { gcMs, forkMs, abortMs } = result.fork
    assert.ok(gcMs > 0 && forkMs > 0 && abortMs >= 0 && gcMs + forkMs + abortMs <= result.blockMs + 1, JSON.stringify(result))
    assert.equal(result.bytes, fs.statSync(result.path).size)
    assert.equal(fs.statSync(result.path).mode & 0o777, 0o600)
    const s = readSnapshot(result.path)
    assert.equal(countObjects(s, 'ForkMarker'), 3210)
    assert.deepEqual(s.snapshot.leakguard, { capture: 'fork' })
  }
  assert.equal(results[1].gzip, true)
  assert.deepEqual(listDir(dir), ['raw.heapsnapshot', 'z.heapsnapshot.gz'])
})

test('fork capture from a worker, from LEAKGUARD_CAPTURE, and with writeSnapshot', { skip: !linux }, () => {
  const dir = tmpDir('fork-worker')
  const r = runChild(`
    const { Worker } = require('node:worker_threads')
    const leakguard = require(LG)
    leakguard.configureFromEnv()
    const w = new Worker(\`
      const leakguard = require(\${JSON.stringify(LG)})
      class WorkerMarker {}
      globalThis.keep = Array.from({ length: 777 }, () => new WorkerMarker())
      leakguard.snapshot({ dir: \${JSON.stringify(${JSON.stringify(dir)})}, filename: 'worker.heapsnapshot' })
        .then((r) => require('node:worker_threads').parentPort.postMessage(r.objectIds))
    \`, { eval: true })
    w.on('message', (ids) => {
      console.log('worker ' + ids)
      leakguard.writeSnapshot(${JSON.stringify(path.join(dir, 'main.heapsnapshot'))}, (err, file) => {
        console.log('main ' + (err ? err.message : file))
        w.terminate()
      })
    })
  `, { env: { LEAKGUARD_CAPTURE: 'fork' } })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^worker fresh$/m)
  assert.match(r.stdout, new RegExp(`^main ${path.join(dir, 'main.heapsnapshot')}$`, 'm'))
  assert.equal(countObjects(readSnapshot(path.join(dir, 'worker.heapsnapshot')), 'WorkerMarker'), 777)
  assert.deepEqual(readSnapshot(path.join(dir, 'main.heapsnapshot')).snapshot.leakguard, { capture: 'fork' })
})

test('30 fork snapshots while JS allocates and compiles: no hang, no crash, every file valid', { skip: !linux }, () => {
  const dir = tmpDir('fork-churn')
  const r = runChild(`
    const leakguard = require(LG)
    let churn = []
    let compiled = 0
    const spin = () => {
      for (let i = 0; i < 2000; i++) churn.push({ i, s: 'x' + i })
      if (churn.length > 50000) churn = []
      new Function('a', 'return a + ' + (compiled++))(1)
      setImmediate(spin)
    }
    spin()
    const run = async () => {
      for (let i = 0; i < 30; i++) {
        await leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'c' + i + '.heapsnapshot', capture: 'fork', gzip: i % 2 === 1 })
      }
      console.log('compiled ' + compiled)
      process.exit(0)
    }
    run().catch((e) => { console.error(e); process.exit(1) })
  `, { timeout: 300_000 }) // 27-60 s here; the children run at nice 10, and starve on a busy machine
  assert.equal(r.status, 0, r.stderr)
  assert.ok(Number(r.stdout.match(/compiled (\d+)/)[1]) > 30, r.stdout)
  const files = listDir(dir)
  assert.equal(files.length, 30, files.join())
  for (const f of files) readSnapshot(path.join(dir, f))
})

test("SIGUSR2 with capture: 'fork' writes a snapshot while JS is stuck", { skip: !linux }, async () => {
  const dir = tmpDir('fork-signal')
  const c = startChild(`
    const fs = require('node:fs')
    const leakguard = require(LG)
    leakguard.configure({ dir: ${JSON.stringify(dir)}, capture: 'fork' })
    console.log('spinning')
    const end = Date.now() + 8000
    while (Date.now() < end) {
      if (fs.readdirSync(${JSON.stringify(dir)}).some((f) => f.endsWith('.heapsnapshot'))) break
    }
    console.log('seen ' + JSON.stringify(fs.readdirSync(${JSON.stringify(dir)})))
  `)
  await c.line(/^spinning$/)
  await new Promise((resolve) => setTimeout(resolve, 300))
  kill('USR2', c.pid)
  const { code, stdout, stderr } = await c.exited
  assert.equal(code, 0, stderr)
  const files = JSON.parse(stdout.match(/^seen (.*)$/m)[1]).filter((f) => f.endsWith('.heapsnapshot'))
  assert.equal(files.length, 1, stdout)
  assert.deepEqual(readSnapshot(path.join(dir, files[0])).snapshot.leakguard, { capture: 'fork' })
  assert.match(stderr, /heap snapshot \(signal\) written to/)
})

test('a fork child killed mid-write leaves no file, and the error says what killed it', { skip: !linux }, () => {
  const dir = tmpDir('fork-kill')
  const r = runChild(`
    const leakguard = require(LG)
    ${HEAP(40)}
    ${CHILDREN}
    const fs = require('node:fs')
    const p = leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'killed.heapsnapshot', capture: 'fork' })
    // Once the child has written some of the file.
    const look = setInterval(() => {
      const temp = fs.readdirSync(${JSON.stringify(dir)}).find((f) => f.endsWith('.leakguard.tmp'))
      const pids = children()
      if (temp && pids.length && fs.statSync(${JSON.stringify(dir)} + '/' + temp).size > 0) {
        clearInterval(look)
        process.kill(pids[0], 'SIGKILL')
      }
    }, 1)
    p.then(() => { console.log('resolved'); process.exit(1) }, (e) => {
      console.log(JSON.stringify({ code: e.code, message: e.message, files: require('node:fs').readdirSync(${JSON.stringify(dir)}) }))
    })
  `)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const e = JSON.parse(r.stdout)
  assert.equal(e.code, 'ERR_LEAKGUARD_CAPTURE')
  assert.match(e.message, /fork child \(pid \d+\) was killed by SIGKILL/)
  assert.deepEqual(e.files, [])
})

test("the fork child does not hold the app's listening socket", { skip: !linux }, () => {
  const r = runChild(`
    const net = require('node:net')
    const leakguard = require(LG)
    ${HEAP(60)}
    ${CHILDREN}
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      const p = leakguard.snapshot({ dir: ${JSON.stringify(tmpDir('fork-socket'))}, capture: 'fork' })
      server.close(() => {
        const running = children().length
        const again = net.createServer().listen(port, '127.0.0.1', () => {
          console.log('rebound while children=' + running)
          again.close()
          p.then((s) => console.log('done ' + s.objectIds))
        })
        again.on('error', (e) => { console.log('rebind failed ' + e.code); process.exit(1) })
      })
    })
  `)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /^rebound while children=1$/m)
  assert.match(r.stdout, /^done fresh$/m)
})

test("the guard counts the fork's copy-on-write, and refuses loudly", { skip: !linux }, () => {
  const dir = tmpDir('fork-guard')
  const r = runChild(`
    const fs = require('node:fs')
    const leakguard = require(LG)
    ${HEAP(10)}
    const mb = (b) => b / 1048576
    const privateMb = () => {
      const lines = fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\\n')
      const kb = (k) => Number(lines.find((l) => l.startsWith(k + ':')).split(/ +/)[1])
      return (kb('Private_Clean') + kb('Private_Dirty')) / 1024
    }
    const take = (capture) => leakguard.snapshot({ dir: ${JSON.stringify(dir)}, capture }).then(
      (s) => ({ taken: true, need: s.headroom.need }), (e) => ({ code: e.code, message: e.message }))
    const run = async () => {
      // A fixed factor makes the need a plain product of heapUsed, decided
      // before capture: room for an in-process snapshot, not for one that
      // also sets aside the private RSS. The first snapshot settles the heap.
      const factor = 30
      leakguard.configure({ headroom: { factor } })
      await take('in-process')
      const need = mb(leakguard.headroom().need)
      const limitMb = Math.ceil(mb(process.memoryUsage().rss) + need + privateMb() / 2)
      leakguard.configure({ headroom: { factor, limitMb } })
      const inCheck = leakguard.headroom()
      leakguard.configure({ capture: 'fork' })
      const check = leakguard.headroom()
      const fork = await take()
      const files = fs.readdirSync(${JSON.stringify(dir)})
      console.log(JSON.stringify({ limitMb, inCheck, check, fork, files }))
    }
    run()
  `)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.inCheck.fits, true, JSON.stringify(out))
  assert.equal(out.check.fits, false, JSON.stringify(out))
  assert.match(out.check.boundBy, /headroom.limitMb, less \d+ MiB set aside for the app's copy-on-write growth while the fork child runs/)
  assert.equal(out.fork.code, 'ERR_LEAKGUARD_HEADROOM', JSON.stringify(out))
  assert.match(out.fork.message, /copy-on-write/)
  assert.equal(out.files.length, 1, 'no file from the refused fork')
})

test('leakguard diff refuses fork snapshots, saying why', { skip: !linux }, () => {
  const dir = tmpDir('fork-diff')
  const r = runChild(`
    const leakguard = require(LG)
    const take = (name, capture) => leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: name, capture })
    take('s1.heapsnapshot', 'in-process')
      .then(() => take('s2.heapsnapshot', 'fork'))
      .then(() => take('s3.heapsnapshot', 'in-process'))
  `)
  assert.equal(r.status, 0, r.stderr)
  const files = ['s1', 's2', 's3'].map((n) => path.join(dir, `${n}.heapsnapshot`))
  let failed
  try {
    execFileSync(...cli('diff', ...files), { encoding: 'utf8', stdio: 'pipe' })
  } catch (e) { failed = e }
  assert.ok(failed, 'diff must refuse')
  assert.match(failed.stderr, /s2 .*capture: 'fork'/)
  assert.match(failed.stderr, /fresh object ids/)
  // summary reads it like any other snapshot.
  const summary = execFileSync(...cli('summary', files[1]), { encoding: 'utf8' })
  assert.match(summary, /Object/)
})

test("capture options are checked: values, and 'fork' where it cannot run", () => {
  const r = runChild(`
    const leakguard = require(LG)
    const errors = []
    try { leakguard.configure({ capture: 'child' }) } catch (e) { errors.push(e.code + ' ' + e.message) }
    leakguard.snapshot({ capture: 1 }).then(() => process.exit(1), (e) => {
      errors.push(e.code + ' ' + e.message)
      console.log(JSON.stringify({ errors, env: leakguard.configureFromEnv() }))
    })
  `, { env: { LEAKGUARD_CAPTURE: 'sometimes' } })
  assert.equal(r.status, 0, r.stderr)
  const { errors, env } = JSON.parse(r.stdout)
  assert.match(errors[0], /^ERR_LEAKGUARD_CONFIG leakguard: invalid option `capture` for configure\(\): got "child" \(string\); accepted: 'in-process' or 'fork'/)
  assert.match(errors[1], /^ERR_LEAKGUARD_CONFIG leakguard: invalid option `capture` for snapshot\(\): got 1 \(number\)/)
  assert.ok(env.some((m) => /LEAKGUARD_CAPTURE/.test(m) && /'in-process' or 'fork'/.test(m)), env.join('\n'))
})
