/**
 * Drill actions: measure what a recovery achieved against the catalog's objectives, report the table, check a
 * Redis RDB snapshot can be read back, and tear down the scratch copies a drill made.
 *
 * Measuring (`drill.measure`):
 * - RTO = verifiedAt − startedAt: from the start of the recovery to the moment the copy was verified.
 * - RPO = requestedPoint − recoveredDataAsOf: the point asked for (for "latest", the moment recovery started) against
 *   what the restored copy actually holds. A copy that holds less than was asked for is data loss. When what the copy
 *   holds was not read from the copy (Azure only echoes the restore point back), the RPO is unmeasured, never 0.
 * - Objectives the configuration cannot meet are flagged even when the drill itself went well: an RPO shorter than
 *   the Redis snapshot frequency, a cross-region objective without geo-redundant backup, a cross-region PostgreSQL RPO
 *   under the hour geo-restore guarantees, a retention shorter than the catalog asks for. Such a row's status is `cannot-meet`, and `drill.report` fails the run for it like for a miss.
 */
import {z} from 'zod'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import type {Component, Environment} from '../catalog/schema.js'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import {ActionFailure, isNotFound, toAzureError} from '../azure/errors.js'
import type {AzureServices} from '../azure/clients.js'
import {azureServices, delay, derivedName, resolveResource, withRetryLog} from './resolve.js'
import {deleteDrillSnapshots, drillSnapshotName, resolveCache} from './redis.js'
import {canaryRow, keyCountRow, probeOf, settleProbes, snapshotData, type ProbeRow} from './redis-data.js'
import {defineAction, type ActionContext, type ActionDefinition, type TrackedOperation} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT1H'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time'})

const measureSchema = z.strictObject({
  measuredMs: z.number().optional(),
  objectiveMs: z.number().optional(),
  met: z.boolean().optional(),
  /** The worst case the configuration allows (Redis: the snapshot frequency); when set, `met` is judged by it (snapshotRpoBound). */
  boundMs: z.number().optional(),
})

/** One row of the drill table; also the outputs of `drill.measure`. */
export const objectiveRowSchema = z.strictObject({
  component: z.string(),
  type: z.string(),
  rto: measureSchema,
  rpo: measureSchema,
  /** met: every objective measured and met; missed: one was not; cannot-meet: the configuration rules one out; unmeasured: an objective could not be measured; failed: the recovery itself failed (see error); no-objective: recovered, but the catalog sets no RTO or RPO to meet. */
  status: z.enum(['met', 'missed', 'cannot-meet', 'unmeasured', 'failed', 'no-objective']),
  notes: z.array(z.string()),
  /** Why the recovery failed: `<step>: <message>` of the first failed step of the component's chain. */
  error: z.string().optional(),
})
export type ObjectiveRow = z.infer<typeof objectiveRowSchema>

function componentOf(environment: Environment, key: string): Component {
  const component = environment.components[key]
  if (!component)
    throw new ActionFailure(`no component "${key}" in this environment (known: ${Object.keys(environment.components).join(', ')})`, {code: 'unknown-component'})
  return component
}

/**
 * The data loss Azure documents for a PostgreSQL flexible server geo-restore (recovery in the paired region from
 * geo-redundant backup): RPO < 1 hour. "Overview of business continuity with Azure Database for PostgreSQL flexible
 * server", https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-business-continuity (and
 * concepts-geo-disaster-recovery). A cross-region objective tighter than that cannot be guaranteed by backup.
 */
export const GEO_RESTORE_RPO_MS = 3_600_000

/** Why a PostgreSQL RPO is left unmeasured when the data age was not read from the restored server itself. */
export const PG_RPO_UNMEASURED_NOTE =
  "RPO not measured: Azure does not report the newest commit a restored server holds (its restore point is only what was asked for, and would read as 0); query the copy, e.g. SELECT timestamp FROM pg_last_committed_xact() with track_commit_timestamp on"

/**
 * What the catalog configuration rules out, whatever a drill measures. `observed` carries what Azure reported
 * (retention, geo backup) when the drill read it; the catalog's expectations are used otherwise.
 */
export function configurationIssues(component: Component, observed: {retentionDays?: number | null; geoRedundantBackup?: boolean | null} = {}): string[] {
  const issues: string[] = []
  const rpoMs = component.objectives?.rpo ? parseDuration(component.objectives.rpo) : undefined
  const crossRegion = component.objectives?.crossRegion ?? false
  if (component.type === 'postgres') {
    const geo = observed.geoRedundantBackup ?? component.geoRedundantBackup
    if (crossRegion && !geo) issues.push('cross-region objective without geo-redundant backup: a region loss cannot be recovered from backup')
    if (crossRegion && rpoMs !== undefined && rpoMs < GEO_RESTORE_RPO_MS)
      issues.push(
        `cross-region RPO ${component.objectives!.rpo} is shorter than the 1 hour geo-restore guarantees: a drill may measure less, but a region loss can lose up to an hour${
          component.replicas.length > 0 ? ' (promoting a cross-region read replica can do better, with no guarantee either: its lag is asynchronous)' : ''
        }`,
      )
    const retention = observed.retentionDays ?? component.backupRetentionDays
    if (observed.retentionDays != null && observed.retentionDays < component.backupRetentionDays)
      issues.push(`backup retention is ${observed.retentionDays} days, the catalog needs ${component.backupRetentionDays}`)
    if (retention < 7) issues.push(`backup retention of ${retention} days is below the 7 days a point-in-time restore needs to be useful`)
  }
  if (component.type === 'sqldb') {
    // Geo-restore of Azure SQL needs geo-redundant backup storage; its RPO is documented as up to 1 hour
    // (https://learn.microsoft.com/azure/azure-sql/database/business-continuity-high-availability-disaster-recover-hadr-overview).
    if (crossRegion && !/^geo/i.test(component.backupRedundancy) && !component.failoverGroup)
      issues.push(`cross-region objective with ${component.backupRedundancy}-redundant backups and no failover group: a region loss cannot be recovered`)
    const retention = observed.retentionDays ?? component.backupRetentionDays
    if (observed.retentionDays != null && observed.retentionDays < component.backupRetentionDays)
      issues.push(`point-in-time retention is ${observed.retentionDays} days, the catalog needs ${component.backupRetentionDays}`)
    if (retention < 7) issues.push(`point-in-time retention of ${retention} days is below the 7 days a restore needs to be useful`)
  }
  if (component.type === 'cosmosdb') {
    // Point-in-time restore needs the continuous backup mode; periodic backups are restored by an Azure support
    // request only (https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction), and a restore
    // goes to a region the account was in (https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction).
    if (component.backup === 'periodic') issues.push('periodic backup: not restorable by opsbook (Azure restores periodic backups through a support request only); use continuous backup')
    if (crossRegion && component.regions.length < 2) issues.push('cross-region objective with a single-region account: a region loss leaves no region to restore into or fail over to')
  }
  if (component.type === 'redis') {
    if (rpoMs !== undefined && !component.snapshots) issues.push('an RPO is set but no RDB snapshots are configured: the data cannot be recovered')
    const frequencyMs = component.snapshots ? parseDuration(component.snapshots.frequency) : undefined
    if (rpoMs !== undefined && frequencyMs !== undefined && frequencyMs > rpoMs)
      issues.push(`RPO ${component.objectives!.rpo} is shorter than the snapshot frequency ${component.snapshots!.frequency}: it cannot be met`)
    if (crossRegion) issues.push('cross-region objective: RDB snapshots restore in the same region only unless geo-replication is configured')
  }
  return issues
}

