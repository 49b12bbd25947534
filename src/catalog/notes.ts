/**
 * What a user should know about a valid catalog: components of kinds opsbook describes but cannot act on yet, and
 * what it assumed where the catalog left something open (a monthly window without a week). Shown by
 * `catalog validate` and `catalog show`.
 */
import {DESCRIBED_ONLY, isActionable, type Catalog, type Environment} from './schema.js'
import {windowAssumptions} from './windows.js'

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

export function catalogNotes(catalog: Catalog): Record<string, string[]> {
  const notes: Record<string, string[]> = {}
  for (const [name, env] of Object.entries(catalog.environments)) {
    const lines: string[] = []
    for (const [windowName, window] of Object.entries(env.windows)) for (const a of windowAssumptions(window)) lines.push(`window ${windowName}: ${a}`)
    const only = describedOnlySentence(env, 'runbooks, checks and the emulator')
    if (only) lines.push(only)
    if (lines.length > 0) notes[name] = lines
  }
  return notes
}
