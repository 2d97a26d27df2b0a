#!/usr/bin/env node
'use strict'
// `leakguard summary <file>` and `leakguard diff <s1> <s2> <s3>`: heap
// snapshot analysis (raw or .gz), done in Rust off the JS thread.
// `leakguard upload <file…>`: sends snapshots to S3 by hand.
// Exit codes: 0 done, 1 a file could not be analysed or uploaded, 2 bad usage.
const { analyze, upload } = require('..')

const USAGE = `usage:
  leakguard summary <file> [--top N] [--json]
      totals, and the top constructors by count, self size and retained size
  leakguard diff <s1> <s2> <s3> [--top N] [--json]
      what s2 allocated that s1 did not have and s3 still holds, by constructor,
      with how the largest object of each group is retained
  leakguard upload <file…> [--json] [--bucket B] [--prefix P] [--region R] [--endpoint URL]
                   [--key TEMPLATE] [--delete]
      uploads each file to S3 (settings from LEAKGUARD_S3_*, flags override them;
      credentials from the AWS chain); keeps the local file unless --delete
files: .heapsnapshot or .heapsnapshot.gz
--json: the result as JSON on stdout, an error as {"error":{"code","message"}} on stderr`

// upload's flags are the LEAKGUARD_S3_* variables they override, so both
// are checked by the same rules.
const S3_FLAGS = {
  '--bucket': 'LEAKGUARD_S3_BUCKET',
  '--prefix': 'LEAKGUARD_S3_PREFIX',
  '--region': 'LEAKGUARD_S3_REGION',
  '--endpoint': 'LEAKGUARD_S3_ENDPOINT',
  '--key': 'LEAKGUARD_S3_KEY'
}

function parseArgs (argv) {
  const args = { files: [], top: 10, json: false, s3: {}, delete: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--delete') args.delete = true
    else if (S3_FLAGS[a]) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      args.s3[S3_FLAGS[a]] = argv[++i]
    }
    else if (a === '--top') {
      args.top = Number(argv[++i])
      if (!Number.isInteger(args.top) || args.top < 1 || args.top > 1e6) throw new Error('--top needs a whole number 1-1000000')
    } else if (a === '-h' || a === '--help') args.help = true
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`)
    else if (!args.command) args.command = a
    else args.files.push(a)
  }
  const need = { summary: 1, diff: 3, upload: 0 }[args.command]
  if (!args.help && need === undefined) throw new Error(args.command ? `unknown command ${args.command}` : 'no command')
  if (args.command === 'upload') {
    if (!args.help && args.files.length === 0) throw new Error('upload takes one or more files')
  } else if (!args.help && args.files.length !== need) throw new Error(`${args.command} takes ${need} file${need > 1 ? 's' : ''}, got ${args.files.length}`)
  return args
}

// Binary units with three significant digits, as the native side writes
// them (src/units.rs): settings and container limits are in MiB.
const UNITS = ['KiB', 'MiB', 'GiB', 'TiB']
function size (n) {
  if (n < 1024) return `${n} B`
  let v = n / 1024
  let unit = 0
  while (v >= 999.5 && unit + 1 < UNITS.length) { v /= 1024; unit++ }
  return `${v.toFixed(v < 9.995 ? 2 : v < 99.95 ? 1 : 0)} ${UNITS[unit]}`
}

const LEGEND = `self: the objects' own bytes. retained: what would be freed if they were gone
(a group counts each object once, also when one member holds another).
count: objects. Sizes in binary units (1 KiB = 1024 B); --json gives bytes.`

/** Columns: the first left-aligned, the rest right-aligned. */
function columns (head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')
  return [line(head), ...rows.map(line)].join('\n')
}

function table (title, groups) {
  const rows = groups.map((g) => [g.name.slice(0, 48), String(g.count), size(g.selfSize), size(g.retainedSize)])
  return `${title}\n${columns(['constructor', 'count', 'self', 'retained'], rows)}`
}

/** One hop a line: the reference, the object it reaches (@id as DevTools shows it), its retained size. */
function path (g) {
  if (!g.path) return '  (held only by weak references)'
  const rows = g.path.map((h, i) => [`${i ? '→ ' : ''}${h.edge}`, `${h.node} @${h.id}`, size(h.retained)])
  const lines = columns(['path', 'object', 'retained'], rows).split('\n').map((l) => `  ${l}`)
  if (g.pathFolded) lines.push(`  (${g.pathFolded} V8-internal step${g.pathFolded > 1 ? 's' : ''} folded into the references above: closure scopes, hash tables)`)
  return lines.join('\n')
}

function printSummary (s) {
  console.log(`${s.nodes} objects, ${s.edges} references, ${size(s.totalSize)} in total\n`)
  console.log(table('top by retained size', s.byRetainedSize) + '\n')
  console.log(table('top by self size', s.bySelfSize) + '\n')
  console.log(table('top by count', s.byCount) + '\n')
  console.log(LEGEND)
}

function printDiff (d) {
  console.log(`objects: s1 ${d.nodes[0]}, s2 ${d.nodes[1]}, s3 ${d.nodes[2]}; allocated between s1 and s2 and still alive in s3: ${d.leaked}\n`)
  if (d.groups.length === 0) return console.log('nothing leaked between s1 and s2')
  console.log(table('leaked, by constructor', d.groups) + '\n')
  console.log(LEGEND)
  for (const g of d.groups) {
    console.log(`\n${g.name}: ${g.count} objects, ${size(g.retainedSize)} retained; a typical one is held by`)
    console.log(path(g))
  }
}

/** An error as text, or with --json as `{ error: { code, message } }`: both on stderr. */
function fail (json, e, usage) {
  const code = e.code ?? 'ERR_LEAKGUARD_CONFIG'
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message: e.message } })}\n`)
  else process.stderr.write(`${usage ? `leakguard: ${e.message}\n${USAGE}` : e.message}\n`)
}

async function main () {
  let args
  const argv = process.argv.slice(2)
  try {
    args = parseArgs(argv)
  } catch (e) {
    fail(argv.includes('--json'), e, true)
    return 2
  }
  if (args.help) { console.log(USAGE); return 0 }
  if (args.command === 'upload') return uploadAll(args)
  const options = { top: args.top, progress: !args.json && Boolean(process.stderr.isTTY) }
  try {
    const result = args.command === 'summary'
      ? await analyze.summary(args.files[0], options)
      : await analyze.diff(...args.files, options)
    if (args.json) console.log(JSON.stringify(result, null, 2))
    else if (args.command === 'summary') printSummary(result)
    else printDiff(result)
    return 0
  } catch (e) {
    fail(args.json, e)
    return 1
  }
}

// One file at a time (each streams its parts in parallel): 0 when all went
// up, 1 when one failed, 2 when the settings are wrong.
async function uploadAll (args) {
  Object.assign(process.env, args.s3)
  let failed = false
  for (const file of args.files) {
    try {
      const u = await upload(file, { keepLocal: !args.delete })
      console.log(`uploaded ${file} to s3://${u.bucket}/${u.key} (${size(u.bytes)}, ${u.parts} part${u.parts > 1 ? 's' : ''})`)
    } catch (e) {
      fail(args.json, e)
      if (e.code === 'ERR_LEAKGUARD_CONFIG') return 2
      failed = true
    }
  }
  return failed ? 1 : 0
}

main().then((code) => { process.exitCode = code })
