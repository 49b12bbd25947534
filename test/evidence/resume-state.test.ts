import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BlobSink, readUploadState, runBlobPrefix} from '../../src/evidence/blob-sink.js'
import {Journal, newRunId, runDir} from '../../src/evidence/journal.js'
import {loadResumeState} from '../../src/evidence/resume-state.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {runStarted, startBlobFixture, tempDir, writeJournal, type BlobFixture} from './blob-helpers.js'

const operation = {
  description: 'postgres.restore pg-shop-orders → pg-shop-orders-drill-1a2b',
  method: 'PUT' as const,
  resourceUrl: 'https://127.0.0.1:1/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders-drill-1a2b',
  monitorUrl: 'https://127.0.0.1:1/subscriptions/s/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op-1?api-version=2025-08-01',
  state: {server: 'pg-shop-orders-drill-1a2b'},
}

/** A drill killed while its restore was running: `prepare` done, `restore` in flight, `verify` never started. */
const crashedRun = (runId: string): RunEvent[] => [
  runStarted(runId),
  {type: 'step.started', step: 'prepare', phase: 'main', uses: 'core.log', attempt: 1, inputs: {}},
  {type: 'step.succeeded', step: 'prepare', phase: 'main', outputs: {restorePoint: '2026-11-23T14:00:00Z'}, durationMs: 3, attempts: 1},
  {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {server: 'pg-shop-orders'}},
  {type: 'operation.started', step: 'restore', operation},
  {type: 'step.log', step: 'restore', phase: 'main', message: 'waiting for the restore'},
]

