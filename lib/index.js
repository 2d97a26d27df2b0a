'use strict'
// What `require('leakguard')` gives: the native binding (./binding.js, which
// picks the platform's addon; ../index.js is napi's generated loader) plus
// the heap-snapshot route's adapters. Every decision (path, method, token,
// backoff, busy) and every response is made in Rust (`createRoute`); an
// adapter only hands over what the request says and writes back what it is
// told. No framework is required here.
const fs = require('node:fs')
const { pipeline } = require('node:stream')
const native = require('./binding.js')

/** Every `Authorization` value the client sent: Node keeps only the first in `req.headers`. */
function authorization (rawHeaders = []) {
  const values = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'authorization') values.push(rawHeaders[i + 1])
  }
  return values
}

/**
 * Whether the request announces a body: the route takes none. A chunked body
 * cannot be seen before it is read (and Node's own client sends an empty one
 * with every POST), so only `Content-Length` counts here.
 */
function hasBody (headers) {
  const length = headers['content-length']
  return length !== undefined && length !== '0'
}

/** `null` for the app's requests, else a promise of `{ status, headers, body }`. */
function handler (options) {
  const native_ = native.createRoute(options)
  const handle = (req) => native_.handle(req.method, req.originalUrl ?? req.url,
    authorization(req.rawHeaders), req.socket?.remoteAddress, hasBody(req.headers))
  return { handle, path: native_.path }
}

/** The body: the JSON, or a download's file, streamed from disk (never read into memory). */
function body (r) {
  return r.file == null ? r.body : fs.createReadStream(r.file)
}

function send (res, r) {
  if (res.headersSent || res.destroyed) return
  const b = body(r)
  if (typeof b === 'string') {
    res.writeHead(r.status, { ...r.headers, 'Content-Length': Buffer.byteLength(b) })
    return res.end(b)
  }
  b.once('open', () => {
    res.writeHead(r.status, r.headers)
    pipeline(b, res, () => {})
  })
  b.once('error', () => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy() })
}

/**
 * `(req, res, next?) => boolean`: answers the route's requests (true) and
 * passes every other one to `next` (connect/express middleware) or back to
 * the caller (false). `.wrap(app)` makes a node:http request listener.
 */
function route (options) {
  const { handle, path } = handler(options)
  function serve (req, res, next) {
    const pending = handle(req)
    if (pending === null) {
      if (typeof next === 'function') next()
      return false
    }
    pending.then((r) => send(res, r), () => res.destroy())
    return true
  }
  serve.wrap = (app) => (req, res) => { if (!serve(req, res)) app(req, res) }
  Object.defineProperty(serve, 'path', { value: path, enumerable: true })
  return serve
}

/** A fastify plugin: the route as an `onRequest` hook, before fastify's router decodes the path. */
function fastify (options) {
  const { handle, path } = handler(options)
  async function leakguardRoute (instance) {
    instance.addHook('onRequest', async (request, reply) => {
      const pending = handle(request.raw)
      if (pending === null) return
      const r = await pending
      return reply.code(r.status).headers(r.headers).send(body(r))
    })
  }
  // As fastify-plugin does: the hook applies to the whole app, not one encapsulated context.
  leakguardRoute[Symbol.for('skip-override')] = true
  leakguardRoute.path = path
  return leakguardRoute
}

/** Koa middleware. */
function koa (options) {
  const { handle, path } = handler(options)
  async function leakguardRoute (ctx, next) {
    const pending = handle(ctx.req)
    if (pending === null) return next()
    const r = await pending
    ctx.status = r.status
    // After the body: koa drops Content-Length when the body is a stream.
    ctx.body = body(r)
    ctx.set(r.headers)
  }
  leakguardRoute.path = path
  return leakguardRoute
}

module.exports = { ...native, route, fastify, koa }
