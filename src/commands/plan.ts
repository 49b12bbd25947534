import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {atFlag, componentList, parseKeyValues, runFlags} from '../cli/flags.js'
import {ExitCode} from '../errors.js'
import type {RunPlan} from '../runbooks/plan.js'
import type {AccessReport} from '../runbooks/preflight.js'

export default class Plan extends BaseCommand<RunPlan & {access?: AccessReport}> {
  static override summary = 'Show what a run would do — steps, inputs, ARM calls, RBAC permissions and az equivalents — without changing anything'
  static override examples = [
    '<%= config.bin %> plan dr-drill --env local',
    '<%= config.bin %> plan pg-pitr --env production --target orders-db --param restoreTime=2026-11-23T09:40:00Z --json',
    '<%= config.bin %> plan dr-drill --env production --at 2026-12-06T02:05:00Z   # would the window guard let it start then?',
    '<%= config.bin %> plan slot-swap --env production --target storefront --check-access   # does this identity hold every permission?',
  ]
  static override args = {runbook: Args.string({description: 'Built-in runbook name, a name from the catalog\'s runbooksDir, or a path to a YAML file', required: true})}
  static override flags = {
    ...runFlags,
    'check-access': Flags.boolean({description: 'Also sign in and ask Azure whether this identity holds every permission listed (exit 6 when one is missing)', default: false}),
  }

  async run(): Promise<RunPlan & {access?: AccessReport}> {
    const {args, flags} = await this.parse(Plan)
    const [{prepareRun}, {buildPlan, renderPlan}, {canPrompt}] = await Promise.all([
      import('../runbooks/runner.js'),
      import('../runbooks/plan.js'),
      import('../ui/approver.js'),
    ])
    const interactive = canPrompt() && !this.jsonEnabled()
    const prepared = await prepareRun({
      runbook: args.runbook,
      envName: flags.env,
      catalogFlag: flags.catalog,
      params: parseKeyValues(flags.param),
      target: flags.target,
      components: componentList(flags.component),
      promptParams: interactive ? (await import('../ui/param-prompts.js')).promptForParams : undefined,
    })
    const {guardDecision} = await import('../runbooks/runner.js')
    const plan = buildPlan(prepared, {guard: await guardDecision(prepared, atFlag(flags.at) ?? new Date())})
    this.say(renderPlan(plan))
    if (!flags['check-access']) return plan
    const {checkPlanAccess, renderAccess} = await import('../runbooks/preflight.js')
    const access = await checkPlanAccess(prepared, plan)
    this.say(renderAccess(access))
    if (access.missing.length > 0) this.exitWith = ExitCode.notReady
    return {...plan, access}
  }
}
