import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {envFlag} from '../../cli/flags.js'
import type {ComponentWindowStatus, FreezeStatus} from '../../catalog/windows.js'

export interface WindowStatusResult {
  environment: string
  production: boolean
  at: string
  freeze?: FreezeStatus
  components: ComponentWindowStatus[]
}

export default class WindowStatus extends BaseCommand<WindowStatusResult> {
  static override summary = 'Show which maintenance windows are open now (or at --at) and any change freeze'
  static override examples = ['<%= config.bin %> window status --env production', '<%= config.bin %> window status --env local --at 2026-11-29T02:30:00Z --json']
  static override flags = {env: envFlag, at: Flags.string({description: 'Instant to evaluate (ISO-8601); default now'})}

  async run(): Promise<WindowStatusResult> {
    const {flags} = await this.parse(WindowStatus)
    const {loadCatalog, getEnvironment} = await import('../../catalog/loader.js')
    const {activeFreeze, windowStatus} = await import('../../catalog/windows.js')
    const {ValidationError} = await import('../../errors.js')
    const at = flags.at ? new Date(flags.at) : new Date()
    if (Number.isNaN(at.getTime())) throw new ValidationError([{code: 'invalid-flag', message: `--at "${flags.at}" is not an ISO-8601 date-time`}])
    const env = getEnvironment(loadCatalog({flag: flags.catalog}), flags.env)
    const freeze = activeFreeze(env, at)
    const components = windowStatus(env, at)
    this.say(`${flags.env} at ${at.toISOString()}${env.production ? ' (production)' : ''}`)
    if (freeze) this.say(`  CHANGE FREEZE until ${freeze.until}: ${freeze.reason}`)
    for (const c of components) {
      const state = !c.window ? 'no window' : c.open ? `OPEN until ${c.closesAt}` : `closed; next ${c.nextOpensAt ?? 'none within 10 weeks'}`
      this.say(`  ${c.component.padEnd(18)} ${c.type.padEnd(9)} ${(c.description ?? '').padEnd(40)} ${state}`)
    }
    return {environment: flags.env, production: env.production, at: at.toISOString(), freeze, components}
  }
}
