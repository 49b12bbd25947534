/**
 * The shared context every emulator service module receives: `export function routes(ctx: EmulatorContext): Route[]`.
 *
 * The core (server.ts) builds one context per running emulator and hands it to each service module
 * (postgres, redis, webapp, monitor, resource-graph, arm-misc). Services keep their resources in `ctx.store`
 * slices, run long-running operations through `ctx.lro`, consult `ctx.faults` for injected faults and record
 * notable events in `ctx.activity` so the monitor service can derive metrics and log rows from them.
 *
 * This file is a contract between engineers: add members, never change or remove existing ones.
 */
import type {Environment} from '../catalog/schema.js'
import type {PostgresDataPlane} from './engines/postgres-plane.js'
import type {LoadSource} from './load/types.js'
import type {EmulatorRequest, EmulatorResponse, Route} from './types.js'

/**
 * Everything a service module needs. Built once per emulator; the same object is passed to every module.
 */
export interface EmulatorContext {
  /** Subscription id the emulator serves (the catalog environment's). Requests for other subscriptions get 404 SubscriptionNotFound. */
  subscription: string
  /** The catalog environment the emulator seeds itself from (region, pairedRegion, resourceGroups, components, …). */
  environment: Environment
  /** Name of that environment in the catalog, e.g. `local`. */
  environmentName: string
  /** Persistent JSON state (in memory for tests, a JSON file under stateDir for the CLI). */
  store: StateStore
  /** Long-running operations the ARM way (201/202 + Azure-AsyncOperation/Location, time-based progress). */
  lro: LroManager
  /** Injected faults; read them at request time, tests change them while the emulator runs. */
  faults: FaultInjector
  /**
   * The in-process Azurite Blob endpoint. Every storage account of the catalog maps onto Azurite's single
   * account (`devstoreaccount1`), so container names share one namespace across accounts.
   */
  blob: BlobEndpoint
  /**
   * Holds Azurite's answers until work they must reflect is done (blob.ts BlobRequestGate): `waiter` is asked with the
   * container a request names (undefined: the whole account) and returns a promise to wait for, or undefined. Its
   * promise must not reject. Requests with blob.ts's BLOB_GATE_PASS_AGENT User-Agent prefix are not held.
   */
  blobGate?: {add(waiter: (container: string | undefined) => Promise<void> | undefined): void}
  /** The emulator's notion of now. Use it instead of `new Date()` so timings stay consistent. */
  clock: () => Date
  /** Events that happened to resources (swaps, restores, promotions, unhealthy slots, …), newest last. */
  activity: ActivityLog
  /** The TLS certificate the ARM host serves; slot HTTP hosts may reuse it (localhost + 127.0.0.1 SANs). */
  certificate: EmulatorCertificate
  /** Register cleanup (close servers, clear timers) run when the emulator stops, in reverse order of registration. */
  onClose(fn: () => void | Promise<void>): void
  /**
   * Whether seed functions should create the catalog's resources (false: start empty, e.g. for tests that
   * create everything themselves). Check it inside your `store.slice(name, seed)` seed functions.
   */
  seedFromCatalog: boolean
  /**
   * Folder for real data-plane engines (e.g. one redis-server's dump file per cache): `<stateDir>/engines`, or
   * under a temporary folder for an in-memory emulator. `opsbook emulator reset` removes it.
   */
  dataDir: string
  /**
   * Settings the catalog does not describe (opsbook.estate.yaml beside the catalog, or a `--scenario`), applied over
   * Azure's defaults once, when the state is first seeded (services/estate.ts).
   */
  estate?: import('./estate.js').Estate
  /** Real database engines behind the emulated resources; a missing one means that data plane is modelled. */
  dataPlanes: {postgres?: PostgresDataPlane}
  /** Servers the load generator writes into: services add theirs in `start()`; the core starts the load after. */
  loadSources: LoadSource[]
  /** Whether the load generator will run (it starts after the services' `start()`). */
  loadOn: boolean
  /** How far geo-redundant backups trail the primary (default GEO_BACKUP_LAG_MS, 5 minutes; tests shorten it). */
  geoBackupLagMs?: number
  /**
   * How long a Traffic Manager / Front Door routing change takes to reach clients (Traffic Manager: at most the DNS
   * TTL): the environment's emulator.lroSeconds (default 3 s) unless startEmulator's routingPropagationMs says otherwise.
   */
  routingPropagationMs: number
  /** Lines `opsbook emulator start` prints about the data planes (e.g. a mapped version, a missing engine). */
  notices: string[]
  /** The environment the emulator reads its settings from (startEmulator's `env`, default process.env). */
  env?: NodeJS.ProcessEnv
}

