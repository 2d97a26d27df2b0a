'use strict'
// In-process vs fork capture under HTTP load: for each Node major, a fresh
// bench/fork-app.js per run (modes alternating, on the same heap), under
// autocannon until the snapshot's file is complete. What the app's event
// loop lost, when the file was done, and the memory both processes used.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const autocannon = require('autocannon')

const MODES = ['in-process', 'fork']

function run (node, capture, mb) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakguard-bench-fork-'))
  const app = spawn(node, [path.join(__dirname, 'fork-app.js'), capture, String(mb), dir],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  let load
  return new Promise((resolve, reject) => {
    app.stdout.on('data', (d) => {
      out += d
      const port = out.match(/^(\d+)$/m)
      if (port && !load) {
        load = autocannon({ url: `http://127.0.0.1:${port[1]}/`, connections: 20, duration: 3600, timeout: 120 })
      }
    })
    app.on('close', (code) => {
      if (load) load.stop()
      fs.rmSync(dir, { recursive: true, force: true })
      const line = out.trim().split('\n').pop()
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`fork-app (${capture}) exited ${code}: ${out}`))
      resolve(JSON.parse(line))
    })
  })
}

/** Rounds of in-process and fork, alternating, per node; `log` each run. */
async function compare ({ nodes, mb, rounds, log }) {
  const results = []
  for (const node of nodes) {
    for (let round = 1; round <= rounds; round++) {
      for (const capture of MODES) {
        const r = await run(node.bin, capture, mb)
        log(`Node ${node.version} round ${round} ${capture}: ${JSON.stringify(r)}`)
        results.push({ major: node.version.split('.')[0], ...r })
      }
    }
  }
  return results
}

module.exports = { compare, MODES }
