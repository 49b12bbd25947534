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
 * ActivityLogs_List filtered by its correlation id (`$filter=eventTimestamp ge … and eventTimestamp le … and
 * correlationId eq …`, azure-rest-api-specs monitor/…/stable/2015-04-01/activityLogs_API.json) and judges each step:
 * - witnessed: every write has an event with the same correlationId, resource and operation, status Accepted or
 *   Succeeded, at a time within the step (± {@link CLOCK_SKEW_MS} for the two clocks), and no other write of the
 *   journal claims the same correlation id;
 * - not witnessed: a write has no such event, or a changing step of a resumed segment succeeded with no write recorded
 *   and no earlier attempt of it was cut off by a crash, unless its finding is supported (below) — verify fails;
 * - not checkable: older than the Activity Log's 90 days ("Activity log events are retained in Azure for 90 days and
 *   then deleted", https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log), the caller may not read
 *   the Activity Log (403: Microsoft.Insights/eventtypes/values/read, which Monitoring Reader and Reader grant,
 *   https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-reader), it could not
 *   be reached, the segment predates the recording, the step changes only data planes (rows, keys, blobs: no ARM
 *   operation, so nothing in the Activity Log), a step of the run's first segment made no ARM write (nothing left to
 *   change), or a resumed step made none after a crash cut off its earlier attempt (that attempt's writes were never
 *   journaled). `--witness activity-log` fails on these too.
 *
 * A resumed step that made no ARM write is judged by its action's `armWrites` in the action registry: `always` — not
 * witnessed (the forgery); `data-plane` — not checkable; `when-needed` (idempotent: it may find nothing to do) — by what
 * it journaled it found (`found`, azure/arm-writes.ts), checked against the Activity Log of the run's window
 * ({@link judgeFindings}): witnessed when the log supports it, not witnessed when the log contradicts it, not
 * checkable when the log cannot tell; a `when-needed` step that journaled no finding is not witnessed.
 *
 * What it does not prove: that the forger did not have the same rights as the run. Someone holding the run's
 * credentials can make the real ARM calls (delete the copy) and journal them: then the Activity Log witnesses them,
 * and the evidence is true — the teardown was done, by whoever did it (the event's caller names the identity).
 */
import type {NoWriteFinding} from '../azure/arm-writes.js'
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
}

/** Where the witness reads the Activity Log: all events of a correlation id in a time window. */
export interface ActivityLogReader {
  byCorrelationId(correlationId: string, from: Date, to: Date): Promise<ActivityEvent[]>
  /** All events of a resource group (of the environment's subscription) in a time window; absent: findings not checkable. */
  byResourceGroup?(resourceGroup: string, from: Date, to: Date): Promise<ActivityEvent[]>
}