/**
 * The RPO of a recovery from scheduled RDB snapshots is a sawtooth: the newest snapshot is between 0 and one snapshot
 * interval old, so the data age a drill reads depends on when it runs, not on how well recovery works. Azure documents
 * it that way: with RDB persistence "the configurable backup frequency determines how often to persist the snapshot"
 * and after a failure "the cache is reconstructed using the most recent snapshot"
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-persistence), i.e. up to one interval
 * of writes is lost; an export, by contrast, writes the cache's current contents
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data#export). So a Redis row
 * keeps the measured data age but is judged by the worst case, the interval (`boundMs`): when the interval is within
 * the objective, met when the snapshot read is no older than the interval (plus a grace for the snapshot being
 * written: 10 % of the interval, at least a minute), however old within that; an interval longer than the objective
 * is flagged by configurationIssues (cannot-meet) and the measured age decides, as before. Two drills back to back, or an hour apart, give the same verdict;
 * a schedule that stopped (an older snapshot) still misses.
 */
export function snapshotRpoBound(component: Component, rpo: z.infer<typeof measureSchema>): {rpo: z.infer<typeof measureSchema>; note?: string} {
  if ((component.type !== 'redis' && component.type !== 'managedredis') || !component.snapshots || rpo.measuredMs === undefined) return {rpo}
  const boundMs = parseDuration(component.snapshots.frequency)
  if (boundMs === undefined) return {rpo}
  const graceMs = Math.max(60_000, boundMs / 10)
  const scheduleKept = rpo.measuredMs <= boundMs + graceMs
  // An interval longer than the objective is a configuration issue (configurationIssues: cannot-meet); the verdict is
  // then the measured age's, as the bound cannot be met anyway.
  const met = rpo.objectiveMs === undefined ? undefined : scheduleKept && (boundMs <= rpo.objectiveMs || rpo.measuredMs <= rpo.objectiveMs)
  const note = scheduleKept
    ? `RPO bound ${humanDuration(boundMs)}: snapshots every ${component.snapshots.frequency}, so a recovery from the newest loses at most that; this one's data was ${humanDuration(rpo.measuredMs)} old`
    : `the newest snapshot's data is ${humanDuration(rpo.measuredMs)} old, more than one snapshot interval (${component.snapshots.frequency}): the schedule did not run`
  return {rpo: {...rpo, boundMs, ...(met === undefined ? {} : {met})}, note}
}

const isRouter = (component: Component) => component.type === 'trafficmanager' || component.type === 'frontdoor'

/** Why a traffic router's row has no RPO (region-failover's leg of the drill). */
export const ROUTER_RPO_NOTE = 'RPO n/a: a router holds no data; a failover loses what the data tier behind it does (its rows)'

/** A measured duration against an objective (ms). */
function compare(measuredMs: number | undefined, objectiveMs: number | undefined): z.infer<typeof measureSchema> {
  const out: z.infer<typeof measureSchema> = {}
  if (measuredMs !== undefined) out.measuredMs = Math.max(0, Math.round(measuredMs))
  if (objectiveMs !== undefined) out.objectiveMs = objectiveMs
  if (measuredMs !== undefined && objectiveMs !== undefined) out.met = measuredMs <= objectiveMs
  return out
}

/** What a recovery reports for measuring: drill.measure's inputs, also taken as one object (`recovery`). */
const recoveryShape = {
  startedAt: isoDateTime.nullish().describe('When recovery started; without it the RTO is unmeasured'),
  verifiedAt: isoDateTime.nullish().describe('When the recovered copy was verified; default: now'),
  requestedPoint: isoDateTime.nullish().describe('The point in time asked for; default: startedAt'),
  recoveredDataAsOf: isoDateTime.nullish().describe('The newest data the recovered copy holds'),
  dataAsOfSource: z
    .enum(['server', 'probe', 'data', 'restore-point', 'metadata', 'unknown'])
    .nullish()
    .describe('Where recoveredDataAsOf came from: server (postgres.verify on a modelled emulator), probe (postgres.verify read the copy\'s data) or data (read inside a snapshot, drill.verifySnapshot) measure the RPO; restore-point, metadata or unknown leave it unmeasured rather than reading the point asked for as 0'),
  rpoUnmeasuredNote: z.string().nullish().describe('What to say when the RPO is left unmeasured (which setting would make it measurable); default: the PostgreSQL note'),
  sourceDataAsOf: isoDateTime.nullish().describe('Newest data the source held at the restore point (postgres.verify with probes): shown beside the copy\'s'),
  retentionDays: z.number().nullish().describe('Backup retention Azure reported (PostgreSQL; Azure SQL point-in-time retention)'),
  geoRedundantBackup: z.boolean().nullish().describe('Whether Azure reported geo-redundant backup (PostgreSQL)'),
  notes: z.array(z.string()).nullish(),
  method: z.string().nullish().describe('How it was recovered (shown first in the notes), e.g. "geo restore into westus"'),
}

