'use strict'
// `leakguard diff` on snapshots of small programs with the classic leaks:
// the leaking constructor comes first, and its retainer path runs through
// the variable that leaks.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const leakguard = require('..')
const { PKG, nodeCommand, tmpDir, runChild } = require('./helpers')

const CLI = path.join(PKG, 'bin', 'leakguard.js')
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Runs `program` in a child: `step()` is one unit of load (a request, a
 * call); s1 after warm-up, s2 after `n` more steps, s3 after `n` more.
 * Returns the three files (s3 gzipped: both formats are read).
 */
function snapshots (name, program, n = 2000, objectIds = 'keep') {
  const dir = tmpDir(`analyze-${name}`)
  const r = runChild(`
    const leakguard = require(LG)
    ${program}
    ;(async () => {
      for (let i = 0; i < 20; i++) await step(i)
      const s1 = (await leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 's1.heapsnapshot', objectIds: '${objectIds}' })).path
      for (let i = 0; i < ${n}; i++) await step(i)
      const s2 = (await leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 's2.heapsnapshot', objectIds: '${objectIds}' })).path
      for (let i = 0; i < ${n}; i++) await step(i)
      const s3 = (await leakguard.snapshot({ dir: ${JSON.stringify(dir)}, filename: 's3.heapsnapshot', gzip: true, objectIds: '${objectIds}' })).path
      console.log(JSON.stringify([s1, s2, s3]))
      process.exit(0)
    })()
  `)
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

const CASES = [
  ['a request log that grows per request (real HTTP)', 'RequestLog', /requestLogs \((variable in \S+, \S+:\d+|top-level variable, \S+)\) \(Array\) → \[\d+\] \(RequestLog\)$/, `
    const http = require('node:http')
    class RequestLog { constructor (req) { this.url = req.url; this.headers = { ...req.headers }; this.at = Date.now() } }
    const requestLogs = []
    const server = http.createServer((req, res) => { requestLogs.push(new RequestLog(req)); res.end('ok') })
    const listening = new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const agent = new http.Agent({ keepAlive: true })
    async function step (i) {
      await listening
      await new Promise((resolve, reject) => http.get({ port: server.address().port, path: '/item/' + i, agent },
        (res) => { res.resume(); res.on('end', resolve) }).on('error', reject))
    }
  `, 300],
  ['an unbounded memoisation cache', 'PriceQuote', /cache \((variable in \w+, \S+:\d+|top-level variable, \S+)\) \(Map\) → \.get\('sku-\d+-[\d.]+'\) \(PriceQuote\)$/, `
    class PriceQuote { constructor (sku) { this.sku = sku; this.prices = [1, 2, 3].map((x) => x * sku.length) } }
    const cache = new Map()
    function quote (sku) { if (!cache.has(sku)) cache.set(sku, new PriceQuote(sku)); return cache.get(sku) }
    globalThis.pricing = { quote }
    async function step (i) { pricing.quote('sku-' + i + '-' + Math.random()) }
  `],
  ['a listener added per request', 'Function', /bus( \(variable in [^)]+\))? \(EventEmitter\) → .*\(onConfigChanged\(\)\)$/, `
    const { EventEmitter } = require('node:events')
    const bus = new EventEmitter()
    bus.setMaxListeners(0)
    globalThis.services = { bus }
    async function step (i) {
      const session = { id: i, buffer: new Array(64).fill(i) }
      bus.on('config-changed', function onConfigChanged () { session.stale = true })
    }
  `],
  ['closures pushed to a global array', 'Function', /^(?!\(GC roots\)).*\.retryQueue \(Array\) → \[\d+\] \(Function\)$/, `
    globalThis.retryQueue = []
    async function step (i) {
      const payload = { attempt: i, body: 'x'.repeat(100) + i }
      retryQueue.push(() => payload)
    }
  `]
]

