/**
 * Azure Managed Redis actions (`Microsoft.Cache/redisEnterprise` clusters and their database): RDB export to the
 * catalog's snapshot container and import from it, with the same snapshot naming, canary, SAS handling and RPO
 * reading as the classic cache (the shared code is in redis.ts: runExport / runImport / verify); the database's
 * persistence settings and active geo-replication group, and force-unlinking a lost region's database from the group.
 * SDK: @azure/arm-redisenterprisecache 2.2 (api-version 2022-01-01), imported lazily through the run's AzureServices.
 *
 * REST contract (redisenterprise.json 2022-01-01): Databases_Export `{sasUri}` (a SAS URI of the target directory),
 * Databases_Import `{sasUris}`, Databases_ForceUnlink `{ids}`, all long-running (azure-async-operation).
 */
import {z} from 'zod'
import type {AzureServices} from '../azure/clients.js'
import {ActionFailure, AzureError, toAzureError} from '../azure/errors.js'
import {pollMonitor, runTracked} from '../azure/lro.js'
import {
  AMR_MAINTENANCE_API,
  AMR_MAINTENANCE_DOC,
  amrMaintenancePlan,
  describeAmrWindow,
  sameAmrWindows,
  type AmrMaintenancePlan,
  type AmrMaintenanceWindow,
} from '../catalog/managed-redis-maintenance.js'
import {ExitCode} from '../errors.js'
import {
  AZ_245_AMR,
  EXPORT_STORAGE_PERMISSIONS,
  IMPORT_STORAGE_PERMISSIONS,
  cacheRef,
  drillSnapshotName,
  exportInput,
  exportOutput,
  importInput,
  importOutput,
  managedDatabaseOf,
  planLocation,
  registerManagedFlavour,
  runExport,
  runImport,
  sasAzLine,
  REDIS_EXPORT_SAS_PERMISSIONS,
  REDIS_IMPORT_SAS_PERMISSIONS,
  verifyAction,
  type CacheFlavour,
  type CacheView,
} from './redis.js'
import {armPath, azureServices, resolveResource, shellQuote, withRetryLog, type ResolvedResource} from './resolve.js'
import {componentWindowNames} from '../catalog/schema.js'
import {defineAction, type ActionContext, type ActionDefinition, type ArmCall, type PlanContext} from './types.js'

const CLUSTER_READ = 'Microsoft.Cache/redisEnterprise/read'
const DATABASE_READ = 'Microsoft.Cache/redisEnterprise/databases/read'
const EXPORT = 'Microsoft.Cache/redisEnterprise/databases/export/action'
const IMPORT = 'Microsoft.Cache/redisEnterprise/databases/import/action'
const FORCE_UNLINK = 'Microsoft.Cache/redisEnterprise/databases/forceUnlink/action'
const CLUSTER_WRITE = 'Microsoft.Cache/redisEnterprise/write'
const AZ = 'az redisenterprise'

const resolve = (environment: Parameters<typeof resolveResource>[0], reference: string) => resolveResource(environment, 'managedredis', reference)

async function readDatabase(services: AzureServices, resource: ResolvedResource, signal: AbortSignal) {
  const client = await services.redisEnterprise()
  try {
    return await client.databases.get(resource.resourceGroup, resource.name, managedDatabaseOf(resource), {abortSignal: signal})
  } catch (error) {
    throw toAzureError(error, {operation: `read Managed Redis database ${resource.name}/${managedDatabaseOf(resource)}`})
  }
}

/** The cluster and its database as one cache: host name from the cluster, TLS port and state from the database. */
async function readCache(services: AzureServices, resource: ResolvedResource, signal: AbortSignal): Promise<CacheView> {
  const client = await services.redisEnterprise()
  let cluster
  try {
    cluster = await client.redisEnterprise.get(resource.resourceGroup, resource.name, {abortSignal: signal})
  } catch (error) {
    throw toAzureError(error, {operation: `read Managed Redis cluster ${resource.name}`})
  }
  const database = await readDatabase(services, resource, signal)
  const states = [cluster.provisioningState, database.provisioningState]
  return {
    id: database.id ?? `${resource.id}/databases/${managedDatabaseOf(resource)}`,
    hostName: cluster.hostName,
    sslPort: database.port,
    provisioningState: states.find((s) => s !== 'Succeeded') ?? 'Succeeded',
    sku: {name: cluster.sku?.name},
    redisVersion: cluster.redisVersion,
  }
}

