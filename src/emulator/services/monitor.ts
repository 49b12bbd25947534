/**
 * Azure Monitor: metrics through the data-plane batch API (`POST /subscriptions/{sub}/metrics:getBatch`,
 * api-version 2024-02-01, @azure/monitor-query-metrics) and the ARM API (`GET {resourceUri}/providers/
 * Microsoft.Insights/metrics`, api-version 2018-01-01, @azure/arm-monitor 7), and a Log Analytics query endpoint
 * (`POST /workspaces/{id}/query` and `/v1/workspaces/{id}/query`, @azure/monitor-query-logs).
 *
 * Metric series are synthetic but deterministic (a hash of resource id, metric and minute) and reflect what
 * happened: a web app's minutes are shaped by what it served then (webappStateAt: after an unhealthy build is
 * swapped into production, Http5xx and response time rise from the swap on), and PostgreSQL / Redis show load
 * around the events of the activity log (restores, promotions, imports, exports); storage accounts have the steady
 * account-level metrics of a quiet account (Transactions, UsedCapacity, Ingress, Egress, latencies, Availability). The
 * minute in progress has a partial point (sampled as of now); later minutes have no data, and a window that starts
 * after now has no series. Metric namespaces (`…/providers/microsoft.insights/metricNamespaces`, 2017-12-01-preview)
 * list the one platform namespace of each resource type with metrics.
 *
 * Logs: table `AzureActivity` (one row per activity-log event: swaps, restores, exports, …) read with the KQL
 * subset of kql.ts (e.g. `AzureActivity | where TimeGenerated > ago(1h) | take 10`).
 */
import {createHash} from 'node:crypto'
import type {EmulatorContext} from '../context.js'
import {KqlError, runKql, type Row} from '../kql.js'
import {parseDuration, toIsoDuration} from '../../support/duration.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {metricsBatchRefusal} from './authorization.js'
import {allArmResources} from './resource-graph.js'
import {syncSlotFaults, webappStateAt} from './webapp.js'
import {ARM_WRITE_KIND} from './activity-log.js'

type Aggregation = 'average' | 'minimum' | 'maximum' | 'total' | 'count'

interface MetricDefinition {
  name: string
  displayName: string
  unit: 'Count' | 'Percent' | 'Seconds' | 'MilliSeconds' | 'Bytes'
  primary: Aggregation
  description: string
  /** The value of one minute. */
  sample(minute: MinuteContext): number
  /** Metric Definitions - List `category` (Capacity, Transaction…), where Azure answers one. */
  category?: string
  /** `supportedAggregationTypes`, where Azure restricts them (default: all five). */
  aggregations?: Aggregation[]
  /** `metricAvailabilities` time grains (default PT1M to P1D). */
  timeGrains?: string[]
  /** `dimensions` as {value, localizedValue}, where the metric has any. */
  dimensions?: Array<{value: string; localizedValue: string}>
}

interface MinuteContext {
  ctx: EmulatorContext
  resourceId: string
  /** Start of the minute (ms since epoch). */
  t: number
  /** Deterministic noise in [0, 1) for this resource, metric and minute. */
  noise: number
}

function noiseOf(resourceId: string, metric: string, minute: number): number {
  const h = createHash('sha256').update(`${resourceId.toLowerCase()}|${metric.toLowerCase()}|${minute}`).digest()
  return h.readUInt32BE(0) / 0x1_0000_0000
}

function between(low: number, high: number, noise: number): number {
  return low + (high - low) * noise
}

// ── web apps ─────────────────────────────────────────────────────────────────────────────────────────────────

function webMinute(m: MinuteContext): {requests: number; healthy: boolean} {
  const state = webappStateAt(m.ctx, m.resourceId, new Date(m.t + 30_000))
  const production = !state || state.slot === 'production'
  // Production takes the traffic; a staging slot only sees smoke tests and warm-up probes.
  const base = production ? 120 : 6
  const requests = Math.round(base * between(0.85, 1.15, noiseOf(m.resourceId, 'requests', m.t / 60_000)))
  return {requests, healthy: state?.healthy ?? true}
}

function http5xx(m: MinuteContext): number {
  const {requests, healthy} = webMinute(m)
  return healthy ? (m.noise < 0.85 ? 0 : 1) : Math.round(requests * between(0.3, 0.45, m.noise))
}

