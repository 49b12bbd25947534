/**
 * Running a runbook end to end, in the order the product rules need: validate everything (exit 2) → approvals
 * that cannot be given (exit 4) → guards (exit 5) → connect to Azure or the emulator → journal first, then
 * evidence upload, leases → engine → summary. Commands call this; it knows nothing about oclif or terminals
 * (reporters, approver and param prompting are passed in).
 */
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import type {ApprovalDecision, Approver} from '../actions/types.js'
import {findAction} from '../actions/registry.js'
import {getEnvironment, loadCatalog, projectDir, type LoadedCatalog} from '../catalog/loader.js'
import {opsbookRoot} from '../catalog/locate.js'
import {componentWindowNames, type Environment} from '../catalog/schema.js'
import {ApprovalRequiredError, ExitCode, ValidationError, type ExitCode as ExitCodeT} from '../errors.js'
import {outputRedactor} from '../evidence/writer.js'
import type {RunEvent, RunEventListener, RunStatus} from './events.js'
import {changedComponents, checkChangeGuards, expectedDuration, type ExpectedDuration, type GuardOverride} from './guards.js'
import {targetAccepts, targetKinds, type ParamSpec, type Runbook} from './model.js'
import {resolveRunbook} from './discovery.js'
import type {RunOutcome} from './engine.js'
import {expandRunbook, selectComponents} from './expand.js'
import {flattenSteps} from './groups.js'
import {resolveParams} from './params.js'
import {closestName} from './validate.js'
import {conditionExpression, decidedUpFront, expressionReferences, upFrontContext, type ExpressionContext} from './expressions.js'

export interface PrepareOptions {
  runbook: string
  envName: string
  catalogFlag?: string
  cwd?: string
  /** --param key=value */
  params: Record<string, string>
  /** --target: fills the runbook's first `target` param that was not given. */
  target?: string
  /** --component: act on these components only (runbooks that act on each component of the environment). */
  components?: string[]
  /** Environment variables (OPSBOOK_PARAM_<NAME>); default process.env. */
  env?: NodeJS.ProcessEnv
  /** Ask for missing params (a TTY is present); undefined means "cannot ask": missing params are exit 2. */
  /** `suggestions`: values the catalog knows for a string param (the read replicas a promotion can take). */
  promptParams?: (missing: Array<{name: string; spec: ParamSpec; suggestions?: Array<{value: string; label: string}>}>, environment: Environment) => Promise<Record<string, string>>
}

export interface PreparedRun {
  loaded: LoadedCatalog
  envName: string
  environment: Environment
  runbook: Runbook
  params: Record<string, unknown>
  /** Raw strings the params came from (for resume). */
  rawParams: Record<string, string>
  /** --component, when given (kept for resume). */
  selectedComponents?: string[]
}

