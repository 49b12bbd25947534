/** The resume command printed for a run started with --override-window: pasted into a shell, it passes the journaled reason as one word, nothing more. */
import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {resumeCommand, shellQuote} from '../../src/support/resume-hint.js'

const reasons = ["INC-42: it's down", 'x $(touch /tmp/pwned) `id` $HOME', 'line one\nline two; echo injected', "'; echo hi; '", '-x', 'a\\b"c']

describe('resume hint', () => {
  it.each(reasons)('a shell reads the quoted reason back unchanged: %j', (reason) => {
    const echoed = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(reason)}`], {encoding: 'utf8'})
    expect(echoed).toBe(reason)
  })

  it('carries --override-window and the reason only for a window or freeze override', () => {
    expect(resumeCommand('r1', [{kind: 'no-lease', reason: 'x'}])).toBe('opsbook resume r1')
    expect(resumeCommand('r1', [{kind: 'change-freeze', reason: 'INC 42'}])).toBe("opsbook resume r1 --override-window --reason 'INC 42'")
  })
})
