/**
 * What CI shows of a run or a check: JUnit (one test case per step and per measured objective, so a CI test tab lists
 * exactly what a human would look at) and a Markdown job summary (the RTO/RPO table, failures with their errors, what
 * was left behind, where the evidence is).
 */
import type {Builder} from 'junit-report-builder'
import type {CheckReport, Finding} from '../checks/types.js'
import type {RunResult} from '../runbooks/runner.js'
import {humanDuration} from '../support/duration.js'
import {objectiveRows, type ObjectiveRow} from '../ui/run-summary.js'

type Measure = NonNullable<ObjectiveRow['rto']>

const FAILED_STEP = new Set(['failed', 'rollback-failed', 'cancelled'])
const SKIPPED_STEP = new Set(['skipped', 'pending'])

export async function runJunit(result: RunResult): Promise<string> {
  // The package is CommonJS with `module.exports = builder`; its typings describe an ES default export.
  const junit = (await import('junit-report-builder')).default as unknown as Builder
  const builder = junit.newBuilder().name(`opsbook ${result.runbook} ${result.environment} ${result.runId}`)
  const steps = builder.testSuite().name(`${result.runbook} steps`).timestamp(result.startedAt)
  steps.property('runId', result.runId).property('status', result.status).property('environment', result.environment)
  for (const step of result.steps) {
    const testCase = steps
      .testCase()
      .className(`opsbook.${result.runbook}.${step.phase}`)
      .name(step.id)
      .time((step.durationMs ?? 0) / 1000)
    // What the step used and how it ended go in its output: a testcase holds no <properties> in Jenkins' junit-10.xsd
    // (https://github.com/jenkinsci/xunit-plugin/blob/master/src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd),
    // the schema CI servers validate JUnit against; pytest moved its testcase properties out for the same reason.
    if (FAILED_STEP.has(step.status)) testCase.failure(step.error ?? step.status, step.status)
    else if (SKIPPED_STEP.has(step.status)) testCase.skipped()
    testCase.standardOutput(`uses: ${step.uses}; status: ${step.status}`)
  }
  const rows = objectiveRows(result)
  if (rows.length > 0) {
    const objectives = builder.testSuite().name(`${result.runbook} objectives`).timestamp(result.startedAt)
    for (const row of rows) {
      for (const [kind, measure] of [
        ['RTO', row.rto],
        ['RPO', row.rpo],
      ] as Array<[string, Measure | undefined]>) {
        if (!measure?.objectiveMs) continue
        const testCase = objectives
          .testCase()
          .className(`opsbook.${result.runbook}.objectives.${row.type}`)
          .name(`${row.component} ${kind}`)
          .time((measure.measuredMs ?? 0) / 1000)
        const measured = `objective: ${humanDuration(measure.objectiveMs)}; measured: ${measure.measuredMs === undefined ? 'not measured' : humanDuration(measure.measuredMs)}`
        if (measure.met === false) testCase.failure(`${row.component} ${kind} ${describeMeasure(measure)} (${row.status ?? 'missed'})${notes(row)}`, row.status ?? 'missed')
        else if (row.status === 'failed' || row.status === 'cannot-meet') testCase.failure(`${row.component}: ${row.status}${notes(row)}`, row.status)
        else if (measure.measuredMs === undefined) testCase.skipped()
        testCase.standardOutput(`${measured}${row.notes?.length ? `\n${row.notes.join('\n')}` : ''}`)
      }
    }
  }
  // The builder counts skipped cases on <testsuites> too; junit-10.xsd declares skipped on <testsuite> only.
  return builder.build().replace(/^(<testsuites\b[^>]*?) skipped="\d+"/m, '$1')
}

function describeMeasure(measure: Measure): string {
  const measured = measure.measuredMs === undefined ? 'unmeasured' : humanDuration(measure.measuredMs)
  return `${measured} against ${measure.objectiveMs ? humanDuration(measure.objectiveMs) : 'no objective'}`
}

function notes(row: ObjectiveRow): string {
  return row.notes?.length ? `: ${row.notes.join('; ')}` : ''
}

