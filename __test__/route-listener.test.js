'use strict'
// The route on leakguard's own native listener (issue #11):
// configure({ route: { listen } }) in a child process, real HTTP to it, and
// the app's JS stuck in a synchronous loop while it answers.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { appDir, readSnapshot, runChild } = require('./helpers')
const { TOKEN, HASH, download, request, raw, startApp } = require('./route-helpers')
const { startS3 } = require('./s3-helpers')

const json = (r) => JSON.parse(r.body)
const control = (app, name) => request(app.own, { method: 'GET', path: `/test/${name}` })

test('native: every status, one stderr line each, other paths a bare 404', async () => {
  const app = await startApp('native')
  assert.equal(app.route, `/heapdump-${HASH}`)
  assert.deepEqual(await request(app.own, { method: 'GET', path: '/hello' }).then((r) => r.body), 'hello')

  const other = await request(app.port, { path: '/hello', token: TOKEN })
  assert.equal(other.status, 404)
  assert.equal(json(other).error.code, 'not-found')
  const get = await app.req({ method: 'GET', token: TOKEN })
  assert.deepEqual([get.status, get.headers.allow], [405, 'POST'])
  const denied = [
    await app.req({}),
    await app.req({ token: 'x'.repeat(40) }),
    await app.req({ headers: ['Authorization', `Bearer ${TOKEN}`, 'Authorization', `Bearer ${TOKEN}`] })
  ]
  for (const r of denied) assert.deepEqual([r.status, r.body], [401, denied[0].body])
  assert.equal((await app.req({ path: `${app.route}?bogus=1`, token: TOKEN })).status, 400)
  const body = await app.req({ token: TOKEN, body: 'x', headers: { 'Content-Type': 'text/plain', 'Content-Length': '1' } })
  assert.equal(body.status, 400)
  assert.match(json(body).error.message, /no request body/)
  // A chunked body is read: one with data is refused too.
  const chunked = await raw(app.port, `POST ${app.route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`)
  assert.match(chunked, /^HTTP\/1.1 400 /)

  const ok = await app.req({ token: TOKEN })
  assert.equal(ok.status, 200, ok.body)
  assert.equal(ok.headers['cache-control'], 'no-store')
  const s = json(ok)
  assert.equal(s.reason, 'http')
  assert.ok(s.path.startsWith(app.dir) && s.bytes > 0 && s.heapUsed > 0, ok.body)
  readSnapshot(s.path)

  // ?capture=fork: this snapshot comes from a forked child (issue #14).
  const forked = await app.req({ path: `${app.route}?capture=fork`, token: TOKEN })
  assert.equal(forked.status, 200, forked.body)
  assert.equal(json(forked).objectIds, 'fresh')
  assert.deepEqual(readSnapshot(json(forked).path).snapshot.leakguard, { capture: 'fork' })
  const badMode = await app.req({ path: `${app.route}?capture=child`, token: TOKEN })
  assert.equal(badMode.status, 400)
  assert.match(json(badMode).error.message, /`capture`: accepted: 'in-process' or 'fork'/)

  await control(app, 'tight')
  const refused = await app.req({ token: TOKEN })
  assert.equal(refused.status, 503, refused.body)
  assert.equal(json(refused).error.code, 'ERR_LEAKGUARD_HEADROOM')
  await control(app, 'loose')

  await control(app, 'dir-gone')
  const failed = await app.req({ token: TOKEN })
  assert.equal(failed.status, 500, failed.body)
  assert.deepEqual(Object.keys(json(failed).error), ['code', 'message'])
  assert.doesNotMatch(failed.body, /\n\s+at /, 'no stack')
  await control(app, 'dir-back')

  const { stderr } = await app.stop()
  assert.match(stderr, new RegExp(`heap snapshot route listening on 127\\.0\\.0\\.1:${app.port}\\n`))
  const lines = stderr.split('\n').filter((l) => l.includes('heap snapshot route (http) from 127.0.0.1'))
  assert.equal(lines.length, 12, stderr)
  assert.match(stderr, / 200 snapshot written to .* by a fork child, event loop blocked /)
  assert.match(stderr, / 200 snapshot written to /)
  assert.match(stderr, / 503 /)
})

