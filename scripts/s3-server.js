'use strict'
// s3s-fs, a local S3-compatible server for the upload tests: it verifies SigV4
// with keys we choose and takes aws-sdk-s3's default streamed multipart parts.
// Installed with cargo into .cache/s3s-fs/ (about 6 min cold, so it is cached).
// Node built-ins only: it runs before the tests' packages are needed.
//
// moto (ensureMoto/startMoto below) is the complement, for what s3s-fs does
// not do like S3: s3s-fs creates a missing bucket on upload, moto answers
// NoSuchBucket.
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

// 0.15 and later need rustc >= 1.96.
const VERSION = '0.14.1'
const PREFIX = path.join(__dirname, '..', '.cache', 's3s-fs')
const BIN = path.join(PREFIX, 'bin', 's3s-fs')
const START_TIMEOUT_MS = 10_000

function installedVersion () {
  try {
    return execFileSync(BIN, ['--version'], { encoding: 'utf8' }).trim()
  } catch {
    return null
  }
}

/** Installs s3s-fs unless the pinned version is there; returns its path. */
function ensureS3Server ({ log = console.log } = {}) {
  if (installedVersion() !== `s3s-fs ${VERSION}`) {
    log(`leakguard: installing s3s-fs@${VERSION} (test S3 server) into ${PREFIX}; about 6 min cold`)
    execFileSync('cargo', ['install', `s3s-fs@${VERSION}`, '--features', 'binary', '--locked', '--root', PREFIX],
      { stdio: 'inherit' })
  }
  return BIN
}

/**
 * Starts s3s-fs on 127.0.0.1 serving `dataDir` (buckets are its directories).
 * Resolves once it listens, with `endpoint`; rejects with its output if it
 * exits first or is not listening within 10 s.
 */
