/**
 * Azure Cosmos DB (Microsoft.DocumentDB, NoSQL API) as the published contract describes it
 * (azure-rest-api-specs specification/cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/stable/2025-10-15:
 * cosmos-db.json for database accounts, sqlDatabases and containers; restorable.json for restorable accounts and
 * `retrieveContinuousBackupInformation`; 2025-10-15 is the api-version @azure/arm-cosmosdb 16.4 sends):
 * - database accounts: PUT (createMode `Default`, or `Restore` with restoreParameters {restoreMode: PointInTime,
 *   restoreSource: a restorable account id, restoreTimestampInUtc}), DELETE; both long-running, monitored at
 *   `…/locations/{loc}/operationsStatus/{id}` and `…/operationResults/{id}` as ARM answers for Cosmos DB;
 * - restorable database accounts (subscription- and location-scoped lists, get): only accounts with the continuous
 *   backup mode are restorable, from `oldestRestorableTime` (creation, or now − 7/30 days) to now
 *   (https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction);
 * - `POST …/containers/{c}/retrieveContinuousBackupInformation` (long-running, final state via Location): the latest
 *   restorable timestamp of a container.
 * A restore outside the window, from a periodic-mode or unknown source, or onto an existing name is refused with
 * `400 BadRequest` (the CloudError shape cosmos-db.json declares for every operation). The specs name no error codes
 * (every operation's `default` is CloudError); what Azure answers is code `BadRequest`, e.g. "BadRequest: Invalid
 * restore timestamp. Please provide a time (in UTC) after the account has been created" for a point before the
 * account existed (Azure/azure-powershell#22523) and `"code": "BadRequest"` for a backup-policy update the resource
 * provider refuses (Azure/terraform-azurerm-cosmosdb#33). Periodic backups have no restore API at all: they are
 * restored by a support request (https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction).
 *
 * Data plane (emulator-internal, not the Cosmos DB REST data plane — @azure/cosmos is not used): each container
 * holds real items with `id` and `_ts` (last write, epoch seconds, as Cosmos DB stamps items:
 * https://learn.microsoft.com/azure/cosmos-db/resource-model#properties-of-an-item). A seeded container holds the
 * last hour of writes and goes on gaining one every 30 s (added when read: `keepWriting`); the load generator
 * (src/emulator/load/cosmos.ts) writes more while it runs. A write is an upsert (an item with the same id is
 * replaced; found through an id index, not a scan). A restore copies the items as they were at the restore
 * timestamp: written at or before it, in the version current then (replaced and deleted versions are kept until they
 * leave the retention window). Not Azure APIs: `GET {containerId}/opsbookItems` answers the item count and the newest
 * `_ts`; `POST {containerId}/opsbookItems` upserts an item; `DELETE {containerId}/opsbookItems/{id}` deletes one.
 */
import type {CosmosDbComponent} from '../../catalog/schema.js'
import {apiVersionOf, checkScope, clone, invalidBody, paged, resourceIdOf, resourceNotFound, uuidFrom} from '../arm.js'
import {ArmFailure, type EmulatorContext} from '../context.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {registerResourceInventory} from './resource-graph.js'
import {isResponse, regionalLro, trackedReadRoutes} from './tracked-resources.js'

const PROVIDER = 'Microsoft.DocumentDB'
const ACCOUNT_TYPE = 'Microsoft.DocumentDB/databaseAccounts'
const RESTORABLE_TYPE = 'Microsoft.DocumentDB/locations/restorableDatabaseAccounts'
const A = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DocumentDB/databaseAccounts/{account}'
/** The first served api-version whose restorable account has `oldestRestorableTime` (see restorableView). */
const RESTORABLE_OLDEST_TIME_FROM = '2025-10-15'
const C = `${A}/sqlDatabases/{db}/containers/{container}`
const DAY = 86_400_000
/** Seeded history: one item this often over the last hour (the load generator's pace is set by its rate). */
const SEED_INTERVAL_MS = 30_000
const SEED_SPAN_MS = 3_600_000

export interface CosmosItem {
  id: string
  _ts: number
  [field: string]: unknown
}

export interface StoredCosmosAccount {
  resource: {id: string; name: string; type: string; location: string; kind: string; tags: Record<string, string>; properties: Record<string, any>}
  resourceGroup: string
  createdAt: string
  /** Database name → container names. */
  databases: Record<string, string[]>
  /** Seeded from the catalog: its history goes on (see `keepWriting`); a restored or created account's does not. */
  seeded?: boolean
}

export interface CosmosState {
  accounts: Record<string, StoredCosmosAccount>
  /** Lower-cased container resource id → items, oldest first. */
  items: Record<string, CosmosItem[]>
  /**
   * Lower-cased container resource id → versions replaced or deleted since (`until`: when, epoch seconds), oldest
   * first: what a point-in-time restore to a moment before the change must still hold.
   */
  history?: Record<string, Array<{item: CosmosItem; until: number}>>
}

