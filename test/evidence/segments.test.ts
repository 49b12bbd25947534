/**
 * A resumed run's times. Its summary used to keep the last segment's start and duration at top level, so `runs show`,
 * the JSON output and the reports said a run that began at 10:00 and was resumed at 10:30 started at 10:30. Now the
 * top level is the whole run's — start of the first segment, elapsed time to the end — with the time opsbook was
 * running (`activeMs`, the sum of the segments) beside it and the segments listed; `evidence verify` recomputes them
 * from the journal.
 */
import {cpSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {summaryContradictions} from '../../src/evidence/seal.js'
import {resumedRunTimes} from '../../src/evidence/segments.js'
import {onlyJson, repoRoot, runCli, runCliInProcess} from '../helpers/cli.js'
import {startGateServer} from '../helpers/gate-server.js'

const line = (type: string, ts: string, data: Record<string, unknown> = {}) => ({type, ts, data})

describe('resumed run times', () => {
  it('start of the first segment, elapsed to the last finish, and the running time summed over the segments', () => {
    const journal = [
      line('run.started', '2026-12-03T10:00:00.000Z'),
      line('step.started', '2026-12-03T10:00:01.000Z'),
      line('run.finished', '2026-12-03T10:00:40.000Z', {status: 'interrupted', durationMs: 40_000}),
      line('run.started', '2026-12-03T10:30:00.000Z'),
      line('run.finished', '2026-12-03T10:30:20.000Z', {status: 'succeeded', durationMs: 20_000}),
      line('evidence.sealed', '2026-12-03T10:30:20.500Z'),
    ]
    expect(resumedRunTimes(journal)).toEqual({
      startedAt: '2026-12-03T10:00:00.000Z',
      finishedAt: '2026-12-03T10:30:20.000Z',
      durationMs: 30 * 60_000 + 20_000,
      activeMs: 60_000,
      segments: [
        {startedAt: '2026-12-03T10:00:00.000Z', durationMs: 40_000, status: 'interrupted'},
        {startedAt: '2026-12-03T10:30:00.000Z', durationMs: 20_000, status: 'succeeded'},
      ],
    })
    // a segment whose process was killed (no run.finished) ran until its last line
    const killed = resumedRunTimes([line('run.started', '2026-12-03T10:00:00.000Z'), line('step.started', '2026-12-03T10:00:05.000Z'), ...journal.slice(3)])
    expect(killed?.segments[0]).toEqual({startedAt: '2026-12-03T10:00:00.000Z', durationMs: 5000})
    expect(killed?.activeMs).toBe(25_000)
    // one segment: the engine's own figures stand
    expect(resumedRunTimes(journal.slice(3))).toBeUndefined()
  })

  it('verify names a resumed summary whose start was set to the last segment\'s', () => {
    const journal = [
      line('run.started', '2026-12-03T10:00:00.000Z', {runbook: 'x', environment: 'dev', production: false}),
      line('run.finished', '2026-12-03T10:00:40.000Z', {status: 'interrupted', durationMs: 40_000, leftBehind: []}),
      line('run.started', '2026-12-03T10:30:00.000Z', {runbook: 'x', environment: 'dev', production: false}),
      line('run.finished', '2026-12-03T10:30:20.000Z', {status: 'succeeded', durationMs: 20_000, leftBehind: []}),
    ]
    const text = journal.map((l) => JSON.stringify({runId: 'r', ...l})).join('\n')
    const times = resumedRunTimes(journal)!
    const good = {runId: 'r', runbook: {name: 'x'}, environment: 'dev', production: false, status: 'succeeded', leftBehind: [], ...times}
    expect(summaryContradictions('', text, Buffer.from(JSON.stringify(good)))).toEqual([])
    const lastSegment = {...good, startedAt: '2026-12-03T10:30:00.000Z'}
    expect(summaryContradictions('', text, Buffer.from(JSON.stringify(lastSegment)))).toEqual([
      'summary.json: startedAt is "2026-12-03T10:30:00.000Z" but the journal records "2026-12-03T10:00:00.000Z"',
    ])
  })
})

describe('opsbook resume: what the user reads about the whole run', () => {
  it('JSON, runs show, report.md and evidence verify give the first start, the elapsed and the running time, and the segments', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-segments-'))
    cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), cwd, {recursive: true})
    const gate = await startGateServer()
    const env = {AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential'}
    try {
      const first = await runCli(['run', './call-gated.yaml', '--env', 'dev', '--param', `base=${gate.base}`, '--json'], {
        cwd,
        env,
        onStart: (child) => void gate.reachedGate.then(() => child.kill('SIGINT')),
      })
      expect(first.code, first.stderr).toBe(130)
      const firstJson = onlyJson(first)
      const runId = firstJson.runId as string
      gate.open()
      const resumed = await runCliInProcess(['resume', runId, '--json'], {cwd, env})
      expect(resumed.code, resumed.stderr).toBe(0)
      const result = onlyJson(resumed)
      // JSON output of resume: the first segment's start, elapsed from it, and the running time
      expect(result.segments).toHaveLength(2)
      // the first segment's start as its journal line has it (the interrupted run's own output took its clock a few
      // ms earlier), not the resume's
      expect(result.startedAt).toBe(result.segments[0].startedAt)
      expect(Math.abs(Date.parse(result.startedAt) - Date.parse(firstJson.startedAt))).toBeLessThan(1000)
      expect(Date.parse(result.startedAt)).toBeLessThan(Date.parse(result.segments[1].startedAt))
      expect(result.segments[0]).toMatchObject({startedAt: expect.any(String), status: 'interrupted'})
      expect(result.segments[1]).toMatchObject({status: 'succeeded'})
      expect(result.durationMs).toBe(Date.parse(result.finishedAt) - Date.parse(result.segments[0].startedAt))
      expect(result.activeMs).toBe(result.segments[0].durationMs + result.segments[1].durationMs)
      expect(result.durationMs).toBeGreaterThanOrEqual(result.activeMs)

      const dir = join(cwd, '.opsbook', 'runs', runId)
      const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))
      expect(summary).toMatchObject({startedAt: result.segments[0].startedAt, durationMs: result.durationMs, activeMs: result.activeMs, segments: result.segments})

      const shown = await runCliInProcess(['runs', 'show', runId], {cwd, env})
      expect(shown.code, shown.stdout + shown.stderr).toBe(0)
      expect(shown.stdout).toContain(`started ${result.segments[0].startedAt}`)
      expect(shown.stdout).toMatch(/elapsed from the first start, .+ of it running, in 2 segments/)
      expect(shown.stdout).toMatch(/segments:\n {2}1\. \S+, ran .+, interrupted\n {2}2\. \S+, ran .+, succeeded/)
      // The step table's status column lines up, `finally gated.cleanup` included.
      const rows = shown.stdout.split('\n').filter((l) => /^ {2}(finally )?(prepare|gated|done|gated\.\w+) +(succeeded|skipped|failed)/.test(l))
      expect(rows.map((l) => l.replace(/^ {2}/, '').split(/ {2,}/)[0])).toContain('finally gated.cleanup')
      expect(new Set(rows.map((l) => l.search(/ (succeeded|skipped|failed)/))).size).toBe(1)

      const report = readFileSync(join(dir, 'report.md'), 'utf8')
      expect(report).toContain(`| Started | ${result.segments[0].startedAt} |`)
      expect(report).toMatch(/\| Duration \| .+ elapsed from the first start, .+ of it running, in 2 segments \|/)

      const verified = await runCliInProcess(['evidence', 'verify', runId], {cwd, env})
      // Both segments' files hold together; `dev` has no evidence container and the run made no ARM write, so nothing
      // outside this machine confirms the record: unanchored, exit 3, not "verified" (issue 16).
      expect(verified.stdout).toMatch(/✔ local journal\.jsonl: hash chain intact/)
      expect(verified.stdout).toMatch(/✔ local summary\.json, report\.md, request\.json: match the journal's seal and events/)
      expect(verified.stdout).toContain(`– run ${runId} is unanchored: it has no blob copy (no evidence container to look in)`)
      expect(verified.code, verified.stdout + verified.stderr).toBe(3)
    } finally {
      gate.close()
    }
  }, 120_000)
})
