/**
 * Evidence export: every run of an environment in an audit period (journal + summary, from the local `.opsbook`
 * folder or from the evidence container), a manifest with the SHA-256 of every file, and a report for auditors:
 * per-run facts, measured RTO/RPO against objectives, approvals and overrides, checklist results, RTO/RPO per
 * component per quarter, drill coverage over the last 90 days, and which evidence supports which control.
 */
import type {RunSegment} from './segments.js'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {hostname, userInfo} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import type {Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'
import {parseDuration} from '../support/duration.js'
import {journalText, verifyChain, type ChainCheck, type JournalText} from './journal.js'
import {headlineOutputs} from './outputs.js'
import {journalOutcome, summaryProblems} from './seal.js'
import type {EvidenceTarget} from './blob-sink.js'
import {mapControls, type ControlCoverage} from './controls.js'
import {assertOutputFile, redactedBytes, writeOutputFile} from './writer.js'

export const BUNDLE_FORMAT = 'opsbook-evidence-bundle'
export const MANIFEST_FILE = 'manifest.json'
export const COVERAGE_DAYS = 90

export type ExportFormat = 'zip' | 'html' | 'md' | 'json' | 'csv'

/** What export reads from summary.json. Every field is optional: evidence from older or crashed runs is still shown. */
export interface SummaryLike {
  runId?: string
  runbook?: {name?: string; title?: string; kind?: string; source?: string; sha256?: string}
  catalog?: {file?: string; sha256?: string}
  environment?: string
  production?: boolean
  status?: string
  startedAt?: string
  finishedAt?: string
  durationMs?: number
  activeMs?: number
  segments?: RunSegment[]
  who?: {osUser?: string; host?: string; azurePrincipal?: string}
  params?: Record<string, unknown>
  steps?: Array<{id: string; uses?: string; phase?: string; status?: string; durationMs?: number; error?: {message?: string} | null}>
  outputs?: Record<string, unknown> & {objectives?: ObjectiveMeasurement[]}
  approvals?: Array<{step?: string; by?: string; via?: string; at?: string; reason?: string}>
  overrides?: Array<{kind?: string; reason?: string; by?: string; at?: string}>
  leftBehind?: string[]
  journal?: {lines?: number; lastHash?: string}
  evidenceStore?: {mutable?: boolean; warning?: string; legalHold?: boolean; immutabilityPolicy?: {state?: string} | null}
}

export interface ObjectiveMeasurement {
  component: string
  type?: string
  rto?: {measuredMs?: number | null; objectiveMs?: number | null; met?: boolean | null}
  rpo?: {measuredMs?: number | null; objectiveMs?: number | null; met?: boolean | null}
  /** drill.report's verdict: met, missed, cannot-meet (the configuration rules the objective out) or unmeasured. */
  status?: string
  notes?: string[]
}

/** A component's drill result does not show its objectives are met: a miss, a configuration that cannot meet them, or no measurement. */
export function objectiveNotMet(o: ObjectiveMeasurement): boolean {
  return o.rto?.met === false || o.rpo?.met === false || (o.status !== undefined && o.status !== 'met')
}

/** One run's evidence as found: exact file texts plus what was parsed from them. */
export interface EvidenceRun {
  runId: string
  source: 'local' | 'blob'
  journalText: string
  summaryText?: string
  /** The run's report.md and request.json, exported byte for byte so the bundle holds everything the seal covers. */
  reportText?: string
  requestText?: string
  summary?: SummaryLike
  /**
   * Whether the evidence container held the run's whole journal when it was collected: `blob` for a run read from
   * Blob, or a local run whose upload-state.json says nothing is pending; `none` otherwise (it never reached Blob).
   * The bundle's manifest records it per run; `evidence verify --env` recomputes it against the container.
   */
  anchor?: 'blob' | 'none'
  /** From summary, else the journal's first line. */
  startedAt: string
  environment?: string
  runbook?: string
  kind?: string
}

export interface RunFilter {
  environment: string
  since?: Date
  until?: Date
  runbook?: string
}

/** Read the runs under `<root>/runs/` that match the filter, oldest first. */
export async function collectLocalRuns(root: string, filter: RunFilter): Promise<EvidenceRun[]> {
  const runsDir = join(root, 'runs')
  if (!existsSync(runsDir)) return []
  const runs: EvidenceRun[] = []
  for (const entry of await readdir(runsDir, {withFileTypes: true})) {
    if (!entry.isDirectory()) continue
    const dir = join(runsDir, entry.name)
    const journalPath = join(dir, 'journal.jsonl')
    if (!existsSync(journalPath)) continue
    const journalText = await readFile(journalPath, 'utf8')
    const optional = async (name: string) => (existsSync(join(dir, name)) ? await readFile(join(dir, name), 'utf8') : undefined)
    const run = describeRun(entry.name, 'local', journalText, await optional('summary.json'))
    if (matches(run, filter)) runs.push({...run, reportText: await optional('report.md'), requestText: await optional('request.json'), anchor: await localAnchor(dir, journalText)})
  }
  return runs.sort(byStart)
}

/**
 * A local run's anchor as its upload-state.json records it: `blob` when nothing is pending and the whole journal was
 * copied, else `none` (no upload state: it never reached Blob). A claim of this machine's, recomputed by verify --env.
 */
async function localAnchor(dir: string, journalText: string): Promise<'blob' | 'none'> {
  const {readUploadState} = await import('./blob-sink.js')
  const state = await readUploadState(dir)
  return state && !state.pending && (state.files['journal.jsonl']?.uploadedBytes ?? -1) >= Buffer.byteLength(journalText, 'utf8') ? 'blob' : 'none'
}

/** Read the runs under `runs/` in the evidence container that match the filter, oldest first. */
export async function collectBlobRuns(target: EvidenceTarget, filter: RunFilter): Promise<EvidenceRun[]> {
  const runs: EvidenceRun[] = []
  for (const [runId, text] of await blobRunFolders(target)) {
    const journalText = await text('journal.jsonl')
    if (journalText === undefined) continue
    const run = describeRun(runId, 'blob', journalText, await text('summary.json'))
    if (matches(run, filter)) runs.push({...run, reportText: await text('report.md'), requestText: await text('request.json'), anchor: 'blob'})
  }
  return runs.sort(byStart)
}

/**
 * The runs in the evidence container (`runs/<yyyy>/<mm>/<runId>/…`), each with a reader of its files by name
 * (journal.jsonl, summary.json, report.md, request.json) that downloads only what is asked for.
 */
export async function blobRunFolders(target: EvidenceTarget): Promise<Map<string, (file: string) => Promise<string | undefined>>> {
  const folders = new Map<string, Map<string, string>>()
  for await (const blob of target.client.listBlobsFlat({prefix: 'runs/'})) {
    const match = /^runs\/\d{4}\/\d{2}\/([^/]+)\/(journal\.jsonl|summary\.json|report\.md|request\.json)$/.exec(blob.name)
    if (!match) continue
    const entry = folders.get(match[1]!) ?? new Map<string, string>()
    entry.set(match[2]!, blob.name)
    folders.set(match[1]!, entry)
  }
  const readers = new Map<string, (file: string) => Promise<string | undefined>>()
  for (const [runId, names] of folders)
    readers.set(runId, async (file: string) => {
      const blobName = names.get(file)
      return blobName ? (await target.client.getBlobClient(blobName).downloadToBuffer()).toString('utf8') : undefined
    })
  return readers
}

/** Parse what a run's files say about it; damaged files still produce a run (verify reports the damage). */
export function describeRun(runId: string, source: 'local' | 'blob', journalText: string, summaryText?: string): EvidenceRun {
  let summary: SummaryLike | undefined
  try {
    summary = summaryText ? (JSON.parse(summaryText) as SummaryLike) : undefined
  } catch {
    summary = undefined
  }
  const first = firstJournalLine(journalText)
  const data = (first?.data ?? {}) as {environment?: string; runbook?: string; kind?: string}
  return {
    runId,
    source,
    journalText,
    summaryText,
    summary,
    startedAt: summary?.startedAt ?? first?.ts ?? new Date(0).toISOString(),
    environment: summary?.environment ?? data.environment,
    runbook: summary?.runbook?.name ?? data.runbook,
    kind: summary?.runbook?.kind ?? data.kind,
  }
}

function firstJournalLine(text: string): {ts?: string; type?: string; data?: Record<string, unknown>} | undefined {
  const end = text.indexOf('\n')
  try {
    return JSON.parse(end === -1 ? text : text.slice(0, end))
  } catch {
    return undefined
  }
}

function matches(run: EvidenceRun, filter: RunFilter): boolean {
  if (run.environment !== filter.environment) return false
  if (filter.runbook && run.runbook !== filter.runbook) return false
  const at = Date.parse(run.startedAt)
  if (filter.since && at < filter.since.getTime()) return false
  if (filter.until && at > filter.until.getTime()) return false
  return true
}

const byStart = (a: EvidenceRun, b: EvidenceRun) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId)

