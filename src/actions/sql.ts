/**
 * Azure SQL Database actions: retention preflight, point-in-time restore into a new database on the same logical
 * server (tagged with the run id and an expiry), verification with the newest row read from the copy, safe deletion
 * of copies this run made, and failover-group failover (planned, or forced with data loss). SDK: @azure/arm-sql 10
 * (databases 2022-08-01-preview, failover groups 2020-11-01-preview), imported lazily through the run's AzureServices.
 *
 * Point-in-time restore: https://learn.microsoft.com/azure/azure-sql/database/recovery-using-backups#point-in-time-restore
 * (a new database on the same server; the point must lie between the earliest restore point and now).
 * Failover groups: https://learn.microsoft.com/azure/azure-sql/database/failover-group-sql-db (failover is issued on the
 * secondary server; planned failover synchronises first, forced failover may lose the newest writes).
 */
import {z} from 'zod'
import type {Database, FailoverGroup} from '@azure/arm-sql'
import type {Environment, SqlDatabaseComponent} from '../catalog/schema.js'
import {ExitCode, OpsbookError} from '../errors.js'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import type {AzureServices} from '../azure/clients.js'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import {ActionFailure, isNotFound, toAzureError} from '../azure/errors.js'
import {runTracked} from '../azure/lro.js'
import {TAG_EXPIRES, TAG_RESTORE_POINT, TAG_RUN_ID, TAG_SCRATCH, TAG_SOURCE} from './postgres.js'
import {azureServices, delay, derivedName, withRetryLog} from './resolve.js'
import {readNewestRow} from './sql-probes.js'
import {defineAction, type ActionContext, type ActionDefinition, type PlanContext} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT1H'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time, e.g. 2026-11-23T08:15:00Z'})
const optionalDateTime = z.preprocess((v) => (v === '' || v === null ? undefined : v), isoDateTime.optional())
const databaseRef = z.string().min(1).describe('Catalog component key (sqldb), database name, <server>/<database>, or ARM resource id')

export const SQL_API_VERSION = '2022-08-01-preview'
export const SQL_FAILOVER_API_VERSION = '2020-11-01-preview'
const TAG_STARTED = 'opsbook-started-at'

const DB_READ = 'Microsoft.Sql/servers/databases/read'
const DB_WRITE = 'Microsoft.Sql/servers/databases/write'
const DB_DELETE = 'Microsoft.Sql/servers/databases/delete'
const FG_READ = 'Microsoft.Sql/servers/failoverGroups/read'
const FG_FAILOVER = 'Microsoft.Sql/servers/failoverGroups/failover/action'
const FG_FORCE = 'Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action'

export interface ResolvedDatabase {
  name: string
  server: string
  resourceGroup: string
  subscription: string
  serverId: string
  id: string
  component?: SqlDatabaseComponent
  componentKey?: string
}

/**
 * A database by catalog key, database name (of a sqldb component), `<server>/<database>`, or resource id. An unknown
 * bare name is a database on the server of the environment's only sqldb component (a copy this run made).
 */
