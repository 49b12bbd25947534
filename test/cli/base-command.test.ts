/**
 * The --json error document is one shape for every invalid input: a CI step that branches on `error.code` sees
 * `invalid-input` for a missing or misspelt flag exactly as for a bad param, with `exitCode` and `suggestions`.
 */
import {describe, expect, it} from 'vitest'
import {runCliInProcess} from '../helpers/cli.js'

describe('--json error document', () => {
  it('flag errors (missing --env, unknown flag, a non-integer) are invalid-input like any other exit 2', async () => {
    for (const args of [['run', 'hello'], ['run', 'hello', '--env', 'dev', '--bogus'], ['runs', 'list', '--limit', 'abc'], ['window', 'status', '--env', 'local', '--at', 'tomorrow']]) {
      const result = await runCliInProcess([...args, '--json'])
      expect(result.code, args.join(' ')).toBe(2)
      const doc = JSON.parse(result.stdout)
      expect(doc, args.join(' ')).toMatchObject({status: 'error', exitCode: 2, error: {code: 'invalid-input', exitCode: 2}})
      expect(doc.error.message.length).toBeGreaterThan(0)
      // Which help: the command's own, by name (oclif's "See more help with --help" is not kept in the message).
      expect(doc.error.message).not.toContain('See more help')
      expect(doc.error.suggestions.at(-1), args.join(' ')).toBe(`\`opsbook ${args[0] === 'runs' || args[0] === 'window' ? `${args[0]} ${args[1]}` : args[0]} --help\` lists its flags`)
    }
  }, 60_000)
})

describe('flag errors on a terminal', () => {
  it('say "Invalid input:" like every other exit 2, in opsbook\'s words, with the flag a typo meant', async () => {
    const cases: Array<[string[], RegExp, RegExp]> = [
      [['run', 'hello', '--envv', 'dev'], /^Invalid input: Nonexistent flag: --envv$/m, /^Try: --env instead of --envv; `opsbook run --help` lists its flags$/m],
      [['plan', 'hello'], /^Invalid input: missing required flag --env$/m, /^Try: `opsbook plan --help` lists its flags$/m],
      [['runs', 'list', '--limit', 'abc'], /^Invalid input: --limit: Expected an integer but received: abc$/m, /^Try: `opsbook runs list --help` lists its flags$/m],
    ]
    for (const [args, first, hint] of cases) {
      const result = await runCliInProcess(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(first)
      expect(result.stderr, args.join(' ')).toMatch(hint)
      expect(result.stderr).not.toMatch(/^Error:|The following error|See more help/m)
    }
    // The --json document carries the same suggestion.
    expect(JSON.parse((await runCliInProcess(['run', 'hello', '--envv', 'dev', '--json'])).stdout).error.suggestions[0]).toBe('--env instead of --envv')
  }, 60_000)
})
