'use strict'
// The capture table, from benchmark records (one JSON object per run).
// `node bench/report.js bench/out/capture*.jsonl` pools several runs of
// `npm run bench -- --only capture` into one table.
const fs = require('node:fs')

const VARIANTS = ['v8.writeHeapSnapshot', 'leakguard-raw', 'leakguard-gzip1', 'leakguard-gzip1-reset-ids', 'v8.getHeapSnapshot+gzip1']
// The floor: Node's writer with nothing to write, against leakguard.
const FLOOR_VARIANTS = ['v8.writeHeapSnapshot', 'v8.writeHeapSnapshot(/dev/null)', 'leakguard-raw', 'leakguard-raw-no-guard', 'leakguard-gzip1']
const MiB = (b) => (b / 2 ** 20).toFixed(0)
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const signed = (x, digits = 0) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`

function captureTable (results, variants = VARIANTS) {
  const stats = Object.fromEntries(variants.map((v) => {
    const rs = results.filter((r) => r.variant === v)
    const m = (k) => median(rs.map((r) => r[k]))
    const blocks = rs.map((r) => r.longestBlockMs)
    return [v, { n: rs.length, block: m('longestBlockMs'), min: Math.min(...blocks), max: Math.max(...blocks), cpu: m('cpuMs'), peak: m('peakRss'), before: m('rssBefore'), after: m('rssAfter1s'), bytes: m('bytes'), heapUsed: m('heapUsed') }]
  }))
  const base = stats['v8.writeHeapSnapshot']
  const s = (ms) => (ms / 1000).toFixed(2)
  const rows = variants.map((v) => {
    const x = stats[v]
    return `| ${v} | ${x.n} | ${s(x.block)} s (${s(x.min)}–${s(x.max)}) | ${(x.block / base.block).toFixed(3)} | ${s(x.cpu)} s | ${(x.cpu / base.cpu).toFixed(3)} | ${MiB(x.peak)} MiB | ${signed((x.peak - base.peak) / 2 ** 20)} MiB | ${MiB(x.before)} → ${MiB(x.after)} MiB (${signed((x.after / x.before - 1) * 100, 1)} %) | ${MiB(x.bytes)} MiB |`
  })
  const loads = results.map((r) => r.load)
  return [
    `Heap: ${MiB(base.heapUsed)} MiB heapUsed of small objects (bench/heap.js); each run a fresh process, variants round-robin; medians over n runs (block range in brackets). Load average during the runs: ${Math.min(...loads)}–${Math.max(...loads)}.`,
    '',
    '| variant | n | longest event-loop block | × writeHeapSnapshot | main-thread CPU | × | peak RSS (snapshot phase) | vs writeHeapSnapshot | RSS before → 1 s after | output |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n')
}

function readRecords (files) {
  return files.flatMap((f) => fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)))
}

module.exports = { captureTable, readRecords, VARIANTS, FLOOR_VARIANTS }

if (require.main === module) {
  const records = readRecords(process.argv.slice(2))
  const floor = records.some((r) => r.variant === 'v8.writeHeapSnapshot(/dev/null)')
  console.log(captureTable(records, floor ? FLOOR_VARIANTS : VARIANTS))
}
