/**
 * The run journal: `.opsbook/runs/<runId>/journal.jsonl`, one event per line, each line carrying the SHA-256 of the
 * previous line's exact bytes, so any edit, insertion or removal breaks the chain at a line we can name.
 * Every append is written and fsynced before it resolves: the journal is the record even if the process dies next.
 * Appends made in the same tick are written and fsynced together (group commit: one write and one fsync for the
 * group, each append resolving when its group is on disk), so a burst of events costs one fsync, not one each.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {mkdir, open, readFile, rmdir, type FileHandle} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import type {RunEvent} from '../runbooks/events.js'
import {ValidationError} from '../errors.js'
import {Redactor} from './redact.js'
import {redactedBytes} from './writer.js'
import {acquireRunLock, releaseRunLock, RUN_LOCK_FILE} from './run-lock.js'
import {journalText, NOT_JSON, sha256Hex, type JournalText} from './journal-text.js'

export {journalText, JournalText, NOT_JSON, sha256Hex} from './journal-text.js'

export const JOURNAL_FILE = 'journal.jsonl'
export const SUMMARY_FILE = 'summary.json'
/** Present while a process is writing the run; names its pid so `runs list` can tell running from crashed. */
export const LOCK_FILE = RUN_LOCK_FILE
export const GENESIS_HASH = '0'.repeat(64)
/** Type of the line that ends a run and binds its other files to the chain (seal.ts). */
export const SEAL_EVENT = 'evidence.sealed'

/** One line of journal.jsonl. */
export interface JournalLine {
  seq: number
  ts: string
  runId: string
  type: RunEvent['type']
  step: string | null
  /** The event minus `type` and `step`, redacted. */
  data: Record<string, unknown>
  /** SHA-256 hex of the previous line (without its newline); 64 zeros on the first line. */
  prev: string
}

export interface ChainCheck {
  ok: boolean
  /** Number of lines read. */
  lines: number
  /** SHA-256 of the last line: compare with summary.json / the blob copy to detect a changed or dropped tail. */
  lastHash: string
  /** The first line (1-based) that does not fit the chain, and why. */
  firstBad?: {line: number; reason: string}
}

/** The `.opsbook` folder runs are kept under, by default the one in the working directory. */
export function defaultRunsRoot(cwd: string = process.cwd()): string {
  return resolve(cwd, '.opsbook')
}

/** What a run id may look like: newRunId's shape, or a prefix of it. No separators, no `..`, nothing a path can escape with. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/

/** A run id from a user (or a file) that is safe to put in a path; anything else is invalid input (exit 2). */
export function assertRunId(runId: string): string {
  if (!RUN_ID.test(runId) || runId.length > 200)
    throw new ValidationError([{code: 'invalid-run-id', message: `"${runId.slice(0, 80)}" is not a run id (letters, digits, dashes, e.g. 20261123T153000Z-dr-drill-7f3a)`}])
  return runId
}

/** Folder of one run: `<root>/runs/<runId>`. The id is checked so that no id can name a folder outside `runs/`. */
export function runDir(root: string, runId: string): string {
  return join(root, 'runs', assertRunId(runId))
}


/**
 * A new run id: UTC timestamp, runbook name and 4 random hex digits, e.g. `20261123T153000Z-dr-drill-7f3a`.
 * Ids sort by start time; the random suffix keeps two runs started in the same second apart.
 */
export function newRunId(runbookName: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
  const slug =
    runbookName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'run'
  return `${stamp}-${slug}-${randomBytes(2).toString('hex')}`
}

/** Appends events to one run's journal. Create with `Journal.create` (new run) or `Journal.open` (resume). */
export class Journal {
  readonly path: string
  readonly dir: string
  private seq: number
  private lastHash: string
  /** Appends waiting for the next group write, in call order. */
  private pending: PendingAppend[] = []
  /** The group write in progress (or settled), which the next group follows. */
  private flushing: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private closed = false
  /** Bytes of complete lines: a failed write is cut back to here, so the file never ends in half a line. */
  private bytes: number
  /** fsyncs done so far (one per group written). */
  private syncCount = 0
  /** The first write that failed: every later append is refused with it, so the journal never has a hole. */
  private failure: JournalWriteError | undefined