/** Load and validate the catalog, runbook and params. Throws ValidationError (exit 2) before anything happens. */
export async function prepareRun(options: PrepareOptions): Promise<PreparedRun> {
  const cwd = options.cwd ?? process.cwd()
  const loaded = loadCatalog({flag: options.catalogFlag, cwd})
  const runbook = resolveRunbook(options.runbook, {catalog: loaded, cwd})
  const catalogEnvironment = getEnvironment(loaded, options.envName)
  const selected = options.components?.length ? componentSelection(options.components, catalogEnvironment, runbook) : undefined
  const environment = selected ? selectComponents(runbook, catalogEnvironment, selected) : catalogEnvironment
  // Params may also come from OPSBOOK_PARAM_<NAME> (secrets especially: no shell history, no process list).
  const raw = {...paramsFromEnvironment(runbook, options.env ?? process.env), ...options.params}
  // Secret values are known to the output redactor before anything can quote them: a forEach expression over a secret
  // printed it in its "not a component" error (run and plan, plain and --json) before any run redactor existed (issue 16).
  const secrets = outputRedactor()
  const registerSecrets = (values: Record<string, unknown>) => {
    for (const [name, spec] of Object.entries(runbook.params)) if (spec.type === 'secret' && values[name] !== undefined && values[name] !== null) secrets.add(String(values[name]))
  }
  registerSecrets(raw)
  if (options.target) {
    const targetParam = Object.entries(runbook.params).find(([name, spec]) => spec.type === 'target' && raw[name] === undefined)
    if (!targetParam)
      throw new ValidationError([{code: 'invalid-flag', message: `--target was given but runbook ${runbook.name} has no target param left to fill`}])
    raw[targetParam[0]] = options.target
  }
  const context = {env: {...environment, name: options.envName}, run: {environment: options.envName, production: environment.production}}
  let resolved = resolveParams(runbook, raw, environment, {environmentName: options.envName, context})
  if (resolved.missing.length > 0) {
    const missing = resolved.missing.map((name) => ({name, spec: runbook.params[name]!}))
    // A param that names a read replica a step changes (the registry's replicaInputs) gets the catalog's replicas.
    const {catalogReplicas, describeReplica, replicaReferences} = await import('./replica-owners.js')
    const replicaParams = new Set(replicaReferences(runbook, {}).flatMap((r) => (r.param ? [r.param] : [])))
    const replicaChoices = () => {
      const replicas = catalogReplicas(environment)
      return replicas.length > 0
        ? `, one of: ${replicas.map(describeReplica).join(', ')}`
        : ` (no component of ${options.envName} lists a read replica under replicas:; a replica's Azure name or resource id works too)`
    }
    if (!options.promptParams)
      throw new ValidationError(
        missing.map(({name, spec}) => ({
          code: 'missing-param',
          message:
            spec.type === 'target'
              ? `missing param "${name}" (${describeParam(spec)}): pass --target <component>, one of: ${targetChoices(spec, environment)}`
              : `missing param "${name}" (${describeParam(spec)}): pass --param ${name}=… or set OPSBOOK_PARAM_${name.toUpperCase().replaceAll('-', '_')}${replicaParams.has(name) ? replicaChoices() : ''}`,
        })),
        `runbook ${runbook.name} needs params that were not given and there is no terminal to ask on:`,
      )
    const replicas = catalogReplicas(environment).map((r) => ({value: r.name, label: describeReplica(r)}))
    Object.assign(raw, await options.promptParams(missing.map((m) => (replicaParams.has(m.name) && replicas.length > 0 ? {...m, suggestions: replicas} : m)), environment))
    resolved = resolveParams(runbook, raw, environment, {environmentName: options.envName, context})
  }
  registerSecrets(resolved.values)
  // forEach steps become one step per component (deterministic, so plan, run and resume see the same ids).
  const expanded = expandRunbook(runbook, environment, {params: resolved.values, environmentName: options.envName, catalog: loaded.catalog, taint: secrets})
  const prepared = {loaded, envName: options.envName, environment, runbook: expanded, params: resolved.values, rawParams: raw, ...(selected ? {selectedComponents: selected} : {})}
  // Preflight: a step the catalog says cannot succeed (a tier that cannot do it…) stops here, before anything changes.
  const {preflightProblems} = await import('./plan.js')
  const refused = preflightProblems(prepared)
  if (refused.length > 0) throw new ValidationError(refused, `runbook ${runbook.name} cannot run against ${options.envName} as the catalog describes it:`)
  return prepared
}

/**
 * --component values as component keys: a key, or `window:<name>` for every component (of the kinds the runbook acts
 * on) that names that maintenance window — one scheduled CI job per window drills exactly the components it opens for.
 */