const WEB_METRICS: MetricDefinition[] = [
  {name: 'Requests', displayName: 'Requests', unit: 'Count', primary: 'total', description: 'The total number of requests regardless of their resulting HTTP status code.', sample: (m) => webMinute(m).requests},
  {name: 'Http5xx', displayName: 'Http Server Errors', unit: 'Count', primary: 'total', description: 'The count of requests resulting in an HTTP status code >= 500 but < 600.', sample: http5xx},
  {
    name: 'Http4xx',
    displayName: 'Http 4xx',
    unit: 'Count',
    primary: 'total',
    description: 'The count of requests resulting in an HTTP status code >= 400 but < 500.',
    sample: (m) => Math.round(webMinute(m).requests * between(0, 0.02, m.noise)),
  },
  {
    name: 'Http2xx',
    displayName: 'Http 2xx',
    unit: 'Count',
    primary: 'total',
    description: 'The count of requests resulting in an HTTP status code >= 200 but < 300.',
    sample: (m) => Math.max(0, webMinute(m).requests - http5xx({...m, noise: noiseOf(m.resourceId, 'Http5xx', m.t / 60_000)})),
  },
  {
    name: 'HttpResponseTime',
    displayName: 'Response Time',
    unit: 'Seconds',
    primary: 'average',
    description: 'The time taken for the app to serve requests, in seconds.',
    sample: (m) => (webMinute(m).healthy ? between(0.08, 0.18, m.noise) : between(1.6, 3.2, m.noise)),
  },
  {
    name: 'AverageResponseTime',
    displayName: 'Average Response Time (deprecated)',
    unit: 'MilliSeconds',
    primary: 'average',
    description: 'The average time taken for the app to serve requests, in milliseconds.',
    sample: (m) => Math.round((webMinute(m).healthy ? between(0.08, 0.18, m.noise) : between(1.6, 3.2, m.noise)) * 1000),
  },
  {
    name: 'CpuPercentage',
    displayName: 'CPU Percentage',
    unit: 'Percent',
    primary: 'average',
    description: 'The average CPU used across all instances of the plan.',
    sample: (m) => (webMinute(m).healthy ? between(18, 32, m.noise) : between(62, 88, m.noise)),
  },
  {
    name: 'MemoryPercentage',
    displayName: 'Memory Percentage',
    unit: 'Percent',
    primary: 'average',
    description: 'The average memory used across all instances of the plan.',
    sample: (m) => (webMinute(m).healthy ? between(38, 52, m.noise) : between(70, 86, m.noise)),
  },
  {name: 'CpuTime', displayName: 'CPU Time', unit: 'Seconds', primary: 'total', description: 'The amount of CPU consumed by the app, in seconds.', sample: (m) => between(2, 6, m.noise) * (webMinute(m).healthy ? 1 : 3)},
  {name: 'HealthCheckStatus', displayName: 'Health check status', unit: 'Count', primary: 'average', description: 'Health check status (100 = all instances healthy).', sample: (m) => (webMinute(m).healthy ? 100 : 0)},
]

// ── PostgreSQL and Redis: steady load, busier around activity-log events ──────────────────────────────────────

/** 1 in the ten minutes after an event on the resource (restore, promote, import, export, restart…), else 0. */
function busy(m: MinuteContext): number {
  const since = new Date(m.t - 10 * 60_000)
  const until = new Date(m.t + 60_000)
  // Resource events only: the ARM writes the Activity Log records (services/activity-log.ts) are requests, not load.
  return m.ctx.activity.list({resourceId: m.resourceId, since, until}).some((e) => e.kind !== ARM_WRITE_KIND) ? 1 : 0
}

const POSTGRES_METRICS: MetricDefinition[] = [
  {name: 'cpu_percent', displayName: 'CPU percent', unit: 'Percent', primary: 'average', description: 'Percent of CPU in use.', sample: (m) => between(12, 28, m.noise) + busy(m) * 40},
  {name: 'memory_percent', displayName: 'Memory percent', unit: 'Percent', primary: 'average', description: 'Percent of memory in use.', sample: (m) => between(30, 45, m.noise) + busy(m) * 15},
  {name: 'active_connections', displayName: 'Active Connections', unit: 'Count', primary: 'average', description: 'Number of active connections to the server.', sample: (m) => Math.round(between(18, 42, m.noise) * (busy(m) ? 0.4 : 1))},
  {name: 'storage_percent', displayName: 'Storage percent', unit: 'Percent', primary: 'average', description: 'Percent of storage space used.', sample: (m) => between(22, 23, m.noise)},
  {name: 'connections_failed', displayName: 'Failed Connections', unit: 'Count', primary: 'total', description: 'Failed connections.', sample: (m) => (busy(m) ? Math.round(between(2, 9, m.noise)) : 0)},
]

const REDIS_METRICS: MetricDefinition[] = [
  {name: 'cachehits', displayName: 'Cache Hits', unit: 'Count', primary: 'total', description: 'The number of successful key lookups.', sample: (m) => Math.round(between(900, 1100, m.noise) * (busy(m) ? 0.6 : 1))},
  {name: 'cachemisses', displayName: 'Cache Misses', unit: 'Count', primary: 'total', description: 'The number of failed key lookups.', sample: (m) => Math.round(between(20, 50, m.noise) * (busy(m) ? 8 : 1))},
  {name: 'connectedclients', displayName: 'Connected Clients', unit: 'Count', primary: 'maximum', description: 'The number of client connections to the cache.', sample: (m) => Math.round(between(14, 26, m.noise))},
  {name: 'usedmemorypercentage', displayName: 'Used Memory Percentage', unit: 'Percent', primary: 'maximum', description: 'The percentage of cache memory used for key/value pairs.', sample: (m) => between(22, 34, m.noise)},
  {name: 'serverLoad', displayName: 'Server Load', unit: 'Percent', primary: 'maximum', description: 'The percentage of cycles in which the Redis server is busy.', sample: (m) => between(8, 20, m.noise) + busy(m) * 35},
]

// ── storage accounts ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * The account-level metrics of Microsoft.Storage/storageAccounts as Azure defines them: names, units, categories,
 * aggregations, time grains and dimensions from the supported-metrics reference
 * (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-storage-storageaccounts-metrics),
 * descriptions and display names as Metric Definitions - List answered them to `az monitor metrics list-definitions`
 * (Azure/azure-cli monitor recording test_monitor_metrics_scenario.yaml, replayed in test/contract/recordings.test.ts).
 * The values are a quiet account's: a few transactions a minute, a steady used capacity.
 */
