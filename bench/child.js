'use strict'
// One benchmark run in a fresh process: build the heap, take one snapshot
// with the given variant, report what it cost. Run with --expose-gc.
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const zlib = require('node:zlib')
const { pipeline } = require('node:stream/promises')
const { grow } = require('./heap')

const [variant, targetMb, outDir] = process.argv.slice(2)
// What a variant reports beyond the common numbers.
const extra = {}
const CLK_TCK = 100 // Linux USER_HZ

function mainThreadCpuMs () {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLK_TCK // utime + stime
}
function status (key) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key + ':'))
  return Number(line.split(/\s+/)[1]) * 1024
}

const VARIANTS = {
  'leakguard-raw': (file) => require('..').snapshot({ filename: file }).then((r) => r.path),
  // The guard's price: V8's object count and the RSS checks.
  'leakguard-raw-no-guard': (file) => {
    require('..').configure({ headroom: false })
    return require('..').snapshot({ filename: file }).then((r) => r.path)
  },
  'leakguard-gzip1': (file) => require('..').snapshot({ filename: file, gzip: 1 }).then((r) => r.path),
  'leakguard-gzip1-reset-ids': (file) => require('..').snapshot({ filename: file, gzip: 1, objectIds: 'reset' }).then((r) => r.path),
  // The same with the upload to the local S3 server `npm run bench -- --only s3` starts.
  'leakguard-gzip1-s3': async (file) => {
    const lg = require('..')
    lg.configure({ s3: { bucket: 'bench', endpoint: process.env.LEAKGUARD_BENCH_S3, region: 'us-east-1', keepLocal: true } })
    const r = await lg.snapshot({ filename: file, gzip: 1 })
    extra.afterFileMs = r.s3.afterFileMs
    extra.parts = r.s3.parts
    return r.path
  },
  'v8.writeHeapSnapshot': (file) => v8.writeHeapSnapshot(file),
  // The floor: Node's writer with nothing to write (the reference point).
  'v8.writeHeapSnapshot(/dev/null)': () => { v8.writeHeapSnapshot('/dev/null'); return '/dev/null' },
  'v8.getHeapSnapshot+gzip1': async (file) => {
    await pipeline(v8.getHeapSnapshot(), zlib.createGzip({ level: 1 }), fs.createWriteStream(file + '.gz'))
    return file + '.gz'
  }
}

async function main () {
  const run = VARIANTS[variant]
  if (!run) throw new Error(`unknown variant ${variant}`)
  if (variant.startsWith('leakguard')) require('..') // load before measuring
  const objects = grow(Number(targetMb))
  const heapUsed = process.memoryUsage().heapUsed
  await new Promise((resolve) => setTimeout(resolve, 200))

  let last = process.hrtime.bigint()
  let longestBlock = 0
  const ticker = setInterval(() => {
    const now = process.hrtime.bigint()
    longestBlock = Math.max(longestBlock, Number(now - last) / 1e6)
    last = now
  }, 5)
  await new Promise((resolve) => setTimeout(resolve, 100))

  fs.writeFileSync('/proc/self/clear_refs', '5') // reset VmHWM: peak of the snapshot phase only
  const rssBefore = status('VmRSS')
  const cpu0 = mainThreadCpuMs()
  const t0 = process.hrtime.bigint()
  const file = await run(path.join(outDir, `${variant}-${process.pid}.heapsnapshot`))
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
  const cpuMs = mainThreadCpuMs() - cpu0
  const peakRss = status('VmHWM')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  clearInterval(ticker)
  const rssAfter1s = status('VmRSS')
  const bytes = fs.statSync(file).size
  if (file !== '/dev/null') fs.unlinkSync(file)
  console.log(JSON.stringify({ variant, objects, heapUsed, rssBefore, cpuMs, longestBlockMs: longestBlock, wallMs, peakRss, rssAfter1s, bytes, ...extra }))
}

main().catch((e) => { console.error(e); process.exit(1) })
