/**
 * The emulator's core: one HTTPS host for every ARM path (and the Monitor data-plane and logs paths), a plain-http
 * managed-identity token endpoint, Azurite for Blob, persisted state, long-running operations, faults and the
 * request log. Service modules plug in through `routes(ctx)` (see context.ts).
 */
import {randomUUID, timingSafeEqual} from 'node:crypto'
import {appendFileSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer, type Server as HttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Environment} from '../catalog/schema.js'
import {checkScope, parseResourceId, resourceNotFound} from './arm.js'
import {unsupportedApiVersion} from './api-versions.js'
import {BLOB_GATE_PASS_AGENT, BlobRequestGate, INTERNAL_BLOB_CLIENT_OPTIONS, startBlobServer, type RunningBlob} from './blob.js'
import {ephemeralCertificate, loadOrCreateCertificate} from './certificate.js'
import {ArmFailure, type EmulatorContext, type FaultInjector, type FaultSpec, type LroOperation, type ActivityLog, type ServiceModule} from './context.js'
import {asCopy, fromCopy} from './fleet.js'
import {loadEstateBeside, scenarioEstate, type Estate, type Scenario} from './estate.js'
import {Faults, FAULTS_ENV, parseFaultSpec} from './faults.js'
import {authorizationFailure, DEFAULT_PRINCIPAL, estatePrincipals, requestedPrincipal} from './services/authorization.js'
import {recordArmWrite, recordOperationEnd} from './services/activity-log.js'
import {issuerOf, signToken, verifyToken} from './tokens.js'
import {Operations} from './lro.js'
import {JsonStateStore, createActivityLog} from './state.js'
import {RequestLog} from './request-log.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type RequestLogEntry, type Route, type RouteParams} from './types.js'
import {parseDuration} from '../support/duration.js'

export interface StartEmulatorOptions {
  /** Catalog file to seed from (default: runbooks.yaml found upward from the working directory), unless `environment` is given. */
  catalogFile?: string
  /** Environment name in the catalog (default: the first environment whose cloud is `emulator`). */
  environmentName?: string
  /** A parsed catalog environment to serve instead of loading the catalog. */
  environment?: Environment
  /** Subscription id (default: the environment's). */
  subscription?: string
  /** Persist state, blobs and the certificate here (the CLI uses `.opsbook/emulator/`); undefined = in memory. */
  stateDir?: string
  /** HTTPS port for ARM (0 or undefined = random). */
  port?: number
  /** How long long-running operations stay InProgress (default 3000 ms). */
  lroDurationMs?: number
  /**
   * Lifetime of the managed-identity tokens the emulator issues (default 3600 s, as Azure's). Short lifetimes make
   * clients renew tokens for real (the fault matrix), which token-expiry faults need: a client holding a token valid
   * for an hour is never asked for a new one.
   */
  tokenLifetimeSeconds?: number
  /** Faults in effect from the start (merged over OPSBOOK_EMULATOR_FAULTS and the catalog's). */
  faults?: FaultSpec
  /** Seed the catalog's resources into a fresh state (default true). */
  seed?: boolean
  /** The emulator's clock (default: real time). */
  clock?: () => Date
  /**
   * Read OPSBOOK_EMULATOR_FAULTS, OPSBOOK_EMULATOR_EXCHANGE_LOG and OPSBOOK_REDIS_SERVER from this environment (default
   * process.env): the one `opsbook` was started with, also for a command run in a process whose own environment differs.
   */
  env?: NodeJS.ProcessEnv
  /** Called with every request/response pair the emulator served (the contract tests validate them against Azure's specs). */
  onExchange?: (exchange: EmulatorExchange) => void
  /** Settings beyond the catalog (default: opsbook.estate.yaml beside the catalog file, if any). */
  estate?: Estate
  /** A built-in estate instead of the file: `insecure` (every check fails at least once) or `compliant`. */
  scenario?: Scenario
  /**
   * `real`: every emulated PostgreSQL server is a real PostgreSQL process (engines/), started when first touched;
   * `modelled` (default for the library, so unit tests stay light): data freshness is computed from the clock.
   */
  dataPlane?: 'real' | 'modelled'
  /** How far geo-redundant PostgreSQL backups trail the primary (default 5 minutes). */
  geoBackupLagMs?: number
  /**
   * How long Traffic Manager (capped by the profile's DNS TTL) and Front Door take to route a change, compressed
   * (default: the environment's emulator.lroSeconds, else 3 s). Tests whose drills only pass through a failover
   * shorten it; tests of the RTO it causes keep the default.
   */
  routingPropagationMs?: number
  /**
   * Keep writing rows into every emulated PostgreSQL server (real data plane only) and keys into every Redis cache
   * (with redis-server); default: on for the `local` environment with `dataPlane: 'real'`.
   */
  load?: boolean | {ratePerSecond: number}
  /**
   * Test-only: page these list operations (by operation name, e.g. `postgres.firewallRules.list`) at this many items,
   * so clients' nextLink handling is exercised. Without it every list pages as Azure documents or was recorded
   * answering (most ARM lists in one page; see each `paged` call), never at a size made up for coverage.
   */
  listPageSizes?: Record<string, number>
  /**
   * How much of its history a long-lived emulator keeps (defaults: REQUEST_LOG_LIMIT, FINISHED_OPERATION_LIMIT; the
   * activity log: Azure's 90 days, no count). The soak sets them low, so these bounded stores are full after its first
   * drills and any growth it measures afterwards is something that has no bound (bench/README.md).
   */
  limits?: {requestLog?: number; finishedOperations?: number; activity?: number}
}

/** One request and the response the emulator gave, as the contract checks see it. */
export interface EmulatorExchange {
  method: string
  path: string
  /** Query string without `?`, keys decoded. */
  query: string
  status: number
  /** Response headers as sent (names as written). */
  headers: Record<string, string>
  /** Parsed JSON response body, if any. */
  body?: unknown
}

/**
 * Test-only: a directory. When set, every exchange is appended as a JSON line to `exchanges-<pid>.jsonl` there, so the
 * test suite's global teardown can validate every response the emulator gave against the vendored Azure specs
 * (test/contract). Never set in production use: bodies may hold keys.
 */
export const EXCHANGE_LOG_ENV = 'OPSBOOK_EMULATOR_EXCHANGE_LOG'

/**
 * How long the ARM and token servers keep an idle keep-alive connection open. Node's default (5 s) raced its clients:
 * Node's global agent drops an idle socket after min(its 5 s, the announced timeout − 1 s) and the Azure SDK's agents
 * (no timeout of their own) keep one until the server closes it, so a request sent on a connection idle for ~5 s could
 * meet the server's close — and on a loaded machine, where the server's timer and the client's reuse run late and in
 * either order (both in one process, the timer phase runs after the I/O callback that sent the request), it did: the
 * request failed with `read ECONNRESET` (trafficmanager.test.ts beside a CPU hog, stop 28). A POST meeting it is not
 * retried (azure/policy.ts: non-idempotent). With the server holding idle connections a minute, Node's agents always
 * close first (at 5 s) and the SDK's race only after a minute of idleness on one connection. Azure's own front ends
 * hold idle flows for minutes too (Azure Load Balancer's default idle timeout is 4 minutes:
 * https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-idle-timeout). Closing the emulator closes every
 * connection at once (closeServer), so a longer hold never keeps a process alive.
 */
