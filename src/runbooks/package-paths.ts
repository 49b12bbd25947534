/**
 * Where opsbook's own files are: the package root (from src/ and from dist/) and the built-in runbooks. Kept apart
 * from discovery.ts so the loader can find built-ins without importing discovery, which imports the loader.
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let packageRootCache: string | undefined

/** The opsbook package root: the nearest folder above this module with a package.json (works from src/ and dist/). */
export function packageRoot(): string {
  if (packageRootCache) return packageRootCache
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (packageRootCache = dir)
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the opsbook package root above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

/** Folder of the built-in runbooks. */
export function builtinRunbooksDir(): string {
  return join(packageRoot(), 'src', 'runbooks', 'library')
}
