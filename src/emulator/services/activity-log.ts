/**
 * Azure's Activity Log for ARM writes: every PUT, PATCH, DELETE and POST action the emulator's ARM is asked for (by an
 * authenticated caller) is recorded in `ctx.activity` (kind `arm.write`, kept for Azure's 90 days, state.ts), and
 * served by ActivityLogs_List:
 *
 *   GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=…
 *
 * (azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2015-04-01/activityLogs_API.json,
 * vendored in test/fixtures/azure-specs). Each event carries the fields of the spec's EventData as its example
 * GetActivityLogsFiltered.json shows them for an ARM write: correlationId (the request's `x-ms-correlation-request-id`),
 * operationName (`{namespace}/{types}/write|delete`, `…/{verb}/action`), resourceId, httpRequest.method, status,
 * subStatus, caller, eventTimestamp and submissionTimestamp, category Administrative.
 *
 * The events of one write, as Azure records them (https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema,
 * Administrative: "If the operation type is Write, Delete, or Action, the records of both the start and success or
 * fail of that operation are recorded"; "Events that share a correlationId belong to the same uber action"; status
 * "Some common values are: Started, In Progress, Succeeded, Failed"; subStatus "Usually the HTTP status code of the
 * corresponding REST call … Accepted (HTTP Status Code: 202) … Conflict (HTTP Status Code: 409)"), all with its
 * correlationId:
 * - `Started` (eventName BeginRequest) when the request arrives;
 * - its answer (EndRequest): `Accepted` (202, or 201 with an async operation: a long-running operation), `Succeeded`
 *   (other 2xx), or `Failed` (4xx/5xx: refused, conflicting, forbidden — subStatus names the HTTP status, level Error);
 * - for a long-running operation, `Succeeded` or `Failed` again when the operation ends (services' LROs, lro.ts).
 * Not recorded: requests without a valid token (401: no caller, refused before ARM authorizes) and ARM's own
 * throttling (429, refused before a provider sees the request) — the emulator's reading, no source says either way;
 * and the other categories (Service Health, Policy, …).
 *
 * `$filter` takes only what the spec's parameter description allows: `eventTimestamp ge '…'` (required), optionally
 * `and eventTimestamp le '…'`, and at most one of `resourceGroupName eq`, `resourceUri eq`, `resourceProvider eq`,
 * `correlationId eq` ("NOTE: No other syntax is allowed."), plus `eventChannels eq '…'`, which the Azure CLI and
 * Learn's tenant activity log example send. Anything else (and a missing $filter, azure-rest-api-specs#2467) is
 * 400 `BadRequest` "$filter searching parameters invalid" as Azure answers it (MicrosoftDocs/feedback#319; flat
 * `{code, message}` as the spec's ErrorResponse). Its clauses are cut at `and` outside quoted values only, so a value
 * holding " and " (or a doubled quote) is read whole. `$select` keeps the listed top-level properties (the spec's
 * SelectParameter). The list is the subscription's: events of resources under another subscription (a fleet copy's,
 * or another target's in an activity.jsonl kept from before) are not shown.
 */
import {randomUUID} from 'node:crypto'
import {describeArmWrite} from '../../azure/arm-writes.js'
import {checkScope, paged} from '../arm.js'
import type {ActivityEntry, EmulatorContext} from '../context.js'
import type {EmulatorRequest, EmulatorResponse, Route} from '../types.js'

export const ARM_WRITE_KIND = 'arm.write'

/** Events per page: Azure pages the list with nextLink (`x-ms-pageable`); 200 keeps a drill's writes on one page. */
const PAGE_SIZE = 200

// Learn's subStatus list (activity-log-schema): OK, Created, Accepted, No Content, Bad Request, Not Found, Conflict,
// Internal Server Error, Service Unavailable, Gateway Timeout; Forbidden and Precondition Failed by the same rule.
const HTTP_STATUS_NAMES: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'NoContent',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
}

/** Who asked and how, for every event of one write. */
type WriteOrigin = {resourceId: string; operationName: string; method: string; correlationId: string; caller: string; claims: Record<string, string>; clientRequestId: string; tenantId: string}