/** `<container URL>/<prefix>?<SAS>`: the spec's sasUri names the directory the export writes into. */
function directorySasUri(containerSasUrl: string, prefix: string): string {
  const at = containerSasUrl.indexOf('?')
  return `${containerSasUrl.slice(0, at)}/${prefix.split('/').map(encodeURIComponent).join('/')}${containerSasUrl.slice(at)}`
}

export const managedFlavour: CacheFlavour = {
  kind: 'managedredis',
  action: 'managedredis',
  read: readCache,
  // Import and export are on every Managed Redis tier (https://learn.microsoft.com/azure/redis/how-to-import-export-data).
  assertCapable: () => undefined,
  async exportTo(services, resource, {containerSasUrl, prefix}, options) {
    const client = await services.redisEnterprise()
    return client.databases.beginExportAndWait(resource.resourceGroup, resource.name, managedDatabaseOf(resource), {sasUri: directorySasUri(containerSasUrl, prefix)}, options as never)
  },
  async importFrom(services, resource, urls, options) {
    const client = await services.redisEnterprise()
    return client.databases.beginImportAndWait(resource.resourceGroup, resource.name, managedDatabaseOf(resource), {sasUris: urls}, options as never)
  },
  conflictHint: 'scaling, an update, import or export',
}
registerManagedFlavour(managedFlavour)

const databaseArg = (r: ResolvedResource) => `--resource-group ${r.resourceGroup} --cluster-name ${r.name}`

/**
 * The plan of an RDB transfer (export or import, both a long-running POST on the database with SAS URLs): the `az`
 * lines (a user-delegation SAS with `sasPermissions`, then `az redisenterprise database <op> <sasArgs>`) and ARM calls.
 */
function transferPlan<I extends {cache: string; sasTtl: string; storageAccount?: string; container?: string}>(
  op: 'export' | 'import',
  sasPermissions: string,
  sasArgs: (input: I, url: (blob: string) => string, cluster: string) => string,
  body: string,
) {
  return {
    az: (input: I, plan: PlanContext) => {
      const r = resolve(plan.environment, input.cache)
      const loc = planLocation(plan, r, input)
      const url = (blob: string) => `"https://${loc.storageAccount}.blob.core.windows.net/${loc.container}/${blob}?$SAS"`
      return [sasAzLine(plan, loc, sasPermissions, input.sasTtl), `${AZ} database ${op} ${databaseArg(r)} ${sasArgs(input, url, r.name)}${AZ_245_AMR}`]
    },
    arm: (input: I, plan: PlanContext): ArmCall[] => {
      const r = resolve(plan.environment, input.cache)
      return [
        {method: 'GET', path: armPath(r)},
        {method: 'POST', path: armPath(r, `/databases/${managedDatabaseOf(r)}/${op}`), longRunning: true, note: `body ${body}`},
      ]
    },
  }
}

export const managedExportAction = defineAction({
  name: 'managedredis.export',
  summary: 'Export an RDB snapshot of a Managed Redis database to the catalog\'s snapshot container (short-lived SAS, never logged)',
  description:
    'As redis.export, for Azure Managed Redis: POST .../databases/{db}/export with the SAS URI of a directory named like a classic snapshot (<cluster>-<UTC time>Z.rdb, or the drill copy name); the files written there are listed, stamped with dataasof metadata and read back by the runbooks. Its SAS needs the same blob data actions of the caller as redis.export\'s.',
  input: exportInput,
  output: exportOutput,
  changes: true,
  // No documented duration; its SAS (sasTtl, PT1H by default) expires before then: an export/import cannot outlive it.
  defaultTimeout: 'PT2H',
  permissions: [CLUSTER_READ, DATABASE_READ, EXPORT, ...EXPORT_STORAGE_PERMISSIONS],
  ...transferPlan<z.infer<typeof exportInput>>(
    'export',
    REDIS_EXPORT_SAS_PERMISSIONS,
    (input, url, cluster) => `--sas-uri ${url(input.drill ? drillSnapshotName(cluster, '<run-id>') : (input.prefix ?? `<${cluster}-time>Z.rdb`))}`,
    '{sasUri: <directory SAS URL>}',
  ),
  run: (input, context) => runExport(input, context, managedFlavour),
})

