/**
 * Azure Cache for Redis actions: RDB export to the catalog's snapshot container and import from it (through
 * short-lived container SAS URLs that are marked secret before use and never logged), the newest snapshot's age
 * against the RPO objective, patch schedules and verification. SDK: @azure/arm-rediscache 8.2 (api 2024-11-01)
 * and @azure/storage-blob, imported lazily through the run's AzureServices.
 */
import {z} from 'zod'
import {componentWindowNames} from '../catalog/schema.js'
import type {RedisResource, ScheduleEntry} from '@azure/arm-rediscache'
import type {Environment, ManagedRedisComponent, RedisComponent} from '../catalog/schema.js'
import {ExitCode} from '../errors.js'
import {humanDuration, isDuration, parseDuration, toIsoDuration} from '../support/duration.js'
import {redisRefusal} from '../azure/capabilities.js'
import type {AzureServices} from '../azure/clients.js'
import {ActionFailure, toAzureError} from '../azure/errors.js'
import {runTracked} from '../azure/lro.js'
import {
  apiVersions,
  armPath,
  azureServices,
  resolveResource,
  resolveWindow,
  shellQuote,
  withRetryLog,
  type ResolvedResource,
} from './resolve.js'
import {defineAction, type ActionContext, type ActionDefinition, type PlanContext, type PreflightRefusal} from './types.js'
import {connectCache, keyCountRow, liveData, probeOf, settleProbes, writeCanary, type ProbeRow} from './redis-data.js'

/**
 * Appended to every `az redisenterprise …` line: Debian's az 2.45 has no redisenterprise command group (it comes with
 * the redisenterprise extension, https://learn.microsoft.com/cli/azure/redisenterprise), so the az conformance suite
 * proves az 2.45 cannot parse the line instead of parsing it (test/emulator/az-plan-lines.ts).
 */
/**
 * Marks the `az redisenterprise` lines: that command group is the redisenterprise extension's, never in core az, and
 * the extension cannot be added to Debian's az 2.45 (its azext_metadata.json, Azure/azure-cli-extensions
 * src/redisenterprise/azext_redisenterprise/azext_metadata.json, asks for azure-cli-core 2.70.0 or newer; and the
 * az conformance suite runs offline, where `az extension add` cannot download it). So the suite can only prove these
 * lines do not parse on az 2.45; their argument names are checked against the extension's source instead
 * (amrMaintenanceAzValue in managed-redis.ts).
 */
export const AZ_245_AMR = "  # needs az newer than 2.45 (Debian's az 2.45 has no redisenterprise command group: it is the redisenterprise extension's)"

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT1H'})
export const cacheRef = z.string().min(1).describe('Catalog component key, Azure cache name, or ARM resource id')

/**
 * Azure's rule for the SAS an import or export is given, in the error it answers otherwise: "The SAS token end time
 * (se) must be at least 1 hour from now and the start time (st), if given, must be at least 15 minutes in the past".
 * Microsoft quotes that error in the Azure Managed Redis FAQ "I received a timeout error during my Import/Export
 * operation" (https://learn.microsoft.com/azure/redis/how-to-import-export-data); the classic page
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data, ms.date 2025-04-29) has the
 * same FAQ entry commented out of its source, so it is documented for Managed Redis and inherited for the classic
 * cache. Our SAS started 5 min back and ended exactly sasTtl (PT1H) ahead: under an hour by the time Azure read it.
 * Now sasTtl is at least PT1H, and the SAS ends SAS_MARGIN_MS after it and starts SAS_MARGIN_MS before the 15 minutes,
 * for the request's way and clock skew.
 */
export const REDIS_SAS_MIN_LIFETIME_MS = 60 * 60_000
export const REDIS_SAS_START_BEFORE_MS = 15 * 60_000
const SAS_MARGIN_MS = 5 * 60_000

/** The container SAS an import/export asks for: `ttl` (≥ PT1H) plus the margin, started before Azure's 15 minutes. */
export function redisTransferSas(permissions: string, ttl: string): {permissions: string; expiresInMs: number; startsBeforeMs: number} {
  return {permissions, expiresInMs: Math.max(parseDuration(ttl) ?? 0, REDIS_SAS_MIN_LIFETIME_MS) + SAS_MARGIN_MS, startsBeforeMs: REDIS_SAS_START_BEFORE_MS + SAS_MARGIN_MS}
}

/**
 * The permissions of the container SAS an export is given: exactly the list both pages' FAQ "Which permissions need to
 * be granted to the storage account container shared access signature (SAS) token to allow export?" names — read, add,
 * create, write, delete, tag and move
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data and
 * https://learn.microsoft.com/azure/redis/how-to-import-export-data). No list (`l`): the FAQ does not ask for it, and
 * opsbook lists the written blobs with its own credential. The REST specs (Microsoft.Cache ExportRDBParameters
 * `container`, redisEnterprise ExportClusterParameters `sasUri`) say nothing about permissions. Azure answers an export
 * whose SAS lacks one of them with a failure (the emulator does the same).
 */
export const REDIS_EXPORT_SAS_PERMISSIONS = 'racwdtm'
/**
 * The permissions of the SAS an import reads its blobs with: read only. Neither page nor spec (ImportRDBParameters
 * `files`, ImportClusterParameters `sasUris`: "SAS URIs for the target blobs to import from") lists import permissions;
 * reading the named blobs is all an import does, so nothing more is granted.
 */
export const REDIS_IMPORT_SAS_PERMISSIONS = 'r'

const sasTtl = isoDuration
  .refine((value) => (parseDuration(value) ?? 0) >= REDIS_SAS_MIN_LIFETIME_MS, 'must be at least PT1H: Azure refuses an import/export SAS that ends less than 1 hour from now')
  .default('PT1H')

const READ = 'Microsoft.Cache/redis/read'
const MANAGED_CLUSTER_READ = 'Microsoft.Cache/redisEnterprise/read'
const MANAGED_DATABASE_READ = 'Microsoft.Cache/redisEnterprise/databases/read'
const EXPORT = 'Microsoft.Cache/redis/export/action'
const IMPORT = 'Microsoft.Cache/redis/import/action'
const PATCH_READ = 'Microsoft.Cache/redis/patchSchedules/read'
const PATCH_WRITE = 'Microsoft.Cache/redis/patchSchedules/write'
/**
 * The user delegation key the import/export SAS is signed with: "the Azure AD account ... must be assigned a role that
 * includes the Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey action", at the storage account,
 * resource group or subscription (https://learn.microsoft.com/azure/storage/blobs/storage-blob-user-delegation-sas-create-cli,
 * "Assign permissions with Azure RBAC"; https://learn.microsoft.com/rest/api/storageservices/get-user-delegation-key).
 */
