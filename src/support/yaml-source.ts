/**
 * YAML parsing that keeps positions, so every problem in a catalog or runbook can name file:line:col.
 * Shared by the catalog and runbook loaders.
 */
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'
import {isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap} from 'yaml'
import type {z} from 'zod'
import type {Problem, SourceLocation} from '../errors.js'

export type PathSegment = string | number

export interface YamlSource {
  file: string
  text: string
  /** The plain JS value (undefined when the document could not be parsed; with duplicate keys, the last one wins). */
  value: unknown
  /** Syntax errors and duplicate keys, each with a location. */
  problems: Problem[]
  /** Location of the node at `path`, or of its nearest existing ancestor. `key: true` points at the key, not the value. */
  locate(path: readonly PathSegment[], options?: {key?: boolean}): SourceLocation
}

/** Catalogs and runbooks are small; anything larger is not one (and reading it whole would be the attack). */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024
/** Aliases a document may expand: YAML anchors are for reuse, not for a billion laughs. */
const MAX_ALIAS_COUNT = 100

/**
 * Read a catalog or runbook file: a regular file of at most MAX_SOURCE_BYTES. A folder, a FIFO, a device such as
 * /dev/zero, or a huge file is refused with a message saying what was expected — reading one would fail obscurely or
 * never end. Returns the text, or a problem for the caller to report (exit 2).
 */
export function readSourceFile(path: string, what: string): {text: string} | {problem: Problem} {
  let fd: number | undefined
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    const stat = fstatSync(fd)
    if (stat.isDirectory()) return {problem: {code: 'not-a-file', message: `${what} ${path} is a folder; expected a YAML file`}}
    if (!stat.isFile()) return {problem: {code: 'not-a-file', message: `${what} ${path} is not a regular file (a pipe or a device); expected a YAML file`}}
    if (stat.size > MAX_SOURCE_BYTES) return {problem: {code: 'too-large', message: `${what} ${path} is ${stat.size} bytes; a ${what} is at most ${MAX_SOURCE_BYTES} bytes`}}
    const buffer = Buffer.alloc(stat.size)
    let read = 0
    while (read < stat.size) {
      const n = readSync(fd, buffer, read, stat.size - read, read)
      if (n === 0) break
      read += n
    }
    return {text: buffer.subarray(0, read).toString('utf8')}
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EISDIR') return {problem: {code: 'not-a-file', message: `${what} ${path} is a folder; expected a YAML file`}}
    return {problem: {code: code === 'ENOENT' ? `${what}-not-found` : 'unreadable', message: `cannot read ${what} ${path}: ${code ?? (error as Error).message}`}}
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Sources parsed before, by file and text: the same runbook is parsed again for every runbook that calls it, every
 * plan and every command of a process (a drill's run parsed dr-drill.yaml 24 times and the runbooks it calls 12–15
 * times each: 121 parses of 21 texts, 0.75 s of CPU in the test process of dr-drill.test.ts). A hit hands out a copy of
 * the value and the problems (callers may change them), with the same `locate` (it only reads the document). Only the
 * same file with the same text is a hit: a file changed since is parsed again. The newest PARSED_LIMIT are kept, each
 * at most PARSED_MAX_TEXT characters (a larger one is parsed each time).
 */
const parsed = new Map<string, YamlSource>()
const PARSED_LIMIT = 64
const PARSED_MAX_TEXT = 256 * 1024

export function parseYamlSource(file: string, text: string): YamlSource {
  if (text.length > PARSED_MAX_TEXT) return parseNow(file, text)
  const key = `${file}\0${text}`
  const source = parsed.get(key)
  if (source) {
    parsed.delete(key)
    parsed.set(key, source)
    return {...source, value: structuredClone(source.value), problems: structuredClone(source.problems)}
  }
  const fresh = parseNow(file, text)
  try {
    // Kept as a copy: what the caller does to its value is not seen by the next one.
    parsed.set(key, {...fresh, value: structuredClone(fresh.value), problems: structuredClone(fresh.problems)})
  } catch {
    // A value that cannot be copied is not kept (none the yaml library makes without custom tags).
    return fresh
  }
  if (parsed.size > PARSED_LIMIT) parsed.delete(parsed.keys().next().value!)
  return fresh
}

function parseNow(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, {lineCounter, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false, merge: true})
  const at = (offset: number): SourceLocation => {
    const {line, col} = lineCounter.linePos(offset)
    return {file, line, column: col}
  }
  const problems: Problem[] = []
  for (const error of doc.errors) {
    const duplicate = error.code === 'DUPLICATE_KEY'
    problems.push({
      location: at(error.pos[0]),
      code: duplicate ? 'duplicate-key' : 'yaml-syntax',
      message: duplicate ? `duplicate key: ${firstLine(error.message)}` : `YAML syntax: ${firstLine(error.message)}`,
    })
  }
  for (const warning of doc.warnings) {
    problems.push({location: at(warning.pos[0]), code: 'yaml-syntax', message: `YAML: ${firstLine(warning.message)}`})
  }
  // `__proto__` as a key sets a JavaScript object's prototype instead of adding the key: whatever it holds would be
  // dropped without a word (an environment named so was neither validated nor listed). It is refused where it stands.
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key as Node | null
      if (isScalar(key) && key.value === '__proto__')
        problems.push({location: at(key.range?.[0] ?? 0), code: 'reserved-key', message: '"__proto__" cannot be used as a key or name (it is reserved in JavaScript objects); rename it'})
    },
  })
  // A duplicate key alone should not hide every other problem: validate what the last occurrence says as well.
  const onlyDuplicates = doc.errors.length > 0 && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')
  let value: unknown
  try {
    value =
      doc.errors.length === 0
        ? doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
        : onlyDuplicates
          ? parseDocument(text, {uniqueKeys: false, merge: true}).toJS({maxAliasCount: MAX_ALIAS_COUNT})
          : undefined
  } catch (error) {
    // The yaml library refuses documents whose aliases expand too far ("Excessive alias count"): point at the first alias.
    let first: number | undefined
    visit(doc, {
      Alias(_, node) {
        first ??= node.range?.[0]
        return visit.BREAK
      },
    })
    problems.push({
      location: at(first ?? 0),
      code: 'yaml-aliases',
      message: `YAML aliases expand too far (${firstLine((error as Error).message)}); anchors and aliases may repeat a value, not multiply it`,
    })
    value = undefined
  }

  const locate = (path: readonly PathSegment[], options: {key?: boolean} = {}): SourceLocation => {
    let node: unknown = doc.contents
    let best: number = (doc.contents as Node | null)?.range?.[0] ?? 0
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1
      if (isMap(node)) {
        const pair = findPair(doc, node, String(segment))
        if (!pair) break
        const keyNode = pair.key as Node | null
        if (last && options.key && keyNode?.range) return at(keyNode.range[0])
        const valueNode = pair.value as Node | null
        best = valueNode?.range?.[0] ?? keyNode?.range?.[0] ?? best
        node = valueNode
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined
        if (!item?.range) break
        best = item.range[0]
        node = item
      } else {
        break
      }
    }
    return at(best)
  }

  return {file, text, value, problems, locate}
}

