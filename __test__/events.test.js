'use strict'
// leakguard.on/off: every snapshot's outcome, with the trigger's reason.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const leakguard = require('..')
const { tmpDir, runChild } = require('./helpers')

function collect (event) {
  const seen = []
  const listener = (payload) => seen.push(payload)
  leakguard.on(event, listener)
  return { seen, stop: () => leakguard.off(event, listener) }
}

test('\'snapshot\' receives each result, with its reason', async (t) => {
  const events = collect('snapshot')
  t.after(events.stop)
  const r = await leakguard.snapshot({ dir: tmpDir('ev'), reason: 'deploy-check' })
  assert.equal(events.seen.length, 1)
  assert.equal(events.seen[0].path, r.path)
  assert.equal(events.seen[0].reason, 'deploy-check')
})

test('\'error\' receives failures; \'skipped\' receives the guard\'s refusals; each carries the reason', async (t) => {
  const errors = collect('error')
  const skipped = collect('skipped')
  t.after(() => { errors.stop(); skipped.stop(); leakguard.configure({ headroom: {} }) })
  await assert.rejects(leakguard.snapshot({ dir: path.join(tmpDir('ev'), 'missing') }))
  assert.equal(errors.seen.length, 1)
  assert.equal(errors.seen[0].code, 'ERR_LEAKGUARD_WRITE')
  assert.equal(errors.seen[0].reason, 'api')
  leakguard.configure({ headroom: { limitMb: 1 } })
  await assert.rejects(leakguard.snapshot({ dir: tmpDir('ev'), reason: 'tight' }), { code: 'ERR_LEAKGUARD_HEADROOM' })
  assert.equal(skipped.seen.length, 1)
  assert.equal(skipped.seen[0].code, 'ERR_LEAKGUARD_HEADROOM')
  assert.equal(skipped.seen[0].phase, 'pre-check')
  assert.equal(skipped.seen[0].reason, 'tight')
  assert.equal(errors.seen.length, 1, 'a refusal is not an error')
})

test('off() removes a listener', async () => {
  const events = collect('snapshot')
  events.stop()
  await leakguard.snapshot({ dir: tmpDir('ev') })
  assert.equal(events.seen.length, 0)
})

test('an \'error\' nobody listens to is not thrown', () => {
  const r = runChild(`
    require(LG).snapshot({ dir: '/nonexistent-dir-xyz' }).catch((e) => console.log('rejected', e.code))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /rejected ERR_LEAKGUARD_WRITE/)
})

test('a listener that throws surfaces as uncaught, but the promise settles and the queue goes on', () => {
  const dir = tmpDir('ev-throw')
  const r = runChild(`
    const lg = require(LG)
    const log = (...a) => console.log(...a)
    process.on('uncaughtException', (e) => log('uncaught', e.message))
    lg.on('snapshot', () => { throw new Error('listener bug') })
    lg.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'one' }).then(() => log('one settled'))
    lg.snapshot({ dir: ${JSON.stringify(dir)}, filename: 'two' }).then(() => log('two settled'))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /one settled/)
  assert.match(r.stdout, /two settled/)
  assert.equal(r.stdout.match(/uncaught listener bug/g).length, 2)
})

test('bad arguments to on() throw a TypeError', () => {
  assert.throws(() => leakguard.on('snapshots', () => {}), { name: 'TypeError', code: 'ERR_LEAKGUARD_CONFIG', message: /unknown event "snapshots".*'snapshot', 'skipped', 'error'/ })
  assert.throws(() => leakguard.on('error', 42), { name: 'TypeError', message: /must be a function/ })
})
