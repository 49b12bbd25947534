/**
 * A deliberately small KQL (Kusto) interpreter shared by the emulator's Resource Graph and Log Analytics endpoints.
 * It runs the subset opsbook sends (notes/security-checks.md §b) and nothing more; anything else raises a
 * `KqlError` that names the unsupported construct, so a query that would silently mean something else in Azure
 * fails loudly instead.
 *
 * Supported: `<table>` then any of `| where <expr>`, `| project a, b = <expr>`, `| extend b = <expr>`,
 * `| project-away a`, `| take N` / `| limit N`, `| order by c [asc|desc]` / `sort by`.
 * Expressions: string/number/bool/null literals, timespans (`1h`, `30m`, `2d`), columns and dynamic paths
 * (`properties.level`, `properties['x']`, `split(id, '/')[0]`), `and`/`or`/`not()`, comparisons
 * `== != =~ !~ < <= > >=`, `in`/`in~`/`!in`/`!in~ (…)`, `contains`, `!contains`, `has`, `startswith`,
 * `endswith` and the functions tolower, toupper, tostring, toint, tolong, todouble, tobool, strlen, split,
 * substring, indexof, isempty, isnotempty, isnull, isnotnull, ago, now, strcat, iff, coalesce.
 */

/** A query the interpreter cannot run; the message names the construct. */
export class KqlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KqlError'
  }
}

export type Row = Record<string, unknown>

/** A table: its column names (for validation and output order) and rows. */
export interface KqlTable {
  columns: string[]
  rows: Row[]
}

export interface KqlResult {
  columns: string[]
  rows: Row[]
}

// ── tokens ───────────────────────────────────────────────────────────────────────────────────────────────────

type Token =
  | {kind: 'ident'; value: string; pos: number}
  | {kind: 'string'; value: string; pos: number}
  | {kind: 'number'; value: number; pos: number}
  | {kind: 'timespan'; value: number; pos: number}
  | {kind: 'op'; value: string; pos: number}

const UNIT_MS: Record<string, number> = {d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1, tick: 0.0001, microsecond: 0.001, millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000}
const OPERATORS = ['!in~', 'in~', '!contains', '!has', '!startswith', '!endswith', '!in', '==', '!=', '=~', '!~', '<=', '>=', '<', '>', '=', '|', '(', ')', '[', ']', ',', '.', '+', '-', '*', '/']

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      continue
    }
    if (c === "'" || c === '"') {
      let j = i + 1
      let value = ''
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          value += text[j + 1]
          j += 2
        } else value += text[j++]
      }
      if (j >= text.length) throw new KqlError(`unterminated string literal at position ${i}`)
      tokens.push({kind: 'string', value, pos: i})
      i = j + 1
      continue
    }
    const num = /^\d+(?:\.\d+)?/.exec(text.slice(i))
    if (num) {
      const after = /^(ms|microsecond|millisecond|second|minute|hour|day|tick|d|h|m|s)\b/.exec(text.slice(i + num[0].length))
      if (after) {
        tokens.push({kind: 'timespan', value: Number(num[0]) * UNIT_MS[after[1]!]!, pos: i})
        i += num[0].length + after[1]!.length
      } else {
        tokens.push({kind: 'number', value: Number(num[0]), pos: i})
        i += num[0].length
      }
      continue
    }
    const word = /^[A-Za-z_$][\w$-]*/.exec(text.slice(i))
    if (word) {
      let value = word[0]
      // `project-away` is one word; a dash elsewhere (a-b) is subtraction.
      if (value.includes('-') && !/^(project-away|project-rename|project-reorder|mv-expand|mv-apply|make-series)$/i.test(value)) value = value.split('-')[0]!
      if (value.toLowerCase() === 'in' && text[i + 2] === '~') {
        tokens.push({kind: 'op', value: 'in~', pos: i})
        i += 3
        continue
      }
      tokens.push({kind: 'ident', value, pos: i})
      i += value.length
      continue
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i) && (!/[a-z]$/.test(o) || !/\w/.test(text[i + o.length] ?? '')))
    if (!op) throw new KqlError(`unexpected character '${c}' at position ${i}`)
    tokens.push({kind: 'op', value: op, pos: i})
    i += op.length
  }
  return tokens
}

// ── expressions ──────────────────────────────────────────────────────────────────────────────────────────────

