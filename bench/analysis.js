'use strict'
// `leakguard diff` against memlab's `find-leaks` on the same three
// snapshots of a leaking app; each run a fresh process, alternating.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const MEMLAB = path.join(ROOT, 'node_modules', 'memlab', 'bin', 'memlab')
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

function compare ({ mb, rounds, out, log }) {
  const dir = fs.mkdtempSync(path.join(out, `analysis-${mb}-`))
  const files = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'leaky.js'), dir, String(mb)],
    { encoding: 'utf8' }).trim().split('\n').pop())
  const sizes = files.map((f) => fs.statSync(f).size)
  const runs = { leakguard: [], memlab: [] }
  for (let round = 1; round <= rounds; round++) {
    const lg = timed([path.join(ROOT, 'bin', 'leakguard.js'), 'diff', ...files, '--json'])
    const ml = timed(['--expose-gc', '--max-old-space-size=16384', MEMLAB, 'find-leaks',
      '--baseline', files[0], '--target', files[1], '--final', files[2], '--work-dir', path.join(dir, 'memlab')])
    runs.leakguard.push(lg)
    runs.memlab.push(ml)
    log(`${mb} MB round ${round}: leakguard ${lg.seconds.toFixed(1)} s / ${(lg.peak / 2 ** 20).toFixed(0)} MiB, memlab ${ml.seconds.toFixed(1)} s / ${(ml.peak / 2 ** 20).toFixed(0)} MiB`)
  }
  fs.rmSync(dir, { recursive: true, force: true })
  const m = (who, k) => median(runs[who].map((r) => r[k]))
  return { mb, sizes, rounds, lgSeconds: m('leakguard', 'seconds'), lgPeak: m('leakguard', 'peak'), mlSeconds: m('memlab', 'seconds'), mlPeak: m('memlab', 'peak') }
}

module.exports = { compare }
