/**
 * `opsbook resume <runId>`: continue an interrupted or crashed run — on this machine from `.opsbook/runs/<runId>`,
 * or on another one from the journal in the evidence container (`--env` names where to look). Completed steps are
 * not run again; operations in flight are re-attached by their monitor URL instead of being issued a second time.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {getEnvironment, loadCatalog, type LoadedCatalog} from '../catalog/loader.js'
import {componentResourceId, sameResourceId} from '../catalog/resource-id.js'
import {GuardError, ValidationError, type Problem} from '../errors.js'
import {RESUMABLE, sealFinishedRun} from '../evidence/seal.js'
import {resumeCommand} from '../support/resume-hint.js'
import type {ResumeState} from '../evidence/resume-state.js'
import type {RunSummary} from '../evidence/summary.js'
import {exitCodeForOutcome, opsbookRoot, runRunbook, type RunOptions, type RunResult} from './runner.js'

/** End states `opsbook resume` continues (one list with the evidence checks that refuse lines after any other end). */
export {RESUMABLE}

export interface ResumeOptions extends Omit<RunOptions, 'runbook' | 'envName' | 'params' | 'resume'> {
  runId: string
  /** Where to fetch the journal from when it is not on this machine. */
  envName?: string
  /** Secret params are never journaled: they must be given again. */
  params: Record<string, string>
}

