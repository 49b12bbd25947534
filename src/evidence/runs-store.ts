/**
 * The local record of past runs (`<root>/runs/<runId>/`), read for `opsbook runs list` and `runs show`.
 * A run without summary.json is either still running (its lock names a live process) or crashed; its journal says
 * how far it got.
 */
import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {ValidationError} from '../errors.js'
import type {RunStatus} from '../runbooks/events.js'
import {readUploadState} from './blob-sink.js'
import {REFUSED_FILE, type RefusedRun} from './refused.js'
import {JOURNAL_FILE, LOCK_FILE, SUMMARY_FILE, runDir, verifyChain, type ChainCheck, type JournalLine} from './journal.js'
import type {RunSummary} from './summary.js'
import {summaryProblems} from './seal.js'

/** `crashed`: no summary, no run.finished, and no live process holds the run. `refused`: preflight refused it (refused.ts). */
export type StoredRunStatus = RunStatus | 'crashed' | 'refused'

export interface RunListEntry {
  runId: string
  runbook: string
  environment: string
  status: StoredRunStatus
  startedAt: string
  durationMs?: number
  /**
   * Set when the run's files contradict each other — its journal's hash chain is broken, or summary.json does not
   * match the journal (`runs show` gives every problem): the first problem. The status shown may then be forged.
   */
  changed?: string
  /**
   * Checked runs only (the ones `runs list` shows): this machine's upload-state.json of the run's blob copy, as in
   * RunDetails. A run not `uploaded` is unanchored — a consistent forgery (chain, seal and summary recomputed) looks
   * exactly like it, so its status is only this machine's word (`runs show` says UNANCHORED, `evidence verify` exits 3).
   */
  blob?: 'uploaded' | 'pending' | 'none'
}

export interface RunDetails {
  runId: string
  dir: string
  journalPath: string
  status: StoredRunStatus
  /** Present once the run finished and wrote it. */
  summary?: RunSummary
  /** Present when preflight refused the run: who, what, why, when (there is no journal then). */
  refused?: RefusedRun
  /** The hash chain, checked against the line count and last hash summary.json recorded. */
  chain: ChainCheck
  /** How summary.json contradicts the journal (its seal, its events): edited after the run. Empty when it agrees. */
  summaryProblems: string[]
  /** The last journal event, e.g. where a crashed run stopped. */
  lastEvent?: Pick<JournalLine, 'seq' | 'ts' | 'type' | 'step'>
  /**
   * What this machine's upload-state.json says of the run's blob copy: `uploaded`, `pending` (some bytes never reached
   * Blob), or `none` (no upload recorded). Local, so only a hint: `evidence verify` checks the container itself. A run
   * not in Blob is unanchored — nothing outside this machine confirms its record — unless the Activity Log witnesses it.
   */
  blob: 'uploaded' | 'pending' | 'none'
}

/**
 * Every run under `root`, newest first. The `check` newest are flagged when their files contradict each other
 * (`changed`): the cheap half of `runs show`'s check (issue 16: an edited outcome was listed as it was, without a
 * flag) — the hash chain against what summary.json recorded, and summary.json against the journal; the Blob copy and
 * the Activity Log witness stay `evidence verify`'s. Only the runs shown are checked, so a long history costs a read.
 */
export async function listRuns(root: string, options: {check?: number} = {}): Promise<RunListEntry[]> {
  const runsDir = join(root, 'runs')
  if (!existsSync(runsDir)) return []
  const entries: RunListEntry[] = []
  for (const entry of await readdir(runsDir, {withFileTypes: true})) {
    if (!entry.isDirectory()) continue
    const dir = join(runsDir, entry.name)
    if (!existsSync(join(dir, JOURNAL_FILE)) && !existsSync(join(dir, SUMMARY_FILE)) && !existsSync(join(dir, REFUSED_FILE))) continue
    entries.push((await readRunState(dir, entry.name)).entry)
  }
  // Run ids start with a UTC timestamp; sort on startedAt and fall back to the id.
  entries.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId))
  const checked = Math.min(options.check ?? 0, entries.length)
  for (let i = 0; i < checked; i++) {
    const entry = entries[i]!
    if (entry.status === 'refused') continue
    const state = await readRunState(join(runsDir, entry.runId), entry.runId)
    const changed = state.journalText === undefined ? undefined : changedAfterRun(state.journalText, state.summary, state.summaryText)
    entries[i] = {...entry, ...(changed ? {changed} : {}), blob: await uploadOf(join(runsDir, entry.runId))}
  }
  return entries
}

/** One run's summary and journal check. `runId` may be a unique prefix. Unknown runs are invalid input (exit 2). */
export async function showRun(root: string, runId: string): Promise<RunDetails> {
  const id = await resolveRunId(root, runId)
  const dir = runDir(root, id)
  const journalPath = join(dir, JOURNAL_FILE)
  const state = await readRunState(dir, id)
  const journalText = existsSync(journalPath) ? await readFile(journalPath, 'utf8') : ''
  const chain = verifyChain(journalText, state.summary ? {lines: state.summary.journal?.lines, lastHash: state.summary.journal?.lastHash} : {})
  return {
    runId: id,
    dir,
    journalPath,
    status: state.entry.status,
    ...(state.summary ? {summary: state.summary} : {}),
    ...(state.refused ? {refused: state.refused} : {}),
    chain,
    summaryProblems: state.summary && existsSync(join(dir, SUMMARY_FILE)) ? summaryProblems(journalText, await readFile(join(dir, SUMMARY_FILE), 'utf8')) : [],
    ...(state.last ? {lastEvent: {seq: state.last.seq, ts: state.last.ts, type: state.last.type, step: state.last.step}} : {}),
    blob: await uploadOf(dir),
  }
}

