'use strict'
// `npm run bench [-- --mb 300 --rounds 3 --only capture|floor|shapes|guard|http|analysis]`.
// capture: every variant in a fresh process, round-robin, on the same heap.
// floor:   at 100 MB, leakguard against writeHeapSnapshot('/dev/null').
// shapes:  extra memory a snapshot needs, per heap shape (sizes the guard).
// guard:   what one headroom check costs.
// http:    HTTP throughput with the heap threshold armed vs without leakguard.
// Each section prints a markdown table and saves it under bench/out/.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setup, ROOT } = require('../scripts/setup')
const { captureTable, VARIANTS, FLOOR_VARIANTS } = require('./report')

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const MB = Number(arg('mb', 300))
const ROUNDS = Number(arg('rounds', 3))
const ONLY = arg('only', null)
const OUT = path.join(ROOT, 'bench', 'out')
const MiB = (b) => (b / 2 ** 20).toFixed(0)
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const machine = `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`

function runChild (script, args) {
  const line = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args],
    { encoding: 'utf8', maxBuffer: 1 << 20 })
  return { load: Number(os.loadavg()[0].toFixed(1)), ...JSON.parse(line.trim().split('\n').pop()) }
}

function save (name, report) {
  fs.writeFileSync(path.join(OUT, `${name}.md`), report)
  console.log('\n' + report)
}

function rounds (name, variants, mb, n) {
  const results = []
  for (let round = 1; round <= n; round++) {
    for (const variant of variants) {
      const r = { round, ...runChild('child.js', [variant, String(mb), OUT]) }
      results.push(r)
      fs.appendFileSync(path.join(OUT, `${name}.jsonl`), JSON.stringify(r) + '\n')
      console.log(`round ${round} ${variant.padEnd(32)} block ${r.longestBlockMs.toFixed(0)} ms, cpu ${r.cpuMs.toFixed(0)} ms, peak ${MiB(r.peakRss)} MiB, load ${r.load}`)
    }
  }
  save(name, [`### ${name}: ${machine}`, '', captureTable(results, variants)].join('\n'))
}

const capture = () => rounds('capture', VARIANTS, MB, ROUNDS)
// Smaller heap, more rounds: where the JS-thread time goes compared with the floor.
const floor = () => rounds('floor', FLOOR_VARIANTS, 100, Math.max(ROUNDS, 8))

