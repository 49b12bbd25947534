/**
 * The Redis data probes of a catalog component (`probe:`): read from an RDB snapshot (our RDB reader, no connection
 * needed) and, when opsbook connects, from the cache itself over TLS with the certificate verified.
 *
 * Sign-in (never a secret in the catalog):
 * - `entra` (default): a Microsoft Entra token from the run's DefaultAzureCredential for the scope
 *   `https://redis.azure.com/.default`, sent as the password with the principal's object id (the token's `oid`) as the
 *   user name — "Use Microsoft Entra ID for cache authentication",
 *   https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication (the
 *   principal needs a data access policy assignment, e.g. Data Contributor, and TLS on port 6380).
 * - `accessKey`: the key in the environment variable OPSBOOK_PARAM_<accessKeyParam>.
 * Tokens and keys are passed to `context.secret` before use, so they never reach output or the journal.
 */
import type {Redis as RedisClient} from 'ioredis'
import type {RedisResource} from '@azure/arm-rediscache'
import type {RedisComponent} from '../catalog/schema.js'
import {ExitCode} from '../errors.js'
import type {AzureServices} from '../azure/clients.js'
import {readKeyVaultSecret} from '../azure/keyvault.js'
import {ActionFailure} from '../azure/errors.js'
import {keyspaceCount, readRdb, RdbFormatError, timestampOf, type RdbSummary} from '../support/rdb.js'
import type {ResolvedResource} from './resolve.js'
import type {ActionContext} from './types.js'

export type RedisProbe = NonNullable<RedisComponent['probe']>

/** Microsoft Entra scope of the Azure Cache for Redis data plane (see the file comment). */
export const REDIS_ENTRA_SCOPE = 'https://redis.azure.com/.default'

/** One probe result: shown in the log and kept in the step's outputs (so the journal holds it). */
export interface ProbeRow {
  probe: string
  ok: boolean
  detail: string
}

export function probeOf(resource: ResolvedResource): RedisProbe | undefined {
  // Classic and Managed Redis components carry the same probe settings.
  const c = resource.component
  return c?.type === 'redis' || c?.type === 'managedredis' ? c.probe : undefined
}

/** What an RDB snapshot holds, for the probes: key count and the canary's time. */
export interface SnapshotData {
  keyCount: number
  keysByType: Record<string, number>
  /** The canary key's value and the time it holds (when the probe has a canary and the file holds it). */
  canary?: {key: string; value: string; at?: string}
  summary: RdbSummary
}

/** Read an RDB file for the probes; a file that is not one fails with the reader's reason. */
export function snapshotData(name: string, data: Buffer, probe: RedisProbe | undefined): SnapshotData {
  const modelled = modelledStandIn(data)
  if (modelled) {
    // The emulator without redis-server writes a JSON stand-in: its keys are a sample, its count is modelled.
    const summary: RdbSummary = {version: 11, aux: {}, keyCount: modelled.keyCount, keysByDb: {0: modelled.keyCount}, keysByType: {}, expiring: 0, values: {}, notString: []}
    const key = probe?.canary?.key
    if (key && modelled.keys[key] !== undefined) summary.values[key] = modelled.keys[key]!
    return {keyCount: modelled.keyCount, keysByType: {}, summary, ...(key && summary.values[key] !== undefined ? {canary: {key, value: summary.values[key]!, at: timestampOf(summary.values[key]!)?.toISOString()}} : {})}
  }
  let summary: RdbSummary
  try {
    summary = readRdb(data, probe?.canary ? [probe.canary.key] : [])
  } catch (error) {
    if (error instanceof RdbFormatError) throw new ActionFailure(`snapshot ${name} cannot be read as an RDB file: ${error.message}`, {code: 'redis-snapshot-invalid'})
    throw error
  }
  const out: SnapshotData = {keyCount: summary.keyCount, keysByType: summary.keysByType, summary}
  const key = probe?.canary?.key
  if (key && summary.values[key] !== undefined) {
    const value = summary.values[key]!
    out.canary = {key, value, at: timestampOf(value)?.toISOString()}
  }
  return out
}

