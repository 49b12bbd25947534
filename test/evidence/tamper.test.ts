/**
 * The standing tamper test (issue 16): every single-field edit, and every coordinated edit (the hash chain, the
 * seal, summary.json's journal end and the bundle manifest recomputed, as an attacker without a key can), of a run's
 * journal, summary, report and request — locally and in an exported bundle — is detected by `evidence verify` against
 * the Blob copy, with the place named. Cases are generated from the files; the verification is the command's own code
 * (`verifyRun` end to end for a few cases, its pure parts for the rest, with the blob copies downloaded once).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {unzipSync} from 'fflate'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BlobSink, runBlobPrefix} from '../../src/evidence/blob-sink.js'
import {exportEvidence} from '../../src/evidence/export.js'
import {Journal, newRunId, runDir} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import {blobCopyChecks, runFileChecks, verifyBundleFiles, verifyRun, type RunFiles, type VerifyCheck} from '../../src/evidence/verify.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {runStarted, startBlobFixture, summaryFor, tempDir, testEnvironment, type BlobFixture} from './blob-helpers.js'
import {parseLines, remanifest, reseal} from './forge.js'

type Path = Array<string | number>
const FILES = ['journal.jsonl', 'summary.json', 'report.md', 'request.json'] as const
type FileName = (typeof FILES)[number]
const KEY: Record<FileName, keyof RunFiles> = {'journal.jsonl': 'journal', 'summary.json': 'summary', 'report.md': 'report', 'request.json': 'request'}

/** Every leaf of a JSON value with its path (empty arrays and objects count as leaves). */
function leaves(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.length === 0 ? [path] : value.flatMap((v, i) => leaves(v, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
    return entries.length === 0 ? [path] : entries.flatMap(([k, v]) => leaves(v, [...path, k]))
  }
  return [path]
}

/** A different value of the same kind: what a single-field edit puts in. */
function changed(value: unknown): unknown {
  if (typeof value === 'string') return value === 'interrupted' ? 'succeeded' : `${value}x`
  if (typeof value === 'number') return value + 1
  if (typeof value === 'boolean') return !value
  if (Array.isArray(value)) return ['x']
  if (value !== null && typeof value === 'object') return {x: 1}
  return 'x'
}

function edit(json: unknown, path: Path): unknown {
  const copy = structuredClone(json) as any
  if (path.length === 0) return changed(copy)
  let target = copy
  for (const key of path.slice(0, -1)) target = target[key]
  target[path.at(-1)!] = changed(target[path.at(-1)!])
  return copy
}

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? '' : Buffer.from(bytes).toString('utf8'))
const pretty = (json: unknown) => `${JSON.stringify(json, null, 2)}\n`

interface Case {
  name: string
  file: FileName
  files: RunFiles
}

/** Every single-field edit of one run's files: journal fields line by line, summary and request leaves, report lines. */
function singleFieldEdits(original: RunFiles): Case[] {
  const cases: Case[] = []
  const lines = text(original.journal).split('\n').filter(Boolean)
  lines.forEach((line, index) => {
    const parsed = JSON.parse(line)
    for (const path of leaves(parsed)) {
      const edited = [...lines]
      edited[index] = JSON.stringify(edit(parsed, path))
      cases.push({name: `journal line ${index + 1} ${path.join('.')}`, file: 'journal.jsonl', files: {...original, journal: Buffer.from(`${edited.join('\n')}\n`)}})
    }
  })
  for (const file of ['summary.json', 'request.json'] as const) {
    const json = JSON.parse(text(original[KEY[file]]))
    for (const path of leaves(json)) cases.push({name: `${file} ${path.join('.')}`, file, files: {...original, [KEY[file]]: Buffer.from(pretty(edit(json, path)))}})
  }
  const report = text(original.report).split('\n')
  report.forEach((line, index) => {
    if (line.trim() === '') return
    const edited = [...report]
    edited[index] = `${line.slice(0, -1)}${line.endsWith('x') ? 'y' : 'x'}`
    cases.push({name: `report.md line ${index + 1}`, file: 'report.md', files: {...original, report: Buffer.from(edited.join('\n'))}})
  })
  return cases
}

