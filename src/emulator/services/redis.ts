/**
 * Azure Cache for Redis, api-version 2024-11-01 (notes §4.2, spec redis.json and examples): caches (create/get/list/PATCH),
 * RDB export to and import from Blob (Azurite), patch schedules and async operation status.
 *
 * Every cache holds `contents` (a key count, a few keys and `dataAsOf`) so a restore can be verified. An export
 * writes one blob named `<prefix>` into the container the SAS URL names: an RDB-like file, the magic line
 * `REDIS0011` followed by a JSON dump of the contents. An import reads the named blobs and replaces the contents.
 *
 * With Debian's `redis-server` installed, each cache is a real server instead (engines/redis-dataplane.ts): export
 * writes the RDB it SAVEs, import loads one, scheduled snapshots are real, and `GET /_emulator/redis/{hostName}/endpoint`
 * tells opsbook's data-plane connections where the cache's host name really listens (TLS, the emulator's CA).
 * `contents` is then unused. The ARM side is the same either way.
 */
import {createHash, randomUUID} from 'node:crypto'
import {redisRefusal, type RedisFeature} from '../../azure/capabilities.js'
import {containerNameOf, blobPathOf, INTERNAL_BLOB_CLIENT_OPTIONS} from '../blob.js'
import {apiVersionOf, canonicalEnum, checkScope, clone, invalidBody, paged, resourceIdOf, resourceNotFound, systemData} from '../arm.js'
import {ArmFailure, type EmulatorContext} from '../context.js'
// Long-running operations' monitors name the region by its display name, as Azure's do (`…/locations/Canada%20Central/
// azureAsyncOperation/{id}` for PostgreSQL, `…/locations/West%20Europe/asyncOperations/{id}` for Redis: the recorded
// 201/202 headers in test/fixtures/azure-cli-recordings, which the replay compares).
import {regionDisplayName} from './arm-platform.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {accessKeyOf, RedisDataPlane, type CacheRef, type PendingCatchUp, type RedisDataPlaneInfo} from '../engines/redis-dataplane.js'
import {readRdb, RdbFormatError} from '../../support/rdb.js'

const TYPE = 'Microsoft.Cache/Redis'
const PROVIDER = 'Microsoft.Cache'
const R = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cache/redis'
export const RDB_MAGIC = 'REDIS0011'
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday', 'Everyday', 'Weekend']

export interface CacheContents {
  keyCount: number
  /** A sample of keys and values (the rest are counted, not stored). */
  keys: Record<string, string>
  /** Newest write the contents reflect (ISO); undefined = live (now). */
  dataAsOf?: string
}

interface StoredCache {
  resource: {id: string; name: string; type: string; location: string; tags: Record<string, string>; zones?: string[]; systemData: Record<string, string>; properties: Record<string, any>}
  resourceGroup: string
  contents: CacheContents
  patchSchedule?: Array<{dayOfWeek: string; startHourUtc: number; maintenanceWindow?: string}>
  /** Firewall rules by name (absent in state saved before they were modelled: none). */
  firewallRules?: Record<string, {startIP: string; endIP: string}>
  /** Geo-replication links by linked server name (this cache as primary). */
  linkedServers?: Record<string, {linkedRedisCacheId: string; linkedRedisCacheLocation: string; serverRole: string}>
}

interface RedisState {
  caches: Record<string, StoredCache>
  snapshotsSeeded: boolean
  /** Names the engines' data folder of this seeding: a reseeded state starts with fresh servers. */
  engineEpoch?: string
  /** Whether the data plane is real or modelled (for `opsbook emulator start`). */
  dataPlane?: RedisDataPlaneInfo
  /** Catch-up snapshots due but not yet taken, by cache id (engines/redis-dataplane.ts); absent in older state: none. */
  pendingSnapshots?: Record<string, PendingCatchUp[]>
}

const dataPlanes = new WeakMap<EmulatorContext, RedisDataPlane>()

/** The cache data plane of an emulator (real redis-server processes, or none: modelled). */
export function redisDataPlane(ctx: EmulatorContext): RedisDataPlane {
  let plane = dataPlanes.get(ctx)
  if (!plane) {
    const state = redisState(ctx)
    state.engineEpoch ??= randomUUID()
    plane = new RedisDataPlane(ctx, state.engineEpoch, (state.pendingSnapshots ??= {}))
    state.dataPlane = plane.info
    dataPlanes.set(ctx, plane)
  }
  return plane
}

/** The redis slice, seeded from the catalog's redis components. */
export function redisState(ctx: EmulatorContext): RedisState {
  return ctx.store.slice<RedisState>('redis', () => {
    const state: RedisState = {caches: {}, snapshotsSeeded: false}
    if (!ctx.seedFromCatalog) return state
    for (const component of Object.values(ctx.environment.components)) {
      if (component.type !== 'redis') continue
      const rg = component.resourceGroup ?? ctx.environment.resourceGroups[0]!
      const id = resourceIdOf(ctx.subscription, rg, TYPE, component.name)
      state.caches[id.toLowerCase()] = {
        resource: cacheResource(id, component.name, ctx.environment.region, {...component.tags}, new Date(ctx.clock().getTime() - 60 * 86_400_000), {
          sku: {name: component.sku, family: component.sku === 'Premium' ? 'P' : 'C', capacity: component.capacity},
          minimumTlsVersion: '1.2',
        }),
        resourceGroup: rg,
        contents: sampleContents(component.name, 1200),
      }
    }
    return state
  })
}

/**
 * A cache as Azure answers for it (redis.json 2024-11-01 RedisProperties): `overrides` are the properties the catalog
 * or the create request set; the rest are the service's defaults for a new cache.
 */
