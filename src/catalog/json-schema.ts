/**
 * JSON Schema for editors, generated from the zod schemas (one source of truth). `npm run schema` writes
 * schema/catalog.schema.json and schema/runbook.schema.json; a test keeps the committed files current.
 */
import {z} from 'zod'
import {catalogSchema} from './schema.js'

/** JSON Schema (draft 2020-12) of the catalog, as editors consume it (input shape: defaults are optional). */
export function catalogJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(catalogSchema, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>
  return {
    ...generated,
    // Top-level `x-…` keys are extension fields for YAML anchors (loader.ts drops them before validation).
    patternProperties: {'^x-': {description: 'Extension field, ignored by opsbook: a place for YAML anchors that components reuse, e.g. x-web: &web {...} then <<: *web'}},
    $id: 'https://opsbook.dev/schema/catalog.schema.json',
    title: 'opsbook catalog (runbooks.yaml)',
  }
}
