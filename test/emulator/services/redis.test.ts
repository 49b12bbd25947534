import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {bearerFor, credentialFor, hlcOptions, poll, RG} from '../helpers.js'
import {readRdb} from '../../../src/support/rdb.js'
import {describeEmulator} from '../../../src/emulator/describe.js'
import {REDIS_SERVER_ENV} from '../../../src/emulator/engines/redis.js'

let emulator: RunningEmulator
let client: import('@azure/arm-rediscache').RedisManagementClient
let blobs: import('@azure/storage-blob').BlobServiceClient
const CACHE = 'redis-shop-sessions'
let startedAt: number

beforeAll(async () => {
  startedAt = Date.now()
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 300})
  const {RedisManagementClient} = await import('@azure/arm-rediscache')
  client = new RedisManagementClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
  const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
  blobs = new BlobServiceClient(emulator.blob.endpoint, new StorageSharedKeyCredential(emulator.blob.account, emulator.blob.key))
})
afterAll(async () => emulator?.stop())

async function contents(): Promise<{keyCount: number; dataAsOf: string; keys: Record<string, string>}> {
  const https = await import('node:https')
  const url = `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Cache/redis/${CACHE}/opsbookData`
  const headers = await bearerFor(emulator)
  return new Promise((resolve, reject) =>
    https.get(url, {ca: emulator.caPem, headers}, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text)))
    }).on('error', reject),
  )
}

/** A TLS connection to the cache's redis-server, found the way opsbook finds it (host name → local port). */
async function dataClient(): Promise<import('ioredis').Redis> {
  const https = await import('node:https')
  const headers = await bearerFor(emulator)
  const endpoint: {host: string; port: number; servername: string} = await new Promise((resolve, reject) =>
    https.get(`${emulator.armEndpoint}/_emulator/redis/${CACHE}.redis.cache.windows.net/endpoint?user=tester`, {ca: emulator.caPem, headers}, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text)))
    }).on('error', reject),
  )
  const {Redis} = await import('ioredis')
  const redis = new Redis({host: endpoint.host, port: endpoint.port, username: 'tester', password: 'any-token', tls: {ca: emulator.caPem, servername: endpoint.servername}, lazyConnect: true})
  await redis.connect()
  return redis
}

const containerUrl = () => `${emulator.blob.endpoint}/redis-snapshots?sv=2025-01-05&sig=not-checked`

/**
 * This process's redis-server children, from /proc (redis-server rewrites its command line, so the cache it serves
 * cannot be told from there: counted, with this file's emulator the only one running while they are).
 */
async function redisServers(): Promise<number> {
  const {readdirSync, readFileSync} = await import('node:fs')
  let count = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // "pid (comm) state ppid …"
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid && comm === 'redis-server') count++
    } catch {
      // gone meanwhile
    }
  }
  return count
}

/** The scheduled snapshots in a container: blob name and `dataasof`. */
async function scheduledIn(container: string, service = blobs): Promise<Array<{name: string; at: number}>> {
  const found: Array<{name: string; at: number}> = []
  for await (const b of service.getContainerClient(container).listBlobsFlat({includeMetadata: true}))
    if (b.metadata?.source === 'opsbook-emulator-schedule') found.push({name: b.name, at: Date.parse(b.metadata.dataasof!)})
  return found
}

describe('the catch-up snapshot due at start', () => {
  // Runs first: nothing has used either cache yet.
  it('starts no redis-server until its snapshots could be seen; a request while Blob is down fails at once and leaves it due', async () => {
    const listedAt = Date.now()
    expect(await redisServers()).toBe(0)

    // Blob down: a request for the snapshot container is dropped at once, as any request then (the fault is asked
    // before the catch-up is waited for), and the catch-up stays due.
    const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
    const once = new BlobServiceClient(emulator.blob.endpoint, new StorageSharedKeyCredential(emulator.blob.account, emulator.blob.key), {retryOptions: {maxTries: 1}})
    emulator.faults.set({blobDown: true})
    try {
      await expect(scheduledIn('amr-snapshots', once)).rejects.toThrow()
    } finally {
      emulator.faults.set({blobDown: false})
    }
    expect(await redisServers()).toBe(0)

    // Listing the containers shows no blob: nothing waits for it.
    const containers: string[] = []
    for await (const c of blobs.listContainers()) containers.push(c.name)
    expect(containers).toEqual(expect.arrayContaining(['redis-snapshots', 'amr-snapshots']))
    expect(await redisServers()).toBe(0)

    // Listing one cache's snapshot container takes that cache's catch-up first, named and dated as of the start.
    const classic = await scheduledIn('redis-snapshots')
    expect(classic).toHaveLength(1)
    expect(classic[0]!.at).toBeGreaterThanOrEqual(startedAt)
    expect(classic[0]!.at).toBeLessThanOrEqual(listedAt)
    expect(classic[0]!.name).toBe(`${CACHE}-${new Date(classic[0]!.at).toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z.rdb`)
    // Only that cache's redis-server started.
    expect(await redisServers()).toBe(1)

    // The other cache's, once its container is looked at: also as of the start.
    const managed = await scheduledIn('amr-snapshots')
    expect(managed).toHaveLength(1)
    expect(managed[0]!.at).toBeGreaterThanOrEqual(startedAt)
    expect(managed[0]!.at).toBeLessThanOrEqual(listedAt)
    expect(await redisServers()).toBe(2)
  })
})

