/**
 * Binding a run's other evidence files to its hash chain. When a run ends, after summary.json and report.md are
 * written, one last journal line — `evidence.sealed` — records the SHA-256 of request.json, summary.json and
 * report.md. Editing any of them after the run then contradicts the chain (issue 16: an edited summary.json was
 * re-uploaded and verified). A resumed run seals again at its new end; the last seal is the one that counts, and
 * an earlier seal names the versions a resume legitimately replaced (the only blobs sync may overwrite).
 *
 * Separately, `summaryContradictions` recomputes what the journal itself says about the run (status, runbook,
 * environment, duration, what was left behind) and compares it with summary.json, so a summary edited together
 * with a recomputed seal still disagrees with the events it claims to summarise.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import type {Journal, JournalLine, JournalText} from './journal.js'
import type {Redactor} from './redact.js'
import type {RunSummary} from './summary.js'
import {journalText as asJournalText, NOT_JSON, SEAL_EVENT, sha256Hex} from './journal.js'
import {journalTextLines, resumedRunTimes} from './segments.js'

export {SEAL_EVENT} from './journal.js'

/** Files of a run folder the seal covers, besides the journal itself. */
export const SEALED_FILES = ['request.json', 'summary.json', 'report.md'] as const
export type SealedFile = (typeof SEALED_FILES)[number]

export interface SealedFileHash {
  sha256: string
  bytes: number
}

/**
 * End a run's evidence, in the one order that keeps it verifiable: summary.json (recording the journal so far),
 * report.md (derived from both), the seal over them as the journal's last line, then close the journal.
 */
export async function completeRun(journal: Journal, summary: RunSummary, redactor?: Redactor): Promise<void> {
  const [{writeSummary}, {writeRunReport}] = await Promise.all([import('./summary.js'), import('./blob-sink.js')])
  const root = dirname(dirname(journal.dir))
  await writeSummary(root, summary, redactor)
  await writeRunReport(journal.dir, redactor)
  await sealRun(journal)
  await journal.close()
}

/**
 * Finish the evidence of a run that ended (run.finished, in a state opsbook never resumes) but whose process stopped
 * before the seal — a kill -9 or power loss between summary.json and the seal. Such a run stayed unsealed for good:
 * `resume` refused it as finished, `evidence sync` held summary.json back waiting for a seal, and `evidence verify`
 * failed it (issue 16, kill -9 at each step). The summary is sealed only when it says what the journal says (the
 * fields `summaryContradictions` recomputes); it is re-bound to the journal as it now is, report.md is written from
 * both, and the seal appended. Returns the summary, or undefined when the run is not in that state.
 */
export async function sealFinishedRun(root: string, runId: string, redactor?: Redactor): Promise<RunSummary | undefined> {
  const {Journal, runDir, JOURNAL_FILE} = await import('./journal.js')
  const dir = runDir(root, runId)
  const journalPath = join(dir, JOURNAL_FILE)
  if (!existsSync(journalPath)) return undefined
  const text = await readFile(journalPath, 'utf8')
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1)
  if (finalSeal(complete)) return undefined
  const last = complete.trimEnd().split('\n').at(-1)
  let lastLine: Partial<JournalLine> | undefined
  try {
    lastLine = last ? (JSON.parse(last) as Partial<JournalLine>) : undefined
  } catch {
    return undefined
  }
  const status = (lastLine?.data as {status?: unknown} | undefined)?.status
  if (lastLine?.type !== 'run.finished' || typeof status !== 'string' || RESUMABLE.includes(status)) return undefined
  const summaryPath = join(dir, 'summary.json')
  const {ValidationError} = await import('../errors.js')
  if (!existsSync(summaryPath))
    throw new ValidationError([{code: 'unsealed-run', message: `run ${runId} finished (${status}) but stopped before writing summary.json and its seal; the journal is the run's record (\`opsbook evidence sync\` uploads it)`}])
  const summaryBytes = await readFile(summaryPath)
  const contradictions = [...appendedAfterEnd('', complete), ...summaryContradictions('', complete, summaryBytes)]
  if (contradictions.length > 0)
    throw new ValidationError([{code: 'unsealed-run', message: `run ${runId} finished (${status}) but was not sealed, and its summary.json does not match its journal, so it is not sealed now: ${contradictions.join('; ')}`}])
  const summary = JSON.parse(summaryBytes.toString('utf8')) as RunSummary
  // Opening the journal takes the run's lock and cuts a half-written seal (recording the cut).
  const journal = await Journal.open(runId, root, {redactor})
  try {
    if (summary.journal?.lines !== journal.lines || summary.journal?.lastHash !== journal.hash) {
      summary.journal = {lines: journal.lines, lastHash: journal.hash}
      const {writeSummary} = await import('./summary.js')
      await writeSummary(root, summary, redactor)
    }
    const {writeRunReport} = await import('./blob-sink.js')
    await writeRunReport(journal.dir, redactor)
    await sealRun(journal)
  } finally {
    await journal.close()
  }
  return summary
}

