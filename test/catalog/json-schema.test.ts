import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import {catalogJsonSchema} from '../../src/catalog/json-schema.js'
import {runbookJsonSchema} from '../../src/runbooks/schema.js'

const root = join(import.meta.dirname, '..', '..')

describe('JSON Schemas for editors', () => {
  it('schema/*.schema.json are current with the zod schemas (run `npm run build && npm run schema`)', () => {
    expect(JSON.parse(readFileSync(join(root, 'schema/catalog.schema.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(catalogJsonSchema())))
    expect(JSON.parse(readFileSync(join(root, 'schema/runbook.schema.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(runbookJsonSchema())))
  })

  it('the example catalog validates against the catalog schema, and a typo is caught', () => {
    // `code.optimize: false` (as test/contract/specs.ts): how the validator is written, not what it accepts
    // (https://ajv.js.org/options.html#code); 0.42 → 0.30 s of CPU for this compile.
    const ajv = new Ajv2020({strict: false, allErrors: true, code: {optimize: false}})
    const validate = ajv.compile(catalogJsonSchema())
    const catalog = parse(readFileSync(join(root, 'runbooks.yaml'), 'utf8'))
    expect(validate(catalog), JSON.stringify(validate.errors)).toBe(true)
    catalog.environments.local.cloud = 'emulatr'
    expect(validate(catalog)).toBe(false)
  })
})
