'use strict'
// Shared by the integration tests: real files parsed as heap snapshots, and
// real child processes running the built addon.
const assert = require('node:assert/strict')
const { spawn, spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')

const PKG = path.join(__dirname, '..')

// How a child node is started: this node, or (LG_TEST_NODE, a JSON
// array set by scripts/test-platforms.js) another platform's node behind its
// emulator, whose process.execPath the host cannot exec.
const NODE = process.env.LG_TEST_NODE ? JSON.parse(process.env.LG_TEST_NODE) : [process.execPath]

/** `[command, args]` that run a child node with `args`. */
function nodeCommand (args) {
  return [NODE[0], [...NODE.slice(1), ...args]]
}

const made = []
// A test file's directories go when it ends: snapshots add up to gigabytes
// over the suite.
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true })
})

function tmpDir (name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `leakguard-${name}-`))
  made.push(dir)
  return dir
}

/** Parses a .heapsnapshot (or .heapsnapshot.gz) and checks its structure. */
function readSnapshot (file) {
  let bytes = fs.readFileSync(file)
  if (file.endsWith('.gz')) bytes = zlib.gunzipSync(bytes)
  const s = JSON.parse(bytes.toString('utf8'))
  const { meta, node_count: nodeCount, edge_count: edgeCount } = s.snapshot
  assert.equal(s.nodes.length, nodeCount * meta.node_fields.length, 'nodes.length == node_count x node_fields')
  assert.equal(s.edges.length, edgeCount * meta.edge_fields.length, 'edges.length == edge_count x edge_fields')
  assert.ok(nodeCount > 1000, `a real heap has many nodes, got ${nodeCount}`)
  return s
}

/** Number of heap objects whose constructor name is `name`. */
function countObjects (s, name) {
  const { node_fields: fields, node_types: types } = s.snapshot.meta
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const objectType = types[0].indexOf('object')
  const nameIndex = s.strings.indexOf(name)
  let n = 0
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    if (s.nodes[i + typeAt] === objectType && s.nodes[i + nameAt] === nameIndex) n++
  }
  return n
}

/** Files in `dir`, including hidden temporaries. */
function listDir (dir) {
  return fs.readdirSync(dir).sort()
}

/** Runs `script` in a child node (the one running the tests) with leakguard at `LG`. */
function runChild (script, { env = {}, cwd, uid, gid, argv = [], wrap, timeout = 120_000 } = {}) {
  const args = ['-e', `const LG = ${JSON.stringify(PKG)};\n${script}`, ...argv]
  const [node, nodeArgs] = nodeCommand(args)
  const cmd = wrap ? wrap[0] : node
  const cmdArgs = wrap ? [...wrap.slice(1), node, ...nodeArgs] : nodeArgs
  const r = spawnSync(cmd, cmdArgs, {
    env: { ...process.env, ...env },
    cwd,
    uid,
    gid,
    encoding: 'utf8',
    timeout
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error }
}

/**
 * Starts `script` in a child node without waiting for it, for tests that
 * talk to it while it runs (signals). `line(re)` resolves with the first
 * stdout line matching `re`; `exited` with `{ code, signal, stdout, stderr }`.
 */
function startChild (script, { env = {}, execArgv = [], cwd } = {}) {
  const child = spawn(...nodeCommand([...execArgv, '-e', `const LG = ${JSON.stringify(PKG)};\n${script}`]),
    { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const waiters = []
  const check = () => {
    for (const w of [...waiters]) {
      const m = stdout.split('\n').find((l) => w.re.test(l))
      if (m !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m) }
    }
  }
  child.stdout.on('data', (d) => { stdout += d; check() })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    for (const w of waiters) w.reject(new Error(`child exited (${code ?? signal}) before printing ${w.re}\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    resolve({ code, signal, stdout, stderr })
  }))
  const line = (re) => new Promise((resolve, reject) => { waiters.push({ re, resolve, reject }); check() })
  return { child, pid: child.pid, line, exited, stderr: () => stderr }
}

/** An app directory where `leakguard` resolves to this package, as after npm install. */
function appDir (name) {
  const dir = tmpDir(name)
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(PKG, path.join(dir, 'node_modules', 'leakguard'))
  fs.mkdirSync(path.join(dir, 'dumps'))
  return dir
}

/** `kill -<signal> <pid>` with the real kill(1). */
function kill (signal, pid) {
  execFileSync('kill', [`-${signal}`, String(pid)])
}

module.exports = { PKG, nodeCommand, appDir, tmpDir, readSnapshot, countObjects, listDir, runChild, startChild, kill }
