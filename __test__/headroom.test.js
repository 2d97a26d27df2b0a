'use strict'
// The memory-headroom guard, in real processes: refusals leave no file and
// carry the numbers; a wrong estimate is caught mid-capture.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { PKG, tmpDir, readSnapshot, listDir, runChild } = require('./helpers')

const FIXTURES = path.join(PKG, 'src', 'guard', 'fixtures')

/** Runs `body` in a child with leakguard as `lg` and `dir`; returns its one JSON line. */
function child (body, { env } = {}) {
  const dir = tmpDir('headroom')
  const r = runChild(`
    const lg = require(LG)
    const dir = ${JSON.stringify(dir)}
    const out = (o) => console.log(JSON.stringify(o))
    const fields = (e) => ({ code: e.code, phase: e.phase, need: e.need, available: e.available, boundBy: e.boundBy, heapUsed: e.heapUsed, rss: e.rss, message: e.message })
    ${body}
  `, { env })
  assert.equal(r.status, 0, r.stderr)
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), dir }
}

test('a snapshot that does not fit is refused before capture, with the numbers, and no file', () => {
  const r = child(`
    lg.configure({ headroom: { limitMb: 1 } })
    lg.snapshot({ dir }).then(() => out({ resolved: true }), (e) => out(fields(e)))
  `)
  assert.equal(r.code, 'ERR_LEAKGUARD_HEADROOM')
  assert.equal(r.phase, 'pre-check')
  assert.equal(r.available, 0)
  assert.ok(r.need > 64 * 2 ** 20, `need ${r.need} includes the 64 MiB reserve`)
  assert.equal(r.boundBy, 'headroom.limitMb')
  assert.ok(r.heapUsed > 0 && r.rss > 0)
  assert.match(r.message, /not enough memory .* needs at least \d+ MiB .* 0 MiB are available \(bound by headroom\.limitMb\)/)
  assert.deepEqual(listDir(r.dir), [])
})

test('an estimate that proves wrong is caught mid-capture: clean abort, no file, process lives on', () => {
  const r = child(`
    const { grow } = require(require('node:path').join(LG, 'bench', 'heap.js'))
    grow(40)
    const rssMb = process.memoryUsage().rss / 2 ** 20
    // The pre-check passes (estimate forced low, ~33 MB of the 60 available, so V8 is
    // watched too); the real snapshot needs several hundred MB.
    lg.configure({ headroom: { factor: 0.01, reserveMb: 0, limitMb: rssMb + 60 } })
    lg.snapshot({ dir }).then(() => out({ resolved: true }), (e) => {
      const aborted = { ...fields(e), limit: (rssMb + 60) * 2 ** 20 }
      lg.configure({ headroom: false })
      lg.snapshot({ dir, filename: 'after' }).then((s) => out({ aborted, after: s.path, headroomAfter: s.headroom }))
    })
  `)
  assert.equal(r.aborted.code, 'ERR_LEAKGUARD_HEADROOM', JSON.stringify(r))
  assert.equal(r.aborted.phase, 'mid-capture')
  assert.equal(r.aborted.boundBy, 'headroom.limitMb')
  assert.ok(r.aborted.rss < r.aborted.limit, `aborted before RSS reached the limit: ${r.aborted.rss} < ${r.aborted.limit}`)
  assert.match(r.aborted.message, /aborted mid-capture: it used \d+ MiB more than before.* \(RSS \d+ MiB\), past the \d+ MiB its estimate allowed or too close to the limit .* stopped before reaching the limit/)
  assert.deepEqual(listDir(r.dir), ['after'], 'only the later snapshot exists; the aborted one left nothing')
  assert.equal(r.headroomAfter, undefined)
  readSnapshot(r.after)
})

test('the cgroup v2 limit is read through the process\'s cgroup and mount table', () => {
  const r = child(`
    lg.snapshot({ dir }).then((s) => out({ headroom: s.headroom }), (e) => out(fields(e)))
  `, { env: { LEAKGUARD_FS_ROOT: path.join(FIXTURES, 'cgroup-v2') } })
  // memory.max 512 MiB − memory.current 200 MiB.
  assert.equal(r.headroom.available, 312 * 2 ** 20)
  assert.equal(r.headroom.boundBy, 'cgroup v2 memory.max of /sys/fs/cgroup/app.slice/app.service')
  assert.ok(r.headroom.need <= r.headroom.available)
  assert.ok(r.headroom.extraPeak > 0)
})

test('a parent cgroup\'s limit binds when the process\'s own says max', () => {
  const r = child(`
    lg.snapshot({ dir }).then((s) => out(s.headroom), (e) => out(fields(e)))
  `, { env: { LEAKGUARD_FS_ROOT: path.join(FIXTURES, 'cgroup-v2-max') } })
  assert.equal(r.available, 124 * 2 ** 20, JSON.stringify(r))
  assert.equal(r.boundBy, 'cgroup v2 memory.max of /sys/fs/cgroup/app.slice')
})

test('the result reports the guard\'s numbers; headroom: false turns it off', () => {
  const r = child(`
    lg.snapshot({ dir, filename: 'on' }).then((on) => {
      lg.configure({ headroom: false })
      return lg.snapshot({ dir, filename: 'off' }).then((off) => out({ on: on.headroom, off: off.headroom }))
    }, (e) => out(fields(e)))
  `)
  assert.ok(r.on.need > 0 && r.on.available > r.on.need, JSON.stringify(r.on))
  assert.ok(r.on.boundBy.length > 0)
  assert.ok(r.on.extraPeak > 0)
  assert.equal(r.off, undefined)
})

test('bad headroom options throw a TypeError naming the option', () => {
  const leakguard = require('..')
  for (const [headroom, message] of [
    ['big', /`headroom`.*false, or \{ factor\?, reserveMb\?, limitMb\? \}/],
    [{ factor: -1 }, /`factor`.*-1 \(number\).*a number > 0/],
    [{ reserveMb: 'x' }, /`reserveMb`/],
    [{ limitMB: 100 }, /unknown option `limitMB`.*factor, reserveMb, limitMb/]
  ]) {
    assert.throws(() => leakguard.configure({ headroom }), (e) => {
      assert.ok(e instanceof TypeError)
      assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
      assert.match(e.message, message)
      return true
    })
  }
})

test('headroom() tells whether a snapshot would fit, without taking one', () => {
  const r = child(`
    const before = lg.headroom()
    lg.configure({ headroom: { limitMb: 1 } })
    const tight = lg.headroom()
    lg.configure({ headroom: false })
    out({ before, tight, off: lg.headroom() === null, files: require('node:fs').readdirSync(process.cwd()).length })
  `, { env: { LEAKGUARD_FS_ROOT: path.join(FIXTURES, 'cgroup-v2') } })
  assert.equal(r.before.fits, true)
  assert.equal(r.before.available, 312 * 2 ** 20)
  assert.match(r.before.boundBy, /^cgroup v2 /)
  assert.ok(r.before.need > 0 && r.before.heapUsed > 0)
  assert.equal(r.tight.fits, false)
  assert.equal(r.tight.boundBy, 'headroom.limitMb')
  assert.equal(r.off, true)
})
