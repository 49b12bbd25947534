/**
 * Azure Database for PostgreSQL flexible server actions: restore checks, point-in-time and geo restore into new
 * servers (tagged with the run id and an expiry), replica promotion, readiness, verification, safe deletion of
 * scratch servers, and maintenance windows. SDK: @azure/arm-postgresql-flexible 9 (api-version 2025-08-01),
 * imported lazily through the run's AzureServices.
 */
import {z} from 'zod'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import {geoRestoreRefusal} from '../azure/capabilities.js'
import {componentWindowNames} from '../catalog/schema.js'
import type {Server} from '@azure/arm-postgresql-flexible'
import {ExitCode} from '../errors.js'
import {isDuration, parseDuration, humanDuration} from '../support/duration.js'
import type {AzureServices} from '../azure/clients.js'
import {ActionFailure, isNotFound, toAzureError} from '../azure/errors.js'
import {pollMonitor, rebase, runTracked, sameResource} from '../azure/lro.js'
import {
  apiVersions,
  armPath,
  azureServices,
  delay,
  derivedName,
  resolveResource,
  resolveWindow,
  shellQuote,
  weekdayName,
  withRetryLog,
  type ResolvedResource,
} from './resolve.js'
import type {ProbeReport} from './postgres-probes.js'
import {defineAction, type ActionContext, type ActionDefinition, type PlanContext, type PreflightRefusal, type TrackedOperation} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT4H'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time, e.g. 2026-11-23T08:15:00Z'})
/** An expression that yields nothing ('' or null) means "not given". */
const optionalDateTime = z.preprocess((v) => (v === '' || v === null ? undefined : v), isoDateTime.optional())
const serverRef = z.string().min(1).describe('Catalog component key, Azure server name, or ARM resource id')

/** Tags opsbook puts on servers it creates; `postgres.delete` reads them. */
export const TAG_RUN_ID = 'opsbook-run-id'
export const TAG_SCRATCH = 'opsbook-scratch'
export const TAG_EXPIRES = 'opsbook-expires'
export const TAG_SOURCE = 'opsbook-source'
export const TAG_RESTORE_POINT = 'opsbook-restore-point'

const READ = 'Microsoft.DBforPostgreSQL/flexibleServers/read'
const WRITE = 'Microsoft.DBforPostgreSQL/flexibleServers/write'
const DELETE = 'Microsoft.DBforPostgreSQL/flexibleServers/delete'

/** States a server does not come back from by waiting. */
const DEAD_STATES = new Set(['disabled', 'dropping', 'inaccessible'])

function planResource(plan: PlanContext, reference: string): ResolvedResource {
  return resolveResource(plan.environment, 'postgres', reference)
}

async function getServer(services: AzureServices, resource: ResolvedResource, signal: AbortSignal): Promise<Server> {
  const client = await services.postgres()
  try {
    return await client.servers.get(resource.resourceGroup, resource.name, {abortSignal: signal})
  } catch (error) {
    throw toAzureError(error, {operation: `read PostgreSQL server ${resource.name}`})
  }
}

async function findServer(services: AzureServices, resourceGroup: string, name: string, signal: AbortSignal): Promise<Server | undefined> {
  const client = await services.postgres()
  try {
    return await client.servers.get(resourceGroup, name, {abortSignal: signal})
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw toAzureError(error, {operation: `read PostgreSQL server ${name}`})
  }
}

