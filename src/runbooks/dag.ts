/**
 * Step dependency graphs (`needs`). Used by validation (cycles, transitive dependencies of references) and by the
 * engine (plan order). Unknown names in `needs` are ignored here; the validator reports them.
 */
import {OpsbookError, ExitCode} from '../errors.js'

export interface DagNode {
  id: string
  needs: readonly string[]
}

/** A dependency cycle, e.g. [a, b, a]. */
export class CycleError extends OpsbookError {
  readonly cycle: string[]
  constructor(cycle: string[]) {
    super(`dependency cycle: ${formatCycle(cycle)}`, {exitCode: ExitCode.invalidInput, code: 'cycle'})
    this.cycle = cycle
  }
}

/** `a → b → a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ')
}

/**
 * Step ids in an order where every step comes after what it needs; among steps that are ready at the same time,
 * declaration order wins. Throws CycleError when there is a cycle.
 */
export function topologicalOrder(nodes: readonly DagNode[]): string[] {
  const known = new Set(nodes.map((n) => n.id))
  const remaining = new Map(nodes.map((n) => [n.id, new Set(n.needs.filter((d) => known.has(d) && d !== n.id))]))
  const order: string[] = []
  while (order.length < nodes.length) {
    const next = nodes.find((n) => remaining.has(n.id) && remaining.get(n.id)!.size === 0)
    if (!next) throw new CycleError(findCycles(nodes)[0] ?? [...remaining.keys()])
    order.push(next.id)
    remaining.delete(next.id)
    for (const deps of remaining.values()) deps.delete(next.id)
  }
  return order
}

/**
 * One cycle per group of mutually dependent steps, each as a path that returns to its start ([a, b, a]).
 * A step that needs itself is the cycle [a, a]. Empty when the graph is acyclic.
 */
export function findCycles(nodes: readonly DagNode[]): string[][] {
  const edges = adjacency(nodes)
  const cycles: string[][] = []
  for (const component of stronglyConnected(nodes, edges)) {
    const members = new Set(component)
    const start = nodes.find((n) => members.has(n.id))!.id
    if (component.length === 1 && !edges.get(start)!.includes(start)) continue
    cycles.push(pathBack(start, members, edges))
  }
  return cycles
}

/**
 * "Does `from` depend on `to`, directly or transitively?" for many pairs of one graph, without computing every step's
 * whole ancestry (which is quadratic in a long chain): the graph is indexed once, and each question is a search
 * from `from` that stops at `to`. Ids compare case-insensitively, as expressions do.
 */
export class Reachability {
  private readonly edges: Map<string, string[]>

  constructor(nodes: readonly DagNode[]) {
    const known = new Set(nodes.map((n) => n.id.toLowerCase()))
    this.edges = new Map()
    for (const node of nodes) {
      const key = node.id.toLowerCase()
      if (this.edges.has(key)) continue
      this.edges.set(key, [...new Set(node.needs.map((d) => d.toLowerCase()))].filter((d) => known.has(d)))
    }
  }

  reaches(from: string, to: string): boolean {
    const target = to.toLowerCase()
    const seen = new Set<string>()
    const stack = [...(this.edges.get(from.toLowerCase()) ?? [])]
    while (stack.length > 0) {
      const current = stack.pop()!
      if (current === target) return true
      if (seen.has(current)) continue
      seen.add(current)
      for (const next of this.edges.get(current) ?? []) if (!seen.has(next)) stack.push(next)
    }
    return false
  }
}

function adjacency(nodes: readonly DagNode[]): Map<string, string[]> {
  const known = new Set(nodes.map((n) => n.id))
  return new Map(nodes.map((n) => [n.id, [...new Set(n.needs)].filter((d) => known.has(d))]))
}

/** Tarjan's strongly connected components, in discovery order. */
function stronglyConnected(nodes: readonly DagNode[], edges: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const components: string[][] = []
  const connect = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter)
    counter++
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!))
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      components.push(component)
    }
  }
  for (const node of nodes) if (!index.has(node.id)) connect(node.id)
  return components
}

/** A shortest path start → … → start inside one strongly connected component (breadth-first). */
function pathBack(start: string, members: Set<string>, edges: Map<string, string[]>): string[] {
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const current = queue.shift()!
    for (const next of edges.get(current)!) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [start]
        for (let at = current; at !== start; at = previous.get(at)!) path.splice(1, 0, at)
        return [...path, start]
      }
      if (!previous.has(next)) {
        previous.set(next, current)
        queue.push(next)
      }
    }
  }
  return [start, start]
}
