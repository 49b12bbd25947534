/**
 * The blob sink: copies a run's local evidence (journal.jsonl, summary.json, report.md) to the environment's
 * evidence container under `runs/<yyyy>/<mm>/<runId>/`. The local files are the record; the sink only copies bytes
 * from them, so the blob copies are byte-identical. Journal lines go to an append blob in background batches, each
 * append conditioned on the byte offset so a retried append can never duplicate a line. What could not be copied is
 * recorded in `upload-state.json` and copied later by `syncPending` (sync.ts). A failing Blob never fails the run.
 */
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, open, readFile, stat} from 'node:fs/promises'
import {basename, join} from 'node:path'
import type {AppendBlobClient, ContainerClient} from '@azure/storage-blob'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import type {RunEventListener} from '../runbooks/events.js'
import type {Redactor} from './redact.js'
import {verifyChain} from './journal.js'
import {appendedAfterEnd, finalSeal, wasSealed, type SealedFile} from './seal.js'
import {writeRedactedFile} from './writer.js'

export const UPLOAD_STATE_FILE = 'upload-state.json'
export const REPORT_FILE = 'report.md'
/** The run's request (runbook, params without secrets) the runner writes; copied so another machine can resume. */
export const REQUEST_FILE = 'request.json'
/** Files of a run folder that go to Blob, in upload order. */
export const EVIDENCE_FILES = ['journal.jsonl', REQUEST_FILE, 'summary.json', REPORT_FILE] as const
export type EvidenceFile = (typeof EVIDENCE_FILES)[number]

/** Largest append block: 4 MiB is accepted by every service version. */
const MAX_APPEND_BYTES = 4 * 1024 * 1024

/** The environment's evidence container, ready to write to. */
export interface EvidenceTarget {
  /** Storage account name as the catalog names it. */
  account: string
  container: string
  resourceGroup?: string
  client: ContainerClient
}

/**
 * The environment's evidence container (catalog `environments.<env>.evidence`), or undefined when none is configured.
 * Nothing is contacted yet.
 */
export async function openEvidenceTarget(environment: Environment, services: Pick<AzureServices, 'blob'>): Promise<EvidenceTarget | undefined> {
  if (!environment.evidence) return undefined
  const {storageAccount, container, resourceGroup} = environment.evidence
  const client = (await services.blob(storageAccount)).getContainerClient(container)
  return {account: storageAccount, container, resourceGroup: resourceGroup ?? environment.resourceGroups[0], client}
}

/** What the summary records about the evidence container (`summary.evidenceStore`). */
export interface EvidenceStoreInfo {
  account: string
  container: string
  resourceGroup?: string
  /** Time-based retention policy, when the container has one. */
  immutabilityPolicy: {state?: string; periodDays?: number; allowProtectedAppendWrites?: boolean; allowProtectedAppendWritesAll?: boolean} | null
  legalHold: boolean
  legalHoldTags: string[]
  /** Version-level immutability (WORM per blob version). */
  immutableStorageWithVersioning: boolean
  /** Nothing stops the evidence from being changed or deleted: no locked policy, no legal hold, no version-level WORM. */
  mutable: boolean
  checkedAt: string
  /** For humans: a mutable production store, an unlocked policy, appends the policy would refuse, or why it could not be read. */
  warning?: string
  /** Set when the container's properties could not be read. */
  error?: string
}

/**
 * Read the evidence container's immutability policy and legal hold through ARM (Blob's own container properties
 * cannot show the policy state, and Azurite does not model them). Never throws: a failure is recorded in `error`.
 */
