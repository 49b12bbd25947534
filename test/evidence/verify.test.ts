import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {unzipSync, zipSync} from 'fflate'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BlobSink, runBlobPrefix} from '../../src/evidence/blob-sink.js'
import {exportEvidence} from '../../src/evidence/export.js'
import {newRunId, runDir} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import {isBundlePath, verifyBundle, verifyBundleFiles, verifyRun, type RunWitness} from '../../src/evidence/verify.js'
import {runStarted, startBlobFixture, summaryFor, tempDir, testEnvironment, writeJournal, type BlobFixture} from './blob-helpers.js'
import {writeHistory, type HistoryRun} from './history.js'
import type {RunEvent} from '../../src/runbooks/events.js'

/** Flip the lowest bit of one byte: a different byte, same length. */
function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[index] ^= 0x01
  return copy
}

describe('evidence verify: bundles', () => {
  const root = tempDir()
  const out = tempDir('opsbook-verify-')
  let runs: HistoryRun[]
  let zipPath: string
  let files: Record<string, Uint8Array>

  beforeAll(async () => {
    runs = await writeHistory(root)
    const result = await exportEvidence({environmentName: 'local', environment: testEnvironment(), root, source: 'local', format: 'zip', output: join(out, 'bundle.zip'), until: '2026-11-23'})
    zipPath = result.output
    files = unzipSync(readFileSync(zipPath))
  })

  it('holds for an untouched bundle, zipped or unpacked', async () => {
    const zipped = await verifyBundle(zipPath)
    expect(zipped.firstProblem).toBeUndefined()
    expect(zipped.ok).toBe(true)
    const dir = join(out, 'unpacked')
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), {recursive: true})
      writeFileSync(join(dir, path), bytes)
    }
    expect(isBundlePath(dir)).toBe(true)
    expect(isBundlePath(runs[0]!.runId)).toBe(false)
    expect((await verifyBundle(dir)).ok).toBe(true)
  })

  it('fails on every single changed byte of a journal, naming the journal (and the line when the chain shows it)', async () => {
    const path = `runs/${runs[3]!.runId}/journal.jsonl`
    const journal = files[path]!
    const lineStarts = [0, ...[...journal.keys()].filter((i) => journal[i - 1] === 0x0a)]
    // In memory (the bundle's files as read from the zip): thousands of verifications, no disk in between.
    const tampered = new Map(Object.entries(files))
    for (let index = 0; index < journal.length; index++) {
      tampered.set(path, flipped(journal, index))
      const result = await verifyBundleFiles('bundle.zip', tampered)
      expect(result.ok, `byte ${index}`).toBe(false)
      expect(result.firstProblem, `byte ${index}`).toContain(path)
      const line = lineStarts.filter((s) => s <= index).length
      // A changed byte is pinned to its line by the chain; a change inside a line's `prev` field cannot be told apart
      // from a change of the line before it, and a changed newline merges two lines: both name the neighbour.
      const named = Number(/ line (\d+):/.exec(result.firstProblem!)?.[1])
      expect([line, line - 1], `byte ${index}: ${result.firstProblem}`).toContain(named)
    }
  })

  it('fails on a changed byte of any other bundle file, naming the file', async () => {
    for (const path of Object.keys(files).filter((p) => !p.endsWith('journal.jsonl'))) {
      const bytes = files[path]!
      for (const index of [0, Math.floor(bytes.length / 2), bytes.length - 2]) {
        const tampered = zipSync({...files, [path]: flipped(bytes, index)})
        const zip = join(out, 'tampered.zip')
        writeFileSync(zip, tampered)
        const result = await verifyBundle(zip)
        expect(result.ok, `${path} byte ${index}`).toBe(false)
        expect(result.firstProblem, `${path} byte ${index}`).toContain(path === 'manifest.json' ? '' : path)
      }
    }
  })

  it('fails when a file is added or removed', async () => {
    const added = join(out, 'added.zip')
    writeFileSync(added, zipSync({...files, 'runs/extra/journal.jsonl': new Uint8Array([1, 2, 3])}))
    expect((await verifyBundle(added)).firstProblem).toBe('runs/extra/journal.jsonl: not listed in the manifest (added after export)')
    const removed = join(out, 'removed.zip')
    const {['report.html']: _dropped, ...rest} = files
    writeFileSync(removed, zipSync(rest))
    expect((await verifyBundle(removed)).firstProblem).toBe('report.html: listed in the manifest but missing from the bundle')
  })
})

