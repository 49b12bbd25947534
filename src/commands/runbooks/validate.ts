import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'

export interface RunbooksValidateResult {
  status: 'valid'
  runbooks: Array<{name: string; source: string; steps: number}>
}

export default class RunbooksValidate extends BaseCommand<RunbooksValidateResult> {
  static override summary = 'Validate runbooks: every problem with file:line:col (YAML, fields, actions, inputs, needs, cycles, expressions)'
  static override description = 'Without an argument, validates every built-in runbook and every runbook in the catalog\'s runbooks folder.'
  static override examples = ['<%= config.bin %> runbooks validate ./runbooks/failover.yaml', '<%= config.bin %> runbooks validate --json']
  static override args = {file: Args.string({description: 'Runbook file or name; default: all known runbooks'})}

  async run(): Promise<RunbooksValidateResult> {
    const {args, flags} = await this.parse(RunbooksValidate)
    const [{listRunbooks, resolveRunbook}, {findCatalog, loadCatalog}, {ValidationError}] = await Promise.all([
      import('../../runbooks/discovery.js'),
      import('../../catalog/loader.js'),
      import('../../errors.js'),
    ])
    const catalog = findCatalog({flag: flags.catalog}) ? loadCatalog({flag: flags.catalog}) : undefined
    const references = args.file ? [args.file] : listRunbooks(catalog).map((r) => r.file)
    const problems: InstanceType<typeof ValidationError>['problems'] = []
    const runbooks: RunbooksValidateResult['runbooks'] = []
    for (const reference of references) {
      try {
        const runbook = resolveRunbook(reference, {catalog})
        runbooks.push({name: runbook.name, source: runbook.source, steps: runbook.steps.length + runbook.finally.length})
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error
        problems.push(...error.problems)
      }
    }
    if (problems.length > 0) throw new ValidationError(problems, `${problems.length} problem(s) found:`)
    for (const r of runbooks) this.say(`✔ ${r.name} (${r.steps} steps) ${r.source}`)
    return {status: 'valid', runbooks}
  }
}