export async function describeEvidenceStore(
  environment: Environment,
  services: Pick<AzureServices, 'storage'>,
  now: () => Date = () => new Date(),
): Promise<EvidenceStoreInfo | undefined> {
  if (!environment.evidence) return undefined
  const {storageAccount: account, container} = environment.evidence
  const resourceGroup = environment.evidence.resourceGroup ?? environment.resourceGroups[0]
  const base = {account, container, resourceGroup, checkedAt: now().toISOString()}
  try {
    const storage = await services.storage()
    const props = await storage.blobContainers.get(resourceGroup, account, container)
    const policy = props.immutabilityPolicy
    const hasPolicy = Boolean(props.hasImmutabilityPolicy || policy?.state)
    const legalHold = Boolean(props.hasLegalHold || props.legalHold?.hasLegalHold)
    const versioning = Boolean(props.immutableStorageWithVersioning?.enabled)
    const locked = hasPolicy && policy?.state === 'Locked'
    const mutable = !(locked || legalHold || versioning)
    const warnings: string[] = []
    if (mutable && environment.production)
      warnings.push(
        hasPolicy
          ? `production evidence container ${account}/${container} has an unlocked immutability policy: evidence can still be deleted; lock the policy`
          : `production evidence container ${account}/${container} is mutable (no locked immutability policy or legal hold): evidence can be changed or deleted`,
      )
    if (hasPolicy && !policy?.allowProtectedAppendWrites && !policy?.allowProtectedAppendWritesAll)
      warnings.push('the immutability policy does not allow protected append writes: journal appends will be refused')
    return {
      ...base,
      immutabilityPolicy: hasPolicy
        ? {
            state: policy?.state,
            periodDays: policy?.immutabilityPeriodSinceCreationInDays,
            allowProtectedAppendWrites: policy?.allowProtectedAppendWrites,
            allowProtectedAppendWritesAll: policy?.allowProtectedAppendWritesAll,
          }
        : null,
      legalHold,
      legalHoldTags: (props.legalHold?.tags ?? []).map((t) => t.tag).filter((t): t is string => Boolean(t)),
      immutableStorageWithVersioning: versioning,
      mutable,
      warning: warnings.length ? warnings.join('; ') : undefined,
    }
  } catch (error) {
    return {
      ...base,
      immutabilityPolicy: null,
      legalHold: false,
      legalHoldTags: [],
      immutableStorageWithVersioning: false,
      mutable: true,
      error: describeError(error),
      warning: `could not read the immutability of evidence container ${account}/${container}: ${describeError(error)}`,
    }
  }
}

export interface UploadedFile {
  /** Bytes of the local file copied to Blob. For the journal a prefix of the file; others are whole or nothing. */
  uploadedBytes: number
  /** SHA-256 of the bytes copied (whole files only), to notice a rewritten summary. */
  sha256?: string
}

/** `.opsbook/runs/<runId>/upload-state.json`: what of this run is already in Blob. */
export interface UploadState {
  runId: string
  environment: string
  account: string
  container: string
  /** `runs/<yyyy>/<mm>/<runId>/`. */
  blobPrefix: string
  files: Partial<Record<EvidenceFile, UploadedFile>>
  /** True while some local bytes are not in Blob. */
  pending: boolean
  lastError?: string
  updatedAt: string
}

/**
 * Blob folder of a run: `runs/<yyyy>/<mm>/<runId>/`. The month comes from the UTC timestamp run ids start with
 * (`20261123T153000Z-…`), so anyone holding only the run id can find its evidence; other ids use `startedAt`.
 */
export function runBlobPrefix(runId: string, startedAt?: Date | string): string {
  const stamp = /^(\d{4})(\d{2})\d{2}T\d{6}Z/.exec(runId)
  if (stamp) return `runs/${stamp[1]}/${stamp[2]}/${runId}/`
  const date = startedAt === undefined ? new Date() : typeof startedAt === 'string' ? new Date(startedAt) : startedAt
  const yyyy = String(date.getUTCFullYear()).padStart(4, '0')
  const mm = String(date.getUTCMonth() + 1).padStart(2, '0')
  return `runs/${yyyy}/${mm}/${runId}/`
}

/**
 * Whether `prefix` is the folder `runId`'s evidence belongs in: for a run id with a timestamp (every id opsbook makes)
 * exactly `runBlobPrefix(runId)`, for another id `runs/<yyyy>/<mm>/<runId>/`. upload-state.json's `blobPrefix` is a
 * local file anyone can edit: a prefix that fails this is never written to or compared with (a forgery synced to
 * `…/<runId>/v2/` then verified against itself).
 */
