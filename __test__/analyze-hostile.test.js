'use strict'
// Hostile snapshot files and bad arguments: `analyze.*` runs inside the
// app's process, so every bad input must be an error, never an abort, a
// hang, or memory the file dictates. Each bad file is read in a child
// process whose exit, signal and peak RSS (VmHWM) are checked.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')
const leakguard = require('..')
const { PKG, nodeCommand, tmpDir, runChild } = require('./helpers')

const CLI = path.join(PKG, 'bin', 'leakguard.js')
const dir = tmpDir('analyze-hostile')

/** One real snapshot of a small program, raw. */
const real = (() => {
  const r = runChild(`
    require(LG).snapshot({ dir: ${JSON.stringify(dir)}, filename: 'real.heapsnapshot' })
      .then((s) => { console.log(s.path); process.exit(0) })
  `)
  assert.equal(r.status, 0, r.stderr)
  return fs.readFileSync(r.stdout.trim())
})()

/**
 * Runs `analyze.summary` on each file in one child and returns, per file,
 * 'ok' or the error's code and message, with the child's peak RSS in MiB.
 */
function summarize (files) {
  const r = runChild(`
    const { analyze } = require(LG)
    ;(async () => {
      const out = []
      for (const f of ${JSON.stringify(files)}) {
        out.push(await analyze.summary(f).then(() => 'ok', (e) => e.code + ' ' + e.message))
      }
      const hwm = Number(require('fs').readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+)/)[1]) / 1024
      console.log(JSON.stringify({ out, hwm }))
    })()
  `)
  assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

function write (name, bytes) {
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes)
  return file
}

const text = real.toString('latin1')
const withCount = (count) => Buffer.from(text.replace(/"node_count":\d+/, `"node_count":${count}`), 'latin1')

test('a huge declared node_count is an error naming the offset, not an abort (API and CLI)', () => {
  // 2^32 - 1 is a valid u32 but leaves no bits for the 7 edge types that
  // share each edge's 32 bits with its target; 2^29 - 1 is believed only
  // as far as the file can hold it.
  const files = [
    write('1e15.heapsnapshot', withCount('1e15')),
    write('4.3e9.heapsnapshot', withCount(4294967295)),
    write('5.4e8.heapsnapshot', withCount(536870911)),
    write('5.4e8.heapsnapshot.gz', zlib.gzipSync(withCount(536870911), { level: 1 }))
  ]
  const { out, hwm } = summarize(files)
  assert.match(out[0], /^ERR_LEAKGUARD_ANALYSIS .*1e15\.heapsnapshot: at byte \d+: expected snapshot\.node_count \(a whole number below 2\^32\)/)
  assert.match(out[1], /^ERR_LEAKGUARD_ANALYSIS .*4\.3e9\.heapsnapshot: at byte \d+: expected snapshot\.node_count below 536870912 with 7 edge types/)
  assert.match(out[2], /^ERR_LEAKGUARD_ANALYSIS .*at byte \d+: expected \d+ node values \(node_count 536870911 x \d+ fields\), found \d+/)
  assert.match(out[3], /^ERR_LEAKGUARD_ANALYSIS .*at byte \d+: expected \d+ node values \(node_count 536870911/)
  assert.ok(hwm < 400, `peak RSS ${hwm} MiB`)
  let status = 0
  try { execFileSync(...nodeCommand([CLI, 'summary', files[2]]), { stdio: 'pipe' }) } catch (e) { status = e.status }
  assert.equal(status, 1)
})

/**
 * A gzip bomb: the real file with 512 MiB of `fill` inserted after `marker`,
 * as concatenated gzip members (512 copies of one 1 MiB member), ~1 MiB.
 */
function bomb (name, marker, fill) {
  const at = text.indexOf(marker) + marker.length
  const member = zlib.gzipSync(Buffer.from(fill.repeat((1 << 20) / fill.length)), { level: 9 })
  const file = write(name, Buffer.concat([
    zlib.gzipSync(Buffer.from(text.slice(0, at), 'latin1')),
    ...new Array(512).fill(member),
    zlib.gzipSync(Buffer.from(text.slice(at), 'latin1'))
  ]))
  assert.ok(fs.statSync(file).size < 2 << 20)
  return file
}

test('gzip bombs: extra zeros in "nodes" stop at the declared count, a huge string is cut; memory stays bounded', () => {
  const { out, hwm } = summarize([
    bomb('zeros.heapsnapshot.gz', '"nodes":[', '0,'),
    bomb('string.heapsnapshot.gz', '"strings":["', 'x')
  ])
  assert.match(out[0], /^ERR_LEAKGUARD_ANALYSIS .*at byte \d+: expected '\]' after \d+ node values \(node_count \d+ x \d+ fields\)/)
  assert.equal(out[1], 'ok', 'a string too long to keep is cut, not refused')
  assert.ok(hwm < 400, `peak RSS ${hwm} MiB`)
})

/** A deterministic generator (xorshift), the same cases every run. */
function rng (seed) {
  let s = seed
  return (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n }
}

test('fuzz: truncated, mutated and lying real snapshots (raw and gzip) give an error or a result', () => {
  const below = rng(0x2545f491)
  const header = text.indexOf('"nodes":[')
  const files = []
  for (let i = 0; i < 48; i++) {
    let bytes = Buffer.from(real)
    switch (i % 4) {
      case 0: bytes = bytes.subarray(0, below(bytes.length)); break
      case 1: // a few bytes anywhere, most in the header
        for (let k = 0; k < 1 + below(4); k++) bytes[below(k === 0 ? header : bytes.length)] = '0123456789,[]{}":-.e x'.charCodeAt(below(22))
        break
      case 2: {
        // Each lie for each count once.
        const lie = ['0', '1', '4294967295', '99999999', '3.5', '-1'][(i >> 2) % 6]
        const key = ['node_count', 'edge_count'][(i >> 2) % 12 < 6 ? 0 : 1]
        bytes = Buffer.from(text.replace(new RegExp(`"${key}":\\d+`), `"${key}":${lie}`), 'latin1')
        break
      }
      default: { // a number in the arrays made huge or out of range
        const at = header + below(bytes.length - header)
        const end = at + 12
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(['4294967296', '255', '99999999999'][below(3)]), bytes.subarray(end)])
      }
    }
    const gzip = i % 3 === 0
    files.push(write(`fuzz-${i}.heapsnapshot${gzip ? '.gz' : ''}`, gzip ? zlib.gzipSync(bytes, { level: 1 }) : bytes))
  }
  const { out, hwm } = summarize(files)
  for (const [i, o] of out.entries()) assert.match(o, /^(ok|ERR_LEAKGUARD_ANALYSIS .*: (at byte \d+: )?expected )/, `case ${i}: ${o}`)
  assert.ok(out.filter((o) => o !== 'ok').length >= 24, 'most mutations are errors')
  assert.ok(hwm < 400, `peak RSS ${hwm} MiB`)
})

