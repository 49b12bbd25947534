import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {RecordedRun} from '../../evidence/runs-remote.js'
import type {RunListEntry} from '../../evidence/runs-store.js'

export interface RunsListResult {
  runs: Array<RunListEntry | RecordedRun>
}

export default class RunsList extends BaseCommand<RunsListResult> {
  static override summary =
    'List runs, newest first: this machine\'s .opsbook/runs (crashed runs included), and with --env the environment\'s evidence container too. A run whose journal hash chain is broken or whose summary.json contradicts its journal is marked CHANGED (its status may be forged; `runs show` lists why); one that never reached the evidence container is marked UNANCHORED (only this machine says so, as a consistent forgery would)'
  static override examples = ['<%= config.bin %> runs list', '<%= config.bin %> runs list --env production --limit 50', '<%= config.bin %> runs list --limit 5 --json']
  static override flags = {
    limit: Flags.integer({description: 'Show at most this many runs', default: 20, min: 1}),
    env: Flags.string({char: 'e', description: 'Only this environment\'s runs, including those in its evidence container (runs from CI and other machines)'}),
  }

  async run(): Promise<RunsListResult> {
    const {flags} = await this.parse(RunsList)
    const [{listRuns}, {opsbookRoot}, {runsTable}] = await Promise.all([
      import('../../evidence/runs-store.js'),
      import('../../catalog/locate.js'),
      import('../../ui/runs-table.js'),
    ])
    const root = opsbookRoot({catalogFlag: flags.catalog})
    let runs: Array<RunListEntry | RecordedRun>
    if (flags.env) {
      const [{connectEvidence}, {listRecordedRuns}] = await Promise.all([import('../../evidence/sync.js'), import('../../evidence/runs-remote.js')])
      const connection = await connectEvidence({envName: flags.env, catalogFlag: flags.catalog})
      try {
        if (!connection.target) this.note(`warning: ${flags.env} has no evidence container in the catalog: only this machine's runs are listed`)
        runs = (await listRecordedRuns(root, flags.env, connection.target)).slice(0, flags.limit)
      } finally {
        await connection.close()
      }
    } else runs = (await listRuns(root, {check: flags.limit})).slice(0, flags.limit)
    if (runs.length === 0) this.say('No runs yet. Try: opsbook run dr-drill --env local')
    else for (const line of runsTable(runs)) this.say(line)
    return {runs}
  }
}

