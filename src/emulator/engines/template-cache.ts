/**
 * A folder built once and kept for later processes (PostgreSQL's initdb output, which every new server copies): an
 * entry `<root>/<name>/` holding the built folder (`data/`) and a manifest of every file and folder in it with its
 * size. Used by engines/postgres.ts; the root is the system temp dir unless OPSBOOK_PG_TEMPLATE_DIR names another
 * (the test suite keeps it outside the folder each test run removes: without it every run built its templates again,
 * ~1.1 s of CPU per PostgreSQL major).
 *
 * Shared safely between processes and workers: an entry is built in a folder of its own (`<name>.<pid>.<time>`) and
 * renamed into place only when complete, its manifest written last — rename(2) is atomic, and fails when another
 * process put a complete entry there first (that one is used). An entry is checked against its manifest each time it
 * is used (~1,000 stats for PostgreSQL's: a few milliseconds): one that a temp-folder cleaner (systemd-tmpfiles ages
 * out files under /tmp), a full disk or a person cut short is moved aside and built again, not copied into a server
 * that would then fail to start or, worse, start with a missing relation file.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join, sep} from 'node:path'
import {processAlive} from '../../support/process-alive.js'

/** The environment variable naming the folder the PostgreSQL templates are kept in (default: the system temp dir). */
export const TEMPLATE_DIR_ENV = 'OPSBOOK_PG_TEMPLATE_DIR'

const MANIFEST = 'manifest.json'
const DATA = 'data'
/** A building folder older than this whose process is gone was left by a crash: removed by the next build. */
const ABANDONED_MS = 10 * 60_000
/**
 * A complete entry of the same family (another install's binaries: each `npm ci` of a clone is another key) not used
 * for this long is removed when an entry is built: without it each fresh clone a CI machine runs left ~28 MB per
 * PostgreSQL major in its temp dir for good. Using an entry marks it (its folder's time), so one in use stays; removing
 * one that a slow process then copies from is safe (the copy fails on a missing file and is made again once,
 * postgres.ts copyTemplate), and costs a rebuild (~1 s of CPU).
 */
export const UNUSED_ENTRY_MS = 24 * 60 * 60_000

interface Manifest {
  format: 1
  /** What the entry was built from (the caller's key, e.g. the binaries' identity and initdb's options). */
  key: string
  /** Every folder (ending in /) and file under data/, relative, with each file's size in bytes. */
  entries: Record<string, number | 'dir'>
}

/**
 * The built folder of entry `name` under `root`, built with `build(into)` first when there is no complete entry.
 * `key` says what it is built from: an entry whose manifest names another key is built again. `prepare(path)` is
 * called on each folder made here before `build` writes into it (e.g. chown to the user that builds). `family`, a
 * prefix of `name`, names the entries that replace each other (other builds of the same thing): those of them not
 * used for UNUSED_ENTRY_MS are removed when this one is built.
 */
export async function cachedDirectory(
  root: string,
  name: string,
  key: string,
  build: (into: string) => Promise<void>,
  prepare: (path: string) => void = () => undefined,
  family?: string,
): Promise<string> {
  const entry = join(root, name)
  if (intact(entry, key)) {
    markUsed(entry)
    return join(entry, DATA)
  }
  if (existsSync(entry)) setAside(entry)
  mkdirSync(root, {recursive: true})
  removeAbandoned(root, name)
  if (family) removeUnused(root, name, family)
  const building = `${entry}.${process.pid}.${Date.now()}`
  mkdirSync(join(building, DATA), {recursive: true})
  prepare(building)
  prepare(join(building, DATA))
  try {
    await build(join(building, DATA))
    const manifest: Manifest = {format: 1, key, entries: listing(join(building, DATA))}
    writeFileSync(join(building, MANIFEST), JSON.stringify(manifest))
    renameSync(building, entry)
  } catch (error) {
    rmSync(building, {recursive: true, force: true})
    // Another process renamed its complete entry into place first: use that one.
    if (!intact(entry, key)) throw error
  }
  return join(entry, DATA)
}