// ── The report model ────────────────────────────────────────────────────────────────────────────────────────────

export interface RunRow {
  runId: string
  runbook: string
  title: string
  kind: string
  status: string
  /** Succeeded and no objective missed. */
  passed: boolean
  startedAt: string
  finishedAt?: string
  /** Elapsed; a resumed run's from its first start (evidence/segments.ts). */
  durationMs?: number
  /** A resumed run: time running, the sum of its segments. */
  activeMs?: number
  segments?: RunSegment[]
  who: string
  params: Record<string, unknown>
  objectives: ObjectiveMeasurement[]
  approvals: Array<{step?: string; by?: string; via?: string; at?: string; reason?: string}>
  overrides: Array<{kind?: string; reason?: string; by?: string; at?: string}>
  failedSteps: Array<{id: string; message?: string}>
  /** When the run had groups or called runbooks: every step as a tree (depth 0 = the runbook's own steps). */
  stepTree?: Array<{id: string; uses: string; status: string; depth: number}>
  /** Results of checklist runs (their summary outputs), flattened to label/value pairs. */
  checklist?: Array<{label: string; value: string}>
  /** What an incident or maintenance run produced (the restored server, its host, the point): its scalar outputs. */
  outputs?: Array<{label: string; value: string}>
  leftBehind: string[]
  journal: {lines: number; lastHash: string; chainOk: boolean; problem?: string}
  evidenceStoreWarning?: string
}

