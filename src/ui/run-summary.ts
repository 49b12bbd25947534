/**
 * The end of a run on a terminal: the per-component RTO/RPO table for drills, what a human must look at,
 * and where the journal is. Uses cli-table3 for aligned tables with wide characters.
 */
import Table from 'cli-table3'
import {headlineOutputs} from '../evidence/outputs.js'
import {describeRunDuration, describeSegments} from '../evidence/segments.js'
import type {RunResult} from '../runbooks/runner.js'
import {outputRedactor} from '../evidence/writer.js'
import {humanDuration} from '../support/duration.js'
import {resumeCommand} from '../support/resume-hint.js'

/** One component's measured objectives, as drills put them in `outputs.objectives`. */
export interface ObjectiveRow {
  component: string
  type: string
  rto?: {measuredMs?: number; objectiveMs?: number; met?: boolean}
  rpo?: {measuredMs?: number; objectiveMs?: number; met?: boolean}
  status?: string
  notes?: string[]
}

export function objectiveRows(result: Pick<RunResult, 'objectives'>): ObjectiveRow[] {
  return Array.isArray(result.objectives) ? (result.objectives as ObjectiveRow[]) : []
}

function cell(measure?: {measuredMs?: number; objectiveMs?: number; met?: boolean}): string {
  if (!measure || measure.measuredMs === undefined) return measure?.objectiveMs ? `– / ${humanDuration(measure.objectiveMs)}` : '–'
  const mark = measure.met === undefined ? '' : measure.met ? '✔ ' : '✖ '
  return `${mark}${humanDuration(measure.measuredMs)}${measure.objectiveMs ? ` / ${humanDuration(measure.objectiveMs)}` : ''}`
}

export function renderObjectives(rows: ObjectiveRow[]): string {
  const table = new Table({head: ['component', 'type', 'RTO measured / objective', 'RPO measured / objective', 'status', 'notes'], style: {head: [], border: []}, wordWrap: true, colWidths: [null, null, null, null, null, 50] as any})
  // status: met, missed, cannot-meet (the configuration rules an objective out even when the drill went well), unmeasured.
  for (const row of rows) table.push([row.component, row.type, cell(row.rto), cell(row.rpo), (row.status ?? '').replace('no-objective', 'no objective'), (row.notes ?? []).join('; ')])
  return table.toString()
}

export function printRunSummary(result: RunResult, out: NodeJS.WritableStream = process.stdout): void {
  const rows = objectiveRows(result)
  if (rows.length > 0) out.write(`\nRecovery objectives (${result.environment}):\n${renderObjectives(rows)}\n`)
  const outputs = headlineOutputs(result.outputs ?? {})
  if (outputs.length > 0) out.write(`\nOutputs:\n${outputs.map((o) => `  ${o.label}: ${o.value}`).join('\n')}\n`)
  // Each warning was written to stderr the moment it arose (`warning: …`, next to the step it concerns, in a CI log
  // as on a terminal): the summary counts them and says where they are rather than print each a second time. The
  // list stays in `--json` output (`warnings`) and, for notification and lease problems, in the journal.
  if (result.warnings.length > 0) out.write(`\n${warningCount(result.warnings.length)} during the run, printed above as ${result.warnings.length === 1 ? 'it' : 'they'} arose (lines starting "warning:")\n`)
  // The reason is what the user typed: redacted as the journal's copy of it is (a key pasted into --reason), before it
  // is shell-quoted into the resume command, so the redaction cannot eat the closing quote.
  const overrides = result.overrides.map((o) => ({...o, reason: outputRedactor().redactText(o.reason)}))
  for (const o of overrides) out.write(`override: ${o.detail} — reason: ${o.reason}\n`)
  if (result.leftBehind.length > 0) out.write(`\nNEEDS A HUMAN — left behind:\n${result.leftBehind.map((l) => `  - ${l}`).join('\n')}\n`)
  // A resumed run: the whole run's elapsed and running time, and each segment (evidence/segments.ts).
  out.write(`\nrun ${result.runId}: ${result.status} in ${describeRunDuration(result)}\n`)
  if (result.error) out.write(`  why: ${outputRedactor().redactText(result.error)}\n`)
  if (result.segments) out.write(`${describeSegments(result.segments).map((line) => `  ${line}`).join('\n')}\n`)
  out.write(`  journal ${result.journal}\n`)
  // Resume continues an interrupted run and one whose teardown did not complete (exit 3), as `runs show` says.
  if (result.status === 'interrupted' || result.status === 'rollback-failed') out.write(`  continue with: ${resumeCommand(result.runId, overrides)}\n`)
}

function warningCount(n: number): string {
  return `⚠ ${n} warning${n === 1 ? '' : 's'}`
}
