/**
 * In-place major version upgrade of an emulated PostgreSQL flexible server with the real data plane: a PATCH of
 * `properties.version` through the unmodified SDK (what `az postgres flexible-server upgrade --version N` sends)
 * upgrades the running PostgreSQL process; rows written before are read back over TLS after, as a user's psql would.
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Client} from 'pg'
import {POSTGRES_ENTRA_SCOPE} from '../../../src/actions/postgres-probes.js'
import type {AzureServices} from '../../../src/azure/clients.js'
import {loadOrCreateCertificate, loadOrCreatePostgresCertificate} from '../../../src/emulator/certificate.js'
import {PostgresEngine} from '../../../src/emulator/engines/postgres.js'
import {installedPostgres, postgresRootDir} from '../../../src/emulator/engines/postgres-binaries.js'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {sdkServices} from '../../integration/support.js'
import {credentialFor, hlcOptions, poll, RG} from '../helpers.js'
import {useMemoryTempDir} from '../../helpers/memory-tmp.js'

// The servers' folders in memory, not on the shared disk (see the helper).
useMemoryTempDir()

let emulator: RunningEmulator
let arm: AzureServices
let client: import('@azure/arm-postgresql-flexible').PostgreSQLManagementFlexibleServerClient
const SERVER = 'pg-upgrade'

let stateDir: string
beforeAll(async () => {
  // A state folder of the test's own: one test reaches into a server's folder (a file the OS will not delete).
  stateDir = mkdtempSync(join(tmpdir(), 'opsbook-pg-upgrade-state-'))
  chmodSync(stateDir, 0o755)
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 0, dataPlane: 'real', stateDir})
  arm = sdkServices(emulator)
  const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
  client = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
})
afterAll(async () => {
  await emulator?.stop()
  rmSync(stateDir, {recursive: true, force: true})
})

/**
 * A file the OS refuses to delete, as a read-only or immutable file left by other tooling would be: as root the
 * immutable attribute (chattr +i; root may delete anything else), otherwise a folder without write permission.
 * Returns the undo, or undefined where neither can be made (then the test that needs it skips).
 */
function undeletable(folder: string): (() => void) | undefined {
  // The undo finds the file where it is now: the upgrade moves the data directory it is in aside (data.old).
  const now = () => [folder, `${folder}.old`].map((f) => join(f, 'opsbook-stuck')).find((f) => existsSync(f)) ?? join(folder, 'opsbook-stuck')
  const stuck = join(folder, 'opsbook-stuck')
  mkdirSync(stuck, {recursive: true})
  const file = join(stuck, 'leftover')
  writeFileSync(file, 'cannot be deleted')
  try {
    if (process.getuid?.() === 0) {
      execFileSync('chattr', ['+i', file], {stdio: 'ignore'})
      return () => execFileSync('chattr', ['-i', join(now(), 'leftover')], {stdio: 'ignore'})
    }
    chmodSync(stuck, 0o555)
    return () => chmodSync(now(), 0o755)
  } catch {
    return undefined
  }
}

/** Until the server's own clock is past `point`: what it records from then on is stamped after the restore point. */
async function untilPast(name: string, point: Date): Promise<void> {
  await expect
    .poll(async () => new Date((await sql<{t: Date}>(name, 'SELECT clock_timestamp() AS t'))[0]!.t).getTime(), {timeout: 30_000, interval: 5})
    .toBeGreaterThan(point.getTime())
}

