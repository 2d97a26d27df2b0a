'use strict'
// Real HTTP against route-app.js in a child process: requests sent exactly
// as written (node:http sends the path as given; `raw` writes bytes).
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const { startChild, tmpDir } = require('./helpers')

const TOKEN = `tok-${crypto.randomBytes(24).toString('base64url')}`
const HASH = crypto.randomBytes(12).toString('hex')

/** One request; resolves with { status, headers, body } (never rejects on a closed socket: status 0). */
function request (port, { method = 'POST', path: p, token, headers = {}, body, localAddress } = {}) {
  const h = Array.isArray(headers) ? headers : Object.entries(headers).flat()
  // Raw (array) headers: node:http then adds no Host of its own.
  const all = ['Host', `127.0.0.1:${port}`, ...(token === undefined ? [] : ['Authorization', `Bearer ${token}`]), ...h]
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: all, localAddress, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }))
    })
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: e.message }))
    req.end(body)
  })
}

/** A POST whose body is kept as bytes. */
function download (port, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: p, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks = []
      res.on('data', (d) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Writes `bytes` to the server as they are; resolves with what came back until it closed or `ms` passed. */
function raw (port, bytes, ms = 1000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let text = ''
    s.setEncoding('latin1')
    s.on('data', (d) => { text += d })
    s.on('error', () => {})
    s.on('close', () => resolve(text))
    s.write(bytes)
    setTimeout(() => s.destroy(), ms)
  })
}

/** route-app.js of `kind` in a child; `dir` is its snapshot directory. */
async function startApp (kind, { options = { token: TOKEN, hash: HASH }, configure = {}, env = {}, execArgv, cwd } = {}) {
  const dir = tmpDir(`route-${kind}`)
  const app = startChild(`require(${JSON.stringify(path.join(__dirname, 'route-app.js'))})`, {
    env: { ...env, ROUTE_APP: JSON.stringify({ kind, options, configure: { dir, ...configure } }) },
    execArgv,
    cwd
  })
  const line = await app.line(/^listening /)
  // 'native': the route's port, then the app's own.
  const [, port, route, own = port] = line.split(' ')
  return {
    ...app,
    dir,
    port: Number(port),
    own: Number(own),
    route,
    req: (o) => request(Number(port), { path: route, ...o }),
    files: () => fs.readdirSync(dir).filter((f) => !f.startsWith('.')),
    stop: async () => {
      app.child.kill()
      const out = await app.exited
      assert.ok(!(out.stdout + out.stderr).includes(TOKEN), 'the token appears in the output')
      return out
    }
  }
}

module.exports = { TOKEN, HASH, download, request, raw, startApp }
