/**
 * Waivers that can never apply: a waiver naming a check id that does not exist (a typo such as
 * `redis.net.public_disable`) waives nothing, silently — the compliance lead believes a finding is waived while it
 * keeps failing. Check ids are a closed set (the registry), so such a waiver is invalid input with file:line:col and
 * the closest id. (A waiver's `resource` may name a resource outside the catalog, e.g. in a fleet scan: not checked.)
 */
import type {LoadedCatalog} from '../catalog/loader.js'
import {ValidationError, type Problem} from '../errors.js'
import {closestName} from '../support/closest-name.js'
import {CHECKS} from './rules/index.js'

export function waiverProblems(loaded: LoadedCatalog): Problem[] {
  const ids = CHECKS.map((c) => c.id)
  const known = new Set(ids)
  const problems: Problem[] = []
  for (const [envName, env] of Object.entries(loaded.catalog.environments))
    for (const [index, waiver] of env.waivers.entries()) {
      if (known.has(waiver.check)) continue
      const close = closestName(waiver.check, ids)
      problems.push({
        location: loaded.source.locate(['environments', envName, 'waivers', index, 'check']),
        code: 'unknown-check',
        message: `waiver names check "${waiver.check}", which does not exist, so it waives nothing${close ? ` (did you mean "${close}"?)` : ''}; \`opsbook check --help\` and docs/checks.md list the ids`,
      })
    }
  return problems
}

/**
 * Waivers whose resource is no component of the environment but one letter or two from one (`sesions-cache`): most
 * likely a typo that waives nothing. Warnings, not problems — a waiver may name a resource outside the catalog (a fleet
 * scan's); `check` says, after its scan, of every waiver whose resource it did not find.
 */
export function waiverResourceWarnings(loaded: LoadedCatalog): Array<{environment: string; component: string; path: string; message: string}> {
  const warnings: Array<{environment: string; component: string; path: string; message: string}> = []
  for (const [envName, env] of Object.entries(loaded.catalog.environments)) {
    const names = Object.entries(env.components).flatMap(([key, component]) => [key, component.name])
    const known = new Set(names.map((n) => n.toLowerCase()))
    for (const [index, waiver] of env.waivers.entries()) {
      if (waiver.resource === undefined || known.has(waiver.resource.toLowerCase()) || waiver.resource.startsWith('/')) continue
      const closest = closestName(waiver.resource, names)
      if (!closest) continue
      const at = loaded.source.locate(['environments', envName, 'waivers', index, 'resource'])
      warnings.push({
        environment: envName,
        component: '',
        path: at ? `${at.file}:${at.line}:${at.column}` : `environments.${envName}.waivers[${index}].resource`,
        message: `waiver for ${waiver.check} names resource "${waiver.resource}", which is no component of ${envName}: did you mean "${closest}"? (as written it waives only a resource of that exact name)`,
      })
    }
  }
  return warnings
}

/** What `check` says of a waiver whose resource the scan did not find: it waived nothing, and what it probably meant. */
export function unmatchedWaiverWarning(waiver: {check: string; resource?: string; owner: string; closest?: string}): string {
  return `waiver for ${waiver.check} (owner ${waiver.owner}) names resource "${waiver.resource}", which this scan did not find (no resource, resource id or component of that name), so it waived nothing${waiver.closest ? `: did you mean "${waiver.closest}"?` : ''}`
}

/** Throws (exit 2) when a waiver of the catalog names an unknown check. */
export function assertWaiversValid(loaded: LoadedCatalog): void {
  const problems = waiverProblems(loaded)
  if (problems.length > 0) throw new ValidationError(problems, `catalog ${loaded.file} is invalid:`)
}
