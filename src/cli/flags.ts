/** Flags shared by several commands, declared once. Light: only @oclif/core. */
import * as Flags from '@oclif/core/flags'

/**
 * For a repeatable flag whose default is the empty list: --help showed it as "[default: ]" (oclif prints the list
 * joined, which is empty). Nothing is shown instead; the command still receives [].
 */
export const noListDefaultHelp = {defaultHelp: async (): Promise<string | undefined> => undefined}

export const envFlag = Flags.string({char: 'e', description: 'Environment from the catalog, e.g. local, staging, production', required: true})

export const runFlags = {
  env: envFlag,
  target: Flags.string({char: 't', description: 'Catalog component to act on (fills the runbook\'s target param)'}),
  component: Flags.string({
    char: 'c',
    description: 'For runbooks that act on every component (dr-drill, maintenance-window): only these (repeatable or comma-separated): component keys, or window:<name> for every component naming that maintenance window',
    multiple: true,
    default: [],
    ...noListDefaultHelp,
  }),
  at: Flags.string({description: 'Evaluate the window guard at this instant (ISO-8601) instead of now, to rehearse a decision; `run --at` only against emulator environments'}),
  param: Flags.string({char: 'p', description: 'Runbook param as key=value (repeatable)', multiple: true, default: [], ...noListDefaultHelp}),
  yes: Flags.boolean({char: 'y', description: 'Approve every approval step and the production confirmation', default: false}),
  approve: Flags.string({description: 'Approve one step by id (repeatable)', multiple: true, default: [], ...noListDefaultHelp}),
  'override-window': Flags.boolean({description: 'Run a disruptive production runbook outside its maintenance window or in a freeze (needs --reason)', default: false}),
  reason: Flags.string({description: 'Why the window or freeze is overridden, or why the run goes without leases or evidence store (journaled and exported as evidence)'}),
}

/** Parse repeated key=value flags; a malformed one is invalid input (exit 2). */
export function parseKeyValues(values: string[]): Record<string, string> {
  // No prototype: `--param __proto__=x` is a key like any other (then an unknown param), not a prototype assignment.
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const item of values) {
    const at = item.indexOf('=')
    if (at <= 0) throw Object.assign(new Error(`--param "${item}" is not key=value`), {oclif: {exit: 2}})
    out[item.slice(0, at).trim()] = item.slice(at + 1)
  }
  return out
}

/** --component values, repeatable and comma-separated. */
export function componentList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
}

/** --at as a Date; a value that is not an ISO-8601 date-time is invalid input (exit 2). */
export function atFlag(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const at = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(at.getTime()))
    throw Object.assign(new Error(`--at "${value}" is not an ISO-8601 date-time, e.g. 2026-11-29T02:30:00Z`), {oclif: {exit: 2}})
  return at
}