export function isRunBlobPrefix(prefix: string, runId: string): boolean {
  if (/^\d{8}T\d{6}Z/.test(runId)) return prefix === runBlobPrefix(runId)
  return /^runs\/\d{4}\/\d{2}\/[^/]+\/$/.test(prefix) && prefix.slice('runs/yyyy/mm/'.length, -1) === runId
}

/**
 * Where a run's evidence is in the container: from the run id's timestamp, else found by listing `runs/`.
 * Undefined when the container has no journal for the run.
 */
export async function findRunBlobPrefix(target: EvidenceTarget, runId: string): Promise<string | undefined> {
  if (/^\d{8}T\d{6}Z/.test(runId)) {
    const prefix = runBlobPrefix(runId)
    return (await target.client.getBlobClient(`${prefix}journal.jsonl`).exists()) ? prefix : undefined
  }
  for await (const blob of target.client.listBlobsFlat({prefix: 'runs/'})) {
    const prefix = blob.name.slice(0, -'journal.jsonl'.length)
    if (blob.name.endsWith('/journal.jsonl') && isRunBlobPrefix(prefix, runId)) return prefix
  }
  return undefined
}

export async function readUploadState(runDirectory: string): Promise<UploadState | undefined> {
  const path = join(runDirectory, UPLOAD_STATE_FILE)
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(await readFile(path, 'utf8')) as UploadState
  } catch {
    return undefined
  }
}

/**
 * Copies one run folder's files to Blob, picking up where `upload-state.json` says the last copy stopped.
 * Used by the live sink and by `syncPending`. Methods throw on Blob errors; callers decide what a failure means.
 */
export class RunUploader {
  private containerReady = false
  private appendBlobReady = false

  constructor(
    readonly runDirectory: string,
    readonly target: EvidenceTarget,
    readonly state: UploadState,
    private readonly timeoutMs: number,
  ) {}

  /** Load the run's upload state (or start one) for `target`. */
  static async open(
    runDirectory: string,
    target: EvidenceTarget,
    run: {runId: string; environment: string; startedAt: Date | string},
    options: {timeoutMs?: number} = {},
  ): Promise<RunUploader> {
    const existing = await readUploadState(runDirectory)
    const sameTarget = existing && existing.account === target.account && existing.container === target.container
    if (sameTarget && !isRunBlobPrefix(existing.blobPrefix, run.runId))
      throw new EvidenceConflictError(
        `upload-state.json sends run ${run.runId}'s evidence to ${existing.blobPrefix}, not to its own folder ${runBlobPrefix(run.runId, run.startedAt)}: the file was edited; not uploading`,
      )
    const state: UploadState = sameTarget
      ? existing
      : {
          runId: run.runId,
          environment: run.environment,
          account: target.account,
          container: target.container,
          blobPrefix: runBlobPrefix(run.runId, run.startedAt),
          files: {},
          pending: true,
          updatedAt: new Date().toISOString(),
        }
    return new RunUploader(runDirectory, target, state, options.timeoutMs ?? 15_000)
  }

  blobName(file: EvidenceFile): string {
    return `${this.state.blobPrefix}${file}`
  }

  /** Copy the journal's complete lines not yet in Blob. Returns the bytes appended. */
  async uploadJournal(durableBytes = Number.POSITIVE_INFINITY): Promise<number> {
    const path = join(this.runDirectory, 'journal.jsonl')
    if (!existsSync(path)) return 0
    const handle = await open(path, 'r')
    try {
      const fileSize = (await handle.stat()).size
      let offset = this.state.files['journal.jsonl']?.uploadedBytes ?? 0
      if (offset > fileSize)
        throw new EvidenceConflictError(`local journal.jsonl has ${fileSize} bytes, fewer than the ${offset} already in Blob: it was changed after upload; not uploading`)
      const size = Math.min(fileSize, durableBytes)
      if (offset >= size) return 0
      const blob = this.target.client.getAppendBlobClient(this.blobName('journal.jsonl'))
      await this.ensureAppendBlob(blob, handle, offset)
      offset = this.state.files['journal.jsonl']?.uploadedBytes ?? 0
      let appended = 0
      while (offset < size) {
        const length = Math.min(MAX_APPEND_BYTES, size - offset)
        const buffer = Buffer.alloc(length)
        await handle.read(buffer, 0, length, offset)
        // Only whole lines: a line being written right now waits for the next batch.
        const end = buffer.lastIndexOf(0x0a) + 1
        if (end === 0) break
        const chunk = buffer.subarray(0, end)
        const newOffset = await this.appendAt(blob, handle, chunk, offset)
        appended += newOffset - offset
        offset = newOffset
        this.state.files['journal.jsonl'] = {uploadedBytes: offset}
      }
      return appended
    } finally {
      await handle.close()
    }
  }

