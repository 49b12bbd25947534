import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {envFlag} from '../../cli/flags.js'
import type {GateDecision} from '../../ci/groups.js'

export default class CiGate extends BaseCommand<GateDecision> {
  static override summary = 'In a scheduled CI job: should the drill of these components start now?'
  static override description =
    'Open when every component\'s maintenance window is open now and the cron line that fired is this group\'s line for the current daylight-saving offset (or a manual run gave an override reason). Writes open=true|false to $GITHUB_OUTPUT, or an output variable in Azure Pipelines. Always exit 0: a closed window is a skipped drill, not a failure.'
  static override examples = ["<%= config.bin %> ci gate --env production --component orders-db --schedule quarterly --fired '10 1 1-7 1,4,7,10 *'"]
  static override flags = {
    env: envFlag,
    component: Flags.string({char: 'c', description: 'Component of the group (repeatable)', multiple: true, required: true}),
    schedule: Flags.string({description: 'The schedule given to ci init: quarterly, monthly or a cron', default: 'quarterly'}),
    fired: Flags.string({description: 'The cron line that started the job (empty for a manual run)', default: ''}),
    'override-reason': Flags.string({description: 'A manual run outside the window: the reason (empty or "none": no override)', default: ''}),
    at: Flags.string({description: 'Instant to decide at (ISO-8601); default now'}),
    'expected-duration': Flags.string({
      description: "How long the drill takes (ISO-8601, e.g. PT1H): less left of a window skips it. Default: dr-drill's expectedDuration, else the median of its past runs here",
    }),
  }

  async run(): Promise<GateDecision> {
    const {flags} = await this.parse(CiGate)
    const [{loadCatalog, getEnvironment}, {decideGate}, {publishGate}, {parseInstant}] = await Promise.all([
      import('../../catalog/loader.js'),
      import('../../ci/groups.js'),
      import('../../ci/outputs.js'),
      import('../../support/instant.js'),
    ])
    const loaded = loadCatalog({flag: flags.catalog})
    const env = getEnvironment(loaded, flags.env)
    const unknown = flags.component.filter((c) => !env.components[c])
    if (unknown.length > 0) {
      const {ValidationError} = await import('../../errors.js')
      throw new ValidationError(unknown.map((c) => ({code: 'unknown-component', message: `--component ${c}: not a component of ${flags.env} (${Object.keys(env.components).join(', ')})`})))
    }
    const at = parseInstant(flags.at, '--at')
    const expected = await this.expectedDuration(flags['expected-duration'], loaded, flags.env)
    const reason = flags['override-reason'].trim()
    const decision =
      reason && reason !== 'none'
        ? {environment: flags.env, at: at.toISOString(), open: true, reasons: [`manual run with an override: ${reason}`], components: flags.component.map((component) => ({component, open: true}))}
        : decideGate({environmentName: flags.env, env, components: flags.component, at, schedule: flags.schedule, fired: flags.fired.trim() || undefined, expected})
    await publishGate(decision.open)
    this.say(`${decision.open ? '✔ open' : '– closed, the drill is skipped'}: ${decision.reasons.join('; ')}`)
    return decision
  }

  /** The flag's duration, else what `run dr-drill` itself expects (its declared duration or the median of past runs). */
  private async expectedDuration(flag: string | undefined, loaded: import('../../catalog/loader.js').LoadedCatalog, envName: string): Promise<{ms?: number; description: string}> {
    if (flag !== undefined) {
      const ms = (await import('../../support/duration.js')).parseDuration(flag)
      if (ms === undefined) throw new (await import('../../errors.js')).ValidationError([{code: 'invalid-flag', message: `--expected-duration ${flag}: expected an ISO-8601 duration such as PT1H30M`}])
      return {ms, description: `${flag} (--expected-duration)`}
    }
    const [{resolveRunbook}, {expectedRunDuration}] = await Promise.all([import('../../runbooks/discovery.js'), import('../../runbooks/runner.js')])
    return expectedRunDuration({runbook: resolveRunbook('dr-drill', {catalog: loaded}), envName, loaded})
  }
}
