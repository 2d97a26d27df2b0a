'use strict'
// Preloaded (-r) into a benchmarked process: on exit, appends its peak RSS
// (VmHWM, bytes) to $PEAK_FILE.
const fs = require('node:fs')

process.on('exit', () => {
  const kb = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)[1])
  fs.appendFileSync(process.env.PEAK_FILE, `${kb * 1024}\n`)
})
