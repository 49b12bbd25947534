import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {envFlag} from '../../cli/flags.js'
import type {ExportResult} from '../../evidence/export.js'

export default class EvidenceExport extends BaseCommand<ExportResult> {
  static override summary = 'Export the evidence of an audit period: journals, summaries, a manifest of SHA-256 hashes and a report'
  static override description =
    'The zip bundle holds every run (journal.jsonl and summary.json, byte for byte), manifest.json, report.html (with RTO/RPO charts per quarter and drill coverage), report.md, runs.csv and coverage.csv. The other formats write only the report (html, md), the runs table (csv) or everything as one JSON document.'
  static override examples = [
    '<%= config.bin %> evidence export --env production --since 2026-07-01 --until 2026-09-30',
    '<%= config.bin %> evidence export --env production --format html --output q3.html --source blob',
  ]
  static override flags = {
    env: envFlag,
    since: Flags.string({description: 'First day of the period (2026-07-01 or an ISO date-time)'}),
    until: Flags.string({description: 'Last day of the period (default: now)'}),
    runbook: Flags.string({description: 'Only runs of this runbook'}),
    format: Flags.string({options: ['zip', 'html', 'md', 'json', 'csv'], default: 'zip', description: 'What to write'}),
    output: Flags.string({char: 'o', description: 'Output file (default: evidence-<env>-<date>.<format>)'}),
    source: Flags.string({options: ['local', 'blob'], default: 'local', description: 'Read runs from the local .opsbook folder or the evidence container'}),
  }

  async run(): Promise<ExportResult> {
    const {flags} = await this.parse(EvidenceExport)
    const [{exportEvidence}, {opsbookRoot}, {getEnvironment, loadCatalog}] = await Promise.all([
      import('../../evidence/export.js'),
      import('../../runbooks/runner.js'),
      import('../../catalog/loader.js'),
    ])
    let connection: import('../../evidence/sync.js').EvidenceConnection | undefined
    if (flags.source === 'blob') connection = await (await import('../../evidence/sync.js')).connectEvidence({envName: flags.env, catalogFlag: flags.catalog})
    try {
      const environment = connection?.environment ?? getEnvironment(loadCatalog({flag: flags.catalog}), flags.env)
      const result = await exportEvidence({
        environmentName: flags.env,
        environment,
        root: opsbookRoot({catalogFlag: flags.catalog}),
        source: flags.source as 'local' | 'blob',
        target: connection?.target,
        since: flags.since,
        until: flags.until,
        runbook: flags.runbook,
        format: flags.format as ExportResult['format'],
        output: flags.output,
      })
      this.say(`✔ ${result.runs} run(s) of ${result.environment} exported to ${result.output} (${result.format}, SHA-256 ${result.sha256})`)
      if (result.coverageGaps.length) this.say(`components without a passing drill in the last 90 days: ${result.coverageGaps.join(', ')}`)
      return result
    } finally {
      await connection?.close()
    }
  }
}
