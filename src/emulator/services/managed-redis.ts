/**
 * Azure Managed Redis (`Microsoft.Cache/redisEnterprise`), api-version 2022-01-01 (the version
 * @azure/arm-redisenterprisecache 2.2.0 sends; spec specification/redisenterprise/resource-manager/Microsoft.Cache/
 * RedisEnterprise/stable/2022-01-01/redisenterprise.json): clusters (get, list), their databases (get, list, PATCH),
 * `listKeys`, RDB `export` (body `{sasUri}`: a container SAS URL) and `import` (body `{sasUris}`: blob SAS URLs),
 * `forceUnlink` (body `{ids}`: linked databases to drop from the active geo-replication group), all long-running the
 * way the spec says (`final-state-via: azure-async-operation`, status at `.../locations/{l}/operationsStatus/{id}`).
 *
 * Each database is a real redis-server behind the emulator, the same data plane as the classic caches
 * (engines/redis-dataplane.ts, keyed by the database id; export/import through services/redis.ts helpers). Without
 * redis-server, export and import fail with DataPlaneNotAvailable rather than pretend.
 *
 * The stored resources carry the properties of newer api-versions too (publicNetworkAccess 2025-07-01,
 * accessKeysAuthentication 2025-04-01), which Resource Graph shows and the checks read; a 2022-01-01 GET leaves them
 * out, as Azure's api-version projection does. Scheduled maintenance (cluster `maintenanceConfiguration`,
 * 2025-08-01-preview and later) is read and set at 2026-09-01 (RedisEnterprise_Update, PATCH; spec vendored in
 * test/fixtures/azure-specs), with Learn's rules on windows (https://learn.microsoft.com/azure/redis/scheduled-maintenance).
 */
import {blobPathOf, containerNameOf, INTERNAL_BLOB_CLIENT_OPTIONS} from '../blob.js'
import {apiVersionOf, checkScope, clone, invalidBody, paged, resourceIdOf, resourceNotFound} from '../arm.js'
import {ArmFailure, type EmulatorContext} from '../context.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {accessKeyOf, type CacheRef} from '../engines/redis-dataplane.js'
import type {ManagedRedisComponent} from '../../catalog/schema.js'
import {parseDuration} from '../../support/duration.js'
import {exportRdbFromEngine, importRdbIntoEngine, redactSas, redisDataPlane, redisState, sasPermissionsAccepted, sasTimesAccepted} from './redis.js'
import {AMR_MAINTENANCE_DOC, AMR_MAINTENANCE_FIRST_API, amrMaintenanceRuleViolation} from '../../catalog/managed-redis-maintenance.js'
import {registerResourceInventory} from './resource-graph.js'
import {SUPPORTED_API_VERSIONS} from '../api-versions.js'

const TYPE = 'Microsoft.Cache/redisEnterprise'
const DB_TYPE = 'Microsoft.Cache/redisEnterprise/databases'
const R = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cache/redisEnterprise'
/** Properties the 2022-01-01 contract does not have (added by later api-versions). */
const NEWER_CLUSTER_PROPERTIES = ['publicNetworkAccess', 'highAvailability']
const NEWER_DATABASE_PROPERTIES = ['accessKeysAuthentication', 'redisVersion']
/** Cluster properties of 2025-08-01-preview and later (redisenterprise.json: ClusterProperties.maintenanceConfiguration). */
const MAINTENANCE_PROPERTIES = ['maintenanceConfiguration']

type Json = Record<string, any>

interface StoredCluster {
  resource: {id: string; name: string; type: string; location: string; tags: Record<string, string>; sku: Json; properties: Json}
  resourceGroup: string
  databases: Record<string, {id: string; name: string; type: string; properties: Json}>
}

interface ManagedRedisState {
  clusters: Record<string, StoredCluster>
}

/** RDB every 1h/6h/12h, AOF every second (the spec's rdbFrequency / aofFrequency values). */
function persistenceOf(component: ManagedRedisComponent): Json {
  const p = component.persistence
  if (!p || p.mode === 'none') return {aofEnabled: false, rdbEnabled: false}
  if (p.mode === 'aof') return {aofEnabled: true, rdbEnabled: false, aofFrequency: '1s'}
  const hours = Math.round((parseDuration(p.frequency ?? 'PT1H') ?? 3_600_000) / 3_600_000)
  return {aofEnabled: false, rdbEnabled: true, rdbFrequency: `${hours}h`}
}

