/**
 * Azure's Activity Log as a witness of a run's journal (`opsbook evidence verify --witness`).
 *
 * The hash chain proves a journal was not edited, not that it is true: whoever can write `.opsbook` and the evidence
 * container with the run's credentials can append a "resumed segment" (run.started, the teardown's step.succeeded, a
 * seal) with correct hashes to a run that is legitimately resumable (`interrupted`, `rollback-failed`), and Blob
 * takes it as a resume. What such a forger cannot write is Azure's Activity Log: ARM records every create, update,
 * delete and action operation itself, with its correlationId, resourceId, operationName, status and eventTimestamp
 * (https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema, category Administrative).
 *
 * Since this was added, each step's journal line records the ARM writes ARM accepted during the step — method,
 * resource, operation, HTTP status, time and the `x-ms-correlation-request-id` ARM answered (azure/arm-writes.ts) —
 * and each segment's run.started says so (`armWrites: true`). Verify looks every recorded write up with
 * ActivityLogs_List (`$filter=eventTimestamp ge … and eventTimestamp le … and resourceGroupName eq …`, or `correlationId
 * eq …`: azure-rest-api-specs monitor/…/stable/2015-04-01/activityLogs_API.json) and judges each step:
 * - witnessed: every write has an event with the same correlationId, resource and operation, status Accepted or
 *   Succeeded, at a time within the step (± {@link CLOCK_SKEW_MS} for the two clocks), no Failed event of that
 *   operation when the step succeeded (Azure records Started, then Accepted or Succeeded, and for a long-running
 *   operation a later Succeeded or Failed, all with one correlationId), and no other write of the journal claims the
 *   same correlation id;
 * - not witnessed: a write has no such event, or a changing step of a resumed segment succeeded with no write recorded
 *   and no earlier attempt of it was cut off by a crash, unless its finding is supported (below) — verify fails;
 * - not checkable: older than the Activity Log's 90 days ("Activity log events are retained in Azure for 90 days and
 *   then deleted", https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log), the caller may not read
 *   the Activity Log (403: Microsoft.Insights/eventtypes/values/read, which Monitoring Reader and Reader grant,
 *   https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-reader), it could not
 *   be reached, the segment predates the recording, the step changes only data planes (rows, keys, blobs: no ARM
 *   operation, so nothing in the Activity Log), a step of the run's first segment made no ARM write (nothing left to
 *   change), or a resumed step of an `always` action made none after a crash cut off its earlier attempt (that
 *   attempt's writes were never journaled; a `when-needed` one is judged by its findings: a cut-off segment is as
 *   forgeable as the rest). `--witness activity-log` fails on these too.
 *
 * A resumed step that made no ARM write is judged by its action's `armWrites` in the action registry: `always` — not
 * witnessed (the forgery); `data-plane` — not checkable; `when-needed` (idempotent: it may find nothing to do) — by what
 * it journaled it found (`found`, azure/arm-writes.ts), checked against the Activity Log of the run's window
 * ({@link judgeFindings}): witnessed when the log supports it, not witnessed when the log contradicts it, not
 * checkable when the log cannot tell; a `when-needed` step that journaled no finding is not witnessed, nor one whose
 * finding is about another resource than the one it acted on ({@link untied}). `nothing-to-do`
 * (a teardown of a component that has no scratch copy) is checked against the run as a whole: every copy the journal
 * records the run creating must have been deleted by the run's end, else a teardown that skipped one could say it.
 *
 * Queries: one ActivityLogs_List per resource group over the run's whole window, {@link ACTIVITY_LOG_CONCURRENCY} at a
 * time, each write then matched locally by correlation id (a write outside any resource group: by its correlation id).
 *
 * Whose events: each segment's run.started records its principal (the caller and object id of the credential's token);
 * a write is witnessed only by an event made by that principal (the event's `caller`, or the object identifier in its
 * `claims`), so a colleague's or an attacker's write of the same resource does not witness the run's step. A segment
 * that records none, when another segment does, is held to the principals the run records. Limit: a resumed segment's
 * principal is written by whoever writes that segment (a colleague may rightly resume a lost laptop's run), so a forged
 * resumed segment can name another identity and be witnessed by that identity's real writes; only the first
 * segment's principal is fixed by the run's start.
 *
 * Whose target: the run's first plan records each idempotent step's target (run.started `steps[].targets`, the action
 * registry's `targets`: the scratch copy a teardown deletes, the router a fail-back puts back). A target the first plan
 * cannot name (an input read from another step's outputs: `server: ${{ steps.restore.outputs.server }}`) is recorded
 * when the step first starts (step.started `targets`, from its evaluated inputs, in the hash chain) and used the same
 * way. A finding about another resource — the run's other copy of the same kind, deleted while the step's own still
 * stands — is not witnessed. A rollback, journaled under its step's id, is judged by its own action (the first plan's
 * `steps[].rollback`) and by the target its own start recorded, not by the step's first-plan target.
 *
 * What it does not prove: that the forger did not have the same rights as the run. Someone holding the run's
 * credentials can make the real ARM calls (delete the copy) and journal them: then the Activity Log witnesses them,
 * and the evidence is true — the teardown was done, by whoever did it (the event's caller names the identity).
 */
import type {NoWriteFinding} from '../azure/arm-writes.js'
import {COMPONENT_PROVIDER_TYPE} from '../catalog/resource-id.js'
import type {VerifyCheck} from './verify.js'

/** How far a step's time and ARM's may disagree (this machine's clock against Azure's). */
export const CLOCK_SKEW_MS = 5 * 60_000
/** "Activity log events are retained in Azure for 90 days and then deleted" (Learn, activity-log). */
export const ACTIVITY_LOG_RETENTION_DAYS = 90
/** Statuses that say ARM took the write (the BeginRequest event's `Started` does not; `Failed` says it failed). */
const ACCEPTED = new Set(['accepted', 'succeeded'])

export type WitnessMode = 'auto' | 'activity-log' | 'none'

/** One Activity Log event, as far as the witness reads it. */
export interface ActivityEvent {
  correlationId: string
  resourceId: string
  status: string
  eventTimestamp: string
  operationName?: string
  caller?: string
  /** The token's claims as the event records them (the spec's EventData `claims`), e.g. its object identifier. */
  claims?: Record<string, string>
}

/** Where the witness reads the Activity Log: all events of a correlation id in a time window. */
export interface ActivityLogReader {
  /** `subscription`: the subscription whose Activity Log to read (the resource's); default the environment's. */
  byCorrelationId(correlationId: string, from: Date, to: Date, subscription?: string): Promise<ActivityEvent[]>
  /** All events of a resource group (of `subscription`, default the environment's) in a time window; absent: findings not checkable. */
  byResourceGroup?(resourceGroup: string, from: Date, to: Date, subscription?: string): Promise<ActivityEvent[]>
  /** All events of the environment's subscription in a time window (where a run's own copies are looked for). */
  bySubscription?(from: Date, to: Date): Promise<ActivityEvent[]>
  /**
   * The state of a Traffic Manager endpoint or Front Door origin now, read through ARM (undefined: it does not exist);
   * absent: a fail-back's "nothing switched" over endpoints written in the window is not checkable.
   */
  routerBackend?(resourceId: string): Promise<BackendState | undefined>
  /**
   * How long after a write this log may still not list it (ms): a check that needs the log complete up to the run's end
   * is not made before then (ACTIVITY_LOG_LISTING_DELAY_MS). Absent: 0 — the emulator lists a write as it accepts it.
   */
  listingDelayMs?: number
}

/** What a fail-back puts back on an endpoint or origin (failover.switch's `before`). */
export interface BackendState {
  enabled: boolean
  priority?: number
}

/**
 * Why the Activity Log could not be read. `global`: not at all — no right to read it (403) or no answer from it
 * (unreachable, no credential) — so every later step is not checkable; otherwise (a 5xx on one resource group, a query
 * past its bound of events) only the steps that needed that read are.
 */
export class ActivityLogUnreadable extends Error {
  constructor(
    message: string,
    readonly permission: boolean,
    readonly global: boolean = permission,
    /** Another subscription than the environment's, whose log could not be read: see the write check. */
    readonly foreignSubscription?: string,
  ) {
    super(message)
  }
}

export type WitnessVerdict = 'witnessed' | 'not-witnessed' | 'not-checkable'

export interface StepWitness {
  step: string
  phase: string
  /** 1 for the run's first segment, 2 for the first resume, … */
  segment: number
  verdict: WitnessVerdict
  /** Why, in words an auditor can act on. */
  reason: string
  /** ARM writes the journal records for the step. */
  writes: number
  /** Who made the witnessed writes, as the Activity Log names them (its events' `caller`). */
  callers?: string[]
}

