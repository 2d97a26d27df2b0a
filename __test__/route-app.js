'use strict'
// A small app with the heap-snapshot route mounted, run in a child process
// by route.test.js. ROUTE_APP (JSON): { kind: 'http' | 'express' |
// 'fastify' | 'koa' | 'native', options (route's), configure (leakguard's) }.
// Its own routes: GET /hello, GET /test/<control> (changes leakguard's
// settings for the next request, or spins JS), and 'app 404' for everything
// else. 'native' serves the route on leakguard's own listener instead
// (configure({ route: { listen } })) and prints both ports.
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const leakguard = require('..')

const { kind, options, configure } = JSON.parse(process.env.ROUTE_APP || '{}')
if (configure) leakguard.configure(configure)

const CONTROLS = {
  tight: () => leakguard.configure({ headroom: { limitMb: 1 } }),
  loose: () => leakguard.configure({ headroom: {} }),
  'hook-fails': () => leakguard.configure({ beforeSnapshot: () => { throw new Error('not now') } }),
  'hook-ok': () => leakguard.configure({ beforeSnapshot: null }),
  // The snapshot directory disappears: the next snapshot fails (500).
  'dir-gone': () => fs.rmSync(configure.dir, { recursive: true }),
  'dir-back': () => fs.mkdirSync(configure.dir),
  // The event loop is stuck in a synchronous loop for 8 s, starting just
  // after this answer went out.
  spin: () => setTimeout(() => {
    const end = Date.now() + 8000
    while (Date.now() < end) {}
  }, 50)
}

/** The app's own answer: { status, body }. */
function own (method, url) {
  if (method === 'GET' && url === '/hello') return { status: 200, body: 'hello' }
  const control = url.startsWith('/test/') && CONTROLS[url.slice(6)]
  if (method === 'GET' && control) {
    control()
    return { status: 200, body: 'ok' }
  }
  return { status: 404, body: 'app 404' }
}

function listen (server, path) {
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port} ${path}`))
}

/** A port free now (for the native listener: configure() does not say which it took). */
function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const apps = {
  http () {
    const route = leakguard.route(options)
    const app = (req, res) => {
      const r = own(req.method, req.url)
      res.writeHead(r.status).end(r.body)
    }
    listen(http.createServer(route.wrap(app)), route.path)
  },
  express () {
    const express = require('express')
    const app = express()
    const route = leakguard.route(options)
    app.use(route)
    app.use((req, res) => {
      const r = own(req.method, req.url)
      res.status(r.status).send(r.body)
    })
    listen(http.createServer(app), route.path)
  },
  async fastify () {
    const app = require('fastify')()
    const plugin = leakguard.fastify(options)
    await app.register(plugin)
    const reply = (request, res) => {
      const r = own(request.method, request.url)
      res.code(r.status).type('text/plain').send(r.body)
    }
    app.get('/hello', reply)
    app.get('/test/:control', reply)
    app.setNotFoundHandler(reply)
    await app.ready()
    listen(app.server, plugin.path)
  },
  async native () {
    const port = await freePort()
    leakguard.configure({ route: { listen: `127.0.0.1:${port}`, ...options } })
    const app = http.createServer((req, res) => {
      const r = own(req.method, req.url)
      res.writeHead(r.status).end(r.body)
    })
    const path = options.path ?? `/heapdump-${options.hash}`
    app.listen(0, '127.0.0.1', () => console.log(`listening ${port} ${path} ${app.address().port}`))
  },
  koa () {
    const Koa = require('koa')
    const app = new Koa()
    const middleware = leakguard.koa(options)
    app.use(middleware)
    app.use((ctx) => {
      const r = own(ctx.method, ctx.url)
      ctx.status = r.status
      ctx.body = r.body
    })
    listen(http.createServer(app.callback()), middleware.path)
  }
}

apps[kind]()
