import {BaseCommand} from '../../cli/base-command.js'
import {envFlag} from '../../cli/flags.js'
import {ExitCode, ValidationError} from '../../errors.js'
import type {SyncResult} from '../../evidence/sync.js'

export default class EvidenceSync extends BaseCommand<SyncResult> {
  static override summary = 'Upload evidence that earlier runs could not (Blob unreachable, process killed) to the evidence container'
  static override examples = ['<%= config.bin %> evidence sync --env production']
  static override flags = {env: envFlag}

  async run(): Promise<SyncResult> {
    const {flags} = await this.parse(EvidenceSync)
    const [{connectEvidence, syncPending}, {opsbookRoot}] = await Promise.all([import('../../evidence/sync.js'), import('../../catalog/locate.js')])
    const connection = await connectEvidence({envName: flags.env, catalogFlag: flags.catalog})
    try {
      if (!connection.target)
        throw new ValidationError([{code: 'no-evidence-sink', message: `environment "${flags.env}" has no evidence storage configured (environments.${flags.env}.evidence)`}])
      const result = (await syncPending(opsbookRoot({catalogFlag: flags.catalog}), {name: flags.env, environment: connection.environment}, connection.services, {target: connection.target}))!
      for (const run of result.runs.filter((r) => r.status !== 'up-to-date'))
        this.say(`${run.status === 'uploaded' ? '✔' : '✘'} ${run.runId}: ${run.status === 'uploaded' ? `${run.uploadedBytes} bytes to ${result.account}/${result.container}/${run.blobPrefix}` : run.error}`)
      this.say(`${result.runs.length} run(s) checked, ${result.pending} still pending`)
      if (result.pending > 0) this.exitWith = ExitCode.failed
      return result
    } finally {
      await connection.close()
    }
  }
}