test('analyze.* options and arguments are checked: ERR_LEAKGUARD_CONFIG naming the option', async () => {
  const file = write('ok.heapsnapshot', real)
  const bad = [
    [{ top: -1 }, /invalid option `top` for analyze\.summary\(\): got -1 \(number\); accepted: a whole number 1-1000000/],
    [{ top: NaN }, /`top`.*got NaN \(number\)/],
    [{ top: 2 ** 32 + 1 }, /`top`.*got 4294967297 \(number\)/],
    [{ top: 2.5 }, /`top`.*got 2\.5 \(number\)/],
    [{ top: '5' }, /`top`.*got a value of type String/i],
    [{ progress: 'yes' }, /invalid option `progress` for analyze\.summary\(\).*accepted: true or false/],
    [{ tpo: 5 }, /unknown option `tpo` for analyze\.summary\(\); accepted options: top, progress/],
    [5, /analyze\.summary\(\) expects an options object/]
  ]
  for (const [options, re] of bad) {
    await assert.rejects(leakguard.analyze.summary(file, options), (e) =>
      e instanceof TypeError && e.code === 'ERR_LEAKGUARD_CONFIG' && re.test(e.message), JSON.stringify(options))
  }
  await assert.rejects(leakguard.analyze.summary(42), (e) => e.code === 'ERR_LEAKGUARD_CONFIG' && /expects `file` to be a snapshot's path/.test(e.message))
  await assert.rejects(leakguard.analyze.diff(file, file, null), (e) => e.code === 'ERR_LEAKGUARD_CONFIG' && /analyze\.diff\(\) expects `s3`/.test(e.message))
  const s = await leakguard.analyze.summary(file, { top: 3, progress: false })
  assert.equal(s.byCount.length, 3)
  assert.ok((await leakguard.analyze.summary(file, null)).byCount.length === 10)
})
