import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildSummary} from '../../src/evidence/summary.js'
import {environment, run, runbook} from '../runbooks/engine-fixtures.js'

describe('run summary', () => {
  it('records the runbook, catalog, who, versions, timings, approvals and the journal hash', async () => {
    const book = runbook(`
name: summary-check
title: Summary check
kind: drill
steps:
  - {id: ok, uses: core.approval, with: {message: Start the drill?}}
  - {id: wait, uses: core.wait, needs: [ok], with: {duration: PT0.01S}}
`)
    const {outcome} = await run(book)
    const summary = buildSummary({
      runId: outcome.runId,
      runbook: book,
      catalog: {file: '/repo/runbooks.yaml', sha256: 'a'.repeat(64)},
      environmentName: 'local',
      environment,
      outcome,
      params: {},
      journal: {lines: 12, lastHash: 'b'.repeat(64)},
      overrides: [{kind: 'window', reason: 'incident INC-42', by: 'dana', at: '2026-11-23T15:00:00.000Z'}],
      azurePrincipal: 'opsbook-ci@contoso.com',
    })
    expect(summary).toMatchObject({
      runId: outcome.runId,
      runbook: {name: 'summary-check', title: 'Summary check', kind: 'drill', source: book.source, sha256: book.sha256},
      catalog: {file: '/repo/runbooks.yaml', sha256: 'a'.repeat(64)},
      environment: 'local',
      production: false,
      status: 'succeeded',
      who: {osUser: expect.any(String), host: expect.any(String), azurePrincipal: 'opsbook-ci@contoso.com'},
      versions: {opsbook: JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version, node: process.version},
      approvals: [{step: 'ok', approved: true, by: 'tester', via: 'prompt', at: expect.any(String)}],
      overrides: [{kind: 'window', reason: 'incident INC-42', by: 'dana'}],
      leftBehind: [],
      journal: {lines: 12, lastHash: 'b'.repeat(64)},
    })
    expect(summary.steps.map((s) => [s.id, s.status, typeof s.durationMs])).toEqual([
      ['ok', 'succeeded', 'number'],
      ['wait', 'succeeded', 'number'],
    ])
    expect(Date.parse(summary.finishedAt)).toBeGreaterThanOrEqual(Date.parse(summary.startedAt))
  })
})
