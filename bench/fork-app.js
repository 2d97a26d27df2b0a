'use strict'
// An app for the fork-capture benchmark: `node bench/fork-app.js <capture> <mb> <dir>`.
// MB of small live objects, an HTTP server (prints its port), and one
// snapshot with `capture` 3 s after the first request. Prints what the
// snapshot cost the app as one JSON line, then exits.
const fs = require('node:fs')
const http = require('node:http')
const leakguard = require('..')

const [capture, mb, dir] = process.argv.slice(2)
globalThis.retained = Array.from({ length: Number(mb) * 8000 }, (_, i) => ({ i, name: `o${i}` }))

let served = 0
const server = http.createServer((req, res) => {
  served++
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ served }))
  if (served === 1) setTimeout(snapshot, 3000)
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))

// The event loop's longest stall: the widest gap between two ticks of a 10 ms timer.
const now = () => Number(process.hrtime.bigint()) / 1e6
let last = now()
let stall = 0
setInterval(() => { const t = now(); stall = Math.max(stall, t - last - 10); last = t }, 10)

const peakRss = () => Number(fs.readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+)/m)[1]) * 1024

async function snapshot () {
  const before = served
  const started = Date.now()
  stall = 0
  const s = await leakguard.snapshot({ dir, capture })
  // A tick after the file, so that the last stall is recorded.
  await new Promise((resolve) => setTimeout(resolve, 50))
  console.log(JSON.stringify({
    node: process.version,
    capture,
    heapUsed: s.heapUsed,
    bytes: s.bytes,
    blockMs: s.blockMs,
    longestBlockMs: stall,
    fileMs: Date.now() - started,
    servedDuring: served - before,
    parentPeakRss: peakRss(),
    rssBefore: s.rssBefore,
    childPeakRss: s.fork?.childPeakRss ?? null,
    parentGrowth: s.fork?.parentGrowth ?? null,
    gcMs: s.fork?.gcMs ?? null,
    forkMs: s.fork?.forkMs ?? null,
    abortMs: s.fork?.abortMs ?? null
  }))
  fs.rmSync(s.path)
  process.exit(0)
}
