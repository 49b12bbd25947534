/**
 * What a user should know about a valid catalog: components of kinds opsbook describes but cannot act on yet, and
 * what it assumed where the catalog left something open (a monthly window without a week). Shown by
 * `catalog validate` and `catalog show`.
 */
import {DESCRIBED_ONLY, isActionable, type Catalog, type Environment} from './schema.js'
import {windowAssumptions} from './windows.js'
import {amrMaintenancePlan} from './managed-redis-maintenance.js'

/** Components opsbook cannot act on yet, e.g. "orders-sql (Azure SQL Database)". */
export function describedOnly(env: Environment): Array<{key: string; type: string; kind: string}> {
  return Object.entries(env.components)
    .filter(([, c]) => !isActionable(c.type))
    .map(([key, c]) => ({key, type: c.type, kind: DESCRIBED_ONLY[c.type as keyof typeof DESCRIBED_ONLY]}))
}

/** One sentence naming the described-only components, or undefined when there are none. */
export function describedOnlySentence(env: Environment, what: string): string | undefined {
  const list = describedOnly(env)
  if (list.length === 0) return undefined
  return `${what} cannot act on ${list.map((c) => `${c.key} (${c.kind})`).join(', ')} yet: described in the catalog only`
}

/**
 * What opsbook adjusts or leaves out of each `managedredis` component's windows to set them as the cluster's scheduled
 * maintenance (managed-redis-maintenance.ts); windows Azure cannot take at all are a warning (catalogCapabilityWarnings).
 * `at` picks the occurrence a window in a zone with daylight saving maps from.
 */
export function managedRedisWindowNotes(env: Environment, at: Date = new Date()): string[] {
  const lines: string[] = []
  for (const [key, component] of Object.entries(env.components)) {
    if (component.type !== 'managedredis') continue
    const plan = amrMaintenancePlan(env, component, at)
    for (const note of plan.notes) lines.push(`${key}: ${note}`)
  }
  return lines
}

export function catalogNotes(catalog: Catalog, at: Date = new Date()): Record<string, string[]> {
  const notes: Record<string, string[]> = {}
  for (const [name, env] of Object.entries(catalog.environments)) {
    const lines: string[] = []
    for (const [windowName, window] of Object.entries(env.windows)) for (const a of windowAssumptions(window)) lines.push(`window ${windowName}: ${a}`)
    lines.push(...managedRedisWindowNotes(env, at))
    const only = describedOnlySentence(env, 'runbooks, checks and the emulator')
    if (only) lines.push(only)
    if (lines.length > 0) notes[name] = lines
  }
  return notes
}
