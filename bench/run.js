'use strict'
// `npm run bench [-- --mb 300 --rounds 3]`: every variant in a fresh process,
// round-robin, on the same heap; medians written to BENCHMARKS.md.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setup, ROOT } = require('../scripts/setup')

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const MB = arg('mb', 300)
const ROUNDS = arg('rounds', 3)
const VARIANTS = ['v8.writeHeapSnapshot', 'leakguard-raw', 'leakguard-gzip1', 'leakguard-gzip1-reset-ids', 'v8.getHeapSnapshot+gzip1']
const OUT = path.join(ROOT, 'bench', 'out')

setup({ log: () => {} })
fs.mkdirSync(OUT, { recursive: true })
const results = []
const load = () => os.loadavg()[0].toFixed(1)
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of VARIANTS) {
    const line = execFileSync(process.execPath,
      ['--expose-gc', path.join(__dirname, 'child.js'), variant, String(MB), OUT],
      { encoding: 'utf8', maxBuffer: 1 << 20 })
    const r = { round, load: Number(load()), ...JSON.parse(line.trim().split('\n').pop()) }
    results.push(r)
    fs.appendFileSync(path.join(OUT, 'results.jsonl'), JSON.stringify(r) + '\n')
    console.log(`round ${round} ${variant.padEnd(26)} block ${r.longestBlockMs.toFixed(0)} ms, cpu ${r.cpuMs.toFixed(0)} ms, peak ${(r.peakRss / 2 ** 20).toFixed(0)} MiB, load ${r.load}`)
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const byVariant = Object.fromEntries(VARIANTS.map((v) => {
  const rs = results.filter((r) => r.variant === v)
  const m = (k) => median(rs.map((r) => r[k]))
  return [v, { block: m('longestBlockMs'), cpu: m('cpuMs'), peak: m('peakRss'), before: m('rssBefore'), after: m('rssAfter1s'), bytes: m('bytes'), heapUsed: m('heapUsed') }]
}))
const base = byVariant['v8.writeHeapSnapshot']
const MiB = (b) => (b / 2 ** 20).toFixed(0)
const rows = VARIANTS.map((v) => {
  const s = byVariant[v]
  return `| ${v} | ${(s.block / 1000).toFixed(2)} s | ${(s.block / base.block).toFixed(3)} | ${(s.cpu / 1000).toFixed(2)} s | ${(s.cpu / base.cpu).toFixed(3)} | ${MiB(s.peak)} MiB | ${s.peak - base.peak >= 0 ? '+' : ''}${MiB(s.peak - base.peak)} MiB | ${MiB(s.before)} → ${MiB(s.after)} MiB (${((s.after / s.before - 1) * 100).toFixed(1)} %) | ${MiB(s.bytes)} MiB |`
})
const report = [
  `### Capture: ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  '',
  `Heap: ${MiB(base.heapUsed)} MiB heapUsed of small objects (bench/heap.js). ${ROUNDS} rounds, each variant in a fresh process, round-robin; medians. Load average during the runs: ${Math.min(...results.map((r) => r.load))}–${Math.max(...results.map((r) => r.load))}.`,
  '',
  '| variant | longest event-loop block | × writeHeapSnapshot | main-thread CPU | × | peak RSS (snapshot phase) | vs writeHeapSnapshot | RSS before → 1 s after | output |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
  ''
].join('\n')
fs.writeFileSync(path.join(OUT, 'capture.md'), report)
console.log('\n' + report)
