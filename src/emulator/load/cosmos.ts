/**
 * Cosmos DB load: one item per tick into the probed container of each seeded NoSQL account. The emulator's Cosmos DB
 * data plane is in-process (src/emulator/services/cosmos.ts), so the load writes through the target's `writeItem`
 * instead of a network connection; the item gets its `_ts` there, as Cosmos DB stamps it on every write.
 */
import type {LoadOptions, LoadTarget, RunningLoad} from './types.js'

export async function startCosmosLoad(target: LoadTarget, options: LoadOptions): Promise<RunningLoad> {
  const write = target.writeItem
  if (!write) throw new Error(`${target.name}: no in-process writer for the Cosmos DB load`)
  const intervalMs = 1000 / Math.max(options.ratePerSecond, 0.01)
  let written = 0
  let stopped = false
  const timer = setInterval(() => {
    if (stopped) return
    write({id: `load-${Date.now()}-${written}`, amount: Number((Math.random() * 200).toFixed(2)), note: 'opsbook load generator'})
    written++
  }, intervalMs)
  timer.unref()
  const stop = async () => {
    stopped = true
    clearInterval(timer)
  }
  options.signal?.addEventListener('abort', () => void stop(), {once: true})
  return {
    stop,
    get written() {
      return written
    },
  }
}
