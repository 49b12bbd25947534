/**
 * Finding runbooks: `<runbook>` on the command line is a path to a YAML file, a name from the catalog's
 * `runbooksDir`, or the name of a built-in runbook (src/runbooks/library/*.yaml, shipped with the package).
 * A catalog runbook with the same name as a built-in one takes precedence, so a team can adapt a built-in.
 */
import {existsSync, readdirSync, statSync} from 'node:fs'
import {basename, extname, join, resolve} from 'node:path'
import type {LoadedCatalog} from '../catalog/loader.js'
import {ValidationError} from '../errors.js'
import {parseYamlSource, readSourceFile} from '../support/yaml-source.js'
import {loadRunbookFile} from './loader.js'
import {builtinRunbooksDir} from './package-paths.js'
import type {Runbook, RunbookKind} from './model.js'
import {closestName} from './validate.js'

export type RunbookOrigin = 'builtin' | 'catalog' | 'file'

export interface RunbookEntry {
  name: string
  title: string
  kind: RunbookKind | string
  disruptive: boolean
  /** `builtin:<name>` for built-ins, else the file path. */
  source: string
  origin: RunbookOrigin
  /** The YAML file. */
  file: string
  /** Set when the file could not be read as a runbook header (it is listed anyway so it can be fixed). */
  error?: string
}

/** Where a reference points. */
export interface ResolvedReference {
  file: string
  /** What Runbook.source records: `builtin:<name>` or the file path. */
  source: string
  origin: RunbookOrigin
}

/** The catalog's runbook folder (relative to the catalog file), when it names one. */
export function catalogRunbooksDir(catalog?: LoadedCatalog): string | undefined {
  return catalog?.catalog.runbooksDir ? resolve(catalog.dir, catalog.catalog.runbooksDir) : undefined
}

/** Every runbook the user can name: catalog ones first (they shadow built-ins of the same name), then built-ins. Sorted by name. */
export function listRunbooks(catalog?: LoadedCatalog): RunbookEntry[] {
  const entries = new Map<string, RunbookEntry>()
  const catalogDir = catalogRunbooksDir(catalog)
  if (catalogDir) for (const file of yamlFiles(catalogDir)) addEntry(entries, readEntry(file, 'catalog'))
  for (const file of yamlFiles(builtinRunbooksDir())) addEntry(entries, readEntry(file, 'builtin'))
  return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name))
}

function addEntry(entries: Map<string, RunbookEntry>, entry: RunbookEntry): void {
  if (!entries.has(entry.name)) entries.set(entry.name, entry)
}

/**
 * Resolve `reference` to a file. A reference with a path separator or a .yaml/.yml extension is a path (from
 * `cwd`); anything else is a runbook name. Unknown names throw ValidationError listing the known ones.
 */
export function resolveRunbookReference(reference: string, catalog?: LoadedCatalog, options: {cwd?: string} = {}): ResolvedReference {
  const cwd = options.cwd ?? process.cwd()
  if (looksLikePath(reference)) {
    const file = resolve(cwd, reference)
    if (!existsSync(file) || !statSync(file).isFile())
      throw new ValidationError([{code: 'runbook-not-found', message: `runbook file not found: ${file}`}])
    return {file, source: file, origin: 'file'}
  }
  // Catalog runbooks shadow built-ins; a built-in is found by its file name (<name>.yaml) before parsing every one of
  // them (the whole library costs seconds on a loaded machine, on every `run` — #17's no-credential budget).
  const catalogDir = catalogRunbooksDir(catalog)
  const fromCatalog = catalogDir ? yamlFiles(catalogDir).map((file) => readEntry(file, 'catalog')).find((e) => e.name === reference) : undefined
  const builtinFile = join(builtinRunbooksDir(), `${reference}.yaml`)
  const direct = fromCatalog ?? (/^[A-Za-z0-9._-]+$/.test(reference) && existsSync(builtinFile) ? readEntry(builtinFile, 'builtin') : undefined)
  if (direct?.name === reference) return {file: direct.file, source: direct.source, origin: direct.origin}
  const known = listRunbooks(catalog)
  const entry = known.find((e) => e.name === reference)
  if (entry) return {file: entry.file, source: entry.source, origin: entry.origin}
  const names = known.map((e) => e.name)
  const close = closestName(reference, names)
  throw new ValidationError([
    {
      code: 'unknown-runbook',
      message: `unknown runbook "${reference}"${close ? ` (did you mean "${close}"?)` : ''}; known runbooks: ${names.join(', ') || 'none'}${
        catalogRunbooksDir(catalog) ? '' : ' (the catalog names no runbooksDir)'
      }; or pass a path to a YAML file`,
    },
  ])
}

/** Resolve and load a runbook (validated; throws ValidationError with every problem). */
export function loadRunbook(reference: string, catalog?: LoadedCatalog, options: {cwd?: string} = {}): Runbook {
  const resolved = resolveRunbookReference(reference, catalog, options)
  return loadRunbookFile(resolved.file, {source: resolved.source})
}

function looksLikePath(reference: string): boolean {
  return /[\\/]/.test(reference) || /\.ya?ml$/i.test(reference)
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort()
    .map((name) => join(dir, name))
}

/** Read just the header fields for listing; a broken file is still listed, under its file name, with the error. */
function readEntry(file: string, origin: 'builtin' | 'catalog'): RunbookEntry {
  const fallbackName = basename(file, extname(file))
  const base = {file, origin}
  const sourceOf = (name: string) => (origin === 'builtin' ? `builtin:${name}` : file)
  try {
    const read = readSourceFile(file, 'runbook')
    if ('problem' in read) throw new Error(read.problem.message)
    const yaml = parseYamlSource(file, read.text)
    const doc = yaml.value
    if (yaml.problems.length > 0 || typeof doc !== 'object' || doc === null) throw new Error(yaml.problems[0]?.message ?? 'not a YAML mapping')
    const header = doc as Record<string, unknown>
    const name = typeof header.name === 'string' ? header.name : fallbackName
    return {
      ...base,
      name,
      title: typeof header.title === 'string' ? header.title : '',
      kind: typeof header.kind === 'string' ? header.kind : '',
      disruptive: header.disruptive === true,
      source: sourceOf(name),
    }
  } catch (error) {
    return {...base, name: fallbackName, title: '', kind: '', disruptive: false, source: sourceOf(fallbackName), error: (error as Error).message}
  }
}

/** Resolve `reference` (path, catalog name or built-in name) and load it, validated. Same as loadRunbook, options form. */
export function resolveRunbook(reference: string, options: {catalog?: LoadedCatalog; cwd?: string} = {}): Runbook {
  return loadRunbook(reference, options.catalog, {cwd: options.cwd})
}