  private constructor(
    readonly runId: string,
    dir: string,
    private readonly handle: FileHandle,
    private readonly redactor: Redactor,
    private readonly now: () => Date,
    state: {seq: number; lastHash: string; bytes: number},
    private readonly sync: JournalSync = 'grouped',
  ) {
    this.bytes = state.bytes
    this.dir = dir
    this.path = join(dir, JOURNAL_FILE)
    this.seq = state.seq
    this.lastHash = state.lastHash
  }

  /** Start the journal of a new run; fails if the run already has one. */
  static async create(runId: string, options: {root?: string; redactor?: Redactor; now?: () => Date; sync?: JournalSync} = {}): Promise<Journal> {
    const dir = runDir(options.root ?? defaultRunsRoot(), runId)
    let handle: Awaited<ReturnType<typeof open>>
    try {
      await mkdir(dir, {recursive: true})
      await acquireRunLock(dir, runId)
      handle = await open(join(dir, JOURNAL_FILE), 'wx')
    } catch (error) {
      // Only a file-system error (errno code); a live lock holder (GuardError, exit 5) or an existing journal go as they are.
      const code = (error as NodeJS.ErrnoException)?.code
      if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code) || code === 'EEXIST' || (error as {exitCode?: unknown}).exitCode !== undefined) throw error
      // A full or read-only disk before the first line: say so plainly (not a bare ENOSPC), and leave nothing behind.
      await releaseRunLock(dir).catch(() => undefined)
      await rmdir(dir).catch(() => undefined)
      throw new JournalWriteError(join(dir, JOURNAL_FILE), 0, error, {creating: true})
    }
    return new Journal(runId, dir, handle, options.redactor ?? new Redactor(), options.now ?? (() => new Date()), {seq: 0, lastHash: GENESIS_HASH, bytes: 0}, options.sync)
  }

  /**
   * Continue an existing run's journal (resume): the chain carries on from its last line. A partial last line (the
   * process died mid-write) is cut off and the cut is recorded as a `run.note`, so the chain stays whole and honest.
   */
  static async open(runId: string, root: string = defaultRunsRoot(), options: {redactor?: Redactor; now?: () => Date; sync?: JournalSync} = {}): Promise<Journal> {
    const dir = runDir(root, runId)
    const path = join(dir, JOURNAL_FILE)
    // Before reading: a second live process of this run (a concurrent resume) is refused here (exit 5).
    await acquireRunLock(dir, runId)
    const text = await journalFileStep(path, `read run ${runId}'s journal to continue it`, () => readFile(path, 'utf8'))
    const complete = text === '' || text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1)
    const check = verifyChain(complete)
    if (!check.ok) throw new Error(`journal ${path} is damaged at line ${check.firstBad!.line}: ${check.firstBad!.reason}`)
    const handle = await journalFileStep(path, `open run ${runId}'s journal to cut a partial last line`, () => open(path, 'r+'))
    const partial = Buffer.byteLength(text) - Buffer.byteLength(complete)
    if (partial > 0) await handle.truncate(Buffer.byteLength(complete))
    await handle.close()
    const appender = await journalFileStep(path, `open run ${runId}'s journal for appending`, () => open(path, 'a'))
    const journal = new Journal(runId, dir, appender, options.redactor ?? new Redactor(), options.now ?? (() => new Date()), {
      seq: check.lines,
      lastHash: check.lastHash,
      bytes: Buffer.byteLength(complete),
    }, options.sync)
    if (partial > 0)
      await journal.append({
        type: 'run.note',
        message: `discarded a partial last line (${partial} bytes) left when the previous process stopped mid-write`,
        data: {discardedSha256: sha256Hex(text.slice(complete.length))},
      })
    return journal
  }

  /** Lines written so far (including those from before a resume). */
  get lines(): number {
    return this.seq
  }

  /** Hash of the last line written. */
  get hash(): string {
    return this.lastHash
  }

  /** Line count and last hash together, as summary.json records them. */
  get state(): {lines: number; lastHash: string} {
    return {lines: this.seq, lastHash: this.lastHash}
  }

  /** fsyncs this process did for the journal: one per group of appends (the benchmark shows how many events share one). */
  get fsyncs(): number {
    return this.syncCount
  }

  /** Bytes of the journal known to be on disk (fsynced): what may be shown, and copied to Blob. */
  get durableBytes(): number {
    return this.bytes
  }

  /**
   * Write one event (redacted) and fsync it; resolves with its line once it is on disk. Appends are written in call
   * order; those made in the same tick share one write and one fsync. If a group cannot be written, every append in
   * it rejects, the file is cut back to the last complete line, and so does every later append: a line written after
   * a lost one (a smaller line that fits on the nearly full disk) would tell a story with a gap in it — a step that
   * succeeded without having started, an earlier step missing — on a chain that still verifies (issue 16, a run on a
   * full disk). The journal ends at its last complete line; `opsbook resume` (Journal.open) continues it from there.
   */
  append(event: RunEvent): Promise<JournalLine> {
    if (this.closed) return Promise.reject(new Error(`journal of run ${this.runId} is closed`))
    return new Promise<JournalLine>((resolve, reject) => {
      this.pending.push({event, ts: this.now().toISOString(), resolve, reject})
      this.scheduleFlush()
    })
  }

  /** Flush pending appends, close the file and drop the lock. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // A scheduled flush is always on the `flushing` chain; flushes schedule their own follow-up while appends wait.
    while (this.flushScheduled || this.pending.length > 0) await this.flushing
    await this.flushing
    await this.handle.close()
    await releaseRunLock(this.dir)
  }

  /**
   * After the current tick (so the whole burst joins one group) and after the group being written: waiting for the
   * previous fsync is what gathers the next group.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.flushing = this.flushing.then(() => new Promise<void>((resolve) => setImmediate(() => resolve(this.nextFlush()))))
  }

  private async nextFlush(): Promise<void> {
    this.flushScheduled = false
    if (this.pending.length === 0) return
    // `per-event` is the old one-fsync-per-line behaviour, kept for the benchmark's side-by-side figure.
    const group = this.sync === 'per-event' ? this.pending.splice(0, 1) : this.pending.splice(0)
    if (this.pending.length > 0) this.scheduleFlush()
    await this.writeGroup(group)
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    if (this.failure) {
      for (const append of group) append.reject(this.failure)
      return
    }
    let seq = this.seq
    let prev = this.lastHash
    const lines: JournalLine[] = []
    const texts: string[] = []
    let bytes: Buffer
    try {
      for (const {event, ts} of group) {
        const {type, step, ...rest} = event as RunEvent & {step?: string}
        const line: JournalLine = {seq: seq + 1, ts, runId: this.runId, type, step: step ?? null, data: rest as Record<string, unknown>, prev}
        // The same writer as every other file: the line is redacted by construction.
        const text = redactedBytes({json: line, line: true}, this.redactor).toString('utf8')
        lines.push(line)
        texts.push(text)
        seq = line.seq
        prev = sha256Hex(text)
      }
      bytes = Buffer.from(`${texts.join('\n')}\n`)
    } catch (error) {
      for (const append of group) append.reject(error)
      return
    }
    try {
      // At an explicit position: after a cut-back, the next line goes where the cut one began.
      await this.writeFully(bytes, this.bytes)
      await this.handle.sync()
      this.syncCount++
    } catch (error) {
      // A full disk can take half a line: cut it off so the journal stays parseable and resumable.
      await this.handle.truncate(this.bytes).catch(() => undefined)
      const failure = new JournalWriteError(this.path, this.seq, error)
      this.failure = failure
      for (const append of group) append.reject(failure)
      return
    }
    this.bytes += bytes.length
    this.seq = seq
    this.lastHash = prev
    for (const [index, append] of group.entries()) append.resolve(lines[index]!)
  }

  /**
   * Write all of `bytes` at `position`. write(2) may write less than asked and say so only by its count — on a
   * filling disk it writes what fits, and the next call fails with ENOSPC — so the rest is written until done.
   * Taking a short count for the whole buffer put the next line past the end of the file (a hole of NUL bytes,
   * a broken chain) on a real full tmpfs.
   */
  private async writeFully(bytes: Buffer, position: number): Promise<void> {
    let offset = 0
    while (offset < bytes.length) {
      const at = position + offset
      let length = bytes.length - offset
      const fullAt = diskFullAtBytes()
      if (fullAt !== undefined && at + length > fullAt) {
        // The test seam behaves as write(2) does on a full disk: the part that fits lands, then ENOSPC.
        if (at >= fullAt) throw enospc()
        length = fullAt - at
      }
      const {bytesWritten} = await this.handle.write(bytes, offset, length, at)
      if (!(bytesWritten > 0)) throw enospc()
      offset += bytesWritten
    }
  }
}

