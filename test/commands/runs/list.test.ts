/** `opsbook runs list`: --limit below 1 would print "No runs yet" beside runs that exist; it is invalid input. */
import {cpSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot, runCliInProcess} from '../../helpers/cli.js'

describe('opsbook runs list --limit', () => {
  it('refuses a limit below 1 (exit 2) instead of saying there are no runs', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-runs-list-'))
    cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), cwd, {recursive: true})
    const run = await runCliInProcess(['run', 'hello', '--env', 'dev', '--param', 'pause=PT0.1S', '--json'], {cwd})
    expect(run.code, run.stderr).toBe(0)
    const listed = await runCliInProcess(['runs', 'list', '--limit', '1'], {cwd})
    expect(listed.stdout).toContain(JSON.parse(run.stdout).runId)
    // A header names the columns (it had none: an id, a word, an environment and a duration, unlabelled).
    expect(listed.stdout.split('\n')[0]).toMatch(/^RUN\s+STATUS\s+ENVIRONMENT\s+STARTED \(UTC\)\s+DURATION$/)
    for (const limit of ['0', '-1']) {
      const result = await runCliInProcess(['runs', 'list', '--limit', limit], {cwd})
      expect(result.code).toBe(2)
      expect(result.stdout).not.toContain('No runs yet')
      expect(result.stderr).toMatch(/--limit/)
    }
  }, 60_000)
})
