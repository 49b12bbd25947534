/**
 * Rebuild where a run stood from its journal, so `opsbook resume` can continue it: the steps that completed (with
 * their outputs), the long-running Azure operations that were in flight (their monitor URLs, from
 * `operation.started`), the params, runbook and environment. When this machine has no copy of the journal (the
 * laptop that started the run died), it is downloaded from the evidence container, checked, and put in place.
 */
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {TrackedOperation} from '../actions/types.js'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'
import {RUNBOOK_CALL_PREFIX} from '../runbooks/schema.js'
import type {RunStatus, StepPhase} from '../runbooks/events.js'
import {findRunBlobPrefix, openEvidenceTarget, REQUEST_FILE, UPLOAD_STATE_FILE, type EvidenceTarget, type UploadState} from './blob-sink.js'
import {JOURNAL_FILE, journalFileStep, runDir, verifyChain, type JournalLine} from './journal.js'
import {writeRedactedFile} from './writer.js'

export interface ResumeState {
  runId: string
  /** What ran. `source` and `sha256` are present when the journal recorded them (compare before resuming). */
  runbook: {name: string; title?: string; kind?: string; source?: string; sha256?: string}
  /** Params as journaled (secret ones are redacted: see `redactedParams`). */
  params: Record<string, unknown>
  /** Params whose journaled value is redacted: they must be supplied again. */
  redactedParams: string[]
  environmentName: string
  production: boolean
  /** Main-phase steps that succeeded: not to be run again. */
  completed: Record<string, {outputs: Record<string, unknown>}>
  /** Main-phase steps that had a long-running operation going when the journal stopped. */
  inFlight: Record<string, TrackedOperation>
  /** Operations of main steps that Ctrl-C stopped waiting for (their step ended `interrupted`); see OperationTracker.interrupted. */
  interrupted: Record<string, TrackedOperation>
  /** Steps that had started and not finished (with or without a tracked operation). */
  interruptedSteps: string[]
  /**
   * Runbook calls to be continued (some of their steps are kept): the params each started with, as journaled (secret
   * ones redacted), so the call goes on with the values its kept steps used rather than with `with:` evaluated anew.
   */
  calls?: Record<string, {params: Record<string, unknown>}>
  /** Set when the journal ends with run.finished: there is nothing to resume. */
  finished?: RunStatus
  /**
   * Rollbacks not started because another run had taken the target's lease (step.skipped `code: lease-taken`) and not
   * run since, in the order the run was to run them: the resume runs them (engine.ts ResumeState.rollbacks).
   */
  rollbacks?: string[]
  /** The error of the last run.finished, when `rollbacks` is set: the failure the resume finishes the teardown of. */
  failure?: {message: string; code?: string}
  /**
   * Every step id (main and finally, groups' inner steps included) the run's first run.started listed: the plan the
   * run started with. Absent in journals older than the list.
   */
  steps?: string[]
  /** Where the journal is (after a download, the new local copy). */
  journalPath: string
  /** Guards the run was started past (--override-window, --no-lease…), with their reasons, as its run.note lines journaled them. */
  overrides: Array<{kind: string; reason?: string}>
  /** `local`, or `blob` when the journal was fetched from the evidence container. */
  source: 'local' | 'blob'
  journal: {lines: number; lastHash: string}
  /** The runner's request.json (runbook reference, raw params without secrets), when this machine has it or Blob did. */
  request?: {runbook?: string; runbookSha256?: string; environment?: string; catalogFile?: string; catalogSha256?: string; targets?: Record<string, string>; params?: Record<string, string>; components?: string[]; startedAt?: string}
}

/**
 * Load the resume state of `runId`. Reads `<root>/runs/<runId>/journal.jsonl`; when it is missing and `services`
 * are given, downloads the journal from the environment's evidence container first (and records it as uploaded, so
 * the blob sink appends after it). Invalid input (exit 2) when the run cannot be found or its journal is damaged.
 */