export const EMULATOR_KEEP_ALIVE_MS = 60_000

export interface RunningEmulator {
  /** https://127.0.0.1:PORT — the `endpoint` for every ARM client. */
  armEndpoint: string
  /** The PEM file clients must trust. */
  caFile: string
  caPem: string
  blob: {endpoint: string; account: string; key: string; connectionString: string}
  /** http://127.0.0.1:PORT/msi/token — IDENTITY_ENDPOINT for DefaultAzureCredential. */
  identityEndpoint: string
  /** The value to send as X-IDENTITY-HEADER (IDENTITY_HEADER). */
  identityHeader: string
  subscription: string
  environmentName: string
  /** Change faults while running. */
  faults: FaultInjector
  /** Change how long new long-running operations stay InProgress (tests: slow while interrupting, fast afterwards). */
  setLroDurationMs(ms: number): void
  /**
   * Change how long routing changes made from now on take to reach clients (routingPropagationMs; a change already
   * propagating keeps its time). Tests: long while a run must be caught waiting for traffic, short afterwards.
   */
  setRoutingPropagationMs(ms: number): void
  /**
   * Requests served (bounded: the newest REQUEST_LOG_LIMIT are kept, see request-log.ts), oldest first; with `since`
   * (a `requestCount()` taken earlier), only those logged after it. Use `requestCount()` as a cursor, not
   * `requestLog().length`, which stops growing once the oldest entries are dropped.
   */
  requestLog(since?: number): RequestLogEntry[]
  /** Requests logged over the emulator's life (dropped ones included): a cursor for `requestLog(since)`. */
  requestCount(): number
  clearRequestLog(): void
  /** Read access to the emulator's state. */
  state: {
    snapshot(): Record<string, unknown>
    slice<T>(name: string): T | undefined
    operations(): LroOperation[]
    activity: ActivityLog
  }
  /** Environment variables a client process needs to reach this emulator. */
  env(): Record<string, string>
  /** What the data planes are (real or modelled, mapped versions) and the load generator's state. */
  dataPlane: {
    mode: 'real' | 'modelled'
    notices: string[]
    load?: () => Array<{engine: string; name: string; written?: number; error?: string}>
    /** The PostgreSQL server version every emulated server really runs (real data plane), e.g. 16.14. */
    /** The default major's version (a server without a version runs it). */
    postgresVersion?: string
    /** Every installed major's version, ascending: a server runs its own major when installed (else the nearest, noted). */
    postgresVersions?: string[]
  }
  stop(): Promise<void>
}

/** Services in load order. Missing optional modules (built by another engineer) are skipped. */
const SERVICES: Array<{name: string; optional: boolean}> = [
  {name: 'arm-misc', optional: false},
  {name: 'arm-platform', optional: false},
  {name: 'postgres', optional: false},
  {name: 'redis', optional: false},
  {name: 'managed-redis', optional: false},
  {name: 'sql', optional: false},
  {name: 'cosmos', optional: false},
  {name: 'servicebus', optional: false},
  {name: 'keyvault-data', optional: false},
  {name: 'webapp', optional: true},
  // After webapp: their loopback fronts answer from the web apps' slot ports.
  {name: 'trafficmanager', optional: false},
  {name: 'frontdoor', optional: false},
  {name: 'monitor', optional: true},
  {name: 'activity-log', optional: false},
  {name: 'resource-graph', optional: true},
  {name: 'authorization', optional: false},
  // Last: applies the estate over what the others seeded.
  {name: 'estate', optional: false},
]


