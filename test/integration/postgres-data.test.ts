/**
 * The real PostgreSQL data plane through the CLI: one emulator for the file (real PostgreSQL processes, the load
 * generator writing orders), runbooks run by the real CLI, and the restored servers' data read back over TLS as a
 * user's psql would.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Client} from 'pg'
import {runDataProbes} from '../../src/actions/postgres-probes.js'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {repoRoot, runRunbook, scratchDir, sdkServices, startLocalEmulator} from './support.js'
import {setKeyVaultSecret} from '../helpers/keyvault.js'

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
  const client = new pg.Client({host: address.host, port: address.port, user: 'opsbook-drill', database: 'postgres', ssl: {ca: address.ca, servername: address.servername}})
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

const journalOf = (cwd: string, runId: string) => readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')

beforeAll(async () => {
  emulator = await startLocalEmulator({dataPlane: 'real', load: {ratePerSecond: 20}, geoBackupLagMs: GEO_LAG_MS})
  arm = sdkServices(emulator)
  // The load generator writes into the primary from the start: wait for a few seconds of orders.
  await untilOrders('pg-shop-orders', 60)
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('PostgreSQL data read from real restored servers', () => {
  it('pg-pitr restores the rows up to the point and none after it, and verifies them by reading the copy', async () => {
    const point = new Date(Date.now() - 1_500)
    const run = await runRunbook(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${point.toISOString()}`])
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
      const run = await runRunbook(emulator, 'dr-drill', ['--param', 'geo=never'], {cwd})
      expect(run.code, `${attempt}: ${run.stderr}`).toBe(0)
      const db = (run.json.objectives as Array<{component: string; status: string; rpo: {measuredMs?: number}; notes: string[]}>).find((r) => r.component === 'orders-db')!
      expect(db.status).toBe('met')
      // Restored to the moment pg-pitr was called; the load writes every 50 ms: the copy holds all but the last instants.
      expect(db.rpo.measuredMs).toBeLessThan(3_000)
      expect(db.notes.join()).toMatch(/data read from the copy: newest .*; the source's newest at the point: /)
      const journal = journalOf(cwd, run.json.runId)
      expect(journal).toContain('"probe":"freshness"')
      expect(journal).toMatch(/"probe":"rows:orders","server":"pg-shop-orders-drill-[^"]+","role":"copy"/)
    }
  })

  it('a geo restore lags the source by the modelled geo-backup delay, read from the copy', async () => {
    const run = await runRunbook(emulator, 'dr-drill', ['--param', 'geo=always'])
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
    const run = await runRunbook(emulator, 'pg-promote-replica', ['--param', 'replica=pg-shop-orders-dr'])
    expect(run.code, run.stderr).toBe(0)
    const [inserted] = await query<{id: string}>('pg-shop-orders-dr', "INSERT INTO orders (amount, note) VALUES (1, 'after promote') RETURNING id")
    expect(Number(inserted!.id)).toBeGreaterThan(60)
  })

  it('a wrong freshness query is a failed row with PostgreSQL\'s reason, not a crash', async () => {
    const cwd = scratchDir()
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('select max(created_at) from orders where created_at <= $1', 'select max(shipped_at) from orders')
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const run = await runRunbook(emulator, 'dr-drill', ['--param', 'geo=never'], {cwd})
    expect(run.code).toBe(1)
    const db = (run.json.objectives as Array<{component: string; status: string; error?: string}>).find((r) => r.component === 'orders-db')!
    expect(db.status).toBe('failed')
    expect(db.error).toMatch(/^pg-pitr-orders-db\.verify: .*freshness on pg-shop-orders-drill-\S+\/postgres: column "shipped_at" does not exist/)
  })

  it('bad credentials and an unreachable server are failed probes with the reason', async () => {
    process.env.OPSBOOK_PARAM_PG_TEST_PASSWORD = 'not-the-password'
    const context = {services: arm, signal: new AbortController().signal, log: () => undefined, secret: () => undefined, now: () => new Date()}
    const server = {name: 'pg-shop-orders', id: serverId('pg-shop-orders'), fqdn: 'pg-shop-orders.postgres.database.azure.com'}
    const probes = {databases: ['postgres'], user: 'app', auth: {type: 'param' as const, name: 'PG_TEST_PASSWORD'}, freshness: 'select now()', tables: [], canary: false, port: 5432, timeout: 'PT5S'}
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
})