interface RecordedWrite {
  method: string
  resourceId: string
  operation?: string
  status?: number
  correlationId: string
  at: string
}

interface JournalLineLike {
  seq: number
  ts: string
  type: string
  step: string | null
  data: Record<string, any>
}

/** A step of the journal to judge: a changing step that succeeded, or any step that recorded ARM writes. */
interface Candidate {
  step: string
  phase: string
  segment: number
  segmentMarked: boolean
  startedAt?: string
  endedAt: string
  writes: RecordedWrite[]
  /** The action (`uses`) the run's first plan gives the step; undefined when the first plan does not list it. */
  uses?: string
  changes: boolean
  /** The segment in which an earlier attempt of the step started and never ended (a crash cut it off), if any. */
  cutOffIn?: number
  /** Whether an earlier segment's run.started has the armWrites mark. */
  earlierMarked: boolean
  /** What the step says it found when it made no ARM write (`found` on its step.succeeded, azure/arm-writes.ts). */
  found: NoWriteFinding[]
  /** When the run's first segment started: the start of the window the findings are checked over. */
  runStartedAt?: string
  /** The step's line is step.succeeded (not step.failed). */
  succeeded: boolean
  /** Every string the step's own lines journal (its step.started inputs, its outputs), lower case: what it acted on. */
  named: string[]
  /** The resources the run's first plan says the step acts on (run.started `steps[].targets`), lower case; absent: not known. */
  targets?: string[]
  /**
   * When the first plan could not name them (an input read from another step's outputs): the resources the step's
   * first step.started recorded (its evaluated inputs, in the hash chain), lower case.
   */
  startedTargets?: string[]
  /**
   * Whose writes witness the step: the principal its segment's run.started records; for a segment that records none
   * when another does, every principal the run records. Undefined: no segment records one (not checked).
   */
  principals?: Principal[]
  /**
   * Why the step's times cannot be the journal's own, if they cannot: a line of its segment earlier than a line before
   * it, or a write outside the step. Journal lines are appended as they happen, so their times only go forward.
   */
  timeOrder?: string
}

/** Who ran a segment, as its run.started records it (runbooks/events.ts `principal`). */
interface Principal {
  caller: string
  objectId?: string
}

/** What the whole journal says beyond its steps, for the findings that are judged against the run as a whole. */
interface JournalFacts {
  /** The run's first start and the journal's last line: the window every Activity Log query of the run covers. */
  startedAt?: string
  endedAt?: string
  /**
   * Resources this run created for itself: PUTs the journal records on a resource named for the run
   * (`<source>-<purpose>-<short run id>`, src/actions/resolve.ts derivedName), e.g. a drill's scratch server.
   */
  ownResources: string[]
  /** The suffix of the names the run gives its own resources: `-<short run id>`. */
  ownSuffix: string
  /** The resource groups of every write the journal records (with their subscription): where the run's own resources are looked for. */
  groups: Array<{group: string; subscription?: string}>
  /** What the run's run.finished lines say a human must look at (a teardown that failed names what it left). */
  leftBehind: string[]
  /** The resources of every write the journal records, lower case. */
  written: string[]
  /**
   * What the run's first segment (which Blob pins) records of each endpoint or origin a failover.switch changed, by
   * its resource id (lower case): its state before the switch, which a fail-back must have put back.
   */
  switchedBefore: Map<string, BackendState>
}

/**
 * The steps of a journal the witness judges. `changes` and `uses` come from the first segment's plan (its run.started,
 * which Blob's copy of the run pins): a later segment's own plan is as forgeable as its steps.
 */
export function witnessCandidates(journalText: string): {candidates: Candidate[]; marked: boolean; facts: JournalFacts} {
  const lines = journalText
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalLineLike)
  let segment = 0
  let segmentMarked = false
  let earlierMarked = false
  let firstPlan: Map<string, {uses: string; changes: boolean; targets?: string[]; rollback?: {uses: string; changes: boolean}}> | undefined
  // Each segment's principal (index: segment - 1), when its run.started records one.
  const principals: Array<Principal | undefined> = []
  let anyMarked = false
  let runStartedAt: string | undefined
  const started = new Map<string, string>()
  const startedInputs = new Map<string, unknown>()
  // The targets each step's first start recorded (step.started `targets`): a later, resumed start cannot replace them.
  const startedTargets = new Map<string, string[]>()
  const cutOff = new Map<string, number>()
  const candidates: Candidate[] = []
  const own = new Map<string, string>()
  const leftBehind: string[] = []
  const switchedBefore = new Map<string, BackendState>()
  // The scratch names' suffix (src/actions/resolve.ts shortRunId: the run id's last 6 letters and digits).
  const runId = String((lines[0] as {runId?: string} | undefined)?.runId ?? '')
  // Segments with a line earlier (beyond the clock skew) than a line before it, with the first such line's times.
  const backwards = new Map<number, string>()
  let latest = Number.NEGATIVE_INFINITY
  let latestTs = ''
  let segmentStartedAt: string | undefined
  const short = runId.toLowerCase().replaceAll(/[^a-z0-9]/g, '').slice(-6) || 'run'
  for (const line of lines) {
    const t = Date.parse(line.ts)
    const lineSegment = line.type === 'run.started' ? segment + 1 : segment
    if ((Number.isNaN(t) || t < latest - CLOCK_SKEW_MS) && !backwards.has(lineSegment))
      backwards.set(lineSegment, `its line ${line.seq} (${line.type}) is dated ${line.ts}, before line ${line.seq - 1}'s or an earlier line's ${latestTs}`)
    if (t > latest) {
      latest = t
      latestTs = line.ts
    }
    if (line.type === 'run.finished' && Array.isArray(line.data.leftBehind)) leftBehind.push(...line.data.leftBehind.map(String))
    if (line.type === 'run.started') {
      // A step started in the segment that ends here and never ended: its attempt was cut off.
      for (const key of started.keys()) if (!cutOff.has(key)) cutOff.set(key, segment)
      segment++
      earlierMarked ||= segmentMarked
      segmentMarked = line.data.armWrites === true
      anyMarked ||= segmentMarked
      runStartedAt ??= line.ts
      segmentStartedAt = line.ts
      const p = line.data.principal as Partial<Principal> | undefined
      principals.push(p && typeof p.caller === 'string' && p.caller ? {caller: p.caller, ...(typeof p.objectId === 'string' ? {objectId: p.objectId} : {})} : undefined)
      if (!firstPlan)
        firstPlan = new Map(
          (line.data.steps ?? []).map((s: {id: string; uses: string; changes: boolean; targets?: unknown; rollback?: {uses?: unknown; changes?: unknown}}) => [
            s.id,
            {
              uses: s.uses,
              changes: Boolean(s.changes),
              ...(Array.isArray(s.targets) && s.targets.length > 0 ? {targets: s.targets.map((t) => String(t).toLowerCase())} : {}),
              ...(s.rollback && typeof s.rollback.uses === 'string' ? {rollback: {uses: s.rollback.uses, changes: Boolean(s.rollback.changes)}} : {}),
            },
          ]),
        )
      started.clear()
      continue
    }
    if (!line.step) continue
    const phase = String(line.data.phase ?? 'main')
    const key = `${phase} ${line.step}`
    if (line.type === 'step.started') {
      started.set(key, line.ts)
      startedInputs.set(key, line.data.inputs)
      if (!startedTargets.has(key) && Array.isArray(line.data.targets) && line.data.targets.length > 0) startedTargets.set(key, line.data.targets.map((t: unknown) => String(t).toLowerCase()))
    }
    if (line.type !== 'step.succeeded' && line.type !== 'step.failed' && line.type !== 'step.skipped') continue
    const startedAt = started.get(key)
    started.delete(key)
    const inputs = startedInputs.get(key)
    startedInputs.delete(key)
    if (line.type === 'step.skipped') continue
    const writes = Array.isArray(line.data.arm) ? (line.data.arm as RecordedWrite[]) : []
    for (const w of writes)
      if (w.method === 'PUT' && String(w.resourceId).split('/').at(-1)?.toLowerCase().endsWith(`-${short}`)) own.set(String(w.resourceId).toLowerCase(), String(w.resourceId))
    // A rollback is journaled under its step's id: it is judged by what the first plan records of the rollback (its
    // own action) and by the target its own start recorded — never by the step's first-plan target, another resource.
    const main = firstPlan?.get(line.step)
    const rollback = phase === 'rollback'
    const planned: {uses: string; changes: boolean; targets?: string[]} | undefined = rollback ? (main?.rollback ?? (main ? {uses: main.uses, changes: main.changes} : undefined)) : main
    if (segment === 1 && line.type === 'step.succeeded' && planned?.uses === 'failover.switch' && Array.isArray(line.data.outputs?.changed))
      for (const row of line.data.outputs.changed as Array<{name?: unknown; group?: unknown; before?: {enabled?: unknown; priority?: unknown}}>) {
        // The switch's own PATCH of that backend (…/<group>/<name>, or …/originGroups/<group>/origins/<name>).
        const write = writes.find((w) => w.method === 'PATCH' && String(w.resourceId).toLowerCase().endsWith(`/${String(row.name).toLowerCase()}`) && String(w.resourceId).toLowerCase().includes(`/${String(row.group).toLowerCase()}/`))
        if (write && typeof row.before?.enabled === 'boolean')
          switchedBefore.set(String(write.resourceId).toLowerCase(), {enabled: row.before.enabled, ...(typeof row.before.priority === 'number' ? {priority: row.before.priority} : {})})
      }
    const changes = planned?.changes ?? true
    if (writes.length === 0 && !(line.type === 'step.succeeded' && changes)) continue
    const from = Date.parse(startedAt ?? segmentStartedAt ?? line.ts) - CLOCK_SKEW_MS
    const outside = writes.find((w) => !(Date.parse(String(w.at)) >= from && Date.parse(String(w.at)) <= Date.parse(line.ts) + CLOCK_SKEW_MS))
    const timeOrder = outside ? `its write ${outside.method} ${outside.resourceId} is dated ${outside.at}, outside the step (${startedAt ?? segmentStartedAt} to ${line.ts})` : undefined
    candidates.push({...(timeOrder ? {timeOrder} : {}), step: line.step, phase, segment, segmentMarked, startedAt, endedAt: line.ts, writes, uses: planned?.uses, changes, earlierMarked, found: Array.isArray(line.data.found) ? (line.data.found as NoWriteFinding[]) : [], runStartedAt, succeeded: line.type === 'step.succeeded', named: stringsIn([inputs, line.data.outputs]), ...(planned?.targets ? {targets: planned.targets} : startedTargets.has(key) ? {startedTargets: startedTargets.get(key)} : {}), ...(cutOff.has(key) ? {cutOffIn: cutOff.get(key)} : {})})
  }
  // Whose events witness a step: its segment's principal; a segment that names none, when others do, any of theirs.
  const recorded = principals.filter((p): p is Principal => p !== undefined)
  for (const c of candidates) {
    const own = principals[c.segment - 1]
    if (own) c.principals = [own]
    else if (recorded.length > 0) c.principals = recorded
  }
  for (const c of candidates) if (!c.timeOrder && backwards.has(c.segment)) c.timeOrder = backwards.get(c.segment)
  const groups = new Map(candidates.flatMap((c) => c.writes.flatMap((w) => {
    const group = resourceGroupOf(String(w.resourceId))
    const subscription = subscriptionOf(String(w.resourceId))
    return group ? [[`${subscription ?? ''}/${group}`.toLowerCase(), {group, ...(subscription ? {subscription} : {})}] as const] : []
  })))
  return {candidates, marked: anyMarked, facts: {startedAt: runStartedAt, endedAt: lines.at(-1)?.ts, ownResources: [...own.values()], ownSuffix: `-${short}`, groups: [...groups.values()], leftBehind, written: [...new Set(candidates.flatMap((c) => c.writes.map((w) => String(w.resourceId).toLowerCase())))], switchedBefore}}
}

