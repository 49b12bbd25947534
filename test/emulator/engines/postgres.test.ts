/**
 * The real PostgreSQL engine behind the emulated flexible servers, across emulator processes: a server the load
 * writes into keeps "taking writes" while no emulator runs (Azure's servers do), so a restore to a point in that gap
 * holds the rows up to the point — and a drill after an idle hour does not read the hour as data lost.
 */
import {chmodSync, existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadOrCreateCertificate, loadOrCreatePostgresCertificate} from '../../../src/emulator/certificate.js'
import {PostgresEngine} from '../../../src/emulator/engines/postgres.js'
import {postgresBinaries} from '../../../src/emulator/engines/postgres-binaries.js'
import {POSTGRES_LOAD_GAP_SQL, POSTGRES_LOAD_SCHEMA, postgresLoadHistoryTrimSql} from '../../../src/emulator/load/postgres.js'
import {useMemoryTempDir} from '../../helpers/memory-tmp.js'

// The servers' folders in memory, not on the shared disk (see the helper).
useMemoryTempDir()

const MINUTE = 60_000
/** The previous emulator process's rows: one a second, ending `idleMinutes` ago (as if it stopped then). */
const previousProcessRows = (idleMinutes: number) => `INSERT INTO public.orders (created_at, amount, note)
  SELECT t, 1, 'opsbook load generator (history before the emulator started)'
  FROM generate_series(clock_timestamp() - interval '${idleMinutes + 5} minutes', clock_timestamp() - interval '${idleMinutes} minutes', interval '1 second') AS t`

describe.skipIf(!postgresBinaries())('PostgresEngine across emulator processes', () => {
  let dir: string
  let tls: {certPem: string; keyPem: string}
  const engines: PostgresEngine[] = []
  const newEngine = () => {
    const engine = new PostgresEngine({rootDir: join(dir, 'postgres'), tls, initSql: [POSTGRES_LOAD_SCHEMA], beforeFirstBackupSql: (point) => [postgresLoadHistoryTrimSql(point)]})
    engines.push(engine)
    return engine
  }
  const newest = async (engine: PostgresEngine, key: string) =>
    new Date((await engine.query<{at: Date}>(key, 'SELECT max(created_at) AS at FROM public.orders'))[0]!.at).getTime()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-pg-engine-'))
    // As root the servers run as another user, which must reach the folder.
    chmodSync(dir, 0o755)
    tls = await loadOrCreatePostgresCertificate(join(dir, 'pg-certs'), await loadOrCreateCertificate(join(dir, 'certs')))
    // The first emulator process: the server's rows stop 10 minutes ago, and then the process stopped.
    const first = newEngine()
    await first.ensure('orders', [previousProcessRows(10)])
    await first.stop()
  })
  afterAll(async () => {
    await Promise.allSettled(engines.map((e) => e.stop()))
    rmSync(dir, {recursive: true, force: true})
  })

  it('fills the idle gap on the next start, and a restore to a point inside it holds the rows up to the point', async () => {
    const engine = newEngine()
    const starting = Date.now()
    await engine.ensure('orders', [], POSTGRES_LOAD_GAP_SQL)
    const now = Date.now()
    // The source's newest row is from this start (the fill runs during it, one row a second), not 10 minutes ago.
    // Bounded by the start, not by a time after it: on a loaded machine the start itself can take seconds.
    const filledTo = await newest(engine, 'orders')
    expect(filledTo).toBeGreaterThanOrEqual(starting - 1_000)
    expect(filledTo).toBeLessThanOrEqual(now)

    const point = new Date(now - 4 * MINUTE)
    await engine.restore('orders', 'orders-copy', point)
    const copyNewest = await newest(engine, 'orders-copy')
    // Up to the point (one row a second), nothing after it: without the fill the copy would end 10 minutes ago.
    expect(copyNewest).toBeLessThanOrEqual(point.getTime())
    expect(point.getTime() - copyNewest).toBeLessThan(2_000)
  })

  it('lets no one at a server that is still starting until its first base backup is taken', async () => {
    // A write let in before that backup had stopped fell before the backup's stoppedAt but after its WAL end: a
    // restore to a point just after the write recovered the backup as it was, without the write (CI, PG 13 PITR).
    const engine = newEngine()
    const backupsDir = join(dir, 'postgres', 'early', 'backups')
    const backupsTaken = () => (existsSync(backupsDir) ? readdirSync(backupsDir).filter((n) => existsSync(join(backupsDir, n, 'backup.json'))).length : 0)
    let started = false
    const first = engine.ensure('early').finally(() => (started = true))
    const tooEarly: number[] = []
    // Ask again and again while the first start runs (each ask given 5 ms to answer): an answer with no backup taken yet
    // is a server handed out too early.
    while (!started) {
      const answered = await Promise.race([engine.ensure('early').then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5))])
      if (answered && backupsTaken() === 0) tooEarly.push(Date.now())
    }
    await first
    expect(tooEarly).toEqual([])
    expect(backupsTaken()).toBe(1)
  })
})

describe.skipIf(!postgresBinaries(13))('PostgresEngine on PostgreSQL 13: Entra roles by grants', () => {
  let dir: string
  let engine: PostgresEngine

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-pg13-entra-'))
    chmodSync(dir, 0o755)
    const tls = await loadOrCreatePostgresCertificate(join(dir, 'pg-certs'), await loadOrCreateCertificate(join(dir, 'certs')))
    engine = new PostgresEngine({rootDir: join(dir, 'postgres'), tls, initSql: [POSTGRES_LOAD_SCHEMA]})
    await engine.ensure('v13', [], undefined, 13)
  }, 120_000)
  afterAll(async () => {
    await engine?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('an Entra group whose name holds a % gets its reach (format() would read it as a placeholder)', async () => {
    // Entra display names may hold any character; the grants are built with format(), where % starts a specifier.
    await engine.createEntraRoles('v13', [{name: 'ops 100% team', objectId: '00000000-0000-0000-0000-0000000000aa', type: 'group'}])
    const [row] = await engine.query<{ok: boolean}>('v13', "SELECT has_table_privilege('ops 100% team', 'public.orders', 'SELECT, INSERT') AS ok")
    expect(row!.ok).toBe(true)
  }, 120_000)
})