/** Re-read a server until its state is one of `targets` (case-insensitive); fails on states that never recover. */
async function waitForState(
  services: AzureServices,
  context: ActionContext,
  resourceGroup: string,
  name: string,
  targets: string[],
  timeoutMs: number,
): Promise<Server> {
  const deadline = Date.now() + timeoutMs
  const wanted = targets.map((t) => t.toLowerCase())
  let last: string | undefined
  for (;;) {
    const server = await findServer(services, resourceGroup, name, context.signal)
    const state = server?.state ?? 'NotFound'
    if (state !== last) {
      context.log(`${name}: ${state}`)
      last = state
    }
    if (server && wanted.includes(state.toLowerCase())) return server
    if (DEAD_STATES.has(state.toLowerCase()))
      throw new ActionFailure(`PostgreSQL server ${name} is ${state}; it will not become ${targets.join('/')}`, {code: 'postgres-unrecoverable-state'})
    if (Date.now() >= deadline)
      throw new ActionFailure(`PostgreSQL server ${name} is still ${state} after ${humanDuration(timeoutMs)} (waiting for ${targets.join('/')})`, {
        code: 'postgres-wait-timeout',
        retryable: true,
      })
    await delay(services.pollIntervalMs, context.signal)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// assertRestorable

interface RestoreWindow {
  earliestRestoreDate: string
  latestRestorePoint: string
  retentionDays: number
  geoRedundantBackup: boolean
}

/** The restore window of a source server, checked against a wanted point (exit 2 when it is outside: nothing changed yet). */
function checkRestorable(source: Server, resource: ResolvedResource, now: Date, pointInTime: Date | undefined, geo: boolean): RestoreWindow {
  const earliest = source.backup?.earliestRestoreDate ? new Date(source.backup.earliestRestoreDate) : undefined
  const retentionDays = source.backup?.backupRetentionDays ?? 7
  const geoRedundantBackup = source.backup?.geoRedundantBackup === 'Enabled'
  const window: RestoreWindow = {
    earliestRestoreDate: (earliest ?? new Date(now.getTime() - retentionDays * 86_400_000)).toISOString(),
    latestRestorePoint: now.toISOString(),
    retentionDays,
    geoRedundantBackup,
  }
  if (geo && !geoRedundantBackup)
    throw new ActionFailure(
      `PostgreSQL server ${resource.name} cannot be geo-restored: geo-redundant backup is not enabled on it (it can only be set when the server is created)`,
      {code: 'postgres-geo-backup-disabled', exitCode: ExitCode.invalidInput, details: {...window}, suggestions: ['use a point-in-time restore in the same region, or recreate the server with geo-redundant backup']},
    )
  if (pointInTime) {
    if (Number.isNaN(pointInTime.getTime()))
      throw new ActionFailure(`restore point ${String(pointInTime)} is not a date-time`, {code: 'postgres-invalid-restore-point', exitCode: ExitCode.invalidInput})
    const tooEarly = earliest && pointInTime.getTime() < earliest.getTime()
    const inFuture = pointInTime.getTime() > now.getTime()
    if (tooEarly || inFuture)
      throw new ActionFailure(
        `restore point ${pointInTime.toISOString()} is outside the restore window of ${resource.name}: [${window.earliestRestoreDate}, ${window.latestRestorePoint}] (backup retention ${retentionDays} days)`,
        {
          code: 'postgres-restore-point-outside-window',
          exitCode: ExitCode.invalidInput,
          details: {...window, pointInTime: pointInTime.toISOString()},
          suggestions: [tooEarly ? `choose a point at or after ${window.earliestRestoreDate}` : 'choose a point in the past (or omit it for the latest)'],
        },
      )
  }
  return window
}

const restoreWindowOutput = {
  server: z.string(),
  earliestRestoreDate: z.string().describe('Oldest restorable point (ISO)'),
  latestRestorePoint: z.string().describe('Newest restorable point: now (transaction logs are backed up continuously)'),
  retentionDays: z.number(),
  geoRedundantBackup: z.boolean(),
}

/** The longest backup retention a flexible server can have (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore#backup-retention: 7 to 35 days). */
const MAX_RETENTION_DAYS = 35

/**
 * Before the run (plan and run, exit 2): a restore point no server of the catalog's can hold — in the future, or older
 * than the 35 days any flexible server keeps at most. The catalog's backupRetentionDays is what the server must keep
 * at least (it may keep more), so a point between the two is left to the run, which reads the server's own window
 * (earliestRestoreDate, later for a server younger than its retention).
 */
function restorePointRefusal(input: {server: string; pointInTime?: string}, plan: PlanContext): PreflightRefusal | undefined {
  const point = input.pointInTime ? Date.parse(input.pointInTime) : Number.NaN
  if (Number.isNaN(point)) return undefined
  // No catalog location: the point is the params' mistake, not the catalog's.
  const {component, name} = resolveResource(plan.environment, 'postgres', input.server)
  const now = (plan.now ?? new Date()).getTime()
  const days = (n: number) => new Date(now - n * 86_400_000).toISOString()
  const declared = component?.type === 'postgres' ? component.backupRetentionDays : undefined
  const window = declared === undefined ? '' : `; the catalog's retention of ${declared} days is the window [${days(declared)}, ${new Date(now).toISOString()}] (backupRetentionDays)`
  const at = new Date(point).toISOString()
  if (point > now)
    return {message: `restore point ${at} is in the future: ${name} can be restored to a point up to now${window}`}
  if (point < now - MAX_RETENTION_DAYS * 86_400_000)
    return {
      message: `restore point ${at} is older than any backup of ${name}: a flexible server keeps backups ${MAX_RETENTION_DAYS} days at most, so nothing before ${days(MAX_RETENTION_DAYS)} can be restored (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore#backup-retention)${window}`,
    }
  return undefined
}

export const assertRestorableAction = defineAction({
  name: 'postgres.assertRestorable',
  preflight: restorePointRefusal,
  summary: 'Check a point in time is inside the server\'s restore window (and geo backup exists for a geo restore)',
  description:
    'Reads the server\'s backup settings and fails with exit code 2 — before anything changes — when the point in time lies outside [earliestRestoreDate, now], or when a geo restore is planned and geo-redundant backup is disabled. Also warns when the retention is shorter than the catalog asks for. `plan` (and `run`, before its first step) already refuse a point in the future or older than the 35 days a flexible server keeps at most, naming the catalog\'s window.',
  input: z.strictObject({
    server: serverRef,
    pointInTime: optionalDateTime.describe('Point to restore to (UTC); default: only report the window'),
    geo: z.boolean().default(false).describe('A geo restore is planned: geo-redundant backup must be enabled'),
  }),
  output: z.strictObject({...restoreWindowOutput, pointInTime: z.string().optional(), warnings: z.array(z.string())}),
  changes: false,
  permissions: [READ],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [`az postgres flexible-server show --resource-group ${r.resourceGroup} --name ${r.name} --query "{earliestRestoreDate: backup.earliestRestoreDate, retentionDays: backup.backupRetentionDays, geoRedundantBackup: backup.geoRedundantBackup}"`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(planResource(plan, input.server))}],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolveResource(context.environment, 'postgres', input.server)
    const source = await withRetryLog(context, services, () => getServer(services, resource, context.signal))
    const point = input.pointInTime ? new Date(input.pointInTime) : undefined
    const window = checkRestorable(source, resource, context.now(), point, input.geo)
    const warnings: string[] = []
    const component = resource.component?.type === 'postgres' ? resource.component : undefined
    if (component && window.retentionDays < component.backupRetentionDays)
      warnings.push(`backup retention is ${window.retentionDays} days, the catalog asks for ${component.backupRetentionDays}`)
    if (component?.objectives?.crossRegion && !window.geoRedundantBackup)
      warnings.push('the catalog sets a cross-region objective but geo-redundant backup is disabled: a region loss cannot be recovered from backup')
    for (const w of warnings) context.log(`warning: ${w}`)
    context.log(`${resource.name} restorable from ${window.earliestRestoreDate} to now (${window.retentionDays} days retention, geo backup ${window.geoRedundantBackup ? 'on' : 'off'})`)
    return {server: resource.name, ...window, pointInTime: point?.toISOString(), warnings}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// restore / geoRestore

const restoreInput = z.strictObject({
  server: serverRef.describe('The source server: catalog component key, Azure name or resource id'),
  pointInTime: optionalDateTime.describe('UTC point to restore to; default: the latest (now)'),
  targetName: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'server names are 3-63 lower-case letters, digits and hyphens')
    .optional()
    .describe('Name of the new server; default <source>-drill-<run> (scratch) or <source>-pitr-<run>'),
  resourceGroup: z.string().optional().describe('Resource group of the new server; default: the source\'s'),
  scratch: z.boolean().default(false).describe('A throw-away copy (drills): postgres.delete only removes scratch servers of its own run'),
  expiresIn: isoDuration.default('PT4H').describe('Written to the opsbook-expires tag so forgotten copies can be found and removed'),
  timeout: isoDuration.default('PT2H').describe('How long to wait for the new server to be Ready'),
})
type RestoreInput = z.infer<typeof restoreInput>

const restoreOutput = z.strictObject({
  server: z.string().describe('Name of the new server'),
  resourceGroup: z.string(),
  resourceId: z.string(),
  sourceServer: z.string(),
  location: z.string(),
  pointInTime: z.string().describe('The restore point asked for (ISO)'),
  startedAt: z.string(),
  readyAt: z.string(),
  fqdn: z.string().optional(),
  resumed: z.boolean().describe('True when a resumed run re-attached to the restore already in flight'),
})

function targetNameOf(input: RestoreInput, source: string, runId: string, geo: boolean): string {
  return input.targetName ?? derivedName(source, input.scratch ? 'drill' : geo ? 'geo' : 'pitr', runId)
}

function restoreAz(input: RestoreInput, plan: PlanContext, geo: boolean): string[] {
  const source = planResource(plan, input.server)
  const target = input.targetName ?? `<${source.name}-${input.scratch ? 'drill' : geo ? 'geo' : 'pitr'}-run>`
  const rg = input.resourceGroup ?? source.resourceGroup
  const sourceArg = rg === source.resourceGroup ? source.name : source.id
  // `restore`/`geo-restore` take no --tags in az 2.45 (Debian 12): the tag is a second command every az version has.
  const tag = `az postgres flexible-server update --resource-group ${rg} --name ${target} --tags ${TAG_SCRATCH}=${input.scratch}`
  if (geo)
    return [`az postgres flexible-server geo-restore --resource-group ${rg} --name ${target} --source-server ${sourceArg} --location ${plan.environment.pairedRegion ?? '<paired-region>'}`, tag]
  return [`az postgres flexible-server restore --resource-group ${rg} --name ${target} --source-server ${sourceArg} --restore-time ${input.pointInTime ?? (plan.now ?? new Date()).toISOString()}`, tag]
}

function restoreArm(input: RestoreInput, plan: PlanContext, geo: boolean) {
  const source = planResource(plan, input.server)
  const target = input.targetName ?? `<${source.name}-${input.scratch ? 'drill' : geo ? 'geo' : 'pitr'}-run>`
  const targetId = `/subscriptions/${source.subscription}/resourceGroups/${input.resourceGroup ?? source.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${target}`
  return [
    {method: 'GET' as const, path: armPath(source), note: 'source server: restore window, location, tags'},
    {method: 'PUT' as const, path: `${targetId}?api-version=${apiVersions.postgres}`, longRunning: true, note: `createMode ${geo ? 'GeoRestore' : 'PointInTimeRestore'}`},
    {method: 'GET' as const, path: `${targetId}?api-version=${apiVersions.postgres}`, note: 'until state Ready'},
  ]
}

async function restore(input: RestoreInput, context: ActionContext, geo: boolean): Promise<z.infer<typeof restoreOutput>> {
  const services = azureServices(context)
  return withRetryLog(context, services, async () => {
    const source = resolveResource(context.environment, 'postgres', input.server)
    const timeoutMs = parseDuration(input.timeout)!
    const previous = context.operations.inFlight()
    const target = (previous?.state?.server as string | undefined) ?? targetNameOf(input, source.name, context.runId, geo)
    const resourceGroup = input.resourceGroup ?? source.resourceGroup
    const targetId = `/subscriptions/${source.subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${target}`
    const client = await services.postgres()

    const sourceServer = await getServer(services, source, context.signal)
    const now = context.now()
    let point = (previous?.state?.pointInTime as string | undefined) ?? input.pointInTime ?? now.toISOString()
    if (!previous) checkRestorable(sourceServer, source, now, new Date(point), geo)

    const location = geo ? (context.environment.pairedRegion ?? sourceServer.location) : sourceServer.location
    const expiresAt = new Date(now.getTime() + parseDuration(input.expiresIn)!).toISOString()
    let startedAt = (previous?.state?.startedAt as string | undefined) ?? now.toISOString()
    let resumed = false

    // Resumed after Ctrl-C stopped waiting for this very restore (e.g. a hung operation): the create may still be under
    // way, and ARM refuses a second one for the name (ServerNameAlreadyExists) — wait for the first one instead.
    const earlier = previous ? undefined : context.operations.interrupted?.()
    if (earlier?.method === 'PUT' && sameResource(earlier.resourceUrl, targetId) && !(await findServer(services, resourceGroup, target, context.signal))) {
      context.log(`waiting for the restore into ${target} that the interrupted run started`)
      await runTracked(context, services, {description: earlier.description, method: 'PUT', resource: targetId, reattach: earlier, call: () => Promise.reject(new Error('not re-sent'))}).catch(
        (error: unknown) => context.log(`the interrupted restore did not complete (${(error as Error).message}); restoring again`),
      )
    }
    // A retry (or a resume that lost its journal line) finds the server this run already created: adopt it.
    const existing = previous ? undefined : await findServer(services, resourceGroup, target, context.signal)
    if (existing) {
      if (existing.tags?.[TAG_RUN_ID] !== context.runId)
        throw new ActionFailure(`a server named ${target} already exists in ${resourceGroup} and was not created by this run`, {
          code: 'postgres-target-exists',
          exitCode: ExitCode.invalidInput,
          suggestions: ['pass another targetName', `or delete it: az postgres flexible-server delete --resource-group ${resourceGroup} --name ${target}`],
        })
      context.log(`${target} already exists from an earlier attempt of this run: waiting for it instead of restoring again`)
      startedAt = existing.tags?.['opsbook-started-at'] ?? startedAt
      // The server holds the data as of the point the earlier attempt restored to (a resumed drill computes "now" anew):
      // report that point, or the verification that follows compares the copy with a point it was never restored to.
      point = existing.tags?.[TAG_RESTORE_POINT] ?? point
      resumed = true
    } else {
      const tags: Record<string, string> = {
        ...(sourceServer.tags ?? {}),
        [TAG_RUN_ID]: context.runId,
        [TAG_SCRATCH]: String(input.scratch),
        [TAG_EXPIRES]: expiresAt,
        [TAG_SOURCE]: sourceServer.name ?? source.name,
        [TAG_RESTORE_POINT]: new Date(point).toISOString(),
        'opsbook-started-at': startedAt,
      }
      context.log(`${geo ? 'geo-restoring' : 'restoring'} ${source.name} as of ${new Date(point).toISOString()} into ${target} (${location})`)
      const create = (reattach?: null) => runTracked(context, services, {
        ...(reattach === null ? {reattach} : {}),
        description: `postgres.${geo ? 'geoRestore' : 'restore'} ${source.name} → ${target}`,
        method: 'PUT',
        resource: targetId,
        state: {server: target, resourceGroup, pointInTime: new Date(point).toISOString(), startedAt},
        call: (options) =>
          client.servers
            .beginCreateOrUpdateAndWait(
              resourceGroup,
              target,
              {
                location: location!,
                tags,
                createMode: geo ? 'GeoRestore' : 'PointInTimeRestore',
                sourceServerResourceId: sourceServer.id ?? source.id,
                pointInTimeUTC: new Date(point),
              },
              options as never,
            )
            .catch((error: unknown) => {
              throw toAzureError(error, {
                operation: `${geo ? 'geo-restore' : 'point-in-time restore'} of ${source.name} into ${target}`,
                az: restoreAz(input, {environment: context.environment} as PlanContext, geo)[0],
              })
            }),
      })
      let tracked = await create()
      // Re-attached to the create an earlier process started, and it is over — but the server is not there: the
      // earlier run's rollback deleted it (e.g. the disk filled and the run failed). Restore again, rather than wait
      // for a server that will never appear.
      if (tracked.resumed && !(await findServer(services, resourceGroup, target, context.signal))) {
        context.log(`${target}, restored before the resume, no longer exists: restoring again`)
        tracked = await create(null)
      }
      resumed = tracked.resumed
    }
    const ready = await waitForState(services, context, resourceGroup, target, ['Ready'], timeoutMs)
    const readyAt = context.now().toISOString()
    context.log(`${target} is Ready (${humanDuration(Date.parse(readyAt) - Date.parse(startedAt))} after the restore started)`)
    return {
      server: target,
      resourceGroup,
      resourceId: ready.id ?? targetId,
      sourceServer: source.name,
      location: ready.location ?? location ?? '',
      pointInTime: new Date(point).toISOString(),
      startedAt,
      readyAt,
      fqdn: ready.fullyQualifiedDomainName,
      resumed,
    }
  })
}

export const restoreAction = defineAction({
  name: 'postgres.restore',
  summary: 'Point-in-time restore into a new server, tagged with the run id and an expiry',
  description:
    'Checks the restore window first (exit 2 before any change), then PUTs a new server with createMode PointInTimeRestore and waits until it is Ready. The operation is journaled as soon as ARM accepts it; `opsbook resume` re-attaches to it rather than starting a second restore. Tags: opsbook-run-id, opsbook-scratch, opsbook-expires, opsbook-source, opsbook-restore-point.',
  input: restoreInput,
  output: restoreOutput,
  changes: true,
  // "The overall recovery time usually takes from a few minutes up to a few hours"
  // (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore, geo-restore; a point-in-time restore replays the same
  // base backup + WAL): several times "a few hours".
  defaultTimeout: 'PT12H',
  permissions: [READ, WRITE],
  az: (input, plan) => restoreAz(input, plan, false),
  arm: (input, plan) => restoreArm(input, plan, false),
  run: (input, context) => restore(input, context, false),
})

export const geoRestoreAction = defineAction({
  name: 'postgres.geoRestore',
  // The catalog says the server has no geo-redundant backup: refused before the run (the source's own setting is
  // checked again at run time, checkRestorable).
  preflight: (input, plan) => {
    const {component, componentKey} = resolveResource(plan.environment, 'postgres', input.server)
    if (component?.type !== 'postgres') return undefined
    const refusal = geoRestoreRefusal(component.name, component.geoRedundantBackup)
    return refusal && {message: refusal.message, component: componentKey, field: 'geoRedundantBackup'}
  },
  summary: 'Geo restore into a new server in the paired region (needs geo-redundant backup)',
  description:
    'Like postgres.restore with createMode GeoRestore, landing in the environment\'s pairedRegion. Geo-redundant backups trail the primary, so the restored data can be older than the point asked for: measure it with postgres.verify (dataAsOf).',
  input: restoreInput,
  output: restoreOutput,
  changes: true,
  // "The overall recovery time usually takes from a few minutes up to a few hours"
  // (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore): several times that.
  defaultTimeout: 'PT12H',
  permissions: [READ, WRITE],
  az: (input, plan) => restoreAz(input, plan, true),
  arm: (input, plan) => restoreArm(input, plan, true),
  run: (input, context) => restore(input, context, true),
})

// ---------------------------------------------------------------------------------------------------------------------
// promoteReplica

export const promoteReplicaAction = defineAction({
  name: 'postgres.promoteReplica',
  // Only a read replica can be promoted (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote):
  // a name the catalog knows as a primary server is refused before the run, naming the replicas it declares.
  preflight: (input, plan) => {
    const {component, componentKey, name} = resolveResource(plan.environment, 'postgres', input.replica)
    if (component?.type !== 'postgres' || name.toLowerCase() !== component.name.toLowerCase()) return undefined
    const replicas = component.replicas.map((r) => r.name)
    return {
      message: `${name} is the primary server of component ${componentKey}, not a read replica; only a replica can be promoted (${replicas.length > 0 ? `its replicas: ${replicas.join(', ')}` : 'the catalog declares no replica of it: add one under replicas: and create it first'}) (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote)`,
      component: componentKey,
      field: replicas.length > 0 ? 'replicas' : 'name',
    }
  },
  summary: 'Promote a read replica: standalone or switchover, planned or forced',
  description:
    'PATCHes the replica with replica.promoteMode/promoteOption (api 2025-08-01) and waits for it to be Ready. Planned waits for the replica to catch up (no data loss); forced promotes at once (possible loss of the newest writes).',
  input: z.strictObject({
    replica: serverRef.describe('The replica: its Azure name (a catalog replica) or resource id'),
    mode: z.enum(['standalone', 'switchover']).default('standalone').describe('standalone: detach as an independent server; switchover: swap roles with the primary'),
    option: z.enum(['planned', 'forced']).default('planned').describe('planned: sync first; forced: promote now'),
    timeout: isoDuration.default('PT1H'),
  }),
  output: z.strictObject({
    server: z.string(),
    resourceId: z.string(),
    mode: z.string(),
    option: z.string(),
    replicationRole: z.string().optional(),
    startedAt: z.string(),
    completedAt: z.string(),
    resumed: z.boolean(),
  }),
  changes: true,
  // No documented duration; past the input `timeout` (PT1H) for the promoted server to be Ready.
  defaultTimeout: 'PT3H',
  permissions: [READ, WRITE],
  replicaInputs: ['replica'],
  az: (input, plan) => {
    const r = planResource(plan, input.replica)
    const promote = `az postgres flexible-server replica promote --resource-group ${r.resourceGroup} --name ${r.name} --promote-mode ${input.mode} --promote-option ${input.option}`
    // `replica promote` is newer than az 2.45 (Debian 12), which has only `replica stop-replication`: a standalone,
    // planned promotion. Switchover and forced promotion have no 2.45 equivalent.
    if (input.mode === 'standalone' && input.option === 'planned')
      return [`${promote}  # needs az newer than 2.45; with az 2.45: az postgres flexible-server replica stop-replication --resource-group ${r.resourceGroup} --name ${r.name} --yes`]
    return [`${promote}  # needs az newer than 2.45 (no older equivalent for --promote-mode ${input.mode} --promote-option ${input.option})`]
  },
  arm: (input, plan) => {
    const r = planResource(plan, input.replica)
    return [
      {method: 'GET', path: armPath(r), note: 'must be a replica'},
      {method: 'PATCH', path: armPath(r), longRunning: true, note: `replica.promoteMode=${capitalize(input.mode)}, promoteOption=${capitalize(input.option)}`},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, 'postgres', input.replica)
      const client = await services.postgres()
      const previous = context.operations.inFlight()
      let startedAt = context.now().toISOString()
      let reattach: TrackedOperation | undefined
      if (!previous) {
        const current = await getServer(services, resource, context.signal)
        const role = current.replicationRole ?? current.replica?.role ?? 'None'
        // Resumed after Ctrl-C stopped waiting for this very promotion: it went through (a promotion cannot be undone
        // or issued twice), so finish by re-attaching to it rather than refusing a server that is no replica any more.
        // Still a replica: that promotion may still be under way (a hung operation) — it is waited for first, never left
        // running beside a second one.
        const earlier = context.operations.interrupted?.()
        const ours = earlier?.method === 'PATCH' && sameResource(earlier.resourceUrl, resource.id)
        if (ours && /replica$/i.test(role) && earlier.monitorUrl) {
          context.log(`waiting for the promotion the interrupted run started`)
          await pollMonitor(services, rebase(earlier.monitorUrl, earlier.resourceUrl, services.armEndpoint), context.signal, earlier.description).catch(() => undefined)
          const now = await getServer(services, resource, context.signal)
          if (!/replica$/i.test(now.replicationRole ?? now.replica?.role ?? 'None')) reattach = earlier
        } else if (!/replica$/i.test(role) && ours) reattach = earlier
        else if (!/replica$/i.test(role))
          throw new ActionFailure(`${resource.name} is not a read replica (replication role ${role}); nothing to promote`, {
            code: 'postgres-not-a-replica',
            exitCode: ExitCode.invalidInput,
          })
      }
      context.log(`promoting ${resource.name} (${input.mode}, ${input.option})`)
      const tracked = await runTracked(context, services, {
        description: `postgres.promoteReplica ${resource.name} (${input.mode}, ${input.option})`,
        method: 'PATCH',
        resource: resource.id,
        state: {startedAt},
        ...(reattach ? {reattach} : {}),
        call: (options) =>
          client.servers
            .beginUpdateAndWait(
              resource.resourceGroup,
              resource.name,
              {replica: {promoteMode: capitalize(input.mode) as 'Standalone', promoteOption: capitalize(input.option) as 'Planned'}},
              options as never,
            )
            .catch((error: unknown) => {
              throw toAzureError(error, {operation: `promote replica ${resource.name}`})
            }),
      })
      startedAt = (tracked.state.startedAt as string | undefined) ?? startedAt
      const ready = await waitForState(services, context, resource.resourceGroup, resource.name, ['Ready'], parseDuration(input.timeout)!)
      return {
        server: resource.name,
        resourceId: ready.id ?? resource.id,
        mode: input.mode,
        option: input.option,
        replicationRole: ready.replicationRole,
        startedAt,
        completedAt: context.now().toISOString(),
        resumed: tracked.resumed,
      }
    })
  },
})