export async function loadResumeState(
  runId: string,
  options: {root: string; env?: {name: string; environment: Environment}; services?: Pick<AzureServices, 'blob'>; target?: EvidenceTarget},
): Promise<ResumeState> {
  const dir = runDir(options.root, runId)
  const journalPath = join(dir, JOURNAL_FILE)
  let source: ResumeState['source'] = 'local'
  if (!existsSync(journalPath)) {
    const target = options.target ?? (options.env && options.services ? await openEvidenceTarget(options.env.environment, options.services) : undefined)
    if (!target)
      throw new ValidationError([
        {code: 'run-not-found', message: `no journal for run ${runId} at ${journalPath}, and no evidence container to fetch it from (pass --env for an environment with evidence storage)`},
      ])
    await downloadJournal(runId, dir, target, options.env?.name)
    source = 'blob'
  }
  const text = await journalFileStep(journalPath, `read run ${runId}'s journal to find where it stood`, () => readFile(journalPath, 'utf8'))
  // A crash can cut the last line short: resume from the complete lines (Journal.open refuses a partial tail).
  const complete = text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1)
  const chain = verifyChain(complete)
  if (!chain.ok)
    throw new ValidationError([{code: 'journal-damaged', message: `journal ${journalPath} is damaged at line ${chain.firstBad!.line}: ${chain.firstBad!.reason}; it cannot be resumed`}])
  const lines = complete
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JournalLine)
  const state: ResumeState = {...reconstruct(runId, lines), journalPath, source, journal: {lines: chain.lines, lastHash: chain.lastHash}}
  const requestPath = join(dir, REQUEST_FILE)
  if (existsSync(requestPath)) {
    try {
      state.request = JSON.parse(await readFile(requestPath, 'utf8')) as ResumeState['request']
      state.runbook.source ??= state.request?.runbook
      state.runbook.sha256 ??= state.request?.runbookSha256
    } catch {
      // A damaged request file only loses the convenience; the journal has the rest.
    }
  }
  return state
}