export const DELEGATION_KEY = 'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action'
export const CONTAINER_WRITE = 'Microsoft.Storage/storageAccounts/blobServices/containers/write'
export const BLOB_READ = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
export const BLOB_WRITE = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
export const BLOB_ADD = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
export const BLOB_DELETE = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
export const BLOB_MOVE = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action'
export const BLOB_TAGS_READ = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read'
export const BLOB_TAGS_WRITE = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'

/**
 * The RBAC data actions the signer of a user delegation SAS must hold for each permission letter of the SAS to be of
 * any use. A user delegation SAS is authorized with the credentials of the principal that requested the key: "The
 * role-based access control (RBAC) permissions granted for that Azure AD account, together with the permissions
 * explicitly granted on the SAS, determine the client's access to the resource"
 * (https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas, "Authorization of a user
 * delegation SAS"): a letter the signer's roles do not back grants nothing, and the export Azure runs with it fails.
 * Letter → operations: the same page's permission table (r read; a append a block; c write a new blob; w create or
 * write content, properties, metadata; d delete; t read or write the blob's tags; m move). Operation → data action:
 * https://learn.microsoft.com/azure/storage/blobs/storage-auth-abac-attributes ("Read a blob" blobs/read; "Create a
 * blob or snapshot, or append data" blobs/add/action; "Write to a blob" blobs/write; "Delete a blob" blobs/delete;
 * "Read blob index tags" blobs/tags/read; "Write blob index tags" blobs/tags/write; "Rename a file or a directory"
 * blobs/move/action). Storage Blob Data Contributor holds none of the tag actions; Storage Blob Data Owner
 * (blobs/*) or a custom role does (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
 */
export const SAS_LETTER_DATA_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  r: [BLOB_READ],
  a: [BLOB_ADD],
  c: [BLOB_ADD],
  w: [BLOB_WRITE],
  d: [BLOB_DELETE],
  t: [BLOB_TAGS_READ, BLOB_TAGS_WRITE],
  m: [BLOB_MOVE],
}

/** The data actions a user delegation SAS with `permissions` (e.g. `racwdtm`) needs its signer to hold. */
export function sasDataActions(permissions: string): string[] {
  return [
    ...new Set(
      [...permissions].flatMap((letter) => {
        const actions = SAS_LETTER_DATA_ACTIONS[letter]
        // A letter added to a SAS without its data action here would be asked of Azure but never of the caller.
        if (!actions) throw new Error(`SAS permission "${letter}" has no RBAC data action in SAS_LETTER_DATA_ACTIONS`)
        return actions
      }),
    ),
  ]
}

/**
 * What an export needs besides the cache's own actions: the delegation key, the container (created when missing), the
 * data actions behind every letter of its SAS, and its own reads (listing the blobs written) and writes (the dataasof
 * metadata: Set Blob Metadata is blobs/write) — the last two are within the SAS's.
 */
export const EXPORT_STORAGE_PERMISSIONS = [DELEGATION_KEY, CONTAINER_WRITE, ...new Set([...sasDataActions(REDIS_EXPORT_SAS_PERMISSIONS), BLOB_WRITE, BLOB_READ])]
/** What an import needs besides the cache's own actions: the delegation key and the data action behind its read-only SAS. */
export const IMPORT_STORAGE_PERMISSIONS = [DELEGATION_KEY, ...sasDataActions(REDIS_IMPORT_SAS_PERMISSIONS)]

/** Blob metadata key holding when a snapshot's data is from (ISO); wins over Last-Modified when present. */
export const SNAPSHOT_TIME_METADATA = 'dataasof'
/**
 * Drill copies: a DR drill's export proves the cache can be exported and read back, but it is not a scheduled snapshot
 * (counting it would make the next drill's RPO the age of the previous drill). Its blobs are named
 * `opsbook-drill-<cache>-<run id>.rdb` (outside the `<cache>-` prefix scheduled snapshots use, and derived from the
 * run id so teardown finds them without the export's outputs) and carry `opsbookdrillrun=<run id>` metadata.
 */
export const DRILL_SNAPSHOT_PREFIX = 'opsbook-drill-'
/** Blob metadata key marking a drill copy, valued with the run id that made it. */
export const DRILL_RUN_METADATA = 'opsbookdrillrun'
/** Azure's shortest patch window. */
const MIN_PATCH_WINDOW_MS = 5 * 3_600_000

interface SnapshotLocation {
  storageAccount: string
  container: string
}

function snapshotLocation(resource: ResolvedResource, input: {storageAccount?: string; container?: string}): SnapshotLocation {
  const component = cacheComponent(resource)
  const storageAccount = input.storageAccount ?? component?.snapshots?.storageAccount
  const container = input.container ?? component?.snapshots?.container
  if (!storageAccount || !container)
    throw new ActionFailure(`no snapshot storage for ${resource.name}: give storageAccount and container, or set snapshots in the catalog`, {
      code: 'redis-no-snapshot-storage',
      exitCode: ExitCode.invalidInput,
    })
  return {storageAccount, container}
}

export function planLocation(plan: PlanContext, resource: ResolvedResource, input: {storageAccount?: string; container?: string}): SnapshotLocation {
  try {
    return snapshotLocation(resource, input)
  } catch {
    return {storageAccount: input.storageAccount ?? '<storage-account>', container: input.container ?? '<container>'}
  }
}

async function getCache(services: AzureServices, resource: ResolvedResource, signal: AbortSignal): Promise<RedisResource> {
  const client = await services.redis()
  try {
    return await client.redis.get(resource.resourceGroup, resource.name, {abortSignal: signal})
  } catch (error) {
    throw toAzureError(error, {operation: `read Redis cache ${resource.name}`})
  }
}

/** The catalog component of a cache of either kind (classic Azure Cache for Redis or Azure Managed Redis). */
export function cacheComponent(resource: ResolvedResource): RedisComponent | ManagedRedisComponent | undefined {
  const c = resource.component
  return c?.type === 'redis' || c?.type === 'managedredis' ? c : undefined
}

/**
 * A Redis reference resolved to its kind: a component key or Azure name of a Managed Redis component resolves to the
 * cluster (`managedredis`), anything else to a classic cache, so the snapshot, verify and drill actions serve both.
 */
export function resolveCache(environment: Environment, reference: string): ResolvedResource {
  const byKey = environment.components[reference]
  const byName = Object.values(environment.components).find((c) => c.type === 'managedredis' && c.name.toLowerCase() === reference.toLowerCase())
  const managed = byKey ? byKey.type === 'managedredis' : Boolean(byName) || /\/providers\/Microsoft\.Cache\/redisEnterprise\//i.test(reference)
  return resolveResource(environment, managed ? 'managedredis' : 'redis', reference)
}

/** What export, import and verify need of a cache, whatever its kind. */
export interface CacheView {
  id?: string
  hostName?: string
  sslPort?: number
  provisioningState?: string
  sku?: {name?: string}
  redisVersion?: string
}

