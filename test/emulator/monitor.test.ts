import {request as httpsRequest} from 'node:https'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {WebSiteManagementClient} from '@azure/arm-appservice'
import type {MonitorClient} from '@azure/arm-monitor'
import type {MetricsClient} from '@azure/monitor-query-metrics'
import type {LogsQueryClient} from '@azure/monitor-query-logs'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {bearerFor, credentialFor} from './helpers.js'

const RG = 'rg-shop-local'
const SITE = 'app-shop-storefront'

// The emulator's clock, moved by the test so "the minutes after the swap" have already happened.
const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const SWAP_AT = T0 + 30 * 60_000
let now = T0
const minutes = (n: number) => n * 60_000

let emulator: RunningEmulator
let web: WebSiteManagementClient
let arm: MonitorClient
let metrics: MetricsClient
let logs: LogsQueryClient
let siteId: string

async function adminPost(path: string, body: unknown): Promise<number> {
  const authorization = await bearerFor(emulator)
  return new Promise((resolve, reject) => {
    const request = httpsRequest(`${emulator.armEndpoint}${path}`, {method: 'POST', ca: emulator.caPem, agent: false, headers: {...authorization, 'content-type': 'application/json'}}, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', reject)
    request.end(JSON.stringify(body))
  })
}

beforeAll(async () => {
  emulator = await startEmulator({lroDurationMs: 0, clock: () => new Date(now)})
  siteId = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}`
  const tls = {tlsOptions: {ca: emulator.caPem}, retryOptions: {maxRetries: 0}}
  const [{WebSiteManagementClient}, {MonitorClient}, {MetricsClient}, {LogsQueryClient}] = await Promise.all([
    import('@azure/arm-appservice'),
    import('@azure/arm-monitor'),
    import('@azure/monitor-query-metrics'),
    import('@azure/monitor-query-logs'),
  ])
  web = new WebSiteManagementClient(credentialFor(emulator), emulator.subscription, {endpoint: emulator.armEndpoint, ...tls})
  arm = new MonitorClient(credentialFor(emulator), emulator.subscription, {endpoint: emulator.armEndpoint, ...tls})
  metrics = new MetricsClient(emulator.armEndpoint, credentialFor(emulator), tls)
  logs = new LogsQueryClient(credentialFor(emulator), {endpoint: emulator.armEndpoint, ...tls})

  // A healthy production build, an unhealthy one in staging, swapped in at SWAP_AT; then half an hour passes.
  expect(await adminPost(`/_emulator/webapps/${SITE}/slots/production/deploy`, {version: 'v1', healthy: true})).toBe(200)
  expect(await adminPost(`/_emulator/webapps/${SITE}/slots/staging/deploy`, {version: 'v2-bad', healthy: false})).toBe(200)
  now = SWAP_AT
  await web.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 20})
  now = SWAP_AT + minutes(30)
})

afterAll(async () => {
  await emulator?.stop()
})

function sum(values: Array<number | undefined>): number {
  return values.reduce<number>((a, b) => a + (b ?? 0), 0)
}

describe('Monitor metrics through @azure/arm-monitor (ARM)', () => {
  it('shows Http5xx and response time rising after an unhealthy build is swapped into production', async () => {
    const response = await arm.metrics.list(siteId, {
      timespan: `${new Date(T0).toISOString()}/${new Date(now).toISOString()}`,
      interval: 'PT5M',
      metricnames: 'Http5xx,HttpResponseTime,Requests',
      aggregation: 'Total,Average',
    })
    expect(response.value.map((m) => m.name.value)).toEqual(['Http5xx', 'HttpResponseTime', 'Requests'])
    const [errors, latency, requests] = response.value.map((m) => m.timeseries![0]!.data!)
    expect(errors).toHaveLength(12)
    const before = (d: {timeStamp: Date}) => d.timeStamp.getTime() < SWAP_AT
    const after = (d: {timeStamp: Date}) => d.timeStamp.getTime() >= SWAP_AT
    const errorsBefore = sum(errors!.filter(before).map((d) => d.total))
    const errorsAfter = sum(errors!.filter(after).map((d) => d.total))
    const requestsAfter = sum(requests!.filter(after).map((d) => d.total))
    expect(errorsAfter).toBeGreaterThan(10 * Math.max(1, errorsBefore))
    // The gate a runbook would apply (maxHttp5xxRate 0.02) fails after the swap.
    expect(errorsAfter / requestsAfter).toBeGreaterThan(0.02)
    const avg = (xs: Array<{average?: number}>) => sum(xs.map((d) => d.average)) / xs.length
    expect(avg(latency!.filter(after))).toBeGreaterThan(5 * avg(latency!.filter(before)))
    expect(response.timespan).toBe(`${new Date(T0).toISOString()}/${new Date(now).toISOString()}`)
  })

  it('is deterministic: the same query gives the same series', async () => {
    const query = {timespan: `${new Date(T0).toISOString()}/${new Date(now).toISOString()}`, interval: 'PT5M', metricnames: 'Requests', aggregation: 'Total'}
    const a = await arm.metrics.list(siteId, query)
    const b = await arm.metrics.list(siteId, query)
    expect(a.value[0]!.timeseries).toEqual(b.value[0]!.timeseries)
  })

  it('answers an unknown metric name with the error Azure gives', async () => {
    const error = await arm.metrics.list(siteId, {metricnames: 'NoSuchMetric'}).then(
      () => undefined,
      (e: {statusCode?: number; code?: string; message?: string}) => e,
    )
    expect(error).toMatchObject({statusCode: 400, code: 'BadRequest'})
    expect(error?.message).toMatch(/Failed to find metric configuration for provider: Microsoft\.Web, resource Type: sites, metric: NoSuchMetric, Valid metrics: .*Http5xx/)
  })
})

describe('Storage account metrics through @azure/arm-monitor (ARM)', () => {
  const accountId = () => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/stshopevidence`

  it('lists the account namespace and its metric definitions as Azure does (category, aggregations, grains, dimensions)', async () => {
    const namespaces = []
    for await (const ns of arm.metricNamespaces.list(accountId())) namespaces.push(ns)
    expect(namespaces.map((ns) => ns.properties?.metricNamespaceName)).toEqual(['microsoft.storage/storageaccounts'])
    const definitions = []
    for await (const d of arm.metricDefinitions.list(accountId(), {metricnamespace: 'microsoft.storage/storageaccounts'})) definitions.push(d)
    const byName = Object.fromEntries(definitions.map((d) => [d.name!.value, d]))
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['UsedCapacity', 'Transactions', 'Ingress', 'Egress', 'Availability']))
    expect(byName.UsedCapacity).toMatchObject({category: 'Capacity', unit: 'Bytes', primaryAggregationType: 'Average', supportedAggregationTypes: ['Average'], metricAvailabilities: [{timeGrain: 'PT1H'}]})
    expect(byName.Transactions?.dimensions?.map((d) => d.value)).toEqual(['ResponseType', 'GeoType', 'ApiName', 'Authentication'])
  })

  it('serves Transactions over the last hour, and no series at all for a window still to come', async () => {
    const response = await arm.metrics.list(accountId(), {timespan: `${new Date(now - minutes(60)).toISOString()}/${new Date(now).toISOString()}`, interval: 'PT5M', metricnames: 'Transactions,UsedCapacity'})
    expect(response.namespace).toBe('Microsoft.Storage/storageAccounts')
    const [transactions, capacity] = response.value
    expect(transactions!.timeseries![0]!.data!.filter((d) => (d.total ?? 0) > 0)).toHaveLength(12)
    expect(capacity!.timeseries![0]!.data!.every((d) => (d.average ?? 0) > 1e9)).toBe(true)
    const future = await arm.metrics.list(accountId(), {timespan: `${new Date(now + minutes(60)).toISOString()}/${new Date(now + minutes(120)).toISOString()}`, metricnames: 'Transactions'})
    expect(future.value[0]!.timeseries).toEqual([])
  })

  it('cuts a window longer than a month to the month before its end, and refuses the namespace of another type', async () => {
    const response = await arm.metrics.list(accountId(), {timespan: '2018-01-01T00:00:00Z/2031-09-10T00:00:00Z', metricnames: 'Ingress'})
    expect(response.timespan).toBe('2031-08-10T00:00:00.000Z/2031-09-10T00:00:00.000Z')
    const error = await arm.metrics.list(accountId(), {metricnames: 'Ingress', metricnamespace: 'Microsoft.Web/sites'}).then(
      () => undefined,
      (e: {statusCode?: number}) => e,
    )
    expect(error).toMatchObject({statusCode: 400})
    expect((error as {message?: string}).message).toMatch(/invalid value: Microsoft\.Web\/sites for query parameter: 'metricnamespace', the value must be: Microsoft\.Storage\/storageAccounts/)
  })
})

