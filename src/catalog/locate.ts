/**
 * Where the catalog and the project folder are — without the catalog's schema (zod and the YAML parser), so commands
 * that only need a path (`runs list`, `runs show`, `evidence sync`/`export`/`verify`) do not load them at start-up.
 * Order: --catalog, OPSBOOK_CATALOG, then runbooks.yaml found by walking up from the working directory.
 */
import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

export const CATALOG_FILE = 'runbooks.yaml'

/** Where the catalog is, or undefined when none is found. */
export function findCatalog(options: {flag?: string; cwd?: string; env?: NodeJS.ProcessEnv} = {}): string | undefined {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  if (options.flag) return resolve(cwd, options.flag)
  if (env.OPSBOOK_CATALOG) return resolve(cwd, env.OPSBOOK_CATALOG)
  let dir = resolve(cwd)
  for (;;) {
    const candidate = join(dir, CATALOG_FILE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The project folder: where the catalog is (found as above), else the working directory. `.opsbook/` (journals,
 * emulator state) lives here, so runs started from any sub-folder share one history. OPSBOOK_HOME overrides it.
 */
export function projectDir(options: {flag?: string; cwd?: string; env?: NodeJS.ProcessEnv} = {}): string {
  const env = options.env ?? process.env
  if (env.OPSBOOK_HOME) return resolve(options.cwd ?? process.cwd(), env.OPSBOOK_HOME)
  const file = findCatalog(options)
  return file ? dirname(file) : resolve(options.cwd ?? process.cwd())
}

/** The project's `.opsbook/` folder (runs, journals, emulator state). */
export function opsbookRoot(options: {cwd?: string; catalogFlag?: string} = {}): string {
  return join(projectDir({flag: options.catalogFlag, cwd: options.cwd}), '.opsbook')
}
