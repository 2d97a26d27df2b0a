'use strict'
// Heaps of different shapes, for sizing the headroom guard: how much extra
// memory (peak RSS during the snapshot minus RSS before) V8's snapshot needs
// per byte of heapUsed and per graph node. One fresh process per shape.
// Run by `npm run bench -- --shapes`; child mode: node --expose-gc shapes.js <shape> <mb> <dir>
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const { grow } = require('./heap')

const SHAPES = {
  'small-objects': (mb) => grow(mb),
  'large-strings': (mb) => {
    // 512 KiB flat strings: large-object space, one graph node each. (Built
    // from random hex: 'x'.repeat() makes a tiny cons-string tree, and Node
    // makes strings over ~1 MB external, outside the heap.)
    const crypto = require('node:crypto')
    globalThis.keep = Array.from({ length: mb * 2 }, () => crypto.randomBytes(256 << 10).toString('hex'))
  },
  'number-arrays': (mb) => {
    // Unboxed doubles: 1 Mi-element arrays of 8 MiB each.
    globalThis.keep = Array.from({ length: Math.ceil(mb / 8) }, () => Array.from({ length: 1 << 20 }, Math.random))
  },
  buffers: (mb) => {
    // Backing stores live outside the JS heap: heapUsed stays small.
    globalThis.keep = Array.from({ length: mb * 4 }, () => Buffer.alloc(256 << 10, 1))
  },
  closures: (mb) => {
    const keep = []
    while (process.memoryUsage().heapUsed < mb * 1048576) {
      for (let i = 0; i < 10000; i++) { const state = { i }; keep.push(() => state.i, function named () { return keep.length }) }
    }
    globalThis.keep = keep
  }
}

function status (key) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key + ':'))
  return Number(line.split(/\s+/)[1]) * 1024
}

async function child ([shape, mb, dir]) {
  const leakguard = require('..')
  SHAPES[shape](Number(mb))
  globalThis.gc()
  const heapUsed = process.memoryUsage().heapUsed
  const largeObjects = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space').space_used_size
  fs.writeFileSync('/proc/self/clear_refs', '5') // VmHWM = peak of the snapshot phase
  const rssBefore = status('VmRSS')
  const r = await leakguard.snapshot({ dir, filename: `${shape}-${process.pid}` })
  const extra = status('VmHWM') - rssBefore
  const head = Buffer.alloc(8192)
  const fd = fs.openSync(r.path, 'r'); fs.readSync(fd, head, 0, head.length, 0); fs.closeSync(fd)
  fs.unlinkSync(r.path)
  const nodes = Number(head.toString().match(/"node_count":(\d+)/)[1])
  const edges = Number(head.toString().match(/"edge_count":(\d+)/)[1])
  console.log(JSON.stringify({ shape, heapUsed, largeObjects, rssBefore, extra, nodes, edges, rawBytes: r.rawBytes, need: r.headroom.need, sampledPeak: r.headroom.extraPeak }))
}

module.exports = { SHAPES }
if (require.main === module) child(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(1) })
