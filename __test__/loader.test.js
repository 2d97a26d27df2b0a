'use strict'
// Which addon `require('leakguard')` loads: the platform of the running
// process, its libc from the process's own report (not the host's ldd).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { platformName, runningLibc } = require('../lib/platform')
const { PKG, tmpDir, runChild } = require('./helpers')

test('the libc is the running node\'s: glibc when its report names a glibc, else musl', () => {
  const glibc = { header: { glibcVersionRuntime: '2.36', glibcVersionCompiler: '2.28' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] }
  // A musl node's report: no glibc fields, whatever the host's /usr/bin/ldd says.
  const musl = { header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1'] }
  assert.equal(platformName({ platform: 'linux', arch: 'x64', report: glibc }), 'linux-x64-gnu')
  assert.equal(platformName({ platform: 'linux', arch: 'arm64', report: glibc }), 'linux-arm64-gnu')
  assert.equal(platformName({ platform: 'linux', arch: 'x64', report: musl }), 'linux-x64-musl')
  assert.equal(platformName({ platform: 'linux', arch: 'arm64', report: musl }), 'linux-arm64-musl')
  assert.equal(platformName({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64')
  assert.equal(platformName({ platform: 'darwin', arch: 'x64' }), 'darwin-x64')
  // This node (Debian's glibc build) and its own report.
  assert.equal(runningLibc(), process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl')
})

test('without its platform package, require(\'leakguard\') says what it tried and what to install', () => {
  // The main package alone, as `npm install --omit=optional` leaves it.
  const dir = tmpDir('loader')
  const main = path.join(dir, 'node_modules', 'leakguard')
  fs.mkdirSync(path.join(main, 'lib'), { recursive: true })
  for (const f of ['package.json', 'index.js', 'lib/index.js', 'lib/binding.js', 'lib/platform.js']) fs.copyFileSync(path.join(PKG, f), path.join(main, f))
  const r = runChild(`
    try { require('leakguard') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }
  `, { cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  const { code, message } = JSON.parse(r.stdout)
  const name = platformName()
  assert.equal(code, 'ERR_LEAKGUARD_NO_BINDING')
  assert.match(message, new RegExp(`leakguard\\.${name}\\.node`))
  assert.match(message, new RegExp(`leakguard-${name}: Cannot find module`))
})