/** Append the seal over the run folder's files as they are now. Call after summary.json and report.md are written. */
export async function sealRun(journal: Journal): Promise<JournalLine> {
  const files: Partial<Record<SealedFile, SealedFileHash>> = {}
  for (const name of SEALED_FILES) {
    const path = join(journal.dir, name)
    if (!existsSync(path)) continue
    const bytes = await readFile(path)
    files[name] = {sha256: sha256Hex(bytes), bytes: bytes.length}
  }
  return journal.append({type: SEAL_EVENT, files})
}

export interface Seal {
  /** 1-based journal line of the seal. */
  line: number
  files: Partial<Record<SealedFile, SealedFileHash>>
}

/** Every seal in journal text, in order (a resumed run has one per segment). Lines that are not JSON are skipped. */
export function findSeals(journalText: string | JournalText): Seal[] {
  const journal = asJournalText(journalText)
  const seals: Seal[] = []
  journal.parts.forEach((text, index) => {
    if (!text.includes(`"${SEAL_EVENT}"`)) return
    // A line that is not JSON: verifyChain names it.
    const line = journal.json(index) as Partial<JournalLine> | null | typeof NOT_JSON
    if (line === NOT_JSON || line === null) return
    const files = (line.data as {files?: unknown} | undefined)?.files
    if (line.type === SEAL_EVENT) seals.push({line: index + 1, files: (files !== null && typeof files === 'object' ? files : {}) as Seal['files']})
  })
  return seals
}

/** The seal on the journal's last line, when the run ended normally; undefined for a run still going or crashed. */
export function finalSeal(journalText: string | JournalText): Seal | undefined {
  const journal = asJournalText(journalText)
  const seals = findSeals(journal)
  const last = seals.at(-1)
  // The lines of the text without its final newline; a text of only a newline has none.
  const lineCount = journal.text === '\n' ? 0 : journal.lineCount
  return last && last.line === lineCount ? last : undefined
}

/**
 * Problems with `file`'s bytes against the journal's seal, as sentences naming where (`where` prefixes them, e.g.
 * `local`, `blob`, `bundle runs/<id>/`). A missing seal is a problem only when the run has a summary (it finished).
 */
export function checkAgainstSeal(where: string, journalText: string | JournalText, files: Partial<Record<SealedFile, Uint8Array | undefined>>): string[] {
  const seal = finalSeal(journalText)
  if (!seal) {
    if (files['summary.json'] === undefined) return []
    return [`${where}journal.jsonl: does not end with an ${SEAL_EVENT} line, so summary.json is not bound to the hash chain (the seal was removed, or the summary was added after the run)`]
  }
  const problems: string[] = []
  for (const name of SEALED_FILES) {
    const sealed = seal.files[name]
    const bytes = files[name]
    if (!sealed && bytes === undefined) continue
    if (!sealed) {
      problems.push(`${where}${name}: present, but the seal at journal.jsonl line ${seal.line} does not list it (added after the run)`)
      continue
    }
    if (typeof sealed !== 'object' || typeof sealed.sha256 !== 'string') {
      problems.push(`${where}journal.jsonl line ${seal.line}: the seal's entry for ${name} is malformed (changed after the run)`)
      continue
    }
    if (bytes === undefined) {
      problems.push(`${where}${name}: missing, but the seal at journal.jsonl line ${seal.line} records SHA-256 ${short(sealed.sha256)}`)
      continue
    }
    const actual = sha256Hex(Buffer.from(bytes))
    if (actual !== sealed.sha256)
      problems.push(`${where}${name}: SHA-256 ${short(actual)} does not match ${short(sealed.sha256)} sealed at journal.jsonl line ${seal.line} (changed after the run)`)
  }
  return problems
}