export interface ComponentSeries {
  component: string
  type: string
  tier?: string
  rtoObjectiveMs?: number
  rpoObjectiveMs?: number
  /** One point per drill measurement, oldest first. */
  points: Array<{runId: string; at: string; quarter: string; rtoMs?: number; rpoMs?: number; rtoMet?: boolean; rpoMet?: boolean}>
}

export interface CoverageRow {
  component: string
  type: string
  tier?: string
  hasObjectives: boolean
  /** `outcome`: "passed", or why the drill does not count for this component (RTO missed, RPO not measured, …). */
  lastDrill?: {runId: string; at: string; passed: boolean; outcome: string}
  lastPassingDrill?: {runId: string; at: string}
  /** A passing drill within the coverage window. */
  covered: boolean
}

export interface EvidenceReport {
  environment: string
  production: boolean
  period: {since?: string; until: string}
  generatedAt: string
  generatedBy: string
  runs: RunRow[]
  series: ComponentSeries[]
  coverage: {asOf: string; days: number; rows: CoverageRow[]}
  controls: ControlCoverage[]
  /** Whether the evidence container was immutable (WORM) when the newest run wrote to it, as that run recorded. */
  evidenceStore: {immutable: boolean | 'unknown'; detail: string}
  totals: {runs: number; passed: number; failed: number; drills: number}
}

/** The evidence container's immutability as the newest run that read it recorded (runs are newest last or first: by time). */
export function evidenceStoreState(runs: EvidenceRun[]): EvidenceReport['evidenceStore'] {
  const recorded = runs
    .filter((r) => r.summary?.evidenceStore && r.summary.evidenceStore.mutable !== undefined)
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))[0]
  if (!recorded) return {immutable: 'unknown', detail: 'no run in this period recorded the evidence container\'s immutability settings'}
  const store = recorded.summary!.evidenceStore!
  const policy = store.immutabilityPolicy?.state ? `immutability policy ${store.immutabilityPolicy.state}` : 'no immutability policy'
  const hold = store.legalHold ? ', legal hold' : ''
  return store.mutable
    ? {immutable: false, detail: `MUTABLE: the evidence container has ${policy}${hold}; journals there could be altered or deleted (as of run ${recorded.runId})`}
    : {immutable: true, detail: `immutable (WORM): ${policy}${hold} (as of run ${recorded.runId})`}
}