export function componentSelection(values: string[], environment: Environment, runbook: Runbook): string[] {
  const iterated = new Set([...runbook.steps, ...runbook.finally].flatMap((s) => (s.forEach && 'components' in s.forEach ? s.forEach.components : [])))
  const keys: string[] = []
  for (const value of values) {
    const windowName = /^window:(.+)$/.exec(value)?.[1]
    if (!windowName) {
      keys.push(value)
      continue
    }
    if (!environment.windows[windowName])
      throw new ValidationError([
        {code: 'unknown-window', message: `--component ${value}: no maintenance window "${windowName}" (defined: ${Object.keys(environment.windows).join(', ') || 'none'})`},
      ])
    const members = Object.entries(environment.components)
      .filter(([, c]) => componentWindowNames(c).includes(windowName) && (iterated.size === 0 || iterated.has(c.type)))
      .map(([key]) => key)
    if (members.length === 0)
      throw new ValidationError([{code: 'invalid-flag', message: `--component ${value}: no component that ${runbook.name} acts on names window "${windowName}"`}])
    keys.push(...members)
  }
  return [...new Set(keys)]
}

/** `OPSBOOK_PARAM_<NAME>` (upper-case, dashes as underscores) for each declared param, when set. */
export function paramsFromEnvironment(runbook: Pick<Runbook, 'params'>, env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {}
  for (const name of Object.keys(runbook.params)) {
    const value = env[`OPSBOOK_PARAM_${name.toUpperCase().replaceAll('-', '_')}`]
    if (value !== undefined && value !== '') found[name] = value
  }
  return found
}

/** The components a target param accepts, e.g. "orders-db (pg-shop-orders), reports-db (pg-shop-reports)". */
function targetChoices(spec: ParamSpec, environment: Environment): string {
  const wanted = spec.type === 'target' ? targetKinds(spec) : undefined
  const keys = Object.entries(environment.components).filter(([, c]) => !wanted || targetAccepts(spec, c.type))
  return keys.length > 0 ? keys.map(([key, c]) => `${key} (${c.name})`).join(', ') : `none: this environment has no ${wanted} component`
}

function describeParam(spec: ParamSpec): string {
  const what = spec.type === 'target' ? `a ${targetKinds(spec)} component` : spec.type === 'enum' ? `one of ${spec.values.join(', ')}` : spec.type
  return spec.description ? `${what}: ${spec.description}` : what
}

/**
 * Steps that need a human's approval before the run, and whether the run as a whole needs a production confirmation.
 * An approval step whose `if:` can be decided up front (it reads only params, env, catalog or run) and is false
 * needs no approval; one that depends on other steps' results is counted, to be safe.
 */
export function approvalsNeeded(prepared: Pick<PreparedRun, 'runbook' | 'environment' | 'envName' | 'params' | 'loaded'>): {steps: string[]; productionConfirmation: boolean} {
  const {runbook, environment} = prepared
  // Approvals inside groups and called runbooks count too (by full id), and the production confirmation once.
  const nodes = flattenSteps(runbook)
  const all = nodes.map((n) => n.spec)
  const context = upFrontContext(prepared)
  // Inside a called runbook `params` are the callee's: its defaults and the `with:` values known up front (a value
  // computed at run time stays unknown, so a condition reading it is not decided false).
  const contexts = new Map<string | undefined, ExpressionContext>([[undefined, context]])
  const unknownParams = new Map<string, Set<string>>()
  for (const node of nodes) {
    if (!node.spec.group) continue
    const outer = contexts.get(node.parent) ?? context
    const callee = node.spec.group.callee
    if (!callee) {
      contexts.set(node.spec.id, outer)
      continue
    }
    const params: Record<string, unknown> = {}
    for (const [name, spec] of Object.entries(callee.params)) if ('default' in spec && spec.default !== undefined) params[name] = spec.default
    for (const [name, value] of Object.entries(node.spec.with ?? {})) params[name] = value
    const known = Object.fromEntries(Object.entries(params).filter(([, value]) => !(typeof value === 'string' && value.includes('${{'))))
    unknownParams.set(node.spec.id, new Set(Object.keys(params).filter((name) => !(name in known))))
    contexts.set(node.spec.id, {...outer, params: known, steps: {}})
  }
  const decidedFalse = (node: (typeof nodes)[number]): boolean => {
    const unknown = node.parent ? unknownParams.get(node.parent) : undefined
    if (unknown?.size && node.spec.if && expressionReferences(conditionExpression(node.spec.if)).some((r) => r.context === 'params' && unknown.has(r.path[0] ?? ''))) return false
    return decidedUpFront(node.spec.if, contexts.get(node.parent) ?? context) === false
  }
  const steps = nodes.filter((n) => n.spec.uses === 'core.approval' && !decidedFalse(n)).map((n) => n.spec.id)
  const changes = all.some((s) => findAction(s.uses)?.changes || (s.rollback && findAction(s.rollback.uses)?.changes))
  return {steps, productionConfirmation: environment.production && changes}
}