describe('Monitor metrics through @azure/monitor-query-metrics (metrics:getBatch)', () => {
  it('queries a batch of resources and honours interval and aggregation', async () => {
    const slotId = `${siteId}/slots/staging`
    const results = await metrics.queryResources([siteId], ['Http5xx', 'Requests'], 'Microsoft.Web/sites', {
      startTime: new Date(SWAP_AT - minutes(30)),
      endTime: new Date(now),
      interval: 'PT15M',
      aggregation: 'Total,Maximum',
    })
    expect(results).toHaveLength(1)
    expect(results[0]!.resourceId).toBe(siteId)
    const errors = results[0]!.metrics.find((m) => m.name === 'Http Server Errors')!
    const points = errors.timeseries[0]!.data!
    expect(points).toHaveLength(4)
    expect(points[0]).toHaveProperty('maximum')
    expect(points[0]).not.toHaveProperty('average', expect.anything())
    expect(points[3]!.total!).toBeGreaterThan(points[0]!.total!)
    // Slots are their own metric namespace, as in Azure.
    const slot = await metrics.queryResources([slotId], ['Requests'], 'Microsoft.Web/sites/slots', {startTime: new Date(now - minutes(10)), endTime: new Date(now)})
    expect(slot[0]!.metrics[0]!.timeseries[0]!.data!.length).toBe(10)
  })

  it('serves PostgreSQL and Redis series', async () => {
    const pg = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders`
    const [server] = await metrics.queryResources([pg], ['cpu_percent', 'active_connections'], 'Microsoft.DBforPostgreSQL/flexibleServers', {
      startTime: new Date(now - minutes(30)),
      endTime: new Date(now),
      interval: 'PT5M',
    })
    const cpu = server!.metrics.find((m) => m.name === 'CPU percent')!.timeseries[0]!.data!
    expect(cpu.every((d) => d.average! > 0 && d.average! < 100)).toBe(true)
    const redis = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Cache/redis/redis-shop-sessions`
    const [cache] = await metrics.queryResources([redis], ['cachehits', 'cachemisses'], 'Microsoft.Cache/redis', {startTime: new Date(now - minutes(5)), endTime: new Date(now)})
    const hits = sum(cache!.metrics[0]!.timeseries[0]!.data!.map((d) => d.total))
    const misses = sum(cache!.metrics[1]!.timeseries[0]!.data!.map((d) => d.total))
    expect(hits).toBeGreaterThan(misses)
  })

  it("answers a refused batch with the error code in x-ms-error-code too (metricBatch.json 2024-02-01 `default`)", async () => {
    // A site queried under the Redis namespace: all resources of a batch must be of its metricnamespace.
    const error = await metrics.queryResources([siteId], ['Requests'], 'Microsoft.Cache/redis', {startTime: new Date(now - minutes(5)), endTime: new Date(now)}).then(
      () => undefined,
      (e: {statusCode?: number; code?: string; response?: {headers: {get(name: string): string | undefined}}}) => e,
    )
    expect([error?.statusCode, error?.response?.headers.get('x-ms-error-code')]).toEqual([400, 'BadRequest'])
  })
})

