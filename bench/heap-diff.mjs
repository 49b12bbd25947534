/**
 * Compares two V8 heap snapshots of one process (the soak's `--heap-snapshots 70,130`): which objects were allocated
 * between them and are still alive, by constructor, and which older object holds them (the "growth root": an object
 * that existed at the first snapshot and gained references to new ones — a Map, an array, a listener list…).
 * V8 keeps an object's snapshot id for its life in one isolate, so "new" means "id not in the first snapshot".
 * Run: `node --max-old-space-size=6000 bench/heap-diff.mjs soak-70.heapsnapshot soak-130.heapsnapshot [top]`.
 * Reads the .heapsnapshot JSON format that Node's `v8.writeHeapSnapshot()` writes (fields named in its `meta`).
 */
import {readFileSync} from 'node:fs'

function load(file) {
  const json = JSON.parse(readFileSync(file, 'utf8'))
  const meta = json.snapshot.meta
  const nf = meta.node_fields
  const ef = meta.edge_fields
  const s = {
    strings: json.strings,
    nodes: json.nodes,
    edges: json.edges,
    nodeTypes: meta.node_types[0],
    edgeTypes: meta.edge_types[0],
    NF: nf.length,
    EF: ef.length,
    nType: nf.indexOf('type'),
    nName: nf.indexOf('name'),
    nId: nf.indexOf('id'),
    nSize: nf.indexOf('self_size'),
    nEdges: nf.indexOf('edge_count'),
    eType: ef.indexOf('type'),
    eName: ef.indexOf('name_or_index'),
    eTo: ef.indexOf('to_node'),
  }
  s.count = s.nodes.length / s.NF
  // First edge of each node (edges are laid out node after node).
  s.firstEdge = new Uint32Array(s.count + 1)
  for (let i = 0, e = 0; i < s.count; i++) {
    s.firstEdge[i] = e
    e += s.nodes[i * s.NF + s.nEdges] * s.EF
    s.firstEdge[i + 1] = e
  }
  return s
}

const typeOf = (s, i) => s.nodeTypes[s.nodes[i * s.NF + s.nType]]
const idOf = (s, i) => s.nodes[i * s.NF + s.nId]
const sizeOf = (s, i) => s.nodes[i * s.NF + s.nSize]
/** What a user of DevTools' "Constructor" column sees: the class for objects, the kind for the rest. */
function label(s, i) {
  const type = typeOf(s, i)
  const name = s.strings[s.nodes[i * s.NF + s.nName]]
  if (type === 'object' || type === 'native' || type === 'synthetic' || type === 'hidden') return name.length > 80 ? name.slice(0, 80) + '…' : name
  if (type === 'closure') return `closure ${name || '(anonymous)'}`
  if (type === 'code') return `(code) ${name.slice(0, 60)}`
  if (type === 'array') return `(array) ${name}`
  return `(${type})`
}
function edgeName(s, e) {
  const type = s.edgeTypes[s.edges[e + s.eType]]
  const n = s.edges[e + s.eName]
  return type === 'element' || type === 'hidden' ? `[${type === 'hidden' ? 'h' : ''}${n}]` : `${type === 'context' ? 'ctx:' : ''}${String(s.strings[n]).slice(0, 40)}`
}

const [fileA, fileB, topArg] = process.argv.slice(2)
const top = Number(topArg ?? 40)
const a = load(fileA)
const oldIds = new Set()
for (let i = 0; i < a.count; i++) oldIds.add(idOf(a, i))
const totalA = (() => {
  let t = 0
  for (let i = 0; i < a.count; i++) t += sizeOf(a, i)
  return t
})()
// Counts and sizes by label in A, to compare totals per constructor.
const byLabelA = new Map()
for (let i = 0; i < a.count; i++) {
  const k = label(a, i)
  const v = byLabelA.get(k) ?? [0, 0]
  v[0]++
  v[1] += sizeOf(a, i)
  byLabelA.set(k, v)
}
a.nodes = a.edges = a.strings = null