const idOf = (name: string) => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`

/** Run SQL on a server over TLS as the catalog's Microsoft Entra login (opsbook-drill), with a token for it. */
async function sql<T = any>(name: string, text: string, params: unknown[] = []): Promise<T[]> {
  const address = await arm.postgresAddress({id: idOf(name), fqdn: `${name}.postgres.database.azure.com`, port: 5432})
  if (!address) throw new Error(`${name} has no PostgreSQL process`)
  const pg = (await import('pg')).default
  const token = await arm.credential.getToken(POSTGRES_ENTRA_SCOPE)
  const connection: Client = new pg.Client({host: address.host, port: address.port, user: 'opsbook-drill', password: token!.token, database: 'postgres', ssl: {ca: address.ca, servername: address.servername}})
  await connection.connect()
  try {
    return (await connection.query(text, params)).rows as T[]
  } finally {
    await connection.end().catch(() => undefined)
  }
}

/** A server on PostgreSQL 14 (the oldest installed major), Entra authentication on. */
async function createAt14(name: string): Promise<void> {
  await client.servers.beginCreateOrUpdateAndWait(
    RG,
    name,
    {location: 'eastus', version: '14', sku: {name: 'Standard_D2ds_v5', tier: 'GeneralPurpose'}, administratorLogin: 'pgadmin', administratorLoginPassword: 'Not-a-real-secret-1', authConfig: {activeDirectoryAuth: 'Enabled'}},
    poll,
  )
}

/** The majors these tests run: linux-x64 installs them (package.json optionalDependencies); elsewhere they skip. */
const installed = (...majors: number[]) => majors.every((m) => installedPostgres().has(m))

describe.skipIf(!installed(14, 16, 17, 18))('PostgreSQL in-place major version upgrade (PATCH properties.version)', () => {
  it('upgrades the running server to the higher major: rows written before are there, select version() says the new major, a downgrade is refused', async () => {
    await client.servers.beginCreateOrUpdateAndWait(
      RG,
      SERVER,
      {
        location: 'eastus',
        version: '16',
        sku: {name: 'Standard_D2ds_v5', tier: 'GeneralPurpose'},
        administratorLogin: 'pgadmin',
        administratorLoginPassword: 'Not-a-real-secret-1',
        authConfig: {activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'},
        highAvailability: {mode: 'ZoneRedundant'},
      },
      poll,
    )
    await sql(SERVER, "INSERT INTO public.orders (amount, note) VALUES (12.34, 'written on 16')")
    expect((await sql(SERVER, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 16\./)
    const before = Date.now()

    const upgraded = await client.servers.beginUpdateAndWait(RG, SERVER, {version: '17'}, poll)
    expect(upgraded.version).toBe('17')
    expect(upgraded.state).toBe('Ready')
    // HA is off while the primary is upgraded, and on again after (concepts-major-version-upgrade).
    expect(upgraded.highAvailability?.state).toBe('Healthy')
    expect((await sql(SERVER, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 17\./)
    expect(await sql(SERVER, "SELECT amount::text, note FROM public.orders WHERE note = 'written on 16'")).toEqual([{amount: '12.34', note: 'written on 16'}])
    // The upgraded server takes writes again.
    await sql(SERVER, "INSERT INTO public.orders (amount, note) VALUES (5, 'written on 17')")
    expect((await sql(SERVER, "SELECT count(*)::int AS n FROM public.orders WHERE note LIKE 'written on %'"))[0].n).toBe(2)

    // Irreversible: a lower major is not an allowed target (ARM's ParameterOutOfRange, listing the allowed ones).
    await expect(client.servers.beginUpdateAndWait(RG, SERVER, {version: '16'}, poll)).rejects.toMatchObject({
      statusCode: 400,
      code: 'ParameterOutOfRange',
      message: "The value of the 'Version' should be in: [18]. Verify that the specified parameter value is correct.",
    })
    expect((await client.servers.get(RG, SERVER)).version).toBe('17')
    expect((await sql(SERVER, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 17\./)

    // A point-in-time restore to before the upgrade brings back the previous major on a new server (the doc's way back).
    const restored = await client.servers.beginCreateOrUpdateAndWait(
      RG,
      'pg-upgrade-before',
      {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: idOf(SERVER), pointInTimeUTC: new Date(before)},
      poll,
    )
    expect(restored.version).toBe('16')
    expect((await sql('pg-upgrade-before', 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 16\./)
    expect((await sql('pg-upgrade-before', "SELECT note FROM public.orders WHERE note LIKE 'written on %'")).map((r) => r.note)).toEqual(['written on 16'])
  }, 300_000)

  // One 14 server through both ways an upgrade can fail, then straight to 18: each failure must leave it as a user
  // would need it (on its major, taking writes, nothing half-made in the way of the next attempt), which the next step
  // then relies on. Was three tests creating a server each (skips majors / failed precheck / failure midway).
  it('a failed precheck and a failure in the middle of the copy each leave the server on 14, taking writes; then it skips majors straight to 18 with every row', async () => {
    const name = 'pg-upgrade-14'
    await createAt14(name)
    expect((await sql(name, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 14\./)
    await sql(name, "INSERT INTO public.orders (amount, note) SELECT n, 'row ' || n FROM generate_series(1, 500) AS n")

    // A failed precheck fails the operation and leaves the server on its major, taking writes.
    // On 14 every role may still create in schema public: a view on pg_stat_activity (Azure's precheck blocks it) and a
    // materialized view (which the emulator's copy does not carry).
    await sql(name, 'CREATE VIEW public.sessions AS SELECT pid, state FROM pg_stat_activity')
    await sql(name, 'CREATE MATERIALIZED VIEW public.order_totals AS SELECT count(*) AS n FROM public.orders')
    // The SDK's poller reports the failed operation's code and message.
    await expect(client.servers.beginUpdateAndWait(RG, name, {version: '17'}, poll)).rejects.toThrow(
      /failed\. UpgradePrecheckFailed\. The major version upgrade of 'pg-upgrade-14' to 17 was not started: views that depend on pg_stat_activity are not supported during a major version upgrade \(postgres: public\.sessions\); .*materialized views \(postgres: public\.order_totals\)/,
    )
    let after = await client.servers.get(RG, name)
    expect([after.version, after.state]).toEqual(['14', 'Ready'])
    expect((await sql(name, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 14\./)
    await sql(name, "INSERT INTO public.orders (amount, note) VALUES (6, 'after the refused upgrade')")
    await sql(name, 'DROP VIEW public.sessions')
    await sql(name, 'DROP MATERIALIZED VIEW public.order_totals')

    // A failure in the middle of the copy fails the operation and leaves the server on its old major, taking writes again.
    await sql(name, "INSERT INTO public.orders (amount, note) VALUES (7, 'before the failed upgrade')")
    // A view on a column PostgreSQL 17 removed (pg_stat_bgwriter.checkpoints_timed moved to pg_stat_checkpointer):
    // no precheck names it, and the new cluster refuses it when the copy recreates views — after the tables and
    // their rows were copied, so the failure is midway, with the old server already read-only.
    await sql(name, 'CREATE VIEW public.checkpoints AS SELECT checkpoints_timed FROM pg_stat_bgwriter')
    await expect(client.servers.beginUpdateAndWait(RG, name, {version: '17'}, poll)).rejects.toThrow(
      /failed\. InternalServerError\. .*The major version upgrade of 'pg-upgrade-14' to 17 failed; the server stays on 14: column (pg_stat_bgwriter\.)?checkpoints_timed does not exist/,
    )
    after = await client.servers.get(RG, name)
    expect([after.version, after.state]).toEqual(['14', 'Ready'])
    expect((await sql(name, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 14\./)
    // Writes are taken again (the copy had made the server read-only), and the rows from before are all there.
    await sql(name, "INSERT INTO public.orders (amount, note) VALUES (8, 'after the failed upgrade')")
    expect((await sql(name, "SELECT note FROM public.orders WHERE note LIKE '% the failed upgrade' ORDER BY amount")).map((r) => r.note)).toEqual([
      'before the failed upgrade',
      'after the failed upgrade',
    ])

    // Nothing of the half-made cluster is left in the way: without the view an upgrade goes through — skipping majors,
    // 14 straight to 18, with the spec's CreateModeForPatch `Update` this time (Servers.json 2025-08-01
    // ServerPropertiesForPatch.createMode).
    await sql(name, 'DROP VIEW public.checkpoints')
    expect((await client.servers.beginUpdateAndWait(RG, name, {version: '18', createMode: 'Update'}, poll)).version).toBe('18')
    expect((await sql(name, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 18\./)
    expect((await sql(name, "SELECT count(*)::int AS n, sum(amount)::int AS total FROM public.orders WHERE note LIKE 'row %'"))[0]).toEqual({n: 500, total: 125_250})
    expect((await sql(name, "SELECT note FROM public.orders WHERE note LIKE 'after the refused upgrade' OR note LIKE '% the failed upgrade' ORDER BY amount")).map((r) => r.note)).toEqual([
      'after the refused upgrade',
      'before the failed upgrade',
      'after the failed upgrade',
    ])
  }, 300_000)

  it('a step after the data directory swap that fails (the old data directory cannot be removed) fails the operation with the reason; the server is on the new major, complete: its rows, writes, a restore to after the upgrade', async (context) => {
    const name = 'pg-upgrade-afterswap'
    await createAt14(name)
    await sql(name, "INSERT INTO public.orders (amount, note) VALUES (21, 'before the swap')")
    // The server's folder (postgres-plane.ts keyOf: name and a hash of the id): a file in its data directory that the
    // OS will not delete. PostgreSQL 14 runs on unaffected; the upgrade copies, swaps the data directories, and then
    // cannot remove the old one.
    const id = idOf(name)
    const home = join(postgresRootDir(stateDir), `${name}-${createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 8)}`)
    const undo = undeletable(join(home, 'data'))
    // Where the file system cannot refuse a deletion (no chattr support), there is no such fault to cause.
    if (!undo) return context.skip()
    try {
      await expect(client.servers.beginUpdateAndWait(RG, name, {version: '17'}, poll)).rejects.toThrow(
        /failed\. InternalServerError\. .*The major version upgrade of 'pg-upgrade-afterswap' to 17 did not finish cleanly: the server now runs PostgreSQL 17, but a step after the data directory swap failed: .*(EPERM|EACCES|ENOTDIR).*\(the old PostgreSQL 14 data directory is left at .*data\.old\)/,
      )
      // The documented end state: on the new major, complete.
      const after = await client.servers.get(RG, name)
      expect([after.version, after.state]).toEqual(['17', 'Ready'])
      expect((await sql(name, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 17\./)
      await sql(name, "INSERT INTO public.orders (amount, note) VALUES (22, 'after the swap')")
      const notes = async (server: string) => (await sql(server, "SELECT note FROM public.orders WHERE note LIKE '% the swap' ORDER BY amount")).map((r) => r.note)
      expect(await notes(name)).toEqual(['before the swap', 'after the swap'])
      // The new major has a base backup of its own: a restore to a point after the upgrade is a 17 server with the rows.
      const point = new Date()
      await untilPast(name, point)
      await client.servers.beginCreateOrUpdateAndWait(RG, `${name}-pitr`, {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: id, pointInTimeUTC: point}, poll)
      expect((await sql(`${name}-pitr`, 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 17\./)
      expect(await notes(`${name}-pitr`)).toEqual(['before the swap', 'after the swap'])
    } finally {
      undo()
    }
  }, 300_000)

  it('refuses to upgrade a primary that has read replicas, and a replica', async () => {
    // pg-shop-orders has the catalog's replica pg-shop-orders-dr.
    for (const name of ['pg-shop-orders', 'pg-shop-orders-dr'])
      await expect(client.servers.beginUpdateAndWait(RG, name, {version: '17'}, poll)).rejects.toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('Major version upgrade is not yet supported for servers in a read replica setup'),
      })
    expect((await client.servers.get(RG, 'pg-shop-orders')).version).toBe('16')
  })

  it('the catalog primary, its replica deleted first as Azure requires, upgrades under the load generator, which keeps writing after', async () => {
    // The emulator for the local environment runs the load generator into pg-shop-orders (startEmulator's default).
    const newest = async () => new Date((await sql('pg-shop-orders', "SELECT max(created_at) AS at FROM public.orders WHERE note = 'opsbook load generator'"))[0].at).getTime()
    await expect.poll(newest, {timeout: 60_000, interval: 200}).toBeGreaterThan(0)
    const rowsBefore = (await sql('pg-shop-orders', 'SELECT count(*)::int AS n FROM public.orders'))[0].n
    await client.servers.beginDeleteAndWait(RG, 'pg-shop-orders-dr', poll)
    const upgraded = await client.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {version: '17'}, poll)
    const done = Date.now()
    expect(upgraded.version).toBe('17')
    expect((await sql('pg-shop-orders', 'SELECT version() AS v'))[0].v).toMatch(/^PostgreSQL 17\./)
    expect((await sql('pg-shop-orders', 'SELECT count(*)::int AS n FROM public.orders'))[0].n).toBeGreaterThanOrEqual(rowsBefore)
    // The load reconnects to the upgraded server and its rows keep coming.
    await expect.poll(newest, {timeout: 30_000, interval: 200}).toBeGreaterThan(done)
  }, 300_000)
})

/**
 * The engine across an upgrade that does not finish (a failure before the copy, the emulator stopped mid-copy, a
 * crash): the next start of the server takes writes, has its rows, and nothing of the half-made cluster is left.
 */
describe.skipIf(!installed(14, 17))('PostgresEngine.upgrade that does not finish', () => {
  let dir: string
  let tls: {certPem: string; keyPem: string}
  const engines: PostgresEngine[] = []
  const newEngine = () => {
    const engine = new PostgresEngine({rootDir: join(dir, 'postgres'), tls})
    engines.push(engine)
    return engine
  }
  /** A server on 14 with `rows` rows in public.items. */
  const serverAt14 = async (engine: PostgresEngine, key: string, rows: number) => {
    await engine.ensure(key, [`CREATE TABLE public.items (n int PRIMARY KEY, note text)`, `INSERT INTO public.items SELECT n, 'row ' || n FROM generate_series(1, ${rows}) AS n`], undefined, 14)
  }
  const count = async (engine: PostgresEngine, key: string) => (await engine.query<{n: number}>(key, 'SELECT count(*)::int AS n FROM public.items'))[0]!.n
  const write = (engine: PostgresEngine, key: string, n: number) => engine.query(key, `INSERT INTO public.items VALUES (${n}, 'written after')`)
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-pg-upgrade-'))
    // As root the servers run as another user, which must reach the folder.
    chmodSync(dir, 0o755)
    tls = await loadOrCreatePostgresCertificate(join(dir, 'pg-certs'), await loadOrCreateCertificate(join(dir, 'certs')))
  })
  afterAll(async () => {
    await Promise.allSettled(engines.map((e) => e.stop()))
    rmSync(dir, {recursive: true, force: true})
  })

  it.skipIf(!installed(13))(
    "a server on 13 (no pg_read_all_data: its Entra role's reach is grants) upgrades to 14 with its rows, and the Entra role reads and writes there; a user's own default privileges still stop it",
    async () => {
      const engine = new PostgresEngine({rootDir: join(dir, 'postgres'), tls, entraRoles: () => [{name: 'probe', objectId: '0f6e2a3c-5b7d-4e19-8c2a-1d3f5e7a9b0c', type: 'user'}]})
      engines.push(engine)
      await engine.ensure('legacy', [`CREATE TABLE public.items (n int PRIMARY KEY, note text)`, `INSERT INTO public.items SELECT n, 'row ' || n FROM generate_series(1, 50) AS n`], undefined, 13)
      const reach = "SELECT has_table_privilege('probe', 'public.items', 'SELECT, INSERT, UPDATE, DELETE') AS ok"
      expect([engine.majorOf('legacy'), (await engine.query<{ok: boolean}>('legacy', reach))[0]!.ok]).toEqual([13, true])
      // A default privilege the user set (not the emulator's grants to its Entra roles) is named by the precheck.
      await engine.query('legacy', 'CREATE ROLE app LOGIN')
      await engine.query('legacy', 'ALTER DEFAULT PRIVILEGES FOR ROLE app GRANT SELECT ON TABLES TO PUBLIC')
      await expect(engine.upgrade('legacy', 14)).rejects.toThrow(/does not carry default privileges \(postgres: app\)/)
      await engine.query('legacy', 'ALTER DEFAULT PRIVILEGES FOR ROLE app REVOKE SELECT ON TABLES FROM PUBLIC')
      // Also one granting only to the Entra role, which the emulator's own grants do too: not theirs when it is in a
      // schema, on functions, or fewer privileges than they give.
      for (const grant of ['IN SCHEMA public GRANT SELECT ON TABLES', 'GRANT EXECUTE ON FUNCTIONS', 'GRANT SELECT ON TABLES']) {
        await engine.query('legacy', `ALTER DEFAULT PRIVILEGES FOR ROLE app ${grant} TO probe`)
        await expect(engine.upgrade('legacy', 14), grant).rejects.toThrow(/does not carry default privileges \(postgres: app\)/)
        await engine.query('legacy', `ALTER DEFAULT PRIVILEGES FOR ROLE app ${grant.replace('GRANT', 'REVOKE')} FROM probe`)
      }
      expect(await engine.upgrade('legacy', 14)).toMatchObject({fromMajor: 13, toMajor: 14, rows: 50})
      expect([engine.majorOf('legacy'), await count(engine, 'legacy'), (await engine.query<{ok: boolean}>('legacy', reach))[0]!.ok]).toEqual([14, 50, true])
      await engine.stop()
    },
    180_000,
  )

  // Two ways an upgrade does not finish, one after the other on the same server (each restart is what the next one
  // starts from; was two tests creating a server each).
  it('a failure while setting up the new cluster leaves the server taking writes, in this process and the next; a crash between moving the old data directory aside and moving the new one in: the next start has the old data back', async () => {
    const engine = newEngine()
    await serverAt14(engine, 'setup', 10)
    // The new cluster's folder cannot be made: a file is in its way.
    writeFileSync(join(dir, 'postgres', 'setup.upgrade'), 'in the way')
    await expect(engine.upgrade('setup', 17)).rejects.toThrow(/EEXIST|ENOTDIR/)
    await write(engine, 'setup', 11)
    await engine.stop()
    const next = newEngine()
    await write(next, 'setup', 12)
    expect([next.majorOf('setup'), await count(next, 'setup')]).toEqual([14, 12])
    await next.stop()

    // A crash between moving the old data directory aside and moving the new one in.
    renameSync(join(dir, 'postgres', 'setup', 'data'), join(dir, 'postgres', 'setup', 'data.old'))
    const afterSwap = newEngine()
    expect([await count(afterSwap, 'setup'), afterSwap.majorOf('setup')]).toEqual([12, 14])
    await write(afterSwap, 'setup', 13)
    expect(existsSync(join(dir, 'postgres', 'setup', 'data.old'))).toBe(false)
    await afterSwap.stop()
  }, 180_000)

  it('an emulator stopped in the middle of the copy: the next start takes writes on the old major, with every row', async () => {
    const engine = newEngine()
    await serverAt14(engine, 'stopped', 20_000)
    // The assertion holds the upgrade's promise from the start: the copy fails (and the promise rejects) while stop()
    // still waits for the servers to end, and a handler attached only after stop() came too late — vitest reported
    // the rejection as unhandled and `npm test` exited 1 with every test passed (2-core machine under load).
    const failed = expect(engine.upgrade('stopped', 17)).rejects.toThrow()
    // The new cluster's process is up (the copy is starting): stop the emulator.
    await expect.poll(() => existsSync(join(dir, 'postgres', 'stopped.upgrade', 'data', 'postmaster.pid')), {timeout: 60_000, interval: 20}).toBe(true)
    await engine.stop()
    await failed
    const next = newEngine()
    await write(next, 'stopped', 20_001)
    expect([next.majorOf('stopped'), await count(next, 'stopped')]).toEqual([14, 20_001])
    expect(existsSync(join(dir, 'postgres', 'stopped.upgrade'))).toBe(false)
    await next.stop()
  }, 180_000)

  it("a crashed upgrade's new cluster (folder and running process) is removed at the next start", async () => {
    const crashed = newEngine()
    // What a crash mid-copy leaves: `<key>.upgrade` with its PostgreSQL process running (the engine is never stopped).
    await crashed.ensure('orphan.upgrade', [], undefined, 17)
    const pid = Number.parseInt(readFileSync(join(dir, 'postgres', 'orphan.upgrade', 'data', 'postmaster.pid'), 'utf8'), 10)
    expect(alive(pid)).toBe(true)
    const next = newEngine()
    await serverAt14(next, 'orphan', 3)
    expect(existsSync(join(dir, 'postgres', 'orphan.upgrade'))).toBe(false)
    await expect.poll(() => alive(pid), {timeout: 30_000, interval: 50}).toBe(false)
    await next.stop()
  }, 120_000)

  it('an old data directory that cannot be removed after the swap: the upgrade fails naming it, the server is on the new major, and later starts are not held up by it', async (context) => {
    const engine = newEngine()
    await serverAt14(engine, 'leftover', 7)
    const undo = undeletable(join(dir, 'postgres', 'leftover', 'data'))
    if (!undo) return context.skip()
    try {
      await expect(engine.upgrade('leftover', 17)).rejects.toThrow(/the server now runs PostgreSQL 17, but a step after the data directory swap failed: .*\(the old PostgreSQL 14 data directory is left at .*data\.old\)/)
      await write(engine, 'leftover', 8)
      expect([engine.majorOf('leftover'), await count(engine, 'leftover')]).toEqual([17, 8])
      await engine.stop()
      // The next process starts the server although the leftover is still there (and tries again to remove it).
      const next = newEngine()
      await write(next, 'leftover', 9)
      expect([next.majorOf('leftover'), await count(next, 'leftover'), existsSync(join(dir, 'postgres', 'leftover', 'data.old'))]).toEqual([17, 9, true])
      await next.stop()
    } finally {
      undo()
    }
    // Once it can be removed, the next start does.
    const last = newEngine()
    expect(await count(last, 'leftover')).toBe(9)
    expect(existsSync(join(dir, 'postgres', 'leftover', 'data.old'))).toBe(false)
    await last.stop()
  }, 180_000)
})
