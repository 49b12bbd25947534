/**
 * Typed events the engine emits. The journal writes each one (hash-chained, flushed) before reporters show it;
 * reporters (listr2 tree, plain lines, JSON) and the evidence sink subscribe. Nothing here knows about terminals.
 */
import type {ApprovalDecision, TrackedOperation} from '../actions/types.js'
import type {ArmWrite, NoWriteFinding} from '../azure/arm-writes.js'

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'rollback-failed' | 'interrupted' | 'blocked' | 'approval-required'
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'rolled-back' | 'rollback-failed' | 'cancelled'
/** Which part of the runbook a step belongs to. */
export type StepPhase = 'main' | 'rollback' | 'finally'

export interface ErrorInfo {
  message: string
  /** ARM error code or our own code, when known. */
  code?: string
  /** ARM correlation / request id, when known. */
  correlationId?: string
  timedOut?: boolean
  /** The step's long-running Azure operation ended (Failed/Canceled): nothing of it is still running. */
  operationEnded?: boolean
  /** The exit code the error itself asks for (e.g. 2: the input was invalid and the action changed nothing). */
  exitCode?: number
}

export type RunEvent =
  | {
      type: 'run.started'
      runId: string
      runbook: string
      title: string
      kind: string
      /** `builtin:<name>` or the runbook file's path: with sha256, enough to resume from the journal alone. */
      source?: string
      sha256?: string
      environment: string
      production: boolean
      /** Params after defaults, secrets already replaced by «redacted». */
      params: Record<string, unknown>
      /** Step ids in plan order; the steps of a group (or called runbook) follow it, with `parent` its full id. */
      /**
       * `targets`: the ARM resources a `when-needed` step acts on, known before it runs (the action registry's
       * `targets`), for the Activity Log witness to tie what a resumed step found to its own target (evidence/witness.ts).
       * `rollback`: the action that undoes the step, and whether it changes anything — a rollback is journaled under
       * its step's id, and the witness judges it by its own action, not the step's.
       */
      steps: Array<{id: string; uses: string; phase: StepPhase; changes: boolean; needs: string[]; parent?: string; targets?: string[]; rollback?: {uses: string; changes: boolean}}>
      /**
       * Who runs this segment, as the credential's token names it (`upn`, else `appid`, else `oid`) and its object id:
       * the Activity Log's events of the segment's writes must name the same caller (evidence/witness.ts).
       */
      principal?: {caller: string; objectId?: string}
      resumedFrom?: string
      /** The journal records each step's ARM writes (`arm` on step.succeeded / step.failed), see evidence/witness.ts. */
      armWrites?: boolean
    }
  /**
   * `targets`: the ARM resources a changing step acts on, resolved from its evaluated inputs when the first plan could
   * not name them (read from another step's outputs); evidence verify's witness uses them as it uses the first plan's.
   */
  | {type: 'step.started'; step: string; phase: StepPhase; uses: string; attempt: number; inputs: Record<string, unknown>; targets?: string[]}
  | {type: 'step.log'; step: string; phase: StepPhase; message: string}
  | {type: 'step.retrying'; step: string; phase: StepPhase; attempt: number; error: ErrorInfo; delayMs: number}
  /** `arm`: the ARM writes ARM accepted during the step (all attempts), for the Activity Log witness (azure/arm-writes.ts). */
  | {type: 'step.succeeded'; step: string; phase: StepPhase; outputs: Record<string, unknown>; durationMs: number; attempts: number; arm?: ArmWrite[]; found?: NoWriteFinding[]}
  | {type: 'step.failed'; step: string; phase: StepPhase; error: ErrorInfo; durationMs: number; attempts: number; continued: boolean; arm?: ArmWrite[]}
  /** `code` says why when it matters to a resume: `lease-taken` (a teardown change not made beside another run). */
  | {type: 'step.skipped'; step: string; phase: StepPhase; reason: string; code?: string}
  | {type: 'operation.started'; step: string; operation: TrackedOperation}
  | {type: 'approval.requested'; step: string; message: string}
  | {type: 'approval.decided'; step: string; decision: ApprovalDecision}
  | {type: 'rollback.started'; steps: string[]}
  | {type: 'rollback.finished'; ok: boolean; failed: string[]}
  | {type: 'finally.started'; steps: string[]}
  /**
   * `rollback`: the completed steps that will be rolled back (in that order); `finally`: the run's finally steps, which
   * run next. What the interruption will do, for the line that announces it (absent in journals before they existed).
   */
  | {type: 'run.interrupted'; signal: string; rollback?: string[]; finally?: string[]}
  /**
   * A journaled remark. `data.warning: true` marks a warning the session has already printed live on stderr (as
   * `warning: …`, the moment it arose): reporters leave it out so a user reads each warning once.
   */
  | {type: 'run.note'; message: string; data?: Record<string, unknown>}
  /** The run's last line: SHA-256 of request.json, summary.json and report.md as written (evidence/seal.ts). */
  | {type: 'evidence.sealed'; files: Record<string, {sha256: string; bytes: number}>}
  | {
      type: 'run.finished'
      status: RunStatus
      durationMs: number
      error?: ErrorInfo
      /** Resources or operations a human must look at (failed rollbacks, teardown left behind). */
      leftBehind: string[]
      outputs: Record<string, unknown>
    }

export type RunEventType = RunEvent['type']

/** A subscriber. Returning a promise makes the engine wait (the journal flushes before anything is shown). */
export type RunEventListener = (event: RunEvent) => void | Promise<void>
