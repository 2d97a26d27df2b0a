'use strict'
// Stages the built addon and its V8 shims into npm/<platform>/ and packs the
// main and platform packages as they would be published.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const PLATFORM = 'linux-x64-gnu'

function pack (dest) {
  const dir = path.join(ROOT, 'npm', PLATFORM)
  const built = fs.readdirSync(ROOT).filter((f) => f === `leakguard.${PLATFORM}.node` || /^leakguard-v8-abi\d+\.so$/.test(f))
  if (built.length < 2) throw new Error('nothing built: run `npm run build` first')
  for (const f of built) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  fs.mkdirSync(dest, { recursive: true })
  const npmPack = (cwd) => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const [info] = JSON.parse(out)
    return { file: path.join(dest, info.filename), files: info.files.map((f) => f.path) }
  }
  return { main: npmPack(ROOT), platform: npmPack(dir) }
}

module.exports = { pack }

if (require.main === module) {
  const r = pack(process.argv[2] || path.join(ROOT, 'out', 'pack'))
  console.log(JSON.stringify(r, null, 2))
}
