/**
 * The data plane of the emulated Redis caches: one real redis-server per cache (engines/redis.ts), when Debian's
 * `redis-server` is installed; without it the service keeps modelling the data (services/redis.ts `contents`).
 *
 * - Processes start lazily, when something first touches a cache (export, import, data probe, a client connecting),
 *   and stop with the emulator. Their dump files live under `ctx.dataDir/redis/<state epoch>/<cache>`; a reseeded
 *   state (reset, another environment) gets a new epoch, and older epochs are removed.
 * - Scheduled snapshots: for each cache whose catalog component has `snapshots`, an RDB is saved and uploaded as
 *   `<cache>-<UTC yyyymmddThhmmss>Z.rdb` on the catalog's frequency, on boundaries aligned to the epoch (every hour on
 *   the hour for PT1H), with one catch-up at start when the newest is older than the last boundary. So a drill
 *   measures the same snapshot age however often it runs.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {Redis as RedisClient} from 'ioredis'
import type {ManagedRedisComponent, RedisComponent} from '../../catalog/schema.js'
import {parseDuration} from '../../support/duration.js'
import {INTERNAL_BLOB_CLIENT_OPTIONS} from '../blob.js'
import type {EmulatorContext} from '../context.js'
import {keyspaceCount} from '../../support/rdb.js'
import {findRedisServer, REDIS_SERVER_ENV, RedisEngine} from './redis.js'
import {REDIS_LOAD_KEY_SPACE, redisLoadKey, writeRedisLoadGap} from '../load/redis.js'
import type {LoadTarget} from '../load/types.js'

export interface RedisDataPlaneInfo {
  /** The redis-server binary; undefined when modelled. */
  engine?: string
  /** What is modelled instead, when there is no engine. */
  modelled?: string
}

export const MODELLED_NOTE =
  'redis-server not found (install Debian\'s redis-server package): each cache\'s data is modelled — a key count and a few keys; export writes a JSON stand-in rather than a real RDB, data ages are modelled, and caches cannot be connected to'

/** What a scheduled snapshot blob's metadata says wrote it. */
export const SCHEDULE_SOURCE = 'opsbook-emulator-schedule'

/** A cache the data plane serves: a classic cache, or a Managed Redis database (`id` the database's, `name` its cluster's). */
export interface CacheRef {
  id: string
  name: string
  hostName: string
}

/** A catalog component whose data a real redis-server holds: classic Azure Cache for Redis or Azure Managed Redis. */
type CacheComponent = RedisComponent | ManagedRedisComponent