/** Build the report model from the runs found and the catalog's environment. */
export function buildReport(options: {
  environmentName: string
  environment?: Environment
  runs: EvidenceRun[]
  since?: Date
  until: Date
  now?: Date
}): EvidenceReport {
  const rows = options.runs.map((run) => toRunRow(run))
  const components = options.environment?.components ?? {}
  const series = componentSeries(rows, components)
  const asOf = options.until
  const coverageRows = coverage(rows, components, asOf)
  return {
    environment: options.environmentName,
    production: options.environment?.production ?? false,
    period: {since: options.since?.toISOString(), until: options.until.toISOString()},
    generatedAt: (options.now ?? new Date()).toISOString(),
    generatedBy: `${currentUser()}@${hostname()}`,
    runs: rows,
    series,
    coverage: {asOf: asOf.toISOString(), days: COVERAGE_DAYS, rows: coverageRows},
    controls: mapControls(rows.map((r) => ({runId: r.runId, kind: r.kind, runbook: r.runbook, passed: r.passed}))),
    evidenceStore: evidenceStoreState(options.runs),
    totals: {
      runs: rows.length,
      passed: rows.filter((r) => r.passed).length,
      failed: rows.filter((r) => !r.passed).length,
      drills: rows.filter((r) => r.kind === 'drill').length,
    },
  }
}

/**
 * The report row of one run (also used for the per-run report.md next to the journal). `journal`: the run's journal
 * text already split (evidence verify's, JournalText), else it is split here once for every check of the row.
 */
export function toRunRow(run: EvidenceRun, journal: JournalText = journalText(run.journalText)): RunRow {
  const s = run.summary ?? {}
  const chain: ChainCheck = verifyChain(journal, {lastHash: s.journal?.lastHash, lines: s.journal?.lines})
  const tampered = run.summaryText === undefined ? [] : summaryProblems(journal, run.summaryText)
  const objectives = Array.isArray(s.outputs?.objectives) ? s.outputs.objectives : []
  const missed = objectives.some((o) => objectiveNotMet(o))
  // The outcome is the journal's (hash-chained), not summary.json's: an edited summary said succeeded in every export
  // (issue 16). `journal.problem` says that they disagree.
  const status = journalOutcome(journal) ?? s.status ?? 'unfinished'
  const who = [s.who?.osUser && s.who?.host ? `${s.who.osUser}@${s.who.host}` : s.who?.osUser, s.who?.azurePrincipal ? `(${s.who.azurePrincipal})` : undefined]
    .filter(Boolean)
    .join(' ')
  return {
    runId: run.runId,
    runbook: run.runbook ?? 'unknown',
    title: s.runbook?.title ?? run.runbook ?? '',
    kind: run.kind ?? 'unknown',
    status,
    passed: status === 'succeeded' && !missed && tampered.length === 0,
    startedAt: run.startedAt,
    finishedAt: s.finishedAt,
    durationMs: s.durationMs,
    ...(s.activeMs !== undefined && s.segments ? {activeMs: s.activeMs, segments: s.segments} : {}),
    who: who || 'unknown',
    params: s.params ?? {},
    objectives,
    approvals: s.approvals ?? [],
    overrides: s.overrides ?? [],
    failedSteps: (s.steps ?? []).filter((step) => step.status === 'failed' || step.status === 'rollback-failed').map((step) => ({id: step.id, message: step.error?.message})),
    ...(stepTree(s.steps ?? []) ? {stepTree: stepTree(s.steps ?? [])} : {}),
    checklist: run.kind === 'checklist' ? flattenOutputs(s.outputs ?? {}) : undefined,
    ...(run.kind !== 'checklist' && headlineOutputs(s.outputs ?? {}).length > 0 ? {outputs: headlineOutputs(s.outputs ?? {})} : {}),
    leftBehind: s.leftBehind ?? [],
    journal: {
      lines: chain.lines,
      lastHash: chain.lastHash,
      chainOk: chain.ok && tampered.length === 0,
      problem: [chain.firstBad ? `line ${chain.firstBad.line}: ${chain.firstBad.reason}` : undefined, ...tampered].filter(Boolean).join('; ') || undefined,
    },
    evidenceStoreWarning: s.evidenceStore?.warning,
  }
}

