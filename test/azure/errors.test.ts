import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AzureError, toAzureError, withArmReason} from '../../src/azure/errors.js'
import {startFixture, type Fixture} from './helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})

describe('toAzureError', () => {
  it('turns a 409 for a slot prepared for swap into its ARM code, message, correlation id and a reset hint', async () => {
    const web = await fixture.services.web()
    // Azure refuses a swap with preview while Easy Auth is on in either slot (the seeded app has it on): off for this test.
    const easyAuth = async (enabled: boolean) => {
      await web.webApps.updateAuthSettingsV2('rg-shop-local', 'app-shop-storefront', {platform: {enabled}})
      await web.webApps.updateAuthSettingsV2Slot('rg-shop-local', 'app-shop-storefront', 'staging', {platform: {enabled}})
    }
    await easyAuth(false)
    await web.webApps.applySlotConfigToProduction('rg-shop-local', 'app-shop-storefront', {targetSlot: 'staging', preserveVnet: true})
    try {
      const raw = await web.webApps
        .updateConfiguration('rg-shop-local', 'app-shop-storefront', {minTlsVersion: '1.2'} as never)
        .then(() => undefined, (e: unknown) => e)
      const error = toAzureError(raw, {operation: 'update the site configuration'})
      expect(error).toBeInstanceOf(AzureError)
      const azure = error as AzureError
      expect(azure.statusCode).toBe(409)
      expect(azure.armCode).toBe('Conflict')
      expect(azure.message).toContain('prepared for swap')
      expect(azure.message).not.toMatch(/^Conflict$/)
      expect(azure.correlationId).toMatch(/^[0-9a-f-]{36}$/)
      expect(azure.message).toContain(azure.correlationId)
      expect(azure.suggestions.join(' ')).toContain('--action reset')
      expect(azure.retryable).toBe(true)
    } finally {
      await web.webApps.resetProductionSlotConfig('rg-shop-local', 'app-shop-storefront')
      await easyAuth(true)
    }
  })

  it('names a missing resource and says where to look', async () => {
    const pg = await fixture.services.postgres()
    const raw = await pg.servers.get('rg-shop-local', 'pg-does-not-exist').then(() => undefined, (e: unknown) => e)
    const error = toAzureError(raw) as AzureError
    expect(error.armCode).toBe('ResourceNotFound')
    expect(error.message).toContain('pg-does-not-exist')
    expect(error.retryable).toBe(false)
    expect(error.suggestions.join(' ')).toContain('runbooks.yaml')
  })

  it('names the metrics backend, not Retry-After, when metric reads stay throttled (529) after the retries', async () => {
    const metrics = await fixture.services.metrics()
    // No budget and no refill: every read is answered 529 until the retries run out.
    fixture.emulator.faults.set({throttle: {capacity: 0, refillPerSecond: 0}})
    try {
      const server = '/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders'
      const raw = await metrics.queryResources([server], ['cpu_percent'], 'Microsoft.DBforPostgreSQL/flexibleServers', {startTime: new Date(Date.now() - 600_000), endTime: new Date()}).then(
        () => undefined,
        (e: unknown) => e,
      )
      const error = toAzureError(raw, {operation: 'read metrics of pg-shop-orders'}) as AzureError
      expect(error.statusCode).toBe(529)
      expect(error.suggestions.join(' ')).toMatch(/metrics backend throttled/)
      expect(error.suggestions.join(' ')).not.toMatch(/Retry-After/)
    } finally {
      fixture.emulator.faults.clear()
    }
  })

  it('carries the operation it was converted for as data: a reason learned later keeps it, with the az line, and meets the call site\'s hints', () => {
    // What the SDK's poller throws when a status nests its error where it does not look (redisEnterprise's
    // OperationStatus: lro.ts withOperationReason). The armCode it gets is the fallback "Error" — also the start of this
    // cache's name, where reading the operation back out of the message lost it.
    const conflict = (f: {armCode: string}) => (f.armCode === 'Conflict' ? 'another operation is running on Error-cache: wait and retry' : undefined)
    const bare = toAzureError(new Error('The long-running operation has failed'), {operation: 'export of Error-cache', az: 'az redisenterprise database export …', hints: [conflict]}) as AzureError
    expect([bare.armCode, bare.operation]).toEqual(['Error', 'export of Error-cache'])
    const reasoned = withArmReason(bare, {code: 'Conflict', message: 'Another operation is in progress.'}, 'https://arm/operationsStatus/1')
    expect(reasoned.operation).toBe('export of Error-cache')
    expect(reasoned.message).toBe('export of Error-cache failed: Conflict: Another operation is in progress.')
    expect([reasoned.armCode, reasoned.armMessage, reasoned.monitorUrl, reasoned.operationEnded, reasoned.exitCode]).toEqual(['Conflict', 'Another operation is in progress.', 'https://arm/operationsStatus/1', true, bare.exitCode])
    // The call site's hint judged the reason (it did not apply to the bare failure); the az line is kept as such.
    expect(reasoned.suggestions).toEqual(['another operation is running on Error-cache: wait and retry', 'by hand: az redisenterprise database export …'])
    expect(reasoned.cause).toBe(bare)
    // The conversion travels with the error, not in what is written of it.
    expect(Object.keys(reasoned)).not.toContain('conversion')
    expect(JSON.stringify(reasoned)).not.toContain('hints')
  })

  it('reads the code and message of a failed long-running operation', () => {
    const error = toAzureError(new Error('The long-running operation has failed. ServerNameAlreadyExists. Specified server name is already used.')) as AzureError
    expect(error.armCode).toBe('ServerNameAlreadyExists')
    expect(error.armMessage).toBe('Specified server name is already used.')
  })
})
