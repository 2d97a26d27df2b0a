'use strict'
// Run by memlab.test.js in a child (memlab logs to stdout): node and edge
// counts and the top-10 constructors by retained size, from memlab's own
// parser and dominator tree, grouped with leakguard's rule (a member counts
// only if no member of its group dominates it).
const { getFullHeapFromFile } = require('@memlab/heap-analysis')

const USER = new Set(['object', 'native', 'closure', 'regexp', 'string', 'concatenated string', 'sliced string'])
const group = (node) => (node.type === 'object' || node.type === 'native')
  ? node.name
  : node.type.endsWith('string') ? '(string)' : `(${node.type})`

getFullHeapFromFile(process.argv[2]).then((heap) => {
  const children = new Map()
  heap.nodes.forEach((node) => {
    const d = node.dominatorNode
    if (!d || d.id === node.id) return
    if (!children.has(d.id)) children.set(d.id, [])
    children.get(d.id).push(node)
  })
  const groups = new Map()
  const open = new Map()
  const stack = [[heap.nodes.get(0), true]]
  while (stack.length) {
    const [node, entering] = stack.pop()
    const key = node.nodeIndex !== 0 && USER.has(node.type) ? group(node) : null
    if (!entering) { if (key) open.set(key, open.get(key) - 1); continue }
    if (key) {
      const g = groups.get(key) ?? { name: key, count: 0, retainedSize: 0 }
      groups.set(key, g)
      g.count++
      if (!open.get(key)) g.retainedSize += node.retainedSize
      open.set(key, (open.get(key) ?? 0) + 1)
    }
    stack.push([node, false])
    for (const c of children.get(node.id) ?? []) stack.push([c, true])
  }
  const top = [...groups.values()]
    .sort((a, b) => b.retainedSize - a.retainedSize || (a.name < b.name ? -1 : 1))
    .slice(0, 10)
  process.stdout.write('\nRESULT ' + JSON.stringify({ nodes: heap.nodes.length, edges: heap.edges.length, top }) + '\n')
})
