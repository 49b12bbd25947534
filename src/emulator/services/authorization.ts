/**
 * Who is calling, and what they may do: the emulator's side of Azure RBAC.
 *
 * - The managed-identity token endpoint signs in as one of the estate's `identities` when asked for it by client id,
 *   object id or name (`client_id` / `object_id` / `principal_id` query parameters, as a user-assigned identity is
 *   asked for in App Service: https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference);
 *   a request naming an identity that is none of them is refused as App Service refuses an identity the app does not
 *   have (400 "No MSI found for specified ClientId/ResourceId.", server.ts noIdentityRefusal); a request naming no
 *   identity gets the default principal. opsbook never sends a stray AZURE_CLIENT_ID to the emulator (azure/clients.ts buildCredential).
 * - `GET /subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions` (api-version
 *   2022-04-01, Permissions_ListForResourceGroup in azure-rest-api-specs authorization-RoleDefinitionsCalls.json)
 *   answers the caller's role permissions at or above the resource group, one entry per role assignment, from the
 *   built-in role definitions (src/azure/permissions.ts). The caller is the bearer token's `oid` claim.
 * - Every other ARM call made with an estate identity's token is authorized as ARM does: the request maps to its RBAC
 *   operation (`{namespace}/{type}[/{child type}…]/read|write|delete`, a POST to `…/{name}/{verb}` is
 *   `…/{verb}/action`: https://learn.microsoft.com/en-us/azure/role-based-access-control/resource-provider-operations)
 *   and a caller none of whose roles grants it gets 403 `AuthorizationFailed` with ARM's message
 *   (https://learn.microsoft.com/en-us/azure/role-based-access-control/troubleshooting),
 *   so a reader-only identity that gets past preflight is still refused by "Azure".
 * The default principal holds Owner and Storage Blob Data Owner on the subscription (Owner alone has no data actions in
 * Azure; Storage Blob Data Owner, not Contributor, because a Redis export's SAS `t` needs the blob tag data actions:
 * src/actions/redis.ts SAS_LETTER_DATA_ACTIONS), so everything that worked before identities existed still does; its
 * calls are not checked.
 */
import {createHash} from 'node:crypto'
import {BUILT_IN_ROLES, builtInRole, granted, type RolePermission} from '../../azure/permissions.js'
import {checkScope, paged} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import type {EstateIdentity} from '../estate.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'

/** The `oid` of tokens for the default principal. */
export const DEFAULT_PRINCIPAL = 'opsbook-emulator-identity'

export interface EmulatorPrincipal {
  name: string
  objectId: string
  clientId: string
  roles: Array<{role: string; scope?: string}>
}

function principalOf(name: string, who: EstateIdentity): EmulatorPrincipal {
  const derived = createHash('sha256').update(`opsbook-emulator:${name}`).digest('hex')
  const uuid = `${derived.slice(0, 8)}-${derived.slice(8, 12)}-${derived.slice(12, 16)}-${derived.slice(16, 20)}-${derived.slice(20, 32)}`
  return {name, objectId: who.objectId ?? uuid, clientId: who.clientId ?? name, roles: who.roles}
}

/** The estate's identities as the token endpoint knows them (the discovery document lists them). */
export function estatePrincipals(ctx: Pick<EmulatorContext, 'estate'>): Array<Pick<EmulatorPrincipal, 'name' | 'clientId' | 'objectId'>> {
  return Object.entries(ctx.estate?.identities ?? {}).map(([name, who]) => {
    const {clientId, objectId} = principalOf(name, who)
    return {name, clientId, objectId}
  })
}

/** The estate's principal named (by name, client id or object id) in a token request, if any. */
function principalNamed(ctx: Pick<EmulatorContext, 'estate'>, wanted: string): EmulatorPrincipal | undefined {
  for (const [name, who] of Object.entries(ctx.estate?.identities ?? {})) {
    const principal = principalOf(name, who)
    if ([principal.name, principal.clientId, principal.objectId].some((id) => id.toLowerCase() === wanted)) return principal
  }
  return undefined
}

/**
 * The estate's principal a token request names (client_id, object_id/principal_id, or mi_res_id), if any. mi_res_id is
 * the identity's ARM id, /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/
 * userAssignedIdentities/{name} (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference).
 * The estate declares an identity by name only, as one of the environment's: an id in another subscription, or in a
 * resource group the environment does not have, names another identity, which this app does not have.
 */
