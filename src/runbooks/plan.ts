/**
 * `opsbook plan`: what a run would do, before it does anything. Inputs are resolved where they can be known
 * (params, catalog, environment, the plan's time); values produced by earlier steps stay as `<steps.x.outputs.y>`
 * placeholders (shell-safe: no spaces), and every placeholder left in an az line gets a note saying why.
 * Everything shown comes from the action registry's declarations (permissions, ARM calls, az equivalents).
 */
import {findAction} from '../actions/registry.js'
import {stepBound, type ActionDefinition, type ArmCall, type PlanContext} from '../actions/types.js'
import {resolveResource} from '../actions/resolve.js'
import {configurationIssues} from '../actions/drill.js'
import {describedOnlySentence} from '../catalog/notes.js'
import type {GuardDecision} from './guards.js'
import type {Environment} from '../catalog/schema.js'
import {Redactor} from '../evidence/redact.js'
import {toIsoDuration} from '../support/duration.js'
import {DEFAULT_TEARDOWN_TIMEOUT_MS} from './engine.js'
import {conditionExpression, decidedUpFront, upFrontContext, evaluateExpression, splitTemplate, expressionReferences, type ExpressionContext} from './expressions.js'
import {flattenSteps} from './groups.js'
import type {ActionCall, Runbook, StepSpec} from './model.js'
import {catalogReplicas, replicaReferences} from './replica-owners.js'
import type {PreparedRun} from './runner.js'
import type {Problem} from '../errors.js'

export interface PlannedCall {
  uses: string
  summary: string
  changes: boolean
  inputs: Record<string, unknown>
  permissions: string[]
  arm: ArmCall[]
  az: string[]
  /** What plan could not show (e.g. an az command that needs a value only known during the run). */
  notes: string[]
  /**
   * The call's bound in ms: the step's `timeout:`, else its action's default (`timeoutFromDefault`); past it the step
   * fails timed out. Absent: unbounded (an action that changes nothing and declares no default, or a group).
   */
  timeout?: number
  timeoutFromDefault?: true
}

export interface PlannedStep extends PlannedCall {
  id: string
  phase: 'main' | 'finally'
  needs: string[]
  if?: string
  retry?: {attempts: number; backoffMs: number}
  continueOnError: boolean
  rollback?: PlannedCall
  /** Full id of the group (or called runbook) the step belongs to; its steps follow it in `steps`. */
  parent?: string
  /** Nesting depth of a group's (or called runbook's) step: 1 for a step of a group of the runbook, … (absent: 0). */
  depth?: number
  /**
   * The step's `if:` is false with these params and this environment whatever happens before it (it reads no step
   * result, and is false with success() as with failure()): it will not run, so it needs no permission.
   */
  notRun?: true
}

export interface RunPlan {
  runbook: {name: string; title: string; kind: string; disruptive: boolean; source: string}
  environment: string
  production: boolean
  params: Record<string, unknown>
  steps: PlannedStep[]
  /** Every RBAC action the run may need (steps and evidence upload), sorted. */
  permissions: string[]
  /** Where the journal goes, and what that needs. */
  evidence?: {container: string; permissions: string[]}
  changes: boolean
  /** Production window guard: per component it changes, whether the run may start at the instant asked (--at or now). */
  guard?: GuardDecision
  /** Drills: each measured component's objectives, and those its configuration cannot meet whatever the drill measures. */
  objectives?: Array<{component: string; type: string; rto?: string; rpo?: string; crossRegion: boolean; cannotMeet: string[]}>
  /** Components of the environment this runbook does not act on because opsbook cannot act on their kind yet. */
  notActedOn?: string
  /**
   * The read replicas the run would promote (steps whose action declares `replicaInputs`): which server, and whose
   * replica the catalog says it is — the primary's component is the one the run leases.
   */
  replicas?: Array<{step: string; name: string; component?: string; primary?: string; region?: string; note?: string}>
}