  /**
   * Copy a whole file (request.json, summary.json, report.md) if it exists and differs from what was copied. Evidence
   * is never overwritten: the first write is conditional on the blob not existing (If-None-Match: *), and an existing
   * blob with other content is replaced only when the journal shows why — a resume sealed a new version after a seal
   * that recorded the blob's version — and then only if it is still that version (If-Match: its ETag). Anything else
   * is an EvidenceConflictError naming both hashes. A local file that contradicts the journal's seal is not uploaded.
   * Conditional headers: https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
   * `verifiedJournal`: the local journal's text when the caller has already checked its chain.
   */
  async uploadWholeFile(file: Exclude<EvidenceFile, 'journal.jsonl'>, verifiedJournal?: string): Promise<boolean> {
    const path = join(this.runDirectory, file)
    if (!existsSync(path)) return false
    const bytes = await readFile(path)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const done = this.state.files[file]
    if (done?.sha256 === sha256 && done.uploadedBytes === bytes.length) return false
    const journalText = verifiedJournal ?? (await this.localJournalText())
    const seal = finalSeal(journalText)
    const sealed = seal?.files[file as SealedFile]
    // summary.json and report.md are written at a run's end, right before the seal that binds them. Without that seal
    // as the journal's last line (the seal could not be written: disk full, crash) they are bound to nothing yet: they
    // wait, so Blob never holds an unsealed version a resume's sealed one would then conflict with.
    if (!sealed && file !== REQUEST_FILE) return false
    if (sealed && sealed.sha256 !== sha256)
      throw new EvidenceConflictError(
        `local ${file} (SHA-256 ${sha256}) does not match the SHA-256 ${sealed.sha256} sealed at journal.jsonl line ${seal!.line}: it was changed after the run; not uploading it`,
      )
    await this.ensureContainer()
    const blob = this.target.client.getBlockBlobClient(this.blobName(file))
    const headers = {blobContentType: file.endsWith('.json') ? 'application/json' : 'text/markdown; charset=utf-8'}
    try {
      await blob.upload(bytes, bytes.length, {blobHTTPHeaders: headers, conditions: {ifNoneMatch: '*'}, abortSignal: AbortSignal.timeout(this.timeoutMs)})
    } catch (error) {
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error
      const existing = await blob.download(0, undefined, {abortSignal: AbortSignal.timeout(this.timeoutMs)})
      const remote = await streamToBuffer(existing.readableStreamBody)
      const remoteSha = createHash('sha256').update(remote).digest('hex')
      if (remoteSha !== sha256) {
        const superseded = sealed !== undefined && wasSealed(journalText, file as SealedFile, remoteSha)
        if (!superseded)
          throw new EvidenceConflictError(
            `blob ${this.target.account}/${this.target.container}/${blob.name} already holds SHA-256 ${remoteSha}; the local ${file} has SHA-256 ${sha256}: not overwriting evidence`,
          )
        await blob.upload(bytes, bytes.length, {blobHTTPHeaders: headers, conditions: {ifMatch: existing.etag}, abortSignal: AbortSignal.timeout(this.timeoutMs)})
      }
    }
    this.state.files[file] = {uploadedBytes: bytes.length, sha256}
    return true
  }

