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
      expect(doc, args.join(' ')).toMatchObject({status: 'error', exitCode: 2, error: {code: 'invalid-input', exitCode: 2, suggestions: []}})
      expect(doc.error.message.length).toBeGreaterThan(0)
    }
  }, 60_000)
})