/**
 * The caller and claims of an event, from the bearer token ARM validated (the identity the token names, not anything
 * the request says about itself). The spec's EventData: `caller` "the email address of the user who has performed the
 * operation, the UPN claim or SPN claim based on availability"; `claims` "key value pairs to identify ARM permissions",
 * its example spelling the token's claims as ARM does (`aud`, `iss`, `iat`, `appid`,
 * `http://schemas.microsoft.com/identity/claims/objectidentifier`, `…/identity/claims/tenantid`,
 * `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn`) (azure-rest-api-specs specification/monitor/
 * resource-manager/Microsoft.Insights/stable/2015-04-01/activityLogs_API.json and examples/GetActivityLogsFiltered.json).
 * The emulator's managed-identity tokens carry no UPN: the caller is the app (client) id, the SPN side of that rule.
 */
export function callerOf(tokenClaims: Record<string, unknown>): {caller: string; claims: Record<string, string>} {
  const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v))
  const entries: Array<[string, string | undefined]> = [
    ['aud', text(tokenClaims.aud)],
    ['iss', text(tokenClaims.iss)],
    ['iat', text(tokenClaims.iat)],
    ['appid', text(tokenClaims.appid)],
    ['http://schemas.microsoft.com/identity/claims/objectidentifier', text(tokenClaims.oid)],
    ['http://schemas.microsoft.com/identity/claims/tenantid', text(tokenClaims.tid)],
    ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', text(tokenClaims.upn)],
  ]
  return {
    caller: String(tokenClaims.upn ?? tokenClaims.unique_name ?? tokenClaims.appid ?? tokenClaims.oid ?? ''),
    claims: Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined)),
  }
}

/**
 * Record an ARM write the emulator was asked for, if it is one (PUT/PATCH/DELETE/POST action on a subscription path;
 * query POSTs such as Resource Graph are not Administrative operations): its Started event at `arrivedAt`, then its
 * answer (Accepted, Succeeded or Failed). `path` is the path the client sent. Returns what the final event of a
 * long-running operation needs ({@link recordOperationEnd}), or undefined when nothing was recorded.
 */
export function recordArmWrite(ctx: EmulatorContext, request: EmulatorRequest, path: string, response: EmulatorResponse, correlationId: string, arrivedAt?: string): WriteOrigin | undefined {
  if (response.status === 401 || response.status === 429 || response.status === 0) return undefined
  const described = describeArmWrite(request.method, path)
  if (!described) return undefined
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  const ok = response.status >= 200 && response.status < 300
  const accepted = response.status === 202 || (response.status === 201 && Boolean(headers['azure-asyncoperation']))
  const claims = tokenClaims(request)
  const header = (name: string) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value[0] : value
  }
  const origin: WriteOrigin = {
    resourceId: described.resourceId,
    operationName: described.operation,
    method: request.method,
    correlationId,
    ...callerOf(claims),
    clientRequestId: header('x-ms-client-request-id') ?? '',
    tenantId: String(claims.tid ?? ctx.environment.tenant ?? ''),
  }
  append(ctx, origin, {status: 'Started', eventName: 'BeginRequest', ...(arrivedAt ? {at: arrivedAt} : {})})
  append(ctx, origin, {status: accepted ? 'Accepted' : ok ? 'Succeeded' : 'Failed', eventName: 'EndRequest', httpStatus: response.status})
  return origin
}

/** The last event of a long-running write: Succeeded or Failed when its operation ended (same correlation id). */
export function recordOperationEnd(ctx: EmulatorContext, origin: WriteOrigin, status: 'Succeeded' | 'Failed', at?: string): void {
  append(ctx, origin, {status, eventName: 'EndRequest', ...(at ? {at} : {})})
}

function append(ctx: EmulatorContext, origin: WriteOrigin, event: {status: string; eventName: string; httpStatus?: number; at?: string}): void {
  const {resourceId, ...data} = origin
  ctx.activity.append({
    resourceId,
    kind: ARM_WRITE_KIND,
    ...(event.at ? {at: event.at} : {}),
    data: {...data, status: event.status, eventName: event.eventName, ...(event.httpStatus ? {httpStatus: event.httpStatus} : {}), eventDataId: randomUUID()},
  })
}

