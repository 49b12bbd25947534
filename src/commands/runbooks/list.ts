import {BaseCommand} from '../../cli/base-command.js'
import type {RunbookEntry} from '../../runbooks/listing.js'

export interface RunbooksListResult {
  runbooks: RunbookEntry[]
}

export default class RunbooksList extends BaseCommand<RunbooksListResult> {
  static override summary = 'List built-in runbooks and those in the catalog\'s runbooks folder'
  static override examples = ['<%= config.bin %> runbooks list', '<%= config.bin %> runbooks list --json']

  async run(): Promise<RunbooksListResult> {
    const {flags} = await this.parse(RunbooksList)
    const [{listRunbooks}, {findCatalog, loadCatalog}] = await Promise.all([import('../../runbooks/listing.js'), import('../../catalog/loader.js')])
    const catalog = findCatalog({flag: flags.catalog}) ? loadCatalog({flag: flags.catalog}) : undefined
    const runbooks = listRunbooks(catalog)
    for (const r of runbooks) this.say(`${r.name.padEnd(22)} ${r.kind.padEnd(12)} ${r.disruptive ? 'disruptive ' : '           '}${r.title}  (${r.origin})`)
    return {runbooks}
  }
}