type Expr =
  | {t: 'lit'; v: unknown}
  | {t: 'col'; name: string}
  | {t: 'index'; of: Expr; key: Expr}
  | {t: 'call'; fn: string; args: Expr[]}
  | {t: 'bin'; op: string; l: Expr; r: Expr}
  | {t: 'in'; op: string; l: Expr; list: Expr[]}

const FUNCTIONS = new Set(['tolower', 'toupper', 'tostring', 'toint', 'tolong', 'todouble', 'toreal', 'tobool', 'strlen', 'split', 'substring', 'indexof', 'isempty', 'isnotempty', 'isnull', 'isnotnull', 'ago', 'now', 'strcat', 'iff', 'iif', 'coalesce', 'not'])
const WORD_OPERATORS = new Set(['contains', '!contains', 'has', '!has', 'startswith', '!startswith', 'endswith', '!endswith', 'contains_cs', 'has_cs'])

class Parser {
  private i = 0
  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset]
  }
  next(): Token {
    const t = this.tokens[this.i++]
    if (!t) throw new KqlError('unexpected end of query')
    return t
  }
  atEnd(): boolean {
    return this.i >= this.tokens.length
  }
  isOp(value: string): boolean {
    const t = this.peek()
    return t?.kind === 'op' && t.value === value
  }
  isWord(value: string): boolean {
    const t = this.peek()
    return t?.kind === 'ident' && t.value.toLowerCase() === value
  }
  expectOp(value: string): void {
    const t = this.next()
    if (t.kind !== 'op' || t.value !== value) throw new KqlError(`expected '${value}' at position ${t.pos}, found '${String(t.value)}'`)
  }
  ident(): string {
    const t = this.next()
    if (t.kind !== 'ident') throw new KqlError(`expected a name at position ${t.pos}, found '${String(t.value)}'`)
    return t.value
  }

  expr(): Expr {
    let l = this.and()
    while (this.isWord('or')) {
      this.next()
      l = {t: 'bin', op: 'or', l, r: this.and()}
    }
    return l
  }
  and(): Expr {
    let l = this.cmp()
    while (this.isWord('and')) {
      this.next()
      l = {t: 'bin', op: 'and', l, r: this.cmp()}
    }
    return l
  }
  cmp(): Expr {
    const l = this.add()
    const t = this.peek()
    if (!t) return l
    if (t.kind === 'op' && ['in~', '!in~', '!in'].includes(t.value)) return this.inList(l)
    if (t.kind === 'ident' && t.value.toLowerCase() === 'in') return this.inList(l)
    if (t.kind === 'op' && ['==', '!=', '=~', '!~', '<', '<=', '>', '>='].includes(t.value)) {
      this.next()
      return {t: 'bin', op: t.value, l, r: this.add()}
    }
    const word = t.kind === 'op' ? t.value : t.kind === 'ident' ? t.value.toLowerCase() : ''
    if (WORD_OPERATORS.has(word)) {
      this.next()
      return {t: 'bin', op: word, l, r: this.add()}
    }
    if (t.kind === 'ident' && /^(matches|between|has_any|has_all|in_cidr)$/i.test(t.value)) throw new KqlError(`unsupported KQL operator '${t.value}'`)
    return l
  }
  inList(l: Expr): Expr {
    const t = this.next()
    const op = t.value === 'in' || (t.kind === 'ident' && String(t.value).toLowerCase() === 'in') ? 'in' : String(t.value)
    this.expectOp('(')
    const list: Expr[] = []
    if (!this.isOp(')')) {
      list.push(this.expr())
      while (this.isOp(',')) {
        this.next()
        list.push(this.expr())
      }
    }
    this.expectOp(')')
    return {t: 'in', op, l, list}
  }
  add(): Expr {
    const t = this.peek()
    if (t?.kind === 'op' && ['+', '*', '/'].includes(t.value)) throw new KqlError(`unsupported KQL arithmetic '${t.value}'`)
    const l = this.postfix()
    const n = this.peek()
    if (n?.kind === 'op' && ['+', '-', '*', '/'].includes(n.value)) throw new KqlError(`unsupported KQL arithmetic '${n.value}' at position ${n.pos}`)
    return l
  }
  postfix(): Expr {
    let e = this.primary()
    for (;;) {
      if (this.isOp('.')) {
        this.next()
        e = {t: 'index', of: e, key: {t: 'lit', v: this.ident()}}
      } else if (this.isOp('[')) {
        this.next()
        const key = this.expr()
        this.expectOp(']')
        e = {t: 'index', of: e, key}
      } else return e
    }
  }
  primary(): Expr {
    const t = this.next()
    if (t.kind === 'string') return {t: 'lit', v: t.value}
    if (t.kind === 'number') return {t: 'lit', v: t.value}
    if (t.kind === 'timespan') return {t: 'lit', v: {timespanMs: t.value}}
    if (t.kind === 'op' && t.value === '-') {
      const n = this.next()
      if (n.kind === 'number') return {t: 'lit', v: -n.value}
      throw new KqlError(`unsupported KQL arithmetic '-' at position ${t.pos}`)
    }
    if (t.kind === 'op' && t.value === '(') {
      const e = this.expr()
      this.expectOp(')')
      return e
    }
    if (t.kind === 'ident') {
      const lower = t.value.toLowerCase()
      if (lower === 'true' || lower === 'false') return {t: 'lit', v: lower === 'true'}
      if (lower === 'null') return {t: 'lit', v: null}
      if (this.isOp('(')) {
        if (lower === 'datetime' || lower === 'dynamic' || lower === 'timespan') throw new KqlError(`unsupported KQL literal '${t.value}(…)'`)
        if (!FUNCTIONS.has(lower)) throw new KqlError(`unsupported KQL function '${t.value}()'`)
        this.next()
        const args: Expr[] = []
        if (!this.isOp(')')) {
          args.push(this.expr())
          while (this.isOp(',')) {
            this.next()
            args.push(this.expr())
          }
        }
        this.expectOp(')')
        return {t: 'call', fn: lower, args}
      }
      return {t: 'col', name: t.value}
    }
    throw new KqlError(`unexpected '${String(t.value)}' at position ${t.pos}`)
  }
}