/** What the probes need from a step's context. */
function probeContext(context: ActionContext) {
  return {signal: context.signal, log: (m: string) => context.log(m), secret: (v: string) => context.secret(v), now: () => context.now()}
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1)
}

// ---------------------------------------------------------------------------------------------------------------------
// waitReady

export const waitReadyAction = defineAction({
  name: 'postgres.waitReady',
  summary: 'Wait until a server\'s state is Ready',
  input: z.strictObject({server: serverRef, timeout: isoDuration.default('PT30M')}),
  output: z.strictObject({server: z.string(), state: z.string(), readyAt: z.string(), waitedMs: z.number()}),
  changes: false,
  permissions: [READ],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [`az postgres flexible-server wait --resource-group ${r.resourceGroup} --name ${r.name} --custom "state=='Ready'" --timeout ${Math.round(parseDuration(input.timeout)! / 1000)}`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(planResource(plan, input.server)), note: 'repeated until state Ready'}],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolveResource(context.environment, 'postgres', input.server)
    const started = Date.now()
    const server = await withRetryLog(context, services, () =>
      waitForState(services, context, resource.resourceGroup, resource.name, ['Ready'], parseDuration(input.timeout)!),
    )
    return {server: resource.name, state: server.state ?? 'Ready', readyAt: context.now().toISOString(), waitedMs: Date.now() - started}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// verify

/** Field of the emulator's data probe (`GET {serverId}/opsbookData`): the newest transaction the server holds. */
export const DATA_AS_OF_FIELD = 'dataAsOf'

/**
 * When the data in a server is from: the emulator answers `GET {serverId}/opsbookData` with `{dataAsOf}` (not an Azure
 * API; Azure answers 4xx and this returns undefined — measure with a data-plane query there).
 */
async function probeDataAsOf(services: AzureServices, resourceId: string, apiVersion: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    const response = await services.armRequest('GET', `${resourceId}/opsbookData`, {apiVersion, signal})
    const value = response.status === 200 ? response.body?.[DATA_AS_OF_FIELD] : undefined
    return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined
  } catch {
    return undefined
  }
}