const b = load(fileB)
const isNew = new Uint8Array(b.count)
let totalB = 0
const byLabelB = new Map()
const newByLabel = new Map()
for (let i = 0; i < b.count; i++) {
  const size = sizeOf(b, i)
  totalB += size
  const k = label(b, i)
  const v = byLabelB.get(k) ?? [0, 0]
  v[0]++
  v[1] += size
  byLabelB.set(k, v)
  if (!oldIds.has(idOf(b, i))) {
    isNew[i] = 1
    const w = newByLabel.get(k) ?? [0, 0]
    w[0]++
    w[1] += size
    newByLabel.set(k, w)
  }
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`
console.log(`A: ${a.count} nodes, ${kb(totalA)}; B: ${b.count} nodes, ${kb(totalB)}; B − A ${kb(totalB - totalA)}`)

console.log(`\nBy constructor: B − A (count, self size), largest growth first`)
const rows = []
for (const k of new Set([...byLabelA.keys(), ...byLabelB.keys()])) {
  const [ca, sa] = byLabelA.get(k) ?? [0, 0]
  const [cb, sb] = byLabelB.get(k) ?? [0, 0]
  rows.push([k, cb - ca, sb - sa])
}
rows.sort((x, y) => y[2] - x[2])
for (const [k, dc, ds] of rows.slice(0, top)) console.log(`  ${kb(ds).padStart(12)}  ${String(dc).padStart(8)}  ${k}`)
console.log(`  … shrank most:`)
for (const [k, dc, ds] of rows.slice(-8)) console.log(`  ${kb(ds).padStart(12)}  ${String(dc).padStart(8)}  ${k}`)

// Growth roots: edges from an old object (or a root) to a new one, weak edges left out. Each new object is charged
// to the first growth root that reaches it through new objects only (breadth first), so sizes add up.
const owner = new Int32Array(b.count).fill(-1)
const roots = [] // [from node, edge index]
const queue = []
for (let i = 0; i < b.count; i++) {
  if (isNew[i]) continue
  for (let e = b.firstEdge[i]; e < b.firstEdge[i + 1]; e += b.EF) {
    if (b.edgeTypes[b.edges[e + b.eType]] === 'weak') continue
    const to = b.edges[e + b.eTo] / b.NF
    if (!isNew[to] || owner[to] !== -1) continue
    owner[to] = roots.length
    roots.push([i, e])
    queue.push(to)
  }
}
for (let q = 0; q < queue.length; q++) {
  const i = queue[q]
  for (let e = b.firstEdge[i]; e < b.firstEdge[i + 1]; e += b.EF) {
    if (b.edgeTypes[b.edges[e + b.eType]] === 'weak') continue
    const to = b.edges[e + b.eTo] / b.NF
    if (!isNew[to] || owner[to] !== -1) continue
    owner[to] = owner[i]
    queue.push(to)
  }
}
const byRoot = new Map()
const byRootExample = new Map()
let unreached = 0
for (let i = 0; i < b.count; i++) {
  if (!isNew[i]) continue
  if (owner[i] === -1) {
    unreached += sizeOf(b, i)
    continue
  }
  const [from, e] = roots[owner[i]]
  // Group by the holder's constructor and the edge, and for elements by the holder alone (a growing array or Map).
  const edge = b.edgeTypes[b.edges[e + b.eType]]
  const key = `${label(b, from)} ${edge === 'element' || edge === 'hidden' ? '[…]' : '.' + edgeName(b, e)}`
  const v = byRoot.get(key) ?? [0, 0, new Set()]
  v[0]++
  v[1] += sizeOf(b, i)
  v[2].add(from)
  byRoot.set(key, v)
  if (!byRootExample.has(key)) byRootExample.set(key, from)
}
console.log(`\nNew objects (allocated after A, alive at B) by constructor, largest first`)
const newRows = [...newByLabel].sort((x, y) => y[1][1] - x[1][1])
for (const [k, [c, size]] of newRows.slice(0, top)) console.log(`  ${kb(size).padStart(12)}  ${String(c).padStart(8)}  ${k}`)
console.log(`\nNew objects by growth root (old holder . edge → new objects reached through it), largest first; ${kb(unreached)} reached only through weak edges`)
const rootRows = [...byRoot].sort((x, y) => y[1][1] - x[1][1])
for (const [k, [c, size, holders]] of rootRows.slice(0, top)) console.log(`  ${kb(size).padStart(12)}  ${String(c).padStart(8)} objects  ${String(holders.size).padStart(5)} holders  ${k}`)

// For the largest growth roots, a retainer path from a GC root to one holder, so the owner can be named in source.
const retainers = new Map()
function retainersOf(i) {
  return retainers.get(i) ?? []
}
const wanted = new Set(rootRows.slice(0, Math.min(12, top)).map(([k]) => byRootExample.get(k)))
// Reverse edges only as far as needed: a BFS from the GC roots (node 0) records each node's first parent.
const parent = new Int32Array(b.count).fill(-1)
const parentEdge = new Int32Array(b.count).fill(-1)
parent[0] = 0
const bfs = [0]
for (let q = 0; q < bfs.length; q++) {
  const i = bfs[q]
  for (let e = b.firstEdge[i]; e < b.firstEdge[i + 1]; e += b.EF) {
    if (b.edgeTypes[b.edges[e + b.eType]] === 'weak') continue
    const to = b.edges[e + b.eTo] / b.NF
    if (parent[to] !== -1) continue
    parent[to] = i
    parentEdge[to] = e
    bfs.push(to)
  }
}
void retainersOf
/** The last `depth` steps of the path from the GC roots to node i, as `Holder —edge→ … Node`. */
function pathTo(i, depth = 25) {
  const path = []
  for (let n = i; n !== 0 && path.length < depth; n = parent[n]) {
    if (parent[n] === -1) {
      path.push('(unreachable from roots)')
      break
    }
    path.push(`${label(b, parent[n])} —${edgeName(b, parentEdge[n])}→`)
  }
  return `${path.reverse().join(' ')} ${label(b, i)}`
}
// Growth by single holder (one Map, one array…), with the end of its path: which structure it is.
const byHolder = new Map()
for (let i = 0; i < b.count; i++) {
  if (!isNew[i] || owner[i] === -1) continue
  const from = roots[owner[i]][0]
  byHolder.set(from, (byHolder.get(from) ?? 0) + sizeOf(b, i))
}
// Size reached through each growth-root edge, to name the field of a holder that grows.
const byRootEdge = new Map()
for (let i = 0; i < b.count; i++) if (isNew[i] && owner[i] !== -1) byRootEdge.set(owner[i], (byRootEdge.get(owner[i]) ?? 0) + sizeOf(b, i))
console.log(`\nNew objects by single holder, largest first (the end of the path to it; its largest growing edges)`)
for (const [holder, size] of [...byHolder].sort((x, y) => y[1] - x[1]).slice(0, top)) {
  const edges = roots.map(([from, e], r) => [from, e, byRootEdge.get(r) ?? 0]).filter(([from]) => from === holder).sort((x, y) => y[2] - x[2]).slice(0, 4)
  console.log(`  ${kb(size).padStart(12)}  ${pathTo(holder, 6)}\n                ${edges.map(([, e, n]) => `${edgeName(b, e)} → ${label(b, b.edges[e + b.eTo] / b.NF)} ${kb(n)}`).join('; ')}`)
}
console.log(`\nA path from the GC roots to an example holder of each large growth root:`)
for (const [k] of rootRows.slice(0, Math.min(12, top))) {
  const holder = byRootExample.get(k)
  const path = []
  for (let i = holder; i !== 0 && path.length < 25; i = parent[i]) {
    if (parent[i] === -1) {
      path.push('(unreachable from roots)')
      break
    }
    path.push(`${label(b, parent[i])} —${edgeName(b, parentEdge[i])}→`)
  }
  console.log(`  ${k}\n    ${path.reverse().join(' ')} ${label(b, holder)}`)
}