/**
 * Label/value pairs from a checklist run's outputs: scalars, scalars one level down (counts by status …), lists of
 * scalars joined, and one pair per item of a list of records (a failing finding: its fields joined with ' · ').
 */
function flattenOutputs(outputs: Record<string, unknown>): Array<{label: string; value: string}> {
  const pairs: Array<{label: string; value: string}> = []
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
  for (const [key, value] of Object.entries(outputs)) {
    if (scalar(value)) pairs.push({label: key, value: String(value)})
    else if (Array.isArray(value)) {
      if (value.length === 0 || value.every(scalar)) pairs.push({label: key, value: value.length === 0 ? 'none' : value.join(', ')})
      else
        for (const item of value)
          pairs.push({label: key, value: item && typeof item === 'object' ? Object.values(item).filter(scalar).join(' · ') : String(item)})
    } else if (value && typeof value === 'object')
      for (const [inner, v] of Object.entries(value)) if (scalar(v)) pairs.push({label: `${key}.${inner}`, value: String(v)})
  }
  return pairs
}

function componentSeries(rows: RunRow[], components: Environment['components']): ComponentSeries[] {
  const byComponent = new Map<string, ComponentSeries>()
  for (const [key, component] of Object.entries(components)) {
    if (!component.objectives?.rto && !component.objectives?.rpo) continue
    byComponent.set(key, {
      component: key,
      type: component.type,
      tier: component.tier,
      rtoObjectiveMs: component.objectives.rto ? parseDuration(component.objectives.rto) : undefined,
      rpoObjectiveMs: component.objectives.rpo ? parseDuration(component.objectives.rpo) : undefined,
      points: [],
    })
  }
  for (const row of rows) {
    if (row.kind !== 'drill') continue
    for (const o of row.objectives) {
      const series =
        byComponent.get(o.component) ??
        byComponent.set(o.component, {component: o.component, type: o.type ?? 'unknown', points: []}).get(o.component)!
      series.rtoObjectiveMs ??= o.rto?.objectiveMs ?? undefined
      series.rpoObjectiveMs ??= o.rpo?.objectiveMs ?? undefined
      series.points.push({
        runId: row.runId,
        at: row.startedAt,
        quarter: quarterOf(row.startedAt),
        rtoMs: o.rto?.measuredMs ?? undefined,
        rpoMs: o.rpo?.measuredMs ?? undefined,
        rtoMet: o.rto?.met ?? undefined,
        rpoMet: o.rpo?.met ?? undefined,
      })
    }
  }
  return [...byComponent.values()]
}

