/**
 * Issue 16, item 1: edited evidence must not be laundered into Blob. A run's summary.json, report.md and request.json
 * are sealed into its journal; sync never overwrites a blob with other content; a resume may replace only versions
 * an earlier seal recorded.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BlobSink, runBlobPrefix} from '../../src/evidence/blob-sink.js'
import {Journal, newRunId, runDir, verifyChain} from '../../src/evidence/journal.js'
import {checkAgainstSeal, completeRun, findSeals, sealFinishedRun, summaryProblems} from '../../src/evidence/seal.js'
import {writeSummary} from '../../src/evidence/summary.js'
import {syncPending} from '../../src/evidence/sync.js'
import {verifyRun} from '../../src/evidence/verify.js'
import {runStarted, startBlobFixture, summaryFor, tempDir, type BlobFixture} from './blob-helpers.js'
import {reseal} from './forge.js'

const finished = (status: string) => ({type: 'run.finished', status, durationMs: 95_000, leftBehind: [], outputs: {}}) as const

describe('sealed evidence and sync', () => {
  let fixture: BlobFixture
  beforeAll(async () => {
    fixture = await startBlobFixture()
  })
  afterAll(async () => {
    await fixture.blob.close()
  })

  /** A run that ended `interrupted` (or `status`), uploaded to Blob. */
  async function uploadedRun(root: string, status = 'interrupted'): Promise<{runId: string; dir: string}> {
    const runId = newRunId('dr-drill')
    const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target: fixture.target, batchMs: 10})
    const journal = await Journal.create(runId, {root})
    writeFileSync(join(runDir(root, runId), 'request.json'), `${JSON.stringify({runId, runbook: 'dr-drill', params: {}}, null, 2)}\n`)
    for (const event of [runStarted(runId), finished(status)]) await journal.append(event as never)
    await completeRun(journal, summaryFor(journal, {status}))
    expect((await sink.finish({timeoutMs: 10_000})).pending).toBe(false)
    return {runId, dir: runDir(root, runId)}
  }

  const blobText = async (runId: string, file: string) => (await fixture.target.client.getBlobClient(`${runBlobPrefix(runId)}${file}`).downloadToBuffer()).toString('utf8')
  const sync = (root: string) => syncPending(root, {name: 'local', environment: fixture.environment}, fixture.services, {target: fixture.target})

  it('seals request.json, summary.json and report.md into the journal\'s last line', async () => {
    const root = tempDir()
    const {dir} = await uploadedRun(root)
    const journal = readFileSync(join(dir, 'journal.jsonl'), 'utf8')
    const seals = findSeals(journal)
    expect(seals).toHaveLength(1)
    expect(seals[0]!.line).toBe(journal.trim().split('\n').length)
    expect(Object.keys(seals[0]!.files).sort()).toEqual(['report.md', 'request.json', 'summary.json'])
  })

  it('refuses to launder an edited summary.json into Blob, and verify names it (the reported attack)', async () => {
    const root = tempDir()
    const {runId, dir} = await uploadedRun(root)
    const original = await blobText(runId, 'summary.json')
    const path = join(dir, 'summary.json')
    writeFileSync(path, readFileSync(path, 'utf8').replace('"status": "interrupted"', '"status": "succeeded"'))

    const result = await sync(root)
    const run = result!.runs.find((r) => r.runId === runId)!
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/local summary\.json \(SHA-256 [0-9a-f]{64}\) does not match the SHA-256 [0-9a-f]{64} sealed at journal\.jsonl line 3/)
    expect(await blobText(runId, 'summary.json')).toBe(original)

    const verified = await verifyRun(runId, {root, target: fixture.target})
    expect(verified.ok).toBe(false)
    expect(verified.firstProblem).toMatch(/^local summary\.json: SHA-256 [0-9a-f]{16}… does not match [0-9a-f]{16}… sealed at journal\.jsonl line 3/)
  })

  it('refuses a forgery with the seal and chain recomputed: Blob holds other content, both hashes named', async () => {
    const root = tempDir()
    const {runId, dir} = await uploadedRun(root)
    const read = (f: string) => readFileSync(join(dir, f), 'utf8')
    const summary = read('summary.json').replace('"status": "interrupted"', '"status": "succeeded"')
    const journal = read('journal.jsonl').replace('"status":"interrupted"', '"status":"succeeded"')
    const forged = reseal({journal, summary, report: read('report.md'), request: read('request.json')})
    writeFileSync(join(dir, 'journal.jsonl'), forged.journal)
    writeFileSync(join(dir, 'summary.json'), forged.summary)

    const run = (await sync(root))!.runs.find((r) => r.runId === runId)!
    expect(run.status).toBe('failed')
    // Either the journal (its uploaded bytes changed) or the summary (Blob holds another) is the conflict named.
    expect(run.error).toMatch(/journal|already holds SHA-256 [0-9a-f]{64}; the local summary\.json has SHA-256 [0-9a-f]{64}/)
    expect(await blobText(runId, 'summary.json')).toContain('"status": "interrupted"')

    const verified = await verifyRun(runId, {root, target: fixture.target})
    expect(verified.ok).toBe(false)
    expect(verified.checks.filter((c) => !c.ok).map((c) => c.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^journal\.jsonl: blob and local copies differ: line 2 differs/), expect.stringMatching(/^summary\.json: blob and local copies differ/)]),
    )
  })

  it('the conditional write itself: an existing blob with other content is never overwritten', async () => {
    const root = tempDir()
    const {runId, dir} = await uploadedRun(root)
    // The upload state forgets the summary (a lost state file): sync must not trust itself, only Blob.
    const statePath = join(dir, 'upload-state.json')
    const state = JSON.parse(readFileSync(statePath, 'utf8'))
    delete state.files['summary.json']
    writeFileSync(statePath, JSON.stringify(state))
    const blob = fixture.target.client.getBlockBlobClient(`${runBlobPrefix(runId)}summary.json`)
    const other = Buffer.from('{"status":"something else"}\n')
    await blob.upload(other, other.length)

    const run = (await sync(root))!.runs.find((r) => r.runId === runId)!
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/already holds SHA-256 [0-9a-f]{64}; the local summary\.json has SHA-256 [0-9a-f]{64}: not overwriting evidence/)
    expect((await blob.downloadToBuffer()).equals(other)).toBe(true)
  })

  // Found by adversary8 (CLI, `evidence sync` then `evidence verify`): upload-state.json's blobPrefix was trusted by
  // both. A coordinated forgery plus a state pointing at a fresh folder (`…/<runId>/v2/`) was synced there without a
  // conflict, and verify compared the forged local copy with the forged blob copy: "verified".
  it('refuses a forgery synced to another blob folder named in an edited upload-state.json; verify compares with the run\'s own folder', async () => {
    const root = tempDir()
    const {runId, dir} = await uploadedRun(root)
    const read = (f: string) => readFileSync(join(dir, f), 'utf8')
    const summary = read('summary.json').replace('"status": "interrupted"', '"status": "succeeded"')
    const journal = read('journal.jsonl').replace('"status":"interrupted"', '"status":"succeeded"')
    const forged = reseal({journal, summary, report: read('report.md'), request: read('request.json')})
    writeFileSync(join(dir, 'journal.jsonl'), forged.journal)
    writeFileSync(join(dir, 'summary.json'), forged.summary)
    const statePath = join(dir, 'upload-state.json')
    const state = JSON.parse(read('upload-state.json'))
    const elsewhere = `${runBlobPrefix(runId)}v2/`
    writeFileSync(statePath, JSON.stringify({...state, blobPrefix: elsewhere, files: {}, pending: true}))

    const run = (await sync(root))!.runs.find((r) => r.runId === runId)!
    expect(run.status).toBe('failed')
    expect(run.error).toContain(`upload-state.json sends run ${runId}'s evidence to ${elsewhere}, not to its own folder ${runBlobPrefix(runId)}`)
    expect(await fixture.target.client.getBlobClient(`${elsewhere}journal.jsonl`).exists()).toBe(false)

    const verified = await verifyRun(runId, {root, target: fixture.target})
    expect(verified.ok).toBe(false)
    const problems = verified.checks.filter((c) => !c.ok).map((c) => c.message)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`upload-state.json: names ${elsewhere} as the run's blob folder, not ${runBlobPrefix(runId)}`),
        expect.stringMatching(/^journal\.jsonl: blob and local copies differ: line 2 differs/),
      ]),
    )
  })

  it('lets a resume replace the versions its earlier seal recorded', async () => {
    const root = tempDir()
    const {runId} = await uploadedRun(root)
    const first = await blobText(runId, 'summary.json')
    const journal = await Journal.open(runId, root)
    await journal.append(finished('succeeded') as never)
    await completeRun(journal, summaryFor(journal, {status: 'succeeded'}))

    const run = (await sync(root))!.runs.find((r) => r.runId === runId)!
    expect(run.status, run.error).toBe('uploaded')
    expect(await blobText(runId, 'summary.json')).not.toBe(first)
    expect((await verifyRun(runId, {root, target: fixture.target})).firstProblem).toBeUndefined()
  })

  // Issue 16, item 1, the resume path: the hash chain needs no key, so a "resumed segment" appended after a failed
  // run's seal (run.started, run.finished succeeded, a new seal over a summary saying succeeded) was synced — Blob's
  // summary.json and report.md replaced — and verified. opsbook never resumes a run that failed after a complete
  // rollback, so no genuine journal goes on after such an end.
  for (const forged of [
    {name: 'a resumed segment', events: (runId: string) => [runStarted(runId), finished('succeeded')]},
    {name: 'a second outcome', events: () => [finished('succeeded')]},
  ])
    it(`refuses ${forged.name} appended after a run that finished failed (never resumed): not synced, verify names it`, async () => {
      const root = tempDir()
      const {runId} = await uploadedRun(root, 'failed')
      const original = await blobText(runId, 'summary.json')
      const journal = await Journal.open(runId, root)
      for (const event of forged.events(runId)) await journal.append(event as never)
      await completeRun(journal, summaryFor(journal, {status: 'succeeded'}))

      const run = (await sync(root))!.runs.find((r) => r.runId === runId)!
      expect(run.status).toBe('failed')
      expect(run.error).toMatch(/journal\.jsonl line 4: .* after the run finished as "failed", which opsbook never resumes/)
      expect(await blobText(runId, 'summary.json')).toBe(original)
      const verified = await verifyRun(runId, {root, target: fixture.target})
      expect(verified.ok).toBe(false)
      expect(verified.checks.filter((c) => !c.ok).map((c) => c.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^local journal\.jsonl line 4: .* after the run finished as "failed", which opsbook never resumes/)]),
      )
    })
})