/** Start an emulator: HTTPS ARM host, MSI endpoint, Azurite; seeded from the catalog environment. */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const {environment, environmentName, catalogFile} = await resolveEnvironment(options)
  const subscription = options.subscription ?? environment.subscription
  const clock = options.clock ?? (() => new Date())
  const closers: Array<() => void | Promise<void>> = []
  const tempDir = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), 'opsbook-emulator-'))
  if (tempDir) closers.push(() => rmSync(tempDir, {recursive: true, force: true}))

  try {
    const certificate = options.stateDir ? await loadOrCreateCertificate(join(options.stateDir, 'certs')) : await ephemeralCertificate(join(tempDir!, 'certs'))
    const env = options.env ?? process.env
    const faults = new Faults({
      ...parseFaultSpec(environment.emulator?.faults),
      ...parseFaultSpec(env[FAULTS_ENV]),
      ...options.faults,
    })
    const blobGate = new BlobRequestGate()
    const blob = await startBlobServer({persistDir: options.stateDir ? join(options.stateDir, 'blob') : undefined, isDown: () => faults.blobDown(), gate: blobGate})
    closers.push(() => blob.close())

    const store = new JsonStateStore({stateDir: options.stateDir, environment: environmentName, subscription})
    const lro = new Operations({
      subscription,
      defaultDurationMs: options.lroDurationMs ?? (environment.emulator?.lroSeconds !== undefined ? environment.emulator.lroSeconds * 1000 : 3000),
      faults,
      clock,
      onSettled: () => store.save(),
      finishedLimit: options.limits?.finishedOperations,
    })
    closers.push(() => lro.close())
    const activity = createActivityLog(store, clock, options.limits?.activity, {stateDir: options.stateDir})

    // The load generator runs by default for the `local` environment with real data planes (what `opsbook run` and
    // `opsbook emulator start` serve), so its restores and snapshots have something to lose.
    const loadOption = options.load ?? (environmentName === 'local' && options.dataPlane === 'real')
    const ctx: EmulatorContext = {
      subscription,
      environment,
      environmentName,
      store,
      lro,
      faults,
      blob: {endpoint: blob.endpoint, account: blob.account, key: blob.key},
      blobGate,
      clock,
      activity,
      certificate,
      onClose: (fn) => closers.push(fn),
      seedFromCatalog: options.seed ?? true,
      dataDir: join(options.stateDir ?? tempDir!, 'engines'),
      estate: options.estate ?? (options.scenario ? scenarioEstate(options.scenario, environment, clock()) : loadEstateBeside(catalogFile, environment)),
      dataPlanes: {},
      loadSources: [],
      loadOn: Boolean(loadOption),
      geoBackupLagMs: options.geoBackupLagMs ?? (environment.emulator?.geoBackupLag ? parseDuration(environment.emulator.geoBackupLag) : undefined),
      routingPropagationMs: Math.max(0, options.routingPropagationMs ?? (environment.emulator?.lroSeconds ?? 3) * 1000),
      notices: [],
      env,
    }
    if (options.dataPlane === 'real') {
      const {createPostgresDataPlane} = await import('./engines/postgres-plane.js')
      const plane = await createPostgresDataPlane({
        stateDir: options.stateDir,
        certificate,
        certificateDir: join(options.stateDir ?? tempDir!, 'certs'),
        environment,
        administrators: async (serverId) => (await import('./services/estate.js')).pgAdministratorsOf(ctx, serverId),
        authConfig: async (serverId) => (await import('./services/postgres.js')).postgresState(ctx).servers[serverId.toLowerCase()]?.resource.properties.authConfig,
        onClose: ctx.onClose,
      })
      if ('unavailable' in plane) ctx.notices.push(plane.unavailable)
      else ctx.dataPlanes.postgres = plane
    }

    const routes: CompiledRoute[] = []
    const modules: ServiceModule[] = []
    const owned: Array<{service: string; route: Route}> = []
    for (const service of SERVICES) {
      const module = await loadService(service.name, service.optional)
      if (!module) continue
      modules.push(module)
      for (const route of module.routes(ctx)) {
        routes.push(compileRoute(route))
        owned.push({service: service.name, route})
      }
    }
    // One owner per route: the first registered would silently shadow the other (and its state would go unserved).
    const duplicates = duplicateRoutes(owned)
    if (duplicates.length > 0) throw new Error(`emulator routes registered twice:\n${duplicates.join('\n')}`)
    for (const module of modules) if (module.start) await module.start(ctx)
    let load: Awaited<ReturnType<typeof import('./load/index.js').startLoad>> | undefined
    if (loadOption && ctx.loadSources.length > 0) {
      const {startLoad} = await import('./load/index.js')
      load = await startLoad(ctx.loadSources, typeof loadOption === 'object' ? loadOption : {})
      // Registered after the engines: closers run in reverse, so the load stops before the servers it writes to.
      closers.push(() => load!.stop())
    }
    await seedBlobContainers(ctx, blob)
    store.save()

    const identityHeader = randomUUID()
    const log = new RequestLog(options.limits?.requestLog)
    const handler = createHandler(
      {ctx, routes, lro, faults, log, store, identityHeader, blob, observe: exchangeObserver(options.onExchange, env[EXCHANGE_LOG_ENV])},
      {tokenLifetimeSeconds: options.tokenLifetimeSeconds, listPageSizes: options.listPageSizes},
    )
    const https = createHttpsServer({cert: certificate.certPem, key: certificate.keyPem}, (req, res) => void handler(req, res))
    https.keepAliveTimeout = EMULATOR_KEEP_ALIVE_MS
    const armPort = await listen(https, options.port ?? 0)
    closers.push(() => closeServer(https))
    const msi = createHttpServer((req, res) => void handler(req, res))
    msi.keepAliveTimeout = EMULATOR_KEEP_ALIVE_MS
    const msiPort = await listen(msi, 0)
    closers.push(() => closeServer(msi))

    const armEndpoint = `https://127.0.0.1:${armPort}`
    const identityEndpoint = `http://127.0.0.1:${msiPort}/msi/token`
    handler.setEndpoints({armEndpoint, identityEndpoint})
    let stopped = false
    return {
      armEndpoint,
      caFile: certificate.caFile,
      caPem: certificate.certPem,
      blob: {endpoint: blob.endpoint, account: blob.account, key: blob.key, connectionString: blob.connectionString},
      identityEndpoint,
      identityHeader,
      subscription,
      environmentName,
      faults,
      setLroDurationMs: (ms) => lro.setDefaultDurationMs(ms),
      setRoutingPropagationMs: (ms) => {
        ctx.routingPropagationMs = Math.max(0, ms)
      },
      requestLog: (since) => log.since(since),
      requestCount: () => log.count,
      clearRequestLog: () => log.clear(),
      state: {
        snapshot: () => store.snapshot(),
        slice: <T>(name: string) => (store.has(name) ? (store.snapshot()[name] as T) : undefined),
        operations: () => lro.list(),
        activity,
      },
      env: () => ({
        NODE_EXTRA_CA_CERTS: certificate.caFile,
        IDENTITY_ENDPOINT: identityEndpoint,
        IDENTITY_HEADER: identityHeader,
        AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential',
        OPSBOOK_EMULATOR_URL: armEndpoint,
        OPSBOOK_EMULATOR_CA: certificate.caFile,
        OPSBOOK_EMULATOR_BLOB: blob.endpoint,
        OPSBOOK_EMULATOR_SUBSCRIPTION: subscription,
      }),
      dataPlane: {
        mode: ctx.dataPlanes.postgres ? 'real' : 'modelled',
        notices: ctx.notices,
        ...(load ? {load: load.status} : {}),
        ...(ctx.dataPlanes.postgres
          ? {
              postgresVersion: ctx.dataPlanes.postgres.engine.binaries.packageVersion.replace(/^(\d+\.\d+).*$/, '$1'),
              postgresVersions: [...ctx.dataPlanes.postgres.engine.installed.values()].map((b) => b.packageVersion.replace(/^(\d+\.\d+).*$/, '$1')),
            }
          : {}),
      },
      async stop() {
        if (stopped) return
        stopped = true
        store.save()
        await runClosers(closers)
      },
    }
  } catch (error) {
    await runClosers(closers)
    throw error
  }
}

function exchangeObserver(callback: ((exchange: EmulatorExchange) => void) | undefined, logDir: string | undefined): ((exchange: EmulatorExchange) => void) | undefined {
  if (!callback && !logDir) return undefined
  const file = logDir ? join(logDir, `exchanges-${process.pid}.jsonl`) : undefined
  return (exchange) => {
    // Serialized at once: the body may be live state that a later request changes.
    const line = JSON.stringify(exchange)
    callback?.(JSON.parse(line) as EmulatorExchange)
    if (file) appendFileSync(file, `${line}\n`)
  }
}

async function runClosers(closers: Array<() => void | Promise<void>>): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close()
    } catch {
      // Closing is best effort: one stuck server must not keep the others open.
    }
  }
}

async function resolveEnvironment(options: StartEmulatorOptions): Promise<{environment: Environment; environmentName: string; catalogFile?: string}> {
  if (options.environment) return {environment: options.environment, environmentName: options.environmentName ?? 'local', catalogFile: options.catalogFile}
  const {loadCatalog, getEnvironment} = await import('../catalog/loader.js')
  const loaded = loadCatalog({flag: options.catalogFile})
  const name =
    options.environmentName ??
    Object.entries(loaded.catalog.environments).find(([, env]) => env.cloud === 'emulator')?.[0] ??
    Object.keys(loaded.catalog.environments)[0]!
  return {environment: getEnvironment(loaded, name), environmentName: name, catalogFile: loaded.file}
}

