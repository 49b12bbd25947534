/**
 * The real PostgreSQL data plane through the CLI: one emulator for the file (real PostgreSQL processes, the load
 * generator writing orders), runbooks run by the real CLI's commands (in the test process: what is under test is the
 * data, not the process start), and the restored servers' data read back over TLS as a user's psql would.
 */
import {generateKeyPairSync} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Client} from 'pg'
import {POSTGRES_ENTRA_SCOPE, runDataProbes} from '../../src/actions/postgres-probes.js'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {DEFAULT_PRINCIPAL} from '../../src/emulator/services/authorization.js'
import {issuerOf, signToken} from '../../src/emulator/tokens.js'
import {localEnvironmentWithServers} from '../emulator/helpers.js'
import {repoRoot, runRunbookInProcess, scratchDir, sdkServices, startLocalEmulator} from './support.js'
import {setKeyVaultSecret} from '../helpers/keyvault.js'
import {useMemoryTempDir} from '../helpers/memory-tmp.js'

// The servers' folders in memory, not on the shared disk (see the helper).
useMemoryTempDir()

const GEO_LAG_MS = 4_000
let emulator: RunningEmulator
let arm: AzureServices
const sub = () => emulator.subscription
const serverId = (name: string) => `/subscriptions/${sub()}/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`

/** A TLS connection to an emulated server by its Azure host name, as the catalog's Entra login (opsbook-drill). */
async function connectTo(name: string): Promise<Client> {
  const address = await arm.postgresAddress({id: serverId(name), fqdn: `${name}.postgres.database.azure.com`, port: 5432})
  if (!address) throw new Error(`${name} has no PostgreSQL process`)
  const pg = (await import('pg')).default
  // The password is a Microsoft Entra token for Azure Database for PostgreSQL, as for a user's psql.
  const token = await arm.credential.getToken(POSTGRES_ENTRA_SCOPE)
  const client = new pg.Client({host: address.host, port: address.port, user: 'opsbook-drill', password: token!.token, database: 'postgres', ssl: {ca: address.ca, servername: address.servername}})
  await client.connect()
  return client
}

async function query<T = any>(name: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = await connectTo(name)
  try {
    return (await client.query(sql, params)).rows as T[]
  } finally {
    await client.end()
  }
}

