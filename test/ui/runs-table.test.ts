/** `opsbook runs list`: a header names the columns, and a long run id does not push the others out of line. */
import {describe, expect, it} from 'vitest'
import type {RecordedRun} from '../../src/evidence/runs-remote.js'
import {runsTable} from '../../src/ui/runs-table.js'

const run = (runId: string, extra: Partial<RecordedRun> = {}): RecordedRun => ({
  runId,
  runbook: runId.split('-').slice(1, -1).join('-'),
  environment: 'production',
  status: 'succeeded',
  startedAt: '2026-12-03T17:14:11.011Z',
  durationMs: 52_500,
  where: ['local'],
  ...extra,
})

describe('runsTable', () => {
  it('starts with a header and keeps every column in line, whatever the run id\'s length', () => {
    const lines = runsTable([
      run('20261203T171409Z-dr-drill-e3df', {where: ['local', 'blob']}),
      run('20261203T171500Z-rotate-every-storage-account-key-in-the-estate-0a1b', {status: 'crashed', environment: 'staging', durationMs: undefined}),
    ])
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+ENVIRONMENT\s+STARTED \(UTC\)\s+DURATION\s+WHERE$/)
    const column = (name: string) => lines[0]!.indexOf(name)
    expect(lines[1]!.slice(column('STATUS')).startsWith('succeeded')).toBe(true)
    expect(lines[2]!.slice(column('STATUS')).startsWith('crashed')).toBe(true)
    expect(lines[1]!.slice(column('ENVIRONMENT')).startsWith('production')).toBe(true)
    expect(lines[2]!.slice(column('ENVIRONMENT')).startsWith('staging')).toBe(true)
    expect(lines[1]!.slice(column('STARTED (UTC)')).startsWith('2026-12-03 17:14:11 ')).toBe(true)
    expect(lines[1]!.slice(column('DURATION')).startsWith('52.5s')).toBe(true)
    expect(lines[1]!.endsWith('local+blob')).toBe(true)
  })

  it('has no WHERE column for this machine\'s runs only', () => {
    const {where: _where, ...local} = run('20261203T171409Z-dr-drill-e3df')
    expect(runsTable([local])[0]).toMatch(/^RUN\s+STATUS\s+ENVIRONMENT\s+STARTED \(UTC\)\s+DURATION$/)
  })
})