async function loadService(name: string, optional: boolean): Promise<ServiceModule | undefined> {
  const path = `./services/${name}.js`
  try {
    const module = (await import(path)) as Partial<ServiceModule>
    if (typeof module.routes !== 'function') throw new Error(`emulator service ${name} exports no routes(ctx)`)
    return module as ServiceModule
  } catch (error) {
    const code = (error as {code?: string}).code
    const missing = code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url|Does the file exist/i.test((error as Error).message)
    if (optional && missing && String((error as Error).message).includes(name)) return undefined
    throw error
  }
}

/** Containers the catalog names (evidence, Redis snapshots), created in Azurite's single account. */
async function seedBlobContainers(ctx: EmulatorContext, blob: RunningBlob): Promise<void> {
  const containers = new Set<string>()
  if (ctx.environment.evidence) containers.add(ctx.environment.evidence.container)
  for (const component of Object.values(ctx.environment.components))
    if ((component.type === 'redis' || component.type === 'managedredis') && component.snapshots) containers.add(component.snapshots.container)
  if (containers.size === 0) return
  const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
  // Past the gate (ctx.blobGate): creating the containers waits for nothing, and shows no blob.
  const service = new BlobServiceClient(blob.endpoint, new StorageSharedKeyCredential(blob.account, blob.key), {...INTERNAL_BLOB_CLIENT_OPTIONS, userAgentOptions: {userAgentPrefix: BLOB_GATE_PASS_AGENT}})
  for (const name of containers) await service.getContainerClient(name).createIfNotExists()
}

// ── routing ──────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Routes two registrations would both match: the same method and the same path shape (literal segments compared
 * case-insensitively as the router does, parameters whatever their names). One line per clash, naming both owners.
 */
export function duplicateRoutes(routes: Array<{service: string; route: Route}>): string[] {
  const seen = new Map<string, {service: string; route: Route}>()
  const clashes: string[] = []
  for (const entry of routes) {
    const shape = entry.route.pattern
      .split('/')
      .filter(Boolean)
      .map((s) => (/^\{\w+\}$/.test(s) ? '{}' : s.toLowerCase()))
      .join('/')
    const key = `${entry.route.method} /${shape}`
    const first = seen.get(key)
    if (first) clashes.push(`${key}: ${first.service} (${first.route.operation}) and ${entry.service} (${entry.route.operation})`)
    else seen.set(key, entry)
  }
  return clashes
}

interface CompiledRoute {
  route: Route
  segments: Array<{literal: string} | {param: string}>
}

function compileRoute(route: Route): CompiledRoute {
  const segments = route.pattern
    .split('/')
    .filter(Boolean)
    .map((s) => {
      const m = /^\{(\w+)\}$/.exec(s)
      return m ? {param: m[1]!} : {literal: s.toLowerCase()}
    })
  return {route, segments}
}

/** Match a path against the routes: literal segments case-insensitively, params percent-decoded. */
export function matchRoute(routes: CompiledRoute[], method: string, path: string): {route: Route; params: RouteParams} | {methodNotAllowed: true} | undefined {
  const parts = path.split('/').filter(Boolean)
  let pathMatched = false
  // HEAD falls back to the GET route only when no HEAD route is declared (ARM's HEAD on a resource group is 204/404).
  let headFallback: {route: Route; params: RouteParams} | undefined
  for (const compiled of routes) {
    if (compiled.segments.length !== parts.length) continue
    const params: RouteParams = {}
    let ok = true
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = compiled.segments[i]!
      const part = parts[i]!
      if ('literal' in segment) ok = safeDecode(part).toLowerCase() === segment.literal
      else params[segment.param] = safeDecode(part)
    }
    if (!ok) continue
    pathMatched = true
    const routeMethod = compiled.route.method
    if (routeMethod === method) return {route: compiled.route, params}
    if (method === 'HEAD' && routeMethod === 'GET') headFallback ??= {route: compiled.route, params}
  }
  if (headFallback) return headFallback
  return pathMatched ? {methodNotAllowed: true} : undefined
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

// ── request handling ─────────────────────────────────────────────────────────────────────────────────────────

interface HandlerDeps {
  ctx: EmulatorContext
  routes: CompiledRoute[]
  lro: Operations
  faults: Faults
  log: RequestLog
  store: JsonStateStore
  identityHeader: string
  blob: RunningBlob
  observe?: (exchange: EmulatorExchange) => void
}

type Handler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  setEndpoints(endpoints: {armEndpoint: string; identityEndpoint: string}): void
}

/**
 * The only paths the emulator serves without a bearer token (everything else on the ARM host is 401 without one,
 * checkBearerToken), each for the reason Azure serves its counterpart without one:
 * - `token`: the managed-identity token endpoint (`/msi/token`, IDENTITY_ENDPOINT). It is where a client gets a token,
 *   so it cannot ask for one; like App Service's identity endpoint it takes the `X-IDENTITY-HEADER` secret instead
 *   (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference).
 * - `discovery`: `/opsbook/emulator`, the emulator's own metadata document (subscription, Blob and identity
 *   endpoints, the names of the estate's identities for the message about a misspelt OPSBOOK_EMULATOR_IDENTITY; no
 *   resource data), read by `opsbook run` before it has a token to find the token endpoint — the
 *   counterpart of ARM's cloud metadata endpoint `/metadata/endpoints`, which clients read before they can sign in
 *   (`az cloud register --endpoint-resource-manager` fetches it when not given the AD endpoints, shared/notes/az-offline.md).
 */
export const UNAUTHENTICATED_PATHS = {token: /^\/msi\/token$/i, discovery: /^\/opsbook\/emulator$/i} as const