export const managedImportAction = defineAction({
  name: 'managedredis.import',
  summary: 'Import RDB snapshot blobs into a Managed Redis database (replaces its data)',
  description: 'As redis.import, for Azure Managed Redis: POST .../databases/{db}/import with {sasUris}, each a read-only blob SAS URL marked secret and never logged.',
  input: importInput,
  output: importOutput,
  changes: true,
  // No documented duration; its SAS (sasTtl, PT1H by default) expires before then: an export/import cannot outlive it.
  defaultTimeout: 'PT2H',
  permissions: [CLUSTER_READ, DATABASE_READ, IMPORT, ...IMPORT_STORAGE_PERMISSIONS],
  ...transferPlan<z.infer<typeof importInput>>('import', REDIS_IMPORT_SAS_PERMISSIONS, (input, url) => `--sas-uris ${(input.files ?? [input.prefix ? `${input.prefix}*` : '<newest-snapshot>']).map(url).join(' ')}`, '{sasUris: [<blob SAS URLs>]}'),
  run: (input, context) => runImport(input, context, managedFlavour),
})

export const managedVerifyAction = defineAction({
  ...verifyAction,
  name: 'managedredis.verify',
  summary: 'Verify a Managed Redis database: provisioningState Succeeded and its data (key count, canary) through the component\'s data probe',
  description: 'As redis.verify, for Azure Managed Redis: reads the cluster (host name) and its database (TLS port 10000, state), then connects with the component\'s probe.',
  permissions: [CLUSTER_READ, DATABASE_READ],
})

/** The plan of an action that only reads the database's `property` (persistence, geoReplication). */
function databaseRead(property: string) {
  return {
    changes: false,
    permissions: [DATABASE_READ],
    az: (input: {cache: string}, plan: PlanContext) => [`${AZ} database show ${databaseArg(resolve(plan.environment, input.cache))} --query ${property}${AZ_245_AMR}`],
    arm: (input: {cache: string}, plan: PlanContext): ArmCall[] => {
      const r = resolve(plan.environment, input.cache)
      return [{method: 'GET', path: armPath(r, `/databases/${managedDatabaseOf(r)}`)}]
    },
  }
}

/** The catalog's (or a named) Managed Redis database, read with the run's retries. */
async function readCacheDatabase(cache: string, context: ActionContext) {
  const services = azureServices(context)
  const resource = resolve(context.environment, cache)
  return {resource, database: await withRetryLog(context, services, () => readDatabase(services, resource, context.signal))}
}

export const persistenceAction = defineAction({
  name: 'managedredis.persistence',
  summary: 'Read a Managed Redis database\'s persistence (RDB or AOF and how often) against the catalog',
  description:
    'Persistence protects against node failures, not against bad writes (export is the backup): https://learn.microsoft.com/azure/redis/how-to-persistence. matches: the database has the catalog\'s persistence.mode (and frequency); with require: true a mismatch fails the step.',
  input: z.strictObject({cache: cacheRef, require: z.boolean().default(false).describe('Fail when the database differs from the catalog')}),
  output: z.strictObject({
    cache: z.string(),
    mode: z.enum(['rdb', 'aof', 'none']),
    frequency: z.string().optional().describe('rdb: 1h, 6h or 12h; aof: 1s or always'),
    expected: z.string().optional().describe('The catalog\'s persistence, e.g. rdb/PT1H'),
    matches: z.boolean().optional(),
  }),
  ...databaseRead('persistence'),
  async run(input, context) {
    const {resource, database} = await readCacheDatabase(input.cache, context)
    const p = database.persistence ?? {}
    const mode: 'rdb' | 'aof' | 'none' = p.rdbEnabled ? 'rdb' : p.aofEnabled ? 'aof' : 'none'
    const frequency = mode === 'rdb' ? p.rdbFrequency : mode === 'aof' ? p.aofFrequency : undefined
    const wanted = resource.component?.type === 'managedredis' ? resource.component.persistence : undefined
    const wantedFrequency = wanted?.frequency && wanted.mode === 'rdb' ? `${Math.round(hoursOf(wanted.frequency))}h` : wanted?.mode === 'aof' ? '1s' : undefined
    const matches = wanted ? wanted.mode === mode && (wantedFrequency === undefined || wantedFrequency === frequency) : undefined
    context.log(`${resource.name}/${managedDatabaseOf(resource)} persistence: ${mode}${frequency ? ` every ${frequency}` : ''}${wanted ? ` (catalog: ${wanted.mode}${wanted.frequency ? `/${wanted.frequency}` : ''}: ${matches ? 'matches' : 'differs'})` : ''}`)
    if (input.require && matches === false)
      throw new ActionFailure(`${resource.name}: persistence is ${mode}${frequency ? ` every ${frequency}` : ''}, the catalog expects ${wanted!.mode}${wanted!.frequency ? ` every ${wanted!.frequency}` : ''}`, {code: 'managedredis-persistence-drift'})
    return {cache: resource.name, mode, ...(frequency ? {frequency} : {}), ...(wanted ? {expected: `${wanted.mode}${wanted.frequency ? `/${wanted.frequency}` : ''}`, matches} : {})}
  },
})