/** The canary probe row of a snapshot (undefined when no canary is configured). */
export function canaryRow(name: string, data: SnapshotData, probe: RedisProbe | undefined): ProbeRow | undefined {
  const key = probe?.canary?.key
  if (!key) return undefined
  if (data.summary.notString.includes(key)) return {probe: 'canary', ok: false, detail: `${name}: canary key ${key} is not a string`}
  if (!data.canary) return {probe: 'canary', ok: false, detail: `${name}: canary key ${key} is not in the snapshot (is something writing it? set probe.canary.write: true to let opsbook write it before its exports)`}
  if (!data.canary.at) return {probe: 'canary', ok: false, detail: `${name}: canary key ${key} holds no timestamp (expected ISO-8601, epoch seconds/ms or JSON with "at")`}
  return {probe: 'canary', ok: true, detail: `${name}: ${key} = ${data.canary.at}`}
}

/** Key counts compared within the probe's tolerance. */
export function keyCountRow(what: string, actual: number, expected: number, probe: RedisProbe | undefined): ProbeRow | undefined {
  if (!probe?.keyCount) return undefined
  const tolerance = probe.keyCount.tolerance
  const difference = expected === 0 ? (actual === 0 ? 0 : 1) : Math.abs(actual - expected) / expected
  return {
    probe: 'keyCount',
    ok: difference <= tolerance,
    detail: `${what}: ${actual} keys against ${expected} (${(difference * 100).toFixed(1)}% apart, tolerance ${(tolerance * 100).toFixed(0)}%)`,
  }
}

/** Log each probe row, and fail with all the failing ones (the drill turns that into a failed row with the reason). */
export function settleProbes(context: ActionContext, cache: string, rows: ProbeRow[]): void {
  for (const row of rows) context.log(`${row.ok ? 'ok  ' : 'FAIL'} probe ${row.probe}: ${row.detail}`)
  const failed = rows.filter((r) => !r.ok)
  if (failed.length > 0)
    throw new ActionFailure(`data probe of ${cache} failed: ${failed.map((r) => `${r.probe}: ${r.detail}`).join('; ')}`, {code: 'redis-probe-failed', details: {probes: rows}})
}

/**
 * A TLS connection to the cache's data plane, signed in as the probe says. Fails with a clear reason (unreachable,
 * refused sign-in, certificate) rather than an ioredis stack. The caller must `quit()` it.
 */
