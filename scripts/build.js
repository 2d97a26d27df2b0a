'use strict'
// Release build of the addon plus one V8 shim per supported Node major,
// staged next to the .node file where the addon looks for them.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { ensureNodes } = require('./nodes')

const ROOT = path.join(__dirname, '..')

function hostTriple () {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  return out.match(/^host: (.+)$/m)[1]
}

function build ({ log = console.log } = {}) {
  const nodes = ensureNodes({ log })
  const triple = hostTriple()
  const env = {
    ...process.env,
    LEAKGUARD_NODE_INCLUDE_DIRS: nodes.map((n) => n.include).join(path.delimiter)
  }
  const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  execFileSync(process.execPath, [napi, 'build', '--platform', '--release', '--target', triple],
    { cwd: ROOT, env, stdio: 'inherit' })
  const out = path.join(ROOT, 'target', triple, 'release')
  const shims = fs.readdirSync(out).filter((f) => /^leakguard-v8-abi\d+\.so$/.test(f))
  // Copy, then rename: a new inode, so processes that have the old file mapped keep it.
  for (const f of shims) {
    fs.copyFileSync(path.join(out, f), path.join(ROOT, `.${f}.tmp`))
    fs.renameSync(path.join(ROOT, `.${f}.tmp`), path.join(ROOT, f))
  }
  log(`leakguard: built ${shims.join(', ')}`)
  return { nodes }
}

module.exports = { build }

if (require.main === module) build()