function shapes () {
  const { SHAPES } = require('./shapes')
  const mb = Math.min(MB, 100)
  const rows = []
  for (const shape of Object.keys(SHAPES)) {
    const r = runChild('shapes.js', [shape, String(mb), OUT])
    fs.appendFileSync(path.join(OUT, 'shapes.jsonl'), JSON.stringify(r) + '\n')
    const small = r.heapUsed - r.largeObjects
    rows.push(`| ${shape} | ${MiB(r.heapUsed)} MiB | ${MiB(r.largeObjects)} MiB | ${(r.nodes / 1e6).toFixed(2)} M | ${MiB(r.extra)} MiB | ${(r.extra / r.heapUsed).toFixed(2)} | ${(r.extra / r.nodes).toFixed(0)} B | ${small > 0 ? (r.extra / small).toFixed(2) : '–'} | ${MiB(r.need)} MiB | ${(r.need / r.extra).toFixed(2)} | ${MiB(r.sampledPeak)} MiB |`)
    console.log(rows[rows.length - 1])
  }
  save('shapes', [
    `### Headroom: extra memory per heap shape: ${machine}`,
    '',
    `One fresh process per shape, about ${mb} MiB of that shape, first snapshot of the process, leakguard raw. "extra" is peak RSS during the snapshot (VmHWM, reset just before) minus RSS before. "need" is the guard's default estimate (model + 32 MiB base + 64 MiB reserve); "sampled peak" is the extra RSS the guard's watch saw.`,
    '',
    '| shape | heapUsed | in large-object space | nodes | extra | extra ÷ heapUsed | extra ÷ node | extra ÷ heapUsed outside large-object space | need (default estimate) | need ÷ extra | sampled peak |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
}

function guard () {
  const leakguard = require('..')
  leakguard.headroom() // load the shim, warm up
  const N = 2000
  const times = []
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint()
    leakguard.headroom()
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  times.sort((a, b) => a - b)
  const h = leakguard.headroom()
  save('guard', [
    `### Headroom check cost: ${machine}`,
    '',
    `\`leakguard.headroom()\` (the guard's pre-check: V8 heap statistics, /proc/self/cgroup, mountinfo, the cgroup's memory files up the hierarchy, /proc/meminfo), ${N} calls; bound here by ${h.boundBy}.`,
    '',
    '| median | p99 | max |',
    '|---|---|---|',
    `| ${(median(times) * 1000).toFixed(0)} µs | ${(times[Math.floor(N * 0.99)] * 1000).toFixed(0)} µs | ${(times[N - 1] * 1000).toFixed(0)} µs |`,
    ''
  ].join('\n'))
}

async function http () {
  const { throughput } = require('./http')
  const { rows, gcPerSecond, seconds, hookUs } = await throughput({ rounds: Math.max(ROUNDS, 5), log: console.log })
  save('http', [
    `### HTTP throughput with the threshold armed: ${machine}`,
    '',
    `bench/server.js (each request builds and serializes 300 objects; about ${gcPerSecond} garbage collections per second under this load, each one calling the threshold hook when armed), autocannon, 50 connections, ${seconds} s per run, variants round-robin in one run; medians of the runs. "threshold" arms \`threshold: { heapUsedRatio: 1 }\`: checked after every collection, never reached.`,
    '',
    '| variant | runs | requests/s (median) | min–max | × none |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `The check itself: the V8 calls the hook makes (heap and per-space statistics), timed from JS with JS result objects on top, cost ${hookUs.toFixed(1)} µs; at ${gcPerSecond} collections per second that is at most ${(hookUs * gcPerSecond / 1e4).toFixed(3)} % of one core.`,
    ''
  ].join('\n'))
}

function analysis () {
  const { compare } = require('./analysis')
  const sizes = arg('sizes', '100,1000').split(',').map(Number)
  const MiB = (b) => (b / 2 ** 20).toFixed(0)
  const rows = sizes.map((mb) => {
    const r = compare({ mb, rounds: mb >= 500 ? 1 : Math.max(ROUNDS, 3), out: OUT, log: console.log })
    const largest = Math.max(...r.sizes)
    return `| ${r.sizes.map(MiB).join(' / ')} MiB | ${r.rounds} | ${r.lgSeconds.toFixed(1)} s | ${r.mlSeconds.toFixed(1)} s | ${(r.mlSeconds / r.lgSeconds).toFixed(1)}× | ${MiB(r.lgPeak)} MiB (${(r.lgPeak / largest).toFixed(2)}× s3) | ${MiB(r.mlPeak)} MiB |`
  })
  save('analysis', [
    `### Analysis: leakguard diff vs memlab find-leaks: ${machine}`,
    '',
    'Three raw snapshots of bench/leaky.js (a request log growing per request) written by leakguard; `bin/leakguard.js diff s1 s2 s3 --json` against `memlab find-leaks --baseline s1 --target s2 --final s3` (memlab 2.0.5), each a fresh process, alternating; wall time and peak RSS (VmHWM) per process, medians of the rounds.',
    '',
    '| s1 / s2 / s3 | rounds | leakguard | memlab | speed-up | leakguard peak RSS | memlab peak RSS |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
}

async function main () {
  setup({ log: () => {} })
  fs.mkdirSync(OUT, { recursive: true })
  for (const [name, section] of Object.entries({ guard, shapes, floor, capture, http, analysis })) {
    if (!ONLY || ONLY === name) await section()
  }
}

main()
