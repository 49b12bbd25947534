import {describe, expect, it} from 'vitest'
import {CycleError, findCycles, Reachability, topologicalOrder} from '../../src/runbooks/dag.js'

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

describe('Reachability', () => {
  it('is transitive, case-insensitive, and not reflexive', () => {
    const reach = new Reachability(graph({restore: [], wait: ['restore'], verify: ['WAIT'], other: []}))
    expect(reach.reaches('verify', 'restore')).toBe(true)
    expect(reach.reaches('Verify', 'wait')).toBe(true)
    expect(reach.reaches('restore', 'verify')).toBe(false)
    expect(reach.reaches('other', 'restore')).toBe(false)
    expect(reach.reaches('restore', 'restore')).toBe(false)
  })

  it('answers for a chain of 20,000 steps without computing every ancestry', () => {
    const nodes = Array.from({length: 20_000}, (_, i) => ({id: `s${i}`, needs: i ? [`s${i - 1}`] : []}))
    const reach = new Reachability(nodes)
    // Every step asks about the step before it, as a chained runbook's expressions do.
    let all = true
    for (let i = 1; i < nodes.length; i++) all &&= reach.reaches(`s${i}`, `s${i - 1}`)
    expect(all).toBe(true)
    expect(reach.reaches('s19999', 's0')).toBe(true)
  })
})
