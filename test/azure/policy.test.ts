/**
 * The one retry policy against a real emulator: throttling, transient 5xx, connection resets (a reset read is retried,
 * a reset write is not re-sent), expired tokens (ARM's 401 and challenge; a fresh token, and the request goes on) and
 * Blob down (requests dropped until lifted).
 */
import {readFileSync} from 'node:fs'
import https from 'node:https'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {createAzureServices} from '../../src/azure/clients.js'
import {issuerOf, signToken} from '../../src/emulator/tokens.js'
import {isIdempotent, remainingQuota, retryAfterMs, type RetryEvent} from '../../src/azure/policy.js'
import {startFixture, type Fixture} from './helpers.js'

let fixture: Fixture
let faultServices: ReturnType<typeof servicesWith>
const events: RetryEvent[] = []

const SERVER = '/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders'
beforeAll(async () => {
  // Tokens live 3 s, so the client renews them for real (the token-expiry test): a client holding a token valid for
  // an hour is never asked for a new one.
  fixture = await startFixture({tokenLifetimeSeconds: 3})
  faultServices = servicesWith({baseDelayMs: 10, onRetry: (e) => events.push(e)})
})
afterAll(async () => {
  await fixture?.stop()
})
beforeEach(() => {
  fixture.emulator.faults.clear()
  fixture.emulator.clearRequestLog()
  events.length = 0
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


describe('metrics data plane throttling', () => {
  it('a throttled metrics batch read answers 529 (the metrics backend\'s documented throttling code) and is retried with backoff', async () => {
    const events: RetryEvent[] = []
    // The throttle is lifted when the client decides to retry the 529, so the retry is served whatever the machine's
    // load (a bucket that refills with time throttles nothing when the reads happen to arrive slowly).
    const services = servicesWith({lowRemaining: -1, baseDelayMs: 10, onRetry: (e) => {
      events.push(e)
      if (e.status === 529) fixture.emulator.faults.clear()
    }})
    const metrics = await services.metrics()
    // One read's worth of budget that never refills: the first read is served, the second is throttled.
    fixture.emulator.faults.set({throttle: {capacity: 1, refillPerSecond: 0}})
    const read = () => metrics.queryResources([SERVER], ['cpu_percent'], 'Microsoft.DBforPostgreSQL/flexibleServers', {startTime: new Date(Date.now() - 600_000), endTime: new Date()})
    for (let i = 0; i < 2; i++) expect((await read())[0]!.resourceId).toBe(SERVER)
    const batches = fixture.emulator.requestLog().filter((e) => e.operation === 'monitor.metrics.getBatch')
    expect(batches.map((e) => e.status)).toEqual([200, 529, 200])
    expect(events.filter((e) => e.status === 529)).toEqual([expect.objectContaining({reason: 'throttled', method: 'POST'})])
  })
})

describe('connection reset', () => {
  it('drops the connection unanswered: a GET is retried, a POST is not re-sent', async () => {
    fixture.emulator.faults.set({resetConnections: {next: 1}})
    const client = await faultServices.postgres()
    expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).name).toBe('pg-shop-orders')
    expect(serverGets().map((e) => e.status)).toEqual([0, 200])
    expect(events.find((e) => e.reason === 'network')).toMatchObject({method: 'GET'})

    fixture.emulator.clearRequestLog()
    fixture.emulator.faults.set({resetConnections: {next: 1}})
    await expect(faultServices.armRequest('POST', `${SERVER}/restart`, {apiVersion: '2025-08-01', body: {}})).rejects.toMatchObject({code: 'ECONNRESET'})
    expect(fixture.emulator.requestLog().filter((e) => e.method === 'POST')).toHaveLength(1)
  })

  it('applies to the methods named only', async () => {
    fixture.emulator.faults.set({resetConnections: {next: 1, methods: ['DELETE']}})
    const client = await faultServices.postgres()
    await client.servers.get('rg-shop-local', 'pg-shop-orders')
    expect(serverGets().map((e) => e.status)).toEqual([200])
    expect(fixture.emulator.faults.current().resetConnections).toEqual({next: 1, methods: ['DELETE']})
  })
})

