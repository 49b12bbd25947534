import {spawn} from 'node:child_process'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Journal, LOCK_FILE} from '../../src/evidence/journal.js'
import {listRuns, showRun} from '../../src/evidence/runs-store.js'
import {ValidationError} from '../../src/errors.js'
import type {RunEvent} from '../../src/runbooks/events.js'

const started = (runbook: string): RunEvent => ({
  type: 'run.started',
  runId: 'x',
  runbook,
  title: runbook,
  kind: 'drill',
  environment: 'local',
  production: false,
  params: {},
  steps: [],
})

async function journalAt(root: string, runId: string, at: string, events: RunEvent[], close = true): Promise<Journal> {
  const journal = await Journal.create(runId, {root, now: () => new Date(at)})
  for (const event of events) await journal.append(event)
  if (close) await journal.close()
  return journal
}

describe('runs store', () => {
  it('lists a run with the outcome its journal records, not an edited summary.json\'s (issue 16)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-runs-'))
    const runId = '20261120T100000Z-pg-pitr-eeee'
    const journal = await journalAt(root, runId, '2026-11-20T10:00:00.000Z', [started('pg-pitr'), {type: 'run.finished', status: 'failed', durationMs: 9, leftBehind: [], outputs: {}}])
    await writeFile(join(journal.dir, 'summary.json'), JSON.stringify({runId, runbook: {name: 'pg-pitr'}, environment: 'local', status: 'succeeded', startedAt: '2026-11-20T10:00:00.000Z', durationMs: 9}))
    expect((await listRuns(root)).map((r) => [r.runId, r.status])).toEqual([[runId, 'failed']])
    expect((await showRun(root, runId)).status).toBe('failed')
  })

  it('lists runs newest first, with status from summary.json or else from the journal', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-runs-'))
    await journalAt(root, '20261120T100000Z-dr-drill-aaaa', '2026-11-20T10:00:00.000Z', [
      started('dr-drill'),
      {type: 'run.finished', status: 'succeeded', durationMs: 5000, leftBehind: [], outputs: {}},
    ])
    // Crashed: no run.finished, no summary, and its lock names a process that is gone.
    const crashed = await journalAt(root, '20261122T100000Z-pg-pitr-bbbb', '2026-11-22T10:00:00.000Z', [started('pg-pitr'), {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {}}], false)
    const gone = spawn(process.execPath, ['-e', '0'])
    await new Promise((resolve) => gone.on('exit', resolve))
    await writeFile(join(crashed.dir, LOCK_FILE), JSON.stringify({pid: gone.pid}))
    // Running: the lock names this (live) process.
    const running = await journalAt(root, '20261123T100000Z-slot-swap-cccc', '2026-11-23T10:00:00.000Z', [started('slot-swap')], false)
    // Finished with a summary.
    const withSummary = await journalAt(root, '20261121T100000Z-redis-export-dddd', '2026-11-21T10:00:00.000Z', [started('redis-export')])
    await writeFile(
      join(withSummary.dir, 'summary.json'),
      JSON.stringify({runId: '20261121T100000Z-redis-export-dddd', runbook: {name: 'redis-export'}, environment: 'local', status: 'rollback-failed', startedAt: '2026-11-21T10:00:00.000Z', durationMs: 42, journal: {lines: 1, lastHash: withSummary.hash}}),
    )

    const runs = await listRuns(root)
    expect(runs.map((r) => [r.runId, r.runbook, r.status])).toEqual([
      ['20261123T100000Z-slot-swap-cccc', 'slot-swap', 'running'],
      ['20261122T100000Z-pg-pitr-bbbb', 'pg-pitr', 'crashed'],
      ['20261121T100000Z-redis-export-dddd', 'redis-export', 'rollback-failed'],
      ['20261120T100000Z-dr-drill-aaaa', 'dr-drill', 'succeeded'],
    ])
    expect(runs[3]).toMatchObject({environment: 'local', startedAt: '2026-11-20T10:00:00.000Z', durationMs: 5000})

    const details = await showRun(root, '20261122')
    expect(details).toMatchObject({status: 'crashed', chain: {ok: true, lines: 2}, lastEvent: {seq: 2, type: 'step.started', step: 'restore'}})
    expect(details.summary).toBeUndefined()
    // The crashed and the running journal were left open to be listed as such; close their files now.
    await Promise.all([crashed.close(), running.close()])
  })

  it('show checks the journal against the hash summary.json recorded', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-runs-'))
    const journal = await journalAt(root, 'run-a', '2026-11-23T10:00:00.000Z', [started('dr-drill'), {type: 'run.note', message: 'measured RTO PT12M'}])
    await writeFile(join(journal.dir, 'summary.json'), JSON.stringify({runId: 'run-a', status: 'succeeded', startedAt: '2026-11-23T10:00:00.000Z', journal: {lines: 2, lastHash: journal.hash}}))
    expect((await showRun(root, 'run-a')).chain.ok).toBe(true)
    // Edit the last line: only the recorded hash can tell.
    const text = await readFile(journal.path, 'utf8')
    await writeFile(journal.path, text.replace('PT12M', 'PT02M'))
    expect((await showRun(root, 'run-a')).chain).toMatchObject({ok: false, firstBad: {line: 2}})
  })

  it('show names a summary.json edited after the run (status laundered from failed to succeeded), chain intact or not', async () => {
    // Issue 16, item 1: `runs show` printed the edited status, "hash chain OK", and exited 0.
    const {completeRun} = await import('../../src/evidence/seal.js')
    const {summaryFor} = await import('./blob-helpers.js')
    const root = await mkdtemp(join(tmpdir(), 'opsbook-runs-'))
    const journal = await Journal.create('run-f', {root})
    await journal.append(started('pg-pitr'))
    await journal.append({type: 'run.finished', status: 'failed', durationMs: 95_000, leftBehind: [], outputs: {}})
    await completeRun(journal, summaryFor(journal, {status: 'failed', runbook: 'pg-pitr', kind: 'incident'}))
    expect((await showRun(root, 'run-f')).summaryProblems).toEqual([])
    const path = join(journal.dir, 'summary.json')
    await writeFile(path, (await readFile(path, 'utf8')).replace('"status": "failed"', '"status": "succeeded"'))
    const details = await showRun(root, 'run-f')
    expect(details.chain.ok).toBe(true)
    expect(details.summaryProblems).toEqual([
      expect.stringMatching(/^summary\.json: SHA-256 .* does not match .* sealed at journal\.jsonl line 3/),
      'summary.json: status is "succeeded" but the journal records "failed"',
    ])
  })

  it('runs list flags a run whose journal or summary.json was changed after the run, where it showed the forged status plainly', async () => {
    // Issue 16 leftover (stop 28): `runs show` and `evidence verify` caught an edited outcome, `runs list` listed it.
    const {completeRun} = await import('../../src/evidence/seal.js')
    const {summaryFor} = await import('./blob-helpers.js')
    const {runCliInProcess} = await import('../helpers/cli.js')
    const {emptyEmulatorProject} = await import('../helpers/project.js')
    const cwd = emptyEmulatorProject('runs-list')
    const root = join(cwd, '.opsbook')
    const finished = async (runId: string, at: string) => {
      const journal = await Journal.create(runId, {root, now: () => new Date(at)})
      await journal.append(started('pg-pitr'))
      await journal.append({type: 'run.finished', status: 'failed', durationMs: 95_000, leftBehind: [], outputs: {}})
      await completeRun(journal, summaryFor(journal, {status: 'failed', runbook: 'pg-pitr', kind: 'incident', startedAt: at}))
      return journal
    }
    const honest = await finished('20261201T100000Z-pg-pitr-aaaa', '2026-12-01T10:00:00.000Z')
    // The outcome edited in the journal (the status runs list shows) and in summary.json.
    const forged = await finished('20261202T100000Z-pg-pitr-bbbb', '2026-12-02T10:00:00.000Z')
    await writeFile(forged.path, (await readFile(forged.path, 'utf8')).replace('"status":"failed"', '"status":"succeeded"'))
    const summaryPath = join(forged.dir, 'summary.json')
    await writeFile(summaryPath, (await readFile(summaryPath, 'utf8')).replace('"status": "failed"', '"status": "succeeded"'))
    // Only summary.json edited (its duration): the journal's status is shown, the edit flagged all the same.
    const edited = await finished('20261203T100000Z-pg-pitr-cccc', '2026-12-03T10:00:00.000Z')
    const editedSummary = join(edited.dir, 'summary.json')
    await writeFile(editedSummary, (await readFile(editedSummary, 'utf8')).replace('"durationMs": 95000', '"durationMs": 5000'))

    const runs = await listRuns(root, {check: 10})
    expect(runs.map((r) => [r.runId.slice(-4), r.status, r.changed === undefined])).toEqual([
      ['cccc', 'failed', false],
      ['bbbb', 'succeeded', false],
      ['aaaa', 'failed', true],
    ])
    expect(runs[1]!.changed).toMatch(/^journal\.jsonl line 2: /)
    expect(runs[0]!.changed).toMatch(/^summary\.json: SHA-256 .* does not match/)
    // Unchecked (the runs a --limit leaves out, and the duration median a run reads): no flag, no cost.
    expect((await listRuns(root)).every((r) => r.changed === undefined)).toBe(true)

    const list = await runCliInProcess(['runs', 'list'], {cwd})
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/20261202T100000Z-pg-pitr-bbbb\s+succeeded \(CHANGED\)/)
    expect(list.stdout).toMatch(/20261201T100000Z-pg-pitr-aaaa\s+failed\s/)
    expect(list.stdout).toContain("CHANGED AFTER THE RUN: 2 runs' files contradict each other, so the status shown may be forged")
    expect(list.stdout).toMatch(/\n  20261202T100000Z-pg-pitr-bbbb: journal\.jsonl line 2: /)
    const json = await runCliInProcess(['runs', 'list', '--json'], {cwd})
    expect(JSON.parse(json.stdout).runs.map((r: {changed?: string}) => r.changed !== undefined)).toEqual([true, true, false])
    void honest
  })

  it('runs list flags a run that never reached the evidence container (UNANCHORED), where a consistent forgery showed its status plainly', async () => {
    // Issue 16 leftover: a run written whole on this machine — chain, seal and summary consistent, as a forger can —
    // was listed "succeeded" without a flag, while `runs show` said UNANCHORED and `evidence verify` exited 3.
    const {completeRun} = await import('../../src/evidence/seal.js')
    const {summaryFor} = await import('./blob-helpers.js')
    const {runCliInProcess} = await import('../helpers/cli.js')
    const {emptyEmulatorProject} = await import('../helpers/project.js')
    const cwd = emptyEmulatorProject('runs-list-anchor')
    const root = join(cwd, '.opsbook')
    const succeeded = async (runId: string, at: string, upload?: {pending: boolean}) => {
      const journal = await Journal.create(runId, {root, now: () => new Date(at)})
      await journal.append(started('pg-pitr'))
      await journal.append({type: 'run.finished', status: 'succeeded', durationMs: 95_000, leftBehind: [], outputs: {}})
      await completeRun(journal, summaryFor(journal, {status: 'succeeded', runbook: 'pg-pitr', kind: 'incident', startedAt: at}))
      if (upload) await writeFile(join(journal.dir, 'upload-state.json'), JSON.stringify({runId, environment: 'local', account: 'a', container: 'c', blobPrefix: `runs/x/${runId}/`, files: {}, pending: upload.pending}))
    }
    await succeeded('20261201T100000Z-pg-pitr-aaaa', '2026-12-01T10:00:00.000Z', {pending: false})
    await succeeded('20261202T100000Z-pg-pitr-bbbb', '2026-12-02T10:00:00.000Z')
    await succeeded('20261203T100000Z-pg-pitr-cccc', '2026-12-03T10:00:00.000Z', {pending: true})

    const list = await runCliInProcess(['runs', 'list'], {cwd})
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/20261203T100000Z-pg-pitr-cccc\s+succeeded \(UNANCHORED\)/)
    expect(list.stdout).toMatch(/20261202T100000Z-pg-pitr-bbbb\s+succeeded \(UNANCHORED\)/)
    expect(list.stdout).toMatch(/20261201T100000Z-pg-pitr-aaaa\s+succeeded\s/)
    expect(list.stdout).not.toMatch(/aaaa\s+succeeded \(UNANCHORED\)/)
    expect(list.stdout).toContain('UNANCHORED: 2 runs never reached the evidence container, so nothing outside this machine confirms the status shown')
    const json = await runCliInProcess(['runs', 'list', '--json'], {cwd})
    expect(JSON.parse(json.stdout).runs.map((r: {blob?: string}) => r.blob)).toEqual(['pending', 'none', 'uploaded'])
  })

  it('an unknown or ambiguous run id is invalid input', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-runs-'))
    await journalAt(root, 'run-1', '2026-11-23T10:00:00.000Z', [started('a')])
    await journalAt(root, 'run-2', '2026-11-23T11:00:00.000Z', [started('a')])
    await expect(showRun(root, 'nope')).rejects.toBeInstanceOf(ValidationError)
    await expect(showRun(root, 'run-')).rejects.toThrow(/ambiguous: run-1, run-2/)
    expect(await listRuns(join(root, 'missing'))).toEqual([])
  })
})
