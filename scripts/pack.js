'use strict'
// Stages a built addon and its V8 shims into npm/<platform>/ and packs the
// main and platform packages as they would be published.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { platformName } = require('../lib/platform')

const ROOT = path.join(__dirname, '..')
const SHIM = /^leakguard-v8-abi\d+\.so$/

/** Every platform package napi.targets asks for (npm/<platform>/). */
function platforms () {
  return fs.readdirSync(path.join(ROOT, 'npm')).filter((d) => fs.existsSync(path.join(ROOT, 'npm', d, 'package.json')))
}

/**
 * Copies `leakguard.<platform>.node` and the shims beside it in `from` (a
 * build's output: the checkout, or one downloaded CI artifact) into
 * npm/<platform>/. Shims have the same names on every platform, so they are
 * only ever taken from the folder of their own `.node`.
 */
function stage (platform, from = ROOT) {
  const node = `leakguard.${platform}.node`
  if (!fs.existsSync(path.join(from, node))) throw new Error(`nothing built for ${platform}: no ${node} in ${from}`)
  const shims = fs.readdirSync(from).filter((f) => SHIM.test(f))
  if (shims.length === 0) throw new Error(`no leakguard-v8-abi*.so beside ${node} in ${from}`)
  const dir = path.join(ROOT, 'npm', platform)
  for (const f of fs.readdirSync(dir)) if (f === node || SHIM.test(f)) fs.rmSync(path.join(dir, f))
  for (const f of [node, ...shims]) fs.copyFileSync(path.join(from, f), path.join(dir, f))
  return [node, ...shims]
}

function npmPack (cwd, dest) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const [info] = JSON.parse(out)
  return { name: info.name, version: info.version, file: path.join(dest, info.filename), files: info.files.map((f) => f.path) }
}

/**
 * Stages this checkout's build (the running node's platform) and packs the
 * main package, that platform's package and, with `others: true`, every other
 * platform package as it stands (no binary unless one was staged: stand-ins,
 * for a test registry only).
 */
function pack (dest, { others = false } = {}) {
  const host = platformName()
  stage(host)
  fs.mkdirSync(dest, { recursive: true })
  const rest = others ? platforms().filter((p) => p !== host) : []
  return {
    main: npmPack(ROOT, dest),
    platform: npmPack(path.join(ROOT, 'npm', host), dest),
    others: rest.map((p) => npmPack(path.join(ROOT, 'npm', p), dest))
  }
}

module.exports = { pack, stage, platforms, ROOT }

if (require.main === module) {
  const r = pack(process.argv[2] || path.join(ROOT, 'out', 'pack'))
  console.log(JSON.stringify(r, null, 2))
}