/** ARM id helper shared by plan and the actions' `arm()` declarations. */
export function planContext(environment: Environment, environmentName: string, now?: Date): PlanContext {
  return {
    environment,
    environmentName,
    now,
    resourceId: (kind, nameOrKey) => resolveResource(environment, kind, nameOrKey).id,
  }
}

/** Build the plan of a prepared run. Changes nothing and contacts nothing. */
export function buildPlan(prepared: PreparedRun, options: {guard?: GuardDecision; now?: Date} = {}): RunPlan {
  const {runbook, environment, envName, params, loaded} = prepared
  const taint = new Redactor()
  const secretParams = Object.entries(runbook.params).filter(([, s]) => s.type === 'secret').map(([n]) => n)
  const shownParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, secretParams.includes(k) ? '[REDACTED]' : v]))
  const context: ExpressionContext = {
    params: shownParams,
    steps: {},
    env: {...environment, name: envName},
    catalog: loaded.catalog as unknown as Record<string, unknown>,
    run: {id: '<run-id>', startedAt: '<start>', runbook: runbook.name, environment: envName, production: environment.production},
    // What an expression computes from a secret-looking value (a catalog tag `token`, a connection string) is shown
    // redacted, as the run's journal shows it: the plan is printed, and a printout is a place secrets leak to.
    taint,
  }
  const plan = planContext(environment, envName, options.now ?? new Date())
  // now() (e.g. a drill's "restore to the latest point") shows the plan's own clock.
  if (options.now) context.now = () => options.now!
  // A called runbook's steps read its params: the caller's `with:` as far as it is known now, else the defaults.
  const paramsOf = new Map<string, Record<string, unknown>>()
  const contextOf = (step?: StepSpec, parent?: string): ExpressionContext => {
    const params = (parent ? paramsOf.get(parent) : undefined) ?? context.params
    // Expanded forEach steps (and the steps of a forEach group) know their item (expand.ts): `item.*` resolves in plan too.
    return {...context, params, ...(step?.instance ? {item: step.instance.item as unknown as Record<string, unknown>} : {})}
  }
  const planCall = (call: ActionCall, step?: StepSpec, parent?: string): PlannedCall => {
    const action = findAction(call.uses)
    const stepContext = contextOf(step, parent)
    const inputs = taint.redact(resolveForPlan(call.with, stepContext)) as Record<string, unknown>
    if (step?.group) {
      const callee = step.group.callee
      const count = step.group.steps.length + step.group.finally.length
      return {
        uses: call.uses,
        summary: callee ? `calls runbook ${callee.name}: ${callee.title}` : `a group of ${count} step${count === 1 ? '' : 's'}, run as one`,
        changes: false,
        inputs: callee ? {...Object.fromEntries(Object.entries(callee.params).flatMap(([k, p]) => ('default' in p && p.default !== undefined ? [[k, p.default]] : []))), ...inputs} : {},
        permissions: [],
        arm: [],
        az: [],
        notes: [],
      }
    }
    if (!action) return {uses: call.uses, summary: 'unknown action', changes: true, inputs, permissions: [], arm: [], az: [], notes: []}
    const shown = withDefaults(action.input, inputs)
    const secretInputs = new Set(action.secretInputs ?? [])
    for (const key of Object.keys(shown)) if (secretInputs.has(key)) shown[key] = '[REDACTED]'
    const notes: string[] = []
    const az = rendered('az equivalent', () => action.az?.(shown as never, plan) ?? [], notes)
    // A rollback runs with its step's `timeout:` too (engine.ts), else with its own action's default.
    const bound = stepBound(step?.group ? undefined : step?.timeoutMs, action)
    return {
      ...(bound ? {timeout: bound.ms, ...(bound.fromDefault ? {timeoutFromDefault: true as const} : {})} : {}),
      uses: call.uses,
      summary: action.summary,
      changes: action.changes,
      inputs: shown,
      permissions: permissionsOf(action, shown, plan),
      arm: rendered('ARM calls', () => action.arm?.(shown as never, plan) ?? [], notes),
      az,
      notes: [...notes, ...placeholderNotes(az)],
    }
  }
  // Per group (or called runbook): the params its steps read that plan cannot know — a secret, or a value the caller's
  // `with:` computes from a step's result (a placeholder here, which would read as true). A condition reading one of
  // them is not decided up front.
  const unknownOf = new Map<string, Set<string>>()
  // Groups (and called runbooks) that will not run with these params: nor will any step inside them.
  const notRunGroups = new Set<string>()
  const planStep = (step: StepSpec, phase: 'main' | 'finally', depth: number, parent?: string): PlannedStep => {
    const call = planCall(step, step, parent)
    const unknown = parent ? (unknownOf.get(parent) ?? new Set<string>()) : new Set(secretParams)
    if (step.group?.callee) {
      paramsOf.set(step.id, call.inputs)
      unknownOf.set(step.id, unknownCalleeParams(step, unknown, contextOf(step, parent)))
    } else if (step.group) {
      if (parent && paramsOf.has(parent)) paramsOf.set(step.id, paramsOf.get(parent)!)
      unknownOf.set(step.id, unknown)
    }
    const upFront = {...contextOf(step, parent), taint: undefined}
    // A condition `a && b && …` is false when one of its parts is, even where another part reads a step's result. In a
    // called runbook too (dr-drill's Managed Redis leg runs managedredis.verify, never the classic cache's redis.verify).
    const notRun =
      (parent !== undefined && notRunGroups.has(parent)) ||
      (step.if !== undefined &&
        topLevelConjuncts(safeConditionExpression(step.if)).some(
          (part) => !readsParam(part, unknown) && [false, true].every((failed) => decidedUpFront(`\${{ ${part} }}`, {...upFront, failed}) === false),
        ))
    if (notRun && step.group) notRunGroups.add(step.id)
    return {
      id: step.id,
      phase,
      needs: step.needs,
      if: step.if,
      ...(step.group && step.timeoutMs !== undefined ? {timeout: step.timeoutMs} : {}),
      retry: step.retry,
      continueOnError: step.continueOnError,
      ...call,
      rollback: step.rollback ? planCall(step.rollback, step, parent) : undefined,
      ...(parent ? {parent, depth} : {}),
      ...(notRun ? {notRun: true as const} : {}),
    }
  }
  const steps = flattenSteps({steps: orderSteps(runbook), finally: runbook.finally}).map((n) => planStep(n.spec, n.phase, n.depth, n.parent))
  const allSteps = flattenSteps(runbook).map((n) => n.spec)
  const evidence = environment.evidence
    ? {
        container: `${environment.evidence.storageAccount}/${environment.evidence.container}`,
        // Journal upload (append blob), summary and report, target leases, and the container's immutability settings.
        permissions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/read',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
        ],
      }
    : undefined
  const permissions = [...new Set([...steps.filter((s) => !s.notRun).flatMap((s) => [...s.permissions, ...(s.rollback?.permissions ?? [])]), ...(evidence?.permissions ?? [])])].sort()
  // The components a drill measures (drill.measure instances), with what their configuration rules out up front.
  const measured = [...new Set(allSteps.filter((s) => s.uses === 'drill.measure' && s.instance).map((s) => s.instance!.item.key))]
  const objectives = measured.map((key) => {
    const component = environment.components[key]!
    return {
      component: key,
      type: component.type,
      ...(component.objectives?.rto ? {rto: component.objectives.rto} : {}),
      ...(component.objectives?.rpo ? {rpo: component.objectives.rpo} : {}),
      crossRegion: component.objectives?.crossRegion ?? false,
      cannotMeet: configurationIssues(component),
    }
  })
  const replicas = plannedReplicas(runbook, params, environment)
  const forEachesOverComponents = allSteps.some((s) => s.instance)
  const notActedOn = forEachesOverComponents ? describedOnlySentence(environment, runbook.name) : undefined
  return {
    runbook: {name: runbook.name, title: runbook.title, kind: runbook.kind, disruptive: runbook.disruptive, source: runbook.source},
    environment: envName,
    production: environment.production,
    params: shownParams,
    steps,
    permissions,
    evidence,
    changes: steps.some((s) => s.changes || s.rollback?.changes),
    ...(options.guard ? {guard: options.guard} : {}),
    ...(objectives.length > 0 ? {objectives} : {}),
    ...(notActedOn ? {notActedOn} : {}),
    ...(replicas.length > 0 ? {replicas} : {}),
  }
}