function columnsIn(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.t) {
    case 'col':
      out.add(e.name)
      break
    case 'index':
      columnsIn(e.of, out)
      columnsIn(e.key, out)
      break
    case 'call':
      e.args.forEach((a) => columnsIn(a, out))
      break
    case 'bin':
      columnsIn(e.l, out)
      columnsIn(e.r, out)
      break
    case 'in':
      columnsIn(e.l, out)
      e.list.forEach((a) => columnsIn(a, out))
      break
    default:
  }
  return out
}

function str(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function timeOf(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime()
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = Date.parse(v)
    return Number.isNaN(t) ? undefined : t
  }
  return undefined
}

function compare(a: unknown, b: unknown): number {
  const ta = timeOf(a)
  const tb = timeOf(b)
  if (ta !== undefined && tb !== undefined) return ta - tb
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return str(a) < str(b) ? -1 : str(a) > str(b) ? 1 : 0
}

function equal(a: unknown, b: unknown, caseless: boolean): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'boolean' || typeof b === 'boolean') return str(a) === str(b)
  if (timeOf(a) !== undefined && timeOf(b) !== undefined) return timeOf(a) === timeOf(b)
  return caseless ? str(a).toLowerCase() === str(b).toLowerCase() : str(a) === str(b)
}

function evaluate(e: Expr, row: Row, now: Date): unknown {
  switch (e.t) {
    case 'lit':
      return e.v
    case 'col':
      return row[e.name] ?? null
    case 'index': {
      const of = evaluate(e.of, row, now)
      const key = evaluate(e.key, row, now)
      if (Array.isArray(of) && typeof key === 'number') return of[key < 0 ? of.length + key : key] ?? null
      if (of && typeof of === 'object' && !Array.isArray(of)) return (of as Row)[str(key)] ?? null
      return null
    }
    case 'in': {
      const l = evaluate(e.l, row, now)
      const caseless = e.op.endsWith('~')
      const hit = e.list.map((x) => evaluate(x, row, now)).some((v) => equal(l, v, caseless))
      return e.op.startsWith('!') ? !hit : hit
    }
    case 'bin': {
      if (e.op === 'and') return truthy(evaluate(e.l, row, now)) && truthy(evaluate(e.r, row, now))
      if (e.op === 'or') return truthy(evaluate(e.l, row, now)) || truthy(evaluate(e.r, row, now))
      const l = evaluate(e.l, row, now)
      const r = evaluate(e.r, row, now)
      const ls = str(l).toLowerCase()
      const rs = str(r).toLowerCase()
      switch (e.op) {
        case '==':
          return equal(l, r, false)
        case '!=':
          return !equal(l, r, false)
        case '=~':
          return equal(l, r, true)
        case '!~':
          return !equal(l, r, true)
        case '<':
          return l !== null && r !== null && compare(l, r) < 0
        case '<=':
          return l !== null && r !== null && compare(l, r) <= 0
        case '>':
          return l !== null && r !== null && compare(l, r) > 0
        case '>=':
          return l !== null && r !== null && compare(l, r) >= 0
        case 'contains':
          return ls.includes(rs)
        case '!contains':
          return !ls.includes(rs)
        case 'contains_cs':
          return str(l).includes(str(r))
        case 'has':
        case 'has_cs':
          return new RegExp(`(^|[^a-z0-9])${rs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z0-9])`).test(ls)
        case '!has':
          return !new RegExp(`(^|[^a-z0-9])${rs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z0-9])`).test(ls)
        case 'startswith':
          return ls.startsWith(rs)
        case '!startswith':
          return !ls.startsWith(rs)
        case 'endswith':
          return ls.endsWith(rs)
        case '!endswith':
          return !ls.endsWith(rs)
        default:
          throw new KqlError(`unsupported KQL operator '${e.op}'`)
      }
    }
    case 'call':
      return call(e.fn, e.args, row, now)
    default:
      return null
  }
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'number' && v !== 0) || (typeof v === 'string' && v.toLowerCase() === 'true')
}

