import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import type {RunListEntry} from '../../evidence/runs-store.js'

export interface RunsListResult {
  runs: RunListEntry[]
}

export default class RunsList extends BaseCommand<RunsListResult> {
  static override summary = 'List runs recorded under .opsbook/runs, newest first (crashed runs included)'
  static override examples = ['<%= config.bin %> runs list', '<%= config.bin %> runs list --limit 5 --json']
  static override flags = {limit: Flags.integer({description: 'Show at most this many runs', default: 20})}

  async run(): Promise<RunsListResult> {
    const {flags} = await this.parse(RunsList)
    const [{listRuns}, {opsbookRoot}, {humanDuration}] = await Promise.all([
      import('../../evidence/runs-store.js'),
      import('../../runbooks/runner.js'),
      import('../../support/duration.js'),
    ])
    const runs = (await listRuns(opsbookRoot({catalogFlag: flags.catalog}))).slice(0, flags.limit)
    if (runs.length === 0) this.say('No runs yet. Try: opsbook run dr-drill --env local')
    for (const r of runs)
      this.say(`${r.runId.padEnd(44)} ${r.status.padEnd(16)} ${r.environment.padEnd(12)} ${r.durationMs === undefined ? '' : humanDuration(r.durationMs)}`)
    return {runs}
  }
}