/**
 * The ARM resources each `when-needed` step of a plan acts on (the action registry's `targets`), with the run's id, by
 * full step id: what the run journals in its first run.started, so evidence verify's witness can require that what a
 * resumed step found is about its own target (evidence/witness.ts). A target that depends on a value known only during
 * the run (a placeholder) or that cannot be resolved is left out, never guessed.
 */
export function planTargets(plan: RunPlan, environment: Environment, runId: string): Record<string, string[]> {
  const context = {...planContext(environment, plan.environment), runId}
  const targets: Record<string, string[]> = {}
  for (const step of plan.steps) {
    if (!step.changes) continue
    const known = knownTargets(step.uses, step.inputs, context)
    if (known) targets[step.id] = known
  }
  return targets
}

/**
 * The ARM resources a changing step of `uses` acts on with these inputs (the action registry's `targets`), when every
 * one is a resource id: `<steps.x.outputs.y>`, `[REDACTED]` are not a resource a run can name. Used for the first plan
 * and, with the inputs evaluated, when a step starts (step.started `targets`: a target read from another step's outputs).
 */
export function knownTargets(uses: string, inputs: Record<string, unknown>, context: PlanContext & {runId: string}): string[] | undefined {
  const action = findAction(uses)
  if (!action?.targets || !action.changes) return undefined
  let ids: string[]
  try {
    ids = action.targets(inputs as never, context)
  } catch {
    return undefined
  }
  const known = ids.filter((id) => /^\/subscriptions\/[^/<]+\//i.test(id) && !/[<>[\]]/.test(id))
  return known.length > 0 && known.length === ids.length ? known : undefined
}

/** What `knownTargets` needs of the environment (a plan context without a clock). */
export function targetContext(environment: Environment, environmentName: string, runId: string): PlanContext & {runId: string} {
  return {...planContext(environment, environmentName), runId}
}

/** Each replica a step would promote, as the catalog knows it (plan contacts nothing: others are read at run time). */
function plannedReplicas(runbook: Runbook, params: Record<string, unknown>, environment: Environment): NonNullable<RunPlan['replicas']> {
  const known = catalogReplicas(environment)
  return replicaReferences(runbook, params).flatMap(({step, reference}): NonNullable<RunPlan['replicas']> => {
    if (!reference) return []
    let resource
    try {
      resource = resolveResource(environment, 'postgres', reference)
    } catch {
      return [{step, name: reference, note: 'not a server opsbook can resolve in this environment'}]
    }
    const replica = known.find((r) => r.name.toLowerCase() === resource.name.toLowerCase() && r.component === resource.componentKey)
    if (replica) return [{step, name: replica.name, component: replica.component, primary: replica.primary, ...(replica.region ? {region: replica.region} : {})}]
    if (resource.componentKey) return [{step, name: resource.name, component: resource.componentKey, note: `the primary server of ${resource.componentKey}, not a replica`}]
    return [{step, name: resource.name, note: 'not in the catalog: its primary is read through ARM (sourceServerResourceId) when the run starts'}]
  })
}

/**
 * Preflight: what a step's action declares it cannot do with the catalog as it is (a tier that cannot, a restore
 * point outside retention), for every step that will run, before anything runs: unconditional ones and those whose
 * `if:` is decided true up front (e.g. the export for the component's kind). Other steps with `if:` may not run and
 * are left to the action's own check when they do.
 */
export function preflightProblems(prepared: PreparedRun, options: {now?: Date} = {}): Problem[] {
  const plan = buildPlan(prepared, options)
  const context = planContext(prepared.environment, prepared.envName, options.now ?? new Date())
  const upFront = upFrontContext(prepared)
  const problems: Problem[] = []
  for (const step of plan.steps) {
    // `success()`/`always()` are the usual guards of a step that will run; any other condition may skip it.
    const condition = step.if?.replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim()
    if (condition && !['success()', 'always()'].includes(condition) && decidedUpFront(step.if, upFront) !== true) continue
    const why = findAction(step.uses)?.preflight?.(step.inputs as never, context)
    if (!why) continue
    // The catalog field that decides (the component's SKU, plan tier…) is where the fix goes: its file:line:col.
    const location = why.component && why.field ? prepared.loaded.source.locate(['environments', prepared.envName, 'components', why.component, why.field]) : undefined
    problems.push({code: 'preflight', message: `step ${step.id} (${step.uses}): ${why.message}`, ...(location ? {location} : {})})
  }
  return problems
}

/** What a call needs with its inputs (an action's permissionsFor), never more than it declares; all of them when unsure. */
function permissionsOf(action: ActionDefinition, inputs: Record<string, unknown>, plan: PlanContext): string[] {
  try {
    const needed = action.permissionsFor?.(inputs as never, plan)
    return needed ? action.permissions.filter((p) => needed.includes(p)) : action.permissions
  } catch {
    return action.permissions
  }
}

/** Render an action's declaration; a failure is shown in the plan, never silently dropped. */
function rendered<T>(what: string, fn: () => T[], notes: string[]): T[] {
  try {
    return fn()
  } catch (error) {
    notes.push(`${what} could not be rendered before the run: ${(error as Error).message}`)
    return []
  }
}

const PLACEHOLDER = /^<.*>$/s

/** Why a `<…>` left in an az line could not be rendered before the run (one note per placeholder). */
function placeholderNotes(lines: string[]): string[] {
  const found = new Set(lines.flatMap((line) => line.match(/<[^<>\s]+>/g) ?? []))
  return [...found].map((placeholder) => {
    const inner = placeholder.slice(1, -1)
    if (inner.startsWith('steps.') || inner.startsWith('one-of:'))
      return `${placeholder} is an output of an earlier step: known only when that step has run`
    if (inner === 'run-id' || inner.endsWith('-run')) return `${placeholder}: named after the run id, which is assigned when the run starts`
    return `${placeholder} depends on what the run finds (e.g. the newest snapshot, a time of the run)`
  })
}

/** A shell-safe stand-in for an expression that reads step outputs: `<steps.x.outputs.y>` (or `<one-of:a,b>`). */
function deferredPlaceholder(expression: string): string {
  const outputs = [...new Set(expressionReferences(expression).filter((r) => r.context === 'steps').map((r) => ['steps', ...r.path].join('.')))]
  if (outputs.length === 1) return `<${outputs[0]}>`
  if (outputs.length > 1) return `<one-of:${outputs.join(',')}>`
  return `<${expression.replace(/\s+/g, '')}>`
}

/**
 * Inputs with the action's defaults applied, as the engine will see them. Values still unknown before the run
 * (`<steps.x.outputs.y>`) are kept as placeholders and left out of validation.
 */
function withDefaults(schema: import('zod').ZodObject<any>, inputs: Record<string, unknown>): Record<string, unknown> {
  const full = schema.safeParse(inputs)
  if (full.success) return {...(full.data as Record<string, unknown>)}
  const deferred = Object.fromEntries(Object.entries(inputs).filter(([, v]) => typeof v === 'string' && PLACEHOLDER.test(v)))
  const known = Object.fromEntries(Object.entries(inputs).filter(([k]) => !(k in deferred)))
  const partial = partialOf(schema).safeParse(known)
  return partial.success ? {...(partial.data as Record<string, unknown>), ...deferred} : {...inputs}
}

/**
 * An action's input schema with every field optional, made once per schema: `.partial()` builds a new schema (and zod
 * sets up its parser anew) on every call, and a plan asks it for each step whose inputs wait on an earlier step's
 * outputs — dr-drill's ~100 planned calls, twice per `plan` or `run` (preflight, then the plan shown or journaled).
 */
const partials = new WeakMap<import('zod').ZodObject<any>, import('zod').ZodObject<any>>()
function partialOf(schema: import('zod').ZodObject<any>): import('zod').ZodObject<any> {
  let partial = partials.get(schema)
  if (!partial) partials.set(schema, (partial = schema.partial()))
  return partial
}

/** Steps in dependency order (stable: declaration order among independent steps). */
function orderSteps(runbook: Runbook): StepSpec[] {
  const done = new Set<string>()
  const out: StepSpec[] = []
  const pending = [...runbook.steps]
  while (pending.length > 0) {
    const index = pending.findIndex((s) => s.needs.every((n) => done.has(n)))
    const [step] = pending.splice(index === -1 ? 0 : index, 1)
    done.add(step!.id)
    out.push(step!)
  }
  return out
}

/** Evaluate what can be known now; expressions that read step outputs become `<…>` placeholders. */
export function resolveForPlan(value: unknown, context: ExpressionContext): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${{')) return value
    const parts = splitTemplate(value)
    const rendered = parts.map((part) => {
      if (part.kind === 'text') return part.text
      const deferred = expressionReferences(part.expression).some((r) => r.context === 'steps')
      if (deferred) return deferredPlaceholder(part.expression)
      try {
        return evaluateExpression(part.expression, context)
      } catch {
        return deferredPlaceholder(part.expression)
      }
    })
    if (rendered.length === 1) return rendered[0]
    return rendered.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('')
  }
  if (Array.isArray(value)) return value.map((v) => resolveForPlan(v, context))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveForPlan(v, context)]))
  return value
}

