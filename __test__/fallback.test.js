'use strict'
// A Node major this build has no shim for: on-demand snapshots still work,
// through Node's own v8 module, with one warning.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { tmpDir, readSnapshot, countObjects, runChild } = require('./helpers')

const hasBuiltinModule = typeof process.getBuiltinModule === 'function'

test('without a shim for this Node, snapshots fall back to the v8 module with one warning', { skip: !hasBuiltinModule && 'process.getBuiltinModule needs Node >= 20.16' }, () => {
  const dir = tmpDir('fallback')
  const r = runChild(`
    const lg = require(LG)
    const warnings = []
    process.on('warning', (w) => warnings.push(w.code))
    class FallbackMarker {}
    globalThis.m = Array.from({ length: 3000 }, () => new FallbackMarker())
    const dir = ${JSON.stringify(dir)}
    Promise.all([lg.snapshot({ dir, gzip: true }), lg.snapshot({ dir })]).then((rs) => setImmediate(() =>
      console.log(JSON.stringify({ info: lg.engineInfo(), paths: rs.map((r) => r.path), warnings }))))
  `, { env: { LEAKGUARD_SHIM_DIR: tmpDir('no-shims') } })
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.info.engine, 'node-v8')
  assert.match(out.info.fallbackReason, /no V8 shim for this Node/)
  assert.deepEqual(out.warnings, ['LEAKGUARD_NO_SHIM'])
  for (const p of out.paths) assert.ok(countObjects(readSnapshot(p), 'FallbackMarker') >= 3000)
})
