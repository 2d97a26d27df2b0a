'use strict'
// S3 upload against a real S3-compatible server (s3s-fs; moto where s3s-fs
// is unlike S3), read back with the AWS SDK for JavaScript. Every snapshot is
// taken in a child process: S3 settings and credentials are process-wide.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { PKG, tmpDir, readSnapshot, listDir, runChild, startChild, kill } = require('./helpers')
const { S3Client, ListBucketsCommand } = require('@aws-sdk/client-s3')
const { startS3, freePort, REGION } = require('./s3-helpers')
const { startMoto } = require('../scripts/s3-server')

const MiB = 2 ** 20
const CLI = path.join(PKG, 'bin', 'leakguard.js')
const { version: LEAKGUARD_VERSION } = require('../package.json')
// ~55 MiB heapUsed, a ~110 MiB raw snapshot: about 20 parts of 5 MiB, taking
// seconds to write, so the upload has time to overlap the write (or be killed).
const BIG_HEAP = "globalThis.keep = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'k' + i, t: 'some text ' + i }))"

let s3
const servers = []
const live = new Set()
const outputs = [] // every child's stdout + stderr, searched for secrets at the end
const leaks = [] // one check per secret handed to a child

before(async () => {
  s3 = await startS3()
  servers.push(s3)
  leaks.push(s3.secretAppearsIn)
})
after(async () => {
  for (const c of live) c.child.kill('SIGKILL')
  await Promise.all(servers.map((s) => s.stop()))
})

function start (script, options) {
  const c = startChild(script, options)
  live.add(c)
  c.exited.then((r) => { live.delete(c); outputs.push(r.stdout + r.stderr) })
  return c
}

function run (script, options) {
  const r = runChild(script, options)
  outputs.push(r.stdout + r.stderr)
  return r
}

function cli (args, env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 })
  outputs.push(r.stdout + r.stderr)
  return r
}

/**
 * A child that configures leakguard, takes one snapshot and prints
 * `result <json>` or `error <json>` (the error's own fields included).
 */
function snapshotChild ({ configure, env, setup = '' }) {
  return start(`
    ${setup}
    const lg = require(LG)
    lg.configure(${JSON.stringify(configure)})
    lg.snapshot().then(
      (r) => console.log('result ' + JSON.stringify(r)),
      (e) => console.log('error ' + JSON.stringify({ ...e, name: e.name, message: e.message })))
  `, { env })
}

async function outcome (c) {
  const line = await c.line(/^(result|error) /)
  const { code, stderr } = await c.exited
  assert.equal(code, 0, stderr)
  const [kind, json] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]
  return { [kind]: JSON.parse(json) }
}

async function failure (c) {
  const { result, error } = await outcome(c)
  assert.equal(result, undefined, `the upload must fail, yet went to ${JSON.stringify(result?.s3)}`)
  return error
}