/** Plan as text for a terminal: numbered steps, inputs, ARM calls, permissions and az equivalents. */
export function renderPlan(plan: RunPlan): string {
  const lines: string[] = []
  lines.push(`Plan: ${plan.runbook.name} — ${plan.runbook.title}`)
  lines.push(`  environment ${plan.environment}${plan.production ? ' (PRODUCTION)' : ''}; kind ${plan.runbook.kind}${plan.runbook.disruptive ? ', disruptive' : ''}`)
  if (Object.keys(plan.params).length > 0) lines.push(`  params: ${Object.entries(plan.params).map(([k, v]) => `${k}=${fmt(v)}`).join(', ')}`)
  lines.push(plan.changes ? '  This run CHANGES resources. Nothing has been changed yet.' : '  This run only reads.')
  plan.steps.forEach((step, index) => {
    lines.push('')
    const flags = [
      step.notRun ? 'NOT RUN with these params' : '',
      step.changes ? 'changes' : 'read-only',
      step.phase === 'finally' ? 'always runs' : '',
      step.if ? `if ${step.if}` : '',
      step.needs.length ? `after ${step.needs.join(', ')}` : '',
      // The bound every changing step has (issue 16, item 5): its `timeout:`, else its action's default.
      step.timeout !== undefined ? `timeout ${toIsoDuration(step.timeout)}${step.timeoutFromDefault ? ' (default)' : ''}` : '',
    ]
      .filter(Boolean)
      .join('; ')
    // The steps of a group (or called runbook) are indented under it.
    const pad = '    '.repeat(step.depth ?? 0)
    lines.push(`${pad}${String(index + 1).padStart(2)}. ${step.id}  [${step.uses}]  (${flags})`)
    lines.push(`${pad}    ${step.summary}`)
    // A step that will not run makes no call and needs no permission: its ARM, az and RBAC lines would describe what
    // this run does not do (the classic cache's verify for a Managed Redis cache). --json keeps them, with notRun.
    if (step.notRun) return
    for (const [k, v] of Object.entries(step.inputs)) lines.push(`${pad}    with ${k}: ${fmt(v)}`)
    for (const call of step.arm) lines.push(`${pad}    ARM  ${call.method} ${call.path}${call.longRunning ? '  (long-running)' : ''}${call.note ? `  — ${call.note}` : ''}`)
    for (const cmd of step.az) lines.push(`${pad}    az   ${cmd}`)
    for (const note of step.notes) lines.push(`${pad}    note ${note}`)
    if (step.permissions.length) lines.push(`${pad}    RBAC ${step.permissions.join(', ')}`)
    if (step.rollback) {
      const bound = step.rollback.timeout !== undefined ? `  (timeout ${toIsoDuration(step.rollback.timeout)}${step.rollback.timeoutFromDefault ? ', default' : ''})` : ''
      lines.push(`${pad}    on failure, rollback: [${step.rollback.uses}] ${step.rollback.summary}${bound}`)
      for (const call of step.rollback.arm) lines.push(`${pad}      ARM  ${call.method} ${call.path}`)
      for (const cmd of step.rollback.az) lines.push(`${pad}      az   ${cmd}`)
    }
  })
  lines.push('')
  // Rollbacks and finally steps also share one teardown deadline (engine.ts): a default bound above it is never reached.
  if (plan.steps.some((s) => !s.notRun && ((s.phase === 'finally' && s.changes) || s.rollback))) {
    lines.push(`Teardown (rollbacks and finally steps) stops after ${toIsoDuration(DEFAULT_TEARDOWN_TIMEOUT_MS)} in all, whatever their own bounds (OPSBOOK_TEARDOWN_TIMEOUT sets another); what is then left is reported (exit 3).`, '')
  }
  if (plan.objectives) {
    lines.push('Objectives this drill measures:')
    for (const o of plan.objectives) {
      const wanted = o.rto || o.rpo ? `RTO ${o.rto ?? '-'}, RPO ${o.rpo ?? '-'}${o.crossRegion ? ', cross-region' : ''}` : 'no objective in the catalog (the row will say so; nothing to meet)'
      lines.push(`  ${o.component} (${o.type}): ${wanted}`)
      for (const issue of o.cannotMeet) lines.push(`    CANNOT MEET: ${issue}`)
    }
    lines.push('')
  }
  if (plan.notActedOn) lines.push(`Not acted on: ${plan.notActedOn}.`, '')
  if (plan.replicas) {
    lines.push(`Replica${plan.replicas.length === 1 ? '' : 's'} promoted:`)
    for (const r of plan.replicas)
      lines.push(
        `  ${r.name}${r.component && !r.note ? ` — read replica of ${r.component} (server ${r.primary}${r.region ? `, in ${r.region}` : ''})` : ''}${r.note ? ` — ${r.note}` : ''}  (step ${r.step})`,
      )
    lines.push('')
  }
  if (plan.guard) lines.push(...renderGuard(plan.guard, plan.environment, {production: plan.production, runbook: plan.runbook}), '')
  if (plan.evidence)
    lines.push(`Evidence: the journal streams to ${plan.evidence.container} (runs/<yyyy>/<mm>/<runId>/); components it changes are leased at locks/${plan.environment}/<component>.`)
  lines.push(`Permissions needed (${plan.permissions.length}):`)
  for (const p of plan.permissions) lines.push(`  ${p}`)
  return lines.join('\n')
}

