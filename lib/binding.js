'use strict'
// Loads the native addon built for the running process. napi's generated
// loader (index.js, rewritten by every `napi build`) decides musl vs glibc
// from the host's /usr/bin/ldd first (napi-rs issue #3223), which is wrong for
// a musl node on a glibc host, a glibc node on Alpine (gcompat, nix) or an
// AppImage. Here the libc is the running node's own: glibc when Node's report
// names the glibc it runs on, musl otherwise. For the platforms leakguard ships
// it tries, like napi's loader, a local build (`leakguard.<platform>.node` at the package root)
// and then the platform package (`leakguard-<platform>`), and throws saying
// what it tried; anything else (NAPI_RS_NATIVE_LIBRARY_PATH, an unsupported
// platform) goes to the generated loader.

const { SHIPPED, platformName } = require('./platform.js')

function load () {
  const name = platformName()
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH || !SHIPPED.has(name)) return require('../index.js')
  const errors = []
  for (const id of [`../leakguard.${name}.node`, `leakguard-${name}`]) {
    try {
      const binding = require(id)
      if (id.startsWith('leakguard-')) checkVersion(id)
      return binding
    } catch (e) {
      errors.push(`${id}: ${e.message.split('\n')[0]}`)
    }
  }
  const error = new Error(`leakguard: no native addon for ${name} (Node ${process.version}) could be loaded. ` +
    `Tried:\n  ${errors.join('\n  ')}\n` +
    `npm installs the platform package (leakguard-${name}) as an optional dependency: reinstall without ` +
    '--omit=optional / --no-optional, and with the same libc and CPU as the node that runs the app ' +
    `(npm install --libc=${name.endsWith('-musl') ? 'musl' : 'glibc'} --cpu=${process.arch} when they differ from the installing machine).`)
  error.code = 'ERR_LEAKGUARD_NO_BINDING'
  throw error
}

function checkVersion (id) {
  const expected = require('../package.json').version
  const got = require(`${id}/package.json`).version
  if (got !== expected && process.env.NAPI_RS_ENFORCE_VERSION_CHECK && process.env.NAPI_RS_ENFORCE_VERSION_CHECK !== '0') {
    throw new Error(`Native binding package version mismatch, expected ${expected} but got ${got}. You can reinstall dependencies to fix this issue.`)
  }
}

module.exports = load()
