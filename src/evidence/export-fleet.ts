/**
 * Evidence of many environments in one bundle (`opsbook evidence export --env a,b` or `--all-envs`): each
 * environment's runs are read from its own evidence container (or the local .opsbook folder), built into that
 * environment's bundle exactly as a single-environment export would be, and kept under `environments/<env>/`, so
 * each folder verifies on its own. A top-level manifest hashes every file and lists each environment's manifest
 * hash; report.md tabulates the environments.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import type {Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'
import type {EvidenceTarget} from './blob-sink.js'
import {buildBundle, buildReport, collectBlobRuns, collectLocalRuns, MANIFEST_FILE, parseDateFlag, sha256, type ManifestFile} from './export.js'
import {redactedBytes, writeOutputFile} from './writer.js'

export const FLEET_BUNDLE_FORMAT = 'opsbook-evidence-fleet-bundle'

/** One environment to export, with its evidence container open when the source is Blob. */
export interface FleetEnvironment {
  name: string
  environment: Environment
  target?: EvidenceTarget
}

export interface FleetExportOptions {
  /** Called for each environment in turn (so only one connection is open at a time); `close` after its runs are read. */
  environments: string[]
  open(name: string): Promise<FleetEnvironment & {close(): Promise<void>}>
  root: string
  source: 'local' | 'blob'
  since?: string
  until?: string
  runbook?: string
  format: 'zip' | 'json'
  output?: string
  now?: Date
}

export interface FleetExportResult {
  output: string
  format: 'zip' | 'json'
  source: 'local' | 'blob'
  period: {since?: string; until: string}
  environments: Array<{environment: string; runs: number; passed: number; failed: number; manifestSha256: string; coverageGaps: string[]}>
  runs: number
  files: number
  /** SHA-256 of the top-level manifest (zip) or of the written file (json). */
  sha256: string
}

export async function exportFleetEvidence(options: FleetExportOptions): Promise<FleetExportResult> {
  const now = options.now ?? new Date()
  const since = options.since ? parseDateFlag(options.since, 'since', 'start') : undefined
  const until = options.until ? parseDateFlag(options.until, 'until', 'end') : now
  if (since && since > until) throw new ValidationError([{code: 'invalid-period', message: `--since ${options.since} is after --until ${options.until ?? 'now'}`}])
  const files = new Map<string, Uint8Array>()
  const environments: FleetExportResult['environments'] = []
  const documents: Array<{environment: string; manifest: unknown; report: unknown}> = []
  for (const name of options.environments) {
    const opened = await options.open(name)
    try {
      const filter = {environment: name, since, until, runbook: options.runbook}
      if (options.source === 'blob' && !opened.target)
        throw new ValidationError([{code: 'no-evidence-sink', message: `environment "${name}" has no evidence storage configured (environments.${name}.evidence)`}])
      const runs = options.source === 'blob' ? await collectBlobRuns(opened.target!, filter) : await collectLocalRuns(options.root, filter)
      const report = buildReport({environmentName: name, environment: opened.environment, runs, since, until, now})
      const bundle = await buildBundle({report, runs, source: options.source})
      for (const [path, bytes] of bundle.files) files.set(`environments/${name}/${path}`, bytes)
      // As a single-environment export does: each folder's manifest is registered in its own container, so that
      // `evidence verify --env <name>` can tell this export's files from ones edited with the manifest recomputed.
      if (options.format === 'zip' && opened.target) await (await import('./bundle-registry.js')).registerBundle(opened.target, bundle.files.get(MANIFEST_FILE)!)
      environments.push({
        environment: name,
        runs: report.totals.runs,
        passed: report.totals.passed,
        failed: report.totals.failed,
        manifestSha256: sha256(bundle.files.get(MANIFEST_FILE)!),
        coverageGaps: report.coverage.rows.filter((r) => r.hasObjectives && !r.covered).map((r) => r.component),
      })
      documents.push({environment: name, manifest: bundle.manifest, report: bundle.report})
    } finally {
      await opened.close()
    }
  }
  const period = {since: since?.toISOString(), until: until.toISOString()}
  files.set('report.md', redactedBytes({text: fleetReportMd(environments, period)}))
  const listed: ManifestFile[] = [...files.entries()].map(([path, bytes]) => ({path, bytes: bytes.length, sha256: sha256(bytes)})).sort((a, b) => a.path.localeCompare(b.path))
  const manifest = {format: FLEET_BUNDLE_FORMAT, version: 1, period, generatedAt: now.toISOString(), source: options.source, environments, files: listed}
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8')
  files.set(MANIFEST_FILE, manifestBytes)

  const output = resolve(options.output ?? `evidence-${options.environments.length}-environments-${now.toISOString().slice(0, 10)}.${options.format}`)
  let bytes: Uint8Array
  if (options.format === 'zip') {
    const {zipSync} = await import('fflate')
    bytes = zipSync(Object.fromEntries(files), {level: 6, mtime: now})
  } else bytes = redactedBytes({json: {manifest, environments: documents}})
  await writeOutputFile(output, bytes)
  return {
    output,
    format: options.format,
    source: options.source,
    period,
    environments,
    runs: environments.reduce((sum, e) => sum + e.runs, 0),
    files: options.format === 'zip' ? files.size : 1,
    sha256: options.format === 'zip' ? sha256(manifestBytes) : sha256(bytes),
  }
}

function fleetReportMd(environments: FleetExportResult['environments'], period: {since?: string; until: string}): string {
  const lines = [
    '# opsbook evidence: every environment',
    '',
    `Period: ${period.since ?? 'all recorded runs'} to ${period.until}. Each environment's own bundle (journals, summaries, report, manifest) is under \`environments/<name>/\`.`,
    '',
    '| environment | runs | passed | failed | components without a passing drill (90 days) | manifest SHA-256 |',
    '|---|---:|---:|---:|---|---|',
    ...environments.map((e) => `| ${e.environment} | ${e.runs} | ${e.passed} | ${e.failed} | ${e.coverageGaps.join(', ') || '–'} | \`${e.manifestSha256}\` |`),
  ]
  return `${lines.join('\n')}\n`
}
