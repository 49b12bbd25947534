import {describe, expect, it} from 'vitest'
import {builtInRole, entryGrants, granted, isDataAction, operationMatches, resourceGroupScope, roleGranting} from '../../src/azure/permissions.js'

describe('RBAC evaluation', () => {
  it('matches wildcards anywhere, case-insensitively', () => {
    expect(operationMatches('*/read', 'Microsoft.Cache/redis/read')).toBe(true)
    expect(operationMatches('*/read', 'Microsoft.Cache/redis/write')).toBe(false)
    expect(operationMatches('Microsoft.Authorization/*/Write', 'microsoft.authorization/roleAssignments/write')).toBe(true)
    expect(operationMatches('Microsoft.Web/sites/*', 'Microsoft.Web/sites/slots/slotsswap/action')).toBe(true)
    expect(operationMatches('Microsoft.Web/sites/*', 'Microsoft.Web/serverfarms/read')).toBe(false)
  })

  it('subtracts notActions within a role only, and reads blob operations as data actions', () => {
    const contributor = builtInRole('Contributor')!.permissions
    expect(entryGrants(contributor, 'Microsoft.DBforPostgreSQL/flexibleServers/write')).toBe(true)
    expect(entryGrants(contributor, 'Microsoft.Authorization/roleAssignments/write')).toBe(false)
    // Contributor's `*` covers management actions, never data actions.
    expect(isDataAction('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write')).toBe(true)
    expect(entryGrants(contributor, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write')).toBe(false)
    // A notAction of one role does not deny what another role grants.
    expect(granted([contributor, builtInRole('Owner')!.permissions], 'Microsoft.Authorization/roleAssignments/write')).toBe(true)
    expect(granted([{dataActions: ['Microsoft.Storage/*'], notDataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete']}], 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete')).toBe(false)
  })

  it('names the narrowest built-in role that grants a permission', () => {
    expect(roleGranting('Microsoft.DBforPostgreSQL/flexibleServers/read')?.name).toBe('Reader')
    expect(roleGranting('Microsoft.Cache/redis/export/action')?.name).toBe('Redis Cache Contributor')
    expect(roleGranting('Microsoft.Web/sites/slots/slotsswap/action')?.name).toBe('Website Contributor')
    expect(roleGranting('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action')?.name).toBe('Storage Blob Data Contributor')
    // Blob index tags: not in Storage Blob Data Contributor, only in Owner's blobs/* (built-in-roles/storage).
    expect(roleGranting('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write')?.name).toBe('Storage Blob Data Owner')
    expect(roleGranting('Microsoft.DBforPostgreSQL/flexibleServers/write')?.name).toBe('Contributor')
    expect(roleGranting('Microsoft.Authorization/roleAssignments/write')?.name).toBe('Owner')
  })

  it('finds the resource group scope of an ARM path', () => {
    expect(resourceGroupScope('/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Cache/redis/c')).toBe('/subscriptions/s1/resourceGroups/rg-a')
    expect(resourceGroupScope('/subscriptions/s1/providers/Microsoft.Security/pricings')).toBeUndefined()
  })
})
