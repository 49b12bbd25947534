import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {atFlag, envFlag} from '../../cli/flags.js'
import type {ComponentWindowStatus, FreezeStatus} from '../../catalog/windows.js'
import type {AmrMaintenancePlan} from '../../catalog/managed-redis-maintenance.js'
import type {RunbookStart} from '../../runbooks/next-start.js'

export interface WindowStatusResult {
  environment: string
  production: boolean
  at: string
  freeze?: FreezeStatus
  /**
   * Each component with every window it names: `open`, `closesAt`, `nextOpensAt`. An Azure Managed Redis component
   * with windows also has `managedRedisMaintenance`: the scheduled maintenance windows Azure would take from them (UTC),
   * what opsbook adjusted, or why Azure cannot take them (src/catalog/managed-redis-maintenance.ts).
   */
  components: Array<ComponentWindowStatus & {managedRedisMaintenance?: AmrMaintenancePlan}>
  /** Production only: per disruptive runbook (and target), the next moment the window guard lets it start. */
  runbooks: RunbookStart[]
}

export default class WindowStatus extends BaseCommand<WindowStatusResult> {
  static override summary = 'Show which maintenance windows are open now (or at --at), any change freeze, and when each disruptive runbook may next start'
  static override examples = ['<%= config.bin %> window status --env production', '<%= config.bin %> window status --env local --at 2026-11-29T02:30:00Z --json']
  static override flags = {env: envFlag, at: Flags.string({description: 'Instant to evaluate (ISO-8601); default now'})}

  async run(): Promise<WindowStatusResult> {
    const {flags} = await this.parse(WindowStatus)
    const {loadCatalog, getEnvironment} = await import('../../catalog/loader.js')
    const [{activeFreeze, windowStatus}, {amrMaintenancePlan, describeAmrWindow}] = await Promise.all([
      import('../../catalog/windows.js'),
      import('../../catalog/managed-redis-maintenance.js'),
    ])
    const at = atFlag(flags.at) ?? new Date()
    const loaded = loadCatalog({flag: flags.catalog})
    const env = getEnvironment(loaded, flags.env)
    const freeze = activeFreeze(env, at)
    const components = windowStatus(env, at).map((c) => {
      const component = env.components[c.component]!
      return component.type === 'managedredis' && c.windows.length > 0 ? {...c, managedRedisMaintenance: amrMaintenancePlan(env, component, at)} : c
    })
    const runbooks = env.production ? await (await import('../../runbooks/next-start.js')).disruptiveRunbookStarts(loaded, flags.env, env, at) : []
    this.say(`${flags.env} at ${at.toISOString()}${env.production ? ' (production)' : ''}`)
    if (freeze) this.say(`  CHANGE FREEZE until ${freeze.until}: ${freeze.reason}`)
    // Each column as wide as its widest entry: a long window (a time zone such as Europe/Amsterdam) ran into its state.
    const windowWidth = Math.max(0, ...components.flatMap((c) => c.windows.map((w) => `${w.name}: ${w.description}`.length)))
    for (const c of components) {
      if (c.windows.length === 0) this.say(`  ${c.component.padEnd(18)} ${c.type.padEnd(14)} no window`)
      for (const [index, w] of c.windows.entries()) {
        const state = w.open ? `OPEN until ${w.closesAt}` : `closed; next ${w.nextOpensAt ?? 'none within 13 months'}`
        this.say(`  ${(index === 0 ? c.component : '').padEnd(18)} ${(index === 0 ? c.type : '').padEnd(14)} ${`${w.name}: ${w.description}`.padEnd(windowWidth)}  ${state}`)
        for (const note of w.assumptions) this.say(`  ${''.padEnd(33)} note: ${note}`)
      }
      const amr = 'managedRedisMaintenance' in c ? c.managedRedisMaintenance : undefined
      if (amr) {
        const azure = amr.problem ? `⚠ ${amr.problem}` : `Azure scheduled maintenance: ${amr.windows.map(describeAmrWindow).join(', ')}`
        this.say(`  ${''.padEnd(33)} ${azure}`)
        for (const note of amr.notes) this.say(`  ${''.padEnd(33)} note: ${note}`)
      }
    }
    if (runbooks.length > 0) {
      this.say('\nDisruptive runbooks (production window guard):')
      for (const r of runbooks) {
        const what = `${r.runbook}${r.target ? ` --target ${r.target}` : ''}`
        const when = r.mayStartNow ? 'may start now' : r.nextStart ? `next may start ${r.nextStart}` : 'no moment within 13 months'
        // An unknown duration says what the guard does then (only the start must fall in a window), not just "unknown".
        this.say(`  ${what.padEnd(36)} ${when}  (changes ${r.components.join(', ')}; ${r.expected.ms === undefined ? 'duration' : 'takes'} ${r.expected.description})`)
        if (r.note) this.say(`  ${''.padEnd(36)} note: ${r.note}`)
      }
    }
    return {environment: flags.env, production: env.production, at: at.toISOString(), freeze, components, runbooks}
  }
}
