import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import type {Catalog} from '../../catalog/schema.js'

export interface CatalogShowResult {
  file: string
  catalog: Catalog
}

export default class CatalogShow extends BaseCommand<CatalogShowResult> {
  static override summary = 'Show the catalog: environments, components, objectives and windows (defaults applied)'
  static override examples = ['<%= config.bin %> catalog show', '<%= config.bin %> catalog show --env local --json']
  static override flags = {env: Flags.string({char: 'e', description: 'Only this environment'})}

  async run(): Promise<CatalogShowResult> {
    const {flags} = await this.parse(CatalogShow)
    const {loadCatalog, getEnvironment, resourceGroupOf} = await import('../../catalog/loader.js')
    const {describeWindow} = await import('../../catalog/windows.js')
    const loaded = loadCatalog({flag: flags.catalog})
    const names = flags.env ? [flags.env] : Object.keys(loaded.catalog.environments)
    const environments: Catalog['environments'] = {}
    for (const name of names) environments[name] = getEnvironment(loaded, name)
    this.say(`Catalog ${loaded.file}`)
    for (const [name, env] of Object.entries(environments)) {
      this.say(`\n${name}  cloud=${env.cloud} subscription=${env.subscription} region=${env.region}${env.pairedRegion ? ` paired=${env.pairedRegion}` : ''}${env.production ? '  PRODUCTION' : ''}`)
      if (env.evidence) this.say(`  evidence: ${env.evidence.storageAccount}/${env.evidence.container}`)
      for (const [key, c] of Object.entries(env.components)) {
        const objectives = c.objectives ? ` rto=${c.objectives.rto ?? '-'} rpo=${c.objectives.rpo ?? '-'}${c.objectives.crossRegion ? ' cross-region' : ''}` : ''
        const window = c.window && env.windows[c.window] ? ` window=${c.window} (${describeWindow(env.windows[c.window]!)})` : ''
        this.say(`  ${key.padEnd(18)} ${c.type.padEnd(9)} ${resourceGroupOf(env, c)}/${c.name}${objectives}${window}`)
      }
      for (const f of env.freezes) this.say(`  freeze: ${f.from} → ${f.until} (${f.reason})`)
    }
    return {file: loaded.file, catalog: {...loaded.catalog, environments}}
  }
}
