/**
 * Guards checked before a run changes anything: in a production environment a disruptive runbook may start only
 * when no change freeze is in force and every component it will change (read from the expanded runbook, i.e. the
 * plan) is inside one of its maintenance windows with room for the whole run (its expected duration). Each
 * component is decided on its own, and a blocked one says when its next long-enough window opens. The user may
 * override with a reason (journaled). Blocked runs exit 5.
 */
import {flattenSteps} from './groups.js'
import {findAction} from '../actions/registry.js'
import type {Environment} from '../catalog/schema.js'
import {activeFreeze, describeWindow, fittingOccurrence, nextOpening, nextStart, openOccurrence, windowsOf, type FreezeStatus} from '../catalog/windows.js'
import {GuardError, ValidationError} from '../errors.js'
import {toIsoDuration} from '../support/duration.js'
import {conditionExpression, evaluateCondition, expressionReferences, type ExpressionContext} from './expressions.js'
import type {Runbook, StepSpec} from './model.js'

export interface GuardOverride {
  /** A guard overridden (--override-window), or a protection run without (--no-lease / --no-evidence), with the reason. */
  kind: 'maintenance-window' | 'change-freeze' | 'no-lease' | 'no-evidence'
  reason: string
  by: string
  at: string
  detail: string
}

/** How long the run is expected to take, and where that figure comes from. */
export interface ExpectedDuration {
  ms?: number
  source: 'runbook' | 'past-runs' | 'unknown'
  /** e.g. "expectedDuration PT1H in the runbook", "median of 4 past runs". */
  description: string
}

export interface ComponentGuard {
  component: string
  windows: string[]
  allowed: boolean
  /** Why it is allowed or blocked, in a sentence. */
  reason: string
  /** The window occurrence the run fits in. */
  closesAt?: string
  /** Blocked: when its next window long enough for the run opens. */
  nextOpensAt?: string
}

export interface GuardDecision {
  /** Guards apply to disruptive runbooks in production environments only. */
  applies: boolean
  at: string
  expected: ExpectedDuration
  freeze?: FreezeStatus
  components: ComponentGuard[]
  allowed: boolean
  /** Blocked: the first moment every component's window is open with room for the run, and no freeze. */
  nextStart?: string
}

/** Components a run touches through its target params (for leases and guards of targeted runbooks). */
export function touchedComponents(runbook: Runbook, params: Record<string, unknown>, env: Environment): string[] {
  return changedComponents(runbook, params, env, {all: true})
}

/**
 * The components the run will change, read from the expanded runbook as plan shows it: the component of every
 * forEach instance whose action (or rollback) changes something, the target params of steps that change something,
 * and components a changing step names literally; a runbook declared disruptive always changes its targets. An
 * unknown action (e.g. `runbook:` calls) counts as changing.
 * With `all`, read-only steps count too (the components a run touches).
 */
export function changedComponents(runbook: Runbook, params: Record<string, unknown>, env: Environment, options: {all?: boolean} = {}): string[] {
  const targets = Object.entries(runbook.params)
    .filter(([, spec]) => spec.type === 'target')
    .map(([name]) => params[name])
    .filter((v): v is string => typeof v === 'string' && env.components[v] !== undefined)
  // A runbook declared disruptive disrupts its targets, whatever its steps' actions say about themselves.
  const found = new Set<string>(runbook.disruptive ? targets : [])
  const changes = (step: StepSpec) => {
    const action = findAction(step.uses)
    return !action || action.changes || (step.rollback ? (findAction(step.rollback.uses)?.changes ?? true) : false)
  }
  const skipped = new Set<string>()
  const specs = new Map<string, StepSpec>()
  const parents = new Map<string, string | undefined>()
  // A group or runbook call changes what its steps change: the steps are counted, not the group node.
  for (const node of flattenSteps(runbook)) {
    const step = node.spec
    specs.set(step.id, step)
    parents.set(step.id, node.parent)
    // Innermost first; the last one is the runbook's own step the node sits in.
    const ancestors: StepSpec[] = []
    for (let id = node.parent; id !== undefined; id = parents.get(id)) ancestors.push(specs.get(id)!)
    if (ancestors.some((a) => skipped.has(a.id))) {
      skipped.add(step.id)
      continue
    }
    // Inside a called runbook `params` and `item` are the callee's: its steps count for what the call acts on (the
    // call's forEach item, else the caller's targets and the components its `with:` names).
    const call = ancestors.find((a) => a.group?.callee)
    if (!call && skippedUpFront(step, params, env, skipped)) {
      skipped.add(step.id)
      continue
    }
    if (step.group) continue
    if (!options.all && !changes(step)) continue
    const instance = call ? ancestors.at(-1)!.instance : step.instance
    if (instance) {
      found.add(instance.item.key)
      continue
    }
    for (const target of targets) found.add(target)
    for (const value of literalStrings(call ? ancestors.at(-1)!.with : step.with)) if (env.components[value]) found.add(value)
  }
  return [...found]
}

