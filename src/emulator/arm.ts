/**
 * ARM conventions shared by the service modules: error envelopes with Azure's codes and messages, resource ids,
 * scope checks (subscription, resource group) and `value`/`nextLink` paging with absolute next links.
 */
import type {EmulatorContext} from './context.js'
import {armError, type EmulatorRequest, type EmulatorResponse} from './types.js'

/** The resource groups that exist (seeded from the catalog environment; live slice). */
export function resourceGroups(ctx: EmulatorContext): Record<string, {name: string; location: string; tags: Record<string, string>}> {
  return ctx.store.slice('resourceGroups', () =>
    Object.fromEntries(
      ctx.environment.resourceGroups.map((name) => [name.toLowerCase(), {name, location: ctx.environment.region, tags: {}}]),
    ),
  )
}

/**
 * 404 SubscriptionNotFound / ResourceGroupNotFound when the scope does not exist, else undefined.
 * Call it first in every resource-group-scoped handler.
 */
export function checkScope(ctx: EmulatorContext, subscription: string, resourceGroup?: string): EmulatorResponse | undefined {
  if (subscription.toLowerCase() !== ctx.subscription.toLowerCase())
    return armError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`)
  if (resourceGroup !== undefined && !resourceGroups(ctx)[resourceGroup.toLowerCase()])
    return armError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`)
  return undefined
}

/** ARM's 404 for a missing resource, e.g. type `Microsoft.DBforPostgreSQL/flexibleServers`. */
export function resourceNotFound(type: string, name: string, resourceGroup: string): EmulatorResponse {
  return armError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )
}

/** `/subscriptions/{sub}/resourceGroups/{rg}/providers/{type}/{name}` with the given casing. */
export function resourceIdOf(subscription: string, resourceGroup: string, type: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/${type}/${name}`
}

/** Parts of an ARM resource id: subscription, resourceGroup, provider type path and name (undefined if not an id). */
export function parseResourceId(id: string): {subscription: string; resourceGroup: string; type: string; name: string} | undefined {
  const m = /^\/*subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/(.+)\/([^/]+)$/i.exec(id.trim())
  if (!m) return undefined
  return {subscription: m[1]!, resourceGroup: m[2]!, type: m[3]!, name: m[4]!}
}

/**
 * A list response: `pageSize` items a page (Azure's documented or recorded page size for this list; undefined = one
 * page, as ARM answers a list whose provider documents no page size) with an absolute `nextLink` (same path and query
 * plus `$skiptoken`) while more remain. A test can page any list smaller (StartEmulatorOptions.listPageSizes, carried
 * on the request) to exercise SDK paging. `value` is always an array.
 */
export function paged<T>(request: EmulatorRequest, items: T[], pageSize?: number): EmulatorResponse {
  const size = request.pageSize ?? pageSize
  const start = Math.max(0, Number.parseInt(request.query.get('$skiptoken') ?? '0', 10) || 0)
  if (!size || items.length <= start + size) return {status: 200, body: {value: items.slice(start)}}
  const query = new URLSearchParams(request.query)
  query.set('$skiptoken', String(start + size))
  return {status: 200, body: {value: items.slice(start, start + size), nextLink: `${request.baseUrl}${request.path}?${query.toString()}`}}
}

/** The api-version of a request, for echoing into URLs. */
export function apiVersionOf(request: EmulatorRequest): string | undefined {
  return request.query.get('api-version') ?? undefined
}

/** 400 for a body that is missing or not an object. */
export function invalidBody(message = 'The request content was invalid and could not be deserialized.'): EmulatorResponse {
  return armError(400, 'InvalidRequestContent', message)
}

/** Deep copy of JSON state, so responses never alias the live store. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T)
}

/** ARM `systemData` for a resource created now. */
export function systemData(at: Date): Record<string, string> {
  const iso = at.toISOString()
  return {createdBy: 'opsbook-emulator', createdByType: 'Application', createdAt: iso, lastModifiedBy: 'opsbook-emulator', lastModifiedByType: 'Application', lastModifiedAt: iso}
}

/**
 * An enum value in its canonical spelling, matched case-insensitively: Azure's resource providers accept e.g.
 * `enabled` for `Enabled` and answer with the canonical casing, and the SDKs model these as extensible
 * (`modelAsString`) enums. No normative Microsoft page states it in general (issue 10 item 5 asks for the behaviour);
 * undefined when the value is none of `allowed`.
 */
export function canonicalEnum(value: unknown, allowed: readonly string[]): string | undefined {
  if (typeof value !== 'string') return undefined
  return allowed.find((a) => a.toLowerCase() === value.toLowerCase())
}

/** A UUID-shaped id derived from `text` (FNV-1a): the same resource gets the same databaseId/instanceId on every seed. */
export function uuidFrom(text: string): string {
  let h = 0x811c9dc5
  const out: string[] = []
  for (let round = 0; round < 4; round++) {
    for (const ch of `${round}${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0
    out.push(h.toString(16).padStart(8, '0'))
  }
  const hex = out.join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}