const STORAGE_DIMENSIONS = [
  {value: 'GeoType', localizedValue: 'Geo type'},
  {value: 'ApiName', localizedValue: 'API name'},
  {value: 'Authentication', localizedValue: 'Authentication'},
]
const STORAGE_METRICS: MetricDefinition[] = [
  {
    name: 'UsedCapacity',
    displayName: 'Used capacity',
    unit: 'Bytes',
    primary: 'average',
    category: 'Capacity',
    aggregations: ['average'],
    timeGrains: ['PT1H'],
    description:
      "The amount of storage used by the storage account. For standard storage accounts, it's the sum of capacity used by blob, table, file, and queue. For premium storage accounts and Blob storage accounts, it is the same as BlobCapacity or FileCapacity.",
    sample: (m) => Math.round(between(5.10e9, 5.12e9, m.noise)),
  },
  {
    name: 'Transactions',
    displayName: 'Transactions',
    unit: 'Count',
    primary: 'total',
    category: 'Transaction',
    aggregations: ['total'],
    dimensions: [{value: 'ResponseType', localizedValue: 'Response type'}, ...STORAGE_DIMENSIONS],
    description:
      'The number of requests made to a storage service or the specified API operation. This number includes successful and failed requests, as well as requests which produced errors. Use ResponseType dimension for the number of different type of response.',
    sample: (m) => Math.round(between(20, 40, m.noise)),
  },
  {
    name: 'Ingress',
    displayName: 'Ingress',
    unit: 'Bytes',
    primary: 'total',
    category: 'Transaction',
    aggregations: ['total', 'average', 'minimum', 'maximum'],
    dimensions: STORAGE_DIMENSIONS,
    description: 'The amount of ingress data, in bytes. This number includes ingress from an external client into Azure Storage as well as ingress within Azure.',
    sample: (m) => Math.round(between(40_000, 90_000, m.noise)),
  },
  {
    name: 'Egress',
    displayName: 'Egress',
    unit: 'Bytes',
    primary: 'total',
    category: 'Transaction',
    aggregations: ['total', 'average', 'minimum', 'maximum'],
    dimensions: STORAGE_DIMENSIONS,
    description:
      'The amount of egress data. This number includes egress to external client from Azure Storage as well as egress within Azure. As a result, this number does not reflect billable egress.',
    sample: (m) => Math.round(between(60_000, 150_000, m.noise)),
  },
  {
    name: 'SuccessServerLatency',
    displayName: 'Success Server Latency',
    unit: 'MilliSeconds',
    primary: 'average',
    category: 'Transaction',
    aggregations: ['average', 'minimum', 'maximum'],
    dimensions: STORAGE_DIMENSIONS,
    description: 'The average time used to process a successful request by Azure Storage. This value does not include the network latency specified in SuccessE2ELatency.',
    sample: (m) => between(3, 9, m.noise),
  },
  {
    name: 'SuccessE2ELatency',
    displayName: 'Success E2E Latency',
    unit: 'MilliSeconds',
    primary: 'average',
    category: 'Transaction',
    aggregations: ['average', 'minimum', 'maximum'],
    dimensions: STORAGE_DIMENSIONS,
    description:
      'The average end-to-end latency of successful requests made to a storage service or the specified API operation, in milliseconds. This value includes the required processing time within Azure Storage to read the request, send the response, and receive acknowledgment of the response.',
    sample: (m) => between(8, 24, m.noise),
  },
  {
    name: 'Availability',
    displayName: 'Availability',
    unit: 'Percent',
    primary: 'average',
    category: 'Transaction',
    aggregations: ['average', 'minimum', 'maximum'],
    dimensions: STORAGE_DIMENSIONS,
    description:
      'The percentage of availability for the storage service or the specified API operation. Availability is calculated by taking the TotalBillableRequests value and dividing it by the number of applicable requests, including those that produced unexpected errors. All unexpected errors result in reduced availability for the storage service or the specified API operation.',
    sample: () => 100,
  },
]

/** Metric definitions by lower-case resource type. */
const METRICS: Record<string, MetricDefinition[]> = {
  'microsoft.web/sites': WEB_METRICS,
  'microsoft.web/sites/slots': WEB_METRICS,
  'microsoft.dbforpostgresql/flexibleservers': POSTGRES_METRICS,
  'microsoft.cache/redis': REDIS_METRICS,
  'microsoft.storage/storageaccounts': STORAGE_METRICS,
}

// ── query evaluation ─────────────────────────────────────────────────────────────────────────────────────────

/** `Microsoft.Web/sites` (namespace form) and `microsoft.web/sites` of a resource id, or undefined. */
function typeOfResource(resourceId: string): {namespace: string; provider: string; resourceType: string} | undefined {
  const m = /\/providers\/([^/]+)\/([^/]+)\/[^/]+(?:\/([^/]+)\/[^/]+)?\/?$/i.exec(resourceId)
  if (!m) return undefined
  const resourceType = m[3] ? `${m[2]}/${m[3]}` : m[2]!
  return {namespace: `${m[1]}/${resourceType}`, provider: m[1]!, resourceType}
}