/** The state a sequence of journal lines describes (a resumed run's journal holds several run.started segments). */
export function reconstruct(runId: string, lines: JournalLine[]): Omit<ResumeState, 'journalPath' | 'source' | 'journal'> {
  const first = lines.find((l) => l.type === 'run.started')
  if (!first) throw new ValidationError([{code: 'journal-empty', message: `the journal of run ${runId} has no run.started event; nothing to resume`}])
  const started = first.data as {runbook?: string; title?: string; kind?: string; environment?: string; production?: boolean; params?: Record<string, unknown>}
  const runbook: ResumeState['runbook'] = {name: started.runbook ?? 'unknown', title: started.title, kind: started.kind}
  const completed: ResumeState['completed'] = {}
  const inFlight: ResumeState['inFlight'] = {}
  const interrupted: ResumeState['interrupted'] = {}
  const calls: NonNullable<ResumeState['calls']> = {}
  /** Phase of each step's latest attempt, to tell main-phase operations from rollback ones. */
  const phaseOf = new Map<string, StepPhase>()
  const running = new Set<string>()
  const overrides: ResumeState['overrides'] = []
  const plan = new RunPlan()
  let finished: RunStatus | undefined
  const rollbacks: string[] = []
  let failure: ResumeState['failure']

  for (const line of lines) {
    const data = line.data as Record<string, unknown>
    const step = line.step ?? undefined
    const phase = data.phase as StepPhase | undefined
    switch (line.type) {
      case 'run.started':
        finished = undefined
        Object.assign(runbook, pickRunbookRef(data))
        plan.read(data.steps)
        break
      case 'run.note': {
        const noted = (data.data as Record<string, unknown>) ?? {}
        Object.assign(runbook, pickRunbookRef(noted))
        const override = noted.override as {kind?: unknown; reason?: unknown} | undefined
        if (override && typeof override.kind === 'string') overrides.push({kind: override.kind, reason: typeof override.reason === 'string' ? override.reason : undefined})
        break
      }
      case 'step.started':
        if (!step) break
        phaseOf.set(step, phase ?? 'main')
        // A teardown step that changes something undoes what its scope (its group, call or the run) built.
        if (phase === 'finally') plan.teardownStarted(step, completed)
        if (phase === 'main' || phase === undefined) {
          running.add(step)
          delete completed[step]
          // A call's params as it started them: a resumed call continues with the same (secrets stay redacted here).
          if (typeof data.uses === 'string' && data.uses.startsWith(RUNBOOK_CALL_PREFIX)) calls[step] = {params: (data.inputs as Record<string, unknown>) ?? {}}
        }
        break
      case 'operation.started':
        if (step && (phaseOf.get(step) ?? 'main') === 'main') inFlight[step] = data.operation as TrackedOperation
        // A teardown that started an Azure operation was undoing its scope when the journal stopped.
        if (step && phaseOf.get(step) === 'finally') plan.teardownWrote(step, completed)
        break
      case 'step.succeeded':
        // A step whose rollback succeeded is undone: a resumed run does it again, and what used its outputs too.
        if (step && phase === 'rollback') plan.undo(step, completed)
        if (step && phase === 'rollback' && rollbacks.includes(step)) rollbacks.splice(rollbacks.indexOf(step), 1)
        if (step && phase === 'finally') plan.teardownWrote(step, completed)
        if (!step || (phase && phase !== 'main')) break
        completed[step] = {outputs: (data.outputs as Record<string, unknown>) ?? {}}
        delete interrupted[step]
        running.delete(step)
        delete inFlight[step]
        break
      case 'step.failed':
      case 'step.skipped':
        // A rollback held back because another run had taken the target: the resume runs it (once that run is done).
        if (step && phase === 'rollback' && line.type === 'step.skipped' && data.code === 'lease-taken' && !rollbacks.includes(step)) rollbacks.push(step)
        // A teardown that failed may have undone part of its scope (one that was skipped did nothing).
        if (step && phase === 'finally' && line.type === 'step.failed') plan.teardownWrote(step, completed)
        if (!step || (phase && phase !== 'main')) break
        running.delete(step)
        // Cut off (Ctrl-C) or timed out with its operation still in flight: the resume waits for that one to end before
        // sending the request again (a hung export timed out, then resumed, sent a second one beside it).
        if (line.type === 'step.failed' && inFlight[step]) {
          const error = (data.error as {code?: string; timedOut?: boolean; operationEnded?: boolean} | undefined) ?? {}
          if (error.code === 'interrupted' || (error.timedOut === true && error.operationEnded !== true)) interrupted[step] = inFlight[step]
        }
        delete inFlight[step]
        break
      case 'run.finished': {
        finished = data.status as RunStatus
        const error = data.error as {message?: unknown; code?: unknown} | undefined
        // The run's failure, not a later segment's Ctrl-C: the resume that finishes its rollbacks ends with it.
        if (finished !== 'interrupted') failure = typeof error?.message === 'string' ? {message: error.message, ...(typeof error.code === 'string' ? {code: error.code} : {})} : undefined
        break
      }
    }
  }
  // Only calls still to be continued keep their params: one that completed is not run again, one not started has none.
  for (const id of Object.keys(calls)) if (completed[id] || !Object.keys(completed).some((c) => c.startsWith(`${id}.`))) delete calls[id]
  const params = started.params ?? {}
  const listed = (first.data as {steps?: unknown}).steps
  const steps = Array.isArray(listed) ? listed.flatMap((entry: {id?: unknown}) => (typeof entry?.id === 'string' ? [entry.id] : [])) : undefined
  return {
    ...(steps ? {steps} : {}),
    runId,
    runbook,
    params,
    redactedParams: Object.entries(params)
      .filter(([, v]) => typeof v === 'string' && /^\[REDACTED\]$|^«redacted»$/i.test(v))
      .map(([k]) => k),
    environmentName: started.environment ?? 'unknown',
    production: started.production ?? false,
    completed,
    inFlight,
    interrupted,
    interruptedSteps: [...running].sort(),
    overrides,
    ...(Object.keys(calls).length > 0 ? {calls} : {}),
    ...(finished ? {finished} : {}),
    // Only for a run that ended with its teardown incomplete: a later segment that ran them removed them above. A later
    // segment that did not finish (killed while running them: no run.finished, or cut off) leaves them to this resume
    // too — handed over only after rollback-failed, the next resume ran the failed main step again.
    ...(rollbacks.length > 0 && finished !== 'succeeded' && finished !== 'failed' ? {rollbacks, ...(failure ? {failure} : {})} : {}),
  }
}

