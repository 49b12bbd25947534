import {mkdtemp, readFile, readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Journal, newRunId, readJournal, verifyChain} from '../../src/evidence/journal.js'
import {Redactor} from '../../src/evidence/redact.js'
import {listRuns, showRun} from '../../src/evidence/runs-store.js'
import {buildSummary, writeSummary} from '../../src/evidence/summary.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {environment, run, runbook} from './engine-fixtures.js'

const SAS_URL =
  'https://stshopsnapshots.blob.core.windows.net/redis-snapshots/sessions.rdb?sv=2022-11-02&ss=b&srt=o&sp=rw&se=2026-11-24T00%3A00%3A00Z&spr=https&sig=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ%3D%3D'

describe('engine → journal → summary', () => {
  it('keeps secrets out of every file, and the journal chain verifies', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-run-'))
    const book = runbook(`
name: secret-handling
title: Secrets stay secret
kind: maintenance
params:
  adminPassword: {type: secret}
steps:
  - {id: connect, uses: test.secret, with: {value: "\${{ params.adminPassword }}-session-7f3a9c"}}
  - {id: export, uses: core.log, needs: [connect], with: {message: "exporting to ${SAS_URL}"}}
  - {id: echo, uses: core.log, needs: [connect], with: {message: "password was \${{ params.adminPassword }}"}}
  - {id: fail, uses: core.assert, needs: [export, echo], with: {that: false, message: "could not log in with \${{ params.adminPassword }}"}}
outputs:
  connection: \${{ steps.connect.outputs.connection }}
`)
    const password = 'Orders-Admin-9x!'
    const redactor = new Redactor()
    const runId = newRunId(book.name)
    const journal = await Journal.create(runId, {root, redactor})
    const shown: RunEvent[] = []
    const {outcome} = await run(book, {
      runId,
      params: {adminPassword: password},
      redactor,
      emit: async (event) => {
        await journal.append(event)
        // The journal line is on disk before anyone sees the event.
        const lines = await readJournal(journal.path)
        expect(lines.at(-1)!.type).toBe(event.type)
        shown.push(event)
      },
    })
    await journal.close()
    expect(outcome.status).toBe('failed')

    const summary = buildSummary({
      runId,
      runbook: book,
      catalog: {file: 'runbooks.yaml', sha256: 'c'.repeat(64)},
      environmentName: 'local',
      environment,
      outcome,
      params: {adminPassword: password},
      journal: {lines: journal.lines, lastHash: journal.hash},
      redactor,
    })
    await writeSummary(root, summary, redactor)

    const files = await readdir(join(root, 'runs', runId))
    expect(files.sort()).toEqual(['journal.jsonl', 'summary.json'])
    const everything = [
      await readFile(join(root, 'runs', runId, 'journal.jsonl'), 'utf8'),
      await readFile(join(root, 'runs', runId, 'summary.json'), 'utf8'),
      JSON.stringify(shown),
      JSON.stringify(outcome),
    ].join('\n')
    for (const secret of [password, `${password}-session-7f3a9c`, 'dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ', 'sig=dGhp', encodeURIComponent(password)])
      expect(everything).not.toContain(secret)
    // What is not secret is still there to read.
    expect(everything).toContain('https://stshopsnapshots.blob.core.windows.net/redis-snapshots/sessions.rdb?[REDACTED]')
    expect(everything).toContain('password was [REDACTED]')

    const text = await readFile(journal.path, 'utf8')
    expect(verifyChain(text, summary.journal)).toMatchObject({ok: true, lines: shown.length})

    expect(await listRuns(root)).toEqual([{runId, runbook: 'secret-handling', environment: 'local', status: 'failed', startedAt: outcome.startedAt, durationMs: outcome.durationMs}])
    const details = await showRun(root, runId.slice(0, 22))
    expect(details).toMatchObject({runId, status: 'failed', chain: {ok: true}, summary: {params: {adminPassword: '[REDACTED]'}}})
  })
})