export class RedisDataPlane {
  readonly binary: string | undefined
  readonly info: RedisDataPlaneInfo
  private readonly engines = new Map<string, RedisEngine>()
  private readonly timers: NodeJS.Timeout[] = []
  /** Host names served by other services than the classic cache's (Managed Redis), for the data endpoint lookup. */
  private readonly hosts = new Map<string, CacheRef>()

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly epoch: string,
  ) {
    // OPSBOOK_REDIS_SERVER as the emulator's environment says (startEmulator's env); the PATH searched is this process's.
    const configured = ctx.env?.[REDIS_SERVER_ENV]
    this.binary = findRedisServer(configured === undefined ? process.env : {...process.env, [REDIS_SERVER_ENV]: configured})
    // The version is asked for only when shown (describe.ts): one process less on every emulator start.
    this.info = this.binary ? {engine: this.binary} : {modelled: MODELLED_NOTE}
    ctx.onClose(() => this.close())
    if (this.binary) this.removeOldEpochs()
  }

  get real(): boolean {
    return this.binary !== undefined
  }

  /** The engine of a cache (not started until used). */
  engine(cache: CacheRef): RedisEngine {
    const key = cache.id.toLowerCase()
    let engine = this.engines.get(key)
    if (!engine) {
      const component = this.componentOf(cache.name)
      engine = new RedisEngine({
        binary: this.binary!,
        dir: join(this.ctx.dataDir, 'redis', this.epoch, cache.name.toLowerCase()),
        certificate: this.ctx.certificate,
        password: accessKeyOf(this.epoch, cache.id),
        seed: (client) => this.seed(client, component),
      })
      this.engines.set(key, engine)
    }
    return engine
  }

  /** Make a cache's host name known to the data endpoint (`/_emulator/redis/{hostName}/endpoint`). */
  registerHost(cache: CacheRef): void {
    this.hosts.set(cache.hostName.toLowerCase(), cache)
  }

  /** The cache another service registered under this host name. */
  hostRef(hostName: string): CacheRef | undefined {
    return this.hosts.get(hostName.toLowerCase())
  }

  /** Key count over all databases (INFO keyspace). */
  async keyCount(cache: CacheRef): Promise<number> {
    return keyspaceCount(await (await this.engine(cache).client()).info('keyspace'))
  }

  /** Where the load generator writes into a cache: its plain port, signed in with its access key. */
  async loadTarget(cache: CacheRef): Promise<LoadTarget> {
    const port = await this.engine(cache).plainPort()
    return {name: cache.name, host: '127.0.0.1', port, password: accessKeyOf(this.epoch, cache.id), canaryKey: this.componentOf(cache.name)?.probe?.canary?.key}
  }

  /** Start the snapshot schedule of every cache with snapshots in the catalog (catch-up now, then on each boundary). */
  async startSchedules(caches: CacheRef[]): Promise<void> {
    for (const cache of caches) {
      const component = this.componentOf(cache.name)
      if (!component?.snapshots) continue
      const frequencyMs = parseDuration(component.snapshots.frequency)
      if (!frequencyMs) continue
      const now = this.ctx.clock().getTime()
      const lastBoundary = Math.floor(now / frequencyMs) * frequencyMs
      const newest = await this.newestScheduled(cache, component)
      if (newest === undefined || newest < lastBoundary) {
        if (this.ctx.loadOn && newest !== undefined) await writeRedisLoadGap(await this.engine(cache).client(), component.probe?.canary?.key, this.ctx.clock())
        await this.takeScheduled(cache, component)
      }
      const arm = () => {
        const wait = Math.floor(this.ctx.clock().getTime() / frequencyMs) * frequencyMs + frequencyMs - this.ctx.clock().getTime()
        const timer = setTimeout(() => {
          void this.takeScheduled(cache, component).catch(() => undefined)
          arm()
        }, Math.max(1000, wait))
        timer.unref()
        this.timers.push(timer)
      }
      arm()
    }
  }

  /** SAVE the cache and upload the RDB as a scheduled snapshot; returns its blob name. */
  async takeScheduled(cache: CacheRef, component: CacheComponent): Promise<string> {
    const rdb = await this.engine(cache).snapshot()
    const takenAt = this.ctx.clock()
    const name = `${cache.name}-${takenAt.toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z.rdb`
    const container = (await this.blobService()).getContainerClient(component.snapshots!.container)
    await container.createIfNotExists()
    await container.getBlockBlobClient(name).upload(rdb, rdb.length, {metadata: {dataasof: takenAt.toISOString(), source: SCHEDULE_SOURCE}})
    this.ctx.activity.append({resourceId: cache.id, kind: 'redis.scheduledSnapshot', data: {blob: name, bytes: rdb.length}})
    return name
  }

  private async newestScheduled(cache: CacheRef, component: CacheComponent): Promise<number | undefined> {
    const container = (await this.blobService()).getContainerClient(component.snapshots!.container)
    if (!(await container.exists())) return undefined
    let newest: number | undefined
    for await (const blob of container.listBlobsFlat({prefix: `${cache.name}-`, includeMetadata: true})) {
      if (blob.metadata?.source !== SCHEDULE_SOURCE) continue
      const at = Date.parse(blob.metadata.dataasof ?? '') || blob.properties.lastModified.getTime()
      if (newest === undefined || at > newest) newest = at
    }
    return newest
  }

  private componentOf(name: string): CacheComponent | undefined {
    return Object.values(this.ctx.environment.components).find((c): c is CacheComponent => (c.type === 'redis' || c.type === 'managedredis') && c.name === name)
  }

  /**
   * A fresh cache's data: a few sessions and flags, filler keys, the load generator's whole key space (a seeded cache
   * has been under that load all along, so its key count holds steady and the load only makes values newer), and
   * (with a canary probe) the canary at seed time.
   */
  private async seed(client: RedisClient, component: CacheComponent | undefined): Promise<void> {
    if (!this.ctx.seedFromCatalog) return
    const at = this.ctx.clock().toISOString()
    // The same keys and values as one command per key would write, in three commands: every emulator start seeds its
    // catalog's caches (the schedule's catch-up snapshot starts them), and ioredis building ~1,200 commands cost ~20 ms
    // of the emulator's CPU per start — the suite starts ~115 emulators. MSET for the plain strings, one script for
    // the hashes, and SET … EX for the sessions (they expire).
    const loadValue = JSON.stringify({at, by: 'opsbook-emulator-seed'})
    const strings: string[] = ['config:feature-flags', JSON.stringify({checkoutV2: true})]
    for (let n = 0; n < REDIS_LOAD_KEY_SPACE; n++) strings.push(redisLoadKey(n), loadValue)
    const canary = component?.probe?.canary
    if (canary) strings.push(canary.key, loadValue)
    const pipeline = client.pipeline()
    for (let i = 1; i <= 5; i++) pipeline.set(`session:${1000 + i}`, JSON.stringify({user: `user-${i}`, cache: component?.name}), 'EX', 86_400)
    pipeline.mset(...strings)
    // cart:1 … cart:200, each {items: i mod 7, updatedAt}: HSET per key, inside the server.
    pipeline.eval("for i = 1, 200 do redis.call('HSET', 'cart:' .. i, 'items', tostring(i % 7), 'updatedAt', ARGV[1]) end return 200", 0, at)
    await pipeline.exec()
  }

  /** One client for the plane's snapshot uploads and listings (its pipeline is built once, not per snapshot). */
  private blob?: Promise<import('@azure/storage-blob').BlobServiceClient>

  private blobService() {
    this.blob ??= import('@azure/storage-blob').then(
      ({BlobServiceClient, StorageSharedKeyCredential}) => new BlobServiceClient(this.ctx.blob.endpoint, new StorageSharedKeyCredential(this.ctx.blob.account, this.ctx.blob.key), INTERNAL_BLOB_CLIENT_OPTIONS),
    )
    return this.blob
  }

  private removeOldEpochs(): void {
    const root = join(this.ctx.dataDir, 'redis')
    if (!existsSync(root)) return
    for (const entry of readdirSync(root)) if (entry !== this.epoch) rmSync(join(root, entry), {recursive: true, force: true})
  }

  private async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    await Promise.all([...this.engines.values()].map((engine) => engine.stop().catch(() => undefined)))
  }
}

/**
 * The cache's primary access key, required by its server for the default user (as Azure requires a key when access
 * keys are enabled). Derived from the state epoch and the cache id: stable across restarts, new after a reset, never
 * stored; served as the primary key by Redis - List Keys (services/redis.ts).
 */
export function accessKeyOf(epoch: string, cacheId: string): string {
  return createHash('sha256').update(`${epoch}\n${cacheId.toLowerCase()}`).digest('base64')
}