/** The step id used for the production confirmation in --approve and the journal. */
export const RUN_CONFIRMATION = 'run'

export interface RunOptions extends PrepareOptions {
  approver: Approver
  /** Whether prompts can be answered (TTY and not CI). */
  interactive: boolean
  /** Approvals already given by --yes / --approve, by step id. */
  preApproved: (step: string) => ApprovalDecision | undefined
  /** The step ids named by --approve, checked against the runbook (a misspelt id is exit 2). */
  approvedSteps?: string[]
  /** --override-window with --reason */
  override?: {reason?: string}
  /** --no-lease / --no-evidence with --reason: a production change may start without its leases or evidence store. */
  optOut?: {lease?: boolean; evidence?: boolean; reason?: string}
  /** Reporters and other subscribers; called after the journal has written each event. */
  listeners: RunEventListener[]
  /** Ctrl-C. */
  signal: AbortSignal
  /** A last Ctrl-C (the third): abandon rollbacks and finally steps too. */
  teardownSignal?: AbortSignal
  /** Continue an earlier run (opsbook resume). */
  resume?: ResumeInput
  /** How often target leases are renewed (ms); default the lease module's (10 s). */
  leaseRenewEveryMs?: number
  /** Deadline for rollbacks and finally together (ms); default the engine's (15 min). OPSBOOK_TEARDOWN_TIMEOUT (ISO 8601) sets it on the CLI. */
  teardownTimeoutMs?: number
  now?: () => Date
  /** --at: evaluate the window guard at this instant instead of now (rehearsal; emulator environments only). */
  at?: Date
}

export interface ResumeInput {
  runId: string
  completed: Record<string, {outputs: Record<string, unknown>}>
  inFlight: Record<string, import('../actions/types.js').TrackedOperation>
  interrupted?: Record<string, import('../actions/types.js').TrackedOperation>
  /** Runbook calls being continued, with the params each started with (see ResumeState.calls). */
  calls?: Record<string, {params: Record<string, unknown>}>
  /** SHA-256 of the runbook the run started with; a changed runbook is not resumed. */
  expectedSha256?: string
  /**
   * Warnings the resume printed before the run started (the catalog check: another catalog naming the same resources,
   * a run too old to compare): journaled as warnings of the resumed segment, counted with the run's warnings and kept
   * in summary.json (`resumeWarnings`), not on stderr only.
   */
  warnings?: string[]
  /** The params the run started with, as its first run.started journaled them (secret ones redacted). */
  expectedParams?: Record<string, unknown>
  /** The step ids the run started with, as its first run.started listed them (ResumeState.steps). */
  expectedSteps?: string[]
  /** Rollbacks another run's lease held back, and the run's failure: the resume finishes that teardown (ResumeState.rollbacks). */
  rollbacks?: string[]
  failure?: {message: string; code?: string}
}

