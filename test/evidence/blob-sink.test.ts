import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {BlobSink, readUploadState, runBlobPrefix, RunUploader, type EvidenceTarget} from '../../src/evidence/blob-sink.js'
import {newRunId, runDir} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import {syncPending} from '../../src/evidence/sync.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {blobServices, runStarted, startBlobFixture, summaryFor, tempDir, until, writeJournal, type BlobFixture} from './blob-helpers.js'

const steps = (n: number): RunEvent[] =>
  Array.from({length: n}, (_, i) => ({type: 'step.log', step: 'restore', phase: 'main', message: `progress ${i} ✓ ünïcødé`}) as RunEvent)

async function download(fixture: BlobFixture, name: string): Promise<Buffer> {
  return fixture.target.client.getBlobClient(name).downloadToBuffer()
}

describe('blob sink', () => {
  const started: BlobFixture[] = []
  afterEach(async () => {
    for (const f of started.splice(0)) await f.blob.close().catch(() => undefined)
  })

  it('puts the journal, summary and report in the evidence container byte-identical to the local copies', async () => {
    const fixture = await startBlobFixture()
    started.push(fixture)
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    const journal = await writeJournal(root, runId, [runStarted(runId), ...steps(40)], sink.listener)
    // Batches go out while the run continues.
    await until(async () => ((await readUploadState(runDir(root, runId)))?.files['journal.jsonl']?.uploadedBytes ?? 0) > 0, 'a first batch')
    await journal.append({type: 'run.finished', status: 'succeeded', durationMs: 95_000, leftBehind: [], outputs: {}})
    sink.listener({type: 'run.finished', status: 'succeeded', durationMs: 95_000, leftBehind: [], outputs: {}})
    await completeRun(journal, summaryFor(journal))
    const state = await sink.finish({timeoutMs: 10_000})

    expect(state.pending).toBe(false)
    const prefix = runBlobPrefix(runId)
    expect(prefix).toMatch(new RegExp(`^runs/\\d{4}/\\d{2}/${runId}/$`))
    for (const file of ['journal.jsonl', 'summary.json', 'report.md']) {
      const local = readFileSync(join(runDir(root, runId), file))
      expect((await download(fixture, `${prefix}${file}`)).equals(local), file).toBe(true)
    }
    const properties = await fixture.target.client.getBlobClient(`${prefix}journal.jsonl`).getProperties()
    expect(properties.blobType).toBe('AppendBlob')
    expect(readFileSync(join(runDir(root, runId), 'report.md'), 'utf8')).toContain(runId)
  })

  it('keeps the run going when Blob goes away mid-run, and evidence sync uploads everything later', async () => {
    const persistDir = tempDir('opsbook-azurite-')
    let fixture = await startBlobFixture({persistDir})
    started.push(fixture)
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const warnings: string[] = []
    const sink = await BlobSink.open({
      root,
      runId,
      environmentName: 'local',
      startedAt: new Date(),
      target: fixture.target,
      batchMs: 10,
      requestTimeoutMs: 500,
      retryAfterMs: 50,
      warn: (m) => warnings.push(m),
    })
    const journal = await writeJournal(root, runId, [runStarted(runId), ...steps(5)], sink.listener)
    await until(async () => ((await readUploadState(runDir(root, runId)))?.files['journal.jsonl']?.uploadedBytes ?? 0) > 0, 'a first batch')

    await fixture.blob.close() // Blob is gone from here on.
    for (const event of steps(20)) {
      await journal.append(event) // the journal (the record) never depends on Blob
      expect(() => sink.listener(event)).not.toThrow()
    }
    await completeRun(journal, summaryFor(journal))
    const state = await sink.finish({timeoutMs: 3000})
    expect(state.pending).toBe(true)
    expect(warnings.length).toBeGreaterThan(0)
    const local = readFileSync(join(runDir(root, runId), 'journal.jsonl'))
    expect(state.files['journal.jsonl']!.uploadedBytes).toBeLessThan(local.length)

    // Later, Blob is back (same storage, new address): sync finishes the job without duplicating a byte.
    fixture = {...fixture, blob: await import('../../src/emulator/blob.js').then((m) => m.startBlobServer({persistDir}))}
    started.push(fixture)
    const services = blobServices(fixture.environment, fixture.blob)
    const result = await syncPending(root, {name: 'local', environment: fixture.environment}, services)
    expect(result!.runs).toEqual([expect.objectContaining({runId, status: 'uploaded'})])
    expect(result!.pending).toBe(0)
    const container = (await services.blob('stshopevidence')).getContainerClient('opsbook-evidence')
    const prefix = runBlobPrefix(runId)
    for (const file of ['journal.jsonl', 'summary.json', 'report.md'])
      expect((await container.getBlobClient(`${prefix}${file}`).downloadToBuffer()).equals(readFileSync(join(runDir(root, runId), file))), file).toBe(true)
    expect((await readUploadState(runDir(root, runId)))!.pending).toBe(false)

    // A second sync finds nothing to do.
    const again = await syncPending(root, {name: 'local', environment: fixture.environment}, services)
    expect(again!.runs).toEqual([expect.objectContaining({runId, status: 'up-to-date'})])
  })

  it('reconciles a retried append instead of duplicating lines (offset condition)', async () => {
    const fixture = await startBlobFixture()
    started.push(fixture)
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await writeJournal(root, runId, [runStarted(runId), ...steps(3)])
    await journal.close()
    // Another process already appended these bytes, but our state was never saved (its answer was lost).
    const blob = fixture.target.client.getAppendBlobClient(`${runBlobPrefix(runId)}journal.jsonl`)
    await blob.create()
    const local = readFileSync(join(runDir(root, runId), 'journal.jsonl'))
    const firstLine = local.subarray(0, local.indexOf(0x0a) + 1)
    await blob.appendBlock(firstLine, firstLine.length)
    const result = await syncPending(root, {name: 'local', environment: fixture.environment}, fixture.services, {target: fixture.target})
    expect(result!.runs[0]!.status).toBe('uploaded')
    expect((await blob.downloadToBuffer()).equals(local)).toBe(true)
    expect(existsSync(join(runDir(root, runId), 'upload-state.json'))).toBe(true)
  })
})

