/**
 * Azure Monitor actions: metric gates (e.g. the 5xx rate and response time of a web app after a swap) through the
 * metrics batch API (@azure/monitor-query-metrics MetricsClient.queryResources), and Log Analytics queries
 * (@azure/monitor-query-logs). Both imported lazily through the run's AzureServices.
 */
import {z} from 'zod'
import type {Metric} from '@azure/monitor-query-metrics'
import type {WebappComponent} from '../catalog/schema.js'
import {ExitCode} from '../errors.js'
import {isDuration, parseDuration} from '../support/duration.js'
import {ActionFailure, toAzureError, type AzureErrorFields} from '../azure/errors.js'
import {azureServices, delay, providerTypes, resolveResource, shellQuote, withRetryLog, type ResolvedResource, type ResourceKind} from './resolve.js'
import {defineAction, type ActionDefinition, type PlanContext} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT5M'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time'})

/** An expression that yields nothing ('' or null) means "not given". */
const optionalDateTime = z.preprocess((v) => (v === '' || v === null ? undefined : v), isoDateTime.optional())

const METRICS_READ = 'Microsoft.Insights/metrics/read'

/**
 * The metrics batch API's own answers (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api,
 * "Troubleshooting"): 401 when the caller lacks Monitoring Reader on the subscription — the batch API is
 * subscription-level, so Monitoring Reader (or Reader) on the resource or its resource group is not enough, and the
 * permissions preflight (which Azure answers per resource group) cannot see it; 403 when the subscription has not
 * registered Microsoft.Insights. An expired or wrong token is 401 too: the hint names both.
 */
export function metricsBatchHint(f: AzureErrorFields): string | undefined {
  if (f.statusCode === 401)
    return 'the metrics batch API needs Monitoring Reader (or Reader) assigned on the whole subscription, not only on the resource or its resource group; if the caller has it, sign in again (`az login`)'
  if (f.statusCode === 403) return 'the subscription may not have the Microsoft.Insights resource provider registered: `az provider register --namespace Microsoft.Insights`'
  return undefined
}
const LOGS_READ = 'Microsoft.OperationalInsights/workspaces/query/read'

/** Metric namespaces are the resources' provider types (Key Vault metrics are not used here). */
const namespaces: Partial<Record<ResourceKind, string>> = {
  webapp: providerTypes.webapp,
  postgres: providerTypes.postgres,
  redis: providerTypes.redis,
  storage: providerTypes.storage,
}

type Aggregation = 'average' | 'minimum' | 'maximum' | 'total' | 'count'

const customMetric = z.strictObject({
  name: z.string().min(1).describe('Metric name, e.g. cpu_percent, Http5xx'),
  aggregation: z.enum(['average', 'minimum', 'maximum', 'total', 'count']).default('average'),
  max: z.number().optional(),
  min: z.number().optional(),
})

const metricsInput = z.strictObject({
  resource: z.string().min(1).describe('Catalog component key, Azure name, or ARM resource id'),
  kind: z.enum(['webapp', 'postgres', 'redis', 'storage']).optional().describe('Resource type; default: the component\'s, else webapp'),
  slot: z.string().optional().describe('Web app slot to measure instead of production'),
  window: isoDuration.default('PT5M').describe('Measure over the last …'),
  after: optionalDateTime.describe('Ignore data before this time (e.g. the swap)'),
  interval: isoDuration.default('PT1M'),
  maxHttp5xxRate: z.number().min(0).max(1).optional().describe('Largest share of 5xx responses; default: the component\'s gates'),
  maxAvgResponseMs: z.number().positive().optional(),
  maxP95ResponseMs: z.number().positive().optional().describe('Default: the component\'s gates'),
  minRequests: z.number().int().min(0).optional().describe('Fail when fewer requests were served (a gate on no traffic proves nothing)'),
  metrics: z.array(customMetric).default([]).describe('Other metrics with thresholds'),
  region: z.string().optional().describe('Region of the metrics endpoint; default: the environment\'s'),
  failOnBreach: z.boolean().default(true),
  requireData: z.boolean().default(false).describe('Fail when the window holds no data point at all (instead of passing with a note)'),
  waitForData: isoDuration.default('PT0S').describe('Re-query until the window holds data, up to this long (metrics arrive minutes late)'),
})
type MetricsInput = z.infer<typeof metricsInput>

