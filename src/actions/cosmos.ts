/**
 * Azure Cosmos DB (NoSQL API) actions: the restore window of an account in the continuous backup mode (restorable
 * database account: oldest restorable time; the probed container's latest restorable timestamp), point-in-time restore
 * into a new account (createMode Restore), verification with the newest `_ts` read from the restored container, and
 * safe deletion of accounts this run made. SDK: @azure/arm-cosmosdb 16.4 (api-version 2025-10-15), imported lazily.
 *
 * Continuous backup and restore: https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction
 * (a restore always creates a new account, from a point between the oldest restorable time and now);
 * https://learn.microsoft.com/azure/cosmos-db/restore-account-continuous-backup (restoreParameters of the REST call).
 * Periodic-mode accounts are restored by an Azure support request only
 * (https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction#request-data-restore-from-a-backup):
 * opsbook reports them as not restorable, with that reason, and changes nothing.
 */
import {z} from 'zod'
import type {DatabaseAccountGetResults} from '@azure/arm-cosmosdb'
import type {CosmosDbComponent, Environment} from '../catalog/schema.js'
import {ExitCode, OpsbookError} from '../errors.js'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import type {AzureServices} from '../azure/clients.js'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import {ActionFailure, isNotFound, toAzureError} from '../azure/errors.js'
import {runTracked} from '../azure/lro.js'
import {TAG_EXPIRES, TAG_RESTORE_POINT, TAG_RUN_ID, TAG_SCRATCH, TAG_SOURCE} from './postgres.js'
import {azureServices, delay, derivedName, withRetryLog} from './resolve.js'
import {defineAction, type ActionContext, type ActionDefinition} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT1H'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time, e.g. 2026-11-23T08:15:00Z'})
const optionalDateTime = z.preprocess((v) => (v === '' || v === null ? undefined : v), isoDateTime.optional())
const accountRef = z.string().min(1).describe('Catalog component key (cosmosdb), account name, or ARM resource id')

export const COSMOS_API_VERSION = '2025-10-15'
const TAG_STARTED = 'opsbook-started-at'

const ACCOUNT_READ = 'Microsoft.DocumentDB/databaseAccounts/read'
const ACCOUNT_WRITE = 'Microsoft.DocumentDB/databaseAccounts/write'
const ACCOUNT_DELETE = 'Microsoft.DocumentDB/databaseAccounts/delete'
// restorable.json: listing restorable accounts needs …/locations/restorableDatabaseAccounts/read; a restore also needs
// …/restore/action on the restorable account (https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-permissions).
const RESTORABLE_READ = 'Microsoft.DocumentDB/locations/restorableDatabaseAccounts/read'
const RESTORE_ACTION = 'Microsoft.DocumentDB/locations/restorableDatabaseAccounts/restore/action'
const BACKUP_INFO = 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/retrieveContinuousBackupInformation/action'

export interface ResolvedAccount {
  name: string
  resourceGroup: string
  subscription: string
  id: string
  component?: CosmosDbComponent
  componentKey?: string
}

