'use strict'
// The napi platform name of the running process (`linux-x64-gnu`,
// `linux-arm64-musl`, `darwin-arm64`, …), with the libc taken from the
// running node itself rather than from the host's /usr/bin/ldd.

const SHIPPED = new Set([
  'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64'
])

/** 'gnu' or 'musl' for the running process (a report of its own, without network data). */
function runningLibc (report = ownReport()) {
  if (report && report.header && report.header.glibcVersionRuntime) return 'gnu'
  return 'musl'
}

function ownReport () {
  if (!process.report || typeof process.report.getReport !== 'function') return null
  const exclude = process.report.excludeNetwork
  process.report.excludeNetwork = true
  try {
    return process.report.getReport()
  } finally {
    process.report.excludeNetwork = exclude
  }
}

/** The napi platform name (`linux-x64-gnu`, `darwin-arm64`, …) of the running process. */
function platformName ({ platform = process.platform, arch = process.arch, report } = {}) {
  if (platform === 'linux') return `linux-${arch}-${runningLibc(report)}`
  return `${platform}-${arch}`
}

module.exports = { SHIPPED, platformName, runningLibc }
