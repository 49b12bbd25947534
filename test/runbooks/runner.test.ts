/**
 * runRunbook's checks before a resume continues a run: the params it would continue with must be the ones the run's
 * journal says it started with (issue 16, adversarial pass: an edited request.json pointed the rest of a killed
 * redis-export at another cache; the resume exported that one, left the first export in flight, and verified).
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCliInProcess, scratchDir} from '../helpers/cli.js'
import {emptyEmulatorProject} from '../helpers/project.js'

describe('resume: params against the journal', () => {
  it('refuses to continue a run with other params than it started with (an edited request.json or --param), and continues it with its own', async () => {
    const cwd = emptyEmulatorProject('runner')
    const first = await runCliInProcess(['run', 'hello', '--env', 'local', '--param', 'who=alice', '--param', 'pause=PT0S'], {cwd})
    expect(first.code, first.stderr).toBe(0)
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const dir = join(cwd, '.opsbook', 'runs', runId)
    // The process died right after it started: the journal holds run.started, the seal and the rest never came.
    const journal = join(dir, 'journal.jsonl')
    writeFileSync(journal, `${readFileSync(journal, 'utf8').split('\n')[0]}\n`)
    const request = join(dir, 'request.json')
    const original = readFileSync(request, 'utf8')
    writeFileSync(request, original.replace('"who": "alice"', '"who": "mallory"'))

    const edited = await runCliInProcess(['resume', runId], {cwd})
    expect(edited.code).toBe(2)
    expect(edited.stderr).toContain(`param who: run ${runId} started with "alice" (its journal), but this resume would continue it with "mallory"`)
    const flag = await runCliInProcess(['resume', runId, '--param', 'who=mallory'], {cwd})
    expect(flag.code).toBe(2)
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1)

    writeFileSync(request, original)
    const resumed = await runCliInProcess(['resume', runId], {cwd})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain('Hello, alice')
  }, 120_000)
})

describe('resume: steps against the journal', () => {
  it('refuses to continue a --component run whose components were edited in request.json (a leg in flight would be dropped), and continues it with its own', async () => {
    // Issue 16: a dr-drill --component orders-db --component payments-db killed while orders-db's geo-restore ran;
    // request.json's components edited to payments-db only; the resume ended "succeeded" (exit 0) with orders-db's
    // scratch server still being restored, never torn down, and orders-db missing from the report.
    const cwd = scratchDir({
      'per-db.yaml': `name: per-db
title: One leg per database
kind: drill
steps:
  - id: leg
    forEach: {components: [postgres, sqldb]}
    uses: core.log
    with: {message: "leg \${{ item.key }}"}
`,
    })
    const first = await runCliInProcess(['run', './per-db.yaml', '--env', 'local', '--component', 'orders-db', '--component', 'payments-db'], {cwd})
    expect(first.code, first.stderr).toBe(0)
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const dir = join(cwd, '.opsbook', 'runs', runId)
    const journal = join(dir, 'journal.jsonl')
    writeFileSync(journal, `${readFileSync(journal, 'utf8').split('\n')[0]}\n`)
    const request = join(dir, 'request.json')
    const original = readFileSync(request, 'utf8')
    const edited = JSON.parse(original) as {components: string[]}
    expect(edited.components).toEqual(['orders-db', 'payments-db'])
    writeFileSync(request, JSON.stringify({...edited, components: ['orders-db']}))

    const refused = await runCliInProcess(['resume', runId], {cwd})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`run ${runId} started with other steps than this resume would run (its journal lists them); not in this resume: leg-payments-db.`)
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1)

    writeFileSync(request, original)
    const resumed = await runCliInProcess(['resume', runId], {cwd})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain('leg payments-db')
  }, 120_000)
})

describe('prepareRun: secrets in errors before the run', () => {
  it('never prints a secret param that a forEach expression yields, in run or plan, plain or --json', async () => {
    // Issue 16: `forEach: ${{ params.pw }}` printed `forEach yields "<the secret>", which is not a component` — the
    // error came before any run redactor knew the secret. Derived values (format, fromJSON) are followed too.
    const secret = 'Kx7Qp2VzLm9Wq4Rt'
    const windows = Array.from({length: secret.length - 3}, (_, i) => secret.slice(i, i + 4))
    for (const expression of ['params.pw', `fromJSON(format('["{0}-x"]', params.pw))`]) {
      const cwd = emptyEmulatorProject('secret-foreach')
      writeFileSync(
        join(cwd, 'leak.yaml'),
        `name: leak-foreach
title: forEach from a secret
kind: checklist
params:
  pw: {type: secret, description: planted}
steps:
  - id: leg
    forEach: \${{ ${expression} }}
    uses: core.log
    with: {message: hi}
`,
      )
      for (const argv of [['run', './leak.yaml', '--env', 'local', '--yes'], ['plan', './leak.yaml', '--env', 'local']]) {
        for (const json of [[], ['--json']]) {
          const result = await runCliInProcess([...argv, ...json], {cwd, env: {OPSBOOK_PARAM_PW: secret}})
          expect(result.code).toBe(2)
          const output = result.stdout + result.stderr
          // Refused either as a forEach that yields no component or (review8) as a secret a value may not be parsed from.
          expect(output).toMatch(/forEach yields|holds a secret/)
          expect(windows.filter((w) => output.includes(w)), `${argv[0]} ${json.join('')} ${expression}: ${output}`).toEqual([])
        }
      }
    }
  }, 120_000)
})