// Issue 16, kill -9 at each step: a process killed after run.finished and summary.json but before the seal left the
// run unsealed for good — `resume` refused it as finished, `evidence sync` held summary.json back forever ("1 still
// pending"), `evidence verify` failed it. The resume now seals it, when its summary says what the journal says.
describe('a finished run stopped before its seal', () => {
  async function unsealedRun(status = 'failed', options: {halfSeal?: boolean} = {}): Promise<{root: string; runId: string; dir: string}> {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await Journal.create(runId, {root})
    for (const event of [runStarted(runId), finished(status)]) await journal.append(event as never)
    await writeSummary(root, summaryFor(journal, {status}) as never)
    await journal.close()
    const dir = runDir(root, runId)
    // The seal's write was cut short by the kill.
    if (options.halfSeal) writeFileSync(join(dir, 'journal.jsonl'), `${readFileSync(join(dir, 'journal.jsonl'), 'utf8')}{"seq":3,"ts":"2026-1`)
    return {root, runId, dir}
  }
  const text = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8')

  it('is sealed by the resume: the summary bound to the journal, report.md written, nothing contradicting', async () => {
    for (const halfSeal of [false, true]) {
      const {root, runId, dir} = await unsealedRun('failed', {halfSeal})
      expect(checkAgainstSeal('', text(dir, 'journal.jsonl'), {'summary.json': readFileSync(join(dir, 'summary.json'))})).toEqual([expect.stringMatching(/does not end with an evidence\.sealed line/)])
      const summary = await sealFinishedRun(root, runId)
      expect(summary).toMatchObject({runId, status: 'failed'})
      const journal = text(dir, 'journal.jsonl')
      expect(findSeals(journal).at(-1)!.line).toBe(journal.trim().split('\n').length)
      expect(verifyChain(journal, JSON.parse(text(dir, 'summary.json')).journal).ok).toBe(true)
      expect(summaryProblems(journal, text(dir, 'summary.json'))).toEqual([])
      expect(checkAgainstSeal('', journal, {'summary.json': readFileSync(join(dir, 'summary.json')), 'report.md': readFileSync(join(dir, 'report.md'))})).toEqual([])
      expect(text(dir, 'report.md')).toContain(runId)
      // Sealed now: nothing more to do.
      expect(await sealFinishedRun(root, runId)).toBeUndefined()
    }
  })

  it('is not sealed when its summary.json says something else than its journal (an edit before the resume)', async () => {
    const {root, runId, dir} = await unsealedRun('failed')
    writeFileSync(join(dir, 'summary.json'), text(dir, 'summary.json').replace('"status": "failed"', '"status": "succeeded"'))
    const before = text(dir, 'journal.jsonl')
    await expect(sealFinishedRun(root, runId)).rejects.toThrow(/does not match its journal, so it is not sealed now: .*status is "succeeded" but the journal records "failed"/)
    expect(text(dir, 'journal.jsonl')).toBe(before)
  })

  it('leaves runs alone that are sealed or that a resume continues', async () => {
    const root = tempDir()
    const runId = newRunId('dr-drill')
    const journal = await Journal.create(runId, {root})
    for (const event of [runStarted(runId), finished('interrupted')]) await journal.append(event as never)
    await writeSummary(root, summaryFor(journal, {status: 'interrupted'}) as never)
    await journal.close()
    expect(await sealFinishedRun(root, runId)).toBeUndefined()
  })
})