/** How one kind of cache is read, exported and imported (the rest of those actions is the same for both kinds). */
export interface CacheFlavour {
  kind: 'redis' | 'managedredis'
  action: string
  read(services: AzureServices, resource: ResolvedResource, signal: AbortSignal): Promise<CacheView>
  /** Refuse a cache whose tier cannot import/export (exit 2), from what Azure reports. */
  assertCapable(view: CacheView, resource: ResolvedResource): void
  /** Start the export and wait: `containerSasUrl` is the container's SAS URL, `prefix` the name the blobs start with. */
  exportTo(services: AzureServices, resource: ResolvedResource, target: {containerSasUrl: string; prefix: string}, options: unknown): Promise<unknown>
  importFrom(services: AzureServices, resource: ResolvedResource, urls: string[], options: unknown): Promise<unknown>
  /** A hint for a 409 Conflict. */
  conflictHint: string
}

const classicFlavour: CacheFlavour = {
  kind: 'redis',
  action: 'redis',
  read: (services, resource, signal) => getCache(services, resource, signal),
  assertCapable: (view, resource) => assertTier(view, resource),
  async exportTo(services, resource, {containerSasUrl, prefix}, options) {
    const client = await services.redis()
    return client.redis.beginExportDataAndWait(resource.resourceGroup, resource.name, {format: 'RDB', prefix, container: containerSasUrl, preferredDataArchiveAuthMethod: 'SAS'}, options as never)
  },
  async importFrom(services, resource, urls, options) {
    const client = await services.redis()
    return client.redis.beginImportDataAndWait(resource.resourceGroup, resource.name, {format: 'RDB', files: urls}, options as never)
  },
  conflictHint: 'scaling, patching, import or export',
}

/** The flavour of a resolved cache (Managed Redis's lives in managed-redis.ts and registers itself here). */
/** The database of a Managed Redis component (Azure Managed Redis has one, named default). */
export function managedDatabaseOf(resource: ResolvedResource): string {
  return resource.component?.type === 'managedredis' ? resource.component.database : 'default'
}

export function flavourOf(resource: ResolvedResource): CacheFlavour {
  if (resource.kind === 'managedredis') {
    if (!managedFlavour) throw new Error('the Managed Redis actions are not loaded')
    return managedFlavour
  }
  return classicFlavour
}
let managedFlavour: CacheFlavour | undefined
/** Called by managed-redis.ts at load. */
export function registerManagedFlavour(flavour: CacheFlavour): void {
  managedFlavour = flavour
}

/** A default snapshot name: `<cache>-<UTC yyyymmddThhmmss>Z.rdb`, sortable and tied to its cache. */
function snapshotPrefix(cache: string, at: Date): string {
  return `${cache}-${at.toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z.rdb`
}

/** The blob name a drill's export of `cache` uses in run `runId` (teardown derives it the same way). */
export function drillSnapshotName(cache: string, runId: string): string {
  return `${DRILL_SNAPSHOT_PREFIX}${cache}-${runId}.rdb`
}

interface SnapshotBlob {
  name: string
  takenAt: string
  size?: number
  /** The run whose drill made this copy, when it is one. */
  drillRun?: string
}

/** A drill's copy rather than a snapshot a recovery could use: by name, or by the metadata the export stamped. */
function isDrillCopy(blob: SnapshotBlob): boolean {
  return blob.drillRun !== undefined || blob.name.startsWith(DRILL_SNAPSHOT_PREFIX)
}

async function listSnapshots(services: AzureServices, location: SnapshotLocation, prefix: string): Promise<SnapshotBlob[]> {
  const service = await services.blob(location.storageAccount)
  const container = service.getContainerClient(location.container)
  const out: SnapshotBlob[] = []
  try {
    for await (const blob of container.listBlobsFlat({prefix, includeMetadata: true})) {
      const meta = blob.metadata?.[SNAPSHOT_TIME_METADATA]
      const takenAt = meta && !Number.isNaN(Date.parse(meta)) ? new Date(meta) : blob.properties.lastModified
      const drillRun = blob.metadata?.[DRILL_RUN_METADATA]
      out.push({name: blob.name, takenAt: takenAt.toISOString(), size: blob.properties.contentLength, ...(drillRun ? {drillRun} : {})})
    }
  } catch (error) {
    throw toAzureError(error, {operation: `list snapshots in ${location.storageAccount}/${location.container}`})
  }
  return out.sort((a, b) => Date.parse(a.takenAt) - Date.parse(b.takenAt))
}

/**
 * Delete the drill copies run `context.runId` exported of `cacheRef` (teardown): the blobs under the derived name
 * whose opsbookdrillrun metadata, when present, names this run — never a scheduled snapshot or another run's copy.
 */
export async function deleteDrillSnapshots(context: ActionContext, services: AzureServices, cacheRef: string): Promise<{storageAccount: string; container: string; deleted: string[]}> {
  const resource = resolveCache(context.environment, cacheRef)
  const location = snapshotLocation(resource, {})
  const name = drillSnapshotName(resource.name, context.runId)
  const container = (await services.blob(location.storageAccount)).getContainerClient(location.container)
  const deleted: string[] = []
  try {
    for (const blob of await listSnapshots(services, location, name)) {
      if (blob.drillRun !== undefined && blob.drillRun !== context.runId) continue
      const response = await container.getBlobClient(blob.name).deleteIfExists({deleteSnapshots: 'include', abortSignal: context.signal})
      if (response.succeeded) deleted.push(blob.name)
    }
  } catch (error) {
    throw toAzureError(error, {operation: `delete the drill copy ${location.container}/${name}`})
  }
  return {...location, deleted}
}

/** Remove a SAS from text (defence in depth: the engine also redacts values passed to ctx.secret). */
export function withoutSas(error: unknown, sas: string[]): unknown {
  if (error instanceof Error) for (const s of sas) if (s) error.message = error.message.replaceAll(s, '<redacted-sas>')
  return error
}

// ---------------------------------------------------------------------------------------------------------------------
// export

export const exportInput = z.strictObject({
    cache: cacheRef,
    prefix: z.string().min(1).optional().describe('Blob name prefix; default <cache>-<UTC time>Z.rdb'),
    drill: z
      .boolean()
      .default(false)
      .describe('A drill copy: named opsbook-drill-<cache>-<run id>.rdb and marked opsbookdrillrun=<run id>, so latestSnapshot never counts it and drill.teardown deletes it'),
    storageAccount: z.string().optional().describe('Default: the component\'s snapshots.storageAccount'),
    container: z.string().optional().describe('Default: the component\'s snapshots.container'),
    sasTtl: sasTtl.describe('Lifetime of the SAS handed to Azure (at least PT1H, as Azure requires)'),
    writeCanary: z
      .boolean()
      .optional()
      .describe('Set the canary key to now before exporting, so the snapshot can be checked to hold it (default: the component\'s probe.canary.write)'),
  })

