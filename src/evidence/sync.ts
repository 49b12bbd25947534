/**
 * `opsbook evidence sync`: copy to Blob whatever earlier runs could not (Blob unreachable, process killed, laptop
 * offline). Also started in the background when a run begins. Safe to run while another process uploads the same
 * run: every journal append is conditioned on its byte offset, so nothing is written twice.
 */
import {existsSync} from 'node:fs'
import {readdir, readFile, stat} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import {describeError, EVIDENCE_FILES, openEvidenceTarget, readUploadState, runBlobPrefix, RunUploader, type EvidenceTarget} from './blob-sink.js'
import {describeRun} from './export.js'
import {LOCK_FILE} from './journal.js'

export interface SyncedRun {
  runId: string
  /** `uploaded`: bytes were copied; `up-to-date`: Blob already had everything; `failed`: see error (still pending). */
  status: 'uploaded' | 'up-to-date' | 'failed'
  /** Bytes copied by this sync, all files together. */
  uploadedBytes: number
  blobPrefix: string
  error?: string
}

export interface SyncResult {
  environment: string
  account: string
  container: string
  runs: SyncedRun[]
  /** Runs still pending after this sync. */
  pending: number
}

/**
 * Upload the pending evidence of every local run of `env` (runs under `<root>/runs/`). Per-run failures are reported,
 * not thrown; returns undefined when the environment has no evidence container configured.
 */
export async function syncPending(
  root: string,
  env: {name: string; environment: Environment},
  services: Pick<AzureServices, 'blob'>,
  options: {target?: EvidenceTarget; runIds?: string[]; timeoutMs?: number; includeLive?: boolean} = {},
): Promise<SyncResult | undefined> {
  const target = options.target ?? (await openEvidenceTarget(env.environment, services))
  if (!target) return undefined
  const result: SyncResult = {environment: env.name, account: target.account, container: target.container, runs: [], pending: 0}
  const runsDir = join(root, 'runs')
  if (!existsSync(runsDir)) return result
  const names = (await readdir(runsDir, {withFileTypes: true})).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  for (const runId of names) {
    if (options.runIds && !options.runIds.includes(runId)) continue
    const dir = join(runsDir, runId)
    const run = await runIdentity(dir, runId)
    if (!run || run.environment !== env.name) continue
    // A run still being written by a live process streams its own evidence.
    if (!options.includeLive && (await heldByLiveProcess(dir))) continue
    let uploader: RunUploader
    try {
      uploader = await RunUploader.open(dir, target, run, {timeoutMs: options.timeoutMs})
    } catch (error) {
      // An upload state that names another blob folder than the run's (edited): this run fails, the others go on.
      result.runs.push({runId, status: 'failed', uploadedBytes: 0, blobPrefix: runBlobPrefix(runId, run.startedAt), error: describeError(error)})
      result.pending++
      continue
    }
    if (!(await uploader.computePending())) {
      result.runs.push({runId, status: 'up-to-date', uploadedBytes: 0, blobPrefix: uploader.state.blobPrefix})
      continue
    }
    const before = uploadedTotal(uploader)
    try {
      await uploader.uploadAll()
      result.runs.push({runId, status: 'uploaded', uploadedBytes: uploadedTotal(uploader) - before, blobPrefix: uploader.state.blobPrefix})
    } catch (error) {
      result.runs.push({runId, status: 'failed', uploadedBytes: uploadedTotal(uploader) - before, blobPrefix: uploader.state.blobPrefix, error: describeError(error)})
    }
    if (uploader.state.pending) result.pending++
  }
  return result
}

/** Local runs whose evidence is not (completely) in Blob yet. */
export async function listPendingRuns(root: string): Promise<string[]> {
  const runsDir = join(root, 'runs')
  if (!existsSync(runsDir)) return []
  const pending: string[] = []
  for (const entry of await readdir(runsDir, {withFileTypes: true})) {
    if (!entry.isDirectory()) continue
    const dir = join(runsDir, entry.name)
    const state = await readUploadState(dir)
    if (!state) {
      if (existsSync(join(dir, 'journal.jsonl'))) pending.push(entry.name)
      continue
    }
    for (const file of EVIDENCE_FILES) {
      const path = join(dir, file)
      if (existsSync(path) && (state.files[file]?.uploadedBytes ?? 0) !== (await stat(path)).size) {
        pending.push(entry.name)
        break
      }
    }
  }
  return pending.sort()
}

async function runIdentity(dir: string, runId: string): Promise<{runId: string; environment: string; startedAt: string} | undefined> {
  const journalPath = join(dir, 'journal.jsonl')
  if (!existsSync(journalPath)) return undefined
  const state = await readUploadState(dir)
  const journal = await readFile(journalPath, 'utf8')
  const summaryPath = join(dir, 'summary.json')
  const summary = existsSync(summaryPath) ? await readFile(summaryPath, 'utf8') : undefined
  const run = describeRun(runId, 'local', journal, summary)
  const environment = state?.environment ?? run.environment
  return environment ? {runId, environment, startedAt: run.startedAt} : undefined
}

async function heldByLiveProcess(dir: string): Promise<boolean> {
  const path = join(dir, LOCK_FILE)
  if (!existsSync(path)) return false
  try {
    const lock = JSON.parse(await readFile(path, 'utf8')) as {pid?: number; host?: string}
    if (!lock.pid || (lock.host && lock.host !== hostname())) return false
    process.kill(lock.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function uploadedTotal(uploader: RunUploader): number {
  return Object.values(uploader.state.files).reduce((sum, f) => sum + (f?.uploadedBytes ?? 0), 0)
}

export interface EvidenceConnection {
  environmentName: string
  environment: Environment
  services: AzureServices
  /** Undefined when the environment has no evidence storage configured. */
  target?: EvidenceTarget
  /** Stop an emulator this connection started. */
  close(): Promise<void>
}

/**
 * Connect to an environment's evidence container the way a run does: the embedded emulator for `cloud: emulator`
 * (the one named by OPSBOOK_EMULATOR_URL, or one started in-process on the project's persisted state), else Azure.
 */
export async function connectEvidence(options: {envName: string; catalogFlag?: string; cwd?: string}): Promise<EvidenceConnection> {
  const {getEnvironment, loadCatalog} = await import('../catalog/loader.js')
  const cwd = options.cwd ?? process.cwd()
  const loaded = loadCatalog({flag: options.catalogFlag, cwd})
  const environment = getEnvironment(loaded, options.envName)
  let emulator: (import('../azure/clients.js').EmulatorEndpoints & {stop(): Promise<void>}) | undefined
  if (environment.cloud === 'emulator') {
    const {connectOrStartEmulator} = await import('../emulator/connect.js')
    emulator = await connectOrStartEmulator({cwd: loaded.dir, catalogFile: loaded.file, environmentName: options.envName, environment})
  }
  const {createAzureServices} = await import('../azure/clients.js')
  const services = createAzureServices({environment, environmentName: options.envName, emulator})
  return {
    environmentName: options.envName,
    environment,
    services,
    target: await openEvidenceTarget(environment, services),
    close: async () => {
      await emulator?.stop()
    },
  }
}
