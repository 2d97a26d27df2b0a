'use strict'
// s3s-fs, a local S3-compatible server for the upload tests: it verifies SigV4
// with keys we choose and takes aws-sdk-s3's default streamed multipart parts.
// Installed with cargo into .cache/s3s-fs/ (about 6 min cold, so it is cached).
// Node built-ins only: it runs before the tests' packages are needed.
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
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

module.exports = { ensureS3Server, startS3Server }

if (require.main === module) console.log(ensureS3Server())
