/**
 * Emulator state: named JSON slices, kept in memory (tests) or in `<stateDir>/state.json` (CLI), written
 * atomically (temp file + rename) so a killed emulator never leaves half a file. Slices are seeded lazily by the
 * services that own them, so a fresh or reset state directory is seeded from the catalog on the next start.
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
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
    }
    this.meta = {environment: options.environment, subscription: options.subscription}
  }

  private readonly meta: {environment?: string; subscription?: string}

  slice<T extends object>(name: string, seed: () => T): T {
    if (!(name in this.slices)) this.slices[name] = seed()
    return this.slices[name] as T
  }

  /** Whether a slice exists (seeded or loaded). */
  has(name: string): boolean {
    return name in this.slices
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
  for (const name of [STATE_FILE, 'blob', 'engines', 'postgres']) {
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
 * written or read, so a long-lived emulator answers what Azure would and keeps no more.
 */
export const ACTIVITY_RETENTION_DAYS = 90
/**
 * And at most this many events, newest kept: 90 days of a soak or a fleet's drills are far more than anyone reads
 * (a dr-drill records a few events), and the whole log is saved with the emulator's state on every change.
 */
export const ACTIVITY_LIMIT = 5000

/** The activity log, kept in the `activity` slice (bounded by Azure's retention and a count; oldest dropped first). */
export function createActivityLog(store: StateStore, clock: () => Date, limit = ACTIVITY_LIMIT): ActivityLog {
  const entries = () => {
    const list = store.slice<{entries: ActivityEntry[]}>('activity', () => ({entries: []})).entries
    // Events are appended as they happen, oldest first: the expired ones are a prefix.
    const oldest = clock().getTime() - ACTIVITY_RETENTION_DAYS * 86_400_000
    let expired = 0
    while (expired < list.length && Date.parse(list[expired]!.at) < oldest) expired++
    if (expired > 0) list.splice(0, expired)
    return list
  }
  return {
    append(entry) {
      const full: ActivityEntry = {at: entry.at ?? clock().toISOString(), resourceId: entry.resourceId, kind: entry.kind, ...(entry.data ? {data: entry.data} : {})}
      const list = entries()
      list.push(full)
      if (list.length > limit) list.splice(0, list.length - limit)
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
