'use strict'
// zig and cargo-zigbuild, from PyPI into a venv under .cache/zig: the linker
// and C/C++ compiler of every Linux build (`napi build -x`). zig links
// against the glibc version a target names (`….2.17`), which Debian's own
// toolchain cannot, and against musl, for either CPU, from this one host.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const VENV = path.join(__dirname, '..', '.cache', 'zig')
const PACKAGES = ['ziglang==0.17.1', 'cargo-zigbuild==0.24.1']

/** Installs what is missing; returns the directory to put first on PATH (`zig`, `cargo-zigbuild`). */
function ensureZig ({ log = console.log } = {}) {
  const bin = path.join(VENV, 'bin')
  const marker = path.join(VENV, 'installed.txt')
  if (!fs.existsSync(marker) || fs.readFileSync(marker, 'utf8') !== PACKAGES.join('\n')) {
    log(`leakguard: installing ${PACKAGES.join(', ')} into ${VENV}`)
    fs.rmSync(VENV, { recursive: true, force: true })
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' })
    execFileSync(path.join(bin, 'pip'), ['install', '--quiet', ...PACKAGES], { stdio: 'inherit' })
    // napi's -x looks for `zig` on PATH; the wheel ships it as a Python module.
    fs.writeFileSync(path.join(bin, 'zig'), `#!/bin/sh\nexec "${path.join(bin, 'python')}" -m ziglang "$@"\n`, { mode: 0o755 })
    fs.writeFileSync(marker, PACKAGES.join('\n'))
  }
  return bin
}

module.exports = { ensureZig }

if (require.main === module) console.log(ensureZig())
