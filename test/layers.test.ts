/**
 * The layering the brief fixes, checked on the real source tree: the engine and the actions never reach the terminal
 * libraries (oclif, listr2, inquirer) or the command layer, heavy packages are loaded lazily where startup matters,
 * and no module takes part in a runtime import cycle (a cycle makes load order decide which side sees `undefined`).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'
import {describe, expect, it} from 'vitest'

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src')

interface ModuleImport {
  specifier: string
  /** `import type` / `export type`: erased at compile time, so no runtime edge. */
  typeOnly: boolean
  /** `await import(...)`: loaded when first used, not at start-up. */
  dynamic: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

function importsOf(file: string): ModuleImport[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found: ModuleImport[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly ?? false, dynamic: false})
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false})
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({specifier: node.arguments[0].text, typeOnly: false, dynamic: true})
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The src file a relative specifier names (`./x.js` is compiled from `./x.ts`), or undefined for packages. */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  return resolve(dirname(from), specifier).replace(/\.js$/, '.ts')
}

const files = sourceFiles(srcRoot)
const imports = new Map(files.map((file) => [file, importsOf(file)]))
const area = (file: string): string => relative(srcRoot, file).split('/')[0] ?? ''

describe('source layering', () => {
  it('reads the whole source tree', () => {
    // A broken walk would make every rule below pass vacuously.
    expect(files.length).toBeGreaterThan(100)
    expect(files.some((file) => area(file) === 'runbooks')).toBe(true)
    expect(files.some((file) => area(file) === 'actions')).toBe(true)
  })

  it('keeps the engine and the actions away from oclif, listr2, inquirer and the command layer', () => {
    const terminalPackages = /^(@oclif\/|listr2$|inquirer$|@inquirer\/)/
    const upperLayers = new Set(['commands', 'cli', 'ui', 'hooks'])
    const violations: string[] = []
    for (const [file, list] of imports) {
      if (!['runbooks', 'actions', 'evidence', 'catalog', 'checks', 'azure'].includes(area(file))) continue
      for (const {specifier} of list) {
        const local = resolveLocal(file, specifier)
        if (terminalPackages.test(specifier) || (local && upperLayers.has(area(local)))) {
          violations.push(`${relative(srcRoot, file)} imports ${specifier}`)
        }
      }
    }
    expect(violations).toEqual([])
  })

  it('loads the Azure SDK, listr2 and inquirer only inside the code that uses them', () => {
    // Startup matters during an incident: a static import of these costs every command, even `--help`.
    const heavy = /^(@azure\/(?!core-auth$)|listr2$|inquirer$|@inquirer\/)/
    const violations: string[] = []
    for (const [file, list] of imports) {
      // The emulator is a separate long-running process; its start-up is not the on-call engineer's.
      if (area(file) === 'emulator') continue
      for (const {specifier, typeOnly, dynamic} of list) {
        if (heavy.test(specifier) && !typeOnly && !dynamic) violations.push(`${relative(srcRoot, file)} imports ${specifier}`)
      }
    }
    expect(violations).toEqual([])
  })

  it('has no runtime import cycle', () => {
    const runtimeEdges = new Map<string, string[]>()
    for (const [file, list] of imports) {
      runtimeEdges.set(
        file,
        list
          .filter(({typeOnly, dynamic}) => !typeOnly && !dynamic)
          .map(({specifier}) => resolveLocal(file, specifier))
          .filter((target): target is string => target !== undefined && imports.has(target)),
      )
    }
    // Depth-first search; a back edge to a module still on the stack closes a cycle.
    const state = new Map<string, 'open' | 'done'>()
    const cycles: string[] = []
    const stack: string[] = []
    const visit = (file: string): void => {
      state.set(file, 'open')
      stack.push(file)
      for (const next of runtimeEdges.get(file) ?? []) {
        if (state.get(next) === 'open') {
          cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(srcRoot, f)).join(' → '))
        } else if (!state.has(next)) visit(next)
      }
      stack.pop()
      state.set(file, 'done')
    }
    for (const file of files) if (!state.has(file)) visit(file)
    expect(cycles).toEqual([])
  })
})
