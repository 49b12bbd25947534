#!/usr/bin/env node
// Writes schema/catalog.schema.json and schema/runbook.schema.json from the zod schemas (run after `npm run build`).
// Editors pick them up through the `# yaml-language-server: $schema=…` line at the top of each YAML file.
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {catalogJsonSchema} = await import(join(root, 'dist/catalog/json-schema.js'))
const {runbookJsonSchema} = await import(join(root, 'dist/runbooks/schema.js'))
writeFileSync(join(root, 'schema/catalog.schema.json'), `${JSON.stringify(catalogJsonSchema(), null, 2)}\n`)
writeFileSync(join(root, 'schema/runbook.schema.json'), `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`)
console.log('schema/catalog.schema.json, schema/runbook.schema.json written')
