/**
 * `opsbook window status` for a production environment: every window's state stays in its own column whatever the
 * length of its time zone, and a disruptive runbook without an expected duration says what the guard does then.
 */
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot, runCliInProcess} from '../../helpers/cli.js'

describe('opsbook window status', () => {
  it('keeps the windows\' states in one column and says what an unknown duration means for the guard', async () => {
    const catalog = join(repoRoot, 'examples', 'azure-platform.yaml')
    const result = await runCliInProcess(['window', 'status', '--env', 'production', '--catalog', catalog, '--at', '2026-12-03T12:00:00Z'])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.split('\n')
    const states = lines.filter((l) => /(closed; next|OPEN until) /.test(l)).map((l) => l.search(/(closed; next|OPEN until) /))
    expect(states.length).toBeGreaterThan(5)
    // One column, two spaces after the longest window (Europe/Amsterdam ones ran into their state: "Amsterdam closed").
    expect(new Set(states).size).toBe(1)
    expect(result.stdout).not.toMatch(/Europe\/Amsterdam closed/)
    // sql-failover declares no expectedDuration and has no past runs: the guard checks only its start.
    const failover = lines.find((l) => l.includes('sql-failover --target payments-sql'))
    expect(failover).toContain('duration unknown (no expectedDuration in the runbook and no past runs): only the start is checked')
    expect(failover).not.toContain('takes duration unknown')
  }, 60_000)
})