  /** The local journal's complete lines; throws when their chain is broken (a damaged journal is never uploaded). */
  private async localJournalText(): Promise<string> {
    const path = join(this.runDirectory, 'journal.jsonl')
    if (!existsSync(path)) return ''
    const text = await readFile(path, 'utf8')
    const complete = text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1)
    const chain = verifyChain(complete)
    if (!chain.ok) throw new EvidenceConflictError(`local journal.jsonl is damaged at line ${chain.firstBad!.line} (${chain.firstBad!.reason}): not uploading it`)
    const appended = appendedAfterEnd('local ', complete)
    if (appended.length > 0) throw new EvidenceConflictError(`${appended[0]}: not uploading it`)
    return complete
  }

  /** Copy everything pending; records the outcome in upload-state.json and rethrows the first error. */
  async uploadAll(): Promise<UploadState> {
    try {
      // Verified once: every file below is checked against this chain (re-reading it per file cost a full pass each).
      const journalText = await this.localJournalText()
      await this.uploadJournal()
      for (const file of [REQUEST_FILE, 'summary.json', REPORT_FILE] as const) await this.uploadWholeFile(file, journalText)
      this.state.lastError = undefined
    } catch (error) {
      this.state.lastError = describeError(error)
      throw error
    } finally {
      await this.save()
    }
    return this.state
  }

  /** Whether local bytes remain that Blob does not have. */
  async computePending(): Promise<boolean> {
    for (const file of EVIDENCE_FILES) {
      const path = join(this.runDirectory, file)
      if (!existsSync(path)) continue
      const size = (await stat(path)).size
      const done = this.state.files[file]
      if (!done || done.uploadedBytes < size) return true
      if (file !== 'journal.jsonl' && done.uploadedBytes !== size) return true
    }
    return false
  }

  /**
   * The sink gave up waiting (finish timed out) and wrote its last state: uploads still running in the background
   * must not write an older view over what `evidence sync` has recorded since (a sync's pending: false became true).
   */
  private stopped = false
  stop(): void {
    this.stopped = true
  }

  async save(options: {final?: boolean} = {}): Promise<void> {
    if (this.stopped && !options.final) return
    const pending = await this.computePending()
    // Stopped while computing (a batch's save racing finish()): what is recorded from now on is the sink's final save,
    // then `evidence sync`'s.
    if (this.stopped && !options.final) return
    this.state.pending = pending
    this.state.updatedAt = new Date().toISOString()
    const path = join(this.runDirectory, UPLOAD_STATE_FILE)
    await mkdir(this.runDirectory, {recursive: true})
    if (this.stopped && !options.final) return
    // Write then rename: a crash mid-write must not leave a state file that claims nothing was uploaded.
    await writeRedactedFile(path, {json: this.state})
  }

  private async ensureContainer(): Promise<void> {
    if (this.containerReady) return
    try {
      await this.target.client.createIfNotExists({abortSignal: AbortSignal.timeout(this.timeoutMs)})
    } catch (error) {
      // A writer may lack permission to create containers; the write itself will say if the container is missing.
      if (statusOf(error) !== 403) throw error
    }
    this.containerReady = true
  }

  private async ensureAppendBlob(blob: AppendBlobClient, handle: Awaited<ReturnType<typeof open>>, offset: number): Promise<void> {
    if (this.appendBlobReady) return
    await this.ensureContainer()
    const created = await blob.createIfNotExists({
      blobHTTPHeaders: {blobContentType: 'application/x-ndjson'},
      abortSignal: AbortSignal.timeout(this.timeoutMs),
    })
    if (!created.succeeded) {
      // The blob exists (an earlier process, or a lost upload-state): adopt its length if its bytes are ours.
      const length = (await blob.getProperties({abortSignal: AbortSignal.timeout(this.timeoutMs)})).contentLength ?? 0
      if (length !== offset) await this.adoptRemoteLength(blob, handle, length)
      else if (length > 0) await this.checkRemoteTail(blob, handle, length)
    }
    this.appendBlobReady = true
  }

  /** Append `chunk` at `offset`; on an offset conflict, reconcile with what the blob already holds. */
  private async appendAt(blob: AppendBlobClient, handle: Awaited<ReturnType<typeof open>>, chunk: Buffer, offset: number): Promise<number> {
    try {
      await blob.appendBlock(chunk, chunk.length, {
        conditions: {appendPosition: offset},
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      })
      return offset + chunk.length
    } catch (error) {
      if ((error as {code?: string})?.code !== 'AppendPositionConditionNotMet' && statusOf(error) !== 412) throw error
      // A previous append landed but its answer was lost (or another process synced): check the bytes, then move on.
      const length = (await blob.getProperties({abortSignal: AbortSignal.timeout(this.timeoutMs)})).contentLength ?? 0
      return this.adoptRemoteLength(blob, handle, length)
    }
  }

  /**
   * Before appending after bytes an earlier process uploaded: the blob's last bytes must still be the local ones. The
   * local chain was verified, and each line carries the hash of the one before, so an equal last line means an equal
   * journal — a local edit (even with the chain recomputed) is refused instead of appended to the evidence.
   */
  private async checkRemoteTail(blob: AppendBlobClient, handle: Awaited<ReturnType<typeof open>>, length: number): Promise<void> {
    const start = Math.max(0, length - 64 * 1024)
    const remote = await blob.downloadToBuffer(start, length - start, {abortSignal: AbortSignal.timeout(this.timeoutMs)})
    const local = Buffer.alloc(length - start)
    await handle.read(local, 0, local.length, start)
    if (!remote.equals(local))
      throw new EvidenceConflictError(
        `blob ${blob.name} differs from the local journal before byte ${length} (blob tail SHA-256 ${sha256(remote)}, local ${sha256(local)}): the local journal was changed after upload; not appending to the evidence`,
      )
  }

  private async adoptRemoteLength(blob: AppendBlobClient, handle: Awaited<ReturnType<typeof open>>, length: number): Promise<number> {
    const localSize = (await handle.stat()).size
    if (length > localSize) throw new Error(`blob ${blob.name} holds ${length} bytes, more than the local journal's ${localSize}: not overwriting evidence`)
    const remote = length === 0 ? Buffer.alloc(0) : await blob.downloadToBuffer(0, length, {abortSignal: AbortSignal.timeout(this.timeoutMs)})
    const local = Buffer.alloc(length)
    if (length > 0) await handle.read(local, 0, length, 0)
    if (!remote.equals(local)) throw new Error(`blob ${blob.name} differs from the local journal: not overwriting evidence`)
    this.state.files['journal.jsonl'] = {uploadedBytes: length}
    return length
  }
}

