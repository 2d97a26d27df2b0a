'use strict'
// Throughput of bench/server.js per variant, measured with autocannon,
// variants round-robin so the machine's noise falls on all of them alike.
const { spawn } = require('node:child_process')
const path = require('node:path')
const autocannon = require('autocannon')

const VARIANTS = ['none', 'loaded', 'threshold']
const SECONDS = 10
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

function start (variant, env = {}) {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), variant],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const port = new Promise((resolve) => child.stdout.on('data', () => {
    const m = out.match(/^(\d+)$/m)
    if (m) resolve(Number(m[1]))
  }))
  const stop = () => new Promise((resolve) => { child.on('close', () => resolve(out)); child.kill('SIGTERM') })
  return { port, stop }
}

async function load (port, seconds) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, duration: seconds })
  return r.requests.average
}

async function throughput ({ rounds, log }) {
  const results = Object.fromEntries(VARIANTS.map((v) => [v, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const variant of VARIANTS) {
      const server = start(variant)
      await load(await server.port, 2) // warm up
      const rps = await load(await server.port, SECONDS)
      await server.stop()
      results[variant].push(rps)
      log(`round ${round} ${variant.padEnd(10)} ${rps.toFixed(0)} req/s`)
    }
  }
  // How often the hook runs: count collections in one more run of the same load.
  const counted = start('none', { COUNT_GC: '1' })
  await load(await counted.port, SECONDS)
  const gcPerSecond = Math.round(Number((await counted.stop()).match(/gc (\d+)/)[1]) / SECONDS)
  // An upper bound on what the hook does per collection: the same V8 calls
  // (heap statistics and per-space statistics) from JS, plus JS objects.
  const v8 = require('node:v8')
  const N = 20000
  const t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) { v8.getHeapStatistics(); v8.getHeapSpaceStatistics() }
  const hookUs = Number(process.hrtime.bigint() - t) / 1e3 / N
  const base = median(results.none)
  const rows = VARIANTS.map((v) => {
    const xs = results[v]
    return `| ${v} | ${xs.length} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} | ${(median(xs) / base).toFixed(3)} |`
  })
  return { rows, gcPerSecond, seconds: SECONDS, hookUs }
}

module.exports = { throughput, start }