/** Markdown cells must not break the table. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

const RUN_ICON: Record<string, string> = {succeeded: '✅', failed: '❌', 'rollback-failed': '🛑', interrupted: '⏸️', blocked: '⛔', 'approval-required': '✋'}

export function runMarkdown(result: RunResult): string {
  const lines = [`### ${RUN_ICON[result.status] ?? ''} opsbook ${result.runbook} on ${result.environment}: ${result.status} (exit ${result.exitCode})`, '']
  lines.push(`Run \`${result.runId}\`, ${result.startedAt} → ${result.finishedAt} (${humanDuration(result.durationMs)}).`, '')
  const rows = objectiveRows(result)
  if (rows.length > 0) {
    lines.push('| component | type | RTO measured / objective | RPO measured / objective | status | notes |', '|---|---|---|---|---|---|')
    for (const row of rows) lines.push(`| ${cell(row.component)} | ${row.type} | ${measureCell(row.rto)} | ${measureCell(row.rpo)} | ${row.status ?? ''} | ${cell((row.notes ?? []).join('; '))} |`)
    lines.push('')
  }
  const failed = result.steps.filter((s) => FAILED_STEP.has(s.status))
  if (failed.length > 0) {
    lines.push('**Failed steps**', '')
    for (const step of failed) lines.push(`- \`${step.id}\` (${step.uses}, ${step.phase}): ${cell(step.error ?? step.status)}`)
    lines.push('')
  }
  if (result.leftBehind.length > 0) {
    lines.push('**🛑 Needs a human — left behind**', '')
    for (const item of result.leftBehind) lines.push(`- ${cell(item)}`)
    lines.push('')
  }
  for (const o of result.overrides) lines.push(`> Override: ${cell(o.detail)} — reason: ${cell(o.reason)}`, '')
  for (const w of result.warnings) lines.push(`> ⚠️ ${cell(w)}`, '')
  lines.push(`Evidence: journal \`${result.journal}\`, summary \`${result.summary}\` (and the environment's evidence container).`)
  if (result.status === 'interrupted' || result.status === 'rollback-failed') lines.push('', `Continue with \`opsbook resume ${result.runId}\`.`)
  return `${lines.join('\n')}\n`
}

function measureCell(measure: Measure | undefined): string {
  if (!measure || (measure.measuredMs === undefined && !measure.objectiveMs)) return '–'
  const mark = measure.met === undefined ? '' : measure.met ? '✅ ' : '❌ '
  const measured = measure.measuredMs === undefined ? 'unmeasured' : humanDuration(measure.measuredMs)
  return `${mark}${measured}${measure.objectiveMs ? ` / ${humanDuration(measure.objectiveMs)}` : ''}`
}

/** Azure Pipelines annotations for a run: its failed steps and what was left behind. */
export function runIssues(result: RunResult): Array<{type: 'error' | 'warning'; message: string}> {
  return [
    ...result.steps.filter((s) => FAILED_STEP.has(s.status)).map((s) => ({type: 'error' as const, message: `${result.runbook} ${s.id}: ${s.error ?? s.status}`})),
    ...result.leftBehind.map((item) => ({type: 'error' as const, message: `left behind: ${item}`})),
    ...objectiveRows(result)
      .filter((r) => r.status && r.status !== 'met')
      .map((r) => ({type: r.status === 'unmeasured' ? ('warning' as const) : ('error' as const), message: `${r.component}: objectives ${r.status}${notes(r)}`})),
  ]
}

const CHECK_ICON: Record<string, string> = {fail: '❌', error: '⚠️'}

export function checkMarkdown(report: CheckReport, options: {failOn: string; failed: boolean; limit?: number}): string {
  const c = report.counts as unknown as Record<string, number>
  const lines = [
    `### ${options.failed ? '❌' : '✅'} opsbook check on ${report.environment}`,
    '',
    `${report.resources} resource(s): ${['pass', 'fail', 'error', 'waived', 'not-applicable'].map((s) => `${c[s] ?? 0} ${s}`).join(', ')}. Gate: fails or errors at or above **${options.failOn}**.`,
    '',
  ]
  const problems = report.findings.filter((f) => f.status === 'fail' || f.status === 'error')
  if (problems.length > 0) {
    const limit = options.limit ?? 50
    lines.push('| | check | severity | resource | finding |', '|---|---|---|---|---|')
    for (const f of problems.slice(0, limit)) lines.push(`| ${CHECK_ICON[f.status]} | \`${f.checkId}\` | ${f.severity} | ${cell(f.resourceName)} | ${cell(f.message)} |`)
    if (problems.length > limit) lines.push('', `… and ${problems.length - limit} more (see the SARIF or JSON output).`)
  }
  return `${lines.join('\n')}\n`
}

/** Azure Pipelines annotations for a check: findings that fail the gate are errors, the other fails warnings. */
export function checkIssues(report: CheckReport, blocking: Finding[]): Array<{type: 'error' | 'warning'; message: string}> {
  const gating = new Set(blocking)
  return report.findings
    .filter((f) => f.status === 'fail' || f.status === 'error')
    .map((f) => ({type: gating.has(f) ? ('error' as const) : ('warning' as const), message: `${f.checkId} ${f.resourceName}: ${f.message}`}))
}

/** After `run`: the JUnit file when asked for, the job summary and annotations when running in CI (or --summary). */
export async function publishRunReports(result: RunResult, options: {junit?: string; summary?: string; json: boolean}): Promise<string[]> {
  const {writeFile} = await import('node:fs/promises')
  const {publishIssues, publishSummary} = await import('./outputs.js')
  const written: string[] = []
  if (options.junit) {
    await writeFile(options.junit, await runJunit(result))
    written.push(options.junit)
  }
  // Under --json stdout carries only the result document, so logging commands go to stderr (the agent reads both).
  const out = options.json ? process.stderr : process.stdout
  const summary = await publishSummary(runMarkdown(result), {file: options.summary, name: `run-${result.runId}`, out})
  if (summary) written.push(summary)
  publishIssues(runIssues(result), process.env, out)
  return written
}

/** After `check`: the job summary and annotations when running in CI (or --summary). */
export async function publishCheckReports(scan: {report: CheckReport; failOn: string; failed: boolean; blocking: Finding[]}, options: {summary?: string; json: boolean}): Promise<string | undefined> {
  const {publishIssues, publishSummary} = await import('./outputs.js')
  const out = options.json ? process.stderr : process.stdout
  const file = await publishSummary(checkMarkdown(scan.report, {failOn: scan.failOn, failed: scan.failed}), {file: options.summary, name: `check-${scan.report.environment}`, out})
  publishIssues(checkIssues(scan.report, scan.blocking), process.env, out)
  return file
}