/** How a changing action relates to ARM writes: the action registry's `armWrites` (actions/types.ts). */
export type ArmWriteMode = 'always' | 'when-needed' | 'data-plane'

export interface WitnessOptions {
  now?: Date
  /** Each action's `armWrites`, by name, from the action registry; an action not listed is taken as `always`. */
  armWrites?: ReadonlyMap<string, ArmWriteMode>
}

export interface WitnessReport {
  steps: StepWitness[]
  /** Set when the Activity Log could not be read at all. */
  unreadable?: {message: string; permission: boolean}
}

/** How many events one Activity Log query may return before verify stops paging it (about 250 pages of 200). */
export const ACTIVITY_LOG_MAX_EVENTS = 50_000

/**
 * How long after a write Azure's Activity Log may not list it yet. Microsoft documents it for the activity log itself:
 * "Activity log entries are usually available for analysis and alerting within 3 to 20 minutes of the event
 * occurring" (https://learn.microsoft.com/azure/azure-monitor/platform/activity-log, ms.date 2025-07-17), and in the
 * ingestion-time page's section "Azure metrics, resource logs, activity log" (30 seconds to 20 minutes): "Activity logs
 * are available for analysis and alerting in 3 to 20 minutes"
 * (https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time#azure-metrics-resource-logs-activity-logs,
 * ms.date 2026-02-27; read from MicrosoftDocs/azure-monitor-docs). The same page's "average latency" (once "20 seconds
 * and 3 minutes", now "less than 10 seconds") is for log data in general, not the activity log. 20 minutes is
 * Microsoft's upper figure ("usually": not a guarantee): a write made less than that before verify may be missing from
 * what the log lists, so a check that needs the log complete up to the run's end waits that long.
 */
export const ACTIVITY_LOG_LISTING_DELAY_MS = 20 * 60_000

/** A long read says how far it is every this many events (5 of the emulator's pages of 200) on stderr (`evidence verify`). */
export const ACTIVITY_LOG_PROGRESS_EVERY = 1_000

/** How many Activity Log queries verify has under way at once (each resource group is read once per run). */
export const ACTIVITY_LOG_CONCURRENCY = 4

/** ARM's correlation ids: GUIDs. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/**
 * A resource group name ARM accepts: "no longer than 90 characters long, and must be alphanumeric characters
 * (Char.IsLetterOrDigit()) and '-', '_', '(', ')' and'.'. Note that the name cannot end with '.'"
 * (https://learn.microsoft.com/dotnet/api/azure.resourcemanager.synapse.synapseworkspacedata.managedresourcegroupname;
 * https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources).
 */
const RESOURCE_GROUP_NAME = /^[-\w.()\p{L}\p{N}]{0,89}[-\w()\p{L}\p{N}]$/u
const resourceGroupOf = (resourceId: string) => /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1]
/** The subscription a resource id names: its Activity Log is that subscription's ("the Activity Log is the subscription's"). */
const subscriptionOf = (resourceId: string) => /^\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1]

/**
 * The Activity Log events a run's verdicts need, read with as few requests as the API allows: one query per resource
 * group over the whole run's window (`eventTimestamp ge … le … and resourceGroupName eq …`, the spec's "List events
 * for a resource group" form), every write and finding then matched locally by correlation id, resource and time;
 * a write outside any resource group (a subscription-level one) by its correlation id. Queries run
 * {@link ACTIVITY_LOG_CONCURRENCY} at a time. A reader without resource-group reads asks per correlation id.
 */
class RunEvents {
  private readonly groups = new Map<string, Promise<ActivityEvent[]>>()
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    private readonly reader: ActivityLogReader,
    private readonly from: Date,
    private readonly to: Date,
  ) {}

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= ACTIVITY_LOG_CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await fn()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }

  /**
   * Every event of a resource group in the run's window — of the subscription named (the resource's), else the
   * environment's; undefined when the reader cannot read by resource group.
   */
  group(name: string, subscription?: string): Promise<ActivityEvent[]> | undefined {
    if (!this.reader.byResourceGroup) return undefined
    const key = `${(subscription ?? '').toLowerCase()}/${name.toLowerCase()}`
    let events = this.groups.get(key)
    if (!events) {
      events = this.limited(() => this.reader.byResourceGroup!(name, this.from, this.to, subscription))
      // Started now, awaited later: a failure is reported where it is awaited, not as an unhandled rejection.
      events.catch(() => undefined)
      this.groups.set(key, events)
    }
    return events
  }

  private whole?: Promise<ActivityEvent[]>
  /** Every event of the subscription in the run's window (one query); undefined when the reader cannot. */
  subscription(): Promise<ActivityEvent[]> | undefined {
    if (!this.reader.bySubscription) return undefined
    if (!this.whole) {
      this.whole = this.limited(() => this.reader.bySubscription!(this.from, this.to))
      this.whole.catch(() => undefined)
    }
    return this.whole
  }

  /** Every event of a resource group from `from` to `to` (outside the run's window: not kept). */
  between(group: string, from: Date, to: Date, subscription?: string): Promise<ActivityEvent[]> | undefined {
    if (!this.reader.byResourceGroup) return undefined
    return this.limited(() => this.reader.byResourceGroup!(group, from, to, subscription))
  }

  /** How long after a write the log may not list it yet (ms; 0: at once). */
  get listingDelayMs(): number {
    return this.reader.listingDelayMs ?? 0
  }

  /** A Traffic Manager endpoint's or Front Door origin's state now; undefined when the reader cannot read it. */
  backend(resourceId: string): Promise<BackendState | undefined> | undefined {
    if (!this.reader.routerBackend) return undefined
    return this.limited(() => this.reader.routerBackend!(resourceId))
  }

  /** Start reading these resource groups now (bounded), so the verdicts that need them do not wait one by one. */
  prefetch(resourceIds: Iterable<string>): void {
    for (const id of resourceIds) {
      const group = resourceGroupOf(id)
      if (group) this.group(group, subscriptionOf(id))
    }
  }

  /** The events of one write's correlation id. */
  async ofWrite(write: RecordedWrite, from: Date, to: Date): Promise<ActivityEvent[]> {
    const group = resourceGroupOf(write.resourceId)
    const events = group ? this.group(group, subscriptionOf(write.resourceId)) : undefined
    if (events) return (await events).filter((e) => e.correlationId.toLowerCase() === write.correlationId.toLowerCase())
    return this.limited(() => this.reader.byCorrelationId(write.correlationId, from, to, subscriptionOf(write.resourceId)))
  }
}

