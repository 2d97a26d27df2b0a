'use strict'
// A small HTTP service that leaks the classic ways: every request is kept
// in a log array, and a memoisation cache is never evicted. It loads itself
// for a few seconds between three snapshots, each asked for as an operator
// would, over HTTP through leakguard's authenticated route, and uploaded to
// S3 (a local S3-compatible server that `npm run demo` starts, at
// DEMO_S3_ENDPOINT); it fetches them back, and leakguard's diff names the
// leak and how it is held. On Linux a fourth, ?capture=fork, is taken under
// load, to show how little it blocks the app.
const fs = require('node:fs')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')
const leakguard = require('..')

const LOAD_SECONDS = Number(process.env.DEMO_SECONDS || 4)
const OUT_DIR = process.env.DEMO_OUT || path.join(__dirname, '..', 'out', 'demo')
const S3_ENDPOINT = process.env.DEMO_S3_ENDPOINT
const BUCKET = 'demo-heapdumps'

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

function app (req, res) {
  requestLog.push(new RequestRecord(req))
  const id = Number(new URL(req.url, 'http://x').searchParams.get('id')) || 0
  res.end(render(id))
}

// The operator's route: a secret path and a bearer token (both random here).
const TOKEN = crypto.randomBytes(33).toString('base64')
const route = leakguard.route({ token: TOKEN, hash: crypto.randomBytes(12).toString('hex') })
const server = http.createServer(route.wrap(app))

/** `curl -X POST -H 'Authorization: Bearer …' http://…/heapdump-<hash>`: the route's JSON answer. */
function callRoute (port, query = '') {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, method: 'POST', path: route.path + query, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d) => { body += d }).on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`route answered ${res.statusCode}: ${body}`))
        resolve(JSON.parse(body))
      })
    })
    req.on('error', reject).end()
  })
}

