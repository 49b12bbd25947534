/**
 * Fleet scope of a scan: management groups and subscription lists instead of one environment's resource groups.
 * Given as `--scope mg:<id>` / `--scope sub:<id>,<id>` (repeatable, joined) or the catalog environment's `scope`;
 * the flag wins. A fleet scan covers every resource of the checked types in those subscriptions, in every resource
 * group; the environment still supplies the catalog rules (required tags, waivers, windows).
 */
import type {Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'

export interface FleetScope {
  managementGroups: string[]
  subscriptions: string[]
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
/** Management group ids: up to 90 letters, digits, `-`, `_`, `.` and parentheses (Management Groups - Create). */
const MANAGEMENT_GROUP = /^[A-Za-z0-9._()-]{1,90}$/

/** Parse `--scope` values; a wrong one is exit 2 with what was expected. */
export function parseScopeFlags(values: string[]): FleetScope {
  const scope: FleetScope = {managementGroups: [], subscriptions: []}
  const problems: Array<{code: string; message: string}> = []
  for (const value of values) {
    const m = /^(mg|sub):(.+)$/i.exec(value.trim())
    if (!m) {
      problems.push({code: 'invalid-flag', message: `--scope ${value}: expected mg:<management group id> or sub:<subscription id>[,<subscription id>…]`})
      continue
    }
    for (const id of m[2]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (m[1]!.toLowerCase() === 'mg') {
        if (MANAGEMENT_GROUP.test(id)) scope.managementGroups.push(id)
        else problems.push({code: 'invalid-flag', message: `--scope mg:${id}: expected a management group id (letters, digits, -, _, ., parentheses; up to 90)`})
      } else if (GUID.test(id)) scope.subscriptions.push(id.toLowerCase())
      else problems.push({code: 'invalid-flag', message: `--scope sub:${id}: expected a subscription id (GUID)`})
    }
  }
  if (problems.length > 0) throw new ValidationError(problems)
  return dedupe(scope)
}

/** The scope of a scan: the flags', else the catalog environment's, else undefined (the environment's resource groups). */
export function scanScope(environment: Environment, flags: string[] = []): FleetScope | undefined {
  if (flags.length > 0) return parseScopeFlags(flags)
  const declared = environment.scope
  if (!declared || (declared.managementGroups.length === 0 && declared.subscriptions.length === 0)) return undefined
  return dedupe({managementGroups: [...declared.managementGroups], subscriptions: declared.subscriptions.map((s) => s.toLowerCase())})
}

/** `mg:a, sub:x,y` for messages. */
export function describeScope(scope: FleetScope): string {
  return [...scope.managementGroups.map((g) => `mg:${g}`), ...(scope.subscriptions.length ? [`sub:${scope.subscriptions.join(',')}`] : [])].join(' ')
}

function dedupe(scope: FleetScope): FleetScope {
  return {managementGroups: [...new Set(scope.managementGroups)], subscriptions: [...new Set(scope.subscriptions)]}
}
