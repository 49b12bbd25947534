import {describe, expect, it} from 'vitest'
import {CycleError, dependenciesOf, dependentsOf, findCycles, topologicalOrder} from '../../src/runbooks/dag.js'

const graph = (spec: Record<string, string[]>) => Object.entries(spec).map(([id, needs]) => ({id, needs}))

describe('topologicalOrder', () => {
  it('puts every step after what it needs, keeping declaration order among ready steps', () => {
    expect(topologicalOrder(graph({verify: ['restore'], restore: [], notify: [], cleanup: ['verify', 'notify']}))).toEqual([
      'restore',
      'verify',
      'notify',
      'cleanup',
    ])
  })

  it('throws a CycleError naming the cycle', () => {
    let error: unknown
    try {
      topologicalOrder(graph({a: ['c'], b: ['a'], c: ['b'], d: []}))
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(CycleError)
    expect((error as CycleError).cycle).toEqual(['a', 'c', 'b', 'a'])
    expect((error as Error).message).toBe('dependency cycle: a → c → b → a')
  })
})

describe('findCycles', () => {
  it('finds one cycle per group of mutually dependent steps, and self-dependencies', () => {
    expect(findCycles(graph({a: ['b'], b: ['a'], c: ['c'], d: ['a'], e: []}))).toEqual([
      ['a', 'b', 'a'],
      ['c', 'c'],
    ])
    expect(findCycles(graph({a: [], b: ['a'], c: ['a', 'b']}))).toEqual([])
  })

  it('ignores needs that name unknown steps (the validator reports those)', () => {
    expect(findCycles(graph({a: ['ghost']}))).toEqual([])
    expect(topologicalOrder(graph({a: ['ghost']}))).toEqual(['a'])
  })
})

describe('dependenciesOf', () => {
  it('is transitive', () => {
    const nodes = graph({restore: [], wait: ['restore'], verify: ['wait'], other: []})
    expect([...dependenciesOf(nodes, 'verify')].sort()).toEqual(['restore', 'wait'])
    expect([...dependenciesOf(nodes, 'other')]).toEqual([])
    expect([...dependentsOf(nodes, 'restore')].sort()).toEqual(['verify', 'wait'])
  })
})
