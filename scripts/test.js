'use strict'
// The whole test suite, from a fresh clone: install, build, Rust checks and
// unit tests, then the JS integration tests under every supported Node major
// (each major's own node binary, loading the shim built for its ABI), with
// s3s-fs installed for the S3 upload tests, and moto for the one (a missing
// bucket) where s3s-fs does not behave like S3; then the other Linux
// platforms (scripts/test-platforms.js: their builds, each under its own
// nodes, and an install of each through a local registry).
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { setup, ROOT } = require('./setup')
const { ensureS3Server, ensureMoto } = require('./s3-server')
const { testPlatforms } = require('./test-platforms')

function run (title, cmd, args, options = {}) {
  console.log(`\n=== ${title}: ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...options })
  if (r.status !== 0) {
    console.error(`\n=== FAILED: ${title} (${r.signal || `exit ${r.status}`})`)
    process.exit(1)
  }
}

const { nodes } = setup()
run('rustfmt', 'cargo', ['fmt', '--check'])
run('clippy', 'cargo', ['clippy', '--all-targets', '--', '-D', 'warnings'])
run('Rust unit tests', 'cargo', ['test'])
// After the build, not beside it: both are cargo compiles on the same cores.
try {
  ensureS3Server()
} catch (e) {
  console.error(`\n=== FAILED: installing s3s-fs (${e.message})`)
  process.exit(1)
}
// A pip install into a venv, about 1 min cold, about 1 s to check when there.
try {
  ensureMoto()
} catch (e) {
  console.error(`\n=== FAILED: installing moto (${e.message})`)
  process.exit(1)
}
const files = fs.readdirSync(path.join(ROOT, '__test__'))
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => path.join('__test__', f))
for (const node of nodes) {
  run(`integration tests on Node ${node.version}`, node.bin, ['--test', ...files])
}
testPlatforms().then(() => {
  console.log(`\n=== all tests passed on Node ${nodes.map((n) => n.version).join(', ')}, and on the other platforms`)
}, (e) => { console.error(e); process.exit(1) })
