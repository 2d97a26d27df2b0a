'use strict'
// Debian packages the other-platform tests need, fetched into .cache/debian
// and unpacked there (`dpkg-deb -x`): nothing is installed on the machine, no
// root is needed, and no binfmt handler is registered (those are global).
// A private apt configuration with its own lists reads bookworm for the
// emulator and the arm64 glibc, and trixie for musl 1.2.5 (bookworm's 1.2.3
// cannot load the musl Node builds' libstdc++: DT_RELR relocations).
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const DIR = path.join(__dirname, '..', '.cache', 'debian')
const ROOT = path.join(DIR, 'root')
const PACKAGES = [
  'qemu-user-static', 'patchelf',
  'libc6-arm64-cross', 'libstdc++6-arm64-cross', 'libgcc-s1-arm64-cross', 'libatomic1-arm64-cross',
  'musl:amd64/trixie', 'musl:arm64/trixie',
  // The arm64 V8 shims' compiler (libstdc++'s ABI, as Node's own build).
  'g++-12-aarch64-linux-gnu', 'gcc-12-aarch64-linux-gnu', 'cpp-12-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu',
  'libstdc++-12-dev-arm64-cross', 'libgcc-12-dev-arm64-cross', 'libc6-dev-arm64-cross', 'linux-libc-dev-arm64-cross'
]

function aptConfig () {
  const etc = path.join(DIR, 'etc')
  for (const d of [etc, path.join(DIR, 'lists', 'partial'), path.join(DIR, 'cache', 'archives', 'partial')]) fs.mkdirSync(d, { recursive: true })
  const source = (suite) => `deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${suite} main\n`
  fs.writeFileSync(path.join(etc, 'sources.list'), source('bookworm') + source('trixie'))
  fs.writeFileSync(path.join(DIR, 'status'), '')
  const conf = path.join(etc, 'apt.conf')
  fs.writeFileSync(conf, [
    `Dir::Etc::SourceList "${path.join(etc, 'sources.list')}";`,
    'Dir::Etc::SourceParts "/nonexistent";',
    `Dir::State::Lists "${path.join(DIR, 'lists')}";`,
    `Dir::Cache "${path.join(DIR, 'cache')}";`,
    `Dir::State::status "${path.join(DIR, 'status')}";`,
    'APT::Architectures { "amd64"; "arm64"; };',
    'APT::Default-Release "bookworm";',
    // Downloads into our own folder, as whoever runs this (root too, without apt's _apt warning).
    `APT::Sandbox::User "${os.userInfo().username}";`,
    ''
  ].join('\n'))
  return conf
}

/**
 * Fetches and unpacks what is missing; returns the paths the platform runs
 * use: `qemu` (aarch64 user-mode emulator), `gxxArm64` (a g++ for arm64),
 * `patchelf`, `glibcArm64` (the
 * sysroot for qemu's -L) and `musl.{x64,arm64}` (each musl's loader, libc.so).
 */
function ensureDebian ({ log = console.log } = {}) {
  const marker = path.join(DIR, 'unpacked.txt')
  if (!fs.existsSync(marker) || fs.readFileSync(marker, 'utf8') !== PACKAGES.join('\n')) {
    log(`leakguard: fetching ${PACKAGES.join(', ')} from Debian into ${DIR}`)
    fs.rmSync(DIR, { recursive: true, force: true })
    const env = { ...process.env, APT_CONFIG: aptConfig() }
    execFileSync('apt-get', ['-qq', 'update'], { env, stdio: 'inherit' })
    const debs = path.join(DIR, 'debs')
    fs.mkdirSync(debs)
    execFileSync('apt-get', ['-qq', 'download', ...PACKAGES], { cwd: debs, env, stdio: 'inherit' })
    for (const deb of fs.readdirSync(debs)) execFileSync('dpkg-deb', ['-x', path.join(debs, deb), ROOT])
    fs.rmSync(debs, { recursive: true })
    // qemu-user-static brings every CPU's emulator (380 MB); one is used.
    const bin = path.join(ROOT, 'usr', 'bin')
    for (const f of fs.readdirSync(bin)) if (/^qemu-.*-static$/.test(f) && f !== 'qemu-aarch64-static') fs.rmSync(path.join(bin, f))
    // The unpacked g++ finds its own parts relative to itself; its binutils need their libraries.
    fs.writeFileSync(path.join(ROOT, 'aarch64-linux-gnu-g++'), '#!/bin/sh\n' +
      `LD_LIBRARY_PATH="${path.join(ROOT, 'usr', 'lib', 'x86_64-linux-gnu')}" exec "${path.join(ROOT, 'usr', 'bin', 'aarch64-linux-gnu-g++-12')}" "$@"\n`, { mode: 0o755 })
    fs.writeFileSync(marker, PACKAGES.join('\n'))
  }
  return {
    qemu: path.join(ROOT, 'usr', 'bin', 'qemu-aarch64-static'),
    gxxArm64: path.join(ROOT, 'aarch64-linux-gnu-g++'),
    patchelf: path.join(ROOT, 'usr', 'bin', 'patchelf'),
    glibcArm64: path.join(ROOT, 'usr', 'aarch64-linux-gnu'),
    musl: {
      x64: path.join(ROOT, 'usr', 'lib', 'x86_64-linux-musl', 'libc.so'),
      arm64: path.join(ROOT, 'usr', 'lib', 'aarch64-linux-musl', 'libc.so')
    }
  }
}

module.exports = { ensureDebian }

if (require.main === module) console.log(ensureDebian())
