'use strict'
// The packages as published: an app that installs `leakguard` and
// `leakguard-linux-x64-gnu` gets native snapshots on this Node major, with
// no compiler and no build step.
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { pack } = require('../scripts/pack')
const { tmpDir, readSnapshot, runChild } = require('./helpers')

let app
before(() => {
  app = tmpDir('app')
  const { main, platform } = pack(path.join(app, 'tarballs'))
  assert.ok(platform.files.some((f) => f === `leakguard-v8-abi${process.versions.modules}.so`), `shim for this ABI in ${platform.files}`)
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","private":true}')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', main.file, platform.file],
    { cwd: app, stdio: 'ignore' })
})

test('an installed leakguard loads its platform package and snapshots natively', () => {
  const r = runChild(`
    const lg = require('leakguard')
    lg.snapshot({ dir: process.cwd(), gzip: true }).then((s) =>
      console.log(JSON.stringify({ info: lg.engineInfo(), path: s.path, from: require.resolve('leakguard'), route: typeof lg.route })))
  `, { cwd: app })
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.from, path.join(app, 'node_modules', 'leakguard', 'lib', 'index.js'))
  assert.equal(out.route, 'function')
  for (const types of ['index.d.ts', 'lib/index.d.ts']) assert.ok(fs.existsSync(path.join(app, 'node_modules', 'leakguard', types)), types)
  assert.equal(out.info.engine, 'v8-shim', out.info.fallbackReason)
  assert.equal(path.dirname(out.info.shimPath), path.join(app, 'node_modules', 'leakguard-linux-x64-gnu'))
  readSnapshot(out.path)
})

test('the installed package enables itself with -r leakguard/register, signal included', () => {
  const r = runChild(`
    require('leakguard').on('snapshot', (s) => { console.log(s.reason + ' ' + s.path); process.exit(0) })
    process.kill(process.pid, 'SIGHUP')
    setInterval(() => {}, 1000)
  `, { cwd: app, env: { NODE_OPTIONS: '-r leakguard/register', LEAKGUARD_SIGNAL: 'SIGHUP', LEAKGUARD_GZIP: 'true', LEAKGUARD_QUIET: 'true' } })
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
  `, { cwd: app })
  assert.equal(r.status, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  assert.ok(s.nodes > 1000)
  assert.equal(s.byCount.length, 3)
})
