'use strict'
// A heap of small objects, like a real service's: plain objects with nested
// arrays, unique strings, small Maps, closures holding state, class instances.
// Grown until heapUsed reaches the target, then collected.
class Session {
  constructor (i) { this.id = i; this.user = { name: `user-${i}`, roles: ['a', 'b'] }; this.seen = i * 2 }
}

function grow (targetMb) {
  const keep = []
  let i = 0
  while (process.memoryUsage().heapUsed < targetMb * 1048576) {
    for (let k = 0; k < 2000; k++, i++) {
      switch (i % 5) {
        case 0: keep.push([{ a: i, b: { c: i } }, { d: [i, i + 1] }, { e: 'x' }, {}, { f: null }, { g: 1.5 }, { h: [] }, { i }]); break
        case 1: keep.push(`string-${i}-${Math.random().toString(36).slice(2)}`); break
        case 2: { const m = new Map(); for (let j = 0; j < 12; j++) m.set(`k${j}`, j + i); keep.push(m); break }
        case 3: { const state = { n: i }; keep.push([() => state.n++, () => state.n]); break }
        case 4: keep.push(new Session(i)); break
      }
    }
  }
  globalThis.benchHeap = keep
  if (globalThis.gc) globalThis.gc() // the benchmarks run with --expose-gc
  return keep.length
}

module.exports = { grow }
