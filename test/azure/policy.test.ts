import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {createAzureServices} from '../../src/azure/clients.js'
import {isIdempotent, remainingQuota, retryAfterMs, type RetryEvent} from '../../src/azure/policy.js'
import {startFixture, type Fixture} from './helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})
beforeEach(() => {
  fixture.emulator.faults.clear()
  fixture.emulator.clearRequestLog()
})

function servicesWith(retry: Parameters<typeof createAzureServices>[0]['retry']) {
  return createAzureServices({environment: fixture.environment, environmentName: 'local', emulator: fixture.emulator, retry})
}

const serverGets = () => fixture.emulator.requestLog().filter((e) => e.method === 'GET' && e.path.toLowerCase().endsWith('/flexibleservers/pg-shop-orders'))

describe('retry policy against the emulator', () => {
  it('honours 429 Retry-After and succeeds', async () => {
    const events: RetryEvent[] = []
    const services = servicesWith({lowRemaining: -1, baseDelayMs: 10, onRetry: (e) => events.push(e)})
    const client = await services.postgres()
    fixture.emulator.faults.set({throttle: {capacity: 2, refillPerSecond: 2, retryAfterSeconds: 1}})
    for (let i = 0; i < 4; i++) expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).name).toBe('pg-shop-orders')

    const log = serverGets()
    const throttled = log.findIndex((e) => e.status === 429)
    expect(throttled).toBeGreaterThanOrEqual(0)
    const next = log[throttled + 1]!
    expect(next.status).toBe(200)
    // The retry waited out Retry-After: 1 (lower bound only).
    expect(Date.parse(next.at) - Date.parse(log[throttled]!.at)).toBeGreaterThanOrEqual(950)
    expect(events.find((e) => e.reason === 'throttled')).toMatchObject({status: 429, delayMs: 1000, method: 'GET'})
  })

  it('slows down before the quota runs out when x-ms-ratelimit-remaining-* is low', async () => {
    const events: RetryEvent[] = []
    const services = servicesWith({onRetry: (e) => events.push(e), lowRemainingPauseMs: 600})
    const client = await services.postgres()
    fixture.emulator.faults.set({throttle: {capacity: 3, refillPerSecond: 2, retryAfterSeconds: 1}})
    for (let i = 0; i < 5; i++) await client.servers.get('rg-shop-local', 'pg-shop-orders')
    expect(events.some((e) => e.reason === 'rate-limit-low')).toBe(true)
    expect(serverGets().filter((e) => e.status === 429)).toHaveLength(0)
  })

  it('retries a GET on a transient 503 but never re-sends a POST that failed with 5xx', async () => {
    const services = servicesWith({baseDelayMs: 10})
    fixture.emulator.faults.set({transient: {next: 1, status: 503}})
    const client = await services.postgres()
    expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).state).toBe('Ready')
    expect(serverGets().map((e) => e.status)).toEqual([503, 200])

    fixture.emulator.clearRequestLog()
    fixture.emulator.faults.set({transient: {next: 1, status: 500}})
    const response = await services.armRequest('POST', '/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders/restart', {apiVersion: '2025-08-01', body: {}})
    expect(response.status).toBe(500)
    expect(fixture.emulator.requestLog().filter((e) => e.method === 'POST')).toHaveLength(1)
  })
})

describe('policy helpers', () => {
  it('reads Retry-After as seconds, milliseconds or an HTTP date', () => {
    const headers = (h: Record<string, string>) => ({get: (n: string) => h[n]})
    expect(retryAfterMs(headers({'retry-after': '7'}))).toBe(7000)
    expect(retryAfterMs(headers({'retry-after-ms': '250', 'retry-after': '7'}))).toBe(250)
    const now = Date.parse('2026-11-23T10:00:00Z')
    expect(retryAfterMs(headers({'retry-after': 'Mon, 23 Nov 2026 10:00:30 GMT'}), now)).toBe(30_000)
    expect(retryAfterMs(headers({'retry-after': 'soon'}))).toBeUndefined()
  })

  it('finds the lowest remaining quota across ARM rate-limit headers', () => {
    const headers = (h: Record<string, string>) => ({toJSON: () => h})
    expect(remainingQuota(headers({'x-ms-ratelimit-remaining-subscription-reads': '11999', 'x-ms-ratelimit-remaining-resource': 'Microsoft.Compute/HighCostGet3Min;7'}))).toBe(7)
    expect(remainingQuota(headers({'content-type': 'application/json'}))).toBeUndefined()
  })

  it('treats read-only POSTs as idempotent and other POSTs as not', () => {
    expect(isIdempotent('POST', 'https://eastus.metrics.monitor.azure.com/subscriptions/s/metrics:getBatch?api-version=2024-02-01')).toBe(true)
    expect(isIdempotent('POST', 'https://management.azure.com/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01')).toBe(true)
    expect(isIdempotent('POST', 'https://management.azure.com/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a/slotsswap')).toBe(false)
    expect(isIdempotent('PUT', 'https://x/y')).toBe(true)
  })
})