/** The same edits made consistent: chain, seal and summary.journal recomputed (what they would pin is rewritten). */
function coordinatedEdits(original: RunFiles): Case[] {
  const lines = parseLines(text(original.journal))
  const forge = (name: string, file: FileName, parts: {journal?: string; summary?: string; report?: string; request?: string}): Case => {
    const forged = reseal({
      journal: parts.journal ?? text(original.journal),
      summary: parts.summary ?? text(original.summary),
      report: parts.report ?? text(original.report),
      request: parts.request ?? text(original.request),
    })
    return {name: `coordinated ${name}`, file, files: {journal: Buffer.from(forged.journal), summary: Buffer.from(forged.summary), report: Buffer.from(forged.report!), request: Buffer.from(forged.request!)}}
  }
  const cases: Case[] = []
  lines.slice(0, -1).forEach((line, index) => {
    // seq and prev are what rechaining rewrites; the seal line is what resealing rewrites.
    for (const path of leaves(line).filter((p) => p[0] !== 'seq' && p[0] !== 'prev')) {
      const edited = lines.map((l, i) => (i === index ? edit(l, path) : l))
      cases.push(forge(`journal line ${index + 1} ${path.join('.')}`, 'journal.jsonl', {journal: `${edited.map((l) => JSON.stringify(l)).join('\n')}\n`}))
    }
  })
  const summary = JSON.parse(text(original.summary))
  for (const path of leaves(summary).filter((p) => p[0] !== 'journal')) cases.push(forge(`summary.json ${path.join('.')}`, 'summary.json', {summary: pretty(edit(summary, path))}))
  const request = JSON.parse(text(original.request))
  for (const path of leaves(request)) cases.push(forge(`request.json ${path.join('.')}`, 'request.json', {request: pretty(edit(request, path))}))
  cases.push(forge('report.md', 'report.md', {report: text(original.report).replace('interrupted', 'succeeded')}))
  return cases
}

function firstProblem(checks: VerifyCheck[]): string | undefined {
  return checks.find((c) => !c.ok)?.message
}