async function uploadOf(dir: string): Promise<RunDetails['blob']> {
  const upload = await readUploadState(dir)
  return upload === undefined ? 'none' : upload.pending ? 'pending' : 'uploaded'
}

async function resolveRunId(root: string, runId: string): Promise<string> {
  if (existsSync(runDir(root, runId))) return runId
  const runsDir = join(root, 'runs')
  const ids = existsSync(runsDir) ? (await readdir(runsDir)).filter((name) => name.startsWith(runId)).sort() : []
  if (ids.length === 1) return ids[0]!
  const message =
    ids.length > 1
      ? `run id "${runId}" is ambiguous: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`
      : `no run "${runId}" under ${runsDir}; \`opsbook runs list\` shows the runs kept here`
  throw new ValidationError([{code: 'run-not-found', message}])
}

interface RunState {
  entry: RunListEntry
  summary?: RunSummary
  /** summary.json as written (its bytes are sealed). */
  summaryText?: string
  refused?: RefusedRun
  last?: JournalLine
  journalText?: string
}

/** The first way a run's journal and summary.json show they were changed after the run, or undefined. */
function changedAfterRun(journalText: string, summary: RunSummary | undefined, summaryText: string | undefined): string | undefined {
  // A run still going (or killed mid-write) may end in a line not yet whole: only complete lines are judged then.
  const complete = summary ? journalText : journalText.slice(0, journalText.lastIndexOf('\n') + 1)
  const chain = verifyChain(complete, summary ? {lines: summary.journal?.lines, lastHash: summary.journal?.lastHash} : {})
  if (!chain.ok) return `journal.jsonl line ${chain.firstBad?.line}: ${chain.firstBad?.reason}`
  return summaryText === undefined ? undefined : summaryProblems(journalText, summaryText)[0]
}

async function readRunState(dir: string, runId: string): Promise<RunState> {
  const refused = await readJson<RefusedRun>(join(dir, REFUSED_FILE))
  if (refused) return {refused, entry: {runId, runbook: refused.runbook, environment: refused.environment, status: 'refused', startedAt: refused.refusedAt}}
  const summaryText = existsSync(join(dir, SUMMARY_FILE)) ? await readFile(join(dir, SUMMARY_FILE), 'utf8').catch(() => undefined) : undefined
  const summary = parseJson<RunSummary>(summaryText)
  const {first, last, finished, text: journalText} = await journalEnds(join(dir, JOURNAL_FILE))
  if (summary)
    return {
      summary,
      summaryText,
      journalText,
      last,
      entry: {
        runId,
        runbook: summary.runbook?.name ?? 'unknown',
        environment: summary.environment ?? 'unknown',
        // The outcome is the journal's (hash-chained), not summary.json's: a summary edited from failed to succeeded
        // was listed as succeeded (issue 16). `runs show` says when the two disagree.
        status: (finished?.data.status as RunStatus | undefined) ?? summary.status,
        startedAt: summary.startedAt,
        durationMs: summary.durationMs,
      },
    }
  const started = first?.type === 'run.started' ? first.data : {}
  let status: StoredRunStatus
  let durationMs: number | undefined
  if (last?.type === 'run.finished') {
    status = last.data.status as RunStatus
    durationMs = last.data.durationMs as number
  } else {
    status = (await isHeldByLiveProcess(dir)) ? 'running' : 'crashed'
    if (first && last) durationMs = Date.parse(last.ts) - Date.parse(first.ts)
  }
  return {
    last,
    journalText,
    entry: {
      runId,
      runbook: typeof started.runbook === 'string' ? started.runbook : 'unknown',
      environment: typeof started.environment === 'string' ? started.environment : 'unknown',
      status,
      startedAt: first?.ts ?? '',
      ...(durationMs === undefined ? {} : {durationMs}),
    },
  }
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** First and last parseable journal lines (a crash can leave a partial last line), and the last run.finished. */
async function journalEnds(path: string): Promise<{first?: JournalLine; last?: JournalLine; finished?: JournalLine; text?: string}> {
  if (!existsSync(path)) return {}
  const text = await readFile(path, 'utf8')
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const parse = (text: string | undefined): JournalLine | undefined => {
    if (text === undefined) return undefined
    try {
      return JSON.parse(text) as JournalLine
    } catch {
      return undefined
    }
  }
  const first = parse(lines[0])
  let last: JournalLine | undefined
  for (let i = lines.length - 1; i >= 0 && !last; i--) last = parse(lines[i])
  let finished: JournalLine | undefined
  // The outcome is at the end (the seal may follow it); a resumed run's earlier outcomes are further up.
  for (let i = lines.length - 1; i >= 0 && !finished; i--) if (lines[i]!.includes('"type":"run.finished"')) finished = parse(lines[i])
  return {first, last, finished, text}
}

async function isHeldByLiveProcess(dir: string): Promise<boolean> {
  const lock = await readJson<{pid?: number; host?: string}>(join(dir, LOCK_FILE))
  if (!lock?.pid) return false
  // A lock from another machine (a shared folder) cannot be checked: assume it is alive.
  if (lock.host && lock.host !== hostname()) return true
  try {
    process.kill(lock.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
