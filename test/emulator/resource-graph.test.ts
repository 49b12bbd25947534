import {Agent} from 'node:https'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ResourceGraphClient} from '@azure/arm-resourcegraph'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {credentialFor, hlcOptions} from './helpers.js'


// The queries opsbook's security checklist sends (notes/security-checks.md §b).
const INVENTORY = `resources
| where type in~ ('microsoft.dbforpostgresql/flexibleservers','microsoft.cache/redis',
  'microsoft.web/sites','microsoft.web/sites/slots','microsoft.storage/storageaccounts','microsoft.keyvault/vaults')
| project id=tolower(id), type, kind, name, subscriptionId, resourceGroup, location, tags, sku, identity, properties`
const SITE_CONFIG = `appserviceresources
| where type in~ ('microsoft.web/sites/config','microsoft.web/sites/slots/config')
| project siteId=tolower(tostring(split(id,'/config/')[0])), properties`
const LOCKS = `resources | where type =~ 'microsoft.authorization/locks'
| extend lid=tolower(id) | extend scope=substring(lid,0,indexof(lid,'/providers/microsoft.authorization/locks/'))
| project scope, level=tostring(properties.level)`

let emulator: RunningEmulator
let client: ResourceGraphClient

beforeAll(async () => {
  // Locks are not in the catalog: the estate (an opsbook.estate.yaml) declares one.
  emulator = await startEmulator({lroDurationMs: 0, estate: {resources: {'pg-shop-orders': {locks: [{name: 'do-not-delete', level: 'CanNotDelete'}]}}}})
  // This file sends more than Azure's 15 queries per 5 s on a fast machine, and its subject is the query language, not
  // the quota (test/checks/fleet.test.ts covers throttling): a roomier window keeps it about what it tests.
  emulator.faults.set({graphQuota: {queries: 1000, windowMs: 5000}})
  const {ResourceGraphClient} = await import('@azure/arm-resourcegraph')
  client = new ResourceGraphClient(credentialFor(emulator) as never, {baseUri: emulator.armEndpoint, agentSettings: {http: undefined as never, https: new Agent({ca: emulator.caPem})}})
})

afterAll(async () => {
  await emulator?.stop()
})

