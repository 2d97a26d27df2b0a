'use strict'
// What every shipped binary asks of the machine it lands on, read from its
// ELF headers (readelf, which reads any CPU's files): glibc builds need no
// glibc newer than 2.17, musl builds no glibc at all, and all are stripped.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { LINUX } = require('../../scripts/build')

const NPM = path.join(__dirname, '..', '..', 'npm')
const FLOOR = [2, 17]

function binaries (platform) {
  const dir = path.join(NPM, platform)
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.node') || f.endsWith('.so')).map((f) => path.join(dir, f))
  assert.ok(files.some((f) => f.endsWith(`leakguard.${platform}.node`)), `a build in ${dir} (npm run test:platforms builds it): ${files}`)
  assert.ok(files.filter((f) => f.endsWith('.so')).length >= 4, `one shim per Node major in ${dir}: ${files}`)
  return files
}

const readelf = (args, file) => execFileSync('readelf', ['--wide', ...args, file], { encoding: 'utf8' })

/** The glibc symbol versions a binary needs, e.g. ['2.2.5', '2.17']. */
function glibcVersions (file) {
  return [...new Set([...readelf(['--version-info'], file).matchAll(/Name: GLIBC_([\d.]+)/g)].map((m) => m[1]))]
}

const newer = (v) => {
  const [a, b] = v.split('.').map(Number)
  return a > FLOOR[0] || (a === FLOOR[0] && b > FLOOR[1])
}

for (const platform of Object.keys(LINUX)) {
  test(`${platform}: no binary needs more than its libc floor, and all are stripped`, () => {
    for (const file of binaries(platform)) {
      const versions = glibcVersions(file)
      if (platform.endsWith('-musl')) assert.deepEqual(versions, [], `${file} must not need glibc`)
      else {
        // The shims link no library at all (build.rs): only the addon names a glibc.
        if (file.endsWith('.node')) assert.ok(versions.length > 0, `${file} links glibc`)
        assert.deepEqual(versions.filter(newer), [], `${file} needs glibc ${versions.join(', ')}: more than ${FLOOR.join('.')}`)
      }
      // A libc function newer than the floor is left unversioned by the 2.17 link: it would fail at its first call.
      const loose = readelf(['--dyn-syms'], file).split('\n').map((l) => l.trim().split(/\s+/))
        .filter((f) => f[6] === 'UND' && f[7] && !f[7].includes('@') && f[4] !== 'WEAK' && !/^(napi_|node_api_|_ZN2v8|_ZNK2v8|_Zdl|strcmp$)/.test(f[7]))
        .map((f) => f[7])
      if (!platform.endsWith('-musl')) assert.deepEqual(loose, [], `${file} needs symbols no libc version provides for sure`)
      assert.doesNotMatch(readelf(['--section-headers'], file), /\.symtab\b/, `${file} is not stripped`)
    }
  })
}
