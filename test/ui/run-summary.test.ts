/**
 * The end-of-run summary on a terminal or in a CI log. A warning is printed once, live on stderr the moment it arises;
 * the summary counts the warnings and says where they are instead of printing each again (it used to, and the plain
 * reporter printed journaled ones a third time).
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {printRunSummary} from '../../src/ui/run-summary.js'
import {runCliInProcess} from '../helpers/cli.js'

const occurrences = (text: string, part: string) => text.split(part).length - 1

function rendered(warnings: string[]): string {
  const out = new PassThrough()
  let text = ''
  out.on('data', (d) => (text += d))
  printRunSummary({runId: 'r1', runbook: 'hello', environment: 'local', status: 'succeeded', exitCode: 0, durationMs: 1200, journal: '/j', outputs: {}, warnings, overrides: [], leftBehind: [], steps: []} as never, out)
  return text
}

describe('run summary', () => {
  it('counts the warnings and points to them instead of repeating each', () => {
    const two = rendered(['evidence container unavailable (timeout)', 'could not take target leases (timeout)'])
    expect(two).toContain('⚠ 2 warnings during the run, printed above as they arose (lines starting "warning:")')
    expect(two).not.toContain('evidence container unavailable')
    expect(rendered(['x'])).toContain('⚠ 1 warning during the run, printed above as it arose')
    expect(rendered([])).not.toContain('warning')
  })

  it('a run with a warning shows it exactly once across stdout and stderr, and the summary counts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-warn-'))
    // An emulator environment with nothing in it and a notification whose webhook URL cannot be resolved: a warning
    // that is both printed live and journaled.
    writeFileSync(
      join(dir, 'runbooks.yaml'),
      `version: 1
environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-00000000c0de
    region: eastus
    production: false
    resourceGroups: [rg-warn]
    notifications:
      - { kind: webhook, url: { env: OPSBOOK_TEST_UNSET_HOOK }, on: [start, success] }
    components: {}
`,
    )
    const run = await runCliInProcess(['run', 'hello', '--env', 'local', '--param', 'pause=PT0S'], {cwd: dir, env: {OPSBOOK_TEST_UNSET_HOOK: undefined}})
    expect(run.code, run.stderr).toBe(0)
    const all = run.stdout + run.stderr
    const warning = 'notification (webhook) skipped: its webhook URL (OPSBOOK_TEST_UNSET_HOOK) could not be resolved'
    expect(occurrences(all, warning)).toBe(1)
    expect(run.stderr).toContain(`warning: ${warning}`)
    expect(run.stdout).toContain('⚠ 1 warning during the run, printed above as it arose')
    // still journaled, for the evidence
    const journal = /journal (\S+journal\.jsonl)/.exec(run.stdout)![1]!
    expect(occurrences(readFileSync(journal, 'utf8'), warning)).toBe(1)
  }, 60_000)
})

describe('run summary of an interrupted run started with --override-window', () => {
  it('prints the resume command without a secret-looking reason', () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => (text += d))
    const overrides = [{kind: 'maintenance-window', detail: 'web outside its window', reason: 'INC-7 rotate AccountKey=c2VjcmV0LWtleS12YWx1ZQ==', by: 'ann', at: '2026-12-03T10:00:00Z'}]
    printRunSummary({runId: 'r9', runbook: 'slot-swap', environment: 'prod', status: 'interrupted', exitCode: 130, durationMs: 1200, journal: '/j', outputs: {}, warnings: [], overrides, leftBehind: [], steps: []} as never, out)
    expect(text).toContain("continue with: opsbook resume r9 --override-window --reason 'INC-7 rotate AccountKey=[REDACTED]'")
    expect(text).not.toContain('c2VjcmV0')
  })
})
