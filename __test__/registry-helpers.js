'use strict'
// A real npm registry on 127.0.0.1 for the packaging tests: verdaccio (a
// devDependency), storage, users and config in a temp dir, no uplinks (it
// serves only what the test publishes, and asks no other registry), and npm
// run as a new user would run it: its own cache, config and HOME, and a PATH
// with node and npm only (no cc, gcc, g++, make, python).
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { PKG, nodeCommand, tmpDir } = require('./helpers')

/** verdaccio 6 needs Node >= 22: the node under test if it is, else the newest of the project's nodes. */
function registryNode () {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath
  return require('../scripts/nodes').ensureNodes({ log: () => {} }).pop().bin
}

/** The npm CLI's own script, run by the node under test (no shell, no PATH lookup). */
function npmCli () {
  const r = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8' })
  const cli = path.join(r.stdout.trim(), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
  assert.ok(fs.existsSync(cli), `npm's CLI at ${cli}`)
  return cli
}

/** Starts verdaccio on a free loopback port; resolves to `{ url, stop }`. */
async function startRegistry () {
  const dir = tmpDir('registry')
  const config = path.join(dir, 'config.yaml')
  fs.writeFileSync(config, [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    'web:',
    '  enable: false',
    'logs: { type: stdout, format: json, level: warn }',
    ''
  ].join('\n'))
  const script = `
    require(${JSON.stringify(path.join(PKG, 'node_modules', 'verdaccio'))}).runServer(${JSON.stringify(config)}).then((app) => {
      const server = app.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port))
    }, (e) => { console.error(e); process.exit(1) })`
  const child = spawn(registryNode(), ['-e', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  const kill = () => child.kill('SIGKILL')
  process.on('exit', kill)
  let out = ''
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`verdaccio did not start in 20 s:\n${out}`)), 20_000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening (\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.stderr.on('data', (d) => { out += d })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`verdaccio exited (${code}):\n${out}`)) })
  })
  const url = `http://127.0.0.1:${port}/`
  const stop = () => new Promise((resolve) => {
    process.off('exit', kill)
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
  return { url, stop, log: () => out }
}

/** A user of the registry: `npm(args, { cwd })` with its own HOME, npmrc (a token), cache and a compiler-free PATH. */
async function npmUser (url) {
  const home = tmpDir('npm-home')
  // What `npm adduser` does: a new user on verdaccio's htpasswd, which answers with a token.
  const res = await fetch(new URL('-/user/org.couchdb.user:release', url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-password', type: 'user', roles: [], date: new Date().toISOString() })
  })
  assert.equal(res.status, 201, await res.clone().text())
  const { token } = await res.json()
  const npmrc = path.join(home, '.npmrc')
  fs.writeFileSync(npmrc, `registry=${url}\n//${new URL(url).host}/:_authToken=${token}\n`)
  const bin = path.join(home, 'bin')
  fs.mkdirSync(bin)
  // `node` for the CLI's `#!/usr/bin/env node`: the node the app runs on (behind its emulator on another platform).
  const [node, prefix] = nodeCommand([])
  if (prefix.length === 0) fs.symlinkSync(node, path.join(bin, 'node'))
  else fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${[node, ...prefix].map((a) => `'${a}'`).join(' ')} "$@"\n`, { mode: 0o755 })
  const env = { HOME: home, PATH: bin, npm_config_userconfig: npmrc, npm_config_cache: path.join(home, 'cache'), npm_config_update_notifier: 'false' }
  const cli = npmCli()
  const npm = (args, { cwd = home } = {}) => {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 })
    assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.error || ''}\n${r.stdout}\n${r.stderr}`)
    return r.stdout
  }
  return { npm, env, home }
}

module.exports = { startRegistry, npmUser }
