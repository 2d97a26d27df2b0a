'use strict'
// Zero-code enable: `node -r leakguard/register` reads LEAKGUARD_* variables.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { appDir, readSnapshot, runChild, startChild, kill } = require('./helpers')

test('node -r leakguard/register: directory, gzip and signal from the environment', async () => {
  const app = appDir('register')
  const c = startChild(`setInterval(() => {}, 1000); console.log('app started')`, {
    cwd: app,
    execArgv: ['-r', 'leakguard/register'],
    env: { LEAKGUARD_DIR: 'dumps', LEAKGUARD_GZIP: 'true', LEAKGUARD_SIGNAL: 'SIGHUP' }
  })
  await c.line(/^app started$/)
  kill('HUP', c.pid)
  const dumps = path.join(app, 'dumps')
  while (!fs.readdirSync(dumps).some((f) => f.endsWith('.gz'))) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  kill('TERM', c.pid)
  await c.exited
  const [file] = fs.readdirSync(dumps)
  assert.match(file, /^heapdump-\d+\.\d{6}\.heapsnapshot\.gz$/)
  readSnapshot(path.join(dumps, file))
})

test('invalid variables are reported once each, by name, and the app still starts', () => {
  const app = appDir('register-bad')
  const r = runChild(`console.log('app started')`, {
    cwd: app,
    env: {
      NODE_OPTIONS: '-r leakguard/register',
      LEAKGUARD_GZIP: '11',
      LEAKGUARD_THRESHOLD_RATIO: '2',
      LEAKGUARD_SIGNAL: 'SIGUSR1',
      LEAKGUARD_DIR: 'no-such-dir',
      LEAKGUARD_TRESHOLD_MB: '100'
    }
  })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'app started\n')
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 5, r.stderr)
  for (const [name, why] of [
    ['LEAKGUARD_GZIP="11"', /gzip level 1-9/],
    ['LEAKGUARD_THRESHOLD_RATIO="2"', /0 < ratio <= 1/],
    ['LEAKGUARD_SIGNAL="SIGUSR1"', /inspector/],
    ['LEAKGUARD_DIR="no-such-dir"', /create it first/],
    ['LEAKGUARD_TRESHOLD_MB', /unknown variable; leakguard reads .*LEAKGUARD_THRESHOLD_MB/]
  ]) {
    const line = lines.find((l) => l.startsWith(`leakguard: ignoring ${name}`))
    assert.ok(line, `${name} reported: ${r.stderr}`)
    assert.match(line, why)
  }
})

test('LEAKGUARD_NEAR_HEAP_LIMIT: a snapshot before an OOM death, without code changes', () => {
  const app = appDir('register-oom')
  const r = runChild(`
    const leak = []
    setInterval(() => { for (let i = 0; i < 100; i++) leak.push(new Array(1024).fill(0)) }, 1)
  `, {
    cwd: app,
    env: {
      NODE_OPTIONS: '-r leakguard/register --max-old-space-size=64',
      LEAKGUARD_NEAR_HEAP_LIMIT: 'true',
      LEAKGUARD_DIR: 'dumps'
    }
  })
  assert.match(r.stderr, /heap out of memory/)
  const files = fs.readdirSync(path.join(app, 'dumps'))
  assert.equal(files.length, 1)
  readSnapshot(path.join(app, 'dumps', files[0]))
})
