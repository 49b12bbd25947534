/**
 * `opsbook window status`: for each disruptive runbook, the next moment it may start in a production environment —
 * when every component it would change is inside a window with room for its expected duration, and no freeze.
 * Runbooks with a target are answered per target component.
 */
import type {LoadedCatalog} from '../catalog/loader.js'
import type {Environment} from '../catalog/schema.js'
import {activeFreeze, nextStart} from '../catalog/windows.js'
import {listRunbooks, loadRunbook} from './discovery.js'
import {expandRunbook} from './expand.js'
import {changedComponents, decideGuards, type ExpectedDuration} from './guards.js'
import {expectedRunDuration} from './runner.js'
import {targetAccepts} from './model.js'

export interface RunbookStart {
  runbook: string
  /** For runbooks acting on one target: which. */
  target?: string
  components: string[]
  expected: ExpectedDuration
  /** Whether the guard lets it start at the instant asked. */
  mayStartNow: boolean
  /** The next moment it may start (the instant asked when it may start then); absent when none within ~13 months. */
  nextStart?: string
  /** Why it cannot be answered (e.g. a component without a window). */
  note?: string
}

export async function disruptiveRunbookStarts(loaded: LoadedCatalog, envName: string, env: Environment, at: Date, cwd?: string): Promise<RunbookStart[]> {
  const starts: RunbookStart[] = []
  for (const entry of listRunbooks(loaded)) {
    if (!entry.disruptive || entry.error) continue
    let runbook
    try {
      runbook = loadRunbook(entry.source.startsWith('builtin:') ? entry.name : entry.file, loaded, {cwd})
    } catch {
      continue
    }
    const expected = await expectedRunDuration({runbook, envName, loaded}, cwd)
    const targets = Object.entries(runbook.params).filter(([, spec]) => spec.type === 'target')
    const cases: Array<{target?: string; params: Record<string, unknown>}> = []
    if (targets.length === 0) cases.push({params: {}})
    else {
      const [name, spec] = targets[0]!
      for (const [key, component] of Object.entries(env.components))
        if (targetAccepts(spec, component.type)) cases.push({target: key, params: {[name]: key}})
    }
    for (const {target, params} of cases) {
      let components: string[]
      try {
        components = changedComponents(expandRunbook(runbook, env, {params, environmentName: envName, catalog: loaded.catalog}), params, env)
      } catch {
        continue
      }
      if (components.length === 0) continue
      const decision = decideGuards({runbook, env, components, at, expected})
      const mayStartNow = !activeFreeze(env, at) && decision.components.every((c) => c.allowed)
      const next = mayStartNow ? at : nextStart(env, components, at, expected.ms ?? 0)
      const missing = decision.components.filter((c) => c.windows.length === 0).map((c) => c.component)
      // Windows that never open together: the runbook can still run, one window at a time.
      const groups = [...new Set(decision.components.flatMap((c) => c.windows.slice(0, 1)))]
      const perWindow =
        !next && missing.length === 0 && groups.length > 1 && targets.length === 0
          ? `the components' windows never leave room for all of them at once: run it once per window, ${groups.map((g) => `--component window:${g}`).join(' / ')}`
          : undefined
      starts.push({
        runbook: runbook.name,
        ...(target ? {target} : {}),
        components,
        expected,
        mayStartNow,
        ...(next ? {nextStart: next.toISOString()} : {}),
        ...(missing.length > 0
          ? {
              // A runbook with a target acts on that one component: there are no others to pick with --component.
              note:
                targets.length > 0
                  ? `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no maintenance window: give ${missing.length === 1 ? 'it' : 'them'} one, or run with --override-window --reason "…"`
                  : `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no maintenance window: use --component for the others, or give ${missing.length === 1 ? 'it' : 'them'} one`,
            }
          : perWindow
            ? {note: perWindow}
            : {}),
      })
    }
  }
  return starts
}
