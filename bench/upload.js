'use strict'
// One upload of a complete file in a fresh process (`leakguard upload`'s
// path, without the snapshot): the uploader's own memory, VmHWM at the end.
// `none` loads leakguard and uploads nothing: the process's baseline.
const fs = require('node:fs')
const { upload } = require('..')

const [file, concurrency] = process.argv.slice(2)
const peak = () => Number(fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1]) * 1024

async function main () {
  if (file !== 'none') {
    const s3 = { bucket: 'bench', endpoint: process.env.LEAKGUARD_BENCH_S3, region: 'us-east-1', keepLocal: true, concurrency: Number(concurrency) }
    await upload(file, { s3 })
  }
  console.log(JSON.stringify({ peak: peak() }))
}

main().catch((e) => { console.error(e); process.exit(1) })
