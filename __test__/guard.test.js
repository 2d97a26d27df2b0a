'use strict'
// The guard's promise, in fresh processes on real heaps: the estimate is never
// below the real peak (VmHWM during the snapshot) and not far above it, also
// after the heap changes shape; a snapshot never pushes RSS past the limit;
// extreme settings cannot wrap the arithmetic into a "fits".
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { PKG, tmpDir, runChild } = require('./helpers')

const SHAPES = path.join(PKG, 'bench', 'shapes.js')
const MiB = 2 ** 20
const RESERVE = 64 * MiB

/** Runs bench/shapes.js: one snapshot per shape of `sequence`, in one fresh process. */
function measure (sequence, mb, headroomMb) {
  const args = ['--expose-gc', SHAPES, sequence, String(mb), tmpDir('guard'), ...(headroomMb ? [String(headroomMb)] : [])]
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop())
}

// The shapes the old estimate got wrong (one array of small objects 1.6×,
// Maps, Sets), the costliest ones, and the shape changes that fooled a ratio
// learned from the previous snapshot.
for (const sequence of ['small-objects', 'maps', 'sets', 'short-strings', 'closures', 'one-big-map',
  'typed-arrays,maps', 'short-strings,small-objects', 'large-strings,linked-list']) {
  test(`the estimate covers the real peak and stays within 2.5× of it: ${sequence}`, () => {
    for (const r of measure(sequence, 30)) {
      const what = `${r.shape}: need ${(r.need / MiB).toFixed(0)} MiB, real ${(r.extra / MiB).toFixed(0)} MiB for ${r.objects} objects`
      assert.ok(r.need >= r.extra, `${what}: below the real peak`)
      assert.ok(r.need <= 2.5 * Math.max(r.extra, 0) + RESERVE, `${what}: over 2.5× the real peak + reserve`)
    }
  })
}

test('tight limits: every snapshot completes under the limit or stops before it', () => {
  for (const [shape, headroomMb] of [['small-objects', 250], ['small-objects', 700], ['linked-list', 150], ['pointer-arrays', 200]]) {
    const [r] = measure(shape, 30, headroomMb)
    const what = `${shape} with ${headroomMb} MiB to spare: ${r.code ?? 'written'}, peak ${(r.peak / MiB).toFixed(0)} MiB, limit ${(r.limit / MiB).toFixed(0)} MiB`
    assert.ok(r.peak <= r.limit, `${what}: over the limit`)
    if (r.code) assert.equal(r.code, 'ERR_LEAKGUARD_HEADROOM', what)
  }
})

test('an extreme factor or reserve never wraps into a fit', () => {
  for (const headroom of [{ factor: 1e13 }, { reserveMb: 1e20 }, { factor: 1000, reserveMb: 2 ** 40 }]) {
    const r = runChild(`
      const lg = require(LG)
      try { lg.configure({ headroom: ${JSON.stringify(headroom)} }) } catch (e) { console.log(JSON.stringify({ rejected: e.code })); process.exit(0) }
      const h = lg.headroom()
      lg.snapshot({ dir: ${JSON.stringify(tmpDir('guard-extreme'))} }).then(
        () => console.log(JSON.stringify({ taken: true, h })),
        (e) => console.log(JSON.stringify({ h, code: e.code, need: e.need, message: e.message })))
    `)
    assert.equal(r.status, 0, r.stderr)
    const o = JSON.parse(r.stdout.trim())
    // A range check in configure() is as good as a saturated refusal.
    if (o.rejected) { assert.equal(o.rejected, 'ERR_LEAKGUARD_CONFIG'); continue }
    assert.equal(o.h.fits, false, JSON.stringify(o))
    assert.equal(o.code, 'ERR_LEAKGUARD_HEADROOM', JSON.stringify(o))
    assert.ok(o.need >= 2 ** 60, `a saturated need, got ${o.need}`)
    assert.match(o.message, /needs (at least|an estimated) \d+ MiB/)
  }
})
