/**
 * Ctrl-C on the CLI: the first stops the run (rollbacks and finally run), a second — often an impatient repeat
 * mid-swap — must not abandon the teardown that keeps production safe; only a third does.
 */
import {describe, expect, it} from 'vitest'
import {runOnTerminal, runProgress, trapInterrupts} from '../../src/cli/run-support.js'
import type {RunEvent} from '../../src/runbooks/events.js'

describe('trapInterrupts', () => {
  it('first Ctrl-C stops the run, the second keeps teardown going, the third abandons it', () => {
    const said: string[] = []
    const interrupts = trapInterrupts({write: (text: string) => said.push(text) > 0})
    try {
      process.emit('SIGINT', 'SIGINT')
      expect(interrupts.signal.aborted).toBe(true)
      expect(interrupts.teardownSignal.aborted).toBe(false)
      process.emit('SIGINT', 'SIGINT')
      expect(interrupts.teardownSignal.aborted).toBe(false)
      expect(said.at(-1)).toMatch(/still tearing down .* press Ctrl-C once more to abandon teardown/)
      process.emit('SIGINT', 'SIGINT')
      expect(interrupts.teardownSignal.aborted).toBe(true)
      expect(said.at(-1)).toMatch(/abandoning teardown; what is left will be listed \(exit 3\) and `opsbook resume` can finish it/)
    } finally {
      interrupts.dispose()
    }
  })
})

describe('what the first Ctrl-C says', () => {
  const pressed = async (events: RunEvent[], times = 1): Promise<string[]> => {
    const said: string[] = []
    const progress = runProgress()
    for (const event of events) await progress.listener(event)
    const interrupts = trapInterrupts({write: (text: string) => said.push(text.trim()) > 0}, progress.now)
    try {
      for (let i = 0; i < times; i++) process.emit('SIGINT', 'SIGINT')
    } finally {
      interrupts.dispose()
    }
    return said
  }
  const started = (steps: Array<{id: string; phase: 'main' | 'finally'; changes: boolean; parent?: string}>): RunEvent => ({
    type: 'run.started', runId: 'r1', runbook: 'slow-test', title: 't', kind: 'maintenance', environment: 'dev', production: false, params: {},
    steps: steps.map((s) => ({...s, uses: 'core.log', needs: []})),
  })

  it('says what will really happen at that moment: before the run starts nothing is undone; once it runs, what is rolled back', async () => {
    // It said "stopping; rollbacks and finally steps will run" while the emulator was still starting.
    const before = await pressed([], 3)
    expect(before[0]).toBe('SIGINT: stopping before the run has started — nothing has been changed, nothing to undo')
    expect(before.slice(1)).toEqual(['SIGINT: still stopping — the run has not started, nothing has been changed', 'SIGINT: still stopping — the run has not started, nothing has been changed'])
    expect(before.join('\n')).not.toMatch(/roll|teardown|exit 3/)

    const noneDone = await pressed([started([{id: 'change', phase: 'main', changes: true}])])
    expect(noneDone).toEqual(['SIGINT: stopping — no new step starts; nothing in Azure has been changed yet; no step has completed, so there is nothing to roll back; the runbook has no finally steps'])

    const prepared = await pressed([
      // A called runbook's teardown is a finally step too (dr-drill has none of its own): it runs.
      started([{id: 'prepare', phase: 'main', changes: false}, {id: 'restore', phase: 'main', changes: true}, {id: 'leg.teardown', phase: 'finally', changes: true, parent: 'leg'}]),
      {type: 'step.succeeded', step: 'prepare', phase: 'main', outputs: {}, durationMs: 1, attempts: 1},
      {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {}},
    ])
    expect(prepared).toEqual(['SIGINT: stopping — no new step starts; completed steps that have a rollback are rolled back; finally steps run'])
  })
})

describe('runOnTerminal', () => {
  it('Ctrl-C while the run is still starting is exit 130 saying nothing was changed, not the SDK\'s AbortError as a failure (exit 1)', async () => {
    const flags = {json: true, yes: false, approve: [], overrideWindow: false}
    const error = await runOnTerminal(flags, (options) => {
      // What a token request or an ARM read in preflight does when the signal fires: it rejects with an AbortError.
      const aborted = new Promise<never>((_, reject) => options.signal!.addEventListener('abort', () => reject(Object.assign(new Error('The operation was aborted. Request has already been canceled.'), {name: 'AbortError'}))))
      process.emit('SIGINT', 'SIGINT')
      return aborted
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({exitCode: 130, code: 'interrupted'})
    expect((error as Error).message).toBe('SIGINT while starting, before any step ran: nothing was changed; the same command starts it again')
    // Without a Ctrl-C an error stays what it was.
    const failure = await runOnTerminal(flags, () => Promise.reject(new Error('boom'))).catch((e: unknown) => e)
    expect(failure).toMatchObject({message: 'boom'})
    expect(failure).not.toHaveProperty('exitCode')
  })
})
