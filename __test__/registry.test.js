'use strict'
// `npm install leakguard` from a real registry, as a new user on this
// platform gets it: the main package and every platform package published to
// a local verdaccio, installed in a fresh project with no compiler on PATH.
// npm must pick exactly this platform's package from the main package's
// optionalDependencies, and it must snapshot natively (the V8 shim, not the
// fallback). Only this platform's package carries a binary here; the other
// platform packages are published as they stand (package.json and README
// only): stand-ins so npm has all six to choose from, which a real release
// never publishes without their binaries. Then what an app gets from the
// installed packages: types, the route, -r leakguard/register, the CLI.
// scripts/test-platforms.js runs it again for each other Linux platform it
// built (LG_TEST_PLATFORM, every platform package then real): npm
// installs with --cpu/--libc, and the app runs under that platform's node.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { pack } = require('../scripts/pack')
const { platformName } = require('../lib/platform')
const { PKG, tmpDir, readSnapshot, runChild } = require('./helpers')
const { startRegistry, npmUser } = require('./registry-helpers')

const TARGET = process.env.LG_TEST_PLATFORM || platformName()
const [, cpu, libc] = /^linux-(\w+)-(gnu|musl)$/.exec(TARGET) || []
// What a user installing for another machine (a Docker build stage, say) passes.
const crossFlags = TARGET === platformName() ? [] : [`--cpu=${cpu}`, `--libc=${libc === 'gnu' ? 'glibc' : 'musl'}`]
const optional = Object.keys(require('../package.json').optionalDependencies)
let registry, user, app, packed

before(async () => {
  registry = await startRegistry()
  user = await npmUser(registry.url)
  packed = pack(tmpDir('tarballs'), { others: true })
  for (const t of [packed.platform, ...packed.others, packed.main]) {
    // A tarball's own scripts do not run on publish; provenance needs a CI's identity.
    user.npm(['publish', t.file, '--provenance=false', '--access', 'public'])
  }
  app = tmpDir('registry-app')
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","private":true}')
  user.npm(['install', 'leakguard', '--no-audit', '--no-fund', '--registry', registry.url, ...crossFlags], { cwd: app })
})

after(() => registry && registry.stop())

test('the registry serves every platform package at the main package\'s version', async () => {
  const { version, optionalDependencies } = require('../package.json')
  for (const [name, range] of Object.entries(optionalDependencies)) assert.equal(range, version, name)
  assert.deepEqual(optional.sort(), [packed.platform, ...packed.others].map((p) => p.name).sort())
  for (const name of [...optional, 'leakguard']) {
    const res = await fetch(new URL(name, registry.url))
    assert.equal(res.status, 200, name)
    assert.equal((await res.json())['dist-tags'].latest, version, name)
  }
  // One shim per ABI this build has, by name (`napi prepublish` takes no globs), in every platform package.
  const abis = require('../index.js').engineInfo().builtAbis
  for (const p of [packed.platform, ...packed.others]) {
    const files = require(`../npm/${p.name.slice('leakguard-'.length)}/package.json`).files
    for (const abi of abis) assert.ok(files.includes(`leakguard-v8-abi${abi}.so`), `${p.name} files: ${files}`)
  }
  const main = packed.main.files
  assert.ok(!main.some((f) => f.endsWith('.node') || f.endsWith('.so')), `no binary in the main package: ${main}`)
})

test(`npm installs exactly the platform package that matches ${crossFlags.length ? crossFlags.join(' ') : 'this process'}`, () => {
  const installed = fs.readdirSync(path.join(app, 'node_modules')).filter((d) => d.startsWith('leakguard')).sort()
  assert.deepEqual(installed, ['leakguard', `leakguard-${TARGET}`])
  // npm saw all six (the lockfile keeps them for other machines) and chose by os, cpu and libc.
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8'))
  const locked = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/leakguard-')).map((p) => p.slice('node_modules/'.length))
  assert.deepEqual(locked.sort(), [...optional].sort())
  for (const p of locked) assert.equal(lock.packages[`node_modules/${p}`].optional, true, p)
  const files = fs.readdirSync(path.join(app, 'node_modules', `leakguard-${TARGET}`))
  assert.ok(files.includes(`leakguard.${TARGET}.node`), files.join(', '))
  for (const abi of require('../index.js').engineInfo().builtAbis) assert.ok(files.includes(`leakguard-v8-abi${abi}.so`), `shim for ABI ${abi} in ${files}`)
})

test('the installed leakguard snapshots natively with no compiler on PATH', () => {
  const r = runChild(`
    const lg = require('leakguard')
    lg.snapshot({ dir: process.cwd(), gzip: true }).then((s) =>
      console.log(JSON.stringify({ info: lg.engineInfo(), abi: process.versions.modules, platform: 'linux-' + process.arch + (process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl'), path: s.path, from: require.resolve('leakguard'), route: typeof lg.route })))
  `, { cwd: app, env: user.env })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stderr, '')
  const out = JSON.parse(r.stdout)
  assert.equal(out.from, path.join(app, 'node_modules', 'leakguard', 'lib', 'index.js'))
  assert.equal(out.route, 'function')
  for (const types of ['index.d.ts', 'lib/index.d.ts']) assert.ok(fs.existsSync(path.join(app, 'node_modules', 'leakguard', types)), types)
  assert.equal(out.platform, TARGET)
  assert.equal(out.info.engine, 'v8-shim', out.info.fallbackReason)
  assert.equal(out.info.shimPath, path.join(app, 'node_modules', `leakguard-${TARGET}`, `leakguard-v8-abi${out.abi}.so`))
  assert.ok(!out.path.startsWith(PKG))
  readSnapshot(out.path)
})

test('the installed package enables itself with -r leakguard/register, signal included', () => {
  const r = runChild(`
    require('leakguard').on('snapshot', (s) => { console.log(s.reason + ' ' + s.path); process.exit(0) })
    process.kill(process.pid, 'SIGHUP')
    setInterval(() => {}, 1000)
  `, { cwd: app, env: { ...user.env, NODE_OPTIONS: '-r leakguard/register', LEAKGUARD_SIGNAL: 'SIGHUP', LEAKGUARD_GZIP: 'true', LEAKGUARD_QUIET: 'true' } })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stderr, '')
  const [reason, file] = r.stdout.trim().split(' ')
  assert.equal(reason, 'signal')
  assert.ok(file.startsWith(app) && file.endsWith('.heapsnapshot.gz'), file)
  readSnapshot(file)
})

test('the installed package has the leakguard CLI', () => {
  const r = runChild(`
    require('leakguard').snapshot({ dir: process.cwd(), filename: 'cli.heapsnapshot' }).then((s) => {
      const out = require('node:child_process').execFileSync(require('node:path').join('node_modules', '.bin', 'leakguard'),
        ['summary', s.path, '--json', '--top', '3'], { encoding: 'utf8' })
      console.log(out)
    })
  `, { cwd: app, env: user.env })
  assert.equal(r.status, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  assert.ok(s.nodes > 1000)
  assert.equal(s.byCount.length, 3)
})