const resultSchema = z.strictObject({
  name: z.string(),
  observed: z.number().nullable(),
  threshold: z.string(),
  ok: z.boolean(),
  note: z.string().optional(),
})

function kindOf(environment: PlanContext['environment'], input: MetricsInput): ResourceKind {
  if (input.kind) return input.kind
  const component = environment.components[input.resource]
  const measurable = (type: string | undefined): type is ResourceKind => type === 'postgres' || type === 'redis' || type === 'webapp' || type === 'storage'
  if (measurable(component?.type)) return component.type
  const byName = Object.values(environment.components).find((c) => c.name === input.resource)
  return measurable(byName?.type) ? byName.type : 'webapp'
}

interface Thresholds {
  maxHttp5xxRate?: number
  maxAvgResponseMs?: number
  maxP95ResponseMs?: number
}

function thresholdsOf(resource: ResolvedResource, input: MetricsInput): Thresholds {
  const explicit = input.maxHttp5xxRate !== undefined || input.maxAvgResponseMs !== undefined || input.maxP95ResponseMs !== undefined || input.metrics.length > 0
  const gates = resource.component?.type === 'webapp' ? (resource.component as WebappComponent).gates : undefined
  if (explicit || resource.kind !== 'webapp') return {maxHttp5xxRate: input.maxHttp5xxRate, maxAvgResponseMs: input.maxAvgResponseMs, maxP95ResponseMs: input.maxP95ResponseMs}
  // No thresholds given: the catalog's gates (or the schema defaults for a web app).
  return {maxHttp5xxRate: gates?.maxHttp5xxRate ?? 0.02, maxP95ResponseMs: gates?.maxP95ResponseMs ?? 1500}
}

function metricNamesOf(kind: ResourceKind, thresholds: Thresholds, input: MetricsInput): string[] {
  const names = new Set<string>()
  if (kind === 'webapp') {
    names.add('Requests')
    names.add('Http5xx')
    if (thresholds.maxAvgResponseMs !== undefined || thresholds.maxP95ResponseMs !== undefined) names.add('HttpResponseTime')
  }
  for (const m of input.metrics) names.add(m.name)
  return [...names]
}

function findMetric(metrics: Metric[], name: string, index: number): Metric | undefined {
  const lower = name.toLowerCase()
  return (
    metrics.find((m) => m.id?.split('/').at(-1)?.toLowerCase() === lower) ??
    metrics.find((m) => m.name?.toLowerCase() === lower) ??
    (metrics.length > index ? metrics[index] : undefined)
  )
}

function values(metric: Metric | undefined, aggregation: Aggregation): number[] {
  const out: number[] = []
  for (const series of metric?.timeseries ?? []) for (const point of series.data ?? []) {
    const v = point[aggregation]
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v)
  }
  return out
}

function aggregate(list: number[], aggregation: Aggregation): number | null {
  if (list.length === 0) return null
  switch (aggregation) {
    case 'total':
    case 'count':
      return list.reduce((a, b) => a + b, 0)
    case 'maximum':
      return Math.max(...list)
    case 'minimum':
      return Math.min(...list)
    case 'average':
      return list.reduce((a, b) => a + b, 0) / list.length
  }
}