/**
 * A step whose `if:` reads only params, env and its item, and is false, never runs (e.g. dr-drill's web steps for an
 * app without slots): it changes nothing; nor does one gated only on such steps. Any other `if:` counts as true.
 */
function skippedUpFront(step: StepSpec, params: Record<string, unknown>, env: Environment, skipped: Set<string>): boolean {
  if (!step.if) return false
  try {
    const stepRefs = expressionReferences(conditionExpression(step.if)).filter((r) => r.context === 'steps')
    // Gated only on steps that never run (same forEach item): decided as the run will, with those steps skipped
    // (`steps.x.status != 'failed'` still runs).
    const instanceOf = (group: string) => (step.instance ? `${group}-${step.instance.item.key}` : group)
    if (!stepRefs.every((r) => typeof r.path[0] === 'string' && skipped.has(instanceOf(r.path[0])))) return false
    const steps = Object.fromEntries(stepRefs.map((r) => [String(r.path[0]), {status: 'skipped', outputs: {}}]))
    const context: ExpressionContext = {params, steps, env: {...env}, catalog: {}, run: {production: env.production}}
    if (step.instance) context.item = step.instance.item as unknown as Record<string, unknown>
    return !evaluateCondition(step.if, context)
  } catch {
    return false
  }
}

function literalStrings(value: unknown): string[] {
  if (typeof value === 'string') return value.includes('${{') ? [] : [value]
  if (Array.isArray(value)) return value.flatMap(literalStrings)
  if (value && typeof value === 'object') return Object.values(value).flatMap(literalStrings)
  return []
}

/** The runbook's declared duration, else the median of its past runs (succeeded, same environment), else unknown. */
export function expectedDuration(runbook: Pick<Runbook, 'expectedDurationMs'>, pastDurationsMs: number[]): ExpectedDuration {
  if (runbook.expectedDurationMs !== undefined)
    return {ms: runbook.expectedDurationMs, source: 'runbook', description: `${toIsoDuration(runbook.expectedDurationMs)} (the runbook's expectedDuration)`}
  if (pastDurationsMs.length > 0) {
    const sorted = [...pastDurationsMs].sort((a, b) => a - b)
    const middle = Math.floor(sorted.length / 2)
    const median = sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2)
    return {ms: median, source: 'past-runs', description: `${toIsoDuration(median)}, the median of ${sorted.length} past run${sorted.length === 1 ? '' : 's'}`}
  }
  return {source: 'unknown', description: 'unknown (no expectedDuration in the runbook and no past runs): only the start is checked'}
}