export function requestedPrincipal(ctx: Pick<EmulatorContext, 'estate' | 'subscription' | 'environment'>, requested: string | undefined | null): EmulatorPrincipal | undefined {
  if (!requested) return undefined
  const wanted = requested.toLowerCase()
  const resourceId = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.managedidentity\/userassignedidentities\/([^/]+)\/?$/.exec(wanted)
  if (!resourceId) return principalNamed(ctx, wanted)
  const [, subscription, group, name] = resourceId
  const inEnvironment = subscription === ctx.subscription.toLowerCase() && ctx.environment.resourceGroups.some((g) => g.toLowerCase() === group)
  return inEnvironment ? Object.entries(ctx.estate?.identities ?? {}).flatMap(([key, who]) => (key.toLowerCase() === name ? [principalOf(key, who)] : []))[0] : undefined
}

/** The principal a request's bearer token is for (undefined: the default principal). */
export function callerOf(ctx: Pick<EmulatorContext, 'estate'>, request: Pick<EmulatorRequest, 'headers'>): EmulatorPrincipal | undefined {
  const header = request.headers.authorization
  const token = (Array.isArray(header) ? header[0] : header)?.replace(/^Bearer\s+/i, '')
  const payload = token?.split('.')[1]
  if (!payload) return undefined
  try {
    const oid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {oid?: string}).oid
    return oid && oid !== DEFAULT_PRINCIPAL ? principalNamed(ctx, oid.toLowerCase()) : undefined
  } catch {
    return undefined
  }
}

const DEFAULT_ROLES = ['Owner', 'Storage Blob Data Owner']

/**
 * The permission entries a caller holds at a resource group scope (assignments at the subscription or that group);
 * without a group, at the subscription (assignments at the subscription only).
 */
export function permissionsAt(ctx: Pick<EmulatorContext, 'subscription' | 'estate'>, caller: EmulatorPrincipal | undefined, resourceGroup: string | undefined): RolePermission[] {
  const assignments = caller ? caller.roles : DEFAULT_ROLES.map((role) => ({role, scope: undefined}))
  const subscriptionScope = `/subscriptions/${ctx.subscription}`.toLowerCase()
  const groupScope = `${subscriptionScope}/resourcegroups/${resourceGroup}`.toLowerCase()
  const applies = (scope: string | undefined) => {
    if (!scope) return true
    const s = scope.toLowerCase().replace(/\/+$/, '')
    if (!s.startsWith('/')) return resourceGroup !== undefined && s === resourceGroup.toLowerCase()
    return s === subscriptionScope || (resourceGroup !== undefined && s === groupScope)
  }
  return assignments
    .filter((a) => applies(a.scope))
    .map((a) => builtInRole(a.role) ?? BUILT_IN_ROLES[0]!)
    .map((role) => ({actions: role.permissions.actions ?? [], notActions: role.permissions.notActions ?? [], dataActions: role.permissions.dataActions ?? [], notDataActions: role.permissions.notDataActions ?? []}))
}