describe('tamper test: edits of a run\'s evidence are detected against Blob, with the place named', () => {
  let fixture: BlobFixture
  const root = tempDir()
  let runId: string
  let local: RunFiles
  let remote: RunFiles
  let bundle: Map<string, Uint8Array>

  beforeAll(async () => {
    fixture = await startBlobFixture()
    runId = newRunId('pg-pitr')
    const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    const journal = await Journal.create(runId, {root})
    writeFileSync(join(runDir(root, runId), 'request.json'), pretty({runId, runbook: 'pg-pitr', environment: 'local', params: {server: 'orders-db', restoreTime: '2026-11-23T15:30:00Z'}}))
    const events: RunEvent[] = [
      runStarted(runId, 'pg-pitr', 'incident'),
      {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {server: 'pg-shop-orders', pointInTime: '2026-11-23T15:30:00Z'}},
      {type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {server: 'pg-shop-orders-pitr', ready: true}, durationMs: 61_000, attempts: 1},
      {type: 'run.interrupted', signal: 'SIGINT'},
      {type: 'run.finished', status: 'interrupted', durationMs: 95_000, leftBehind: ['pg-shop-orders-pitr'], outputs: {}},
    ]
    for (const event of events) await journal.append(event)
    const summary = summaryFor(journal, {runbook: 'pg-pitr', kind: 'incident', status: 'interrupted'})
    summary.leftBehind = ['pg-shop-orders-pitr']
    await completeRun(journal, summary)
    expect((await sink.finish({timeoutMs: 10_000})).pending).toBe(false)

    const read = (file: FileName) => readFileSync(join(runDir(root, runId), file))
    local = {journal: read('journal.jsonl'), summary: read('summary.json'), report: read('report.md'), request: read('request.json')}
    const download = (file: FileName) => fixture.target.client.getBlobClient(`${runBlobPrefix(runId)}${file}`).downloadToBuffer()
    remote = {journal: await download('journal.jsonl'), summary: await download('summary.json'), report: await download('report.md'), request: await download('request.json')}
    const out = join(tempDir('opsbook-tamper-'), 'bundle.zip')
    const exported = await exportEvidence({environmentName: 'local', environment: testEnvironment(), root, source: 'local', target: fixture.target, format: 'zip', output: out})
    expect(exported.registered).toMatch(/^exports\/[0-9a-f]{64}\.json$/)
    bundle = new Map(Object.entries(unzipSync(readFileSync(out))))
  })
  afterAll(async () => {
    await fixture.blob.close()
  })

  it('holds for the untouched run, locally, in Blob and in the bundle', async () => {
    expect((await verifyRun(runId, {root, target: fixture.target})).firstProblem).toBeUndefined()
    expect([...runFileChecks('local', local), ...blobCopyChecks(remote, local, false)].every((c) => c.ok)).toBe(true)
    expect((await verifyBundleFiles('bundle.zip', bundle, {target: fixture.target})).firstProblem).toBeUndefined()
    expect(bundle.has(`runs/${runId}/report.md`) && bundle.has(`runs/${runId}/request.json`)).toBe(true)
  })

  it('detects every single-field edit of the local journal, summary, report and request, naming the file', () => {
    const cases = singleFieldEdits(local)
    expect(cases.length).toBeGreaterThan(100)
    for (const c of cases) {
      const checks = [...runFileChecks('local', c.files), ...blobCopyChecks(remote, c.files, false)]
      const problem = firstProblem(checks)
      expect(problem, c.name).toBeDefined()
      // The first problem names the edited file, or the journal whose chain or seal the edit contradicts.
      expect(problem!.includes(c.file) || problem!.includes('journal.jsonl'), `${c.name}: ${problem}`).toBe(true)
      expect(checks.some((k) => !k.ok && k.message.includes(c.file)), `${c.name}: nothing names ${c.file}`).toBe(true)
    }
  })

  it('detects every coordinated edit (chain, seal and summary recomputed) by comparing with Blob, naming the file', () => {
    const cases = coordinatedEdits(local)
    expect(cases.length).toBeGreaterThan(40)
    for (const c of cases) {
      // Consistent on its own: only Blob can tell.
      expect(runFileChecks('local', c.files).filter((k) => !k.ok && !k.message.includes('journal records')), c.name).toEqual([])
      const checks = blobCopyChecks(remote, c.files, false)
      expect(checks.some((k) => !k.ok && k.message.startsWith(`${c.file}: blob and local copies differ`)), `${c.name}: ${firstProblem(checks)}`).toBe(true)
    }
  })

  it('detects single-field and coordinated edits of the bundle, naming the file in the bundle', async () => {
    const prefix = `runs/${runId}/`
    const inBundle = (files: Map<string, Uint8Array>): RunFiles => ({
      journal: files.get(`${prefix}journal.jsonl`)!,
      summary: files.get(`${prefix}summary.json`),
      report: files.get(`${prefix}report.md`),
      request: files.get(`${prefix}request.json`),
    })
    const withRun = (files: RunFiles) => {
      const out = new Map(bundle)
      for (const file of FILES) out.set(`${prefix}${file}`, files[KEY[file]]!)
      return out
    }
    const single = singleFieldEdits(inBundle(bundle))
    // Every fifth case (the local tests above take all of them): a bundle verification hashes every file of the bundle.
    for (const c of single.filter((_, i) => i % 5 === 0)) {
      const result = await verifyBundleFiles('bundle.zip', withRun(c.files))
      expect(result.ok, c.name).toBe(false)
      expect(result.checks.some((k) => !k.ok && k.message.includes(`${prefix}${c.file}`)), `${c.name}: ${result.firstProblem}`).toBe(true)
    }
    // Coordinated edits also rewrite the manifest: the bundle is consistent on its own, and differs from Blob.
    const coordinated = coordinatedEdits(inBundle(bundle))
    const sample = coordinated.filter((c, i) => i % (c.file === 'journal.jsonl' ? 8 : 2) === 0)
    for (const c of sample) {
      const forged = remanifest(withRun(c.files))
      const alone = await verifyBundleFiles('bundle.zip', forged)
      // (runs.csv, regenerated from the runs, would differ too unless the attacker regenerated it as well.)
      expect(alone.checks.filter((k) => !k.ok && !k.message.includes('journal records') && k.subject !== 'runs.csv'), c.name).toEqual([])
      const result = await verifyBundleFiles('bundle.zip', forged, {target: fixture.target})
      expect(result.checks.some((k) => !k.ok && k.message.startsWith(`bundle ${prefix}${c.file}: differs from the blob copy`)), `${c.name}: ${result.firstProblem}`).toBe(true)
    }
  })

  it('detects a coordinated edit of the bundle\'s runs.csv (regenerated from the bundle\'s runs)', async () => {
    const csv = Buffer.from(bundle.get('runs.csv')!).toString('utf8')
    const lines = csv.split('\n')
    const row = lines.findIndex((l) => l.startsWith(runId))
    expect(lines[row]).toContain(',interrupted,false,')
    lines[row] = lines[row]!.replace(',interrupted,false,', ',succeeded,true,')
    const forged = remanifest(new Map([...bundle, ['runs.csv', Buffer.from(lines.join('\n'))]]))
    const result = await verifyBundleFiles('bundle.zip', forged)
    expect(result.firstProblem).toBe("runs.csv: does not match what the bundle's journals and summaries record (changed after export)")
  })

  it('detects a consistent edit of the bundle\'s own files (report.html, report.md, coverage.csv, runs.csv, manifest recomputed) against the manifest registered at export', async () => {
    const edits: Array<[string, (text: string) => string]> = [
      ['report.html', (t) => t.replace('interrupted', 'succeeded')],
      ['report.md', (t) => t.replace('interrupted', 'succeeded')],
      ['coverage.csv', (t) => t.replaceAll(',false,', ',true,')],
      ['runs.csv', (t) => t.replace(',interrupted,false,', ',succeeded,true,')],
    ]
    for (const [file, change] of edits) {
      const original = Buffer.from(bundle.get(file)!).toString('utf8')
      const edited = change(original)
      expect(edited, `${file}: the edit changes something`).not.toBe(original)
      const forged = remanifest(new Map([...bundle, [file, Buffer.from(edited)]]))
      // The bundle alone is consistent (report.html and coverage.csv cannot be regenerated without the catalog) …
      if (file !== 'runs.csv') expect((await verifyBundleFiles('bundle.zip', forged)).ok, file).toBe(true)
      // … but its manifest is not the one registered at export.
      const result = await verifyBundleFiles('bundle.zip', forged, {target: fixture.target})
      expect(result.ok, file).toBe(false)
      expect(result.checks.find((k) => k.subject === 'manifest.json' && !k.ok)?.message, file).toMatch(/^manifest\.json: SHA-256 [0-9a-f]{64} was never exported to /)
    }
    // A bundle edited without recomputing the manifest names the file, with or without Blob.
    const plain = new Map([...bundle, ['coverage.csv', Buffer.from('component\n')]])
    expect((await verifyBundleFiles('bundle.zip', plain)).firstProblem).toMatch(/^coverage\.csv: SHA-256 .* does not match the manifest/)
  })

  it('end to end: the command\'s verifyRun names a local edit and a coordinated forgery', async () => {
    const dir = runDir(root, runId)
    const write = (files: RunFiles) => {
      for (const file of FILES) writeFileSync(join(dir, file), files[KEY[file]]!)
    }
    try {
      const summary = JSON.parse(text(local.summary))
      write({...local, summary: Buffer.from(pretty({...summary, status: 'succeeded'}))})
      expect((await verifyRun(runId, {root, target: fixture.target})).firstProblem).toMatch(/^local summary\.json: SHA-256 .* sealed at journal\.jsonl line 6/)
      const forged = coordinatedEdits(local).find((c) => c.name === 'coordinated summary.json status')!
      write(forged.files)
      const result = await verifyRun(runId, {root, target: fixture.target})
      expect(result.ok).toBe(false)
      expect(result.checks.filter((c) => !c.ok).map((c) => c.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^summary\.json: blob and local copies differ/)]))
    } finally {
      write(local)
    }
  })
})
