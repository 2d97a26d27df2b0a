'use strict'
// Heaps of different shapes, for sizing the headroom guard: how much extra
// memory (peak RSS during the snapshot minus RSS before) V8's snapshot needs,
// against the guard's estimate. One fresh process per shape, or per sequence
// of shapes (`a,b`: snapshot a, drop it, build b, snapshot b in one process).
// Run by `npm run bench -- --only shapes`; child mode:
//   node --expose-gc shapes.js <shape[,shape]> <mb> <dir> [<headroom MiB>]
const fs = require('node:fs')
const { grow } = require('./heap')

const until = (mb, step) => { const keep = []; while (process.memoryUsage().heapUsed < mb * 1048576) step(keep); return keep }
const hex = (bytes) => require('node:crypto').randomBytes(bytes / 2).toString('hex')

const SHAPES = {
  mixed: (mb) => { grow(mb); return globalThis.benchHeap },
  'small-objects': (mb) => until(mb, (k) => { for (let i = 0; i < 1000; i++) k.push({ a: i, b: 'x', c: null }) }),
  maps: (mb) => until(mb, (k) => { const m = new Map(); for (let j = 0; j < 64; j++) m.set(`k${j}`, { j }); k.push(m) }),
  'one-big-map': (mb) => { const m = new Map(); let i = 0; while (process.memoryUsage().heapUsed < mb * 1048576) for (let j = 0; j < 1000; j++, i++) m.set(i, { i }); return [m] },
  sets: (mb) => until(mb, (k) => { const s = new Set(); for (let j = 0; j < 64; j++) s.add({ j }); k.push(s) }),
  'number-arrays': (mb) => until(mb, (k) => k.push(Array.from({ length: 1 << 20 }, Math.random))),
  'small-number-arrays': (mb) => until(mb, (k) => { for (let i = 0; i < 100; i++) k.push(Array.from({ length: 100 }, Math.random)) }),
  'typed-arrays': (mb) => until(mb, (k) => { for (let i = 0; i < 100; i++) k.push(new Float64Array(8)) }),
  // 512 KiB flat strings: large-object space. (Random hex: 'x'.repeat() makes
  // a tiny cons-string tree, and Node makes strings over ~1 MB external.)
  'large-strings': (mb) => until(mb, (k) => k.push(hex(512 << 10))),
  'medium-strings': (mb) => until(mb, (k) => { for (let i = 0; i < 10; i++) k.push(hex(4096)) }),
  'short-strings': (mb) => until(mb, (k) => { for (let i = 0; i < 1000; i++) k.push(`s-${k.length}-${i}`) }),
  closures: (mb) => until(mb, (k) => { for (let i = 0; i < 1000; i++) { const state = { i }; k.push(() => state.i, function named () { return k.length }) } }),
  'wide-instances': (mb) => {
    class Wide { constructor (i) { for (let f = 0; f < 32; f++) this['f' + f] = { i, f } } }
    return until(mb, (k) => { for (let i = 0; i < 100; i++) k.push(new Wide(i)) })
  },
  'linked-list': (mb) => { let head = null; while (process.memoryUsage().heapUsed < mb * 1048576) for (let i = 0; i < 1000; i++) head = { value: i, next: head }; return [head] },
  'pointer-arrays': (mb) => { const shared = { shared: true }; return until(mb, (k) => k.push(new Array(10000).fill(shared))) },
  // Backing stores live outside the JS heap: heapUsed stays small.
  buffers: (mb) => Array.from({ length: mb * 4 }, () => Buffer.alloc(256 << 10, 1))
}

function status (key) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key + ':'))
  return Number(line.split(/\s+/)[1]) * 1024
}

function header (file) {
  const head = Buffer.alloc(8192)
  const fd = fs.openSync(file, 'r'); fs.readSync(fd, head, 0, head.length, 0); fs.closeSync(fd)
  const count = (key) => Number(head.toString().match(new RegExp(`"${key}":(\\d+)`))[1])
  return { nodes: count('node_count'), edges: count('edge_count') }
}

/** One snapshot of what is live now: the guard's estimate against the real peak. */
/** With `headroom` (MiB): the process may use only that much more than now. */
async function measure (shape, dir, headroom) {
  const leakguard = require('..')
  // Collect, and let V8 return the freed pages (it does so from a background
  // thread), so that RSS before is the heap's and not the garbage's.
  for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 100)) }
  const mem = process.memoryUsage()
  const limit = headroom && status('VmRSS') + headroom * 2 ** 20
  if (limit) leakguard.configure({ headroom: { limitMb: limit / 2 ** 20 } })
  const check = leakguard.headroom()
  fs.writeFileSync('/proc/self/clear_refs', '5') // VmHWM = peak of the snapshot phase
  const rssBefore = status('VmRSS')
  const r = await leakguard.snapshot({ dir, filename: `${shape}-${process.pid}` }).catch((e) => e)
  const peak = status('VmHWM')
  // The snapshot's own collection can free memory that RSS before still
  // held: measure from the lower of RSS before and after.
  const extra = peak - Math.min(rssBefore, status('VmRSS'))
  if (r instanceof Error) return { shape, heapUsed: mem.heapUsed, rssBefore, peak, limit, extra, code: r.code, phase: r.phase, need: r.need, message: r.message }
  const counts = header(r.path)
  if (process.env.SHAPES_KEEP) counts.file = r.path
  else fs.unlinkSync(r.path)
  return { shape, heapUsed: mem.heapUsed, rssBefore, peak, limit, extra, ...counts, objects: r.headroom.objects, rawBytes: r.rawBytes, need: r.headroom.need, needBefore: check.need, sampledPeak: r.headroom.extraPeak }
}

async function child ([sequence, mb, dir, limitMb]) {
  const out = []
  for (const shape of sequence.split(',')) {
    globalThis.keep = SHAPES[shape](Number(mb))
    out.push(await measure(shape, dir, limitMb && Number(limitMb)))
    globalThis.keep = null
    globalThis.benchHeap = null
    globalThis.gc() // the next shape is grown from an empty heap
  }
  console.log(JSON.stringify(out))
}

module.exports = { SHAPES }
if (require.main === module) child(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(1) })
