/**
 * RBAC: which of the permissions a run needs the caller holds on a scope, asked of Azure itself.
 *
 * ARM's permissions operation answers, for the caller, one entry per role it holds at or above the scope:
 * `GET /subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`
 * → `{value: [{actions, notActions, dataActions, notDataActions}], nextLink}` (Permissions_ListForResourceGroup,
 * Azure/azure-rest-api-specs specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
 * authorization-RoleDefinitionsCalls.json @ 007a51db374076edb902fd44eb8299eea6336335; there is no subscription-level
 * variant). A role grants an action when one of its `actions` matches it and none of *that role's* `notActions` does —
 * NotActions subtract within the role, they are not denies (https://learn.microsoft.com/en-us/azure/role-based-access-control/role-definitions#notactions).
 * `*` is a wildcard over any characters; matching is case-insensitive. Blob data operations
 * (`…/blobServices/containers/blobs/…`) are data actions and are matched against `dataActions`/`notDataActions`
 * (https://learn.microsoft.com/en-us/azure/role-based-access-control/role-definitions#dataactions). Deny assignments
 * and conditions are not evaluated: a permission found here can still be refused by a deny assignment.
 */

export interface RolePermission {
  actions?: string[]
  notActions?: string[]
  dataActions?: string[]
  notDataActions?: string[]
}

/** Whether an RBAC operation is a data action (Blob data plane) rather than a management action. */
export function isDataAction(operation: string): boolean {
  return /\/blobServices\/containers\/blobs(\/|$)/i.test(operation)
}

/** `pattern` (with `*` wildcards) matches `operation`, case-insensitively. */
export function operationMatches(pattern: string, operation: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i')
  return regex.test(operation)
}

/** Whether one role's permission entry grants `operation`. */
export function entryGrants(entry: RolePermission, operation: string): boolean {
  const data = isDataAction(operation)
  const allow = (data ? entry.dataActions : entry.actions) ?? []
  const deny = (data ? entry.notDataActions : entry.notActions) ?? []
  return allow.some((p) => operationMatches(p, operation)) && !deny.some((p) => operationMatches(p, operation))
}

/** Whether any of the caller's entries (as the permissions API returns them) grants `operation`. */
export function granted(entries: RolePermission[], operation: string): boolean {
  return entries.some((entry) => entryGrants(entry, operation))
}

export interface BuiltInRole {
  name: string
  /** Role definition id (the GUID is the same in every tenant). */
  id: string
  permissions: RolePermission
}

/**
 * The built-in roles opsbook suggests, narrowest first (the first that grants a missing permission is named). Copied
 * from https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles (general, databases,
 * web-and-mobile, storage pages). There is no built-in role for PostgreSQL flexible server management: Contributor.
 */