export const exportOutput = z.strictObject({
    cache: z.string(),
    storageAccount: z.string(),
    container: z.string(),
    prefix: z.string(),
    blobs: z.array(z.string()),
    takenAt: z.string().describe('When the snapshot\'s data is from (ISO)'),
    startedAt: z.string(),
    completedAt: z.string(),
    canaryAt: z.string().optional().describe('The time written into the canary key just before the export'),
  })

export const exportAction = defineAction({
  name: 'redis.export',
  preflight: (input, plan) => tierPreflight(plan, input.cache),
  summary: 'Export an RDB snapshot of the cache to the catalog\'s snapshot container (short-lived SAS, never logged)',
  description:
    'Builds a container SAS valid for sasTtl (a user delegation SAS in Azure), marks it secret, and POSTs /export with it. The blobs written are listed in the outputs and stamped with dataasof metadata (the export\'s start) so latestSnapshot can measure RPO. Premium tier only in Azure. The SAS (racwdtm) grants only what its signer holds too, so the caller needs the blob data action behind each letter, the tag ones included (Storage Blob Data Owner, or a custom role; Storage Blob Data Contributor has no tag actions).',
  input: exportInput,
  output: exportOutput,
  changes: true,
  // No documented duration (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data); its SAS (sasTtl, PT1H by
  // default) expires before then: an export/import cannot outlive it.
  defaultTimeout: 'PT2H',
  permissions: [READ, EXPORT, ...EXPORT_STORAGE_PERMISSIONS],
  secretInputs: [],
  az: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    const loc = planLocation(plan, r, input)
    return [
      sasAzLine(plan, loc, REDIS_EXPORT_SAS_PERMISSIONS, input.sasTtl),
      `az redis export --resource-group ${r.resourceGroup} --name ${r.name} --prefix ${input.drill ? drillSnapshotName(r.name, '<run-id>') : (input.prefix ?? `<${r.name}-time>Z.rdb`)} --container "https://${loc.storageAccount}.blob.core.windows.net/${loc.container}?$SAS" --file-format RDB`,
    ]
  },
  arm: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    return [
      {method: 'GET', path: armPath(r)},
      {method: 'POST', path: armPath(r, '/export'), longRunning: true, note: 'body {format: RDB, prefix, container: <container SAS URL>}'},
    ]
  },
  run: (input, context) => runExport(input, context, classicFlavour),
})

// ---------------------------------------------------------------------------------------------------------------------
// import

export const importInput = z.strictObject({
    cache: cacheRef,
    files: z.array(z.string().min(1)).optional().describe('Blob names in the container'),
    prefix: z.string().min(1).optional().describe('Import every blob whose name starts with this'),
    storageAccount: z.string().optional(),
    container: z.string().optional(),
    sasTtl: sasTtl.describe('Lifetime of the SAS handed to Azure (at least PT1H, as Azure requires)'),
  })

export const importOutput = z.strictObject({
    cache: z.string(),
    files: z.array(z.string()),
    dataAsOf: z.string().optional().describe('When the imported snapshot\'s data is from'),
    startedAt: z.string(),
    importedAt: z.string(),
  })

export const importAction = defineAction({
  name: 'redis.import',
  preflight: (input, plan) => tierPreflight(plan, input.cache),
  summary: 'Import RDB snapshot blobs into the cache (replaces its data)',
  description:
    'Takes blob names (files), a blob name prefix, or — with neither — the cache\'s newest snapshot in its snapshot container. Each blob is handed to Azure as a read-only SAS URL that is marked secret and never logged.',
  input: importInput,
  output: importOutput,
  changes: true,
  // No documented duration (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data); its SAS (sasTtl, PT1H by
  // default) expires before then: an export/import cannot outlive it.
  defaultTimeout: 'PT2H',
  permissions: [READ, IMPORT, ...IMPORT_STORAGE_PERMISSIONS],
  az: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    const loc = planLocation(plan, r, input)
    const files = input.files ?? [input.prefix ? `${input.prefix}*` : '<newest-snapshot>']
    return [
      sasAzLine(plan, loc, REDIS_IMPORT_SAS_PERMISSIONS, input.sasTtl),
      `az redis import --resource-group ${r.resourceGroup} --name ${r.name} --file-format RDB --files ${files.map((f) => `"https://${loc.storageAccount}.blob.core.windows.net/${loc.container}/${f}?$SAS"`).join(' ')}`,
    ]
  },
  arm: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    return [
      {method: 'GET', path: armPath(r)},
      {method: 'POST', path: armPath(r, '/import'), longRunning: true, note: 'body {format: RDB, files: [<blob SAS URLs>]}'},
    ]
  },
  run: (input, context) => runImport(input, context, classicFlavour),
})

// ---------------------------------------------------------------------------------------------------------------------
// latestSnapshot