export interface RunResult {
  runId: string
  runbook: string
  environment: string
  status: RunStatus
  exitCode: ExitCodeT
  /** A resumed run: the first segment's start (evidence/segments.ts). */
  startedAt: string
  finishedAt: string
  /** Elapsed from startedAt to finishedAt (for a resumed run, the pauses before each resume included). */
  durationMs: number
  /** A resumed run only: the sum of its segments' durations, the time opsbook was running. */
  activeMs?: number
  /** A resumed run only: each process that wrote it. */
  segments?: Array<{startedAt: string; durationMs?: number; status?: string}>
  steps: Array<{id: string; uses: string; phase: string; status: string; durationMs?: number; attempts?: number; error?: string}>
  outputs: Record<string, unknown>
  /** Drills: measured RTO/RPO per component against the objectives. */
  objectives?: unknown
  leftBehind: string[]
  overrides: GuardOverride[]
  /**
   * Why the run failed when no step's line says it: the journal could not be written (a full disk). Its events were
   * never shown either (what is not recorded is not reported), so without this the run just ended "failed".
   */
  error?: string
  journal: string
  summary: string
  warnings: string[]
}

export function exitCodeForStatus(status: RunStatus): ExitCodeT {
  switch (status) {
    case 'succeeded':
      return ExitCode.ok
    case 'rollback-failed':
      return ExitCode.needsHuman
    case 'interrupted':
      return ExitCode.interrupted
    case 'approval-required':
      return ExitCode.approvalRequired
    case 'blocked':
      return ExitCode.blocked
    default:
      return ExitCode.failed
  }
}

/**
 * The exit code of a finished run: its status's, except that a failure the failing action itself calls invalid input
 * (e.g. a restore point outside retention), before anything changed, is exit 2 like any other invalid input; and a run
 * that left something a human must look at (the "NEEDS A HUMAN" list) is exit 3 whatever ended it — an interrupted run
 * with an Azure operation of its own still running after teardown was exit 130, as if nothing were left (DESIGN.md:
 * 3 = "a human must look (the output says what is left)"; 130 = interrupted, nothing left to handle). Both resume.
 */
export function exitCodeForOutcome(outcome: Pick<RunOutcome, 'status' | 'error' | 'nothingChanged' | 'leftBehind'>): ExitCodeT {
  if (outcome.status === 'failed' && outcome.error?.exitCode === ExitCode.invalidInput && outcome.nothingChanged) return ExitCode.invalidInput
  if (outcome.leftBehind.length > 0) return ExitCode.needsHuman
  return exitCodeForStatus(outcome.status)
}

/**
 * Params a resume would continue with that differ from the ones the run's journal says it started with (issue 16: an
 * edited request.json — or a --param on resume — pointed the rest of a run at another cache; the resume exported
 * that one, abandoned the first one's export in flight, and verified). Secret params and values the journal holds
 * redacted (a credential in a string) cannot be compared and are not.
 */
function changedParams(journaled: Record<string, unknown>, resolved: Record<string, unknown>): Array<{name: string; journaled: string; now: string}> {
  const changed: Array<{name: string; journaled: string; now: string}> = []
  for (const [name, value] of Object.entries(journaled)) {
    const before = JSON.stringify(value)
    if (before === undefined || before.includes('[REDACTED]') || !(name in resolved)) continue
    const after = JSON.stringify(resolved[name])
    if (after !== before) changed.push({name, journaled: before, now: after ?? 'no value'})
  }
  return changed
}