function call(fn: string, args: Expr[], row: Row, now: Date): unknown {
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max) throw new KqlError(`${fn}() expects ${min === max ? min : `${min}-${max}`} argument(s), got ${args.length}`)
  }
  const v = (i: number) => evaluate(args[i]!, row, now)
  switch (fn) {
    case 'tolower':
      arity(1)
      return str(v(0)).toLowerCase()
    case 'toupper':
      arity(1)
      return str(v(0)).toUpperCase()
    case 'tostring':
      arity(1)
      return str(v(0))
    case 'toint':
    case 'tolong': {
      arity(1)
      const n = Number.parseInt(str(v(0)), 10)
      return Number.isNaN(n) ? null : n
    }
    case 'todouble':
    case 'toreal': {
      arity(1)
      const n = Number(str(v(0)))
      return str(v(0)) === '' || Number.isNaN(n) ? null : n
    }
    case 'tobool':
      arity(1)
      return v(0) === null ? null : truthy(v(0))
    case 'strlen':
      arity(1)
      return str(v(0)).length
    case 'split':
      arity(2)
      return str(v(0)).split(str(v(1)))
    case 'substring': {
      arity(2, 3)
      const s = str(v(0))
      const start = Math.max(0, Number(v(1)))
      return args.length === 3 ? s.substr(start, Math.max(0, Number(v(2)))) : s.slice(start)
    }
    case 'indexof':
      arity(2)
      return str(v(0)).indexOf(str(v(1)))
    case 'isempty':
      arity(1)
      return str(v(0)) === ''
    case 'isnotempty':
      arity(1)
      return str(v(0)) !== ''
    case 'isnull':
      arity(1)
      return v(0) === null || v(0) === undefined
    case 'isnotnull':
      arity(1)
      return v(0) !== null && v(0) !== undefined
    case 'not':
      arity(1)
      return !truthy(v(0))
    case 'ago': {
      arity(1)
      const span = v(0) as {timespanMs?: number}
      if (!span || typeof span.timespanMs !== 'number') throw new KqlError('ago() expects a timespan such as 1h, 30m or 7d')
      return new Date(now.getTime() - span.timespanMs)
    }
    case 'now':
      arity(0)
      return new Date(now)
    case 'strcat':
      return args.map((_, i) => str(v(i))).join('')
    case 'iff':
    case 'iif':
      arity(3)
      return truthy(v(0)) ? v(1) : v(2)
    case 'coalesce':
      for (let i = 0; i < args.length; i++) {
        const x = v(i)
        if (x !== null && x !== undefined && x !== '') return x
      }
      return null
    default:
      throw new KqlError(`unsupported KQL function '${fn}()'`)
  }
}

// ── pipeline ─────────────────────────────────────────────────────────────────────────────────────────────────

const KNOWN_UNSUPPORTED = new Set(['summarize', 'join', 'union', 'mv-expand', 'mv-apply', 'distinct', 'count', 'top', 'parse', 'make-series', 'render', 'lookup', 'project-rename', 'project-reorder', 'evaluate', 'sample', 'search', 'facet', 'let', 'as', 'serialize', 'invoke', 'getschema'])

/**
 * Run a query against the named tables. Table names match case-insensitively.
 * @throws KqlError naming the unsupported construct or unknown table/column
 */
