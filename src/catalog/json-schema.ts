/**
 * JSON Schema for editors, generated from the zod schemas (one source of truth). `npm run schema` writes
 * schema/catalog.schema.json and schema/runbook.schema.json; a test keeps the committed files current.
 */
import {z} from 'zod'
import {catalogSchema} from './schema.js'

/** JSON Schema (draft 2020-12) of the catalog, as editors consume it (input shape: defaults are optional). */
export function catalogJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(catalogSchema, {io: 'input', unrepresentable: 'any'}),
    $id: 'https://opsbook.dev/schema/catalog.schema.json',
    title: 'opsbook catalog (runbooks.yaml)',
  }
}
