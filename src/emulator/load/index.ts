/**
 * The load orchestrator: starts each source's engine module at a steady rate and stops them all together (the
 * emulator stops it before its servers). A source that cannot be loaded is reported, not fatal: the emulator still
 * serves, and restores of that server have nothing new to lose.
 */
import type {LoadOptions, LoadSource, RunningLoad, StartLoad} from './types.js'

/** Default rows/keys per second per server: enough to see a few seconds of loss, small enough for a laptop. */
export const DEFAULT_LOAD_RATE = 5

const STARTERS: Record<LoadSource['engine'], () => Promise<StartLoad | undefined>> = {
  postgres: async () => (await import('./postgres.js')).startPostgresLoad,
  cosmos: async () => (await import('./cosmos.js')).startCosmosLoad,
  // The Redis key writer (./redis.ts) has its own option names: adapted to the common shape here.
  redis: async () => {
    const {startRedisLoad} = await import('./redis.js')
    return async (target, options) => {
      const load = startRedisLoad({host: target.host, port: target.port, username: target.user, password: target.password}, {...options, canaryKey: target.canaryKey})
      return {
        stop: () => load.stop(),
        get written() {
          return load.written()
        },
      }
    }
  },
}

export interface RunningLoads {
  /** Per source: writes so far, or why it is not loaded. */
  status(): Array<{engine: string; name: string; written?: number; error?: string}>
  stop(): Promise<void>
}

export async function startLoad(sources: LoadSource[], options: Partial<LoadOptions> = {}): Promise<RunningLoads> {
  const rate = options.ratePerSecond ?? DEFAULT_LOAD_RATE
  const entries = await Promise.all(
    sources.map(async (source) => {
      try {
        const start = await STARTERS[source.engine]()
        if (!start) return {source, error: `no ${source.engine} load module`}
        const load: RunningLoad = await start(await source.target(), {ratePerSecond: rate, signal: options.signal, retarget: () => source.target()})
        return {source, load}
      } catch (error) {
        return {source, error: (error as Error).message}
      }
    }),
  )
  return {
    status: () => entries.map((e) => ({engine: e.source.engine, name: e.source.name, ...('load' in e ? {written: e.load!.written} : {error: e.error})})),
    stop: async () => void (await Promise.allSettled(entries.map((e) => ('load' in e ? e.load!.stop() : undefined)))),
  }
}