/** An account by catalog key, account name (of a cosmosdb component, else in the environment's first resource group), or resource id. */
export function resolveAccount(environment: Environment, reference: string): ResolvedAccount {
  const make = (name: string, resourceGroup: string, component?: CosmosDbComponent, key?: string, subscription = environment.subscription): ResolvedAccount => ({
    name,
    resourceGroup,
    subscription,
    id: `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${name}`,
    component,
    componentKey: key,
  })
  const id = /^\/?subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DocumentDB\/databaseAccounts\/([^/]+)$/i.exec(reference.trim())
  if (id) return make(id[3]!, id[2]!, undefined, undefined, id[1]!)
  const byKey = environment.components[reference]
  if (byKey) {
    if (byKey.type !== 'cosmosdb') throw new OpsbookError(`component ${reference} is a ${byKey.type}, not a cosmosdb`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
    return make(byKey.name, byKey.resourceGroup ?? environment.resourceGroups[0]!, byKey, reference)
  }
  const found = Object.entries(environment.components).find(([, c]) => c.type === 'cosmosdb' && c.name.toLowerCase() === reference.toLowerCase())
  if (found) {
    const c = found[1] as CosmosDbComponent
    return make(c.name, c.resourceGroup ?? environment.resourceGroups[0]!, c, found[0])
  }
  const home = Object.values(environment.components).find((c): c is CosmosDbComponent => c.type === 'cosmosdb')
  return make(reference, home?.resourceGroup ?? environment.resourceGroups[0]!)
}

const armAccount = (a: {id: string}) => `${a.id}?api-version=${COSMOS_API_VERSION}`

async function findAccount(services: AzureServices, a: {resourceGroup: string; name: string}, signal: AbortSignal): Promise<DatabaseAccountGetResults | undefined> {
  const client = await services.cosmos()
  try {
    return await client.databaseAccounts.get(a.resourceGroup, a.name, {abortSignal: signal})
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw toAzureError(error, {operation: `read Cosmos DB account ${a.name}`})
  }
}

async function getAccount(services: AzureServices, a: ResolvedAccount, signal: AbortSignal): Promise<DatabaseAccountGetResults> {
  const account = await findAccount(services, a, signal)
  if (!account) throw new ActionFailure(`Cosmos DB account ${a.name} does not exist in ${a.resourceGroup}`, {code: 'cosmos-not-found', exitCode: ExitCode.invalidInput})
  return account
}

// ---------------------------------------------------------------------------------------------------------------------
// restoreWindow

interface RestoreWindow {
  restoreSource: string
  oldestRestorableTime: string
  latestRestorableTime: string
  latestFrom: 'container' | 'now'
  backupTier: string
  location: string
}

/** Why opsbook cannot restore this account, or undefined when it can (continuous backup, NoSQL API). */
export function notRestorableReason(account: Pick<DatabaseAccountGetResults, 'name' | 'backupPolicy' | 'kind'>): string | undefined {
  if (account.kind && account.kind !== 'GlobalDocumentDB') return `${account.name} is a ${account.kind} account: opsbook restores NoSQL (GlobalDocumentDB) accounts only`
  if (account.backupPolicy?.type !== 'Continuous')
    return `${account.name} uses the ${account.backupPolicy?.type ?? 'Periodic'} backup mode: Azure restores periodic backups only through a support request, so opsbook cannot restore it to a point in time (migrate it to continuous backup: az cosmosdb update --backup-policy-type Continuous)`
  return undefined
}

async function restoreWindowOf(services: AzureServices, context: ActionContext, a: ResolvedAccount, account: DatabaseAccountGetResults): Promise<RestoreWindow> {
  const reason = notRestorableReason(account)
  if (reason) throw new ActionFailure(`not restorable by opsbook: ${reason}`, {code: 'cosmos-not-restorable', exitCode: ExitCode.invalidInput, details: {account: a.name, backupPolicy: account.backupPolicy?.type ?? 'Periodic'}})
  const client = await services.cosmos()
  const location = account.location ?? account.locations?.[0]?.locationName ?? context.environment.region
  let restorable: {id?: string; oldestRestorableTime?: Date; creationTime?: Date} | undefined
  try {
    for await (const r of client.restorableDatabaseAccounts.listByLocation(location.replace(/\s+/g, '').toLowerCase(), {abortSignal: context.signal}))
      if (r.accountName?.toLowerCase() === a.name.toLowerCase() && !r.deletionTime) restorable = r
  } catch (error) {
    throw toAzureError(error, {operation: `list the restorable Cosmos DB accounts in ${location}`})
  }
  if (!restorable?.id) throw new ActionFailure(`${a.name} is not listed among the restorable accounts of ${location}`, {code: 'cosmos-not-restorable', exitCode: ExitCode.invalidInput})
  // The latest restorable timestamp of the probed container (restorable.json retrieveContinuousBackupInformation);
  // without probes, "now" (continuous backup restores up to the present, with a backup lag of about 100 seconds).
  let latest = context.now()
  let latestFrom: RestoreWindow['latestFrom'] = 'now'
  const probe = a.component?.dataProbes
  if (probe) {
    const info = await client.sqlResources
      .beginRetrieveContinuousBackupInformationAndWait(a.resourceGroup, a.name, probe.database, probe.container, {location}, {abortSignal: context.signal, updateIntervalInMs: services.pollIntervalMs})
      .catch((error: unknown) => {
        throw toAzureError(error, {operation: `read the continuous backup information of ${a.name}/${probe.database}/${probe.container}`})
      })
    const text = info.continuousBackupInformation?.latestRestorableTimestamp
    // Azure answers epoch seconds as text, or an ISO date-time: both are read.
    const at = text === undefined ? undefined : /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text)
    if (at && !Number.isNaN(at.getTime())) {
      latest = at
      latestFrom = 'container'
    }
  }
  return {
    restoreSource: restorable.id,
    oldestRestorableTime: (restorable.oldestRestorableTime ?? restorable.creationTime ?? new Date(0)).toISOString(),
    latestRestorableTime: latest.toISOString(),
    latestFrom,
    backupTier: (account.backupPolicy as {continuousModeProperties?: {tier?: string}}).continuousModeProperties?.tier ?? 'Continuous30Days',
    location,
  }
}

