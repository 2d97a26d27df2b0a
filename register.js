'use strict'
// Zero-code enable: `node -r leakguard/register app.js` (or
// NODE_OPTIONS='-r leakguard/register') configures leakguard from LEAKGUARD_*
// environment variables. An invalid variable is reported once on stderr, by
// name, and skipped (each line says what was ignored); the app starts
// regardless. Main thread only: workers
// that inherit the preload keep their own defaults.
const { isMainThread } = require('node:worker_threads')
const leakguard = require('./lib/binding.js')

if (isMainThread) {
  for (const problem of leakguard.configureFromEnv()) {
    process.stderr.write(`leakguard: ${problem}\n`)
  }
}
