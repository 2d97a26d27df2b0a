'use strict'
// Run by memlab.test.js in a child (memlab logs to stdout): node and edge
// counts, the sum of self sizes, and per constructor (memlab's own parser
// and dominator tree; a member counts towards its group's retained size
// only if no member of the group dominates it) the count and retained size.
const { getFullHeapFromFile } = require('@memlab/heap-analysis')

const USER = new Set(['object', 'native', 'closure', 'regexp', 'string', 'concatenated string', 'sliced string'])
const group = (node) => (node.type === 'object' || node.type === 'native')
  ? node.name
  : node.type.endsWith('string') ? '(string)' : `(${node.type})`

getFullHeapFromFile(process.argv[2]).then((heap) => {
  const children = new Map()
  let totalSize = 0
  heap.nodes.forEach((node) => {
    totalSize += node.self_size
    const d = node.dominatorNode
    if (!d || d.id === node.id) return
    if (!children.has(d.id)) children.set(d.id, [])
    children.get(d.id).push(node)
  })
  const groups = {}
  const open = new Map()
  const stack = [[heap.nodes.get(0), true]]
  while (stack.length) {
    const [node, entering] = stack.pop()
    const key = node.nodeIndex !== 0 && USER.has(node.type) ? group(node) : null
    if (!entering) { if (key) open.set(key, open.get(key) - 1); continue }
    if (key) {
      const g = groups[key] ?? (groups[key] = { count: 0, retainedSize: 0 })
      g.count++
      if (!open.get(key)) g.retainedSize += node.retainedSize
      open.set(key, (open.get(key) ?? 0) + 1)
    }
    stack.push([node, false])
    for (const c of children.get(node.id) ?? []) stack.push([c, true])
  }
  process.stdout.write('\nRESULT ' + JSON.stringify({ nodes: heap.nodes.length, edges: heap.edges.length, totalSize, groups }) + '\n')
})