function hoursOf(iso: string): number {
  const m = /^PT(\d+)H$/i.exec(iso)
  return m ? Number(m[1]) : Number.NaN
}

const linkedSchema = z.strictObject({id: z.string(), cluster: z.string(), state: z.string().optional()})

export const geoReplicationAction = defineAction({
  name: 'managedredis.geoReplication',
  summary: 'Read a Managed Redis database\'s active geo-replication group: its nickname and linked databases with their link state',
  description: 'GET .../databases/{db} → geoReplication {groupNickname, linkedDatabases[{id, state}]}. allLinked: every linked database is in state Linked.',
  input: z.strictObject({cache: cacheRef}),
  output: z.strictObject({cache: z.string(), group: z.string().optional(), linkedDatabases: z.array(linkedSchema), allLinked: z.boolean()}),
  ...databaseRead('geoReplication'),
  async run(input, context) {
    const {resource, database} = await readCacheDatabase(input.cache, context)
    const linked = (database.geoReplication?.linkedDatabases ?? []).map((l) => ({id: l.id ?? '', cluster: clusterOf(l.id ?? ''), ...(l.state ? {state: l.state} : {})}))
    const group = database.geoReplication?.groupNickname
    context.log(group ? `${resource.name} is in geo-replication group ${group}: ${linked.map((l) => `${l.cluster} (${l.state ?? 'unknown'})`).join(', ')}` : `${resource.name} is in no active geo-replication group`)
    return {cache: resource.name, ...(group ? {group} : {}), linkedDatabases: linked, allLinked: linked.length > 0 && linked.every((l) => l.state === 'Linked')}
  },
})

function clusterOf(databaseId: string): string {
  return /\/redisEnterprise\/([^/]+)\/databases\//i.exec(databaseId)?.[1] ?? databaseId
}