/** Judge each step of a journal against the Activity Log (see the file comment). */
export async function witnessJournal(journalText: string, reader: ActivityLogReader, options: WitnessOptions = {}): Promise<WitnessReport> {
  const now = options.now ?? new Date()
  const oldest = now.getTime() - ACTIVITY_LOG_RETENTION_DAYS * 86_400_000
  const {candidates, facts} = witnessCandidates(journalText)
  const steps: StepWitness[] = []
  let unreadable: WitnessReport['unreadable']
  /** Why a step ended then cannot be looked up at all: past the Activity Log's retention, or the log unreadable. */
  const uncheckable = (endedAt: string): string | undefined =>
    Date.parse(endedAt) < oldest ? `older than the Activity Log's ${ACTIVITY_LOG_RETENTION_DAYS}-day retention` : unreadable?.message
  // The run's whole window: its first start (or its first recorded write) to its last line, ± clock skew.
  const times = [facts.startedAt, ...candidates.flatMap((c) => [c.startedAt, ...c.writes.map((w) => w.at)])].filter((t): t is string => Boolean(t)).map(Date.parse)
  const ends = [facts.endedAt, ...candidates.map((c) => c.endedAt)].filter((t): t is string => Boolean(t)).map(Date.parse)
  const windowFrom = Math.max((times.length > 0 ? Math.min(...times) : now.getTime()) - CLOCK_SKEW_MS, oldest)
  // The run's last time as the journal dates it (not capped at now: a check that waits for the log must not wait for a
  // run dated in the future).
  const recordedEnd = ends.length > 0 ? Math.max(...ends) : now.getTime()
  const windowTo = Math.min(recordedEnd + CLOCK_SKEW_MS, now.getTime())
  const events = new RunEvents(reader, new Date(windowFrom), new Date(Math.max(windowTo, windowFrom)))
  if (windowTo > windowFrom)
    events.prefetch([
      ...candidates.flatMap((c) => [...c.writes.map((w) => w.resourceId), ...c.found.flatMap((f) => ('resourceId' in f && f.resourceId ? [f.resourceId] : []))]),
      ...facts.ownResources,
    ])
  if (windowTo > windowFrom && candidates.some((c) => c.found.some((f) => f.kind === 'nothing-to-do'))) events.subscription()
  // A correlation id witnesses one write: a forger copying the ids of genuine writes into other steps is caught.
  const claimed = new Map<string, string>()
  for (const c of candidates) {
    const base = {step: c.step, phase: c.phase, segment: c.segment, writes: c.writes.length}
    if (!c.segmentMarked && c.writes.length === 0) {
      // A segment without the mark after one with it was not written by the opsbook that wrote the first.
      steps.push(
        c.earlierMarked
          ? {...base, verdict: 'not-witnessed', reason: 'its segment does not record ARM writes, although an earlier segment of the run does: not written by opsbook'}
          : {...base, verdict: 'not-checkable', reason: 'recorded before opsbook journaled each step\'s ARM writes'},
      )
      continue
    }
    if (c.timeOrder && c.segment > 1) {
      // A resumed segment dated before the run (or out of its own order) would otherwise be "older than the Activity
      // Log's retention", or matched against events that happened before it: not what opsbook appends.
      steps.push({...base, verdict: 'not-witnessed', reason: `its times are not in journal order: ${c.timeOrder}`})
      continue
    }
    if (c.uses === undefined && c.segment > 1) {
      steps.push({...base, verdict: 'not-witnessed', reason: 'not a step of the run\'s plan (its first run.started)'})
      continue
    }
    if (c.writes.length === 0) {
      const mode = (c.uses && options.armWrites?.get(c.uses)) || 'always'
      if (mode === 'data-plane') {
        steps.push({...base, verdict: 'not-checkable', reason: `${c.uses} changes a data plane only, which the Activity Log does not record`})
        continue
      }
      if (c.segment === 1) {
        // The run's own first segment, uploaded as it ran: a teardown that found nothing left, a change through a
        // data plane (blobs of a cache export), a component with nothing to do.
        steps.push({...base, verdict: 'not-checkable', reason: 'it made no ARM write (nothing left to change, or a data-plane change): nothing for the Activity Log to witness'})
        continue
      }
      if (c.cutOffIn !== undefined && mode !== 'when-needed') {
        // A crash cut its earlier attempt off: what that attempt did through ARM was not journaled, and the resume
        // may rightly find nothing left to do. Not for a `when-needed` action: it journals what it found (the scratch
        // server already deleted, by whoever — the cut-off attempt included), which the log can check below; a cut-off
        // segment is as easy to append as the rest, and excused a forged teardown as "not checkable" under auto.
        steps.push({...base, verdict: 'not-checkable', reason: `it made no ARM write, and its earlier attempt in segment ${c.cutOffIn} was cut off unjournaled: the Activity Log's events for its resource say who changed it`})
        continue
      }
      if (mode === 'when-needed' && c.found.length > 0) {
        // An idempotent step of a resumed segment that found nothing to do: its finding is checked against the log.
        const why = uncheckable(c.endedAt)
        if (why) {
          steps.push({...base, verdict: 'not-checkable', reason: why})
          continue
        }
        try {
          steps.push({...base, ...(await judgeFindings(c, events, facts, Math.max(Date.parse(c.runStartedAt ?? c.endedAt) - CLOCK_SKEW_MS, oldest), Math.min(Date.parse(c.endedAt) + CLOCK_SKEW_MS, now.getTime()), windowTo, now.getTime(), recordedEnd))})
        } catch (error) {
          if (!(error instanceof ActivityLogUnreadable)) throw error
          // Only a log that cannot be read at all makes the later steps not checkable; other failures, this step only.
          if (error.global) unreadable = {message: error.message, permission: error.permission}
          steps.push({...base, verdict: 'not-checkable', reason: error.message})
        }
        continue
      }
      steps.push({
        ...base,
        verdict: 'not-witnessed',
        reason:
          mode === 'when-needed'
            ? 'the journal says it succeeded but records neither an ARM write nor what it found instead, so the Activity Log cannot confirm it'
            : 'the journal says it succeeded but records no ARM write for it, and no earlier attempt of it was cut off, so the Activity Log cannot confirm it',
      })
      continue
    }
    const from = Date.parse(c.startedAt ?? c.writes[0]!.at) - CLOCK_SKEW_MS
    const to = Date.parse(c.endedAt) + CLOCK_SKEW_MS
    const why = uncheckable(c.endedAt)
    if (why) {
      steps.push({...base, verdict: 'not-checkable', reason: why})
      continue
    }
    const missing: string[] = []
    const callers = new Set<string>()
    try {
      for (const write of c.writes) {
        const id = write.correlationId.toLowerCase()
        const owner = claimed.get(id)
        if (owner !== undefined) {
          missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId} is already the record of ${owner})`)
          continue
        }
        claimed.set(id, `${write.method} ${write.resourceId} in step ${c.step}`)
        // What ARM answers is a GUID in a resource group ARM can name: anything else in a query's $filter could make
        // the query fail (400, an over-long URL), and a failed query must not make the steps after it "not checkable".
        const group = resourceGroupOf(String(write.resourceId))
        const subscription = subscriptionOf(String(write.resourceId))
        if (!GUID.test(String(write.correlationId)) || (group !== undefined && !RESOURCE_GROUP_NAME.test(group))) {
          missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}: not a correlation id and resource group ARM gives)`)
          continue
        }
        // A subscription id is a GUID: anything else names no Activity Log to read.
        if (subscription !== undefined && !GUID.test(subscription)) {
          missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}: ${subscription} is not a subscription id ARM gives)`)
          continue
        }
        let found: ActivityEvent[]
        try {
          found = await events.ofWrite(write, new Date(Math.max(from, oldest)), new Date(Math.min(to, now.getTime())))
        } catch (error) {
          // A write in another subscription than the environment's (opsbook's catalog puts every component in the
          // environment's subscription) whose log the verifier cannot read is not witnessed, not "not checkable":
          // else a forged write named in a subscription nobody can read would pass `--witness auto`.
          if (!(error instanceof ActivityLogUnreadable) || !error.foreignSubscription) throw error
          missing.push(`${write.method} ${write.resourceId} (in subscription ${error.foreignSubscription}, not the environment's, whose Activity Log could not be read: ${error.message})`)
          continue
        }
        // The events Azure records for one write share its correlation id: Started (BeginRequest), then Accepted
        // (202, a long-running operation) or Succeeded, and for a long-running one a later Succeeded or Failed
        // (https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema, Administrative: "the records
        // of both the start and success or fail of that operation"). Accepted or Succeeded within the step says ARM
        // took it; a Failed one says the operation failed after all, which a step that succeeded cannot have made.
        const mine = found.filter(
          (e) =>
            e.correlationId.toLowerCase() === id &&
            e.resourceId.toLowerCase() === write.resourceId.toLowerCase() &&
            (!e.operationName || !write.operation || e.operationName.toLowerCase() === write.operation.toLowerCase()),
        )
        const inTime = mine.filter((e) => ACCEPTED.has(e.status.toLowerCase()) && Date.parse(e.eventTimestamp) >= from && Date.parse(e.eventTimestamp) <= to)
        // The event must be the run's own: made by the principal the segment records (the event's caller, or the object
        // identifier in its claims). An event someone else's write left does not witness the run's step.
        const match = inTime.find((e) => byPrincipal(e, c.principals))
        if (!match && inTime.length > 0) {
          const other = inTime.find((e) => e.caller)?.caller ?? 'an unnamed caller'
          missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}: Azure recorded it as made by ${other}, not by the run's ${describePrincipals(c.principals)})`)
          continue
        }
        const failed = mine.find((e) => e.status.toLowerCase() === 'failed')
        // A write that failed and was made again in the step (the action retried it) is what a succeeded step can have.
        // Only a write with an operation: two writes journaled without one (ARM's writes always have one) are no retry.
        const retried = c.writes.some((w, i) => i > c.writes.indexOf(write) && w.resourceId.toLowerCase() === write.resourceId.toLowerCase() && write.operation !== undefined && w.operation === write.operation)
        if (match && failed && c.succeeded && !retried) {
          missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}: Azure recorded the operation Failed at ${failed.eventTimestamp}, yet the step succeeded)`)
          continue
        }
        if (match?.caller) callers.add(match.caller)
        if (!match) missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}${found.length > 0 ? `: ${found.length} event(s) with that id, none for this resource accepted within the step` : ''})`)
      }
    } catch (error) {
      if (!(error instanceof ActivityLogUnreadable)) throw error
      if (error.global) unreadable = {message: error.message, permission: error.permission}
      steps.push({...base, verdict: 'not-checkable', reason: error.message})
      continue
    }
    const recent = now.getTime() - Date.parse(c.endedAt) < 60 * 60_000
    steps.push(
      missing.length === 0
        ? {...base, verdict: 'witnessed', reason: `${c.writes.length} ARM write(s) found in the Activity Log`, ...(callers.size > 0 ? {callers: [...callers]} : {})}
        : {
            ...base,
            verdict: 'not-witnessed',
            reason: `no Activity Log event for ${missing.join('; ')}${recent ? ' (the run ended less than an hour ago: if Azure has not listed it yet, verify again later)' : ''}`,
          },
    )
  }
  return {steps, ...(unreadable ? {unreadable} : {})}
}