/** Until the load generator wrote `count` orders (the seeded hour of history before it does not count). */
async function untilOrders(name: string, count: number): Promise<void> {
  for (;;) {
    const [row] = await query<{n: number}>(name, "SELECT count(*)::int AS n FROM orders WHERE note = 'opsbook load generator'")
    if (row!.n >= count) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Until the server's own clock is past `point`: what it records from then on is stamped after the restore point. */
async function untilPast(name: string, point: Date): Promise<void> {
  await expect
    .poll(async () => new Date((await query<{t: Date}>(name, 'SELECT clock_timestamp() AS t'))[0]!.t).getTime(), {timeout: 30_000, interval: 5})
    .toBeGreaterThan(point.getTime())
}

const major = (version: string) => Number.parseInt(version, 10)
const journalOf = (cwd: string, runId: string) => readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')

/** A Microsoft Entra administrator of pg-shop-orders (the `administrators` resource), who is not the probe's login. */
const DBA = {principalName: 'dba@contoso.example', principalType: 'User' as const, objectId: '5f1c2a9e-0d7b-4c41-9e2f-6a3d8b7c1e04'}

const RUNNER_OID = '7d2e4b10-3c55-4f0e-8a61-0b9c2f4e6a13'

beforeAll(async () => {
  emulator = await startLocalEmulator({
    environment: await localEnvironmentWithServers([{name: 'pg-v13', version: '13'}]),
    dataPlane: 'real',
    load: {ratePerSecond: 20},
    geoBackupLagMs: GEO_LAG_MS,
    estate: {
      resources: {'pg-shop-orders': {administrators: [DBA]}},
      // An operator identity with every ARM role the runbooks need, but no PostgreSQL login of its own.
      identities: {'ops-runner': {objectId: RUNNER_OID, roles: [{role: 'Owner'}, {role: 'Storage Blob Data Contributor'}]}},
    },
  })
  arm = sdkServices(emulator)
  // The load generator writes into the primary from the start: wait for a few seconds of orders.
  await untilOrders('pg-shop-orders', 60)
})

// Stopping every real PostgreSQL server the file started (a dozen) takes long on a loaded machine.
afterAll(async () => {
  await emulator?.stop()
})

describe('PostgreSQL data read from real restored servers', () => {
  it('pg-pitr restores the rows up to the point and none after it, and verifies them by reading the copy', async () => {
    const point = new Date(Date.now() - 1_500)
    const run = await runRunbookInProcess(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${point.toISOString()}`])
    expect(run.code, run.stderr).toBe(0)
    const copy = run.json.outputs.server as string
    const [copyRows] = await query<{after: number; newest: Date; n: number}>(copy, 'SELECT count(*) FILTER (WHERE created_at > $1)::int AS after, max(created_at) AS newest, count(*)::int AS n FROM orders', [point])
    const [sourceRows] = await query<{after: number; upTo: number}>('pg-shop-orders', 'SELECT count(*) FILTER (WHERE created_at > $1)::int AS after, count(*) FILTER (WHERE created_at <= $1)::int AS "upTo" FROM orders', [point])
    // Nothing after the point, everything up to it; the source kept writing, so the copy misses those rows.
    expect(copyRows!.after).toBe(0)
    expect(copyRows!.n).toBe(sourceRows!.upTo)
    expect(sourceRows!.after).toBeGreaterThan(0)
    expect(point.getTime() - copyRows!.newest.getTime()).toBeLessThan(2_000)
    // What the run reported was read from the copy.
    expect(new Date(run.json.outputs.dataAsOf).getTime()).toBe(copyRows!.newest.getTime())
    expect(run.json.outputs.sourceDataAsOf).toBe(run.json.outputs.dataAsOf)
  })

  it('dr-drill measures the RPO from the recovered rows, the same way twice in a row, with the probe results in the journal', async () => {
    const cwd = scratchDir()
    for (const attempt of [1, 2]) {
      // Only the two components asserted on: the whole estate's legs (SQL, Cosmos, failover) are dr-drill.test's.
      const run = await runRunbookInProcess(emulator, 'dr-drill', ['--component', 'orders-db,sessions-cache', '--param', 'geo=never'], {cwd})
      expect(run.code, `${attempt}: ${run.stderr}`).toBe(0)
      const db = (run.json.objectives as Array<{component: string; status: string; rpo: {measuredMs?: number}; notes: string[]}>).find((r) => r.component === 'orders-db')!
      expect(db.status).toBe('met')
      // Restored to the moment pg-pitr was called; the load writes every 50 ms: the copy holds all but the last instants.
      expect(db.rpo.measuredMs).toBeLessThan(3_000)
      expect(db.notes.join()).toMatch(/data read from the copy: newest .*; the source's newest at the point: /)
      // The cache's RPO is read from the newest scheduled snapshot (its age depends on when the drill runs) and judged by
      // the snapshot interval: the same verdict and bound however close the runs are to a snapshot.
      const cache = (run.json.objectives as Array<{component: string; status: string; rpo: {measuredMs?: number; boundMs?: number}}>).find((r) => r.component === 'sessions-cache')!
      expect(cache).toMatchObject({status: 'met', rpo: {boundMs: 3_600_000, objectiveMs: 3_600_000, met: true}})
      expect(cache.rpo.measuredMs).toBeLessThanOrEqual(3_600_000)
      const journal = journalOf(cwd, run.json.runId)
      expect(journal).toContain('"probe":"freshness"')
      expect(journal).toMatch(/"probe":"rows:orders","server":"pg-shop-orders-drill-[^"]+","role":"copy"/)
    }
  })

  it('a geo restore lags the source by the modelled geo-backup delay, read from the copy', async () => {
    const run = await runRunbookInProcess(emulator, 'dr-drill', ['--component', 'orders-db', '--param', 'geo=always'])
    expect(run.code, run.stderr).toBe(0)
    const db = (run.json.objectives as Array<{component: string; rpo: {measuredMs?: number}; notes: string[]}>).find((r) => r.component === 'orders-db')!
    expect(db.notes[0]).toBe('geo restore into westus')
    // The copy lacks about the last GEO_LAG_MS of orders (the point is when the client started the restore, a moment
    // before the emulator cut the geo backups at its own now − lag).
    expect(db.rpo.measuredMs).toBeGreaterThanOrEqual(GEO_LAG_MS - 1_000)
    expect(db.rpo.measuredMs).toBeLessThan(GEO_LAG_MS + 5_000)
  })

  it('promoting the replica makes a writable server that has the primary\'s rows', async () => {
    await expect(query('pg-shop-orders-dr', "INSERT INTO orders (amount, note) VALUES (1, 'before promote')")).rejects.toThrow(/read-only transaction/)
    const run = await runRunbookInProcess(emulator, 'pg-promote-replica', ['--param', 'replica=pg-shop-orders-dr'])
    expect(run.code, run.stderr).toBe(0)
    const [inserted] = await query<{id: string}>('pg-shop-orders-dr', "INSERT INTO orders (amount, note) VALUES (1, 'after promote') RETURNING id")
    expect(Number(inserted!.id)).toBeGreaterThan(60)
  })

  it('a wrong freshness query is a failed row with PostgreSQL\'s reason, not a crash', async () => {
    const cwd = scratchDir()
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('select max(created_at) from orders where created_at <= $1', 'select max(shipped_at) from orders')
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const run = await runRunbookInProcess(emulator, 'dr-drill', ['--component', 'orders-db', '--param', 'geo=never'], {cwd})
    expect(run.code).toBe(1)
    const db = (run.json.objectives as Array<{component: string; status: string; error?: string}>).find((r) => r.component === 'orders-db')!
    expect(db.status).toBe('failed')
    expect(db.error).toMatch(/^pg-pitr-orders-db\.verify: .*freshness on pg-shop-orders-drill-\S+\/postgres: column "shipped_at" does not exist/)
  })

  // The probes' timeout (PT30S, the product default) bounds connecting, TLS, SCRAM/Entra sign-in and each query of a
  // real PostgreSQL: 5 s could pass on a loaded machine, and the probe then failed with a timeout instead of the
  // refusal asserted. The unreachable server below fails on its address, not on this timeout.
  it('bad credentials and an unreachable server are failed probes with the reason', async () => {
    process.env.OPSBOOK_PARAM_PG_TEST_PASSWORD = 'not-the-password'
    const context = {services: arm, signal: new AbortController().signal, log: () => undefined, secret: () => undefined, now: () => new Date()}
    const server = {name: 'pg-shop-orders', id: serverId('pg-shop-orders'), fqdn: 'pg-shop-orders.postgres.database.azure.com'}
    const probes = {databases: ['postgres'], user: 'app', auth: {type: 'param' as const, name: 'PG_TEST_PASSWORD'}, freshness: 'select now()', tables: [], canary: false, port: 5432, timeout: 'PT30S'}
    const wrong = await runDataProbes({probes, copy: server, point: new Date()}, context)
    expect(wrong.failures).toHaveLength(1)
    expect(wrong.failures[0]).toMatch(/^connect on pg-shop-orders\/postgres: cannot connect to pg-shop-orders\.postgres\.database\.azure\.com:5432 as app: password authentication failed for user "app"/)
    expect(JSON.stringify(wrong)).not.toContain('not-the-password')
    // The same password from a Key Vault secret (dataProbes.auth keyVaultSecret), read through the vault's data plane:
    // PostgreSQL's refusal proves it arrived; a missing secret names vault and secret.
    await setKeyVaultSecret(emulator, 'kv-shop-local', 'pg-app-password', 'not-the-password-either')
    const fromVault = await runDataProbes({probes: {...probes, auth: {type: 'keyVaultSecret' as const, vault: 'kv-shop-local', secret: 'pg-app-password'}}, copy: server, point: new Date()}, context)
    expect(fromVault.failures[0]).toMatch(/password authentication failed for user "app"/)
    expect(JSON.stringify(fromVault)).not.toContain('not-the-password-either')
    const noSecret = await runDataProbes({probes: {...probes, auth: {type: 'keyVaultSecret' as const, vault: 'kv-shop-local', secret: 'nope'}}, copy: server, point: new Date()}, context)
    expect(noSecret.failures[0]).toMatch(/no credentials for app: secret nope in Key Vault kv-shop-local does not exist/)
    const gone = await runDataProbes({probes: {...probes, auth: {type: 'entra' as const}, user: 'opsbook-drill'}, copy: {...server, id: serverId('pg-no-such-server')}, point: new Date()}, context)
    expect(gone.rows).toMatchObject([{probe: 'connect', ok: false}])
    expect(gone.failures[0]).toMatch(/cannot connect to .*: .*pg-no-such-server/)
  })

  it('a Microsoft Entra login needs a valid token of the emulator\'s issuer whose principal the server knows: else a failed probe with the reason', async () => {
    const context = {services: arm, signal: new AbortController().signal, log: () => undefined, secret: () => undefined, now: () => new Date()}
    const server = {name: 'pg-shop-orders', id: serverId('pg-shop-orders'), fqdn: 'pg-shop-orders.postgres.database.azure.com'}
    const probes = {databases: ['postgres'], user: 'opsbook-drill', auth: {type: 'entra' as const}, freshness: 'select max(created_at) from orders', tables: [], canary: false, port: 5432, timeout: 'PT30S'}
    // The same probe with the token a given credential hands out (as DefaultAzureCredential would).
    const withToken = (token: string, user = probes.user) =>
      runDataProbes({probes: {...probes, user}, copy: server, point: new Date()}, {...context, services: {...arm, credential: {getToken: async () => ({token, expiresOnTimestamp: Date.now() + 3_600_000})}}})
    const now = Math.floor(Date.now() / 1000)
    const tenant = '00000000-0000-0000-0000-000000000000'
    const claims = {aud: 'https://ossrdbms-aad.database.windows.net', iss: issuerOf(tenant), nbf: now - 60, exp: now + 3600, oid: DEFAULT_PRINCIPAL, tid: tenant}
    const issuer = {certPem: emulator.caPem, keyPem: readFileSync(join(dirname(emulator.caFile), 'key.pem'), 'utf8')}

    // The emulator's own token (what opsbook's credential gets) signs in: the role was created for its principal.
    const good = await runDataProbes({probes, copy: server, point: new Date()}, context)
    expect(good.failures).toEqual([])

    const expired = await withToken(signToken({...claims, nbf: now - 7200, exp: now - 3600}, issuer))
    expect(expired.failures[0]).toMatch(/^connect on pg-shop-orders\/postgres: .*password authentication failed for user "opsbook-drill": Microsoft Entra token rejected: the token expired at /)
    const unsigned = `${Buffer.from(JSON.stringify({alg: 'none', typ: 'JWT'})).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
    expect((await withToken(unsigned)).failures[0]).toMatch(/Microsoft Entra token rejected: the token is not signed/)
    const forged = signToken(claims, {certPem: emulator.caPem, keyPem: generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'}).toString()})
    expect((await withToken(forged)).failures[0]).toMatch(/Microsoft Entra token rejected: the token's signature does not verify/)
    expect((await withToken(signToken({...claims, aud: 'https://management.azure.com'}, issuer))).failures[0]).toMatch(/the token's audience is "https:\/\/management\.azure\.com", not https:\/\/ossrdbms-aad/)
    expect((await withToken('not-a-token')).failures[0]).toMatch(/the password is not a Microsoft Entra access token/)

    // A valid token of a principal that is neither an administrator nor the one the role was created for.
    const stranger = await withToken(signToken({...claims, oid: 'a3c0ffee-0000-4000-8000-000000000001'}, issuer))
    expect(stranger.rows).toMatchObject([{probe: 'connect', ok: false}])
    expect(stranger.failures[0]).toMatch(
      /its principal a3c0ffee-0000-4000-8000-000000000001 is not a Microsoft Entra administrator of pg-shop-orders \(administrators: dba@contoso\.example \(5f1c2a9e-[^)]+\)\) and role "opsbook-drill" was created for principal opsbook-emulator-identity/,
    )
    // The administrator signs in by its principal name with its own token (its role is created on first sign-in) …
    const dba = await withToken(signToken({...claims, oid: DBA.objectId}, issuer), DBA.principalName)
    expect(dba.failures).toEqual([])
    expect(dba.copyNewest).not.toBeNull()
    // … but not with the probe's principal's token.
    expect((await withToken(signToken(claims, issuer), DBA.principalName)).failures[0]).toMatch(/its principal opsbook-emulator-identity is not a Microsoft Entra administrator/)
    // No token ever reaches the report.
    expect(JSON.stringify([expired, stranger, dba])).not.toMatch(/eyJ/)
  })

  it('a server created with version 17 runs PostgreSQL 17 — ARM, SHOW server_version and the probe log agree — and so do its restore and replica', async () => {
    const pg = await arm.postgres()
    const rg = 'rg-shop-local'
    // As `az postgres flexible-server create --version 17 --active-directory-auth Enabled` would.
    await pg.servers.beginCreateOrUpdateAndWait(rg, 'pg-v17', {
      location: 'westeurope',
      version: '17',
      administratorLogin: 'opsbookadmin',
      administratorLoginPassword: 'not-used-here-1A!',
      sku: {name: 'Standard_D2ds_v5', tier: 'GeneralPurpose'},
      authConfig: {activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'},
    } as never)
    const created = await pg.servers.get(rg, 'pg-v17')
    expect(created.version).toBe('17')
    const [row] = await query<{server_version: string}>('pg-v17', 'SHOW server_version')
    expect(major(row!.server_version)).toBe(17)
    // The minor version ARM reports is the one really running.
    expect(row!.server_version.split('.')[1]).toBe(created.minorVersion)
    // (The emulator's servers all have the load generator's orders table; the probe login may write it.)
    await query('pg-v17', "INSERT INTO orders (amount, note) VALUES (1, 'v17 mark')")
    const point = new Date()
    await untilPast('pg-v17', point)

    await pg.servers.beginCreateOrUpdateAndWait(rg, 'pg-v17-pitr', {location: 'westeurope', createMode: 'PointInTimeRestore', sourceServerResourceId: created.id, pointInTimeUTC: point} as never)
    await pg.servers.beginCreateOrUpdateAndWait(rg, 'pg-v17-replica', {location: 'westeurope', createMode: 'Replica', sourceServerResourceId: created.id} as never)
    for (const name of ['pg-v17-pitr', 'pg-v17-replica']) {
      expect((await pg.servers.get(rg, name)).version).toBe('17')
      const [copy] = await query<{server_version: string}>(name, 'SHOW server_version')
      expect(major(copy!.server_version), name).toBe(17)
      expect((await query<{n: number}>(name, "SELECT count(*)::int AS n FROM orders WHERE note = 'v17 mark'"))[0]!.n, name).toBe(1)
    }
    // What the probes log (the journal's "runs PostgreSQL …" line) is the same major.
    const lines: string[] = []
    const context = {services: arm, signal: new AbortController().signal, log: (line: string) => lines.push(line), secret: () => undefined, now: () => new Date()}
    const probes = {databases: ['postgres'], user: 'opsbook-drill', auth: {type: 'entra' as const}, freshness: "select max(created_at) from orders where note = 'v17 mark'", tables: [], canary: false, port: 5432, timeout: 'PT30S'}
    const copy = {name: 'pg-v17-pitr', id: serverId('pg-v17-pitr'), fqdn: 'pg-v17-pitr.postgres.database.azure.com'}
    expect((await runDataProbes({probes, copy, point}, context)).failures).toEqual([])
    expect(lines.join('\n')).toMatch(/pg-v17-pitr runs PostgreSQL 17\.\d+/)
    // The emulator's data-plane answer names the engine and no mapping note.
    const data = await arm.armRequest('GET', `${serverId('pg-v17')}/opsbookData`, {apiVersion: '2025-08-01'})
    expect(data.body.dataPlane.engine).toBe('PostgreSQL 17')
    expect(data.body.dataPlane.note).toBeUndefined()
  })

  it('an existing server on 13 (Azure creates no new ones) runs PostgreSQL 13 for real: its Entra login reads and writes without pg_read_all_data, and a PITR of it is 13 with the rows up to the point', async () => {
    // pg-v13 already exists (seeded: Azure creates no new servers on 13); the probes sign in with Entra.
    const pg = await arm.postgres()
    const rg = 'rg-shop-local'
    const source = await pg.servers.get(rg, 'pg-v13')
    expect(source.version).toBe('13')
    await pg.servers.beginUpdateAndWait(rg, 'pg-v13', {authConfig: {activeDirectoryAuth: 'Enabled'}} as never)
    const [row] = await query<{server_version: string}>('pg-v13', 'SHOW server_version')
    expect(major(row!.server_version)).toBe(13)
    // PostgreSQL 13 has no pg_read_all_data: the Entra login's reach comes from grants, and it is not a member of one.
    expect((await query<{n: number}>('pg-v13', "SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'pg_read_all_data'"))[0]!.n).toBe(0)
    const data = await arm.armRequest('GET', `${serverId('pg-v13')}/opsbookData`, {apiVersion: '2025-08-01'})
    expect(data.body.dataPlane.engine).toBe('PostgreSQL 13')
    expect(data.body.dataPlane.note).toBeUndefined()
    // The probe login writes and reads the orders table, which the emulator's superuser owns.
    await query('pg-v13', "INSERT INTO orders (amount, note) VALUES (1, 'v13 mark')")
    const point = new Date()
    await untilPast('pg-v13', point)
    await query('pg-v13', "INSERT INTO orders (amount, note) VALUES (1, 'v13 after')")

    await pg.servers.beginCreateOrUpdateAndWait(rg, 'pg-v13-pitr', {location: source.location, createMode: 'PointInTimeRestore', sourceServerResourceId: source.id, pointInTimeUTC: point} as never)
    expect((await pg.servers.get(rg, 'pg-v13-pitr')).version).toBe('13')
    const [copy] = await query<{server_version: string}>('pg-v13-pitr', 'SHOW server_version')
    expect(major(copy!.server_version)).toBe(13)
    const marks = await query<{note: string}>('pg-v13-pitr', "SELECT note FROM orders WHERE note LIKE 'v13 %' ORDER BY note")
    expect(marks.map((m) => m.note)).toEqual(['v13 mark'])
    // The drill's probes read the copy and log the engine they found.
    const lines: string[] = []
    const context = {services: arm, signal: new AbortController().signal, log: (line: string) => lines.push(line), secret: () => undefined, now: () => new Date()}
    const probes = {databases: ['postgres'], user: 'opsbook-drill', auth: {type: 'entra' as const}, freshness: "select max(created_at) from orders where note like 'v13 %'", tables: [{name: 'orders', checksum: false}], canary: false, port: 5432, timeout: 'PT30S'}
    const server = {name: 'pg-v13-pitr', id: serverId('pg-v13-pitr'), fqdn: 'pg-v13-pitr.postgres.database.azure.com'}
    expect((await runDataProbes({probes, copy: server, point}, context)).failures).toEqual([])
    expect(lines.join('\n')).toMatch(/pg-v13-pitr runs PostgreSQL 13\.\d+/)
    // The copy is not needed after this: deleting it stops its process (fewer servers running for the rest of the file).
    await pg.servers.beginDeleteAndWait(rg, 'pg-v13-pitr')
    // A new restore under the deleted copy's name (a resumed drill re-runs its restore into the scratch name its
    // teardown deleted) is a server of its own: the dropped one's WAL archive, kept for ReviveDropped, held its timeline
    // history, PostgreSQL's archiver refused to overwrite it, and the restore failed after 120 s "waiting for the base
    // backup's WAL to be archived".
    await pg.servers.beginCreateOrUpdateAndWait(rg, 'pg-v13-pitr', {location: source.location, createMode: 'PointInTimeRestore', sourceServerResourceId: source.id, pointInTimeUTC: point} as never)
    expect((await query<{note: string}>('pg-v13-pitr', "SELECT note FROM orders WHERE note LIKE 'v13 %' ORDER BY note")).map((m) => m.note)).toEqual(['v13 mark'])
    await pg.servers.beginDeleteAndWait(rg, 'pg-v13-pitr')
  })

  it("the server's authConfig decides the sign-in methods: Entra off fails the drill's probe with the reason, password off refuses a password", async () => {
    const pg = await arm.postgres()
    const setAuth = (authConfig: {activeDirectoryAuth?: string; passwordAuth?: string}) => pg.servers.beginUpdateAndWait('rg-shop-local', 'pg-shop-orders', {authConfig} as never)
    // The catalog's probes sign in with Entra tokens: the server it describes has Entra authentication on.
    expect((await pg.servers.get('rg-shop-local', 'pg-shop-orders')).authConfig).toMatchObject({activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'})
    try {
      await setAuth({activeDirectoryAuth: 'Disabled'})
      // The copy the drill restores has its source's authConfig: the probe's Entra login is refused there.
      const run = await runRunbookInProcess(emulator, 'dr-drill', ['--component', 'orders-db', '--param', 'geo=never'])
      expect(run.code).toBe(1)
      const db = (run.json.objectives as Array<{component: string; status: string; error?: string}>).find((r) => r.component === 'orders-db')!
      expect(db.status).toBe('failed')
      expect(db.error).toMatch(
        /password authentication failed for user "opsbook-drill": Microsoft Entra authentication is disabled on pg-shop-orders-drill-\S+ \(authConfig\.activeDirectoryAuth is Disabled\)/,
      )

      await setAuth({activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled'})
      process.env.OPSBOOK_PARAM_PG_TEST_PASSWORD = 'any-password'
      const context = {services: arm, signal: new AbortController().signal, log: () => undefined, secret: () => undefined, now: () => new Date()}
      const server = {name: 'pg-shop-orders', id: serverId('pg-shop-orders'), fqdn: 'pg-shop-orders.postgres.database.azure.com'}
      const probes = {databases: ['postgres'], user: 'app', auth: {type: 'param' as const, name: 'PG_TEST_PASSWORD'}, freshness: 'select now()', tables: [], canary: false, port: 5432, timeout: 'PT30S'}
      const refused = await runDataProbes({probes, copy: server, point: new Date()}, context)
      expect(refused.failures[0]).toMatch(/password authentication failed for user "app": password authentication is disabled on pg-shop-orders \(authConfig\.passwordAuth is Disabled/)
      // The Entra login still works.
      expect((await runDataProbes({probes: {...probes, user: 'opsbook-drill', auth: {type: 'entra' as const}}, copy: server, point: new Date()}, context)).failures).toEqual([])
    } finally {
      await setAuth({activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'})
    }
  })

  it('through the CLI, a run signed in as an identity the server does not know fails its verify with the reason', async () => {
    const run = await runRunbookInProcess(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${new Date(Date.now() - 1_000).toISOString()}`], {env: {OPSBOOK_EMULATOR_IDENTITY: 'ops-runner'}})
    expect(run.code, run.stderr).toBe(1)
    const verify = (run.json.steps as Array<{id: string; status: string; error?: string}>).find((s) => s.id === 'verify')!
    expect(verify.status).toBe('failed')
    expect(verify.error).toMatch(
      new RegExp(`connect on pg-shop-orders-pitr-\\S+/postgres: cannot connect to .*password authentication failed for user "opsbook-drill": Microsoft Entra token rejected: its principal ${RUNNER_OID} is not a Microsoft Entra administrator of pg-shop-orders-pitr-\\S+ \\(administrators: none\\) and role "opsbook-drill" was created for principal opsbook-emulator-identity`),
    )
    expect(run.stdout + run.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./)
  })
})