export function cosmosState(ctx: EmulatorContext): CosmosState {
  return ctx.store.slice<CosmosState>('cosmos', () => seed(ctx))
}

function continuousTier(backup: CosmosDbComponent['backup']): string | undefined {
  return backup === 'continuous30days' ? 'Continuous30Days' : backup === 'continuous7days' ? 'Continuous7Days' : undefined
}

function backupPolicyOf(backup: CosmosDbComponent['backup'], redundancy?: string): Record<string, unknown> {
  const tier = continuousTier(backup)
  // cosmos-db.json BackupPolicy: ContinuousModeBackupPolicy {continuousModeProperties: {tier}} or
  // PeriodicModeBackupPolicy {periodicModeProperties}; periodic defaults: every 240 minutes, kept 8 hours, Geo storage
  // (https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction).
  return tier
    ? {type: 'Continuous', continuousModeProperties: {tier}}
    : {type: 'Periodic', periodicModeProperties: {backupIntervalInMinutes: 240, backupRetentionIntervalInHours: 8, backupStorageRedundancy: redundancy ?? 'Geo'}}
}

function newAccount(
  ctx: EmulatorContext,
  name: string,
  resourceGroup: string,
  input: {location: string; regions?: string[]; createdAt: string; backupPolicy: Record<string, unknown>; consistency?: string; multiRegionWrites?: boolean; tags?: Record<string, string>},
): StoredCosmosAccount {
  const regions = input.regions && input.regions.length > 0 ? input.regions : [input.location]
  const locations = regions.map((region, i) => ({
    id: `${name}-${region}`,
    locationName: region,
    documentEndpoint: `https://${name}-${region}.documents.azure.com:443/`,
    provisioningState: 'Succeeded',
    failoverPriority: i,
    isZoneRedundant: false,
  }))
  return {
    resource: {
      id: resourceIdOf(ctx.subscription, resourceGroup, ACCOUNT_TYPE, name),
      name,
      type: ACCOUNT_TYPE,
      location: regions[0]!,
      kind: 'GlobalDocumentDB',
      tags: {...(input.tags ?? {})},
      // cosmos-db.json DatabaseAccountGetProperties. publicNetworkAccess Enabled and disableLocalAuth false are what an
      // account created without them reports; TLS 1.2 is the minimum Azure enforces on accounts
      // (https://learn.microsoft.com/azure/cosmos-db/self-serve-minimum-tls-enforcement).
      properties: {
        provisioningState: 'Succeeded',
        documentEndpoint: `https://${name}.documents.azure.com:443/`,
        databaseAccountOfferType: 'Standard',
        consistencyPolicy: {defaultConsistencyLevel: input.consistency ?? 'Session', maxIntervalInSeconds: 5, maxStalenessPrefix: 100},
        locations,
        writeLocations: input.multiRegionWrites ? locations : locations.slice(0, 1),
        readLocations: locations,
        failoverPolicies: locations.map((l) => ({id: l.id, locationName: l.locationName, failoverPriority: l.failoverPriority})),
        enableMultipleWriteLocations: input.multiRegionWrites ?? false,
        enableAutomaticFailover: false,
        isVirtualNetworkFilterEnabled: false,
        virtualNetworkRules: [],
        ipRules: [],
        capabilities: [],
        privateEndpointConnections: [],
        publicNetworkAccess: 'Enabled',
        minimalTlsVersion: 'Tls12',
        disableLocalAuth: false,
        disableKeyBasedMetadataWriteAccess: false,
        backupPolicy: clone(input.backupPolicy),
        createMode: 'Default',
        instanceId: uuidFrom(`${resourceGroup}/${name}/${input.createdAt}`),
      },
    },
    resourceGroup,
    createdAt: input.createdAt,
    databases: {},
  }
}

const containerKey = (accountId: string, db: string, container: string) => `${accountId}/sqlDatabases/${db}/containers/${container}`.toLowerCase()

