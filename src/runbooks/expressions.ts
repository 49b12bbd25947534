/**
 * `${{ }}` expressions, evaluated by GitHub's own parser and evaluator (@actions/expressions): no eval, no vm,
 * no Function constructor. This adapter splits templates, declares our contexts and helper functions, converts
 * between plain JS values and the library's data types, and lists references for the validator.
 *
 * Like GitHub Actions, context and property names are case-insensitive (`Params.Server` = `params.server`).
 */
import {data, Evaluator, Lexer, Parser, type Expr} from '@actions/expressions'
import {ContextAccess, FunctionCall, Grouping, IndexAccess, Literal, Logical, Binary, Star, Unary} from '@actions/expressions/ast'
import type {FunctionDefinition, FunctionInfo} from '@actions/expressions/funcs/info'
import {ExitCode, OpsbookError} from '../errors.js'
import {parseDuration, toIsoDuration as formatIsoDuration} from '../support/duration.js'
import {MIN_SECRET_LENGTH} from '../evidence/redact.js'

/** Values an expression can read. The engine builds one per evaluation. */
export interface ExpressionContext {
  params: Record<string, unknown>
  /** `error`: the message of a step that failed (e.g. one with continueOnError), absent otherwise. */
  steps: Record<string, {outputs: Record<string, unknown>; status: string; error?: string}>
  /** The catalog environment, plus `name`. */
  env: Record<string, unknown>
  catalog: Record<string, unknown>
  /** id, startedAt, runbook, environment, production. */
  run: Record<string, unknown>
  /** The component an expanded forEach step runs for: {key, name, type, resourceGroup, component}. */
  item?: Record<string, unknown>
  /** True once an earlier step failed: drives success()/failure() in `if:`. */
  failed?: boolean
  /** The clock behind now(); defaults to the system clock. */
  now?: () => Date
  /**
   * Secret tracking (the run's Redactor): when an expression reads a value that holds a secret, whatever it computes
   * from it — toJSON(toJSON(x)), format(), fromJSON(x).field, join() — is registered as a secret too. The value is
   * tainted, not its spelling, so no encoding or function leaks it.
   */
  taint?: TaintTracker
}

/** What expressions need from the redactor to follow a secret through their functions. */
export interface TaintTracker {
  holdsSecret(value: unknown): boolean
  /** `derived`: computed by an expression from a value that holds a secret (redacted, not itself a secret). */
  add(secret: string, options?: {derived?: boolean}): void
}

/** The contexts an expression may name. */
export const CONTEXT_NAMES = ['params', 'steps', 'env', 'catalog', 'run', 'item'] as const
export type ContextName = (typeof CONTEXT_NAMES)[number]

/** Keys of the `run` context. */
export const RUN_KEYS = ['id', 'startedAt', 'runbook', 'environment', 'production'] as const

/** A template piece: literal text, or the source of one `${{ }}` expression (without the braces). */
export type TemplatePart = {kind: 'text'; text: string} | {kind: 'expression'; expression: string; start: number}

/** An expression that cannot be parsed or evaluated. */
export class ExpressionError extends OpsbookError {
  readonly expression: string
  constructor(expression: string, message: string, options: {exitCode?: ExitCode} = {}) {
    super(`${message} in expression "${expression}"`, {exitCode: options.exitCode ?? ExitCode.failed, code: 'expression'})
    this.expression = expression
  }
}

const HELPERS: Array<FunctionInfo & {description: string}> = [
  {name: 'now', minArgs: 0, maxArgs: 0, description: 'The current time as an ISO-8601 UTC string'},
  {name: 'addDuration', minArgs: 2, maxArgs: 2, description: 'addDuration(datetime, isoDuration): a later datetime'},
  {name: 'subtractDuration', minArgs: 2, maxArgs: 2, description: 'subtractDuration(datetime, isoDuration): an earlier datetime'},
  {name: 'durationBetween', minArgs: 2, maxArgs: 2, description: 'durationBetween(a, b): the ISO-8601 duration from a to b'},
  {name: 'durationMs', minArgs: 1, maxArgs: 1, description: 'durationMs(isoDuration): milliseconds'},
  {name: 'toIsoDuration', minArgs: 1, maxArgs: 1, description: 'toIsoDuration(ms): an ISO-8601 duration'},
  {name: 'success', minArgs: 0, maxArgs: 0, description: 'True while no earlier step has failed'},
  {name: 'failure', minArgs: 0, maxArgs: 0, description: 'True once an earlier step has failed'},
  {name: 'always', minArgs: 0, maxArgs: 0, description: 'Always true'},
]

