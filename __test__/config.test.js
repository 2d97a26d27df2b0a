'use strict'
// Configuration edges: ranges of numeric options, LEAKGUARD_* groups where one
// variable is bad, odd option values. Children run each case, so a panic
// shows up as a failed test rather than a dead test runner.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { appDir, runChild } = require('./helpers')

/** Runs `script` under `-r leakguard/register` with `env`; the lines register printed. */
function register (name, env, script = `console.log('app started')`) {
  const app = appDir(name)
  const r = runChild(script, { cwd: app, env: { NODE_OPTIONS: '-r leakguard/register', ...env } })
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('leakguard: '))
  return { ...r, app, problems }
}

/** The line that starts with `start` (after `leakguard: `) matches `why`. */
function assertNamed (problems, start, why) {
  const line = problems.find((l) => l.startsWith(`leakguard: ${start}`))
  assert.ok(line, `${start} reported: ${problems.join('\n')}`)
  if (why) assert.match(line, why)
}

test('a numeric option out of range is a TypeError naming it and its range, never a panic', () => {
  const cases = [
    ['drainMs', { drainMs: 1e300 }],
    ['cooldownMs', { threshold: { heapUsedMb: 100, cooldownMs: 1e300 } }],
    ['heapUsedMb', { threshold: { heapUsedMb: 1e300 } }],
    ['reserveMb', { headroom: { reserveMb: 1e300 } }],
    ['limitMb', { headroom: { limitMb: 1e300 } }],
    ['factor', { headroom: { factor: 1e300 } }],
    ['maxBytes', { retain: { maxBytes: 1e300 } }]
  ]
  const r = runChild(`
    const lg = require(LG)
    for (const [name, options] of ${JSON.stringify(cases)}) {
      try { lg.configure(options); console.log(JSON.stringify({ name, accepted: true })) } catch (e) {
        console.log(JSON.stringify({ name, type: e.constructor.name, code: e.code, message: e.message }))
      }
    }
  `)
  assert.equal(r.status, 0, r.stderr)
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(results.length, cases.length)
  for (const e of results) {
    assert.equal(e.type, 'TypeError', `${e.name}: ${JSON.stringify(e)}`)
    assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
    assert.match(e.message, new RegExp('`' + e.name + '`.*1e\\+300 \\(number\\).*<= '))
  }
})

test('the top of each range is accepted', (t) => {
  t.after(() => leakguard.configure({ drainMs: 0, headroom: {}, retain: false }))
  leakguard.configure({
    drainMs: 2 ** 31 - 1,
    headroom: { reserveMb: 2 ** 40, limitMb: 2 ** 40, factor: 1000 },
    retain: { maxBytes: 2 ** 60 }
  })
  assert.throws(() => leakguard.configure({ drainMs: 2 ** 31 }), /`drainMs`.*<= 2147483647/)
  assert.throws(() => leakguard.configure({ headroom: { factor: 1001 } }), /`factor`.*<= 1000/)
})

test('LEAKGUARD_* numbers out of range are reported by name; the app starts', () => {
  const r = register('env-range', {
    LEAKGUARD_DRAIN_MS: '99999999999999999999999999',
    LEAKGUARD_THRESHOLD_MB: '100',
    LEAKGUARD_THRESHOLD_COOLDOWN_MS: '1e300',
    LEAKGUARD_HEADROOM_RESERVE_MB: '1e300',
    LEAKGUARD_HEADROOM_LIMIT_MB: '1e300',
    LEAKGUARD_HEADROOM_FACTOR: '1e300',
    LEAKGUARD_RETAIN_MB: '1e300',
    LEAKGUARD_RETAIN_FILES: '3'
  })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'app started\n')
  for (const name of ['DRAIN_MS', 'THRESHOLD_COOLDOWN_MS', 'HEADROOM_RESERVE_MB', 'HEADROOM_LIMIT_MB',
    'HEADROOM_FACTOR', 'RETAIN_MB']) {
    assertNamed(r.problems, `ignoring LEAKGUARD_${name}=`, /<= /)
  }
  assert.equal(r.problems.length, 6, r.stderr)
})