test('native: answers and snapshots while the app\'s JS spins in a synchronous loop', async (t) => {
  const app = await startApp('native')
  t.after(() => app.stop())
  await control(app, 'spin') // the loop starts 50 ms later, for 8 s
  await new Promise((resolve) => setTimeout(resolve, 300))
  const started = Date.now()
  const own = request(app.own, { method: 'GET', path: '/hello' }).then((r) => ({ ...r, at: Date.now() - started }))
  const r = await app.req({ token: TOKEN })
  const took = Date.now() - started
  assert.equal(r.status, 200, r.body)
  readSnapshot(json(r).path)
  const ownAnswer = await own
  assert.ok(took < ownAnswer.at, `the route answered in ${took} ms, the app's own port only after ${ownAnswer.at} ms`)
  assert.ok(ownAnswer.at > 5000, `the app was stuck (${ownAnswer.at} ms)`)
  // Once the loop is over, the events and busy() are as for any snapshot.
  assert.equal((await app.req({ token: TOKEN })).status, 200)
  assert.equal(app.files().length, 2)
})

test('native: a burst of 20 authorised requests gives exactly one 200, the rest 429', async (t) => {
  const app = await startApp('native')
  t.after(() => app.stop())
  const all = await Promise.all(Array.from({ length: 20 }, () => app.req({ token: TOKEN })))
  assert.deepEqual(all.map((r) => r.status).sort(), [200, ...Array(19).fill(429)])
  for (const r of all.filter((r) => r.status === 429)) {
    assert.ok(Number(r.headers['retry-after']) > 0)
    assert.equal(json(r).error.code, 'busy')
  }
  assert.equal(app.files().length, 1)
})

test('native: malformed input, slow and oversized clients never crash it and never snapshot', async (t) => {
  const app = await startApp('native', { configure: { quiet: true } })
  t.after(() => app.stop())
  const p = app.route
  const statuses = []
  for (const o of [
    ...['PUT', 'DELETE', 'OPTIONS', 'HEAD', 'M-SEARCH'].map((method) => ({ method, token: TOKEN })),
    { headers: { Authorization: 'Bearer' } },
    { headers: { Authorization: `Bearer ${TOKEN} extra` } },
    { headers: { Authorization: 'Bearer ' + 'A'.repeat(8000) } },
    { headers: { 'X-Big': 'x'.repeat(20000) }, token: TOKEN },
    ...[`${p}/`, `${p}/../x`, `/%68${p.slice(2)}`, `/${p}`, p.toUpperCase()].map((v) => ({ path: v, token: TOKEN }))
  ]) statuses.push((await app.req(o)).status)
  assert.ok(statuses.every((s) => [0, 401, 404, 405, 429, 431].includes(s)), statuses.join(','))
  for (const bytes of [
    `POST http://127.0.0.1${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    `POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 5\r\n\r\nab`,
    `POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    '\x00\x01\x02 garbage\r\n\r\n',
    `POST ${p}\r\n\r\n`,
    `POST ${p} HTTP/1.1\r\nHost: x\r\n` // and never the end of the head
  ]) await raw(app.port, bytes, 300)
  // 100 connections held open, idle: the listener still answers.
  const idle = Array.from({ length: 100 }, () => raw(app.port, '', 3000))
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.deepEqual(app.files(), [])
  assert.equal(app.child.exitCode, null, 'still running')
  // A fresh address with the token is still served.
  assert.equal((await app.req({ token: TOKEN, localAddress: '127.0.0.2' })).status, 200)
  await Promise.all(idle)
})

test('native: with S3 configured the 200 carries the key; download streams the file', async (t) => {
  const s3 = await startS3()
  t.after(() => s3.stop())
  const app = await startApp('native', {
    options: { token: TOKEN, hash: HASH, download: true },
    configure: { s3: s3.config() },
    env: s3.env()
  })
  t.after(() => app.stop())
  const r = await app.req({ token: TOKEN })
  assert.equal(r.status, 200, r.body)
  const { s3: where, bytes } = json(r)
  assert.equal(where.bucket, s3.bucket)
  assert.equal((await s3.headObject(where.key)).ContentLength, bytes)
  assert.ok(!s3.secretAppearsIn(r.body))
  const got = await download(app.port, `${app.route}?download=1`)
  assert.equal(got.status, 200)
  assert.equal(got.headers['content-type'], 'application/gzip')
  const [, file] = got.headers['content-disposition'].match(/^attachment; filename="(.+\.heapsnapshot\.gz)"$/)
  assert.equal(Number(got.headers['content-length']), got.body.length)
  assert.deepEqual(got.body, fs.readFileSync(path.join(app.dir, file)), 'the file, kept')
})