/**
 * The run's steps as run.started listed them, for deciding what a resumed run may keep. A completed step is kept
 * unless what it did was undone since: by its own rollback, or by a teardown (`finally`) step that changes something
 * and ran in the step's scope — its group, its called runbook, or the run — after it (a call's `finally` deletes the
 * scratch server its restore made); a teardown cut off before it wrote is run again over the scope as it stands (see
 * teardownStarted). An undone step is done again, and so is every step that needs it (its outputs
 * name what was undone). Steps that change nothing (checks, reads) stay kept: a resume continues a group or a call
 * from where it stopped instead of from its first step. A completed group counts as one step: its outputs were read
 * after its own teardown, so what happened inside it since does not matter unless it is undone as a whole.
 * Journals without the list (older runs) are read as before: a group whose teardown ran is done again whole; a step
 * the list does not name is taken to change something.
 */
class RunPlan {
  private readonly steps = new Map<string, {changes: boolean; needs: string[]; parent?: string; phase: StepPhase}>()
  private readonly dependents = new Map<string, string[]>()

  read(list: unknown): void {
    if (!Array.isArray(list)) return
    this.steps.clear()
    this.dependents.clear()
    for (const entry of list as Array<{id?: unknown; changes?: unknown; needs?: unknown; parent?: unknown; phase?: unknown}>) {
      if (typeof entry?.id !== 'string') continue
      const needs = Array.isArray(entry.needs) ? entry.needs.filter((n): n is string => typeof n === 'string') : []
      this.steps.set(entry.id, {
        changes: entry.changes === true,
        needs,
        ...(typeof entry.parent === 'string' ? {parent: entry.parent} : {}),
        phase: entry.phase === 'finally' ? 'finally' : 'main',
      })
      for (const need of needs) this.dependents.set(need, [...(this.dependents.get(need) ?? []), entry.id])
    }
  }

  /**
   * A `finally` step started. A planned teardown undoes nothing until the journal shows it wrote (an operation it
   * started) or ended (succeeded or failed): one cut off before either is run again over the scope as it stands, with
   * the outputs its kept steps journaled — whether or not a main step of its scope failed or was cut off (that step is
   * done again, with the rest of the scope kept). Redoing the scope instead made the redone steps find their own
   * earlier work still in place and report nothing to undo (region-failover: the switch, run again with traffic still
   * in the DR region, changed nothing, so the restore put nothing back and the fail-back was lost — after a kill in the
   * fail-back, and after a Ctrl-C in the wait for the DR region followed by that kill). A synchronous write the cut-off
   * attempt may have sent unjournaled (a Traffic Manager endpoint PATCH) set absolute values, which the rerun sets
   * again; a main step redone after it sees the scope partly undone and may fail, and the teardown still runs.
   */
  teardownStarted(id: string, completed: Record<string, unknown>): void {
    if (this.steps.has(id)) return
    // Not in the list (a journal from before it was written): a group's teardown undoes the whole group, as then.
    const group = this.parentOf(id)
    if (group !== undefined) this.undo(group, completed)
  }

  /** A planned `finally` step wrote (started an operation) or ended: what it may have undone in its scope is no longer kept. */
  teardownWrote(id: string, completed: Record<string, unknown>): void {
    if (this.steps.has(id) && this.changes(id)) this.undoScope(this.parentOf(id), completed)
  }

  /** The group (or call) a step belongs to; undefined for the run's own steps. */
  parentOf(id: string): string | undefined {
    const known = this.steps.get(id)
    if (known) return known.parent
    return id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : undefined
  }