// The sink's finish() stops waiting at its deadline, but the upload it started goes on (SDK retries) and used to
// write upload-state.json when it ended — over what `evidence sync` had recorded meanwhile (pending: false → true).
describe('blob sink after finish gave up', () => {
  it('lets the abandoned upload end without writing the state file again', async () => {
    let down = false
    const fixture = await startBlobFixture({isDown: () => down})
    try {
      const root = tempDir()
      const runId = newRunId('dr-drill')
      const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10, requestTimeoutMs: 300, retryAfterMs: 50})
      const journal = await writeJournal(root, runId, [runStarted(runId), ...steps(3)], sink.listener)
      await completeRun(journal, summaryFor(journal))
      down = true
      const state = await sink.finish({timeoutMs: 50})
      expect(state.pending).toBe(true)
      // Meanwhile another process (evidence sync) records its own outcome.
      const path = join(runDir(root, runId), 'upload-state.json')
      const synced = {...JSON.parse(readFileSync(path, 'utf8')), pending: false, note: 'written by sync'}
      writeFileSync(path, JSON.stringify(synced))
      await sink.abandoned
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(synced)
    } finally {
      await fixture.blob.close()
    }
  }, 60_000)
})

describe('RunUploader.stop', () => {
  it('a save already under way when the sink stops does not write upload-state.json', async () => {
    // finish() stops the uploader because `evidence sync` may own the record from then on; a batch's save that was computing
    // what is pending at that moment must not write its (older) state over sync's.
    const dir = tempDir()
    try {
      const target = {account: 'evidence', container: 'runs'} as unknown as EvidenceTarget
      const uploader = await RunUploader.open(dir, target, {runId: newRunId('detach'), environment: 'local', startedAt: new Date()})
      const saving = uploader.save()
      uploader.stop()
      await saving
      expect(await readUploadState(dir)).toBeUndefined()
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