/** Requests from `clients` clients (each pausing `pauseMs` between calls) while `busy()`: how many were answered, and the slowest answer's ms. */
async function load (port, busy, { clients = 8, pauseMs = 0 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  let sent = 0
  let slowest = 0
  const worker = async () => {
    while (busy()) {
      const started = Date.now()
      await new Promise((resolve, reject) => {
        http.get({ port, path: `/item?id=${sent++}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
      })
      slowest = Math.max(slowest, Date.now() - started)
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }
  await Promise.all(Array.from({ length: clients }, worker))
  agent.destroy()
  return { sent, slowest }
}
const forSeconds = (seconds) => {
  const until = Date.now() + seconds * 1000
  return () => Date.now() < until
}

/** Downloads the snapshots' objects (`aws s3 cp` in real life) into OUT_DIR/fetched. */
async function fetchBack (snapshots) {
  const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3')
  const client = new S3Client({ endpoint: S3_ENDPOINT, forcePathStyle: true, region: 'us-east-1' })
  const dir = path.join(OUT_DIR, 'fetched')
  fs.mkdirSync(dir, { recursive: true })
  const files = []
  for (const s of snapshots) {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: s.s3.key }))
    const file = path.join(dir, path.basename(s.s3.key))
    fs.writeFileSync(file, await object.Body.transformToByteArray())
    files.push(file)
  }
  console.log(`fetched back into ${path.relative(process.cwd(), dir)}/`)
  return files
}

/** One more, with ?capture=fork, while a client calls every 10 ms: a forked child writes it as the app answers. */
async function forkSnapshot (port, snap, inProcess, mb) {
  let pending = true
  const taking = snap('?capture=fork').finally(() => { pending = false })
  const [f, calls] = await Promise.all([taking, load(port, () => pending, { clients: 1, pauseMs: 10 })])
  console.log([
    '',
    `a fourth, with POST ${route.path.slice(0, 18)}…?capture=fork, while a client called every 10 ms: ${f.s3 ? f.s3.key : f.path}`,
    `  app blocked:   ${f.blockMs.toFixed(0)} ms (vs ${inProcess.blockMs.toFixed(0)} ms in-process for the third); the file complete after ${f.totalMs.toFixed(0)} ms, ${calls.sent} calls answered meanwhile, the slowest in ${calls.slowest} ms`,
    `  memory:        the child peaked at ${mb(f.fork.childPeakRss)} MiB RSS; the app grew ${mb(f.fork.parentGrowth)} MiB (copy-on-write)`,
    `  object ids:    ${f.objectIds}: for a look at one live process; diff in-process snapshots`
  ].join('\n'))
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address()
  fs.mkdirSync(OUT_DIR, { recursive: true })
  const mb = (n) => (n / 1048576).toFixed(1) // MiB, as the settings and the CLI
  const s3 = S3_ENDPOINT && { bucket: BUCKET, prefix: 'demo/', endpoint: S3_ENDPOINT, region: 'us-east-1' }
  leakguard.configure({ dir: OUT_DIR, ...(s3 && { s3 }) })
  // The route answers with where the snapshot went; the 'snapshot' event has the rest.
  let last
  leakguard.on('snapshot', (r) => { last = r })
  const snap = async (query) => {
    const answer = await callRoute(port, query)
    return { ...answer, ...last }
  }
  // Three snapshots: before load, after some, after more. What the second
  // has that the first lacks, and the third still holds, is the leak.
  const s1 = await snap()
  console.log(`leaky server on http://127.0.0.1:${port}; loading it for 2 x ${LOAD_SECONDS / 2} s ...`)
  await load(port, forSeconds(LOAD_SECONDS / 2))
  const s2 = await snap()
  const { sent } = await load(port, forSeconds(LOAD_SECONDS / 2))
  console.log(`served requests: requestLog holds ${requestLog.length} records, renderCache ${renderCache.size} entries (${sent} in the second half)`)
  const r = await snap()
  console.log([
    '',
    r.s3
      ? `three snapshots asked for with POST ${route.path.slice(0, 18)}…, uploaded to s3://${BUCKET}/ (local files deleted once verified):\n${[s1, s2, r].map((s) => `  ${s.s3.key}`).join('\n')}\n  upload of the third: ${r.s3.parts} part(s), verified ${r.s3.afterFileMs.toFixed(0)} ms after the file was complete`
      : `heap snapshots written: ${s1.path}, ${s2.path} and ${r.path}`,
    `  size:          ${mb(r.bytes)} MiB gzip-${r.gzipLevel} (${mb(r.rawBytes)} MiB of snapshot JSON)`,
    `  heap used:     ${mb(r.heapUsed)} MiB`,
    `  app blocked:   ${r.blockMs.toFixed(0)} ms (event loop); file complete after ${r.totalMs.toFixed(0)} ms`,
    `  RSS:           ${mb(r.rssBefore)} MiB before, ${mb(r.rssAfter)} MiB after`,
    r.headroom
      ? `  memory guard:  estimated ${mb(r.headroom.need)} MiB needed of ${mb(r.headroom.available)} MiB available (${r.headroom.boundBy}); used ${mb(r.headroom.extraPeak)} MiB at peak`
      : '  memory guard:  off',
    ''
  ].join('\n'))
  // What the operator does next: fetch the three objects, diff them, here
  // with the CLI an operator would run.
  const files = r.s3 ? await fetchBack([s1, s2, r]) : [s1.path, s2.path, r.path]
  const cli = path.join(__dirname, '..', 'bin', 'leakguard.js')
  const rel = files.map((p) => path.relative(process.cwd(), p))
  console.log(`$ npx leakguard diff ${rel.join(' ')} --top 3`)
  const diff = spawnSync(process.execPath, [cli, 'diff', ...files, '--top', '3'], { stdio: 'inherit' })
  if (diff.status !== 0) throw new Error(`leakguard diff exited with ${diff.status}`)
  console.log('\nOr open the third snapshot in Chrome DevTools (Memory > Load profile) after gunzip -k, and find an object by its @id.')
  if (process.platform === 'linux') await forkSnapshot(port, snap, r, mb)
  server.close()
})