function seed(ctx: EmulatorContext): CosmosState {
  const state: CosmosState = {accounts: {}, items: {}}
  if (!ctx.seedFromCatalog) return state
  const env = ctx.environment
  const now = ctx.clock().getTime()
  const createdAt = new Date(now - 60 * DAY).toISOString()
  for (const component of Object.values(env.components)) {
    if (component.type !== 'cosmosdb' || component.api !== 'nosql') continue
    const rg = component.resourceGroup ?? env.resourceGroups[0]!
    const account = newAccount(ctx, component.name, rg, {
      location: component.region ?? env.region,
      regions: component.regions,
      createdAt,
      backupPolicy: backupPolicyOf(component.backup, component.backupRedundancy),
      consistency: component.consistency,
      multiRegionWrites: component.multiRegionWrites,
      tags: component.tags,
    })
    const databases = [...component.databases]
    const probe = component.dataProbes
    if (probe && !databases.some((d) => d.name === probe.database)) databases.push({name: probe.database, containers: [probe.container]})
    for (const db of databases) {
      account.databases[db.name] = [...db.containers]
      if (probe && db.name === probe.database && !db.containers.includes(probe.container)) account.databases[db.name]!.push(probe.container)
      // The last hour of writes, so a restore to any recent point finds data (as a PostgreSQL seed's first backup does).
      for (const container of account.databases[db.name]!) {
        const items: CosmosItem[] = []
        for (let at = now - SEED_SPAN_MS; at <= now; at += SEED_INTERVAL_MS) items.push({id: `seed-${at}`, _ts: Math.floor(at / 1000), kind: 'seed'})
        state.items[containerKey(account.resource.id, db.name, container)] = items
      }
    }
    account.seeded = true
    state.accounts[account.resource.id.toLowerCase()] = account
  }
  return state
}

/**
 * A seeded container's history goes on as the app that wrote it would: one item every SEED_INTERVAL_MS up to now,
 * added when the container is read or restored from (so a drill an hour after the emulator started still restores
 * data from just before its restore point, and its RPO is the app's, not the emulator's age). Items older than the
 * account's continuous-backup retention are dropped (`dropBeyondRetention`).
 */
function keepWriting(ctx: EmulatorContext, account: StoredCosmosAccount, key: string): CosmosItem[] {
  const items = (cosmosState(ctx).items[key] ??= [])
  if (!account.seeded) return items
  const now = ctx.clock().getTime()
  // Seed items are appended in time order: the newest is the last one, found from the end (the load generator's
  // writes since are the only items after it) instead of filtering a list that may hold millions.
  let newest: number | undefined
  for (let i = items.length - 1; i >= 0; i--)
    if (items[i]!.kind === 'seed') {
      newest = items[i]!._ts
      break
    }
  if (newest !== undefined) for (let at = newest * 1000 + SEED_INTERVAL_MS; at <= now; at += SEED_INTERVAL_MS) appendItem(items, {id: `seed-${at}`, _ts: Math.floor(at / 1000), kind: 'seed'})
  dropBeyondRetention(ctx, account, items, key)
  return items
}

/**
 * Each container's items by id, so a write finds the item it replaces without scanning the list (the load generator
 * writes several unique ids a second, kept 7 days: millions of items in a long-lived emulator). Kept beside the list,
 * not in the state slice (which is saved as JSON): built from the list the first time it is needed — after a state
 * load or a restore, whose copy is a new list — and kept up to date by every change of the list below.
 */
const idIndexes = new WeakMap<CosmosItem[], Map<string, CosmosItem>>()

function idIndex(items: CosmosItem[]): Map<string, CosmosItem> {
  let index = idIndexes.get(items)
  if (!index) {
    index = new Map()
    for (const item of items) index.set(item.id, item)
    idIndexes.set(items, index)
  }
  return index
}

function appendItem(items: CosmosItem[], item: CosmosItem): void {
  items.push(item)
  idIndexes.get(items)?.set(item.id, item)
}

/**
 * Remove an item (the very object the index holds) from its list — replaced or deleted at `until` (epoch seconds) —
 * keeping it in the container's history for restores to a point before. The newest items are last: look from the end.
 */
function removeItem(ctx: EmulatorContext, key: string, items: CosmosItem[], item: CosmosItem, until: number): void {
  const at = items.lastIndexOf(item)
  if (at >= 0) items.splice(at, 1)
  const index = idIndexes.get(items)
  if (index?.get(item.id) === item) index.delete(item.id)
  const state = cosmosState(ctx)
  ;((state.history ??= {})[key] ??= []).push({item, until})
}

/**
 * The items a point-in-time restore to `cutoff` (epoch seconds) copies, oldest first: those written at or before it
 * and not replaced or deleted since, with the versions replaced or deleted after it as they were then.
 */
function itemsAsOf(ctx: EmulatorContext, key: string, items: readonly CosmosItem[], cutoff: number): CosmosItem[] {
  const current = items.filter((i) => i._ts <= cutoff)
  const earlier = (cosmosState(ctx).history?.[key] ?? []).filter((h) => h.item._ts <= cutoff && h.until > cutoff).map((h) => h.item)
  return earlier.length === 0 ? current : [...current, ...earlier].sort((a, b) => a._ts - b._ts)
}

/**
 * Drop the items written before the account's continuous-backup retention (7 or 30 days by tier: "The time window
 * available for restore (also known as retention period) is the lower value of the following two options: 30-day &
 * 7-day … depends on the chosen tier", https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction):
 * no restore can reach them, and what a restore copies is judged by its newest item, so a long-lived emulator (the
 * load generator writes several items a second) keeps only what a restore could ask for. Items are kept oldest first
 * (every write is stamped now and appended), so the expired ones are a prefix: removed in place, without copying the
 * rest. A periodic-mode account has no point-in-time restore; its items are bounded by the 7 days all the same.
 */
