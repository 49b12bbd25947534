/**
 * PostgreSQL load: one row per tick into `public.orders` (created when the emulated server is initialised, before its
 * first base backup, so every restore has the table). `created_at` is the commit's wall-clock time, which is what the
 * local catalog's freshness probe reads (`select max(created_at) from orders …`).
 */
import type {LoadOptions, LoadTarget, RunningLoad} from './types.js'

/** The table the load writes, created on every new emulated server (see engines/postgres.ts `initSql`). */
export const POSTGRES_LOAD_SCHEMA = `CREATE TABLE IF NOT EXISTS public.orders (
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  amount numeric(10, 2) NOT NULL,
  note text
)`

export async function startPostgresLoad(target: LoadTarget, options: LoadOptions): Promise<RunningLoad> {
  const pg = (await import('pg')).default
  const client = new pg.Client({host: target.host, port: target.port, database: target.database ?? 'postgres', user: target.user ?? 'postgres', password: target.password})
  await client.connect()
  // A dropped connection (the server stopped first) ends the load quietly.
  client.on('error', () => undefined)
  await client.query(POSTGRES_LOAD_SCHEMA)
  const intervalMs = 1000 / Math.max(options.ratePerSecond, 0.01)
  let written = 0
  let stopped = false
  let inFlight: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    if (stopped) return
    inFlight = inFlight
      .then(() => client.query('INSERT INTO public.orders (amount, note) VALUES ($1, $2)', [(Math.random() * 200).toFixed(2), 'opsbook load generator']))
      .then(() => void written++)
      .catch(() => undefined)
  }, intervalMs)
  timer.unref()
  const stop = async () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    await inFlight
    await client.end().catch(() => undefined)
  }
  options.signal?.addEventListener('abort', () => void stop(), {once: true})
  return {
    stop,
    get written() {
      return written
    },
  }
}
