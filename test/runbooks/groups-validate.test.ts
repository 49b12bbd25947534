/** Validation of groups and runbook calls: every problem positioned at file:line:col, through the real loader. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ValidationError} from '../../src/errors.js'
import {loadRunbookFile} from '../../src/runbooks/loader.js'

const dir = mkdtempSync(join(tmpdir(), 'opsbook-groups-validate-'))
function write(name: string, text: string): string {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, text)
  return file
}
function problems(file: string): Array<[string, number | undefined, number | undefined, string]> {
  try {
    loadRunbookFile(file)
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    return error.problems.map((p) => [p.code, p.location?.line, p.location?.column, p.message])
  }
  return []
}

write(
  'callee',
  `name: callee
title: Callee
kind: incident
params:
  server: {type: string}
  mode: {type: enum, values: [fast, safe], default: safe}
steps:
  - {id: go, uses: core.log, with: {message: "\${{ params.server }}"}}
outputs:
  done: yes
`,
)

describe('validating groups', () => {
  it('checks inner steps in the group scope: siblings by needs, outer steps through the group, item only in forEach', () => {
    const file = write(
      'group-scope',
      `name: group-scope
title: Group scope
kind: checklist
steps:
  - {id: outer, uses: core.log, with: {message: hi}}
  - id: grp
    needs: [outer]
    steps:
      - {id: a, uses: core.log, with: {message: "\${{ steps.outer.status }}"}}
      - {id: b, uses: core.log, with: {message: "\${{ steps.a.status }}"}}
      - {id: c, uses: core.log, needs: [outer], with: {message: "\${{ item.key }}"}}
      - {id: d, uses: core.log, with: {message: hi}, steps: [{id: x, uses: core.log, with: {message: x}}]}
    outputs:
      fine: \${{ steps.b.outputs }}
`,
    )
    expect(problems(file)).toEqual([
      ['missing-dependency', 10, 50, 'steps.a.status: step "b" reads step "a" but does not depend on it; add needs: [a]'],
      ['unknown-step', 11, 41, 'step "c" needs "outer", which is not a step; a step of a group needs only steps of its group (put outside needs on the group) (known: a, b, c, d)'],
      ['invalid-reference', 11, 66, 'item.key: item is only set in a step with forEach'],
      ['invalid-group', 12, 54, 'step "d" has both uses: and steps:; a step either runs an action or holds a group'],
    ])
  })

  it('rejects a step with neither uses nor steps', () => {
    const file = write('empty-step', `name: empty-step\ntitle: E\nkind: checklist\nsteps:\n  - id: nothing\n    name: does nothing\n`)
    expect(problems(file)).toEqual([['missing-uses', 5, 5, 'step "nothing" needs either uses: (an action or runbook:<name>) or steps: (a group)']])
  })
})

describe('validating group fields', () => {
  it('rejects retry on a group (it applies to actions) and finally/outputs on a plain step', () => {
    const file = write(
      'group-fields',
      `name: group-fields\ntitle: G\nkind: checklist\nsteps:\n  - id: grp\n    retry: {attempts: 2}\n    steps: [{id: a, uses: core.log, with: {message: a}}]\n  - id: plain\n    uses: core.log\n    with: {message: b}\n    outputs: {x: y}\n`,
    )
    expect(problems(file)).toEqual([
      ['invalid-group', 6, 5, 'step "grp": retry applies to an action; put it on the steps inside'],
      ['invalid-group', 11, 5, 'step "plain": finally: and outputs: belong to a group (a step with steps:)'],
    ])
  })
})

describe('validating runbook calls', () => {
  it('checks with: against the callee params: unknown names, literal types and required params', () => {
    const file = write(
      'bad-call',
      `name: bad-call
title: Bad call
kind: incident
steps:
  - id: one
    uses: runbook:callee
    with:
      sever: db
      mode: quick
`,
    )
    expect(problems(file)).toEqual([
      ['unknown-param', 8, 7, 'runbook callee has no param "sever" (did you mean "server"? params: server, mode)'],
      ['missing-param', 8, 7, 'runbook callee needs param "server" (string)'],
      ['invalid-param', 9, 13, 'runbook callee: param mode: expected one of fast, safe, got "quick"'],
    ])
  })

  it('rejects a runbook that cannot be found, and a cycle of calls, at the uses: of the call', () => {
    write('ping', `name: ping\ntitle: P\nkind: checklist\nsteps:\n  - {id: call, uses: "runbook:pong"}\n`)
    write('pong', `name: pong\ntitle: P\nkind: checklist\nsteps:\n  - {id: call, uses: "runbook:ping"}\n`)
    const missing = write('missing-call', `name: missing-call\ntitle: M\nkind: checklist\nsteps:\n  - {id: call, uses: "runbook:nowhere"}\n`)
    expect(problems(missing)).toEqual([['invalid-call', 5, 22, expect.stringContaining('runbook "nowhere" not found')]])
    const cycle = problems(join(dir, 'ping.yaml'))
    expect(cycle).toHaveLength(1)
    expect(cycle[0]!.slice(0, 3)).toEqual(['call-cycle', 5, 22])
    expect(cycle[0]![3]).toContain('runbook call cycle: ping.yaml → pong.yaml → ping.yaml')
  })

  it('accepts a call of a built-in runbook by name with its params', () => {
    const file = write('call-builtin', `name: call-builtin\ntitle: C\nkind: checklist\nsteps:\n  - {id: hi, uses: "runbook:hello", with: {}}\n`)
    const found = problems(file)
    // hello's params decide what is required; whatever it needs is named, positioned at with:.
    for (const problem of found) expect(problem[0]).toBe('missing-param')
  })
})

describe('the JSON Schema editors use', () => {
  it('describes groups (recursive steps, finally, outputs) and runbook calls', async () => {
    const {runbookJsonSchema} = await import('../../src/runbooks/schema.js')
    const schema = runbookJsonSchema() as {properties: {steps: {items: {$ref: string}}}; $defs: Record<string, {properties: Record<string, {description?: string; items?: {$ref: string}}>}>}
    expect(schema.properties.steps.items.$ref).toBe('#/$defs/step')
    const step = schema.$defs.step!.properties
    expect(step.steps!.items!.$ref).toBe('#/$defs/step')
    expect(Object.keys(step)).toEqual(expect.arrayContaining(['finally', 'outputs', 'forEach', 'continueOnError']))
    expect(step.uses!.description).toContain('runbook:<name-or-path>')
  })
})
