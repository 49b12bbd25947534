/**
 * `summary.json`: the one-document account of a run, written at the end next to the journal. It records what ran
 * (runbook and catalog hashes), where, by whom, with which versions, how each step went, and the journal's line
 * count and last hash, so a later edit or truncation of the journal is caught even at its last line.
 */
import {readFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import type {Environment} from '../catalog/schema.js'
import type {ApprovalRecord, RunOutcome, StepRecord} from '../runbooks/engine.js'
import type {ErrorInfo, RunStatus} from '../runbooks/events.js'
import type {Runbook} from '../runbooks/model.js'
import {runDir, SUMMARY_FILE} from './journal.js'
import type {RunSegment, RunTimes} from './segments.js'
import {Redactor, REDACTED} from './redact.js'
import {writeRedactedFile} from './writer.js'

export interface RunSummary {
  runId: string
  runbook: {name: string; title: string; kind: string; source: string; sha256: string}
  catalog: {file: string; sha256: string}
  environment: string
  production: boolean
  status: RunStatus
  /** A resumed run: the first segment's start (evidence/segments.ts). */
  startedAt: string
  finishedAt: string
  /** Elapsed, from startedAt to finishedAt; for a resumed run the pause before each resume included. */
  durationMs: number
  /** A resumed run only: the sum of its segments' durations, the time opsbook was running. */
  activeMs?: number
  /** A resumed run only: each process that wrote it — start, duration, how it ended. */
  segments?: RunSegment[]
  who: {osUser: string; host: string; azurePrincipal?: string}
  versions: {opsbook: string; node: string}
  params: Record<string, unknown>
  steps: StepRecord[]
  outputs: Record<string, unknown>
  approvals: Array<Pick<ApprovalRecord, 'step' | 'by' | 'via' | 'at'> & {approved: boolean; reason?: string}>
  overrides: Array<{kind: string; reason: string; by: string; at: string}>
  leftBehind: string[]
  error?: ErrorInfo
  resumedFrom?: string
  journal: {lines: number; lastHash: string}
  [extra: string]: unknown
}

export interface SummaryInput {
  runId: string
  runbook: Runbook
  catalog: {file: string; sha256: string}
  environmentName: string
  environment: Pick<Environment, 'production'>
  outcome: RunOutcome
  /** Resolved params; those the runbook declares `secret` are replaced whatever their value. */
  params: Record<string, unknown>
  journal: {lines: number; lastHash: string}
  /** Approvals given before the engine started (e.g. the production confirmation); the outcome's follow them. */
  approvals?: SummaryInput['outcome']['approvals']
  overrides?: RunSummary['overrides']
  azurePrincipal?: string
  resumedFrom?: string
  /** A resumed run's times read from its journal; the top-level figures are then the whole run's. */
  times?: RunTimes
  /** Defaults: the OS user and host name. */
  who?: {osUser?: string; host?: string}
  /** Defaults: this package's version and process.version. */
  versions?: {opsbook?: string; node?: string}
  /** Extra top-level fields (e.g. evidenceStore), added as they are. */
  extra?: Record<string, unknown>
  redactor?: Redactor
}

let cachedVersion: string | undefined
/** The version in opsbook's package.json (src/evidence and dist/evidence are both two levels below it). */
export function opsbookVersion(): string {
  if (cachedVersion) return cachedVersion
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: string}
    cachedVersion = pkg.version ?? 'unknown'
  } catch {
    cachedVersion = 'unknown'
  }
  return cachedVersion
}

function osUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}

/** The summary of a finished run, redacted. */
export function buildSummary(input: SummaryInput): RunSummary {
  const redactor = input.redactor ?? new Redactor()
  const {outcome, runbook} = input
  const params: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(input.params)) params[name] = runbook.params[name]?.type === 'secret' ? REDACTED : value
  const summary: RunSummary = {
    runId: input.runId,
    runbook: {name: runbook.name, title: runbook.title, kind: runbook.kind, source: runbook.source, sha256: runbook.sha256},
    catalog: {file: input.catalog.file, sha256: input.catalog.sha256},
    environment: input.environmentName,
    production: input.environment.production,
    status: outcome.status,
    startedAt: input.times?.startedAt ?? outcome.startedAt,
    finishedAt: input.times?.finishedAt ?? outcome.finishedAt,
    durationMs: input.times?.durationMs ?? outcome.durationMs,
    ...(input.times ? {activeMs: input.times.activeMs, segments: input.times.segments} : {}),
    who: {
      osUser: input.who?.osUser ?? osUser(),
      host: input.who?.host ?? hostname(),
      ...(input.azurePrincipal ? {azurePrincipal: input.azurePrincipal} : {}),
    },
    versions: {opsbook: input.versions?.opsbook ?? opsbookVersion(), node: input.versions?.node ?? process.version},
    params,
    steps: outcome.steps,
    outputs: outcome.outputs,
    approvals: [...(input.approvals ?? []), ...outcome.approvals].map((a) => ({
      step: a.step,
      approved: a.approved,
      by: a.by,
      via: a.via,
      at: a.at,
      ...(a.reason ? {reason: a.reason} : {}),
    })),
    overrides: input.overrides ?? [],
    leftBehind: outcome.leftBehind,
    ...(outcome.error ? {error: outcome.error} : {}),
    ...(input.resumedFrom ? {resumedFrom: input.resumedFrom} : {}),
    journal: {lines: input.journal.lines, lastHash: input.journal.lastHash},
    ...input.extra,
  }
  return redactor.redact(summary)
}

/** Write `summary` (redacted again, in case it was built elsewhere) to `<root>/runs/<runId>/summary.json`; returns the path. */
export async function writeSummary(root: string, summary: RunSummary, redactor: Redactor = new Redactor()): Promise<string> {
  const path = join(runDir(root, summary.runId), SUMMARY_FILE)
  // Written then renamed, so a crash never leaves half a summary next to a good journal.
  await writeRedactedFile(path, {json: summary}, {redactor})
  return path
}
