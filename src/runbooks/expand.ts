/**
 * forEach expansion: a step with `forEach:` becomes one step per component, `<id>-<componentKey>`, before the run
 * (and before `plan`), so the engine, the journal, `plan` and `resume` all see ordinary steps with stable ids.
 *
 * Semantics (see DESIGN.md "Runbooks"):
 * - `forEach: {components: postgres}` (or a list of types) → every component of those types, in catalog order;
 *   `forEach: ${{ expr }}` → the component keys the expression yields (params, env, catalog and run only).
 * - `needs: [x]` where x is a forEach step: from a forEach step, the instance of x for the same item when x has one
 *   (else every instance); from a plain step, every instance of x.
 * - In an expanded step `item` is {key, name, type, resourceGroup, component}; the engine resolves `steps.x` to the
 *   same item's instance of x, and elsewhere to a map itemKey → outputs.
 * Deterministic: the same runbook, environment and params always give the same steps in the same order.
 */
import {resourceGroupOf} from '../catalog/loader.js'
import {componentWindowNames, type Catalog, type Component, type Environment} from '../catalog/schema.js'
import {ValidationError, type Problem} from '../errors.js'
import {conditionExpression, evaluateExpression, type TaintTracker} from './expressions.js'
import type {ForEachItem, ForEachSpec, Runbook, StepSpec} from './model.js'

export interface ExpandOptions {
  params?: Record<string, unknown>
  environmentName?: string
  catalog?: Catalog
  /** Follows secret params through forEach expressions (what they yield is quoted in errors). */
  taint?: TaintTracker
}

/** The id of a forEach step's instance for a component. */
export function instanceId(group: string, componentKey: string): string {
  return `${group}-${componentKey}`
}

/**
 * Expand every forEach step of `runbook` over `environment`. Returns the runbook unchanged when it has none.
 * Throws ValidationError (exit 2) when an expression yields something other than component keys of the environment,
 * or an expanded id collides with another step.
 */
export function expandRunbook(runbook: Runbook, environment: Environment, options: ExpandOptions = {}): Runbook {
  const all = [...runbook.steps, ...runbook.finally]
  if (!all.some((s) => s.forEach)) return runbook
  const problems: Problem[] = []
  const groups: Record<string, string[]> = {}
  for (const step of all) {
    if (!step.forEach) continue
    try {
      groups[step.id] = itemKeys(step.forEach, environment, options)
    } catch (error) {
      problems.push({
        ...(step.location ? {location: step.location} : {}),
        code: 'invalid-foreach',
        message: `step ${step.id}: forEach ${(error as Error).message}`,
      })
    }
  }
  if (problems.length > 0) throw new ValidationError(problems, `runbook ${runbook.name} cannot be expanded for this environment:`)

  const expandPhase = (steps: StepSpec[]): StepSpec[] =>
    steps.flatMap((step): StepSpec[] => {
      if (!step.forEach) return [{...step, needs: expandNeeds(step.needs, undefined, groups)}]
      return groups[step.id]!.map((key) => {
        const {forEach: _forEach, ...rest} = step
        return {
          ...rest,
          id: instanceId(step.id, key),
          name: `${step.name ?? step.id} (${key})`,
          needs: expandNeeds(step.needs, key, groups),
          instance: {group: step.id, item: itemOf(environment, key)},
        }
      })
    })
  const expanded: Runbook = {
    ...runbook,
    steps: expandPhase(runbook.steps),
    finally: expandPhase(runbook.finally),
    forEachGroups: groups,
  }

  const seen = new Map<string, string>()
  const original = new Set(all.map((s) => s.id.toLowerCase()))
  for (const step of [...expanded.steps, ...expanded.finally]) {
    const key = step.id.toLowerCase()
    const clash = seen.has(key) || (step.instance !== undefined && original.has(key))
    if (clash)
      problems.push({
        ...(step.location ? {location: step.location} : {}),
        code: 'duplicate-step',
        message: `forEach makes a step "${step.id}", but that id is already taken; rename the step or the component`,
      })
    seen.set(key, step.id)
  }
  if (problems.length > 0) throw new ValidationError(problems, `runbook ${runbook.name} cannot be expanded for this environment:`)
  return expanded
}