const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier'

/**
 * Whether an event was made by one of `principals` (all events pass when the journal records none). The spec's EventData
 * has `caller`, "the email address of the user who has performed the operation, the UPN claim or SPN claim based on
 * availability", and `claims`, the token's claims (its example: `http://schemas.microsoft.com/identity/claims/objectidentifier`,
 * `…/claims/upn`, `appid`) (azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2015-04-01/
 * activityLogs_API.json, EventData; examples/GetActivityLogsFiltered.json). So the caller is compared with the name
 * the run journaled (UPN, else app id) and its object id, and the claims' object identifier with the object id.
 */
function byPrincipal(e: ActivityEvent, principals: Principal[] | undefined): boolean {
  if (!principals) return true
  const caller = (e.caller ?? '').toLowerCase()
  const oid = (e.claims?.[OBJECT_ID_CLAIM] ?? e.claims?.oid ?? '').toLowerCase()
  return principals.some((p) => (caller !== '' && (caller === p.caller.toLowerCase() || caller === p.objectId?.toLowerCase())) || (oid !== '' && oid === p.objectId?.toLowerCase()))
}

const describePrincipals = (principals: Principal[] | undefined) =>
  principals && principals.length > 0 ? `principal ${principals.map((p) => `${p.caller}${p.objectId && p.objectId !== p.caller ? ` (${p.objectId})` : ''}`).join(' or ')}` : 'principal'

/**
 * A Traffic Manager endpoint's or Front Door origin's state now, through the environment's clients: Endpoints_Get
 * (`endpointStatus`, `priority`) and AFDOrigins_Get (`enabledState`, `priority`), the properties failover.switch and
 * failover.restore write (actions/traffic.ts). Undefined when it does not exist (404).
 */
async function readBackend(
  services: {subscription?: string; trafficManager(): Promise<import('@azure/arm-trafficmanager').TrafficManagerManagementClient>; frontDoor(): Promise<import('@azure/arm-cdn').CdnManagementClient>},
  resourceId: string,
): Promise<BackendState | undefined> {
  if (services.subscription && subscriptionOf(resourceId)?.toLowerCase() !== services.subscription.toLowerCase())
    throw new ActivityLogUnreadable(`${resourceId.split('/').at(-1)} is in another subscription than the environment's: its state is not read`, false, false)
  const tm = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/trafficmanagerprofiles\/([^/]+)\/([^/]+)\/([^/]+)$/i.exec(resourceId)
  const afd = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Cdn\/profiles\/([^/]+)\/originGroups\/([^/]+)\/origins\/([^/]+)$/i.exec(resourceId)
  try {
    if (tm) {
      const endpoint = await (await services.trafficManager()).endpoints.get(tm[1]!, tm[2]!, tm[3]! as 'AzureEndpoints', tm[4]!)
      return {enabled: endpoint.endpointStatus !== 'Disabled', ...(endpoint.priority !== undefined ? {priority: endpoint.priority} : {})}
    }
    if (afd) {
      const origin = await (await services.frontDoor()).afdOrigins.get(afd[1]!, afd[2]!, afd[3]!, afd[4]!)
      return {enabled: origin.enabledState !== 'Disabled', ...(origin.priority !== undefined ? {priority: origin.priority} : {})}
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return undefined
    throw new ActivityLogUnreadable(`the state of ${resourceId.split('/').at(-1)} could not be read: ${(error as Error).message}`, false, false)
  }
  throw new ActivityLogUnreadable(`${resourceId} is neither a Traffic Manager endpoint nor a Front Door origin`, false, false)
}

/** Every string in journaled values (inputs, outputs), lower case, however deep. */
function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value.toLowerCase())
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, into)
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, into)
  return into
}

/** The resource type an idempotent delete deletes (the action registry's sql.delete, cosmos.delete, postgres.delete). */
const DELETES: Record<string, string> = {
  'sql.delete': `${COMPONENT_PROVIDER_TYPE.sqldb}/databases`,
  'cosmos.delete': COMPONENT_PROVIDER_TYPE.cosmosdb,
  'postgres.delete': COMPONENT_PROVIDER_TYPE.postgres,
  'drill.teardown': COMPONENT_PROVIDER_TYPE.postgres,
}

