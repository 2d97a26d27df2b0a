'use strict'
// An HTTP app for the throughput benchmark: each request builds and
// serializes a few hundred objects, so garbage collections run all the time
// (every one of them calls the threshold hook when it is armed).
// `node bench/server.js <variant>`: none | loaded | threshold | route. Prints the port.
// route: the heap-snapshot route mounted (ROUTE_TOKEN, ROUTE_HASH, ROUTE_DIR),
// with ROUTE_HEAP_MB of live objects to snapshot.
const http = require('node:http')

const variant = process.argv[2]
let mount = (app) => app
if (variant !== 'none') {
  const leakguard = require('..')
  // Armed but never reached: what is measured is the check, not a snapshot.
  if (variant === 'threshold') leakguard.configure({ threshold: { heapUsedRatio: 1 } })
  if (variant === 'route') {
    leakguard.configure({ dir: process.env.ROUTE_DIR, quiet: true })
    globalThis.retained = Array.from({ length: Number(process.env.ROUTE_HEAP_MB) * 8000 }, (_, i) => ({ i, name: `o${i}` }))
    mount = (app) => leakguard.route({ token: process.env.ROUTE_TOKEN, hash: process.env.ROUTE_HASH }).wrap(app)
  }
}

const server = http.createServer(mount((req, res) => {
  const items = Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b'] }))
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(items))
}))
server.listen(0, '127.0.0.1', () => console.log(server.address().port))

if (process.env.COUNT_GC) {
  const { PerformanceObserver } = require('node:perf_hooks')
  let n = 0
  new PerformanceObserver((list) => { n += list.getEntries().length }).observe({ entryTypes: ['gc'] })
  process.on('SIGTERM', () => { console.log(`gc ${n}`); process.exit(0) })
}