/** Run a runbook. Throws for invalid input (2), missing approvals (4) and guards (5) before anything changes. */
export async function runRunbook(options: RunOptions): Promise<RunResult> {
  const now = options.now ?? (() => new Date())
  const prepared = await prepareRun(options)
  const {runbook, environment, envName, loaded, params} = prepared
  const user = currentUser()
  if (options.resume?.expectedSha256 && options.resume.expectedSha256 !== runbook.sha256)
    throw new ValidationError([
      {code: 'runbook-changed', message: `runbook ${runbook.name} (${runbook.source}) changed since run ${options.resume.runId} started; resuming it with different steps is not safe`},
    ])

  if (options.resume?.expectedParams) {
    // Given values only (request.json's, or --param): a default is the runbook's (its hash is checked above), and one
    // computed from now() is computed again by design.
    const given = Object.fromEntries(Object.entries(params).filter(([name]) => options.params?.[name] !== undefined))
    const changed = changedParams(options.resume.expectedParams, given)
    if (changed.length > 0)
      throw new ValidationError(
        changed.map(({name, journaled, now}) => ({
          code: 'resume-params-changed',
          message: `param ${name}: run ${options.resume!.runId} started with ${journaled} (its journal), but this resume would continue it with ${now}; the remaining steps would act on something else than the run started on. request.json was changed, or --param gave another value: resume without it`,
        })),
        `the resume of run ${options.resume.runId} asks for other params than the run started with: nothing was resumed`,
      )
  }

  const stepIds = flattenSteps(runbook).map((n) => n.spec.id)
  if (options.resume?.expectedSteps) {
    // The steps a run is continued with are the ones it started with. Another component set (request.json's
    // `components` edited, or the catalog's components changed) dropped an in-flight leg from the plan: the resume
    // ended succeeded with that leg's scratch server still being restored and never torn down (issue 16).
    const now = new Set(stepIds)
    const before = new Set(options.resume.expectedSteps)
    const missing = options.resume.expectedSteps.filter((id) => !now.has(id))
    const added = stepIds.filter((id) => !before.has(id))
    if (missing.length > 0 || added.length > 0)
      throw new ValidationError(
        [
          {
            code: 'resume-steps-changed',
            message: `run ${options.resume.runId} started with other steps than this resume would run (its journal lists them)${missing.length > 0 ? `; not in this resume: ${missing.join(', ')}` : ''}${added.length > 0 ? `; new: ${added.join(', ')}` : ''}. The components it acts on changed (request.json's components, or the catalog's): what the missing steps started would be left behind. Put request.json's components and the catalog back as they were when the run started`,
          },
        ],
        `the resume of run ${options.resume.runId} would run other steps than the run started with: nothing was resumed`,
      )
  }
  const unknownApprovals = (options.approvedSteps ?? []).filter((id) => id !== RUN_CONFIRMATION && !stepIds.includes(id))
  if (unknownApprovals.length > 0)
    throw new ValidationError(
      unknownApprovals.map((id) => {
        const close = closestName(id, stepIds)
        return {code: 'unknown-step', message: `--approve ${id}: runbook ${runbook.name} has no step "${id}"${close ? ` (did you mean "${close}"?)` : ''}`}
      }),
    )

  const optOuts = protectionOptOuts(options.optOut, user, now())

  // Approvals that nobody can give stop the run before anything changes (exit 4).
  const needed = approvalsNeeded(prepared)
  if (!options.interactive) {
    // On resume, approvals already given (their steps completed) are not asked again.
    const pendingSteps = needed.steps.filter((s) => !options.resume?.completed[s])
    const missing = [...(needed.productionConfirmation ? [RUN_CONFIRMATION] : []), ...pendingSteps].filter((s) => !options.preApproved(s))
    if (missing.length > 0) {
      const first = missing[0]!
      throw new ApprovalRequiredError(
        first === RUN_CONFIRMATION
          ? `${runbook.name} changes resources in production environment "${envName}" and needs confirmation; nothing was changed`
          : `runbook ${runbook.name} has approval step(s) ${missing.join(', ')} and there is no terminal to ask on; nothing was changed`,
        first === RUN_CONFIRMATION ? undefined : first,
      )
    }
  }

  if (options.at && environment.cloud !== 'emulator')
    throw new ValidationError([
      {code: 'invalid-flag', message: `--at rehearses a guard decision; ${envName} is a real Azure environment, so \`run --at\` is refused (use \`plan ${runbook.name} --env ${envName} --at …\` or \`window status --at …\`)`},
    ])
  const components = changedComponents(runbook, params, environment)
  const overrides = checkChangeGuards({
    runbook,
    env: environment,
    envName,
    components,
    now: options.at ?? now(),
    expected: environment.production && runbook.disruptive ? await expectedRunDuration(prepared, options.cwd) : undefined,
    override: options.override ? {reason: options.override.reason, user} : undefined,
  })

  // Production confirmation, asked once before the run (typed environment name on a TTY).
  const confirmations: ApprovalDecision[] = []
  if (needed.productionConfirmation) {
    const decision = await options.approver.approve(
      {step: RUN_CONFIRMATION, message: `Run ${runbook.name} against PRODUCTION environment "${envName}"?`, environment: envName, production: true},
      options.signal,
    )
    if (!decision.approved)
      // Someone at the terminal answered: advise typing the name again, not --yes (which skips the check they failed).
      throw new ApprovalRequiredError(
        `run not confirmed for production environment "${envName}"${decision.reason ? `: ${decision.reason}` : ''}; nothing was changed`,
        undefined,
        decision.via === 'prompt' ? [`run it again and type ${envName} to confirm`] : undefined,
      )
    confirmations.push(decision)
  }

  const {startRunSession} = await import('./session.js')
  return startRunSession({prepared, options, overrides: [...overrides, ...optOuts], confirmations, components, user, now, optOuts})
}