/** What summary.json must agree with: the fields the journal's own events determine. */
export function summaryContradictions(where: string, journalText: string | JournalText, summaryBytes: Uint8Array): string[] {
  let summary: Record<string, unknown>
  try {
    summary = JSON.parse(Buffer.from(summaryBytes).toString('utf8')) as Record<string, unknown>
  } catch {
    return [`${where}summary.json: not valid JSON`]
  }
  let started: Record<string, unknown> | undefined
  let finished: Record<string, unknown> | undefined
  let runId: string | undefined
  const journal = asJournalText(journalText)
  for (const [index, text] of journal.parts.entries()) {
    if (!text || !(text.includes('"run.started"') || text.includes('"run.finished"'))) continue
    const parsed = journal.json(index)
    if (parsed === NOT_JSON) continue
    const line = parsed as Partial<JournalLine>
    runId ??= line.runId
    // A resumed run starts again: its first run.started names the runbook; the last run.finished is the outcome.
    if (line.type === 'run.started') started ??= line.data
    if (line.type === 'run.finished') finished = line.data
  }
  // A resumed run's summary gives the whole run's times (evidence/segments.ts), recomputed here from the same lines.
  // Summaries written before that (no activeMs) gave the last segment's duration, as its run.finished line does.
  const times = summary.activeMs !== undefined ? resumedRunTimes(journalTextLines(journal)) : undefined
  const expected: Array<[string, unknown, unknown]> = [
    ['runId', summary.runId, runId],
    ['runbook.name', (summary.runbook as {name?: unknown} | undefined)?.name, started?.runbook],
    ['environment', summary.environment, started?.environment],
    ['production', summary.production, started?.production],
    ['status', summary.status, finished?.status],
    ...(times
      ? ([
          ['startedAt', summary.startedAt, times.startedAt],
          ['finishedAt', summary.finishedAt, times.finishedAt],
          ['durationMs', summary.durationMs, times.durationMs],
          ['activeMs', summary.activeMs, times.activeMs],
          ['segments', summary.segments, times.segments],
        ] as Array<[string, unknown, unknown]>)
      : summary.activeMs !== undefined
        ? ([['activeMs', summary.activeMs, null]] as Array<[string, unknown, unknown]>)
        : ([['durationMs', summary.durationMs, finished?.durationMs]] as Array<[string, unknown, unknown]>)),
    ['leftBehind', summary.leftBehind, finished?.leftBehind],
  ]
  const problems: string[] = []
  for (const [field, inSummary, inJournal] of expected) {
    if (inJournal === undefined) continue
    if (JSON.stringify(inSummary) !== JSON.stringify(inJournal))
      problems.push(`${where}summary.json: ${field} is ${JSON.stringify(inSummary)} but the journal records ${JSON.stringify(inJournal)}`)
  }
  return problems
}

/** End states `opsbook resume` continues (an interrupted run, exit 130; a teardown that did not complete, exit 3). */
export const RESUMABLE: readonly string[] = ['running', 'interrupted', 'rollback-failed']

/**
 * Lines that no genuine journal has: a run that finished in a state opsbook never resumes (succeeded, failed after a
 * complete rollback, blocked…) ends with its seal, so a later run.started, step event, second outcome or second seal
 * was appended after the run. The chain needs no key, so such a "resumed segment" hashes correctly; this is what
 * keeps it from replacing a sealed summary in Blob (issue 16: a failed run was laundered to succeeded that way).
 * Returns the first such line as a sentence (prefixed with `where`), or nothing.
 */
export function appendedAfterEnd(where: string, journalText: string | JournalText): string[] {
  let ended: string | undefined
  let sealed = false
  const journal = asJournalText(journalText)
  for (const [index, text] of journal.parts.entries()) {
    if (!text) continue
    const parsed = journal.json(index)
    if (parsed === NOT_JSON) continue
    const line = parsed as Partial<JournalLine>
    const type = String(line.type)
    if (ended !== undefined) {
      if (type === SEAL_EVENT && !sealed) {
        sealed = true
        continue
      }
      if (type === 'run.started' || type === 'run.finished' || type === SEAL_EVENT || type.startsWith('step.'))
        return [`${where}journal.jsonl line ${index + 1}: ${type} after the run finished as "${ended}", which opsbook never resumes (appended after the run)`]
      continue
    }
    if (type === 'run.finished') {
      const status = String((line.data as {status?: unknown} | undefined)?.status)
      if (!RESUMABLE.includes(status)) ended = status
    }
  }
  return []
}

/**
 * How a finished run's summary.json contradicts its journal: a SHA-256 other than the one the run's final seal
 * recorded, or fields (status, duration, what was left behind…) other than the journal's events say. What exports
 * and `runs show` check before showing a summary (issue 16: a summary edited from failed to succeeded was exported
 * as passed and shown as succeeded, "chain intact"). Runs from before seals existed are compared with the events only.
 */
export function summaryProblems(journalText: string | JournalText, summaryText: string): string[] {
  const journal = asJournalText(journalText)
  const bytes = Buffer.from(summaryText, 'utf8')
  const sealed = finalSeal(journal)?.files['summary.json'] ? checkAgainstSeal('', journal, {'summary.json': bytes}).filter((p) => p.startsWith('summary.json')) : []
  return [...appendedAfterEnd('', journal), ...sealed, ...summaryContradictions('', journal, bytes)]
}

/** The status of the journal's last run.finished line (a resumed run's outcome), or undefined when it has none. */
export function journalOutcome(journalText: string | JournalText): string | undefined {
  const journal = asJournalText(journalText)
  const lines = journal.parts
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.includes('"type":"run.finished"')) continue
    const line = journal.json(i) as {data?: {status?: unknown}} | null | typeof NOT_JSON
    // A damaged line: the chain check reports it.
    if (line === NOT_JSON || line === null) continue
    const status = line.data?.status
    if (typeof status === 'string') return status
  }
  return undefined
}

/** Whether `sha256` is the hash some seal of the journal recorded for `file`: a version a resume legitimately replaced. */
export function wasSealed(journalText: string, file: SealedFile, sha256: string): boolean {
  return findSeals(journalText).some((seal) => seal.files[file]?.sha256 === sha256)
}

function short(hash: string): string {
  return `${hash.slice(0, 16)}…`
}
