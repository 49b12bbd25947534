import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {credential, hlcOptions, poll, RG} from '../helpers.js'

let emulator: RunningEmulator
let client: import('@azure/arm-rediscache').RedisManagementClient
let blobs: import('@azure/storage-blob').BlobServiceClient
const CACHE = 'redis-shop-sessions'

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 300})
  const {RedisManagementClient} = await import('@azure/arm-rediscache')
  client = new RedisManagementClient(credential, emulator.subscription, hlcOptions(emulator))
  const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
  blobs = new BlobServiceClient(emulator.blob.endpoint, new StorageSharedKeyCredential(emulator.blob.account, emulator.blob.key))
})
afterAll(async () => emulator?.stop())

async function contents(): Promise<{keyCount: number; dataAsOf: string; keys: Record<string, string>}> {
  const https = await import('node:https')
  const url = `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Cache/redis/${CACHE}/opsbookData`
  return new Promise((resolve, reject) =>
    https.get(url, {ca: emulator.caPem}, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text)))
    }).on('error', reject),
  )
}

const containerUrl = () => `${emulator.blob.endpoint}/redis-snapshots?sv=2025-01-05&sig=not-checked`

describe('Azure Cache for Redis through the unmodified SDK', () => {
  it('serves the seeded cache and lists it', async () => {
    const cache = await client.redis.get(RG, CACHE)
    expect(cache.sku).toEqual({name: 'Premium', family: 'P', capacity: 1})
    expect(cache.minimumTlsVersion).toBe('1.2')
    const all = []
    for await (const c of client.redis.listBySubscription()) all.push(c.name)
    expect(all).toContain(CACHE)
  })

  it('exports an RDB snapshot into the SAS container in Azurite, and imports it back', async () => {
    const before = await contents()
    await client.redis.beginExportDataAndWait(RG, CACHE, {format: 'RDB', prefix: 'drill-export', container: containerUrl()}, poll)
    const blob = blobs.getContainerClient('redis-snapshots').getBlobClient('drill-export')
    expect(await blob.exists()).toBe(true)
    expect((await blob.downloadToBuffer()).subarray(0, 9).toString()).toBe('REDIS0011')

    // Import the older seeded snapshot first, so the round trip visibly changes the contents back.
    const seeded = []
    for await (const b of blobs.getContainerClient('redis-snapshots').listBlobsFlat()) if (b.name.startsWith(CACHE)) seeded.push(b.name)
    expect(seeded).toHaveLength(1)
    await client.redis.beginImportDataAndWait(RG, CACHE, {format: 'RDB', files: [`${emulator.blob.endpoint}/redis-snapshots/${seeded[0]}?sig=x`]}, poll)
    const older = await contents()
    expect(older.keyCount).toBeLessThan(before.keyCount)

    await client.redis.beginImportDataAndWait(RG, CACHE, {format: 'RDB', files: [`${emulator.blob.endpoint}/redis-snapshots/drill-export?sig=x`]}, poll)
    const restored = await contents()
    expect(restored.keyCount).toBe(before.keyCount)
    expect(restored.keys).toEqual(before.keys)
    expect(Date.parse(restored.dataAsOf)).toBeGreaterThan(Date.parse(older.dataAsOf))
  })

  it('fails an import whose blob does not exist, the operation ending Failed', async () => {
    const error = await client.redis
      .beginImportDataAndWait(RG, CACHE, {format: 'RDB', files: [`${emulator.blob.endpoint}/redis-snapshots/missing.rdb?sig=secret`]}, poll)
      .catch((e) => e)
    expect(String(error.message)).toMatch(/long-running operation has failed.*does not exist/)
    expect(String(error.message)).not.toContain('sig=secret')
    const failed = emulator.state.operations().find((op) => op.operation === 'redis.import' && op.status === 'Failed')
    expect(failed).toBeDefined()
    const status = await client.asyncOperationStatus.get('eastus', failed!.id)
    expect(status.status).toBe('Failed')
  })

  it('creates, reads and deletes the patch schedule', async () => {
    await expect(client.patchSchedules.get(RG, CACHE, 'default')).rejects.toMatchObject({statusCode: 404})
    await client.patchSchedules.createOrUpdate(RG, CACHE, 'default', {scheduleEntries: [{dayOfWeek: 'Sunday', startHourUtc: 4, maintenanceWindow: 'PT5H'}]})
    const schedule = await client.patchSchedules.get(RG, CACHE, 'default')
    expect(schedule.name).toBe(`${CACHE}/default`)
    expect(schedule.scheduleEntries).toEqual([{dayOfWeek: 'Sunday', startHourUtc: 4, maintenanceWindow: 'PT5H'}])
    await client.patchSchedules.delete(RG, CACHE, 'default')
    await expect(client.patchSchedules.get(RG, CACHE, 'default')).rejects.toMatchObject({statusCode: 404})
  })

  it('updates TLS settings with PATCH', async () => {
    const updated = await client.redis.beginUpdateAndWait(RG, CACHE, {publicNetworkAccess: 'Disabled', minimumTlsVersion: '1.2', enableNonSslPort: false}, poll)
    expect(updated.enableNonSslPort).toBe(false)
  })
})
