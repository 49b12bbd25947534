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

/** The note on history rows (the load's own rows say 'opsbook load generator'). */
const HISTORY_NOTE = 'opsbook load generator (history before the emulator started)'

/** How much of a seeded server's past the load's history covers (Azure documents geo-restore RPO as up to one hour). */
export const POSTGRES_LOAD_HISTORY_MS = 60 * 60_000

/**
 * Rows the load would have written before this process existed, for a server whose ARM resource is older than its
 * process (the catalog's servers are seeded as created weeks ago): one row a second from `since` (at most
 * POSTGRES_LOAD_HISTORY_MS back) up to now, written before the server's first base backup. Without them a seeded
 * server's backups — and so a geo restore, which can only reach the last backup copied to the paired region
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore#geo-redundant-backup-and-restore)
 * — would hold none of the data the server is described as having, and a first drill could not measure its RPO.
 */
export function postgresLoadHistorySql(since: Date): string {
  if (Number.isNaN(since.getTime())) throw new Error('postgresLoadHistorySql: since is not a date')
  return `INSERT INTO public.orders (created_at, amount, note)
SELECT t, round((random() * 200)::numeric, 2), '${HISTORY_NOTE}'
FROM generate_series(greatest(timestamptz '${since.toISOString()}', clock_timestamp() - interval '${POSTGRES_LOAD_HISTORY_MS / 1000} seconds'), clock_timestamp(), interval '1 second') AS t`
}

/**
 * Rows the load would have written while no emulator process ran (the last one stopped at the newest row): one a
 * second from just after the newest row up to now (at most POSTGRES_LOAD_HISTORY_MS back), in a statement that returns
 * `filled_from`, the first filled row's time (null when there was no gap to fill). Azure's servers keep taking writes
 * while this machine is off; without the fill, a drill after an idle hour would read that hour as data lost.
 */
export const POSTGRES_LOAD_GAP_SQL = `WITH newest AS (SELECT max(created_at) AS at FROM public.orders),
filled AS (
  INSERT INTO public.orders (created_at, amount, note)
  SELECT t, round((random() * 200)::numeric, 2), '${HISTORY_NOTE}'
  FROM newest, generate_series(greatest(newest.at + interval '1 second', clock_timestamp() - interval '${POSTGRES_LOAD_HISTORY_MS / 1000} seconds'), clock_timestamp(), interval '1 second') AS t
  WHERE newest.at IS NOT NULL
  RETURNING created_at
)
SELECT min(created_at) AS filled_from FROM filled`

/**
 * A copy recovered to a point before its source's first base backup holds that backup as it is, history included:
 * the history rows after the point were never written before it, so they go (a restore holds nothing newer than its
 * point, as for the rows WAL replay cuts off).
 */
// Also a copy recovered to a point inside a gap the load filled (POSTGRES_LOAD_GAP_SQL): it holds the backup taken right
// after the fill, less the filled rows after the point.
export function postgresLoadHistoryTrimSql(point: Date): string {
  return `DELETE FROM public.orders WHERE note = '${HISTORY_NOTE}' AND created_at > timestamptz '${point.toISOString()}'`
}

export async function startPostgresLoad(target: LoadTarget, options: LoadOptions): Promise<RunningLoad> {
  const pg = (await import('pg')).default
  const connect = async (to: LoadTarget) => {
    const connection = new pg.Client({host: to.host, port: to.port, database: to.database ?? 'postgres', user: to.user ?? 'postgres', password: to.password})
    // A dropped connection (the server stopped) fails the next write; the load then connects again (retarget).
    connection.on('error', () => undefined)
    await connection.connect()
    return connection
  }
  let client = await connect(target)
  await client.query(POSTGRES_LOAD_SCHEMA)
  const intervalMs = 1000 / Math.max(options.ratePerSecond, 0.01)
  let written = 0
  let stopped = false
  /** Set when a write failed: the next tick (at most one a second) connects again where the server is now. */
  let brokenSince: number | undefined
  let inFlight: Promise<unknown> = Promise.resolve()
  const write = async () => {
    if (brokenSince !== undefined) {
      if (!options.retarget || Date.now() - brokenSince < 1000) return
      brokenSince = Date.now()
      const next = await connect(await options.retarget())
      await client.end().catch(() => undefined)
      client = next
      brokenSince = undefined
    }
    await client.query('INSERT INTO public.orders (amount, note) VALUES ($1, $2)', [(Math.random() * 200).toFixed(2), 'opsbook load generator'])
    written++
  }
  const timer = setInterval(() => {
    if (stopped) return
    inFlight = inFlight.then(write).catch(() => void (brokenSince ??= Date.now()))
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
