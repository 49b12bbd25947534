/**
 * Reading the newest row of an Azure SQL database over the data plane: the `mssql` driver (tedious underneath) with a
 * Microsoft Entra access token — `authentication.type: azure-active-directory-access-token`, the token from the run's
 * credential for https://database.windows.net/.default
 * (https://learn.microsoft.com/azure/azure-sql/database/authentication-aad-overview). TLS is always on
 * (`encrypt: true`, certificate verified). The driver is imported lazily: only a run that reads SQL data loads it.
 *
 * Not exercised end to end here: no SQL Server engine runs on this machine, so against the emulator the newest row
 * is modelled (services/sql.ts) and this path is only used against Azure.
 */
import {ActionFailure} from '../azure/errors.js'
import type {AzureServices} from '../azure/clients.js'

export const SQL_TOKEN_SCOPE = 'https://database.windows.net/.default'

export interface NewestRowOptions {
  services: Pick<AzureServices, 'credential'>
  /** e.g. sql-shop-prod.database.windows.net */
  server: string
  database: string
  /** T-SQL returning one timestamp. */
  query: string
  timeoutMs: number
  signal: AbortSignal
  /** Redact a value (the access token) everywhere. */
  secret(value: string): void
}

/** The timestamp the freshness query returns (ISO), or undefined when the table is empty. */
export async function readNewestRow(options: NewestRowOptions): Promise<string | undefined> {
  const token = await options.services.credential.getToken(SQL_TOKEN_SCOPE, {abortSignal: options.signal})
  if (!token) throw new ActionFailure(`no Microsoft Entra token for ${SQL_TOKEN_SCOPE}`, {code: 'sql-probe-no-token'})
  options.secret(token.token)
  const mssql = (await import('mssql')).default as unknown as MssqlModule
  const pool = new mssql.ConnectionPool({
    server: options.server,
    database: options.database,
    authentication: {type: 'azure-active-directory-access-token', options: {token: token.token}},
    options: {encrypt: true, trustServerCertificate: false},
    connectionTimeout: options.timeoutMs,
    requestTimeout: options.timeoutMs,
  })
  const onAbort = () => void pool.close()
  options.signal.addEventListener('abort', onAbort, {once: true})
  try {
    await pool.connect()
    const result = await pool.request().query(options.query)
    const value = result.recordset?.[0] ? Object.values(result.recordset[0])[0] : undefined
    if (value === null || value === undefined) return undefined
    const at = value instanceof Date ? value : new Date(String(value))
    if (Number.isNaN(at.getTime())) throw new ActionFailure(`the freshness query on ${options.database} returned ${String(value)}, not a timestamp`, {code: 'sql-probe-not-a-time'})
    return at.toISOString()
  } catch (error) {
    if (error instanceof ActionFailure) throw error
    throw new ActionFailure(`could not read the newest row of ${options.server}/${options.database}: ${(error as Error).message}`, {code: 'sql-probe-failed', cause: error})
  } finally {
    options.signal.removeEventListener('abort', onAbort)
    await pool.close().catch(() => {})
  }
}

/** The part of `mssql` used here (the package ships no types). */
interface MssqlModule {
  ConnectionPool: new (config: Record<string, unknown>) => {
    connect(): Promise<unknown>
    close(): Promise<void>
    request(): {query(text: string): Promise<{recordset?: Array<Record<string, unknown>>}>}
  }
}
