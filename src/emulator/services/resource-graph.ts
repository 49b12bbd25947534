/**
 * Azure Resource Graph (`POST /providers/Microsoft.ResourceGraph/resources`, api-version 2021-03-01 as
 * @azure/arm-resourcegraph 4.2.1 sends it): the KQL subset opsbook sends (see kql.ts), over every resource the
 * emulator holds, in ARG's shape (lower-case `type`, `location` as a region name, `properties` as ARM returns them).
 *
 * Tables: `resources` (tracked resources, web app slots and management locks), `resourcecontainers` (the
 * subscription and its resource groups), `appserviceresources` (config/web of sites and slots) and
 * `securityresources` (`Microsoft.Security/*` resources, if any service holds some).
 *
 * Where rows come from: the core services' state (web apps, PostgreSQL servers, Redis caches, storage accounts,
 * key vaults, locks — see BUILT_IN), inventories registered with `registerResourceInventory`, then, for any other
 * slice, every ARM-shaped object (string `id` under `/subscriptions/…/providers/…`,
 * `type`, `name`) found in the emulator's state slices. Paging: `$skipToken` and `$top` (page size 1000 as in Azure,
 * a smaller `$top` is the page size), `resultFormat` `objectArray` (default) or `table`.
 */
import {resourceGroups} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import {KqlError, runKql, type KqlTable, type Row} from '../kql.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {miscState} from './arm-misc.js'
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
const ARG_CHILD_TYPES = new Set(['microsoft.web/sites/slots'])
/** State slices that hold no ARM resources of their own, or whose resources are listed by BUILT_IN below. */
const SKIPPED_SLICES = new Set(['activity', 'webapps', 'resourceGroups', 'postgres', 'redis', 'arm'])

/** The core services' resources, read through their state accessors (which seed the slice on first use). */
const BUILT_IN: Record<string, (ctx: EmulatorContext) => Array<Record<string, any>>> = {
  // Sites, slots and the App Service plans they run on (Microsoft.Web/serverfarms is in ARG's resources table).
  webapps: (ctx) => [...webappResources(ctx), ...appServicePlans(ctx)],
  // Dropped servers (kept for ReviveDropped) are gone from ARM, so they are not listed.
  postgres: (ctx) => Object.values(postgresState(ctx).servers).map((s) => s.resource),
  redis: (ctx) => Object.values(redisState(ctx).caches).map((c) => c.resource),
  arm: (ctx) => {
    const misc = miscState(ctx)
    return [
      ...Object.values(misc.storageAccounts).map((a) => a.resource),
      ...Object.values(misc.vaults).map((v) => v.resource),
      ...Object.values(misc.locks).map((lock) => ({
        id: `${lock.scope}/providers/Microsoft.Authorization/locks/${lock.name}`,
        name: lock.name,
        type: 'Microsoft.Authorization/locks',
        properties: {level: lock.level, ...(lock.notes ? {notes: lock.notes} : {}), owners: []},
      })),
    ]
  },
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
  if (options.$skipToken !== undefined) {
    const decoded = decodeSkipToken(String(options.$skipToken))
    if (decoded === undefined) return armError(400, 'BadRequest', 'The $skipToken is invalid or expired.', {details: [{code: 'InvalidSkipToken', message: 'Pass the $skipToken of the previous page unchanged.'}]})
    offset = decoded
  }
  const subscriptions = Array.isArray(body.subscriptions) ? (body.subscriptions as unknown[]).map((s) => String(s).toLowerCase()) : undefined

  let result
  try {
    const tables = resourceGraphTables(ctx)
    if (subscriptions)
      for (const table of Object.values(tables)) table.rows = table.rows.filter((r) => subscriptions.includes(String(r.subscriptionId).toLowerCase()))
    result = runKql(body.query, tables, ctx.clock())
  } catch (error) {
    if (error instanceof KqlError) return invalidQuery(error.message)
    throw error
  }
  const total = result.rows.length
  const page = result.rows.slice(offset, offset + top)
  const next = offset + page.length < total ? offset + page.length : undefined
  const data =
    format === 'table'
      ? {
          columns: result.columns.map((name) => ({name, type: columnType(result.rows.map((r) => r[name]))})),
          rows: page.map((r) => result.columns.map((c) => jsonValue(r[c]))),
        }
      : page.map((r) => Object.fromEntries(result.columns.map((c) => [c, jsonValue(r[c])])))
  return {
    status: 200,
    headers: {'x-ms-user-quota-remaining': '14', 'x-ms-user-quota-resets-after': '00:00:05'},
    body: {
      totalRecords: total,
      count: page.length,
      resultTruncated: 'false',
      ...(next === undefined ? {} : {$skipToken: encodeSkipToken(next)}),
      data,
      facets: [],
    },
  }
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({$skip: offset, v: 1})).toString('base64')
}

function decodeSkipToken(token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {$skip?: unknown}
    return Number.isInteger(parsed.$skip) && (parsed.$skip as number) >= 0 ? (parsed.$skip as number) : undefined
  } catch {
    return undefined
  }
}

/** The Resource Graph route. */
export function routes(ctx: EmulatorContext): Route[] {
  return [{method: 'POST', pattern: '/providers/Microsoft.ResourceGraph/resources', operation: 'resourcegraph.resources', handler: (request) => query(ctx, request)}]
}