const HELPER_BY_NAME = new Map(HELPERS.map((helper) => [helper.name, helper]))

/** Names of the helper functions beyond GitHub's built-ins, for docs and completion. */
export function helperFunctions(): Array<{name: string; description: string}> {
  return HELPERS.map(({name, description}) => ({name, description}))
}

const START = '${{'

/**
 * Split a string into text and `${{ }}` expressions. A `}}` inside a quoted string literal ('a}}b') does not
 * end the expression. Throws ExpressionError on an unterminated `${{`.
 */
export function splitTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let cursor = 0
  for (;;) {
    const open = text.indexOf(START, cursor)
    if (open === -1) break
    if (open > cursor) parts.push({kind: 'text', text: text.slice(cursor, open)})
    const start = open + START.length
    let index = start
    let inString = false
    let close = -1
    while (index < text.length) {
      const char = text[index]
      if (inString) {
        // '' is an escaped quote inside a string literal.
        if (char === "'") {
          if (text[index + 1] === "'") index++
          else inString = false
        }
      } else if (char === "'") {
        inString = true
      } else if (char === '}' && text[index + 1] === '}') {
        close = index
        break
      }
      index++
    }
    if (close === -1) throw new ExpressionError(text.slice(open), inString ? 'unterminated string literal' : 'missing "}}"', {exitCode: ExitCode.invalidInput})
    parts.push({kind: 'expression', expression: text.slice(start, close).trim(), start})
    cursor = close + 2
  }
  if (cursor < text.length) parts.push({kind: 'text', text: text.slice(cursor)})
  return parts
}

/** True when `value` (deeply) holds a `${{`. */
export function containsExpression(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(START)
  if (Array.isArray(value)) return value.some((v) => containsExpression(v))
  if (isPlainObject(value)) return Object.values(value).some((v) => containsExpression(v))
  return false
}

/** The bare expression of an `if:` condition: `${{ x }}` → `x`, `x` → `x`. */
export function conditionExpression(condition: string): string {
  const trimmed = condition.trim()
  if (!trimmed.includes(START)) return trimmed
  const parts = splitTemplate(trimmed)
  if (parts.length === 1 && parts[0]!.kind === 'expression') return parts[0].expression
  throw new ExpressionError(condition, 'a condition must be a single expression, either bare or wrapped in ${{ }}', {
    exitCode: ExitCode.invalidInput,
  })
}

const parsed = new Map<string, Expr>()

/** Parse one expression (cached). Throws ExpressionError with the library's message. */
function parse(expression: string): Expr {
  const cached = parsed.get(expression)
  if (cached) return cached
  if (expression.trim() === '') throw new ExpressionError(expression, 'empty expression', {exitCode: ExitCode.invalidInput})
  let tree: Expr | undefined
  try {
    const {tokens} = new Lexer(expression).lex()
    tree = new Parser(tokens, [...CONTEXT_NAMES], HELPERS).parse()
  } catch (error) {
    throw new ExpressionError(expression, describeParseError(error), {exitCode: ExitCode.invalidInput})
  }
  if (!tree) throw new ExpressionError(expression, 'empty expression', {exitCode: ExitCode.invalidInput})
  if (parsed.size > 5000) parsed.clear()
  parsed.set(expression, tree)
  return tree
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const context = /^Unrecognized named-value: '(.*)'$/.exec(message)
  if (context) return `unknown context "${context[1]}" (known: ${CONTEXT_NAMES.join(', ')})`
  const fn = /^Unrecognized function: '(.*)'$/.exec(message)
  if (fn) return `unknown function "${fn[1]}"`
  return message.replace(/\. Located at position \d+ within expression: .*$/s, '')
}

