import {describe, expect, it} from 'vitest'
import {mapControls} from '../../src/evidence/controls.js'
import {evidenceStoreState} from '../../src/evidence/export.js'

describe('controls evidence', () => {
  it('counts neither hello (a checklist that checks nothing) nor failed runs as backup evidence', () => {
    const controls = mapControls([
      {runId: 'hello-1', kind: 'checklist', runbook: 'hello', passed: true},
      {runId: 'drill-failed', kind: 'drill', runbook: 'dr-drill', passed: false},
      {runId: 'drill-ok', kind: 'drill', runbook: 'dr-drill', passed: true},
      {runId: 'checklist-ok', kind: 'checklist', runbook: 'security-checklist', passed: true},
      {runId: 'swap-ok', kind: 'maintenance', runbook: 'slot-swap', passed: true},
    ])
    const runs = (id: string) => controls.find((c) => c.id === id)!.runIds
    expect(runs('SOC 2 A1.2')).toEqual(['drill-ok', 'checklist-ok'])
    expect(runs('SOC 2 A1.3')).toEqual(['drill-ok'])
    expect(runs('ISO 27001 A.8.13')).toEqual(['drill-ok', 'checklist-ok'])
  })

  it('says whether the evidence container was immutable, from the newest run that recorded it', () => {
    const run = (runId: string, startedAt: string, evidenceStore?: Record<string, unknown>) => ({runId, startedAt, journalText: '', summary: evidenceStore ? {evidenceStore} : {}}) as never
    expect(evidenceStoreState([run('a', '2026-01-01', undefined)]).immutable).toBe('unknown')
    const state = evidenceStoreState([run('old', '2026-01-01', {mutable: false, immutabilityPolicy: {state: 'Locked'}}), run('new', '2026-02-01', {mutable: true})])
    expect(state.immutable).toBe(false)
    expect(state.detail).toContain('MUTABLE')
    expect(evidenceStoreState([run('old', '2026-01-01', {mutable: false, immutabilityPolicy: {state: 'Locked'}})]).detail).toContain('immutable (WORM): immutability policy Locked')
  })
})