/** Whether the entry is complete: a manifest for this key, and the files and folders it lists, each of its size. */
export function intact(entry: string, key: string): boolean {
  let manifest: Manifest
  try {
    manifest = JSON.parse(readFileSync(join(entry, MANIFEST), 'utf8')) as Manifest
  } catch {
    return false
  }
  if (manifest.format !== 1 || manifest.key !== key || typeof manifest.entries !== 'object') return false
  try {
    const now = listing(join(entry, DATA))
    const names = Object.keys(manifest.entries)
    return names.length === Object.keys(now).length && names.every((n) => now[n] === manifest.entries[n])
  } catch {
    return false
  }
}

function listing(dir: string): Manifest['entries'] {
  const entries: Manifest['entries'] = {}
  // Each name relative to `dir` built on the way down (path.relative resolved both paths again for every entry).
  const walk = (path: string, rel: string) => {
    for (const item of readdirSync(path, {withFileTypes: true})) {
      const full = join(path, item.name)
      const name = rel === '' ? item.name : `${rel}${sep}${item.name}`
      if (item.isDirectory()) {
        entries[`${name}/`] = 'dir'
        walk(full, name)
      } else entries[name] = item.isFile() ? statSync(full).size : 0
    }
  }
  walk(dir, '')
  return entries
}

/**
 * When the entry whose built folder is `data` (what cachedDirectory returned) was completed: its manifest's time,
 * written after every file of the build and never again. Undefined when it has none (gone, or not an entry).
 */
export function completedAt(data: string): number | undefined {
  try {
    return statSync(join(data, '..', MANIFEST)).mtimeMs
  } catch {
    return undefined
  }
}

/**
 * A broken entry is renamed out of the way (atomic: a process copying from it meanwhile fails on a missing file
 * rather than reading a mix) and then removed; when another process moved it first, there is nothing to do.
 */
function setAside(entry: string): void {
  const aside = `${entry}.broken.${process.pid}.${Date.now()}`
  try {
    renameSync(entry, aside)
  } catch {
    return
  }
  rmSync(aside, {recursive: true, force: true})
}

/** Building folders of this entry whose process is gone and that are old enough not to be in use (a crash's). */
function removeAbandoned(root: string, name: string): void {
  for (const other of namesIn(root)) {
    const match = new RegExp(`^${escape(name)}\\.(?:broken\\.)?(\\d+)\\.(\\d+)$`).exec(other)
    if (!match || Number(match[1]) === process.pid) continue
    if (Date.now() - Number(match[2]) < ABANDONED_MS || processAlive(Number(match[1]))) continue
    rmSync(join(root, other), {recursive: true, force: true})
  }
}

/** The entry's folder time is when it was last used (removeUnused); a folder another user owns is left as it is. */
function markUsed(entry: string): void {
  const now = new Date()
  try {
    utimesSync(entry, now, now)
  } catch {
    // Not ours to mark (EPERM): its owner's processes mark it.
  }
}

/** Complete entries of `family` other than `name` whose folder time (last use) is older than UNUSED_ENTRY_MS. */
function removeUnused(root: string, name: string, family: string): void {
  for (const other of namesIn(root)) {
    if (other === name || !other.startsWith(family)) continue
    const entry = join(root, other)
    // Only complete entries (a manifest): building and set-aside folders are removeAbandoned's.
    if (!existsSync(join(entry, MANIFEST))) continue
    try {
      if (Date.now() - statSync(entry).mtimeMs < UNUSED_ENTRY_MS) continue
    } catch {
      continue
    }
    // Another user's cannot be renamed in the sticky temp dir: setAside then leaves it.
    setAside(entry)
  }
}

/** The names in `root`, none when it cannot be read (it is made before a build). */
function namesIn(root: string): string[] {
  try {
    return readdirSync(root)
  } catch {
    return []
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

