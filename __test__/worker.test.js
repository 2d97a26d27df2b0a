'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { tmpDir, readSnapshot, countObjects, runChild } = require('./helpers')

test('a worker\'s snapshot holds the worker\'s heap, not the main thread\'s', () => {
  const dir = tmpDir('worker')
  const r = runChild(`
    const { Worker } = require('node:worker_threads')
    class MainOnlyThing {}
    globalThis.mainThings = Array.from({ length: 20000 }, () => new MainOnlyThing())
    const w = new Worker(\`
      const { parentPort } = require('node:worker_threads')
      class WorkerOnlyThing {}
      globalThis.workerThings = Array.from({ length: 7000 }, () => new WorkerOnlyThing())
      require(\${JSON.stringify(LG)}).snapshot({ dir: \${JSON.stringify(${JSON.stringify(dir)})}, filename: 'worker' })
        .then((r) => parentPort.postMessage(r.path), (e) => parentPort.postMessage('error ' + e.message))
    \`, { eval: true })
    w.on('message', async (workerPath) => {
      const main = await require(LG).snapshot({ dir: ${JSON.stringify(dir)}, filename: 'main' })
      console.log(JSON.stringify({ workerPath, mainPath: main.path }))
      w.terminate()
    })
  `)
  assert.equal(r.status, 0, r.stderr)
  const { workerPath, mainPath } = JSON.parse(r.stdout)
  const worker = readSnapshot(workerPath)
  assert.ok(countObjects(worker, 'WorkerOnlyThing') >= 7000)
  assert.ok(countObjects(worker, 'MainOnlyThing') < 100)
  const main = readSnapshot(mainPath)
  assert.ok(countObjects(main, 'MainOnlyThing') >= 20000)
  assert.ok(countObjects(main, 'WorkerOnlyThing') < 100)
})

test('workers that exit or are terminated with a snapshot in flight never abort the process', () => {
  const dir = tmpDir('worker-exit')
  const r = runChild(`
    const { Worker } = require('node:worker_threads')
    const src = (how) => \`
      const lg = require(\${JSON.stringify(LG)})
      globalThis.junk = Array.from({ length: 50000 }, (_, i) => ({ i }))
      lg.snapshot({ dir: \${JSON.stringify(${JSON.stringify(dir)})}, gzip: true })
      lg.snapshot({ dir: \${JSON.stringify(${JSON.stringify(dir)})} })
      \${how}
    \`
    let pending = 3
    const done = () => { if (--pending === 0) setTimeout(() => console.log('survived'), 300) }
    new Worker(src('process.exit(0)'), { eval: true }).on('exit', done)
    new Worker(src(''), { eval: true }).on('exit', done)
    const t = new Worker(src('require("node:worker_threads").parentPort.postMessage(1)'), { eval: true })
    t.on('message', () => t.terminate()).on('exit', done)
  `)
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /survived/)
  assert.doesNotMatch(r.stderr, /Assertion|abort/i)
})

test('process-wide triggers belong to the main thread; a worker gets a clear error', () => {
  const r = runChild(`
    const { Worker } = require('node:worker_threads')
    const w = new Worker(\`
      const { parentPort } = require('node:worker_threads')
      const lg = require(\${JSON.stringify(LG)})
      const out = []
      for (const options of [{ signal: 'SIGUSR2' }, { signal: false }, { nearHeapLimit: true }]) {
        try { lg.configure(options); out.push('accepted') } catch (e) { out.push(e.code + ': ' + e.message) }
      }
      // Per-isolate triggers are fine in a worker.
      lg.configure({ threshold: { heapUsedMb: 4096 } })
      parentPort.postMessage(out)
    \`, { eval: true })
    w.on('message', (out) => { console.log(JSON.stringify(out)); w.terminate() })
  `)
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.length, 3)
  assert.match(out[0], /^ERR_LEAKGUARD_CONFIG: leakguard: `signal` is process-wide and belongs to the main thread/)
  assert.match(out[1], /`signal` is process-wide/)
  assert.match(out[2], /`nearHeapLimit` is process-wide/)
})

test('a worker loading leakguard does not take over SIGUSR2 from the main thread', () => {
  const dir = tmpDir('worker-signal')
  const r = runChild(`
    const { Worker } = require('node:worker_threads')
    const lg = require(LG)
    lg.configure({ dir: ${JSON.stringify(dir)}, quiet: true })
    const w = new Worker('require(' + JSON.stringify(LG) + ')', { eval: true })
    w.on('exit', () => {
      lg.on('snapshot', (s) => { console.log('main ' + s.reason); process.exit(0) })
      process.kill(process.pid, 'SIGUSR2')
      setInterval(() => {}, 1000)
    })
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'main signal\n')
})