/**
 * A secret param is '[REDACTED]' in the plan's context, whatever its value (empty too): a condition on it, such as
 * `params.sasToken == ''`, is not known up front, and a step it guards may run and must be asked for.
 */
function readsParam(expression: string, params: ReadonlySet<string>): boolean {
  return expressionReferences(expression).some((r) => r.context === 'params' && (r.path.length === 0 || params.has(String(r.path[0]))))
}

/**
 * The params of a called runbook plan cannot know: its own secret params, and those the caller's `with:` computes from
 * a step's result, from a param the caller does not know, or with an expression that fails before the run.
 */
function unknownCalleeParams(step: StepSpec, outerUnknown: ReadonlySet<string>, outer: ExpressionContext): Set<string> {
  const callee = step.group!.callee!
  const unknown = new Set(Object.entries(callee.params).filter(([, spec]) => spec.type === 'secret').map(([name]) => name))
  const expressions = (value: unknown): string[] =>
    typeof value === 'string'
      ? value.includes('${{')
        ? splitTemplate(value).flatMap((part) => (part.kind === 'expression' ? [part.expression] : []))
        : []
      : Array.isArray(value)
        ? value.flatMap(expressions)
        : value && typeof value === 'object'
          ? Object.values(value).flatMap(expressions)
          : []
  for (const [name, value] of Object.entries(step.with ?? {})) {
    const known = expressions(value).every((expression) => {
      if (expressionReferences(expression).some((r) => r.context === 'steps') || readsParam(expression, outerUnknown)) return false
      try {
        evaluateExpression(expression, {...outer, taint: undefined})
        return true
      } catch {
        return false
      }
    })
    if (!known) unknown.add(name)
  }
  return unknown
}