export const forceUnlinkAction = defineAction({
  name: 'managedredis.forceUnlink',
  summary: 'Force-unlink databases (e.g. a lost region\'s) from a Managed Redis database\'s active geo-replication group',
  description:
    'For a regional outage: the databases named (cluster names of the group, or database resource ids) are dropped from the group of `cache`, which keeps serving. They must be re-added (recreated) to rejoin: https://learn.microsoft.com/azure/redis/how-to-active-geo-replication#force-unlink-if-theres-a-region-outage.',
  input: z.strictObject({
    cache: cacheRef.describe('The database that stays in the group: component key, cluster name or ARM id'),
    unlink: z.array(z.string().min(1)).min(1).describe('Clusters (names) or database resource ids to unlink'),
  }),
  output: z.strictObject({cache: z.string(), unlinked: z.array(z.string()), remaining: z.array(z.string())}),
  changes: true,
  // No documented duration; one ARM operation on the geo-replication group. Generous.
  defaultTimeout: 'PT1H',
  permissions: [DATABASE_READ, FORCE_UNLINK],
  az: (input, plan) => {
    const r = resolve(plan.environment, input.cache)
    return [`${AZ} database force-unlink ${databaseArg(r)} --unlink-ids ${input.unlink.map((u) => (u.startsWith('/') ? u : `<id of ${u}/databases/${managedDatabaseOf(r)}>`)).join(' ')}${AZ_245_AMR}`]
  },
  arm: (input, plan) => {
    const r = resolve(plan.environment, input.cache)
    return [
      {method: 'GET', path: armPath(r, `/databases/${managedDatabaseOf(r)}`)},
      {method: 'POST', path: armPath(r, `/databases/${managedDatabaseOf(r)}/forceUnlink`), longRunning: true, note: 'body {ids: [<linked database ids>]}'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolve(context.environment, input.cache)
      const database = await readDatabase(services, resource, context.signal)
      const linked = database.geoReplication?.linkedDatabases ?? []
      const ids = input.unlink.map((u) => {
        const match = linked.find((l) => (l.id ?? '').toLowerCase() === u.toLowerCase() || clusterOf(l.id ?? '').toLowerCase() === u.toLowerCase())
        if (!match?.id)
          throw new ActionFailure(`${u} is not linked to ${resource.name}'s database (linked: ${linked.map((l) => clusterOf(l.id ?? '')).join(', ') || 'none'})`, {
            code: 'managedredis-not-linked',
            exitCode: ExitCode.invalidInput,
          })
        return match.id
      })
      const client = await services.redisEnterprise()
      await runTracked(context, services, {
        description: `managedredis.forceUnlink ${ids.map(clusterOf).join(', ')} from ${resource.name}`,
        method: 'POST',
        resource: `${resource.id}/databases/${managedDatabaseOf(resource)}/forceUnlink`,
        call: (options) =>
          client.databases.beginForceUnlinkAndWait(resource.resourceGroup, resource.name, managedDatabaseOf(resource), {ids}, options as never).catch((error: unknown) => {
            throw toAzureError(error, {operation: `force-unlink from ${resource.name}`})
          }),
      })
      const after = await readDatabase(services, resource, context.signal)
      const remaining = (after.geoReplication?.linkedDatabases ?? []).map((l) => clusterOf(l.id ?? ''))
      context.log(`unlinked ${ids.map(clusterOf).join(', ')}; the group now holds ${remaining.join(', ') || 'no database'}`)
      return {cache: resource.name, unlinked: ids.map(clusterOf), remaining}
    })
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// scheduled maintenance (maintenanceConfiguration of the cluster; see src/catalog/managed-redis-maintenance.ts)

const maintenanceWindowOutput = z.strictObject({type: z.string(), duration: z.string(), startHourUtc: z.number(), schedule: z.strictObject({dayOfWeek: z.string()})})

/** The cluster's maintenanceConfiguration.maintenanceWindows at AMR_MAINTENANCE_API (the SDK 2.2.0 knows no such property). */
async function readMaintenance(services: AzureServices, resource: ResolvedResource, signal: AbortSignal): Promise<AmrMaintenanceWindow[]> {
  const response = await services.armRequest('GET', resource.id, {apiVersion: AMR_MAINTENANCE_API, signal})
  if (response.status !== 200) throw armFailure(response, `read the maintenance configuration of ${resource.name}`)
  const windows = response.body?.properties?.maintenanceConfiguration?.maintenanceWindows
  return Array.isArray(windows)
    ? windows.map((w: any) => ({type: w.type, duration: String(w.duration), startHourUtc: Number(w.startHourUtc), schedule: {dayOfWeek: String(w.schedule?.dayOfWeek)}}))
    : []
}

function armFailure(response: {status: number; headers: Record<string, string>; body?: any}, operation: string): AzureError {
  const error = response.body?.error ?? {}
  return new AzureError({
    armCode: error.code ?? `HTTP${response.status}`,
    message: error.message ?? `Azure answered ${response.status}`,
    statusCode: response.status,
    correlationId: response.headers['x-ms-correlation-request-id'],
    requestId: response.headers['x-ms-request-id'],
    operation,
  })
}

/** The catalog's plan for a component, or one given window set; fails when the catalog's windows cannot be set. */
function maintenancePlanOf(context: {environment: Parameters<typeof resolveResource>[0]}, resource: ResolvedResource, now: Date): AmrMaintenancePlan {
  const component = resource.component
  if (!component || component.type !== 'managedredis') return {windows: [], notes: []}
  return amrMaintenancePlan(context.environment, component, now)
}

const describeWindows = (windows: readonly AmrMaintenanceWindow[]) => windows.map(describeAmrWindow).join(', ')

/**
 * The value of `az redisenterprise update --maintenance-configuration` (alias `--maintenance-config`) for these
 * windows, in the argument's own key names. The option comes with the redisenterprise extension 1.5.0b1 (a preview:
 * `az extension add --name redisenterprise --allow-preview true`; HISTORY.rst). Its aaz-generated schema,
 * Azure/azure-cli-extensions src/redisenterprise/azext_redisenterprise/aaz/latest/redisenterprise/_update.py, declares
 * an object argument with `maintenance-windows` (list) of `{duration, schedule: {day-of-week}, start-hour-utc, type}`;
 * the extension's own scenario test (tests/latest/test_maintenance_config.py) passes exactly this JSON form, and its
 * recording (recordings/test_redisenterprise_maintenance_config.yaml) shows az sending it as the REST body
 * `maintenanceConfiguration.maintenanceWindows[{type, duration, startHourUtc, schedule.dayOfWeek}]`. az's aaz core also
 * maps camelCase keys to the argument's fields (azure-cli-core aaz/_field_type.py AAZObjectType.get_attr_name), but
 * the kebab-case form is the one the extension documents and tests. The command GETs the cluster and PUTs it back at
 * api-version 2026-05-01-preview (its `_aaz_info`); opsbook PATCHes at 2026-09-01.
 */
export function amrMaintenanceAzValue(windows: readonly AmrMaintenanceWindow[]): string {
  return JSON.stringify({
    'maintenance-windows': windows.map((w) => ({type: w.type, duration: w.duration, 'start-hour-utc': w.startHourUtc, schedule: {'day-of-week': w.schedule.dayOfWeek}})),
  })
}

export const getMaintenanceAction = defineAction({
  name: 'managedredis.getMaintenance',
  summary: 'Read a Managed Redis cluster\'s scheduled maintenance windows and report drift from the catalog\'s windows',
  description: `GET the cluster at api-version ${AMR_MAINTENANCE_API} → properties.maintenanceConfiguration.maintenanceWindows (Azure Managed Redis has no patchSchedules; ${AMR_MAINTENANCE_DOC}). No windows: Azure applies updates at its discretion. drift: the windows differ from the catalog's, or the catalog's windows cannot be set (problem says why).`,
  input: z.strictObject({cache: cacheRef}),
  output: z.strictObject({
    cache: z.string(),
    windows: z.array(maintenanceWindowOutput),
    expected: z.array(maintenanceWindowOutput).optional(),
    drift: z.boolean(),
    differences: z.array(z.string()),
    problem: z.string().optional().describe('Why the catalog\'s windows cannot be set on the cluster (Azure\'s rule)'),
  }),
  changes: false,
  permissions: [CLUSTER_READ],
  az: (input, plan) => {
    const r = resolve(plan.environment, input.cache)
    return [`${AZ} show --resource-group ${r.resourceGroup} --cluster-name ${r.name} --query maintenanceConfiguration${AZ_245_AMR}`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(resolve(plan.environment, input.cache), '', AMR_MAINTENANCE_API), note: 'properties.maintenanceConfiguration'}],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolve(context.environment, input.cache)
    const windows = await withRetryLog(context, services, () => readMaintenance(services, resource, context.signal))
    const wanted = maintenancePlanOf(context, resource, context.now())
    const named = resource.component ? componentWindowNames(resource.component).length > 0 : false
    const differences: string[] = []
    if (wanted.problem) differences.push(`the catalog's windows cannot be set: ${wanted.problem}`)
    else if (named && !sameAmrWindows(windows, wanted.windows))
      differences.push(
        windows.length === 0
          ? `no maintenance windows: Azure applies updates at its discretion; expected ${describeWindows(wanted.windows)}`
          : `maintenance windows are ${describeWindows(windows)}, expected ${describeWindows(wanted.windows)}`,
      )
    context.log(differences.length ? `${resource.name} drifted: ${differences.join('; ')}` : `${resource.name}: ${windows.length ? `maintenance windows ${describeWindows(windows)}` : 'no maintenance windows'}${named ? ' as the catalog says' : ''}`)
    return {
      cache: resource.name,
      windows,
      ...(named && !wanted.problem ? {expected: wanted.windows} : {}),
      drift: differences.length > 0,
      differences,
      ...(wanted.problem ? {problem: wanted.problem} : {}),
    }
  },
})

export const setMaintenanceAction = defineAction({
  name: 'managedredis.setMaintenance',
  summary: 'Set a Managed Redis cluster\'s scheduled maintenance windows from the catalog\'s windows (weekly, UTC, on the hour)',
  description: `PATCH the cluster (api-version ${AMR_MAINTENANCE_API}) with properties.maintenanceConfiguration.maintenanceWindows: one Weekly window per weekly catalog window, in UTC, starting on the hour. Azure needs each window to last at least 4 hours, two windows a week and 18 hours a week in all (${AMR_MAINTENANCE_DOC}); opsbook never widens or adds a window to meet that, so a component whose windows fall short fails with the reason (catalog validate says so beforehand).`,
  input: z.strictObject({cache: cacheRef}),
  output: z.strictObject({cache: z.string(), windows: z.array(maintenanceWindowOutput), changed: z.boolean(), notes: z.array(z.string())}),
  changes: true,
  // One ARM write of the cluster's maintenance configuration. Generous.
  defaultTimeout: 'PT30M',
  permissions: [CLUSTER_READ, CLUSTER_WRITE],
  az: (input, plan) => {
    const r = resolve(plan.environment, input.cache)
    let config = '<maintenance windows>'
    try {
      const wanted = maintenancePlanOf(plan, r, new Date())
      if (!wanted.problem) config = amrMaintenanceAzValue(wanted.windows)
    } catch {
      // plan shows the placeholder
    }
    // Debian's az 2.45 has no redisenterprise command group at all (see AZ_245_AMR and amrMaintenanceAzValue).
    return [`${AZ} update --resource-group ${r.resourceGroup} --cluster-name ${r.name} --maintenance-configuration ${shellQuote(config)}${AZ_245_AMR}`]
  },
  arm: (input, plan) => {
    const r = resolve(plan.environment, input.cache)
    return [
      {method: 'GET', path: armPath(r, '', AMR_MAINTENANCE_API)},
      {method: 'PATCH', path: armPath(r, '', AMR_MAINTENANCE_API), longRunning: true, note: 'properties.maintenanceConfiguration.maintenanceWindows'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolve(context.environment, input.cache)
    const wanted = maintenancePlanOf(context, resource, context.now())
    for (const note of wanted.notes) context.log(note)
    if (wanted.problem) throw new ActionFailure(`${resource.name}: ${wanted.problem}`, {code: 'managedredis-window-unsupported'})
    if (!resource.component || componentWindowNames(resource.component).length === 0)
      throw new ActionFailure(`${resource.name} has no window in the catalog`, {code: 'no-window', exitCode: ExitCode.invalidInput})
    return withRetryLog(context, services, async () => {
      const current = await readMaintenance(services, resource, context.signal)
      if (sameAmrWindows(current, wanted.windows)) {
        context.log(`${resource.name} already has these maintenance windows`)
        return {cache: resource.name, windows: wanted.windows, changed: false, notes: wanted.notes}
      }
      await runTracked(context, services, {
        description: `managedredis.setMaintenance ${resource.name}`,
        method: 'PATCH',
        resource: resource.id,
        async call(options) {
          const response = await services.armRequest('PATCH', resource.id, {
            apiVersion: AMR_MAINTENANCE_API,
            body: {properties: {maintenanceConfiguration: {maintenanceWindows: wanted.windows}}},
            signal: options.abortSignal,
          })
          if (response.status >= 400) throw armFailure(response, `set the maintenance windows of ${resource.name}`)
          options.onResponse({status: response.status, headers: {get: (name: string) => response.headers[name.toLowerCase()]}})
          const monitor = response.headers['azure-asyncoperation'] ?? response.headers['location']
          if (response.status === 202 || response.status === 201 || monitor) {
            if (monitor) await pollMonitor(services, monitor, options.abortSignal, `set the maintenance windows of ${resource.name}`)
          }
        },
      })
      const after = await readMaintenance(services, resource, context.signal)
      context.log(`${resource.name} maintenance windows: ${describeWindows(after)}`)
      return {cache: resource.name, windows: after, changed: true, notes: wanted.notes}
    })
  },
})

export const managedRedisActions: ActionDefinition[] = [
  managedExportAction,
  managedImportAction,
  managedVerifyAction,
  persistenceAction,
  geoReplicationAction,
  forceUnlinkAction,
  getMaintenanceAction,
  setMaintenanceAction,
]