/** --no-lease / --no-evidence as journaled overrides; either without --reason is invalid input (exit 2). */
export function protectionOptOuts(optOut: RunOptions['optOut'], user: string, at: Date): GuardOverride[] {
  if (!optOut?.lease && !optOut?.evidence) return []
  const reason = optOut.reason?.trim()
  if (!reason)
    throw new ValidationError([
      {code: 'missing-reason', message: `${[optOut.lease && '--no-lease', optOut.evidence && '--no-evidence'].filter(Boolean).join(' and ')} needs --reason "…": running without that protection is journaled with why`},
    ])
  const out: GuardOverride[] = []
  if (optOut.lease) out.push({kind: 'no-lease', reason, by: user, at: at.toISOString(), detail: 'run without target leases if they cannot be taken (--no-lease)'})
  if (optOut.evidence) out.push({kind: 'no-evidence', reason, by: user, at: at.toISOString(), detail: 'run without the evidence store if it is unavailable (--no-evidence)'})
  return out
}

/** The window guard's decision for a prepared run at `at` (plan shows it; run enforces it). */
export async function guardDecision(prepared: PreparedRun, at: Date, cwd?: string): Promise<import('./guards.js').GuardDecision> {
  const {decideGuards} = await import('./guards.js')
  const components = changedComponents(prepared.runbook, prepared.params, prepared.environment)
  return decideGuards({runbook: prepared.runbook, env: prepared.environment, components, at, expected: await expectedRunDuration(prepared, cwd)})
}

/** The runbook's expected duration: declared, else the median of its past succeeded runs in this environment. */
export async function expectedRunDuration(prepared: Pick<PreparedRun, 'runbook' | 'envName' | 'loaded'>, cwd?: string): Promise<ExpectedDuration> {
  if (prepared.runbook.expectedDurationMs !== undefined) return expectedDuration(prepared.runbook, [])
  const {listRuns} = await import('../evidence/runs-store.js')
  const runs = await listRuns(opsbookRoot({cwd, catalogFlag: prepared.loaded.file})).catch(() => [])
  const past = runs
    .filter((r) => r.runbook === prepared.runbook.name && r.environment === prepared.envName && r.status === 'succeeded' && r.durationMs !== undefined)
    .slice(0, 20)
    .map((r) => r.durationMs!)
  return expectedDuration(prepared.runbook, past)
}

export function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'unknown'
  }
}

export function currentHost(): string {
  return hostname()
}

/** `.opsbook` in the project folder (beside the catalog): journals, summaries, emulator state. */
export {opsbookRoot}

export type {RunEvent}
