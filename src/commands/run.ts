import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {atFlag, componentList, parseKeyValues, runFlags} from '../cli/flags.js'
import type {RunPlan} from '../runbooks/plan.js'
import type {RunResult} from '../runbooks/runner.js'

export default class Run extends BaseCommand<RunResult | RunPlan> {
  static override summary = 'Run a runbook against an environment from the catalog'
  static override description = `Validates everything first (exit 2), then asks for approvals (exit 4 when nobody can give them), checks windows and freezes in production (exit 5), then preflight — signed in, subscription readable, every permission held (exit 6), leases and evidence store (production: exit 5 unless --no-lease/--no-evidence) — and runs. The journal is written locally before anything is uploaded; an interrupted run (exit 130; exit 3 when it left something a human must look at) continues with \`opsbook resume <runId>\`.`
  static override examples = [
    '<%= config.bin %> run dr-drill --env local',
    '<%= config.bin %> run pg-pitr --env production --target orders-db --param restoreTime=2026-11-23T09:40:00Z',
    '<%= config.bin %> run slot-swap --env staging --target storefront --yes --json',
    '<%= config.bin %> run dr-drill --env production --component orders-db --yes   # only the components whose window is open',
  ]
  static override args = {runbook: Args.string({description: 'Built-in runbook name, a name from the catalog\'s runbooksDir, or a path to a YAML file', required: true})}
  static override flags = {
    ...runFlags,
    plan: Flags.boolean({description: 'Only print the plan (same as `opsbook plan`)', default: false}),
    junit: Flags.string({description: 'Write a JUnit report: one test case per step and per measured objective'}),
    summary: Flags.string({description: 'Append a Markdown summary to this file (default in GitHub Actions: $GITHUB_STEP_SUMMARY)'}),
    'no-lease': Flags.boolean({description: 'Production: start even if the target leases cannot be taken (needs --reason; journaled). A target leased by another run still blocks', default: false}),
    'no-evidence': Flags.boolean({description: 'Production: start even if the evidence container is unavailable (needs --reason; journaled); the local journal is the record', default: false}),
  }

  async run(): Promise<RunResult | RunPlan> {
    const {args, flags} = await this.parse(Run)
    const [{runRunbook, prepareRun}, {runOnTerminal}] = await Promise.all([import('../runbooks/runner.js'), import('../cli/run-support.js')])
    const at = atFlag(flags.at)
    // A folder as --junit or --summary is refused before the run: it failed with EISDIR after the run had changed things.
    const {assertOutputFile} = await import('../evidence/writer.js')
    if (flags.junit) assertOutputFile(flags.junit, '--junit')
    if (flags.summary) assertOutputFile(flags.summary, '--summary')
    const request = {runbook: args.runbook, envName: flags.env, catalogFlag: flags.catalog, params: parseKeyValues(flags.param), target: flags.target, components: componentList(flags.component)}
    const optOut = {lease: flags['no-lease'], evidence: flags['no-evidence'], reason: flags.reason}
    if (flags.plan) {
      const {buildPlan, renderPlan} = await import('../runbooks/plan.js')
      const {guardDecision} = await import('../runbooks/runner.js')
      const prepared = await prepareRun(request)
      const plan = buildPlan(prepared, {guard: await guardDecision(prepared, at ?? new Date())})
      this.say(renderPlan(plan))
      return plan
    }
    const terminal = {json: this.jsonEnabled(), yes: flags.yes, approve: flags.approve, overrideWindow: flags['override-window'], reason: flags.reason}
    const result = await runOnTerminal(terminal, (options) => runRunbook({...request, ...options, at, optOut}))
    await (await import('../ci/reports.js')).publishRunReports(result, {junit: flags.junit, summary: flags.summary, json: this.jsonEnabled()})
    this.exitWith = result.exitCode
    return result
  }
}