describe('token expiry', () => {
  it('refuses a request whose token ran out with 401 ExpiredAuthenticationToken and a Bearer challenge; the client gets a fresh token and goes on', async () => {
    const client = await faultServices.postgres()
    await client.servers.get('rg-shop-local', 'pg-shop-orders')
    fixture.emulator.clearRequestLog()
    fixture.emulator.faults.set({expireTokens: {next: 1, lifetimeSeconds: 2}})
    expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).name).toBe('pg-shop-orders')
    const log = fixture.emulator.requestLog()
    const refused = log.findIndex((e) => e.status === 401)
    expect(refused).toBeGreaterThanOrEqual(0)
    // After the refusal: a new token from the identity endpoint, then the same request served.
    expect(log.slice(refused + 1).map((e) => (e.operation === 'identity.token' ? 'token' : e.status))).toEqual(['token', 200])
    expect(events.find((e) => e.reason === 'token-expired')).toMatchObject({status: 401, method: 'GET'})
  })

  it('renews again when the renewed short-lived token expires before the request is answered (issue 16: pg-pitr × token expiry ended in exit 1)', async () => {
    const client = await faultServices.postgres()
    await client.servers.get('rg-shop-local', 'pg-shop-orders')
    fixture.emulator.clearRequestLog()
    // Two refusals in a row for the same request: the fresh token (2 s) meets the fault again.
    fixture.emulator.faults.set({expireTokens: {next: 2, lifetimeSeconds: 2}})
    expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).name).toBe('pg-shop-orders')
    const statuses = fixture.emulator.requestLog().map((e) => (e.operation === 'identity.token' ? 'token' : e.status))
    expect(statuses.filter((s) => s === 401)).toHaveLength(2)
    expect(statuses.at(-1)).toBe(200)
  })

  it('answers an expired token the way ARM does, fault or not', async () => {
    // A token of the emulator's own issuer (it refuses any other before looking at the expiry), 60 s past its exp.
    const now = Math.floor(Date.now() / 1000)
    const tenant = '00000000-0000-0000-0000-000000000000'
    const issuer = {certPem: fixture.emulator.caPem, keyPem: readFileSync(join(dirname(fixture.emulator.caFile), 'key.pem'), 'utf8')}
    const stale = signToken({aud: 'https://management.azure.com', iss: issuerOf(tenant), nbf: now - 3600, exp: now - 60, oid: 'someone', tid: tenant}, issuer)
    const response = await new Promise<{status?: number; challenge?: string; body: string}>((resolve, reject) => {
      const request = https.get(`${fixture.emulator.armEndpoint}${SERVER}?api-version=2025-08-01`, {ca: fixture.emulator.caPem, headers: {authorization: `Bearer ${stale}`}}, (res) => {
        let body = ''
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve({status: res.statusCode, challenge: res.headers['www-authenticate'], body}))
      })
      request.on('error', reject)
    })
    expect(response.status).toBe(401)
    expect(response.challenge).toMatch(/^Bearer authorization_uri="[^"]+", error="invalid_token", error_description="The access token has expired\."$/)
    expect(JSON.parse(response.body).error.code).toBe('ExpiredAuthenticationToken')
  })
})

describe('Blob down', () => {
  it('drops Blob requests until the fault is lifted', async () => {
    const container = (await faultServices.blob('stshopevidence')).getContainerClient('opsbook-evidence')
    fixture.emulator.faults.set({blobDown: true})
    await expect(container.exists({abortSignal: AbortSignal.timeout(2000)})).rejects.toThrow()
    fixture.emulator.faults.set({blobDown: false})
    expect(await container.exists()).toBe(true)
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
    expect(isIdempotent('POST', 'https://management.azure.com/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a/slots/staging/slotsdiffs?api-version=2025-05-01')).toBe(true)
    expect(isIdempotent('PUT', 'https://x/y')).toBe(true)
  })
})