/** The RBAC operation an ARM request needs, the scope ARM names in a refusal, and the resource group it is in. */
export function armOperation(method: string, path: string): {operation: string; scope: string; resourceGroup?: string} | undefined {
  const m = /^\/subscriptions\/([^/]+)(\/.*)?$/i.exec(path)
  if (!m) return undefined
  const rest = (m[2] ?? '').split('/').filter(Boolean).map(decode)
  const resourceGroup = rest[0]?.toLowerCase() === 'resourcegroups' ? rest[1] : undefined
  // The innermost provider owns the operation (extension resources: …/providers/Microsoft.Insights/metrics).
  const at = rest.map((s) => s.toLowerCase()).lastIndexOf('providers')
  const namespace = at >= 0 ? rest[at + 1] : 'Microsoft.Resources'
  if (!namespace) return undefined
  // Segments alternate type/name: `subscriptions/{id}/resourceGroups/{name}` outside a provider.
  const segments = at >= 0 ? rest.slice(at + 2) : ['subscriptions', m[1]!, ...rest]
  const types = segments.filter((_, i) => i % 2 === 0)
  const verb = method === 'GET' || method === 'HEAD' ? 'read' : method === 'DELETE' ? 'delete' : 'write'
  const isAction = method === 'POST' && segments.length % 2 === 1
  const operation = isAction ? `${namespace}/${types.join('/')}/action` : `${namespace}/${[...types, verb].join('/')}`
  return {operation, scope: isAction ? path.slice(0, path.lastIndexOf('/')) : path, ...(resourceGroup ? {resourceGroup} : {})}
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * ARM's answer to a call the caller's roles do not grant (403 AuthorizationFailed), or undefined when allowed. Only
 * estate identities are checked; the emulator's own paths (`…/opsbookData`) and `metrics:getBatch` on Monitor's data
 * plane are not ARM operations (the latter answers its own 401, metricsBatchRefusal).
 */
export function authorizationFailure(ctx: Pick<EmulatorContext, 'subscription' | 'estate'>, request: Pick<EmulatorRequest, 'headers' | 'method'>, path: string): EmulatorResponse | undefined {
  const caller = callerOf(ctx, request)
  if (!caller || /\/opsbookData$|\/metrics:getBatch$/i.test(path)) return undefined
  const needed = armOperation(request.method, path)
  if (!needed || granted(permissionsAt(ctx, caller, needed.resourceGroup), needed.operation)) return undefined
  return armError(
    403,
    'AuthorizationFailed',
    `The client '${caller.objectId}' with object id '${caller.objectId}' does not have authorization to perform action '${needed.operation}' over scope '${needed.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  )
}

/**
 * The metrics batch API (`POST /subscriptions/{sub}/metrics:getBatch`, Monitor's data plane) is a subscription-level
 * API: "users must have the Monitoring Reader permission for the queried subscription to use the batch API. Even if
 * users have Monitoring Reader on all the resources being queried in the batch API, the request fails if the user
 * doesn't have Monitoring Reader on the subscription itself", under "401 authorization errors"
 * (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api#401-authorization-errors;
 * MicrosoftDocs/azure-monitor-docs articles/azure-monitor/metrics/migrate-to-batch-api.md @ 0f267057). So an estate
 * identity without Microsoft.Insights/metrics/read from a role assigned at the subscription is answered 401. The page
 * gives no body: the batch API's documented error shape `{error: {code, message}}` (same page, "Error response
 * changes") with the status's name as the code (a marked guess). Searched again (stop 26, 2026-12-03), no 401 body
 * found: the page @ 0f267057 re-read; the spec's metricBatch examples (the 2023-03-01-preview example's `default`
 * answer is ARM's ExpiredAuthenticationToken, no status given, Azure/azure-rest-api-specs#23336); GitHub issues on
 * metrics:getBatch (grafana/grafana #123697/#127114, elastic/beats#41790,
 * open-telemetry/opentelemetry-collector-contrib#40078); Azure/azure-sdk-assets recordings of the batch client (js
 * monitor-query-metrics, python azure-monitor-query test_metrics_batch_client: successful queries only). The one real
 * batch error body seen (elastic/beats#41790, a 500) is `{"error": {"additionalInfo": [{"type": "string", "info":
 * "TraceId=…"}, {"type": "string", "info": "ExceptionType=…"}], "code": "InternalServerError", "message": "Detected
 * Internal Error."}}`: the same {error: {code, message}} envelope as here (without the additionalInfo), a code named
 * after the status. Stop 28 (specs8): the batch API's own spec (metricBatch.json 2023-10-01 / 2024-02-01, data plane) was
 * read on the specs' main line (git d9a3b783): its `default` response is common-types v5 ErrorResponse with an
 * `x-ms-error-code` header, and its only error examples (MetricBatchExample*.json) are 400 BadRequest — no 401 or 529
 * body; the answer now carries that header (services/monitor.ts withBatchErrorCode). Also searched: the code corpus for
 * metrics:getBatch 401 recordings (nothing), the issues corpus (nothing new). The code `Unauthorized` stays a guess.
 */
export function metricsBatchRefusal(ctx: Pick<EmulatorContext, 'subscription' | 'estate'>, request: Pick<EmulatorRequest, 'headers'>): EmulatorResponse | undefined {
  const caller = callerOf(ctx, request)
  if (!caller || granted(permissionsAt(ctx, caller, undefined), 'Microsoft.Insights/metrics/read')) return undefined
  return armError(
    401,
    'Unauthorized',
    `The client '${caller.objectId}' does not have Microsoft.Insights/metrics/read on subscription '${ctx.subscription}': the metrics batch API needs Monitoring Reader (or another role with it) assigned on the subscription itself.`,
  )
}

export function routes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Authorization/permissions',
      operation: 'authorization.permissions.listForResourceGroup',
      handler: (request, p) => checkScope(ctx, p.sub!, p.rg!) ?? paged(request, permissionsAt(ctx, callerOf(ctx, request), p.rg!)),
    },
  ]
}