export {probeDataAsOf}

const check = z.strictObject({name: z.string(), ok: z.boolean(), expected: z.string().optional(), actual: z.string().optional()})
const probeRow = z.strictObject({
  probe: z.string(),
  server: z.string(),
  role: z.enum(['copy', 'source']),
  database: z.string(),
  ok: z.boolean(),
  value: z.union([z.string(), z.number(), z.null()]).optional(),
  error: z.string().optional(),
  differs: z.string().optional(),
})

export const verifyAction = defineAction({
  name: 'postgres.verify',
  summary: 'Verify a server: state Ready, version, SKU, HA, restore point; reports how fresh its data is',
  description: `Fails when any expectation does not hold. With \`probes\` (a catalog component with dataProbes) it connects to the server (TLS verified, Entra token / Key Vault secret / OPSBOOK_PARAM_* as the password) and reads its newest data with the freshness query (or the canary heartbeats), and the same on the source as of the restore point; a probe that fails (bad SQL, unreachable, wrong credentials) fails the step with the reason. dataAsOf is then the newest data the copy holds (dataAsOfSource: probe) and probedAt when the probes answered. Without probes, dataAsOf comes from the modelled emulator's data path (GET {serverId}/opsbookData, field ${DATA_AS_OF_FIELD}) or is omitted.`,
  input: z.strictObject({
    server: serverRef,
    probes: z.string().optional().describe('Catalog component whose dataProbes run against this server (the copy) and against the component\'s own server (the source)'),
    expectVersion: z.string().optional().describe('PostgreSQL major version, e.g. "16"'),
    expectSku: z.string().optional().describe('SKU name, e.g. Standard_D2ds_v5'),
    expectHa: z.enum(['Disabled', 'SameZone', 'ZoneRedundant']).optional(),
    pointInTime: optionalDateTime.describe('The restore point the server must have been restored to'),
  }),
  output: z.strictObject({
    server: z.string(),
    state: z.string(),
    version: z.string().optional(),
    sku: z.string().optional(),
    ha: z.string(),
    fqdn: z.string().optional(),
    restorePoint: z.string().optional(),
    dataAsOf: z.string().optional().describe('Newest data the server holds (ISO), when known'),
    dataAsOfSource: z.enum(['server', 'probe', 'restore-point', 'unknown']),
    sourceDataAsOf: z.string().nullable().optional().describe('Newest data the source held at the restore point (same probe)'),
    probedAt: z.string().optional().describe('When the data probes answered: the end of the recovery time'),
    probes: z.array(probeRow).optional().describe('Every probe: copy and source, value or the reason it failed'),
    checks: z.array(check),
  }),
  changes: false,
  permissions: [READ],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [`az postgres flexible-server show --resource-group ${r.resourceGroup} --name ${r.name} --query "{state: state, version: version, sku: sku.name, ha: highAvailability.mode, fqdn: fullyQualifiedDomainName}"`]
  },
  arm: (input, plan) => {
    const r = planResource(plan, input.server)
    return [{method: 'GET', path: armPath(r)}]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, 'postgres', input.server)
      const server = await getServer(services, resource, context.signal)
      const checks: Array<z.infer<typeof check>> = []
      const add = (name: string, ok: boolean, expected?: string, actual?: string) => checks.push({name, ok, expected, actual})
      add('state', server.state === 'Ready', 'Ready', server.state)
      if (input.expectVersion) add('version', String(server.version) === input.expectVersion, input.expectVersion, server.version)
      if (input.expectSku) add('sku', server.sku?.name === input.expectSku, input.expectSku, server.sku?.name)
      const ha = server.highAvailability?.mode ?? 'Disabled'
      if (input.expectHa) add('highAvailability', ha === input.expectHa, input.expectHa, ha)
      const restorePoint = server.pointInTimeUTC ? new Date(server.pointInTimeUTC).toISOString() : server.tags?.[TAG_RESTORE_POINT]
      if (input.pointInTime) {
        const wanted = new Date(input.pointInTime).getTime()
        add('restorePoint', restorePoint !== undefined && Math.abs(Date.parse(restorePoint) - wanted) < 1000, new Date(wanted).toISOString(), restorePoint)
      }
      const probesOf = input.probes ? resolveResource(context.environment, 'postgres', input.probes) : undefined
      const probeConfig = probesOf?.component?.type === 'postgres' ? probesOf.component.dataProbes : undefined
      // A modelled emulator reports the data age itself (no PostgreSQL process to probe); Azure and the real data plane do not.
      const probed = await probeDataAsOf(services, server.id ?? resource.id, apiVersions.postgres, context.signal)
      let report: ProbeReport | undefined
      if (probed === undefined && probesOf && probeConfig && server.state === 'Ready') {
        const {runDataProbes} = await import('./postgres-probes.js')
        const point = input.pointInTime ?? restorePoint ?? context.now().toISOString()
        const isSelf = probesOf.id.toLowerCase() === (server.id ?? resource.id).toLowerCase()
        const sourceServer = isSelf ? undefined : await getServer(services, probesOf, context.signal)
        report = await runDataProbes(
          {
            probes: probeConfig,
            copy: {name: resource.name, id: server.id ?? resource.id, fqdn: server.fullyQualifiedDomainName ?? `${resource.name}.postgres.database.azure.com`},
            ...(sourceServer ? {source: {name: probesOf.name, id: sourceServer.id ?? probesOf.id, fqdn: sourceServer.fullyQualifiedDomainName ?? `${probesOf.name}.postgres.database.azure.com`}} : {}),
            point: new Date(point),
          },
          {...probeContext(context), services},
        )
        add('dataProbes', report.failures.length === 0, 'every probe answers', report.failures.length === 0 ? `${report.rows.length} answered` : report.failures.join('; '))
      } else if (probesOf && !probeConfig) context.log(`no dataProbes for ${input.probes} in the catalog: what the copy holds is not read`)
      const dataAsOf = report ? (report.copyNewest ?? undefined) : (probed ?? restorePoint)
      const failed = checks.filter((c) => !c.ok)
      for (const c of checks) context.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.actual ?? '—'}${c.expected && !c.ok ? ` (expected ${c.expected})` : ''}`)
      if (failed.length > 0)
        throw new ActionFailure(
          `PostgreSQL server ${resource.name} failed verification: ${failed.map((c) => `${c.name} is ${c.actual ?? 'unknown'}, expected ${c.expected}`).join('; ')}`,
          {code: 'postgres-verify-failed', details: {checks}},
        )
      return {
        server: resource.name,
        state: server.state ?? 'unknown',
        version: server.version,
        sku: server.sku?.name,
        ha,
        fqdn: server.fullyQualifiedDomainName,
        restorePoint,
        dataAsOf,
        dataAsOfSource: report ? ('probe' as const) : probed ? ('server' as const) : restorePoint ? ('restore-point' as const) : ('unknown' as const),
        ...(report ? {sourceDataAsOf: report.sourceNewest ?? null, probedAt: report.answeredAt, probes: report.rows} : {}),
        checks,
      }
    })
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// canary

export const canaryAction = defineAction({
  name: 'postgres.canary',
  summary: 'Write a heartbeat row into the source server (dataProbes.canary), so a restore\'s RPO is measurable without knowing the app\'s tables',
  description:
    'Connects with the component\'s dataProbes login and inserts a row into opsbook_canary.heartbeat (schema and table created when missing; remove them with DROP SCHEMA opsbook_canary CASCADE). postgres.verify with probes then reads the newest heartbeat in the copy. Does nothing when the component does not set dataProbes.canary.',
  input: z.strictObject({server: serverRef.describe('Catalog component key (its dataProbes are used)')}),
  output: z.strictObject({server: z.string(), written: z.boolean(), writtenAt: z.string().optional()}),
  changes: true,
  // One row written over a PostgreSQL connection (its own connect/statement timeout applies first).
  defaultTimeout: 'PT10M',
  armWrites: 'data-plane',
  permissions: [READ],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [
      `psql "host=${r.name}.postgres.database.azure.com dbname=postgres sslmode=verify-full" -c "CREATE SCHEMA IF NOT EXISTS opsbook_canary; CREATE TABLE IF NOT EXISTS opsbook_canary.heartbeat (at timestamptz PRIMARY KEY DEFAULT clock_timestamp(), run_id text NOT NULL); INSERT INTO opsbook_canary.heartbeat (run_id) VALUES ('<run>')"`,
    ]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(planResource(plan, input.server)), note: 'host name; then the heartbeat over the PostgreSQL protocol'}],
  async run(input, context) {
    const resource = resolveResource(context.environment, 'postgres', input.server)
    const probes = resource.component?.type === 'postgres' ? resource.component.dataProbes : undefined
    if (!probes?.canary) {
      context.log(`${resource.name}: dataProbes.canary is not set; no heartbeat written`)
      return {server: resource.name, written: false}
    }
    const services = azureServices(context)
    const server = await withRetryLog(context, services, () => getServer(services, resource, context.signal))
    const {writeCanary} = await import('./postgres-probes.js')
    const writtenAt = await writeCanary(
      {probes, server: {name: resource.name, id: server.id ?? resource.id, fqdn: server.fullyQualifiedDomainName ?? `${resource.name}.postgres.database.azure.com`}, runId: context.runId},
      {...probeContext(context), services},
    ).catch((error: Error) => {
      throw new ActionFailure(`could not write the canary heartbeat into ${resource.name}: ${error.message}`, {code: 'postgres-canary-failed'})
    })
    context.log(`${resource.name}: heartbeat written at ${writtenAt}`)
    return {server: resource.name, written: true, writtenAt}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// delete

export const deleteAction = defineAction({
  name: 'postgres.delete',
  summary: 'Delete a server this run created (by default only scratch servers of this run)',
  description:
    'Safety: with ifScratchOnly (the default) it refuses unless the server carries opsbook-scratch=true and this run\'s opsbook-run-id; with ifScratchOnly: false it still refuses servers opsbook did not create (no opsbook-run-id tag). A server that is already gone counts as deleted, so teardown can run twice.',
  input: z.strictObject({
    server: serverRef,
    ifScratchOnly: z.boolean().default(true).describe('Only delete scratch servers created by this run'),
  }),
  output: z.strictObject({server: z.string(), deleted: z.boolean(), alreadyGone: z.boolean()}),
  changes: true,
  // No documented duration; a server delete takes minutes. Generous.
  defaultTimeout: 'PT2H',
  armWrites: 'when-needed',
  permissions: [READ, DELETE],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [`az postgres flexible-server delete --resource-group ${r.resourceGroup} --name ${r.name} --yes`]
  },
  arm: (input, plan) => {
    const r = planResource(plan, input.server)
    return [
      {method: 'GET', path: armPath(r), note: 'tags: opsbook-run-id, opsbook-scratch'},
      {method: 'DELETE', path: armPath(r), longRunning: true},
    ]
  },
  // The server it deletes, as run() resolves it: what a `gone` finding must be about.
  targets: (input, plan) => [resolveResource(plan.environment, 'postgres', input.server).id],
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, 'postgres', input.server)
      const server = await findServer(services, resource.resourceGroup, resource.name, context.signal)
      if (!server) {
        context.log(`${resource.name} does not exist (already deleted)`)
        foundWithoutWrite({kind: 'gone', resourceId: resource.id})
        return {server: resource.name, deleted: false, alreadyGone: true}
      }
      const tags = server.tags ?? {}
      if (input.ifScratchOnly && (tags[TAG_SCRATCH] !== 'true' || tags[TAG_RUN_ID] !== context.runId))
        throw new ActionFailure(
          `refusing to delete ${resource.name}: it is not a scratch server of this run (${TAG_SCRATCH}=${tags[TAG_SCRATCH] ?? 'absent'}, ${TAG_RUN_ID}=${tags[TAG_RUN_ID] ?? 'absent'})`,
          {code: 'postgres-delete-refused', exitCode: ExitCode.invalidInput},
        )
      if (!tags[TAG_RUN_ID])
        throw new ActionFailure(`refusing to delete ${resource.name}: opsbook did not create it (no ${TAG_RUN_ID} tag); delete it by hand if you mean it`, {
          code: 'postgres-delete-refused',
          exitCode: ExitCode.invalidInput,
          suggestions: [`az postgres flexible-server delete --resource-group ${resource.resourceGroup} --name ${resource.name}`],
        })
      const client = await services.postgres()
      context.log(`deleting ${resource.name}`)
      await runTracked(context, services, {
        description: `postgres.delete ${resource.name}`,
        method: 'DELETE',
        resource: resource.id,
        call: (options) =>
          client.servers.beginDeleteAndWait(resource.resourceGroup, resource.name, options as never).catch((error: unknown) => {
            if (isNotFound(error)) return
            throw toAzureError(error, {operation: `delete PostgreSQL server ${resource.name}`})
          }),
      })
      return {server: resource.name, deleted: true, alreadyGone: false}
    })
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// maintenance window

const windowInput = z
  .union([
    z.string().describe('Name of a maintenance window of the environment'),
    z.strictObject({
      day: z.union([z.string(), z.number().int().min(0).max(6)]).describe('Sunday … Saturday, or 0 (Sunday) … 6'),
      startHour: z.number().int().min(0).max(23),
      startMinute: z.number().int().min(0).max(59).default(0),
    }),
  ])
  .describe('A catalog window name, or {day, startHour, startMinute} in UTC')

const windowOutput = {
  server: z.string(),
  customWindow: z.string(),
  dayOfWeek: z.number().optional(),
  startHour: z.number().optional(),
  startMinute: z.number().optional(),
}

function windowOf(component: ResolvedResource, explicit: z.infer<typeof windowInput> | undefined): z.infer<typeof windowInput> {
  if (explicit !== undefined) return explicit
  const name = component.component ? componentWindowNames(component.component)[0] : undefined
  if (!name)
    throw new ActionFailure(`no window given and ${component.name} has no window in the catalog`, {code: 'no-window', exitCode: ExitCode.invalidInput})
  return name
}

function describeWindow(w: {dayOfWeek?: number; startHour?: number; startMinute?: number; customWindow?: string}): string {
  if (w.customWindow !== 'Enabled') return 'system-managed'
  return `${weekdayName(w.dayOfWeek ?? 0)} ${String(w.startHour ?? 0).padStart(2, '0')}:${String(w.startMinute ?? 0).padStart(2, '0')} UTC`
}

export const setMaintenanceWindowAction = defineAction({
  name: 'postgres.setMaintenanceWindow',
  summary: 'Set the server\'s custom maintenance window (UTC) from a catalog window',
  description:
    'Converts the catalog window (local time in its zone) to the UTC day/hour/minute PostgreSQL takes, at the window\'s next opening. Skips the PATCH when the server already has it.',
  input: z.strictObject({server: serverRef, window: windowInput.optional()}),
  output: z.strictObject({
    ...windowOutput,
    changed: z.boolean(),
    validUntil: z.string().optional().describe('When daylight saving moves the catalog window to another UTC slot: run maintenance-window again then'),
  }),
  changes: true,
  // One PATCH of the server's maintenanceWindow. Generous.
  defaultTimeout: 'PT1H',
  permissions: [READ, WRITE],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    let spec = '<Day:Hour:Minute>'
    try {
      const w = resolveWindow(plan.environment, windowOf(r, input.window) as never, new Date())
      spec = `${w.dayName.slice(0, 3)}:${w.startHour}:${w.startMinute}`
    } catch {
      // plan shows the placeholder
    }
    return [`az postgres flexible-server update --resource-group ${r.resourceGroup} --name ${r.name} --maintenance-window ${shellQuote(spec)}`]
  },
  arm: (input, plan) => {
    const r = planResource(plan, input.server)
    return [
      {method: 'GET', path: armPath(r)},
      {method: 'PATCH', path: armPath(r), longRunning: true, note: 'properties.maintenanceWindow {customWindow: Enabled, dayOfWeek, startHour, startMinute}'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, 'postgres', input.server)
      const wanted = resolveWindow(context.environment, windowOf(resource, input.window) as never, context.now())
      const server = await getServer(services, resource, context.signal)
      const current = server.maintenanceWindow ?? {}
      const same =
        current.customWindow === 'Enabled' && current.dayOfWeek === wanted.dayOfWeek && current.startHour === wanted.startHour && current.startMinute === wanted.startMinute
      const result = {
        server: resource.name,
        customWindow: 'Enabled',
        dayOfWeek: wanted.dayOfWeek,
        startHour: wanted.startHour,
        startMinute: wanted.startMinute,
        ...(wanted.validUntil ? {validUntil: wanted.validUntil} : {}),
      }
      // Azure keeps one weekly UTC slot; the catalog's local window maps to another after a daylight-saving change.
      if (wanted.validUntil) context.log(`${resource.name}: this UTC slot matches the catalog window until ${wanted.validUntil} (daylight saving); apply it again then`)
      if (same) {
        context.log(`${resource.name} already has ${describeWindow(result)}`)
        return {...result, changed: false}
      }
      context.log(`${resource.name}: ${describeWindow(current)} → ${describeWindow(result)}`)
      const client = await services.postgres()
      await runTracked(context, services, {
        description: `postgres.setMaintenanceWindow ${resource.name}`,
        method: 'PATCH',
        resource: resource.id,
        call: (options) =>
          client.servers
            .beginUpdateAndWait(
              resource.resourceGroup,
              resource.name,
              {maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: wanted.dayOfWeek, startHour: wanted.startHour, startMinute: wanted.startMinute}},
              options as never,
            )
            .catch((error: unknown) => {
              throw toAzureError(error, {operation: `set the maintenance window of ${resource.name}`})
            }),
      })
      return {...result, changed: true}
    })
  },
})

export const getMaintenanceWindowAction = defineAction({
  name: 'postgres.getMaintenanceWindow',
  summary: 'Read the server\'s maintenance window and report drift from the catalog',
  input: z.strictObject({server: serverRef, window: windowInput.optional().describe('Expected window; default: the component\'s catalog window')}),
  output: z.strictObject({
    ...windowOutput,
    expected: z.string().optional(),
    actual: z.string(),
    drift: z.boolean(),
    differences: z.array(z.string()),
  }),
  changes: false,
  permissions: [READ],
  az: (input, plan) => {
    const r = planResource(plan, input.server)
    return [`az postgres flexible-server show --resource-group ${r.resourceGroup} --name ${r.name} --query maintenanceWindow`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(planResource(plan, input.server))}],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolveResource(context.environment, 'postgres', input.server)
    const server = await withRetryLog(context, services, () => getServer(services, resource, context.signal))
    const current = server.maintenanceWindow ?? {}
    const reference = input.window ?? (resource.component ? componentWindowNames(resource.component)[0] : undefined)
    const differences: string[] = []
    let expected: string | undefined
    if (reference !== undefined) {
      const wanted = resolveWindow(context.environment, reference as never, context.now())
      const wantedView = {customWindow: 'Enabled', dayOfWeek: wanted.dayOfWeek, startHour: wanted.startHour, startMinute: wanted.startMinute}
      expected = describeWindow(wantedView)
      if (current.customWindow !== 'Enabled') differences.push('custom window is not enabled (Azure picks the time)')
      else {
        if (current.dayOfWeek !== wanted.dayOfWeek) differences.push(`day is ${weekdayName(current.dayOfWeek ?? 0)}, expected ${wanted.dayName}`)
        if (current.startHour !== wanted.startHour || current.startMinute !== wanted.startMinute)
          differences.push(`starts ${current.startHour}:${String(current.startMinute ?? 0).padStart(2, '0')} UTC, expected ${wanted.startHour}:${String(wanted.startMinute).padStart(2, '0')} UTC`)
      }
    }
    const actual = describeWindow(current)
    context.log(differences.length ? `${resource.name} drifted: ${differences.join('; ')}` : `${resource.name}: ${actual}`)
    return {
      server: resource.name,
      customWindow: current.customWindow ?? 'Disabled',
      dayOfWeek: current.dayOfWeek,
      startHour: current.startHour,
      startMinute: current.startMinute,
      expected,
      actual,
      drift: differences.length > 0,
      differences,
    }
  },
})

export const postgresActions: ActionDefinition[] = [
  assertRestorableAction,
  restoreAction,
  geoRestoreAction,
  promoteReplicaAction,
  waitReadyAction,
  verifyAction,
  canaryAction,
  deleteAction,
  setMaintenanceWindowAction,
  getMaintenanceWindowAction,
]

