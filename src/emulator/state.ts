/**
 * Emulator state: named JSON slices, kept in memory (tests) or in `<stateDir>/state.json` (CLI), written
 * atomically (temp file + rename) so a killed emulator never leaves half a file. Slices are seeded lazily by the
 * services that own them, so a fresh or reset state directory is seeded from the catalog on the next start.
 */
import {appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {postgresRootDir} from './engines/postgres-binaries.js'
import type {ActivityEntry, ActivityFilter, ActivityLog, StateStore} from './context.js'

const STATE_FILE = 'state.json'
const STATE_FORMAT = 1

interface StateFile {
  format: number
  environment?: string
  subscription?: string
  slices: Record<string, unknown>
}

/** A StateStore; `stateDir` undefined keeps everything in memory. */
export class JsonStateStore implements StateStore {
  private readonly slices: Record<string, unknown>
  private readonly file?: string

  constructor(options: {stateDir?: string; environment?: string; subscription?: string} = {}) {
    this.file = options.stateDir ? join(options.stateDir, STATE_FILE) : undefined
    this.slices = {}
    if (this.file && existsSync(this.file)) {
      const loaded = JSON.parse(readFileSync(this.file, 'utf8')) as StateFile
      // State seeded for another environment or subscription would serve the wrong resources: start over.
      const sameTarget =
        loaded.format === STATE_FORMAT &&
        (!options.environment || loaded.environment === options.environment) &&
        (!options.subscription || loaded.subscription === options.subscription)
      if (sameTarget) Object.assign(this.slices, loaded.slices)
      else this.startedOver = true
    }
    this.meta = {environment: options.environment, subscription: options.subscription}
  }

  private readonly meta: {environment?: string; subscription?: string}

  /** State.json was for another environment, subscription or format: it is not loaded (and overwritten on save). */
  readonly startedOver: boolean = false

  slice<T extends object>(name: string, seed: () => T): T {
    if (!(name in this.slices)) this.slices[name] = seed()
    return this.slices[name] as T
  }

  /** Whether a slice exists (seeded or loaded). */
  has(name: string): boolean {
    return name in this.slices
  }

  /** Forget a slice (its data moved elsewhere). */
  drop(name: string): void {
    delete this.slices[name]
  }

  /** A deep copy of every slice (read access for tests). */
  snapshot(): Record<string, unknown> {
    return JSON.parse(JSON.stringify(this.slices)) as Record<string, unknown>
  }

  save(): void {
    if (!this.file) return
    const doc: StateFile = {format: STATE_FORMAT, ...this.meta, slices: this.slices}
    mkdirSync(join(this.file, '..'), {recursive: true})
    const temp = `${this.file}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify(doc))
    renameSync(temp, this.file)
  }
}

/**
 * Forget the emulator's persisted state (resources, operations, blobs) under `stateDir`; the certificate is kept
 * so clients that trust it keep working. The next start seeds from the catalog again.
 * @returns the paths removed
 */
export function resetEmulatorState(stateDir: string): string[] {
  const removed: string[] = []
  const postgresRoot = postgresRootDir(stateDir)
  stopLeftoverPostgres(postgresRoot)
  if (!postgresRoot.startsWith(resolve(stateDir)) && existsSync(postgresRoot)) {
    rmSync(postgresRoot, {recursive: true, force: true})
    removed.push(postgresRoot)
  }
  for (const name of [STATE_FILE, ACTIVITY_FILE, 'blob', 'engines', 'postgres']) {
    const path = join(stateDir, name)
    if (existsSync(path)) {
      rmSync(path, {recursive: true, force: true})
      removed.push(path)
    }
  }
  return removed
}

/**
 * PostgreSQL processes an emulator that crashed left running on this state (the real data plane): stopped
 * (immediate shutdown, SIGQUIT) before their folders are removed.
 */
function stopLeftoverPostgres(root: string): void {
  if (!existsSync(root)) return
  for (const server of readdirSync(root)) {
    const pidFile = join(root, server, 'data', 'postmaster.pid')
    if (!existsSync(pidFile)) continue
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10)
    try {
      if (pid > 0) process.kill(pid, 'SIGQUIT')
    } catch {
      // Not running any more.
    }
  }
}

/**
 * How long the activity log keeps an event: "Activity log events are retained in Azure for 90 days and then deleted"
 * (https://learn.microsoft.com/azure/azure-monitor/platform/activity-log). Older events are dropped as the log is
 * written or read, so a long-lived emulator answers what Azure would and keeps no more. Azure sets no count: neither
 * does the emulator by default (a run followed by hundreds of drills in one emulator still finds its events), only a
 * caller that measures growth (the soak, `limits.activity`) sets one.
 */
export const ACTIVITY_RETENTION_DAYS = 90

/** The activity log's file in a state directory: one event per line, appended as it happens (not in state.json). */
export const ACTIVITY_FILE = 'activity.jsonl'

/**
 * The activity log: events oldest first, dropped after Azure's retention (and past `limit`, when one is given). With a
 * state directory it lives in {@link ACTIVITY_FILE}, one line appended per event, so a long log does not make every
 * state save (state.json is rewritten whole on each change) larger; the file is rewritten without expired events when
 * the emulator starts. Events of an older state.json (its `activity` slice) are moved into the file. When the state
 * starts over for another environment or subscription ({@link JsonStateStore}), the file is emptied as well, as
 * {@link resetEmulatorState} removes it: the old target's events are about resources this state no longer has, and
 * another subscription's events are not this one's Activity Log.
 */
export function createActivityLog(store: StateStore, clock: () => Date, limit = Number.POSITIVE_INFINITY, options: {stateDir?: string} = {}): ActivityLog {
  const file = options.stateDir ? join(options.stateDir, ACTIVITY_FILE) : undefined
  const list: ActivityEntry[] = []
  const migrated = Boolean(store.has?.('activity'))
  if (migrated) {
    list.push(...store.slice<{entries: ActivityEntry[]}>('activity', () => ({entries: []})).entries)
    store.drop?.('activity')
  }
  if (file && existsSync(file) && !store.startedOver)
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue
      try {
        list.push(JSON.parse(line) as ActivityEntry)
      } catch {
        // A line cut off by a crash mid-append: the events before it stand.
      }
    }
  const expire = () => {
    // Events are appended as they happen, oldest first: the expired ones (and those past the limit) are a prefix.
    const oldest = clock().getTime() - ACTIVITY_RETENTION_DAYS * 86_400_000
    let drop = 0
    while (drop < list.length && Date.parse(list[drop]!.at) < oldest) drop++
    drop = Math.max(drop, list.length - limit)
    if (drop > 0) list.splice(0, drop)
    return drop
  }
  expire()
  if (file) {
    mkdirSync(options.stateDir!, {recursive: true})
    const temp = `${file}.${process.pid}.tmp`
    writeFileSync(temp, list.map((e) => `${JSON.stringify(e)}\n`).join(''))
    renameSync(temp, file)
    // The moved events are in the file now: state.json must forget them at once, or an emulator stopped before its
    // next save would move them again on the next start (every old event twice).
    if (migrated) store.save()
  }
  const entries = () => {
    expire()
    return list
  }
  return {
    append(entry) {
      const full: ActivityEntry = {at: entry.at ?? clock().toISOString(), resourceId: entry.resourceId, kind: entry.kind, ...(entry.data ? {data: entry.data} : {})}
      entries().push(full)
      if (list.length > limit) list.splice(0, list.length - limit)
      if (file) appendFileSync(file, `${JSON.stringify(full)}\n`)
      return full
    },
    list(filter: ActivityFilter = {}) {
      const id = filter.resourceId?.toLowerCase()
      const kinds = filter.kind === undefined ? undefined : Array.isArray(filter.kind) ? filter.kind : [filter.kind]
      const since = filter.since === undefined ? undefined : new Date(filter.since).getTime()
      const until = filter.until === undefined ? undefined : new Date(filter.until).getTime()
      return entries()
        .filter((e) => {
          if (id !== undefined) {
            const rid = e.resourceId.toLowerCase()
            if (id.endsWith('/') ? !rid.startsWith(id) : rid !== id) return false
          }
          if (kinds && !kinds.includes(e.kind)) return false
          const at = Date.parse(e.at)
          if (since !== undefined && at < since) return false
          if (until !== undefined && at > until) return false
          return true
        })
        .map((e) => JSON.parse(JSON.stringify(e)) as ActivityEntry)
    },
  }
}