interface MetricsQuery {
  start: number
  end: number
  intervalMs: number
  names: string[] | undefined
  aggregations: Aggregation[] | undefined
}

class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
  }
}

const AGGREGATIONS: Aggregation[] = ['average', 'minimum', 'maximum', 'total', 'count']

function parseAggregations(text: string | null): Aggregation[] | undefined {
  if (!text) return undefined
  return text.split(',').map((a) => {
    const lower = a.trim().toLowerCase() as Aggregation
    if (!AGGREGATIONS.includes(lower)) throw new QueryError('BadRequest', `Invalid aggregation '${a}'. Valid aggregations: Average, Minimum, Maximum, Total, Count.`)
    return lower
  })
}

function parseInterval(text: string | null): number {
  if (!text) return 60_000
  if (text.toUpperCase() === 'FULL') return Number.POSITIVE_INFINITY
  const ms = parseDuration(text)
  if (!ms || ms < 60_000) throw new QueryError('BadRequest', `Invalid interval '${text}'. Supported intervals are PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D and FULL.`)
  return ms
}

/** `start/end`, `start/duration`, `duration/end` or a duration ending now. */
function parseTimespan(given: string | null, now: number): {start: number; end: number} {
  if (!given) return {start: now - 3_600_000, end: now}
  // az 2.45 percent-encodes the timespan twice (`…T05%253A00…`): one decode is left after the query's own, as the
  // metrics service accepts it (see ../shared/notes/az-offline.md).
  const text = /%[0-9a-f]{2}/i.test(given) ? safeDecode(given) : given
  const [a, b] = text.split('/')
  const time = (s: string) => Date.parse(s)
  let start: number
  let end: number
  if (b === undefined) {
    const d = parseDuration(a!)
    if (d === undefined) throw new QueryError('BadRequest', `Invalid timespan '${text}'.`)
    ;[start, end] = [now - d, now]
  } else if (!Number.isNaN(time(a!)) && !Number.isNaN(time(b))) [start, end] = [time(a!), time(b)]
  else if (!Number.isNaN(time(a!)) && parseDuration(b) !== undefined) [start, end] = [time(a!), time(a!) + parseDuration(b)!]
  else if (parseDuration(a!) !== undefined && !Number.isNaN(time(b))) [start, end] = [time(b) - parseDuration(a!)!, time(b)]
  else throw new QueryError('BadRequest', `Invalid timespan '${text}': expected <start>/<end> in ISO 8601.`)
  if (!(end > start)) throw new QueryError('BadRequest', `Invalid timespan '${text}': the end must be after the start.`)
  return {start, end}
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Cap on points per series, so a month at PT1M cannot stall the emulator. */
const MAX_POINTS = 1440
const MINUTE = 60_000

function evaluateMetric(ctx: EmulatorContext, resourceId: string, definition: MetricDefinition, query: MetricsQuery): Array<Record<string, unknown>> {
  const now = ctx.clock().getTime()
  const start = Math.floor(query.start / MINUTE) * MINUTE
  const interval = Number.isFinite(query.intervalMs) ? query.intervalMs : Math.max(MINUTE, Math.ceil((query.end - start) / MINUTE) * MINUTE)
  const aggregations = query.aggregations ?? [definition.primary]
  const points: Array<Record<string, unknown>> = []
  for (let bucket = start; bucket < query.end && points.length < MAX_POINTS; bucket += interval) {
    const point: Record<string, unknown> = {timeStamp: new Date(bucket).toISOString()}
    const samples: number[] = []
    // Whole minutes that have passed; sample at most 60 of them per bucket (evenly spread) to bound the cost.
    const minutes = Math.max(1, Math.round(interval / MINUTE))
    const step = Math.max(1, Math.ceil(minutes / 60))
    for (let i = 0; i < minutes; i += step) {
      const t = bucket + i * MINUTE
      if (t > now || t >= query.end) break
      // The minute in progress reports a partial value, as Azure's newest point does: sampled as of now.
      const at = t + MINUTE > now ? now : t
      samples.push(definition.sample({ctx, resourceId, t: at, noise: noiseOf(resourceId, definition.name, t / MINUTE)}))
    }
    if (samples.length > 0) {
      const scale = step // totals of sampled buckets stand for the skipped minutes too
      const sum = samples.reduce((a, b) => a + b, 0)
      const values: Record<Aggregation, number> = {
        average: round(sum / samples.length),
        minimum: round(Math.min(...samples)),
        maximum: round(Math.max(...samples)),
        total: round(sum * scale),
        count: samples.length * scale,
      }
      for (const a of aggregations) point[a] = values[a]
    }
    points.push(point)
  }
  return points
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}

function metricsFor(ctx: EmulatorContext, resourceId: string, query: MetricsQuery): Array<Record<string, unknown>> {
  // A window that starts after now has no data: Azure answers each metric with no time series at all
  // (`"timeseries": []` for the future windows of test_monitor_metrics_scenario.yaml).
  const future = query.start > ctx.clock().getTime()
  const type = typeOfResource(resourceId)
  const definitions = type ? METRICS[type.namespace.toLowerCase()] : undefined
  if (!type || !definitions)
    throw new QueryError('ResourceNotSupported', `The resource type of '${resourceId}' has no metrics in the opsbook emulator (supported: Microsoft.Web/sites, Microsoft.Web/sites/slots, Microsoft.DBforPostgreSQL/flexibleServers, Microsoft.Cache/redis, Microsoft.Storage/storageAccounts).`)
  const names = query.names ?? [definitions[0]!.name]
  return names.map((name) => {
    const definition = definitions.find((d) => d.name.toLowerCase() === name.toLowerCase())
    if (!definition)
      throw new QueryError(
        'BadRequest',
        `Failed to find metric configuration for provider: ${type.provider}, resource Type: ${type.resourceType}, metric: ${name}, Valid metrics: ${definitions.map((d) => d.name).join(',')}`,
      )
    return {
      id: `${resourceId}/providers/Microsoft.Insights/metrics/${definition.name}`,
      type: 'Microsoft.Insights/metrics',
      name: {value: definition.name, localizedValue: definition.displayName},
      displayDescription: definition.description,
      unit: definition.unit,
      errorCode: 'Success',
      timeseries: future ? [] : [{metadatavalues: [], data: evaluateMetric(ctx, resourceId, definition, query)}],
    }
  })
}

/** 404 when the resource is not one the emulator holds (web apps always checked; others when their type is known). */
function checkExists(ctx: EmulatorContext, resourceId: string): void {
  const id = resourceId.toLowerCase()
  const type = typeOfResource(resourceId)?.namespace.toLowerCase()
  const known = allArmResources(ctx).filter((r) => String(r.type).toLowerCase() === type)
  const isWeb = type?.startsWith('microsoft.web/') ?? false
  if ((isWeb || known.length > 0) && !known.some((r) => String(r.id).toLowerCase() === id))
    throw new QueryError('ResourceNotFound', `The Resource '${resourceId}' was not found.`, 404)
}

function region(ctx: EmulatorContext, resourceId: string): string {
  const resource = allArmResources(ctx).find((r) => String(r.id).toLowerCase() === resourceId.toLowerCase())
  return String(resource?.location ?? ctx.environment.region).toLowerCase().replace(/\s+/g, '')
}

function intervalText(ms: number): string {
  return Number.isFinite(ms) ? toIsoDuration(ms) : 'FULL'
}

/**
 * The window Metrics - List answers for: at most the calendar month before its end. Azure cut each of the recorded
 * windows (2018-01-01/2999-01-01, 2018-01-01/2031-09-10, 2011-04-25/2025-01-01) to the month ending with it
 * (2998-12-01/2999-01-01, 2031-08-10/2031-09-10, 2024-12-01/2025-01-01) and echoed the cut window as `timespan`
 * (Azure/azure-cli monitor recording test_monitor_metrics_scenario.yaml, replayed in test/contract/recordings.test.ts).
 */
function lastMonthOf(span: {start: number; end: number}): {start: number; end: number} {
  const monthBefore = new Date(span.end)
  monthBefore.setUTCMonth(monthBefore.getUTCMonth() - 1)
  return {start: Math.max(span.start, monthBefore.getTime()), end: span.end}
}

/**
 * The `metricnamespace` a metrics query names, checked against the resource's type, as Azure echoes it (the recorded
 * answer to `metricnamespace=microsoft.storage/storageaccounts` says `"namespace": "microsoft.storage/storageaccounts"`,
 * the one without it `Microsoft.Storage/storageAccounts`); without one, the resource type's.
 */
function metricNamespace(resourceId: string, given: string | null): string {
  const type = typeOfResource(resourceId)
  if (!type) throw new QueryError('ResourceNotSupported', `'${resourceId}' is not a resource id.`)
  if (!given) return type.namespace
  // Azure's answer to a namespace of another type, as quoted in hashicorp/terraform-provider-azurerm#2470.
  if (given.toLowerCase() !== type.namespace.toLowerCase())
    throw new QueryError(
      'BadRequest',
      `Detect invalid value: ${given} for query parameter: 'metricnamespace', the value must be: ${type.namespace} if the query parameter is provided, you can also skip this optional query parameter.`,
    )
  return given
}

/** ARM `GET {resourceUri}/providers/Microsoft.Insights/metrics` (arm-monitor 7 metrics.list). */
function armMetrics(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const resourceId = request.path.replace(/\/providers\/Microsoft\.Insights\/metrics$/i, '')
  try {
    syncSlotFaults(ctx)
    checkExists(ctx, resourceId)
    const now = ctx.clock().getTime()
    const span = lastMonthOf(parseTimespan(request.query.get('timespan'), now))
    const namespace = metricNamespace(resourceId, request.query.get('metricnamespace'))
    const query: MetricsQuery = {
      ...span,
      intervalMs: parseInterval(request.query.get('interval')),
      names: request.query.get('metricnames')?.split(',').map((s) => s.trim()).filter(Boolean),
      aggregations: parseAggregations(request.query.get('aggregation')),
    }
    const value = metricsFor(ctx, resourceId, query)
    return {
      status: 200,
      body: {
        cost: 0,
        timespan: `${new Date(span.start).toISOString()}/${new Date(span.end).toISOString()}`,
        interval: intervalText(query.intervalMs),
        namespace,
        resourceregion: region(ctx, resourceId),
        value,
      },
    }
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    // The metrics API answers with a bare {code, message} (its ErrorResponse), not the usual {error:{…}} envelope.
    return {status: error.status, body: {code: error.code, message: error.message}}
  }
}

/**
 * ARM `GET {resourceUri}/providers/Microsoft.Insights/metricDefinitions` (Metric Definitions - List,
 * monitor/resource-manager/Microsoft.Insights/stable/2018-01-01/metricDefinitions_API.json): what
 * `az monitor metrics list-definitions` and the portal read before asking for metrics.
 */
function armMetricDefinitions(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const resourceId = request.path.replace(/\/providers\/Microsoft\.Insights\/metricDefinitions$/i, '')
  try {
    syncSlotFaults(ctx)
    checkExists(ctx, resourceId)
    const type = typeOfResource(resourceId)
    const namespace = metricNamespace(resourceId, request.query.get('metricnamespace'))
    const definitions = METRICS[type?.namespace.toLowerCase() ?? ''] ?? []
    const capitalized = (a: Aggregation) => `${a.charAt(0).toUpperCase()}${a.slice(1)}`
    // Properties in the order Azure answers them (test_monitor_metrics_scenario.yaml).
    const value = definitions.map((d) => ({
      id: `${resourceId}/providers/microsoft.insights/metricdefinitions/${d.name}`,
      resourceId,
      namespace,
      ...(d.category ? {category: d.category} : {}),
      name: {value: d.name, localizedValue: d.displayName},
      displayDescription: d.description,
      isDimensionRequired: false,
      unit: d.unit,
      primaryAggregationType: capitalized(d.primary),
      supportedAggregationTypes: (d.aggregations ?? AGGREGATIONS).map(capitalized),
      metricAvailabilities: (d.timeGrains ?? ['PT1M', 'PT5M', 'PT15M', 'PT30M', 'PT1H', 'PT6H', 'PT12H', 'P1D']).map((timeGrain) => ({timeGrain, retention: 'P93D'})),
      ...(d.dimensions ? {dimensions: d.dimensions} : {}),
    }))
    return {status: 200, body: {value}}
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    return {status: error.status, body: {code: error.code, message: error.message}}
  }
}

/**
 * ARM `GET {resourceUri}/providers/microsoft.insights/metricNamespaces` (Metric Namespaces - List,
 * monitor/resource-manager/Microsoft.Insights/preview/2017-12-01-preview/metricNamespaces_API.json): the platform
 * namespace of a resource type with metrics, as `az monitor metrics list-namespaces` reads it. Azure's answer also has
 * `classification: Platform`, which that document does not define, so it is left out (only spec properties are returned).
 */
function armMetricNamespaces(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const resourceId = request.path.replace(/\/providers\/microsoft\.insights\/metricNamespaces$/i, '')
  try {
    checkExists(ctx, resourceId)
    const type = typeOfResource(resourceId)
    const namespace = type?.namespace.toLowerCase() ?? ''
    const value = METRICS[namespace]
      ? [
          {
            id: `${resourceId}/providers/microsoft.insights/metricNamespaces/${namespace.replace(/\//g, '-')}`,
            name: namespace.replace(/\//g, '-'),
            type: 'Microsoft.Insights/metricNamespaces',
            properties: {metricNamespaceName: namespace},
          },
        ]
      : []
    return {status: 200, body: {value}}
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    return {status: error.status, body: {code: error.code, message: error.message}}
  }
}

/**
 * The metrics batch API's error answers carry their code in an `x-ms-error-code` header too: metricBatch.json
 * (Azure/azure-rest-api-specs specification/monitor/data-plane/Microsoft.Insights/stable/2024-02-01 and 2023-10-01,
 * main line d9a3b783) defines it on the `default` response ("Error code for specific error that occurred."), and its
 * examples MetricBatchExample.json / MetricBatchExample2.json (blob ed0aeede…) answer `"x-ms-error-code": "BadRequest"`
 * beside `{"error": {…, "code": "BadRequest", …}}`.
 */
export function withBatchErrorCode(response: EmulatorResponse): EmulatorResponse {
  const code = (response.body as {error?: {code?: unknown}} | undefined)?.error?.code
  return response.status >= 400 && typeof code === 'string' ? {...response, headers: {...(response.headers ?? {}), 'x-ms-error-code': code}} : response
}

/** Data plane `POST /subscriptions/{sub}/metrics:getBatch` (MetricsClient.queryResources). */
function batchMetrics(ctx: EmulatorContext, request: EmulatorRequest, subscription: string): EmulatorResponse {
  return withBatchErrorCode(batchMetricsAnswer(ctx, request, subscription))
}

function batchMetricsAnswer(ctx: EmulatorContext, request: EmulatorRequest, subscription: string): EmulatorResponse {
  try {
    syncSlotFaults(ctx)
    if (subscription.toLowerCase() !== ctx.subscription.toLowerCase()) throw new QueryError('SubscriptionNotFound', `The subscription '${subscription}' could not be found.`, 404)
    const refused = metricsBatchRefusal(ctx, request)
    if (refused) return refused
    const ids = request.body?.resourceids
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string'))
      throw new QueryError('BadRequest', "The request body must be {\"resourceids\": [\"<resource id>\", …]} with at least one id.")
    if (ids.length > 50) throw new QueryError('BadRequest', 'At most 50 resource ids can be queried in one batch.')
    const namespace = request.query.get('metricnamespace')
    if (!namespace) throw new QueryError('BadRequest', "The query parameter 'metricnamespace' is required.")
    const names = request.query.get('metricnames')?.split(',').map((s) => s.trim()).filter(Boolean)
    if (!names || names.length === 0) throw new QueryError('BadRequest', "The query parameter 'metricnames' is required.")
    const now = ctx.clock().getTime()
    const startText = request.query.get('starttime')
    const endText = request.query.get('endtime')
    const span = startText || endText ? parseTimespan(`${startText ?? new Date(now - 3_600_000).toISOString()}/${endText ?? new Date(now).toISOString()}`, now) : parseTimespan(null, now)
    const query: MetricsQuery = {...span, intervalMs: parseInterval(request.query.get('interval')), names, aggregations: parseAggregations(request.query.get('aggregation'))}
    const values = (ids as string[]).map((id) => {
      const type = typeOfResource(id)
      if (!type || type.namespace.toLowerCase() !== namespace.toLowerCase())
        throw new QueryError('BadRequest', `Resource '${id}' is not of the metric namespace '${namespace}'; all resources of a batch must share it.`)
      if (!id.toLowerCase().startsWith(`/subscriptions/${subscription.toLowerCase()}/`)) throw new QueryError('BadRequest', `Resource '${id}' is not in subscription '${subscription}'.`)
      checkExists(ctx, id)
      return {
        starttime: new Date(span.start).toISOString(),
        endtime: new Date(span.end).toISOString(),
        interval: intervalText(query.intervalMs),
        namespace: type.namespace,
        resourceregion: region(ctx, id),
        resourceid: id,
        value: metricsFor(ctx, id, query),
      }
    })
    return {status: 200, body: {values}}
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    return armError(error.status, error.code, error.message)
  }
}

// ── logs ─────────────────────────────────────────────────────────────────────────────────────────────────────

const ACTIVITY_COLUMNS: Array<{name: string; type: string}> = [
  {name: 'TimeGenerated', type: 'datetime'},
  {name: 'OperationNameValue', type: 'string'},
  {name: 'ActivityStatusValue', type: 'string'},
  {name: 'Category', type: 'string'},
  {name: 'Kind', type: 'string'},
  {name: 'ResourceId', type: 'string'},
  {name: '_ResourceId', type: 'string'},
  {name: 'ResourceGroup', type: 'string'},
  {name: 'ResourceProviderValue', type: 'string'},
  {name: 'SubscriptionId', type: 'string'},
  {name: 'Caller', type: 'string'},
  {name: 'Properties', type: 'dynamic'},
]

/**
 * The `Usage` table every Log Analytics workspace has (hourly data volume per data type): its columns and types as
 * Azure answers `Usage | take 10` in the query API's own example (OperationalInsights.json v1,
 * examples/oms-post-example.json, vendored in test/fixtures/azure-specs; the columns of
 * https://learn.microsoft.com/azure/azure-monitor/reference/tables/usage). The emulator meters no ingestion, so the
 * table has no rows: a query of it answers its columns and an empty result, as a workspace without billed data would.
 */
const USAGE_COLUMNS: Array<{name: string; type: string}> = [
  {name: 'TenantId', type: 'string'},
  {name: 'Computer', type: 'string'},
  {name: 'TimeGenerated', type: 'datetime'},
  {name: 'SourceSystem', type: 'string'},
  {name: 'StartTime', type: 'datetime'},
  {name: 'EndTime', type: 'datetime'},
  {name: 'ResourceUri', type: 'string'},
  {name: 'LinkedResourceUri', type: 'string'},
  {name: 'DataType', type: 'string'},
  {name: 'Solution', type: 'string'},
  {name: 'BatchesWithinSla', type: 'long'},
  {name: 'BatchesOutsideSla', type: 'long'},
  {name: 'BatchesCapped', type: 'long'},
  {name: 'TotalBatches', type: 'long'},
  {name: 'AvgLatencyInSeconds', type: 'real'},
  {name: 'Quantity', type: 'real'},
  {name: 'QuantityUnit', type: 'string'},
  {name: 'IsBillable', type: 'bool'},
  {name: 'MeterId', type: 'string'},
  {name: 'LinkedMeterId', type: 'string'},
  {name: 'Type', type: 'string'},
]

const OPERATION_NAMES: Record<string, string> = {
  'webapp.swap': 'MICROSOFT.WEB/SITES/SLOTSSWAP/ACTION',
  'webapp.swap.prepared': 'MICROSOFT.WEB/SITES/APPLYSLOTCONFIG/ACTION',
  'webapp.swap.reset': 'MICROSOFT.WEB/SITES/RESETSLOTCONFIG/ACTION',
  'webapp.deploy': 'MICROSOFT.WEB/SITES/SLOTS/DEPLOYMENTS/WRITE',
  'postgres.restore': 'MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/WRITE',
  'postgres.promote': 'MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/WRITE',
  'redis.export': 'MICROSOFT.CACHE/REDIS/EXPORT/ACTION',
  'redis.import': 'MICROSOFT.CACHE/REDIS/IMPORT/ACTION',
}

function activityRows(ctx: EmulatorContext): Row[] {
  // The semantic events, as before the ARM writes were recorded beside them (those are served by ActivityLogs_List).
  return ctx.activity.list().filter((entry) => entry.kind !== ARM_WRITE_KIND).map((entry) => {
    const provider = /\/providers\/([^/]+)\//i.exec(entry.resourceId)?.[1] ?? ''
    const type = typeOfResource(entry.resourceId)
    const operation = OPERATION_NAMES[entry.kind] ?? `${type?.namespace ?? provider}/${entry.kind.split('.').slice(1).join('/') || entry.kind}/ACTION`.toUpperCase()
    return {
      TimeGenerated: new Date(entry.at),
      OperationNameValue: operation,
      ActivityStatusValue: 'Success',
      Category: 'Administrative',
      Kind: entry.kind,
      ResourceId: entry.resourceId,
      _ResourceId: entry.resourceId.toLowerCase(),
      ResourceGroup: /\/resourceGroups\/([^/]+)/i.exec(entry.resourceId)?.[1]?.toUpperCase() ?? '',
      ResourceProviderValue: provider.toUpperCase(),
      SubscriptionId: ctx.subscription,
      Caller: 'opsbook-emulator',
      Properties: {kind: entry.kind, ...entry.data},
    }
  })
}

function logsError(status: number, message: string, inner?: {code: string; message: string}): EmulatorResponse {
  return {status, body: {error: {message, code: status === 400 ? 'BadArgumentError' : 'PathNotFoundError', ...(inner ? {innererror: inner} : {})}}}
}

/** Log Analytics `POST /workspaces/{id}/query` (LogsQueryClient.queryWorkspace). */
function logsQuery(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const body = request.body
  if (!body || typeof body.query !== 'string' || !body.query.trim()) return logsError(400, "The request had some invalid properties: 'query' is required.")
  const now = ctx.clock().getTime()
  let span: {start: number; end: number} | undefined
  try {
    span = typeof body.timespan === 'string' && body.timespan ? parseTimespan(body.timespan, now) : undefined
  } catch (error) {
    return logsError(400, `The request had some invalid properties: ${(error as Error).message}`)
  }
  let rows = activityRows(ctx)
  if (span) rows = rows.filter((r) => (r.TimeGenerated as Date).getTime() >= span.start && (r.TimeGenerated as Date).getTime() <= span.end)
  let result
  try {
    result = runKql(body.query, {AzureActivity: {columns: ACTIVITY_COLUMNS.map((c) => c.name), rows}, Usage: {columns: USAGE_COLUMNS.map((c) => c.name), rows: []}}, new Date(now))
  } catch (error) {
    if (error instanceof KqlError) return logsError(400, 'The request had some invalid properties', {code: 'SyntaxError', message: `${error.message}. The opsbook emulator supports a small KQL subset over the AzureActivity and Usage tables.`})
    throw error
  }
  const typeOf = (name: string) =>
    ACTIVITY_COLUMNS.find((c) => c.name === name)?.type ??
    USAGE_COLUMNS.find((c) => c.name === name)?.type ??
    (() => {
      const v = result.rows.find((r) => r[name] !== null && r[name] !== undefined)?.[name]
      return v instanceof Date ? 'datetime' : typeof v === 'number' ? 'real' : typeof v === 'boolean' ? 'bool' : typeof v === 'object' ? 'dynamic' : 'string'
    })()
  const columns = result.columns.map((name) => ({name, type: typeOf(name)}))
  return {
    status: 200,
    body: {
      tables: [
        {
          name: 'PrimaryResult',
          columns,
          rows: result.rows.map((r) =>
            columns.map((c) => {
              const v = r[c.name]
              if (v instanceof Date) return v.toISOString()
              if (c.type === 'dynamic' && v !== null && typeof v === 'object') return JSON.stringify(v)
              return v ?? null
            }),
          ),
        },
      ],
    },
  }
}

/** Monitor routes: ARM metrics, data-plane batch metrics and Log Analytics queries. */
export function routes(ctx: EmulatorContext): Route[] {
  const arm = (request: EmulatorRequest) => armMetrics(ctx, request)
  // The resource URI is a variable number of segments; register the shapes opsbook's resources have.
  const scoped = [
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}',
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/{childType}/{child}',
  ]
  return [
    ...scoped.map((p) => ({method: 'GET' as const, pattern: `${p}/providers/Microsoft.Insights/metrics`, operation: 'monitor.metrics.list', handler: arm})),
    ...scoped.map((p) => ({method: 'GET' as const, pattern: `${p}/providers/Microsoft.Insights/metricDefinitions`, operation: 'monitor.metricDefinitions.list', handler: (request: EmulatorRequest) => armMetricDefinitions(ctx, request)})),
    ...scoped.map((p) => ({method: 'GET' as const, pattern: `${p}/providers/Microsoft.Insights/metricNamespaces`, operation: 'monitor.metricNamespaces.list', handler: (request: EmulatorRequest) => armMetricNamespaces(ctx, request)})),
    {method: 'POST', pattern: '/subscriptions/{sub}/metrics:getBatch', operation: 'monitor.metrics.getBatch', handler: (request, p) => batchMetrics(ctx, request, p.sub!)},
    {method: 'POST', pattern: '/workspaces/{workspace}/query', operation: 'monitor.logs.query', handler: (request) => logsQuery(ctx, request)},
    {method: 'POST', pattern: '/v1/workspaces/{workspace}/query', operation: 'monitor.logs.query', handler: (request) => logsQuery(ctx, request)},
  ]
}
