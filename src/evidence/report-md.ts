/**
 * Markdown reports: the audit-period report of an export, and the one-run report the blob sink writes next to a
 * run's journal. Plain tables, so they read well in a terminal, a pull request or a ticket.
 */
import {describeRunDuration, describeSegments} from './segments.js'
import {humanDuration} from '../support/duration.js'
import type {CoverageRow, EvidenceReport, ObjectiveMeasurement, RunRow} from './export.js'

/** The audit-period report. */
export function renderReportMd(report: EvidenceReport): string {
  const out: string[] = []
  out.push(`# Operational evidence: environment \`${report.environment}\`${report.production ? ' (production)' : ''}`)
  out.push('')
  out.push(`Period: ${report.period.since ? day(report.period.since) : 'all runs'} to ${day(report.period.until)}. Generated ${report.generatedAt} by ${report.generatedBy}.`)
  out.push('')
  out.push(`${report.totals.runs} run(s): ${report.totals.passed} passed, ${report.totals.failed} failed or incomplete; ${report.totals.drills} DR drill(s).`)
  const broken = report.runs.filter((r) => !r.journal.chainOk)
  if (broken.length) out.push('', `**Warning:** the journal of ${broken.map((r) => `${r.runId} (${r.journal.problem})`).join(', ')} fails its hash check.`)
  out.push('', '## Coverage', '')
  out.push(`Components without a passing DR drill in the ${report.coverage.days} days up to ${day(report.coverage.asOf)}: ${gapText(report.coverage.rows)}`)
  out.push('')
  out.push(table(['Component', 'Type', 'Tier', 'Last drill', 'Last passing drill', `Passing drill in last ${report.coverage.days} days`], report.coverage.rows.map((c) => [
    c.component,
    c.type,
    c.tier ?? '',
    c.lastDrill ? `${day(c.lastDrill.at)} (${c.lastDrill.outcome})` : 'never',
    c.lastPassingDrill ? `${day(c.lastPassingDrill.at)} (${c.lastPassingDrill.runId})` : 'never',
    c.covered ? 'yes' : c.hasObjectives ? '**NO**' : 'no (no objectives)',
  ])))
  out.push('', '## Recovery objectives per component and quarter', '')
  const seriesRows = report.series.flatMap((s) => quarterRows(s.points).map((q) => [
    s.component,
    q.quarter,
    fmtMs(q.worstRto) + (s.rtoObjectiveMs !== undefined ? ` / ${fmtMs(s.rtoObjectiveMs)}` : ''),
    fmtMs(q.worstRpo) + (s.rpoObjectiveMs !== undefined ? ` / ${fmtMs(s.rpoObjectiveMs)}` : ''),
    String(q.drills),
    q.allMet ? 'met' : '**missed**',
  ]))
  out.push(seriesRows.length ? table(['Component', 'Quarter', 'Worst RTO / objective', 'Worst RPO / objective', 'Drills', 'Objectives'], seriesRows) : '_No drill measurements in this period._')
  out.push('', '## Controls', '')
  out.push(`**Evidence store:** ${report.evidenceStore.detail}. Only runs that passed count as evidence for a control.`, '')
  out.push(table(['Control', 'What it asks', 'Evidence here', 'Runs'], report.controls.map((c) => [`${c.id}: ${c.title}`, c.description, c.evidence, c.runIds.length ? c.runIds.join(', ') : '**none in this period**'])))
  out.push('', '## Runs', '')
  if (report.runs.length === 0) out.push('_No runs in this period._')
  for (const run of report.runs) out.push(...runSection(run, '###'), '')
  return `${out.join('\n').trimEnd()}\n`
}

/** The report of one run, written as report.md beside its journal and summary. */
export function renderRunReportMd(run: RunRow): string {
  return `${runSection(run, '#').join('\n').trimEnd()}\n`
}