/** Syntax-check one bare expression: the problem's message, or undefined when it parses. */
export function checkExpression(expression: string): string | undefined {
  try {
    parse(expression)
    return undefined
  } catch (error) {
    return error instanceof ExpressionError ? error.message : String(error)
  }
}

/** Every syntax problem in the `${{ }}` expressions of `value` (deep over objects and arrays). */
export function checkExpressions(value: unknown): Array<{path: Array<string | number>; expression: string; message: string}> {
  const problems: Array<{path: Array<string | number>; expression: string; message: string}> = []
  walkStrings(value, [], (text, path) => {
    let parts: TemplatePart[]
    try {
      parts = splitTemplate(text)
    } catch (error) {
      problems.push({path, expression: text, message: (error as Error).message})
      return
    }
    for (const part of parts) {
      if (part.kind !== 'expression') continue
      const message = checkExpression(part.expression)
      if (message) problems.push({path, expression: part.expression, message})
    }
  })
  return problems
}

/** One context access found in an expression: `steps.restore.outputs.server` → context steps, path [restore, outputs, server]. */
export interface ExpressionReference {
  /** The context name, lower-cased. */
  context: string
  /** Literal property names after the context, as written; stops at the first computed index. */
  path: string[]
  /** The expression it was found in. */
  expression: string
  /** Where in `value` the string sits (for locating it in YAML). */
  location: Array<string | number>
}

/** Context references in every parseable `${{ }}` expression in `value` (syntax errors are skipped; see checkExpressions). */
export function listReferences(value: unknown): ExpressionReference[] {
  const references: ExpressionReference[] = []
  walkStrings(value, [], (text, location) => {
    let parts: TemplatePart[]
    try {
      parts = splitTemplate(text)
    } catch {
      return
    }
    for (const part of parts) {
      if (part.kind === 'expression') references.push(...expressionReferences(part.expression, location))
    }
  })
  return references
}

/** Context references in one bare expression (empty when it does not parse). */
export function expressionReferences(expression: string, location: Array<string | number> = []): ExpressionReference[] {
  let tree: Expr
  try {
    tree = parse(expression)
  } catch {
    return []
  }
  const references: ExpressionReference[] = []
  const visit = (node: Expr): void => {
    if (node instanceof IndexAccess || node instanceof ContextAccess) {
      const chain = accessChain(node)
      if (chain) {
        references.push({context: chain.context, path: chain.path, expression, location})
        for (const index of chain.computed) visit(index)
        return
      }
    }
    if (node instanceof IndexAccess) {
      visit(node.expr)
      visit(node.index)
    } else if (node instanceof Unary) visit(node.expr)
    else if (node instanceof Binary) {
      visit(node.left)
      visit(node.right)
    } else if (node instanceof Logical) node.args.forEach(visit)
    else if (node instanceof Grouping) visit(node.group)
    else if (node instanceof FunctionCall) node.args.forEach(visit)
  }
  visit(tree)
  return references
}

/**
 * Where a secret steers a condition beyond "is it empty" (issue 16: `contains`/`startsWith`/comparisons/`length` in an
 * `if:` let a runbook learn a secret's characters, one step skipped or run at a time). The rule: a secret may decide a
 * condition only through its emptiness — read where only its truthiness counts (the whole condition, an operand of
 * `&&`/`||`/`!` there) or compared with the literal `''` by `==`/`!=`. Any other use (a function argument, another
 * comparison, an index, an operand of `&&`/`||` whose value is compared) is returned as the reference's source text.
 * `isSecret` says which references read a secret (a computed index reads what it could reach).
 */