const sidecar = (file) => path.join(path.dirname(file), `.${path.basename(file)}.leakguard-upload`)
const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex')
const unquote = (etag) => etag.replace(/"/g, '')
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function until (check, what, ms = 60_000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The upload failed and said so; the local file is complete and marked pending. */
function assertKept (e, { s3Code, gzip = true }) {
  assert.equal(e.code, 'ERR_LEAKGUARD_UPLOAD', e.message)
  if (s3Code) assert.ok([s3Code].flat().includes(e.s3Code), `s3Code ${e.s3Code}, expected ${s3Code}: ${e.message}`)
  assert.ok(fs.existsSync(e.path), `the local file stays: ${e.path}`)
  assert.ok(e.path.endsWith(gzip ? '.heapsnapshot.gz' : '.heapsnapshot'), e.path)
  assert.match(e.message, new RegExp(`kept\\b.*${escape(e.path)}`), 'the message names the kept file')
  assert.ok(fs.existsSync(sidecar(e.path)), `a pending-upload sidecar: ${listDir(path.dirname(e.path))}`)
  readSnapshot(e.path)
}

test('a snapshot is uploaded under the default key, with its metadata, and the local file goes', { timeout: 120_000 }, async () => {
  const dir = tmpDir('s3-default')
  const keepDir = tmpDir('s3-keep')
  const notBefore = new Date()
  const c = start(`
    const lg = require(LG)
    ;(async () => {
      lg.configure({ dir: ${JSON.stringify(dir)}, s3: ${JSON.stringify(s3.config())} })
      const r = await lg.snapshot()
      lg.configure({ dir: ${JSON.stringify(keepDir)}, s3: ${JSON.stringify(s3.config({ keepLocal: true }))} })
      const kept = await lg.snapshot()
      console.log('result ' + JSON.stringify({ r, kept, version: process.version }))
    })()
  `, { env: s3.env() })
  const { r, kept, version } = JSON.parse((await c.line(/^result /)).slice(7))
  assert.equal((await c.exited).code, 0)
  const notAfter = new Date()

  // {hostname}/{yyyy}/{mm}/{dd}/{hostname}-{pid}-{timestamp}-{reason}.heapsnapshot.gz
  const host = escape(os.hostname())
  const m = r.s3.key.match(new RegExp(`^${host}/(\\d{4})/(\\d{2})/(\\d{2})/${host}-${c.pid}-` +
    '((\\d{4})(\\d{2})(\\d{2})T(\\d{2})(\\d{2})(\\d{2})\\.(\\d{3})Z)-api\\.heapsnapshot\\.gz$'))
  assert.ok(m, `default key: ${r.s3.key}`)
  const [, yyyy, mm, dd, , ty, tm, td, h, min, sec, ms] = m
  assert.deepEqual([yyyy, mm, dd], [ty, tm, td], 'the date path is the timestamp\'s date')
  const at = new Date(Date.UTC(+ty, tm - 1, +td, +h, +min, +sec, +ms))
  assert.ok(at >= new Date(notBefore - 1000) && at <= notAfter, `a UTC timestamp of the snapshot: ${m[4]}`)

  assert.equal(r.s3.bucket, s3.bucket)
  assert.equal(r.s3.parts, 1, 'smaller than a part: one PutObject')
  assert.equal(r.s3.bytes, r.bytes)
  assert.ok(r.s3.ms >= 0)
  const head = await s3.headObject(r.s3.key)
  assert.equal(unquote(head.ETag), unquote(r.s3.etag))
  assert.equal(head.ContentLength, r.bytes)
  assert.equal(head.ContentType, 'application/gzip')
  assert.equal(head.ContentEncoding, undefined, 'a .gz object, not a transfer encoding: downloads stay gzipped')
  assert.equal(head.Metadata.hostname, os.hostname())
  assert.equal(head.Metadata.pid, String(c.pid))
  assert.ok([version, version.slice(1)].includes(head.Metadata['node-version']), `node-version ${head.Metadata['node-version']}`)
  assert.equal(head.Metadata['leakguard-version'], LEAKGUARD_VERSION)
  assert.equal(head.Metadata.reason, 'api')
  assert.equal(head.Metadata['heap-used'], String(r.heapUsed))

  const file = path.join(tmpDir('s3-download'), 'snapshot.heapsnapshot')
  fs.writeFileSync(file, zlib.gunzipSync(await s3.getObject(r.s3.key)))
  readSnapshot(file)
  const summary = cli(['summary', file])
  assert.equal(summary.status, 0, summary.stderr)

  assert.deepEqual(listDir(dir), [], 'uploaded and verified: the local file is deleted, and no sidecar')
  assert.deepEqual(listDir(keepDir), [path.basename(kept.path)], 'keepLocal: the file stays, no sidecar')
  assert.equal(sha256(fs.readFileSync(kept.path)), sha256(await s3.getObject(kept.s3.key)))
})

test("a fork snapshot (capture: 'fork') is uploaded like any other, once the child has written it", { timeout: 120_000, skip: process.platform !== 'linux' }, async () => {
  const dir = tmpDir('s3-fork')
  const c = snapshotChild({ configure: { dir, s3: s3.config({ keepLocal: true }), capture: 'fork' }, env: s3.env(), setup: BIG_HEAP })
  const { result: r } = await outcome(c)
  assert.equal(r.objectIds, 'fresh')
  assert.ok(r.fork.pid > 0)
  assert.equal(r.s3.bytes, r.bytes)
  assert.ok(r.s3.parts > 1, `in parts: ${r.s3.parts}`)
  const bytes = await s3.getObject(r.s3.key)
  assert.equal(sha256(bytes), sha256(fs.readFileSync(r.path)))
  const file = path.join(tmpDir('s3-fork-download'), 'fork.heapsnapshot')
  fs.writeFileSync(file, zlib.gunzipSync(bytes))
  assert.deepEqual(readSnapshot(file).snapshot.leakguard, { capture: 'fork' })
})

test('a snapshot larger than a part goes up in parts while it is being written', { timeout: 180_000 }, async (t) => {
  const dir = tmpDir('s3-multipart')
  const c = snapshotChild({
    setup: BIG_HEAP,
    configure: { dir, gzip: false, s3: s3.config({ partSizeMb: 5, keepLocal: true }) },
    env: s3.env()
  })
  // Watched from here, off the child's blocked JS thread: when the local file
  // gets its final name (complete), and when each part reaches the server.
  const parts = new Set()
  let firstPartAt, fileAt, partsBeforeFile
  const watch = setInterval(() => {
    for (const f of s3.partFiles()) parts.add(f)
    if (parts.size && !firstPartAt) firstPartAt = performance.now()
    if (!fileAt && listDir(dir).some((f) => f.endsWith('.heapsnapshot') && !f.startsWith('.'))) {
      fileAt = performance.now()
      partsBeforeFile = parts.size
    }
  }, 5)
  const { result: r, error } = await outcome(c)
  const doneAt = performance.now()
  clearInterval(watch)
  assert.equal(error, undefined, error?.message)

  assert.equal(r.s3.parts, Math.ceil(r.bytes / (5 * MiB)), `${r.bytes} bytes in 5 MiB parts`)
  assert.ok(r.s3.parts > 1)
  assert.match(r.s3.etag, new RegExp(`-${r.s3.parts}"?$`), 'a multipart ETag')
  const head = await s3.headObject(r.s3.key)
  assert.equal(head.ContentType, 'application/json')
  assert.equal(head.ContentLength, r.bytes)
  assert.ok(r.s3.key.endsWith('-api.heapsnapshot'), r.s3.key)
  assert.equal(sha256(await s3.getObject(r.s3.key)), sha256(fs.readFileSync(r.path)))

  // Overlap, by order of events rather than by absolute times: an upload that
  // starts after the file is complete has no part at the server by then, and
  // spends all its time after it. Streamed parts are mostly up while V8 is
  // still writing: only the last part(s) and the completion come after the
  // file, a small share of the whole upload (the write takes seconds, a part
  // of 5 MiB to a local server tens of ms), so half of it is a wide margin.
  assert.ok(fileAt && firstPartAt, 'both seen')
  assert.ok(partsBeforeFile >= 1, `parts reached the server before the file was complete (${partsBeforeFile} of ${r.s3.parts})`)
  const afterFile = doneAt - fileAt
  const upload = doneAt - firstPartAt
  t.diagnostic(`${r.s3.parts} parts, ${partsBeforeFile} up before the file was complete; ${afterFile.toFixed(0)} of ${upload.toFixed(0)} ms after it`)
  assert.ok(afterFile < upload / 2, `${afterFile.toFixed(0)} ms of a ${upload.toFixed(0)} ms upload came after the file was complete`)
})

test('a wrong secret or access key: rejected with the S3 code, and the complete file is kept', { timeout: 120_000 }, async () => {
  const wrongSecret = `wrong-${crypto.randomBytes(16).toString('hex')}`
  leaks.push((text) => text.includes(wrongSecret))
  for (const [env, s3Code] of [
    [s3.env({ AWS_SECRET_ACCESS_KEY: wrongSecret }), 'SignatureDoesNotMatch'],
    // s3s-fs answers an unknown key NotSignedUp; AWS answers InvalidAccessKeyId.
    [s3.env({ AWS_ACCESS_KEY_ID: 'no-such-key' }), ['InvalidAccessKeyId', 'NotSignedUp']]
  ]) {
    const dir = tmpDir('s3-auth')
    const e = await failure(snapshotChild({ configure: { dir, s3: s3.config() }, env }))
    assertKept(e, { s3Code })
    assert.equal(e.bucket, s3.bucket)
    assert.ok(e.key, 'the key it was going to')
  }
})

test('the server killed mid-upload: the file is kept, and `leakguard upload` finishes the job', { timeout: 300_000 }, async () => {
  // Its own server, so that the other tests' stays up whatever happens here.
  const own = await startS3()
  servers.push(own)
  leaks.push(own.secretAppearsIn)
  const dir = tmpDir('s3-killed')
  const c = snapshotChild({
    setup: BIG_HEAP,
    configure: { dir, gzip: false, s3: own.config({ partSizeMb: 5 }) },
    env: own.env()
  })
  // A part at the server means the multipart upload is under way; ~20 parts
  // to go, so it cannot finish first.
  await until(() => own.partFiles().length > 0, 'the first part at the server')
  await own.kill('SIGKILL')
  const e = await failure(c)
  assertKept(e, { gzip: false })
  assert.ok(e.s3Code, 'an s3Code')
  assert.match(e.message, /refused|reset|closed|broken|connect|timed? ?out/i, 'says why')
  assert.ok(e.uploadId, 'the multipart upload id, for cleaning up')

  await own.restart()
  assert.ok((await own.listParts(e.key, e.uploadId)).length > 0, 'the upload is dangling at the server')
  const r = cli(['upload', e.path], own.leakguardEnv())
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const m = r.stdout.match(new RegExp(`^uploaded ${escape(e.path)} to s3://${own.bucket}/(\\S+) \\(`, 'm'))
  assert.ok(m, r.stdout)
  assert.equal(m[1], e.key, 'under the key the snapshot was taken with (its mark)')
  assert.equal(sha256(await own.getObject(m[1])), sha256(fs.readFileSync(e.path)), 'without --delete the file stays')
  assert.ok(!fs.existsSync(sidecar(e.path)), 'no longer pending')
  assert.deepEqual(await own.listParts(e.key, e.uploadId), [], 'the dangling upload was aborted')
  assert.deepEqual(own.pendingUploads(), [], 'no unfinished multipart upload at the server')
  assert.deepEqual(own.partFiles(), [])
})

// Against moto: s3s-fs 0.14.1 answers PutObject and CreateMultipartUpload to
// a missing bucket by creating it (its put_object never checks); S3 itself,
// and moto, answer NoSuchBucket. moto accepts any credentials (no-auth mode),
// so the s3s-fs ones in s3.env() do.
test('a missing bucket: NoSuchBucket', { timeout: 120_000 }, async (t) => {
  const moto = await startMoto()
  t.after(() => moto.stop())
  const client = new S3Client({
    endpoint: moto.endpoint, forcePathStyle: true, region: REGION,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey }
  })
  t.after(() => client.destroy())
  const buckets = async () => (await client.send(new ListBucketsCommand({}))).Buckets ?? []
  assert.deepEqual(await buckets(), [], 'a fresh moto has no bucket')

  const dir = tmpDir('s3-nobucket')
  const e = await failure(snapshotChild({
    configure: { dir, s3: { bucket: 'no-such-bucket', endpoint: moto.endpoint } },
    env: s3.env()
  }))
  assertKept(e, { s3Code: 'NoSuchBucket' })
  assert.equal(e.bucket, 'no-such-bucket')
  assert.ok(e.key, 'the key it was going to')
  assert.deepEqual(listDir(dir), [path.basename(sidecar(e.path)), path.basename(e.path)].sort(), 'the file and its sidecar, nothing else')
  assert.deepEqual(await buckets(), [], 'and no bucket was made')
})

test('an endpoint nobody listens on: ConnectionRefused, without hanging', { timeout: 120_000 }, async () => {
  const dir = tmpDir('s3-refused')
  const endpoint = `http://127.0.0.1:${await freePort()}`
  const c = snapshotChild({
    setup: 'const t0 = Date.now(); process.on(\'exit\', () => console.log(\'ms \' + (Date.now() - t0)))',
    configure: { dir, s3: s3.config({ endpoint }) },
    env: s3.env()
  })
  const e = await failure(c)
  assertKept(e, { s3Code: 'ConnectionRefused' })
  assert.match(e.message, /refused/i)
  // A hang check, not a timing target: retries may take seconds.
  const ms = Number((await c.exited).stdout.match(/^ms (\d+)$/m)[1])
  assert.ok(ms < 30_000, `gave up after ${ms} ms`)
})

test('a file left by a process that died near its heap limit is uploaded by the next one', { timeout: 300_000 }, async () => {
  const dir = tmpDir('s3-leftover')
  const port = await freePort()
  const s3Options = { bucket: s3.bucket, endpoint: `http://127.0.0.1:${port}` }
  // No server on `port` yet: the dying process cannot upload.
  const dying = run(`
    require(LG).configure({ dir: ${JSON.stringify(dir)}, nearHeapLimit: true, gzip: true, s3: ${JSON.stringify(s3Options)} })
    class LeakedRecord { constructor () { this.payload = new Array(1024).fill(0) } }
    const leak = []
    setInterval(() => { for (let i = 0; i < 100; i++) leak.push(new LeakedRecord()) }, 1)
  `, { env: s3.env({ NODE_OPTIONS: '--max-old-space-size=64' }) })
  assert.match(dying.stderr, /heap out of memory/)
  const files = listDir(dir).filter((f) => !f.startsWith('.'))
  assert.equal(files.length, 1, `one snapshot: ${listDir(dir)}`)
  const file = path.join(dir, files[0])
  assert.deepEqual(listDir(dir), [path.basename(sidecar(file)), files[0]].sort(), 'the file and its pending sidecar')
  readSnapshot(file)
  const bytes = fs.readFileSync(file)

  const later = await startS3({ port, bucket: s3.bucket })
  servers.push(later)
  leaks.push(later.secretAppearsIn)
  const c = start(`
    const lg = require(LG)
    lg.on('upload', (u) => { if (u.leftover) console.log('upload ' + JSON.stringify(u)) })
    lg.on('error', (e) => console.log('error ' + e.code + ' ' + e.message))
    lg.configure({ dir: ${JSON.stringify(dir)}, gzip: true, s3: ${JSON.stringify(s3Options)} })
    setInterval(() => {}, 1000)
  `, { env: later.env() })
  const line = await c.line(/^(upload|error) /)
  assert.match(line, /^upload /)
  const u = JSON.parse(line.slice(7))
  assert.equal(u.leftover, true)
  assert.equal(u.path, file)
  assert.equal(u.bucket, s3.bucket)
  assert.equal(u.reason, 'near-heap-limit', 'the reason it was taken for')
  assert.equal(sha256(await later.getObject(u.key)), sha256(bytes))
  await until(() => listDir(dir).length === 0, 'the uploaded file and its sidecar to be deleted', 10_000)
  kill('TERM', c.pid)
  await c.exited
})

test('node -r leakguard/register: a SIGUSR2 snapshot uploaded with LEAKGUARD_S3_* alone', { timeout: 120_000 }, async () => {
  const dir = tmpDir('s3-register')
  const c = start("setInterval(() => {}, 1000); console.log('app started')", {
    cwd: dir,
    execArgv: ['-r', path.join(PKG, 'register.js')],
    env: s3.leakguardEnv({ LEAKGUARD_DIR: dir })
  })
  await c.line(/^app started$/)
  kill('USR2', c.pid)
  const uploaded = new RegExp(`uploaded to s3://${s3.bucket}/(\\S+?\\.heapsnapshot\\.gz)`)
  await until(() => uploaded.test(c.stderr()) || c.child.exitCode !== null, 'the stderr line')
  const key = c.stderr().match(uploaded)?.[1]
  assert.ok(key, c.stderr())
  kill('TERM', c.pid)
  await c.exited
  const file = path.join(tmpDir('s3-register-get'), 'signal.heapsnapshot.gz')
  fs.writeFileSync(file, await s3.getObject(key))
  readSnapshot(file)
  assert.equal((await s3.headObject(key)).Metadata.reason, 'signal')
})

test('a pending upload keeps the process alive until verified; snapshot({ s3: false }) stays local and raw', { timeout: 120_000 }, async () => {
  const dir = tmpDir('s3-alive')
  const c = start(`
    const lg = require(LG)
    lg.configure({ dir: ${JSON.stringify(dir)}, s3: ${JSON.stringify(s3.config())} })
    lg.on('upload', (u) => console.log('upload ' + JSON.stringify(u)))
    lg.snapshot({ s3: false, filename: 'local.heapsnapshot' }).then((r) => {
      console.log('local ' + JSON.stringify(r))
      lg.snapshot() // not awaited, and nothing else keeps the loop alive
    })
  `, { env: s3.env() })
  const local = JSON.parse((await c.line(/^local /)).slice(6))
  const u = JSON.parse((await c.line(/^upload /)).slice(7))
  assert.equal((await c.exited).code, 0)
  assert.equal(local.s3, undefined, 'not uploaded')
  assert.equal(local.gzip, false, 'without S3 for this call, gzip keeps its own default')
  assert.equal(local.path, path.join(dir, 'local.heapsnapshot'))
  readSnapshot(local.path)
  // Had the process exited before the upload ended, its file and mark would still be here.
  assert.deepEqual(listDir(dir), ['local.heapsnapshot'])
  assert.equal(u.leftover, false)
  assert.equal((await s3.headObject(u.key)).ContentLength, u.bytes)
})

test('bad S3 options: a TypeError naming the option', () => {
  const cases = [
    ['partSizeMb', { bucket: 'leakguard-test', partSizeMb: 4 }],
    ['partSizeMb', { bucket: 'leakguard-test', partSizeMb: 5121 }],
    ['partSizeMb', { bucket: 'leakguard-test', partSizeMb: 'big' }],
    ['concurrency', { bucket: 'leakguard-test', concurrency: 0 }],
    ['key', { bucket: 'leakguard-test', key: '{hostname}/{nope}.gz' }],
    ['kmsKeyId', { bucket: 'leakguard-test', kmsKeyId: 'k' }],
    ['kmsKeyId', { bucket: 'leakguard-test', sse: 'AES256', kmsKeyId: 'k' }],
    ['bucket', {}],
    ['bucket', { prefix: 'heaps/' }]
  ]
  const r = run(`
    const lg = require(LG)
    const out = ${JSON.stringify(cases)}.map(([, s3]) => {
      try { lg.configure({ s3 }); return { accepted: true } } catch (e) {
        return { typeError: e instanceof TypeError, code: e.code, message: e.message }
      }
    })
    console.log(JSON.stringify(out))
  `)
  assert.equal(r.status, 0, r.stderr)
  JSON.parse(r.stdout).forEach((e, i) => {
    const [option, s3Options] = cases[i]
    const what = JSON.stringify(s3Options)
    assert.ok(!e.accepted, `${what} is refused`)
    assert.ok(e.typeError, what)
    assert.equal(e.code, 'ERR_LEAKGUARD_CONFIG', what)
    assert.match(e.message, new RegExp(`\`(s3\\.)?${option}\``), `${what}: ${e.message}`)
  })
  const placeholder = cases.findIndex(([, o]) => o.key)
  assert.match(JSON.parse(r.stdout)[placeholder].message, /\{nope\}/, 'names the unknown placeholder')

  // Its own cwd: the default snapshot dir, where leftovers would be looked for.
  const reg = run("console.log('app started')", {
    cwd: tmpDir('s3-register-bad'),
    env: s3.leakguardEnv({ NODE_OPTIONS: `-r ${path.join(PKG, 'register.js')}`, LEAKGUARD_S3_PART_SIZE_MB: '3' })
  })
  assert.equal(reg.status, 0, reg.stderr)
  assert.equal(reg.stdout, 'app started\n')
  assert.match(reg.stderr, /^leakguard: ignoring LEAKGUARD_S3_PART_SIZE_MB="3": .*\b5\b/m, 'names the variable and the minimum')
})

// Last: everything the children above printed.
test('no secret appears in anything leakguard printed', () => {
  assert.ok(outputs.length > 0)
  for (const text of outputs) {
    assert.ok(!leaks.some((leaked) => leaked(text)), `a secret leaked in:\n${text.slice(0, 4000)}`)
  }
})