function runSection(run: RunRow, heading: string): string[] {
  const out: string[] = []
  out.push(`${heading} ${run.passed ? '✅' : '❌'} ${run.title || run.runbook} — \`${run.runId}\``)
  out.push('')
  out.push(table(['', ''], [
    ['Runbook', `${run.runbook} (${run.kind})`],
    ['Status', run.status + (run.passed ? ' (pass)' : ' (fail)')],
    ['Who', run.who],
    ['Started', run.startedAt],
    ['Finished', run.finishedAt ?? 'not recorded'],
    ['Duration', describeRunDuration(run)],
    ...(run.segments ? [['Segments', describeSegments(run.segments).join('; ')]] : []),
    ['Parameters', Object.entries(run.params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || 'none'],
    ['Journal', `${run.journal.lines} lines, last hash ${run.journal.lastHash.slice(0, 16)}…, ${run.journal.chainOk ? 'chain intact' : `**chain broken: ${run.journal.problem}**`}`],
  ]))
  if (run.objectives.length) {
    out.push('', 'Measured recovery objectives:', '')
    out.push(table(['Component', 'RTO measured / objective', 'RPO measured / objective', 'Met'], run.objectives.map((o) => objectiveCells(o))))
  }
  if (run.checklist?.length) {
    out.push('', 'Checklist results:', '')
    out.push(table(['Result', 'Value'], run.checklist.map((c) => [c.label, c.value])))
  }
  if (run.outputs?.length) {
    out.push('', 'Outputs:', '')
    out.push(table(['Output', 'Value'], run.outputs.map((o) => [o.label, o.value])))
  }
  if (run.approvals.length) {
    out.push('', 'Approvals:', '')
    out.push(table(['Step', 'By', 'Via', 'At', 'Reason'], run.approvals.map((a) => [a.step ?? '', a.by ?? '', a.via ?? '', a.at ?? '', a.reason ?? ''])))
  }
  if (run.overrides.length) {
    out.push('', 'Overrides:', '')
    out.push(table(['Guard', 'Reason', 'By', 'At'], run.overrides.map((o) => [o.kind ?? '', o.reason ?? '', o.by ?? '', o.at ?? ''])))
  }
  if (run.stepTree?.length) {
    out.push('', 'Steps (the steps of groups and called runbooks indented under them):', '')
    for (const step of run.stepTree) out.push(`${'  '.repeat(step.depth)}- \`${step.id}\` [${step.uses}]: ${step.status}`)
  }
  if (run.failedSteps.length) out.push('', `Failed steps: ${run.failedSteps.map((s) => `${s.id}${s.message ? ` (${s.message})` : ''}`).join('; ')}`)
  if (run.leftBehind.length) out.push('', `**Left behind (needs a human):** ${run.leftBehind.join('; ')}`)
  if (run.evidenceStoreWarning) out.push('', `**Evidence store:** ${run.evidenceStoreWarning}`)
  return out
}

function objectiveCells(o: ObjectiveMeasurement): string[] {
  const cell = (m: ObjectiveMeasurement['rto']) => (m ? `${fmtMs(m.measuredMs ?? undefined)} / ${fmtMs(m.objectiveMs ?? undefined)}` : '')
  const met = [o.rto?.met, o.rpo?.met].filter((v) => v !== undefined && v !== null)
  return [o.component, cell(o.rto), cell(o.rpo), met.length === 0 ? 'n/a' : met.every(Boolean) ? 'yes' : '**no**']
}

/** Per quarter: the worst measurement and whether every drill met its objectives. */
export function quarterRows(points: Array<{quarter: string; rtoMs?: number; rpoMs?: number; rtoMet?: boolean; rpoMet?: boolean}>) {
  const quarters = new Map<string, {quarter: string; worstRto?: number; worstRpo?: number; drills: number; allMet: boolean}>()
  for (const p of points) {
    const q = quarters.get(p.quarter) ?? {quarter: p.quarter, drills: 0, allMet: true}
    q.drills++
    if (p.rtoMs !== undefined) q.worstRto = Math.max(q.worstRto ?? 0, p.rtoMs)
    if (p.rpoMs !== undefined) q.worstRpo = Math.max(q.worstRpo ?? 0, p.rpoMs)
    if (p.rtoMet === false || p.rpoMet === false) q.allMet = false
    quarters.set(p.quarter, q)
  }
  return [...quarters.values()].sort((a, b) => a.quarter.localeCompare(b.quarter))
}

function gapText(rows: CoverageRow[]): string {
  const gaps = rows.filter((r) => r.hasObjectives && !r.covered)
  return gaps.length ? gaps.map((g) => `**${g.component}**${g.tier ? ` (${g.tier})` : ''}`).join(', ') : 'none'
}

export function fmtMs(ms: number | undefined): string {
  return ms === undefined ? '—' : humanDuration(ms)
}

function day(iso: string): string {
  return iso.slice(0, 10)
}

function table(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n')
}
