/**
 * Ctrl-C on the CLI: the first stops the run (rollbacks and finally run), a second — often an impatient repeat
 * mid-swap — must not abandon the teardown that keeps production safe; only a third does.
 */
import {describe, expect, it} from 'vitest'
import {trapInterrupts} from '../../src/cli/run-support.js'

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