test('one bad variable in a group leaves its valid neighbours applied', () => {
  const r = register('env-neighbours', {
    LEAKGUARD_HEADROOM_LIMIT_MB: '50',
    LEAKGUARD_HEADROOM_RESERVE_MB: 'abc'
  }, `console.log(JSON.stringify(require('leakguard').headroom()))`)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.problems.length, 1, r.stderr)
  assertNamed(r.problems, 'ignoring LEAKGUARD_HEADROOM_RESERVE_MB="abc"', /accepted: a number/)
  assert.equal(JSON.parse(r.stdout).boundBy, 'headroom.limitMb', 'LIMIT_MB still applies')

  const retain = register('env-retain', {
    LEAKGUARD_DIR: 'dumps',
    LEAKGUARD_RETAIN_FILES: '1',
    LEAKGUARD_RETAIN_MB: 'abc'
  }, `
    const lg = require('leakguard')
    lg.snapshot().then(() => lg.snapshot()).then(() => console.log('done'))
  `)
  assert.equal(retain.status, 0, retain.stderr)
  assert.equal(retain.stdout, 'done\n')
  assertNamed(retain.problems, 'ignoring LEAKGUARD_RETAIN_MB="abc"')
  assert.equal(fs.readdirSync(path.join(retain.app, 'dumps')).length, 1, 'RETAIN_FILES still applies')
})

test('every bad variable is reported, each once and by name', () => {
  const r = register('env-all-bad', {
    LEAKGUARD_THRESHOLD_MB: 'abc',
    LEAKGUARD_THRESHOLD_RATIO: '2',
    LEAKGUARD_THRESHOLD_COOLDOWN_MS: '-1',
    LEAKGUARD_THRESHOLD_MAX: '0',
    LEAKGUARD_HEADROOM_FACTOR: '-1',
    LEAKGUARD_HEADROOM_RESERVE_MB: 'x',
    LEAKGUARD_OBJECT_IDS: 'foo',
    LEAKGUARD_OPTIONS: 'bogus',
    LEAKGUARD_FS_ROOT: '/nonexistent'
  })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'app started\n')
  for (const [name, why] of [
    ['ignoring LEAKGUARD_THRESHOLD_MB="abc"', /accepted: a number/],
    ['ignoring LEAKGUARD_THRESHOLD_RATIO="2"', /0 < ratio <= 1/],
    ['ignoring LEAKGUARD_THRESHOLD_COOLDOWN_MS="-1"', /accepted: a number/],
    ['ignoring LEAKGUARD_THRESHOLD_MAX="0"', /whole number/],
    ['ignoring LEAKGUARD_HEADROOM_FACTOR="-1"', /accepted: a number/],
    ['ignoring LEAKGUARD_HEADROOM_RESERVE_MB="x"', /accepted: a number/],
    ['ignoring LEAKGUARD_OBJECT_IDS="foo"', /keep.*reset/],
    // Not ignored as a whole: known words apply, and the guard reads the root.
    ['LEAKGUARD_OPTIONS="bogus": ignoring unknown word "bogus"', /nosignal/],
    ['LEAKGUARD_FS_ROOT="/nonexistent"', /guard .* is OFF while it is set/]
  ]) {
    assertNamed(r.problems, name, why)
  }
  assert.equal(r.problems.length, 9, r.stderr)
})

test('LEAKGUARD_OPTIONS: a list of words, case-insensitive', () => {
  const sigusr2 = `process.kill(process.pid, 'SIGUSR2'); setTimeout(() => console.log('alive'), 200)`
  for (const options of ['NoSignal', 'bogus, nosignal']) {
    const r = register('env-options', { LEAKGUARD_OPTIONS: options }, sigusr2)
    assert.equal(r.signal, 'SIGUSR2', `${options}: nobody listens, so the default action ran`)
  }
})

test('long values are cut short in messages', () => {
  const long = 'x'.repeat(100_000)
  const r = register('env-long', { LEAKGUARD_GZIP: long, LEAKGUARD_SIGNAL: long, LEAKGUARD_DIR: long })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.problems.length, 3, r.stderr.slice(0, 2000))
  for (const line of r.problems) {
    assert.ok(line.length < 400, `a short line: ${line.slice(0, 400)}…`)
    assert.match(line, /"x{40}…"/)
  }
  for (const options of [{ signal: long }, { dir: long }]) {
    assert.throws(() => leakguard.configure(options), (e) => e.code === 'ERR_LEAKGUARD_CONFIG' &&
      e.message.length < 400)
  }
})

test('an array or headroom: true is not an options object', async () => {
  for (const fn of [
    () => leakguard.configure([]),
    () => leakguard.configure({ threshold: [] }),
    () => leakguard.configure({ headroom: true })
  ]) {
    assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_LEAKGUARD_CONFIG')
  }
  assert.throws(() => leakguard.configure({ headroom: true }), /`headroom`.*use \{\} /)
  await assert.rejects(leakguard.snapshot([]), (e) => e.code === 'ERR_LEAKGUARD_CONFIG')
})
