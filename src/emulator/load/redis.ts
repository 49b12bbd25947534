/**
 * Redis load: keeps writing keys at a steady rate so snapshots and restores have data to lose. Each write is
 * `load:<n>` (n cycling through `keySpace`, so the key count levels off) holding `{"at": <ISO time>, "seq": n}`, and
 * the canary key is set to the same time with it — so the newest write's time can be read back from any copy.
 * Writes are paced by elapsed time (rate × seconds since start), not by a fixed sleep, so a slow tick catches up.
 */
import type {Redis as RedisClient} from 'ioredis'

export interface RedisLoadTarget {
  host: string
  port: number
  /** Connect with TLS (verify against `ca` for `servername`). */
  tls?: {ca?: string; servername?: string}
  username?: string
  password?: string
}

export interface RedisLoadOptions {
  ratePerSecond: number
  signal?: AbortSignal
  /** Key updated with each write's time (default opsbook:canary, the catalog probe's default canary). */
  canaryKey?: string
  /** How many distinct load keys to cycle through (default 1000). */
  keySpace?: number
}

export interface RedisLoad {
  stop(): Promise<void>
  /** Writes acknowledged so far. */
  written(): number
  /** The last error writing, if the latest attempt failed (the generator keeps trying). */
  lastError(): Error | undefined
}

const TICK_MS = 50

/** How many `load:<n>` keys the load cycles through by default (a seeded cache holds them all from the start). */
export const REDIS_LOAD_KEY_SPACE = 1000

/** The n-th key of the load's key space. */
export const redisLoadKey = (n: number) => `load:${n}`

/**
 * What the load would have written last while no emulator process ran: the canary at the current time. Written before a
 * catch-up snapshot (one the schedule missed while the emulator was stopped), so that snapshot holds data as fresh as
 * Azure's would — a cache in Azure keeps taking writes while this machine is off — and a drill after an idle hour
 * does not read the hour as data lost.
 */
export async function writeRedisLoadGap(client: RedisClient, canaryKey = 'opsbook:canary', at = new Date()): Promise<void> {
  await client.set(canaryKey, JSON.stringify({at: at.toISOString(), by: 'opsbook-load', gap: true}))
}

export function startRedisLoad(target: RedisLoadTarget, opts: RedisLoadOptions): RedisLoad {
  if (!(opts.ratePerSecond > 0)) throw new Error(`ratePerSecond must be positive, got ${opts.ratePerSecond}`)
  const canaryKey = opts.canaryKey ?? 'opsbook:canary'
  const keySpace = opts.keySpace ?? REDIS_LOAD_KEY_SPACE
  let written = 0
  let sequence = 0
  let error: Error | undefined
  let stopped = false
  let client: RedisClient | undefined
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> = Promise.resolve()
  const startedAt = Date.now()

  const tick = async () => {
    if (stopped || !client) return
    const due = Math.floor(((Date.now() - startedAt) / 1000) * opts.ratePerSecond) - sequence
    if (due <= 0) return
    const at = new Date().toISOString()
    const pipeline = client.pipeline()
    for (let i = 0; i < due; i++) {
      const seq = sequence + i
      pipeline.set(redisLoadKey(seq % keySpace), JSON.stringify({at, seq}))
    }
    pipeline.set(canaryKey, JSON.stringify({at, by: 'opsbook-load', seq: sequence + due - 1}))
    sequence += due
    try {
      const results = await pipeline.exec()
      const failed = results?.find(([e]) => e)
      if (failed) throw failed[0]
      written += due
      error = undefined
    } catch (e) {
      error = e as Error
    }
  }

  const stop = async () => {
    if (stopped) return
    stopped = true
    if (timer) clearInterval(timer)
    await inFlight
    client?.disconnect()
  }
  opts.signal?.addEventListener('abort', () => void stop(), {once: true})

  void (async () => {
    const {Redis} = await import('ioredis')
    if (stopped) return
    client = new Redis({
      host: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      ...(target.tls ? {tls: {ca: target.tls.ca, servername: target.tls.servername}} : {}),
      maxRetriesPerRequest: 1,
      // Keep reconnecting (a cache restarting for an import comes back): the load must outlive it.
      retryStrategy: () => 200,
    })
    client.on('error', (e: Error) => (error = e))
    timer = setInterval(() => {
      inFlight = inFlight.then(tick)
    }, TICK_MS)
    timer.unref()
  })().catch((e: Error) => (error = e))

  return {stop, written: () => written, lastError: () => error}
}
