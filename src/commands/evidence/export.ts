import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {ExportResult} from '../../evidence/export.js'
import type {FleetExportResult} from '../../evidence/export-fleet.js'

export default class EvidenceExport extends BaseCommand<ExportResult | FleetExportResult> {
  static override summary = 'Export the evidence of an audit period: journals, summaries, a manifest of SHA-256 hashes and a report'
  static override description =
    'The zip bundle holds every run (journal.jsonl and summary.json, byte for byte), manifest.json, report.html (with RTO/RPO charts per quarter and drill coverage), report.md, runs.csv and coverage.csv. The other formats write only the report (html, md), the runs table (csv) or everything as one JSON document.'
  static override examples = [
    '<%= config.bin %> evidence export --env production --since 2026-07-01 --until 2026-09-30',
    '<%= config.bin %> evidence export --env production --format html --output q3.html --source blob',
    '<%= config.bin %> evidence export --all-envs --source blob --output fleet-q3.zip',
  ]
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment from the catalog; several comma-separated (a,b) make one bundle with a folder per environment'}),
    'all-envs': Flags.boolean({description: 'Every environment of the catalog in one bundle (each from its own evidence container with --source blob)', default: false}),
    since: Flags.string({description: 'First day of the period (2026-07-01 or an ISO date-time)'}),
    until: Flags.string({description: 'Last day of the period (default: now)'}),
    runbook: Flags.string({description: 'Only runs of this runbook'}),
    format: Flags.string({options: ['zip', 'html', 'md', 'json', 'csv'], default: 'zip', description: 'What to write'}),
    output: Flags.string({char: 'o', description: 'Output file (default: evidence-<env>-<date>.<format>)'}),
    source: Flags.string({options: ['local', 'blob'], default: 'local', description: 'Read runs from the local .opsbook folder or the evidence container'}),
  }

  async run(): Promise<ExportResult | FleetExportResult> {
    const {flags} = await this.parse(EvidenceExport)
    const envs = flags['all-envs'] ? undefined : (flags.env ?? '').split(',').map((e) => e.trim()).filter(Boolean)
    if (envs?.length !== 1) return this.exportMany(flags, envs)
    const [{exportEvidence}, {opsbookRoot}, {getEnvironment, loadCatalog}] = await Promise.all([
      import('../../evidence/export.js'),
      import('../../catalog/locate.js'),
      import('../../catalog/loader.js'),
    ])
    const {connectEvidence} = await import('../../evidence/sync.js')
    const connect = () => connectEvidence({envName: envs[0]!, catalogFlag: flags.catalog})
    // A local export still registers a zip's manifest in the evidence container when it can (evidence verify --env checks it).
    const connection = flags.source === 'blob' ? await connect() : flags.format === 'zip' ? await connect().catch(() => undefined) : undefined
    try {
      const environment = connection?.environment ?? getEnvironment(loadCatalog({flag: flags.catalog}), envs[0]!)
      const result = await exportEvidence({
        environmentName: envs[0]!,
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
      if (flags.format === 'zip') this.say(result.registered ? `registered in the evidence container as ${result.registered}` : 'not registered in an evidence container: `evidence verify --env` will not accept this bundle')
      if (result.coverageGaps.length) this.say(`components without a passing drill in the last 90 days: ${result.coverageGaps.join(', ')}`)
      return result
    } finally {
      await connection?.close()
    }
  }

  /** --env a,b or --all-envs: one bundle, a folder per environment, each read from its own evidence container. */
  private async exportMany(flags: Record<string, any>, envs: string[] | undefined): Promise<FleetExportResult> {
    const [{exportFleetEvidence}, {opsbookRoot}, {getEnvironment, loadCatalog}, {ValidationError}] = await Promise.all([
      import('../../evidence/export-fleet.js'),
      import('../../catalog/locate.js'),
      import('../../catalog/loader.js'),
      import('../../errors.js'),
    ])
    const loaded = loadCatalog({flag: flags.catalog})
    const names = envs ?? Object.keys(loaded.catalog.environments)
    if (names.length === 0) throw new ValidationError([{code: 'missing-flag', message: '--env <environment>[,<environment>…] or --all-envs is required'}])
    if (!['zip', 'json'].includes(flags.format)) throw new ValidationError([{code: 'invalid-flag', message: `--format ${flags.format}: several environments export as zip or json`}])
    for (const name of names) getEnvironment(loaded, name)
    const open = async (name: string) => {
      if (flags.source !== 'blob') return {name, environment: getEnvironment(loaded, name), close: async () => undefined}
      const connection = await (await import('../../evidence/sync.js')).connectEvidence({envName: name, catalogFlag: flags.catalog})
      return {name, environment: connection.environment, target: connection.target, close: () => connection.close()}
    }
    const result = await exportFleetEvidence({...flags, environments: names, open, root: opsbookRoot({catalogFlag: flags.catalog}), source: flags.source, format: flags.format})
    this.say(`✔ ${result.runs} run(s) of ${result.environments.length} environment(s) exported to ${result.output} (${result.format}, SHA-256 ${result.sha256})`)
    for (const e of result.environments) this.say(`  ${e.environment}: ${e.runs} run(s), ${e.failed} failed${e.coverageGaps.length ? `; no passing drill in 90 days: ${e.coverageGaps.join(', ')}` : ''}`)
    return result
  }
}