/** A service module: its routes, plus an optional async start hook (e.g. to open slot HTTP ports before serving). */
export interface ServiceModule {
  routes(ctx: EmulatorContext): Route[]
  /** Called once after `routes`, before the emulator reports itself started. */
  start?(ctx: EmulatorContext): Promise<void>
}

export interface BlobEndpoint {
  /** e.g. http://127.0.0.1:40375/devstoreaccount1 (path-style, the account included). */
  endpoint: string
  /** Always `devstoreaccount1`. */
  account: string
  /** The account's shared key (Azurite's well-known key). */
  key: string
}

export interface EmulatorCertificate {
  certPem: string
  keyPem: string
  /** Path of the PEM file a client must trust (NODE_EXTRA_CA_CERTS / curl --cacert). */
  caFile: string
}

/**
 * State persisted with the emulator. Each service owns one or more named slices.
 */
export interface StateStore {
  /**
   * The live, JSON-serializable object stored under `name`, created with `seed()` the first time (first start,
   * or after a reset). Mutate it in place; the core persists all slices after every request and every completed
   * long-running operation. Do not keep class instances, Dates or functions in it: store ISO strings.
   */
  slice<T extends object>(name: string, seed: () => T): T
  /** Persist now (only needed for changes made outside a request or operation, e.g. by a timer). */
  save(): void
  /** Whether a slice exists; forget one whose data moved elsewhere (the activity log into its own file). */
  has?(name: string): boolean
  drop?(name: string): void
  /**
   * Whether the state found on disk was for another environment or subscription (or format) and was set aside: the
   * state started over, and what else belongs to it (the activity log) starts over too.
   */
  readonly startedOver?: boolean
}

/** An ARM error that ends a long-running operation as Failed, or (thrown from a handler) becomes an error response. */
export class ArmFailure extends Error {
  readonly code: string
  /** HTTP status when thrown from a route handler (default 400); unused for failed operations. */
  readonly status: number
  readonly details?: unknown[]
  constructor(code: string, message: string, options: {status?: number; details?: unknown[]} = {}) {
    super(message)
    this.name = 'ArmFailure'
    this.code = code
    this.status = options.status ?? 400
    this.details = options.details
  }
}

