/**
 * Data probes: opsbook reads the data of a PostgreSQL server and of a restored copy itself (catalog
 * `components.<key>.dataProbes`), so an RPO is the age of the newest data the copy holds, not the restore point Azure
 * echoes back. The same code runs against Azure and the emulator's real PostgreSQL processes; where a connection goes
 * is the client factory's business (`AzureServices.postgresAddress`).
 *
 * Credentials never come from the catalog: a Microsoft Entra token for Azure Database for PostgreSQL
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication: the
 * token of scope https://ossrdbms-aad.database.windows.net/.default is the password), a Key Vault secret, or an
 * OPSBOOK_PARAM_* variable. TLS is always verified. A probe that fails (bad SQL, unreachable, wrong credentials) is a
 * result with the reason, never an exception: the caller decides what fails.
 */
import type {Client} from 'pg'
import type {PostgresDataProbes} from '../catalog/schema.js'
import type {AzureServices, PostgresAddress} from '../azure/clients.js'
import {parseDuration} from '../support/duration.js'
import {readKeyVaultSecret} from '../azure/keyvault.js'

/** Azure Database for PostgreSQL's Entra token audience. */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default'
/** Where canary heartbeats go: opsbook's own schema in the source (`DROP SCHEMA opsbook_canary CASCADE` removes it). */
export const CANARY_SCHEMA = 'opsbook_canary'
const CANARY_FRESHNESS = `SELECT max(at) FROM ${CANARY_SCHEMA}.heartbeat WHERE at <= $1`

export interface ProbeServer {
  /** Azure name (for messages). */
  name: string
  id: string
  fqdn: string
}

export interface ProbeRow {
  /** freshness | canary | rows:<table> | checksum:<table> | connect */
  probe: string
  server: string
  role: 'copy' | 'source'
  database: string
  ok: boolean
  /** The answer: an ISO time, a count or a checksum (null when the query found nothing). */
  value?: string | number | null
  error?: string
  /** Set on a copy's row-count/checksum row that differs from the source's as of the point. */
  differs?: string
}

export interface ProbeReport {
  rows: ProbeRow[]
  /** Newest data in the copy (freshness, else canary), ISO; null when the query found no rows. */
  copyNewest?: string | null
  /** Newest data in the source at the restore point (same query, $1 = the point). */
  sourceNewest?: string | null
  /** When the probes answered (the end of a recovery's RTO). */
  answeredAt: string
  /** Failed probes, as `probe on server: reason`. */
  failures: string[]
}

export interface ProbeContext {
  services: AzureServices
  signal: AbortSignal
  log(message: string): void
  /** Marks a value secret so the journal and output redact it. */
  secret(value: string): void
  now(): Date
}

/** A password for the probes' login, from where the catalog says (never from the catalog itself). */
async function passwordOf(probes: PostgresDataProbes, context: ProbeContext): Promise<string> {
  const auth = probes.auth
  const secret = (value: string) => {
    context.secret(value)
    return value
  }
  if (auth.type === 'entra') {
    const token = await context.services.credential.getToken(POSTGRES_ENTRA_SCOPE, {abortSignal: context.signal})
    if (!token) throw new Error(`DefaultAzureCredential gave no token for ${POSTGRES_ENTRA_SCOPE}`)
    return secret(token.token)
  }
  if (auth.type === 'param') {
    const value = process.env[`OPSBOOK_PARAM_${auth.name}`]
    if (!value) throw new Error(`OPSBOOK_PARAM_${auth.name} is not set (dataProbes.auth names it as the password of ${probes.user})`)
    return secret(value)
  }
  // Key Vault data plane (the emulator's, against the emulator), with a token for the cloud's Key Vault audience.
  return secret(await readKeyVaultSecret(context.services, {vault: auth.vault, secret: auth.secret}, context.signal))
}