/**
 * The pair for `key` in a map, also through YAML merge keys (`<<: *base` or `<<: [*a, *b]`): a value that came from
 * an anchor is located where the anchor defines it. Own keys win over merged ones, as in the merged value.
 */
function findPair(doc: Document, map: YAMLMap, key: string, depth = 0): Pair | undefined {
  // With `merge: true` the yaml package keeps a merge key's value as a symbol, Symbol(<<).
  const keyOf = (p: Pair) => (isScalar(p.key) ? (typeof p.key.value === 'symbol' ? '<<' : String(p.key.value)) : String(p.key))
  const own = map.items.find((p) => keyOf(p) === key && keyOf(p) !== '<<')
  if (own || depth > 10) return own
  for (const merge of map.items.filter((p) => keyOf(p) === '<<')) {
    const sources = isSeq(merge.value) ? merge.value.items : [merge.value]
    for (const source of sources) {
      const target = isAlias(source) ? source.resolve(doc) : source
      if (isMap(target)) {
        const found = findPair(doc, target, key, depth + 1)
        if (found) return found
      }
    }
  }
  return undefined
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
}

/** Turn zod issues into located problems. Unknown keys point at the key itself. */
export function zodProblems(error: z.ZodError, source: YamlSource, basePath: readonly PathSegment[] = []): Problem[] {
  const problems: Problem[] = []
  for (const issue of error.issues) {
    const path = [...basePath, ...(issue.path as PathSegment[])]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({
          location: source.locate([...path, key], {key: true}),
          code: 'unknown-field',
          message: `unknown field "${key}"${path.length > 0 ? ` in ${describePath(path)}` : ''}`,
        })
      }
      continue
    }
    problems.push({
      location: source.locate(path),
      code: 'invalid-value',
      message: `${describePath(path) || 'document'}: ${issue.message}`,
    })
  }
  return problems
}

export function describePath(path: readonly PathSegment[]): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('')
}
