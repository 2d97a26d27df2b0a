'use strict'
// beforeSnapshot, drainMs and busy(): the app drains before the loop blocks.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const leakguard = require('..')
const { tmpDir, readSnapshot } = require('./helpers')

test('beforeSnapshot is awaited and drainMs waited before capture; busy() spans it all', async (t) => {
  const dir = tmpDir('drain')
  const order = []
  t.after(() => leakguard.configure({ beforeSnapshot: null, drainMs: 0 }))
  leakguard.configure({
    beforeSnapshot: async (info) => {
      order.push(['hook', info.reason, leakguard.busy()])
      await new Promise((resolve) => setTimeout(resolve, 50))
      order.push(['hook-done'])
    },
    drainMs: 200
  })
  assert.equal(leakguard.busy(), false)
  const started = Date.now()
  const pending = leakguard.snapshot({ dir })
  assert.equal(leakguard.busy(), true, 'busy from the request on')
  const r = await pending
  const waited = Date.now() - started
  assert.deepEqual(order, [['hook', 'api', true], ['hook-done']])
  assert.ok(waited >= 250, `hook (50 ms) then drain (200 ms) came first: ${waited} ms`)
  assert.equal(leakguard.busy(), false)
  readSnapshot(r.path)
})

test('a beforeSnapshot that throws or rejects means no snapshot, with the reason', async (t) => {
  const dir = tmpDir('drain-fail')
  const errors = []
  const onError = (e) => errors.push(e)
  leakguard.on('error', onError)
  t.after(() => { leakguard.off('error', onError); leakguard.configure({ beforeSnapshot: null }) })
  for (const hook of [
    () => { throw new Error('readiness flip failed') },
    async () => { throw new Error('readiness flip failed') }
  ]) {
    leakguard.configure({ beforeSnapshot: hook })
    await assert.rejects(leakguard.snapshot({ dir }), (e) => e.code === 'ERR_LEAKGUARD_HOOK' &&
      /beforeSnapshot failed, so no snapshot was taken: Error: readiness flip failed/.test(e.message))
    assert.equal(leakguard.busy(), false)
  }
  assert.equal(errors.length, 2)
  assert.equal(errors[0].reason, 'api')
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('drain options are checked', () => {
  assert.throws(() => leakguard.configure({ beforeSnapshot: 'flip' }), /`beforeSnapshot`.*a function, or null/)
  assert.throws(() => leakguard.configure({ drainMs: -1 }), /`drainMs`.*>= 0/)
})

test('a beforeSnapshot result whose `then` getter throws rejects the snapshot, like a throwing hook', async (t) => {
  const dir = tmpDir('drain-then-getter')
  t.after(() => leakguard.configure({ beforeSnapshot: null }))
  leakguard.configure({ beforeSnapshot: () => ({ get then () { throw new Error('no then for you') } }) })
  let pending
  assert.doesNotThrow(() => { pending = leakguard.snapshot({ dir }) })
  await assert.rejects(pending, (e) => e.code === 'ERR_LEAKGUARD_HOOK' && /no then for you/.test(e.message))
  assert.equal(leakguard.busy(), false)
  assert.deepEqual(fs.readdirSync(dir), [])
})