/** An error like the one write(2) gives on a full disk. */
function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28, syscall: 'write'})
}

/**
 * Test seam: with OPSBOOK_TEST_DISK_FULL_AT_BYTES=N set, a journal behaves as on a disk that is full once the file
 * reaches N bytes — the fault matrix's "disk full" cell through the CLI, since tests cannot mount a tiny tmpfs
 * unprivileged. Only the bytes reaching the disk are faked: the cut-back, JournalWriteError, the engine stopping and
 * the exit code all run as on a real full disk. Read at each write, so unsetting it is "space freed".
 */
export const DISK_FULL_ENV = 'OPSBOOK_TEST_DISK_FULL_AT_BYTES'

function diskFullAtBytes(): number | undefined {
  const value = process.env[DISK_FULL_ENV]
  if (!value) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

/** `grouped`: appends of one tick share an fsync (default). `per-event`: one fsync per line (the benchmark's baseline). */
export type JournalSync = 'grouped' | 'per-event'

interface PendingAppend {
  event: RunEvent
  ts: string
  resolve: (line: JournalLine) => void
  reject: (error: unknown) => void
}

/** A journal line could not be written (disk full, read-only…): says so plainly, and that the journal is intact. */
export class JournalWriteError extends Error {
  readonly code: string
  constructor(
    readonly path: string,
    readonly lines: number,
    cause: unknown,
    options: {creating?: boolean} = {},
  ) {
    const errno = (cause as NodeJS.ErrnoException)?.code
    // EFBIG: the process's file-size limit (`ulimit -f`, a CI container's) — as final as a full disk for this run.
    const why =
      errno === 'ENOSPC' || errno === 'EDQUOT'
        ? 'the disk is full'
        : errno === 'EFBIG'
          ? 'the file-size limit (ulimit -f) is reached'
          : errno === 'EROFS'
            ? 'the file system is read-only'
            : (cause as Error)?.message ?? String(cause)
    const fix = errno === 'EFBIG' ? 'raise the limit' : 'free space'
    super(
      options.creating
        ? `cannot create the journal ${path}: ${why}${errno && !why.includes(errno) ? ` (${errno})` : ''}; nothing was started and no target stays leased — ${fix}, then run it again`
        : `cannot write the journal ${path}: ${why}${errno && !why.includes(errno) ? ` (${errno})` : ''}; it is intact up to line ${lines} — ${fix}, then \`opsbook resume\` continues the run`,
      {cause},
    )
    this.name = 'JournalWriteError'
    this.code = errno === 'ENOSPC' || errno === 'EDQUOT' ? 'disk-full' : 'journal-write-failed'
  }
}

/**
 * A journal file operation that failed on the file system (ENOENT, EACCES…): the path, what opsbook was doing, and
 * what the run folder held at that moment. opsbook never removes or renames a journal (its only deletions in a run
 * folder are run.lock, run.lock.takeover and an atomic write's temporary file), so a journal that is not there when a
 * resume that has just read it opens it was removed from outside — issue 16 saw one unexplained ENOENT on a resumed
 * run's journal in the fault matrix (dr-drill × SIGKILL+resume); this says where and when, and who else was there.
 */
export class JournalFileError extends Error {
  /** The file system's code (ENOENT, EACCES…), as the error it wraps had it. */
  readonly code: string
  constructor(
    readonly path: string,
    readonly operation: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot ${operation}: ${cause.code} on ${path}; ${describeRunFolder(dirname(path))}`, {cause})
    this.name = 'JournalFileError'
    this.code = cause.code ?? 'EIO'
  }
}

/** Run `step` on the journal at `path`; a file-system failure becomes a JournalFileError naming the operation. */
export async function journalFileStep<T>(path: string, operation: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new JournalFileError(path, operation, error as NodeJS.ErrnoException)
    throw error
  }
}

/** What a run folder holds now (each file with its size), or which of it and its parents is gone. */
export function describeRunFolder(dir: string): string {
  if (!existsSync(dir)) {
    const runs = dirname(dir)
    return existsSync(runs) ? `the run folder ${dir} is gone (${runs} is there)` : `the run folder ${dir} is gone, and ${runs} with it${existsSync(dirname(runs)) ? '' : ` (and ${dirname(runs)})`}`
  }
  try {
    const files = readdirSync(dir).map((name) => {
      try {
        return `${name} ${statSync(join(dir, name)).size} B`
      } catch {
        return `${name} (gone while listed)`
      }
    })
    return `the run folder ${dir} holds ${files.length > 0 ? files.join(', ') : 'nothing'}`
  } catch (error) {
    return `the run folder ${dir} cannot be listed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`
  }
}

/** Parse journal text into lines; throws on a line that is not JSON (use `verifyChain` to locate damage). */
export function parseJournal(text: string): JournalLine[] {
  return splitLines(text).map((line) => JSON.parse(line) as JournalLine)
}

/** Read and parse a journal file. */
export async function readJournal(path: string): Promise<JournalLine[]> {
  return parseJournal(await readFile(path, 'utf8'))
}

function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}


/**
 * Check the hash chain of journal text. When line N's content no longer hashes to what line N+1 recorded, line N is
 * named (it is the one that changed). A changed or removed last line can only be caught by comparing `lastHash` and
 * `lines` with a copy kept elsewhere (summary.json, the blob sink): pass them as `expected`.
 */
export function verifyChain(text: string | JournalText, expected: {lastHash?: string; lines?: number} = {}): ChainCheck {
  const journal = journalText(text)
  const count = journal.lineCount
  let prevHash = GENESIS_HASH
  let beforeLast = GENESIS_HASH
  let lastType: unknown
  const fail = (line: number, reason: string): ChainCheck => ({ok: false, lines: count, lastHash: count === 0 ? sha256Hex('') : journal.hash(count - 1), firstBad: {line, reason}})
  for (let index = 0; index < count; index++) {
    const n = index + 1
    const parsed = journal.json(index)
    if (parsed === NOT_JSON) return fail(n, 'not valid JSON')
    const line = parsed as Partial<JournalLine>
    if (line === null || typeof line !== 'object') return fail(n, 'not a JSON object')
    if (line.prev !== prevHash)
      return n === 1
        ? fail(1, 'first line does not start the chain (prev is not 64 zeros)')
        : fail(n - 1, `content does not match the hash recorded by line ${n} (line ${n - 1} was changed, or lines were inserted or removed)`)
    if (line.seq !== n) return fail(n, `sequence number ${String(line.seq)} where ${n} was expected`)
    if (typeof line.type !== 'string' || typeof line.ts !== 'string') return fail(n, 'missing type or ts')
    beforeLast = prevHash
    lastType = line.type
    prevHash = journal.hash(index)
  }
  // The summary records the journal as it was just before the seal line that then records the summary's hash.
  const sealedAfter = expected.lines !== undefined && count === expected.lines + 1 && lastType === SEAL_EVENT
  if (expected.lines !== undefined && expected.lines !== count && !sealedAfter)
    return fail(Math.min(count, expected.lines), `journal has ${count} lines where ${expected.lines} were recorded`)
  const endHash = sealedAfter ? beforeLast : prevHash
  const endLine = sealedAfter ? count - 1 : count
  if (expected.lastHash !== undefined && endLine > 0 && expected.lastHash !== endHash)
    return fail(endLine, 'does not match the hash recorded when the run ended (changed after the run)')
  return {ok: true, lines: count, lastHash: count === 0 ? GENESIS_HASH : prevHash}
}

/** Whether `dir` holds a run journal. */
export function hasJournal(dir: string): boolean {
  return existsSync(join(dir, JOURNAL_FILE))
}
