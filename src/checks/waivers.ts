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

/** Throws (exit 2) when a waiver of the catalog names an unknown check. */
export function assertWaiversValid(loaded: LoadedCatalog): void {
  const problems = waiverProblems(loaded)
  if (problems.length > 0) throw new ValidationError(problems, `catalog ${loaded.file} is invalid:`)
}