export async function resumeRun(options: ResumeOptions): Promise<RunResult> {
  const cwd = options.cwd ?? process.cwd()
  const root = opsbookRoot({cwd, catalogFlag: options.catalogFlag})
  const state = await loadState(options, root, cwd)
  // An interrupted run (Ctrl-C, exit 130) and one whose teardown did not complete (exit 3) are continued; a run
  // that reached its own end (succeeded, failed after a complete rollback…) has nothing left to do.
  if (state.finished && !RESUMABLE.includes(state.finished)) {
    // Finished, but stopped before its seal (kill -9 at the very end): the resume finishes its evidence.
    const sealed = state.source === 'local' ? await sealFinishedRun(root, options.runId) : undefined
    if (sealed) {
      const result = sealedResult(sealed, root)
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`)
      return result
    }
    throw new ValidationError([{code: 'run-finished', message: `run ${options.runId} already finished (${state.finished}); there is nothing to resume`}])
  }
  const source = state.runbook.source?.replace(/^builtin:/, '')
  const runbook = state.request?.runbook ?? source ?? state.runbook.name
  const params: Record<string, string> = {...(state.request?.params ?? stringParams(state)), ...options.params}
  const catalogFlag = options.catalogFlag ?? recordedCatalog(state)
  const note = checkTargets(options.runId, state, loadCatalog({flag: catalogFlag, cwd}))
  if (note) process.stderr.write(`warning: ${note}\n`)
  const result = await runRunbook({
    ...options,
    runbook,
    envName: state.environmentName,
    catalogFlag,
    params,
    components: state.request?.components,
    resume: {runId: options.runId, completed: state.completed, inFlight: state.inFlight, interrupted: state.interrupted, calls: state.calls, expectedSha256: state.runbook.sha256, expectedParams: state.params, ...(state.steps ? {expectedSteps: state.steps} : {}), ...(note ? {warnings: [note]} : {}), ...(state.rollbacks ? {rollbacks: state.rollbacks, failure: state.failure} : {})},
  }).catch((error: unknown) => {
    // Still outside the window: the run was started past it with a journaled reason, so say how to continue it so.
    const started = state.overrides.find((o) => o.kind === 'maintenance-window' || o.kind === 'change-freeze')
    if (error instanceof GuardError && started && !options.override)
      throw new GuardError(error.guard, error.message, error.details, [
        `this run was started with --override-window (reason: ${started.reason}); to continue it now: ${resumeCommand(options.runId, state.overrides)}`,
        ...error.suggestions.filter((s) => !s.includes('--override-window')),
      ])
    throw error
  })
  return result
}

/**
 * The catalog the run was started with, as request.json recorded it — when that path means something here. A journal
 * fetched from Blob was written on another machine: its catalog path is that machine's (a laptop that is gone), so
 * the catalog is found here as for any command (--catalog, OPSBOOK_CATALOG, upward from the working directory). The
 * runbook's hash, checked before anything runs, still refuses a resume whose steps would differ.
 */
function recordedCatalog(state: ResumeState): string | undefined {
  const file = state.request?.catalogFile
  return state.source === 'local' && file && existsSync(file) ? file : undefined
}

/**
 * The catalog found here must point the run's remaining steps at the resources the run started on. request.json
 * recorded the catalog's SHA-256 and each acted-on component's ARM id: the same catalog continues silently; another
 * one continues only when every one of those components still resolves to the same resource (a line says so), and is
 * refused (exit 2, before anything runs) when one resolves elsewhere or is missing. A run recorded before these fields
 * existed continues with a line saying the targets could not be compared. Returns the line to print, if any.
 */
export function checkTargets(runId: string, state: ResumeState, loaded: LoadedCatalog): string | undefined {
  const request = state.request
  if (!request?.catalogSha256 || !request.targets)
    return `run ${runId} did not record the Azure resources it acts on (started by an older opsbook): the targets in ${loaded.file} could not be compared with the run's`
  if (request.catalogSha256 === loaded.sha256) return undefined
  const environment = loaded.catalog.environments[state.environmentName]
  const problems: Problem[] = []
  for (const [key, recorded] of Object.entries(request.targets)) {
    const here = environment ? componentResourceId(environment, key) : undefined
    if (here && sameResourceId(here, recorded)) continue
    problems.push({
      code: 'resume-target-changed',
      message: `component ${key} of environment ${state.environmentName}: run ${runId} acted on ${recorded}, but ${loaded.file} ${here ? `resolves it to ${here}` : 'has no such component'}; resuming would point the remaining steps at ${here ? 'another resource' : 'nothing it started on'}. Resume with the catalog the run used: --catalog <a copy of ${request.catalogFile ?? 'the run\'s catalog'} (sha256 ${request.catalogSha256})>`,
    })
  }
  if (problems.length > 0) throw new ValidationError(problems, `the catalog here (${loaded.file}) is not the one run ${runId} started with, and it names other Azure resources: nothing was resumed`)
  return `the catalog here (${loaded.file}) differs from the one run ${runId} started with, but the run's targets are the same resources (${Object.keys(request.targets).join(', ') || 'none'}): continuing`
}

async function loadState(options: ResumeOptions, root: string, cwd: string): Promise<ResumeState> {
  const {loadResumeState} = await import('../evidence/resume-state.js')
  if (existsSync(join(root, 'runs', options.runId)) || !options.envName) return loadResumeState(options.runId, {root})
  // Another machine: read the journal from the environment's evidence container.
  const loaded = loadCatalog({flag: options.catalogFlag, cwd})
  const environment = getEnvironment(loaded, options.envName)
  const env = options.env ?? process.env
  // An emulator environment's evidence is in the Blob store of the emulator that ran it. This folder's own emulator can
  // only hold it when one serves this folder now or has persisted a Blob store here: otherwise starting one (real
  // PostgreSQL engines unless the data plane is modelled) only to find an empty store costs seconds and cannot succeed.
  if (environment.cloud === 'emulator' && environment.evidence && !env.OPSBOOK_EMULATOR_URL && !(await folderEmulatorMayHold(loaded, env)))
    throw new ValidationError([
      {code: 'run-not-found', message: `no journal for run ${options.runId} locally or in evidence container ${environment.evidence.storageAccount}/${environment.evidence.container}`},
      emulatorHint(options.envName, loaded, false),
    ])
  let stop: (() => Promise<void>) | undefined
  let emulator
  if (environment.cloud === 'emulator') {
    const {connectOrStartEmulator} = await import('../emulator/connect.js')
    emulator = await connectOrStartEmulator({cwd: loaded.dir, catalogFile: loaded.file, environmentName: options.envName, environment})
    stop = () => emulator!.stop()
  }
  const {createAzureServices} = await import('../azure/clients.js')
  const services = createAzureServices({environment, environmentName: options.envName, emulator})
  try {
    return await loadResumeState(options.runId, {root, env: {name: options.envName, environment}, services})
  } catch (error) {
    // An emulator environment's evidence is in the emulator that ran it. Without OPSBOOK_EMULATOR_URL this folder's own
    // emulator was asked, whose Blob store holds only this folder's runs: say how to reach the other one.
    if (environment.cloud === 'emulator' && !env.OPSBOOK_EMULATOR_URL && error instanceof ValidationError && error.problems.some((p) => p.code === 'run-not-found'))
      throw new ValidationError([...error.problems, emulatorHint(options.envName, loaded, true)])
    throw error
  } finally {
    await stop?.()
  }
}

/** Where an emulator run's evidence is, and how to reach it from another folder. */
function emulatorHint(envName: string, loaded: LoadedCatalog, asked: boolean): Problem {
  const here = `${loaded.dir}/.opsbook/emulator`
  return {
    code: 'run-not-found',
    message: `${envName} is an emulator environment: its evidence is in the emulator the run used, and ${asked ? `this folder's emulator (${here}) was asked` : `this folder has none that could hold it (none serves ${here}, and no Blob store was kept there)`}; to resume from another folder, set the OPSBOOK_EMULATOR_* variables \`opsbook emulator start\` printed for that emulator (OPSBOOK_EMULATOR_URL, OPSBOOK_EMULATOR_CA, OPSBOOK_EMULATOR_BLOB, …) and run this again`,
  }
}

/** Whether this folder's emulator can hold a run's evidence: one serves the folder now, or its Blob store was persisted here. */
async function folderEmulatorMayHold(loaded: LoadedCatalog, env: NodeJS.ProcessEnv): Promise<boolean> {
  const {emulatorStateDir} = await import('../emulator/connect.js')
  const {isLockLive, readEmulatorLock} = await import('../emulator/lock.js')
  const stateDir = emulatorStateDir({cwd: loaded.dir, catalogFile: loaded.file, env})
  const lock = readEmulatorLock(stateDir)
  if (lock && (await isLockLive(lock))) return true
  return existsSync(join(stateDir, 'blob'))
}

/** Params as recorded in run.started (secrets were redacted there and must be given again). */
function stringParams(state: ResumeState): Record<string, string> {
  return Object.fromEntries(
    Object.entries(state.params)
      .filter(([name, value]) => !state.redactedParams.includes(name) && value !== undefined && value !== null)
      .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
  )
}

/** What `resume` reports for a finished run whose evidence it only sealed: the run as its summary records it. */
function sealedResult(summary: RunSummary, root: string): RunResult {
  const dir = join(root, 'runs', summary.runId)
  return {
    runId: summary.runId,
    runbook: summary.runbook.name,
    environment: summary.environment,
    status: summary.status,
    exitCode: exitCodeForOutcome({status: summary.status, leftBehind: summary.leftBehind, nothingChanged: false}),
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    durationMs: summary.durationMs,
    ...(summary.activeMs !== undefined && summary.segments ? {activeMs: summary.activeMs, segments: summary.segments} : {}),
    steps: summary.steps.map((step) => ({id: step.id, uses: step.uses, phase: step.phase, status: step.status, durationMs: step.durationMs, attempts: step.attempts, error: step.error?.message})),
    outputs: summary.outputs,
    objectives: summary.outputs.objectives,
    leftBehind: summary.leftBehind,
    overrides: [],
    journal: join(dir, 'journal.jsonl'),
    summary: join(dir, 'summary.json'),
    warnings: [`run ${summary.runId} had finished (${summary.status}) but stopped before sealing its evidence; nothing was run again: summary.json and report.md are now sealed to the journal — \`opsbook evidence sync --env ${summary.environment}\` uploads them`],
  }
}
