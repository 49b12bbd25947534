import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {parseKeyValues, runFlags} from '../cli/flags.js'
import type {RunResult} from '../runbooks/runner.js'

export default class Resume extends BaseCommand<RunResult> {
  static override summary = 'Continue an interrupted or crashed run; completed steps are not repeated and in-flight Azure operations are re-attached'
  static override description = 'On another machine, pass --env so the journal is read from the environment\'s evidence container. Secret params are never journaled: pass them again with --param. The catalog found there must name the same Azure resources for the components the run acts on (request.json recorded them): otherwise resume refuses (exit 2) and --catalog must point at a copy of the catalog the run used.'
  static override examples = ['<%= config.bin %> resume 20261123T153000Z-pg-pitr-7f3a', '<%= config.bin %> resume 20261123T153000Z-pg-pitr-7f3a --env production --yes']
  static override args = {runId: Args.string({description: 'The run to continue', required: true})}
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment whose evidence container holds the journal (when it is not on this machine)'}),
    param: runFlags.param,
    yes: runFlags.yes,
    approve: runFlags.approve,
    'override-window': runFlags['override-window'],
    reason: runFlags.reason,
  }

  async run(): Promise<RunResult> {
    const {args, flags} = await this.parse(Resume)
    const [{resumeRun}, {runOnTerminal}] = await Promise.all([import('../runbooks/resume.js'), import('../cli/run-support.js')])
    const terminal = {json: this.jsonEnabled(), yes: flags.yes, approve: flags.approve, overrideWindow: flags['override-window'], reason: flags.reason}
    const result = await runOnTerminal(terminal, (options) =>
      resumeRun({runId: args.runId, envName: flags.env, catalogFlag: flags.catalog, params: parseKeyValues(flags.param), ...options}),
    )
    this.exitWith = result.exitCode
    return result
  }
}