/** Why the Activity Log could not be read at all (every step not checkable). */
export class ActivityLogUnreadable extends Error {
  constructor(
    message: string,
    readonly permission: boolean,
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
}

/**
 * The steps of a journal the witness judges. `changes` and `uses` come from the first segment's plan (its run.started,
 * which Blob's copy of the run pins): a later segment's own plan is as forgeable as its steps.
 */
export function witnessCandidates(journalText: string): {candidates: Candidate[]; marked: boolean} {
  const lines = journalText
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalLineLike)
  let segment = 0
  let segmentMarked = false
  let earlierMarked = false
  let firstPlan: Map<string, {uses: string; changes: boolean}> | undefined
  let anyMarked = false
  let runStartedAt: string | undefined
  const started = new Map<string, string>()
  const cutOff = new Map<string, number>()
  const candidates: Candidate[] = []
  for (const line of lines) {
    if (line.type === 'run.started') {
      // A step started in the segment that ends here and never ended: its attempt was cut off.
      for (const key of started.keys()) if (!cutOff.has(key)) cutOff.set(key, segment)
      segment++
      earlierMarked ||= segmentMarked
      segmentMarked = line.data.armWrites === true
      anyMarked ||= segmentMarked
      runStartedAt ??= line.ts
      if (!firstPlan) firstPlan = new Map((line.data.steps ?? []).map((s: {id: string; uses: string; changes: boolean}) => [s.id, {uses: s.uses, changes: Boolean(s.changes)}]))
      started.clear()
      continue
    }
    if (!line.step) continue
    const phase = String(line.data.phase ?? 'main')
    const key = `${phase} ${line.step}`
    if (line.type === 'step.started') started.set(key, line.ts)
    if (line.type !== 'step.succeeded' && line.type !== 'step.failed' && line.type !== 'step.skipped') continue
    const startedAt = started.get(key)
    started.delete(key)
    if (line.type === 'step.skipped') continue
    const writes = Array.isArray(line.data.arm) ? (line.data.arm as RecordedWrite[]) : []
    const planned = firstPlan?.get(line.step)
    const changes = planned?.changes ?? true
    if (writes.length === 0 && !(line.type === 'step.succeeded' && changes)) continue
    candidates.push({step: line.step, phase, segment, segmentMarked, startedAt, endedAt: line.ts, writes, uses: planned?.uses, changes, earlierMarked, found: Array.isArray(line.data.found) ? (line.data.found as NoWriteFinding[]) : [], runStartedAt, ...(cutOff.has(key) ? {cutOffIn: cutOff.get(key)} : {})})
  }
  return {candidates, marked: anyMarked}
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

/** Judge each step of a journal against the Activity Log (see the file comment). */
export async function witnessJournal(journalText: string, reader: ActivityLogReader, options: WitnessOptions = {}): Promise<WitnessReport> {
  const now = options.now ?? new Date()
  const oldest = now.getTime() - ACTIVITY_LOG_RETENTION_DAYS * 86_400_000
  const {candidates} = witnessCandidates(journalText)
  const steps: StepWitness[] = []
  let unreadable: WitnessReport['unreadable']
  /** Why a step ended then cannot be looked up at all: past the Activity Log's retention, or the log unreadable. */
  const uncheckable = (endedAt: string): string | undefined =>
    Date.parse(endedAt) < oldest ? `older than the Activity Log's ${ACTIVITY_LOG_RETENTION_DAYS}-day retention` : unreadable?.message
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
      if (c.cutOffIn !== undefined) {
        // A crash cut its earlier attempt off: what that attempt did through ARM was not journaled, and the resume
        // may rightly find nothing left to do (the scratch server already deleted).
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
          steps.push({...base, ...(await judgeFindings(c, reader, Math.max(Date.parse(c.runStartedAt ?? c.endedAt) - CLOCK_SKEW_MS, oldest), Math.min(Date.parse(c.endedAt) + CLOCK_SKEW_MS, now.getTime())))})
        } catch (error) {
          if (!(error instanceof ActivityLogUnreadable)) throw error
          unreadable = {message: error.message, permission: error.permission}
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
        const events = await reader.byCorrelationId(write.correlationId, new Date(Math.max(from, oldest)), new Date(Math.min(to, now.getTime())))
        const match = events.find(
          (e) =>
            e.correlationId.toLowerCase() === write.correlationId.toLowerCase() &&
            e.resourceId.toLowerCase() === write.resourceId.toLowerCase() &&
            (!e.operationName || !write.operation || e.operationName.toLowerCase() === write.operation.toLowerCase()) &&
            ACCEPTED.has(e.status.toLowerCase()) &&
            Date.parse(e.eventTimestamp) >= from &&
            Date.parse(e.eventTimestamp) <= to,
        )
        if (match?.caller) callers.add(match.caller)
        if (!match) missing.push(`${write.method} ${write.resourceId} (correlation id ${write.correlationId}${events.length > 0 ? `: ${events.length} event(s) with that id, none for this resource accepted within the step` : ''})`)
      }
    } catch (error) {
      if (!(error instanceof ActivityLogUnreadable)) throw error
      unreadable = {message: error.message, permission: error.permission}
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

/** The operation an event records, lower case, without its namespace: `…/slots/applyslotconfig/action` → `applyslotconfig/action`. */
const verbOf = (e: ActivityEvent) => (e.operationName ?? '').toLowerCase().split('/').slice(-2).join('/')
const sameOrUnder = (resourceId: string, base: string) => resourceId.toLowerCase() === base.toLowerCase() || resourceId.toLowerCase().startsWith(`${base.toLowerCase()}/`)
const resourceGroupOf = (resourceId: string) => /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1]

/**
 * Judge what a resumed idempotent step says it found instead of writing, against the Activity Log of the run's window
 * (the run's first start to the step's end, ± clock skew): witnessed when every finding is supported by the log, not
 * witnessed when one is contradicted, otherwise not checkable. The rules, one per kind of finding:
 */
async function judgeFindings(c: Candidate, reader: ActivityLogReader, from: number, to: number): Promise<Pick<StepWitness, 'verdict' | 'reason' | 'callers'>> {
  const supported: string[] = []
  const contradicted: string[] = []
  const unknown: string[] = []
  const callers = new Set<string>()
  const cache = new Map<string, ActivityEvent[]>()
  const eventsUnder = async (resourceId: string): Promise<ActivityEvent[] | undefined> => {
    const group = resourceGroupOf(resourceId)
    if (!group || !reader.byResourceGroup) return undefined
    if (!cache.has(group.toLowerCase())) cache.set(group.toLowerCase(), await reader.byResourceGroup(group, new Date(from), new Date(to)))
    // Accepted writes only, in time order; several events of one operation (Accepted, then Succeeded) count once.
    const seen = new Set<string>()
    return cache
      .get(group.toLowerCase())!
      .filter((e) => sameOrUnder(e.resourceId, resourceId) && ACCEPTED.has(e.status.toLowerCase()))
      .filter((e) => Date.parse(e.eventTimestamp) >= from && Date.parse(e.eventTimestamp) <= to)
      .sort((a, b) => Date.parse(a.eventTimestamp) - Date.parse(b.eventTimestamp))
      .filter((e) => {
        const key = `${e.correlationId.toLowerCase()} ${e.resourceId.toLowerCase()} ${verbOf(e)}`
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
  }
  for (const finding of c.found) {
    if (!('resourceId' in finding)) {
      // Nothing the Activity Log records: it cannot tell either way.
      unknown.push(`${finding.what}: nothing the Activity Log records`)
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
      const own = events.filter((e) => e.resourceId.toLowerCase() === finding.resourceId.toLowerCase() && /^(write|delete)$/.test(verbOf(e).split('/').at(-1)!))
      const last = own.at(-1)
      if (!last) unknown.push(`${name} already deleted: no write or delete of it in the run's window`)
      else if (verbOf(last).endsWith('delete')) {
        supported.push(`${name} already deleted (deleted at ${last.eventTimestamp}${last.caller ? ` by ${last.caller}` : ''})`)
        if (last.caller) callers.add(last.caller)
      } else contradicted.push(`${name} "already deleted", but the Activity Log's last event for it is a ${verbOf(last)} at ${last.eventTimestamp}, with no delete after it`)
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
export function activityLogReader(services: {monitor(): Promise<import('@azure/arm-monitor').MonitorClient>}): ActivityLogReader {
  const list = async (filter: string): Promise<ActivityEvent[]> => {
    const events: ActivityEvent[] = []
    try {
      // Inside the try: no credential or an unreachable endpoint is "could not be read" too.
      const client = await services.monitor()
      for await (const e of client.activityLogs.list(filter, {select: 'correlationId,resourceId,status,eventTimestamp,operationName,caller'}))
        events.push({
          correlationId: e.correlationId ?? '',
          resourceId: e.resourceId ?? '',
          status: e.status?.value ?? '',
          eventTimestamp: e.eventTimestamp instanceof Date ? e.eventTimestamp.toISOString() : String(e.eventTimestamp ?? ''),
          operationName: e.operationName?.value,
          caller: e.caller,
        })
    } catch (error) {
      const status = (error as {statusCode?: number}).statusCode
      if (status === 403)
        throw new ActivityLogUnreadable(
          'the signed-in identity may not read the Activity Log (403): it needs Microsoft.Insights/eventtypes/values/read on the subscription, e.g. the Monitoring Reader or Reader role',
          true,
        )
      throw new ActivityLogUnreadable(`the Activity Log could not be read: ${(error as Error).message}`, false)
    }
    return events
  }
  const window = (from: Date, to: Date) => `eventTimestamp ge '${from.toISOString()}' and eventTimestamp le '${to.toISOString()}'`
  // OData string literals: quotes in the value doubled.
  const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`
  return {
    // The spec's "List events for a correlation Id" form.
    byCorrelationId: (correlationId, from, to) => list(`${window(from, to)} and correlationId eq ${quoted(correlationId)}`),
    // The spec's "List events for a resource group" form (one of resourceGroupName, resourceUri, resourceProvider,
    // correlationId per filter: azure-rest-api-specs monitor/…/stable/2015-04-01/activityLogs_API.json, $filter).
    byResourceGroup: (resourceGroup, from, to) => list(`${window(from, to)} and resourceGroupName eq ${quoted(resourceGroup)}`),
  }
}