export interface BlobSinkOptions {
  /** `.opsbook` folder. */
  root: string
  runId: string
  environmentName: string
  startedAt: Date
  target: EvidenceTarget
  /** How long events are gathered before a batch goes out. Default 1000 ms. */
  batchMs?: number
  /** Per-request time limit, so an unreachable Blob cannot hold a batch for long. Default 15 s. */
  requestTimeoutMs?: number
  /** After a failed batch, wait this long before trying again. Default 5 s. */
  retryAfterMs?: number
  /** A warning for humans (shown once per kind of failure); never throws. */
  warn?: (message: string) => void
  /** Journal bytes already fsynced (Journal.durableBytes): a batch copies no further, so Blob never leads the disk. */
  durableBytes?: () => number
}

/**
 * Streams one run's evidence to Blob while it runs. Subscribe `listener` after the journal: it only schedules a
 * batch and returns at once, so uploads never slow the run. Call `finish` after summary.json is written.
 */
export class BlobSink {
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private lastFailureAt = 0
  private warned = false

  private constructor(
    private readonly options: BlobSinkOptions,
    private readonly uploader: RunUploader,
  ) {}

  static async open(options: BlobSinkOptions): Promise<BlobSink> {
    const uploader = await RunUploader.open(
      join(options.root, 'runs', options.runId),
      options.target,
      {runId: options.runId, environment: options.environmentName, startedAt: options.startedAt},
      {timeoutMs: options.requestTimeoutMs},
    )
    await uploader.save()
    return new BlobSink(options, uploader)
  }

  /** Run-event subscriber: schedules a background batch; never waits, never throws. */
  readonly listener: RunEventListener = () => {
    this.schedule()
  }

  /** Where the blobs go. */
  get blobPrefix(): string {
    return this.uploader.state.blobPrefix
  }