/** Decide, per component, whether a run may start at `at`. Changes nothing; `plan` shows it and `run` enforces it. */
export function decideGuards(options: {runbook: Pick<Runbook, 'disruptive'>; env: Environment; components: string[]; at: Date; expected: ExpectedDuration}): GuardDecision {
  const {runbook, env, components, at, expected} = options
  const applies = env.production && runbook.disruptive
  const freeze = activeFreeze(env, at)
  const duration = expected.ms ?? 0
  const end = new Date(at.getTime() + duration)
  const decided: ComponentGuard[] = components.map((key) => {
    const component = env.components[key]!
    const windows = windowsOf(env, component)
    const names = windows.map((w) => w.name)
    if (windows.length === 0)
      return {component: key, windows: names, allowed: false, reason: `${key} has no maintenance window in the catalog (give it windows: [<name>, …])`}
    const fits = fittingOccurrence(env, key, at, duration)
    if (fits)
      return {
        component: key,
        windows: names,
        allowed: true,
        reason: `${key} is inside its window until ${fits.closesAt.toISOString()}${duration ? `, after the run's expected end ${end.toISOString()}` : ''}`,
        closesAt: fits.closesAt.toISOString(),
      }
    const next = windows
      .map(({window}) => nextOpening(window, at, duration))
      .filter((o) => o !== undefined)
      .sort((a, b) => a.opensAt.getTime() - b.opensAt.getTime())[0]
    const openNow = windows.map(({name, window}) => ({name, occurrence: openOccurrence(window, at)})).find((w) => w.occurrence)
    const why = openNow
      ? `${key}'s window "${openNow.name}" closes at ${openNow.occurrence!.closesAt.toISOString()}, before the run's expected end ${end.toISOString()} (${expected.description})`
      : `${key} is outside its window${windows.length > 1 ? 's' : ''} ${windows.map(({name, window}) => `"${name}" (${describeWindow(window)})`).join(', ')}`
    return {
      component: key,
      windows: names,
      allowed: false,
      reason: `${why}; ${next ? `next opens ${next.opensAt.toISOString()}` : 'no long enough opening within 13 months'}`,
      ...(next ? {nextOpensAt: next.opensAt.toISOString()} : {}),
    }
  })
  const allowed = !applies || (!freeze && decided.every((c) => c.allowed))
  const first = allowed ? undefined : nextStart(env, components, at, duration)
  return {
    applies,
    at: at.toISOString(),
    expected,
    ...(freeze ? {freeze} : {}),
    components: decided,
    allowed,
    ...(first ? {nextStart: first.toISOString()} : {}),
  }
}

/**
 * Throws GuardError (exit 5) when a disruptive production run would start outside its components' windows, not
 * end inside them, or start in a freeze. With `override.reason` it returns the overrides to journal instead.
 */
export function checkChangeGuards(options: {
  runbook: Runbook
  env: Environment
  envName: string
  components: string[]
  now: Date
  expected?: ExpectedDuration
  override?: {reason?: string; user: string}
}): GuardOverride[] {
  const {runbook, env, envName, components, now, override} = options
  if (!env.production || !runbook.disruptive) return []
  if (override && !override.reason?.trim())
    throw new ValidationError([{code: 'missing-reason', message: '--override-window needs --reason "…" (the reason is recorded in the journal and evidence)'}])
  const decision = decideGuards({runbook, env, components, at: now, expected: options.expected ?? expectedDuration(runbook, [])})
  const blocks: Array<{kind: GuardOverride['kind']; detail: string}> = []
  if (decision.freeze) blocks.push({kind: 'change-freeze', detail: `change freeze "${decision.freeze.reason}" from ${decision.freeze.from} until ${decision.freeze.until}`})
  for (const c of decision.components) if (!c.allowed) blocks.push({kind: 'maintenance-window', detail: c.reason})
  if (blocks.length === 0) return []
  if (override?.reason)
    return blocks.map((b) => ({kind: b.kind, reason: override.reason!, by: override.user, at: now.toISOString(), detail: b.detail}))
  const allowed = decision.components.filter((c) => c.allowed).map((c) => c.component)
  throw new GuardError(
    blocks.some((b) => b.kind === 'change-freeze') ? 'change-freeze' : 'maintenance-window',
    `${runbook.name} is disruptive and ${envName} is production (expected duration: ${decision.expected.description}):\n${blocks.map((b) => `  - ${b.detail}`).join('\n')}${
      decision.nextStart ? `\n  all of them may start together at ${decision.nextStart}` : ''
    }`,
    {blocks, decision},
    [
      decision.nextStart ? `wait until ${decision.nextStart}` : 'wait for the windows',
      ...(allowed.length > 0 ? [`or act now on the components whose window is open: --component ${allowed.join(',')}`] : []),
      'or pass --override-window --reason "<why this cannot wait>" (journaled)',
    ],
  )
}
