/**
 * Finding runbooks: `<runbook>` on the command line is a path to a YAML file, a name from the catalog's
 * `runbooksDir`, or the name of a built-in runbook (src/runbooks/library/*.yaml, shipped with the package).
 * A catalog runbook with the same name as a built-in one takes precedence, so a team can adapt a built-in.
 * Listing (./listing.ts) reads only the files' headers; resolving and loading here validates the runbook.
 */
import {existsSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import type {LoadedCatalog} from '../catalog/loader.js'
import {ValidationError} from '../errors.js'
import {catalogRunbooksDir, listRunbooks, readEntry, yamlFiles, type RunbookOrigin} from './listing.js'
import {loadRunbookFile} from './loader.js'
import {builtinRunbooksDir} from './package-paths.js'
import type {Runbook} from './model.js'
import {closestName} from './validate.js'

export {catalogRunbooksDir, listRunbooks, type RunbookEntry, type RunbookOrigin} from './listing.js'

/** Where a reference points. */
export interface ResolvedReference {
  file: string
  /** What Runbook.source records: `builtin:<name>` or the file path. */
  source: string
  origin: RunbookOrigin
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

/** Resolve `reference` (path, catalog name or built-in name) and load it, validated. Same as loadRunbook, options form. */
export function resolveRunbook(reference: string, options: {catalog?: LoadedCatalog; cwd?: string} = {}): Runbook {
  return loadRunbook(reference, options.catalog, {cwd: options.cwd})
}
