/**
 * Turning `--param k=v` strings into typed param values, with defaults applied. Every problem is collected into
 * one ValidationError (exit 2) naming the param and what was expected. Missing required params are returned,
 * not prompted for: prompting is the CLI's job (on a TTY), and off a TTY a missing param is an error there.
 */
import type {Environment} from '../catalog/schema.js'
import {ValidationError, type Problem} from '../errors.js'
import {isDuration} from '../support/duration.js'
import {compileParamPattern} from '../support/pattern.js'
import {containsExpression, evaluateValue, type ExpressionContext} from './expressions.js'
import {targetAccepts, targetKinds, type ParamSpec, type Runbook} from './model.js'
import {closestName} from '../support/closest-name.js'
import {isSensitiveKey, MIN_SECRET_LENGTH} from '../evidence/redact.js'

export interface ResolvedParams {
  /** Typed values of the params that have one (given or defaulted). */
  values: Record<string, unknown>
  /** Required params with neither a given value nor a default, in declaration order. */
  missing: string[]
}

export interface ResolveOptions {
  /** Name of the environment, for messages and for `env.name` in default expressions. */
  environmentName?: string
  /** Context for expression defaults (`${{ subtractDuration(now(), 'PT15M') }}`); params and steps are empty there. */
  context?: Partial<ExpressionContext>
}

/**
 * Coerce `given` (raw strings) to the runbook's declared param types and apply defaults.
 * `environment` is needed to check `target` params (a component key of the declared type); without it they are
 * accepted as given. Throws ValidationError listing every invalid or unknown param.
 */
export function resolveParams(
  runbook: Pick<Runbook, 'name' | 'params'>,
  given: Record<string, string>,
  environment?: Environment,
  options: ResolveOptions = {},
): ResolvedParams {
  const problems: Problem[] = []
  const values: Record<string, unknown> = {}
  const missing: string[] = []
  const declared = Object.keys(runbook.params)
  for (const name of Object.keys(given)) {
    // Own keys only: `constructor` or `toString` are Object.prototype's, not declared params.
    if (Object.hasOwn(runbook.params, name)) continue
    const close = closestName(name, declared)
    problems.push({
      code: 'unknown-param',
      message: `unknown param "${name}" for runbook ${runbook.name}${close ? ` (did you mean "${close}"?)` : ''}; it takes: ${declared.join(', ') || 'no params'}`,
    })
  }
  for (const [name, spec] of Object.entries(runbook.params)) {
    const raw = given[name]
    if (raw !== undefined) {
      const result = coerceParam(name, spec, raw, environment)
      if ('error' in result) problems.push({code: 'invalid-param', message: result.error})
      else values[name] = result.value
      continue
    }
    if ('default' in spec && spec.default !== undefined) {
      const result = defaultValue(name, spec, environment, options)
      if ('error' in result) problems.push({code: 'invalid-param', message: result.error})
      else values[name] = result.value
      continue
    }
    if (spec.required) missing.push(name)
  }
  if (problems.length > 0) throw new ValidationError(problems, `invalid params for runbook ${runbook.name}:`)
  return {values, missing}
}

/**
 * Coerce one raw string to `spec`'s type. Also used by the CLI to validate prompted answers.
 * Returns the typed value, or an error message that names the param and what was expected.
 */