  /** Whether a step (a group: any step inside it) changes something; unknown steps are assumed to. */
  changes(id: string): boolean {
    const step = this.steps.get(id)
    if (!step) return true
    if (step.changes) return true
    for (const [other, s] of this.steps) if (s.phase === 'main' && other.startsWith(`${id}.`) && s.changes) return true
    return false
  }

  /** Forget that `id` completed, with everything inside it and every step that needs it (transitively). */
  undo(id: string, completed: Record<string, unknown>): void {
    const queue = [id]
    const seen = new Set<string>()
    while (queue.length > 0) {
      const current = queue.pop()!
      if (seen.has(current)) continue
      seen.add(current)
      delete completed[current]
      for (const inner of Object.keys(completed)) if (inner.startsWith(`${current}.`)) delete completed[inner]
      queue.push(...(this.dependents.get(current) ?? []))
    }
  }

  /**
   * A changing teardown step of `scope` (a group's full id, or undefined for the run) started: undo the completed
   * steps in that scope that change something. Inside a completed group only the group itself is looked at.
   */
  undoScope(scope: string | undefined, completed: Record<string, unknown>): void {
    const inScope = (id: string) => scope === undefined || id.startsWith(`${scope}.`)
    for (const id of Object.keys(completed)) {
      if (!(id in completed) || !inScope(id)) continue
      let unit = true
      for (let p = this.parentOf(id); p !== undefined && p !== scope; p = this.parentOf(p)) if (p in completed) unit = false
      if (unit && this.changes(id)) this.undo(id, completed)
    }
  }
}

/** Runbook source and hash, wherever the journal recorded them (run.started fields, or a run.note's data.runbook). */
function pickRunbookRef(data: Record<string, unknown>): Partial<ResumeState['runbook']> {
  const nested = (data.runbook && typeof data.runbook === 'object' ? data.runbook : {}) as Record<string, unknown>
  const source = data.runbookSource ?? data.source ?? nested.source
  const sha256 = data.runbookSha256 ?? data.sha256 ?? nested.sha256
  return {
    ...(typeof source === 'string' ? {source} : {}),
    ...(typeof sha256 === 'string' ? {sha256} : {}),
  }
}

async function downloadJournal(runId: string, dir: string, target: EvidenceTarget, environmentName: string | undefined): Promise<void> {
  const prefix = await findRunBlobPrefix(target, runId)
  if (!prefix)
    throw new ValidationError([{code: 'run-not-found', message: `no journal for run ${runId} locally or in evidence container ${target.account}/${target.container}`}])
  const bytes = await target.client.getBlobClient(`${prefix}${JOURNAL_FILE}`).downloadToBuffer()
  const check = verifyChain(bytes.toString('utf8'))
  if (!check.ok)
    throw new ValidationError([{code: 'journal-damaged', message: `the blob copy of run ${runId}'s journal is damaged at line ${check.firstBad!.line}: ${check.firstBad!.reason}`}])
  await mkdir(dir, {recursive: true})
  const path = join(dir, JOURNAL_FILE)
  await writeFile(`${path}.download`, bytes)
  await rename(`${path}.download`, path)
  const files: UploadState['files'] = {'journal.jsonl': {uploadedBytes: bytes.length}}
  try {
    const request = await target.client.getBlobClient(`${prefix}${REQUEST_FILE}`).downloadToBuffer()
    await writeFile(join(dir, REQUEST_FILE), request)
    files[REQUEST_FILE] = {uploadedBytes: request.length, sha256: createHash('sha256').update(request).digest('hex')}
  } catch {
    // Runs from before request.json was uploaded: the journal alone is enough.
  }
  // Blob already has these bytes: the sink continues appending after them instead of starting a new blob.
  const state: UploadState = {
    runId,
    environment: environmentName ?? 'unknown',
    account: target.account,
    container: target.container,
    blobPrefix: prefix,
    files,
    pending: false,
    updatedAt: new Date().toISOString(),
  }
  await writeRedactedFile(join(dir, UPLOAD_STATE_FILE), {json: state})
}