export function secretSteering(
  expression: string,
  isSecret: (reference: SecretReference) => boolean,
  /**
   * `truthiness` (a condition, or a value that is a boolean): the rule above. `passthrough` (a value that may carry the
   * secret itself, redacted): a secret may also flow into the result as it is — the whole value, an argument of
   * format/toJSON/join, a value (not a predicate) of case(), an operand of `&&`/`||` — but not be compared, parsed or
   * searched (`case(startsWith(params.pw, 'K'), params.pw, 'no')` printed 'no' when it did not start so).
   */
  root: 'truthiness' | 'passthrough' = 'truthiness',
): string | undefined {
  let tree: Expr
  try {
    tree = parse(expression)
  } catch {
    return undefined
  }
  let found: string | undefined
  const secretAccess = (node: Expr): boolean => {
    const chain = node instanceof IndexAccess || node instanceof ContextAccess ? accessChain(node) : undefined
    return chain !== undefined && isSecret({context: chain.context, path: chain.path, computed: chain.computed.length > 0 || chain.path.length === 0, node})
  }
  const emptyString = (node: Expr) => node instanceof Literal && node.literal.kind === data.Kind.String && node.literal.coerceString() === ''
  const unwrap = (node: Expr): Expr => (node instanceof Grouping ? unwrap(node.group) : node)
  type Mode = 'truthiness' | 'passthrough' | 'strict'
  const PASSING = new Set(['format', 'tojson', 'join'])
  const visit = (node: Expr, mode: Mode | boolean): void => {
    if (found) return
    // (true: truthiness, false: strict — the two modes of conditions.)
    const m: Mode = mode === true ? 'truthiness' : mode === false ? 'strict' : mode
    if (node instanceof IndexAccess || node instanceof ContextAccess) {
      const chain = accessChain(node)
      if (chain) {
        // The indexes first: what they read is checked by its source text alone, so which of the two is named does not
        // depend on the secret's value (`params[durationMs(params.pw)]`: the access is evaluated below only then).
        for (const index of chain.computed) visit(index, false)
        if (!found && m === 'strict' && secretAccess(node)) found = describeChain(chain)
        return
      }
    }
    if (node instanceof FunctionCall && m === 'passthrough') {
      const name = node.functionName.lexeme.toLowerCase()
      // Not where the function parses the secret, though: that it fails or not would tell its shape. format's
      // pattern (braces in it: an error), and fromJSON of it in any form — of text built around it
      // (format('"\\{0}"', x) fails unless the first character is an escape letter), and of the value itself too:
      // fromJSON(params.pw) failed the step for a secret that is not JSON and succeeded for one that is, one bit of
      // its shape per run (issue 16). A JSON secret is given as separate secret params instead.
      if (name === 'format') return node.args.forEach((arg, i) => visit(arg, i === 0 ? false : 'passthrough'))
      if (name === 'fromjson') return node.args.forEach((arg) => visit(arg, false))
      if (PASSING.has(name)) return node.args.forEach((arg) => visit(arg, 'passthrough'))
      // case(pred1, value1, pred2, value2, …, default): predicates decide by their truth only.
      if (name === 'case') return node.args.forEach((arg, i) => visit(arg, i % 2 === 0 && i < node.args.length - 1 ? true : 'passthrough'))
    }
    if (node instanceof Grouping) visit(node.group, m)
    else if (node instanceof Logical) node.args.forEach((arg) => visit(arg, m))
    else if (node instanceof Unary) visit(node.expr, true)
    else if (node instanceof Binary) {
      const operator = node.operator.lexeme
      const [left, right] = [unwrap(node.left), unwrap(node.right)]
      // `x == ''` / `'' != x`: only whether x is empty.
      if ((operator === '==' || operator === '!=') && (emptyString(left) || emptyString(right))) {
        const other = emptyString(left) ? right : left
        if (other instanceof IndexAccess || other instanceof ContextAccess) return visit(other, true)
      }
      visit(node.left, false)
      visit(node.right, false)
    } else if (node instanceof IndexAccess) {
      // A piece of a value that carries the secret carries it too (fromJSON(params.pieces)[1], tainted); the index may not.
      visit(node.expr, m === 'passthrough' ? 'passthrough' : false)
      visit(node.index, false)
    } else if (node instanceof FunctionCall) node.args.forEach((arg) => visit(arg, false))
  }
  visit(tree, root)
  return found
}

/** One context access secretSteering asks about: its literal path, whether an index is computed (or `*`), and the node. */
export interface SecretReference {
  context: string
  path: string[]
  /** A computed index, a `*`, or the whole context: what it reads is known by evaluating it (`node`). */
  computed: boolean
  /** The access itself, to evaluate. */
  node?: Expr
}

function describeChain(chain: {context: string; path: string[]; computed: Expr[]}): string {
  return [chain.context, ...chain.path].join('.') + (chain.computed.length > 0 ? '[…]' : '')
}