export function coerceParam(name: string, spec: ParamSpec, raw: string, environment?: Environment): {value: unknown} | {error: string} {
  const text = raw.trim()
  const fail = (expected: string) => ({error: `param ${name}: expected ${expected}, got "${spec.type === 'secret' ? '«redacted»' : raw}"`})
  switch (spec.type) {
    case 'string': {
      // A string param named like a secret (adminPassword, apiKey, sasToken) is redacted as one: a shorter value could
      // not be (a value computed from it reached a log line verbatim), so it is refused like a short secret param.
      if (raw.length > 0 && raw.length < MIN_SECRET_LENGTH && isSensitiveKey(name))
        return {error: `param "${name}" is named like a secret, so opsbook redacts it as one, and it must be at least ${MIN_SECRET_LENGTH} characters to be kept out of output, journal and evidence (a value that is no secret: give the param another name)`}
      if (spec.pattern !== undefined) {
        const compiled = compileParamPattern(spec.pattern)
        if ('error' in compiled || !compiled.pattern.matches(raw)) return fail(`a value matching ${spec.pattern}`)
      }
      return {value: raw}
    }
    case 'secret':
      // Shorter values cannot be redacted reliably (they would match ordinary text), so they are refused.
      if (raw.length < MIN_SECRET_LENGTH) return {error: `param "${name}" is a secret and must be at least ${MIN_SECRET_LENGTH} characters, so it can be kept out of output, journal and evidence`}
      return {value: raw}
    case 'integer': {
      if (!/^[+-]?\d+$/.test(text)) return fail('an integer')
      const value = Number(text)
      if (!Number.isSafeInteger(value)) return fail('an integer')
      if (spec.min !== undefined && value < spec.min) return fail(`an integer ≥ ${spec.min}`)
      if (spec.max !== undefined && value > spec.max) return fail(`an integer ≤ ${spec.max}`)
      return {value}
    }
    case 'boolean': {
      const lower = text.toLowerCase()
      if (['true', 'yes', 'y', '1', 'on'].includes(lower)) return {value: true}
      if (['false', 'no', 'n', '0', 'off'].includes(lower)) return {value: false}
      return fail('true or false')
    }
    case 'enum': {
      if (spec.values.includes(text)) return {value: text}
      const sameCase = spec.values.find((v) => v.toLowerCase() === text.toLowerCase())
      return fail(`one of ${spec.values.join(', ')}${sameCase ? ` (did you mean "${sameCase}"?)` : ''}`)
    }
    case 'datetime': {
      const iso = toUtcIso(text)
      return iso === undefined ? fail('an ISO-8601 date-time such as 2026-12-20T18:00:00Z (no offset means UTC), or "now"') : {value: iso}
    }
    case 'duration':
      return isDuration(text) ? {value: text.toUpperCase()} : fail('an ISO-8601 duration such as PT15M, PT1H or P1D')
    case 'target': {
      if (!environment) return {value: text}
      const candidates = Object.entries(environment.components)
        .filter(([, component]) => targetAccepts(spec, component.type))
        .map(([key]) => key)
      if (candidates.includes(text)) return {value: text}
      const other = environment.components[text]
      const why = other ? ` ("${text}" is a ${other.type} component)` : ''
      return fail(`a ${targetKinds(spec)} component of the environment: ${candidates.join(', ') || `none defined`}${why}`)
    }
  }
}

/** The `target` choices for a param: component keys of the declared type (for the CLI's select prompt). */
export function targetChoices(spec: ParamSpec, environment: Environment): string[] {
  if (spec.type !== 'target') return []
  return Object.entries(environment.components)
    .filter(([, component]) => targetAccepts(spec, component.type))
    .map(([key]) => key)
}

/**
 * An ISO-8601 date or date-time as a UTC ISO string. Without an offset the time is taken as UTC (runbooks talk
 * about servers, not the operator's desk). `now` is the current time.
 */
export function toUtcIso(text: string, now: () => Date = () => new Date()): string | undefined {
  const trimmed = text.trim()
  if (trimmed.toLowerCase() === 'now') return now().toISOString()
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(trimmed)
  if (!match) return undefined
  const [, date, time, zone] = match
  const normalized = `${date}T${time ?? '00:00:00'}${zone ? zone.toUpperCase() : 'Z'}`
  const ms = Date.parse(normalized)
  if (Number.isNaN(ms)) return undefined
  // Reject dates that Date.parse rolls over (2026-02-31).
  if (!zone || zone.toUpperCase() === 'Z') {
    if (new Date(ms).toISOString().slice(0, 10) !== date) return undefined
  }
  return new Date(ms).toISOString()
}

function defaultValue(name: string, spec: ParamSpec, environment: Environment | undefined, options: ResolveOptions): {value: unknown} | {error: string} {
  let value: unknown = 'default' in spec ? spec.default : undefined
  if (containsExpression(value)) {
    const context: ExpressionContext = {
      params: {},
      steps: {},
      env: {...(environment ?? {}), name: options.environmentName},
      catalog: {},
      run: {},
      ...options.context,
    }
    try {
      value = evaluateValue(value, context)
    } catch (error) {
      return {error: `param ${name}: its default could not be evaluated: ${(error as Error).message}`}
    }
  }
  // Defaults go through the same checks as given values, so a bad default is reported by name too.
  if (spec.type === 'integer' && typeof value === 'number') return coerceParam(name, spec, String(value), environment)
  if (spec.type === 'boolean' && typeof value === 'boolean') return {value}
  if (typeof value !== 'string') return {error: `param ${name}: its default ${JSON.stringify(value)} is not a ${spec.type}`}
  const result = coerceParam(name, spec, value, environment)
  if ('error' in result) return {error: `${result.error} (the default)`}
  return result
}