function dropBeyondRetention(ctx: EmulatorContext, account: StoredCosmosAccount | undefined, items: CosmosItem[], key: string): void {
  const oldest = Math.floor((ctx.clock().getTime() - (account ? retentionDaysOf(account) : 7) * DAY) / 1000)
  // Versions replaced or deleted before the window are as far out of reach (kept in order of `until`: a prefix too).
  const history = cosmosState(ctx).history?.[key]
  if (history) {
    let gone = 0
    while (gone < history.length && history[gone]!.until < oldest) gone++
    if (gone > 0) history.splice(0, gone)
  }
  let expired = 0
  while (expired < items.length && items[expired]!._ts < oldest) expired++
  if (expired === 0) return
  const index = idIndexes.get(items)
  if (index) for (let i = 0; i < expired; i++) if (index.get(items[i]!.id) === items[i]) index.delete(items[i]!.id)
  items.splice(0, expired)
}

/**
 * Write one item into a container, an upsert (the load generator, `POST …/opsbookItems`): `_ts` is stamped here, as
 * Cosmos DB stamps it; an item with the same id is replaced (kept in the history for earlier restore points), and the
 * write goes last (the list stays oldest first).
 */
export function writeCosmosItem(ctx: EmulatorContext, containerId: string, item: Record<string, unknown> & {id: string}): CosmosItem {
  return upsertCosmosItem(ctx, containerId, item).item
}

function upsertCosmosItem(ctx: EmulatorContext, containerId: string, item: Record<string, unknown> & {id: string}): {item: CosmosItem; replaced: boolean} {
  const key = containerId.toLowerCase()
  const list = (cosmosState(ctx).items[key] ??= [])
  const stored: CosmosItem = {...item, _ts: Math.floor(ctx.clock().getTime() / 1000)}
  const previous = idIndex(list).get(item.id)
  if (previous) removeItem(ctx, key, list, previous, stored._ts)
  appendItem(list, stored)
  dropBeyondRetention(ctx, Object.values(cosmosState(ctx).accounts).find((a) => key.startsWith(`${a.resource.id.toLowerCase()}/`)), list, key)
  return {item: stored, replaced: previous !== undefined}
}

/** The newest `_ts` a container holds (epoch seconds), undefined when empty. A loop: spreading millions of items into Math.max overflows the stack. */
export function newestTs(items: readonly CosmosItem[]): number | undefined {
  let newest: number | undefined
  for (const item of items) if (newest === undefined || item._ts > newest) newest = item._ts
  return newest
}

function isContinuous(account: StoredCosmosAccount): boolean {
  return account.resource.properties.backupPolicy?.type === 'Continuous'
}

function retentionDaysOf(account: StoredCosmosAccount): number {
  return account.resource.properties.backupPolicy?.continuousModeProperties?.tier === 'Continuous30Days' ? 30 : 7
}

function oldestRestorable(account: StoredCosmosAccount, now: Date): Date {
  return new Date(Math.max(Date.parse(account.createdAt), now.getTime() - retentionDaysOf(account) * DAY))
}

function restorableId(ctx: EmulatorContext, account: StoredCosmosAccount): string {
  return `/subscriptions/${ctx.subscription}/providers/${PROVIDER}/locations/${account.resource.location}/restorableDatabaseAccounts/${account.resource.properties.instanceId}`
}

/** Apply the estate's settings by account name (publicNetworkAccess, minimalTlsVersion, disableLocalAuth, backupPolicy…). */
export function applyCosmosEstate(ctx: EmulatorContext, settingsOf: (name: string) => {properties?: Record<string, unknown>; tags?: Record<string, string>} | undefined): void {
  for (const account of Object.values(cosmosState(ctx).accounts)) {
    const s = settingsOf(account.resource.name)
    if (s?.properties) Object.assign(account.resource.properties, clone(s.properties))
    if (s?.tags) account.resource.tags = {...s.tags}
  }
}

/**
 * The load generator writes into the probed container of each catalog account (the catalog's dataProbes), so a
 * restore has recent writes to keep or lose. The data plane is in-process: no engine to start.
 */
export async function start(ctx: EmulatorContext): Promise<void> {
  for (const component of Object.values(ctx.environment.components)) {
    if (component.type !== 'cosmosdb' || !component.dataProbes) continue
    const account = Object.values(cosmosState(ctx).accounts).find((a) => a.resource.name.toLowerCase() === component.name.toLowerCase())
    if (!account) continue
    const key = containerKey(account.resource.id, component.dataProbes.database, component.dataProbes.container)
    ctx.loadSources.push({
      engine: 'cosmos',
      name: component.name,
      target: async () => ({name: component.name, host: 'in-process', port: 0, writeItem: (item) => void writeCosmosItem(ctx, key, item)}),
    })
  }
}

