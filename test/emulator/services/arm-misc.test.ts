import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {credentialFor, hlcOptions, modularOptions, RG} from '../helpers.js'

let emulator: RunningEmulator

/** Settings beyond the catalog (an opsbook.estate.yaml); everything else is at Azure's defaults. */
const estate = {
  resources: {
    stshopevidence: {properties: {minimumTlsVersion: 'TLS1_2'}},
    'kv-shop-local': {
      keys: [{name: 'cmk-storage', enabled: true, expires: '2027-06-30T00:00:00Z', rotateAfter: 'P90D'}],
      secrets: [
        {name: 'db-connection-string', enabled: true, expires: '2027-06-30T00:00:00Z'},
        {name: 'legacy-api-token', enabled: true},
      ],
    },
    'pg-shop-orders': {locks: [{name: 'do-not-delete', level: 'CanNotDelete' as const}]},
  },
}

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 300, estate})
})
afterAll(async () => emulator?.stop())

describe('storage, key vault, locks through the unmodified SDKs', () => {
  it('serves storage accounts with their security properties, keys and container immutability', async () => {
    const {StorageManagementClient} = await import('@azure/arm-storage')
    const client = new StorageManagementClient(credentialFor(emulator), emulator.subscription, modularOptions(emulator))
    const accounts = []
    for await (const a of client.storageAccounts.list()) accounts.push(a)
    const evidence = accounts.find((a) => a.name === 'stshopevidence')!
    const snapshots = accounts.find((a) => a.name === 'stshopsnapshots')!
    // The estate sets TLS 1.2 on the evidence account; the other keeps storage.json's default interpretation, TLS 1.0.
    expect(evidence.allowBlobPublicAccess).toBe(false)
    expect(evidence.minimumTlsVersion).toBe('TLS1_2')
    expect(snapshots.allowBlobPublicAccess).toBe(false)
    expect(snapshots.minimumTlsVersion).toBe('TLS1_0')
    expect(snapshots.allowSharedKeyAccess).toBeUndefined()
    expect(snapshots.keyPolicy).toBeUndefined()
    const keys = await client.storageAccounts.listKeys(RG, 'stshopevidence')
    expect(keys.keys?.[0]?.value).toBe(emulator.blob.key)
    const container = await client.blobContainers.get(RG, 'stshopevidence', 'opsbook-evidence')
    expect(container.hasImmutabilityPolicy).toBe(true)
    expect(container.hasLegalHold).toBe(false)
    await expect(client.blobContainers.get(RG, 'stshopevidence', 'no-such-container')).rejects.toMatchObject({statusCode: 404})
  })

  it('serves the key vault at its api-version defaults: soft delete and RBAC on, no purge protection, no network ACLs', async () => {
    const {KeyVaultManagementClient} = await import('@azure/arm-keyvault')
    const client = new KeyVaultManagementClient(credentialFor(emulator), emulator.subscription, {...modularOptions(emulator), credentials: {scopes: ['https://management.azure.com/.default']}})
    const vault = await client.vaults.get(RG, 'kv-shop-local')
    expect(vault.properties.enableSoftDelete).toBe(true)
    expect(vault.properties.enablePurgeProtection).toBeUndefined()
    expect(vault.properties.enableRbacAuthorization).toBe(true)
    expect(vault.properties.networkAcls).toBeUndefined()
  })

  it('lists vault keys and secrets on the management plane (paged, never a secret value), creates them, 404s the unknown', async () => {
    const {KeyVaultManagementClient} = await import('@azure/arm-keyvault')
    const client = new KeyVaultManagementClient(credentialFor(emulator), emulator.subscription, {...modularOptions(emulator), credentials: {scopes: ['https://management.azure.com/.default']}})
    const requestsFrom = emulator.requestLog().length
    const list = async <T,>(items: AsyncIterable<T>) => {
      const out: T[] = []
      for await (const item of items) out.push(item)
      return out
    }
    // From the estate: a key that expires and rotates itself; secrets, one of them without an expiry.
    // The list returns attributes and keyUri only (spec example listKeys.json); the GET returns the whole key.
    const [listed] = await list(client.keys.list(RG, 'kv-shop-local'))
    expect(listed).toMatchObject({name: 'cmk-storage', type: 'Microsoft.KeyVault/vaults/keys', attributes: {enabled: true}})
    expect(listed!.kty).toBeUndefined()
    expect(listed!.rotationPolicy).toBeUndefined()
    const key = await client.keys.get(RG, 'kv-shop-local', 'cmk-storage')
    expect(key).toMatchObject({name: 'cmk-storage', kty: 'RSA', attributes: {enabled: true}})
    expect(typeof key.attributes!.expires).toBe('number')
    expect(key.rotationPolicy!.lifetimeActions!.map((a) => [a.action?.type, a.trigger])).toEqual([['Rotate', {timeAfterCreate: 'P90D', timeBeforeExpiry: undefined}]])
    const wire: string[] = []
    await client.secrets.createOrUpdate(RG, 'kv-shop-local', 'api-key', {properties: {value: 'hunter2-do-not-echo', attributes: {expires: new Date('2027-01-01T00:00:00Z')}}}, {
      onResponse: (raw) => wire.push(raw.bodyAsText ?? ''),
    })
    // Secrets_List's $top sets the page size (2 here: two pages through an absolute nextLink); without it the three
    // secrets come in one page of up to 25, the size Key Vault documents for these collections.
    const secrets = await list(client.secrets.list(RG, 'kv-shop-local', {top: 2, onResponse: (raw) => wire.push(raw.bodyAsText ?? '')}))
    expect(secrets.map((s) => [s.name, s.properties.attributes?.enabled, s.properties.attributes?.expires?.toISOString()])).toEqual([
      ['db-connection-string', true, expect.any(String)],
      ['legacy-api-token', true, undefined],
      ['api-key', true, '2027-01-01T00:00:00.000Z'],
    ])
    expect(wire.join('\n')).not.toContain('hunter2')
    expect(wire.some((w) => w.includes('"nextLink"'))).toBe(true)
    const listsBefore = emulator.requestLog().filter((e) => e.operation === 'keyvault.secrets.list').length
    expect((await list(client.secrets.list(RG, 'kv-shop-local'))).map((s) => s.name)).toEqual(['db-connection-string', 'legacy-api-token', 'api-key'])
    expect(emulator.requestLog().filter((e) => e.operation === 'keyvault.secrets.list').length - listsBefore).toBe(1)
    const updated = await client.secrets.update(RG, 'kv-shop-local', 'legacy-api-token', {properties: {attributes: {enabled: false}}})
    expect(updated.properties.attributes).toMatchObject({enabled: false})
    expect(updated.properties.attributes?.expires).toBeUndefined()

    const created = await client.keys.createIfNotExist(RG, 'kv-shop-local', 'signing', {properties: {kty: 'EC', curveName: 'P-256', attributes: {expires: 1_900_000_000}}})
    expect(created).toMatchObject({name: 'signing', kty: 'EC', attributes: {enabled: true, expires: 1_900_000_000}, rotationPolicy: undefined})
    // Create-if-not-exist: a second call changes nothing.
    expect((await client.keys.createIfNotExist(RG, 'kv-shop-local', 'signing', {properties: {kty: 'RSA'}})).kty).toBe('EC')
    await expect(client.keys.createIfNotExist(RG, 'kv-shop-local', 'bad', {properties: {kty: 'DES' as never}})).rejects.toMatchObject({statusCode: 400})
    await expect(client.secrets.createOrUpdate(RG, 'kv-shop-local', 'novalue', {properties: {}})).rejects.toMatchObject({statusCode: 400})
    await expect(client.keys.get(RG, 'kv-shop-local', 'nope')).rejects.toMatchObject({statusCode: 404, code: 'ResourceNotFound'})
    await expect(client.secrets.update(RG, 'kv-shop-local', 'nope', {properties: {contentType: 'x'}})).rejects.toMatchObject({statusCode: 404})
    await expect(list(client.keys.list(RG, 'kv-nope'))).rejects.toMatchObject({statusCode: 404, code: 'ResourceNotFound'})
    await expect(list(client.secrets.list('rg-nope', 'kv-shop-local'))).rejects.toMatchObject({statusCode: 404, code: 'ResourceGroupNotFound'})
    // The api-version arm-keyvault 5 sends.
    expect(new Set(emulator.requestLog().slice(requestsFrom).filter((r) => r.operation !== 'identity.token').map((r) => new URLSearchParams(r.query).get('api-version')))).toEqual(new Set(['2026-02-01']))
  })

  it('lists and creates management locks at subscription, resource group and resource scope', async () => {
    const {ManagementLockClient} = await import('@azure/arm-locks')
    const client = new ManagementLockClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const all = []
    for await (const lock of client.managementLocks.listAtSubscriptionLevel()) all.push(lock.id)
    expect(all.some((id) => id?.includes('flexibleServers/pg-shop-orders/'))).toBe(true)
    await client.managementLocks.createOrUpdateAtResourceGroupLevel(RG, 'rg-lock', {level: 'CanNotDelete', notes: 'test'})
    const atRedis = []
    for await (const lock of client.managementLocks.listAtResourceLevel(RG, 'Microsoft.Cache', '', 'redis', 'redis-shop-sessions')) atRedis.push(lock.name)
    expect(atRedis).toContain('rg-lock')
  })
})

describe('diagnostic settings through the unmodified SDK', () => {
  it('deletes a diagnostic setting (200), then answers 204 for one that is gone', async () => {
    const {MonitorClient} = await import('@azure/arm-monitor')
    const monitor = new MonitorClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const vault = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-shop-local`
    await monitor.diagnosticSettings.createOrUpdate(vault, 'to-delete', {logs: [{category: 'AuditEvent', enabled: true}], workspaceId: `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.OperationalInsights/workspaces/law-shop`})
    const names = async () => ((await monitor.diagnosticSettings.list(vault)).value ?? []).map((d) => d.name)
    expect(await names()).toContain('to-delete')
    const statuses: number[] = []
    const onResponse = (r: {status: number}) => statuses.push(r.status)
    await monitor.diagnosticSettings.delete(vault, 'to-delete', {onResponse})
    await monitor.diagnosticSettings.delete(vault, 'to-delete', {onResponse})
    expect(statuses).toEqual([200, 204])
    expect(await names()).not.toContain('to-delete')
  })
})
