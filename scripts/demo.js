'use strict'
// `npm run demo`: set up (install + build) if needed, then run the leaky demo app.
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { setup, ROOT } = require('./setup')

setup({ log: () => {} })
const r = spawnSync(process.execPath, [path.join(ROOT, 'demo', 'leaky-server.js')], { stdio: 'inherit' })
process.exit(r.status ?? 1)