/**
 * Account properties the 2022-08-15 DatabaseAccountGetProperties does not define (cosmos-db.json 2022-08-15, read in
 * test/fixtures/azure-specs; all are in 2025-10-15): az 2.45 gets an account without them. Its
 * ContinuousModeBackupPolicy has no `continuousModeProperties` either (the continuous tier came later).
 */
const NOT_IN_2022_08_15 = ['minimalTlsVersion', 'enableBurstCapacity', 'customerManagedKeyStatus', 'enablePerRegionPerPartitionAutoscale', 'keyVaultKeyUriVersion', 'enablePriorityBasedExecution', 'defaultPriorityLevel']

/** The wire shape of an account, for the api-version asked (default: the newest served). */
function accountView(account: StoredCosmosAccount, request?: EmulatorRequest): Record<string, unknown> {
  const resource = clone(account.resource)
  if (request?.query.get('api-version') === '2022-08-15') {
    for (const property of NOT_IN_2022_08_15) delete resource.properties[property]
    if (resource.properties.backupPolicy) delete resource.properties.backupPolicy.continuousModeProperties
  }
  return resource
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => cosmosState(ctx)
  cosmosState(ctx)
  registerResourceInventory(ctx, 'cosmos', () => Object.values(state().accounts).map((a) => accountView(a)))

  const findAccount = (p: Record<string, string>): StoredCosmosAccount | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().accounts[resourceIdOf(p.sub!, p.rg!, ACCOUNT_TYPE, p.account!).toLowerCase()] ?? resourceNotFound(ACCOUNT_TYPE, p.account!, p.rg!)
  }
  const findContainer = (p: Record<string, string>): {account: StoredCosmosAccount; key: string} | EmulatorResponse => {
    const account = findAccount(p)
    if (isResponse(account)) return account
    const db = Object.keys(account.databases).find((d) => d.toLowerCase() === p.db!.toLowerCase())
    if (!db) return notFound(`Database '${p.db}' does not exist in account '${account.resource.name}'.`)
    const container = account.databases[db]!.find((c) => c.toLowerCase() === p.container!.toLowerCase())
    if (!container) return notFound(`Container '${p.container}' does not exist in database '${db}'.`)
    return {account, key: containerKey(account.resource.id, db, container)}
  }
  const restorableView = (account: StoredCosmosAccount, apiVersion: string | undefined) => {
    const now = ctx.clock()
    const id = restorableId(ctx, account)
    // restorable.json RestorableDatabaseAccountGetResult. `oldestRestorableTime` is not a property of 2022-08-15's
    // RestorableDatabaseAccountProperties (accountName, creationTime, deletionTime, apiType, restorableLocations:
    // https://github.com/Azure/azure-rest-api-specs/blob/main/specification/cosmos-db/resource-manager/Microsoft.DocumentDB/stable/2022-08-15/restorable.json),
    // only of the later versions' (2025-10-15, what arm-cosmosdb sends): answered for those only.
    const oldest = apiVersion !== undefined && apiVersion < RESTORABLE_OLDEST_TIME_FROM ? {} : {oldestRestorableTime: oldestRestorable(account, now).toISOString()}
    return {
      id,
      name: account.resource.properties.instanceId,
      type: RESTORABLE_TYPE,
      location: account.resource.location,
      properties: {
        accountName: account.resource.name,
        creationTime: account.createdAt,
        ...oldest,
        apiType: 'Sql',
        restorableLocations: (account.resource.properties.locations as Array<{locationName: string}>).map((l) => ({
          locationName: l.locationName,
          regionalDatabaseAccountInstanceId: uuidFrom(`${account.resource.properties.instanceId}/${l.locationName}`),
          creationTime: account.createdAt,
        })),
      },
    }
  }
  const restorable = () => Object.values(state().accounts).filter(isContinuous)
  // Cosmos DB's monitors: `…/locations/{loc}/operationsStatus/{id}` and `…/operationResults/{id}`.
  const lro = (request: EmulatorRequest, operation: string, location: string, resourceId: string, kind: 'azure-async-operation' | 'location', run: () => void, result?: () => unknown) =>
    regionalLro(ctx, PROVIDER, request, operation, location, resourceId, {asyncOperationSegment: 'operationsStatus', resultsSegment: 'operationResults'}, run, {kind, ...(result ? {result} : {})})

  const sqlDatabaseView = (account: StoredCosmosAccount, db: string) => ({
    id: `${account.resource.id}/sqlDatabases/${db}`,
    name: db,
    type: `${ACCOUNT_TYPE}/sqlDatabases`,
    properties: {resource: {id: db, _rid: uuidFrom(db).slice(0, 8), _ts: Math.floor(Date.parse(account.createdAt) / 1000), _etag: `"${uuidFrom(`${db}-etag`)}"`}},
  })
  const containerView = (account: StoredCosmosAccount, db: string, container: string) => ({
    id: `${account.resource.id}/sqlDatabases/${db}/containers/${container}`,
    name: container,
    type: `${ACCOUNT_TYPE}/sqlDatabases/containers`,
    properties: {
      resource: {
        id: container,
        partitionKey: {paths: ['/id'], kind: 'Hash'},
        indexingPolicy: {automatic: true, indexingMode: 'consistent'},
        _rid: uuidFrom(container).slice(0, 8),
        _ts: Math.floor(Date.parse(account.createdAt) / 1000),
        _etag: `"${uuidFrom(`${container}-etag`)}"`,
      },
    },
  })

  return [
    ...trackedReadRoutes(ctx, {
      provider: PROVIDER,
      collection: 'databaseAccounts',
      pattern: A,
      operation: 'cosmos.accounts',
      records: () => Object.values(state().accounts),
      view: accountView,
      find: findAccount,
    }),
    {method: 'PUT', pattern: A, operation: 'cosmos.accounts.createOrUpdate', handler: (request, p) => createOrUpdate(request, p)},
    {
      method: 'DELETE',
      pattern: A,
      operation: 'cosmos.accounts.delete',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!, p.rg!)
        if (scope) return scope
        const key = resourceIdOf(p.sub!, p.rg!, ACCOUNT_TYPE, p.account!).toLowerCase()
        const account = state().accounts[key]
        // cosmos-db.json DatabaseAccounts_Delete: 202 Accepted, 204 NoContent (nothing to delete).
        if (!account) return {status: 204}
        account.resource.properties.provisioningState = 'Deleting'
        return lro(request, 'cosmos.accounts.delete', account.resource.location, account.resource.id, 'azure-async-operation', () => {
          delete state().accounts[key]
          for (const k of Object.keys(state().items)) if (k.startsWith(`${key}/`)) delete state().items[k]
          for (const k of Object.keys(state().history ?? {})) if (k.startsWith(`${key}/`)) delete state().history![k]
          ctx.activity.append({resourceId: account.resource.id, kind: 'cosmos.delete'})
        })
      },
    },
    {
      method: 'GET',
      pattern: `${A}/sqlDatabases`,
      operation: 'cosmos.sqlDatabases.list',
      handler: (request, p) => {
        const account = findAccount(p)
        return isResponse(account) ? account : paged(request, Object.keys(account.databases).map((db) => sqlDatabaseView(account, db)))
      },
    },
    {
      method: 'GET',
      pattern: `${A}/sqlDatabases/{db}`,
      operation: 'cosmos.sqlDatabases.get',
      handler: (_request, p) => {
        const account = findAccount(p)
        if (isResponse(account)) return account
        const db = Object.keys(account.databases).find((d) => d.toLowerCase() === p.db!.toLowerCase())
        return db ? {status: 200, body: sqlDatabaseView(account, db)} : notFound(`Database '${p.db}' does not exist in account '${account.resource.name}'.`)
      },
    },
    {
      method: 'GET',
      pattern: `${A}/sqlDatabases/{db}/containers`,
      operation: 'cosmos.containers.list',
      handler: (request, p) => {
        const account = findAccount(p)
        if (isResponse(account)) return account
        const db = Object.keys(account.databases).find((d) => d.toLowerCase() === p.db!.toLowerCase())
        return db ? paged(request, account.databases[db]!.map((c) => containerView(account, db, c))) : notFound(`Database '${p.db}' does not exist in account '${account.resource.name}'.`)
      },
    },
    {
      method: 'GET',
      pattern: C,
      operation: 'cosmos.containers.get',
      handler: (_request, p) => {
        const found = findContainer(p)
        if (isResponse(found)) return found
        const [, db, container] = /\/sqldatabases\/([^/]+)\/containers\/([^/]+)$/.exec(found.key)!
        const realDb = Object.keys(found.account.databases).find((d) => d.toLowerCase() === db)!
        return {status: 200, body: containerView(found.account, realDb, found.account.databases[realDb]!.find((c) => c.toLowerCase() === container)!)}
      },
    },
    {
      method: 'POST',
      pattern: `${C}/retrieveContinuousBackupInformation`,
      operation: 'cosmos.containers.retrieveContinuousBackupInformation',
      handler: (request, p) => {
        const found = findContainer(p)
        if (isResponse(found)) return found
        if (!isContinuous(found.account))
          return armError(400, 'BadRequest', `Continuous backup information is available for accounts in the continuous backup mode only; '${found.account.resource.name}' uses periodic backup.`)
        const location = typeof request.body?.location === 'string' ? request.body.location : found.account.resource.location
        // restorable.json: long-running, final state via Location; BackupInformation.continuousBackupInformation
        // .latestRestorableTimestamp (a string; Azure answers epoch-seconds or ISO text, the SDK passes it through).
        return lro(request, 'cosmos.containers.retrieveContinuousBackupInformation', location, found.key, 'location', () => {}, () => ({
          continuousBackupInformation: {latestRestorableTimestamp: ctx.clock().toISOString()},
        }))
      },
    },
    {
      method: 'GET',
      pattern: `${C}/opsbookItems`,
      operation: 'cosmos.containers.items',
      handler: (_request, p) => {
        const found = findContainer(p)
        if (isResponse(found)) return found
        // Not an Azure API: the emulator's data plane (docs/cosmos-db.md). Against Azure opsbook reads nothing here.
        const items = keepWriting(ctx, found.account, found.key)
        const newest = newestTs(items)
        return {status: 200, body: {id: found.key, count: items.length, newestTs: newest ?? null, newestAt: newest === undefined ? null : new Date(newest * 1000).toISOString()}}
      },
    },
    {
      method: 'POST',
      pattern: `${C}/opsbookItems`,
      operation: 'cosmos.containers.items.upsert',
      handler: (request, p) => {
        const found = findContainer(p)
        if (isResponse(found)) return found
        // Not an Azure API either: the emulator's data plane, writing as an upsert does (Create Document with
        // x-ms-documentdb-is-upsert: "creates the document with the ID … if it doesn't exist, or update the document if
        // it exists", https://learn.microsoft.com/rest/api/cosmos-db/create-a-document): 201 created, 200 replaced.
        const body = request.body as Record<string, unknown> | undefined
        if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.id !== 'string' || body.id === '' || body.id.length > 255)
          return armError(400, 'BadRequest', 'The item needs an "id": a string of 1 to 255 characters.')
        keepWriting(ctx, found.account, found.key)
        const {item, replaced} = upsertCosmosItem(ctx, found.key, body as Record<string, unknown> & {id: string})
        return {status: replaced ? 200 : 201, body: item}
      },
    },
    {
      method: 'DELETE',
      pattern: `${C}/opsbookItems/{id}`,
      operation: 'cosmos.containers.items.delete',
      handler: (_request, p) => {
        const found = findContainer(p)
        if (isResponse(found)) return found
        // Delete Document: 204 No Content, 404 when there is no such item (https://learn.microsoft.com/rest/api/cosmos-db/delete-a-document).
        const items = keepWriting(ctx, found.account, found.key)
        const item = idIndex(items).get(p.id!)
        if (!item) return notFound(`Item '${p.id}' does not exist in the container.`)
        removeItem(ctx, found.key, items, item, Math.floor(ctx.clock().getTime() / 1000))
        return {status: 204}
      },
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.DocumentDB/restorableDatabaseAccounts',
      operation: 'cosmos.restorableAccounts.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? {status: 200, body: {value: restorable().map((a) => restorableView(a, apiVersionOf(request)))}},
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.DocumentDB/locations/{location}/restorableDatabaseAccounts',
      operation: 'cosmos.restorableAccounts.listByLocation',
      handler: (request, p) =>
        checkScope(ctx, p.sub!) ??
        {status: 200, body: {value: restorable().filter((a) => a.resource.location.toLowerCase() === p.location!.toLowerCase()).map((a) => restorableView(a, apiVersionOf(request)))}},
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.DocumentDB/locations/{location}/restorableDatabaseAccounts/{instanceId}',
      operation: 'cosmos.restorableAccounts.get',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!)
        if (scope) return scope
        const account = restorable().find((a) => a.resource.properties.instanceId === p.instanceId && a.resource.location.toLowerCase() === p.location!.toLowerCase())
        return account ? {status: 200, body: restorableView(account, apiVersionOf(request))} : notFound(`Restorable database account '${p.instanceId}' was not found in ${p.location}.`)
      },
    },
  ]

  function createOrUpdate(request: EmulatorRequest, p: Record<string, string>): EmulatorResponse {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    const body = request.body
    if (!body || typeof body !== 'object' || typeof body.location !== 'string' || typeof body.properties !== 'object') return invalidBody()
    const props = body.properties as Record<string, any>
    const key = resourceIdOf(p.sub!, p.rg!, ACCOUNT_TYPE, p.account!).toLowerCase()
    const existing = state().accounts[key]
    const createMode = String(props.createMode ?? 'Default')
    if (!['Default', 'Restore'].includes(createMode)) return armError(400, 'BadRequest', `Invalid createMode '${createMode}'. Valid values are Default and Restore.`)
    if (!Array.isArray(props.locations) || props.locations.length === 0)
      return armError(400, 'BadRequest', 'The locations property is required: at least one location must be specified.')
    const now = ctx.clock()
    let source: StoredCosmosAccount | undefined
    let restoreAt: Date | undefined
    if (createMode === 'Restore') {
      // Restore always creates a new account (https://learn.microsoft.com/azure/cosmos-db/restore-account-continuous-backup).
      if (existing) return armError(400, 'BadRequest', `Restore creates a new account: a database account named '${p.account}' already exists.`)
      const params = (props.restoreParameters ?? {}) as Record<string, any>
      if (params.restoreMode !== undefined && params.restoreMode !== 'PointInTime') return armError(400, 'BadRequest', `Invalid restoreMode '${params.restoreMode}'. Valid value is PointInTime.`)
      const sourceId = typeof params.restoreSource === 'string' ? params.restoreSource : ''
      source = Object.values(state().accounts).find((a) => isContinuous(a) && restorableId(ctx, a).toLowerCase() === sourceId.toLowerCase())
      if (!source) return armError(400, 'BadRequest', `The restore source '${sourceId}' is not a restorable database account (only accounts in the continuous backup mode are restorable).`)
      restoreAt = new Date(String(params.restoreTimestampInUtc ?? ''))
      if (Number.isNaN(restoreAt.getTime())) return armError(400, 'BadRequest', 'restoreTimestampInUtc must be a UTC date-time.')
      const oldest = oldestRestorable(source, now)
      if (restoreAt.getTime() < oldest.getTime() || restoreAt.getTime() > now.getTime())
        return armError(
          400,
          'BadRequest',
          `The restore timestamp ${restoreAt.toISOString()} is outside the restorable window of '${source.resource.name}': ${oldest.toISOString()} to ${now.toISOString()}.`,
        )
    }
    const regions = (props.locations as Array<{locationName?: string}>).map((l) => String(l.locationName ?? body.location).replace(/\s+/g, '').toLowerCase())
    const account =
      existing ??
      newAccount(ctx, p.account!, p.rg!, {
        location: regions[0]!,
        regions,
        createdAt: now.toISOString(),
        // A restored account keeps the source's continuous mode unless the request says otherwise.
        backupPolicy: (props.backupPolicy as Record<string, unknown> | undefined) ?? (source ? clone(source.resource.properties.backupPolicy) : backupPolicyOf('periodic')),
        consistency: props.consistencyPolicy?.defaultConsistencyLevel,
        multiRegionWrites: props.enableMultipleWriteLocations,
      })
    if (body.tags && typeof body.tags === 'object') account.resource.tags = {...body.tags}
    for (const setting of ['publicNetworkAccess', 'minimalTlsVersion', 'disableLocalAuth'] as const) if (props[setting] !== undefined) account.resource.properties[setting] = props[setting]
    if (existing && props.backupPolicy) account.resource.properties.backupPolicy = clone(props.backupPolicy)
    if (!existing) {
      account.resource.properties.provisioningState = 'Creating'
      if (source && restoreAt) {
        account.resource.properties.createMode = 'Restore'
        account.resource.properties.restoreParameters = {restoreMode: 'PointInTime', restoreSource: restorableId(ctx, source), restoreTimestampInUtc: restoreAt.toISOString()}
      }
      state().accounts[key] = account
    }
    const response = lro(
      request,
      'cosmos.accounts.createOrUpdate',
      account.resource.location,
      account.resource.id,
      'azure-async-operation',
      () => {
        if (!state().accounts[key]) throw new ArmFailure('NotFound', `The database account '${p.account}' was removed while it was being created.`)
        account.resource.properties.provisioningState = 'Succeeded'
        if (source && restoreAt) {
          // The restored account holds the source's databases and containers with the items written at or before the
          // restore timestamp (`_ts` is in whole seconds).
          const cutoff = Math.floor(restoreAt.getTime() / 1000)
          account.databases = clone(source.databases)
          for (const [db, containers] of Object.entries(source.databases))
            for (const container of containers) {
              const sourceKey = containerKey(source.resource.id, db, container)
              const items = keepWriting(ctx, source, sourceKey)
              state().items[containerKey(account.resource.id, db, container)] = clone(itemsAsOf(ctx, sourceKey, items, cutoff))
            }
          ctx.activity.append({resourceId: account.resource.id, kind: 'cosmos.restore', data: {source: source.resource.id, restoreTimestampInUtc: restoreAt.toISOString()}})
        }
      },
      () => accountView(account),
    )
    // DatabaseAccounts_CreateOrUpdate answers 200 with the account (provisioningState Creating) and the
    // Azure-AsyncOperation monitor (cosmos-db.json lists 200 only); the SDK polls the monitor, then reads the account.
    return {...response, status: 200, body: accountView(account, request)}
  }
}

function notFound(message: string): EmulatorResponse {
  return armError(404, 'NotFound', message)
}
