'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const zlib = require('node:zlib')
const leakguard = require('..')
const { tmpDir, readSnapshot, countObjects, listDir } = require('./helpers')

class LeakguardCaptureMarker {
  constructor (i) { this.i = i; this.label = `marker-${i}` }
}
const MARKERS = 5000
globalThis.leakguardMarkers = Array.from({ length: MARKERS }, (_, i) => new LeakguardCaptureMarker(i))

test('snapshots go through the native V8 shim on this Node major', () => {
  const info = leakguard.engineInfo()
  assert.equal(info.engine, 'v8-shim', info.fallbackReason)
  assert.equal(info.nodeAbi, Number(process.versions.modules))
  assert.ok(info.builtAbis.includes(info.nodeAbi))
})

test('raw snapshot parses and its meta equals v8.writeHeapSnapshot\'s', async () => {
  const dir = tmpDir('raw')
  const r = await leakguard.snapshot({ dir, filename: 'raw.heapsnapshot' })
  assert.equal(r.path, path.join(dir, 'raw.heapsnapshot'))
  assert.equal(r.gzip, false)
  assert.equal(r.bytes, fs.statSync(r.path).size)
  assert.equal(r.rawBytes, r.bytes)
  let ours = readSnapshot(r.path)
  const meta = ours.snapshot.meta
  assert.ok(countObjects(ours, 'LeakguardCaptureMarker') >= MARKERS)
  ours = null // a parsed snapshot alive in JS would inflate the next one
  const theirs = readSnapshot(v8.writeHeapSnapshot(path.join(dir, 'node.heapsnapshot')))
  assert.deepEqual(meta, theirs.snapshot.meta)
})

test('gzip snapshot gunzips to the same kind of snapshot; result reports what happened', async () => {
  const dir = tmpDir('gzip')
  const r = await leakguard.snapshot({ dir, gzip: true, reason: 'test-run' })
  assert.match(path.basename(r.path), /^heapdump-\d+\.\d{6}\.heapsnapshot\.gz$/)
  assert.equal(r.gzip, true)
  assert.equal(r.gzipLevel, 1)
  assert.equal(r.reason, 'test-run')
  assert.equal(r.bytes, fs.statSync(r.path).size)
  assert.equal(r.rawBytes, zlib.gunzipSync(fs.readFileSync(r.path)).length)
  assert.ok(r.bytes < r.rawBytes / 2, `gzip-1 should at least halve JSON: ${r.bytes} vs ${r.rawBytes}`)
  assert.ok(r.heapUsed > 1e6 && r.heapUsed < 1e10, `heapUsed ${r.heapUsed}`)
  assert.ok(r.blockMs > 0 && r.totalMs >= r.blockMs, `blockMs ${r.blockMs}, totalMs ${r.totalMs}`)
  assert.ok(r.rssBefore > 0 && r.rssAfter > 0)
  const s = readSnapshot(r.path)
  assert.ok(countObjects(s, 'LeakguardCaptureMarker') >= MARKERS)
})

test('gzip level is honoured', async () => {
  const dir = tmpDir('level')
  const r = await leakguard.snapshot({ dir, gzip: 9, filename: 'nine' })
  assert.equal(r.gzipLevel, 9)
  assert.equal(r.path, path.join(dir, 'nine.gz'))
  readSnapshot(r.path)
})

test('files are private (0600) and no temporary file is left', async () => {
  const dir = tmpDir('mode')
  const a = await leakguard.snapshot({ dir })
  const b = await leakguard.snapshot({ dir, gzip: true })
  for (const r of [a, b]) assert.equal(fs.statSync(r.path).mode & 0o777, 0o600)
  assert.deepEqual(listDir(dir), [a.path, b.path].map((p) => path.basename(p)).sort())
})

test('configure() sets process-wide defaults that per-call options override', async (t) => {
  const dir = tmpDir('configured')
  const other = tmpDir('override')
  leakguard.configure({ dir, gzip: true })
  t.after(() => leakguard.configure({ dir: process.cwd(), gzip: false }))
  const a = await leakguard.snapshot()
  assert.equal(path.dirname(a.path), dir)
  assert.equal(a.gzip, true)
  const b = await leakguard.snapshot({ dir: other, gzip: false })
  assert.equal(path.dirname(b.path), other)
  assert.equal(b.gzip, false)
})

class OnlyOneOfMe {}
globalThis.onlyOne = new OnlyOneOfMe()
function idOf (s, name) {
  const { node_fields: fields, node_types: types } = s.snapshot.meta
  const nameIndex = s.strings.indexOf(name)
  const objectType = types[0].indexOf('object')
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    if (s.nodes[i + fields.indexOf('type')] === objectType && s.nodes[i + fields.indexOf('name')] === nameIndex) {
      return s.nodes[i + fields.indexOf('id')]
    }
  }
}

test('object ids stay stable across snapshots by default, so snapshots can be compared', async () => {
  const dir = tmpDir('ids')
  const a = await leakguard.snapshot({ dir, filename: 'a' })
  const b = await leakguard.snapshot({ dir, filename: 'b' })
  assert.equal(a.objectIds, 'keep')
  const idA = idOf(readSnapshot(a.path), 'OnlyOneOfMe')
  const idB = idOf(readSnapshot(b.path), 'OnlyOneOfMe')
  assert.ok(idA > 0)
  assert.equal(idA, idB)
})

test('objectIds: \'reset\' drops V8\'s id map after the snapshot', async () => {
  const dir = tmpDir('reset')
  const r = await leakguard.snapshot({ dir, objectIds: 'reset' })
  assert.equal(r.objectIds, 'reset')
  readSnapshot(r.path)
  await assert.rejects(leakguard.snapshot({ dir, objectIds: 'forget' }), /`objectIds`.*'keep' or 'reset'/)
})