export const latestSnapshotAction = defineAction({
  name: 'redis.latestSnapshot',
  summary: 'Age of the cache\'s newest RDB snapshot against its RPO objective and snapshot frequency',
  description:
    'Lists <cache>-* blobs in the snapshot container, leaving out drill copies (opsbook-drill-* names or opsbookdrillrun metadata: a drill\'s export is not a snapshot a recovery would restore); a snapshot\'s time is its dataasof metadata, else Last-Modified. meetsRpo: the newest is no older than the RPO. frequencyMeetsRpo: the configured snapshot frequency can meet the RPO at all. With require: true the step fails when either does not hold.',
  input: z.strictObject({
    cache: cacheRef,
    prefix: z.string().optional().describe('Default: <cache>-'),
    storageAccount: z.string().optional(),
    container: z.string().optional(),
    rpo: isoDuration.optional().describe('Default: the component\'s objectives.rpo'),
    require: z.boolean().default(false).describe('Fail when no snapshot exists or the RPO is not met'),
  }),
  output: z.strictObject({
    cache: z.string(),
    found: z.boolean(),
    count: z.number(),
    name: z.string().optional(),
    takenAt: z.string().optional(),
    ageMs: z.number().optional(),
    rpo: z.string().optional(),
    rpoMs: z.number().optional(),
    frequency: z.string().optional(),
    meetsRpo: z.boolean(),
    frequencyMeetsRpo: z.boolean(),
  }),
  changes: false,
  permissions: [BLOB_READ],
  az: (input, plan) => {
    const r = resolveCache(plan.environment, input.cache)
    const loc = planLocation(plan, r, input)
    return [
      `az storage blob list --account-name ${loc.storageAccount} --container-name ${loc.container} --prefix ${shellQuote(input.prefix ?? `${r.name}-`)} --include m --auth-mode login --query "sort_by([], &properties.lastModified)[-1].{name: name, lastModified: properties.lastModified, dataasof: metadata.dataasof}"`,
    ]
  },
  arm: () => [],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolveCache(context.environment, input.cache)
    const location = snapshotLocation(resource, input)
    const component = cacheComponent(resource)
    const rpo = input.rpo ?? component?.objectives?.rpo
    const rpoMs = rpo ? parseDuration(rpo) : undefined
    const frequency = component?.snapshots?.frequency
    const frequencyMs = frequency ? parseDuration(frequency) : undefined
    const listed = await withRetryLog(context, services, () => listSnapshots(services, location, input.prefix ?? `${resource.name}-`))
    const blobs = listed.filter((b) => !isDrillCopy(b))
    if (blobs.length < listed.length) context.log(`left out ${listed.length - blobs.length} drill cop${listed.length - blobs.length === 1 ? 'y' : 'ies'} (not scheduled snapshots)`)
    const newest = blobs.at(-1)
    const ageMs = newest ? Math.max(0, context.now().getTime() - Date.parse(newest.takenAt)) : undefined
    const meetsRpo = ageMs !== undefined && (rpoMs === undefined || ageMs <= rpoMs)
    const frequencyMeetsRpo = rpoMs === undefined || frequencyMs === undefined || frequencyMs <= rpoMs
    if (newest) context.log(`newest snapshot ${newest.name} is ${humanDuration(ageMs!)} old${rpo ? ` (RPO ${rpo}: ${meetsRpo ? 'met' : 'missed'})` : ''}`)
    else context.log(`no snapshot of ${resource.name} in ${location.storageAccount}/${location.container}`)
    if (!frequencyMeetsRpo) context.log(`warning: snapshots every ${frequency} cannot meet an RPO of ${rpo}`)
    if (input.require && (!newest || !meetsRpo || !frequencyMeetsRpo))
      throw new ActionFailure(
        !newest
          ? `no snapshot of ${resource.name} found in ${location.storageAccount}/${location.container}`
          : !meetsRpo
            ? `the newest snapshot of ${resource.name} is ${humanDuration(ageMs!)} old, more than its RPO of ${rpo}`
            : `snapshots every ${frequency} cannot meet ${resource.name}'s RPO of ${rpo}`,
        {code: 'redis-rpo-not-met'},
      )
    return {
      cache: resource.name,
      found: Boolean(newest),
      count: blobs.length,
      name: newest?.name,
      takenAt: newest?.takenAt,
      ageMs,
      rpo,
      rpoMs,
      frequency,
      meetsRpo,
      frequencyMeetsRpo,
    }
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// patch schedule

const windowInput = z
  .union([
    z.string().describe('Name of a maintenance window of the environment'),
    z.strictObject({
      day: z.string().describe('Monday … Sunday'),
      startHour: z.number().int().min(0).max(23).describe('UTC hour'),
      duration: isoDuration.default('PT5H'),
    }),
  ])
  .describe('A catalog window name, or {day, startHour (UTC), duration}')

interface WantedSchedule {
  entries: ScheduleEntry[]
  notes: string[]
}

function wantedSchedule(environment: Environment, resource: ResolvedResource, window: z.infer<typeof windowInput> | undefined, now: Date): WantedSchedule {
  const reference = window ?? (resource.component ? componentWindowNames(resource.component)[0] : undefined)
  if (reference === undefined)
    throw new ActionFailure(`no window given and ${resource.name} has no window in the catalog`, {code: 'no-window', exitCode: ExitCode.invalidInput})
  const notes: string[] = []
  let day: string
  let hour: number
  let durationMs: number
  if (typeof reference === 'string') {
    const utc = resolveWindow(environment, reference, now)
    day = utc.dayName
    hour = utc.startHour
    durationMs = utc.durationMinutes * 60_000
    if (utc.startMinute !== 0) notes.push(`Redis patch windows start on the hour: ${utc.startHour}:${String(utc.startMinute).padStart(2, '0')} UTC becomes ${utc.startHour}:00`)
  } else {
    day = reference.day.charAt(0).toUpperCase() + reference.day.slice(1).toLowerCase()
    hour = reference.startHour
    durationMs = parseDuration(reference.duration)!
  }
  if (durationMs < MIN_PATCH_WINDOW_MS) {
    notes.push(`Azure needs a patch window of at least 5 hours: ${toIsoDuration(durationMs)} becomes PT5H`)
    durationMs = MIN_PATCH_WINDOW_MS
  }
  return {entries: [{dayOfWeek: day as ScheduleEntry['dayOfWeek'], startHourUtc: hour, maintenanceWindow: toIsoDuration(durationMs)}], notes}
}

const entryOutput = z.strictObject({dayOfWeek: z.string(), startHourUtc: z.number(), maintenanceWindow: z.string().optional()})

function sameEntries(a: ScheduleEntry[], b: ScheduleEntry[]): boolean {
  const key = (e: ScheduleEntry) => `${e.dayOfWeek}|${e.startHourUtc}|${parseDuration(e.maintenanceWindow ?? 'PT5H')}`
  return a.map(key).sort().join(',') === b.map(key).sort().join(',')
}

async function currentSchedule(services: AzureServices, resource: ResolvedResource): Promise<ScheduleEntry[]> {
  const client = await services.redis()
  try {
    return (await client.patchSchedules.get(resource.resourceGroup, resource.name, 'default')).scheduleEntries
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return []
    throw toAzureError(error, {operation: `read the patch schedule of ${resource.name}`})
  }
}

export const setPatchScheduleAction = defineAction({
  name: 'redis.setPatchSchedule',
  summary: 'Set the cache\'s patch schedule from a catalog window (UTC, whole hours, at least 5 hours)',
  input: z.strictObject({cache: cacheRef, window: windowInput.optional().describe('Default: the component\'s catalog window')}),
  output: z.strictObject({cache: z.string(), entries: z.array(entryOutput), changed: z.boolean(), notes: z.array(z.string())}),
  changes: true,
  // One PUT of the cache's patch schedule (not long-running). Generous.
  defaultTimeout: 'PT30M',
  permissions: [PATCH_READ, PATCH_WRITE],
  az: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    let entries = '<schedule entries>'
    try {
      entries = JSON.stringify(wantedSchedule(plan.environment, r, input.window, new Date()).entries)
    } catch {
      // plan shows the placeholder
    }
    return [`az redis patch-schedule create --resource-group ${r.resourceGroup} --name ${r.name} --schedule-entries ${shellQuote(entries)}`]
  },
  arm: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    return [
      {method: 'GET', path: armPath(r, '/patchSchedules/default')},
      {method: 'PUT', path: armPath(r, '/patchSchedules/default'), note: 'properties.scheduleEntries'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, 'redis', input.cache)
      const wanted = wantedSchedule(context.environment, resource, input.window, context.now())
      for (const note of wanted.notes) context.log(note)
      const current = await currentSchedule(services, resource)
      if (sameEntries(current, wanted.entries)) {
        context.log(`${resource.name} already has this patch schedule`)
        return {cache: resource.name, entries: wanted.entries, changed: false, notes: wanted.notes}
      }
      const client = await services.redis()
      try {
        await client.patchSchedules.createOrUpdate(resource.resourceGroup, resource.name, 'default', {scheduleEntries: wanted.entries}, {abortSignal: context.signal})
      } catch (error) {
        throw toAzureError(error, {operation: `set the patch schedule of ${resource.name}`})
      }
      context.log(`${resource.name} patch schedule: ${wanted.entries.map((e) => `${e.dayOfWeek} ${e.startHourUtc}:00 UTC for ${e.maintenanceWindow}`).join(', ')}`)
      return {cache: resource.name, entries: wanted.entries, changed: true, notes: wanted.notes}
    })
  },
})

