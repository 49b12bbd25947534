/**
 * Ctrl-C on the CLI: the first stops the run (rollbacks and finally run), a second — often an impatient repeat
 * mid-swap — must not abandon the teardown that keeps production safe; only a third does.
 */
import {describe, expect, it} from 'vitest'
import {runOnTerminal, trapInterrupts} from '../../src/cli/run-support.js'

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