export function managedRedisState(ctx: EmulatorContext): ManagedRedisState {
  return ctx.store.slice<ManagedRedisState>('managedRedis', () => {
    const state: ManagedRedisState = {clusters: {}}
    if (!ctx.seedFromCatalog) return state
    for (const component of Object.values(ctx.environment.components)) {
      if (component.type !== 'managedredis') continue
      const rg = component.resourceGroup ?? ctx.environment.resourceGroups[0]!
      const location = component.region ?? ctx.environment.region
      const id = resourceIdOf(ctx.subscription, rg, TYPE, component.name)
      const linked = component.geoReplication
        ? [
            {id: `${id}/databases/${component.database}`, state: 'Linked'},
            ...component.geoReplication.linkedDatabases.map((l) => ({
              id: `${resourceIdOf(ctx.subscription, l.resourceGroup ?? rg, TYPE, l.cluster)}/databases/${component.database}`,
              state: 'Linked',
            })),
          ]
        : undefined
      state.clusters[id.toLowerCase()] = {
        resource: {
          id,
          name: component.name,
          type: TYPE,
          location,
          tags: {...component.tags},
          sku: {name: component.sku},
          properties: {
            provisioningState: 'Succeeded',
            resourceState: 'Running',
            hostName: `${component.name}.${location.toLowerCase().replaceAll(' ', '')}.redis.azure.net`,
            redisVersion: '7.4',
            // Azure's defaults: TLS 1.2 (RedisEnterprise Create docs), public access Enabled unless set at create.
            minimumTlsVersion: '1.2',
            publicNetworkAccess: 'Enabled',
            highAvailability: component.highAvailability ? 'Enabled' : 'Disabled',
            privateEndpointConnections: [],
          },
        },
        resourceGroup: rg,
        databases: {
          [component.database.toLowerCase()]: {
            id: `${id}/databases/${component.database}`,
            name: component.database,
            type: DB_TYPE,
            properties: {
              provisioningState: 'Succeeded',
              resourceState: 'Running',
              clientProtocol: 'Encrypted',
              port: 10000,
              clusteringPolicy: 'OSSCluster',
              evictionPolicy: 'VolatileLRU',
              persistence: persistenceOf(component),
              modules: [],
              // Access keys are on unless turned off (2025-04-01 accessKeysAuthentication; Entra-only when Disabled).
              accessKeysAuthentication: 'Enabled',
              ...(linked ? {geoReplication: {groupNickname: component.geoReplication!.group, linkedDatabases: linked}} : {}),
            },
          },
        },
      }
    }
    return state
  })
}

function refOf(cluster: StoredCluster, database: string): CacheRef {
  const db = cluster.databases[database.toLowerCase()]!
  return {id: db.id, name: cluster.resource.name, hostName: String(cluster.resource.properties.hostName)}
}