/** Unwind `ctx.a['b'].c[expr].d` into its context, literal path prefix, and computed index expressions. */
function accessChain(node: Expr): {context: string; path: string[]; computed: Expr[]} | undefined {
  const indexes: Expr[] = []
  let current: Expr = node
  while (current instanceof IndexAccess) {
    indexes.unshift(current.index)
    current = current.expr
  }
  if (!(current instanceof ContextAccess)) return undefined
  const path: string[] = []
  const computed: Expr[] = []
  let literal = true
  for (const index of indexes) {
    if (literal && index instanceof Literal && index.literal.kind === data.Kind.String) path.push(index.literal.coerceString())
    else if (literal && index instanceof Literal && index.literal.kind === data.Kind.Number) path.push(String(index.literal.number()))
    else {
      literal = false
      if (!(index instanceof Literal)) computed.push(index)
    }
  }
  return {context: current.name.lexeme.toLowerCase(), path, computed}
}

/**
 * Evaluate `value` deeply. A string that is exactly one `${{ expr }}` becomes the expression's typed value
 * (number, boolean, object…); a string with text around expressions becomes the interpolated string.
 * Other values are returned as they are (copied).
 */
export function evaluateValue(value: unknown, context: ExpressionContext): unknown {
  if (typeof value === 'string') return evaluateString(value, context)
  if (Array.isArray(value)) return value.map((item) => evaluateValue(item, context))
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = evaluateValue(item, context)
    return out
  }
  return value
}

function evaluateString(text: string, context: ExpressionContext): unknown {
  if (!text.includes(START)) return text
  const parts = splitTemplate(text)
  const expressions = parts.filter((p) => p.kind === 'expression')
  const onlyExpression = expressions.length === 1 && parts.every((p) => p.kind === 'expression' || p.text.trim() === '')
  if (onlyExpression) return evaluateExpression(expressions[0]!.expression, context)
  return parts.map((part) => (part.kind === 'text' ? part.text : interpolate(evaluateExpression(part.expression, context)))).join('')
}

/** Evaluate one bare expression to a plain JS value. */
export function evaluateExpression(expression: string, context: ExpressionContext): unknown {
  const tree = parse(expression)
  const secret = context.taint !== undefined && readsSecret(expression, context, context.taint)
  // Before evaluating: an expression that compares or searches a secret is refused whatever the secret's value, with
  // the same message — refused after evaluating, a function's own error (durationMs of it, addDuration by it) or the
  // refusal would say which kind of value it is (issue 16, the side channel through an error message).
  if (secret) {
    const steering = secretSteering(expression, secretReader(context, context.taint!), 'passthrough')
    if (steering) throw new ExpressionError(expression, `${steering} holds a secret: a value may carry it (redacted) or test whether it is empty (x != '', !x), but not choose by comparing or searching it, which would tell its characters, nor parse it with fromJSON (whether it parses tells its shape)`)
  }
  let result: data.ExpressionData
  try {
    result = new Evaluator(tree, toExpressionData(context, contextsRead(expression, tree)), functionsFor(context)).evaluate()
  } catch (error) {
    if (error instanceof ExpressionError) throw error
    // The message may quote a secret's value (fromJSON of a secret that is not JSON): taint it like a result.
    if (secret) context.taint!.add((error as Error).message, {derived: true})
    throw new ExpressionError(expression, (error as Error).message)
  }
  const value = fromExpressionData(result)
  if (secret) {
    // A boolean or a short number computed from a secret cannot be redacted (it is not the secret) yet tells something
    // of it: `message: ${{ contains(params.pw, 'a') }}` printed true or false — the side channel of `if:` (validate.ts)
    // through a value. Allowed only when it tests whether the secret is empty (the check above allows a value that
    // carries the secret; one that does not hide it may not even do that: fromJSON(params.pw) giving 12).
    const shown = typeof value === 'boolean' || (typeof value === 'number' && String(value).length < 4)
    const steering = shown ? secretSteering(expression, secretReader(context, context.taint!), 'truthiness') : undefined
    if (steering)
      throw new ExpressionError(
        expression,
        `${steering} holds a secret: a value computed from it that does not hide it (a boolean, a short number) may only test whether it is empty (x != '', !x); comparing or searching it would tell its characters`,
      )
    // A secret too short to redact (a catalog tag `token: ab` read as it is) would be printed as it is: refused, as
    // opsbook refuses a short secret param (README, secrets).
    if (typeof value === 'string' && value.length > 0 && value.length < MIN_SECRET_LENGTH && shortSecretRead(expression, context, context.taint!, value))
      throw new ExpressionError(expression, `it reads a secret shorter than ${MIN_SECRET_LENGTH} characters, which cannot be kept out of output, journal and evidence; lengthen the secret`)
    registerDerived(value, context.taint!, expression)
  }
  return value
}