describe('redis force-reboot through the unmodified SDK', () => {
  it('accepts each reboot type with Azure\'s 200 message and refuses an unknown one', async () => {
    for (const rebootType of ['AllNodes', 'PrimaryNode', 'SecondaryNode'] as const) {
      const answer = await client.redis.forceReboot(RG, CACHE, {rebootType})
      expect(answer.message).toMatch(/successfully scheduled/)
    }
    await expect(client.redis.forceReboot(RG, CACHE, {rebootType: 'EveryNode'})).rejects.toMatchObject({statusCode: 400})
  })
})

describe('Azure Cache for Redis through the unmodified SDK', () => {
  it('serves the seeded cache and lists it', async () => {
    const cache = await client.redis.get(RG, CACHE)
    expect(cache.sku).toEqual({name: 'Premium', family: 'P', capacity: 1})
    expect(cache.minimumTlsVersion).toBe('1.2')
    const all = []
    for await (const c of client.redis.listBySubscription()) all.push(c.name)
    expect(all).toContain(CACHE)
  })

  it('exports a real RDB snapshot into the SAS container in Azurite, and imports it back (redis-server behind the cache)', async () => {
    const data = await dataClient()
    await data.set('before-export', 'kept')
    await client.redis.beginExportDataAndWait(RG, CACHE, {format: 'RDB', prefix: 'drill-export', container: containerUrl()}, poll)
    const blob = blobs.getContainerClient('redis-snapshots').getBlobClient('drill-export')
    const rdb = await blob.downloadToBuffer()
    expect(rdb.subarray(0, 9).toString()).toBe('REDIS0010')
    const read = readRdb(rdb, ['before-export'])
    expect(read.values['before-export']).toBe('kept')
    expect(read.keyCount).toBe((await contents()).keyCount)

    await data.set('after-export', 'lost')
    await data.del('before-export')
    data.disconnect()
    await client.redis.beginImportDataAndWait(RG, CACHE, {format: 'RDB', files: [`${emulator.blob.endpoint}/redis-snapshots/drill-export?sig=x`]}, poll)
    const restored = await dataClient()
    expect(await restored.get('before-export')).toBe('kept')
    expect(await restored.get('after-export')).toBeNull()
    restored.disconnect()
  })

  it('took a scheduled snapshot at start (real RDB, on the catalog\'s frequency), and refuses to import what is not an RDB', async () => {
    const scheduled: string[] = []
    for await (const b of blobs.getContainerClient('redis-snapshots').listBlobsFlat({includeMetadata: true}))
      if (b.name.startsWith(`${CACHE}-`) && b.metadata?.source === 'opsbook-emulator-schedule') scheduled.push(b.name)
    expect(scheduled).toHaveLength(1)
    const rdb = await blobs.getContainerClient('redis-snapshots').getBlobClient(scheduled[0]!).downloadToBuffer()
    expect(readRdb(rdb).keyCount).toBeGreaterThan(40)

    await blobs.getContainerClient('redis-snapshots').getBlockBlobClient('not-an-rdb').upload('hello', 5)
    const error = await client.redis.beginImportDataAndWait(RG, CACHE, {format: 'RDB', files: [`${emulator.blob.endpoint}/redis-snapshots/not-an-rdb?sig=x`]}, poll).catch((e) => e)
    expect(String(error.message)).toMatch(/is not a valid RDB file/)
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

describe('Redis - Create with the tier rules Microsoft documents', () => {
  const subnet = `/subscriptions/${'0'.repeat(8)}-0000-0000-0000-000000000000/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/cache`
  const refusal = async (name: string, parameters: import('@azure/arm-rediscache').RedisCreateParameters) => {
    const error = await client.redis.beginCreateAndWait(RG, name, parameters, poll).then(
      () => undefined,
      (e: {statusCode?: number; code?: string; message: string}) => e,
    )
    expect(error, `${name} should be refused`).toBeDefined()
    // Nothing was created.
    await expect(client.redis.get(RG, name)).rejects.toMatchObject({statusCode: 404})
    return {status: error!.statusCode, code: error!.code, message: error!.message}
  }

  it('creates a Premium cache with zones, a subnet, shards and replicas: 201 Creating, then Succeeded through the LRO', async () => {
    const created = await client.redis.beginCreateAndWait(RG, 'redis-created-premium', {
      location: 'eastus',
      zones: ['1', '2', '3'],
      sku: {name: 'Premium', family: 'P', capacity: 2},
      subnetId: subnet,
      staticIP: '10.0.1.5',
      shardCount: 2,
      replicasPerPrimary: 2,
      tags: {team: 'shop'},
    }, poll)
    expect(created).toMatchObject({provisioningState: 'Succeeded', zones: ['1', '2', '3'], subnetId: subnet, staticIP: '10.0.1.5', shardCount: 2, replicasPerPrimary: 2, sku: {name: 'Premium', family: 'P', capacity: 2}})
    expect((await client.redis.get(RG, 'redis-created-premium')).hostName).toBe('redis-created-premium.redis.cache.windows.net')
  })

  it('creates a Standard cache; zones are allowed on Standard, not on Basic', async () => {
    const created = await client.redis.beginCreateAndWait(RG, 'redis-created-standard', {location: 'eastus', zones: ['1', '2'], sku: {name: 'Standard', family: 'C', capacity: 1}}, poll)
    expect(created.provisioningState).toBe('Succeeded')
    const basic = await refusal('redis-basic-zones', {location: 'eastus', zones: ['1'], sku: {name: 'Basic', family: 'C', capacity: 0}})
    expect(basic).toMatchObject({status: 400, code: 'InvalidParameterValue'})
    expect(basic.message).toMatch(/'zones'.*zone redundancy is not available in the Basic tier; it needs Standard or Premium/)
  })

  it('a create on an existing cache updates what it sets (200), but its zones are fixed at creation', async () => {
    const sku = {name: 'Premium', family: 'P', capacity: 1}
    const updated = await client.redis.beginCreateAndWait(RG, CACHE, {location: 'eastus', sku, tags: {owner: 'payments'}}, poll)
    expect(updated.tags).toEqual({owner: 'payments'})
    await expect(client.redis.beginCreateAndWait(RG, CACHE, {location: 'eastus', sku, zones: ['1']}, poll)).rejects.toMatchObject({statusCode: 400, message: expect.stringMatching(/zones and the subnet .* cannot be changed/)})
  })

  it('refuses VNet injection, clustering and multiple replicas below Premium, naming the parameter and the tier that allows it', async () => {
    const standard = {location: 'eastus', sku: {name: 'Standard', family: 'C', capacity: 1}}
    expect((await refusal('redis-std-vnet', {...standard, subnetId: subnet})).message).toMatch(/'subnetId'.*virtual network injection is not available in the Standard tier; it needs Premium/)
    expect((await refusal('redis-std-shards', {...standard, shardCount: 2})).message).toMatch(/'shardCount'.*clustering .* needs Premium/)
    expect((await refusal('redis-std-replicas', {...standard, replicasPerMaster: 2})).message).toMatch(/'replicasPerMaster'.*multiple replicas .* needs Premium/)
    expect((await refusal('redis-static-ip', {location: 'eastus', sku: {name: 'Premium', family: 'P', capacity: 1}, staticIP: '10.0.0.4'})).message).toMatch(/staticIP.*subnetId/)
    expect((await refusal('redis-bad-family', {location: 'eastus', sku: {name: 'Premium', family: 'C', capacity: 1}})).message).toMatch(/family P/)
  })
})

describe('without redis-server', () => {
  it('says so at start and models the data instead (export writes the JSON stand-in, not an RDB)', async () => {
    process.env[REDIS_SERVER_ENV] = 'none'
    const modelled = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50}).finally(() => delete process.env[REDIS_SERVER_ENV])
    try {
      expect(describeEmulator(modelled).join('\n')).toMatch(/Redis data plane: +MODELLED — redis-server not found \(install Debian's redis-server package\)/)
      const {RedisManagementClient} = await import('@azure/arm-rediscache')
      const sdk = new RedisManagementClient(credentialFor(modelled), modelled.subscription, hlcOptions(modelled))
      await sdk.redis.beginExportDataAndWait(RG, CACHE, {format: 'RDB', prefix: 'modelled-export', container: `${modelled.blob.endpoint}/redis-snapshots?sig=x`}, poll)
      const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
      const service = new BlobServiceClient(modelled.blob.endpoint, new StorageSharedKeyCredential(modelled.blob.account, modelled.blob.key))
      expect((await service.getContainerClient('redis-snapshots').getBlobClient('modelled-export').downloadToBuffer()).subarray(0, 10).toString()).toBe('REDIS0011\n')
    } finally {
      await modelled.stop()
    }
    expect(describeEmulator(emulator).join('\n')).toMatch(/Redis data plane: +redis-server 7\.\d+\.\d+, one per cache/)
  })
})

describe('with the load generator on', () => {
  it('keeps writing the cache\'s keys and canary, so a snapshot has data to lose; the key count stays what the seeded cache holds', async () => {
    const loaded = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, load: {ratePerSecond: 40}})
    try {
      const startedAt = Date.now()
      expect(describeEmulator(loaded).join('\n')).toMatch(/Load generator: +on — rows and keys keep being written to redis-shop-sessions/)
      const written = () => loaded.dataPlane.load!().find((l) => l.engine === 'redis' && l.name === CACHE)?.written ?? 0
      await vi.waitFor(() => expect(written()).toBeGreaterThanOrEqual(40), {timeout: 20_000, interval: 50})
      const {RedisManagementClient} = await import('@azure/arm-rediscache')
      const sdk = new RedisManagementClient(credentialFor(loaded), loaded.subscription, hlcOptions(loaded))
      await sdk.redis.beginExportDataAndWait(RG, CACHE, {format: 'RDB', prefix: 'loaded-export', container: `${loaded.blob.endpoint}/redis-snapshots?sig=x`}, poll)
      const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
      const service = new BlobServiceClient(loaded.blob.endpoint, new StorageSharedKeyCredential(loaded.blob.account, loaded.blob.key))
      const containerClient = service.getContainerClient('redis-snapshots')
      const exported = readRdb(await containerClient.getBlobClient('loaded-export').downloadToBuffer(), ['opsbook:canary'])
      // The canary (the catalog probe's key) holds the load's newest write: later than the emulator's start.
      const canary = JSON.parse(exported.values['opsbook:canary']!) as {at: string; by: string}
      expect(canary.by).toBe('opsbook-load')
      expect(Date.parse(canary.at)).toBeGreaterThanOrEqual(startedAt)
      // The scheduled snapshot taken at start holds as many keys as the fresh export: the load rewrites the seeded
      // key space, so what a recovery loses is newer values, not a count that drifts with how long the emulator ran.
      let scheduled: string | undefined
      for await (const b of containerClient.listBlobsFlat({includeMetadata: true}))
        if (b.name.startsWith(`${CACHE}-`) && b.metadata?.source === 'opsbook-emulator-schedule') scheduled = b.name
      const atStart = readRdb(await containerClient.getBlobClient(scheduled!).downloadToBuffer(), ['opsbook:canary'])
      expect(atStart.keyCount).toBe(exported.keyCount)
      expect(Date.parse(JSON.parse(atStart.values['opsbook:canary']!).at)).toBeLessThan(Date.parse(canary.at))
    } finally {
      await loaded.stop()
    }
  })
})

describe('across emulator processes', () => {
  it('a snapshot the schedule missed while no emulator ran holds data as fresh as Azure\'s would, not the last process\'s', async () => {
    const {existsSync, mkdtempSync, rmSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const stateDir = mkdtempSync(join(tmpdir(), 'opsbook-redis-gap-'))
    const hour = 3_600_000
    try {
      const firstAt = Date.now()
      const first = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 50, load: false})
      await first.stop()
      const firstStopped = Date.now()
      // Nothing looked at the caches: no redis-server started (none made its data folder); the catch-up stays due.
      expect(existsSync(join(stateDir, 'engines', 'redis'))).toBe(false)
      // Three hours later (the catalog's PT1H schedule missed its boundaries meanwhile), with the load generator on.
      const later = new Date(Date.now() + 3 * hour)
      const second = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 50, load: {ratePerSecond: 1}, clock: () => later})
      try {
        const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
        const container = new BlobServiceClient(second.blob.endpoint, new StorageSharedKeyCredential(second.blob.account, second.blob.key)).getContainerClient('redis-snapshots')
        const scheduled: Array<{name: string; at: number}> = []
        for await (const b of container.listBlobsFlat({includeMetadata: true}))
          if (b.name.startsWith(`${CACHE}-`) && b.metadata?.source === 'opsbook-emulator-schedule') scheduled.push({name: b.name, at: Date.parse(b.metadata.dataasof!)})
        // The first process's catch-up, taken by this one as of when it was due, then this one's.
        expect(scheduled).toHaveLength(2)
        const [earlier, catchUp] = scheduled.sort((a, b) => a.at - b.at) as [{name: string; at: number}, {name: string; at: number}]
        expect(earlier.at).toBeGreaterThanOrEqual(firstAt)
        expect(earlier.at).toBeLessThanOrEqual(firstStopped)
        expect(catchUp.at).toBe(later.getTime())
        const rdb = readRdb(await container.getBlobClient(catchUp.name).downloadToBuffer(), ['opsbook:canary'])
        // The newest data in it is as of the snapshot: the three idle hours are not data lost.
        expect(Date.parse(JSON.parse(rdb.values['opsbook:canary']!).at)).toBe(later.getTime())
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(stateDir, {recursive: true, force: true})
    }
  })
})
