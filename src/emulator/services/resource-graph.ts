/**
 * Azure Resource Graph (`POST /providers/Microsoft.ResourceGraph/resources`, api-version 2021-03-01 as
 * @azure/arm-resourcegraph 4.2.1 sends it): the KQL subset opsbook sends (see kql.ts), over every resource the
 * emulator holds, in ARG's shape (lower-case `type`, `location` as a region name, `properties` as ARM returns them).
 *
 * Tables: `resources` (tracked resources and web app slots), `resourcecontainers` (the
 * subscription and its resource groups), `appserviceresources` (config/web of sites and slots) and
 * `securityresources` (`Microsoft.Security/*` resources, if any service holds some).
 *
 * Where rows come from: the core services' state (web apps, PostgreSQL servers, Redis caches — see BUILT_IN),
 * inventories registered with `registerResourceInventory` (storage accounts and key vaults by arm-misc.ts, Cosmos DB,
 * Front Door, …), then, for any other slice, every ARM-shaped object (string `id` under `/subscriptions/…/providers/…`,
 * `type`, `name`) found in the emulator's state slices. Paging: `$skipToken` and `$top` (page size 1000 as in Azure,
 * a smaller `$top` is the page size), `resultFormat` `objectArray` (default) or `table`.
 */
import {randomUUID} from 'node:crypto'
import {resourceGroups} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import {KqlError, runKql, type KqlTable, type Row} from '../kql.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {fleetCopies, managementGroupSubscriptions, servedSubscriptions} from '../fleet.js'
import {postgresState} from './postgres.js'
import {redisState} from './redis.js'
import {appServicePlans, webappConfigResources, webappResources} from './webapp.js'

/** A function listing ARM resources as their GET returns them. */
export type ResourceInventory = () => Array<Record<string, any>>

const inventories = new WeakMap<EmulatorContext, Map<string, ResourceInventory>>()

/**
 * Register a service's resources for Resource Graph (and any other "list everything" consumer). Resources a
 * registered inventory returns take precedence over the same id found by scanning the state.
 */
export function registerResourceInventory(ctx: EmulatorContext, name: string, list: ResourceInventory): void {
  let map = inventories.get(ctx)
  if (!map) inventories.set(ctx, (map = new Map()))
  map.set(name, list)
}

const ARM_ID = /^\/subscriptions\/[^/]+\/(?:resourceGroups\/[^/]+\/)?providers\/.+/i
/** Child types ARG lists in `resources` (most child resources are not in ARG). */
// SQL databases are listed too ("Azure Resource Graph table and resource type reference": resources holds
// microsoft.sql/servers/databases).
const ARG_CHILD_TYPES = new Set(['microsoft.web/sites/slots', 'microsoft.sql/servers/databases'])
/** State slices that hold no ARM resources of their own, or whose resources BUILT_IN or a registered inventory lists. */
const SKIPPED_SLICES = new Set(['activity', 'webapps', 'resourceGroups', 'postgres', 'redis', 'arm'])

/** The core services' resources, read through their state accessors (which seed the slice on first use). */
const BUILT_IN: Record<string, (ctx: EmulatorContext) => Array<Record<string, any>>> = {
  // Sites, slots and the App Service plans they run on (Microsoft.Web/serverfarms is in ARG's resources table).
  webapps: (ctx) => [...webappResources(ctx), ...appServicePlans(ctx)],
  // Dropped servers (kept for ReviveDropped) are gone from ARM, so they are not listed.
  postgres: (ctx) => Object.values(postgresState(ctx).servers).map((s) => s.resource),
  redis: (ctx) => Object.values(redisState(ctx).caches).map((c) => c.resource),
}

/**
 * Every ARM resource the emulator holds, as its GET returns it: registered inventories first, then ARM-shaped
 * objects found in the state (without descending into them, so nested child objects are not listed twice).
 */
export function allArmResources(ctx: EmulatorContext): Array<Record<string, any>> {
  const byId = new Map<string, Record<string, any>>()
  const lists: ResourceInventory[] = [...Object.values(BUILT_IN).map((list) => () => list(ctx)), ...(inventories.get(ctx)?.values() ?? [])]
  for (const list of lists) for (const resource of list()) byId.set(String(resource.id).toLowerCase(), resource)
  const snapshot = (ctx.store as {snapshot?: () => Record<string, unknown>}).snapshot?.() ?? {}
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return
    if (Array.isArray(value)) return value.forEach(visit)
    const o = value as Record<string, unknown>
    if (typeof o.id === 'string' && typeof o.type === 'string' && typeof o.name === 'string' && ARM_ID.test(o.id) && o.type.includes('/')) {
      if (!byId.has(o.id.toLowerCase())) byId.set(o.id.toLowerCase(), o)
      return
    }
    Object.values(o).forEach(visit)
  }
  for (const [name, slice] of Object.entries(snapshot)) if (!SKIPPED_SLICES.has(name)) visit(slice)
  return [...byId.values()]
}