/** Nearest-rank percentile. */
function percentile(list: number[], p: number): number | null {
  if (list.length === 0) return null
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

function resourceIdFor(resource: ResolvedResource, slot: string | undefined): string {
  return slot && slot !== 'production' && resource.kind === 'webapp' ? `${resource.id}/slots/${slot}` : resource.id
}

const round = (n: number | null, digits = 4) => (n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits)

export const metricsAssertAction = defineAction({
  name: 'monitor.metricsAssert',
  summary: 'Gate on Azure Monitor metrics over a window: 5xx rate, response time, or any metric thresholds',
  description:
    'Web apps: http5xxRate = sum(Http5xx) / sum(Requests); avgResponseMs = mean of HttpResponseTime; p95ResponseMs = 95th percentile of the per-interval HttpResponseTime maxima (platform metrics have no request-level percentiles: use monitor.logsQuery on Application Insights for those). Without thresholds, a web app is held to its catalog gates. Fails the step when a threshold is breached (failOnBreach), so a rollback (e.g. webapp.swapBack) runs.',
  input: metricsInput,
  output: z.strictObject({
    resourceId: z.string(),
    from: z.string(),
    to: z.string(),
    observed: z.record(z.string(), z.number().nullable()),
    results: z.array(resultSchema),
    ok: z.boolean(),
  }),
  changes: false,
  permissions: [METRICS_READ],
  az: (input, plan) => {
    const kind = kindOf(plan.environment, input)
    const resource = resolveResource(plan.environment, kind, input.resource)
    const names = metricNamesOf(kind, thresholdsOf(resource, input), input)
    return [
      `az monitor metrics list --resource ${resourceIdFor(resource, input.slot)} --metrics ${names.join(' ')} --aggregation Total Average Maximum --interval ${input.interval} --offset ${azOffset(input.window)}`,
    ]
  },
  arm: (input, plan) => {
    const kind = kindOf(plan.environment, input)
    const resource = resolveResource(plan.environment, kind, input.resource)
    const names = metricNamesOf(kind, thresholdsOf(resource, input), input)
    return [
      {
        method: 'POST',
        path: `https://${input.region ?? plan.environment.region}.metrics.monitor.azure.com/subscriptions/${resource.subscription}/metrics:getBatch?api-version=2024-02-01&metricnamespace=${namespaces[kind]}${input.slot ? '/slots' : ''}&metricnames=${names.join(',')}`,
        note: `metrics data plane, body {resourceids: [${resourceIdFor(resource, input.slot)}]}`,
      },
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const kind = kindOf(context.environment, input)
    const resource = resolveResource(context.environment, kind, input.resource)
    const resourceId = resourceIdFor(resource, input.slot)
    const namespace = `${namespaces[kind]}${input.slot && input.slot !== 'production' && kind === 'webapp' ? '/slots' : ''}`
    const thresholds = thresholdsOf(resource, input)
    const names = metricNamesOf(kind, thresholds, input)
    const now = context.now()
    const windowStart = now.getTime() - parseDuration(input.window)!
    const from = new Date(input.after ? Math.max(windowStart, Date.parse(input.after)) : windowStart)
    const aggregations = new Set<string>(['total', 'average', 'maximum', ...input.metrics.map((m) => m.aggregation)])

    const query = async (end: Date): Promise<Metric[]> =>
      // A window that has not started yet (e.g. `after` a moment ahead, clocks differ) holds no data: do not ask.
      end <= from ? [] : withRetryLog(context, services, async () => {
        const client = await services.metrics(input.region)
        try {
          // Ctrl-C ends a query Azure Monitor is slow to answer, instead of the process waiting for it after the run.
          // MetricsQueryResourcesOptions does not declare abortSignal, but MetricsClient.queryResources passes its options
          // on to the request (operationOptionsToRequestParameters in @azure/monitor-query-metrics' api/operations.js).
          const options: NonNullable<Parameters<typeof client.queryResources>[3]> & {abortSignal?: AbortSignal} = {
            startTime: from,
            endTime: end,
            interval: input.interval,
            aggregation: [...aggregations].join(','),
            abortSignal: context.signal,
          }
          const results = await client.queryResources([resourceId], names, namespace, options)
          return results[0]?.metrics ?? []
        } catch (error) {
          throw toAzureError(error, {operation: `read metrics of ${resource.name}`, hints: [metricsBatchHint]})
        }
      })
    const hasData = (list: Metric[]) => list.some((m) => m.timeseries?.some((s) => (s.data ?? []).some((p) => [p.total, p.average, p.maximum].some((v) => typeof v === 'number'))))
    let to = now
    let metrics = await query(to)
    const waitMs = parseDuration(input.waitForData)!
    const giveUp = Date.now() + waitMs
    while (!hasData(metrics) && Date.now() < giveUp) {
      context.log(`no metric data since ${from.toISOString()} yet; waiting`)
      await delay(Math.min(Math.max(services.pollIntervalMs, 1000), Math.max(0, giveUp - Date.now())), context.signal)
      to = context.now()
      metrics = await query(to)
    }
    if (!hasData(metrics) && input.requireData)
      throw new ActionFailure(`no metric data for ${resource.name} between ${from.toISOString()} and ${to.toISOString()}`, {code: 'monitor-no-data', retryable: true})

    const observed: Record<string, number | null> = {}
    const results: Array<z.infer<typeof resultSchema>> = []
    const gate = (name: string, value: number | null, threshold: string, ok: (v: number) => boolean) =>
      results.push(value === null ? {name, observed: null, threshold, ok: true, note: 'no data in the window'} : {name, observed: value, threshold, ok: ok(value)})

    if (kind === 'webapp') {
      const requests = aggregate(values(findMetric(metrics, 'Requests', names.indexOf('Requests')), 'total'), 'total')
      const errors = aggregate(values(findMetric(metrics, 'Http5xx', names.indexOf('Http5xx')), 'total'), 'total')
      observed.requests = requests
      observed.http5xx = errors
      observed.http5xxRate = requests ? round((errors ?? 0) / requests) : requests === 0 ? 0 : null
      if (names.includes('HttpResponseTime')) {
        const metric = findMetric(metrics, 'HttpResponseTime', names.indexOf('HttpResponseTime'))
        const averages = values(metric, 'average')
        const maxima = values(metric, 'maximum')
        observed.avgResponseMs = round(aggregate(averages, 'average') === null ? null : aggregate(averages, 'average')! * 1000, 1)
        observed.p95ResponseMs = round(percentile(maxima.length ? maxima : averages, 95) === null ? null : percentile(maxima.length ? maxima : averages, 95)! * 1000, 1)
      }
      if (thresholds.maxHttp5xxRate !== undefined) gate('http5xxRate', observed.http5xxRate ?? null, `<= ${thresholds.maxHttp5xxRate}`, (v) => v <= thresholds.maxHttp5xxRate!)
      if (thresholds.maxAvgResponseMs !== undefined) gate('avgResponseMs', observed.avgResponseMs ?? null, `<= ${thresholds.maxAvgResponseMs}`, (v) => v <= thresholds.maxAvgResponseMs!)
      if (thresholds.maxP95ResponseMs !== undefined) gate('p95ResponseMs', observed.p95ResponseMs ?? null, `<= ${thresholds.maxP95ResponseMs}`, (v) => v <= thresholds.maxP95ResponseMs!)
      if (input.minRequests !== undefined) gate('requests', requests ?? 0, `>= ${input.minRequests}`, (v) => v >= input.minRequests!)
    }
    for (const custom of input.metrics) {
      const value = aggregate(values(findMetric(metrics, custom.name, names.indexOf(custom.name)), custom.aggregation), custom.aggregation)
      const key = `${custom.name}.${custom.aggregation}`
      observed[key] = round(value)
      const bounds = [custom.min !== undefined ? `>= ${custom.min}` : '', custom.max !== undefined ? `<= ${custom.max}` : ''].filter(Boolean).join(' and ') || 'reported'
      gate(key, round(value), bounds, (v) => (custom.min === undefined || v >= custom.min) && (custom.max === undefined || v <= custom.max))
    }

    for (const r of results) context.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} = ${r.observed ?? 'no data'} (${r.threshold})`)
    const breached = results.filter((r) => !r.ok)
    const out = {resourceId, from: from.toISOString(), to: to.toISOString(), observed, results, ok: breached.length === 0}
    if (breached.length > 0 && input.failOnBreach)
      throw new ActionFailure(
        `${resource.name}${input.slot ? `/${input.slot}` : ''} breached its metric gate since ${from.toISOString()}: ${breached.map((r) => `${r.name} ${r.observed} (allowed ${r.threshold})`).join('; ')}`,
        {code: 'monitor-gate-breached', details: out},
      )
    return out
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// logsQuery

function workspaceOf(environment: PlanContext['environment'], reference: string): string {
  const component = environment.components[reference]
  if (component?.type === 'webapp') {
    if (!component.insights)
      throw new ActionFailure(`component ${reference} has no insights workspace in the catalog`, {code: 'no-workspace', exitCode: ExitCode.invalidInput})
    return component.insights
  }
  return reference
}

export const logsQueryAction = defineAction({
  name: 'monitor.logsQuery',
  summary: 'Run a KQL query against a Log Analytics workspace and check the row count',
  input: z.strictObject({
    workspace: z.string().min(1).describe('Workspace id (GUID), or a web app component key with `insights`'),
    query: z.string().min(1).describe('KQL'),
    timespan: isoDuration.default('PT1H').describe('Look back this far'),
    minRows: z.number().int().min(0).optional(),
    maxRows: z.number().int().min(0).optional(),
    keepRows: z.number().int().min(0).max(1000).default(100).describe('Rows kept in the outputs'),
  }),
  output: z.strictObject({
    workspace: z.string(),
    status: z.string(),
    rowCount: z.number(),
    columns: z.array(z.string()),
    rows: z.array(z.array(z.unknown())),
  }),
  changes: false,
  permissions: [LOGS_READ],
  az: (input, plan) => [
    `az monitor log-analytics query --workspace ${safeWorkspace(plan, input.workspace)} --analytics-query ${shellQuote(input.query)} --timespan ${input.timespan}`,
  ],
  arm: (input, plan) => [
    {method: 'POST', path: `https://api.loganalytics.io/v1/workspaces/${safeWorkspace(plan, input.workspace)}/query`, note: 'Log Analytics data plane'},
  ],
  async run(input, context) {
    const services = azureServices(context)
    const workspace = workspaceOf(context.environment, input.workspace)
    const result = await withRetryLog(context, services, async () => {
      const client = await services.logs()
      try {
        return await client.queryWorkspace(workspace, input.query, {duration: input.timespan}, {abortSignal: context.signal})
      } catch (error) {
        throw toAzureError(error, {operation: `query workspace ${workspace}`})
      }
    })
    const tables = result.status === 'Success' ? result.tables : result.partialTables
    if (result.status !== 'Success') context.log(`partial result: ${result.partialError?.message ?? 'unknown error'}`)
    const table = tables[0]
    const rows = (table?.rows ?? []).map((row) => row.map((cell) => (cell instanceof Date ? cell.toISOString() : cell)))
    context.log(`${rows.length} row(s)`)
    if (input.minRows !== undefined && rows.length < input.minRows)
      throw new ActionFailure(`the query returned ${rows.length} row(s), expected at least ${input.minRows}`, {code: 'logs-too-few-rows'})
    if (input.maxRows !== undefined && rows.length > input.maxRows)
      throw new ActionFailure(`the query returned ${rows.length} row(s), expected at most ${input.maxRows}`, {code: 'logs-too-many-rows'})
    return {
      workspace,
      status: result.status,
      rowCount: rows.length,
      columns: (table?.columnDescriptors ?? []).map((c) => c.name ?? ''),
      rows: rows.slice(0, input.keepRows),
    }
  },
})

function safeWorkspace(plan: PlanContext, reference: string): string {
  try {
    return workspaceOf(plan.environment, reference)
  } catch {
    return `<${reference} workspace>`
  }
}

export const monitorActions: ActionDefinition[] = [metricsAssertAction, logsQueryAction]

/** az's `--offset` takes `1d2h15m` forms; an ISO 8601 duration crashes az 2.45 (see shared notes on az offline). */
function azOffset(iso: string): string {
  const ms = parseDuration(iso)
  if (ms === undefined) return iso
  const minutes = Math.max(1, Math.round(ms / 60_000))
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  return `${d ? `${d}d` : ''}${h ? `${h}h` : ''}${m ? `${m}m` : ''}`
}