async function connect(address: PostgresAddress, probes: PostgresDataProbes, database: string, password: string): Promise<Client> {
  const pg = (await import('pg')).default
  const timeoutMs = parseDuration(probes.timeout) ?? 30_000
  const client = new pg.Client({
    host: address.host,
    port: address.port,
    user: probes.user,
    password,
    database,
    // Verified TLS always: the server's certificate must chain to `ca` (or the system CAs) and name the FQDN.
    ssl: {rejectUnauthorized: true, servername: address.servername, ...(address.ca ? {ca: address.ca} : {})},
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

function asIso(value: unknown): string | null {
  if (value === null || value === undefined) return null
  const date = value instanceof Date ? value : new Date(String(value))
  if (Number.isNaN(date.getTime())) throw new Error(`the freshness query returned ${JSON.stringify(value)}, not a timestamp`)
  return date.toISOString()
}

/** The first column of the first row. */
async function scalar(client: Client, sql: string, params: unknown[]): Promise<unknown> {
  const result = await client.query({text: sql, values: sql.includes('$1') ? params : [], rowMode: 'array'})
  return (result.rows[0] as unknown[] | undefined)?.[0] ?? null
}

const message = (error: unknown) => ((error as Error).message ?? String(error)).replace(/\s+/g, ' ').trim()

/**
 * Run the probes on the copy (and the same ones on the source, for comparison) as of `point`. Every probe runs even
 * when another failed; failures are rows with the reason.
 */
export async function runDataProbes(input: {probes: PostgresDataProbes; copy: ProbeServer; source?: ProbeServer; point: Date}, context: ProbeContext): Promise<ProbeReport> {
  const {probes, point} = input
  const rows: ProbeRow[] = []
  const report: ProbeReport = {rows, answeredAt: '', failures: []}
  let password: string | undefined
  let credentialError: string | undefined
  try {
    password = await passwordOf(probes, context)
  } catch (error) {
    credentialError = `no credentials for ${probes.user}: ${message(error)}`
  }
  const targets: Array<[ProbeServer, 'copy' | 'source']> = [[input.copy, 'copy'], ...(input.source ? [[input.source, 'source'] as [ProbeServer, 'source']] : [])]
  for (const [server, role] of targets) {
    for (const [index, database] of probes.databases.entries()) {
      const fail = (probe: string, error: string) => {
        rows.push({probe, server: server.name, role, database, ok: false, error})
        report.failures.push(`${probe} on ${server.name}/${database}: ${error}`)
      }
      if (credentialError) {
        fail('connect', credentialError)
        continue
      }
      let client: Client
      let versionNote: string | undefined
      try {
        const address = await context.services.postgresAddress({id: server.id, fqdn: server.fqdn, port: probes.port}, context.signal)
        if (!address) throw new Error('the emulator models this server\'s data (no PostgreSQL process): run the emulator with real data planes')
        client = await connect(address, probes, database, password!)
        versionNote = address.note
      } catch (error) {
        fail('connect', `cannot connect to ${server.fqdn}:${probes.port} as ${probes.user}: ${message(error)}`)
        continue
      }
      try {
        // Which server really answered (the emulator runs the server's major when installed, else the nearest, and says so).
        if (index === 0)
          context.log(
            `${role} ${server.name} runs PostgreSQL ${String(await scalar(client, 'SHOW server_version', []).catch((e: unknown) => `(version unknown: ${message(e)})`))}${versionNote ? ` (${versionNote})` : ''}`,
          )
        const newest: Array<[string, string]> = []
        if (index === 0 && probes.freshness) newest.push(['freshness', probes.freshness])
        if (index === 0 && probes.canary) newest.push(['canary', CANARY_FRESHNESS])
        for (const [probe, sql] of newest) {
          try {
            const value = asIso(await scalar(client, sql, [point]))
            rows.push({probe, server: server.name, role, database, ok: true, value})
            const key = role === 'copy' ? 'copyNewest' : 'sourceNewest'
            // The freshness query wins over the canary when both are set.
            if (probe === 'freshness' || report[key] === undefined) report[key] = value
          } catch (error) {
            fail(probe, message(error))
          }
        }
        for (const table of index === 0 ? probes.tables : []) {
          const where = table.timestampColumn ? ` WHERE "${table.timestampColumn}" <= $1` : ''
          try {
            rows.push({probe: `rows:${table.name}`, server: server.name, role, database, ok: true, value: Number(await scalar(client, `SELECT count(*) FROM ${table.name}${where}`, [point]))})
            if (table.checksum)
              rows.push({
                probe: `checksum:${table.name}`,
                server: server.name,
                role,
                database,
                ok: true,
                value: String(await scalar(client, `SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM ${table.name} t${where}`, [point])),
              })
          } catch (error) {
            fail(`rows:${table.name}`, message(error))
          }
        }
      } finally {
        await client.end().catch(() => undefined)
      }
    }
  }
  report.answeredAt = context.now().toISOString()
  // Source and copy must agree on what existed at the point where the tables say how to cut (timestampColumn).
  for (const copyRow of rows.filter((r) => r.role === 'copy' && r.ok && /^(rows|checksum):/.test(r.probe))) {
    const table = probes.tables.find((t) => copyRow.probe.endsWith(`:${t.name}`))
    const sourceRow = rows.find((r) => r.role === 'source' && r.ok && r.probe === copyRow.probe && r.database === copyRow.database)
    if (!table?.timestampColumn || !sourceRow) continue
    // A difference is data the copy lost (or a restore that reached less far, e.g. geo): reported, and the RPO
    // shows it; it is not a probe failure.
    if (sourceRow.value !== copyRow.value) copyRow.differs = `the copy has ${copyRow.value}, the source had ${sourceRow.value} up to ${point.toISOString()}`
  }
  for (const row of rows)
    context.log(`${row.ok ? 'ok  ' : 'FAIL'} ${row.probe} on ${row.role} ${row.server}/${row.database}: ${row.ok ? String(row.value) : row.error}${row.differs ? ` (${row.differs})` : ''}`)
  return report
}

/** Write a heartbeat into the source's opsbook_canary schema (created when missing); returns its commit time. */
export async function writeCanary(input: {probes: PostgresDataProbes; server: ProbeServer; runId: string}, context: ProbeContext): Promise<string> {
  const password = await passwordOf(input.probes, context)
  const address = await context.services.postgresAddress({id: input.server.id, fqdn: input.server.fqdn, port: input.probes.port}, context.signal)
  if (!address) throw new Error('the emulator models this server\'s data (no PostgreSQL process): run the emulator with real data planes')
  const client = await connect(address, input.probes, input.probes.databases[0]!, password)
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${CANARY_SCHEMA}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${CANARY_SCHEMA}.heartbeat (at timestamptz PRIMARY KEY DEFAULT clock_timestamp(), run_id text NOT NULL)`)
    await client.query(`COMMENT ON SCHEMA ${CANARY_SCHEMA} IS 'opsbook DR drill heartbeats; safe to drop: DROP SCHEMA ${CANARY_SCHEMA} CASCADE'`)
    const result = await client.query(`INSERT INTO ${CANARY_SCHEMA}.heartbeat (run_id) VALUES ($1) RETURNING at`, [input.runId])
    return asIso(result.rows[0].at)!
  } finally {
    await client.end().catch(() => undefined)
  }
}
