'use strict'
// The heap-snapshot route under load: autocannon against bench/server.js
// with the route mounted, one snapshot taken through the route during the
// run. What failed while the event loop was blocked, and does the app keep
// serving after it?
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const autocannon = require('autocannon')
const { start } = require('./http')

function call (port, method, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function underLoad ({ mb, seconds = 20, at = 3 }) {
  const token = crypto.randomBytes(24).toString('base64url')
  const hash = crypto.randomBytes(12).toString('hex')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakguard-bench-route-'))
  const server = start('route', { ROUTE_TOKEN: token, ROUTE_HASH: hash, ROUTE_DIR: dir, ROUTE_HEAP_MB: String(mb) })
  const port = await server.port
  const load = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, duration: seconds, timeout: 30 })
  await new Promise((resolve) => setTimeout(resolve, at * 1000))
  const snap = await call(port, 'POST', `/heapdump-${hash}`, { Authorization: `Bearer ${token}` })
  const r = await load
  const after = await call(port, 'GET', '/')
  await server.stop()
  fs.rmSync(dir, { recursive: true, force: true })
  const s = JSON.parse(snap.body)
  return {
    status: snap.status,
    blockMs: s.blockMs,
    bytes: s.bytes,
    heapUsed: s.heapUsed,
    requests: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    latencyMaxMs: r.latency.max,
    after: after.status
  }
}

module.exports = { underLoad }
