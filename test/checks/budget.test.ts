import {describe, expect, it} from 'vitest'
import {RequestBudget, TokenBucket, throttleInfo} from '../../src/checks/budget.js'

const throttled = (retryAfter: string) => Object.assign(new Error('Too Many Requests'), {statusCode: 429, response: {headers: {get: (n: string) => (n === 'retry-after' ? retryAfter : undefined)}}})

describe('RequestBudget', () => {
  it('retries a 429 after pausing the bucket for its Retry-After, and counts it', async () => {
    const slept: number[] = []
    let now = 0
    const budget = new RequestBudget({
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms)
        now += ms
      },
    })
    let calls = 0
    const result = await budget.run('arm', async () => {
      calls++
      if (calls === 1) throw throttled('3')
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(slept).toEqual([3000])
    expect(budget.stats).toEqual({resourceGraphQueries: 0, armRequests: 2, throttled: 1, retries: 1})
  })

  it('gives up after the configured retries and passes other errors through at once', async () => {
    let now = 0
    const budget = new RequestBudget({maxThrottleRetries: 2, now: () => now, sleep: async (ms) => void (now += ms)})
    await expect(budget.run('resourceGraph', async () => Promise.reject(throttled('1')))).rejects.toThrow('Too Many Requests')
    expect(budget.stats.resourceGraphQueries).toBe(3)
    await expect(budget.run('arm', async () => Promise.reject(Object.assign(new Error('Forbidden'), {statusCode: 403})))).rejects.toThrow('Forbidden')
    expect(budget.stats.armRequests).toBe(1)
  })
})

describe('TokenBucket', () => {
  it('lets a burst through, then paces at the refill rate', async () => {
    let now = 0
    const waits: number[] = []
    const bucket = new TokenBucket({ratePerSecond: 10, burst: 3}, () => now, async (ms) => {
      waits.push(ms)
      now += ms
    })
    for (let i = 0; i < 5; i++) await bucket.take()
    expect(waits).toEqual([100, 100])
  })

  it('after a 429 it keeps no burst: it hands out only what refilled since, as the server\'s bucket does', async () => {
    let now = 0
    const waits: number[] = []
    const bucket = new TokenBucket({ratePerSecond: 10, burst: 100}, () => now, async (ms) => {
      waits.push(ms)
      now += ms
    })
    await bucket.take()
    bucket.pause(1000)
    for (let i = 0; i < 15; i++) await bucket.take()
    // The pause, then the 10 tokens earned during it, then one every 100 ms: not the 99 left of the burst.
    expect(waits).toEqual([1000, 100, 100, 100, 100, 100])
  })
})

describe('throttleInfo', () => {
  it('reads status and Retry-After seconds from SDK errors', () => {
    expect(throttleInfo(throttled('2'))).toEqual({status: 429, retryAfterMs: 2000})
    expect(throttleInfo(new Error('x'))).toEqual({status: undefined, retryAfterMs: undefined})
  })
})
