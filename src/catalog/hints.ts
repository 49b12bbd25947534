/**
 * Typo help for catalog problems, the way runbook validation gives it: an unknown field names the closest field the
 * schema allows there (`helthPath` → `healthPath`), a value outside a list names the closest allowed one (`Sundy` →
 * `Sunday`, `keyvualt` → `keyvault`), and a field that is missing says so instead of "expected record, received
 * undefined". The fields allowed at a place are read from the zod schema itself, following the value's own `type`
 * through discriminated unions, so the hint is never a list kept by hand.
 */
import type {z} from 'zod'
import type {Problem} from '../errors.js'
import {closestName} from '../support/closest-name.js'
import {describePath, type PathSegment} from '../support/yaml-source.js'

type Issue = z.core.$ZodIssue
// The parts of zod's internal schema definitions walked here (zod 4: `def.type` names the kind).
interface Def {
  type: string
  shape?: Record<string, Schema>
  innerType?: Schema
  in?: Schema
  valueType?: Schema
  element?: Schema
  options?: Schema[]
  discriminator?: string
  values?: unknown[]
}
interface Schema {
  def: Def
}

/** A value short and plain enough to be a misspelt choice, and so safe to quote back. */
const ECHOABLE = /^[\w .+-]{1,32}$/

/** Issues with clearer messages for a missing field and a value that is not one of a list. */
export function hintIssues(issues: readonly Issue[], root: unknown): Issue[] {
  return issues.map((issue) => {
    const path = issue.path as PathSegment[]
    const value = valueAt(root, path)
    const field = path.at(-1)
    if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || (issue.code === 'invalid_union' && 'discriminator' in issue)) && typeof field === 'string') {
      const choices = listed(issue)
      return {...issue, message: `required field "${field}" is missing${choices ? ` (one of ${choices.map((c) => JSON.stringify(c)).join(', ')})` : ''}`}
    }
    const choices = listed(issue)
    if (choices && typeof value === 'string') {
      const close = closestName(value, choices.map(String))
      // A misspelt word is quoted back; anything else (a webhook URL or key pasted into the wrong field) is not: the
      // message is printed, and CI logs keep it.
      const shown = ECHOABLE.test(value) ? `"${value}"` : 'the value'
      return {...issue, message: `${shown} is not one of ${choices.map((c) => JSON.stringify(c)).join(', ')}${close ? ` (did you mean "${close}"?)` : ''}`}
    }
    return issue
  })
}

/** An unknown-field problem with the closest field allowed at its place, when one is close enough to be a typo. */
export function withFieldHint(problem: Problem, issues: readonly Issue[], schema: unknown, root: unknown): Problem {
  if (problem.code !== 'unknown-field') return problem
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue
    const path = issue.path as PathSegment[]
    for (const key of issue.keys) {
      if (problem.message !== `unknown field "${key}"${path.length > 0 ? ` in ${describePath(path)}` : ''}`) continue
      const allowed = fieldsAt(schema as Schema, root, path)
      const close = allowed ? closestName(key, allowed) : undefined
      return close ? {...problem, message: `${problem.message} (did you mean "${close}"?)`} : problem
    }
  }
  return problem
}

function listed(issue: Issue): unknown[] | undefined {
  if (issue.code === 'invalid_value') return issue.values as unknown[]
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray((issue as {options?: unknown}).options)) return (issue as unknown as {options: unknown[]}).options
  return undefined
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[segment as string]
  }
  return value
}

/** The field names the schema allows at `path` for this value (undefined where it is not an object). */
export function fieldsAt(schema: Schema, root: unknown, path: readonly PathSegment[]): string[] | undefined {
  let current: Schema | undefined = schema
  let value = root
  for (const segment of path) {
    current = pick(unwrap(current), value)
    if (!current) return undefined
    const def: Def = current.def
    if (def.type === 'object') current = def.shape?.[segment as string]
    else if (def.type === 'record') current = def.valueType
    else if (def.type === 'array') current = def.element
    else return undefined
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment as string] : undefined
  }
  const at = pick(unwrap(current), value)
  return at?.def.type === 'object' ? Object.keys(at.def.shape ?? {}) : undefined
}

function unwrap(schema: Schema | undefined): Schema | undefined {
  let current = schema
  for (let depth = 0; current && depth < 20; depth++) {
    const def: Def = current.def
    if (def.innerType) current = def.innerType
    else if (def.type === 'pipe' && def.in) current = def.in
    else return current
  }
  return current
}

/** Of a union, the option this value is meant for: by its discriminator, else the object sharing most of its keys. */
function pick(schema: Schema | undefined, value: unknown): Schema | undefined {
  if (!schema || schema.def.type !== 'union') return schema
  const options = (schema.def.options ?? []).map(unwrap).filter((o): o is Schema => Boolean(o))
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  const discriminator = schema.def.discriminator
  if (discriminator) {
    const match = options.find((o) => {
      const literal = unwrap(o.def.shape?.[discriminator])
      return literal?.def.values?.includes(record[discriminator])
    })
    if (match) return match
  }
  const objects = options.filter((o) => o.def.type === 'object')
  const score = (o: Schema) => Object.keys(record).filter((k) => k in (o.def.shape ?? {})).length
  return objects.sort((a, b) => score(b) - score(a))[0]
}
