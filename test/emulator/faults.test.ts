import {describe, expect, it} from 'vitest'
import {Faults, parseFaultSpec} from '../../src/emulator/faults.js'

describe('parseFaultSpec', () => {
  it('reads k=v pairs and JSON', () => {
    expect(parseFaultSpec('latency=50,throttle=20/5/2,transient=3,fail=postgres.create:InternalServerError:disk: full,hang=redis.import,unhealthySlot=staging')).toEqual({
      latencyMs: 50,
      throttle: {capacity: 20, refillPerSecond: 5, retryAfterSeconds: 2},
      transient: {next: 3},
      failOperations: {'postgres.create': {code: 'InternalServerError', message: 'disk: full'}},
      hangOperations: ['redis.import'],
      unhealthySlots: ['staging'],
    })
    expect(parseFaultSpec('hold=monitor.metrics.getBatch')).toEqual({holdOperations: ['monitor.metrics.getBatch']})
    expect(parseFaultSpec('{"latencyMs":5}')).toEqual({latencyMs: 5})
    expect(() => parseFaultSpec('bogus=1')).toThrow(/unknown fault "bogus"/)
  })
})

describe('Faults', () => {
  it('answers 429 with Retry-After once the bucket is empty, and refills with time', () => {
    let now = 0
    const faults = new Faults({throttle: {capacity: 1, refillPerSecond: 1}}, () => now)
    expect(faults.intercept('GET', 'x').response).toBeUndefined()
    const throttled = faults.intercept('GET', 'x').response!
    expect(throttled.status).toBe(429)
    expect(throttled.headers?.['Retry-After']).toBe('1')
    now = 1000
    expect(faults.intercept('GET', 'x').response).toBeUndefined()
  })

  it('matches unhealthy slots by site/slot or slot name', () => {
    const faults = new Faults({unhealthySlots: ['app-a/staging', 'canary']})
    expect(faults.isSlotUnhealthy('app-a', 'staging')).toBe(true)
    expect(faults.isSlotUnhealthy('app-b', 'staging')).toBe(false)
    expect(faults.isSlotUnhealthy('app-b', 'canary')).toBe(true)
  })
})

describe('held operations', () => {
  it('holds requests for the named operations until the fault is lifted; others pass at once', async () => {
    const faults = new Faults({holdOperations: ['monitor.metrics.getBatch', 'postgres.create']})
    const released: string[] = []
    const metrics = faults.held('monitor.metrics.getBatch').then(() => released.push('metrics'))
    const create = faults.held('postgres.create').then(() => released.push('create'))
    await faults.held('webapp.get')
    await new Promise((resolve) => setImmediate(resolve))
    expect(released).toEqual([])
    faults.set({holdOperations: ['postgres.create']})
    await metrics
    expect(released).toEqual(['metrics'])
    faults.clear()
    await create
    expect(released).toEqual(['metrics', 'create'])
  })
})