export const measureAction = defineAction({
  name: 'drill.measure',
  summary: 'Measure RTO and RPO of one recovered component against its catalog objectives',
  description:
    'RTO = verifiedAt − startedAt. RPO = requestedPoint (default: startedAt, i.e. "the latest" when recovery began) − recoveredDataAsOf (what the copy actually holds); unmeasured when dataAsOfSource says the age was not read from the copy. Also flags objectives the configuration cannot meet (RPO shorter than the snapshot frequency, cross-region without geo-redundant backup, a cross-region PostgreSQL RPO under the hour geo-restore guarantees, short retention). Never fails: drill.report decides.',
  input: z.strictObject({
    component: z.string().min(1).describe('Catalog component key'),
    ...recoveryShape,
    recovery: z
      .object(recoveryShape)
      .partial()
      .nullish()
      .describe('The same fields as one object, e.g. a called incident runbook\'s `measurement` output (dr-drill); a field given on its own wins'),
    failures: z
      .record(z.string(), z.string().nullish())
      .nullish()
      .describe('The errors of the component\'s recovery steps by step (steps.<id>.error); the first one set makes the row failed, with nothing measured'),
  }),
  output: objectiveRowSchema,
  changes: false,
  permissions: [],
  async run(given, context) {
    const own = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined && value !== null))
    const input = {...given.recovery, ...own} as typeof given
    const component = componentOf(context.environment, input.component)
    const rtoObjective = component.objectives?.rto ? parseDuration(component.objectives.rto) : undefined
    const rpoObjective = component.objectives?.rpo ? parseDuration(component.objectives.rpo) : undefined
    const failure = Object.entries(input.failures ?? {}).find(([, message]) => message)
    if (failure) {
      // A recovery that failed measures nothing: the row says where it failed and why. A failed runbook call says
      // "step <call>.<step> failed: …": the row names that inner step.
      const nested = /^step (\S+) failed: ([\s\S]*)$/.exec(failure[1]!)
      const error = nested ? `${nested[1]}: ${nested[2]}` : `${failure[0]}: ${failure[1]}`
      const issues = configurationIssues(component, {retentionDays: input.retentionDays, geoRedundantBackup: input.geoRedundantBackup})
      const notes = [...(input.method ? [input.method] : []), `failed in ${error}`, ...(input.notes ?? []), ...issues.map((i) => `configuration: ${i}`)]
      context.log(`${input.component}: recovery failed in ${error}`)
      return {component: input.component, type: component.type, rto: compare(undefined, rtoObjective), rpo: compare(undefined, rpoObjective), status: 'failed' as const, notes, error}
    }
    const started = input.startedAt ? Date.parse(input.startedAt) : undefined
    const verified = input.verifiedAt ? Date.parse(input.verifiedAt) : context.now().getTime()
    const requested = input.requestedPoint ? Date.parse(input.requestedPoint) : started
    const rto = compare(started === undefined ? undefined : verified - started, rtoObjective)
    // A data age that was not read from the copy itself (e.g. the restore point Azure echoes back) measures nothing.
    const readFromCopy = input.dataAsOfSource == null || input.dataAsOfSource === 'server' || input.dataAsOfSource === 'data' || input.dataAsOfSource === 'probe'
    const dataAsOf = readFromCopy ? input.recoveredDataAsOf : undefined
    // A web app keeps no data of its own (its state lives in the databases and caches drilled beside it): a slot
    // round trip loses nothing, so its RPO is 0 by construction rather than unmeasured.
    const stateless = component.type === 'webapp'
    // A traffic router moves requests, not data: what a regional failover loses is the data tier's RPO (the rows of the
    // databases and caches behind it), so its own RPO is not applicable rather than 0 or unmeasured.
    const router = isRouter(component)
    const bounded = snapshotRpoBound(component, compare(stateless ? 0 : !router && dataAsOf && requested !== undefined ? requested - Date.parse(dataAsOf) : undefined, router ? undefined : rpoObjective))
    const rpo = bounded.rpo
    const notes = [...(input.method ? [input.method] : []), ...(input.notes ?? []), ...(bounded.note ? [bounded.note] : [])]
    if (stateless && rpoObjective !== undefined) notes.push('RPO 0: a web app holds no data of its own; a slot round trip loses none')
    if (router) notes.push(ROUTER_RPO_NOTE)
    const issues = configurationIssues(component, {retentionDays: input.retentionDays, geoRedundantBackup: input.geoRedundantBackup})
    notes.push(...issues.map((i) => `configuration: ${i}`))
    if (rtoObjective !== undefined && rto.measuredMs === undefined) notes.push('RTO not measured: the recovery did not say when it started')
    if (input.dataAsOfSource === 'probe')
      notes.push(
        dataAsOf
          ? `data read from the copy: newest ${new Date(dataAsOf).toISOString()}${input.sourceDataAsOf ? `; the source's newest at the point: ${new Date(input.sourceDataAsOf).toISOString()}` : ''}`
          : `RPO not measured: the copy holds no rows the data probe finds${input.sourceDataAsOf ? ` (the source's newest at the point: ${new Date(input.sourceDataAsOf).toISOString()})` : ''}`,
      )
    if (!router && !readFromCopy) notes.push(input.rpoUnmeasuredNote ?? `${PG_RPO_UNMEASURED_NOTE}${component.type === 'postgres' && !component.dataProbes ? `; set components.${input.component}.dataProbes (a freshness query, or canary: true) in the catalog to measure it` : ''}`)
    else if (!router && rpoObjective !== undefined && rpo.measuredMs === undefined && input.dataAsOfSource !== 'probe') notes.push('RPO not measured: the recovered copy did not say how old its data is')
    if (rpo.measuredMs !== undefined && rpo.measuredMs === 0 && dataAsOf && requested !== undefined && Date.parse(dataAsOf) > requested)
      notes.push('the copy holds data newer than the point asked for')
    const missed = rto.met === false || rpo.met === false
    if (rtoObjective === undefined && rpoObjective === undefined) notes.push('no objective: the catalog sets no RTO or RPO for this component, so nothing was met or missed')
    const status: ObjectiveRow['status'] = missed
      ? 'missed'
      : issues.length > 0
        ? 'cannot-meet'
        : rtoObjective === undefined && rpoObjective === undefined
          ? 'no-objective'
          : (rtoObjective !== undefined && rto.measuredMs === undefined) || (!router && rpoObjective !== undefined && rpo.measuredMs === undefined)
            ? 'unmeasured'
            : 'met'
    const show = (m: z.infer<typeof measureSchema>) =>
      m.measuredMs === undefined
        ? 'not measured'
        : `${humanDuration(m.measuredMs)}${m.boundMs === undefined ? '' : ` (at most ${humanDuration(m.boundMs)})`}${m.objectiveMs === undefined ? '' : ` (objective ${humanDuration(m.objectiveMs)}${m.met ? ', met' : ', MISSED'})`}`
    context.log(`${input.component}: RTO ${show(rto)}; RPO ${show(rpo)}; ${status}`)
    return {component: input.component, type: component.type, rto, rpo, status, notes}
  },
})