function projected<T extends {properties: Json}>(resource: T, newer: string[], apiVersion: string | undefined): T {
  const out = clone(resource)
  if (apiVersion && apiVersion < '2024-09-01') for (const key of newer) delete out.properties[key]
  if (apiVersion && apiVersion < AMR_MAINTENANCE_FIRST_API) for (const key of MAINTENANCE_PROPERTIES) delete out.properties[key]
  return out
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

/**
 * A PATCH's maintenanceConfiguration checked as the spec types it (redisenterprise.json 2026-09-01: MaintenanceWindow
 * {type Weekly, duration ISO 8601, startHourUtc 0-23, schedule.dayOfWeek required for Weekly}) and as Azure's rules
 * say (https://learn.microsoft.com/azure/redis/scheduled-maintenance: each window at least 4 hours, at least two a week,
 * 18 hours a week in all). An empty list removes the custom schedule. The code Azure answers is not documented; the
 * emulator answers 400 InvalidRequestBody like its other body checks.
 */
function maintenanceError(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return 'maintenanceConfiguration must be an object with maintenanceWindows.'
  const windows = (config as Json).maintenanceWindows
  if (windows === undefined) return undefined
  if (!Array.isArray(windows)) return 'maintenanceConfiguration.maintenanceWindows must be an array.'
  if (windows.length === 0) return undefined
  const durations: number[] = []
  for (const [i, w] of windows.entries()) {
    const at = `maintenanceConfiguration.maintenanceWindows[${i}]`
    if (typeof w !== 'object' || w === null) return `${at} must be an object.`
    if (w.type !== 'Weekly') return `${at}.type '${w.type}' is not valid: the supported maintenance window type is Weekly.`
    if (!Number.isInteger(w.startHourUtc) || w.startHourUtc < 0 || w.startHourUtc > 23) return `${at}.startHourUtc must be an hour from 0 to 23 (UTC).`
    const ms = typeof w.duration === 'string' ? parseDuration(w.duration) : undefined
    if (ms === undefined || ms <= 0) return `${at}.duration '${w.duration}' is not an ISO 8601 duration such as PT5H.`
    if (!DAYS.includes(w.schedule?.dayOfWeek)) return `${at}.schedule.dayOfWeek is required for a Weekly window: Sunday … Saturday.`
    durations.push(ms)
  }
  const violation = amrMaintenanceRuleViolation(durations)
  return violation ? `Invalid maintenance configuration: ${violation} (${AMR_MAINTENANCE_DOC}).` : undefined
}

export async function start(ctx: EmulatorContext): Promise<void> {
  const plane = redisDataPlane(ctx)
  for (const cluster of Object.values(managedRedisState(ctx).clusters))
    for (const name of Object.keys(cluster.databases)) plane.registerHost(refOf(cluster, name))
  if (!plane.real || !ctx.seedFromCatalog) return
  const refs = Object.values(managedRedisState(ctx).clusters).flatMap((c) => Object.keys(c.databases).map((d) => refOf(c, d)))
  for (const ref of refs) ctx.loadSources.push({engine: 'redis', name: ref.name, target: () => plane.loadTarget(ref)})
  plane.startSchedules(refs)
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => managedRedisState(ctx)
  managedRedisState(ctx)
  // Resource Graph lists the clusters (top-level resources) as its GET at one api-version returns them: the newest
  // stable one served, unless the estate names another (estate.ts `resourceGraph.apiVersions`).
  const argApiVersion = () =>
    Object.entries(ctx.estate?.resourceGraph?.apiVersions ?? {}).find(([type]) => type.toLowerCase() === TYPE.toLowerCase())?.[1] ??
    SUPPORTED_API_VERSIONS[TYPE.toLowerCase()]![0]
  registerResourceInventory(ctx, 'managedRedis', () => Object.values(state().clusters).map((c) => projected(c.resource, NEWER_CLUSTER_PROPERTIES, argApiVersion())))
  const plane = redisDataPlane(ctx)
  // The classic state holds the engine epoch the access keys derive from.
  const epoch = () => redisState(ctx).engineEpoch ?? ''

  const findCluster = (p: Record<string, string>): StoredCluster | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().clusters[resourceIdOf(p.sub!, p.rg!, TYPE, p.name!).toLowerCase()] ?? resourceNotFound(TYPE, p.name!, p.rg!)
  }
  const isCluster = (v: StoredCluster | EmulatorResponse): v is StoredCluster => 'databases' in v
  const findDatabase = (p: Record<string, string>): {cluster: StoredCluster; db: StoredCluster['databases'][string]} | EmulatorResponse => {
    const cluster = findCluster(p)
    if (!isCluster(cluster)) return cluster
    const db = cluster.databases[p.db!.toLowerCase()]
    return db ? {cluster, db} : armError(404, 'ResourceNotFound', `The Resource '${DB_TYPE}/${p.name}/${p.db}' under resource group '${p.rg}' was not found.`)
  }
  const isDb = (v: unknown): v is {cluster: StoredCluster; db: StoredCluster['databases'][string]} => typeof v === 'object' && v !== null && 'db' in v
  const blobService = async () => {
    const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
    return new BlobServiceClient(ctx.blob.endpoint, new StorageSharedKeyCredential(ctx.blob.account, ctx.blob.key), INTERNAL_BLOB_CLIENT_OPTIONS)
  }
  /** A database's long-running operation: 202 with Azure-AsyncOperation at `.../operationsStatus/{id}` (the spec's OperationsStatus_Get). */
  const operation = (request: EmulatorRequest, cluster: StoredCluster, name: string, run: () => Promise<void>): EmulatorResponse =>
    ctx.lro.start({
      request,
      operation: name,
      location: cluster.resource.location,
      provider: 'Microsoft.Cache',
      resourceId: cluster.resource.id,
      kind: 'azure-async-operation',
      asyncOperationSegment: 'operationsStatus',
      // The spec's OperationStatus has no percentComplete (redisenterprise.json 2026-09-01, vendored in test/fixtures).
      noPercentComplete: true,
      // …and its `error` is an ErrorResponse ({error: ErrorDetail}), one level deeper than the classic cache's.
      errorResponse: true,
      initialStatus: 202,
      run,
    })
  const needsEngine = (cluster: StoredCluster): EmulatorResponse | undefined =>
    plane.real ? undefined : armError(409, 'DataPlaneNotAvailable', `The emulator cannot import into or export ${cluster.resource.name}: ${plane.info.modelled}.`)

  return [
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Cache/redisEnterprise',
      operation: 'managedRedis.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.values(state().clusters).map((c) => projected(c.resource, NEWER_CLUSTER_PROPERTIES, apiVersionOf(request)))),
    },
    {
      method: 'GET',
      pattern: R,
      operation: 'managedRedis.listByResourceGroup',
      handler: (request, p) =>
        checkScope(ctx, p.sub!, p.rg!) ??
        paged(
          request,
          Object.values(state().clusters)
            .filter((c) => c.resourceGroup.toLowerCase() === p.rg!.toLowerCase())
            .map((c) => projected(c.resource, NEWER_CLUSTER_PROPERTIES, apiVersionOf(request))),
        ),
    },
    {
      method: 'GET',
      pattern: `${R}/{name}`,
      operation: 'managedRedis.get',
      handler: (request, p) => {
        const cluster = findCluster(p)
        return isCluster(cluster) ? {status: 200, body: projected(cluster.resource, NEWER_CLUSTER_PROPERTIES, apiVersionOf(request))} : cluster
      },
    },
    {
      // RedisEnterprise_Update: PATCH with ClusterUpdate {sku, properties, tags, identity}, long-running
      // (final-state-via azure-async-operation). The emulator applies the properties opsbook and the checks read.
      method: 'PATCH',
      pattern: `${R}/{name}`,
      operation: 'managedRedis.update',
      handler: (request, p) => {
        const cluster = findCluster(p)
        if (!isCluster(cluster)) return cluster
        const body = request.body
        if (typeof body !== 'object' || body === null) return invalidBody()
        const properties = body.properties ?? {}
        if (properties.maintenanceConfiguration !== undefined) {
          if ((apiVersionOf(request) ?? '') < AMR_MAINTENANCE_FIRST_API)
            return armError(400, 'InvalidRequestBody', `The property 'maintenanceConfiguration' is not supported in api-version '${apiVersionOf(request)}': it needs ${AMR_MAINTENANCE_FIRST_API} or later.`)
          const error = maintenanceError(properties.maintenanceConfiguration)
          if (error) return armError(400, 'InvalidRequestBody', error)
        }
        for (const key of ['minimumTlsVersion', 'publicNetworkAccess', 'highAvailability'])
          if (properties[key] !== undefined && typeof properties[key] !== 'string') return armError(400, 'InvalidRequestBody', `The value of '${key}' must be a string.`)
        return operation(request, cluster, 'managedRedis.update', async () => {
          for (const key of ['minimumTlsVersion', 'publicNetworkAccess', 'highAvailability'])
            if (properties[key] !== undefined) cluster.resource.properties[key] = properties[key]
          if (properties.maintenanceConfiguration !== undefined) {
            const windows = properties.maintenanceConfiguration.maintenanceWindows
            if (Array.isArray(windows) && windows.length > 0)
              cluster.resource.properties.maintenanceConfiguration = {
                maintenanceWindows: windows.map((w: Json) => ({type: w.type, duration: w.duration, startHourUtc: w.startHourUtc, schedule: {dayOfWeek: w.schedule.dayOfWeek}})),
              }
            else delete cluster.resource.properties.maintenanceConfiguration
            ctx.activity.append({resourceId: cluster.resource.id, kind: 'managedRedis.maintenanceConfiguration', data: {maintenanceConfiguration: cluster.resource.properties.maintenanceConfiguration ?? null}})
          }
          if (body.tags && typeof body.tags === 'object') cluster.resource.tags = {...body.tags}
        })
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/databases`,
      operation: 'managedRedis.databases.list',
      handler: (request, p) => {
        const cluster = findCluster(p)
        return isCluster(cluster) ? paged(request, Object.values(cluster.databases).map((d) => projected(d, NEWER_DATABASE_PROPERTIES, apiVersionOf(request)))) : cluster
      },
    },
    {
      method: 'GET',
      pattern: `${R}/{name}/databases/{db}`,
      operation: 'managedRedis.databases.get',
      handler: (request, p) => {
        const found = findDatabase(p)
        return isDb(found) ? {status: 200, body: projected(found.db, NEWER_DATABASE_PROPERTIES, apiVersionOf(request))} : found
      },
    },
    {
      method: 'PATCH',
      pattern: `${R}/{name}/databases/{db}`,
      operation: 'managedRedis.databases.update',
      handler: (request, p) => {
        const found = findDatabase(p)
        if (!isDb(found)) return found
        const body = request.body
        if (typeof body !== 'object' || body === null) return invalidBody()
        const persistence = body.properties?.persistence
        // "At most one of AOF or RDB persistence may be enabled" (spec Persistence.aofEnabled / rdbEnabled).
        if (persistence?.aofEnabled === true && persistence?.rdbEnabled === true)
          return armError(400, 'InvalidRequestBody', 'At most one of AOF or RDB persistence may be enabled.')
        if (persistence?.rdbFrequency !== undefined && !['1h', '6h', '12h'].includes(persistence.rdbFrequency))
          return armError(400, 'InvalidRequestBody', `The value '${persistence.rdbFrequency}' is not valid for rdbFrequency. Allowed values: 1h, 6h, 12h.`)
        if (persistence?.aofFrequency !== undefined && !['1s', 'always'].includes(persistence.aofFrequency))
          return armError(400, 'InvalidRequestBody', `The value '${persistence.aofFrequency}' is not valid for aofFrequency. Allowed values: 1s, always.`)
        return operation(request, found.cluster, 'managedRedis.databases.update', async () => {
          if (persistence) found.db.properties.persistence = {...found.db.properties.persistence, ...persistence}
          for (const key of ['evictionPolicy', 'clientProtocol', 'accessKeysAuthentication'])
            if (body.properties?.[key] !== undefined) found.db.properties[key] = body.properties[key]
        })
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/databases/{db}/listKeys`,
      operation: 'managedRedis.databases.listKeys',
      handler: (_request, p) => {
        const found = findDatabase(p)
        if (!isDb(found)) return found
        if (found.db.properties.accessKeysAuthentication === 'Disabled')
          return armError(400, 'BadRequest', 'Access keys authentication is disabled for this database: sign in with Microsoft Entra ID.')
        return {status: 200, body: {primaryKey: accessKeyOf(epoch(), found.db.id), secondaryKey: accessKeyOf(`${epoch()}-secondary`, found.db.id)}}
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/databases/{db}/export`,
      operation: 'managedRedis.databases.export',
      handler: (request, p) => {
        const found = findDatabase(p)
        if (!isDb(found)) return found
        const sasUri = request.body?.sasUri
        if (typeof sasUri !== 'string' || !sasUri) return armError(400, 'InvalidRequestBody', "The parameter 'sasUri' is required for export: a SAS URL of the target blob container.")
        const container = containerNameOf(sasUri)
        if (!container) return armError(400, 'InvalidRequestBody', `The sasUri '${redactSas(sasUri)}' is not a valid blob container URL.`)
        const refused = needsEngine(found.cluster)
        if (refused) return refused
        // The spec's sasUri is "SAS URI for the target directory to export to": the file goes under the URL's path
        // (opsbook passes <container>/<snapshot name>), named after the database.
        const directory = blobPathOf(sasUri)?.blob.replace(/\/+$/, '')
        const blobName = `${directory ? `${directory}/` : ''}${found.db.name}.rdb`
        // Azure's SAS rule for Managed Redis import/export (learn.microsoft.com/azure/redis/how-to-import-export-data,
        // FAQ "I received a timeout error during my Import/Export operation"), as for the classic cache — refused with
        // the request (400, the spec's ErrorResponse), not as a failed operation: the spec's OperationStatus nests its
        // `error` one level deeper than the SDK's poller reads (ErrorResponse), so a failed status would lose the reason.
        sasTimesAccepted([sasUri])
        sasPermissionsAccepted([sasUri], 'export')
        return operation(request, found.cluster, 'managedRedis.databases.export', async () => {
          const client = (await blobService()).getContainerClient(container)
          if (!(await client.exists()))
            throw new ArmFailure('InvalidRequestBody', `Export failed: the storage container '${container}' does not exist or cannot be reached with the given SAS URL.`)
          await exportRdbFromEngine(ctx, plane, refOf(found.cluster, found.db.name), client, blobName, 'managedRedis.export')
        })
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/databases/{db}/import`,
      operation: 'managedRedis.databases.import',
      handler: (request, p) => {
        const found = findDatabase(p)
        if (!isDb(found)) return found
        const uris = request.body?.sasUris
        if (!Array.isArray(uris) || uris.length === 0 || !uris.every((u) => typeof u === 'string'))
          return armError(400, 'InvalidRequestBody', "The parameter 'sasUris' is required for import: a list of blob SAS URLs.")
        const paths = uris.map((u: string) => ({url: u, path: blobPathOf(u)}))
        const bad = paths.find((f) => !f.path)
        if (bad) return armError(400, 'InvalidRequestBody', `The sasUri '${redactSas(bad.url)}' is not a valid blob URL.`)
        const refused = needsEngine(found.cluster)
        if (refused) return refused
        sasTimesAccepted(uris)
        sasPermissionsAccepted(uris, 'import')
        return operation(request, found.cluster, 'managedRedis.databases.import', async () =>
          importRdbIntoEngine(ctx, plane, refOf(found.cluster, found.db.name), paths, await blobService(), 'managedRedis.import'),
        )
      },
    },
    {
      method: 'POST',
      pattern: `${R}/{name}/databases/{db}/forceUnlink`,
      operation: 'managedRedis.databases.forceUnlink',
      handler: (request, p) => {
        const found = findDatabase(p)
        if (!isDb(found)) return found
        const ids = request.body?.ids
        if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => typeof i === 'string'))
          return armError(400, 'InvalidRequestBody', "The parameter 'ids' is required for forceUnlink: the resource ids of the linked databases to unlink.")
        const group = found.db.properties.geoReplication
        if (!group) return armError(400, 'BadRequest', `The database '${found.db.name}' of '${found.cluster.resource.name}' is not in an active geo-replication group.`)
        const linked = new Set((group.linkedDatabases as Array<{id: string}>).map((l) => l.id.toLowerCase()))
        const unknown = ids.find((i: string) => !linked.has(i.toLowerCase()))
        if (unknown) return armError(400, 'BadRequest', `The database '${unknown}' is not linked to '${found.db.id}'.`)
        if (ids.some((i: string) => i.toLowerCase() === found.db.id.toLowerCase())) return armError(400, 'BadRequest', 'A database cannot unlink itself: call forceUnlink on a database that stays in the group.')
        return operation(request, found.cluster, 'managedRedis.databases.forceUnlink', async () => {
          const drop = new Set(ids.map((i: string) => i.toLowerCase()))
          group.linkedDatabases = (group.linkedDatabases as Array<{id: string}>).filter((l) => !drop.has(l.id.toLowerCase()))
          ctx.activity.append({resourceId: found.db.id, kind: 'managedRedis.forceUnlink', data: {ids}})
        })
      },
    },
  ]
}
