import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {noListDefaultHelp} from '../../cli/flags.js'
import {BaseCommand} from '../../cli/base-command.js'
import type {CiEngine, CiInitResult} from '../../ci/init.js'

export default class CiInit extends BaseCommand<CiInitResult> {
  static override summary = 'Write a CI pipeline that runs the DR drill inside each maintenance window, the security checks and an evidence bundle'
  static override description =
    'GitHub Actions (.github/workflows/opsbook-dr-drill.yml) or Azure Pipelines (azure-pipelines.opsbook.yml): one drill job per environment and window group, scheduled in UTC inside the window (one line per daylight-saving offset), a gate step that skips the drill when the window is closed, workload-identity sign-in, SARIF for code scanning, JUnit, and a final job exporting each environment\'s evidence from Blob.'
  static override examples = [
    '<%= config.bin %> ci init github --env production',
    '<%= config.bin %> ci init azure-pipelines --env staging --env production --schedule monthly',
    "<%= config.bin %> ci init github --env production --schedule '0 3 * * 0' --dry-run",
  ]
  static override args = {engine: Args.string({description: 'CI engine', options: ['github', 'azure-pipelines'], required: true})}
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment to drill (repeatable; default: every environment of the catalog)', multiple: true, default: [], ...noListDefaultHelp}),
    schedule: Flags.string({description: 'quarterly, monthly, or a cron expression (UTC)', default: 'quarterly'}),
    output: Flags.string({char: 'o', description: 'File to write (default: the engine\'s usual path)'}),
    'dry-run': Flags.boolean({description: 'Print the pipeline to stdout instead of writing it', default: false}),
    force: Flags.boolean({description: 'Replace an existing file that differs', default: false}),
  }

  async run(): Promise<CiInitResult> {
    const {args, flags} = await this.parse(CiInit)
    const [{loadCatalog}, {initPipeline}] = await Promise.all([import('../../catalog/loader.js'), import('../../ci/init.js')])
    const loaded = loadCatalog({flag: flags.catalog})
    const result = await initPipeline({
      engine: args.engine as CiEngine,
      loaded,
      envNames: flags.env,
      schedule: flags.schedule,
      output: flags.output,
      dryRun: flags['dry-run'],
      force: flags.force,
      repoRoot: loaded.dir,
    })
    for (const warning of result.warnings) this.note(`warning: ${warning}`)
    if (flags['dry-run']) {
      if (!this.jsonEnabled()) process.stdout.write(result.content)
    } else this.say(`✔ ${result.file} written: ${result.schedules.length} schedule line(s) for ${result.environments.join(', ')}`)
    return result
  }
}