function safeConditionExpression(condition: string): string {
  try {
    return conditionExpression(condition)
  } catch {
    return condition
  }
}

/** The parts of `a && b && c` (the whole expression when it is not a conjunction at its top level). */
export function topLevelConjuncts(expression: string): string[] {
  const parts: string[] = []
  let depth = 0
  let quote = false
  let start = 0
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i]!
    if (c === "'") quote = !quote
    else if (quote) continue
    else if (c === '(' || c === '[') depth++
    else if (c === ')' || c === ']') depth--
    else if (depth === 0 && expression.startsWith('||', i)) return [expression]
    else if (depth === 0 && expression.startsWith('&&', i)) {
      parts.push(expression.slice(start, i).trim())
      start = i + 2
      i++
    }
  }
  parts.push(expression.slice(start).trim())
  return parts.filter((p) => p.length > 0)
}

/** The window guard's decision as plan lines. */
export function renderGuard(guard: GuardDecision, environment: string, about?: {production: boolean; runbook: {name: string; disruptive: boolean}}): string[] {
  if (!guard.applies) {
    // Say which of the two it is: an on-call engineer reading "prod is not production" of a production environment
    // cannot tell whether windows are being ignored.
    const why = !about
      ? `${environment} is not production or the runbook is not disruptive`
      : !about.production
        ? `${environment} is not a production environment`
        : `${about.runbook.name} is not disruptive: windows and freezes hold back only disruptive runbooks in production`
    return [`Window guard: does not apply (${why}).`]
  }
  const lines = [`Window guard at ${guard.at} (expected duration: ${guard.expected.description}): ${guard.allowed ? 'the run MAY start' : 'the run would be BLOCKED (exit 5)'}`]
  if (guard.freeze) lines.push(`  change freeze "${guard.freeze.reason}" until ${guard.freeze.until}`)
  for (const c of guard.components) lines.push(`  ${c.allowed ? 'open   ' : 'BLOCKED'} ${c.reason}`)
  if (!guard.allowed && guard.nextStart) lines.push(`  next moment all of them may start: ${guard.nextStart}`)
  return lines
}

function fmt(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}