function checkPoint(a: ResolvedAccount, window: RestoreWindow, point: Date | undefined): void {
  if (!point) return
  if (point.getTime() >= Date.parse(window.oldestRestorableTime) && point.getTime() <= Date.parse(window.latestRestorableTime)) return
  const tooEarly = point.getTime() < Date.parse(window.oldestRestorableTime)
  throw new ActionFailure(`restore point ${point.toISOString()} is outside the restore window of ${a.name}: [${window.oldestRestorableTime}, ${window.latestRestorableTime}] (${window.backupTier})`, {
    code: 'cosmos-restore-point-outside-window',
    exitCode: ExitCode.invalidInput,
    details: {...window, pointInTime: point.toISOString()},
    suggestions: [tooEarly ? `choose a point at or after ${window.oldestRestorableTime} (the oldest restorable time)` : `choose a point at or before ${window.latestRestorableTime} (or omit it for the latest)`],
  })
}

export const cosmosRestoreWindowAction = defineAction({
  name: 'cosmos.restoreWindow',
  summary: 'Read a Cosmos DB account\'s restore window (restorable account, latest restorable timestamp) and check a point against it',
  description:
    'Reads the account: a periodic-backup (or non-NoSQL) account is reported as not restorable by opsbook, with the reason, exit 2. Otherwise finds the account among the restorable database accounts of its region (oldestRestorableTime) and, when the catalog names a probe container, its latest restorable timestamp (retrieveContinuousBackupInformation); a point outside [oldest, latest] fails with exit 2 before anything changes.',
  input: z.strictObject({account: accountRef, pointInTime: optionalDateTime.describe('Point to restore to (UTC); default: only report the window')}),
  output: z.strictObject({
    account: z.string(),
    restoreSource: z.string().describe('Restorable database account id (restoreParameters.restoreSource)'),
    oldestRestorableTime: z.string(),
    latestRestorableTime: z.string(),
    latestFrom: z.enum(['container', 'now']).describe('container: the probed container\'s latest restorable timestamp; now: no probe container in the catalog'),
    backupTier: z.string(),
    location: z.string(),
    pointInTime: z.string().optional(),
    warnings: z.array(z.string()),
  }),
  changes: false,
  permissions: [ACCOUNT_READ, RESTORABLE_READ, BACKUP_INFO],
  az: (input, plan) => {
    const a = resolveAccount(plan.environment, input.account)
    const probe = a.component?.dataProbes
    return [
      `az cosmosdb show --resource-group ${a.resourceGroup} --name ${a.name} --query backupPolicy`,
      `az cosmosdb restorable-database-account list --account-name ${a.name}`,
      ...(probe
        ? [`az cosmosdb sql retrieve-latest-backup-time --resource-group ${a.resourceGroup} --account-name ${a.name} --database-name ${probe.database} --container-name ${probe.container} --location ${a.component?.regions[0] ?? a.component?.region ?? plan.environment.region}`]
        : []),
    ]
  },
  arm: (input, plan) => {
    const a = resolveAccount(plan.environment, input.account)
    return [
      {method: 'GET', path: armAccount(a), note: 'backupPolicy, location'},
      {method: 'GET', path: `/subscriptions/${a.subscription}/providers/Microsoft.DocumentDB/locations/<location>/restorableDatabaseAccounts?api-version=${COSMOS_API_VERSION}`},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const a = resolveAccount(context.environment, input.account)
    const account = await withRetryLog(context, services, () => getAccount(services, a, context.signal))
    const window = await withRetryLog(context, services, () => restoreWindowOf(services, context, a, account))
    const point = input.pointInTime ? new Date(input.pointInTime) : undefined
    checkPoint(a, window, point)
    const warnings: string[] = []
    if (a.component && a.component.backup !== 'periodic' && window.backupTier.toLowerCase() !== a.component.backup.toLowerCase())
      warnings.push(`backup tier is ${window.backupTier}, the catalog says ${a.component.backup}`)
    if (!a.component?.dataProbes) warnings.push('no dataProbes in the catalog: the latest restorable time is taken as now, and the RPO of a restore cannot be read')
    for (const w of warnings) context.log(`warning: ${w}`)
    context.log(`${a.name} restorable from ${window.oldestRestorableTime} to ${window.latestRestorableTime} (${window.backupTier})`)
    return {account: a.name, ...window, pointInTime: point?.toISOString(), warnings}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// restore

const purposeOf = (scratch: boolean) => (scratch ? 'drill' : 'pitr')
/** Account names: 3–44 characters, lower-case letters, digits and hyphens (cosmos-db.json accountNameParameter). */
const ACCOUNT_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/

export const cosmosRestoreAction = defineAction({
  name: 'cosmos.restore',
  summary: 'Point-in-time restore of a Cosmos DB account into a new account (createMode Restore)',
  description:
    'Checks the restore window first (exit 2 before any change; periodic-backup accounts are refused with the reason), then PUTs a new account with createMode Restore and restoreParameters {restoreMode: PointInTime, restoreSource, restoreTimestampInUtc} in the source\'s write region, and waits until it has provisioningState Succeeded. Journaled as soon as ARM accepts it; `opsbook resume` re-attaches. Tags: opsbook-run-id, opsbook-scratch, opsbook-expires, opsbook-source, opsbook-restore-point.',
  input: z.strictObject({
    account: accountRef.describe('The source account'),
    pointInTime: optionalDateTime.describe('UTC point to restore to; default: the latest restorable time'),
    targetName: z.string().min(3).max(44).regex(ACCOUNT_NAME, 'account names are 3-44 lower-case letters, digits and hyphens').optional().describe('Name of the new account; default <account>-pitr-<run> (or -drill- when scratch)'),
    scratch: z.boolean().default(false).describe('A throw-away copy (drills): cosmos.delete then only removes scratch accounts of this run'),
    expiresIn: isoDuration.default('PT4H').describe('Written to the opsbook-expires tag so forgotten copies can be found and removed'),
    timeout: isoDuration.default('PT2H').describe('How long to wait for the new account to be provisioned'),
  }),
  output: z.strictObject({
    account: z.string().describe('Name of the new account'),
    resourceGroup: z.string(),
    resourceId: z.string(),
    sourceAccount: z.string(),
    pointInTime: z.string(),
    startedAt: z.string(),
    readyAt: z.string(),
    resumed: z.boolean(),
  }),
  changes: true,
  // Not documented as a duration (it grows with the data restored); as PostgreSQL's restores, and past the input
  // `timeout` (PT2H) for the account to be provisioned.
  defaultTimeout: 'PT12H',
  permissions: [ACCOUNT_READ, RESTORABLE_READ, RESTORE_ACTION, ACCOUNT_WRITE],
  az: (input, plan) => {
    const a = resolveAccount(plan.environment, input.account)
    const target = input.targetName ?? `${a.name}-${purposeOf(input.scratch)}-<run>`
    return [
      `az cosmosdb restore --resource-group ${a.resourceGroup} --account-name ${a.name} --target-database-account-name ${target} --restore-timestamp ${input.pointInTime ?? (plan.now ?? new Date()).toISOString()} --location ${a.component?.regions[0] ?? a.component?.region ?? plan.environment.region}`,
      `az resource tag --ids /subscriptions/${a.subscription}/resourceGroups/${a.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${target} --is-incremental --tags ${TAG_SCRATCH}=${input.scratch}`,
    ]
  },
  arm: (input, plan) => {
    const a = resolveAccount(plan.environment, input.account)
    const target = `/subscriptions/${a.subscription}/resourceGroups/${a.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${input.targetName ?? `${a.name}-${purposeOf(input.scratch)}-<run>`}?api-version=${COSMOS_API_VERSION}`
    return [
      {method: 'GET', path: armAccount(a), note: 'source: backupPolicy, location'},
      {method: 'PUT', path: target, longRunning: true, note: 'createMode Restore, restoreParameters {PointInTime, restoreSource, restoreTimestampInUtc}'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    return withRetryLog(context, services, async () => {
      const a = resolveAccount(context.environment, input.account)
      const previous = context.operations.inFlight()
      const target = (previous?.state?.account as string | undefined) ?? input.targetName ?? derivedName(a.name, purposeOf(input.scratch), context.runId, 44)
      const targetRef = {resourceGroup: a.resourceGroup, name: target}
      const targetId = `/subscriptions/${a.subscription}/resourceGroups/${a.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${target}`
      const client = await services.cosmos()
      const source = await getAccount(services, a, context.signal)
      let point = previous?.state?.pointInTime as string | undefined
      let window: RestoreWindow | undefined
      if (!previous) {
        window = await restoreWindowOf(services, context, a, source)
        point ??= input.pointInTime ?? window.latestRestorableTime
        checkPoint(a, window, new Date(point))
      }
      let startedAt = (previous?.state?.startedAt as string | undefined) ?? context.now().toISOString()
      let resumed = false
      const existing = previous ? undefined : await findAccount(services, targetRef, context.signal)
      if (existing) {
        if (existing.tags?.[TAG_RUN_ID] !== context.runId)
          throw new ActionFailure(`a Cosmos DB account named ${target} already exists and was not created by this run`, {
            code: 'cosmos-target-exists',
            exitCode: ExitCode.invalidInput,
            suggestions: ['pass another targetName', `or delete it: az cosmosdb delete --resource-group ${a.resourceGroup} --name ${target} --yes`],
          })
        context.log(`${target} already exists from an earlier attempt of this run: waiting for it instead of restoring again`)
        startedAt = existing.tags?.[TAG_STARTED] ?? startedAt
        resumed = true
      } else {
        const at = new Date(point!)
        const location = window?.location ?? source.location!
        const tags = {
          ...(source.tags ?? {}),
          [TAG_RUN_ID]: context.runId,
          [TAG_SCRATCH]: String(input.scratch),
          [TAG_EXPIRES]: new Date(context.now().getTime() + parseDuration(input.expiresIn)!).toISOString(),
          [TAG_SOURCE]: a.name,
          [TAG_RESTORE_POINT]: at.toISOString(),
          [TAG_STARTED]: startedAt,
        }
        context.log(`restoring ${a.name} as of ${at.toISOString()} into the new account ${target}`)
        const tracked = await runTracked(context, services, {
          description: `cosmos.restore ${a.name} → ${target}`,
          method: 'PUT',
          resource: targetId,
          state: {account: target, pointInTime: at.toISOString(), startedAt},
          call: (options) =>
            client.databaseAccounts
              .beginCreateOrUpdateAndWait(
                a.resourceGroup,
                target,
                {
                  location,
                  kind: 'GlobalDocumentDB',
                  tags,
                  databaseAccountOfferType: 'Standard',
                  locations: [{locationName: location, failoverPriority: 0}],
                  createMode: 'Restore',
                  restoreParameters: {restoreMode: 'PointInTime', restoreSource: window!.restoreSource, restoreTimestampInUtc: at},
                },
                options as never,
              )
              .catch((error: unknown) => {
                throw toAzureError(error, {operation: `point-in-time restore of ${a.name} into ${target}`})
              }),
        })
        resumed = tracked.resumed
      }
      const ready = await waitProvisioned(services, context, targetRef, parseDuration(input.timeout)!)
      const readyAt = context.now().toISOString()
      context.log(`${target} is provisioned (${humanDuration(Date.parse(readyAt) - Date.parse(startedAt))} after the restore started)`)
      return {account: target, resourceGroup: a.resourceGroup, resourceId: ready.id ?? targetId, sourceAccount: a.name, pointInTime: new Date(point!).toISOString(), startedAt, readyAt, resumed}
    })
  },
})

async function waitProvisioned(services: AzureServices, context: ActionContext, a: {resourceGroup: string; name: string}, timeoutMs: number): Promise<DatabaseAccountGetResults> {
  const deadline = Date.now() + timeoutMs
  let last: string | undefined
  for (;;) {
    const account = await findAccount(services, a, context.signal)
    const state = account?.provisioningState ?? 'NotFound'
    if (state !== last) context.log(`${a.name}: ${(last = state)}`)
    if (account && /^succeeded$/i.test(state)) return account
    if (/^failed$/i.test(state)) throw new ActionFailure(`Cosmos DB account ${a.name} is ${state}; it will not be provisioned by waiting`, {code: 'cosmos-provisioning-failed'})
    if (Date.now() >= deadline) throw new ActionFailure(`Cosmos DB account ${a.name} is still ${state} after ${humanDuration(timeoutMs)}`, {code: 'cosmos-wait-timeout', retryable: true})
    await delay(services.pollIntervalMs, context.signal)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// verify

/**
 * The newest `_ts` of the probe container. The emulator's in-process data plane answers `opsbookItems`; against Azure
 * this would be the data-plane query `SELECT TOP 1 c._ts FROM c ORDER BY c._ts DESC` with an Entra token, which opsbook
 * does not run yet (no Cosmos DB data-plane client is a dependency): left unknown, never guessed.
 */
async function newestItem(services: AzureServices, context: ActionContext, a: ResolvedAccount, probe: CosmosDbComponent['dataProbes']): Promise<{at?: string; count?: number; source: 'data' | 'unknown'; note?: string}> {
  if (!probe) return {source: 'unknown', note: 'no dataProbes in the catalog: the newest item was not read'}
  const path = `${a.id}/sqlDatabases/${encodeURIComponent(probe.database)}/containers/${encodeURIComponent(probe.container)}/opsbookItems`
  const response = await services.armRequest('GET', path, {apiVersion: COSMOS_API_VERSION, signal: context.signal}).catch(() => undefined)
  if (response?.status === 200 && response.body && 'newestAt' in response.body)
    return typeof response.body.newestAt === 'string'
      ? {at: new Date(response.body.newestAt).toISOString(), count: Number(response.body.count), source: 'data'}
      : {count: 0, source: 'unknown', note: `${probe.database}/${probe.container} holds no items`}
  return {source: 'unknown', note: `the newest _ts of ${probe.database}/${probe.container} is read by the emulator's data plane only; against Azure it is not read yet (RPO unmeasured)`}
}

export const cosmosVerifyAction = defineAction({
  name: 'cosmos.verify',
  summary: 'Verify a Cosmos DB account is provisioned and read how fresh its data is (newest `_ts` of the probe container)',
  description:
    'Fails when the account is not provisioningState Succeeded, or when the catalog\'s probe database/container is missing from it. dataAsOf is the newest item `_ts` in the probe container (against the emulator: its in-process data plane, dataAsOfSource data); against Azure it is left unknown — opsbook has no Cosmos DB data-plane client yet.',
  input: z.strictObject({
    account: accountRef.describe('The account to verify (e.g. the restored copy)'),
    probes: z.string().optional().describe('Catalog cosmosdb component whose dataProbes run against this account'),
    pointInTime: optionalDateTime.describe('The restore point (for the report)'),
  }),
  output: z.strictObject({
    account: z.string(),
    provisioningState: z.string(),
    restorePoint: z.string().optional(),
    dataAsOf: z.string().optional().describe('Newest item `_ts` in the probe container (ISO), when read'),
    dataAsOfSource: z.enum(['data', 'unknown']),
    items: z.number().optional(),
    verifiedAt: z.string(),
    notes: z.array(z.string()),
  }),
  changes: false,
  permissions: [ACCOUNT_READ, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/read'],
  az: (input, plan) => {
    const a = resolveAccount(plan.environment, input.account)
    const probe = (input.probes ? resolveAccount(plan.environment, input.probes).component : a.component)?.dataProbes
    return [
      `az cosmosdb show --resource-group ${a.resourceGroup} --name ${a.name} --query provisioningState`,
      ...(probe ? [`az cosmosdb sql container show --resource-group ${a.resourceGroup} --account-name ${a.name} --database-name ${probe.database} --name ${probe.container}`] : []),
    ]
  },
  arm: (input, plan) => [{method: 'GET', path: armAccount(resolveAccount(plan.environment, input.account))}],
  async run(input, context) {
    const services = azureServices(context)
    const probeComponent = input.probes ? resolveAccount(context.environment, input.probes).component : undefined
    const a = resolveAccount(context.environment, input.account)
    const account = await withRetryLog(context, services, () => getAccount(services, a, context.signal))
    if (!/^succeeded$/i.test(account.provisioningState ?? '')) throw new ActionFailure(`Cosmos DB account ${a.name} is ${account.provisioningState ?? 'in an unknown state'}, not Succeeded`, {code: 'cosmos-not-ready'})
    const probe = probeComponent?.dataProbes ?? a.component?.dataProbes
    if (probe) {
      const client = await services.cosmos()
      await client.sqlResources.getSqlContainer(a.resourceGroup, a.name, probe.database, probe.container, {abortSignal: context.signal}).catch((error: unknown) => {
        if (isNotFound(error)) throw new ActionFailure(`${a.name} has no container ${probe.database}/${probe.container}: the restore did not bring it back`, {code: 'cosmos-probe-container-missing'})
        throw toAzureError(error, {operation: `read container ${probe.database}/${probe.container} of ${a.name}`})
      })
    }
    const row = await newestItem(services, context, a, probe)
    context.log(`${a.name}: Succeeded${row.at ? `, newest item _ts ${row.at} (${row.count} items)` : ''}`)
    return {
      account: a.name,
      provisioningState: account.provisioningState!,
      restorePoint: input.pointInTime ? new Date(input.pointInTime).toISOString() : undefined,
      ...(row.at ? {dataAsOf: row.at} : {}),
      dataAsOfSource: row.source,
      ...(row.count === undefined ? {} : {items: row.count}),
      verifiedAt: context.now().toISOString(),
      notes: row.note ? [row.note] : [],
    }
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// delete / teardown

function copyOf(environment: Environment, input: {account?: string; source?: string; purpose: string}, runId: string): ResolvedAccount {
  if (input.source) {
    const source = resolveAccount(environment, input.source)
    return resolveAccount(environment, input.account ?? `/subscriptions/${source.subscription}/resourceGroups/${source.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${derivedName(source.name, input.purpose, runId, 44)}`)
  }
  if (!input.account) throw new ActionFailure('cosmos.delete needs account or source', {code: 'cosmos-delete-no-target', exitCode: ExitCode.invalidInput})
  return resolveAccount(environment, input.account)
}

export const cosmosDeleteAction = defineAction({
  name: 'cosmos.delete',
  summary: 'Delete a Cosmos DB account this run created (by default only scratch accounts of this run)',
  description:
    'With ifScratchOnly (the default) it refuses unless the account carries opsbook-scratch=true and this run\'s opsbook-run-id; otherwise it still refuses accounts opsbook did not create in this run. An account already gone counts as done, so teardown can run twice. `source` + `purpose` name the copy the way cosmos.restore derives it (<account>-pitr-<run>), for `finally` steps that run even when the restore left no outputs.',
  input: z.strictObject({
    account: z.string().optional().describe('The copy to delete (name or resource id)'),
    source: accountRef.optional().describe('The source account: the copy is derived as <source>-<purpose>-<run>'),
    purpose: z.enum(['pitr', 'drill']).default('pitr'),
    ifScratchOnly: z.boolean().default(true),
  }),
  output: z.strictObject({account: z.string(), deleted: z.boolean(), alreadyGone: z.boolean()}),
  changes: true,
  // No documented duration; an account delete takes minutes. Generous.
  defaultTimeout: 'PT2H',
  // An account already gone is "done" with no write: it says so (`gone`) for evidence verify's Activity Log witness.
  armWrites: 'when-needed',
  permissions: [ACCOUNT_READ, ACCOUNT_DELETE],
  az: (input, plan) => {
    const a = copyOf(plan.environment, input, '<run>')
    return [`az cosmosdb delete --resource-group ${a.resourceGroup} --name ${a.name} --yes`]
  },
  arm: (input, plan) => {
    const a = copyOf(plan.environment, input, '<run>')
    return [
      {method: 'GET', path: armAccount(a), note: 'tags: opsbook-run-id, opsbook-scratch'},
      {method: 'DELETE', path: armAccount(a), longRunning: true},
    ]
  },
  // The account it deletes, named as run() names it: what a `gone` finding must be about.
  targets: (input, plan) => [copyOf(plan.environment, input, plan.runId).id],
  async run(input, context) {
    const services = azureServices(context)
    const a = copyOf(context.environment, input, context.runId)
    return withRetryLog(context, services, async () => {
      const account = await findAccount(services, a, context.signal)
      if (!account) {
        context.log(`${a.name} does not exist (already deleted)`)
        foundWithoutWrite({kind: 'gone', resourceId: a.id})
        return {account: a.name, deleted: false, alreadyGone: true}
      }
      const tags = account.tags ?? {}
      if (tags[TAG_RUN_ID] !== context.runId || (input.ifScratchOnly && tags[TAG_SCRATCH] !== 'true'))
        throw new ActionFailure(`refusing to delete ${a.name}: it is not a ${input.ifScratchOnly ? 'scratch ' : ''}account of this run (${TAG_RUN_ID}=${tags[TAG_RUN_ID] ?? 'absent'}, ${TAG_SCRATCH}=${tags[TAG_SCRATCH] ?? 'absent'})`, {
          code: 'cosmos-delete-refused',
          exitCode: ExitCode.invalidInput,
        })
      const client = await services.cosmos()
      context.log(`deleting ${a.name}`)
      await runTracked(context, services, {
        description: `cosmos.delete ${a.name}`,
        method: 'DELETE',
        resource: a.id,
        call: (options) =>
          client.databaseAccounts.beginDeleteAndWait(a.resourceGroup, a.name, options as never).catch((error: unknown) => {
            if (isNotFound(error)) return
            throw toAzureError(error, {operation: `delete Cosmos DB account ${a.name}`})
          }),
      })
      return {account: a.name, deleted: true, alreadyGone: false}
    })
  },
})

export const cosmosActions: ActionDefinition[] = [cosmosRestoreWindowAction, cosmosRestoreAction, cosmosVerifyAction, cosmosDeleteAction]