function createHandler(deps: HandlerDeps, options: {tokenLifetimeSeconds?: number; listPageSizes?: Record<string, number>} = {}): Handler {
  const endpoints = {armEndpoint: '', identityEndpoint: ''}
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now()
    // When the request arrived: the time of its Activity Log "Started" event, if it is a write.
    const arrivedAt = deps.ctx.clock().toISOString()
    const rawBody = await readBody(req)
    // `//subscriptions/…` (arm-monitor inserts resource ids unencoded) must not be read as a host.
    const rawUrl = (req.url ?? '/').replace(/^\/+/, '/')
    const q = rawUrl.indexOf('?')
    const requestedPath = (q < 0 ? rawUrl : rawUrl.slice(0, q)).replace(/(.)\/+$/, '$1')
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1))
    const secure = 'encrypted' in req.socket
    // A fleet copy of the subscription (estate `fleet`) is served from the environment's own (fleet.ts).
    const copy = secure ? fromCopy(deps.ctx, requestedPath) : undefined
    const path = copy?.path ?? requestedPath
    const request: EmulatorRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      query,
      headers: req.headers,
      body: parseJson(rawBody),
      rawBody,
      baseUrl: secure ? endpoints.armEndpoint : `http://${req.headers.host ?? '127.0.0.1'}`,
      ...(copy ? {copy: copy.copy} : {}),
    }
    let operation = 'unknown'
    let response: EmulatorResponse
    let extraHeaders: Record<string, string> = {}
    try {
      if (UNAUTHENTICATED_PATHS.token.test(path)) {
        operation = 'identity.token'
        response = tokenResponse(request, deps, options.tokenLifetimeSeconds)
      } else if (!secure) {
        response = armError(400, 'HttpsRequired', 'The emulator serves ARM over https only; this port serves the managed-identity token endpoint.')
      } else if (UNAUTHENTICATED_PATHS.discovery.test(path)) {
        operation = 'emulator.info'
        response = {
          status: 200,
          body: {subscription: deps.ctx.subscription, environment: deps.ctx.environmentName, blob: {endpoint: deps.blob.endpoint, account: deps.blob.account}, identityEndpoint: endpoints.identityEndpoint, identities: estatePrincipals(deps.ctx)},
        }
      } else {
        const monitorOperation = 'lro.monitor'
        await deps.faults.delay()
        const matched = matchRoute(deps.routes, request.method, path)
        const isMonitor = deps.lro.isMonitor(request)
        operation = matched && 'route' in matched ? matched.route.operation : isMonitor ? monitorOperation : 'unknown'
        // A held operation (fault holdOperations) is answered once the fault is lifted, or not at all if the client left.
        await Promise.race([deps.faults.held(operation), new Promise<void>((resolve) => res.once('close', () => resolve()))])
        const testPageSize = options.listPageSizes?.[operation]
        if (testPageSize !== undefined && testPageSize > 0) request.pageSize = testPageSize
        const apiVersionProblem = isMonitor ? undefined : checkApiVersion(path, query)
        if (deps.faults.takeReset(request.method)) {
          // A dropped connection: no answer at all, the client sees ECONNRESET.
          req.socket.destroy()
          log(deps, request, requestedPath, query, operation, 0, started)
          return
        }
        const tokenProblem = await checkBearerToken(request, deps, operation)
        // ARM authorizes after authenticating and before the provider sees the request.
        const forbidden = tokenProblem || apiVersionProblem || isMonitor ? undefined : authorizationFailure(deps.ctx, request, path)
        const intercepted = apiVersionProblem || tokenProblem || forbidden ? {headers: {}} : deps.faults.intercept(request.method, operation)
        extraHeaders = intercepted.headers
        if (tokenProblem) response = tokenProblem
        else if (apiVersionProblem) response = apiVersionProblem
        else if (forbidden) response = forbidden
        else if (intercepted.response) response = intercepted.response
        else {
          // A finished Location monitor of a PUT/PATCH (or a POST naming its resource) answers with the resource as its
          // GET route reads it (lro.ts `completed`).
          const monitor = await deps.lro.handleMonitor(request, async (resourcePath, poll) => {
            const found = matchRoute(deps.routes, 'GET', resourcePath)
            if (!found || !('route' in found)) return undefined
            return found.route.handler({...poll, method: 'GET', path: resourcePath, body: undefined, rawBody: Buffer.alloc(0)}, found.params)
          })
          if (monitor) response = monitor
          else if (matched && 'route' in matched) response = await matched.route.handler(request, matched.params)
          else if (matched) response = armError(405, 'MethodNotAllowed', `The requested method ${request.method} is not allowed for ${path}.`)
          else response = notFoundFor(deps.ctx, path)
        }
      }
    } catch (error) {
      response =
        error instanceof ArmFailure
          ? armError(error.status, error.code, error.message, error.details ? {details: error.details} : {})
          : armError(500, 'InternalServerError', `The emulator failed to handle ${request.method} ${path}: ${(error as Error).message}`)
      if (!(error instanceof ArmFailure)) process.stderr.write(`opsbook emulator: ${(error as Error).stack ?? error}\n`)
    }
    // ARM's correlation id for this request: the client's own when it sent one, as ARM keeps it; the same id goes
    // into the Activity Log events of a write (services/activity-log.ts) and the response header.
    const correlationId = String(request.headers['x-ms-correlation-request-id'] ?? randomUUID())
    if (secure && operation !== 'emulator.info' && request.method !== 'GET' && request.method !== 'HEAD') {
      const origin = recordArmWrite(deps.ctx, request, requestedPath, response, correlationId, arrivedAt)
      // A long-running write: its operation's end is the write's last event (Succeeded or Failed).
      const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]))
      const monitor = headers['azure-asyncoperation'] ?? headers.location
      if (origin && monitor && (response.status === 201 || response.status === 202))
        deps.lro.whenFinished(monitor, (op) => recordOperationEnd(deps.ctx, origin, op.status === 'Succeeded' ? 'Succeeded' : 'Failed', op.endTime))
    }
    if (request.method !== 'GET' && request.method !== 'HEAD' && response.status < 500) deps.store.save()
    if (copy) response = {...response, headers: response.headers && asCopy(deps.ctx, response.headers, copy.copy), body: asCopy(deps.ctx, response.body, copy.copy)}
    const sentHeaders = send(res, request, response, extraHeaders, correlationId)
    deps.observe?.({method: request.method, path: requestedPath, query: query.toString(), status: response.status, headers: sentHeaders, body: jsonBodyOf(response)})
    log(deps, request, requestedPath, query, operation, response.status, started)
  }
  return Object.assign(handler, {setEndpoints: (e: {armEndpoint: string; identityEndpoint: string}) => Object.assign(endpoints, e)})
}

/** Record a request in the emulator's request log (status 0: the connection was dropped without an answer). */
function log(deps: HandlerDeps, request: EmulatorRequest, path: string, query: URLSearchParams, operation: string, status: number, started: number): void {
  deps.log.push({
    at: new Date().toISOString(),
    method: request.method,
    path,
    query: query.toString(),
    operation,
    status,
    durationMs: Math.round(performance.now() - started),
  })
}

/** Longest an injected token expiry holds a request waiting for its token to run out. */
const TOKEN_EXPIRY_HOLD_MS = 10_000


/** The audiences ARM accepts (and lists in InvalidAuthenticationTokenAudience; see checkBearerToken). */
const ARM_AUDIENCES = ['https://management.core.windows.net/', 'https://management.core.windows.net', 'https://management.azure.com/', 'https://management.azure.com']

/**
 * The audiences a token must be for, by what the request is: the data planes the emulator serves beside ARM take
 * their own service's tokens (Key Vault https://vault.azure.net, Log Analytics https://api.loganalytics.io, the
 * Monitor metrics data plane https://metrics.monitor.azure.com); everything else is ARM. The metrics data plane also
 * takes ARM tokens here: opsbook's own MetricsClient asks for the ARM scope against the emulator (clients.ts).
 */
function audiencesFor(operation: string): string[] {
  if (operation.startsWith('keyvault.data.')) return ['https://vault.azure.net']
  if (operation === 'monitor.logs.query') return ['https://api.loganalytics.io']
  if (operation === 'monitor.metrics.getBatch') return ['https://metrics.monitor.azure.com', ...ARM_AUDIENCES]
  return ARM_AUDIENCES
}