function coverage(rows: RunRow[], components: Environment['components'], asOf: Date): CoverageRow[] {
  const windowStart = asOf.getTime() - COVERAGE_DAYS * 86_400_000
  const drills = rows.filter((r) => r.kind === 'drill')
  const keys = new Set([...Object.keys(components), ...drills.flatMap((r) => r.objectives.map((o) => o.component))])
  return [...keys].sort().map((key) => {
    const component = components[key]
    const measured = drills.filter((r) => r.objectives.some((o) => o.component === key))
    // A component passes on its own row: a drill fails (exit 1) when any one row misses, and the components whose rows
    // were met in it were still recovered and verified. Only a run that never finished proves nothing.
    const passes = (r: RunRow) => {
      const o = r.objectives.find((x) => x.component === key)!
      return r.status !== 'unfinished' && r.status !== 'interrupted' && !objectiveNotMet(o)
    }
    // Why a drill does not count, in the row's own words: a drill that succeeded with an RPO it could not measure
    // is not "failed" (the run's exit was 0), and the auditor must see which it was.
    const outcome = (r: RunRow): string => {
      if (passes(r)) return 'passed'
      if (r.status === 'unfinished' || r.status === 'interrupted') return r.status
      const o = r.objectives.find((x) => x.component === key)!
      const missed = (['rto', 'rpo'] as const).filter((k) => o[k]?.met === false).map((k) => `${k.toUpperCase()} missed`)
      if (missed.length > 0) return missed.join(', ')
      if (o.status === 'unmeasured') {
        const unmeasured = (['rto', 'rpo'] as const).filter((k) => o[k]?.objectiveMs && (o[k]?.measuredMs === undefined || o[k]?.measuredMs === null))
        return unmeasured.length > 0 ? `${unmeasured.map((k) => k.toUpperCase()).join(' and ')} not measured` : 'not measured'
      }
      if (o.status === 'cannot-meet') return 'configuration cannot meet its objectives'
      if (o.status === 'no-objective') return 'no objectives to measure against'
      return o.status ?? 'failed'
    }
    const last = measured.at(-1)
    const lastPassing = measured.filter(passes).at(-1)
    return {
      component: key,
      type: component?.type ?? measured[0]?.objectives.find((o) => o.component === key)?.type ?? 'unknown',
      tier: component?.tier,
      hasObjectives: Boolean(component?.objectives?.rto || component?.objectives?.rpo),
      lastDrill: last ? {runId: last.runId, at: last.startedAt, passed: passes(last), outcome: outcome(last)} : undefined,
      lastPassingDrill: lastPassing ? {runId: lastPassing.runId, at: lastPassing.startedAt} : undefined,
      covered: Boolean(lastPassing && Date.parse(lastPassing.startedAt) >= windowStart && Date.parse(lastPassing.startedAt) <= asOf.getTime()),
    }
  })
}

