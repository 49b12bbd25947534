import {describe, expect, it} from 'vitest'
import {RequestLog} from '../../src/emulator/request-log.js'

const entry = (n: number) => ({at: new Date(0).toISOString(), method: 'GET', path: `/subscriptions/s/resourceGroups/rg-${n}`, query: 'api-version=2021-04-01', operation: 'resourceGroups.get', status: 200, durationMs: 1})

describe('emulator request log', () => {
  it('stays bounded however many requests it logs, keeping the newest', () => {
    const log = new RequestLog(100)
    for (let n = 1; n <= 5_000; n++) {
      log.push(entry(n))
      expect(log.retained).toBeLessThanOrEqual(110)
    }
    const kept = log.since()
    expect(kept.length).toBeGreaterThanOrEqual(100)
    expect(kept.at(-1)).toMatchObject({seq: 5_000, path: '/subscriptions/s/resourceGroups/rg-5000'})
    expect(log.count).toBe(5_000)
  })

  it('keeps a cursor valid after the entries before it were dropped', () => {
    const log = new RequestLog(100)
    for (let n = 1; n <= 250; n++) log.push(entry(n))
    const cursor = log.count
    for (let n = 251; n <= 300; n++) log.push(entry(n))
    // An index into the retained entries (the old `requestLog().length`) would now point past these 50.
    expect(log.since(cursor).map((e) => e.seq)).toEqual(Array.from({length: 50}, (_, i) => 251 + i))
    // A cursor older than what is kept gives what is kept.
    expect(log.since(1)[0]!.seq).toBe(log.since()[0]!.seq)
    expect(log.since(log.count)).toEqual([])
  })

  it('hands out copies, and clearing keeps the numbering', () => {
    const log = new RequestLog(10)
    log.push(entry(1))
    log.since()[0]!.status = 500
    expect(log.since()[0]!.status).toBe(200)
    log.clear()
    expect(log.since()).toEqual([])
    log.push(entry(2))
    expect(log.since()).toMatchObject([{seq: 2}])
  })
})
