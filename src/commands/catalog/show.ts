import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {Catalog} from '../../catalog/schema.js'

export interface CatalogShowResult {
  file: string
  catalog: Catalog
  /** Per environment: components of kinds the catalog describes but no command acts on yet, and what was assumed. */
  notes: Record<string, string[]>
}

export default class CatalogShow extends BaseCommand<CatalogShowResult> {
  static override summary = 'Show the catalog: environments, components, objectives and windows (defaults applied)'
  static override examples = ['<%= config.bin %> catalog show', '<%= config.bin %> catalog show --env local --json']
  static override flags = {env: Flags.string({char: 'e', description: 'Only this environment'})}

  async run(): Promise<CatalogShowResult> {
    const {flags} = await this.parse(CatalogShow)
    const {loadCatalog, getEnvironment, resourceGroupOf} = await import('../../catalog/loader.js')
    const {describeWindow, windowsOf} = await import('../../catalog/windows.js')
    const {catalogNotes} = await import('../../catalog/notes.js')
    const {describeScope} = await import('../../checks/scope.js')
    const loaded = loadCatalog({flag: flags.catalog})
    const names = flags.env ? [flags.env] : Object.keys(loaded.catalog.environments)
    const environments: Catalog['environments'] = {}
    for (const name of names) environments[name] = getEnvironment(loaded, name)
    const notes = catalogNotes({...loaded.catalog, environments})
    this.say(`Catalog ${loaded.file}`)
    for (const [name, env] of Object.entries(environments)) {
      this.say(`\n${name}  cloud=${env.cloud} subscription=${env.subscription} region=${env.region}${env.pairedRegion ? ` paired=${env.pairedRegion}` : ''}${env.production ? '  PRODUCTION' : ''}`)
      if (env.evidence) this.say(`  evidence: ${env.evidence.storageAccount}/${env.evidence.container}`)
      if (env.scope) this.say(`  fleet scope (opsbook check): ${describeScope(env.scope)}`)
      for (const [key, c] of Object.entries(env.components)) {
        const objectives = c.objectives ? ` rto=${c.objectives.rto ?? '-'} rpo=${c.objectives.rpo ?? '-'}${c.objectives.crossRegion ? ' cross-region' : ''}` : ''
        const windows = windowsOf(env, c).map(({name: w, window}) => ` window=${w} (${describeWindow(window)})`).join('')
        const region = c.region ? ` region=${c.region}` : ''
        this.say(`  ${key.padEnd(18)} ${c.type.padEnd(14)} ${resourceGroupOf(env, c)}/${c.name}${region}${objectives}${windows}`)
      }
      for (const f of env.freezes) this.say(`  freeze: ${f.from} → ${f.until} (${f.reason})`)
      for (const note of notes[name] ?? []) this.say(`  note: ${note}`)
    }
    return {file: loaded.file, catalog: {...loaded.catalog, environments}, notes}
  }
}
