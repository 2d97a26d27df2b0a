'use strict'
// A leaking app for the analysis benchmark: a request log that grows per
// request. `node bench/leaky.js <dir> <s3 MB>` writes s1, s2 and s3 (raw)
// when its heap reaches 5 %, 50 % and 100 % of the size that gives a
// snapshot of about <s3 MB> (measured: ~1.7 bytes of file per byte of heap).
const v8 = require('node:v8')
const path = require('node:path')
const leakguard = require('..')

const [dir, mb] = [process.argv[2], Number(process.argv[3])]
class RequestLog { constructor (i) { this.url = `/api/items/${i}`; this.status = 200; this.headers = { ua: 'bench', id: i } } }
const requestLogs = []
globalThis.app = { handle: (i) => requestLogs.push(new RequestLog(i)) }

const heapFor = (fileMb) => fileMb * 2 ** 20 / 1.7
let i = 0
const grow = (bytes) => { while (v8.getHeapStatistics().used_heap_size < bytes) for (let k = 0; k < 10000; k++) app.handle(i++) }

;(async () => {
  leakguard.configure({ headroom: false, objectIds: 'keep' })
  const files = []
  for (const [name, share] of [['s1', 0.05], ['s2', 0.5], ['s3', 1]]) {
    grow(heapFor(mb * share))
    files.push((await leakguard.snapshot({ dir, filename: `${name}.heapsnapshot` })).path)
  }
  console.log(JSON.stringify(files.map((f) => path.resolve(f))))
})()