function expandNeeds(needs: string[], itemKey: string | undefined, groups: Record<string, string[]>): string[] {
  return needs.flatMap((need) => {
    const keys = groups[need]
    if (!keys) return [need]
    if (itemKey !== undefined && keys.includes(itemKey)) return [instanceId(need, itemKey)]
    return keys.map((key) => instanceId(need, key))
  })
}

function itemKeys(spec: ForEachSpec, environment: Environment, options: ExpandOptions): string[] {
  if ('components' in spec)
    return Object.entries(environment.components)
      .filter(([, component]) => spec.components.includes(component.type))
      .map(([key]) => key)
  const value = evaluateExpression(conditionExpression(spec.expression), {
    params: options.params ?? {},
    steps: {},
    env: {...environment, name: options.environmentName},
    catalog: (options.catalog ?? {}) as unknown as Record<string, unknown>,
    run: {environment: options.environmentName, production: environment.production},
    ...(options.taint ? {taint: options.taint} : {}),
  })
  const list = typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : value
  if (!Array.isArray(list)) throw new Error(`must yield a list of component keys, got ${JSON.stringify(value)}`)
  const keys: string[] = []
  for (const entry of list) {
    if (typeof entry !== 'string') throw new Error(`must yield component keys (strings), got ${JSON.stringify(entry)}`)
    if (!environment.components[entry])
      throw new Error(`yields "${entry}", which is not a component of this environment (known: ${Object.keys(environment.components).join(', ')})`)
    if (!keys.includes(entry)) keys.push(entry)
  }
  return keys
}

function itemOf(environment: Environment, key: string): ForEachItem {
  const component = environment.components[key] as Component
  return {
    key,
    name: component.name,
    type: component.type,
    resourceGroup: resourceGroupOf(environment, component),
    // `windows` lists every window the component names (`window` and `windows`), so runbooks need read one field.
    component: {...component, windows: componentWindowNames(component)} as Record<string, unknown>,
  }
}

/**
 * `--component a,b`: the run acts on these components only. Components of the kinds the runbook iterates over
 * (`forEach: {components: …}`) that were not chosen are left out of the environment the run sees, so expansion, the
 * drill's report (which expects a row per component of those kinds) and the window guard all agree; components of
 * other kinds (storage accounts, key vaults) stay, since steps may read them. Invalid choices are exit 2.
 */
export function selectComponents(runbook: Runbook, environment: Environment, chosen: string[]): Environment {
  const forEachSteps = [...runbook.steps, ...runbook.finally].filter((s) => s.forEach)
  const iterated = new Set(forEachSteps.flatMap((s) => (s.forEach && 'components' in s.forEach ? s.forEach.components : [])))
  const problems: Problem[] = []
  if (forEachSteps.length === 0)
    problems.push({code: 'invalid-flag', message: `--component: runbook ${runbook.name} does not act on each component of the environment; name its target with --target`})
  for (const key of chosen) {
    const component = environment.components[key]
    if (!component)
      problems.push({code: 'unknown-component', message: `--component ${key}: no such component (known: ${Object.keys(environment.components).join(', ')})`})
    else if (iterated.size > 0 && !iterated.has(component.type))
      problems.push({
        code: 'invalid-flag',
        message: `--component ${key}: runbook ${runbook.name} does not act on ${component.type} components (it acts on: ${[...iterated].join(', ')})`,
      })
  }
  if (problems.length > 0) throw new ValidationError(problems)
  const keep = Object.entries(environment.components).filter(([key, c]) => chosen.includes(key) || (iterated.size > 0 && !iterated.has(c.type)))
  return {...environment, components: Object.fromEntries(keep)}
}