export const BUILT_IN_ROLES: BuiltInRole[] = [
  {name: 'Reader', id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7', permissions: {actions: ['*/read']}},
  {
    name: 'Storage Blob Data Reader',
    id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
    permissions: {
      actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/read', 'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action'],
      dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
    },
  },
  {
    name: 'Storage Blob Data Contributor',
    id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    permissions: {
      actions: [
        'Microsoft.Storage/storageAccounts/blobServices/containers/delete',
        'Microsoft.Storage/storageAccounts/blobServices/containers/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/write',
        'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
      ],
      dataActions: [
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
      ],
    },
  },
  {
    // The narrowest built-in role with the blob tag data actions (blobs/*): an export SAS's `t` needs them
    // (src/actions/redis.ts SAS_LETTER_DATA_ACTIONS); Storage Blob Data Contributor has none of them.
    name: 'Storage Blob Data Owner',
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    permissions: {
      actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/*', 'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action'],
      dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'],
    },
  },
  {
    name: 'Redis Cache Contributor',
    id: 'e0f68234-74aa-48ed-b826-c38b57376e17',
    permissions: {
      actions: [
        'Microsoft.Authorization/*/read',
        'Microsoft.Cache/register/action',
        'Microsoft.Cache/redis/*',
        'Microsoft.Insights/alertRules/*',
        'Microsoft.ResourceHealth/availabilityStatuses/read',
        'Microsoft.Resources/deployments/*',
        'Microsoft.Resources/subscriptions/resourceGroups/read',
        'Microsoft.Support/*',
      ],
    },
  },
  {
    name: 'Website Contributor',
    id: 'de139f84-1756-47ae-9be6-808fbbe84772',
    permissions: {
      actions: [
        'Microsoft.Authorization/*/read',
        'Microsoft.Insights/alertRules/*',
        'Microsoft.Insights/components/*',
        'Microsoft.ResourceHealth/availabilityStatuses/read',
        'Microsoft.Resources/deployments/*',
        'Microsoft.Resources/subscriptions/resourceGroups/read',
        'Microsoft.Support/*',
        'Microsoft.Web/certificates/*',
        'Microsoft.Web/listSitesAssignedToHostName/read',
        'Microsoft.Web/serverFarms/join/action',
        'Microsoft.Web/serverFarms/read',
        'Microsoft.Web/sites/*',
      ],
    },
  },
  {
    name: 'Contributor',
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    permissions: {
      actions: ['*'],
      notActions: [
        'Microsoft.Authorization/*/Delete',
        'Microsoft.Authorization/*/Write',
        'Microsoft.Authorization/elevateAccess/Action',
        'Microsoft.Blueprint/blueprintAssignments/write',
        'Microsoft.Blueprint/blueprintAssignments/delete',
        'Microsoft.Compute/galleries/share/action',
        'Microsoft.Purview/consents/write',
        'Microsoft.Purview/consents/delete',
        'Microsoft.Resources/deploymentStacks/manageDenySetting/action',
        'Microsoft.Subscription/cancel/action',
        'Microsoft.Subscription/enable/action',
      ],
    },
  },
  {name: 'Owner', id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', permissions: {actions: ['*']}},
]

/** A built-in role by name (case-insensitive). */
export function builtInRole(name: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.name.toLowerCase() === name.toLowerCase())
}

/** The narrowest built-in role that grants `operation` (undefined: none of the table's does). */
export function roleGranting(operation: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((role) => entryGrants(role.permissions, operation))
}

export const PERMISSIONS_API_VERSION = '2022-04-01'

/** The resource group scope an ARM path lies in, e.g. `/subscriptions/s/resourceGroups/rg`; undefined when it has none. */
export function resourceGroupScope(path: string): string | undefined {
  const m = /^\/?subscriptions\/([^/<>]+)\/resourceGroups\/([^/<>]+)/i.exec(path)
  return m ? `/subscriptions/${m[1]}/resourceGroups/${m[2]}` : undefined
}

/** What the caller holds on a resource group scope (every page). */
export async function listPermissions(
  arm: (method: 'GET', pathOrUrl: string, options?: {apiVersion?: string; signal?: AbortSignal}) => Promise<{status: number; body: any}>,
  scope: string,
  signal?: AbortSignal,
): Promise<RolePermission[]> {
  const entries: RolePermission[] = []
  let next: string | undefined = `${scope}/providers/Microsoft.Authorization/permissions`
  for (let page = 0; next && page < 50; page++) {
    const response = await arm('GET', next, {apiVersion: PERMISSIONS_API_VERSION, signal})
    if (response.status !== 200) {
      const message = response.body?.error?.message ?? `HTTP ${response.status}`
      throw Object.assign(new Error(`cannot read the caller's permissions on ${scope}: ${response.body?.error?.code ?? response.status}: ${message}`), {
        statusCode: response.status,
        code: response.body?.error?.code,
      })
    }
    entries.push(...((response.body?.value ?? []) as RolePermission[]))
    next = response.body?.nextLink
  }
  return entries
}