describe('evidence verify: a run, local against blob', () => {
  let fixture: BlobFixture
  const root = tempDir()
  let runId: string

  beforeAll(async () => {
    fixture = await startBlobFixture()
    runId = newRunId('dr-drill')
    const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    const journal = await writeJournal(
      root,
      runId,
      [runStarted(runId), ...Array.from({length: 5}, (_, i) => ({type: 'step.log', step: 'restore', phase: 'main', message: `line ${i}`}) as const)],
      sink.listener,
    )
    await completeRun(journal, summaryFor(journal))
    expect((await sink.finish()).pending).toBe(false)
  })
  afterAll(async () => {
    await fixture.blob.close()
  })

  it('holds when the blob copies are byte-identical and the chain is intact', async () => {
    const result = await verifyRun(runId, {root, target: fixture.target})
    expect(result.firstProblem).toBeUndefined()
    expect(result.checks.map((c) => c.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^blob and local journals are byte-identical/), 'summary.json: blob and local copies are byte-identical']),
    )
  })

  it('names the changed line of the local journal', async () => {
    const path = join(runDir(root, runId), 'journal.jsonl')
    const original = readFileSync(path)
    try {
      const text = original.toString('utf8').replace('line 2', 'line X')
      writeFileSync(path, text)
      const result = await verifyRun(runId, {root, target: fixture.target})
      expect(result.ok).toBe(false)
      expect(result.firstProblem).toBe('local journal.jsonl line 4: content does not match the hash recorded by line 5 (line 4 was changed, or lines were inserted or removed)')
      expect(result.checks.find((c) => c.subject === 'blob journal vs local')!.message).toBe('journal.jsonl: blob and local copies differ: line 4 differs')
    } finally {
      writeFileSync(path, original)
    }
  })

  it('names a summary whose blob copy differs', async () => {
    const blob = fixture.target.client.getBlockBlobClient(`${runBlobPrefix(runId)}summary.json`)
    const original = await blob.downloadToBuffer()
    try {
      const changed = Buffer.from(original.toString('utf8').replace('"succeeded"', '"succeedee"'))
      await blob.upload(changed, changed.length)
      const result = await verifyRun(runId, {root, target: fixture.target})
      // The blob copy contradicts the journal's seal and the local copy: both are named, with the hashes.
      expect(result.firstProblem).toMatch(/^blob summary\.json: SHA-256 [0-9a-f]{16}… does not match [0-9a-f]{16}… sealed at journal\.jsonl line 7 \(changed after the run\)$/)
      expect(result.checks.find((c) => c.subject === 'blob summary.json vs local')!.message).toMatch(/^summary\.json: blob and local copies differ \(local SHA-256 [0-9a-f]{16}…, blob [0-9a-f]{16}…\)$/)
    } finally {
      await blob.upload(original, original.length)
    }
  })

  it('verifies the blob copy alone when this machine has no local copy', async () => {
    const result = await verifyRun(runId, {root: tempDir(), target: fixture.target})
    expect(result.ok).toBe(true)
    expect(result.checks.map((c) => c.subject)).toEqual(['blob journal.jsonl', 'blob evidence'])
    expect(result.anchor).toBe('blob')
  })

  it('says a run that never reached Blob is unanchored when no Activity Log witness confirms it (a consistent forgery verified)', async () => {
    // Issue 16: whoever can write .opsbook can write a whole run — chain, seal and summary consistent — with
    // upload-state.json saying "pending". Nothing outside this machine holds it, and its steps made no ARM write the
    // Activity Log could witness: verify said "verified". It now says what anchors the record, and that nothing does.
    const forged = newRunId('dr-drill')
    const journal = await writeJournal(root, forged, [runStarted(forged), {type: 'step.log', step: 'restore', phase: 'main', message: 'restored, RTO met'}])
    await completeRun(journal, summaryFor(journal))
    const prefix = runBlobPrefix(forged)
    writeFileSync(join(runDir(root, forged), 'upload-state.json'), JSON.stringify({runId: forged, environment: 'local', account: fixture.target.account, container: fixture.target.container, blobPrefix: prefix, files: {}, pending: true}))
    const nothing: RunWitness = {mode: 'auto', reader: {byCorrelationId: async () => [], byResourceGroup: async () => []}}
    for (const witness of [undefined, nothing]) {
      const result = await verifyRun(forged, {root, target: fixture.target, ...(witness ? {witness} : {})})
      // Nothing contradicts it (it is consistent), and nothing anchors it.
      expect(result.ok, result.firstProblem).toBe(true)
      expect(result.anchor).toBe('none')
      expect(result.unanchored).toBe(
        `run ${forged} is unanchored: it never reached ${fixture.target.account}/${fixture.target.container} (no blob copy; upload pending), and ${witness ? 'no step of it is witnessed by Azure\'s Activity Log' : 'the Activity Log witness was not asked (--witness none)'} — its files agree with each other, which whoever can write .opsbook can make them do; nothing outside this machine confirms the record (upload it with \`opsbook evidence sync\` and verify again)`,
      )
    }
    // Without an evidence container to look in, the same.
    expect(await verifyRun(forged, {root})).toMatchObject({ok: true, anchor: 'none', unanchored: expect.stringMatching(/is unanchored: it has no blob copy \(no evidence container to look in\)/)})
    // The genuine run, in Blob: anchored there.
    expect(await verifyRun(runId, {root, target: fixture.target, witness: nothing})).toMatchObject({ok: true, anchor: 'blob'})
  })

  it('takes a run not in Blob as anchored when the Activity Log witnesses its writes', async () => {
    const id = newRunId('dr-drill')
    const server = '/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-drill-x'
    const correlationId = '11111111-2222-4333-8444-555555555555'
    const at = new Date().toISOString()
    const write = {method: 'PUT', resourceId: server, operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write', status: 202, correlationId, at}
    const started = runStarted(id) as Extract<RunEvent, {type: 'run.started'}>
    await writeJournal(root, id, [
      {...started, armWrites: true},
      {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {}},
      {type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {}, durationMs: 5, attempts: 1, arm: [write]} as RunEvent,
    ])
    const event = {correlationId, resourceId: server, status: 'Succeeded', eventTimestamp: at, operationName: write.operation, caller: 'someone'}
    const log: RunWitness = {mode: 'auto', reader: {byCorrelationId: async () => [event], byResourceGroup: async () => [event]}}
    expect(await verifyRun(id, {root, witness: log})).toMatchObject({anchor: 'activity-log'})
    expect(await verifyRun(id, {root, witness: {mode: 'auto', reader: {byCorrelationId: async () => [], byResourceGroup: async () => []}}})).toMatchObject({anchor: 'none'})
  })
})