export async function connectCache(
  context: ActionContext,
  services: AzureServices,
  resource: ResolvedResource,
  cache: Pick<RedisResource, 'hostName' | 'sslPort' | 'provisioningState'>,
  probe: RedisProbe,
): Promise<RedisClient> {
  const hostName = cache.hostName
  if (!hostName) throw new ActionFailure(`${resource.name} has no host name yet (provisioningState ${cache.provisioningState})`, {code: 'redis-unreachable'})
  let username: string | undefined
  let password: string
  if (probe.auth === 'accessKey' && probe.accessKeySecret) {
    try {
      password = await readKeyVaultSecret(services, probe.accessKeySecret, context.signal)
    } catch (error) {
      throw new ActionFailure(`no access key for ${resource.name}: ${(error as Error).message}`, {code: 'redis-probe-credentials'})
    }
  } else if (probe.auth === 'accessKey') {
    const variable = `OPSBOOK_PARAM_${probe.accessKeyParam}`
    const key = process.env[variable]
    if (!key)
      throw new ActionFailure(`no access key for ${resource.name}: set the environment variable ${variable} (probe.accessKeyParam in the catalog)`, {
        code: 'redis-probe-credentials',
        exitCode: ExitCode.invalidInput,
      })
    password = key
  } else {
    let token: string | undefined
    try {
      token = (await services.credential.getToken(REDIS_ENTRA_SCOPE, {abortSignal: context.signal}))?.token
    } catch (error) {
      throw new ActionFailure(`could not get a Microsoft Entra token for ${resource.name}'s data plane (${REDIS_ENTRA_SCOPE}): ${(error as Error).message}`, {code: 'redis-probe-credentials'})
    }
    if (!token) throw new ActionFailure(`no Microsoft Entra token for ${REDIS_ENTRA_SCOPE}`, {code: 'redis-probe-credentials'})
    password = token
    username = objectIdOf(token)
    if (!username) throw new ActionFailure(`the Microsoft Entra token for ${resource.name} carries no oid (object id) claim to sign in with`, {code: 'redis-probe-credentials'})
  }
  context.secret(password)
  const endpoint = await services.redisEndpoint(hostName, cache.sslPort ?? 6380, {user: username, signal: context.signal}).catch((error: unknown) => {
    throw new ActionFailure(`cannot reach ${resource.name}'s data plane: ${(error as Error).message}`, {code: 'redis-unreachable'})
  })
  const {Redis} = await import('ioredis')
  const client = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    username,
    password,
    tls: {servername: endpoint.servername, ...(endpoint.ca ? {ca: endpoint.ca} : {}), minVersion: 'TLSv1.2'},
    lazyConnect: true,
    connectTimeout: 10_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  // ioredis reports a refused sign-in as an 'error' event and then only "Connection is closed": keep the real reason.
  let reason: Error | undefined
  client.on('error', (error: Error) => (reason ??= error))
  try {
    await client.connect()
    await client.ping()
  } catch (error) {
    client.disconnect()
    const message = String((reason ?? (error as Error)).message).replaceAll(password, '<redacted>')
    throw new ActionFailure(`cannot read ${resource.name}'s data at ${hostName}:${cache.sslPort ?? 6380}: ${message}`, {
      code: /WRONGPASS|NOAUTH|invalid username-password|NOPERM/i.test(message) ? 'redis-probe-credentials' : 'redis-unreachable',
    })
  }
  return client
}

/** Key count over all databases and the canary's value, read from the live cache. */
export async function liveData(client: RedisClient, probe: RedisProbe): Promise<{keyCount: number; canary?: {key: string; value: string; at?: string}}> {
  const keyCount = keyspaceCount(await client.info('keyspace'))
  const key = probe.canary?.key
  const value = key ? await client.get(key) : null
  return {keyCount, ...(key && value !== null ? {canary: {key, value, at: timestampOf(value)?.toISOString()}} : {})}
}

/** Write the canary: `{"at": <now>, "by": "opsbook", "run": <run id>}` (removable: DEL <key>). */
export async function writeCanary(client: RedisClient, probe: RedisProbe, context: ActionContext): Promise<string> {
  const at = context.now().toISOString()
  await client.set(probe.canary!.key, JSON.stringify({at, by: 'opsbook', run: context.runId}))
  return at
}

function objectIdOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {oid?: unknown}
    return typeof payload.oid === 'string' ? payload.oid : undefined
  } catch {
    return undefined
  }
}

/** The emulator's modelled stand-in for an RDB (no redis-server): `REDIS0011`, a newline, then JSON {keyCount, keys}. */
function modelledStandIn(data: Buffer): {keyCount: number; keys: Record<string, string>} | undefined {
  if (data.toString('latin1', 0, 11) !== 'REDIS0011\n{') return undefined
  try {
    const parsed = JSON.parse(data.toString('utf8', 10)) as {keyCount?: unknown; keys?: unknown}
    if (typeof parsed.keyCount !== 'number' || typeof parsed.keys !== 'object' || parsed.keys === null) return undefined
    return {keyCount: parsed.keyCount, keys: parsed.keys as Record<string, string>}
  } catch {
    return undefined
  }
}