/** Whether `expression` reads, by a literal path, a secret that is exactly `value` (too short to have been registered). */
function shortSecretRead(expression: string, context: ExpressionContext, taint: TaintTracker, value: string): boolean {
  return expressionReferences(expression).some((reference) => {
    const read = resolvePath(contextRoot(context, reference.context), reference.path)
    const key = reference.path.at(-1)
    return read === value && key !== undefined && taint.holdsSecret({[key]: read})
  })
}

/**
 * Whether a context access holds a secret (secretSteering's `isSecret`): the value it reads, deeply (an object or
 * list that holds one: `toJSON(steps.x.outputs)`), under its own key (a string under `token`, `password`… is one).
 * An access with a computed index, a `*` or a whole context (`params[params.who]`, `params.*`, `toJSON(params)`) is
 * evaluated to what it reads: taken as never secret, `contains(params.*, 'hunter22')` printed true.
 */
function secretReader(context: ExpressionContext, taint: TaintTracker): (reference: SecretReference) => boolean {
  let read: data.Dictionary | undefined
  return (reference) => {
    if (!reference.computed) {
      const value = resolvePath(contextRoot(context, reference.context), reference.path)
      const key = reference.path.at(-1)
      return taint.holdsSecret(key === undefined ? value : {[key]: value})
    }
    if (!reference.node) return true
    try {
      read ??= toExpressionData(context, 'all')
      return taint.holdsSecret(fromExpressionData(new Evaluator(reference.node, read, functionsFor(context)).evaluate()))
    } catch {
      // Not readable: the expression's own evaluation fails the same way.
      return false
    }
  }
}

/** Whether any context value `expression` reads (a whole context, a property, or what a computed index could reach) holds a secret. */
function readsSecret(expression: string, context: ExpressionContext, taint: TaintTracker): boolean {
  return expressionReferences(expression).some((reference) => {
    const value = resolvePath(contextRoot(context, reference.context), reference.path)
    // Read with the key it sits under: a string under `token`, `password`, `connectionString`… is secret whatever it
    // looks like, as it is where the object itself is written (a catalog tag `token: …` leaked through an expression).
    const key = reference.path.at(-1)
    return taint.holdsSecret(key === undefined ? value : {[key]: value})
  })
}

function contextRoot(context: ExpressionContext, name: string): unknown {
  switch (name) {
    case 'params':
      return context.params
    case 'steps':
      return context.steps
    case 'env':
      return context.env
    case 'catalog':
      return context.catalog
    case 'run':
      return context.run
    case 'item':
      return context.item
    default:
      return undefined
  }
}