function startS3Server ({ dataDir, port = 0, accessKey = 'test-access-key', secretKey = 'test-secret-key' }) {
  if (!fs.existsSync(BIN)) {
    return Promise.reject(new Error(`${BIN} is missing: run \`node scripts/s3-server.js\` (or npm test) to install it`))
  }
  // Its output goes to a file, not a pipe: a test blocked in spawnSync would
  // not drain a pipe, and a full pipe would stall the server mid-request.
  // Appended to across restarts; `output()` is this start's part.
  const logFile = `${path.resolve(dataDir)}.s3s-fs.log`
  const fd = fs.openSync(logFile, 'a')
  const from = fs.fstatSync(fd).size
  // Without both keys s3s-fs accepts any request, and auth tests would pass vacuously.
  const child = spawn(BIN, ['--host', '127.0.0.1', '--port', String(port),
    '--access-key', accessKey, '--secret-key', secretKey, dataDir], {
    // The "server is running at" line is an info-level log.
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', fd, fd]
  })
  fs.closeSync(fd)
  const output = () => fs.readFileSync(logFile).subarray(from).toString()
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  // A test process that dies early must not leave a server behind.
  const reap = () => child.kill('SIGKILL')
  process.on('exit', reap)
  exited.then(() => process.off('exit', reap))

  const kill = (signal = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return new Promise((resolve, reject) => {
    const started = Date.now()
    let done = false
    const fail = (why) => {
      if (done) return
      done = true
      kill('SIGKILL')
      reject(new Error(`s3s-fs ${why}\n--- its output (${logFile}):\n${output()}`))
    }
    const poll = () => {
      if (done) return
      const m = output().match(/http:\/\/127\.0\.0\.1:(\d+)/)
      if (!m) {
        if (Date.now() - started > START_TIMEOUT_MS) return fail(`did not start within ${START_TIMEOUT_MS / 1000} s`)
        return setTimeout(poll, 20)
      }
      done = true
      resolve({ endpoint: m[0], port: Number(m[1]), dataDir, child, output, stop: () => kill('SIGTERM'), kill })
    }
    child.on('error', (e) => fail(`could not be started: ${e.message}`))
    exited.then(({ code, signal }) => fail(`exited (${signal || `code ${code}`}) before listening`))
    poll()
  })
}

// moto, a Python S3 emulator, in a venv at .cache/moto/ (about 1 min cold).
const MOTO_VERSION = '5.2.5'
const MOTO_PREFIX = path.join(__dirname, '..', '.cache', 'moto')
const MOTO_BIN = path.join(MOTO_PREFIX, 'bin', 'moto_server')

function motoVersion () {
  try {
    // moto_server has no --version. `--help` proves the script itself runs
    // (its #! names the venv's python by absolute path); the version is that
    // of the moto package in the venv, which is what it runs.
    execFileSync(MOTO_BIN, ['--help'], { stdio: 'ignore' })
    return execFileSync(path.join(MOTO_PREFIX, 'bin', 'python'),
      ['-c', 'import importlib.metadata as m; print(m.version("moto"))'], { encoding: 'utf8' }).trim()
  } catch {
    return null
  }
}

/** Installs moto[server] in a venv unless the pinned version is there; returns moto_server's path. */
function ensureMoto ({ log = console.log } = {}) {
  if (motoVersion() !== MOTO_VERSION) {
    log(`leakguard: installing moto[server]==${MOTO_VERSION} (test S3 server) into ${MOTO_PREFIX}; about 1 min cold`)
    // A venv's scripts name its python by absolute path, so it is made at
    // .cache's real path: a .cache that is a symlink (a git worktree sharing
    // main's) must not leave scripts that run only through that link.
    // --clear: a venv left half-made by an interrupted install starts over.
    const cache = path.dirname(MOTO_PREFIX)
    fs.mkdirSync(cache, { recursive: true })
    const prefix = path.join(fs.realpathSync(cache), path.basename(MOTO_PREFIX))
    execFileSync('python3', ['-m', 'venv', '--clear', prefix], { stdio: 'inherit' })
    execFileSync(path.join(prefix, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', `moto[server]==${MOTO_VERSION}`],
      { stdio: 'inherit' })
    const got = motoVersion()
    if (got !== MOTO_VERSION) throw new Error(`installed moto[server]==${MOTO_VERSION} into ${prefix}, yet moto_server reports ${got}`)
  }
  return MOTO_BIN
}

/** Whether something answers HTTP on 127.0.0.1:port (any status will do). */
function answersHttp (port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 2000, agent: false }, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

/**
 * Starts moto_server on 127.0.0.1, its S3 (and every other service) in
 * memory. Resolves once it answers HTTP, with `endpoint`; rejects with its
 * output if it exits first or is not up within 10 s. Data go with the process.
 *
 * moto runs in its default no-auth mode: any access key and secret are
 * accepted, signatures unchecked. Fine for what buckets and objects do
 * (NoSuchBucket); useless for auth tests, which s3s-fs does with our own keys.
 */
async function startMoto ({ port = 0 } = {}) {
  if (!fs.existsSync(MOTO_BIN)) {
    throw new Error(`${MOTO_BIN} is missing: run \`node scripts/s3-server.js\` (or npm test) to install it`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakguard-moto-'))
  const logFile = path.join(dir, 'moto_server.log')
  // Output to a file, not a pipe, as for s3s-fs: werkzeug logs every request.
  const fd = fs.openSync(logFile, 'a')
  // `-p 0` works: werkzeug (3.x) binds port 0 and announces the port it got,
  // " * Running on http://127.0.0.1:PORT". Better than picking a free port
  // here, which something else could take before moto binds it.
  const child = spawn(MOTO_BIN, ['-H', '127.0.0.1', '-p', String(port)], {
    cwd: dir,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', fd, fd]
  })
  fs.closeSync(fd)
  const output = () => fs.readFileSync(logFile, 'utf8')
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  // A test process that dies early must not leave a server behind.
  const reap = () => child.kill('SIGKILL')
  process.on('exit', reap)
  exited.then(() => process.off('exit', reap))
  const alive = () => child.exitCode === null && child.signalCode === null
  const kill = (signal = 'SIGTERM') => {
    if (alive()) child.kill(signal)
    return exited
  }

  let spawnError
  child.on('error', (e) => { spawnError = e })
  const started = Date.now()
  let bound
  for (;;) {
    const why = spawnError ? `could not be started: ${spawnError.message}`
      : !alive() ? `exited (${child.signalCode || `code ${child.exitCode}`}) before answering`
        : Date.now() - started > START_TIMEOUT_MS ? `was not up within ${START_TIMEOUT_MS / 1000} s` : null
    if (why) {
      kill('SIGKILL') // not awaited: a child that failed to spawn may never emit 'exit'
      throw new Error(`moto_server ${why}\n--- its output (${logFile}):\n${output()}`)
    }
    bound ??= Number(output().match(/Running on http:\/\/127\.0\.0\.1:([1-9]\d*)/)?.[1]) || undefined
    if (bound && await answersHttp(bound)) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { endpoint: `http://127.0.0.1:${bound}`, port: bound, child, output, stop: () => kill('SIGTERM'), kill }
}

module.exports = { ensureS3Server, startS3Server, ensureMoto, startMoto }

if (require.main === module) {
  console.log(ensureS3Server())
  console.log(ensureMoto())
}
