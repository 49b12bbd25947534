import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {credential, hlcOptions, modularOptions, RG} from '../helpers.js'

let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 300})
})
afterAll(async () => emulator?.stop())

describe('storage, key vault, locks through the unmodified SDKs', () => {
  it('serves storage accounts with their security properties, keys and container immutability', async () => {
    const {StorageManagementClient} = await import('@azure/arm-storage')
    const client = new StorageManagementClient(credential, emulator.subscription, modularOptions(emulator))
    const accounts = []
    for await (const a of client.storageAccounts.list()) accounts.push(a)
    const evidence = accounts.find((a) => a.name === 'stshopevidence')!
    const snapshots = accounts.find((a) => a.name === 'stshopsnapshots')!
    expect(evidence.allowBlobPublicAccess).toBe(false)
    expect(evidence.minimumTlsVersion).toBe('TLS1_2')
    expect(snapshots.allowBlobPublicAccess).toBe(true)
    expect(snapshots.minimumTlsVersion).toBe('TLS1_0')
    const keys = await client.storageAccounts.listKeys(RG, 'stshopevidence')
    expect(keys.keys?.[0]?.value).toBe(emulator.blob.key)
    const container = await client.blobContainers.get(RG, 'stshopevidence', 'opsbook-evidence')
    expect(container.hasImmutabilityPolicy).toBe(true)
    expect(container.hasLegalHold).toBe(false)
    await expect(client.blobContainers.get(RG, 'stshopevidence', 'no-such-container')).rejects.toMatchObject({statusCode: 404})
  })

  it('serves the key vault with purge protection missing (a deliberate gap)', async () => {
    const {KeyVaultManagementClient} = await import('@azure/arm-keyvault')
    const client = new KeyVaultManagementClient(credential, emulator.subscription, {...modularOptions(emulator), credentials: {scopes: ['https://management.azure.com/.default']}})
    const vault = await client.vaults.get(RG, 'kv-shop-local')
    expect(vault.properties.enableSoftDelete).toBe(true)
    expect(vault.properties.enablePurgeProtection).toBeUndefined()
    expect(vault.properties.enableRbacAuthorization).toBe(true)
  })

  it('lists and creates management locks at subscription, resource group and resource scope', async () => {
    const {ManagementLockClient} = await import('@azure/arm-locks')
    const client = new ManagementLockClient(credential, emulator.subscription, hlcOptions(emulator))
    const all = []
    for await (const lock of client.managementLocks.listAtSubscriptionLevel()) all.push(lock.id)
    expect(all.some((id) => id?.includes('flexibleServers/pg-shop-orders/'))).toBe(true)
    await client.managementLocks.createOrUpdateAtResourceGroupLevel(RG, 'rg-lock', {level: 'CanNotDelete', notes: 'test'})
    const atRedis = []
    for await (const lock of client.managementLocks.listAtResourceLevel(RG, 'Microsoft.Cache', '', 'redis', 'redis-shop-sessions')) atRedis.push(lock.name)
    expect(atRedis).toContain('rg-lock')
  })
})