/** `2026-Q3` for a date in July–September 2026 (UTC). */
export function quarterOf(iso: string): string {
  const d = new Date(iso)
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`
}

// ── The bundle ──────────────────────────────────────────────────────────────────────────────────────────────────

export interface ManifestFile {
  path: string
  bytes: number
  sha256: string
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT
  version: 1
  environment: string
  period: {since?: string; until: string}
  generatedAt: string
  generatedBy: string
  source: 'local' | 'blob'
  /** Every file of the bundle except this manifest, with its SHA-256. */
  files: ManifestFile[]
  /**
   * Per run, `anchor`: whether the evidence container held its journal at export (`blob`) or not (`none`: nothing
   * outside the exporting machine confirmed it). Absent in bundles exported before the field existed.
   */
  runs: Array<{runId: string; runbook?: string; status?: string; startedAt: string; journal: {lines: number; lastHash: string}; anchor?: 'blob' | 'none'}>
}

export interface Bundle {
  manifest: BundleManifest
  /** Path inside the bundle → bytes, manifest.json included. */
  files: Map<string, Uint8Array>
  report: EvidenceReport
}

/** Assemble the bundle's files: run evidence byte for byte, reports, CSVs, and the manifest over all of them. */
export async function buildBundle(options: {report: EvidenceReport; runs: EvidenceRun[]; source: 'local' | 'blob'}): Promise<Bundle> {
  const {renderReportHtml} = await import('./report-html.js')
  const {renderReportMd} = await import('./report-md.js')
  const files = new Map<string, Uint8Array>()
  for (const run of options.runs) {
    files.set(`runs/${run.runId}/journal.jsonl`, Buffer.from(run.journalText, 'utf8'))
    if (run.summaryText !== undefined) files.set(`runs/${run.runId}/summary.json`, Buffer.from(run.summaryText, 'utf8'))
    if (run.reportText !== undefined) files.set(`runs/${run.runId}/report.md`, Buffer.from(run.reportText, 'utf8'))
    if (run.requestText !== undefined) files.set(`runs/${run.runId}/request.json`, Buffer.from(run.requestText, 'utf8'))
  }
  // Run files are byte copies of evidence already written redacted (the seal and Blob must match them); what the
  // export generates goes through the one writer's redaction.
  files.set('report.html', redactedBytes({text: renderReportHtml(options.report)}))
  files.set('report.md', redactedBytes({text: renderReportMd(options.report)}))
  files.set('runs.csv', redactedBytes({text: runsCsv(options.report)}))
  files.set('coverage.csv', redactedBytes({text: coverageCsv(options.report)}))
  const anchors = new Map(options.runs.map((r) => [r.runId, r.anchor ?? (r.source === 'blob' ? 'blob' : 'none')] as const))
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: 1,
    environment: options.report.environment,
    period: options.report.period,
    generatedAt: options.report.generatedAt,
    generatedBy: options.report.generatedBy,
    source: options.source,
    files: [...files.entries()].map(([path, bytes]) => ({path, bytes: bytes.length, sha256: sha256(bytes)})).sort((a, b) => a.path.localeCompare(b.path)),
    runs: options.report.runs.map((r) => ({
      runId: r.runId,
      runbook: r.runbook,
      status: r.status,
      startedAt: r.startedAt,
      journal: {lines: r.journal.lines, lastHash: r.journal.lastHash},
      anchor: anchors.get(r.runId) ?? 'none',
    })),
  }
  files.set(MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'))
  return {manifest, files, report: options.report}
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const CSV_RUN_COLUMNS = ['runId', 'runbook', 'kind', 'status', 'passed', 'startedAt', 'finishedAt', 'durationMs', 'who', 'objectivesMissed', 'approvals', 'overrides', 'journalLines', 'journalLastHash', 'chainOk'] as const

/** One row per run, for spreadsheets. */
export function runsCsv(report: EvidenceReport): string {
  const lines = [CSV_RUN_COLUMNS.join(',')]
  for (const r of report.runs) {
    const missed = r.objectives.flatMap((o) => [o.rto?.met === false ? `${o.component} RTO` : '', o.rpo?.met === false ? `${o.component} RPO` : '']).filter(Boolean)
    lines.push(
      [
        r.runId,
        r.runbook,
        r.kind,
        r.status,
        r.passed,
        r.startedAt,
        r.finishedAt ?? '',
        r.durationMs ?? '',
        r.who,
        missed.join('; '),
        r.approvals.map((a) => `${a.step ?? ''} by ${a.by ?? '?'} via ${a.via ?? '?'}`).join('; '),
        r.overrides.map((o) => `${o.kind ?? ''}: ${o.reason ?? ''} (${o.by ?? '?'})`).join('; '),
        r.journal.lines,
        r.journal.lastHash,
        r.journal.chainOk,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  return `${lines.join('\n')}\n`
}

export function coverageCsv(report: EvidenceReport): string {
  const lines = ['component,type,tier,hasObjectives,lastDrill,lastDrillPassed,lastPassingDrill,coveredInLast90Days']
  for (const c of report.coverage.rows)
    lines.push(
      [c.component, c.type, c.tier ?? '', c.hasObjectives, c.lastDrill?.at ?? '', c.lastDrill?.passed ?? '', c.lastPassingDrill?.at ?? '', c.covered].map(csvCell).join(','),
    )
  return `${lines.join('\n')}\n`
}

function csvCell(value: unknown): string {
  let text = String(value)
  // A leading =, +, - or @ makes spreadsheets evaluate the cell: neutralise it (CSV injection).
  if (/^[=+\-@]/.test(text)) text = `'${text}`
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

// ── The export command's domain entry point ────────────────────────────────────────────────────────────────────

export interface ExportOptions {
  environmentName: string
  environment?: Environment
  /** `.opsbook` folder (local source). */
  root: string
  source: 'local' | 'blob'
  /** Required when source is blob; with it, a zip bundle's manifest is registered there (bundle-registry.ts). */
  target?: EvidenceTarget
  since?: string
  until?: string
  runbook?: string
  format: ExportFormat
  /** Output file; default `evidence-<env>-<date>.<ext>` in the working directory. */
  output?: string
  now?: Date
}

export interface ExportResult {
  output: string
  format: ExportFormat
  environment: string
  source: 'local' | 'blob'
  period: {since?: string; until: string}
  runs: number
  files: number
  /** SHA-256 of the manifest (zip) or of the written file: note it to detect a swapped bundle later. */
  sha256: string
  /** Where the bundle's manifest was registered in the evidence container (zip with a container), so `evidence verify --env` can bind every file. */
  registered?: string
  coverageGaps: string[]
}

/** Collect, build and write the export. */
export async function exportEvidence(options: ExportOptions): Promise<ExportResult> {
  const now = options.now ?? new Date()
  // A folder as --output is refused before anything is built or registered.
  if (options.output) assertOutputFile(resolve(options.output))
  const since = options.since ? parseDateFlag(options.since, 'since', 'start') : undefined
  const until = options.until ? parseDateFlag(options.until, 'until', 'end') : now
  if (since && since > until) throw new ValidationError([{code: 'invalid-period', message: `--since ${options.since} is after --until ${options.until ?? 'now'}`}])
  const filter: RunFilter = {environment: options.environmentName, since, until, runbook: options.runbook}
  let runs: EvidenceRun[]
  if (options.source === 'blob') {
    if (!options.target)
      throw new ValidationError([{code: 'no-evidence-sink', message: `environment "${options.environmentName}" has no evidence storage configured (environments.${options.environmentName}.evidence)`}])
    runs = await collectBlobRuns(options.target, filter)
  } else {
    runs = await collectLocalRuns(options.root, filter)
  }
  const report = buildReport({environmentName: options.environmentName, environment: options.environment, runs, since, until, now})
  const bundle = await buildBundle({report, runs, source: options.source})
  const extension = options.format
  const output = resolve(options.output ?? `evidence-${options.environmentName}-${now.toISOString().slice(0, 10)}.${extension}`)
  const bytes = await encodeBundle(bundle, runs, options.format)
  await writeOutputFile(output, bytes)
  let registered: string | undefined
  if (options.format === 'zip' && options.target) registered = await (await import('./bundle-registry.js')).registerBundle(options.target, bundle.files.get(MANIFEST_FILE)!)
  return {
    output,
    format: options.format,
    environment: options.environmentName,
    source: options.source,
    period: report.period,
    runs: runs.length,
    files: options.format === 'zip' ? bundle.files.size : 1,
    sha256: options.format === 'zip' ? sha256(bundle.files.get(MANIFEST_FILE)!) : sha256(bytes),
    coverageGaps: report.coverage.rows.filter((r) => r.hasObjectives && !r.covered).map((r) => r.component),
    ...(registered ? {registered} : {}),
  }
}

async function encodeBundle(bundle: Bundle, runs: EvidenceRun[], format: ExportFormat): Promise<Uint8Array> {
  switch (format) {
    case 'zip': {
      const {zipSync} = await import('fflate')
      const entries: Record<string, Uint8Array> = {}
      // A fixed timestamp keeps the archive bytes a function of its contents.
      for (const [path, bytes] of bundle.files) entries[path] = bytes
      return zipSync(entries, {level: 6, mtime: new Date(bundle.report.generatedAt)})
    }
    case 'html':
      return bundle.files.get('report.html')!
    case 'md':
      return bundle.files.get('report.md')!
    case 'csv':
      return bundle.files.get('runs.csv')!
    case 'json':
      return redactedBytes({
        json: {
          manifest: bundle.manifest,
          report: bundle.report,
          runs: runs.map((r) => ({runId: r.runId, summary: r.summary ?? null, journal: r.journalText})),
        },
      })
  }
}

/** `2026-07-01` (start or end of that UTC day) or a full ISO date-time. */
export function parseDateFlag(value: string, flag: string, edge: 'start' | 'end'): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const parsed = new Date(dateOnly ? `${value}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z` : value)
  if (Number.isNaN(parsed.getTime()))
    throw new ValidationError([{code: 'invalid-date', message: `--${flag} ${value} is not a date; use 2026-07-01 or 2026-07-01T00:00:00Z`}])
  return parsed
}

function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'unknown'
  }
}

/** The steps of a run with groups or called runbooks, as a tree (main and finally phases; rollbacks are listed as failed steps). */
function stepTree(steps: Array<{id: string; uses?: string; status?: string; phase?: string; parent?: string}>): RunRow['stepTree'] {
  if (!steps.some((step) => step.parent)) return undefined
  const parentOf = new Map(steps.filter((step) => step.phase !== 'rollback').map((step) => [step.id, step.parent]))
  const depth = (id: string): number => {
    const parent = parentOf.get(id)
    return parent ? depth(parent) + 1 : 0
  }
  return steps.filter((step) => step.phase !== 'rollback').map((step) => ({id: step.id, uses: step.uses ?? '', status: step.status ?? 'unknown', depth: depth(step.id)}))
}