/** Rows from a list whose entries are rows or maps itemKey → row (the outputs of a forEach measure step). */
function flattenRows(measurements: unknown[]): ObjectiveRow[] {
  const rows: ObjectiveRow[] = []
  for (const entry of measurements) {
    if (entry === null || entry === undefined) continue
    const asRow = objectiveRowSchema.safeParse(entry)
    if (asRow.success) {
      rows.push(asRow.data)
      continue
    }
    if (typeof entry !== 'object' || Array.isArray(entry))
      throw new ActionFailure(`drill.report: a measurement must be a drill.measure output or a map of them, got ${JSON.stringify(entry)}`, {code: 'invalid-measurement'})
    for (const [key, value] of Object.entries(entry)) {
      // A measure step that failed itself (continueOnError) left no outputs: report lists the component as failed.
      if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)) continue
      const row = objectiveRowSchema.safeParse(value)
      if (!row.success) throw new ActionFailure(`drill.report: measurement ${key} is not a drill.measure output`, {code: 'invalid-measurement'})
      rows.push(row.data)
    }
  }
  return rows
}

const reportOutput = z.strictObject({
  objectives: z.array(objectiveRowSchema).describe('One row per component: the run summary prints it as the RTO/RPO table'),
  allMet: z.boolean(),
  missed: z.array(z.string()).describe('Components whose objectives were missed or cannot be met'),
})

/** A failed drill: the step fails (exit 1), and the table still reaches the run's outputs. */
class ObjectivesMissed extends ActionFailure {
  constructor(
    message: string,
    readonly outputs: z.infer<typeof reportOutput>,
  ) {
    super(message, {code: 'objectives-missed'})
  }
}