describe('Resource Graph through @azure/arm-resourcegraph 4.2.1', () => {
  it('lists every in-scope resource of the emulator in ARG form', async () => {
    const result = await client.resources({subscriptions: [emulator.subscription], query: INVENTORY, options: {resultFormat: 'objectArray'}})
    const rows = result.data as Array<Record<string, any>>
    expect(result.totalRecords).toBe(rows.length)
    const byType = (type: string) => rows.filter((r) => r.type === type).map((r) => r.name).sort()
    expect(byType('microsoft.web/sites')).toEqual(['app-shop-storefront', 'app-shop-storefront-dr'])
    expect(byType('microsoft.web/sites/slots')).toEqual(['app-shop-storefront-dr/staging', 'app-shop-storefront/staging'])
    expect(byType('microsoft.dbforpostgresql/flexibleservers')).toEqual(['pg-shop-orders', 'pg-shop-orders-dr'])
    expect(byType('microsoft.cache/redis')).toEqual(['redis-shop-sessions'])
    expect(byType('microsoft.storage/storageaccounts')).toEqual(['stshopevidence', 'stshopsnapshots'])
    expect(byType('microsoft.keyvault/vaults')).toEqual(['kv-shop-local'])
    const site = rows.find((r) => r.type === 'microsoft.web/sites')!
    expect(site.id).toBe(site.id.toLowerCase())
    expect(site.location).toBe('eastus')
    expect(site.properties.httpsOnly).toBe(true)
    expect(Object.keys(site)).toEqual(['id', 'type', 'kind', 'name', 'subscriptionId', 'resourceGroup', 'location', 'tags', 'sku', 'identity', 'properties'])
  })

  it('reads site and slot config from appserviceresources, and reflects changes made through ARM', async () => {
    const read = async () => (await client.resources({query: SITE_CONFIG})).data as Array<{siteId: string; properties: Record<string, unknown>}>
    const before = await read()
    expect(before.map((r) => r.siteId).sort()).toEqual([
      `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-local/providers/microsoft.web/sites/app-shop-storefront`,
      `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-local/providers/microsoft.web/sites/app-shop-storefront-dr`,
      `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-local/providers/microsoft.web/sites/app-shop-storefront-dr/slots/staging`,
      `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-local/providers/microsoft.web/sites/app-shop-storefront/slots/staging`,
    ])
    const {WebSiteManagementClient} = await import('@azure/arm-appservice')
    const web = new WebSiteManagementClient(credentialFor(emulator), emulator.subscription, {endpoint: emulator.armEndpoint, tlsOptions: {ca: emulator.caPem}})
    await web.webApps.updateConfigurationSlot('rg-shop-local', 'app-shop-storefront', 'staging', {minTlsVersion: '1.0'})
    const after = await read()
    expect(after.find((r) => r.siteId.endsWith('/app-shop-storefront/slots/staging'))!.properties.minTlsVersion).toBe('1.0')
  })

  it('holds no management locks, as no Resource Graph table lists microsoft.authorization/locks; ARM\'s locks API has them', async () => {
    // supported-tables-resources: `resources` has no microsoft.authorization/locks, `authorizationresources` only
    // classicadministrators, roleassignments and roledefinitions.
    expect((await client.resources({query: LOCKS})).data).toEqual([])
    const {ManagementLockClient} = await import('@azure/arm-locks')
    const locks = new ManagementLockClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const listed = []
    for await (const lock of locks.managementLocks.listAtSubscriptionLevel()) listed.push([lock.name, lock.level, lock.id!.toLowerCase().split('/providers/microsoft.authorization/')[0]])
    expect(listed).toEqual([['do-not-delete', 'CanNotDelete', `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-local/providers/microsoft.dbforpostgresql/flexibleservers/pg-shop-orders`]])
  })

  it('pages with $skipToken and a small $top, and can answer in table format', async () => {
    const all = (await client.resources({query: 'resources | project id'})).data as Array<{id: string}>
    const seen: string[] = []
    let skipToken: string | undefined
    let pages = 0
    do {
      const page = await client.resources({query: 'resources | project id', options: {top: 3, skipToken}})
      expect(page.totalRecords).toBe(all.length)
      expect(page.count).toBeLessThanOrEqual(3)
      seen.push(...(page.data as Array<{id: string}>).map((r) => r.id))
      skipToken = page.skipToken
      pages++
    } while (skipToken)
    expect(pages).toBe(Math.ceil(all.length / 3))
    expect(seen).toEqual(all.map((r) => r.id))

    const table = await client.resources({query: 'resourcecontainers | project name, type', options: {resultFormat: 'table'}})
    const data = table.data as {columns: Array<{name: string; type: string}>; rows: unknown[][]}
    expect(data.columns).toEqual([
      {name: 'name', type: 'string'},
      {name: 'type', type: 'string'},
    ])
    expect(data.rows).toContainEqual(['rg-shop-local', 'microsoft.resources/subscriptions/resourcegroups'])
  })

  it('rejects a query outside the supported subset with a 400 that names the construct', async () => {
    for (const [query, construct] of [
      ['resources | summarize count() by type', "'summarize'"],
      ['policyresources | take 1', "'policyresources'"],
      ['resources | project x = parse_json(id)', "'parse_json()'"],
    ] as const) {
      const error = await client.resources({query}).then(
        () => undefined,
        (e: {statusCode?: number; code?: string; message?: string}) => e,
      )
      expect(error).toMatchObject({statusCode: 400, code: 'BadRequest'})
      expect(error?.message).toContain(construct)
    }
  })
})