for (const [what, leaking, pathRe, program, n] of CASES) {
  test(`diff finds ${what}`, async () => {
    const [s1, s2, s3] = snapshots(leaking.replace(/\W/g, ''), program, n)
    const d = await leakguard.analyze.diff(s1, s2, s3)
    const top = d.groups[0]
    assert.equal(top.name, leaking, JSON.stringify(d.groups.slice(0, 3), null, 1))
    assert.ok(top.count >= (n ?? 2000), `at least one leaked object per step: ${top.count}`)
    assert.match(top.path.map((h) => `${h.edge} (${h.node})`).join(' → '), pathRe)
    assert.equal(top.path[0].edgeType, 'root')
    for (const h of top.path) {
      assert.ok(Number.isInteger(h.id) && h.retained >= h.self && h.self >= 0, JSON.stringify(h))
      assert.doesNotMatch(h.node, /^system \/ Context$/, 'closure scopes are folded into the variable')
    }
  })
}

test('the CLI prints a path one hop a line with @ids and sizes, and --json errors as JSON', async () => {
  const [s1, s2, s3] = snapshots('cli', `
    class Session { constructor (i) { this.i = i; this.data = new Array(32).fill(i) } }
    const sessions = new Map()
    let n = 0
    async function step () { n++; sessions.set('session-' + n, new Session(n)) }
  `)
  const d = await leakguard.analyze.diff(s1, s2, s3)
  const hops = d.groups[0].path
  assert.equal(d.groups[0].name, 'Session')
  assert.equal(hops.at(-1).edgeType, 'map entry')
  assert.match(hops.at(-1).edge, /^\.get\('session-\d+'\)$/)
  assert.ok(d.groups[0].pathFolded >= 2, 'the Context and the hash table are folded')
  const text = execFileSync(...nodeCommand([CLI, 'diff', s1, s2, s3]), { encoding: 'utf8' })
  assert.match(text, /^self: the objects' own bytes\. retained: /m)
  for (const h of hops) {
    assert.match(text, new RegExp(`^  (→ )?${escape(h.edge)} +${escape(h.node)} @${h.id} +[\\d.]+ (B|KiB|MiB)$`, 'm'))
  }
  assert.match(text, /\(\d+ V8-internal steps folded into the references above/)
  let stderr = ''
  let status = 0
  try { execFileSync(...nodeCommand([CLI, 'summary', path.join(s1, 'missing'), '--json']), { stdio: 'pipe' }) } catch (e) { ({ status, stderr } = e) }
  assert.equal(status, 1)
  assert.equal(JSON.parse(String(stderr)).error.code, 'ERR_LEAKGUARD_ANALYSIS')
  try { execFileSync(...nodeCommand([CLI, 'diff', s1, '--json']), { stdio: 'pipe' }) } catch (e) { ({ status, stderr } = e) }
  assert.equal(status, 2)
  assert.deepEqual(JSON.parse(String(stderr)), { error: { code: 'ERR_LEAKGUARD_CONFIG', message: 'diff takes 3 files, got 1' } })
})

test('summary: totals and the top constructors; the CLI prints them and exits 0', async () => {
  const [, , s3] = snapshots('summary', `
    class Widget { constructor (i) { this.i = i } }
    globalThis.widgets = []
    async function step (i) { widgets.push(new Widget(i)) }
  `)
  const s = await leakguard.analyze.summary(s3, { top: 5 })
  assert.ok(s.nodes > 1000 && s.edges > s.nodes)
  assert.equal(s.byCount.length, 5)
  const widget = s.byCount.find((g) => g.name === 'Widget')
  assert.equal(widget.count, 4020)
  assert.ok(widget.selfSize >= widget.count * 16, 'each Widget has a header and a field')
  // The widgets array holds them all: the Array group retains at least their size.
  const wide = await leakguard.analyze.summary(s3, { top: 100 })
  assert.ok(wide.byRetainedSize.find((g) => g.name === 'Array').retainedSize >= widget.selfSize)
  const out = execFileSync(...nodeCommand([CLI, 'summary', s3, '--json']), { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out).nodes, s.nodes)
  const text = execFileSync(...nodeCommand([CLI, 'summary', s3]), { encoding: 'utf8' })
  assert.match(text, /top by retained size\nconstructor +count +self +retained\n/)
  assert.match(text, /^\d+ objects, \d+ references, [\d.]+ (KiB|MiB) in total$/m)
})

test('malformed or truncated input: an error naming the byte offset, exit code 1', async () => {
  const dir = tmpDir('analyze-bad')
  const [, s2] = snapshots('bad', 'async function step () {}', 1)
  const whole = fs.readFileSync(s2)
  const cut = path.join(dir, 'cut.heapsnapshot')
  fs.writeFileSync(cut, whole.subarray(0, 50000))
  await assert.rejects(leakguard.analyze.summary(cut), (e) => e.code === 'ERR_LEAKGUARD_ANALYSIS' &&
    /cut\.heapsnapshot: at byte 50000: expected .*the file ends here \(truncated\?\)/.test(e.message))
  const garbled = path.join(dir, 'garbled.heapsnapshot')
  fs.writeFileSync(garbled, whole.toString('utf8').replace('"nodes":[', '"nodes":[x'))
  await assert.rejects(leakguard.analyze.summary(garbled), /at byte \d+: expected an unsigned integer/)
  await assert.rejects(leakguard.analyze.summary(path.join(dir, 'missing')), /missing: expected a readable file/)
  for (const [args, code] of [[['summary', cut], 1], [['diff', cut], 2], [['frobnicate'], 2]]) {
    let status = 0
    try { execFileSync(...nodeCommand([CLI, ...args]), { stdio: 'pipe' }) } catch (e) { status = e.status }
    assert.equal(status, code, args.join(' '))
  }
})

test('diff refuses snapshots it cannot compare: another process, reset ids, the wrong order (exit code 1)', async () => {
  const program = `
    class Order { constructor (i) { this.i = i; this.lines = [i] } }
    globalThis.orders = []
    async function step (i) { orders.push(new Order(i)); ({ scratch: i }) }
  `
  const [a1, a2, a3] = snapshots('same', program)
  const d = await leakguard.analyze.diff(a1, a2, a3)
  assert.equal(d.groups[0].name, 'Order')
  const [, , b3] = snapshots('other', program)
  // Another process that ran the same code the same way numbers the same
  // objects alike: its later snapshot may then look newer, not foreign.
  await assert.rejects(leakguard.analyze.diff(b3, a2, a3), (e) => e.code === 'ERR_LEAKGUARD_ANALYSIS' && (
    /^leakguard: s1 \(.*s3\.heapsnapshot\.gz\) and s2 \(.*s2\.heapsnapshot\) are not from the same process, or object ids were reset between them \(objectIds: 'reset'\): \d+ of the \d+ objects .*; take all three snapshots from one process with objectIds 'keep'/.test(e.message) ||
    /^leakguard: the snapshots are out of order: s2 \(.*\) was taken before s1 \(.*s3\.heapsnapshot\.gz\), or they are from different processes: .*all three from one process$/.test(e.message)), String)
  const [r1, r2, r3] = snapshots('reset', program, 2000, 'reset')
  await assert.rejects(leakguard.analyze.diff(r1, r2, r3), /s1 .* and s2 .* are not from the same process, or object ids were reset/)
  await assert.rejects(leakguard.analyze.diff(a3, a2, a1), /the snapshots are out of order: s2 \(.*s2\.heapsnapshot\) was taken before s1 \(.*s3\.heapsnapshot\.gz\), or they are from different processes: \d+ of the \d+ objects that s2 has and s1 has not are numbered below s1's newest object; pass them oldest first/)
  await assert.rejects(leakguard.analyze.diff(a1, a3, a2), /out of order: s3 .* was taken before s2/)
  let status = 0
  let stderr = ''
  try { execFileSync(...nodeCommand([CLI, 'diff', a3, a2, a1]), { stdio: 'pipe' }) } catch (e) { ({ status, stderr } = e) }
  assert.equal(status, 1)
  assert.match(String(stderr), /out of order/)
})
