/**
 * Who is calling, and what they may do: the emulator's side of Azure RBAC.
 *
 * - The managed-identity token endpoint signs in as one of the estate's `identities` when asked for it by client id,
 *   object id or name (`client_id` / `object_id` / `principal_id` query parameters, as a user-assigned identity is
 *   asked for in App Service: https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference);
 *   anything else gets the default principal. Unknown ids fall back to the default so an AZURE_CLIENT_ID meant for
 *   real Azure does not break emulator runs.
 * - `GET /subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions` (api-version
 *   2022-04-01, Permissions_ListForResourceGroup in azure-rest-api-specs authorization-RoleDefinitionsCalls.json)
 *   answers the caller's role permissions at or above the resource group, one entry per role assignment, from the
 *   built-in role definitions (src/azure/permissions.ts). The caller is the bearer token's `oid` claim.
 * The default principal holds Owner and Storage Blob Data Contributor on the subscription (Owner alone has no data
 * actions in Azure), so everything that worked before identities existed still does.
 */
import {createHash} from 'node:crypto'
import {BUILT_IN_ROLES, builtInRole, type RolePermission} from '../../azure/permissions.js'
import {checkScope, paged} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import type {EstateIdentity} from '../estate.js'
import type {EmulatorRequest, Route} from '../types.js'

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

/** The estate's principal named (by name, client id or object id) in a token request, if any. */
export function requestedPrincipal(ctx: Pick<EmulatorContext, 'estate'>, requested: string | undefined | null): EmulatorPrincipal | undefined {
  if (!requested) return undefined
  const wanted = requested.toLowerCase()
  for (const [name, who] of Object.entries(ctx.estate?.identities ?? {})) {
    const principal = principalOf(name, who)
    if ([principal.name, principal.clientId, principal.objectId].some((id) => id.toLowerCase() === wanted)) return principal
  }
  return undefined
}

/** The principal a request's bearer token is for (undefined: the default principal). */
export function callerOf(ctx: Pick<EmulatorContext, 'estate'>, request: Pick<EmulatorRequest, 'headers'>): EmulatorPrincipal | undefined {
  const header = request.headers.authorization
  const token = (Array.isArray(header) ? header[0] : header)?.replace(/^Bearer\s+/i, '')
  const payload = token?.split('.')[1]
  if (!payload) return undefined
  try {
    const oid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {oid?: string}).oid
    return oid && oid !== DEFAULT_PRINCIPAL ? requestedPrincipal(ctx, oid) : undefined
  } catch {
    return undefined
  }
}

const DEFAULT_ROLES = ['Owner', 'Storage Blob Data Contributor']

/** The permission entries a caller holds at a resource group scope (assignments at the subscription or that group). */
export function permissionsAt(ctx: Pick<EmulatorContext, 'subscription' | 'estate'>, caller: EmulatorPrincipal | undefined, resourceGroup: string): RolePermission[] {
  const assignments = caller ? caller.roles : DEFAULT_ROLES.map((role) => ({role, scope: undefined}))
  const subscriptionScope = `/subscriptions/${ctx.subscription}`.toLowerCase()
  const groupScope = `${subscriptionScope}/resourcegroups/${resourceGroup}`.toLowerCase()
  const applies = (scope: string | undefined) => {
    if (!scope) return true
    const s = scope.toLowerCase().replace(/\/+$/, '')
    if (!s.startsWith('/')) return s === resourceGroup.toLowerCase()
    return s === subscriptionScope || s === groupScope
  }
  return assignments
    .filter((a) => applies(a.scope))
    .map((a) => builtInRole(a.role) ?? BUILT_IN_ROLES[0]!)
    .map((role) => ({actions: role.permissions.actions ?? [], notActions: role.permissions.notActions ?? [], dataActions: role.permissions.dataActions ?? [], notDataActions: role.permissions.notDataActions ?? []}))
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
