'use strict'
// `npm version <new>` runs this after bumping package.json: `napi version`
// sets npm/<platform>/package.json to the new version, and the main
// package's optionalDependencies follow (napi does not touch them before
// `napi prepublish`), so the version commit holds one version everywhere.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
execFileSync(process.execPath, [napi, 'version'], { cwd: ROOT, stdio: 'inherit' })

const edit = (file, change) => {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'))
  change(json)
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
}
const follow = (pkg, version) => {
  for (const name of Object.keys(pkg.optionalDependencies || {})) pkg.optionalDependencies[name] = version
}
const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
edit(path.join(ROOT, 'package.json'), (pkg) => follow(pkg, version))
edit(path.join(ROOT, 'package-lock.json'), (lock) => follow(lock.packages[''], version))
// npm commits package.json and the lockfile; the platform packages need adding.
if (fs.existsSync(path.join(ROOT, '.git'))) execFileSync('git', ['add', 'package.json', 'package-lock.json', 'npm'], { cwd: ROOT, stdio: 'inherit' })
