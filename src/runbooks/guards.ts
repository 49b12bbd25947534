/**
 * Guards checked before a run changes anything: in a production environment a disruptive runbook needs every
 * component it touches to be inside its maintenance window and no change freeze in force, unless the user
 * overrides with a reason (which is journaled). Blocked runs exit 5.
 */
import type {Environment} from '../catalog/schema.js'
import {activeFreeze, describeWindow, nextOpening, openOccurrence} from '../catalog/windows.js'
import {GuardError, ValidationError} from '../errors.js'
import type {Runbook} from './model.js'

export interface GuardOverride {
  kind: 'maintenance-window' | 'change-freeze'
  reason: string
  by: string
  at: string
  detail: string
}

/** Components a run touches: its target params, or for environment-wide runbooks every recoverable component. */
export function touchedComponents(runbook: Runbook, params: Record<string, unknown>, env: Environment): string[] {
  const targets = Object.entries(runbook.params)
    .filter(([, spec]) => spec.type === 'target')
    .map(([name]) => params[name])
    .filter((v): v is string => typeof v === 'string')
  if (targets.length > 0) return [...new Set(targets)]
  return Object.entries(env.components)
    .filter(([, c]) => c.type === 'postgres' || c.type === 'redis' || c.type === 'webapp')
    .map(([key]) => key)
}

/**
 * Throws GuardError (exit 5) when a disruptive production run would start outside its windows or in a freeze.
 * With `override.reason` it returns the overrides to journal instead.
 */
export function checkChangeGuards(options: {
  runbook: Runbook
  env: Environment
  envName: string
  components: string[]
  now: Date
  override?: {reason?: string; user: string}
}): GuardOverride[] {
  const {runbook, env, envName, components, now, override} = options
  if (!env.production || !runbook.disruptive) return []
  if (override && !override.reason?.trim())
    throw new ValidationError([{code: 'missing-reason', message: '--override-window needs --reason "…" (the reason is recorded in the journal and evidence)'}])
  const blocks: Array<{kind: GuardOverride['kind']; detail: string}> = []
  const freeze = activeFreeze(env, now)
  if (freeze) blocks.push({kind: 'change-freeze', detail: `change freeze "${freeze.reason}" from ${freeze.from} until ${freeze.until}`})
  for (const key of components) {
    const component = env.components[key]
    if (!component) continue
    const window = component.window ? env.windows[component.window] : undefined
    if (!window) {
      blocks.push({kind: 'maintenance-window', detail: `${key} has no maintenance window in the catalog`})
      continue
    }
    if (!openOccurrence(window, now)) {
      const next = nextOpening(window, now)
      blocks.push({
        kind: 'maintenance-window',
        detail: `${key} is outside its window "${component.window}" (${describeWindow(window)})${next ? `; next opens ${next.opensAt.toISOString()}` : ''}`,
      })
    }
  }
  if (blocks.length === 0) return []
  if (override?.reason)
    return blocks.map((b) => ({kind: b.kind, reason: override.reason!, by: override.user, at: now.toISOString(), detail: b.detail}))
  throw new GuardError(
    blocks.some((b) => b.kind === 'change-freeze') ? 'change-freeze' : 'maintenance-window',
    `${runbook.name} is disruptive and ${envName} is production:\n${blocks.map((b) => `  - ${b.detail}`).join('\n')}`,
    {blocks},
    ['wait for the window', 'or pass --override-window --reason "<why this cannot wait>" (journaled)'],
  )
}
