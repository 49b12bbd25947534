/**
 * Listing runbooks: the catalog's `runbooksDir` first (a catalog runbook shadows a built-in of the same name), then
 * the built-ins (src/runbooks/library/*.yaml). Only each file's header is read — no schema, no action registry — so
 * `runbooks list` does not load the engine (./discovery.ts resolves and loads one runbook, validated).
 */
import {existsSync, readdirSync} from 'node:fs'
import {basename, extname, join, resolve} from 'node:path'
import type {LoadedCatalog} from '../catalog/loader.js'
import {parseYamlSource, readSourceFile} from '../support/yaml-source.js'
import type {RunbookKind} from './model.js'
import {builtinRunbooksDir} from './package-paths.js'

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

/** The YAML files of a folder, sorted; none when it does not exist. */
export function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort()
    .map((name) => join(dir, name))
}

/** Read just the header fields for listing; a broken file is still listed, under its file name, with the error. */
export function readEntry(file: string, origin: 'builtin' | 'catalog'): RunbookEntry {
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