test('configure({ route }) is checked: listen, token, main thread; route: false closes it', () => {
  const refused = (route, re) => assert.throws(() => leakguard.configure({ route }), (e) => {
    assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
    assert.match(e.message, re)
    assert.ok(!e.message.includes(TOKEN))
    return true
  })
  refused({ token: TOKEN }, /`listen` is required/)
  refused({ listen: '127.0.0.1:0' }, /needs a token/)
  refused({ listen: '127.0.0.1:0', token: 'short' }, /this one has 5/)
  refused({ listen: 'example.com:9464', token: TOKEN }, /names are not resolved/)
  refused({ listen: '::1:9464', token: TOKEN }, /in brackets/)
  refused({ listen: '99999', token: TOKEN }, /not a port/)
  refused({ listen: '127.0.0.1:0', token: TOKEN, bogus: 1 }, /unknown option `bogus`/)
  assert.throws(() => leakguard.route({ token: TOKEN, listen: '9464' }), /unknown option `listen` for route\(\)/)
  const out = runChild(`
    const leakguard = require(LG)
    const net = require('node:net')
    const { Worker } = require('node:worker_threads')
    const taken = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = taken.address()
      try { leakguard.configure({ route: { listen: '127.0.0.1:' + port, token: ${JSON.stringify(TOKEN)} } }) } catch (e) { console.log('in use:', e.code, e.message) }
      leakguard.configure({ route: { listen: '127.0.0.1:0', token: ${JSON.stringify(TOKEN)}, hash: ${JSON.stringify(HASH)} } })
      leakguard.configure({ route: false })
      const w = new Worker("try { require(" + JSON.stringify(LG) + ").configure({ route: { listen: '0', token: '${TOKEN}' } }) } catch (e) { console.log('worker:', e.message) }", { eval: true })
      w.on('exit', () => taken.close())
    })
  `)
  assert.equal(out.status, 0, out.stderr)
  assert.match(out.stdout, /in use: ERR_LEAKGUARD_CONFIG leakguard: cannot listen on 127\.0\.0\.1:\d+: Address already in use/)
  assert.match(out.stdout, /worker: leakguard: `route` is process-wide and belongs to the main thread/)
  assert.match(out.stderr, /heap snapshot route listening on 127\.0\.0\.1:\d+\n/)
  assert.ok(!(out.stdout + out.stderr).includes(TOKEN))
})

test('register: LEAKGUARD_ROUTE_LISTEN serves the route with LEAKGUARD_ROUTE_TOKEN; a generated hash is told once', async () => {
  const dir = appDir('route-listen-env')
  const child = require('./helpers').startChild('setInterval(() => {}, 1000); console.log("up")', {
    cwd: dir,
    execArgv: ['-r', 'leakguard/register'],
    env: { LEAKGUARD_ROUTE_LISTEN: 'localhost:0', LEAKGUARD_ROUTE_TOKEN: TOKEN, LEAKGUARD_DIR: dir }
  })
  await child.line(/^up$/)
  const line = child.stderr().split('\n').find((l) => l.includes('listening on'))
  const [, port, route] = line.match(/listening on 127\.0\.0\.1:(\d+) at POST (\/heapdump-[A-Za-z0-9_-]{24}) /)
  const r = await request(Number(port), { path: route, token: TOKEN })
  assert.equal(r.status, 200, r.body)
  child.child.kill()
  const { stderr, stdout } = await child.exited
  assert.equal(stderr.split('\n').filter((l) => l.includes(route)).length, 1, stderr)
  assert.ok(!(stdout + stderr).includes(TOKEN))
})
