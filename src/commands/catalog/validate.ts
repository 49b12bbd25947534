import {BaseCommand} from '../../cli/base-command.js'

export interface CatalogValidateResult {
  status: 'valid'
  file: string
  sha256: string
  environments: Array<{name: string; cloud: string; production: boolean; components: number}>
  /** Per environment: what opsbook assumed, and components it describes but cannot act on yet. */
  notes: Record<string, string[]>
}

export default class CatalogValidate extends BaseCommand<CatalogValidateResult> {
  static override summary = 'Validate the catalog (runbooks.yaml); every problem is reported with file:line:col'
  static override examples = ['<%= config.bin %> catalog validate', '<%= config.bin %> catalog validate --catalog ops/runbooks.yaml --json']

  async run(): Promise<CatalogValidateResult> {
    const {flags} = await this.parse(CatalogValidate)
    const {loadCatalog} = await import('../../catalog/loader.js')
    const loaded = loadCatalog({flag: flags.catalog})
    const environments = Object.entries(loaded.catalog.environments).map(([name, env]) => ({
      name,
      cloud: env.cloud,
      production: env.production,
      components: Object.keys(env.components).length,
    }))
    const {catalogNotes} = await import('../../catalog/notes.js')
    const notes = catalogNotes(loaded.catalog)
    this.say(`✔ ${loaded.file} is valid: ${environments.map((e) => `${e.name} (${e.cloud}, ${e.components} components)`).join(', ')}`)
    for (const [env, lines] of Object.entries(notes)) for (const line of lines) this.say(`  note (${env}): ${line}`)
    return {status: 'valid', file: loaded.file, sha256: loaded.sha256, environments, notes}
  }
}
