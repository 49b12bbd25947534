/**
 * YAML parsing that keeps positions, so every problem in a catalog or runbook can name file:line:col.
 * Shared by the catalog and runbook loaders.
 */
import {isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node} from 'yaml'
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

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, {lineCounter, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false})
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
  // A duplicate key alone should not hide every other problem: validate what the last occurrence says as well.
  const onlyDuplicates = doc.errors.length > 0 && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')
  const value =
    doc.errors.length === 0
      ? doc.toJS({maxAliasCount: 100})
      : onlyDuplicates
        ? parseDocument(text, {uniqueKeys: false}).toJS({maxAliasCount: 100})
        : undefined

  const locate = (path: readonly PathSegment[], options: {key?: boolean} = {}): SourceLocation => {
    let node: unknown = doc.contents
    let best: number = (doc.contents as Node | null)?.range?.[0] ?? 0
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment))
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