export interface LroStartOptions {
  /** The request that starts the operation (its api-version and base URL go into the monitor URLs). */
  request: EmulatorRequest
  /** Route operation name, e.g. `postgres.create`; fault injection (fail / never finish) matches on it. */
  operation: string
  /** Azure region of the resource, e.g. `eastus`; goes into the monitor URL like ARM does. */
  location: string
  /** Resource provider namespace, e.g. `Microsoft.DBforPostgreSQL`; goes into the monitor URL. */
  provider: string
  /** The resource the operation acts on (for the activity log and resourceLocation). */
  resourceId?: string
  /** How long the operation stays InProgress; default: the emulator's lroDurationMs. */
  durationMs?: number
  /**
   * Applied once, when the operation's time is up (on the first poll or GET after that, or by a timer).
   * Throw an `ArmFailure` to end the operation Failed with that code and message.
   */
  run: () => Promise<void> | void
  /**
   * `azure-async-operation`: the response carries Azure-AsyncOperation and Location (SDKs poll the former).
   * `location`: only Location (202 while running, 200 when done).
   */
  kind: 'azure-async-operation' | 'location'
  /** Status of the initial response. */
  initialStatus: 201 | 202
  /** Body of the initial response (e.g. the resource with provisioningState Creating); none by default. */
  body?: unknown
  /**
   * Body of the Location monitor's final 200; a function is evaluated when the operation completes. Without it the
   * finished monitor answers by the starting method (lro.ts `completed`): DELETE 204, PUT/PATCH 200 with the resource,
   * POST 200 with `finalResource` or no body.
   */
  result?: unknown | (() => unknown)
  /** A POST's resource whose GET is the finished Location monitor's 200 body (App Service's slot swap: the slot). */
  finalResource?: string
  /**
   * The `Location` header names the resource being created (the request's own URL) instead of a monitor: what Azure
   * Cache for Redis answers a create with (recorded 201s in test/fixtures/azure-cli-recordings/redis: `Location:
   * …/Microsoft.Cache/redis/{name}` beside `Azure-AsyncOperation: …/locations/West%20Europe/asyncOperations/{id}`).
   */
  locationIsResource?: boolean
  /**
   * Monitor path style. Default `/subscriptions/{sub}/providers/{provider}/locations/{location}/azureAsyncOperation/{id}`
   * and `…/operationResults/{id}`. Redis uses `asyncOperations`; App Service uses a site-scoped
   * `{siteId}/operationresults/{id}` (pass `locationPath: `${siteId}/operationresults``).
   */
  asyncOperationSegment?: string
  /**
   * Path prefix (no query) for the Location monitor, overriding the default; the manager appends `/{operationId}`.
   * e.g. `/subscriptions/…/providers/Microsoft.Web/sites/app/operationresults`.
   */
  locationPath?: string
  /**
   * Leave `percentComplete` out of the status monitor's body: providers whose OperationStatus does not define it
   * (Microsoft.Cache/redisEnterprise, redisenterprise.json OperationStatus: id, name, startTime, endTime, status, error).
   */
  noPercentComplete?: boolean
  /**
   * A failed operation's status carries its `error` as an ErrorResponse (`{error: {code, message}}`), not as a bare
   * ErrorDetail: Microsoft.Cache/redisEnterprise's OperationStatus.error is a `$ref` to the common types' ErrorResponse
   * (redisenterprise.json 2022-01-01 and 2026-09-01, vendored in test/fixtures/azure-specs).
   */
  errorResponse?: boolean
}

/** A long-running operation as the LroManager tracks it. */
export interface LroOperation {
  id: string
  operation: string
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled'
  startTime: string
  endTime?: string
  resourceId?: string
  error?: {code: string; message: string}
}

export interface LroManager {
  /**
   * Start an operation and return the initial response (201/202 with Azure-AsyncOperation and/or Location and
   * Retry-After). The manager serves the monitor URLs itself: the async status (`{status, error?}`, InProgress →
   * Succeeded | Failed) and the Location monitor (202 while running, 200 when done, the error envelope when failed).
   * Progress is by elapsed time, never by poll count. Monitor responses carry `Retry-After: 1`.
   */
  start(options: LroStartOptions): EmulatorResponse
  /** An operation by id (e.g. for Redis `asyncOperationStatus.get`), after applying it if its time is up. */
  get(id: string): Promise<LroOperation | undefined>
  /** Operations started so far, oldest first. */
  list(): LroOperation[]
}