function cacheResource(id: string, name: string, location: string, tags: Record<string, string>, createdAt: Date, overrides: Record<string, any>, zones?: string[]): StoredCache['resource'] {
  return {
    id,
    name,
    type: TYPE,
    location,
    tags,
    ...(zones ? {zones} : {}),
    systemData: systemData(createdAt),
    properties: {
      provisioningState: 'Succeeded',
      enableNonSslPort: false,
      // redis.json 2024-11-01 RedisCommonProperties.publicNetworkAccess: "default": "Enabled".
      publicNetworkAccess: 'Enabled',
      redisVersion: '6.0',
      redisConfiguration: {'maxmemory-policy': 'volatile-lru', 'rdb-backup-enabled': 'false', 'aad-enabled': 'true', maxclients: '7500'},
      hostName: `${name}.redis.cache.windows.net`,
      port: 6379,
      sslPort: 6380,
      instances: [{sslPort: 15000, isMaster: true, isPrimary: true}],
      linkedServers: [],
      updateChannel: 'Stable',
      disableAccessKeyAuthentication: false,
      zonalAllocationPolicy: 'Automatic',
      ...overrides,
    },
  }
}

function sampleContents(cache: string, count: number, dataAsOf?: string): CacheContents {
  const keys: Record<string, string> = {}
  for (let i = 1; i <= 5; i++) keys[`session:${1000 + i}`] = JSON.stringify({user: `user-${i}`, cache})
  keys['config:feature-flags'] = JSON.stringify({checkoutV2: true})
  return {keyCount: count, keys, ...(dataAsOf ? {dataAsOf} : {})}
}

/** Seeds an older snapshot blob per cache with snapshots configured, so `latestSnapshot` finds one. */
export async function start(ctx: EmulatorContext): Promise<void> {
  const state = redisState(ctx)
  const plane = redisDataPlane(ctx)
  if (plane.real) {
    // Real snapshots on the catalog's schedule replace the seeded stand-in.
    if (ctx.seedFromCatalog) plane.startSchedules(Object.values(state.caches).map(cacheRef))
    // The load generator (when on) keeps writing keys into the catalog's caches, so snapshots have data to lose.
    const names = new Set(Object.values(ctx.environment.components).flatMap((c) => (c.type === 'redis' ? [c.name.toLowerCase()] : [])))
    for (const cache of Object.values(state.caches))
      if (names.has(cache.resource.name.toLowerCase())) ctx.loadSources.push({engine: 'redis', name: cache.resource.name, target: () => plane.loadTarget(cacheRef(cache))})
    return
  }
  if (state.snapshotsSeeded || !ctx.seedFromCatalog) return
  const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
  const service = new BlobServiceClient(ctx.blob.endpoint, new StorageSharedKeyCredential(ctx.blob.account, ctx.blob.key), INTERNAL_BLOB_CLIENT_OPTIONS)
  for (const component of Object.values(ctx.environment.components)) {
    if (component.type !== 'redis' || !component.snapshots) continue
    const cache = Object.values(state.caches).find((c) => c.resource.name === component.name)
    if (!cache) continue
    const container = service.getContainerClient(component.snapshots.container)
    await container.createIfNotExists()
    const takenAt = new Date(ctx.clock().getTime() - 50 * 60_000)
    const name = `${component.name}-${takenAt.toISOString().slice(0, 16).replaceAll(/[-:]/g, '')}Z.rdb`
    const payload = rdbOf(cache, {...clone(cache.contents), keyCount: cache.contents.keyCount - 40, dataAsOf: takenAt.toISOString()})
    await container.getBlockBlobClient(name).upload(payload, payload.length, {metadata: {dataasof: takenAt.toISOString(), source: 'opsbook-emulator-seed'}})
  }
  state.snapshotsSeeded = true
}

function cacheRef(cache: StoredCache): {id: string; name: string; hostName: string} {
  return {id: cache.resource.id, name: cache.resource.name, hostName: String(cache.resource.properties.hostName)}
}

function rdbOf(cache: StoredCache, contents: CacheContents): Buffer {
  return Buffer.from(`${RDB_MAGIC}\n${JSON.stringify({format: 'opsbook-rdb-v1', cache: cache.resource.id, ...contents})}`)
}

/** Parse an exported RDB-like blob; undefined when it is not one. */
export function parseRdb(data: Buffer): CacheContents | undefined {
  const text = data.toString('utf8')
  if (!text.startsWith(`${RDB_MAGIC}\n`)) return undefined
  try {
    const parsed = JSON.parse(text.slice(RDB_MAGIC.length + 1)) as CacheContents & {format?: string}
    if (typeof parsed.keyCount !== 'number' || typeof parsed.keys !== 'object') return undefined
    return {keyCount: parsed.keyCount, keys: parsed.keys, ...(parsed.dataAsOf ? {dataAsOf: parsed.dataAsOf} : {})}
  } catch {
    return undefined
  }
}

type BlobService = import('@azure/storage-blob').BlobServiceClient
type ContainerClient = import('@azure/storage-blob').ContainerClient

/**
 * Export of a real server (classic cache or Managed Redis database): SAVE, then upload the RDB it wrote as `blobName`,
 * stamped with when its data is from.
 */
export async function exportRdbFromEngine(ctx: EmulatorContext, plane: RedisDataPlane, ref: CacheRef, container: ContainerClient, blobName: string, kind: string): Promise<void> {
  const rdb = await (await plane.use(ref)).snapshot()
  const savedAt = ctx.clock().toISOString()
  await container.getBlockBlobClient(blobName).upload(rdb, rdb.length, {metadata: {dataasof: savedAt, source: ref.id.replaceAll('/', '_')}})
  ctx.activity.append({resourceId: ref.id, kind, data: {container: container.containerName, blob: blobName, bytes: rdb.length, dataAsOf: savedAt}})
}

