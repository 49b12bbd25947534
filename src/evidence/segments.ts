import {humanDuration} from '../support/duration.js'
import {NOT_JSON, type JournalText} from './journal-text.js'

/**
 * The times of a run that was resumed: each process that wrote its journal is a segment (from its `run.started`).
 * A resumed run's figures are the whole run's, not the last segment's:
 * - `startedAt`: the first segment's start; `finishedAt`: the last `run.finished` line;
 * - `durationMs`: elapsed time, `finishedAt − startedAt` (wall clock, the time between an interruption and the resume
 *   included) — how long the procedure took from the first start to the end;
 * - `activeMs`: the sum of the segments' own durations — how long opsbook was actually running.
 * Everything here is read from journal lines, so `evidence verify` recomputes the same figures from the same journal
 * and checks summary.json against them (evidence/seal.ts).
 */

export interface RunSegment {
  startedAt: string
  durationMs?: number
  status?: string
}

export interface RunTimes {
  startedAt: string
  finishedAt: string
  durationMs: number
  activeMs: number
  segments: RunSegment[]
}

interface LineLike {
  type?: unknown
  ts?: unknown
  data?: unknown
}

/** Each process that wrote this run: when it started, how long it ran, how it ended (when it recorded that). */
export function runSegments(lines: Iterable<LineLike>): RunSegment[] {
  const segments: RunSegment[] = []
  for (const line of lines) {
    if (typeof line.ts !== 'string') continue
    if (line.type === 'run.started') segments.push({startedAt: line.ts})
    const current = segments.at(-1)
    if (!current) continue
    if (line.type === 'run.finished') {
      const data = (line.data ?? {}) as {durationMs?: unknown; status?: unknown}
      current.durationMs = Number(data.durationMs)
      current.status = String(data.status)
    } else if (current.status === undefined) current.durationMs = Date.parse(line.ts) - Date.parse(current.startedAt)
  }
  return segments
}

/**
 * The whole run's times when it has more than one segment and its last one finished; otherwise undefined (a run in
 * one piece keeps the engine's own figures).
 */
export function resumedRunTimes(lines: Iterable<LineLike>): RunTimes | undefined {
  const all = [...lines]
  const segments = runSegments(all)
  if (segments.length < 2) return undefined
  const finished = all.filter((l) => l.type === 'run.finished' && typeof l.ts === 'string').at(-1)
  if (!finished || segments.at(-1)!.status === undefined) return undefined
  const startedAt = segments[0]!.startedAt
  const finishedAt = finished.ts as string
  return {
    startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
    activeMs: segments.reduce((sum, s) => sum + (Number.isFinite(s.durationMs) ? s.durationMs! : 0), 0),
    segments,
  }
}

/** JSON lines of a journal's text, skipping any that do not parse (the chain check reports those). */
export function journalTextLines(text: string | JournalText): LineLike[] {
  const lines: LineLike[] = []
  if (typeof text !== 'string') {
    // Parsed once for every check of a verification (journal.ts JournalText).
    text.parts.forEach((raw, index) => {
      const line = raw ? text.json(index) : NOT_JSON
      if (line !== NOT_JSON) lines.push(line as LineLike)
    })
    return lines
  }
  for (const raw of text.split('\n')) {
    if (!raw) continue
    try {
      lines.push(JSON.parse(raw) as LineLike)
    } catch {
      // skipped
    }
  }
  return lines
}

/**
 * How long a run took, in words, for every place that shows it (end of run, `runs show`, report.md/html): a run in
 * one piece "1m 2s"; a resumed one "12m 5s elapsed from the first start, 1m 10s of it running, in 2 segments".
 */
export function describeRunDuration(run: {durationMs?: number; activeMs?: number; segments?: unknown[]}): string {
  if (run.durationMs === undefined) return ''
  if (run.activeMs === undefined || !run.segments) return humanDuration(run.durationMs)
  return `${humanDuration(run.durationMs)} elapsed from the first start, ${humanDuration(run.activeMs)} of it running, in ${run.segments.length} segments`
}

/** One line per segment: "1. 2026-12-03T10:00:00.000Z, ran 40s, interrupted". */
export function describeSegments(segments: RunSegment[] | undefined): string[] {
  return (segments ?? []).map(
    (s, i) => `${i + 1}. ${s.startedAt}, ran ${Number.isFinite(s.durationMs) ? humanDuration(s.durationMs!) : 'unknown'}, ${s.status ?? 'ended without a record (process stopped)'}`,
  )
}
