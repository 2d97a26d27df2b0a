'use strict'
// A small HTTP service that leaks the classic ways: every request is kept
// in a log array, and a memoisation cache is never evicted. It loads itself
// for a few seconds, then leakguard writes a gzip snapshot of the heap.
const http = require('node:http')
const path = require('node:path')
const leakguard = require('..')

const LOAD_SECONDS = Number(process.env.DEMO_SECONDS || 4)
const OUT_DIR = process.env.DEMO_OUT || path.join(__dirname, '..', 'out', 'demo')

class RequestRecord {
  constructor (req) {
    this.at = new Date()
    this.method = req.method
    this.url = req.url
    this.headers = { ...req.headers }
  }
}
const requestLog = [] // leak 1: grows by one record per request, forever
const renderCache = new Map() // leak 2: an unbounded memo cache keyed per request

function render (id) {
  const key = `${id}:${Math.random()}` // a key that never repeats: the cache only grows
  if (!renderCache.has(key)) renderCache.set(key, { id, html: `<li>item ${id}</li>`.repeat(20) })
  return renderCache.get(key).html
}

const server = http.createServer((req, res) => {
  requestLog.push(new RequestRecord(req))
  const id = Number(new URL(req.url, 'http://x').searchParams.get('id')) || 0
  res.end(render(id))
})

async function load (port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  const until = Date.now() + LOAD_SECONDS * 1000
  let sent = 0
  const worker = async () => {
    while (Date.now() < until) {
      await new Promise((resolve, reject) => {
        http.get({ port, path: `/item?id=${sent++}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
      })
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  agent.destroy()
  return sent
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address()
  console.log(`leaky server on http://127.0.0.1:${port}; loading it for ${LOAD_SECONDS} s ...`)
  const sent = await load(port)
  const mb = (n) => (n / 1048576).toFixed(1)
  console.log(`served ${sent} requests: requestLog holds ${requestLog.length} records, renderCache ${renderCache.size} entries`)
  require('node:fs').mkdirSync(OUT_DIR, { recursive: true })
  const r = await leakguard.snapshot({ dir: OUT_DIR, gzip: true, reason: 'demo' })
  console.log([
    '',
    `heap snapshot written: ${r.path}`,
    `  size:          ${mb(r.bytes)} MB gzip-${r.gzipLevel} (${mb(r.rawBytes)} MB of snapshot JSON)`,
    `  heap used:     ${mb(r.heapUsed)} MB`,
    `  app blocked:   ${r.blockMs.toFixed(0)} ms (event loop); file complete after ${r.totalMs.toFixed(0)} ms`,
    `  RSS:           ${mb(r.rssBefore)} MB before, ${mb(r.rssAfter)} MB after`,
    r.headroom
      ? `  memory guard:  estimated ${mb(r.headroom.need)} MB needed of ${mb(r.headroom.available)} MB available (${r.headroom.boundBy}); used ${mb(r.headroom.extraPeak)} MB at peak`
      : '  memory guard:  off',
    '',
    'Open it: gunzip -k the file, then Chrome DevTools > Memory > Load profile;',
    'look for RequestRecord and the renderCache Map.'
  ].join('\n'))
  server.close()
})
