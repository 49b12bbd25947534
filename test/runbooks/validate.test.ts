import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {defineAction} from '../../src/actions/types.js'
import {parseYamlSource} from '../../src/support/yaml-source.js'
import {closestName, validateRunbookSource, type ActionLookup} from '../../src/runbooks/validate.js'

// A lookup with one action, independent of the global registry.
const only: ActionLookup = (() => {
  const action = defineAction({
    name: 'demo.echo',
    summary: 'echo',
    input: z.strictObject({text: z.string(), times: z.number().int().min(1).optional()}),
    output: z.strictObject({echoed: z.string()}),
    changes: false,
    permissions: [],
    async run(input) {
      return {echoed: input.text}
    },
  })
  return {find: (name) => (name === action.name ? action : undefined), names: () => [action.name]}
})()

const validate = (text: string) => validateRunbookSource(parseYamlSource('v.yaml', text), only)
const header = 'name: v\ntitle: V\nkind: checklist\n'

describe('validateRunbookSource', () => {
  it('uses the given action lookup', () => {
    const {problems, input} = validate(`${header}steps:\n  - {id: a, uses: demo.echo, with: {text: hi, times: 0}}\n  - {id: b, uses: core.log, with: {message: hi}}\n`)
    expect(input).toBeDefined()
    expect(problems.map((p) => p.code)).toEqual(['invalid-input', 'unknown-action'])
    expect(problems[1]!.message).toBe('unknown action "core.log" (known: demo.echo)')
  })

  it('points at the scalar when the expression is not on its first line', () => {
    const {problems} = validate(`${header}steps:\n  - id: a\n    uses: demo.echo\n    with:\n      text: >-\n        say \${{ params.nope }}\n`)
    expect(problems.map((p) => [p.code, p.location?.line, p.location?.column])).toEqual([['unknown-param', 8, 13]])
  })

  it('still checks steps when another part of the document breaks the schema', () => {
    const {problems, input} = validate(`${header}colour: red\nparams:\n  n: {type: integer, default: 99, max: 10}\nsteps:\n  - {id: a, uses: demo.echo, with: {text: "\${{ steps.b.outputs.echoed }}"}}\n  - {id: b, uses: demo.echo, needs: a, with: {text: x}}\n`)
    expect(input).toBeUndefined()
    expect(problems.map((p) => p.code)).toEqual(['unknown-field', 'invalid-value', 'missing-dependency'])
  })

  it('says a param field is not allowed for the param\'s type instead of suggesting the same name', () => {
    const {problems} = validate(`${header}params:\n  pw: {type: secret, description: x, pattern: '^[a-z]+$'}\nsteps:\n  - {id: a, uses: demo.echo, with: {text: hi}}\n`)
    expect(problems.map((p) => p.message)).toEqual(['unknown field "pattern" in params.pw: it is not allowed for this param\'s type'])
  })

  it('checks condition syntax and finally-step needs', () => {
    const {problems} = validate(`${header}steps:\n  - {id: a, uses: demo.echo, if: "x ==", with: {text: t}}\nfinally:\n  - {uses: demo.echo, needs: a, with: {text: t}}\n`)
    expect(problems.map((p) => p.code)).toEqual(['bad-expression', 'invalid-needs'])
  })
})

describe('closestName', () => {
  it('suggests only plausible typos', () => {
    expect(closestName('postgres.restroe', ['postgres.restore', 'postgres.delete'])).toBe('postgres.restore')
    expect(closestName('REDIS.export', ['redis.export'])).toBe('redis.export')
    expect(closestName('deploy', ['postgres.restore'])).toBeUndefined()
  })
})

describe('reserved names', () => {
  it('rejects params and step ids that would collide with object internals in expressions', () => {
    const {problems} = validate(`${header}params:\n  constructor: {type: string}\nsteps:\n  - {id: Constructor, uses: demo.echo, with: {text: t}}\n`)
    expect(problems.map((p) => [p.code, p.location?.line, p.location?.column])).toEqual([
      ['reserved-name', 5, 3],
      ['reserved-name', 7, 10],
    ])
  })
})
