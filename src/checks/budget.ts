/**
 * The request budget of a scan: a token bucket per API (ARM reads, Resource Graph), bounded concurrency, and
 * Retry-After on 429. Defaults follow azqr's limits (ARM 20 rps burst 100, Resource Graph 3 rps burst 10), which
 * stay under ARM's per-subscription read quota and Resource Graph's 15 queries / 5 s.
 */

export interface BucketOptions {
  /** Sustained requests per second. */
  ratePerSecond: number
  /** Requests that may go at once after an idle period. */
  burst: number
}

export interface BudgetOptions {
  arm?: BucketOptions
  resourceGraph?: BucketOptions
  /** Requests in flight at once (default 16). */
  concurrency?: number
  /** Retries of a throttled (429) request after the client's own retries gave up (default 4). */
  maxThrottleRetries?: number
  /** Longest Retry-After honoured before giving up on a request (default 120 s). */
  maxRetryAfterMs?: number
  /** Injected for tests. */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export const DEFAULT_BUDGET = {
  arm: {ratePerSecond: 20, burst: 100},
  resourceGraph: {ratePerSecond: 3, burst: 10},
  concurrency: 16,
} as const

/** A token bucket that can also be paused (after a 429 with Retry-After). */
export class TokenBucket {
  private tokens: number
  private last: number
  private pausedUntil = 0
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private readonly options: BucketOptions,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = options.burst
    this.last = now()
  }

  /** Wait for a token. Callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken())
    this.queue = turn.catch(() => undefined)
    return turn
  }

  /**
   * Stop handing out tokens for `ms` (every caller waits, not only the throttled one). A 429 says the server's bucket
   * is empty, so ours is emptied too and refills from now on, as the server's does: ARM throttles with a token bucket
   * per subscription and region that refills at a fixed rate (learn.microsoft.com/azure/azure-resource-manager/
   * management/request-limits-and-throttling, "Migrating to regional throttling and token bucket algorithm"). Keeping
   * the burst we had would send it into an empty bucket: one 429 after another.
   */
  pause(ms: number): void {
    const now = this.now()
    this.pausedUntil = Math.max(this.pausedUntil, now + ms)
    this.tokens = 0
    this.last = now
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.now()
      if (now < this.pausedUntil) {
        await this.sleep(this.pausedUntil - now)
        continue
      }
      this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) / 1000) * this.options.ratePerSecond)
      this.last = now
      if (this.tokens >= 1) {
        this.tokens -= 1
        return
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.options.ratePerSecond) * 1000))
    }
  }
}

/** A counting semaphore. */
class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

export interface BudgetStats {
  resourceGraphQueries: number
  armRequests: number
  throttled: number
  retries: number
  /** Times Resource Graph's quota headers said none was left and queries waited for the reset. */
  quotaWaits?: number
}

/** Status code and Retry-After of an SDK error (core-rest-pipeline RestError and ms-rest-js RestError alike). */
export function throttleInfo(error: unknown): {status?: number; retryAfterMs?: number} {
  const e = error as {statusCode?: number; response?: {status?: number; headers?: {get?(name: string): string | undefined}}}
  const status = e?.statusCode ?? e?.response?.status
  const header = e?.response?.headers?.get?.('retry-after')
  let retryAfterMs: number | undefined
  if (header !== undefined) {
    if (/^\d+(\.\d+)?$/.test(header.trim())) retryAfterMs = Number(header) * 1000
    else if (!Number.isNaN(Date.parse(header))) retryAfterMs = Math.max(0, Date.parse(header) - Date.now())
  }
  // Resource Graph says when its quota resets (hh:mm:ss) rather than, or as well as, Retry-After.
  retryAfterMs ??= quotaResetMs(e?.response?.headers?.get?.('x-ms-user-quota-resets-after'))
  return {status, retryAfterMs}
}

/** `hh:mm:ss` (x-ms-user-quota-resets-after) in milliseconds, undefined when it is not that. */
export function quotaResetMs(value: string | undefined | null): number | undefined {
  const m = /^(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(String(value ?? '').trim())
  if (!m) return undefined
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + (m[4] ? Math.round(Number(`0.${m[4]}`) * 1000) : 0)
}

/** Runs each request of a scan inside the budget and keeps the counts. */
export class RequestBudget {
  readonly stats: BudgetStats = {resourceGraphQueries: 0, armRequests: 0, throttled: 0, retries: 0}
  private readonly arm: TokenBucket
  private readonly graph: TokenBucket
  private readonly limiter: Limiter
  private readonly maxThrottleRetries: number
  private readonly maxRetryAfterMs: number
  private readonly sleep: (ms: number) => Promise<void>

  constructor(options: BudgetOptions = {}) {
    const now = options.now ?? Date.now
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
    this.arm = new TokenBucket(options.arm ?? DEFAULT_BUDGET.arm, now, this.sleep)
    this.graph = new TokenBucket(options.resourceGraph ?? DEFAULT_BUDGET.resourceGraph, now, this.sleep)
    this.limiter = new Limiter(options.concurrency ?? DEFAULT_BUDGET.concurrency)
    this.maxThrottleRetries = options.maxThrottleRetries ?? 4
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000
  }

  /** Run one request (one page) against `api`; a 429 pauses that API's bucket for Retry-After and retries. */
  async run<T>(api: 'arm' | 'resourceGraph', request: () => Promise<T>): Promise<T> {
    const bucket = api === 'arm' ? this.arm : this.graph
    for (let attempt = 0; ; attempt++) {
      await bucket.take()
      try {
        if (api === 'arm') this.stats.armRequests++
        else this.stats.resourceGraphQueries++
        return await this.limiter.run(request)
      } catch (error) {
        const {status, retryAfterMs} = throttleInfo(error)
        if (status !== 429 || attempt >= this.maxThrottleRetries) throw error
        const wait = Math.min(retryAfterMs ?? 1000 * 2 ** attempt, this.maxRetryAfterMs)
        this.stats.throttled++
        this.stats.retries++
        bucket.pause(wait)
      }
    }
  }

  /**
   * Obey Resource Graph's quota headers after a query: none left means no query until the quota resets
   * (learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests, "Understand
   * throttling headers": back off on x-ms-user-quota-remaining / x-ms-user-quota-resets-after).
   */
  graphQuota(quota: {remaining: number; resetsAfterMs: number}): void {
    if (quota.remaining > 0) return
    this.stats.quotaWaits = (this.stats.quotaWaits ?? 0) + 1
    this.graph.pause(Math.min(quota.resetsAfterMs, this.maxRetryAfterMs))
  }

  /** Note a retry or throttling pause made inside a client's own pipeline. */
  noteClientRetry(throttled: boolean): void {
    this.stats.retries++
    if (throttled) this.stats.throttled++
  }
}

/** Map over items with at most `concurrency` promises pending (the budget limits requests; this limits memory). */
export async function mapBounded<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({length: Math.min(concurrency, items.length)}, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  })
  await Promise.all(workers)
  return results
}