/**
 * ARM authenticates a bearer token before anything else: the emulator validates it as Azure does a Microsoft Entra
 * token (tokens.ts, verifyToken — https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens):
 * signed by the emulator's token issuer (its managed-identity endpoint, `/msi/token`, the only issuer clients of the
 * emulator get tokens from — DefaultAzureCredential through IDENTITY_ENDPOINT, `az` through a token cache seeded from
 * that endpoint), for the catalog's tenant, for an audience the service takes, within its lifetime, naming a
 * principal. Failures are 401 with ARM's codes and texts and an RFC 6750 §3.1 challenge
 * (`WWW-Authenticate: Bearer … error="invalid_token"`, https://www.rfc-editor.org/rfc/rfc6750#section-3.1):
 * - not a token, not signed, or a signature that does not verify: InvalidAuthenticationToken, "The access token is
 *   invalid." / "The access token has invalid signature." (ARM's answers, e.g. Azure/azure-powershell#27882);
 * - another tenant's issuer: InvalidAuthenticationTokenTenant, "The access token is from the wrong issuer …";
 * - another audience: InvalidAuthenticationTokenAudience with the allowed audiences (ARM's text, e.g.
 *   JetBrains/azure-tools-for-intellij#16);
 * - no principal: InvalidAuthenticationToken, "… at least one of the claims 'puid' or 'altsecid' or 'oid' should be
 *   present" (Azure/azure-sdk-for-java#1714);
 * - past its `exp`: ExpiredAuthenticationToken (seen from ARM e.g. in Azure/azure-sdk-for-java#33112); the client must
 *   get a new token and send again. The SDK's bearer policy only answers CAE (`insufficient_claims`) challenges
 *   itself, so opsbook's retry policy re-sends, and the bearer policy then fetches a fresh token because the cached
 *   one has expired. With injected token expiry a request is held until the token it carries has expired
 *   (bounded), then refused.
 * A request with no Authorization header is refused too, as ARM refuses it: 401 AuthenticationFailed "Authentication
 * failed. The 'Authorization' header is missing." with the challenge `Bearer authorization_uri="https://login.windows.net/<tenant>",
 * error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`
 * (the body as ARM answers it, seen from ARM in hashicorp/terraform-provider-azurerm#3612 and Azure/azure-sdk-for-net#4103,
 * and documented the same for Azure Monitor's query endpoint in MicrosoftDocs' "Resource-scoped queries for Azure
 * Monitor workspace", Error handling; the challenge as the Azure SDKs' own tests quote ARM's:
 * Azure/azure-sdk-for-net sdk/core/Azure.Core/tests/AuthorizationChallengeParserTests.cs `ArmChallenge`, and with the
 * subscription's tenant in authorization_uri, which tools read to find a subscription's tenant: Azure/aks-engine's
 * mock of GET /subscriptions/{id} in pkg/armhelpers, FindTenantID in Azure/go-autorest). An Authorization header of
 * another scheme is 401 AuthenticationFailedInvalidHeader "Authentication failed. The 'Authorization' header is
 * provided in an invalid format." (ARM's answer in Azure/azure-sdk-for-python#4124).
 * The Logs query and Monitor metrics data planes, on their own hosts in Azure, answer with their own documented shapes
 * (serviceAnswer below); the challenge header is the same. Not checked here: the Key Vault data plane (`keyvault.data.*`), whose
 * route answers a missing token with Key Vault's own 401 (keyvault-data.ts). Served without a token at all (handled before this check, see UNAUTHENTICATED_PATHS):
 * the token endpoint and the emulator's discovery document.
 */
async function checkBearerToken(request: EmulatorRequest, deps: HandlerDeps, operation: string): Promise<EmulatorResponse | undefined> {
  const refused = await checkArmBearerToken(request, deps, operation)
  return refused && serviceAnswer(operation, refused)
}

/**
 * What the data planes beside ARM answer instead of ARM's refusal:
 * - the Log Analytics query API (`monitor.logs.query`, api.loganalytics.io) documents its own answers
 *   (https://learn.microsoft.com/azure/azure-monitor/logs/api/errors): no Authorization header, 401 AuthenticationFailed
 *   "Authentication failed. The 'Authorization' header is missing." (ARM's body, unchanged); a token that is not valid,
 *   **403** InvalidAuthenticationToken "The access token is invalid."; a token for another audience, **403**
 *   InvalidAuthenticationTokenAudience. Its error body is the spec's ErrorResponse `{error: {code, message,
 *   innererror?}}` (specification/monitor/data-plane/OperationalInsights/stable/v1/OperationalInsights.json). So every
 *   refusal of the token itself is 403 there, with the page's text for an invalid one (the reason the emulator found is
 *   kept in the challenge's error_description). An expired token stays 401 ExpiredAuthenticationToken: the page lists no
 *   answer for it, and a 401 is what makes the client fetch a new token and send again.
 * - the Monitor metrics data plane (`monitor.metrics.getBatch`, metrics.monitor.azure.com) answers errors with
 *   common-types v3 ErrorResponse `{error: {code, message, …}}`
 *   (specification/monitor/data-plane/Microsoft.Insights/stable/2024-02-01/metricBatch.json, `default` response) —
 *   ARM's shape. Its documented statuses (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api,
 *   "Troubleshooting"; MicrosoftDocs/azure-monitor-docs articles/azure-monitor/metrics/migrate-to-batch-api.md
 *   @ 0f267057): 401 when the caller lacks Monitoring Reader on the subscription, 403 when Microsoft.Insights is not
 *   registered, 529 when throttled (faults.ts answers that). No page gives its codes for a refused token, so ARM's are
 *   kept (marked: not confirmed).
 * The WWW-Authenticate challenge is the same on every refusal (RFC 6750 §3.1).
 */
function serviceAnswer(operation: string, refused: EmulatorResponse): EmulatorResponse {
  if (operation !== 'monitor.logs.query' || refused.status !== 401) return refused
  const code = (refused.body as {error?: {code?: string}} | undefined)?.error?.code
  if (code === 'InvalidAuthenticationTokenAudience') return {...refused, status: 403}
  if (code === 'InvalidAuthenticationToken' || code === 'InvalidAuthenticationTokenTenant')
    return {...refused, status: 403, body: {error: {code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}}}
  return refused
}

