/**
 * The --json contract: every command prints exactly one JSON document on stdout, with the exit codes of DESIGN.md,
 * on success and on failure.
 */
import {cpSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot, runCli, runCliInProcess} from '../helpers/cli.js'

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-json-'))
  cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), dir, {recursive: true})
  return dir
}

const repoCatalog = ['--catalog', join(repoRoot, 'runbooks.yaml')]

describe('--json on every command', () => {
  it('--help lists the topics', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    for (const topic of ['catalog', 'runbooks', 'runs', 'evidence', 'window', 'emulator', 'run', 'plan', 'resume', 'check'])
      expect(result.stdout).toMatch(new RegExp(`\\n\\s+${topic}\\s`))
  })

  it('prints one parseable document with the documented exit code', async () => {
    const cwd = workspace()
    const first = await runCli(['run', 'hello', '--env', 'dev', '--param', 'pause=PT0.1S', '--json'], {cwd})
    expect(first.code).toBe(0)
    const runId = JSON.parse(first.stdout).runId as string
    const cases: Array<{args: string[]; code: number; check?: (doc: any) => void}> = [
      {args: ['catalog', 'validate', ...repoCatalog], code: 0, check: (d) => expect(d.status).toBe('valid')},
      {args: ['catalog', 'show', ...repoCatalog, '--env', 'local'], code: 0, check: (d) => expect(Object.keys(d.catalog.environments)).toEqual(['local'])},
      {args: ['runbooks', 'list'], code: 0, check: (d) => expect(d.runbooks.map((r: any) => r.name)).toContain('hello')},
      {args: ['runbooks', 'show', 'hello'], code: 0, check: (d) => expect(d.runbook.name).toBe('hello')},
      {args: ['runbooks', 'validate', './approval.yaml'], code: 0},
      {args: ['plan', 'hello', '--env', 'dev'], code: 0, check: (d) => expect(d.steps.map((s: any) => s.id)).toEqual(['greet', 'pause', 'finally-1'])},
      {args: ['runs', 'list'], code: 0, check: (d) => expect(d.runs[0].runId).toBe(runId)},
      {args: ['runs', 'show', runId], code: 0, check: (d) => expect(d.chain.ok).toBe(true)},
      {args: ['window', 'status', '--env', 'local', ...repoCatalog], code: 0, check: (d) => expect(d.components.length).toBeGreaterThan(0)},
      // failures keep their exit codes under --json
      {args: ['catalog', 'validate', '--catalog', 'missing.yaml'], code: 2, check: (d) => expect(d.error.code).toBe('invalid-input')},
      {args: ['run', 'hello'], code: 2},
      {args: ['run', 'no-such-runbook', '--env', 'dev'], code: 2, check: (d) => expect(d.error.message).toContain('hello')},
      {args: ['run', 'hello', '--env', 'nowhere'], code: 2, check: (d) => expect(d.error.message).toContain('unknown environment')},
      {args: ['runs', 'show', 'does-not-exist'], code: 2},
      {args: ['run', './failing.yaml', '--env', 'dev'], code: 1, check: (d) => expect(d.status).toBe('failed')},
      {args: ['run', './approval.yaml', '--env', 'dev'], code: 4},
    ]
    // The first run above is a real process; the contract cases run the same commands in-process (no start-up cost each).
    for (const c of cases) {
      const result = await runCliInProcess([...c.args, '--json'], {cwd})
      let doc: unknown
      expect(() => (doc = JSON.parse(result.stdout)), `opsbook ${c.args.join(' ')} --json stdout:\n${result.stdout}`).not.toThrow()
      expect(result.code, `opsbook ${c.args.join(' ')} --json → ${result.stdout}`).toBe(c.code)
      c.check?.(doc)
    }
  }, 240_000)

  it('reports a runbook with a cycle, an unknown action, a misspelt input and a bad expression: all four, positioned, exit 2', async () => {
    const fixture = join(repoRoot, 'test', 'fixtures', 'runbooks', 'four-errors.yaml')
    const result = await runCli(['runbooks', 'validate', fixture])
    expect(result.code).toBe(2)
    const lines = result.stderr.split('\n').filter((l) => l.includes('four-errors.yaml:'))
    expect(lines).toHaveLength(4)
    expect(result.stderr).toMatch(/four-errors\.yaml:\d+:\d+: .*cycle/)
    expect(result.stderr).toMatch(/four-errors\.yaml:\d+:\d+: .*unknown action/)
    expect(result.stderr).toMatch(/four-errors\.yaml:\d+:\d+: .*did you mean "duration"/)
    const json = await runCliInProcess(['runbooks', 'validate', fixture, '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error.problems).toHaveLength(4)
  })
})
