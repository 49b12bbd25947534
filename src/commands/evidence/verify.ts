import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../errors.js'
import type {VerifyResult} from '../../evidence/verify.js'
import type {WitnessMode} from '../../evidence/witness.js'

export default class EvidenceVerify extends BaseCommand<VerifyResult> {
  static override summary = 'Check evidence: a bundle against its manifest and hash chains, or a run\'s local journal against its blob copy; each run\'s ARM writes against Azure\'s Activity Log'
  static override description =
    'Exit 0 when everything holds; exit 1 naming the first bad file or journal line; exit 3 when nothing contradicts a run\'s record but nothing outside this machine confirms it either — unanchored: no blob copy in the evidence container and no step witnessed by the Activity Log (a human must decide; `evidence sync` it and verify again). A bundle is unanchored when one of its runs is: with --env, as recomputed against the container and the Activity Log; without, as its manifest recorded at export (each run\'s `anchor`) — and, offline, when its manifest records no anchor for a run (a bundle exported before the field). Offline, a bundle proves only that its files agree with each other and its manifest, and its anchors are the manifest\'s word: only --env compares it with the evidence container. For a run id, each changing step\'s ARM writes (journaled with ARM\'s correlation ids) are also looked up in Azure\'s Activity Log, which the operator cannot write: a step it does not witness — e.g. a forged resumed segment — fails the verification (--witness).'
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
    const {verifyTarget} = await import('../../evidence/verify-target.js')
    const result = await verifyTarget({target: args.target, envName: flags.env, catalogFlag: flags.catalog, witness: flags.witness as WitnessMode, progress: (message) => this.note(message)})
    for (const check of result.checks) this.say(`${check.skipped ? '–' : check.ok ? '✔' : '✘'} ${check.message}`)
    if (!result.ok) {
      this.note(`verification failed: ${result.firstProblem}`)
      this.exitWith = ExitCode.failed
    } else if (result.anchor === 'none') {
      // Nothing contradicts the record, and nothing outside this machine confirms it (issue 16): not "verified".
      this.say(`– ${result.unanchored}`)
      this.note(`not verified: ${result.unanchored}`)
      this.exitWith = ExitCode.needsHuman
    } else {
      const unconfirmed = result.kind === 'bundle' && result.anchor && result.runs?.some((r) => !r.confirmed)
      const how =
        result.anchor === 'activity-log'
          ? ' (no blob copy: anchored by the Activity Log\'s witnessed steps)'
          : unconfirmed
            ? ' (internally consistent; that its runs were in the evidence container when it was exported is its manifest\'s word, which offline verification cannot check: give --env to confirm it)'
            : ''
      this.say(`✔ ${result.kind === 'bundle' ? 'bundle' : 'run'} ${result.target} verified${how}`)
    }
    return result
  }
}
