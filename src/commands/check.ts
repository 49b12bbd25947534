import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {ExitCode} from '../errors.js'
import type {CheckFormat} from '../checks/format/index.js'
import type {CheckReport, Severity} from '../checks/types.js'

const FORMATS = ['table', 'json', 'csv', 'sarif', 'junit', 'ocsf'] as const
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const

export interface CheckResult {
  environment: string
  failOn: Severity
  /** True when a fail or error at or above --fail-on exists (exit 1). */
  failed: boolean
  counts: CheckReport['counts']
  resources: number
  /** Where the formatted report was written, when --output was given. */
  output?: string
  expiredWaivers: CheckReport['expiredWaivers']
  unmatchedWaivers: CheckReport['unmatchedWaivers']
  findings: CheckReport['findings']
  /** Catalog components of kinds no check reads yet (e.g. Azure SQL Database): inventory only, not checked. */
  notChecked: Array<{key: string; type: string; kind: string}>
  /** A fleet scan (--scope or the catalog's `scope`): the scope and how many subscriptions were read. */
  fleet?: CheckReport['fleet']
}

export default class Check extends BaseCommand<CheckResult> {
  static override summary = 'Run the security checklist against an environment'
  static override description =
    'Checks PostgreSQL, Redis, App Service (and every slot), Storage, Key Vault, locks and tags. Data that cannot be read is an error, never a pass. Exit 1 when a fail or error at or above --fail-on exists.'
  static override examples = [
    '<%= config.bin %> check --env local',
    '<%= config.bin %> check --env production --format sarif --output opsbook.sarif --fail-on critical',
    '<%= config.bin %> check --env production --scope mg:contoso-platform --format json',
  ]
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment from the catalog', required: true}),
    format: Flags.string({description: 'Output format', options: [...FORMATS], default: 'table'}),
    output: Flags.string({char: 'o', description: 'Write the formatted report to this file instead of stdout'}),
    'fail-on': Flags.string({description: 'Lowest severity whose fails (or errors) make the exit code 1', options: [...SEVERITIES], default: 'high'}),
    summary: Flags.string({description: 'Append a Markdown summary to this file (default in GitHub Actions: $GITHUB_STEP_SUMMARY)'}),
    scope: Flags.string({
      description: 'Fleet scan instead of the environment\'s resource groups: mg:<management group id> or sub:<id>[,<id>…] (repeatable; default: the environment\'s catalog `scope`)',
      multiple: true,
    }),
  }

  async run(): Promise<CheckResult> {
    const {flags} = await this.parse(Check)
    const [{scanEnvironment}, {formatReport}] = await Promise.all([import('../checks/scan.js'), import('../checks/format/index.js')])
    if (flags.output) (await import('../evidence/writer.js')).assertOutputFile(flags.output)
    const scan = await scanEnvironment({envName: flags.env, catalogFlag: flags.catalog, failOn: flags['fail-on'] as Severity, scope: flags.scope, log: (m) => this.note(m)})
    const {report} = scan
    if (flags.output || !this.jsonEnabled()) {
      const text = await formatReport(report, flags.format as CheckFormat, {verbose: flags.verbose, width: process.stdout.columns})
      if (flags.output) {
        const {writeRedactedFile} = await import('../evidence/writer.js')
        await writeRedactedFile(flags.output, {text}, {atomic: false})
        this.say(`${report.findings.length} finding(s) written to ${flags.output} (${flags.format})`)
      } else {
        // Redacted like --output's file, and terminal-safe: findings quote what Azure answered.
        const [{outputRedactor}, {terminalSafe}] = await Promise.all([import('../evidence/writer.js'), import('../ui/terminal-safe.js')])
        process.stdout.write(terminalSafe(outputRedactor().redactText(text)))
      }
    }
    await (await import('../ci/reports.js')).publishCheckReports(scan, {summary: flags.summary, json: this.jsonEnabled()})
    const {describedOnly, describedOnlySentence} = await import('../catalog/notes.js')
    const {environment} = scan
    const notChecked = describedOnly(environment)
    if (notChecked.length > 0) this.note(`inventory: ${describedOnlySentence(environment, 'opsbook check')}; none of their checks ran`)
    for (const waiver of report.expiredWaivers) this.note(`warning: waiver for ${waiver.check} (owner ${waiver.owner}) expired ${waiver.expires}`)
    const {unmatchedWaiverWarning} = await import('../checks/waivers.js')
    for (const waiver of report.unmatchedWaivers) this.note(`warning: ${unmatchedWaiverWarning(waiver)}`)
    if (scan.failed) {
      this.note(`✖ ${scan.blocking.length} fail(s) or error(s) at or above ${scan.failOn}`)
      this.exitWith = ExitCode.failed
    }
    return {
      environment: report.environment,
      failOn: scan.failOn,
      failed: scan.failed,
      counts: report.counts,
      resources: report.resources,
      output: flags.output,
      expiredWaivers: report.expiredWaivers,
      unmatchedWaivers: report.unmatchedWaivers,
      findings: report.findings,
      notChecked,
      ...(report.fleet ? {fleet: report.fleet} : {}),
    }
  }
}