  get state(): UploadState {
    return this.uploader.state
  }

  /**
   * Copy whatever is left (journal tail, summary.json, report.md) within `timeoutMs` (default 20 s), and record the
   * rest as pending. Resolves with the upload state; never rejects.
   */
  /** Uploads finish() stopped waiting for (settles when they end); for tests. */
  abandoned?: Promise<unknown>

  async finish(options: {timeoutMs?: number} = {}): Promise<UploadState> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const all = this.flushing.then(() => this.uploader.uploadAll())
    let timeout: NodeJS.Timeout | undefined
    const limit = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 20_000)
    })
    try {
      const outcome = await Promise.race([all.then(() => 'done' as const), limit])
      if (outcome === 'timeout') this.warnOnce('evidence upload to Blob is slow; the rest stays pending for `opsbook evidence sync`')
    } catch (error) {
      this.warnOnce(`could not copy evidence to Blob (${describeError(error)}); it stays pending for \`opsbook evidence sync\``)
    } finally {
      clearTimeout(timeout)
    }
    all.catch(() => {})
    // What is still running goes on without writing the state file: this is the sink's last word on it.
    this.uploader.stop()
    this.abandoned = all.catch(() => undefined)
    await this.uploader.save({final: true}).catch(() => {})
    return this.uploader.state
  }

  private schedule(): void {
    if (this.timer) return
    const sinceFailure = Date.now() - this.lastFailureAt
    const retryAfter = this.options.retryAfterMs ?? 5000
    const delay = Math.max(this.options.batchMs ?? 1000, this.lastFailureAt ? retryAfter - sinceFailure : 0)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flushing = this.flushing.then(() => this.flushJournal())
    }, delay)
    this.timer.unref()
  }

  private async flushJournal(): Promise<void> {
    try {
      await this.uploader.uploadJournal(this.options.durableBytes?.())
      this.lastFailureAt = 0
      this.uploader.state.lastError = undefined
    } catch (error) {
      this.lastFailureAt = Date.now()
      this.uploader.state.lastError = describeError(error)
      this.warnOnce(`evidence upload to Blob failed (${describeError(error)}); the run continues and the journal stays pending`)
    }
    await this.uploader.save().catch(() => {})
  }

  private warnOnce(message: string): void {
    if (this.warned) return
    this.warned = true
    try {
      this.options.warn?.(message)
    } catch {
      // a warning must never fail the run
    }
  }
}

/**
 * Write `report.md` beside a finished run's summary.json (the human report that goes to Blob with it). Returns false
 * when the run has no summary yet. The report is derived from the local files only.
 */
export async function writeRunReport(runDirectory: string, redactor?: Redactor): Promise<boolean> {
  const summaryPath = join(runDirectory, 'summary.json')
  const journalPath = join(runDirectory, 'journal.jsonl')
  if (!existsSync(summaryPath) || !existsSync(journalPath)) return false
  const {describeRun, toRunRow} = await import('./export.js')
  const {renderRunReportMd} = await import('./report-md.js')
  const runId = basename(runDirectory)
  const run = describeRun(runId, 'local', await readFile(journalPath, 'utf8'), await readFile(summaryPath, 'utf8'))
  await writeRedactedFile(join(runDirectory, REPORT_FILE), {text: renderRunReportMd(toRunRow(run))}, {redactor})
  return true
}

/** Blob already holds different evidence for a file, or the local copy contradicts its own chain: nothing is overwritten. */
export class EvidenceConflictError extends Error {
  override readonly name = 'EvidenceConflictError'
  readonly code = 'evidence-conflict'
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks)
}

export function describeError(error: unknown): string {
  const e = error as {code?: string; statusCode?: number; message?: string}
  const parts = [e?.statusCode ? String(e.statusCode) : undefined, e?.code].filter(Boolean)
  const message = (e?.message ?? String(error)).split('\n')[0]
  return parts.length ? `${parts.join(' ')}: ${message}` : message
}

export function statusOf(error: unknown): number | undefined {
  return (error as {statusCode?: number})?.statusCode
}
