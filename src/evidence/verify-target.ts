/**
 * What `opsbook evidence verify <target>` checks, outside the command: a bundle (with --env also against the evidence
 * container) or a run id (local journal against its Blob copy), each run's ARM writes witnessed by Azure's Activity
 * Log where an environment is known (evidence/witness.ts).
 */
import type {AzureServices} from '../azure/clients.js'
import type {RunWitness, VerifyResult} from './verify.js'
import type {WitnessMode} from './witness.js'

export interface VerifyTargetOptions {
  /** A bundle (.zip or unpacked folder) or a run id. */
  target: string
  /** The environment whose evidence container and Activity Log to read (a run id defaults to the run's own). */
  envName?: string
  catalogFlag?: string
  witness: WitnessMode
  /** Where a long Activity Log read says how far it is (the command: stderr, never --json's stdout). */
  progress?: (message: string) => void
  /** Every how many events a read reports progress (default ACTIVITY_LOG_PROGRESS_EVERY). */
  progressEvery?: number
}

/** The Activity Log witness for runs of an environment, with each action's declared relation to ARM writes. */
async function runWitness(services: AzureServices, mode: Exclude<WitnessMode, 'none'>, progress?: Pick<VerifyTargetOptions, 'progress' | 'progressEvery'>): Promise<RunWitness> {
  const [{activityLogReader}, {listActions}] = await Promise.all([import('./witness.js'), import('../actions/registry.js')])
  return {mode, reader: activityLogReader(services, {progress: progress?.progress, progressEvery: progress?.progressEvery}), armWrites: new Map(listActions().map((a) => [a.name, a.armWrites ?? 'always']))}
}

export async function verifyTarget(options: VerifyTargetOptions): Promise<VerifyResult> {
  const [{isBundlePath, verifyBundle, verifyRun, environmentOfRun}, {opsbookRoot}, {connectEvidence}] = await Promise.all([
    import('./verify.js'),
    import('../catalog/locate.js'),
    import('./sync.js'),
  ])
  const bundle = isBundlePath(options.target)
  if (!bundle) {
    // Not a bundle: a run id, which must not climb out of runs/ (`../../x` verified another folder as a run).
    const {assertRunId} = await import('./journal.js')
    const {ValidationError} = await import('../errors.js')
    try {
      assertRunId(options.target)
    } catch {
      throw new ValidationError([
        {code: 'invalid-run-id', message: `"${options.target.slice(0, 80)}" is neither a bundle (no such .zip, or folder holding manifest.json) nor a run id (letters, digits, dashes, e.g. 20261123T153000Z-dr-drill-7f3a)`},
      ])
    }
  }
  const root = bundle ? undefined : opsbookRoot({catalogFlag: options.catalogFlag})
  // A bundle is compared with the evidence container only when --env names one; a run id defaults to its own.
  const envName = options.envName ?? (root ? await environmentOfRun(root, options.target) : undefined)
  const connection = envName ? await connectEvidence({envName, catalogFlag: options.catalogFlag}) : undefined
  let result: VerifyResult
  let witnessed = false
  try {
    const witness = connection && options.witness !== 'none' ? await runWitness(connection.services, options.witness, options) : undefined
    witnessed = witness !== undefined
    result = root ? await verifyRun(options.target, {root, target: connection?.target, witness}) : await verifyBundle(options.target, {target: connection?.target, witness})
  } finally {
    await connection?.close()
  }
  if (!witnessed && options.witness !== 'none') {
    // A bundle verified without --env, or a run of an environment this machine does not have (an auditor's machine
    // with no Azure access): the witness is not checkable, said once; it fails only when required.
    const required = options.witness === 'activity-log'
    const check = {subject: 'activity log', ok: !required, skipped: true, message: 'activity log: not checkable: no environment to read it from (give --env to witness the runs\' ARM writes)'}
    result = {...result, checks: [...result.checks, check], ok: result.ok && !required, firstProblem: result.firstProblem ?? (required ? check.message : undefined)}
  }
  return result
}