export const reportAction = defineAction({
  name: 'drill.report',
  summary: 'Collect the per-component RTO/RPO table and fail when an objective is missed',
  description:
    'Takes drill.measure outputs (or the itemKey → outputs maps of forEach measure steps). Fails the step — so the run exits 1 — when any component missed an objective, cannot meet one with its configuration, or failed to recover (and, with failOnUnmeasured, could not be measured); the table is still the step\'s `objectives` output. Meant to run `if: always()` after per-component chains with continueOnError, so one component\'s failure is a row, not the end of the drill.',
  input: z.strictObject({
    measurements: z.array(z.unknown()).describe('drill.measure outputs, or maps of them'),
    failOnMiss: z.boolean().default(true),
    failOnUnmeasured: z
      .boolean()
      .default(false)
      .describe('Also fail when an objective could not be measured (e.g. a PostgreSQL RPO Azure does not report); by default such rows are shown, not failed'),
    expect: z
      .array(z.enum(['postgres', 'redis', 'managedredis', 'webapp', 'storage', 'keyvault', 'sqldb', 'cosmosdb', 'servicebus', 'trafficmanager', 'frontdoor']))
      .default(['postgres', 'redis', 'managedredis', 'webapp', 'sqldb', 'cosmosdb', 'trafficmanager', 'frontdoor'])
      .describe('Component types every one of which must have a measurement; one without is reported as unmeasured'),
  }),
  output: reportOutput,
  changes: false,
  permissions: [],
  async run(input, context) {
    const measured = flattenRows(input.measurements)
    for (const [key, component] of Object.entries(context.environment.components)) {
      if (!(input.expect as string[]).includes(component.type) || measured.some((r) => r.component === key)) continue
      // The drill did not get as far as measuring it: that is a failed recovery, not an objective Azure cannot report.
      measured.push({component: key, type: component.type, rto: {}, rpo: {}, status: 'failed', notes: ['no measurement: the drill did not recover this component']})
    }
    const objectives = measured.sort((a, b) => a.component.localeCompare(b.component))
    // A row without objectives is shown as such, never as met, and does not fail the drill: there was nothing to miss.
    const failing = (r: (typeof objectives)[number]) => r.status !== 'met' && r.status !== 'no-objective' && (r.status !== 'unmeasured' || input.failOnUnmeasured)
    const missed = objectives.filter(failing).map((r) => r.component)
    for (const row of objectives) context.log(`${row.component} (${row.type}): ${row.status}${row.notes.length ? ` — ${row.notes.join('; ')}` : ''}`)
    const outputs = {objectives, allMet: missed.length === 0, missed}
    if (missed.length > 0 && input.failOnMiss) {
      const detail = objectives
        .filter(failing)
        .map((r) => `${r.component} ${r.status}`)
        .join(', ')
      throw new ObjectivesMissed(`recovery objectives not met: ${detail}`, outputs)
    }
    return outputs
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// verifySnapshot

export const verifySnapshotAction = defineAction({
  name: 'drill.verifySnapshot',
  summary: 'Read exported RDB snapshot blobs back, parse them, and run the component\'s data probes on what they hold',
  description:
    'The restore check of a Redis drill when there is no scratch cache to import into: every blob is downloaded and read as an RDB file (key counts per type; a file that is not a complete RDB fails). With `component` and its catalog probe: the canary key is read from the data and its time is `dataAsOf` (dataAsOfSource: data), so RPO is the data\'s age rather than the blob\'s; expectCanaryAt and expectKeyCount are compared (probe.keyCount.tolerance). A failing probe fails the step with the reason. Without a canary probe `dataAsOf` is the blobs\' dataasof metadata (dataAsOfSource: metadata) and `rpoUnmeasuredNote` says which setting would make the RPO measurable.',
  input: z.strictObject({
    storageAccount: z.string().min(1),
    container: z.string().min(1),
    blobs: z.array(z.string().min(1)).min(1),
    component: z.string().min(1).nullish().describe('Catalog component key whose probe to run on the data'),
    expectCanaryAt: z.string().nullish().describe('The snapshot\'s canary must hold this time or a later one (e.g. the canary written just before the export)'),
    expectKeyCount: z.number().int().min(0).nullish().describe('Key count to compare with (e.g. a fresh export\'s), within probe.keyCount.tolerance'),
  }),
  output: z.strictObject({
    blobs: z.array(z.strictObject({name: z.string(), bytes: z.number(), keyCount: z.number().optional()})),
    keyCount: z.number().optional().describe('Keys in the snapshot (all blobs, all databases)'),
    keysByType: z.record(z.string(), z.number()).optional(),
    canaryAt: z.string().optional().describe('The time the canary key holds inside the snapshot'),
    dataAsOf: z.string().optional(),
    dataAsOfSource: z.enum(['data', 'metadata']).optional().describe('data: read from the canary inside the RDB; metadata: the blob\'s dataasof metadata (not measured from the data)'),
    rpoUnmeasuredNote: z.string().optional(),
    probes: z.array(z.strictObject({probe: z.string(), ok: z.boolean(), detail: z.string()})).optional(),
    verifiedAt: z.string(),
  }),
  changes: false,
  permissions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
  az: (input) => (Array.isArray(input.blobs) ? input.blobs : [String(input.blobs)]).map((b: string) => `az storage blob download --account-name ${input.storageAccount} --container-name ${input.container} --name ${b} --file /tmp/${b} --auth-mode login && head -c 9 /tmp/${b}`),
  async run(input, context) {
    const services = azureServices(context)
    const container = (await services.blob(input.storageAccount)).getContainerClient(input.container)
    const resource = input.component ? resolveCache(context.environment, input.component) : undefined
    const probe = resource ? probeOf(resource) : undefined
    const checked: Array<{name: string; bytes: number; keyCount?: number}> = []
    const probes: ProbeRow[] = []
    let metadataAsOf: string | undefined
    let canaryAt: string | undefined
    let keyCount = 0
    const keysByType: Record<string, number> = {}
    for (const name of input.blobs) {
      const blob = container.getBlobClient(name)
      let data: Buffer
      let metadata: Record<string, string> = {}
      try {
        const properties = await blob.getProperties({abortSignal: context.signal})
        metadata = properties.metadata ?? {}
        data = (properties.contentLength ?? 0) > 0 ? await blob.downloadToBuffer(0, undefined, {abortSignal: context.signal}) : Buffer.alloc(0)
      } catch (error) {
        throw toAzureError(error, {operation: `read snapshot ${input.container}/${name}`})
      }
      if (data.length === 0 || !data.toString('latin1', 0, 5).startsWith('REDIS'))
        throw new ActionFailure(`snapshot ${input.container}/${name} is not an RDB file (${data.length} bytes)`, {code: 'redis-snapshot-invalid'})
      const read = snapshotData(`${input.container}/${name}`, data, probe)
      keyCount += read.keyCount
      for (const [type, n] of Object.entries(read.keysByType)) keysByType[type] = (keysByType[type] ?? 0) + n
      const row = canaryRow(name, read, probe)
      if (row) probes.push(row)
      if (read.canary?.at && (!canaryAt || read.canary.at > canaryAt)) canaryAt = read.canary.at
      const asOf = metadata.dataasof
      if (asOf && !Number.isNaN(Date.parse(asOf)) && (!metadataAsOf || Date.parse(asOf) < Date.parse(metadataAsOf))) metadataAsOf = new Date(asOf).toISOString()
      checked.push({name, bytes: data.length, keyCount: read.keyCount})
      context.log(`${name}: ${data.length} bytes, RDB v${read.summary.version}, ${read.keyCount} keys${read.canary?.at ? `, canary ${read.canary.at}` : ''}`)
    }
    if (input.expectCanaryAt && canaryAt && probe?.canary)
      probes.push({
        probe: 'canaryWritten',
        ok: Date.parse(canaryAt) >= Date.parse(input.expectCanaryAt),
        detail: `the snapshot's canary ${canaryAt} against the one written before the export, ${input.expectCanaryAt}`,
      })
    if (input.expectKeyCount != null) {
      const row = keyCountRow('the snapshot', keyCount, input.expectKeyCount, probe)
      if (row) probes.push(row)
    }
    settleProbes(context, resource?.name ?? input.container, probes)
    const fromData = Boolean(probe?.canary && canaryAt)
    const dataAsOf = fromData ? canaryAt : metadataAsOf
    const rpoUnmeasuredNote = fromData
      ? undefined
      : `RPO not measured from the data: ${input.component ? `set components.${input.component}.probe.canary` : 'give the step a component with probe.canary'} in the catalog (a key holding the newest write's time, read from inside the RDB snapshot)`
    return {
      blobs: checked,
      keyCount,
      keysByType,
      ...(canaryAt ? {canaryAt} : {}),
      ...(dataAsOf ? {dataAsOf, dataAsOfSource: fromData ? ('data' as const) : ('metadata' as const)} : {}),
      ...(rpoUnmeasuredNote ? {rpoUnmeasuredNote} : {}),
      ...(probes.length ? {probes} : {}),
      verifiedAt: context.now().toISOString(),
    }
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// teardown

const PG_READ = 'Microsoft.DBforPostgreSQL/flexibleServers/read'
const PG_DELETE = 'Microsoft.DBforPostgreSQL/flexibleServers/delete'
const BLOB_READ = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
const BLOB_DELETE = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'

/** The scratch server name a drill restore of `server` uses in run `runId` (postgres.restore's default). */
export function scratchServerName(server: string, runId: string): string {
  return derivedName(server, 'drill', runId)
}

export const teardownAction = defineAction({
  name: 'drill.teardown',
  summary: 'Delete every scratch copy this run made of a component (found by name and by tags), never anything else',
  description:
    'Meant for `finally`, so it runs after failures and Ctrl-C. Does not need the restore step\'s outputs: the scratch name is derived from the run id, and servers tagged opsbook-run-id=<this run>, opsbook-scratch=true and opsbook-source=<component> are found by listing. Each is deleted through postgres.delete, which refuses anything that is not a scratch server of this run. For Redis the scratch copy is the drill\'s export, opsbook-drill-<cache>-<run id>.rdb in the snapshot container (an export of this run still in flight is waited for first); scheduled snapshots are never touched. Web apps have no scratch copies.',
  input: z.strictObject({
    component: z.string().min(1).describe('Catalog component key'),
    settle: isoDuration.default('PT1H').describe('How long to wait for a restore of this run still in flight before deleting its server'),
    purpose: z.enum(['drill', 'pitr', 'geo']).default('drill').describe('Which copies: drill (scratch, <server>-drill-<run>), pitr or geo (incident restores of this run)'),
  }),
  output: z.strictObject({component: z.string(), deleted: z.array(z.string()), alreadyGone: z.array(z.string())}),
  changes: true,
  // Its own waits (settle, PT1H by default, for a restore still in flight) plus the deletes it then makes.
  defaultTimeout: 'PT3H',
  armWrites: 'when-needed',
  permissions: [PG_READ, PG_DELETE, BLOB_READ, BLOB_DELETE],
  // A cache's drill copy is a blob, a server's a server; other kinds leave nothing. A Redis drill's operator needs no
  // PostgreSQL right (preflight refused a least-privilege one for Microsoft.DBforPostgreSQL/flexibleServers/delete).
  permissionsFor: (input, plan) => {
    const component = plan.environment.components[input.component]
    if (!component) return undefined
    if (component.type === 'redis' || component.type === 'managedredis') return component.snapshots && (input.purpose ?? 'drill') === 'drill' ? [BLOB_READ, BLOB_DELETE] : []
    return component.type === 'postgres' ? [PG_READ, PG_DELETE] : []
  },
  az: (input, plan) => {
    const component = plan.environment.components[input.component]
    if ((component?.type === 'redis' || component?.type === 'managedredis') && component.snapshots)
      return [
        `az storage blob delete-batch --account-name ${component.snapshots.storageAccount} --source ${component.snapshots.container} --pattern '${drillSnapshotName(component.name, '<run-id>')}*' --auth-mode login`,
      ]
    if (component?.type !== 'postgres') return []
    const r = resolveResource(plan.environment, 'postgres', input.component)
    return [
      `az postgres flexible-server list --resource-group ${r.resourceGroup} --query "[?tags.\\"opsbook-run-id\\"=='<run-id>' && tags.\\"opsbook-scratch\\"=='true'].name" -o tsv`,
      `az postgres flexible-server delete --resource-group ${r.resourceGroup} --name ${r.name}-${input.purpose ?? 'drill'}-<run-id> --yes`,
    ]
  },
  arm: (input, plan) => {
    const component = plan.environment.components[input.component]
    if ((component?.type === 'redis' || component?.type === 'managedredis') && component.snapshots) {
      const blob = `https://${component.snapshots.storageAccount}.blob.core.windows.net/${component.snapshots.container}/${drillSnapshotName(component.name, '<run-id>')}`
      return [{method: 'DELETE', path: blob, note: 'Blob data plane, not ARM: only this run\'s drill copy, never a scheduled snapshot'}]
    }
    if (component?.type !== 'postgres') return []
    const r = resolveResource(plan.environment, 'postgres', input.component)
    const base = `/subscriptions/${r.subscription}/resourceGroups/${r.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers`
    return [
      {method: 'GET', path: `${base}?api-version=2025-08-01`, note: 'servers tagged with this run id and opsbook-scratch=true'},
      {method: 'DELETE', path: `${base}/${r.name}-${input.purpose ?? 'drill'}-<run-id>?api-version=2025-08-01`, longRunning: true, note: 'only servers this run created'},
    ]
  },
  // A PostgreSQL component's copy, named as run() derives it (servers found by the run's tags alone are not known before
  // the run: a `gone` finding about one of those is not tied to the step). Other kinds: nothing ARM deletes.
  targets: (input, plan) => {
    if (plan.environment.components[input.component]?.type !== 'postgres') return []
    const r = resolveResource(plan.environment, 'postgres', input.component)
    return [`/subscriptions/${r.subscription}/resourceGroups/${r.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${derivedName(r.name, input.purpose ?? 'drill', plan.runId)}`]
  },
  async run(input, context) {
    const component = componentOf(context.environment, input.component)
    if ((component.type === 'redis' || component.type === 'managedredis') && component.snapshots && input.purpose === 'drill') return teardownRedis(input.component, component.name, parseDuration(input.settle)!, context)
    if (component.type !== 'postgres') {
      context.log(`${input.component}: a ${component.type} drill leaves no scratch resources`)
      foundWithoutWrite({kind: 'nothing-to-do', what: `a ${component.type} drill leaves no scratch resources`})
      return {component: input.component, deleted: [], alreadyGone: []}
    }
    const services = azureServices(context)
    const source = resolveResource(context.environment, 'postgres', input.component)
    const scratch = input.purpose === 'drill'
    const names = new Set([derivedName(source.name, input.purpose, context.runId)])
    const client = await services.postgres()
    await withRetryLog(context, services, async () => {
      try {
        for await (const server of client.servers.listByResourceGroup(source.resourceGroup, {abortSignal: context.signal})) {
          const tags = server.tags ?? {}
          if (server.name && tags['opsbook-run-id'] === context.runId && tags['opsbook-scratch'] === String(scratch) && tags['opsbook-source'] === source.name) names.add(server.name)
        }
      } catch (error) {
        // Listing is the belt to the derived name's braces: without it, the derived name is still deleted.
        context.log(`could not list servers in ${source.resourceGroup} (${(error as Error).message}); deleting by name only`)
      }
    })
    await settleInFlightCreates(context, services, [...names], parseDuration(input.settle)!)
    const {deleteAction} = await import('./postgres.js')
    const deleted: string[] = []
    const alreadyGone: string[] = []
    for (const name of names) {
      const id = `/subscriptions/${source.subscription}/resourceGroups/${source.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`
      if (!scratch) {
        // Not scratch: postgres.delete would take any opsbook-made server, so check it is this run's own first.
        const existing = await client.servers.get(source.resourceGroup, name, {abortSignal: context.signal}).catch((error: unknown) => {
          if (isNotFound(error)) return undefined
          throw toAzureError(error, {operation: `read PostgreSQL server ${name}`})
        })
        if (existing && existing.tags?.['opsbook-run-id'] !== context.runId)
          throw new ActionFailure(`refusing to delete ${name}: it was not created by this run`, {code: 'postgres-delete-refused'})
      }
      const result = await deleteAction.run({server: id, ifScratchOnly: scratch}, context)
      if (result.deleted) deleted.push(name)
      else alreadyGone.push(name)
    }
    context.log(deleted.length ? `deleted ${deleted.join(', ')}` : `nothing left to delete for ${input.component}`)
    return {component: input.component, deleted, alreadyGone}
  },
})

/**
 * Whether a tracked operation is an export of this cache: classic `…/Microsoft.Cache/redis/{cache}/export`, Managed
 * Redis `…/Microsoft.Cache/redisEnterprise/{cluster}/export` as managedredis.export tracks it (or the database's own
 * `…/databases/{db}/export`). Only the classic path was matched: a Managed Redis export still in flight at Ctrl-C was
 * not waited for, the teardown found no copy yet, and the export's blob was left behind.
 */
export function isExportOf(operation: Pick<TrackedOperation, 'method' | 'resourceUrl'>, cache: string): boolean {
  if (operation.method !== 'POST') return false
  const path = new URL(operation.resourceUrl, 'https://x').pathname.toLowerCase()
  const name = cache.toLowerCase()
  return [`/microsoft.cache/redis/${name}/export`, `/microsoft.cache/redisenterprise/${name}/export`].some((end) => path.endsWith(end)) || new RegExp(`/microsoft\\.cache/redisenterprise/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/databases/[^/]+/export$`).test(path)
}

/** Delete the drill's export of a cache, after waiting (bounded) for an export of this run still in flight. */
async function teardownRedis(key: string, cache: string, settleMs: number, context: ActionContext): Promise<{component: string; deleted: string[]; alreadyGone: string[]}> {
  const services = azureServices(context)
  const settled = await settleOperations(context, services, (operation) => isExportOf(operation, cache), settleMs)
  const result = await withRetryLog(context, services, () => untilBlobAnswers(context, services, () => deleteDrillSnapshots(context, services, key)))
  // The export is over and its copy deleted: nothing of it is left behind.
  for (const operation of settled) context.operations.settled?.(operation)
  context.log(result.deleted.length ? `deleted ${result.deleted.map((b) => `${result.container}/${b}`).join(', ')}` : `no drill copy of ${cache} to delete`)
  foundWithoutWrite({kind: 'data-plane', what: `the drill copy of ${cache} is a blob`})
  return {component: key, deleted: result.deleted, alreadyGone: []}
}

/** How long a teardown keeps asking a storage account that does not answer at all, after Storage's own retries. */
const BLOB_PATIENCE_MS = 60_000

/**
 * `fn` again while the storage account cannot be reached (the connection refused, reset or timed out: no HTTP answer),
 * for up to BLOB_PATIENCE_MS: a teardown that gives up on a short outage leaves its drill copy behind and the run
 * ends "teardown incomplete" (issue 16 fault matrix: dr-drill × Blob down, a 3 s outage, ended in exit 3 on the
 * Managed Redis component's teardown). An answer of any status (403, 404…) is final here, as before.
 */
async function untilBlobAnswers<T>(context: ActionContext, services: AzureServices, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BLOB_PATIENCE_MS
  let said = false
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (!isUnreachable(error) || Date.now() >= deadline || context.signal?.aborted) throw error
      if (!said) context.log(`the storage account did not answer (${(error as Error).message}); trying again for up to ${humanDuration(BLOB_PATIENCE_MS)}`)
      said = true
      await delay(Math.max(services.pollIntervalMs, 250), context.signal)
    }
  }
}

/** No HTTP answer at all: a network error code on the error or anything it wraps. */
function isUnreachable(error: unknown): boolean {
  for (let e = error as {code?: unknown; statusCode?: unknown; cause?: unknown} | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.statusCode === 'number' && e.statusCode > 0) return false
    if (typeof e.code === 'string' && /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ESOCKETTIMEDOUT|UND_ERR_SOCKET|REQUEST_SEND_ERROR)$/.test(e.code)) return true
  }
  return false
}

/**
 * A restore still in flight when the run failed or was interrupted creates its server after teardown looked for it:
 * wait (bounded) for this run's create operations on `names` to finish, so the server exists — or is known not to —
 * before deleting. Operations that are already over answer at once.
 */
async function settleInFlightCreates(context: ActionContext, services: AzureServices, names: string[], timeoutMs: number): Promise<void> {
  const wanted = new Set(names.map((n) => n.toLowerCase()))
  const lastSegment = (url: string) => new URL(url, 'https://x').pathname.split('/').at(-1)!.toLowerCase()
  await settleOperations(context, services, (operation) => operation.method === 'PUT' && wanted.has(lastSegment(operation.resourceUrl)), timeoutMs)
}

/** Wait (bounded) until this run's operations that `match` are no longer running. */
async function settleOperations(context: ActionContext, services: AzureServices, match: (operation: TrackedOperation) => boolean, timeoutMs: number, next = 'deleting'): Promise<TrackedOperation[]> {
  const creates = (context.operations.startedInRun?.() ?? []).filter(({operation}) => operation.monitorUrl && match(operation))
  const settled: TrackedOperation[] = []
  const deadline = Date.now() + timeoutMs
  for (const {step, operation} of creates) {
    let said = false
    for (;;) {
      const response = await services.armRequest('GET', operation.monitorUrl!, {signal: context.signal}).catch(() => undefined)
      const status = String(response?.body?.status ?? (response && response.status !== 202 ? 'Gone' : 'InProgress'))
      if (!/^(InProgress|Accepted|Running|Creating|Provisioning)$/i.test(status)) {
        settled.push(operation)
        break
      }
      if (!said) context.log(`${operation.description} (started by ${step}) is still running: waiting for it before ${next}`)
      said = true
      if (Date.now() >= deadline) {
        context.log(`still running after ${humanDuration(timeoutMs)}; ${next === 'deleting' ? 'deleting what exists now' : `${next} now`}`)
        break
      }
      await delay(services.pollIntervalMs, context.signal)
    }
  }
  return settled
}

// ---------------------------------------------------------------------------------------------------------------------
// restoreProduction

export const restoreProductionAction = defineAction({
  name: 'drill.restoreProduction',
  summary: 'Make sure a web app\'s production serves the version it served before the drill (swap back if not)',
  description:
    'Teardown of a slot round trip, for `finally`: waits for a swap of this run that was still in flight (failure or Ctrl-C), reads what production serves over HTTP, and swaps back when it is not the version recorded before the drill. Does nothing when the version before is unknown (the drill never got that far).',
  input: z.strictObject({
    app: z.string().min(1).describe('Catalog component key or Azure app name'),
    slot: z.string().min(1).default('staging'),
    version: z.string().nullish().describe('What production served before the drill'),
    settle: isoDuration.default('PT30M').describe('How long to wait for a swap of this run still in flight'),
  }),
  output: z.strictObject({app: z.string(), productionVersion: z.string().optional(), swappedBack: z.boolean()}),
  changes: true,
  // Its settle wait (PT30M by default) plus a swap back (webapp.swapBack).
  defaultTimeout: 'PT2H',
  armWrites: 'when-needed',
  permissions: ['Microsoft.Web/sites/read', 'Microsoft.Web/sites/slots/read', 'Microsoft.Web/sites/slotsswap/action', 'Microsoft.Web/sites/resetSlotConfig/action', 'Microsoft.Web/sites/slots/resetSlotConfig/action'],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [`az webapp deployment slot swap --resource-group ${app.resourceGroup} --name ${app.name} --slot ${input.slot ?? 'staging'} --target-slot production --action swap  # only if production does not serve ${input.version ?? 'the version from before'}`]
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      {method: 'GET', path: `${app.id}?api-version=2025-05-01`, note: 'then GET https://<production host><healthPath>: which version it serves'},
      {method: 'POST', path: `${app.id}/slotsswap?api-version=2025-05-01`, longRunning: true, note: 'only when production serves another version'},
    ]
  },
  // The app whose production it puts back, as run() names it in its `swapped-back` finding.
  targets: (input, plan) => [resolveResource(plan.environment, 'webapp', input.app).id],
  async run(input, context) {
    const app = resolveResource(context.environment, 'webapp', input.app)
    if (!input.version) {
      context.log(`${app.name}: the version production served before is unknown (the drill did not get that far); nothing to restore`)
      foundWithoutWrite({kind: 'swapped-back', resourceId: app.id})
      return {app: app.name, swappedBack: false}
    }
    const services = azureServices(context)
    const site = `/sites/${app.name.toLowerCase()}`
    const settled = await settleOperations(context, services, (operation) => new URL(operation.resourceUrl, 'https://x').pathname.toLowerCase().includes(site), parseDuration(input.settle)!, 'reading what production serves')
    // Returning with production on its version from before accounts for every swap of this run that was waited for.
    const accounted = () => settled.forEach((operation) => context.operations.settled?.(operation))
    const {healthCheckAction, swapBackAction} = await import('./webapp.js')
    const served = async (): Promise<string | undefined> => {
      try {
        return (await healthCheckAction.run(healthCheckAction.input.parse({app: input.app, slot: 'production', attempts: 1}) as Parameters<typeof healthCheckAction.run>[0], context)).version
      } catch (error) {
        return (error as {details?: {version?: string}}).details?.version
      }
    }
    const before = await served()
    if (before === input.version) {
      context.log(`${app.name}: production serves ${before}, as before the drill`)
      foundWithoutWrite({kind: 'swapped-back', resourceId: app.id})
      accounted()
      return {app: app.name, productionVersion: before, swappedBack: false}
    }
    context.log(`${app.name}: production serves ${before ?? 'an unknown version'}, not ${input.version}: swapping back`)
    await swapBackAction.run(swapBackAction.input.parse({app: input.app, slot: input.slot}) as Parameters<typeof swapBackAction.run>[0], context)
    const after = await served()
    if (after !== input.version)
      throw new ActionFailure(`${app.name}: production serves ${after ?? 'an unknown version'} after swapping back, not ${input.version}`, {code: 'webapp-not-restored'})
    accounted()
    return {app: app.name, productionVersion: after, swappedBack: true}
  },
})

export const drillActions: ActionDefinition[] = [measureAction, reportAction, verifySnapshotAction, teardownAction, restoreProductionAction]
