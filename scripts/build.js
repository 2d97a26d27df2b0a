'use strict'
// Release build of the addon plus one V8 shim per supported Node major.
// This platform's build goes to the checkout's root, where the addon loads it
// from in development and tests; `build({ platforms })` also builds other
// Linux platforms into npm/<platform>/, as they are published.
// Every Linux build goes through cargo-zigbuild: glibc targets are linked
// against glibc 2.17 (Amazon Linux 2, RHEL/Rocky 8, Debian 10/11, Ubuntu
// 18.04/20.04 and later), musl ones against zig's musl. The V8 shims are
// compiled by a g++ for the CPU (see build.rs) from the x64 Node packages'
// headers: V8's headers are the same for every CPU and libc, and the flags
// that change V8's object layouts (config.gypi) are the same in every
// official build.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { ensureNodes } = require('./nodes')
const { ensureZig } = require('./zig')
const { platformName } = require('../lib/platform')

const ROOT = path.join(__dirname, '..')
const SHIM = /^leakguard-v8-abi\d+\.so$/

/** The Linux platforms built here, with the target cargo-zigbuild gets. */
const LINUX = {
  'linux-x64-gnu': 'x86_64-unknown-linux-gnu.2.17',
  'linux-arm64-gnu': 'aarch64-unknown-linux-gnu.2.17',
  'linux-x64-musl': 'x86_64-unknown-linux-musl',
  'linux-arm64-musl': 'aarch64-unknown-linux-musl'
}

const cargoTriple = (target) => target.replace(/\.[\d.]+$/, '')
const envKey = (triple) => triple.toUpperCase().replace(/-/g, '_')

function hostTriple () {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  return out.match(/^host: (.+)$/m)[1]
}

/**
 * The standard library of each cross target, through rustup (a fresh
 * toolchain has only the host's); rustup fetches only what is missing.
 */
function ensureTargets (triples, log) {
  const installed = execFileSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' }).split('\n')
  const missing = triples.filter((t) => !installed.includes(t))
  if (missing.length === 0) return
  log(`leakguard: rustup target add ${missing.join(' ')}`)
  execFileSync('rustup', ['target', 'add', ...missing], { stdio: 'inherit' })
}

/** Copies files, then renames: a new inode, so processes that have the old file mapped keep it. */
function install (from, names, to) {
  for (const f of names) {
    const tmp = path.join(to, `.${f}.${process.pid}.tmp`)
    fs.copyFileSync(path.join(from, f), tmp)
    fs.renameSync(tmp, path.join(to, f))
  }
}

/** The environment of a build for `platforms`: headers, zig, and each target's shim compiler and flags. */
function buildEnv (platforms, log) {
  const env = {
    ...process.env,
    LEAKGUARD_NODE_INCLUDE_DIRS: ensureNodes({ log }).map((n) => n.include).join(path.delimiter)
  }
  const linux = platforms.filter((p) => LINUX[p])
  if (linux.length === 0) return env
  ensureTargets(linux.map((p) => cargoTriple(LINUX[p])), log)
  env.PATH = `${ensureZig({ log })}${path.delimiter}${process.env.PATH}`
  for (const p of linux) {
    const key = envKey(cargoTriple(LINUX[p]))
    // zig's c++ would build the shims against libc++ (see build.rs): a g++ for the CPU.
    env[`LEAKGUARD_SHIM_CXX_${key}`] = p.includes('-x64-') ? 'g++' : require('./debian').ensureDebian({ log }).gxxArm64
    // A cdylib needs a dynamically linked C runtime, musl's too (napi build -x does the same).
    if (p.endsWith('-musl')) env[`CARGO_TARGET_${key}_RUSTFLAGS`] = '-C target-feature=-crt-static'
  }
  return env
}

/** This platform, through `napi build`: the addon, index.js and index.d.ts, into the root. */
function buildHost (platform, log) {
  const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  const target = LINUX[platform] || hostTriple()
  const args = [napi, 'build', '--platform', '--release', '--target', target, ...(LINUX[platform] ? ['-x'] : [])]
  log(`leakguard: building ${platform}`)
  execFileSync(process.execPath, args, { cwd: ROOT, env: buildEnv([platform], log), stdio: 'inherit' })
  const dir = path.join(ROOT, 'target', cargoTriple(target), 'release')
  const shims = fs.readdirSync(dir).filter((f) => SHIM.test(f))
  install(dir, shims, ROOT)
  log(`leakguard: built ${platform} with ${shims.join(', ')}`)
}

/**
 * Other Linux platforms, all in one cargo invocation (their compiles and link
 * steps share the cores), each into npm/<platform>/.
 */
function buildOthers (platforms, log) {
  if (platforms.length === 0) return
  const unknown = platforms.filter((p) => !LINUX[p])
  if (unknown.length > 0) throw new Error(`cannot build ${unknown.join(', ')} on this host (it builds ${Object.keys(LINUX).join(', ')})`)
  log(`leakguard: building ${platforms.join(', ')}`)
  const zigbuild = path.join(ensureZig({ log }), 'cargo-zigbuild')
  execFileSync(zigbuild, ['zigbuild', '--release', '--lib', ...platforms.flatMap((p) => ['--target', LINUX[p]])],
    { cwd: ROOT, env: buildEnv(platforms, log), stdio: 'inherit' })
  for (const p of platforms) {
    const dir = path.join(ROOT, 'target', cargoTriple(LINUX[p]), 'release')
    const out = path.join(ROOT, 'npm', p)
    const shims = fs.readdirSync(dir).filter((f) => SHIM.test(f))
    install(dir, shims, out)
    // napi's name for the cdylib: leakguard.<platform>.node.
    fs.copyFileSync(path.join(dir, 'libleakguard.so'), path.join(dir, `leakguard.${p}.node`))
    install(dir, [`leakguard.${p}.node`], out)
    log(`leakguard: built ${p} into npm/${p} with ${shims.join(', ')}`)
  }
}

/**
 * Builds each of `platforms` (default: this one): this platform into the
 * root, others into npm/<platform>/. Returns this platform's Node majors.
 */
function build ({ log = console.log, platforms = [platformName()] } = {}) {
  const host = platformName()
  if (platforms.includes(host)) buildHost(host, log)
  buildOthers(platforms.filter((p) => p !== host), log)
  return { nodes: ensureNodes({ log }) }
}

module.exports = { build, LINUX }

if (require.main === module) build(process.argv.length > 2 ? { platforms: process.argv.slice(2) } : {})
