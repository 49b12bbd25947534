import {describe, expect, it} from 'vitest'
import {findAction} from '../../src/actions/registry.js'
import {run, runbook} from '../runbooks/engine-fixtures.js'

describe('core actions', () => {
  it('are registered as non-changing actions that need no permissions', () => {
    for (const name of ['core.log', 'core.wait', 'core.assert', 'core.approval']) {
      const action = findAction(name)
      expect(action, name).toBeDefined()
      expect(action!.changes).toBe(false)
      expect(action!.permissions).toEqual([])
    }
    expect(findAction('core.wait')!.az!({duration: 'PT1M30S'}, undefined as never)).toEqual(['sleep 90'])
  })

  it('core.log writes its message, with the level when it is not info', async () => {
    const {events} = await run(
      runbook(`
name: logs
title: Logs
kind: checklist
steps:
  - {id: info, uses: core.log, with: {message: all good}}
  - {id: warn, uses: core.log, with: {message: replica lag high, level: warn}}
`),
    )
    expect(events.filter((e) => e.type === 'step.log').map((e) => (e as {message: string}).message)).toEqual(['all good', 'warn: replica lag high'])
  })

  it('core.wait waits, and stops as soon as the run is interrupted', async () => {
    const book = runbook(`
name: waits
title: Waits
kind: checklist
steps:
  - {id: short, uses: core.wait, with: {duration: PT0.05S}}
  - {id: long, uses: core.wait, needs: [short], with: {duration: PT30S}}
`)
    const controller = new AbortController()
    const {outcome, events} = await run(book, {
      signal: controller.signal,
      abortGraceMs: 5000,
      onEvent: (e) => {
        if (e.type === 'step.started' && e.step === 'long') setTimeout(() => controller.abort('SIGINT'), 20)
      },
    })
    expect(events.find((e) => e.type === 'step.succeeded' && e.step === 'short')).toMatchObject({outputs: {waitedMs: expect.any(Number)}})
    expect((outcome.steps[0]!.outputs as {waitedMs: number}).waitedMs).toBeGreaterThanOrEqual(45)
    expect(outcome.status).toBe('interrupted')
    // A long wait says how long and until when (slot-swap's 2-minute watch printed nothing but its step line); a short one is quiet.
    const said = events.flatMap((e) => (e.type === 'step.log' ? [`${e.step}: ${e.message}`] : []))
    expect(said).toEqual([expect.stringMatching(/^long: waiting 30(\.0)?s, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)])
    // The grace period is 5 s: finishing before it shows core.wait itself honoured the signal (4 s, not 2 s: the rest
    // is room for a loaded machine's event-loop lag, which must not read as a wait that ignored the signal).
    expect(outcome.steps[1]!.durationMs).toBeLessThan(4000)
  })

  // Found by adversary8 (CLI: \`run hello --param pause=P30D\` succeeded in 26 ms): setTimeout takes at most 2^31-1 ms
  // and fires a longer delay at once, so a 30-day wait ended after 2 ms and a step with \`timeout: P30D\` timed out at once.
  it('core.wait and a step timeout longer than 24.8 days neither end at once', async () => {
    const book = runbook(`
name: long
title: Long durations
kind: checklist
steps:
  - {id: bounded, uses: core.wait, timeout: P30D, with: {duration: PT0.05S}}
  - {id: month, uses: core.wait, needs: [bounded], with: {duration: P30D}}
`)
    const controller = new AbortController()
    const {outcome} = await run(book, {
      signal: controller.signal,
      abortGraceMs: 5000,
      // Interrupted once the month-long wait has started and is still waiting (it must not have ended by itself).
      onEvent: (e) => {
        if (e.type === 'step.started' && e.step === 'month') setTimeout(() => controller.abort('SIGINT'), 100)
      },
    })
    expect(outcome.steps.map((s) => [s.id, s.status])).toEqual([
      ['bounded', 'succeeded'],
      ['month', 'cancelled'],
    ])
    expect(outcome.status).toBe('interrupted')
  })

  it('core.assert passes on true and fails with its message on false, without retrying', async () => {
    const book = runbook(`
name: asserts
title: Asserts
kind: checklist
params:
  rows: {type: integer, default: 0}
steps:
  - {id: positive, uses: core.assert, with: {that: "\${{ params.rows >= 0 }}", message: rows cannot be negative}}
  - {id: rows, uses: core.assert, needs: [positive], retry: {attempts: 3}, with: {that: "\${{ params.rows > 0 }}", message: the restored table is empty}}
`)
    const {outcome} = await run(book, {params: {rows: 0}})
    expect(outcome.steps.map((s) => s.status)).toEqual(['succeeded', 'failed'])
    expect(outcome.steps[1]).toMatchObject({attempts: 1, error: {message: 'assertion failed: the restored table is empty', code: 'assertion-failed'}})
  })

  it('core.approval asks the approver with the step, environment and production flag', async () => {
    const requests: unknown[] = []
    const {outcome} = await run(
      runbook(`
name: approve
title: Approve
kind: incident
steps:
  - {id: go, uses: core.approval, with: {message: Promote the replica?}}
`),
      {
        approver: {
          approve: async (request) => {
            requests.push(request)
            return {approved: true, by: 'carol', via: 'prompt'}
          },
        },
      },
    )
    expect(requests).toEqual([{step: 'go', message: 'Promote the replica?', environment: 'local', production: false}])
    expect(outcome.steps[0]!.outputs).toEqual({approved: true, by: 'carol', via: 'prompt'})
  })
})