/** The value at `path` (names case-insensitive, as expressions read them); stops where the path leaves objects. */
function resolvePath(root: unknown, path: string[]): unknown {
  let current = root
  for (const name of path) {
    if (current === null || typeof current !== 'object') return current
    if (Array.isArray(current)) {
      const index = Number(name)
      if (!Number.isInteger(index)) return current
      current = current[index]
      continue
    }
    const key = Object.keys(current).find((k) => k.toLowerCase() === name.toLowerCase())
    if (key === undefined) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/**
 * Register a value computed from a secret: the string, its JSON form (interpolation), and every string inside it.
 * Not what carries no secret: a literal the expression itself spells ('none' from case()), or a formatted boolean
 * — registering "false" would redact every "false" in the journal.
 */
function registerDerived(value: unknown, taint: TaintTracker, expression: string): void {
  if (typeof value === 'string') {
    if (NOT_SECRET.has(value.toLowerCase()) || expression.includes(`'${value.replaceAll("'", "''")}'`)) return
    taint.add(value, DERIVED)
    // A number read out of a secret (fromJSON of a PIN list) is a piece of it once it has 4 characters; shorter ones
    // (counts, small codes) are not worth redacting every occurrence of. It was ≥ 1e7 only: a 5-digit PIN leaked.
  } else if (typeof value === 'number' && String(value).length >= 4) taint.add(String(value), DERIVED)
  else if (value !== null && typeof value === 'object') {
    taint.add(JSON.stringify(value), DERIVED)
    for (const item of Object.values(value)) registerDerived(item, taint, expression)
  }
}

const DERIVED = {derived: true}

const NOT_SECRET = new Set(['true', 'false', 'null', 'undefined', 'nan', 'infinity', '-infinity'])

/**
 * Evaluate an `if:` condition (`${{ x }}` or bare `x`) with GitHub's truthiness: false, 0, '', null and NaN are
 * false. The condition is taken literally; whether a failed run still evaluates it is the engine's decision.
 */
export function evaluateCondition(expression: string, context: ExpressionContext): boolean {
  const bare = conditionExpression(expression)
  // A value holding a secret that reached this condition some other way than a secret param (a group's output, a
  // called runbook's param given a secret: validation sees the params only) may not steer it beyond its emptiness.
  const taint = context.taint
  if (taint) {
    const steering = secretSteering(bare, secretReader(context, taint))
    if (steering)
      throw new ExpressionError(bare, `${steering} holds a secret, and a condition may test a secret only for emptiness (x != '', !x): comparing or searching it would let the runbook learn its characters`)
  }
  return truthy(evaluateExpression(bare, context))
}

/** What is known before a run starts: params, env, catalog and run, no step results. */
export function upFrontContext(prepared: {params: Record<string, unknown>; environment: {production: boolean}; envName: string; loaded: {catalog: unknown}; runbook: {name: string}}): ExpressionContext {
  return {
    params: prepared.params,
    steps: {},
    env: {...prepared.environment, name: prepared.envName},
    catalog: prepared.loaded.catalog as Record<string, unknown>,
    run: {environment: prepared.envName, production: prepared.environment.production, runbook: prepared.runbook.name},
  }
}

/**
 * An `if:` decided before the run: its value when it reads only what is known up front (params, env, catalog, run —
 * not other steps' results), else undefined (it may go either way). A condition that cannot be evaluated is undefined.
 */
export function decidedUpFront(condition: string | undefined, context: ExpressionContext): boolean | undefined {
  if (!condition) return true
  try {
    if (expressionReferences(conditionExpression(condition)).some((r) => r.context === 'steps')) return undefined
    return evaluateCondition(condition, context)
  } catch {
    return undefined
  }
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value)
  return true
}

function interpolate(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/**
 * The contexts an expression reads, as the evaluator's data: only those it names are converted. Converting every
 * context (the catalog and environment with all their components, every step's outputs) for each expression was most
 * of the CPU a run spent before its first step — a dr-drill plan evaluates thousands.
 */
function toExpressionData(context: ExpressionContext, read: ReadonlySet<string> | 'all'): data.Dictionary {
  const all = {params: context.params, steps: context.steps, env: context.env, catalog: context.catalog, run: context.run, item: context.item ?? null}
  const dictionary = new data.Dictionary()
  for (const [name, value] of Object.entries(all)) {
    if (read !== 'all' && !read.has(name)) continue
    const text = JSON.stringify(value)
    if (text !== undefined) dictionary.add(name, converted(text))
  }
  return dictionary
}

/**
 * A context's JSON as the evaluator's data, converted once per distinct text: the environment and the catalog are the
 * same text for every expression of a run (a dr-drill plan evaluates thousands), and building their evaluator objects
 * again each time was most of this conversion's CPU. The evaluator only reads its data (it builds new values for
 * results), so one conversion serves every expression; a context that changes has another text, converted anew.
 */
const convertedByText = new Map<string, data.ExpressionData>()
function converted(text: string): data.ExpressionData {
  if (text.length < 512) return JSON.parse(text, data.reviver) as data.ExpressionData
  let found = convertedByText.get(text)
  if (!found) {
    found = JSON.parse(text, data.reviver) as data.ExpressionData
    if (convertedByText.size >= 64) convertedByText.clear()
    convertedByText.set(text, found)
  }
  return found
}

const contextsReadBy = new Map<string, ReadonlySet<string> | 'all'>()

/** The context names (lower case) `tree` accesses; 'all' for a node this walk does not know. */
function contextsRead(expression: string, tree: Expr): ReadonlySet<string> | 'all' {
  const cached = contextsReadBy.get(expression)
  if (cached) return cached
  const names = new Set<string>()
  const visit = (node: Expr): boolean => {
    if (node instanceof ContextAccess) return names.add(node.name.lexeme.toLowerCase()), true
    if (node instanceof Literal || node instanceof Star) return true
    if (node instanceof IndexAccess) return visit(node.expr) && visit(node.index)
    if (node instanceof Unary) return visit(node.expr)
    if (node instanceof Binary) return visit(node.left) && visit(node.right)
    if (node instanceof Logical) return node.args.every(visit)
    if (node instanceof Grouping) return visit(node.group)
    if (node instanceof FunctionCall) return node.args.every(visit)
    return false
  }
  const read = visit(tree) ? names : 'all'
  if (contextsReadBy.size > 5000) contextsReadBy.clear()
  contextsReadBy.set(expression, read)
  return read
}

function fromExpressionData(value: data.ExpressionData): unknown {
  const json = JSON.stringify(value, data.replacer)
  return json === undefined ? null : JSON.parse(json)
}

function functionsFor(context: ExpressionContext): Map<string, FunctionDefinition> {
  const clock = context.now ?? (() => new Date())
  const string = (v: data.ExpressionData) => v.coerceString()
  const define = (name: string, call: (...args: data.ExpressionData[]) => data.ExpressionData): [string, FunctionDefinition] => {
    const info = HELPER_BY_NAME.get(name)!
    return [name.toLowerCase(), {...info, call}]
  }
  return new Map([
    define('now', () => new data.StringData(clock().toISOString())),
    define('addDuration', (at, duration) => new data.StringData(new Date(dateMs(string(at), 'addDuration') + durationOf(string(duration), 'addDuration')).toISOString())),
    define('subtractDuration', (at, duration) =>
      new data.StringData(new Date(dateMs(string(at), 'subtractDuration') - durationOf(string(duration), 'subtractDuration')).toISOString()),
    ),
    define('durationBetween', (a, b) => new data.StringData(signedIsoDuration(dateMs(string(b), 'durationBetween') - dateMs(string(a), 'durationBetween')))),
    define('durationMs', (duration) => new data.NumberData(durationOf(string(duration), 'durationMs'))),
    define('toIsoDuration', (ms) => {
      const n = ms.number()
      if (!Number.isFinite(n)) throw new Error(`toIsoDuration: expected a number of milliseconds, got "${ms.coerceString()}"`)
      return new data.StringData(signedIsoDuration(n))
    }),
    define('success', () => new data.BooleanData(!context.failed)),
    define('failure', () => new data.BooleanData(Boolean(context.failed))),
    define('always', () => new data.BooleanData(true)),
  ])
}

function dateMs(text: string, fn: string): number {
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) throw new Error(`${fn}: "${text}" is not an ISO-8601 date-time`)
  return ms
}

/** Milliseconds of an ISO duration; a leading minus is allowed (durationBetween can produce one). */
function durationOf(text: string, fn: string): number {
  const negative = text.trim().startsWith('-')
  const ms = parseDuration(negative ? text.trim().slice(1) : text)
  if (ms === undefined) throw new Error(`${fn}: "${text}" is not an ISO-8601 duration such as PT15M`)
  return negative ? -ms : ms
}

function signedIsoDuration(ms: number): string {
  return ms < 0 ? `-${formatIsoDuration(-ms)}` : formatIsoDuration(ms)
}

function walkStrings(value: unknown, path: Array<string | number>, visit: (text: string, path: Array<string | number>) => void): void {
  if (typeof value === 'string') visit(value, path)
  else if (Array.isArray(value)) value.forEach((item, index) => walkStrings(item, [...path, index], visit))
  else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) walkStrings(item, [...path, key], visit)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
