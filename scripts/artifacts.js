'use strict'
// `npm run artifacts` in a release: `napi artifacts` moves each target's
// downloaded `.node` into npm/<platform>/ (it knows nothing of the shims), then
// the V8 shims that travelled beside each `.node` (one CI artifact per target,
// e.g. artifacts/bindings-<triple>/) are staged with it. Arguments go to
// `napi artifacts` (default folder: ./artifacts).
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { stage, platforms, ROOT } = require('./pack')

const args = process.argv.slice(2)
const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
execFileSync(process.execPath, [napi, 'artifacts', ...args], { cwd: ROOT, stdio: 'inherit' })

const flag = args.findIndex((a) => a === '-d' || a === '--output-dir')
const root = path.resolve(ROOT, flag >= 0 ? args[flag + 1] : 'artifacts')
const wanted = new Set(platforms())
const found = new Set()
;(function walk (dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) walk(path.join(dir, entry.name))
    const m = entry.isFile() && /^leakguard\.(.+)\.node$/.exec(entry.name)
    if (m && wanted.has(m[1])) {
      console.log(`leakguard: staged ${stage(m[1], dir).join(', ')} into npm/${m[1]}`)
      found.add(m[1])
    }
  }
})(root)
const missing = [...wanted].filter((p) => !found.has(p))
if (missing.length > 0) throw new Error(`no build with its shims for ${missing.join(', ')} under ${root}`)
