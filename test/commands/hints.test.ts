/** What a user hits at once: a misspelt command gets a suggestion; a runbook missing --target lists the valid ones. */
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

describe('hints', () => {
  it('a misspelt command suggests the closest one, keeping the rest as its arguments (exit 2)', async () => {
    const result = await runCli(['rn', 'dr-drill', '--env', 'local'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean: opsbook run dr-drill --env local')
  })

  it('plan of a runbook that needs --target lists the components it accepts (exit 2)', async () => {
    const result = await runCli(['plan', 'pg-pitr', '--env', 'local', '--param', 'restoreTime=2026-11-23T09:40:00Z'])
    expect(result.code).toBe(2)
    expect(result.stdout + result.stderr).toContain('pass --target <component>, one of: orders-db (pg-shop-orders)')
  })
})