function tokenClaims(request: EmulatorRequest): Record<string, unknown> {
  const header = request.headers.authorization
  const payload = (Array.isArray(header) ? header[0] : header)?.replace(/^Bearer\s+/i, '').split('.')[1]
  if (!payload) return {}
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** A parsed `$filter`, or the reason it is not one Azure takes. */
export type ActivityQuery = {since: Date; until?: Date; resourceGroupName?: string; resourceUri?: string; resourceProvider?: string; correlationId?: string}

const CLAUSE = /^\s*(\w+)\s+(eq|ge|le)\s+'((?:[^']|'')*)'\s*$/i
const SCOPES = ['resourceGroupName', 'resourceUri', 'resourceProvider', 'correlationId'] as const

/** Parse an ActivityLogs_List `$filter` (the forms the spec allows); undefined when Azure would refuse it. */
export function parseActivityFilter(filter: string | null): ActivityQuery | undefined {
  if (!filter) return undefined
  const query: Partial<ActivityQuery> = {}
  for (const part of splitAnd(filter)) {
    const m = CLAUSE.exec(part)
    if (!m) return undefined
    const field = m[1]!.toLowerCase()
    const op = m[2]!.toLowerCase()
    const value = m[3]!.replace(/''/g, "'")
    if (field === 'eventtimestamp') {
      const at = new Date(value)
      if (Number.isNaN(at.getTime())) return undefined
      if (op === 'ge' && !query.since) query.since = at
      else if (op === 'le' && !query.until) query.until = at
      else return undefined
      continue
    }
    if (op !== 'eq') return undefined
    if (field === 'eventchannels') continue
    const scope = SCOPES.find((s) => s.toLowerCase() === field)
    if (!scope || SCOPES.some((s) => query[s] !== undefined)) return undefined
    query[scope] = value
  }
  return query.since ? (query as ActivityQuery) : undefined
}

/**
 * The clauses of a `$filter` joined by `and`, cut only outside OData string literals: a quoted value may itself contain
 * " and " (a correlation id is any string the client sent), and a quote inside one is doubled (OData ABNF,
 * https://docs.oasis-open.org/odata/odata/v4.01/os/abnf/odata-abnf-construction-rules.txt: "SQUOTE-in-string = SQUOTE
 * SQUOTE ; two consecutive single quotes represent one within a string literal"), which toggling on every quote reads
 * correctly — the literal is still open after `''`. An unterminated literal stays in its clause, which then matches no
 * form (400).
 */
export function splitAnd(filter: string): string[] {
  const parts: string[] = []
  const and = /\s+and\s+/iy
  let quoted = false
  let start = 0
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === "'") {
      quoted = !quoted
      continue
    }
    if (quoted) continue
    and.lastIndex = i
    const m = and.exec(filter)
    if (!m) continue
    parts.push(filter.slice(start, i))
    start = i + m[0].length
    i = start - 1
  }
  parts.push(filter.slice(start))
  return parts
}