export function runKql(query: string, tables: Record<string, KqlTable>, now: Date): KqlResult {
  const tokens = tokenize(query)
  const parser = new Parser(tokens)
  if (parser.atEnd()) throw new KqlError('the query is empty')
  const first = parser.next()
  if (first.kind !== 'ident') throw new KqlError(`a query must start with a table name, found '${String(first.value)}'`)
  if (first.value.toLowerCase() === 'let') throw new KqlError("unsupported KQL statement 'let'")
  const tableName = Object.keys(tables).find((n) => n.toLowerCase() === first.value.toLowerCase())
  if (!tableName) throw new KqlError(`unsupported table '${first.value}' (this emulator serves: ${Object.keys(tables).join(', ')})`)
  if (parser.isOp('(')) throw new KqlError(`unsupported KQL function '${first.value}()'`)
  let columns = [...tables[tableName]!.columns]
  let rows = tables[tableName]!.rows.map((r) => ({...r}))
  const check = (e: Expr) => {
    for (const c of columnsIn(e))
      if (!columns.includes(c)) throw new KqlError(`Failed to resolve scalar expression named '${c}' (columns: ${columns.join(', ')})`)
  }
  while (!parser.atEnd()) {
    parser.expectOp('|')
    const opToken = parser.next()
    if (opToken.kind !== 'ident') throw new KqlError(`expected an operator after '|' at position ${opToken.pos}`)
    const op = opToken.value.toLowerCase()
    switch (op) {
      case 'where':
      case 'filter': {
        const e = parser.expr()
        check(e)
        rows = rows.filter((r) => truthy(evaluate(e, r, now)))
        break
      }
      case 'project':
      case 'extend': {
        const items: Array<{name: string; e: Expr}> = []
        do {
          if (items.length > 0) parser.next()
          const t = parser.peek()
          if (t?.kind === 'ident' && parser.peek(1)?.kind === 'op' && parser.peek(1)?.value === '=') {
            parser.next()
            parser.next()
            items.push({name: t.value, e: parser.expr()})
          } else {
            const e = parser.expr()
            if (e.t !== 'col') throw new KqlError(`${op}: give the expression at position ${t?.pos ?? '?'} a name (name = expression)`)
            items.push({name: e.name, e})
          }
        } while (parser.isOp(','))
        items.forEach((item) => check(item.e))
        rows = rows.map((r) => {
          const computed = Object.fromEntries(items.map((item) => [item.name, evaluate(item.e, r, now)]))
          return op === 'project' ? computed : {...r, ...computed}
        })
        columns = op === 'project' ? items.map((i) => i.name) : [...columns, ...items.map((i) => i.name).filter((n) => !columns.includes(n))]
        break
      }
      case 'project-away': {
        const drop: string[] = [parser.ident()]
        while (parser.isOp(',')) {
          parser.next()
          drop.push(parser.ident())
        }
        for (const d of drop) if (!columns.includes(d)) throw new KqlError(`project-away: unknown column '${d}'`)
        columns = columns.filter((c) => !drop.includes(c))
        rows = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))))
        break
      }
      case 'take':
      case 'limit': {
        const n = parser.next()
        if (n.kind !== 'number' || !Number.isInteger(n.value)) throw new KqlError(`${op} expects a whole number`)
        rows = rows.slice(0, n.value)
        break
      }
      case 'order':
      case 'sort': {
        if (!parser.isWord('by')) throw new KqlError(`expected 'by' after '${op}'`)
        parser.next()
        const keys: Array<{e: Expr; desc: boolean}> = []
        do {
          if (keys.length > 0) parser.next()
          const e = parser.expr()
          check(e)
          let desc = true // KQL sorts descending by default
          if (parser.isWord('asc') || parser.isWord('desc')) desc = parser.next().value === 'desc'
          keys.push({e, desc})
        } while (parser.isOp(','))
        rows = rows
          .map((r) => ({r, k: keys.map((key) => evaluate(key.e, r, now))}))
          .sort((a, b) => {
            for (let i = 0; i < keys.length; i++) {
              const c = compare(a.k[i], b.k[i])
              if (c !== 0) return keys[i]!.desc ? -c : c
            }
            return 0
          })
          .map((x) => x.r)
        break
      }
      default:
        throw new KqlError(KNOWN_UNSUPPORTED.has(op) ? `unsupported KQL operator '${opToken.value}'` : `unknown KQL operator '${opToken.value}'`)
    }
    if (!parser.atEnd() && !parser.isOp('|')) {
      const t = parser.peek()!
      throw new KqlError(`unexpected '${String(t.value)}' at position ${t.pos}`)
    }
  }
  return {columns, rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])))}
}
