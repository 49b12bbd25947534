import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {registerActions} from '../../src/actions/registry.js'
import {defineAction} from '../../src/actions/types.js'
import {ExitCode, ValidationError, formatProblem, type Problem} from '../../src/errors.js'
import {loadRunbookFile, parseRunbook} from '../../src/runbooks/loader.js'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/runbooks/${name}`, import.meta.url))

// A stand-in for the Azure actions that land later: a restore with typed inputs and outputs.
registerActions([
  defineAction({
    name: 'test.restore',
    summary: 'restore (test)',
    input: z.strictObject({server: z.string(), pointInTime: z.string().optional(), copies: z.number().int().default(1)}),
    output: z.strictObject({server: z.string(), restoredAt: z.string()}),
    changes: true,
    permissions: [],
    async run(input) {
      return {server: `${input.server}-restored`, restoredAt: new Date(0).toISOString()}
    },
  }),
])

function problemsOf(run: () => unknown): Problem[] {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).exitCode).toBe(ExitCode.invalidInput)
    return (error as ValidationError).problems
  }
  throw new Error('expected a ValidationError')
}

const where = (problem: Problem) => `${problem.location?.line}:${problem.location?.column}`

describe('loadRunbookFile', () => {
  // Expression problems point at the `${{` of the offending expression, not just the start of the YAML string.
  it('reports a cycle, an unknown action, a misspelt input and a bad expression at once, each with file:line:col', () => {
    const file = fixture('four-errors.yaml')
    const problems = problemsOf(() => loadRunbookFile(file))
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['cycle', '11:12'],
      ['unknown-action', '15:11'],
      ['unknown-input', '21:7'],
      ['bad-expression', '26:17'],
    ])
    for (const problem of problems) expect(problem.location?.file).toBe(file)
    expect(problems[0]!.message).toBe('dependency cycle: prepare → verify → prepare')
    expect(problems[1]!.message).toContain('unknown action "postgres.restroe"')
    expect(problems[2]!.message).toContain('core.wait has no input "duraton" (did you mean "duration"?')
    expect(problems[3]!.message).toContain('params.server ==')
    // The CLI prints the error message: every line names its place.
    const message = (() => {
      try {
        loadRunbookFile(file)
      } catch (error) {
        return (error as Error).message
      }
    })()
    expect(message).toContain(`${file}:15:11: unknown action "postgres.restroe"`)
  })

  it('loads a valid runbook into the model: durations in ms, needs as lists, finally ids, sha256 of the text', () => {
    const file = fixture('valid.yaml')
    const runbook = loadRunbookFile(file)
    expect(runbook.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
    expect(runbook.source).toBe(file)
    expect(runbook.disruptive).toBe(true)
    expect(runbook.params.server).toEqual({type: 'target', component: 'postgres', required: true})
    expect(runbook.params.minutes).toEqual({type: 'integer', default: 15, min: 1, max: 60, required: false})
    const [restore, verify] = runbook.steps
    expect(restore).toMatchObject({id: 'restore', needs: [], timeoutMs: 3_600_000, retry: {attempts: 3, backoffMs: 10_000}, continueOnError: false})
    expect(restore!.rollback).toEqual({uses: 'core.log', with: {message: 'undo ${{ steps.restore.outputs.server }}'}})
    expect(restore!.location).toEqual({file, line: 16, column: 5})
    expect(verify).toMatchObject({id: 'verify', needs: ['restore'], if: "${{ params.minutes > 5 }}", continueOnError: true})
    expect(runbook.finally.map((s) => s.id)).toEqual(['finally-1', 'report'])
    expect(runbook.outputs).toEqual({restored: '${{ steps.restore.outputs.server }}'})
  })

  it('reports a file it cannot read as invalid input', () => {
    const problems = problemsOf(() => loadRunbookFile(fixture('does-not-exist.yaml')))
    expect(problems[0]!.code).toBe('runbook-not-found')
  })
})

describe('parseRunbook', () => {
  const header = 'name: t\ntitle: T\nkind: incident\n'

  it('reports YAML syntax errors and duplicate keys with positions', () => {
    const syntax = problemsOf(() => parseRunbook('s.yaml', `${header}steps: [\n`))
    expect(syntax[0]!.code).toBe('yaml-syntax')
    expect(syntax[0]!.location?.file).toBe('s.yaml')
    const duplicate = problemsOf(() => parseRunbook('d.yaml', `${header}title: again\nsteps:\n  - {id: a, uses: core.log, with: {message: hi}}\n`))
    expect(duplicate.map((p) => [p.code, where(p)])).toEqual([['duplicate-key', '4:1']])
  })

  it('reports unknown fields at the key, with a suggestion, alongside problems elsewhere', () => {
    const problems = problemsOf(() =>
      parseRunbook('u.yaml', `${header}steps:\n  - id: a\n    uses: core.log\n    timout: PT1M\n    with: {message: hi}\n  - id: b\n    uses: core.nope\n`),
    )
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['unknown-field', '7:5'],
      ['unknown-action', '10:11'],
    ])
    expect(problems[0]!.message).toContain('did you mean "timeout"?')
  })

  it('reports schema violations: names, kinds, durations, retry', () => {
    const problems = problemsOf(() =>
      parseRunbook('v.yaml', `name: Not Kebab\ntitle: T\nkind: party\nsteps:\n  - id: a\n    uses: core.log\n    timeout: 10 minutes\n    retry: {attempts: 0}\n    with: {message: hi}\n`),
    )
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['invalid-value', '1:7'],
      ['invalid-value', '3:7'],
      ['invalid-value', '7:14'],
      ['invalid-value', '8:23'],
    ])
    // A misspelt kind names the closest one, as a misspelt action or input does (it was zod's bare "Invalid option").
    const kind = problemsOf(() => parseRunbook('k.yaml', `name: k\ntitle: T\nkind: incidnet\nsteps:\n  - {id: a, uses: core.log, with: {message: hi}}\n`))
    expect(kind.map((p) => p.message)).toEqual(['kind: "incidnet" is not one of "incident", "drill", "maintenance", "checklist" (did you mean "incident"?)'])
  })

  it('checks inputs against the action schema: missing required inputs and literal types, not expressions', () => {
    const problems = problemsOf(() =>
      parseRunbook(
        'i.yaml',
        `${header}steps:\n  - id: a\n    uses: test.restore\n    with: {copies: two}\n  - id: b\n    uses: test.restore\n    with: {server: x, copies: "\${{ 1 + 1 }}"}\n`,
      ),
    )
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['missing-input', '7:11'],
      ['invalid-input', '7:20'],
      ['bad-expression', '10:32'],
    ])
    expect(problems[1]!.message).toMatch(/input copies of test\.restore: .*number/)
    expect(problems[0]!.message).toBe('test.restore needs input "server"')
  })

  it('accepts an expression where the input schema wants a number', () => {
    const runbook = parseRunbook('e.yaml', `${header}params:\n  n: {type: integer, default: 2}\nsteps:\n  - id: a\n    uses: test.restore\n    with: {server: x, copies: "\${{ params.n }}"}\n`)
    expect(runbook.steps[0]!.with).toEqual({server: 'x', copies: '${{ params.n }}'})
  })

  it('reports unknown steps in needs, duplicate ids, unknown params, steps and outputs in references', () => {
    const text = `${header}params:
  server: {type: string}
steps:
  - id: restore
    uses: test.restore
    with: {server: "\${{ params.nope }}"}
  - id: verify
    uses: core.log
    needs: [restor]
    with:
      message: "\${{ steps.restor.outputs.server }} \${{ steps.restore.outputs.sever }} \${{ run.user }}"
  - id: restore
    uses: core.log
    with: {message: "\${{ foo.bar }}"}
`
    const problems = problemsOf(() => parseRunbook('r.yaml', text))
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['unknown-param', '9:21'],
      ['unknown-step', '12:13'],
      ['unknown-step', '14:17'],
      ['unknown-output', '14:52'],
      ['unknown-reference', '14:87'],
      ['duplicate-step', '15:9'],
      ['bad-expression', '17:22'],
    ])
    const messages = problems.map((p) => p.message)
    expect(messages[1]).toContain('"restor", which is not a step (did you mean "restore"?')
    expect(messages[2]).toContain('steps.restor.outputs.server: no step "restor" (did you mean "restore"?')
    expect(messages[3]).toContain('test.restore has no output "sever" (did you mean "server"?')
    expect(messages[6]).toContain('unknown context "foo"')
  })

  it('requires a dependency, direct or transitive, to read another step', () => {
    const text = `${header}steps:
  - id: restore
    uses: test.restore
    with: {server: a}
  - id: wait
    uses: core.wait
    needs: restore
    with: {duration: PT0S}
  - id: verify
    uses: core.log
    needs: [wait]
    with: {message: "\${{ steps.restore.outputs.server }}"}
  - id: race
    uses: core.log
    if: \${{ steps.verify.status == 'succeeded' }}
    with: {message: "\${{ steps.race.outputs.x }}"}
finally:
  - uses: core.log
    with: {message: "\${{ steps.verify.status }}"}
outputs:
  server: \${{ steps.restore.outputs.server }}
`
    const problems = problemsOf(() => parseRunbook('d.yaml', text))
    expect(problems.map((p) => [p.code, where(p)])).toEqual([
      ['missing-dependency', '18:9'],
      ['self-reference', '19:22'],
    ])
    expect(problems[0]!.message).toContain('step "race" reads step "verify" but does not depend on it; add needs: [verify]')
  })

  it('lets a rollback read its own step and finally steps read any step', () => {
    const runbook = parseRunbook(
      'ok.yaml',
      `${header}steps:\n  - id: restore\n    uses: test.restore\n    with: {server: a}\n    rollback: {uses: core.log, with: {message: "\${{ steps.restore.outputs.server }}"}}\nfinally:\n  - {id: tidy, uses: core.log, if: "failure()", with: {message: "\${{ steps.restore.status }}"}}\n`,
    )
    expect(runbook.finally[0]).toMatchObject({id: 'tidy', if: 'failure()'})
  })

  it('records the given source and the sha256 of the text', () => {
    const text = `${header}steps:\n  - {id: a, uses: core.log, with: {message: hi}}\n`
    const runbook = parseRunbook('/x/a.yaml', text, 'builtin:t')
    expect(runbook.source).toBe('builtin:t')
    expect(runbook.sha256).toBe(createHash('sha256').update(text).digest('hex'))
  })
})

describe('problem formatting', () => {
  it('formats as file:line:col: message', () => {
    const problems = problemsOf(() => parseRunbook('f.yaml', 'name: f\ntitle: F\nkind: drill\nsteps:\n  - {id: a, uses: nope.nope}\n'))
    expect(formatProblem(problems[0]!)).toMatch(/^f\.yaml:5:19: unknown action "nope\.nope"/)
  })
})