/** Faults in effect. All optional; an empty spec means no faults. */
export interface FaultSpec {
  /** Added latency per request, in milliseconds. */
  latencyMs?: number
  /**
   * ARM-like throttling: a token bucket of `capacity` requests refilled at `refillPerSecond`. An empty bucket
   * answers 429 with Retry-After (seconds) and x-ms-ratelimit-remaining-subscription-reads/writes headers.
   */
  throttle?: {capacity: number; refillPerSecond: number; retryAfterSeconds?: number}
  /**
   * Transient 5xx: fail the next `next` requests and/or a share `rate` (0..1) of requests, optionally only for some
   * operations; `statuses` cycles through several codes (e.g. [503, 500]), else `status` (default 503).
   */
  transient?: {next?: number; rate?: number; status?: number; operations?: string[]; statuses?: number[]}
  /** Operations (route operation names, e.g. `postgres.create`) whose long-running operation ends Failed with this error. */
  failOperations?: Record<string, {code: string; message: string}>
  /** Operations whose long-running operation never finishes (stays InProgress). */
  hangOperations?: string[]
  /**
   * Operations (route operation names, e.g. `monitor.metrics.getBatch`) whose requests get no answer until the fault is
   * lifted or the client gives up (closes the connection): an endpoint that stops answering. Tests hold a step there.
   */
  holdOperations?: string[]
  /** Web app slots that answer their health path with 5xx: `site/slot` or just `slot` (any site); `production` for the main site. */
  unhealthySlots?: string[]
  /** Resource Graph's per-user query quota instead of Azure's documented 15 queries per 5 s (tests shrink it). */
  graphQuota?: {queries: number; windowMs: number}
  /**
   * Connection resets: the next `next` ARM requests (only these methods, when given) have their TCP connection
   * destroyed before any answer, so the client sees ECONNRESET (a load balancer or NAT dropping the flow).
   */
  resetConnections?: {next: number; methods?: string[]}
  /**
   * Token expiry: the managed-identity endpoint issues tokens valid `lifetimeSeconds` (default 2), and the next `next`
   * ARM requests whose token expires within 10 s are held until it has, then answered 401 ExpiredAuthenticationToken
   * with a `WWW-Authenticate: Bearer … error="invalid_token"` challenge (a call that reached ARM after its token ran
   * out). The client must get a fresh token to go on. Tokens are always checked against their `exp`, fault or not.
   */
  expireTokens?: {next: number; lifetimeSeconds?: number}
  /** Blob down: every request to the Blob endpoint (Azurite) has its connection destroyed until the fault is lifted. */
  blobDown?: boolean
}

export interface FaultInjector {
  /** The faults in effect now (a copy). */
  current(): FaultSpec
  /** Merge `spec` into the faults in effect (keys given replace the old values). */
  set(spec: FaultSpec): void
  /** Remove every fault. */
  clear(): void
  /** The injected failure for an operation, if any. */
  operationFailure(operation: string): {code: string; message: string} | undefined
  /** Whether an operation's long-running operation is set never to finish. */
  operationHangs(operation: string): boolean
  /** Resolves once requests for `operation` are no longer held (at once when they are not). */
  held(operation: string): Promise<void>
  /** Whether a web app slot is set to be unhealthy (`slot` = `production` for the main site). */
  isSlotUnhealthy(site: string, slot: string): boolean
  /** Whether Blob requests are to be dropped now. */
  blobDown(): boolean
}

/** One event in the activity log. */
export interface ActivityEntry {
  /** ISO time; filled from the clock when omitted on append. */
  at: string
  /** ARM resource id the event is about (case preserved; compare case-insensitively). */
  resourceId: string
  /** What happened, e.g. `webapp.swap`, `postgres.restore`, `postgres.promote`, `redis.import`, `webapp.unhealthy`. */
  kind: string
  data?: Record<string, unknown>
}

export interface ActivityFilter {
  /** Exact resource id (case-insensitive), or a prefix when it ends with `/`. */
  resourceId?: string
  kind?: string | string[]
  /** Only entries at or after this ISO time / Date. */
  since?: string | Date
  until?: string | Date
}

export interface ActivityLog {
  append(entry: Omit<ActivityEntry, 'at'> & {at?: string}): ActivityEntry
  list(filter?: ActivityFilter): ActivityEntry[]
}
