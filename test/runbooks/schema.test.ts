import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {runbookJsonSchema, runbookSchema, toRunbookModel} from '../../src/runbooks/schema.js'

const hello = fileURLToPath(new URL('../../src/runbooks/library/hello.yaml', import.meta.url))

describe('runbookSchema', () => {
  it('applies model defaults: required unless defaulted, disruptive false, ids for finally steps', () => {
    const input = runbookSchema.parse({
      name: 'x',
      title: 'X',
      kind: 'checklist',
      params: {a: {type: 'string'}, b: {type: 'string', default: 'b'}, c: {type: 'boolean', default: false, required: true}},
      steps: [{id: 's', uses: 'core.wait', with: {duration: 'PT1S'}, timeout: 'PT2M', retry: {attempts: 2}}],
      finally: [{uses: 'core.log'}, {uses: 'core.log'}],
    })
    const model = toRunbookModel(input, {source: 'x.yaml', sha256: 'abc'})
    expect(model.params).toEqual({a: {type: 'string', required: true}, b: {type: 'string', default: 'b', required: false}, c: {type: 'boolean', default: false, required: true}})
    expect(model.disruptive).toBe(false)
    expect(model.steps[0]).toEqual({id: 's', uses: 'core.wait', with: {duration: 'PT1S'}, needs: [], continueOnError: false, timeoutMs: 120_000, retry: {attempts: 2, backoffMs: 0}})
    expect(model.finally.map((s) => s.id)).toEqual(['finally-1', 'finally-2'])
  })

  it('rejects unknown fields, secret defaults and enum params without values', () => {
    const result = runbookSchema.safeParse({
      name: 'x',
      title: 'X',
      kind: 'checklist',
      colour: 'red',
      params: {s: {type: 'secret', default: 'hunter2'}, e: {type: 'enum'}},
      steps: [{id: 's', uses: 'core.log'}],
    })
    expect(result.success).toBe(false)
    const paths = result.error!.issues.map((i) => `${i.code}:${i.path.join('.')}`)
    expect(paths).toEqual(expect.arrayContaining(['unrecognized_keys:', 'unrecognized_keys:params.s', 'invalid_type:params.e.values']))
  })
})

describe('runbookJsonSchema', () => {
  it('is a JSON Schema editors can use, accepting the built-in runbook and rejecting unknown fields', () => {
    // `code.optimize: false` (as test/contract/specs.ts): how the validator is written, not what it accepts.
    const ajv = new Ajv2020({strict: false, code: {optimize: false}})
    const validate = ajv.compile(runbookJsonSchema())
    const document = parse(readFileSync(hello, 'utf8'))
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true)
    expect(validate({...document, colour: 'red'})).toBe(false)
    expect(validate({...document, steps: [{id: 'a', uses: 'core.log', timout: 'PT1M'}]})).toBe(false)
  })
})
