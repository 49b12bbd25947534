import {BaseCommand} from '../../cli/base-command.js'

export interface CatalogValidateResult {
  status: 'valid'
  file: string
  sha256: string
  environments: Array<{name: string; cloud: string; production: boolean; components: number}>
  /** Per environment: what opsbook assumed, and components it describes but cannot act on yet. */
  notes: Record<string, string[]>
  /** What a declared SKU cannot do that the component needs (the catalog is still valid). */
  warnings: Array<{environment: string; component: string; path: string; message: string}>
}

export default class CatalogValidate extends BaseCommand<CatalogValidateResult> {
  static override summary = 'Validate the catalog (runbooks.yaml); every problem is reported with file:line:col'
  static override examples = ['<%= config.bin %> catalog validate', '<%= config.bin %> catalog validate --catalog ops/runbooks.yaml --json']

  async run(): Promise<CatalogValidateResult> {
    const {flags} = await this.parse(CatalogValidate)
    const [{loadCatalog}, {catalogCapabilityWarnings}] = await Promise.all([import('../../catalog/loader.js'), import('../../azure/capabilities.js')])
    const loaded = loadCatalog({flag: flags.catalog})
    // A waiver naming an unknown check waives nothing: said here, with file:line:col, not discovered in an audit. The
    // check registry (every rule module) is loaded only for a catalog that has waivers.
    const hasWaivers = Object.values(loaded.catalog.environments).some((env) => env.waivers.length > 0)
    const waivers = hasWaivers ? await import('../../checks/waivers.js') : undefined
    waivers?.assertWaiversValid(loaded)
    // A waiver's resource a letter off a component's waives nothing: a warning (it may name a resource outside the catalog).
    const warnings = [...catalogCapabilityWarnings(loaded.catalog), ...(waivers?.waiverResourceWarnings(loaded) ?? [])]
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
    for (const w of warnings) this.say(`⚠ ${w.path}: ${w.message}`)
    return {status: 'valid', file: loaded.file, sha256: loaded.sha256, environments, notes, warnings}
  }
}
