/** `opsbook runs list` as a table (src/commands/runs/list.ts). */
import type {RecordedRun} from '../evidence/runs-remote.js'
import type {RunListEntry} from '../evidence/runs-store.js'
import {humanDuration} from '../support/duration.js'

/**
 * One header line and one line per run, columns as wide as their widest value (a custom runbook's long name no longer
 * pushes the columns after it out of line). `where` only when the evidence container was asked too (--env).
 */
export function runsTable(runs: Array<RunListEntry | RecordedRun>): string[] {
  const withWhere = runs.some((r) => 'where' in r)
  const rows = [
    ['RUN', 'STATUS', 'ENVIRONMENT', 'STARTED (UTC)', 'DURATION', ...(withWhere ? ['WHERE'] : [])],
    ...runs.map((r) => [
      r.runId,
      // A run whose files contradict each other: its status may be forged (runs-store.ts, `changed`). One that never
      // reached the evidence container: only this machine says so (a consistent forgery looks the same).
      'changed' in r && r.changed ? `${r.status} (CHANGED)` : unanchored(r) ? `${r.status} (UNANCHORED)` : r.status,
      r.environment,
      r.startedAt ? r.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '',
      r.durationMs === undefined ? '' : humanDuration(r.durationMs),
      ...(withWhere ? ['where' in r ? r.where.join('+') : ''] : []),
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const table = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd())
  const changed = runs.filter((r): r is RunListEntry & {changed: string} => 'changed' in r && typeof r.changed === 'string')
  const loose = runs.filter((r) => !('changed' in r && r.changed) && unanchored(r))
  return [
    ...table,
    ...(changed.length === 0
      ? []
      : [
          '',
          `CHANGED AFTER THE RUN: ${changed.length === 1 ? 'this run\'s files contradict' : `${changed.length} runs' files contradict`} each other, so the status shown may be forged (\`opsbook runs show <run>\` lists every problem):`,
          ...changed.map((r) => `  ${r.runId}: ${r.changed}`),
        ]),
    ...(loose.length === 0
      ? []
      : [
          '',
          `UNANCHORED: ${loose.length === 1 ? 'this run' : `${loose.length} runs`} never reached the evidence container, so nothing outside this machine confirms the status shown (\`opsbook evidence sync\` uploads, \`opsbook evidence verify <run>\` checks).`,
        ]),
  ]
}

/** A local run (not refused, not still running) whose upload state says it is not wholly in the evidence container (and that --env did not find there). */
function unanchored(r: RunListEntry | RecordedRun): boolean {
  if ('where' in r && r.where.includes('blob')) return false
  return r.blob !== undefined && r.blob !== 'uploaded' && r.status !== 'refused' && r.status !== 'running'
}

