import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../errors.js'
import type {AzureServices} from '../../azure/clients.js'
import type {RunWitness, VerifyResult} from '../../evidence/verify.js'

/** The Activity Log witness for runs of an environment (evidence/witness.ts). */
async function runWitness(services: AzureServices, mode: 'auto' | 'activity-log'): Promise<RunWitness> {
  const [{activityLogReader}, {listActions}] = await Promise.all([import('../../evidence/witness.js'), import('../../actions/registry.js')])
  return {mode, reader: activityLogReader(services), armWrites: new Map(listActions().map((a) => [a.name, a.armWrites ?? 'always']))}
}

export default class EvidenceVerify extends BaseCommand<VerifyResult> {
  static override summary = 'Check evidence: a bundle against its manifest and hash chains, or a run\'s local journal against its blob copy; each run\'s ARM writes against Azure\'s Activity Log'
  static override description =
    'Exit 0 when everything holds; exit 1 naming the first bad file or journal line. For a run id, each changing step\'s ARM writes (journaled with ARM\'s correlation ids) are also looked up in Azure\'s Activity Log, which the operator cannot write: a step it does not witness — e.g. a forged resumed segment — fails the verification (--witness).'
  static override examples = ['<%= config.bin %> evidence verify evidence-production-2026-10-01.zip', '<%= config.bin %> evidence verify 20261123T153000Z-dr-drill-7f3a']
  static override args = {target: Args.string({description: 'A bundle (.zip or unpacked folder) or a run id', required: true})}
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment whose evidence container holds the run (default: the run\'s own); for a bundle, compare its runs with that container'}),
    witness: Flags.string({
      description:
        'Cross-check each run\'s ARM writes against Azure\'s Activity Log (a bundle\'s with --env): auto (default) fails on a step the Activity Log does not witness and reports what it cannot check; activity-log also fails on what it cannot check; none skips it.',
      options: ['auto', 'activity-log', 'none'],
      default: 'auto',
    }),
  }

  async run(): Promise<VerifyResult> {
    const {args, flags} = await this.parse(EvidenceVerify)
    const [{isBundlePath, verifyBundle, verifyRun, environmentOfRun}, {opsbookRoot}] = await Promise.all([import('../../evidence/verify.js'), import('../../runbooks/runner.js')])
    let result: VerifyResult
    let witnessed = false
    if (isBundlePath(args.target)) {
      // With --env, the bundle's runs are also compared with the evidence container's copies.
      const {connectEvidence} = await import('../../evidence/sync.js')
      const connection = flags.env ? await connectEvidence({envName: flags.env, catalogFlag: flags.catalog}) : undefined
      try {
        const witness = connection && flags.witness !== 'none' ? await runWitness(connection.services, flags.witness as 'auto' | 'activity-log') : undefined
        witnessed = witness !== undefined
        result = await verifyBundle(args.target, {target: connection?.target, witness})
      } finally {
        await connection?.close()
      }
    } else {
      const root = opsbookRoot({catalogFlag: flags.catalog})
      const envName = flags.env ?? (await environmentOfRun(root, args.target))
      const {connectEvidence} = await import('../../evidence/sync.js')
      const connection = envName ? await connectEvidence({envName, catalogFlag: flags.catalog}) : undefined
      try {
        const witness = connection && flags.witness !== 'none' ? await runWitness(connection.services, flags.witness as 'auto' | 'activity-log') : undefined
        witnessed = witness !== undefined
        result = await verifyRun(args.target, {root, target: connection?.target, witness})
      } finally {
        await connection?.close()
      }
    }
    if (!witnessed && flags.witness !== 'none') {
      // A bundle verified without --env, or a run of an environment this machine does not have (e.g. on an auditor's machine with no Azure access): the witness is not
      // checkable, said once; it fails only when required.
      const required = flags.witness === 'activity-log'
      const check = {subject: 'activity log', ok: !required, skipped: true, message: 'activity log: not checkable: no environment to read it from (give --env to witness the runs\' ARM writes)'}
      result = {...result, checks: [...result.checks, check], ok: result.ok && !required, firstProblem: result.firstProblem ?? (required ? check.message : undefined)}
    }
    for (const check of result.checks) this.say(`${check.skipped ? '–' : check.ok ? '✔' : '✘'} ${check.message}`)
    if (!result.ok) {
      this.note(`verification failed: ${result.firstProblem}`)
      this.exitWith = ExitCode.failed
    } else this.say(`✔ ${result.kind === 'bundle' ? 'bundle' : 'run'} ${result.target} verified`)
    return result
  }
}
