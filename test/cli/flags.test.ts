/** `run`/`plan --help` name every form `--component` takes: the README's CI recipe uses `--component window:<name>`. */
import {describe, expect, it} from 'vitest'
import {runCliInProcess} from '../helpers/cli.js'

describe('--component help', () => {
  it('plan and run --help mention window:<name>', async () => {
    for (const command of ['plan', 'run']) {
      const result = await runCliInProcess([command, '--help'])
      expect(result.code).toBe(0)
      expect(result.stdout.replaceAll(/\s+/g, ' ')).toContain('window:<name> for every component naming that maintenance window')
      // A repeatable flag's empty default list is not shown as "[default: ]".
      expect(result.stdout).not.toContain('[default: ]')
    }
  }, 60_000)
})