/** Import into a real server: an RDB file is loaded as it is; an older JSON stand-in becomes plain string keys. */
export async function importRdbIntoEngine(
  ctx: EmulatorContext,
  plane: RedisDataPlane,
  ref: CacheRef,
  paths: Array<{url: string; path: ReturnType<typeof blobPathOf>}>,
  service: BlobService,
  kind = 'redis.import',
): Promise<void> {
  // A non-clustered cache exports one file; importing several would have to merge them (clustered caches only).
  if (paths.length > 1) throw new ArmFailure('InvalidRequestBody', `Import failed: the emulator imports one RDB file into a non-clustered cache, got ${paths.length}.`)
  const {url, path} = paths[0]!
  const blob = service.getContainerClient(path!.container).getBlobClient(path!.blob)
  if (!(await blob.exists())) throw new ArmFailure('InvalidRequestBody', `Import failed: the blob '${redactSas(url)}' does not exist or cannot be read with the given SAS URL.`)
  const data = await blob.downloadToBuffer()
  const engine = await plane.use(ref)
  const legacy = parseRdb(data)
  if (legacy) {
    const client = await engine.client()
    await client.flushall()
    for (const [key, value] of Object.entries(legacy.keys)) await client.set(key, value)
  } else {
    try {
      readRdb(data)
    } catch (error) {
      if (error instanceof RdbFormatError) throw new ArmFailure('InvalidRequestBody', `Import failed: the blob '${redactSas(url)}' is not a valid RDB file (${error.message}).`)
      throw error
    }
    await engine.load(data)
  }
  ctx.activity.append({resourceId: ref.id, kind, data: {files: [`${path!.container}/${path!.blob}`], keyCount: await plane.keyCount(ref)}})
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => redisState(ctx)
  // Seed on start, so a fresh state file holds the catalog's resources before the first request.
  redisState(ctx)
  const find = (sub: string, rg: string, name: string) => state().caches[resourceIdOf(sub, rg, TYPE, name).toLowerCase()]
  const scoped = (p: Record<string, string>): StoredCache | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return find(p.sub!, p.rg!, p.name!) ?? resourceNotFound(TYPE, p.name!, p.rg!)
  }
  const isCache = (v: StoredCache | EmulatorResponse): v is StoredCache => 'resource' in v
  // No systemData: live Azure's Redis GET has none (az recording test_redis_cache_patch_schedule.yaml), though the
  // spec's TrackedResource allows it. The emulator keeps it in its state (creation time).
  const view = (cache: StoredCache, apiVersion?: string) => {
    const resource: Partial<StoredCache['resource']> = clone(cache.resource)
    delete resource.systemData
    if (apiVersion) shapeForApiVersion(resource.properties!, apiVersion)
    return resource
  }
  const blobService = async () => {
    const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
    return new BlobServiceClient(ctx.blob.endpoint, new StorageSharedKeyCredential(ctx.blob.account, ctx.blob.key), INTERNAL_BLOB_CLIENT_OPTIONS)
  }
  const plane = redisDataPlane(ctx)
  const liveContents = (cache: StoredCache): CacheContents => ({...clone(cache.contents), dataAsOf: cache.contents.dataAsOf ?? ctx.clock().toISOString()})

  /** A cache's long-running operation (scaling, export, import): 202 with an async-operation monitor, as ARM does. */
  const cacheOperation = (request: EmulatorRequest, cache: StoredCache, operation: string, run: () => Promise<void>): EmulatorResponse =>
    ctx.lro.start({
      request,
      operation,
      location: regionDisplayName(cache.resource.location),
      provider: PROVIDER,
      resourceId: cache.resource.id,
      kind: 'azure-async-operation',
      asyncOperationSegment: 'asyncOperations',
      initialStatus: 202,
      run,
    })

  return [
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Cache/redis',
      operation: 'redis.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.values(state().caches).map((c) => view(c, apiVersionOf(request)))),
    },
    {
      method: 'GET',
      pattern: R,
      operation: 'redis.listByResourceGroup',
      handler: (request, p) =>
        checkScope(ctx, p.sub!, p.rg!) ??
        paged(request, Object.values(state().caches).filter((c) => c.resourceGroup.toLowerCase() === p.rg!.toLowerCase()).map((c) => view(c, apiVersionOf(request)))),
    },
    {
      method: 'GET',
      pattern: `${R}/{name}`,
      operation: 'redis.get',
      handler: (request, p) => {
        const cache = scoped(p)
        return isCache(cache) ? {status: 200, body: view(cache, apiVersionOf(request))} : cache
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/opsbookData`,
      operation: 'redis.data',
      handler: async (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        if (!plane.real) return {status: 200, body: {id: cache.resource.id, ...liveContents(cache)}}
        return {status: 200, body: {id: cache.resource.id, keyCount: await plane.keyCount(cacheRef(cache)), dataAsOf: ctx.clock().toISOString()}}
      },
    },
    {
      method: 'GET',
      pattern: '/_emulator/redis/{hostName}/endpoint',
      operation: 'redis.dataEndpoint',
      handler: async (request, p) => {
        // Where a cache's host name listens for opsbook's own data-plane connections (emulator only).
        // Classic caches first, then the host names other services registered (Managed Redis databases).
        const cache = Object.values(state().caches).find((c) => String(c.resource.properties.hostName).toLowerCase() === p.hostName!.toLowerCase())
        const ref = cache ? cacheRef(cache) : plane.hostRef(p.hostName!)
        if (!ref) return armError(404, 'ResourceNotFound', `No cache has the host name '${p.hostName}'.`)
        if (!plane.real) return armError(404, 'DataPlaneNotAvailable', `The emulator cannot connect you to ${ref.name}: ${plane.info.modelled}.`)
        const engine = await plane.use(ref)
        const user = request.query.get('user')
        if (user) await engine.allowUser(user)
        return {status: 200, body: {host: '127.0.0.1', port: await engine.tlsPort(), servername: 'localhost'}}
      },
    },
    {
      method: 'PUT',
      pattern: `${R}/{name}`,
      operation: 'redis.create',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!, p.rg!)
        if (scope) return scope
        const body = request.body
        if (typeof body !== 'object' || body === null || typeof body.properties !== 'object' || body.properties === null) return invalidBody()
        const refused = createRefusal(body)
        if (refused) return refused
        const existing = find(p.sub!, p.rg!, p.name!)
        const props = body.properties
        const sku = {name: canonicalEnum(props.sku.name, REDIS_TIERS)!, family: String(props.sku.family).toUpperCase(), capacity: props.sku.capacity}
        if (existing) {
          // Redis - Create on an existing cache updates what the body sets; the network placement (subnetId, staticIP)
          // and zones are create-only (x-ms-mutability ["read", "create"] / set at creation, cache-how-to-premium-vnet).
          if (existing.resource.zones?.join() !== (body.zones ?? existing.resource.zones)?.join() || (props.subnetId ?? existing.resource.properties.subnetId) !== existing.resource.properties.subnetId)
            return armError(400, 'InvalidRequestBody', 'The zones and the subnet of a cache are set when it is created and cannot be changed.')
          if (body.tags) existing.resource.tags = {...body.tags}
          for (const key of ['enableNonSslPort', 'minimumTlsVersion', 'publicNetworkAccess', 'redisVersion', 'updateChannel', 'disableAccessKeyAuthentication', 'shardCount', 'replicasPerMaster'])
            if (props[key] !== undefined) existing.resource.properties[key] = props[key]
          if (props.redisConfiguration) existing.resource.properties.redisConfiguration = {...existing.resource.properties.redisConfiguration, ...props.redisConfiguration}
          existing.resource.properties.sku = sku
          return {status: 200, body: view(existing, apiVersionOf(request))}
        }
        const id = resourceIdOf(p.sub!, p.rg!, TYPE, p.name!)
        const overrides: Record<string, unknown> = {sku, provisioningState: 'Creating'}
        for (const key of ['enableNonSslPort', 'minimumTlsVersion', 'publicNetworkAccess', 'redisVersion', 'updateChannel', 'disableAccessKeyAuthentication', 'subnetId', 'staticIP', 'shardCount', 'zonalAllocationPolicy'])
          if (props[key] !== undefined) overrides[key] = props[key]
        // Returned only when asked for: live Azure's 201 for a Premium create that set neither had replicasPerMaster and
        // replicasPerPrimary 1 in 2021 (2021-06-01, az recording test_redis_cache_with_tags_and_zones.yaml) and neither in
        // 2025 (2024-11-01, test_premium_redis_cache_zonal_allocation_policy.yaml).
        const replicas = props.replicasPerPrimary ?? props.replicasPerMaster
        if (replicas !== undefined) Object.assign(overrides, {replicasPerMaster: replicas, replicasPerPrimary: replicas})
        const cache: StoredCache = {
          resource: cacheResource(id, p.name!, String(body.location), {...(body.tags ?? {})}, ctx.clock(), overrides, Array.isArray(body.zones) ? body.zones : undefined),
          resourceGroup: p.rg!,
          contents: {keyCount: 0, keys: {}},
        }
        if (props.redisConfiguration) cache.resource.properties.redisConfiguration = {...cache.resource.properties.redisConfiguration, ...props.redisConfiguration}
        state().caches[id.toLowerCase()] = cache
        // redis.json 2024-11-01 Redis_Create: 201 with the cache (provisioningState Creating) and a Location header,
        // final-state-via location; live Azure's Location names the cache itself and it also sends Azure-AsyncOperation
        // (…/locations/{display name}/asyncOperations/{id}: az recordings test_redis_cache_with_tags_and_zones.yaml,
        // _with_mandatory_args, _zonal_allocation_policy). The cache reads Succeeded once the operation is done.
        return ctx.lro.start({
          request,
          operation: 'redis.create',
          location: regionDisplayName(cache.resource.location),
          provider: PROVIDER,
          resourceId: id,
          kind: 'azure-async-operation',
          asyncOperationSegment: 'asyncOperations',
          initialStatus: 201,
          body: view(cache, apiVersionOf(request)),
          locationIsResource: true,
          run: () => void (cache.resource.properties.provisioningState = 'Succeeded'),
        })
      },
    },
    {
      method: 'PATCH',
      pattern: `${R}/{name}`,
      operation: 'redis.update',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const body = request.body
        if (typeof body !== 'object' || body === null) return invalidBody()
        const props = body.properties ?? {}
        const persistence = props.redisConfiguration && ['rdb-backup-enabled', 'aof-backup-enabled'].some((k) => String(props.redisConfiguration[k]).toLowerCase() === 'true')
        const tierProblem = persistence ? tierRefused(cache, 'data persistence') : undefined
        if (tierProblem) return tierProblem
        if (props.minimumTlsVersion !== undefined && !['1.0', '1.1', '1.2'].includes(props.minimumTlsVersion))
          return armError(400, 'InvalidRequestBody', `The value '${props.minimumTlsVersion}' is not valid for minimumTlsVersion. Allowed values: 1.0, 1.1, 1.2.`)
        const apply = () => {
          const target = cache.resource
          if (body.tags) target.tags = {...body.tags}
          for (const key of ['enableNonSslPort', 'minimumTlsVersion', 'publicNetworkAccess', 'redisVersion', 'updateChannel', 'disableAccessKeyAuthentication', 'zonalAllocationPolicy'])
            if (props[key] !== undefined) target.properties[key] = props[key]
          if (props.redisConfiguration) target.properties.redisConfiguration = {...target.properties.redisConfiguration, ...props.redisConfiguration}
          if (props.sku) target.properties.sku = {...target.properties.sku, ...props.sku}
          target.properties.provisioningState = 'Succeeded'
        }
        // Scaling takes a while (an LRO); configuration changes answer 200 at once.
        if (props.sku) {
          cache.resource.properties.provisioningState = 'Scaling'
          return cacheOperation(request, cache, 'redis.update', async () => apply())
        }
        apply()
        return {status: 200, body: view(cache, apiVersionOf(request))}
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/export`,
      operation: 'redis.export',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const tierProblem = tierRefused(cache, 'import/export')
        if (tierProblem) return tierProblem
        const body = request.body ?? {}
        if (typeof body.prefix !== 'string' || !body.prefix) return armError(400, 'InvalidRequestBody', "The parameter 'prefix' is required for export.")
        if (typeof body.container !== 'string' || !body.container) return armError(400, 'InvalidRequestBody', "The parameter 'container' is required for export.")
        if (body.format !== undefined && String(body.format).toLowerCase() !== 'rdb')
          return armError(400, 'InvalidRequestBody', `The format '${body.format}' is not supported; only RDB is.`)
        const container = containerNameOf(body.container)
        if (!container) return armError(400, 'InvalidRequestBody', `The container URL '${redactSas(body.container)}' is not a valid blob container URL.`)
        const snapshot = liveContents(cache)
        return cacheOperation(request, cache, 'redis.export', async () => {
          sasTimesAccepted([body.container])
          sasPermissionsAccepted([body.container], 'export')
          const client = (await blobService()).getContainerClient(container)
          if (!(await client.exists()))
            throw new ArmFailure('InvalidRequestBody', `Export failed: the storage container '${container}' does not exist or cannot be reached with the given SAS URL.`)
          if (plane.real) return exportRdbFromEngine(ctx, plane, cacheRef(cache), client, body.prefix, 'redis.export')
          const payload = rdbOf(cache, snapshot)
          await client.getBlockBlobClient(body.prefix).upload(payload, payload.length, {metadata: {dataasof: snapshot.dataAsOf!, source: cache.resource.id.replaceAll('/', '_')}})
          ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.export', data: {container, blob: body.prefix, keyCount: snapshot.keyCount, dataAsOf: snapshot.dataAsOf}})
        })
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/import`,
      operation: 'redis.import',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const tierProblem = tierRefused(cache, 'import/export')
        if (tierProblem) return tierProblem
        const files = request.body?.files
        if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string'))
          return armError(400, 'InvalidRequestBody', "The parameter 'files' is required for import: a list of blob SAS URLs.")
        const paths = files.map((f: string) => ({url: f, path: blobPathOf(f)}))
        const bad = paths.find((f) => !f.path)
        if (bad) return armError(400, 'InvalidRequestBody', `The file URL '${redactSas(bad.url)}' is not a valid blob URL.`)
        return cacheOperation(request, cache, 'redis.import', async () => {
          sasTimesAccepted(files)
          sasPermissionsAccepted(files, 'import')
          const service = await blobService()
          if (plane.real) return importRdbIntoEngine(ctx, plane, cacheRef(cache), paths, service)
          const merged: CacheContents = {keyCount: 0, keys: {}}
          for (const {url, path} of paths) {
            const blob = service.getContainerClient(path!.container).getBlobClient(path!.blob)
            if (!(await blob.exists()))
              throw new ArmFailure('InvalidRequestBody', `Import failed: the blob '${redactSas(url)}' does not exist or cannot be read with the given SAS URL.`)
            const contents = parseRdb(await blob.downloadToBuffer())
            if (!contents) throw new ArmFailure('InvalidRequestBody', `Import failed: the blob '${redactSas(url)}' is not a valid RDB file.`)
            merged.keyCount += contents.keyCount
            Object.assign(merged.keys, contents.keys)
            if (contents.dataAsOf && (!merged.dataAsOf || contents.dataAsOf > merged.dataAsOf)) merged.dataAsOf = contents.dataAsOf
          }
          cache.contents = merged
          ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.import', data: {files: paths.map((f) => `${f.path!.container}/${f.path!.blob}`), keyCount: merged.keyCount, dataAsOf: merged.dataAsOf ?? null}})
        })
      },
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Cache/locations/{location}/asyncOperations/{id}',
      operation: 'redis.asyncOperationStatus',
      handler: async (request, p) => {
        const scope = checkScope(ctx, p.sub!)
        if (scope) return scope
        const op = await ctx.lro.get(p.id!)
        if (!op) return armError(404, 'ResourceNotFound', `The async operation '${p.id}' was not found.`)
        return {
          status: 200,
          body: {
            id: request.path,
            name: op.id,
            status: op.status,
            percentComplete: op.status === 'InProgress' ? 50 : 100,
            startTime: op.startTime,
            ...(op.endTime ? {endTime: op.endTime} : {}),
            ...(op.error ? {error: op.error} : {}),
            properties: {},
          },
        }
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/patchSchedules`,
      operation: 'redis.patchSchedules.list',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        return paged(request, cache.patchSchedule ? [scheduleView(cache)] : [])
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/patchSchedules/{default}`,
      operation: 'redis.patchSchedules.get',
      handler: (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        if (p.default!.toLowerCase() !== 'default' || !cache.patchSchedule)
          return resourceNotFound(`${TYPE}/${cache.resource.name}/patchSchedules`, p.default!, p.rg!)
        return {status: 200, body: scheduleView(cache)}
      },
    },
    {
      method: 'PUT',
      pattern: `${R}/{name}/patchSchedules/{default}`,
      operation: 'redis.patchSchedules.put',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        if (p.default!.toLowerCase() !== 'default') return armError(400, 'InvalidRequestBody', "The patch schedule name must be 'default'.")
        const entries = request.body?.properties?.scheduleEntries
        if (!Array.isArray(entries) || entries.length === 0) return armError(400, 'InvalidRequestBody', "The parameter 'scheduleEntries' is required.")
        for (const entry of entries) {
          if (!WEEKDAYS.includes(entry?.dayOfWeek)) return armError(400, 'InvalidRequestBody', `The value '${entry?.dayOfWeek}' is not valid for dayOfWeek.`)
          if (!Number.isInteger(entry.startHourUtc) || entry.startHourUtc < 0 || entry.startHourUtc > 23)
            return armError(400, 'InvalidRequestBody', `The value '${entry.startHourUtc}' is not valid for startHourUtc (0-23).`)
          if (entry.maintenanceWindow !== undefined && durationHours(entry.maintenanceWindow) < 5)
            return armError(400, 'InvalidRequestBody', `The maintenance window '${entry.maintenanceWindow}' is too short: it must be at least 5 hours (PT5H).`)
        }
        // Stored as sent: an entry without maintenanceWindow is returned without one (RedisCachePatchSchedulesGet.json
        // 2024-11-01); Azure applies its 5-hour default without echoing it.
        cache.patchSchedule = entries.map((e: any) => ({dayOfWeek: e.dayOfWeek, startHourUtc: e.startHourUtc, ...(e.maintenanceWindow ? {maintenanceWindow: e.maintenanceWindow} : {})}))
        ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.patchSchedule', data: {scheduleEntries: cache.patchSchedule}})
        // 200 on creation too: live Azure answered a first `az redis patch-schedule create` with 200 (az recording
        // test_redis_cache_patch_schedule.yaml, test/fixtures/azure-cli-recordings); the spec allows 200 and 201.
        return {status: 200, body: scheduleView(cache)}
      },
    },
    {
      method: 'DELETE',
      pattern: `${R}/{name}/patchSchedules/{default}`,
      operation: 'redis.patchSchedules.delete',
      handler: (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        if (!cache.patchSchedule) return {status: 204}
        delete cache.patchSchedule
        return {status: 200}
      },
    },
    ...keysAndFirewallRoutes(ctx, scoped, isCache),
    ...linkedServerRoutes(ctx, scoped, isCache, () => Object.values(state().caches)),
  ]
}

function scheduleView(cache: StoredCache): Record<string, unknown> {
  return {
    id: `${cache.resource.id}/patchSchedules/default`,
    name: `${cache.resource.name}/default`,
    type: 'Microsoft.Cache/Redis/PatchSchedules',
    location: cache.resource.location,
    properties: {scheduleEntries: clone(cache.patchSchedule)},
  }
}

function durationHours(duration: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration)
  if (!m) return 0
  return Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 60 + Number(m[4] ?? 0) / 3600
}

/**
 * Azure's rule for an import/export SAS, answered with its own words when broken: "One of the SAS URIs provided could
 * not be used for the following reason: The SAS token end time (se) must be at least 1 hour from now and the start time
 * (st), if given, must be at least 15 minutes in the past."
 * Microsoft quotes it in the Azure Managed Redis FAQ "I received a timeout error during my Import/Export operation"
 * (https://learn.microsoft.com/azure/redis/how-to-import-export-data); the classic cache's page
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data, ms.date 2025-04-29) keeps
 * the same entry commented out of its source, so for the classic cache the rule is inherited, not documented. Both
 * kinds' export/import use this (services/managed-redis.ts). A URL without a SAS (managed identity) is not judged here.
 * Wall-clock time, as Azure Storage reads SAS times.
 */
export function sasTimesAccepted(urls: string[]): void {
  const now = Date.now()
  for (const query of sasQueries(urls)) {
    // Only the times the SAS states: without `se` its expiry is a stored access policy's (`si`), not read here.
    const end = query.has('se') ? Date.parse(query.get('se')!) : undefined
    const start = query.has('st') ? Date.parse(query.get('st')!) : undefined
    if ((end !== undefined && !(end >= now + 60 * 60_000)) || (start !== undefined && !(start <= now - 15 * 60_000)))
      throw new ArmFailure(
        'InvalidRequestBody',
        'One of the SAS URIs provided could not be used for the following reason: The SAS token end time (se) must be at least 1 hour from now and the start time (st), if given, must be at least 15 minutes in the past.',
      )
  }
}

/** The query of each URL that carries a SAS (`sig`); a URL that does not parse or has no SAS (managed identity) is skipped. */
function* sasQueries(urls: string[]): Generator<URLSearchParams> {
  for (const url of urls) {
    let query: URLSearchParams
    try {
      query = new URL(url).searchParams
    } catch {
      continue
    }
    if (query.has('sig')) yield query
  }
}

/** The SAS permissions (`sp` letters) an export and an import need, with their names for the error. */
const SAS_PERMISSIONS_NEEDED = {
  // Both import/export pages' FAQ "Which permissions need to be granted to the storage account container shared access
  // signature (SAS) token to allow export?": read, add, create, write, delete, tag and move
  // (learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data, /azure/redis/how-to-import-export-data).
  export: {r: 'read', a: 'add', c: 'create', w: 'write', d: 'delete', t: 'tag', m: 'move'},
  // Not documented; an import reads the blobs it is given, so read is the least it needs.
  import: {r: 'read'},
} as const

/**
 * An export SAS that lacks a permission Microsoft lists, or an import SAS that cannot read, is refused the way the
 * SAS-time rule is (sasTimesAccepted): Azure's framing ("One of the SAS URIs provided could not be used for the
 * following reason: …"), naming the permissions missing, never the SAS. A URL without a SAS (managed identity) is not
 * judged here, nor one whose permissions come from a stored access policy (no `sp`).
 */
export function sasPermissionsAccepted(urls: string[], operation: keyof typeof SAS_PERMISSIONS_NEEDED): void {
  const needed = SAS_PERMISSIONS_NEEDED[operation]
  for (const query of sasQueries(urls)) {
    // Only the permissions the SAS states: without `sp` they are a stored access policy's (`si`), not read here.
    if (!query.has('sp')) continue
    const granted = query.get('sp')!
    const missing = Object.entries(needed).filter(([letter]) => !granted.includes(letter))
    if (missing.length > 0)
      throw new ArmFailure(
        'InvalidRequestBody',
        `One of the SAS URIs provided could not be used for the following reason: The SAS token does not grant the permissions ${operation} needs: ${Object.values(needed).join(', ')} (missing: ${missing.map(([, name]) => name).join(', ')}).`,
      )
  }
}

/** A blob/container URL without its SAS query, for error messages (SAS tokens are secrets). */
export function redactSas(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : `${url.slice(0, q)}?<sas>`
}

/**
 * A cache as an older api-version shows it: zonalAllocationPolicy is a 2024-11-01 property (redis.json 2024-11-01),
 * updateChannel and disableAccessKeyAuthentication came after 2022-06-01; live Azure's 2021-06-01 answer has none of
 * the three (az recording test_redis_cache_patch_schedule.yaml, test/fixtures/azure-cli-recordings).
 */
function shapeForApiVersion(properties: Record<string, unknown>, apiVersion: string): void {
  // Of the versions served, only 2024-11-01 defines zonalAllocationPolicy and disableAccessKeyAuthentication, and
  // updateChannel arrived in 2023-08-01 (RedisCommonProperties of the vendored redis.json documents; live Azure's
  // 2023-04-01 answer has neither, az recording test_redis_cache_with_mandatory_args.yaml).
  if (apiVersion < '2024-11-01') {
    delete properties.zonalAllocationPolicy
    delete properties.disableAccessKeyAuthentication
  }
  if (apiVersion < '2023-08-01') delete properties.updateChannel
}

// ── passive geo-replication (Linked Server - Create / Get / List / Delete, redis.json 2024-11-01) ──

/**
 * Passive geo-replication links a Premium cache to another Premium cache
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-geo-replication#geo-replication-prerequisites:
 * both caches Premium, of the same size, not already linked). Basic and Standard are refused with the tier rule of
 * src/azure/capabilities.ts; Azure Cache for Redis Enterprise has active geo-replication instead, another API
 * (Microsoft.Cache/redisEnterprise), which the emulator does not serve.
 */
function linkedServerRoutes(
  ctx: EmulatorContext,
  scoped: (p: Record<string, string>) => StoredCache | EmulatorResponse,
  isCache: (v: StoredCache | EmulatorResponse) => v is StoredCache,
  caches: () => StoredCache[],
): Route[] {
  const L = `${R}/{name}/linkedServers`
  const linksOf = (cache: StoredCache) => (cache.linkedServers ??= {})
  const linkView = (cache: StoredCache, name: string, link: NonNullable<StoredCache['linkedServers']>[string]) => ({
    id: `${cache.resource.id}/linkedServers/${name}`,
    name,
    type: 'Microsoft.Cache/Redis/linkedServers',
    properties: {...link, provisioningState: 'Succeeded'},
  })
  return [
    {
      method: 'PUT',
      pattern: `${L}/{linked}`,
      operation: 'redis.linkedServers.create',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const refused = tierRefused(cache, 'geo-replication')
        if (refused) return refused
        const props = request.body?.properties ?? {}
        const secondary = caches().find((c) => c.resource.id.toLowerCase() === String(props.linkedRedisCacheId).toLowerCase())
        if (!secondary) return armError(400, 'InvalidRequestBody', `The linked cache '${props.linkedRedisCacheId}' does not exist.`, {target: 'linkedRedisCacheId'})
        const secondaryRefused = tierRefused(secondary, 'geo-replication')
        if (secondaryRefused) return secondaryRefused
        if (props.serverRole !== undefined && String(props.serverRole).toLowerCase() !== 'secondary')
          return armError(400, 'InvalidRequestBody', "The linked server's serverRole must be Secondary.", {target: 'serverRole'})
        const link = {linkedRedisCacheId: secondary.resource.id, linkedRedisCacheLocation: String(props.linkedRedisCacheLocation ?? secondary.resource.location), serverRole: 'Secondary'}
        linksOf(cache)[p.linked!] = link
        cache.resource.properties.linkedServers = Object.keys(linksOf(cache)).map((name) => ({id: `${cache.resource.id}/linkedServers/${name}`}))
        ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.linkedServers.create', data: {linked: secondary.resource.id}})
        return {status: 201, body: linkView(cache, p.linked!, link)}
      },
    },
    {
      method: 'GET',
      pattern: L,
      operation: 'redis.linkedServers.list',
      handler: (request, p) => {
        const cache = scoped(p)
        return isCache(cache) ? paged(request, Object.entries(linksOf(cache)).map(([name, link]) => linkView(cache, name, link))) : cache
      },
    },
    {
      method: 'GET',
      pattern: `${L}/{linked}`,
      operation: 'redis.linkedServers.get',
      handler: (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const link = linksOf(cache)[p.linked!]
        return link ? {status: 200, body: linkView(cache, p.linked!, link)} : resourceNotFound(`${TYPE}/${cache.resource.name}/linkedServers`, p.linked!, p.rg!)
      },
    },
  ]
}

// ── access keys and firewall rules (Microsoft.Cache/stable/2022-06-01 and later, redis.json) ──

function keysAndFirewallRoutes(
  ctx: EmulatorContext,
  scoped: (p: Record<string, string>) => StoredCache | EmulatorResponse,
  isCache: (v: StoredCache | EmulatorResponse) => v is StoredCache,
): Route[] {
  // Redis - List Keys: stable per cache, derived (never stored in the state file). The primary key is the one the
  // cache's redis-server requires (accessKeyOf), so a client signing in with it gets in, as in Azure.
  const keyOf = (cache: StoredCache, which: 'primary' | 'secondary') => {
    redisDataPlane(ctx)
    const epoch = redisState(ctx).engineEpoch!
    return which === 'primary' ? accessKeyOf(epoch, cache.resource.id) : createHash('sha256').update(`${epoch}\n${cache.resource.id.toLowerCase()}:secondary`).digest('base64')
  }
  const ruleView = (cache: StoredCache, name: string, rule: {startIP: string; endIP: string}) => ({
    id: `${cache.resource.id}/firewallRules/${name}`,
    name: `${cache.resource.name}/${name}`,
    type: 'Microsoft.Cache/Redis/firewallRules',
    properties: {...rule},
  })
  const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
  const rulesOf = (cache: StoredCache) => (cache.firewallRules ??= {})
  return [
    {
      method: 'POST',
      pattern: `${R}/{name}/listKeys`,
      operation: 'redis.listKeys',
      handler: (_request, p) => {
        const cache = scoped(p)
        return isCache(cache) ? {status: 200, body: {primaryKey: keyOf(cache, 'primary'), secondaryKey: keyOf(cache, 'secondary')}} : cache
      },
    },
    {
      // Redis_ForceReboot (redis.json 2021-06-01…2024-11-01): 200 with a RedisForceRebootResponse `message`, not a
      // long-running operation; live Azure answered each of `redis force-reboot --reboot-type AllNodes / PrimaryNode /
      // SecondaryNode` so (az recording test_redis_cache_reboot.yaml). The reboot is recorded, not performed: the
      // emulator's cache keeps its data (Azure documents possible data loss,
      // https://learn.microsoft.com/azure/azure-cache-for-redis/cache-administration#reboot).
      method: 'POST',
      pattern: `${R}/{name}/forceReboot`,
      operation: 'redis.forceReboot',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const rebootType = canonicalEnum(request.body?.rebootType, ['PrimaryNode', 'SecondaryNode', 'AllNodes'])
        if (request.body?.rebootType !== undefined && !rebootType)
          return armError(400, 'InvalidRequestBody', `The reboot type '${request.body.rebootType}' is not valid; use PrimaryNode, SecondaryNode or AllNodes.`)
        ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.forceReboot', data: {rebootType: rebootType ?? null}})
        // Azure's message names 'Value' whatever the reboot type (the recording's three answers are identical).
        return {status: 200, body: {message: "The requested reboot operation for 'Value' has been successfully scheduled and should be executed shortly."}}
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/firewallRules`,
      operation: 'redis.firewallRules.list',
      handler: (request, p) => {
        const cache = scoped(p)
        return isCache(cache) ? paged(request, Object.entries(rulesOf(cache)).map(([name, rule]) => ruleView(cache, name, rule))) : cache
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/firewallRules/{rule}`,
      operation: 'redis.firewallRules.get',
      handler: (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const rule = rulesOf(cache)[p.rule!]
        return rule ? {status: 200, body: ruleView(cache, p.rule!, rule)} : resourceNotFound(`${TYPE}/${cache.resource.name}/firewallRules`, p.rule!, p.rg!)
      },
    },
    {
      method: 'PUT',
      pattern: `${R}/{name}/firewallRules/{rule}`,
      operation: 'redis.firewallRules.createOrUpdate',
      handler: (request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        const props = request.body?.properties
        if (!ipv4.test(String(props?.startIP)) || !ipv4.test(String(props?.endIP)))
          return armError(400, 'InvalidRequestBody', 'The firewall rule must set properties.startIP and properties.endIP to IPv4 addresses.')
        const created = !rulesOf(cache)[p.rule!]
        rulesOf(cache)[p.rule!] = {startIP: props.startIP, endIP: props.endIP}
        ctx.activity.append({resourceId: cache.resource.id, kind: 'redis.firewallRules.put', data: {rule: p.rule}})
        const body = ruleView(cache, p.rule!, rulesOf(cache)[p.rule!]!)
        // Azure answers a new rule 201 with a Location header naming the rule (az's recording, test_redis_cache_firewall).
        if (created) return {status: 201, body, headers: {location: `${request.baseUrl}${body.id}?${request.query.toString()}`}}
        return {status: 200, body}
      },
    },
    {
      method: 'DELETE',
      pattern: `${R}/{name}/firewallRules/{rule}`,
      operation: 'redis.firewallRules.delete',
      handler: (_request, p) => {
        const cache = scoped(p)
        if (!isCache(cache)) return cache
        if (!rulesOf(cache)[p.rule!]) return {status: 204}
        delete rulesOf(cache)[p.rule!]
        return {status: 200}
      },
    },
  ]
}