async function checkArmBearerToken(request: EmulatorRequest, deps: HandlerDeps, operation: string): Promise<EmulatorResponse | undefined> {
  const auth = String(request.headers.authorization ?? '')
  const tenant = deps.ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000'
  if (!/^Bearer\s+/i.test(auth)) {
    if (operation.startsWith('keyvault.data.')) return undefined
    return auth.trim() === '' ? missingAuthorization(request, tenant) : invalidAuthorizationHeader()
  }
  const audiences = audiencesFor(operation)
  const check = verifyToken(auth.replace(/^Bearer\s+/i, '').trim(), {audience: audiences, tenant, certificate: deps.ctx.certificate, lifetime: false})
  if (!check.ok) {
    switch (check.problem) {
      case 'malformed':
      case 'unsigned':
        return invalidToken('InvalidAuthenticationToken', 'The access token is invalid.')
      case 'signature':
        return invalidToken('InvalidAuthenticationToken', 'The access token has invalid signature.')
      case 'issuer':
        return invalidToken(
          'InvalidAuthenticationTokenTenant',
          `The access token is from the wrong issuer '${String(check.claims?.iss ?? '')}'. It must match the tenant '${issuerOf(tenant)}' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${tenant}' to get the token.`,
        )
      case 'audience':
        return invalidToken(
          'InvalidAuthenticationTokenAudience',
          `The access token has been obtained for wrong audience or resource '${String(check.claims?.aud ?? '')}'. It should exactly match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(',')}.`,
        )
      default:
        return invalidToken(
          'InvalidAuthenticationToken',
          "The received access token is not valid: at least one of the claims 'puid' or 'altsecid' or 'oid' should be present. If you are accessing as application please make sure service principal is properly created in the tenant.",
        )
    }
  }
  const exp = check.claims.exp
  if (typeof exp !== 'number') return invalidToken('InvalidAuthenticationToken', 'The access token is invalid.')
  // A token valid for longer than the hold is served: refusing it would not make the client renew it (its cache
  // says it is valid), so the fault applies to short-lived tokens only (tokenLifetimeSeconds, expireTokens.lifetimeSeconds).
  const wait = exp * 1000 - Date.now()
  if (wait > 0 && wait <= TOKEN_EXPIRY_HOLD_MS && deps.faults.takeTokenExpiry()) {
    await new Promise((resolve) => setTimeout(resolve, wait + 5))
    return expiredToken(exp)
  }
  if (Date.now() >= exp * 1000) return expiredToken(exp)
  if (typeof check.claims.nbf === 'number' && check.claims.nbf - 300 > Date.now() / 1000) return invalidToken('InvalidAuthenticationToken', 'The access token is not yet valid.')
  return undefined
}

/** ARM's answer to a request without an Authorization header (see checkBearerToken for the sources). */
function missingAuthorization(request: EmulatorRequest, tenant: string): EmulatorResponse {
  const response = armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.")
  // ARM names the subscription's tenant when the request names a subscription, the bare authority otherwise.
  const authority = /^\/subscriptions\/[^/]+/i.test(request.path) ? `https://login.windows.net/${tenant}` : 'https://login.windows.net/'
  response.headers = {
    'WWW-Authenticate': `Bearer authorization_uri="${authority}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
  }
  return response
}

function invalidAuthorizationHeader(): EmulatorResponse {
  return armError(401, 'AuthenticationFailedInvalidHeader', "Authentication failed. The 'Authorization' header is provided in an invalid format.")
}

function invalidToken(code: string, message: string): EmulatorResponse {
  const response = armError(401, code, message)
  response.headers = {'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`}
  return response
}

function expiredToken(exp: number): EmulatorResponse {
  const response = armError(
    401,
    'ExpiredAuthenticationToken',
    `The access token expiry UTC time '${new Date(exp * 1000).toISOString()}' is earlier than current UTC time '${new Date().toISOString()}'.`,
  )
  response.headers = {
    'WWW-Authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The access token has expired."',
  }
  return response
}

/**
 * ARM rejects a management request without an api-version before anything else (400 MissingApiVersionParameter),
 * and one that is not a version at all or not one the provider serves (400 InvalidApiVersionParameter, api-versions.ts). Only ARM management paths are checked:
 * the Monitor data plane (`metrics:getBatch`, which has its own host in Azure), the logs query, the token endpoint,
 * discovery, the emulator's own admin and data-probe paths (`/_emulator/…`, `…/opsbookData`) and the
 * long-running-operation monitors it hands out (which carry the initial request's api-version anyway) are not.
 */