export const getPatchScheduleAction = defineAction({
  name: 'redis.getPatchSchedule',
  summary: 'Read the cache\'s patch schedule and report drift from the catalog window',
  input: z.strictObject({cache: cacheRef, window: windowInput.optional()}),
  output: z.strictObject({cache: z.string(), entries: z.array(entryOutput), expected: z.array(entryOutput).optional(), drift: z.boolean(), differences: z.array(z.string())}),
  changes: false,
  permissions: [PATCH_READ],
  az: (input, plan) => {
    const r = resolveResource(plan.environment, 'redis', input.cache)
    return [`az redis patch-schedule show --resource-group ${r.resourceGroup} --name ${r.name}`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(resolveResource(plan.environment, 'redis', input.cache), '/patchSchedules/default')}],
  async run(input, context) {
    const services = azureServices(context)
    const resource = resolveResource(context.environment, 'redis', input.cache)
    const entries = await withRetryLog(context, services, () => currentSchedule(services, resource))
    const differences: string[] = []
    let expected: ScheduleEntry[] | undefined
    if (input.window !== undefined || (resource.component && componentWindowNames(resource.component).length > 0)) {
      expected = wantedSchedule(context.environment, resource, input.window, context.now()).entries
      if (entries.length === 0) differences.push('no patch schedule: Azure patches at any time')
      else if (!sameEntries(entries, expected))
        differences.push(
          `schedule is ${entries.map((e) => `${e.dayOfWeek} ${e.startHourUtc}:00 (${e.maintenanceWindow ?? 'PT5H'})`).join(', ')}, expected ${expected.map((e) => `${e.dayOfWeek} ${e.startHourUtc}:00 (${e.maintenanceWindow})`).join(', ')}`,
        )
    }
    context.log(differences.length ? `${resource.name} drifted: ${differences.join('; ')}` : `${resource.name}: patch schedule as expected`)
    return {cache: resource.name, entries, expected, drift: differences.length > 0, differences}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// verify

const check = z.strictObject({name: z.string(), ok: z.boolean(), expected: z.string().optional(), actual: z.string().optional()})

export const verifyAction = defineAction({
  name: 'redis.verify',
  summary: 'Verify a cache: provisioningState Succeeded, SKU, and its data (key count, canary) through the component\'s data probe',
  description:
    'With a probe in the catalog (components.<key>.probe), opsbook connects to the cache over TLS (certificate verified; Entra token or OPSBOOK_PARAM_ access key) and reads its key count (INFO keyspace) and canary key: compared with expectKeyCount (within probe.keyCount.tolerance) and expectCanaryAt (the canary must hold at least that time). A probe that cannot connect or sign in fails the step with the reason. Without a probe, keyCount and dataAsOf come from the emulator\'s modelled data (GET {cacheId}/opsbookData); against Azure they are omitted and an expectKeys check is reported as not verifiable rather than failed.',
  input: z.strictObject({
    cache: cacheRef,
    expectKeys: z.number().int().min(0).optional().describe('At least this many keys'),
    expectSku: z.enum(['Basic', 'Standard', 'Premium']).optional(),
    expectKeyCount: z.number().int().min(0).nullish().describe('Key count the data should have (e.g. the imported snapshot\'s), within probe.keyCount.tolerance'),
    expectCanaryAt: z.string().nullish().describe('The canary must hold this time or a later one (e.g. the imported snapshot\'s canary)'),
  }),
  output: z.strictObject({
    cache: z.string(),
    provisioningState: z.string(),
    sku: z.string().optional(),
    hostName: z.string().optional(),
    redisVersion: z.string().optional(),
    keyCount: z.number().optional(),
    dataAsOf: z.string().optional(),
    checks: z.array(check),
    probes: z.array(z.strictObject({probe: z.string(), ok: z.boolean(), detail: z.string()})).optional().describe('Data probe results, read from the cache itself'),
    canaryAt: z.string().optional().describe('The time the cache\'s canary key holds'),
    verifiedAt: z.string().describe('When the cache was verified (a drill\'s end of the recovery time)'),
  }),
  changes: false,
  // A Managed Redis cache is read as its cluster and database (GET …/redisEnterprise/{cluster} and …/databases/{db}):
  // Microsoft.Cache/redisEnterprise/read and …/databases/read, as managedredis.verify declares — not the classic
  // cache's Microsoft.Cache/redis/read, which plan listed for it. Operations of Microsoft.Cache:
  // https://learn.microsoft.com/azure/role-based-access-control/permissions/databases#microsoftcache
  permissions: [READ, MANAGED_CLUSTER_READ, MANAGED_DATABASE_READ],
  permissionsFor: (input, plan) => {
    const component = plan.environment.components[input.cache]
    if (!component) return undefined
    return component.type === 'managedredis' ? [MANAGED_CLUSTER_READ, MANAGED_DATABASE_READ] : component.type === 'redis' ? [READ] : undefined
  },
  az: (input, plan) => {
    const r = resolveCache(plan.environment, input.cache)
    return r.kind === 'managedredis'
      ? [`az redisenterprise database show --resource-group ${r.resourceGroup} --cluster-name ${r.name} --query "{state: provisioningState, port: port}"${AZ_245_AMR}`]
      : [`az redis show --resource-group ${r.resourceGroup} --name ${r.name} --query "{state: provisioningState, sku: sku.name, host: hostName}"`]
  },
  arm: (input, plan) => {
    const r = resolveCache(plan.environment, input.cache)
    return r.kind === 'managedredis'
      ? [{method: 'GET', path: armPath(r)}, {method: 'GET', path: armPath(r, `/databases/${managedDatabaseOf(r)}`)}]
      : [{method: 'GET', path: armPath(r)}]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveCache(context.environment, input.cache)
      const cache = await flavourOf(resource).read(services, resource, context.signal)
      const probe = probeOf(resource)
      const probes: ProbeRow[] = []
      let data: {keyCount?: number; dataAsOf?: string; canaryAt?: string}
      if (probe && cache.provisioningState === 'Succeeded') {
        const client = await connectCache(context, services, resource, cache, probe)
        try {
          const live = await liveData(client, probe)
          data = {keyCount: live.keyCount, canaryAt: live.canary?.at}
          probes.push({probe: 'connect', ok: true, detail: `${cache.hostName}:${cache.sslPort ?? 6380} over TLS: ${live.keyCount} keys`})
          if (probe.canary) {
            const wanted = input.expectCanaryAt ? Date.parse(input.expectCanaryAt) : undefined
            const at = live.canary?.at
            probes.push(
              !live.canary
                ? {probe: 'canary', ok: false, detail: `canary key ${probe.canary.key} is not in the cache`}
                : !at
                  ? {probe: 'canary', ok: false, detail: `canary key ${probe.canary.key} holds no timestamp`}
                  : {probe: 'canary', ok: wanted === undefined || Date.parse(at) >= wanted, detail: `${probe.canary.key} = ${at}${wanted === undefined ? '' : ` (expected ${input.expectCanaryAt} or later)`}`},
            )
          }
          if (input.expectKeyCount != null) {
            const row = keyCountRow('the cache', live.keyCount, input.expectKeyCount, probe)
            if (row) probes.push(row)
          }
        } finally {
          client.disconnect()
        }
      } else data = await probeData(services, cache.id ?? resource.id, context)
      const checks: Array<z.infer<typeof check>> = []
      checks.push({name: 'provisioningState', ok: cache.provisioningState === 'Succeeded', expected: 'Succeeded', actual: cache.provisioningState})
      if (input.expectSku) checks.push({name: 'sku', ok: cache.sku?.name === input.expectSku, expected: input.expectSku, actual: cache.sku?.name})
      if (input.expectKeys !== undefined) {
        if (data.keyCount === undefined) context.log(`key count of ${resource.name} is not visible through ARM: expectKeys not verified`)
        else checks.push({name: 'keys', ok: data.keyCount >= input.expectKeys, expected: `>= ${input.expectKeys}`, actual: String(data.keyCount)})
      }
      for (const c of checks) context.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.actual ?? '—'}${c.expected && !c.ok ? ` (expected ${c.expected})` : ''}`)
      settleProbes(context, resource.name, probes)
      const failed = checks.filter((c) => !c.ok)
      if (failed.length > 0)
        throw new ActionFailure(`Redis cache ${resource.name} failed verification: ${failed.map((c) => `${c.name} is ${c.actual ?? 'unknown'}, expected ${c.expected}`).join('; ')}`, {
          code: 'redis-verify-failed',
          details: {checks},
        })
      return {
        cache: resource.name,
        provisioningState: cache.provisioningState ?? 'unknown',
        sku: cache.sku?.name,
        hostName: cache.hostName,
        redisVersion: cache.redisVersion,
        keyCount: data.keyCount,
        dataAsOf: data.dataAsOf,
        checks,
        ...(probes.length ? {probes} : {}),
        ...(data.canaryAt ? {canaryAt: data.canaryAt} : {}),
        verifiedAt: context.now().toISOString(),
      }
    })
  },
})

async function probeData(services: AzureServices, id: string, context: ActionContext): Promise<{keyCount?: number; dataAsOf?: string}> {
  try {
    const response = await services.armRequest('GET', `${id}/opsbookData`, {apiVersion: apiVersions.redis, signal: context.signal})
    if (response.status !== 200) return {}
    const keyCount = typeof response.body?.keyCount === 'number' ? response.body.keyCount : undefined
    const raw = response.body?.dataAsOf
    return {keyCount, dataAsOf: typeof raw === 'string' && !Number.isNaN(Date.parse(raw)) ? new Date(raw).toISOString() : undefined}
  } catch {
    return {}
  }
}

export const redisActions: ActionDefinition[] = [exportAction, importAction, latestSnapshotAction, setPatchScheduleAction, getPatchScheduleAction, verifyAction]

/** The az line that makes the container SAS the export/import az lines use (`$SAS`). */
export function sasAzLine(plan: PlanContext, loc: SnapshotLocation, permissions: string, ttl: string): string {
  const sas = redisTransferSas(permissions, ttl)
  return `SAS=$(az storage container generate-sas --account-name ${loc.storageAccount} --name ${loc.container} --permissions ${permissions} --start ${sasTime(plan, -sas.startsBeforeMs)} --expiry ${sasTime(plan, sas.expiresInMs)} --auth-mode login --as-user -o tsv)`
}

/** A SAS time an az line shows: the plan's time plus `offsetMs`, in the `YYYY-MM-DDTHH:MMZ` form az accepts. */
function sasTime(plan: PlanContext, offsetMs: number): string {
  const at = new Date((plan.now ?? new Date()).getTime() + offsetMs)
  return `${at.toISOString().slice(0, 16)}Z`
}

/** Import/export needs a Premium cache: refused from the catalog's declared SKU before the run starts. */
function tierPreflight(plan: PlanContext, cache: string): PreflightRefusal | undefined {
  const {component, componentKey} = resolveResource(plan.environment, 'redis', cache)
  const refusal = component?.type === 'redis' ? redisRefusal('import/export', component.sku) : undefined
  return refusal && {message: `${component!.name}: ${refusal.message}`, component: componentKey, field: 'sku'}
}

/** The same rule against the cache as Azure reports it (the catalog may be out of date): exit 2 before any change. */
function assertTier(cache: {sku?: {name?: string}}, resource: ResolvedResource): void {
  const refusal = redisRefusal('import/export', cache.sku?.name ?? 'Premium')
  if (refusal) throw new ActionFailure(`${resource.name}: ${refusal.message}`, {code: 'tier-not-capable', exitCode: ExitCode.invalidInput, details: {...refusal}})
}

/** The export of either kind: canary, SAS, the kind's export call, then the blobs listed and stamped. */
export async function runExport(input: z.infer<typeof exportInput>, context: ActionContext, flavour: CacheFlavour): Promise<z.infer<typeof exportOutput>> {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, flavour.kind, input.cache)
      const location = snapshotLocation(resource, input)
      if (input.drill && input.prefix)
        throw new ActionFailure('give either prefix or drill: a drill copy is always named from the cache and the run id', {code: 'invalid-input', exitCode: ExitCode.invalidInput})
      const previous = context.operations.inFlight()
      const startedAt = (previous?.state?.startedAt as string | undefined) ?? context.now().toISOString()
      const prefix =
        (previous?.state?.prefix as string | undefined) ??
        (input.drill ? drillSnapshotName(resource.name, context.runId) : (input.prefix ?? snapshotPrefix(resource.name, new Date(startedAt))))
      flavour.assertCapable(await flavour.read(services, resource, context.signal), resource)

      const service = await services.blob(location.storageAccount)
      await service
        .getContainerClient(location.container)
        .createIfNotExists()
        .catch(() => undefined) // may exist already, or the caller may lack container write: export reports the real problem
      const probe = probeOf(resource)
      let canaryAt = previous?.state?.canaryAt as string | undefined
      if (!previous && probe?.canary && (input.writeCanary ?? probe.canary.write)) {
        const client = await connectCache(context, services, resource, await flavour.read(services, resource, context.signal), probe)
        try {
          canaryAt = await writeCanary(client, probe, context)
        } finally {
          client.disconnect()
        }
        context.log(`canary ${probe.canary.key} set to ${canaryAt} in ${resource.name}`)
      }
      const sasUrl = await services.containerSasUrl(location.storageAccount, location.container, redisTransferSas(REDIS_EXPORT_SAS_PERMISSIONS, input.sasTtl))
      context.secret(sasUrl)
      context.secret(sasUrl.slice(sasUrl.indexOf('?') + 1))

      context.log(`exporting ${resource.name} to ${location.storageAccount}/${location.container}/${prefix}`)
      const exportOnce = (reattach?: null) =>
        runTracked(context, services, {
          ...(reattach === null ? {reattach} : {}),
          description: `${flavour.action}.export ${resource.name} → ${location.container}/${prefix}`,
          method: 'POST',
          resource: `${resource.id}/export`,
          state: {prefix, startedAt, ...(canaryAt ? {canaryAt} : {})},
          call: (options) =>
            flavour
              .exportTo(services, resource, {containerSasUrl: sasUrl, prefix}, options)
              .catch((error: unknown) => {
                throw toAzureError(withoutSas(error, [sasUrl]), {
                  operation: `export of ${resource.name}`,
                  hints: [
                    (f) =>
                      f.statusCode === 409 || f.armCode === 'Conflict'
                        ? `another operation is running on ${resource.name} (${flavour.conflictHint}): wait until its provisioningState is Succeeded (${flavour.action}.verify) and retry; also check the storage account firewall lets Azure Cache for Redis in`
                        : undefined,
                  ],
                })
              }),
        })
      // A Managed Redis export writes into the directory its SAS URI names (<prefix>/<database>.rdb): list under it,
      // not every blob starting with the same name (a scheduled snapshot taken in the same second is named <prefix>).
      const list = () => listSnapshots(services, location, flavour.kind === 'managedredis' ? `${prefix}/` : prefix)
      const sent = await exportOnce()
      let blobs = await list()
      // Re-attached (resumed) to an export an earlier process started: that export may have ended long before, and
      // what it wrote be gone since — the full-disk case (issue 16, fault matrix dr-drill × disk full): the step's
      // success could not be journaled, the run failed, and its `finally` (drill.teardown) deleted the drill copy with
      // its records lost too, so the resume still saw the export in flight. The cache still holds the data: export it
      // again (same prefix, never re-attaching) rather than fail on a copy this run itself removed. An export that
      // reports success and writes nothing when sent anew is still the error below.
      if (blobs.length === 0 && sent.resumed) {
        context.log(`the export ${previous?.description} started before the resume left no blob named ${prefix}* (deleted since, e.g. by this run's teardown): exporting again`)
        blobs = await exportOnce(null).then(list)
      }
      if (blobs.length === 0)
        throw new ActionFailure(`the export of ${resource.name} reported success but wrote no blob named ${prefix}* in ${location.container}`, {code: 'redis-export-empty'})
      // Stamp when the data is from, unless the writer already did, and mark a drill copy as one.
      const container = service.getContainerClient(location.container)
      for (const blob of blobs) {
        const client = container.getBlobClient(blob.name)
        const props = await client.getProperties().catch(() => undefined)
        const stamp = props && !props.metadata?.[SNAPSHOT_TIME_METADATA]
        if (props && (stamp || (input.drill && props.metadata?.[DRILL_RUN_METADATA] !== context.runId))) {
          const metadata = {...props.metadata, ...(stamp ? {[SNAPSHOT_TIME_METADATA]: startedAt} : {}), ...(input.drill ? {[DRILL_RUN_METADATA]: context.runId} : {})}
          await client.setMetadata(metadata).catch(() => undefined)
          if (stamp) blob.takenAt = startedAt
        }
      }
      const takenAt = blobs.map((b) => b.takenAt).sort()[0]!
      context.log(`exported ${blobs.length} blob(s): ${blobs.map((b) => b.name).join(', ')}`)
      return {
        cache: resource.name,
        storageAccount: location.storageAccount,
        container: location.container,
        prefix,
        blobs: blobs.map((b) => b.name),
        takenAt,
        startedAt,
        completedAt: context.now().toISOString(),
        ...(canaryAt ? {canaryAt} : {}),
      }
    })
}

/** The import of either kind: the snapshot chosen, read-only SAS URLs (secret), the kind's import call. */
export async function runImport(input: z.infer<typeof importInput>, context: ActionContext, flavour: CacheFlavour): Promise<z.infer<typeof importOutput>> {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const resource = resolveResource(context.environment, flavour.kind, input.cache)
      const location = snapshotLocation(resource, input)
      flavour.assertCapable(await flavour.read(services, resource, context.signal), resource)
      let chosen: SnapshotBlob[]
      if (input.files) {
        const all = await listSnapshots(services, location, '')
        chosen = input.files.map((name) => all.find((b) => b.name === name) ?? {name, takenAt: ''})
      } else {
        const all = await listSnapshots(services, location, input.prefix ?? `${resource.name}-`)
        chosen = input.prefix ? all : all.filter((b) => !isDrillCopy(b)).slice(-1)
      }
      if (chosen.length === 0)
        throw new ActionFailure(`no snapshot to import for ${resource.name} in ${location.storageAccount}/${location.container}`, {
          code: 'redis-no-snapshot',
          exitCode: ExitCode.invalidInput,
        })
      const sasUrl = await services.containerSasUrl(location.storageAccount, location.container, redisTransferSas(REDIS_IMPORT_SAS_PERMISSIONS, input.sasTtl))
      context.secret(sasUrl)
      const [base, query] = [sasUrl.slice(0, sasUrl.indexOf('?')), sasUrl.slice(sasUrl.indexOf('?') + 1)]
      context.secret(query)
      const urls = chosen.map((b) => `${base}/${b.name.split('/').map(encodeURIComponent).join('/')}?${query}`)
      for (const url of urls) context.secret(url)

      const startedAt = context.now().toISOString()
      context.log(`importing ${chosen.map((b) => b.name).join(', ')} into ${resource.name}`)
      await runTracked(context, services, {
        description: `${flavour.action}.import ${chosen.map((b) => b.name).join(', ')} → ${resource.name}`,
        method: 'POST',
        resource: `${resource.id}/import`,
        state: {startedAt, files: chosen.map((b) => b.name)},
        call: (options) =>
          flavour.importFrom(services, resource, urls, options).catch((error: unknown) => {
            throw toAzureError(withoutSas(error, [query, ...urls]), {operation: `import into ${resource.name}`})
          }),
      })
      const dataAsOf = chosen.map((b) => b.takenAt).filter(Boolean).sort().at(-1)
      return {cache: resource.name, files: chosen.map((b) => b.name), dataAsOf: dataAsOf || undefined, startedAt, importedAt: context.now().toISOString()}
    })
}