describe('resume state', () => {
  let fixture: BlobFixture
  beforeAll(async () => {
    fixture = await startBlobFixture()
  })
  afterAll(async () => {
    await fixture.blob.close()
  })

  it('rebuilds completed steps, in-flight operations, params and environment from the local journal', async () => {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await writeJournal(root, runId, crashedRun(runId))
    await journal.close()
    writeFileSync(join(runDir(root, runId), 'request.json'), JSON.stringify({runId, runbook: 'dr-drill', runbookSha256: 'c'.repeat(64), environment: 'local', params: {component: 'orders-db'}}))
    const state = await loadResumeState(runId, {root})
    expect(state.source).toBe('local')
    expect(state.runbook).toMatchObject({name: 'dr-drill', kind: 'drill', source: 'dr-drill', sha256: 'c'.repeat(64)})
    expect(state.environmentName).toBe('local')
    expect(state.params).toEqual({component: 'orders-db', password: '[REDACTED]'})
    expect(state.redactedParams).toEqual(['password'])
    expect(state.completed).toEqual({prepare: {outputs: {restorePoint: '2026-11-23T14:00:00Z'}}})
    expect(state.inFlight).toEqual({restore: operation})
    expect(state.interruptedSteps).toEqual(['restore'])
    expect(state.finished).toBeUndefined()
    expect(state.journalPath).toBe(join(runDir(root, runId), 'journal.jsonl'))
  })

  it('counts a step finished in a resumed segment and keeps rollback operations out of in-flight', async () => {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await writeJournal(root, runId, [
      ...crashedRun(runId),
      {...(runStarted(runId) as any), resumedFrom: runId},
      {type: 'step.skipped', step: 'prepare', phase: 'main', reason: 'completed before the resume'},
      {type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {server: 'pg-shop-orders-drill-1a2b'}, durationMs: 10, attempts: 1},
      {type: 'step.started', step: 'verify', phase: 'main', uses: 'postgres.verify', attempt: 1, inputs: {}},
      {type: 'step.failed', step: 'verify', phase: 'main', error: {message: 'no rows'}, durationMs: 1, attempts: 1, continued: false},
      {type: 'step.started', step: 'restore', phase: 'rollback', uses: 'postgres.delete', attempt: 1, inputs: {}},
      {type: 'operation.started', step: 'restore', operation: {...operation, method: 'DELETE'}},
    ])
    await journal.close()
    const state = await loadResumeState(runId, {root})
    expect(Object.keys(state.completed).sort()).toEqual(['prepare', 'restore'])
    expect(state.inFlight).toEqual({})
  })

  it('hands an operation Ctrl-C stopped waiting for to the resumed step as interrupted, not in flight (issue 16: a promotion resumed to exit 2)', async () => {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await writeJournal(root, runId, [
      ...crashedRun(runId),
      {type: 'step.failed', step: 'restore', phase: 'main', error: {message: 'interrupted: SIGINT', code: 'interrupted'}, durationMs: 5, attempts: 1, continued: false},
      {type: 'run.interrupted', signal: 'SIGINT'},
    ])
    await journal.close()
    const state = await loadResumeState(runId, {root})
    // Not re-attached by default (teardown may have undone it) …
    expect(state.inFlight).toEqual({})
    // … but the action may, when it finds its change already made (a promotion cannot be issued twice).
    expect(state.interrupted).toEqual({restore: operation})
  })

  it('does not hand over the operation of a step that failed on its own, or that later succeeded', async () => {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await writeJournal(root, runId, [
      ...crashedRun(runId),
      {type: 'step.failed', step: 'restore', phase: 'main', error: {message: 'Conflict'}, durationMs: 5, attempts: 1, continued: false},
    ])
    await journal.close()
    expect((await loadResumeState(runId, {root})).interrupted).toEqual({})
  })

  it('fetches the journal from Blob when this machine has none, and the run continues appending to the same blob', async () => {
    const laptop = tempDir()
    const runId = newRunId('dr-drill')
    const sink = await BlobSink.open({root: laptop, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    const journal = await writeJournal(laptop, runId, crashedRun(runId), sink.listener)
    writeFileSync(join(runDir(laptop, runId), 'request.json'), JSON.stringify({runId, runbook: 'dr-drill', runbookSha256: 'd'.repeat(64), environment: 'local', params: {component: 'orders-db'}}))
    await sink.finish()
    await journal.close()
    // The laptop dies. Another machine, with an empty .opsbook:
    const other = tempDir()
    const state = await loadResumeState(runId, {root: other, env: {name: 'local', environment: fixture.environment}, services: fixture.services})
    expect(state.source).toBe('blob')
    expect(state.inFlight).toEqual({restore: operation})
    expect(state.completed).toEqual({prepare: {outputs: {restorePoint: '2026-11-23T14:00:00Z'}}})
    expect(state.runbook.sha256).toBe('d'.repeat(64))
    expect(readFileSync(state.journalPath).equals(readFileSync(join(runDir(laptop, runId), 'journal.jsonl')))).toBe(true)

    // The resumed run continues the same journal and the same append blob.
    const resumed = await Journal.open(runId, other)
    const sink2 = await BlobSink.open({root: other, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    await resumed.append({type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {}, durationMs: 5, attempts: 1})
    sink2.listener({type: 'run.note', message: 'x'})
    await resumed.close()
    const done = await sink2.finish()
    expect(done.pending).toBe(false)
    const blob = await fixture.target.client.getBlobClient(`${runBlobPrefix(runId)}journal.jsonl`).downloadToBuffer()
    expect(blob.equals(readFileSync(state.journalPath))).toBe(true)
    expect((await readUploadState(runDir(other, runId)))!.files['journal.jsonl']!.uploadedBytes).toBe(blob.length)
  })

  it('an interrupted run: steps whose rollback succeeded are done again, those left in place are kept', async () => {
    const root = tempDir()
    const runId = newRunId('slot-swap')
    const journal = await writeJournal(root, runId, [
      runStarted(runId, 'slot-swap', 'maintenance'),
      {type: 'step.started', step: 'gate', phase: 'main', uses: 'webapp.healthCheck', attempt: 1, inputs: {}},
      {type: 'step.succeeded', step: 'gate', phase: 'main', outputs: {ok: true}, durationMs: 5, attempts: 1},
      {type: 'step.started', step: 'scratch', phase: 'main', uses: 'test.operation', attempt: 1, inputs: {}},
      {type: 'step.succeeded', step: 'scratch', phase: 'main', outputs: {name: 's'}, durationMs: 5, attempts: 1},
      {type: 'run.interrupted', signal: 'SIGINT'},
      {type: 'rollback.started', steps: ['scratch']},
      {type: 'step.started', step: 'scratch', phase: 'rollback', uses: 'test.operation', attempt: 1, inputs: {}},
      {type: 'step.succeeded', step: 'scratch', phase: 'rollback', outputs: {}, durationMs: 5, attempts: 1},
      {type: 'rollback.finished', ok: true, failed: []},
      {type: 'run.finished', status: 'interrupted', durationMs: 50, leftBehind: [], outputs: {}},
    ])
    await journal.close()
    const state = await loadResumeState(runId, {root})
    expect(state.finished).toBe('interrupted')
    expect(Object.keys(state.completed)).toEqual(['gate'])
  })

  it('a failed run whose resume was killed while finishing the rollbacks a lease held back: the next resume finishes them, it does not redo the run', async () => {
    // The first resume's segment has no run.finished (kill -9 during the rollback): the rollbacks were handed over only
    // after a segment that ended rollback-failed, so the second resume ran the failed step again (issue 16).
    const root = tempDir()
    const runId = newRunId('export-then-fail')
    const failed = {message: 'assertion failed: the export is not what was wanted', code: 'assertion-failed'}
    const journal = await writeJournal(root, runId, [
      runStarted(runId, 'export-then-fail', 'maintenance'),
      {type: 'step.started', step: 'export', phase: 'main', uses: 'redis.export', attempt: 1, inputs: {}},
      {type: 'step.succeeded', step: 'export', phase: 'main', outputs: {blob: 'a.rdb'}, durationMs: 5, attempts: 1},
      {type: 'step.started', step: 'check', phase: 'main', uses: 'core.assert', attempt: 1, inputs: {}},
      {type: 'step.failed', step: 'check', phase: 'main', error: failed, durationMs: 1, attempts: 1, continued: false},
      {type: 'rollback.started', steps: ['export']},
      {type: 'step.skipped', step: 'export', phase: 'rollback', reason: 'not started: run run-thief holds it now', code: 'lease-taken'},
      {type: 'run.finished', status: 'rollback-failed', durationMs: 50, error: failed, leftBehind: ['rollback of step export'], outputs: {}},
      // The resume: it starts the held-back rollback, and is killed.
      {...runStarted(runId, 'export-then-fail', 'maintenance'), resumedFrom: runId} as RunEvent,
      {type: 'run.note', message: `run ${runId} had failed; rollbacks left for this resume: export`},
      {type: 'rollback.started', steps: ['export']},
      {type: 'step.started', step: 'export', phase: 'rollback', uses: 'redis.export', attempt: 1, inputs: {}},
    ])
    await journal.close()
    const state = await loadResumeState(runId, {root})
    expect(state.finished).toBeUndefined()
    expect(state.rollbacks).toEqual(['export'])
    expect(state.failure).toEqual(failed)
  })

  it('says clearly when the run is nowhere to be found', async () => {
    const root = tempDir()
    await expect(loadResumeState('20261123T000000Z-nothing-0000', {root})).rejects.toThrow(/no journal for run/)
    await expect(
      loadResumeState('20261123T000000Z-nothing-0000', {root, env: {name: 'local', environment: fixture.environment}, services: fixture.services}),
    ).rejects.toThrow(/no journal for run .* locally or in evidence container/)
    expect(existsSync(join(root, 'runs', '20261123T000000Z-nothing-0000', 'journal.jsonl'))).toBe(false)
    rmSync(root, {recursive: true, force: true})
  })
})
