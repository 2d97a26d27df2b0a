'use strict'
// The heap-snapshot route (issue #11, in-app) through the real frameworks,
// with real HTTP requests to a child process per app.
const { test, describe, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { appDir, readSnapshot, runChild } = require('./helpers')
const { TOKEN, HASH, download, request, raw, startApp } = require('./route-helpers')
const { startS3 } = require('./s3-helpers')

const KINDS = ['http', 'express', 'fastify', 'koa']
const json = (r) => JSON.parse(r.body)

for (const kind of KINDS) {
  describe(`${kind}: every status`, () => {
    let app
    after(() => app?.stop())

    test('the app keeps its own requests; the route answers 405, 401, 400, 200, 503, 500', async () => {
      app = await startApp(kind)
      assert.equal(app.route, `/heapdump-${HASH}`)
      assert.deepEqual(await request(app.port, { method: 'GET', path: '/hello' }).then((r) => [r.status, r.body]), [200, 'hello'])

      const get = await app.req({ method: 'GET', token: TOKEN })
      assert.equal(get.status, 405)
      assert.equal(get.headers.allow, 'POST')

      const denied = [
        await app.req({}),
        await app.req({ token: 'x'.repeat(40) }),
        await app.req({ token: TOKEN.slice(1) }),
        await app.req({ headers: { Authorization: `Basic ${TOKEN}` } }),
        await app.req({ headers: ['Authorization', `Bearer ${TOKEN}`, 'Authorization', `Bearer ${TOKEN}`] })
      ]
      for (const r of denied) {
        assert.equal(r.status, 401)
        assert.equal(r.body, denied[0].body)
        assert.equal(r.headers['www-authenticate'], 'Bearer')
      }

      const bad = await app.req({ path: `${app.route}?bogus=1`, token: TOKEN })
      assert.equal(bad.status, 400)
      assert.match(json(bad).error.message, /unknown query parameter "bogus"/)

      const ok = await app.req({ token: TOKEN })
      assert.equal(ok.status, 200, ok.body)
      assert.match(ok.headers['content-type'], /^application\/json/)
      const s = json(ok)
      assert.equal(s.reason, 'http')
      assert.ok(s.path.startsWith(app.dir) && s.bytes > 0 && s.heapUsed > 0 && s.blockMs >= 0 && s.totalMs >= s.blockMs, ok.body)
      readSnapshot(s.path)

      await request(app.port, { method: 'GET', path: '/test/tight' })
      const refused = await app.req({ token: TOKEN })
      assert.equal(refused.status, 503, refused.body)
      const e = json(refused).error
      assert.equal(e.code, 'ERR_LEAKGUARD_HEADROOM')
      assert.ok(e.need > e.available && typeof e.boundBy === 'string', refused.body)
      await request(app.port, { method: 'GET', path: '/test/loose' })

      await request(app.port, { method: 'GET', path: '/test/hook-fails' })
      const failed = await app.req({ token: TOKEN })
      assert.equal(failed.status, 500)
      assert.deepEqual(Object.keys(json(failed).error), ['code', 'message'])
      assert.equal(json(failed).error.code, 'ERR_LEAKGUARD_HOOK')
      assert.doesNotMatch(failed.body, /\n\s+at /, 'no stack')
      await request(app.port, { method: 'GET', path: '/test/hook-ok' })

      assert.equal(app.files().length, 1, 'one snapshot: only the 200 took one')
      const { stderr } = await app.stop()
      const lines = stderr.split('\n').filter((l) => l.includes('heap snapshot route (http) from 127.0.0.1'))
      assert.equal(lines.length, 10, stderr)
      assert.match(stderr, / 200 snapshot written to /)
      assert.match(stderr, / 401 unauthorized/)
      app = null
    })
  })
}

for (const kind of KINDS) {
  test(`${kind}: only the exact path is the route; every variant is the app's`, async (t) => {
    const app = await startApp(kind)
    t.after(() => app.stop())
    const p = app.route
    const variants = [
      `${p}/`, `${p}/x`, `${p}/../x`, `${p}x`, p.slice(0, -1), `/${p}`, `/%68${p.slice(2)}`, `${p}%2F`,
      p.toUpperCase(), `/heapdump-${HASH.toUpperCase()}`, `/.${p}`, `${p};x`, `/prefix${p}`
    ]
    for (const v of variants) {
      const r = await request(app.port, { path: v, token: TOKEN })
      assert.deepEqual([r.status, r.body], [404, 'app 404'], v)
    }
    const absolute = await raw(app.port, `POST http://127.0.0.1${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    assert.match(absolute, /^HTTP\/1.1 404 [\s\S]*app 404/)
    assert.deepEqual(app.files(), [])
  })
}

for (const kind of KINDS) {
  test(`${kind}: an authorised request with a body gets 400 and no snapshot`, async (t) => {
    const app = await startApp(kind)
    t.after(() => app.stop())
    const r = await app.req({ token: TOKEN, body: 'x', headers: { 'Content-Type': 'text/plain', 'Content-Length': '1' } })
    assert.equal(r.status, 400, r.body)
    assert.match(json(r).error.message, /no request body/)
    assert.deepEqual(app.files(), [])
  })
}

test('a burst of 20 authorised requests: exactly one 200, the rest 429 with Retry-After', async (t) => {
  const app = await startApp('express', { configure: { drainMs: 1000 } })
  t.after(() => app.stop())
  const all = await Promise.all(Array.from({ length: 20 }, () => app.req({ token: TOKEN })))
  const statuses = all.map((r) => r.status).sort()
  assert.deepEqual(statuses, [200, ...Array(19).fill(429)])
  for (const r of all.filter((r) => r.status === 429)) {
    assert.ok(Number(r.headers['retry-after']) > 0)
    assert.equal(json(r).error.code, 'busy')
  }
  assert.equal(app.files().length, 1)
  // Once it is done, the next one is taken.
  assert.equal((await app.req({ token: TOKEN })).status, 200)
})

test('malformed input never crashes the app and never snapshots', async (t) => {
  const app = await startApp('http')
  t.after(() => app.stop())
  const p = app.route
  const odd = [
    ...['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'M-SEARCH'].map((method) => ({ method, token: TOKEN })),
    { headers: { Authorization: '' } },
    { headers: { Authorization: 'Bearer' } },
    { headers: { Authorization: 'Bearer  ' } },
    { headers: { Authorization: `Bearer ${TOKEN} extra` } },
    { headers: { Authorization: `bearer"${TOKEN}"` } },
    { headers: { Authorization: 'Bearer ' + 'A'.repeat(8000) } },
    { headers: ['Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer nope'] },
    { headers: { 'X-Big': 'x'.repeat(20000) }, token: TOKEN },
    { body: 'x'.repeat(100000), headers: { 'Content-Type': 'text/plain' } },
    { body: 'x', token: TOKEN, headers: { 'Content-Type': 'text/plain' } },
    { path: `${p}?download=1&${'a'.repeat(5000)}`, headers: { Authorization: 'Bearer wrong' } }
  ]
  const statuses = []
  for (const o of odd) statuses.push((await app.req(o)).status)
  assert.ok(statuses.every((s) => [0, 400, 401, 405, 429, 431].includes(s)), statuses.join(','))
  for (const bytes of [
    `POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 5\r\n\r\nab`,
    `POST ${p} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    `\x00\x01\x02 garbage\r\n\r\n`,
    `POST ${p}\r\n\r\n`
  ]) await raw(app.port, bytes, 300)
  assert.equal((await request(app.port, { method: 'GET', path: '/hello' })).body, 'hello')
  assert.deepEqual(app.files(), [])
  assert.equal(app.child.exitCode, null, 'still running')
})

test('the failure backoff slows a guessing loop, per address', async (t) => {
  const app = await startApp('http', { configure: { quiet: true } })
  t.after(() => app.stop())
  // Guesses from 127.0.0.1 as fast as they go, for as many requests as the
  // app's own 404 answers in the same loop: the route evaluates few of them.
  const loop = async (o, n) => {
    const counts = {}
    for (let i = 0; i < n; i++) {
      const r = await app.req({ localAddress: '127.0.0.1', ...o })
      counts[r.status] = (counts[r.status] ?? 0) + 1
    }
    return counts
  }
  const own = await loop({ path: '/nothing' }, 100)
  assert.equal(own[404], 100)
  const guesses = await loop({ token: 'g'.repeat(32) }, 100)
  assert.ok(guesses[401] >= 5 && guesses[401] < 20, JSON.stringify(guesses))
  assert.equal(guesses[401] + guesses[429], 100)
  // The address waits, even with the right token; another address does not.
  assert.equal((await app.req({ token: TOKEN, localAddress: '127.0.0.1' })).status, 429)
  const other = await app.req({ token: TOKEN, localAddress: '127.0.0.2' })
  assert.equal(other.status, 200, other.body)
})

test('one stderr line per request that reaches the route, none with quiet', async () => {
  const loud = await startApp('http')
  await loud.req({})
  await request(loud.port, { method: 'GET', path: '/hello' })
  const out = await loud.stop()
  const lines = out.stderr.split('\n').filter((l) => l.startsWith('leakguard['))
  assert.deepEqual(lines.map((l) => l.replace(/^leakguard\[\d+\]: /, '')), ['heap snapshot route (http) from 127.0.0.1: 401 unauthorized'])
  const quiet = await startApp('http', { configure: { quiet: true } })
  await quiet.req({})
  assert.equal((await quiet.stop()).stderr, '')
})

test('a generated hash is printed once with the full path, never the token', async () => {
  const app = await startApp('http', { options: { token: TOKEN } })
  assert.match(app.route, /^\/heapdump-[A-Za-z0-9_-]{24}$/)
  assert.equal((await app.req({ token: TOKEN })).status, 200)
  const { stderr } = await app.stop()
  const told = stderr.split('\n').filter((l) => l.includes('heap snapshot route at POST'))
  assert.equal(told.length, 1)
  assert.ok(told[0].includes(app.route), told[0])
})

test('register users mount it with route() and LEAKGUARD_ROUTE_TOKEN / LEAKGUARD_ROUTE_HASH', async () => {
  const app = await startApp('express', {
    options: undefined,
    cwd: appDir('route-register'),
    execArgv: ['-r', 'leakguard/register'],
    env: { LEAKGUARD_ROUTE_TOKEN: TOKEN, LEAKGUARD_ROUTE_HASH: HASH }
  })
  assert.equal(app.route, `/heapdump-${HASH}`)
  assert.equal((await app.req({ token: TOKEN })).status, 200)
  const { stderr } = await app.stop()
  assert.doesNotMatch(stderr, /unknown variable/)
})

test('with S3 configured, the 200 carries the key, and the object is there', async (t) => {
  const s3 = await startS3()
  t.after(() => s3.stop())
  const app = await startApp('express', { configure: { s3: s3.config() }, env: s3.env() })
  t.after(() => app.stop())
  const r = await app.req({ token: TOKEN })
  assert.equal(r.status, 200, r.body)
  const body = json(r)
  assert.equal(body.s3.bucket, s3.bucket)
  assert.match(body.s3.key, /-http\.heapsnapshot\.gz$/)
  assert.equal(body.path, undefined)
  assert.equal((await s3.headObject(body.s3.key)).ContentLength, body.bytes)
  assert.ok(!s3.secretAppearsIn(r.body))
})

for (const kind of KINDS) {
  test(`${kind}: download: true streams the gzip file for ?download=1, from the file`, async (t) => {
    const app = await startApp(kind, { options: { token: TOKEN, hash: HASH, download: true } })
    t.after(() => app.stop())
    const bad = await app.req({ path: `${app.route}?download=yes`, token: TOKEN })
    assert.equal(bad.status, 400)
    const got = await download(app.port, `${app.route}?download=1`)
    assert.equal(got.status, 200)
    assert.equal(got.headers['content-type'], 'application/gzip')
    const [file] = app.files()
    assert.match(file, /\.heapsnapshot\.gz$/)
    assert.equal(got.headers['content-disposition'], `attachment; filename="${file}"`)
    assert.equal(Number(got.headers['content-length']), got.body.length)
    assert.deepEqual(got.body, fs.readFileSync(path.join(app.dir, file)), 'the file, kept')
    const copy = path.join(app.dir, 'copy.heapsnapshot.gz')
    fs.writeFileSync(copy, got.body)
    readSnapshot(copy)
    // Without the parameter, the JSON as usual.
    assert.equal(json(await app.req({ token: TOKEN })).reason, 'http')
  })
}

test('without download: true, ?download=1 is an unknown parameter', async (t) => {
  const app = await startApp('http')
  t.after(() => app.stop())
  assert.equal((await app.req({ path: `${app.route}?download=1`, token: TOKEN })).status, 400)
  assert.deepEqual(app.files(), [])
})

test('no route without a good token; messages never show it', () => {
  const short = 'short-secret-value'
  for (const [options, re] of [
    [undefined, /needs a token/],
    [{ token: short }, /this one has 18/],
    [{ token: `${TOKEN} x` }, /has others/],
    [{ token: 42 }, /expected a string/],
    [{ token: TOKEN, hash: 'short' }, /a hash is 16/],
    [{ token: TOKEN, hash: HASH, path: '/x' }, /not both/],
    [{ token: TOKEN, path: '/a/../b' }, /a path starts with/],
    [{ token: TOKEN, download: 'yes' }, /invalid option `download`/],
    [{ token: TOKEN, listen: '127.0.0.1:9464' }, /unknown option `listen`/]
  ]) {
    assert.throws(() => leakguard.route(options), (e) => {
      assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG')
      assert.match(e.message, re)
      assert.ok(!e.message.includes(short) && !e.message.includes(TOKEN) && !e.message.includes('42'), e.message)
      return true
    })
  }
  const r = runChild(`
    try { require(LG).route() } catch (e) { console.log(e.code + ' ' + e.message) }
  `, { env: { LEAKGUARD_ROUTE_TOKEN: 'too-short-to-use' } })
  assert.match(r.stdout, /^ERR_LEAKGUARD_CONFIG leakguard: LEAKGUARD_ROUTE_TOKEN: a token is 32/)
  assert.ok(!r.stdout.includes('too-short-to-use'))
  // register says so at startup, without the value.
  const problems = JSON.parse(runChild('console.log(JSON.stringify(require(LG).configureFromEnv()))',
    { env: { LEAKGUARD_ROUTE_TOKEN: 'too-short-to-use' } }).stdout)
  assert.equal(problems.length, 1)
  assert.match(problems[0], /^LEAKGUARD_ROUTE_TOKEN: a token is 32 .* route\(\) refuses it$/)
  assert.ok(!problems[0].includes('too-short-to-use'))
})