export function checkApiVersion(path: string, query: URLSearchParams): EmulatorResponse | undefined {
  if (!/^\/(subscriptions|providers)(\/|$)/i.test(path) || /\/metrics:getBatch$|\/opsbookData$/i.test(path)) return undefined
  const apiVersion = query.get('api-version')
  if (apiVersion === null || apiVersion === '')
    return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.')
  if (!/^\d{4}-\d{2}-\d{2}(-[a-z0-9.]+)?$/i.test(apiVersion))
    return armError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are dates such as '2025-08-01' or '2025-08-01-preview'.`)
  return unsupportedApiVersion(path, apiVersion)
}

function notFoundFor(ctx: EmulatorContext, path: string): EmulatorResponse {
  const sub = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?/i.exec(path)
  if (sub) {
    const scope = checkScope(ctx, safeDecode(sub[1]!), sub[2] === undefined ? undefined : safeDecode(sub[2]))
    if (scope) return scope
    const id = parseResourceId(path)
    if (id) return resourceNotFound(id.type, id.name, id.resourceGroup)
  }
  return armError(404, 'NotFound', `No route for ${path} in the opsbook emulator (see README: what the emulator covers).`)
}

/**
 * App Service's identity endpoint takes a request only with `X-IDENTITY-HEADER` set to the IDENTITY_HEADER secret it
 * gives the app (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference:
 * "X-IDENTITY-HEADER — Required. The value of the IDENTITY_HEADER environment variable. This header is used to help
 * mitigate server-side request forgery (SSRF) attacks"). The page documents no error body for a missing or wrong
 * one. The status is seen from Azure: App Service's endpoint answers a request with a bad X-IDENTITY-HEADER 401
 * (Azure/azure-sdk-for-js#11595, "returns `401` … and uses `x-identity-header`", where the older `secret` header got
 * 400).
 *
 * The body's shape is App Service's own error shape, not IMDS's OAuth one: an answer of a real App Service identity
 * endpoint, relayed by MSAL's test service (a web app exposing its own MSI endpoint), is
 * `{"statusCode":500,"message":"An unexpected error occured while fetching the AAD Token.","correlationId":"91acf506-…"}`
 * (AzureAD/microsoft-authentication-library-for-dotnet, tests/devapps/Managed Identity apps/MSIHelperService/readme.md
 * @ 18cf7a17fdc5565afcca9ed2babeef20537d97f5), and MSAL's App Service tests mock errors in that shape
 * (msal4j ManagedIdentityTests getMsiErrorResponse, MSAL Go managedidentity_test.go ErrorResponse{StatusCode, Message,
 * CorrelationID}). @azure/identity (through @azure/msal-node 5, BaseManagedIdentitySource.getServerTokenResponse)
 * reads `message` as the error description and `correlationId`, so a user sees the message. The message text for
 * this refusal is still the emulator's: no recorded 401 body was found (searched: azure-sdk-for-js/-net/-python and
 * MSAL .NET/Java/Go/node issues and tests on ManagedIdentityCredential 401/400/403 and X-IDENTITY-HEADER; Container
 * Apps' compatible endpoint answered a request without the header `403 Forbidden` with an empty body,
 * AzureAD/microsoft-authentication-library-for-dotnet#5245, another service). Searched again (stop 26, 2026-12-03),
 * nothing citable: Azure/azure-functions-host#7273 (a 401 from the identity endpoint, no body quoted),
 * Azure/azure-sdk-for-net#30467 (a 403 with a non-JSON body; the SDK team notes the REST reference names no error
 * codes), azure-sdk-for-net#40848 (App Service's 500 text, the one quoted above) and azure-sdk-for-js#11595 (no 401
 * body quoted); find_string for "X-IDENTITY-HEADER is" and '"statusCode":401,"message"' found only a third-party
 * test's own mock text, no Azure answer. One more real App Service identity answer, to another request, confirms the
 * shape: a Functions app asking (api-version 2017-09-01, `secret` header) for a user-assigned identity it did not
 * have got 400 `{"StatusCode":400,"Message":"No MSI found for specified ClientId/ResourceId.","CorrelationId":"…"}`
 * (https://github.com/MicrosoftDocs/azure-docs/issues/43543); the emulator answers an identity the estate does not
 * have that way (noIdentityRefusal). Again in stop 28 (specs8): the issues corpus for X-IDENTITY-HEADER 401 bodies
 * (azure-sdk-for-python#11346: the 2019-08-01 success body only; azure-sdk-for-net#13054, #30467; azure-sdk-for-js#11595;
 * MSAL .NET #3794 and #3862: mocks) — no recorded 401 body; the message stays the emulator's. NOT FOUND IN
 * PUBLISHED SOURCES, searched again in stop 31 (specs12): the issues corpus for the identity endpoint's 401 with
 * X-IDENTITY-HEADER finds the same threads plus Azure/azure-sdk-for-net#46932, where another service's compatible
 * endpoint (an Azure Machine Learning job, not App Service) answered a wrong header with the plain text "Invalid
 * secret token header: ." — not App Service's answer, and not JSON, so not used. The shape (App Service's
 * {statusCode, message, correlationId}) is App Service's; the two message texts are the emulator's.
 * Compared in constant time (it is a secret).
 */
function identityHeaderRefused(sent: string | string[] | undefined, secret: string): EmulatorResponse | undefined {
  const value = Array.isArray(sent) ? sent[0] : sent
  const refused = (message: string): EmulatorResponse => ({status: 401, body: {statusCode: 401, message, correlationId: randomUUID()}})
  if (!value) return refused('Required header X-IDENTITY-HEADER is missing: send the IDENTITY_HEADER value.')
  const a = Buffer.from(value)
  const b = Buffer.from(secret)
  if (a.length !== b.length || !timingSafeEqual(a, b)) return refused("The X-IDENTITY-HEADER value is not this endpoint's IDENTITY_HEADER.")
  return undefined
}

function tokenResponse(request: EmulatorRequest, deps: HandlerDeps, lifetimeSeconds = 3600): EmulatorResponse {
  const refused = identityHeaderRefused(request.headers['x-identity-header'], deps.identityHeader)
  if (refused) return refused
  const resource = (request.query.get('resource') ?? request.query.get('scope') ?? 'https://management.azure.com/').replace(/\/\.default$/, '')
  const now = Math.floor(Date.now() / 1000)
  const expiresOn = now + (deps.faults.tokenLifetimeSeconds() ?? lifetimeSeconds)
  const tenant = deps.ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000'
  // Signed RS256 by the emulator's own issuer (tokens.ts): ARM (checkBearerToken) and the PostgreSQL data plane
  // validate it as Azure validates a Microsoft Entra token.
  // A user-assigned identity is asked for by client_id, object_id/principal_id or mi_res_id; the estate's identities answer.
  const asked = ['client_id', 'object_id', 'principal_id', 'mi_res_id'].map((k) => request.query.get(k)).find(Boolean)
  const principal = requestedPrincipal(deps.ctx, asked)
  if (asked && !principal) return noIdentityRefusal()
  const oid = principal?.objectId ?? DEFAULT_PRINCIPAL
  const token = signToken(
    {aud: resource, iss: issuerOf(tenant), iat: now, nbf: now - 60, exp: expiresOn, oid, sub: oid, tid: tenant, appid: principal?.clientId ?? 'opsbook-emulator'},
    deps.ctx.certificate,
  )
  return {
    status: 200,
    body: {access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: principal?.clientId ?? 'opsbook-emulator'},
  }
}

/**
 * A user-assigned identity the app does not have (none of the estate's `identities:` by name, client id or object id):
 * App Service answers 400 with its own error shape, PascalCase as recorded — a Functions app asking for an identity it
 * did not have got `{"StatusCode":400,"Message":"No MSI found for specified ClientId/ResourceId.","CorrelationId":"…"}`
 * (https://github.com/MicrosoftDocs/azure-docs/issues/43543, api-version 2017-09-01; the same answer is assumed for
 * 2019-08-01, which @azure/identity sends). Never the default principal's token instead: that one holds Owner, so a
 * misspelt OPSBOOK_EMULATOR_IDENTITY would pass for the wrong reason. (msal-node reads only a lowercase `message`, so
 * the SDK's error does not carry this text; opsbook's credential names the variable itself, azure/clients.ts.)
 */
function noIdentityRefusal(): EmulatorResponse {
  return {status: 400, body: {StatusCode: 400, Message: 'No MSI found for specified ClientId/ResourceId.', CorrelationId: randomUUID()}}
}

/** The response body as JSON (for exchange observers), undefined when there is none or it is not JSON. */
function jsonBodyOf(response: EmulatorResponse): unknown {
  if (response.body === undefined || response.status === 204) return undefined
  if (Buffer.isBuffer(response.body) || typeof response.body === 'string') return parseJson(Buffer.from(response.body))
  return response.body
}

function send(res: ServerResponse, request: EmulatorRequest, response: EmulatorResponse, extra: Record<string, string>, correlationId: string): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': correlationId,
    ...extra,
    ...response.headers,
  }
  let payload: Buffer | undefined
  if (response.body !== undefined && response.status !== 204) {
    if (Buffer.isBuffer(response.body)) payload = response.body
    else if (typeof response.body === 'string') payload = Buffer.from(response.body)
    else {
      payload = Buffer.from(JSON.stringify(response.body))
      headers['Content-Type'] ??= 'application/json; charset=utf-8'
    }
  }
  if (payload) headers['Content-Length'] = String(payload.length)
  else headers['Content-Length'] = '0'
  res.writeHead(response.status, headers)
  res.end(request.method === 'HEAD' ? undefined : payload)
  return headers
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    return undefined
  }
}

function listen(server: HttpServer | HttpsServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