export function resolveDatabase(environment: Environment, reference: string, serverHint?: string): ResolvedDatabase {
  const sub = environment.subscription
  const make = (server: string, name: string, resourceGroup: string, component?: SqlDatabaseComponent, key?: string, subscription = sub): ResolvedDatabase => {
    const serverId = `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Sql/servers/${server}`
    return {name, server, resourceGroup, subscription, serverId, id: `${serverId}/databases/${name}`, component, componentKey: key}
  }
  const id = /^\/?subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Sql\/servers\/([^/]+)\/databases\/([^/]+)$/i.exec(reference.trim())
  if (id) return make(id[3]!, id[4]!, id[2]!, undefined, undefined, id[1]!)
  const components = Object.entries(environment.components).flatMap(([key, c]) => (c.type === 'sqldb' ? [{key, c}] : []))
  const rgOf = (c: SqlDatabaseComponent) => c.resourceGroup ?? environment.resourceGroups[0]!
  const byKey = environment.components[reference]
  if (byKey) {
    if (byKey.type !== 'sqldb') throw new OpsbookError(`component ${reference} is a ${byKey.type}, not a sqldb`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
    return make(byKey.server, byKey.name, rgOf(byKey), byKey, reference)
  }
  const [serverPart, dbPart] = reference.includes('/') ? reference.split('/', 2) : [serverHint, reference]
  const found = components.find(({c}) => c.name.toLowerCase() === dbPart!.toLowerCase() && (!serverPart || c.server.toLowerCase() === serverPart.toLowerCase()))
  if (found) return make(found.c.server, found.c.name, rgOf(found.c), found.c, found.key)
  const home = components.find(({c}) => !serverPart || c.server.toLowerCase() === serverPart.toLowerCase())?.c
  return make(serverPart ?? home?.server ?? '<server>', dbPart!, home ? rgOf(home) : environment.resourceGroups[0]!)
}

const armDb = (d: ResolvedDatabase) => `${d.id}?api-version=${SQL_API_VERSION}`

async function findDatabase(services: AzureServices, d: {resourceGroup: string; server: string; name: string}, signal: AbortSignal): Promise<Database | undefined> {
  const client = await services.sql()
  try {
    return await client.databases.get(d.resourceGroup, d.server, d.name, {abortSignal: signal})
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw toAzureError(error, {operation: `read SQL database ${d.server}/${d.name}`})
  }
}

async function getDatabase(services: AzureServices, d: ResolvedDatabase, signal: AbortSignal): Promise<Database> {
  const db = await findDatabase(services, d, signal)
  if (!db) throw new ActionFailure(`SQL database ${d.server}/${d.name} does not exist in ${d.resourceGroup}`, {code: 'sql-not-found', exitCode: ExitCode.invalidInput})
  return db
}

// ---------------------------------------------------------------------------------------------------------------------
// assertRestorable

interface RestoreWindow {
  earliestRestoreDate: string
  latestRestorePoint: string
  retentionDays: number
  backupRedundancy: string
}

function checkRestorable(db: Database, d: ResolvedDatabase, now: Date, point: Date | undefined, retentionDays: number): RestoreWindow {
  const earliest = db.earliestRestoreDate ? new Date(db.earliestRestoreDate) : new Date(now.getTime() - retentionDays * 86_400_000)
  const window: RestoreWindow = {
    earliestRestoreDate: earliest.toISOString(),
    latestRestorePoint: now.toISOString(),
    retentionDays,
    backupRedundancy: db.currentBackupStorageRedundancy ?? db.requestedBackupStorageRedundancy ?? 'unknown',
  }
  if (point && (point.getTime() < earliest.getTime() || point.getTime() > now.getTime())) {
    const tooEarly = point.getTime() < earliest.getTime()
    throw new ActionFailure(
      `restore point ${point.toISOString()} is outside the restore window of ${d.server}/${d.name}: [${window.earliestRestoreDate}, ${window.latestRestorePoint}] (point-in-time retention ${retentionDays} days)`,
      {
        code: 'sql-restore-point-outside-window',
        exitCode: ExitCode.invalidInput,
        details: {...window, pointInTime: point.toISOString()},
        suggestions: [tooEarly ? `choose a point at or after ${window.earliestRestoreDate} (the earliest restore date; retention is ${retentionDays} days)` : 'choose a point in the past (or omit it for the latest)'],
      },
    )
  }
  return window
}

/** The short-term (point-in-time) retention Azure reports; the catalog's value when it cannot be read. */
async function retentionOf(services: AzureServices, d: ResolvedDatabase, signal: AbortSignal): Promise<number> {
  const client = await services.sql()
  try {
    const policy = await client.backupShortTermRetentionPolicies.get(d.resourceGroup, d.server, d.name, 'default', {abortSignal: signal})
    return policy.retentionDays ?? d.component?.backupRetentionDays ?? 7
  } catch (error) {
    if (isNotFound(error)) return d.component?.backupRetentionDays ?? 7
    throw toAzureError(error, {operation: `read the backup retention of ${d.server}/${d.name}`})
  }
}

export const sqlAssertRestorableAction = defineAction({
  name: 'sql.assertRestorable',
  summary: 'Check a point in time is inside the database\'s point-in-time restore window (retention preflight)',
  description:
    'Reads the database (earliestRestoreDate, backup storage redundancy) and its short-term retention policy, and fails with exit code 2 — before anything changes — when the point lies before the earliest restore date or in the future. Warns when the retention is shorter than the catalog asks for, or a cross-region objective has no geo-redundant backup.',
  input: z.strictObject({database: databaseRef, pointInTime: optionalDateTime.describe('Point to restore to (UTC); default: only report the window')}),
  output: z.strictObject({
    database: z.string(),
    server: z.string(),
    earliestRestoreDate: z.string(),
    latestRestorePoint: z.string(),
    retentionDays: z.number(),
    backupRedundancy: z.string(),
    pointInTime: z.string().optional(),
    warnings: z.array(z.string()),
  }),
  changes: false,
  permissions: [DB_READ, 'Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies/read'],
  az: (input, plan) => {
    const d = resolveDatabase(plan.environment, input.database)
    return [
      `az sql db show --resource-group ${d.resourceGroup} --server ${d.server} --name ${d.name} --query "{earliestRestoreDate: earliestRestoreDate, backupRedundancy: currentBackupStorageRedundancy}"`,
      `az sql db str-policy show --resource-group ${d.resourceGroup} --server ${d.server} --name ${d.name}`,
    ]
  },
  arm: (input, plan) => {
    const d = resolveDatabase(plan.environment, input.database)
    return [
      {method: 'GET', path: armDb(d)},
      {method: 'GET', path: `${d.id}/backupShortTermRetentionPolicies/default?api-version=2021-02-01-preview`},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const d = resolveDatabase(context.environment, input.database)
    const [db, retentionDays] = await withRetryLog(context, services, () => Promise.all([getDatabase(services, d, context.signal), retentionOf(services, d, context.signal)]))
    const point = input.pointInTime ? new Date(input.pointInTime) : undefined
    const window = checkRestorable(db, d, context.now(), point, retentionDays)
    const warnings: string[] = []
    if (d.component && retentionDays < d.component.backupRetentionDays) warnings.push(`point-in-time retention is ${retentionDays} days, the catalog asks for ${d.component.backupRetentionDays}`)
    if (d.component?.objectives?.crossRegion && !/geo/i.test(window.backupRedundancy))
      warnings.push(`the catalog sets a cross-region objective but backups are ${window.backupRedundancy}-redundant: a region loss cannot be recovered by geo-restore`)
    for (const w of warnings) context.log(`warning: ${w}`)
    context.log(`${d.server}/${d.name} restorable from ${window.earliestRestoreDate} to now (${retentionDays} days, ${window.backupRedundancy} backups)`)
    return {database: d.name, server: d.server, ...window, pointInTime: point?.toISOString(), warnings}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// restore

const restoreInput = z.strictObject({
  database: databaseRef.describe('The source database'),
  pointInTime: optionalDateTime.describe('UTC point to restore to; default: the latest (now)'),
  targetName: z
    .string()
    .regex(/^[^<>*%&:\\/?]{1,128}$/, 'database names are 1-128 characters without <>*%&:\\/?')
    .optional()
    .describe('Name of the new database; default <db>-pitr-<run> (or <db>-drill-<run> when scratch)'),
  scratch: z.boolean().default(false).describe('A throw-away copy (drills): sql.delete then only removes scratch databases of this run'),
  expiresIn: isoDuration.default('PT4H').describe('Written to the opsbook-expires tag so forgotten copies can be found and removed'),
  timeout: isoDuration.default('PT2H').describe('How long to wait for the new database to be Online'),
})

const restoreOutput = z.strictObject({
  database: z.string().describe('Name of the new database'),
  server: z.string(),
  resourceGroup: z.string(),
  resourceId: z.string(),
  sourceDatabase: z.string(),
  pointInTime: z.string(),
  startedAt: z.string(),
  readyAt: z.string(),
  resumed: z.boolean(),
})

const purposeOf = (scratch: boolean) => (scratch ? 'drill' : 'pitr')

export const sqlRestoreAction = defineAction({
  name: 'sql.restore',
  summary: 'Point-in-time restore into a new database on the same server (createMode PointInTimeRestore)',
  description:
    'Checks the restore window first (exit 2 before any change), then PUTs a new database with createMode PointInTimeRestore, sourceDatabaseId and restorePointInTime, and waits until it is Online. The operation is journaled as soon as ARM accepts it; `opsbook resume` re-attaches to it. Tags: opsbook-run-id, opsbook-scratch, opsbook-expires, opsbook-source, opsbook-restore-point.',
  input: restoreInput,
  output: restoreOutput,
  changes: true,
  // Not documented as a duration (it grows with the database and its log); past the input `timeout` (PT2H) for the new database to be Online.
  defaultTimeout: 'PT12H',
  permissions: [DB_READ, DB_WRITE],
  az: (input, plan) => {
    const d = resolveDatabase(plan.environment, input.database)
    const target = input.targetName ?? `${d.name}-${purposeOf(input.scratch)}-<run>`
    return [
      `az sql db restore --resource-group ${d.resourceGroup} --server ${d.server} --name ${d.name} --dest-name ${target} --time ${input.pointInTime ?? (plan.now ?? new Date()).toISOString()}`,
      `az resource tag --ids ${d.serverId}/databases/${target} --is-incremental --tags ${TAG_SCRATCH}=${input.scratch}`,
    ]
  },
  arm: (input, plan) => {
    const d = resolveDatabase(plan.environment, input.database)
    const target = `${d.serverId}/databases/${input.targetName ?? `${d.name}-${purposeOf(input.scratch)}-<run>`}?api-version=${SQL_API_VERSION}`
    return [
      {method: 'GET', path: armDb(d), note: 'source: earliestRestoreDate, location, sku'},
      {method: 'PUT', path: target, longRunning: true, note: 'createMode PointInTimeRestore'},
      {method: 'GET', path: target, note: 'until status Online'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const d = resolveDatabase(context.environment, input.database)
      const previous = context.operations.inFlight()
      const target = (previous?.state?.database as string | undefined) ?? input.targetName ?? derivedName(d.name, purposeOf(input.scratch), context.runId, 128)
      const targetRef = {resourceGroup: d.resourceGroup, server: d.server, name: target}
      const targetId = `${d.serverId}/databases/${target}`
      const client = await services.sql()
      const source = await getDatabase(services, d, context.signal)
      const now = context.now()
      const point = (previous?.state?.pointInTime as string | undefined) ?? input.pointInTime ?? now.toISOString()
      if (!previous) checkRestorable(source, d, now, new Date(point), await retentionOf(services, d, context.signal))
      let startedAt = (previous?.state?.startedAt as string | undefined) ?? now.toISOString()
      let resumed = false
      const existing = previous ? undefined : await findDatabase(services, targetRef, context.signal)
      if (existing) {
        if (existing.tags?.[TAG_RUN_ID] !== context.runId)
          throw new ActionFailure(`a database named ${target} already exists on ${d.server} and was not created by this run`, {
            code: 'sql-target-exists',
            exitCode: ExitCode.invalidInput,
            suggestions: ['pass another targetName', `or delete it: az sql db delete --resource-group ${d.resourceGroup} --server ${d.server} --name ${target} --yes`],
          })
        context.log(`${target} already exists from an earlier attempt of this run: waiting for it instead of restoring again`)
        startedAt = existing.tags?.[TAG_STARTED] ?? startedAt
        resumed = true
      } else {
        const tags = {
          ...(source.tags ?? {}),
          [TAG_RUN_ID]: context.runId,
          [TAG_SCRATCH]: String(input.scratch),
          [TAG_EXPIRES]: new Date(now.getTime() + parseDuration(input.expiresIn)!).toISOString(),
          [TAG_SOURCE]: d.name,
          [TAG_RESTORE_POINT]: new Date(point).toISOString(),
          [TAG_STARTED]: startedAt,
        }
        context.log(`restoring ${d.server}/${d.name} as of ${new Date(point).toISOString()} into ${target}`)
        const restore = (reattach?: null) => runTracked(context, services, {
          ...(reattach === null ? {reattach} : {}),
          description: `sql.restore ${d.name} → ${target}`,
          method: 'PUT',
          resource: targetId,
          state: {database: target, pointInTime: new Date(point).toISOString(), startedAt},
          call: (options) =>
            client.databases
              .beginCreateOrUpdateAndWait(
                d.resourceGroup,
                d.server,
                target,
                {location: source.location, tags, createMode: 'PointInTimeRestore', sourceDatabaseId: source.id ?? d.id, restorePointInTime: new Date(point)},
                options as never,
              )
              .catch((error: unknown) => {
                throw toAzureError(error, {operation: `point-in-time restore of ${d.name} into ${target}`})
              }),
        })
        let tracked = await restore()
        // Re-attached to the restore an earlier process started, and it is over — but the database is not there: the
        // earlier run's teardown deleted it (e.g. the disk filled and the run failed; fault matrix dr-drill × disk full
        // waited for it until the step's 2 h timeout). Restore again, as postgres.restore does.
        if (tracked.resumed && !(await findDatabase(services, targetRef, context.signal))) {
          context.log(`${target}, restored before the resume, no longer exists: restoring again`)
          tracked = await restore(null)
        }
        resumed = tracked.resumed
      }
      const ready = await waitOnline(services, context, targetRef, parseDuration(input.timeout)!)
      const readyAt = context.now().toISOString()
      context.log(`${target} is Online (${humanDuration(Date.parse(readyAt) - Date.parse(startedAt))} after the restore started)`)
      return {database: target, server: d.server, resourceGroup: d.resourceGroup, resourceId: ready.id ?? targetId, sourceDatabase: d.name, pointInTime: new Date(point).toISOString(), startedAt, readyAt, resumed}
    })
  },
})

async function waitOnline(services: AzureServices, context: ActionContext, d: {resourceGroup: string; server: string; name: string}, timeoutMs: number): Promise<Database> {
  const deadline = Date.now() + timeoutMs
  let last: string | undefined
  for (;;) {
    const db = await findDatabase(services, d, context.signal)
    const status = db?.status ?? 'NotFound'
    if (status !== last) context.log(`${d.name}: ${(last = status)}`)
    if (db && status === 'Online') return db
    if (/^(Offline|Suspect|EmergencyMode|Disabled|Inaccessible)$/i.test(status))
      throw new ActionFailure(`SQL database ${d.name} is ${status}; it will not come Online by waiting`, {code: 'sql-unrecoverable-state'})
    if (Date.now() >= deadline) throw new ActionFailure(`SQL database ${d.name} is still ${status} after ${humanDuration(timeoutMs)}`, {code: 'sql-wait-timeout', retryable: true})
    await delay(services.pollIntervalMs, context.signal)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// verify

/** Newest row of a database: the emulator's modelled `opsbookData`, else the data plane with the catalog's probe. */
async function newestRow(services: AzureServices, context: ActionContext, d: ResolvedDatabase, probes: SqlDatabaseComponent['dataProbes']): Promise<{at?: string; source: 'modelled' | 'probe' | 'unknown'; note?: string}> {
  const response = await services.armRequest('GET', `${d.id}/opsbookData`, {apiVersion: SQL_API_VERSION, signal: context.signal}).catch(() => undefined)
  const modelled = response?.status === 200 ? response.body?.dataAsOf : undefined
  if (typeof modelled === 'string') return {at: new Date(modelled).toISOString(), source: 'modelled'}
  if (!probes) return {source: 'unknown', note: 'no dataProbes in the catalog: the newest row was not read'}
  const at = await readNewestRow({services, server: `${d.server}.database.windows.net`, database: d.name, query: probes.freshness, timeoutMs: parseDuration(probes.timeout)!, signal: context.signal, secret: (v) => context.secret(v)})
  return {at, source: 'probe'}
}

export const sqlVerifyAction = defineAction({
  name: 'sql.verify',
  summary: 'Verify a database is Online and read how fresh its data is (newest row), beside the source\'s at the restore point',
  description:
    'Fails when the database is not Online. dataAsOf is the newest row the copy holds: against Azure read with the component\'s dataProbes.freshness query over the `mssql` driver with a Microsoft Entra token (scope https://database.windows.net/.default); against the emulator modelled from its write history (dataAsOfSource: modelled). Without probes against Azure it is left unknown, never guessed.',
  input: z.strictObject({
    database: databaseRef.describe('The database to verify (e.g. the restored copy)'),
    probes: z.string().optional().describe('Catalog sqldb component whose dataProbes run against this database'),
    pointInTime: optionalDateTime.describe('The restore point (for the report)'),
  }),
  output: z.strictObject({
    database: z.string(),
    status: z.string(),
    restorePoint: z.string().optional(),
    dataAsOf: z.string().optional().describe('Newest row the database holds (ISO), when read'),
    dataAsOfSource: z.enum(['modelled', 'probe', 'unknown']),
    verifiedAt: z.string(),
    notes: z.array(z.string()),
  }),
  changes: false,
  permissions: [DB_READ],
  az: (input, plan) => {
    const d = resolveDatabase(plan.environment, input.database)
    return [`az sql db show --resource-group ${d.resourceGroup} --server ${d.server} --name ${d.name} --query status`]
  },
  arm: (input, plan) => [{method: 'GET', path: armDb(resolveDatabase(plan.environment, input.database))}],
  async run(input, context) {
    const services = azureServices(context)
    const probeComponent = input.probes ? resolveDatabase(context.environment, input.probes).component : undefined
    const d = resolveDatabase(context.environment, input.database, probeComponent?.server)
    const db = await withRetryLog(context, services, () => getDatabase(services, d, context.signal))
    if (db.status !== 'Online') throw new ActionFailure(`SQL database ${d.name} is ${db.status ?? 'in an unknown state'}, not Online`, {code: 'sql-not-online'})
    const row = await newestRow(services, context, d, probeComponent?.dataProbes ?? d.component?.dataProbes)
    const notes = row.note ? [row.note] : []
    if (row.source === 'modelled') notes.push('newest row modelled by the emulator from its write history (no SQL engine runs locally)')
    context.log(`${d.name}: Online${row.at ? `, newest row ${row.at} (${row.source})` : ''}`)
    return {
      database: d.name,
      status: db.status,
      restorePoint: input.pointInTime ? new Date(input.pointInTime).toISOString() : undefined,
      ...(row.at ? {dataAsOf: row.at} : {}),
      dataAsOfSource: row.source,
      verifiedAt: context.now().toISOString(),
      notes,
    }
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// delete / teardown

export const sqlDeleteAction = defineAction({
  name: 'sql.delete',
  summary: 'Delete a database this run created (by default only scratch databases of this run)',
  description:
    'With ifScratchOnly (the default) it refuses unless the database carries opsbook-scratch=true and this run\'s opsbook-run-id; otherwise it still refuses databases opsbook did not create in this run. A database already gone counts as done, so teardown can run twice. `source` + `purpose` name the copy the way sql.restore derives it (<db>-pitr-<run>), for `finally` steps that run even when the restore step left no outputs.',
  input: z.strictObject({
    database: z.string().optional().describe('The copy to delete (name on the source\'s server, or resource id)'),
    source: databaseRef.optional().describe('The source database: the copy is derived as <source>-<purpose>-<run>'),
    purpose: z.enum(['pitr', 'drill']).default('pitr'),
    ifScratchOnly: z.boolean().default(true),
  }),
  output: z.strictObject({database: z.string(), deleted: z.boolean(), alreadyGone: z.boolean()}),
  changes: true,
  // No documented duration; a database delete takes minutes. Generous.
  defaultTimeout: 'PT2H',
  // A copy already gone is "done" with no write: it says so (`gone`) for evidence verify's Activity Log witness.
  armWrites: 'when-needed',
  permissions: [DB_READ, DB_DELETE],
  az: (input, plan) => {
    const d = copyOf(plan.environment, input, '<run>')
    return [`az sql db delete --resource-group ${d.resourceGroup} --server ${d.server} --name ${d.name} --yes`]
  },
  arm: (input, plan) => {
    const d = copyOf(plan.environment, input, '<run>')
    return [
      {method: 'GET', path: armDb(d), note: 'tags: opsbook-run-id, opsbook-scratch'},
      {method: 'DELETE', path: armDb(d), longRunning: true},
    ]
  },
  // The copy it deletes, named as run() names it: what a `gone` finding must be about.
  targets: (input, plan) => [copyOf(plan.environment, input, plan.runId).id],
  async run(input, context) {
    const services = azureServices(context)
    const d = copyOf(context.environment, input, context.runId)
    return withRetryLog(context, services, async () => {
      const db = await findDatabase(services, d, context.signal)
      if (!db) {
        context.log(`${d.name} does not exist (already deleted)`)
        foundWithoutWrite({kind: 'gone', resourceId: d.id})
        return {database: d.name, deleted: false, alreadyGone: true}
      }
      const tags = db.tags ?? {}
      if (tags[TAG_RUN_ID] !== context.runId || (input.ifScratchOnly && tags[TAG_SCRATCH] !== 'true'))
        throw new ActionFailure(`refusing to delete ${d.server}/${d.name}: it is not a ${input.ifScratchOnly ? 'scratch ' : ''}database of this run (${TAG_RUN_ID}=${tags[TAG_RUN_ID] ?? 'absent'}, ${TAG_SCRATCH}=${tags[TAG_SCRATCH] ?? 'absent'})`, {
          code: 'sql-delete-refused',
          exitCode: ExitCode.invalidInput,
        })
      const client = await services.sql()
      context.log(`deleting ${d.server}/${d.name}`)
      await runTracked(context, services, {
        description: `sql.delete ${d.name}`,
        method: 'DELETE',
        resource: d.id,
        call: (options) =>
          client.databases.beginDeleteAndWait(d.resourceGroup, d.server, d.name, options as never).catch((error: unknown) => {
            if (isNotFound(error)) return
            throw toAzureError(error, {operation: `delete SQL database ${d.name}`})
          }),
      })
      return {database: d.name, deleted: true, alreadyGone: false}
    })
  },
})

function copyOf(environment: Environment, input: {database?: string; source?: string; purpose: string}, runId: string): ResolvedDatabase {
  if (input.source) {
    const source = resolveDatabase(environment, input.source)
    return resolveDatabase(environment, input.database ?? `${source.server}/${derivedName(source.name, input.purpose, runId, 128)}`, source.server)
  }
  if (!input.database) throw new ActionFailure('sql.delete needs database or source', {code: 'sql-delete-no-target', exitCode: ExitCode.invalidInput})
  return resolveDatabase(environment, input.database)
}

// ---------------------------------------------------------------------------------------------------------------------
// failover

interface ResolvedGroup {
  name: string
  resourceGroup: string
  primaryServer: string
  partnerServer: string
}

function resolveGroup(environment: Environment, reference: string): ResolvedGroup {
  const d = resolveDatabase(environment, reference)
  const c = d.component
  if (!c?.failoverGroup)
    throw new OpsbookError(`${reference} names no failover group: set failoverGroup (and geoReplicas) on the sqldb component`, {exitCode: ExitCode.invalidInput, code: 'sql-no-failover-group'})
  return {name: c.failoverGroup, resourceGroup: d.resourceGroup, primaryServer: c.server, partnerServer: c.geoReplicas[0]?.server ?? `${c.server}-secondary`}
}

async function readGroup(services: AzureServices, g: ResolvedGroup, server: string, signal: AbortSignal): Promise<FailoverGroup> {
  const client = await services.sql()
  try {
    return await client.failoverGroups.get(g.resourceGroup, server, g.name, {abortSignal: signal})
  } catch (error) {
    throw toAzureError(error, {operation: `read failover group ${g.name} on ${server}`})
  }
}

export const sqlFailoverAction = defineAction({
  name: 'sql.failover',
  summary: 'Fail a failover group over to its secondary server: planned (no data loss) or forced (allowDataLoss)',
  description:
    'Reads the group on the catalog\'s server to find which partner is secondary now, then POSTs failover (planned: synchronises first, no data loss) or forceFailoverAllowDataLoss on that secondary and waits for the operation. rtoMs is from the request to the new primary answering as Primary. A forced failover may lose the writes that had not replicated; against the emulator the lost span is reported (modelled).',
  input: z.strictObject({
    database: databaseRef.describe('A sqldb component whose failoverGroup to fail over'),
    allowDataLoss: z.boolean().default(false).describe('Forced failover (forceFailoverAllowDataLoss): only when the primary region is down'),
  }),
  output: z.strictObject({
    failoverGroup: z.string(),
    newPrimary: z.string(),
    oldPrimary: z.string(),
    forced: z.boolean(),
    startedAt: z.string(),
    completedAt: z.string(),
    rtoMs: z.number(),
    lostMs: z.number().optional().describe('Writes lost by a forced failover (emulator: modelled); unknown against Azure'),
    resumed: z.boolean(),
  }),
  changes: true,
  // No documented duration for a planned failover (it waits for the secondary to catch up). Generous.
  defaultTimeout: 'PT2H',
  permissions: [FG_READ, FG_FAILOVER, FG_FORCE],
  az: (input, plan) => {
    const g = resolveGroup(plan.environment, input.database)
    return [`az sql failover-group set-primary --resource-group ${g.resourceGroup} --server ${g.partnerServer} --name ${g.name}${input.allowDataLoss ? ' --allow-data-loss' : ''}`]
  },
  arm: (input, plan) => {
    const g = resolveGroup(plan.environment, input.database)
    const base = (server: string) => `/subscriptions/${plan.environment.subscription}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Sql/servers/${server}/failoverGroups/${g.name}`
    return [
      {method: 'GET', path: `${base(g.primaryServer)}?api-version=${SQL_FAILOVER_API_VERSION}`, note: 'which partner is secondary now'},
      {method: 'POST', path: `${base(g.partnerServer)}/${input.allowDataLoss ? 'forceFailoverAllowDataLoss' : 'failover'}?api-version=${SQL_FAILOVER_API_VERSION}`, longRunning: true, note: 'on the secondary server'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const g = resolveGroup(context.environment, input.database)
    return withRetryLog(context, services, async () => {
      const previous = context.operations.inFlight()
      const seen = await readGroup(services, g, g.primaryServer, context.signal)
      const primaryNow = seen.replicationRole === 'Primary' ? g.primaryServer : g.partnerServer
      const secondary = (previous?.state?.secondary as string | undefined) ?? (primaryNow === g.primaryServer ? g.partnerServer : g.primaryServer)
      const startedAt = (previous?.state?.startedAt as string | undefined) ?? context.now().toISOString()
      const client = await services.sql()
      context.log(`${input.allowDataLoss ? 'forced failover (data loss allowed)' : 'planned failover'} of ${g.name}: ${primaryNow} → ${secondary}`)
      const tracked = await runTracked(context, services, {
        description: `sql.failover ${g.name} → ${secondary}${input.allowDataLoss ? ' (forced)' : ''}`,
        method: 'POST',
        resource: `/subscriptions/${context.environment.subscription}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Sql/servers/${secondary}/failoverGroups/${g.name}/${input.allowDataLoss ? 'forceFailoverAllowDataLoss' : 'failover'}`,
        state: {secondary, startedAt},
        call: (options) =>
          (input.allowDataLoss
            ? client.failoverGroups.beginForceFailoverAllowDataLossAndWait(g.resourceGroup, secondary, g.name, options as never)
            : client.failoverGroups.beginFailoverAndWait(g.resourceGroup, secondary, g.name, options as never)
          ).catch((error: unknown) => {
            throw toAzureError(error, {operation: `fail over ${g.name} to ${secondary}`})
          }),
      })
      const after = await readGroup(services, g, secondary, context.signal)
      if (after.replicationRole !== 'Primary')
        throw new ActionFailure(`failover group ${g.name}: ${secondary} is ${after.replicationRole ?? 'unknown'} after the failover, not Primary`, {code: 'sql-failover-not-primary'})
      const completedAt = context.now().toISOString()
      const lost = input.allowDataLoss
        ? await services
            .armRequest('GET', `/subscriptions/${context.environment.subscription}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Sql/servers/${secondary}/failoverGroups/${g.name}/opsbookFailover`, {apiVersion: SQL_FAILOVER_API_VERSION, signal: context.signal})
            .then((r) => (r.status === 200 && typeof r.body?.lastFailover?.lostMs === 'number' ? (r.body.lastFailover.lostMs as number) : undefined))
            .catch(() => undefined)
        : 0
      context.log(`${secondary} is Primary of ${g.name} (${humanDuration(Date.parse(completedAt) - Date.parse(startedAt))})`)
      return {
        failoverGroup: g.name,
        newPrimary: secondary,
        oldPrimary: primaryNow,
        forced: input.allowDataLoss,
        startedAt,
        completedAt,
        rtoMs: Date.parse(completedAt) - Date.parse(startedAt),
        ...(lost === undefined ? {} : {lostMs: lost}),
        resumed: tracked.resumed,
      }
    })
  },
})

export const sqlActions: ActionDefinition[] = [sqlAssertRestorableAction, sqlRestoreAction, sqlVerifyAction, sqlDeleteAction, sqlFailoverAction]

export type {PlanContext}
