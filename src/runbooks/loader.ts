/**
 * Reading a runbook file into the model the engine runs. Every problem (YAML syntax, duplicate keys, unknown
 * fields, schema, actions and inputs, needs and cycles, expressions and references) comes back at once in one
 * ValidationError (exit 2), each with file:line:col.
 */
import {createHash} from 'node:crypto'
import {ValidationError} from '../errors.js'
import {parseYamlSource, readSourceFile} from '../support/yaml-source.js'
import type {Runbook} from './model.js'
import {toRunbookModel} from './schema.js'
import {registryLookup, validateRunbookSource, type ActionLookup} from './validate.js'

/** Read and validate the runbook at `path`. Throws ValidationError (exit 2) listing every problem. */
export function loadRunbookFile(path: string, options: {source?: string; actions?: ActionLookup} = {}): Runbook {
  const read = readSourceFile(path, 'runbook')
  if ('problem' in read) throw new ValidationError([read.problem])
  return parseRunbook(path, read.text, options.source, options.actions)
}

/**
 * Validate runbook `text` (from `file`, used in locations) and build its model. `source` is recorded as
 * Runbook.source (default: `file`; built-ins pass `builtin:<name>`).
 */
export function parseRunbook(file: string, text: string, source?: string, actions: ActionLookup = registryLookup): Runbook {
  const yaml = parseYamlSource(file, text)
  const {input, problems} = validateRunbookSource(yaml, actions)
  if (problems.length > 0 || !input) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    throw new ValidationError(problems, `runbook ${file} is invalid (${count}):`)
  }
  return toRunbookModel(input, {
    source: source ?? file,
    sha256: createHash('sha256').update(text).digest('hex'),
    locate: (path) => yaml.locate(path),
  })
}
