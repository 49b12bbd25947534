/**
 * Azure's Activity Log for ARM writes: every PUT, PATCH, DELETE and POST action the emulator's ARM accepts (2xx) is
 * recorded in `ctx.activity` (kind `arm.write`, bounded by Azure's 90-day retention and a count like the rest of that
 * log, state.ts), and served by ActivityLogs_List:
 *
 *   GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=…
 *
 * (azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2015-04-01/activityLogs_API.json,
 * vendored in test/fixtures/azure-specs). Each event carries the fields of the spec's EventData as its example
 * GetActivityLogsFiltered.json shows them for an ARM write: correlationId (the request's `x-ms-correlation-request-id`),
 * operationName (`{namespace}/{types}/write|delete`, `…/{verb}/action`), resourceId, httpRequest.method, status
 * (`Succeeded`; `Accepted` when ARM answered 202 or 201 with an async operation), subStatus with the HTTP status,
 * caller, eventTimestamp and submissionTimestamp, category Administrative ("all create, update, delete, and action
 * operations performed through Resource Manager": https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema).
 * Not modelled: the BeginRequest ("Started") events, the later Succeeded event of a long-running operation, failed
 * writes, and the other categories (Service Health, Policy, …).
 *
 * `$filter` takes only what the spec's parameter description allows: `eventTimestamp ge '…'` (required), optionally
 * `and eventTimestamp le '…'`, and at most one of `resourceGroupName eq`, `resourceUri eq`, `resourceProvider eq`,
 * `correlationId eq` ("NOTE: No other syntax is allowed."), plus `eventChannels eq '…'`, which the Azure CLI and
 * Learn's tenant activity log example send. Anything else (and a missing $filter, azure-rest-api-specs#2467) is
 * 400 `BadRequest` "$filter searching parameters invalid" as Azure answers it (MicrosoftDocs/feedback#319; flat
 * `{code, message}` as the spec's ErrorResponse). `$select` keeps the listed top-level properties (the spec's
 * SelectParameter).
 */
import {randomUUID} from 'node:crypto'
import {describeArmWrite} from '../../azure/arm-writes.js'
import {checkScope, paged} from '../arm.js'
import type {ActivityEntry, EmulatorContext} from '../context.js'
import type {EmulatorRequest, EmulatorResponse, Route} from '../types.js'

export const ARM_WRITE_KIND = 'arm.write'

/** Events per page: Azure pages the list with nextLink (`x-ms-pageable`); 200 keeps a drill's writes on one page. */
const PAGE_SIZE = 200

const HTTP_STATUS_NAMES: Record<number, string> = {200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'NoContent'}

/**
 * Record an ARM write the emulator answered, if it is one (2xx PUT/PATCH/DELETE/POST action on a subscription path;
 * query POSTs such as Resource Graph are not Administrative operations). `path` is the path the client sent.
 */
export function recordArmWrite(ctx: EmulatorContext, request: EmulatorRequest, path: string, response: EmulatorResponse, correlationId: string): void {
  if (response.status < 200 || response.status >= 300) return
  const described = describeArmWrite(request.method, path)
  if (!described) return
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  const accepted = response.status === 202 || (response.status === 201 && Boolean(headers['azure-asyncoperation']))
  const claims = tokenClaims(request)
  const header = (name: string) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value[0] : value
  }
  ctx.activity.append({
    resourceId: described.resourceId,
    kind: ARM_WRITE_KIND,
    data: {
      correlationId,
      operationName: described.operation,
      method: request.method,
      httpStatus: response.status,
      status: accepted ? 'Accepted' : 'Succeeded',
      caller: String(claims.upn ?? claims.unique_name ?? claims.appid ?? claims.oid ?? ''),
      eventDataId: randomUUID(),
      clientRequestId: header('x-ms-client-request-id') ?? '',
      tenantId: String(claims.tid ?? ctx.environment.tenant ?? ''),
    },
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
  for (const part of filter.split(/\s+and\s+/i)) {
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

/** The spec's EventData for one recorded ARM write. */
export function eventData(ctx: EmulatorContext, entry: ActivityEntry): Record<string, unknown> {
  const data = entry.data ?? {}
  const resourceId = entry.resourceId
  const provider = /\/providers\/([^/]+)/i.exec(resourceId)?.[1] ?? 'Microsoft.Resources'
  const operation = String(data.operationName ?? '')
  const type = operation.replace(/\/[^/]+\/action$/i, '').replace(/\/(write|delete)$/i, '') || provider
  const group = /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1]
  const httpStatus = Number(data.httpStatus ?? 200)
  const statusName = HTTP_STATUS_NAMES[httpStatus] ?? String(httpStatus)
  const status = String(data.status ?? 'Succeeded')
  // .NET ticks (100 ns since 0001-01-01), as ARM builds the event id (the spec example's `…/ticks/635574752669792776`).
  const ticks = BigInt(Date.parse(entry.at)) * 10_000n + 621_355_968_000_000_000n
  const localized = (value: string) => ({value, localizedValue: value})
  return {
    authorization: {action: operation, scope: resourceId},
    caller: String(data.caller ?? ''),
    claims: {},
    correlationId: String(data.correlationId ?? ''),
    description: '',
    eventDataId: String(data.eventDataId ?? ''),
    eventName: {value: 'EndRequest', localizedValue: 'End request'},
    category: localized('Administrative'),
    httpRequest: {clientRequestId: String(data.clientRequestId ?? ''), clientIpAddress: '127.0.0.1', method: String(data.method ?? '')},
    id: `${resourceId}/events/${String(data.eventDataId ?? '')}/ticks/${ticks}`,
    level: 'Informational',
    ...(group ? {resourceGroupName: group} : {}),
    resourceProviderName: localized(provider),
    resourceId,
    resourceType: localized(type),
    operationId: String(data.correlationId ?? ''),
    operationName: localized(operation),
    properties: {statusCode: statusName},
    status: localized(status),
    subStatus: {value: statusName, localizedValue: `${statusName.replace(/([a-z])([A-Z])/g, '$1 $2')} (HTTP Status Code: ${httpStatus})`},
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
  const events = ctx.activity
    .list({kind: ARM_WRITE_KIND, since: query.since, until: query.until ?? ctx.clock()})
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