/**
 * 400 when the cache's tier cannot do `feature` (src/azure/capabilities.ts cites the Microsoft page of each rule).
 * Azure's exact code for these refusals is not published; the emulator answers with the ARM convention the README names.
 */
function tierRefused(cache: StoredCache, feature: RedisFeature): EmulatorResponse | undefined {
  const refusal = redisRefusal(feature, String(cache.resource.properties.sku?.name ?? ''))
  return refusal ? armError(400, 'InvalidParameterValue', `Invalid value given for parameter 'sku': ${refusal.message}.`, {target: 'sku'}) : undefined
}

const REDIS_TIERS = ['Basic', 'Standard', 'Premium'] as const

/**
 * Why Azure refuses a Redis - Create body, or undefined. The SKU (redis.json RedisCreateProperties.sku, required): tier
 * Basic/Standard/Premium, family C for Basic and Standard and P for Premium, capacity 0–6 for C and 1–5 for P
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-overview#service-tiers, and the spec's Sku
 * description). Then the tier rules of src/azure/capabilities.ts: zones (not Basic), a subnet (VNet injection),
 * shardCount (clustering) and more than one replica per primary (Premium only); staticIP only with a subnet
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-vnet).
 */
function createRefusal(body: any): EmulatorResponse | undefined {
  if (typeof body.location !== 'string' || !body.location) return armError(400, 'LocationRequired', 'The location property is required for this definition.')
  const sku = body.properties.sku
  const tier = canonicalEnum(sku?.name, REDIS_TIERS)
  if (!tier) return armError(400, 'InvalidParameterValue', `Invalid value given for parameter 'sku.name': '${sku?.name}'. Allowed values: ${REDIS_TIERS.join(', ')}.`, {target: 'sku.name'})
  const family = tier === 'Premium' ? 'P' : 'C'
  if (String(sku.family).toUpperCase() !== family)
    return armError(400, 'InvalidParameterValue', `Invalid value given for parameter 'sku.family': '${sku.family}'. The ${tier} tier uses family ${family}.`, {target: 'sku.family'})
  const capacities = family === 'P' ? [1, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5, 6]
  if (!capacities.includes(sku.capacity))
    return armError(400, 'InvalidParameterValue', `Invalid value given for parameter 'sku.capacity': '${sku.capacity}'. Family ${family} allows ${capacities.join(', ')}.`, {target: 'sku.capacity'})
  const props = body.properties
  const replicas = props.replicasPerPrimary ?? props.replicasPerMaster
  const needs: Array<[boolean, RedisFeature, string]> = [
    [Array.isArray(body.zones) && body.zones.length > 0, 'zone redundancy', 'zones'],
    [props.subnetId !== undefined, 'virtual network injection', 'subnetId'],
    [props.shardCount !== undefined, 'clustering', 'shardCount'],
    [typeof replicas === 'number' && replicas > 1, 'multiple replicas', props.replicasPerPrimary === undefined ? 'replicasPerMaster' : 'replicasPerPrimary'],
    [['rdb-backup-enabled', 'aof-backup-enabled'].some((k) => String(props.redisConfiguration?.[k]).toLowerCase() === 'true'), 'data persistence', 'redisConfiguration'],
  ]
  for (const [asked, feature, parameter] of needs) {
    const refusal = asked ? redisRefusal(feature, tier) : undefined
    if (refusal) return armError(400, 'InvalidParameterValue', `Invalid value given for parameter '${parameter}': ${refusal.message}.`, {target: parameter})
  }
  if (props.staticIP !== undefined && props.subnetId === undefined)
    return armError(400, 'InvalidParameterValue', "Invalid value given for parameter 'staticIP': a static IP can only be given with a subnetId (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-vnet).", {target: 'staticIP'})
  return undefined
}
