/**
 * The production confirmation on a real terminal: an engineer who mistypes the environment's name is told what was
 * typed and what was expected, and to type it again — not "pass --yes", which would skip the very check they failed.
 */
import {cpSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {binRun, repoRoot} from '../helpers/cli.js'
import {onPty} from '../helpers/pty.js'

describe('production confirmation', () => {
  it('a mistyped environment name: exit 4, says what was typed and what is expected, no --yes advice', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-approver-'))
    cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), cwd, {recursive: true})
    const {code, screen} = await onPty(`node ${binRun} run pg-pitr --env prod --target db -p restoreTime=now`, cwd, [
      {when: 'Type the environment name to approve', send: 'prd\r'},
    ])
    expect(code).toBe(4)
    expect(screen).toContain('run not confirmed for production environment "prod": "prd" was typed, not "prod"; nothing was changed')
    expect(screen).toContain('Try: run it again and type prod')
    expect(screen).not.toContain('pass --yes')
  }, 60_000)
})
