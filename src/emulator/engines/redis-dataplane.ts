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
 * - The catch-up is due at start but taken when something could first tell (`caughtUp`): before the cache's server is
 *   used for anything else (export, import, key count, the data endpoint, the load generator's target), before Azurite
 *   answers a request for its snapshot container or an account-wide one that can reach blobs (blob.ts's gate), and
 *   before the next scheduled snapshot. It is stamped with the time it was due (blob name, `dataasof`, the seed's and
 *   the load gap's times), and until then nothing can have changed the cache's data, so every client reads what a
 *   catch-up taken at start would have left. One record shows it later: the emulator's own activity event for it
 *   (`redis.scheduledSnapshot`, which monitor.ts counts as busy minutes and lists as an activity row) is appended when
 *   it is taken, dated when it was due. Most emulator starts never look at a cache: they start no redis-server
 *   (the suite's ~115 starts spawned ~180, each ~80 ms of CPU plus a SAVE and an upload). A catch-up still pending
 *   when the emulator stops is kept in its state (`pending`) and taken, in order, by the next process that serves it.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {Redis as RedisClient} from 'ioredis'
import type {ManagedRedisComponent, RedisComponent} from '../../catalog/schema.js'
import {parseDuration} from '../../support/duration.js'
import {BLOB_GATE_PASS_AGENT, INTERNAL_BLOB_CLIENT_OPTIONS} from '../blob.js'
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

/**
 * A catch-up snapshot due but not taken yet, by cache id (lower case). Kept in the emulator's state (JSON: plain
 * values), so a process that stops before anything looked leaves it to the next one.
 */
export interface PendingCatchUp {
  /** When it was due (ISO): the emulator's start. The snapshot, its blob name and `dataasof` carry this time. */
  at: string
  /** The schedule boundary (ms since the epoch) the newest scheduled snapshot must have reached for none to be needed. */
  boundary: number
  /** Whether the load generator ran in that process: then the load's gap is written first (writeRedisLoadGap). */
  load: boolean
}

export class RedisDataPlane {
  readonly binary: string | undefined
  readonly info: RedisDataPlaneInfo
  private readonly engines = new Map<string, RedisEngine>()
  private readonly timers: NodeJS.Timeout[] = []
  /** Host names served by other services than the classic cache's (Managed Redis), for the data endpoint lookup. */
  private readonly hosts = new Map<string, CacheRef>()
  /** Caches of this process's schedules with catch-ups in `pending`, by cache id (lower case); `running` once taken. */
  private readonly due = new Map<string, {cache: CacheRef; component: CacheComponent; running?: Promise<void>}>()
  /** The time a cache's fresh server is seeded as of, while its catch-up starts it (the catch-up's due time). */
  private readonly seedAt = new Map<string, Date>()

  /** `pending`: the state's catch-ups not taken yet (mutated in place, persisted with the state). */
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly epoch: string,
    private readonly pending: Record<string, PendingCatchUp[]> = {},
  ) {
    // OPSBOOK_REDIS_SERVER as the emulator's environment says (startEmulator's env); the PATH searched is this process's.
    const configured = ctx.env?.[REDIS_SERVER_ENV]
    this.binary = findRedisServer(configured === undefined ? process.env : {...process.env, [REDIS_SERVER_ENV]: configured})
    // The version is asked for only when shown (describe.ts): one process less on every emulator start.
    this.info = this.binary ? {engine: this.binary} : {modelled: MODELLED_NOTE}
    ctx.onClose(() => this.close())
    if (this.binary) this.removeOldEpochs()
    ctx.blobGate?.add((container) => this.beforeBlobRequest(container))
  }

  get real(): boolean {
    return this.binary !== undefined
  }

  /** The engine of a cache, to use its data: once the cache's pending catch-up snapshot (if any) is taken. */
  async use(cache: CacheRef): Promise<RedisEngine> {
    await this.caughtUp(cache)
    return this.engine(cache)
  }

  /** The engine of a cache (not started until used); its data only through `use`, which takes a pending catch-up first. */
  private engine(cache: CacheRef): RedisEngine {
    const key = cache.id.toLowerCase()
    let engine = this.engines.get(key)
    if (!engine) {
      const component = this.componentOf(cache.name)
      engine = new RedisEngine({
        binary: this.binary!,
        dir: join(this.ctx.dataDir, 'redis', this.epoch, cache.name.toLowerCase()),
        certificate: this.ctx.certificate,
        password: accessKeyOf(this.epoch, cache.id),
        seed: (client) => this.seed(client, component, this.seedAt.get(key) ?? this.ctx.clock()),
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
    return keyspaceCount(await (await (await this.use(cache)).client()).info('keyspace'))
  }

  /** Where the load generator writes into a cache: its plain port, signed in with its access key. */
  async loadTarget(cache: CacheRef): Promise<LoadTarget> {
    const port = await (await this.use(cache)).plainPort()
    return {name: cache.name, host: '127.0.0.1', port, password: accessKeyOf(this.epoch, cache.id), canaryKey: this.componentOf(cache.name)?.probe?.canary?.key}
  }

  /**
   * Start the snapshot schedule of every cache with snapshots in the catalog: a catch-up due now (taken when first
   * observable, see the file's comment), then one on each boundary.
   */
  startSchedules(caches: CacheRef[]): void {
    for (const cache of caches) {
      const component = this.componentOf(cache.name)
      if (!component?.snapshots) continue
      const frequencyMs = parseDuration(component.snapshots.frequency)
      if (!frequencyMs) continue
      const now = this.ctx.clock().getTime()
      const boundary = Math.floor(now / frequencyMs) * frequencyMs
      const key = cache.id.toLowerCase()
      const queue = (this.pending[key] ??= [])
      // A catch-up still pending for this boundary (an earlier process's) leaves the newest at or past it once taken.
      if (queue.at(-1)?.boundary !== boundary) queue.push({at: new Date(now).toISOString(), boundary, load: this.ctx.loadOn})
      this.due.set(key, {cache, component})
      const arm = () => {
        const wait = Math.floor(this.ctx.clock().getTime() / frequencyMs) * frequencyMs + frequencyMs - this.ctx.clock().getTime()
        const timer = setTimeout(() => {
          void this.caughtUp(cache)
            .then(() => this.takeScheduled(cache, component))
            .catch(() => undefined)
          arm()
        }, Math.max(1000, wait))
        timer.unref()
        this.timers.push(timer)
      }
      arm()
    }
  }

  /**
   * Take the cache's pending catch-ups (each: list the scheduled snapshots, and take one stamped with its due time when
   * the newest is older than its boundary), once; resolves at once when none is pending. A failure (the server cannot
   * start, Blob unreachable past the client's retries) rejects the callers waiting now, as it failed the emulator's start
   * when the catch-up was taken there, and the catch-up is dropped like a missed scheduled snapshot: the cache's data may
   * change from then on, so a later attempt could not hold the data it was due with.
   */
  caughtUp(cache: CacheRef): Promise<void> {
    const key = cache.id.toLowerCase()
    const due = this.due.get(key)
    if (!due) return Promise.resolve()
    due.running ??= this.catchUp(key, due.cache, due.component).finally(() => this.due.delete(key))
    return due.running
  }

  /**
   * blob.ts's gate: a request for a snapshot container of a cache with a catch-up pending (or an account-wide request
   * that can reach blobs) is answered after that catch-up, never before; a failed one is not the request's error.
   */
  private beforeBlobRequest(container: string | undefined): Promise<void> | undefined {
    const waits = [...this.due.values()]
      .filter((due) => container === undefined || due.component.snapshots!.container.toLowerCase() === container.toLowerCase())
      .map((due) => this.caughtUp(due.cache).catch(() => undefined))
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined
  }

  private async catchUp(key: string, cache: CacheRef, component: CacheComponent): Promise<void> {
    const queue = this.pending[key] ?? []
    try {
      for (const check of queue) {
        const newest = await this.newestScheduled(cache, component)
        if (newest !== undefined && newest >= check.boundary) continue
        const at = new Date(check.at)
        // The server, if this starts it, is seeded as of the due time: the data the catch-up would have saved then.
        this.seedAt.set(key, at)
        if (check.load && newest !== undefined) await writeRedisLoadGap(await this.engine(cache).client(), component.probe?.canary?.key, at)
        await this.takeScheduled(cache, component, at)
      }
    } finally {
      this.seedAt.delete(key)
      // Cut short by the emulator stopping: the state it saved as it stopped keeps the catch-up due for the next process.
      if (!this.closed) {
        delete this.pending[key]
        this.ctx.store.save()
      }
    }
  }

  /** SAVE the cache and upload the RDB as a scheduled snapshot taken `at` (default now); returns its blob name. */
  async takeScheduled(cache: CacheRef, component: CacheComponent, at?: Date): Promise<string> {
    const rdb = await this.engine(cache).snapshot()
    const takenAt = at ?? this.ctx.clock()
    const name = `${cache.name}-${takenAt.toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z.rdb`
    const container = (await this.blobService()).getContainerClient(component.snapshots!.container)
    await container.createIfNotExists()
    await container.getBlockBlobClient(name).upload(rdb, rdb.length, {metadata: {dataasof: takenAt.toISOString(), source: SCHEDULE_SOURCE}})
    this.ctx.activity.append({at: takenAt.toISOString(), resourceId: cache.id, kind: 'redis.scheduledSnapshot', data: {blob: name, bytes: rdb.length}})
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
  private async seed(client: RedisClient, component: CacheComponent | undefined, seededAt: Date): Promise<void> {
    if (!this.ctx.seedFromCatalog) return
    const at = seededAt.toISOString()
    // The same keys and values as one command per key would write, in three commands: ioredis building ~1,200 commands
    // cost ~20 ms of the emulator's CPU per seeded cache. MSET for the plain strings, one script for
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

  /**
   * One client for the plane's snapshot uploads and listings (its pipeline is built once, not per snapshot). Its
   * User-Agent lets its requests past the gate that holds others until the catch-up it is taking (blob.ts).
   */
  private blob?: Promise<import('@azure/storage-blob').BlobServiceClient>

  private blobService() {
    this.blob ??= import('@azure/storage-blob').then(
      ({BlobServiceClient, StorageSharedKeyCredential}) =>
        new BlobServiceClient(this.ctx.blob.endpoint, new StorageSharedKeyCredential(this.ctx.blob.account, this.ctx.blob.key), {
          ...INTERNAL_BLOB_CLIENT_OPTIONS,
          userAgentOptions: {userAgentPrefix: BLOB_GATE_PASS_AGENT},
        }),
    )
    return this.blob
  }

  private removeOldEpochs(): void {
    const root = join(this.ctx.dataDir, 'redis')
    if (!existsSync(root)) return
    for (const entry of readdirSync(root)) if (entry !== this.epoch) rmSync(join(root, entry), {recursive: true, force: true})
  }

  private closed = false

  private async close(): Promise<void> {
    this.closed = true
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