describe('Log Analytics through @azure/monitor-query-logs', () => {
  it('returns recent activity events (the swap) for a table query with where and take', async () => {
    const result = await logs.queryWorkspace('ws-shop', 'AzureActivity | where TimeGenerated > ago(1h) | where Kind == "webapp.swap" | take 5', {duration: 'PT2H'})
    expect(result.status).toBe('Success')
    const table = (result as {tables: Array<{name: string; columnDescriptors: Array<{name?: string}>; rows: unknown[][]}>}).tables[0]!
    expect(table.name).toBe('PrimaryResult')
    const columns = table.columnDescriptors.map((c) => c.name)
    expect(table.rows).toHaveLength(1)
    const row = Object.fromEntries(columns.map((c, i) => [c, table.rows[0]![i]]))
    expect(row.OperationNameValue).toBe('MICROSOFT.WEB/SITES/SLOTSSWAP/ACTION')
    expect(row.TimeGenerated).toEqual(new Date(SWAP_AT))
    expect(row.Properties).toMatchObject({sourceSlot: 'staging', production: {version: 'v2-bad', healthy: false}})
  })

  it("answers the query API's own example (`Usage | take 10`) with the Usage table's columns and no rows: nothing is metered", async () => {
    const result = await logs.queryWorkspace('ws-shop', 'Usage | take 10', {duration: 'PT12H'})
    expect(result.status).toBe('Success')
    const table = (result as {tables: Array<{columnDescriptors: Array<{name?: string; type?: string}>; rows: unknown[][]}>}).tables[0]!
    // The columns and types of the example's answer (OperationalInsights.json v1, examples/oms-post-example.json).
    expect(table.columnDescriptors.slice(0, 3)).toEqual([{name: 'TenantId', type: 'string'}, {name: 'Computer', type: 'string'}, {name: 'TimeGenerated', type: 'datetime'}])
    expect(table.columnDescriptors.map((c) => c.name)).toContain('IsBillable')
    expect(table.columnDescriptors).toHaveLength(21)
    expect(table.rows).toEqual([])
  })

  it('rejects a query outside the supported subset with a clear error', async () => {
    await expect(logs.queryWorkspace('ws-shop', 'AzureActivity | summarize count() by Kind', {duration: 'PT1H'})).rejects.toMatchObject({statusCode: 400})
  })
})