const COLUMNS = ['id', 'name', 'type', 'tenantId', 'kind', 'location', 'resourceGroup', 'subscriptionId', 'managedBy', 'sku', 'plan', 'properties', 'tags', 'identity', 'zones', 'extendedLocation']

function regionName(location: unknown): string {
  return typeof location === 'string' ? location.toLowerCase().replace(/\s+/g, '') : ''
}

function argRow(ctx: EmulatorContext, resource: Record<string, any>): Row {
  const id = String(resource.id)
  const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? ctx.subscription
  const resourceGroup = /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? ''
  return {
    id,
    name: resource.name,
    type: String(resource.type).toLowerCase(),
    tenantId: ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000',
    kind: resource.kind ?? '',
    location: regionName(resource.location),
    resourceGroup,
    subscriptionId,
    managedBy: resource.managedBy ?? '',
    sku: resource.sku ?? null,
    plan: resource.plan ?? null,
    properties: resource.properties ?? {},
    tags: resource.tags ?? {},
    identity: resource.identity ?? null,
    zones: resource.zones ?? null,
    extendedLocation: resource.extendedLocation ?? null,
  }
}

/** The tables a query can read, built from the emulator's current state. */
export function resourceGraphTables(ctx: EmulatorContext): Record<string, KqlTable> {
  const resources: Row[] = []
  const security: Row[] = []
  for (const resource of allArmResources(ctx)) {
    const type = String(resource.type).toLowerCase()
    if (type.startsWith('microsoft.security/')) security.push(argRow(ctx, resource))
    else if (type.split('/').length === 2 || ARG_CHILD_TYPES.has(type)) resources.push(argRow(ctx, resource))
  }
  const containers: Row[] = [
    argRow(ctx, {
      id: `/subscriptions/${ctx.subscription}`,
      name: `opsbook-${ctx.environmentName}`,
      type: 'microsoft.resources/subscriptions',
      properties: {state: 'Enabled', subscriptionPolicies: {locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off'}},
    }),
    ...Object.values(resourceGroups(ctx)).map((rg) =>
      argRow(ctx, {
        id: `/subscriptions/${ctx.subscription}/resourceGroups/${rg.name}`,
        name: rg.name,
        type: 'microsoft.resources/subscriptions/resourcegroups',
        location: rg.location,
        tags: rg.tags,
        properties: {provisioningState: 'Succeeded'},
      }),
    ),
  ]
  return {
    resources: {columns: COLUMNS, rows: resources},
    resourcecontainers: {columns: COLUMNS, rows: containers},
    appserviceresources: {columns: COLUMNS, rows: webappConfigResources(ctx).map((r) => argRow(ctx, r))},
    securityresources: {columns: COLUMNS, rows: security},
  }
}

/** Azure's maximum (and default) page size. */
const MAX_PAGE = 1000
/**
 * Most subscriptions one query may name: "the REST API for Azure Resource Graph accepts a maximum number of
 * subscriptions"; batch "to stay under the 1,000 subscription limit"
 * (learn.microsoft.com/azure/governance/resource-graph/troubleshoot/general, "Too many subscriptions").
 */
export const MAX_QUERY_SUBSCRIPTIONS = 1000
/**
 * The per-user query quota: "a user can send at most 15 queries within every 5-second window without being
 * throttled", reported in every response as `x-ms-user-quota-remaining` (queries) and `x-ms-user-quota-resets-after`
 * (hh:mm:ss) (learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests).
 */
export const USER_QUOTA = {queries: 15, windowMs: 5000}

interface QuotaWindow {
  startedAt: number
  used: number
  quota: {queries: number; windowMs: number}
}
const quotaWindows = new WeakMap<EmulatorContext, QuotaWindow>()

/** Take one query from the caller's quota window; the headers say what is left and when it resets. */
function takeQuota(ctx: EmulatorContext): {allowed: boolean; headers: Record<string, string>} {
  const quota = ctx.faults.current().graphQuota ?? USER_QUOTA
  const now = Date.now()
  let window = quotaWindows.get(ctx)
  if (!window || now - window.startedAt >= quota.windowMs || window.quota.queries !== quota.queries || window.quota.windowMs !== quota.windowMs) quotaWindows.set(ctx, (window = {startedAt: now, used: 0, quota}))
  const allowed = window.used < quota.queries
  if (allowed) window.used++
  const resetsInMs = Math.max(0, window.startedAt + quota.windowMs - now)
  const seconds = Math.ceil(resetsInMs / 1000)
  const hhmmss = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((n) => String(n).padStart(2, '0')).join(':')
  const headers: Record<string, string> = {'x-ms-user-quota-remaining': String(quota.queries - window.used), 'x-ms-user-quota-resets-after': hhmmss}
  // A throttled query also carries ARM's Retry-After (request-limits-and-throttling), so SDK retry policies wait too.
  if (!allowed) headers['Retry-After'] = String(Math.max(1, seconds))
  return {allowed, headers}
}

/**
 * Rows as the fleet copies (fleet.ts) serve them: the environment's rows with ids, the subscription id and any id
 * inside `properties` naming the copy. Each row's properties are serialised once, not once per copy.
 */
function copyRows(rows: Row[], home: string, copies: string[]): Row[] {
  if (copies.length === 0) return []
  const prefix = new RegExp(`(/subscriptions/)${home.replace(/[^0-9a-z-]/gi, '')}`, 'gi')
  const prepared = rows.map((row) => {
    const text = JSON.stringify(row.properties ?? {})
    return {row, text: text.toLowerCase().includes(`/subscriptions/${home}`) ? text : undefined}
  })
  return copies.flatMap((copy) =>
    prepared.map(({row, text}) => ({
      ...row,
      id: String(row.id).replace(prefix, `$1${copy}`),
      subscriptionId: copy,
      properties: text === undefined ? row.properties : JSON.parse(text.replace(prefix, `$1${copy}`)),
    })),
  )
}

/** The subscriptions a query covers: those it names, those under the management groups it names, else all served. */
function querySubscriptions(ctx: EmulatorContext, body: Record<string, unknown>): {subscriptions: string[]} | {error: EmulatorResponse} {
  const named = Array.isArray(body.subscriptions) ? (body.subscriptions as unknown[]).map((s) => String(s).toLowerCase()) : undefined
  if (named && named.length > MAX_QUERY_SUBSCRIPTIONS)
    return {
      error: armError(400, 'BadRequest', `The query names ${named.length} subscriptions; at most ${MAX_QUERY_SUBSCRIPTIONS} are allowed per request.`, {
        details: [{code: 'TooManySubscriptions', message: `Batch the query over subsets of at most ${MAX_QUERY_SUBSCRIPTIONS} subscriptions.`}],
      }),
    }
  const groups = Array.isArray(body.managementGroups) ? (body.managementGroups as unknown[]).map(String) : undefined
  let fromGroups: string[] = []
  if (groups) {
    const resolved = managementGroupSubscriptions(ctx, groups)
    if ('unknown' in resolved)
      return {error: armError(400, 'BadRequest', `Management group '${resolved.unknown}' could not be found or the caller has no access to it.`, {details: [{code: 'InvalidManagementGroup', message: resolved.unknown}]})}
    fromGroups = resolved.subscriptions
  }
  const served = new Set(servedSubscriptions(ctx))
  if (!named && !groups) return {subscriptions: [...served]}
  return {subscriptions: [...new Set([...(named ?? []), ...fromGroups])].filter((s) => served.has(s))}
}

function invalidQuery(reason: string): EmulatorResponse {
  return armError(400, 'BadRequest', `Query is invalid: ${reason}`, {
    details: [
      {code: 'InvalidQuery', message: 'Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.'},
      {code: 'UnsupportedQuery', message: `The opsbook emulator supports the KQL subset opsbook sends: ${reason}`},
    ],
  })
}

function columnType(values: unknown[]): string {
  const v = values.find((x) => x !== null && x !== undefined)
  if (typeof v === 'boolean') return 'boolean'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  if (v instanceof Date) return 'datetime'
  if (typeof v === 'object') return 'object'
  return 'string'
}

function jsonValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v
}

function query(ctx: EmulatorContext, request: EmulatorRequest): EmulatorResponse {
  const body = request.body
  if (!body || typeof body !== 'object' || typeof body.query !== 'string' || !body.query.trim())
    return armError(400, 'BadRequest', "The request body must carry a 'query' string.", {details: [{code: 'InvalidRequestContent', message: "Missing 'query'."}]})
  const options = (body.options ?? {}) as Record<string, unknown>
  const format = String(options.resultFormat ?? 'objectArray')
  if (!['objectArray', 'table'].includes(format)) return armError(400, 'BadRequest', `Unsupported resultFormat '${format}' (objectArray or table).`)
  const top = options.$top === undefined ? MAX_PAGE : Number(options.$top)
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) return armError(400, 'BadRequest', `The $top value '${String(options.$top)}' is invalid: expected 1 to ${MAX_PAGE}.`)
  const skip = options.$skip === undefined ? 0 : Number(options.$skip)
  if (!Number.isInteger(skip) || skip < 0) return armError(400, 'BadRequest', `The $skip value '${String(options.$skip)}' is invalid.`)
  let offset = skip
  let snapshot: string | undefined
  if (options.$skipToken !== undefined) {
    const decoded = decodeSkipToken(String(options.$skipToken))
    if (decoded === undefined) return armError(400, 'BadRequest', 'The $skipToken is invalid or expired.', {details: [{code: 'InvalidSkipToken', message: 'Pass the $skipToken of the previous page unchanged.'}]})
    offset = decoded.offset
    snapshot = decoded.snapshot
  }
  const scope = querySubscriptions(ctx, body)
  if ('error' in scope) return scope.error
  const quota = takeQuota(ctx)
  if (!quota.allowed)
    return {...armError(429, 'RateLimiting', 'Please provide below info when asking for support: timestamp, correlationId. Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed.'), headers: quota.headers}

  // Later pages read the result the first page computed (a fleet query over thousands of subscriptions is computed
  // once, not once per page); a snapshot no longer cached is computed again.
  const snapshots = resultSnapshots.get(ctx) ?? new Map<string, KqlResult>()
  resultSnapshots.set(ctx, snapshots)
  let result = snapshot === undefined ? undefined : snapshots.get(snapshot)
  if (!result) try {
    const tables = resourceGraphTables(ctx)
    const home = ctx.subscription.toLowerCase()
    const wanted = new Set(scope.subscriptions)
    for (const table of Object.values(tables)) {
      const homeRows = table.rows.filter((r) => String(r.subscriptionId).toLowerCase() === home)
      table.rows = [...(wanted.has(home) ? homeRows : []), ...copyRows(homeRows, home, fleetCopies(ctx).filter((c) => wanted.has(c)))]
    }
    result = runKql(body.query, tables, ctx.clock())
  } catch (error) {
    if (error instanceof KqlError) return invalidQuery(error.message)
    throw error
  }
  const total = result.rows.length
  const page = result.rows.slice(offset, offset + top)
  const next = offset + page.length < total ? offset + page.length : undefined
  if (next !== undefined && snapshot === undefined) {
    snapshot = randomUUID()
    snapshots.set(snapshot, result)
    // A few recent snapshots are enough for sequential paging.
    for (const key of [...snapshots.keys()].slice(0, Math.max(0, snapshots.size - 16))) snapshots.delete(key)
  }
  const data =
    format === 'table'
      ? {
          columns: result.columns.map((name) => ({name, type: columnType(result.rows.map((r) => r[name]))})),
          rows: page.map((r) => result.columns.map((c) => jsonValue(r[c]))),
        }
      : page.map((r) => Object.fromEntries(result.columns.map((c) => [c, jsonValue(r[c])])))
  return {
    status: 200,
    headers: quota.headers,
    body: {
      totalRecords: total,
      count: page.length,
      resultTruncated: 'false',
      ...(next === undefined ? {} : {$skipToken: encodeSkipToken(next, snapshot)}),
      data,
      facets: [],
    },
  }
}

type KqlResult = ReturnType<typeof runKql>
const resultSnapshots = new WeakMap<EmulatorContext, Map<string, KqlResult>>()

function encodeSkipToken(offset: number, snapshot?: string): string {
  return Buffer.from(JSON.stringify({$skip: offset, v: 1, ...(snapshot ? {s: snapshot} : {})})).toString('base64')
}

function decodeSkipToken(token: string): {offset: number; snapshot?: string} | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {$skip?: unknown; s?: unknown}
    if (!Number.isInteger(parsed.$skip) || (parsed.$skip as number) < 0) return undefined
    return {offset: parsed.$skip as number, ...(typeof parsed.s === 'string' ? {snapshot: parsed.s} : {})}
  } catch {
    return undefined
  }
}

/** The Resource Graph route. */
export function routes(ctx: EmulatorContext): Route[] {
  return [{method: 'POST', pattern: '/providers/Microsoft.ResourceGraph/resources', operation: 'resourcegraph.resources', handler: (request) => query(ctx, request)}]
}