/** The spec's EventData for one recorded ARM write. */
export function eventData(ctx: EmulatorContext, entry: ActivityEntry): Record<string, unknown> {
  const data = entry.data ?? {}
  const resourceId = entry.resourceId
  const provider = /\/providers\/([^/]+)/i.exec(resourceId)?.[1] ?? 'Microsoft.Resources'
  const operation = String(data.operationName ?? '')
  const type = operation.replace(/\/[^/]+\/action$/i, '').replace(/\/(write|delete)$/i, '') || provider
  const group = /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1]
  const httpStatus = data.httpStatus === undefined ? undefined : Number(data.httpStatus)
  const statusName = httpStatus === undefined ? '' : (HTTP_STATUS_NAMES[httpStatus] ?? String(httpStatus))
  const status = String(data.status ?? 'Succeeded')
  const eventName = String(data.eventName ?? 'EndRequest')
  // .NET ticks (100 ns since 0001-01-01), as ARM builds the event id (the spec example's `…/ticks/635574752669792776`).
  const ticks = BigInt(Date.parse(entry.at)) * 10_000n + 621_355_968_000_000_000n
  const localized = (value: string) => ({value, localizedValue: value})
  return {
    authorization: {action: operation, scope: resourceId},
    caller: String(data.caller ?? ''),
    claims: (data.claims as Record<string, string> | undefined) ?? {},
    correlationId: String(data.correlationId ?? ''),
    description: '',
    eventDataId: String(data.eventDataId ?? ''),
    eventName: {value: eventName, localizedValue: eventName === 'BeginRequest' ? 'Begin request' : 'End request'},
    category: localized('Administrative'),
    httpRequest: {clientRequestId: String(data.clientRequestId ?? ''), clientIpAddress: '127.0.0.1', method: String(data.method ?? '')},
    id: `${resourceId}/events/${String(data.eventDataId ?? '')}/ticks/${ticks}`,
    level: status === 'Failed' ? 'Error' : 'Informational',
    ...(group ? {resourceGroupName: group} : {}),
    resourceProviderName: localized(provider),
    resourceId,
    resourceType: localized(type),
    operationId: String(data.correlationId ?? ''),
    operationName: localized(operation),
    // Learn's sample: the HTTP status's name in properties.statusCode; subStatus empty on events with no HTTP answer
    // of their own (Started, a long-running operation's end).
    properties: statusName ? {statusCode: statusName} : {},
    status: localized(status),
    subStatus: statusName ? {value: statusName, localizedValue: `${statusName.replace(/([a-z])([A-Z])/g, '$1 $2')} (HTTP Status Code: ${httpStatus})`} : {value: '', localizedValue: ''},
    eventTimestamp: entry.at,
    submissionTimestamp: entry.at,
    subscriptionId: ctx.subscription,
    tenantId: String(data.tenantId ?? ''),
  }
}

function badFilter(): EmulatorResponse {
  return {status: 400, body: {code: 'BadRequest', message: '$filter searching parameters invalid'}}
}

/** ActivityLogs_List over the recorded ARM writes, newest first. */
export function listActivityLog(ctx: EmulatorContext, request: EmulatorRequest, subscription: string): EmulatorResponse {
  const scope = checkScope(ctx, subscription)
  if (scope) return scope
  const query = parseActivityFilter(request.query.get('$filter'))
  if (!query) return badFilter()
  const wanted = (value: string | undefined, actual: string | undefined) => value === undefined || value.toLowerCase() === (actual ?? '').toLowerCase()
  // The Activity Log is the subscription's: "operations performed on resources in your subscription", read at
  // /subscriptions/{subscriptionId}/…/eventtypes/management/values
  // (https://learn.microsoft.com/azure/azure-monitor/essentials/rest-activity-log), so only events of resources under
  // the subscription asked for are listed — a fleet copy (fleet.ts) lists its own writes, not the environment's, and
  // events another subscription left in activity.jsonl are never shown.
  const own = `/subscriptions/${(request.copy ?? subscription).toLowerCase()}/`
  const events = ctx.activity
    .list({kind: ARM_WRITE_KIND, since: query.since, until: query.until ?? ctx.clock()})
    .filter((e) => `${e.resourceId.toLowerCase()}/`.startsWith(own))
    .filter((e) => wanted(query.correlationId, String(e.data?.correlationId ?? '')))
    .filter((e) => wanted(query.resourceUri, e.resourceId))
    .filter((e) => wanted(query.resourceGroupName, /\/resourceGroups\/([^/]+)/i.exec(e.resourceId)?.[1]))
    .filter((e) => wanted(query.resourceProvider, /\/providers\/([^/]+)/i.exec(e.resourceId)?.[1] ?? 'Microsoft.Resources'))
    .reverse()
    .map((e) => eventData(ctx, e))
  const select = request.query.get('$select')
  const fields = select ? new Set(select.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean)) : undefined
  const shown = fields ? events.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => fields.has(k.toLowerCase())))) : events
  return paged(request, shown, PAGE_SIZE)
}

export function routes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values',
      operation: 'monitor.activityLogs.list',
      handler: (request, p) => listActivityLog(ctx, request, p.sub!),
    },
  ]
}
