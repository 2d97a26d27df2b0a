'use strict'
// `npm run demo`: set up (install + build) if needed, start a local
// S3-compatible server (s3s-fs), then run the leaky demo app against it.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setup, ROOT } = require('./setup')
const { ensureS3Server, startS3Server } = require('./s3-server')

async function main () {
  setup({ log: () => {} })
  ensureS3Server({ log: console.log })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakguard-demo-s3-'))
  fs.mkdirSync(path.join(dataDir, 'demo-heapdumps')) // a bucket is a directory
  const keys = { AWS_ACCESS_KEY_ID: 'demo-access-key', AWS_SECRET_ACCESS_KEY: `demo-secret-${process.pid}` }
  const server = await startS3Server({ dataDir, accessKey: keys.AWS_ACCESS_KEY_ID, secretKey: keys.AWS_SECRET_ACCESS_KEY })
  console.log(`local S3 (s3s-fs) on ${server.endpoint}, bucket demo-heapdumps`)
  // The JS SDK (used to fetch the objects back) warns about Node 20 on every run.
  const quiet = { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  const env = { ...process.env, ...keys, ...quiet, DEMO_S3_ENDPOINT: server.endpoint }
  const app = spawn(process.execPath, [path.join(ROOT, 'demo', 'leaky-server.js')], { stdio: 'inherit', env })
  const code = await new Promise((resolve) => app.on('exit', (c, signal) => resolve(signal ? 1 : c)))
  await server.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(code ?? 1)
}

main().catch((e) => { console.error(e); process.exit(1) })
