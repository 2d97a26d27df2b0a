'use strict'
// `npm run bench [-- --mb 300 --rounds 3 --only capture|floor|shapes|guard|http|analysis|s3|route|fork]`.
// capture: every variant in a fresh process, round-robin, on the same heap.
// floor:   at 100 MB, leakguard against writeHeapSnapshot('/dev/null').
// shapes:  extra memory a snapshot needs, per heap shape (sizes the guard).
// guard:   what one headroom check costs.
// http:    HTTP throughput with the heap threshold armed vs without leakguard.
// s3:      gzip-1 snapshots uploaded to a local S3 server (s3s-fs) vs local only.
// route:   autocannon against an app with the route mounted, one snapshot through it mid-run.
// fork:    in-process vs capture: 'fork' under autocannon, per Node major, on the same heap.
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
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const machine = `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`

/** The last stdout line of a fresh `node --expose-gc bench/<script>`, parsed. */
function childJson (script, args) {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args],
    { encoding: 'utf8', maxBuffer: 1 << 20 })
  return JSON.parse(out.trim().split('\n').pop())
}

function runChild (script, args) {
  return { load: Number(os.loadavg()[0].toFixed(1)), ...childJson(script, args) }
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

// Shape changes between two snapshots in one process: each pair fooled a
// ratio learned from the previous snapshot.
const SEQUENCES = ['number-arrays,maps', 'typed-arrays,maps', 'short-strings,small-objects', 'large-strings,linked-list', 'maps,closures']

function shapes () {
  const { SHAPES } = require('./shapes')
  const mb = Math.min(MB, 100)
  const rows = []
  const runs = [...Object.keys(SHAPES), ...SEQUENCES]
  for (const sequence of runs) {
    const results = childJson('shapes.js', [sequence, String(mb), OUT])
    for (const [i, r] of results.entries()) {
      fs.appendFileSync(path.join(OUT, 'shapes.jsonl'), JSON.stringify(r) + '\n')
      // A pair's first snapshot is a row of its own above; its second is what counts.
      if (i === 0 && results.length > 1) continue
      const shape = results.length > 1 ? `${results[0].shape} → **${r.shape}** (2nd snapshot)` : r.shape
      const covered = r.need >= r.extra ? 'yes' : '**no**'
      const within = r.need <= 2.5 * Math.max(r.extra, 0) + 64 * 2 ** 20 ? 'yes' : '**no**'
      rows.push(`| ${shape} | ${MiB(r.heapUsed)} MiB | ${(r.nodes / 1e6).toFixed(2)} M | ${(r.edges / 1e6).toFixed(2)} M | ${MiB(r.extra)} MiB | ${MiB(r.need)} MiB | ${(r.need / Math.max(r.extra, 1)).toFixed(2)} | ${covered} | ${within} |`)
      console.log(rows[rows.length - 1])
    }
  }
  save('shapes', [
    `### Headroom: the estimate against the real peak, per heap shape: ${machine}`,
    '',
    `One fresh process per row (or per pair, for shape changes), about ${mb} MiB of heapUsed of that shape, leakguard raw. "real" is peak RSS during the snapshot (VmHWM, reset just before) minus the lower of RSS before and after. "need" is the guard's estimate from V8's object count, with the 64 MiB reserve. Covered: need ≥ real; within: need ≤ 2.5 × real + reserve.`,
    '',
    '| shape | heapUsed | nodes | edges | real | need | need ÷ real | covered | within |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
  tight()
}

/** Tight limits: the process may use only so much more than its RSS; peak RSS against that limit. */
function tight () {
  const rows = []
  for (const shape of ['small-objects', 'one-big-map', 'linked-list', 'pointer-arrays', 'short-strings']) {
    for (const spare of [150, 300, 600, 1200]) {
      const [r] = childJson('shapes.js', [shape, '60', OUT, String(spare)])
      const outcome = r.code ? `${r.code} (${r.phase})` : 'written'
      rows.push(`| ${shape} | +${spare} MiB | ${MiB(r.need)} MiB | ${outcome} | ${MiB(r.peak)} MiB | ${MiB(r.limit)} MiB | ${r.peak <= r.limit ? `${MiB(r.limit - r.peak)} MiB under` : `**${MiB(r.peak - r.limit)} MiB over**`} |`)
      console.log(rows[rows.length - 1])
    }
  }
  save('tight', [
    `### Headroom: tight limits: ${machine}`,
    '',
    'One fresh process per row, about 60 MiB of heapUsed of that shape, `headroom: { limitMb }` set that much above RSS just before the snapshot. Peak is VmHWM during the snapshot.',
    '',
    '| shape | limit above RSS | need | outcome | peak RSS | limit | margin |',
    '|---|---|---|---|---|---|---|',
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

async function analysis () {
  const { compare } = require('./analysis')
  const sizes = arg('sizes', '100,1000').split(',').map(Number)
  const MiB = (b) => (b / 2 ** 20).toFixed(0)
  const rows = []
  for (const mb of sizes) {
    const r = await compare({ mb, rounds: mb >= 500 ? 1 : Math.max(ROUNDS, 3), out: OUT, log: console.log })
    const largest = Math.max(...r.sizes)
    const { leakguard: lg, memlab: ml, devtools: dt } = r
    rows.push(`| ${r.sizes.map(MiB).join(' / ')} MiB | ${r.rounds} | ${lg.seconds.toFixed(1)} s | ${ml.seconds.toFixed(1)} s (${(ml.seconds / lg.seconds).toFixed(1)}×) | ${dt.seconds.toFixed(1)} s (${(dt.seconds / lg.seconds).toFixed(1)}×) | ${MiB(lg.peak)} MiB (${(lg.peak / largest).toFixed(2)}× s3) | ${MiB(ml.peak)} MiB | ${MiB(dt.peak)} MiB |`)
  }
  save('analysis', [
    `### Analysis: leakguard diff vs memlab find-leaks and DevTools: ${machine}`,
    '',
    'Three raw snapshots of bench/leaky.js (a request log growing per request) written by leakguard; `bin/leakguard.js diff s1 s2 s3 --json` against `memlab find-leaks --baseline s1 --target s2 --final s3` (memlab 2.0.5) and against Chrome DevTools\' own heap-snapshot model (chrome-devtools-frontend under Node: s1, s2 and s3 loaded one after the other, then "Objects allocated between s1 and s2" on s3; the browser would hold all three), each a fresh process, alternating; wall time and peak RSS (VmHWM) per process, medians of the rounds; in brackets, the time as a multiple of leakguard\'s.',
    '',
    '| s1 / s2 / s3 | rounds | leakguard | memlab | DevTools | leakguard peak RSS | memlab peak RSS | DevTools peak RSS |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
}

/** The upload's price: the same heap, local only vs uploaded, round-robin in one run. */
async function s3 () {
  const { ensureS3Server, startS3Server } = require('../scripts/s3-server')
  ensureS3Server({ log: console.log })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-bench-s3-'))
  fs.mkdirSync(path.join(dataDir, 'bench')) // a bucket is a directory
  const server = await startS3Server({ dataDir })
  Object.assign(process.env, {
    LEAKGUARD_BENCH_S3: server.endpoint,
    AWS_ACCESS_KEY_ID: 'test-access-key',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_EC2_METADATA_DISABLED: 'true'
  })
  const variants = ['leakguard-gzip1', 'leakguard-gzip1-s3']
  const results = []
  let uploads
  try {
    for (let round = 1; round <= Math.max(ROUNDS, 5); round++) {
      for (const variant of variants) {
        const r = { round, ...runChild('child.js', [variant, String(MB), OUT]) }
        results.push(r)
        fs.appendFileSync(path.join(OUT, 's3.jsonl'), JSON.stringify(r) + '\n')
        console.log(`round ${round} ${variant.padEnd(20)} total ${r.wallMs.toFixed(0)} ms, block ${r.longestBlockMs.toFixed(0)} ms, peak ${MiB(r.peakRss)} MiB, load ${r.load}`)
      }
    }
    uploads = uploadMemory()
  } finally {
    await server.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
  const stat = (v, k) => median(results.filter((r) => r.variant === v).map((r) => r[k]))
  const [local, up] = variants
  const s = (ms) => (ms / 1000).toFixed(2)
  const row = (v, label) => `| ${label} | ${results.filter((r) => r.variant === v).length} | ${s(stat(v, 'wallMs'))} s | ${(stat(v, 'wallMs') / stat(local, 'wallMs')).toFixed(3)} | ${s(stat(v, 'longestBlockMs'))} s | ${(stat(v, 'longestBlockMs') / stat(local, 'longestBlockMs')).toFixed(3)} | ${s(stat(v, 'cpuMs'))} s | ${MiB(stat(v, 'peakRss'))} MiB | ${signed((stat(v, 'peakRss') - stat(local, 'peakRss')) / 2 ** 20)} MiB |`
  const loads = results.map((r) => r.load)
  save('s3', [
    `### S3 upload: gzip-1 snapshots to a local S3 server vs local only: ${machine}`,
    '',
    `Heap: ${MiB(stat(local, 'heapUsed'))} MiB heapUsed of small objects (bench/heap.js), gzip level 1, ${MiB(stat(up, 'bytes'))} MiB files, uploaded to s3s-fs on 127.0.0.1 in ${stat(up, 'parts')} parts of 8 MiB (4 in flight). Each run a fresh process, the two variants alternating; medians. Total is from the call until the promise resolves: the complete file, or the verified upload. Peak RSS is VmHWM during the snapshot phase. The upload was verified ${s(stat(up, 'afterFileMs'))} s (median) after the file was complete. Load average: ${Math.min(...loads)}–${Math.max(...loads)}.`,
    '',
    '| variant | n | total (request → done) | × local | longest event-loop block | × local | main-thread CPU | peak RSS | vs local |',
    '|---|---|---|---|---|---|---|---|---|',
    row(local, 'local file only'),
    row(up, 'file + S3 upload'),
    '',
    uploads,
    ''
  ].join('\n'))
}

/** The uploader's memory alone: a 400 MiB file uploaded by a fresh process, by parts in flight. */
function uploadMemory () {
  const file = path.join(OUT, 'upload-400m.bin.gz')
  const fd = fs.openSync(file, 'w')
  for (let i = 0; i < 400; i++) fs.writeSync(fd, require('node:crypto').randomBytes(2 ** 20))
  fs.closeSync(fd)
  const peak = (args) => median([1, 2, 3].map(() => childJson('upload.js', args).peak))
  const base = peak(['none', '0'])
  const rows = [1, 4, 8].map((c) => {
    const p = peak([file, String(c)])
    return `| ${c} | ${c * 8} MiB | ${MiB(p)} MiB | +${MiB(p - base)} MiB |`
  })
  fs.unlinkSync(file)
  return [
    `The uploader's own memory: a 400 MiB file uploaded with \`upload()\` (the path of \`leakguard upload\` and of leftovers) by a fresh process, 8 MiB parts; peak RSS (VmHWM, median of 3) against the same process that only loads leakguard (${MiB(base)} MiB).`,
    '',
    '| parts in flight | their bytes | peak RSS | over the baseline |',
    '|---|---|---|---|',
    ...rows
  ].join('\n')
}

async function route () {
  const { underLoad } = require('./route')
  const rows = []
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await underLoad({ mb: MB })
    console.log(`round ${round}: ${JSON.stringify(r)}`)
    rows.push(`| ${round} | ${r.status} | ${MiB(r.heapUsed)} MiB | ${(r.blockMs / 1000).toFixed(2)} s | ${r.requests} | ${r.errors} | ${r.timeouts} | ${r.non2xx} | ${(r.latencyMaxMs / 1000).toFixed(2)} s | ${r.after} |`)
  }
  save('route', [
    `### The route under load: ${machine}`,
    '',
    'bench/server.js with `leakguard.route()` mounted (node:http, `.wrap(app)`) and live objects to snapshot; autocannon, 50 connections, 20 s (longer than the block: a request still waiting when autocannon stops is not counted); 3 s in, one `POST /heapdump-<hash>` with the token. Failed = errors + timeouts (30 s) + non-2xx among the load\'s requests; "after" is a request to the app once the load ended.',
    '',
    '| round | route status | heapUsed | event loop blocked | requests | errors | timeouts | non-2xx | slowest request | after |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
}

/** In-process vs fork capture under load, per Node major, on one heap. */
async function fork (nodes) {
  const { compare, MODES } = require('./fork')
  const results = await compare({ nodes, mb: MB, rounds: ROUNDS, log: console.log })
  fs.writeFileSync(path.join(OUT, 'fork.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const rows = []
  for (const major of [...new Set(results.map((r) => r.major))]) {
    const of = Object.fromEntries(MODES.map((m) => [m, results.filter((r) => r.major === major && r.capture === m)]))
    const med = (mode, key) => median(of[mode].map((r) => r[key]))
    for (const mode of MODES) {
      const block = med(mode, 'longestBlockMs')
      const ratio = mode === 'fork' ? ` (${(block / med('in-process', 'longestBlockMs')).toFixed(2)}×)` : ''
      const child = mode === 'fork' ? `${MiB(med(mode, 'childPeakRss'))} MiB` : '–'
      const growth = mode === 'fork' ? `${MiB(med(mode, 'parentGrowth'))} MiB` : '–'
      rows.push(`| ${major} | ${mode} | ${MiB(med(mode, 'heapUsed'))} MiB | ${(block / 1000).toFixed(2)} s${ratio} | ${(med(mode, 'blockMs') / 1000).toFixed(2)} s | ${(med(mode, 'fileMs') / 1000).toFixed(1)} s | ${med(mode, 'servedDuring')} | ${MiB(med(mode, 'parentPeakRss'))} MiB | ${growth} | ${child} |`)
    }
  }
  save('fork', [
    `### Fork capture against in-process, under load: ${machine}`,
    '',
    `bench/fork-app.js: ${MB} MiB of small live objects (${MB * 8000} objects), node:http, autocannon at 20 connections from 3 s before the snapshot until its file is complete; a fresh process per run, modes alternating, ${ROUNDS} rounds per Node major; medians. Longest block: the event loop's longest stall during the snapshot (the widest gap between ticks of a 10 ms timer); blockMs: leakguard's own measure of the JS thread's share; file: from the call to the complete file; served: requests answered meanwhile; peak RSS: the app's VmHWM; growth: the app's copy-on-write growth while the child ran; child: the child's peak RSS.`,
    '',
    '| Node | capture | heapUsed | longest block | blockMs | file | served | app peak RSS | app growth | child peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ''
  ].join('\n'))
}

async function main () {
  const { nodes } = setup({ log: () => {} })
  fs.mkdirSync(OUT, { recursive: true })
  for (const [name, section] of Object.entries({ guard, shapes, floor, capture, http, analysis, s3, route, fork })) {
    if (!ONLY || ONLY === name) await section(nodes)
  }
}

main()
