'use strict'
// Makes a fresh clone runnable: npm packages, the Node majors, the build.
// Uses only Node built-ins until the packages are installed.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

function ensurePackages ({ log = console.log } = {}) {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json')
  const lock = path.join(ROOT, 'package-lock.json')
  const stale = !fs.existsSync(marker) || fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs
  if (stale) {
    log('leakguard: installing npm packages')
    // `npm install`, not `npm ci`: npm 11 calls this lockfile out of sync because of
    // @napi-rs/cli's optional per-platform packages, yet installs from it fine.
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' })
  }
}

/** Installs what is missing and builds; returns the supported Node majors. */
function setup (options) {
  ensurePackages(options)
  return require('./build').build(options)
}

module.exports = { setup, ROOT }

if (require.main === module) setup()
