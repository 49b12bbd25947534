import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {targetKinds, type Runbook} from '../../runbooks/model.js'

export interface RunbooksShowResult {
  runbook: Runbook
  actions: Array<{uses: string; summary: string; changes: boolean; permissions: string[]; defaultTimeout?: string}>
}

export default class RunbooksShow extends BaseCommand<RunbooksShowResult> {
  static override summary = 'Show a runbook: params, steps, what each step changes and the permissions it needs'
  static override examples = ['<%= config.bin %> runbooks show dr-drill', '<%= config.bin %> runbooks show ./my-runbook.yaml --json']
  static override args = {runbook: Args.string({description: 'Runbook name or path to a YAML file', required: true})}

  async run(): Promise<RunbooksShowResult> {
    const {args, flags} = await this.parse(RunbooksShow)
    const [{resolveRunbook}, {findCatalog, loadCatalog}, {findAction}, {flattenSteps}] = await Promise.all([
      import('../../runbooks/discovery.js'),
      import('../../catalog/loader.js'),
      import('../../actions/registry.js'),
      import('../../runbooks/groups.js'),
    ])
    const catalog = findCatalog({flag: flags.catalog}) ? loadCatalog({flag: flags.catalog}) : undefined
    const runbook = resolveRunbook(args.runbook, {catalog})
    // Groups and called runbooks: their steps are listed (indented) and their actions counted.
    const tree = flattenSteps(runbook)
    const uses = [...new Set(tree.filter((n) => !n.spec.group).flatMap(({spec: s}) => [s.uses, ...(s.rollback ? [s.rollback.uses] : [])]))]
    const actions = uses.map((name) => {
      const a = findAction(name)
      return {uses: name, summary: a?.summary ?? '', changes: a?.changes ?? false, permissions: a?.permissions ?? [], ...(a?.defaultTimeout ? {defaultTimeout: a.defaultTimeout} : {})}
    })
    this.say(`${runbook.name} — ${runbook.title}\n  kind ${runbook.kind}${runbook.disruptive ? ', disruptive' : ''}; source ${runbook.source}`)
    if (runbook.description) this.say(`\n${runbook.description.trim()}`)
    this.say('\nParams:')
    for (const [name, p] of Object.entries(runbook.params))
      this.say(`  ${name.padEnd(16)} ${p.type === 'target' ? `target(${targetKinds(p)})` : p.type}${p.required ? ' required' : ''}${'default' in p && p.default !== undefined ? ` default=${JSON.stringify(p.default)}` : ''}  ${p.description ?? ''}`)
    this.say('\nSteps:')
    for (const {spec: s, phase, depth, localId} of tree)
      this.say(`  ${'  '.repeat(depth)}${localId.padEnd(24 - 2 * depth)} ${s.uses.padEnd(26)} ${phase === 'finally' ? '(finally)' : s.needs.length ? `needs ${s.needs.map((n) => n.slice(n.lastIndexOf('.') + 1)).join(', ')}` : ''}${s.rollback ? `  rollback ${s.rollback.uses}` : ''}`)
    this.say('\nActions:')
    // The bound a step of each action has when it sets no `timeout:` (issue 16, item 5).
    for (const a of actions) this.say(`  ${a.uses.padEnd(26)} ${a.changes ? 'changes ' : 'reads   '} ${a.summary}${a.defaultTimeout ? ` (default timeout ${a.defaultTimeout})` : ''}`)
    return {runbook, actions}
  }
}
