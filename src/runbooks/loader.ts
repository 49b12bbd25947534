/**
 * Reading a runbook file into the model the engine runs. Every problem (YAML syntax, duplicate keys, unknown
 * fields, schema, actions and inputs, needs and cycles, expressions and references, runbook calls) comes back at
 * once in one ValidationError (exit 2), each with file:line:col.
 */
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {ValidationError} from '../errors.js'
import {parseYamlSource, readSourceFile} from '../support/yaml-source.js'
import {builtinRunbooksDir} from './package-paths.js'
import type {Runbook} from './model.js'
import {toRunbookModel} from './schema.js'
import {registryLookup, validateRunbookSource, type ActionLookup, type CallLookup} from './validate.js'

export interface LoadOptions {
  source?: string
  actions?: ActionLookup
  /** Files of the runbooks that (transitively) call this one: a call back into one of them is a cycle. */
  callers?: string[]
}

/** Read and validate the runbook at `path`. Throws ValidationError (exit 2) listing every problem. */
export function loadRunbookFile(path: string, options: LoadOptions = {}): Runbook {
  const read = readSourceFile(path, 'runbook')
  if ('problem' in read) throw new ValidationError([read.problem])
  return parseRunbook(path, read.text, options.source, options.actions, options.callers)
}

/**
 * Validate runbook `text` (from `file`, used in locations) and build its model. `source` is recorded as
 * Runbook.source (default: `file`; built-ins pass `builtin:<name>`).
 */
export function parseRunbook(file: string, text: string, source?: string, actions: ActionLookup = registryLookup, callers: string[] = []): Runbook {
  const yaml = parseYamlSource(file, text)
  const calls = callLookup(file, actions, callers)
  const {input, problems} = validateRunbookSource(yaml, actions, calls)
  if (problems.length > 0 || !input) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    throw new ValidationError(problems, `runbook ${file} is invalid (${count}):`)
  }
  return toRunbookModel(input, {
    source: source ?? file,
    sha256: createHash('sha256').update(text).digest('hex'),
    locate: (path) => yaml.locate(path),
    resolveCall: (reference) => {
      const found = calls.load(reference)
      if ('problem' in found) throw new ValidationError([{code: 'invalid-call', message: found.problem}])
      return found.runbook
    },
  })
}

/**
 * Where `uses: runbook:<ref>` looks, from the calling file: a path (relative to the caller's folder), else
 * `<ref>.yaml` beside the caller (a catalog's runbook folder calls its own runbooks), else a built-in runbook.
 */
export function resolveCallFile(reference: string, fromFile: string): {file: string; source: string} | undefined {
  const here = dirname(resolve(fromFile))
  if (/[\\/]/.test(reference) || /\.ya?ml$/i.test(reference)) {
    const file = resolve(here, reference)
    return existsSync(file) ? {file, source: file} : undefined
  }
  for (const file of [join(here, `${reference}.yaml`), join(here, `${reference}.yml`)]) {
    if (!existsSync(file)) continue
    return {file, source: here === resolve(builtinRunbooksDir()) ? `builtin:${reference}` : file}
  }
  const builtin = join(builtinRunbooksDir(), `${reference}.yaml`)
  return existsSync(builtin) ? {file: builtin, source: `builtin:${reference}`} : undefined
}

/** Loads (once each) the runbooks `file` calls, and reports calls that cannot be loaded or that form a cycle. */
function callLookup(file: string, actions: ActionLookup, callers: string[]): CallLookup {
  const chain = [...callers, resolve(file)]
  const cache = new Map<string, ReturnType<CallLookup['load']>>()
  const load = (reference: string): ReturnType<CallLookup['load']> => {
    const found = resolveCallFile(reference, file)
    if (!found) return {problem: `runbook "${reference}" not found (looked for a path relative to ${basename(file)}, ${reference}.yaml beside it, and a built-in runbook)`}
    if (chain.includes(found.file)) {
      const names = [...chain.slice(chain.indexOf(found.file)), found.file].map((f) => basename(f))
      return {problem: `runbook call cycle: ${names.join(' → ')}`}
    }
    try {
      return {runbook: loadRunbookFile(found.file, {source: found.source, actions, callers: chain})}
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      const first = error.problems[0]
      const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : ''
      return {problem: `runbook "${reference}" is invalid: ${where}${first?.message ?? error.message}${error.problems.length > 1 ? ` (and ${error.problems.length - 1} more)` : ''}`}
    }
  }
  return {
    load: (reference) => {
      if (!cache.has(reference)) cache.set(reference, load(reference))
      return cache.get(reference)!
    },
  }
}