/** A resource id's type, lower case: `/subscriptions/…/providers/Microsoft.Sql/servers/a/databases/b` → `microsoft.sql/servers/databases`. */
function resourceTypeOf(id: string): string {
  const [namespace, ...rest] = id.toLowerCase().replace(/^.*\/providers\//, '').split('/')
  return [namespace, ...rest.filter((_, i) => i % 2 === 0)].join('/')
}

/**
 * Why a finding about a resource (`gone`, `not-switched`, `no-preview`, `swapped-back`) is not about the resource the
 * step acted on, if it is not.
 * The forger writes the finding, so the resource must be tied to the step as the run records it: named by the step's
 * own inputs or outputs, of the kind its action acts on; a `gone` copy must be one of the run's own copies (a name made
 * for the run, or a create the journal records), and a `not-switched` router one whose endpoints or origins the journal
 * records the run writing, when it records any. Else a delete step could point at another resource deleted in the
 * window while its own copy still stands.
 */
function untied(c: Candidate, facts: JournalFacts, finding: {kind: string; resourceId: string}): string | undefined {
  const id = finding.resourceId.toLowerCase()
  const name = id.split('/').at(-1)!
  const label = finding.resourceId.split('/').at(-1)
  // The run's first plan (which Blob pins) names the step's own target: another copy of the same kind — the run's
  // other component's copy, deleted while this one still stands — is not what the step acted on.
  if (c.targets && !c.targets.includes(id))
    return `${label} is not the target the run's first plan gives the step (${c.targets.map((t) => t.split('/').at(-1)).join(', ')})`
  // A target read from another step's outputs: the one the step's first start recorded, the same way.
  if (!c.targets && c.startedTargets && !c.startedTargets.includes(id))
    return `${label} is not the target the step's first start recorded (${c.startedTargets.map((t) => t.split('/').at(-1)).join(', ')})`
  if (!c.named.includes(name) && !c.named.includes(id)) return `${label} is not named by the step's own inputs or outputs`
  if (finding.kind === 'gone') {
    const kind = c.uses ? DELETES[c.uses] : undefined
    if (kind && resourceTypeOf(id) !== kind.toLowerCase()) return `${label} is not the kind of resource ${c.uses} deletes`
    if (!name.endsWith(facts.ownSuffix) && !facts.ownResources.some((r) => r.toLowerCase() === id))
      return `${label} is not a copy this run made (no name made for the run, no create of it in the journal)`
  }
  if (finding.kind === 'not-switched') {
    const type = id.split('/').slice(0, -1).join('/').replace(/^.*\/providers\//, '')
    const routers = new Set(facts.written.filter((w) => w.replace(/^.*\/providers\//, '').startsWith(`${type}/`) && w.split('/').length > id.split('/').length).map((w) => w.split('/').slice(0, id.split('/').length).join('/')))
    if (routers.size > 0 && !routers.has(id)) return `the run's journal records its writes to ${[...routers].map((r) => r.split('/').at(-1)).join(', ')}, not to ${label}`
  }
  return undefined
}

/** The operation an event records, lower case, without its namespace: `…/slots/applyslotconfig/action` → `applyslotconfig/action`. */
const verbOf = (e: ActivityEvent) => (e.operationName ?? '').toLowerCase().split('/').slice(-2).join('/')
const sameOrUnder = (resourceId: string, base: string) => resourceId.toLowerCase() === base.toLowerCase() || resourceId.toLowerCase().startsWith(`${base.toLowerCase()}/`)
const isWriteOrDelete = (e: ActivityEvent) => /^(write|delete)$/.test(verbOf(e).split('/').at(-1)!)

/**
 * The operations under `resourceId` (all, when undefined) in [from, to], in time order, one per operation (Azure records several events for
 * one: Started, Accepted, then Succeeded or Failed, all with its correlation id): those ARM took (Accepted or
 * Succeeded) and that did not end Failed. An operation only Started (refused, or still being answered) is not one.
 */
function operationsUnder(events: ActivityEvent[], resourceId: string | undefined, from: number, to: number): ActivityEvent[] {
  const byOperation = new Map<string, {first?: ActivityEvent; failed: boolean}>()
  for (const e of events) {
    if (resourceId !== undefined && !sameOrUnder(e.resourceId, resourceId)) continue
    const at = Date.parse(e.eventTimestamp)
    if (at < from || at > to) continue
    const key = `${e.correlationId.toLowerCase()} ${e.resourceId.toLowerCase()} ${verbOf(e)}`
    const op = byOperation.get(key) ?? {failed: false}
    const status = e.status.toLowerCase()
    if (status === 'failed') op.failed = true
    else if (ACCEPTED.has(status) && (!op.first || at < Date.parse(op.first.eventTimestamp))) op.first = e
    byOperation.set(key, op)
  }
  return [...byOperation.values()]
    .flatMap((op) => (op.first && !op.failed ? [op.first] : []))
    .sort((a, b) => Date.parse(a.eventTimestamp) - Date.parse(b.eventTimestamp))
}

/**
 * Judge what a resumed idempotent step says it found instead of writing, against the Activity Log of the run's window
 * (the run's first start to the step's end, ± clock skew): witnessed when every finding is supported by the log, not
 * witnessed when one is contradicted, otherwise not checkable. The rules, one per kind of finding:
 */
async function judgeFindings(c: Candidate, runEvents: RunEvents, facts: JournalFacts, from: number, to: number, runTo: number, now: number, recordedEnd: number): Promise<Pick<StepWitness, 'verdict' | 'reason' | 'callers'>> {
  const supported: string[] = []
  const contradicted: string[] = []
  const unknown: string[] = []
  const unrelated: string[] = []
  const callers = new Set<string>()
  const eventsUnder = async (resourceId: string, until = to): Promise<ActivityEvent[] | undefined> => {
    const group = resourceGroupOf(resourceId)
    const events = group ? runEvents.group(group, subscriptionOf(resourceId)) : undefined
    return events ? operationsUnder(await events, resourceId, from, until) : undefined
  }
  for (const finding of c.found) {
    if (finding.kind === 'nothing-to-do') {
      // "Nothing of its kind to change here" (a teardown of a component that has no scratch copy): true only if the run
      // left none of its own copies standing, for a teardown that skipped a copy would say the same. The copies are
      // the resources the journal records the run creating under a name made for it (its first segment, which Blob
      // pins, records the restores); each must have been deleted by the run's end — unless the run itself says it
      // left it behind (a teardown that failed names it). Read from the Activity Log, not from the step's own words.
      const standing: string[] = []
      const unseen: string[] = []
      // The journal's own creates, and those the Activity Log has in the run's resource groups under a name made for
      // the run: a create cut off by a crash (or left out of a forged segment) is in the log, not in the journal.
      // The whole subscription's log of the run's window is read once for it; a reader that cannot, by the resource
      // groups the journal wrote in.
      const owned = new Map(facts.ownResources.map((r) => [r.toLowerCase(), r]))
      const whole = runEvents.subscription()
      for (const events of whole ? [whole] : facts.groups.flatMap((g) => runEvents.group(g.group, g.subscription) ?? []))
        for (const e of operationsUnder(await events, undefined, from, runTo))
          if (verbOf(e).endsWith('/write') && e.resourceId.split('/').at(-1)!.toLowerCase().endsWith(facts.ownSuffix) && /\/providers\//i.test(e.resourceId)) owned.set(e.resourceId.toLowerCase(), e.resourceId)
      for (const own of owned.values()) {
        const name = own.split('/').at(-1)!
        if (facts.leftBehind.some((l) => l.toLowerCase().includes(name.toLowerCase()))) continue
        const ops = await eventsUnder(own, runTo)
        if (!ops) {
          unseen.push(`the Activity Log of ${own}'s resource group could not be read`)
          continue
        }
        const last = ops.filter((e) => e.resourceId.toLowerCase() === own.toLowerCase() && isWriteOrDelete(e)).at(-1)
        if (!last) unseen.push(`${name}: no write or delete of it in the run's window`)
        else if (!verbOf(last).endsWith('delete')) standing.push(`${name}, a copy this run made, was not deleted (its last event is a ${verbOf(last)} at ${last.eventTimestamp})`)
      }
      if (standing.length > 0) contradicted.push(`${finding.what}, but ${standing.join('; ')}: "nothing to do" cannot be told from a teardown that skipped it`)
      else if (unseen.length > 0) unknown.push(`${finding.what}: ${unseen.join('; ')}`)
      else supported.push(`${finding.what} (${owned.size === 0 ? 'the run made no copy of its own' : `every copy the run made was deleted: ${[...owned.values()].map((r) => r.split('/').at(-1)).join(', ')}`})`)
      continue
    }
    if (!('resourceId' in finding)) {
      // Nothing the Activity Log records: it cannot tell either way.
      unknown.push(`${finding.what}: nothing the Activity Log records`)
      continue
    }
    // Every finding about a resource is tied to the step's own: a swap teardown's `swapped-back` or `no-preview` about
    // an app the run never swapped found nothing in the log to contradict it, while the run's own app was left swapped.
    const why = untied(c, facts, finding)
    if (why) {
      unrelated.push(`${finding.kind} ${finding.resourceId}: ${why}`)
      continue
    }
    const events = await eventsUnder(finding.resourceId)
    if (!events) {
      unknown.push(`the Activity Log of ${finding.resourceId}'s resource group could not be read`)
      continue
    }
    const name = finding.resourceId.split('/').at(-1)
    if (finding.kind === 'gone') {
      // "Already deleted": the last write or delete of the resource itself in the run's window must be a delete (by
      // anyone: the run's earlier, cut-off attempt, or a colleague). A create/update after any delete says it exists.
      // No event at all: the log cannot tell whether it ever existed in the window.
      const own = events.filter((e) => e.resourceId.toLowerCase() === finding.resourceId.toLowerCase() && isWriteOrDelete(e))
      const last = own.at(-1)
      if (!last) unknown.push(`${name} already deleted: no write or delete of it in the run's window`)
      else if (verbOf(last).endsWith('delete')) {
        supported.push(`${name} already deleted (deleted at ${last.eventTimestamp}${last.caller ? ` by ${last.caller}` : ''})`)
        if (last.caller) callers.add(last.caller)
      } else contradicted.push(`${name} "already deleted", but the Activity Log's last event for it is a ${verbOf(last)} at ${last.eventTimestamp}, with no delete after it`)
      continue
    }
    if (finding.kind === 'not-switched') {
      // The check below needs the log complete up to the run's end: the fail-back's own writes (counted, odd or even)
      // and any write since (the state read now stands for the state at the run's end only if none). Within the
      // listing delay (ACTIVITY_LOG_LISTING_DELAY_MS, cited there) of the run's end a write may be missing — an odd
      // count would read as "left switched", a missing later write would let the state read now pass for the run's
      // end: neither is said; verify says when to try again. (A write by someone else in the minutes before a later
      // verify is the same gap, not closed by one read: see README, Azure's Activity Log as witness.)
      const delay = runEvents.listingDelayMs
      // A journal whose last line is dated after now (beyond the clock skew allowed) is not one a run wrote before this
      // verify: its window, capped at now, would end "just now" at every verify, and the check would wait for ever —
      // a forged end date kept a fail-back that left the router switched "not yet witnessable" (not checkable: exit 0
      // with --witness auto).
      if (delay > 0 && recordedEnd > now + CLOCK_SKEW_MS) {
        contradicted.push(
          `nothing of ${name} left switched, but the run's last line is dated ${new Date(recordedEnd).toISOString()}, after now (${new Date(now).toISOString()}) by more than the clock skew allowed: a run that has not ended yet cannot have put it back`,
        )
        continue
      }
      if (delay > 0 && now - runTo < delay) {
        const retryAt = new Date(runTo + delay).toISOString()
        unknown.push(
          `nothing of ${name} left switched: not yet witnessable — Azure's Activity Log may list a write up to ${Math.round(delay / 60_000)} minutes after it is made, and the run's window (its last line, plus the clock skew allowed) ends at ${new Date(runTo).toISOString()}; retry after ${retryAt} (in ${Math.max(1, Math.ceil((runTo + delay - now) / 60_000))} minutes)`,
        )
        continue
      }
      // "Nothing of the router is left switched" (failover.restore with nothing to put back). Every endpoint or origin
      // of the router written in the run's window: written an odd number of times — switched and never put back by a
      // write — contradicts it; none written supports it. An even number is not proof: the Activity Log records that
      // a write was made, not what it set (the spec's EventData has no request body), so anyone with the run's rights
      // could write a switched endpoint twice. For those, the endpoint's state is read now through ARM and compared
      // with the state the run's first segment records before its switch (failover.switch's `before`), provided the
      // Activity Log has no write of it since the run ended (else its state at the run's end is not what is read now).
      const writes = new Map<string, ActivityEvent[]>()
      for (const e of events.filter((x) => x.resourceId.toLowerCase() !== finding.resourceId.toLowerCase() && verbOf(x).endsWith('/write')))
        writes.set(e.resourceId.toLowerCase(), [...(writes.get(e.resourceId.toLowerCase()) ?? []), e])
      const odd = [...writes.values()].filter((w) => w.length % 2 === 1)
      if (odd.length > 0) {
        contradicted.push(`nothing of ${name} left switched, but the Activity Log has ${odd.map((w) => `${w[0]!.resourceId.split('/').at(-1)} written ${w.length} time(s) (last at ${w.at(-1)!.eventTimestamp})`).join(', ')} in the run's window: an odd number leaves it switched`)
        continue
      }
      if (writes.size === 0) {
        supported.push(`nothing of ${name} left switched (no endpoint or origin of it written in the run's window)`)
        continue
      }
      const back: string[] = []
      const left: string[] = []
      const cannot: string[] = []
      const group = resourceGroupOf(finding.resourceId)
      const since = group ? runEvents.between(group, new Date(runTo), new Date(Math.max(now, runTo)), subscriptionOf(finding.resourceId)) : undefined
      for (const [id, w] of writes) {
        const label = `${w[0]!.resourceId.split('/').at(-1)} (written ${w.length} times in the run's window)`
        const before = facts.switchedBefore.get(id)
        if (!before) {
          cannot.push(`${label}: no switch of the run's first segment records its state before, and the Activity Log records that it was written, not what was written`)
          continue
        }
        const state = runEvents.backend(w[0]!.resourceId)
        if (!state || !since) {
          cannot.push(`${label}: the Activity Log records that it was written, not what was written, and its state cannot be read here`)
          continue
        }
        const later = operationsUnder(await since, w[0]!.resourceId, runTo, Math.max(now, runTo)).find((e) => verbOf(e).endsWith('/write') && e.resourceId.toLowerCase() === id)
        if (later) {
          cannot.push(`${label}: written again after the run ended (at ${later.eventTimestamp}), so its state now is not its state at the run's end`)
          continue
        }
        const current = await state
        const shown = (b: BackendState) => `${b.enabled ? 'enabled' : 'disabled'}${b.priority !== undefined ? `, priority ${b.priority}` : ''}`
        if (!current) cannot.push(`${label}: it does not exist now`)
        else if (current.enabled === before.enabled && (before.priority === undefined || current.priority === undefined || current.priority === before.priority)) back.push(`${label}: ${shown(current)} as before the switch`)
        else left.push(`${label} is ${shown(current)}, but was ${shown(before)} before the run's switch, and has not been written since the run ended`)
      }
      if (left.length > 0) contradicted.push(`nothing of ${name} left switched, but ${left.join('; ')}: left switched`)
      else if (cannot.length > 0) unknown.push(`nothing of ${name} left switched: ${cannot.join('; ')}`)
      else supported.push(`nothing of ${name} left switched (read through ARM now, not written since the run ended: ${back.join('; ')})`)
      continue
    }
    const isApply = (e: ActivityEvent) => verbOf(e) === 'applyslotconfig/action'
    const endsPreview = (e: ActivityEvent) => verbOf(e) === 'resetslotconfig/action' || verbOf(e) === 'slotsswap/action'
    if (finding.kind === 'no-preview') {
      // "No swap with preview pending": every applySlotConfig (phase 1 of a swap with preview) on the app or its slots
      // in the window is followed by a resetSlotConfig (cancel) or slotsswap (phase 2, which completes it)
      // (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap).
      // A preview prepared before the run started is outside the window: not seen.
      const lastApply = events.findLastIndex(isApply)
      if (lastApply < 0 || events.slice(lastApply + 1).some(endsPreview)) supported.push(`no swap with preview pending on ${name}${lastApply < 0 ? ' (none prepared in the run\'s window)' : ' (the last one prepared was reset or completed)'}`)
      else contradicted.push(`no swap with preview pending on ${name}, but the Activity Log has an applySlotConfig at ${events[lastApply]!.eventTimestamp} with no reset or swap after it`)
      continue
    }
    // "swapped-back": production serves what it served before the run, so the run's swaps (slotsswap actions on the
    // app or its slots in the window, each exchanging the two slots) must come in pairs: an odd count leaves them swapped.
    const swaps = events.filter((e) => verbOf(e) === 'slotsswap/action')
    if (swaps.length % 2 === 0) supported.push(`${name}'s slots swapped back (${swaps.length} swap(s) in the run's window)`)
    else contradicted.push(`${name} "as before", but the Activity Log has ${swaps.length} swap(s) in the run's window: an odd number leaves the slots exchanged`)
  }
  if (unrelated.length > 0) return {verdict: 'not-witnessed', reason: `it made no ARM write, and what it found is not about the resource it acted on: ${unrelated.join('; ')}`}
  if (contradicted.length > 0) return {verdict: 'not-witnessed', reason: `it made no ARM write and the Activity Log contradicts what it found: ${contradicted.join('; ')}`}
  if (unknown.length > 0) return {verdict: 'not-checkable', reason: `it made no ARM write, and the Activity Log cannot tell what it found: ${unknown.join('; ')}`}
  return {verdict: 'witnessed', reason: `it made no ARM write, and the Activity Log supports what it found: ${supported.join('; ')}`, ...(callers.size > 0 ? {callers: [...callers]} : {})}
}

/** The witness's verdicts as verify checks: not witnessed fails; not checkable fails only when the witness was required. */
export function witnessChecks(report: WitnessReport, mode: Exclude<WitnessMode, 'none'>): VerifyCheck[] {
  const subject = 'activity log'
  if (report.steps.length === 0) return [{subject, ok: true, skipped: true, message: 'activity log: no step of the run changed anything through ARM, nothing to witness'}]
  const checks: VerifyCheck[] = []
  const by = (verdict: WitnessVerdict) => report.steps.filter((s) => s.verdict === verdict)
  const name = (s: StepWitness) => `${s.phase === 'main' ? '' : `${s.phase} `}${s.step}${s.segment > 1 ? ` (resumed segment ${s.segment - 1})` : ''}`
  for (const s of by('not-witnessed')) checks.push({subject, ok: false, message: `activity log: step ${name(s)} is not witnessed: ${s.reason}`})
  const unchecked = by('not-checkable')
  // The Activity Log could not be read at all (no access, unreachable): said once, not once per step.
  const unreadable = report.unreadable ? unchecked.filter((s) => s.reason === report.unreadable!.message) : []
  if (unreadable.length > 0)
    checks.push({subject, ok: mode !== 'activity-log', skipped: mode !== 'activity-log', message: `activity log: ${unreadable.length} changing step(s) not checkable: ${report.unreadable!.message}`})
  for (const s of unchecked.filter((x) => !unreadable.includes(x)))
    checks.push({subject, ok: mode !== 'activity-log', skipped: mode !== 'activity-log', message: `activity log: step ${name(s)} not checkable: ${s.reason}`})
  const witnessed = by('witnessed')
  // The callers say who made the changes: the witness proves they were made, not by whom the journal was written.
  const callers = [...new Set(witnessed.flatMap((s) => s.callers ?? []))]
  if (witnessed.length > 0)
    checks.push({
      subject,
      ok: true,
      message: `activity log: ${witnessed.length} of ${report.steps.length} changing step(s) witnessed (${witnessed.map(name).join(', ')})${callers.length > 0 ? `, made by ${callers.join(', ')}` : ''}`,
    })
  return checks
}

/**
 * The Activity Log of the environment's subscription, read with ActivityLogs_List (arm-monitor `activityLogs.list`,
 * api-version 2015-04-01) through the environment's client layer (credential, retry policy, TLS).
 */
export function activityLogReader(
  services: {
    /** The environment's subscription: another one's Activity Log failing to answer is about that query only. */
    subscription?: string
    /** `emulator`: its Activity Log lists a write as it accepts it (no listing delay). */
    target?: 'azure' | 'emulator'
    monitor(subscription?: string): Promise<import('@azure/arm-monitor').MonitorClient>
    trafficManager?(): Promise<import('@azure/arm-trafficmanager').TrafficManagerManagementClient>
    frontDoor?(): Promise<import('@azure/arm-cdn').CdnManagementClient>
  },
  options: {maxEvents?: number; progress?: (message: string) => void; progressEvery?: number; listingDelayMs?: number} = {},
): ActivityLogReader {
  const maxEvents = options.maxEvents ?? ACTIVITY_LOG_MAX_EVENTS
  const every = Math.max(1, options.progressEvery ?? ACTIVITY_LOG_PROGRESS_EVERY)
  const list = async (filter: string, what: string, subscription?: string): Promise<ActivityEvent[]> => {
    const events: ActivityEvent[] = []
    // Another subscription than the environment's (a resource the journal names there): read there, and a refusal or
    // no answer from it leaves only the steps that needed it not checkable — a journal naming a subscription the
    // verifier cannot read must not make every step "not checkable".
    const foreign = subscription !== undefined && services.subscription !== undefined && subscription.toLowerCase() !== services.subscription.toLowerCase()
    if (foreign) what = `${what} in subscription ${subscription}`
    // A long read (a busy resource group: many pages) says how far it is, every `every` events, and when it is done.
    let reported = false
    const say = (message: string) => {
      try {
        options.progress?.(message)
      } catch {
        // Progress is for the user's eyes only: a closed stderr must not fail the verification.
      }
    }
    try {
      // Inside the try: no credential or an unreachable endpoint is "could not be read" too.
      const client = await (foreign ? services.monitor(subscription) : services.monitor())
      // The SDK follows nextLink page by page; a busy resource group over a long window (a run resumed days later)
      // could have pages without end: past maxEvents the query stops, said as "could not be read" (not checkable).
      for await (const e of client.activityLogs.list(filter, {select: 'correlationId,resourceId,status,eventTimestamp,operationName,caller,claims'})) {
        if (events.length >= maxEvents)
          throw new ActivityLogUnreadable(`the Activity Log has more than ${maxEvents} events for ${filter}: too many to read for one run's window`, false, false)
        if (events.length > 0 && events.length % every === 0) {
          reported = true
          say(`activity log: reading ${what}: ${events.length.toLocaleString('en-US')} events so far (stops at ${maxEvents.toLocaleString('en-US')})`)
        }
        events.push({
          correlationId: e.correlationId ?? '',
          resourceId: e.resourceId ?? '',
          status: e.status?.value ?? '',
          eventTimestamp: e.eventTimestamp instanceof Date ? e.eventTimestamp.toISOString() : String(e.eventTimestamp ?? ''),
          operationName: e.operationName?.value,
          caller: e.caller,
          ...(e.claims ? {claims: e.claims} : {}),
        })
      }
    } catch (error) {
      if (error instanceof ActivityLogUnreadable) throw error
      const status = (error as {statusCode?: number}).statusCode
      if (status === 403)
        throw new ActivityLogUnreadable(
          `the signed-in identity may not read the Activity Log${foreign ? ` of subscription ${subscription}` : ''} (403): it needs Microsoft.Insights/eventtypes/values/read on the subscription, e.g. the Monitoring Reader or Reader role`,
          true,
          !foreign,
          foreign ? subscription : undefined,
        )
      // No HTTP answer at all (refused, unreachable, no credential): the log cannot be read for any step. An answer
      // with another status (a 5xx, a 400) is about this query only.
      throw new ActivityLogUnreadable(`the Activity Log${foreign ? ` of subscription ${subscription}` : ''} could not be read: ${(error as Error).message}`, false, status === undefined && !foreign, foreign ? subscription : undefined)
    }
    if (reported) say(`activity log: read ${what}: ${events.length.toLocaleString('en-US')} events`)
    return events
  }
  const window = (from: Date, to: Date) => `eventTimestamp ge '${from.toISOString()}' and eventTimestamp le '${to.toISOString()}'`
  // OData string literals: quotes in the value doubled.
  const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`
  return {
    // The spec's "List events for a correlation Id" form.
    byCorrelationId: (correlationId, from, to, subscription) => list(`${window(from, to)} and correlationId eq ${quoted(correlationId)}`, `correlation id ${correlationId}`, subscription),
    // The spec's "List events for a resource group" form (one of resourceGroupName, resourceUri, resourceProvider,
    // correlationId per filter: azure-rest-api-specs monitor/…/stable/2015-04-01/activityLogs_API.json, $filter).
    byResourceGroup: (resourceGroup, from, to, subscription) => list(`${window(from, to)} and resourceGroupName eq ${quoted(resourceGroup)}`, `resource group ${resourceGroup}`, subscription),
    // The spec's "List events for a subscription" form: the window alone.
    bySubscription: (from, to) => list(window(from, to), 'the subscription'),
    // Azure lists a write up to ACTIVITY_LOG_LISTING_DELAY_MS after it is made; the emulator as it accepts it.
    listingDelayMs: options.listingDelayMs ?? (services.target === 'emulator' ? 0 : ACTIVITY_LOG_LISTING_DELAY_MS),
    ...(services.trafficManager && services.frontDoor ? {routerBackend: (resourceId: string) => readBackend(services as Required<typeof services>, resourceId)} : {}),
  }
}
