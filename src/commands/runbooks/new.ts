import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'

export interface RunbooksNewResult {
  file: string
  name: string
}

export default class RunbooksNew extends BaseCommand<RunbooksNewResult> {
  static override summary = 'Create a runbook to start from, with the schema header editors use to complete and check it'
  static override description = "Writes <name>.yaml into --dir, else the catalog's runbooks folder, else the current folder. The file validates as written."
  static override examples = ['<%= config.bin %> runbooks new db-failover', '<%= config.bin %> runbooks new weekly-check --kind checklist --dir ./runbooks']
  static override args = {name: Args.string({description: 'Runbook name, kebab-case (e.g. db-failover)', required: true})}
  static override flags = {
    dir: Flags.string({description: "Folder to write into (default: the catalog's runbooks folder, else the current folder)"}),
    kind: Flags.string({description: 'Runbook kind', options: ['incident', 'drill', 'maintenance', 'checklist'], default: 'maintenance'}),
    force: Flags.boolean({description: 'Replace an existing file'}),
  }

  async run(): Promise<RunbooksNewResult> {
    const {args, flags} = await this.parse(RunbooksNew)
    const [{scaffoldRunbook}, {catalogRunbooksDir}, {findCatalog, loadCatalog}] = await Promise.all([
      import('../../runbooks/scaffold.js'),
      import('../../runbooks/discovery.js'),
      import('../../catalog/loader.js'),
    ])
    const catalog = !flags.dir && findCatalog({flag: flags.catalog}) ? loadCatalog({flag: flags.catalog}) : undefined
    const dir = flags.dir ?? catalogRunbooksDir(catalog) ?? process.cwd()
    const {file} = scaffoldRunbook(args.name, {dir, kind: flags.kind as 'maintenance', force: flags.force})
    this.say(`✔ wrote ${file}\n  next: edit it, then opsbook runbooks validate ${file}`)
    return {file, name: args.name}
  }
}
