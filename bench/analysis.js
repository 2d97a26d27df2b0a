'use strict'
// `leakguard diff` against memlab's `find-leaks` and Chrome DevTools' own
// model ("Objects allocated between s1 and s2" on s3, __test__/devtools-model.js)
// on the same three snapshots of a leaking app; each run a fresh process,
// alternating.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const MEMLAB = path.join(ROOT, 'node_modules', 'memlab', 'bin', 'memlab')
const DEVTOOLS = path.join(ROOT, '__test__', 'devtools-model.js')
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

function timed (args) {
  const peakFile = path.join(os.tmpdir(), `leakguard-peak-${process.pid}`)
  fs.rmSync(peakFile, { force: true })
  const t = process.hrtime.bigint()
  execFileSync(process.execPath, ['-r', path.join(__dirname, 'peak.js'), ...args],
    { env: { ...process.env, PEAK_FILE: peakFile }, stdio: 'ignore', maxBuffer: 1 << 30 })
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const peak = Math.max(...fs.readFileSync(peakFile, 'utf8').trim().split('\n').map(Number))
  return { seconds, peak }
}

async function compare ({ mb, rounds, out, log }) {
  const dir = fs.mkdtempSync(path.join(out, `analysis-${mb}-`))
  const files = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'leaky.js'), dir, String(mb)],
    { encoding: 'utf8' }).trim().split('\n').pop())
  const sizes = files.map((f) => fs.statSync(f).size)
  await require('../scripts/devtools-bundle.js').build() // bundled once, not timed
  const tools = {
    leakguard: [path.join(ROOT, 'bin', 'leakguard.js'), 'diff', ...files, '--json'],
    memlab: ['--expose-gc', '--max-old-space-size=16384', MEMLAB, 'find-leaks',
      '--baseline', files[0], '--target', files[1], '--final', files[2], '--work-dir', path.join(dir, 'memlab')],
    devtools: ['--max-old-space-size=16384', DEVTOOLS, ...files]
  }
  const runs = Object.fromEntries(Object.keys(tools).map((t) => [t, []]))
  for (let round = 1; round <= rounds; round++) {
    const line = []
    for (const [tool, args] of Object.entries(tools)) {
      const r = timed(args)
      runs[tool].push(r)
      line.push(`${tool} ${r.seconds.toFixed(1)} s / ${(r.peak / 2 ** 20).toFixed(0)} MiB`)
    }
    log(`${mb} MB round ${round}: ${line.join(', ')}`)
  }
  fs.rmSync(dir, { recursive: true, force: true })
  const m = (who, k) => median(runs[who].map((r) => r[k]))
  return {
    mb,
    sizes,
    rounds,
    ...Object.fromEntries(Object.keys(tools).map((t) => [t, { seconds: m(t, 'seconds'), peak: m(t, 'peak') }]))
  }
}

module.exports = { compare }
