import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SUPPORTED_API_VERSIONS} from '../../../src/emulator/api-versions.js'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {sendRaw} from '../../contract/http.js'
import {credentialFor, hlcOptions, modularOptions, RG} from '../helpers.js'

let emulator: RunningEmulator

const STORAGE_VERSIONS = SUPPORTED_API_VERSIONS['microsoft.storage']!

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

  it('serves the evidence account of a catalog that does not list it as a component (a run reads its immutability there)', async () => {
    const {mkdtempSync, readFileSync, writeFileSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-evidence-account-'))
    // The repository's catalog without its evidence-store component: the account is only `evidence.storageAccount`.
    const catalog = readFileSync('runbooks.yaml', 'utf8').replace(/\n {6}evidence-store:\n {8}type: storage\n {8}name: stshopevidence\n(?: {8}.*\n)*/, '\n')
    expect(catalog).not.toContain('name: stshopevidence')
    writeFileSync(join(dir, 'runbooks.yaml'), catalog)
    const bare = await startEmulator({catalogFile: join(dir, 'runbooks.yaml'), lroDurationMs: 300})
    try {
      const {StorageManagementClient} = await import('@azure/arm-storage')
      const client = new StorageManagementClient(credentialFor(bare), bare.subscription, modularOptions(bare))
      const account = await client.storageAccounts.getProperties(RG, 'stshopevidence')
      expect(account.name).toBe('stshopevidence')
      const container = await client.blobContainers.get(RG, 'stshopevidence', 'opsbook-evidence')
      expect(container.hasImmutabilityPolicy).toBe(true)
    } finally {
      await bare.stop()
    }
  })

  // Every blob/file-service and container operation the emulator serves, at every Storage api-version it serves, so
  // that each answer is validated against that version's blob.json / file.json (test/contract/global-setup.ts).
  it.each(STORAGE_VERSIONS)('serves blob services, containers with immutability policy and legal hold, and the file service at %s, as blob.json and file.json define them', async (apiVersion) => {
    const {StorageManagementClient} = await import('@azure/arm-storage')
    const client = new StorageManagementClient(credentialFor(emulator), emulator.subscription, {...modularOptions(emulator), apiVersion})
    const probe = `contract-${apiVersion}`
    const services = []
    for await (const s of client.blobServices.list(RG, 'stshopsnapshots')) services.push(s)
    expect(services.map((s) => s.name)).toEqual(['default'])
    const service = await client.blobServices.getServiceProperties(RG, 'stshopsnapshots')
    expect(service.sku?.name).toBe(services[0]!.sku?.name)
    // DeleteRetentionPolicy.allowPermanentDelete is not defined at 2021-06-01 (that version's common.json); later versions have it.
    expect(service.deleteRetentionPolicy?.allowPermanentDelete).toBe(apiVersion <= '2021-06-01' ? undefined : false)

    const created = await client.blobContainers.create(RG, 'stshopsnapshots', probe, {publicAccess: 'None', metadata: {owner: 'contract'}})
    expect(created).toMatchObject({name: probe, publicAccess: 'None', metadata: {owner: 'contract'}, hasImmutabilityPolicy: false})
    // A second PUT answers 200 with the container (BlobContainers_Create: "OK -- The Container is already created").
    expect((await client.blobContainers.create(RG, 'stshopsnapshots', probe, {})).name).toBe(probe)
    const listed = []
    for await (const c of client.blobContainers.list(RG, 'stshopsnapshots')) listed.push(c.name)
    expect(listed).toContain(probe)

    const policy = await client.blobContainers.createOrUpdateImmutabilityPolicy(RG, 'stshopsnapshots', probe, {
      parameters: {immutabilityPeriodSinceCreationInDays: 7, allowProtectedAppendWrites: false},
    })
    expect(policy).toMatchObject({name: 'default', immutabilityPeriodSinceCreationInDays: 7, state: 'Unlocked'})
    expect((await client.blobContainers.getImmutabilityPolicy(RG, 'stshopsnapshots', probe)).immutabilityPeriodSinceCreationInDays).toBe(7)
    expect(await client.blobContainers.setLegalHold(RG, 'stshopsnapshots', probe, {tags: ['audit2026']})).toMatchObject({hasLegalHold: true, tags: ['audit2026']})
    expect((await client.blobContainers.get(RG, 'stshopsnapshots', probe)).legalHold?.tags?.map((t) => t.tag)).toEqual(['audit2026'])
    expect(await client.blobContainers.clearLegalHold(RG, 'stshopsnapshots', probe, {tags: ['audit2026']})).toMatchObject({hasLegalHold: false, tags: []})

    const files = await client.fileServices.getServiceProperties(RG, 'stshopsnapshots')
    expect(files.name).toBe('default')
    expect(typeof files.shareDeleteRetentionPolicy?.enabled).toBe('boolean')
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

  it('lists no managed HSM pools (the catalog describes none) by resource group and subscription, as az keyvault list asks', async () => {
    // az 2.45 asks at 2022-07-01 (ManagedHsms_ListByResourceGroup / ListBySubscription, managedHsm.json): 200 with an
    // empty page, not 404; arm-keyvault 5 asks at 2026-02-01 (the same operations in that version's openapi.json,
    // vendored in the 2026-02-01 keyvault.json cut), and its pager reads the page. Both are validated by the contract
    // suite against their own version's document.
    for (const path of [`/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.KeyVault/managedHSMs`, `/subscriptions/${emulator.subscription}/providers/Microsoft.KeyVault/managedHSMs`]) {
      const answer = await sendRaw(emulator, 'GET', `${path}?api-version=2022-07-01`)
      expect([path, answer.status, answer.body]).toEqual([path, 200, {value: []}])
    }
    const {KeyVaultManagementClient} = await import('@azure/arm-keyvault')
    const client = new KeyVaultManagementClient(credentialFor(emulator), emulator.subscription, {...modularOptions(emulator), credentials: {scopes: ['https://management.azure.com/.default']}})
    const pools: unknown[] = []
    for await (const pool of client.managedHsms.listByResourceGroup(RG)) pools.push(pool)
    for await (const pool of client.managedHsms.listBySubscription()) pools.push(pool)
    expect(pools).toEqual([])
    expect(emulator.requestLog().filter((e) => /\/managedHSMs$/i.test(e.path) && e.query.includes('api-version=2026-02-01')).map((e) => e.status)).toEqual([200, 200])
  })

  it("lists every Defender plan Azure lists (Free unless enabled), filters with Pricings_List's documented `name in (…)`, and reads any of them", async () => {
    const pricings = `/subscriptions/${emulator.subscription}/providers/Microsoft.Security/pricings`
    const all = (await sendRaw(emulator, 'GET', `${pricings}?api-version=2024-01-01`)).body as {value: Array<{name: string; properties: Record<string, unknown>}>}
    // The thirteen plans of the spec's ListPricings_example.json, Azure's published answer.
    expect(all.value.map((p) => p.name).sort()).toEqual(
      ['AppServices', 'Arm', 'CloudPosture', 'ContainerRegistry', 'Containers', 'Dns', 'KeyVaults', 'KubernetesService', 'OpenSourceRelationalDatabases', 'SqlServerVirtualMachines', 'SqlServers', 'StorageAccounts', 'VirtualMachines'].sort(),
    )
    expect(all.value.find((p) => p.name === 'KubernetesService')?.properties).toMatchObject({pricingTier: 'Free', deprecated: true, replacedBy: ['Containers']})
    const filtered = (await sendRaw(emulator, 'GET', `${pricings}?api-version=2024-01-01&$filter=${encodeURIComponent('name in (VirtualMachines,KeyVaults)')}`)).body as typeof all
    expect(filtered.value.map((p) => p.name).sort()).toEqual(['KeyVaults', 'VirtualMachines'])
    const dns = await sendRaw(emulator, 'GET', `${pricings}/Dns?api-version=2024-01-01`)
    expect([dns.status, (dns.body as {properties: {pricingTier: string}}).properties.pricingTier]).toEqual([200, 'Free'])
    expect((await sendRaw(emulator, 'GET', `${pricings}/NoSuchPlan?api-version=2024-01-01`)).status).toBe(404)
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
