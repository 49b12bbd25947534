/**
 * The one Azure client factory. Real Azure (DefaultAzureCredential; public, China and US Gov clouds from the
 * catalog) or the embedded emulator (its HTTPS endpoint, CA and managed-identity endpoint) — the clients it hands
 * out are the unmodified Azure SDK clients either way, so actions never know which one they talk to.
 *
 * Every SDK package is imported lazily and each client is built on first use: `opsbook plan` and `--help` never
 * load the Azure SDK.
 */
import type {AccessToken, GetTokenOptions, TokenCredential} from '@azure/core-auth'
import type {Pipeline, PipelinePolicy} from '@azure/core-rest-pipeline'
import type {PostgreSQLManagementFlexibleServerClient} from '@azure/arm-postgresql-flexible'
import type {RedisManagementClient} from '@azure/arm-rediscache'
import type {RedisEnterpriseManagementClient} from '@azure/arm-redisenterprisecache'
import type {SqlManagementClient} from '@azure/arm-sql'
import type {ServiceBusManagementClient} from '@azure/arm-servicebus'
import type {CosmosDBManagementClient} from '@azure/arm-cosmosdb'
import type {TrafficManagerManagementClient} from '@azure/arm-trafficmanager'
import type {CdnManagementClient} from '@azure/arm-cdn'
import type {WebSiteManagementClient} from '@azure/arm-appservice'
import type {ManagementLockClient} from '@azure/arm-locks'
import type {StorageManagementClient} from '@azure/arm-storage'
import type {KeyVaultManagementClient} from '@azure/arm-keyvault'
import type {ResourceGraphClient} from '@azure/arm-resourcegraph'
import type {MonitorClient} from '@azure/arm-monitor'
import type {MetricsClient} from '@azure/monitor-query-metrics'
import type {LogsQueryClient} from '@azure/monitor-query-logs'
import type {BlobServiceClient, StoragePipelineOptions} from '@azure/storage-blob'
import http from 'node:http'
import https from 'node:https'
import type {Environment} from '../catalog/schema.js'
import {OpsbookError, ExitCode} from '../errors.js'
import {cloudEndpoints, type CloudEndpoints} from './clouds.js'
import {createRetryPolicy, type RetryEvent, type RetryPolicyOptions} from './policy.js'
import {httpGet, type HttpGetOptions, type HttpGetResult} from './http.js'
import {forgetFinishedTokenRequests} from './identity-controllers.js'
import {UNKNOWN_EMULATOR_IDENTITY} from './credentials.js'
import {armWritePolicy} from './arm-writes.js'

/**
 * What the factory needs from a running emulator. Structurally the emulator's `EmulatorConnection`
 * (src/emulator/), declared here so this module does not load the emulator.
 */
export interface EmulatorEndpoints {
  /** HTTPS base URL that serves ARM, metrics, logs and the managed-identity endpoint. */
  armEndpoint: string
  /** PEM of the emulator's self-signed certificate. */
  caPem: string
  /** Azurite: every storage account maps onto this one account. */
  blob: {endpoint: string; account: string; key: string}
  /** App Service style managed-identity token endpoint, when the emulator serves one. */
  identityEndpoint?: string
  /** Value for IDENTITY_HEADER that the emulator's token endpoint expects. */
  identityHeader?: string
  subscription: string
}

export interface AzureServicesOptions {
  environment: Environment
  environmentName: string
  /** Required when the environment's cloud is `emulator`. */
  emulator?: EmulatorEndpoints
  /** Override the policy's tuning (tests shorten backoffs). */
  retry?: RetryPolicyOptions
  /** Override the default credential (e.g. a caller that already holds one). */
  credential?: TokenCredential
  /** How long a kept-alive connection may sit idle before opsbook closes it (default AGENT_IDLE_MS; tests shorten it). */
  agentIdleMs?: number
}

/**
 * How long the ARM and Blob clients keep an idle connection for the next request. Azure Load Balancer's idle timeout is 4
 * minutes by default (its rules take 4–100), and at the timeout it silently drops the flow unless the rule sends TCP
 * resets; the same 4-minute default holds for outbound rules, the SNAT flows a client's requests leave by
 * (https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-idle-timeout,
 * https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-reset). The SDK's own keep-alive agent closes
 * an idle connection only when the server does, so a request sent after a longer wait (a POST after a 5-minute
 * core.wait, not retried) went into a dropped flow: hung or reset. Ours closes it after a minute, well inside that;
 * an idempotent request reset on a reused connection anyway is retried (policy.ts). Blob clients too: an evidence
 * append or a lease renewal after a long quiet step went the same way.
 */
export const AGENT_IDLE_MS = 60_000

/** Best-effort caller identity, from the ARM token's claims. The token itself is never kept or logged. */
export interface CallerIdentity {
  /** What to print: UPN, app id or object id. */
  display: string
  objectId?: string
  upn?: string
  appId?: string
  tenantId?: string
  kind: 'user' | 'app' | 'unknown'
}

/** The identity a command acts as, and where its credential came from (preflight and doctor print both). */
export interface SignedInIdentity extends CallerIdentity {
  /** e.g. "Azure CLI (az login)", "workload identity / OIDC …", "emulator managed identity". */
  source: string
}

export interface SasOptions {
  /** Container SAS permission letters, e.g. `rcwl`. */
  permissions: string
  /** How long the SAS is valid (short: it is handed to another service). */
  expiresInMs: number
  /** How long before now the SAS starts (`st`): clock skew, or a service's own rule (Redis import/export). Default 5 min. */
  startsBeforeMs?: number
}

/**
 * Clients for one environment. Getters are async because each SDK package is imported on first use; the client is
 * then cached.
 */
export interface AzureServices {
  /** Where requests go; for summaries only — actions must not branch on it. */
  readonly target: 'azure' | 'emulator'
  readonly subscription: string
  readonly armEndpoint: string
  readonly credential: TokenCredential
  /** PEM to trust for HTTPS health checks (the emulator's CA); undefined in Azure. */
  readonly httpsCa?: string
  /** How often actions re-read a resource while waiting for a state (10 s in Azure, short in the emulator). */
  readonly pollIntervalMs: number
  /**
   * The pause between checks a runbook spaced `askedMs` apart (a health check's `interval`): as asked in Azure; on the
   * emulator's compressed clock at most its poll interval. The emulator's web apps answer at once what was deployed to
   * them and what its faults say (no warm-up, nothing that heals with time), so a longer pause there only waits: an
   * unhealthy slot's three-attempt gate waited 4 s (slot-swap.test.ts), a failing post-swap gate 2 s.
   */
  pauseBetweenChecks(askedMs: number): number
  principal(): Promise<CallerIdentity>
  /**
   * Obtain a token now and say who it is for and from which source. Throws CredentialError (exit 6, one short
   * message, src/azure/credentials.ts) when no source gives one; fast when this machine offers no source at all.
   */
  identity(): Promise<SignedInIdentity>
  postgres(): Promise<PostgreSQLManagementFlexibleServerClient>
  redis(): Promise<RedisManagementClient>
  /** arm-redisenterprisecache 2.2 (Azure Managed Redis clusters and databases, api-version 2022-01-01). */
  redisEnterprise(): Promise<RedisEnterpriseManagementClient>
  /** arm-sql 10 (servers, databases 2022-08-01-preview; failover groups 2020-11-01-preview). */
  sql(): Promise<SqlManagementClient>
  /** arm-servicebus 6 (api-version 2021-11-01). */
  serviceBus(): Promise<ServiceBusManagementClient>
  /** arm-cosmosdb 16.4 (api-version 2025-10-15). */
  cosmos(): Promise<CosmosDBManagementClient>
  /** arm-trafficmanager 6 (api-version 2022-04-01). */
  trafficManager(): Promise<TrafficManagerManagementClient>
  /** arm-cdn 9 (Front Door Standard/Premium, api-version 2024-02-01). */
  frontDoor(): Promise<CdnManagementClient>
  web(): Promise<WebSiteManagementClient>
  locks(): Promise<ManagementLockClient>
  storage(): Promise<StorageManagementClient>
  keyvault(): Promise<KeyVaultManagementClient>
  resourceGraph(): Promise<ResourceGraphClient>
  /**
   * arm-monitor (management plane: metrics.list, diagnostic settings, activity log), for the environment's subscription
   * or another one (the Activity Log is read per subscription: evidence/witness.ts reads a write where it was made).
   */
  monitor(subscription?: string): Promise<MonitorClient>
  /** Metrics batch client for a region (defaults to the environment's). */
  metrics(region?: string): Promise<MetricsClient>
  logs(): Promise<LogsQueryClient>
  /** Blob client for a storage account by name. */
  blob(account: string): Promise<BlobServiceClient>
  /** The account name blob paths are under (the emulator maps every account to one). */
  blobAccountName(account: string): string
  /** A short-lived container SAS URL (user delegation in Azure). Callers must pass it to `ctx.secret` before use. */
  containerSasUrl(account: string, container: string, options: SasOptions): Promise<string>
  /** HTTP GET for health checks, trusting `httpsCa`. */
  httpGet(url: string, options?: HttpGetOptions): Promise<HttpGetResult>
  /**
   * A raw ARM request through the same pipeline (credential, TLS, retry policy) — for operation monitors on resume
   * and for optional fields the SDK deserializers drop. Never throws on an HTTP status; `body` is parsed JSON.
   */
  armRequest(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', pathOrUrl: string, options?: ArmRequestOptions): Promise<ArmResponse>
  /** Listen to retries and throttling pauses of the shared policy; returns an unsubscribe function. */
  onRetry(listener: (event: RetryEvent) => void): () => void
  /**
   * Where a cache's host name is reached for a data-plane (TLS) connection: the host itself in Azure (system CAs);
   * in the emulator the local port of its redis-server, with the emulator's CA. `user`: the Entra principal that will
   * sign in (the emulator lets it in, as a data access policy assignment would).
   */
  redisEndpoint(hostName: string, sslPort: number, options?: {user?: string; signal?: AbortSignal}): Promise<DataEndpoint>
  /**
   * Where opsbook's own PostgreSQL connections to a flexible server go (the resolver hook): in Azure its FQDN; in the
   * emulator the local port of the server's real PostgreSQL process, with the FQDN kept as the TLS server name and
   * the emulator's CA to verify it. Undefined when the emulator models that server's data (no process).
   */
  postgresAddress(server: {id: string; fqdn: string; port: number}, signal?: AbortSignal): Promise<PostgresAddress | undefined>
  /**
   * A GET on a vault's Key Vault data plane (`path` after the vault URL, e.g. `/secrets/db-password`; api-version 7.5
   * added), with a token for the cloud's Key Vault audience: `https://<vault>.<dnsSuffix>` in Azure, the emulator's
   * data plane for that vault in the emulator. `vault` is a name or a vault URL. Never throws on an HTTP status.
   */
  keyVaultGet(vault: string, path: string, signal?: AbortSignal): Promise<{status: number; body: any}>
}

/** A data-plane TLS endpoint: connect to host:port, verify the certificate for servername against ca (system CAs when unset). */
export interface DataEndpoint {
  host: string
  port: number
  /** Name the server's certificate must carry (SNI and hostname check). */
  servername: string
  ca?: string
}

/** A PostgreSQL endpoint (see postgresAddress); `note`: the emulator's, when the server runs another major than its version. */
export type PostgresAddress = DataEndpoint & {note?: string}

export interface ArmRequestOptions {
  body?: unknown
  /** Added as `api-version` unless the URL has one. */
  apiVersion?: string
  signal?: AbortSignal
}

export interface ArmResponse {
  status: number
  headers: Record<string, string>
  body: any
}

/** The ARM audience every management client asks a token for. */
const armAudience = (arm: string) => `${arm.replace(/\/+$/, '')}/.default`

/**
 * Build the services for an environment: real Azure or the emulator, per `environment.cloud`.
 * Nothing is imported or connected until a getter is called.
 */
export function createAzureServices(options: AzureServicesOptions): AzureServices {
  const {environment, emulator} = options
  if (environment.cloud === 'emulator' && !emulator)
    throw new OpsbookError(`environment ${options.environmentName} is served by the emulator, but no emulator connection was given`, {
      exitCode: ExitCode.invalidInput,
      code: 'emulator-required',
      suggestions: ['start one with `opsbook emulator start`, or let the command start it'],
    })
  const useEmulator = environment.cloud === 'emulator'
  const cloud: CloudEndpoints = cloudEndpoints(environment.azureCloud)
  const armEndpoint = useEmulator ? emulator!.armEndpoint.replace(/\/+$/, '') : cloud.arm
  // Keep the public ARM audience against the emulator too (notes §2.3: HLC clients otherwise ask for `${endpoint}/.default`).
  const armScope = useEmulator ? 'https://management.azure.com/.default' : armAudience(cloud.arm)
  const subscription = environment.subscription
  const ca = useEmulator ? emulator!.caPem : undefined
  const tlsOptions = ca ? {ca} : undefined
  // One keep-alive agent for every ARM client, closing idle connections after AGENT_IDLE_MS (the agent's `timeout`:
  // Node destroys a free socket when it fires). It carries the emulator's CA, since an agent replaces tlsOptions.
  const agent = new https.Agent({keepAlive: true, timeout: options.agentIdleMs ?? AGENT_IDLE_MS, ...(ca ? {ca} : {})})
  // Blob clients (evidence, leases, cache exports) the same way: Storage's SDK took core-rest-pipeline's cached default
  // agent, which keeps an idle connection until the server closes it. Its pipeline options are handed to
  // createPipelineFromOptions whole (storage-blob Pipeline.js getCoreClientOptions), which installs `agent` with
  // agentPolicy. Azurite answers plain HTTP: an https.Agent cannot carry an http: request, so that one gets its own.
  let plainAgent: http.Agent | undefined
  const blobAgent = (endpoint: string): http.Agent =>
    new URL(endpoint).protocol === 'http:' ? (plainAgent ??= new http.Agent({keepAlive: true, timeout: options.agentIdleMs ?? AGENT_IDLE_MS})) : agent

  const listeners = new Set<(event: RetryEvent) => void>()
  const policy: PipelinePolicy = createRetryPolicy({
    // Against the emulator, on its compressed clock like the poll interval and Storage's retries below: its transient
    // faults are counted, not timed, so a shorter wait changes only the wait (the fault matrix's 500/503 cells spent
    // ~12 s in 0.8 → 6.4 s backoffs of one request, its 429 cells seconds in 1 s low-quota pauses). A Retry-After is
    // still honoured as sent.
    ...(useEmulator ? {baseDelayMs: 100, lowRemainingPauseMs: 100} : {}),
    ...options.retry,
    // ARM only: other hosts (Monitor data plane, Log Analytics) take tokens for other audiences.
    renewToken: async (url) => (new URL(url).host === new URL(armEndpoint).host ? (await refreshToken(credential, armScope))?.token : undefined),
    onRetry(event) {
      options.retry?.onRetry?.(event)
      for (const listener of listeners) listener(event)
    },
  })
  // perRetry: the policy must see raw responses, before core-client's deserialization turns them into thrown RestErrors.
  // perCall: the ARM writes a step makes, with the correlation ids ARM answered, for the Activity Log witness (arm-writes.ts).
  const additionalPolicies = [
    {policy, position: 'perRetry' as const},
    {policy: armWritePolicy(armEndpoint), position: 'perCall' as const},
  ]
  const userAgentOptions = {userAgentPrefix: 'opsbook'}
  /** Options for AutoRest (HLC) clients. */
  const hlcOptions = () => ({endpoint: armEndpoint, credentialScopes: [armScope], retryOptions: {maxRetries: 0}, additionalPolicies, tlsOptions, userAgentOptions, agent})
  /** Options for TypeSpec modular clients. */
  const modularOptions = () => ({endpoint: armEndpoint, credentials: {scopes: [armScope]}, retryOptions: {maxRetries: 0}, additionalPolicies, tlsOptions, userAgentOptions, agent})

  const credential: TokenCredential = options.credential ?? lazyCredential(() => buildCredential(environment, cloud, emulator, options.environmentName))

  const once = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined
    return () => (made ??= make())
  }
  /**
   * ARM's bearer policy as the AutoRest clients make it (arm-postgresql-flexible's constructor: challenge-aware, for the
   * ARM scope), one instance for the raw ARM client and the PostgreSQL client, so the two share one token cycler as they
   * did when armRequest went through the PostgreSQL client (with `az login`, every cycler's first token is an `az` run).
   */
  const armBearer = once(async () => {
    const [{authorizeRequestOnClaimChallenge}, {bearerTokenAuthenticationPolicy}] = await Promise.all([import('@azure/core-client'), import('@azure/core-rest-pipeline')])
    return bearerTokenAuthenticationPolicy({credential, scopes: [armScope], challengeCallbacks: {authorizeRequestOnChallenge: authorizeRequestOnClaimChallenge}})
  })
  const withArmBearer = async <C extends {pipeline: Pipeline}>(client: C): Promise<C> => {
    const [policy, {bearerTokenAuthenticationPolicyName}] = await Promise.all([armBearer(), import('@azure/core-rest-pipeline')])
    client.pipeline.removePolicy({name: bearerTokenAuthenticationPolicyName})
    client.pipeline.addPolicy(policy)
    return client
  }
  /**
   * The pipeline of armRequest: a plain core-client ServiceClient with the AutoRest clients' options (credential, TLS,
   * agent, our retry and write policies). It used to be the PostgreSQL client's, which loaded arm-postgresql-flexible
   * (55 modules, ~0.1 s of CPU) into every `run` for preflight's reads of the subscription and permissions.
   */
  const armClient = once(async () => {
    const {ServiceClient} = await import('@azure/core-client')
    return withArmBearer(new ServiceClient({...hlcOptions(), credential, requestContentType: 'application/json; charset=utf-8'}))
  })
  const metricsClients = new Map<string, Promise<MetricsClient>>()
  const blobClients = new Map<string, Promise<BlobServiceClient>>()

  const services: AzureServices = {
    target: useEmulator ? 'emulator' : 'azure',
    subscription,
    armEndpoint,
    credential,
    httpsCa: ca,
    pollIntervalMs: useEmulator ? 100 : 10_000,
    pauseBetweenChecks: (askedMs) => (useEmulator ? Math.min(askedMs, services.pollIntervalMs) : askedMs),
    principal: once(() => callerIdentity(credential, armScope)),
    identity: once(async () => {
      const source = await credentialSourceOf(credential, armScope, {environmentName: options.environmentName, emulator: useEmulator, custom: options.credential !== undefined})
      return {...(await callerIdentity(credential, armScope)), source}
    }),
    postgres: once(async () => {
      const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
      return withArmBearer(new PostgreSQLManagementFlexibleServerClient(credential, subscription, hlcOptions()))
    }),
    redis: once(async () => {
      const {RedisManagementClient} = await import('@azure/arm-rediscache')
      return new RedisManagementClient(credential, subscription, hlcOptions())
    }),
    redisEnterprise: once(async () => {
      const {RedisEnterpriseManagementClient} = await import('@azure/arm-redisenterprisecache')
      return new RedisEnterpriseManagementClient(credential, subscription, hlcOptions())
    }),
    sql: once(async () => {
      const {SqlManagementClient} = await import('@azure/arm-sql')
      return new SqlManagementClient(credential, subscription, hlcOptions())
    }),
    serviceBus: once(async () => {
      const {ServiceBusManagementClient} = await import('@azure/arm-servicebus')
      return new ServiceBusManagementClient(credential, subscription, hlcOptions())
    }),
    cosmos: once(async () => {
      const {CosmosDBManagementClient} = await import('@azure/arm-cosmosdb')
      return new CosmosDBManagementClient(credential, subscription, hlcOptions())
    }),
    trafficManager: once(async () => {
      const {TrafficManagerManagementClient} = await import('@azure/arm-trafficmanager')
      return new TrafficManagerManagementClient(credential, subscription, hlcOptions())
    }),
    frontDoor: once(async () => {
      const {CdnManagementClient} = await import('@azure/arm-cdn')
      return new CdnManagementClient(credential, subscription, hlcOptions())
    }),
    web: once(async () => {
      const {WebSiteManagementClient} = await import('@azure/arm-appservice')
      return new WebSiteManagementClient(credential, subscription, modularOptions())
    }),
    locks: once(async () => {
      const {ManagementLockClient} = await import('@azure/arm-locks')
      return new ManagementLockClient(credential, subscription, hlcOptions())
    }),
    storage: once(async () => {
      const {StorageManagementClient} = await import('@azure/arm-storage')
      return new StorageManagementClient(credential, subscription, modularOptions())
    }),
    keyvault: once(async () => {
      const {KeyVaultManagementClient} = await import('@azure/arm-keyvault')
      return new KeyVaultManagementClient(credential, subscription, modularOptions())
    }),
    resourceGraph: once(async () => {
      // 4.2.1 is built on ms-rest-js: `baseUri`, agents for TLS trust, and its own (Retry-After aware) retry policies.
      const {ResourceGraphClient} = await import('@azure/arm-resourcegraph')
      const agentSettings = ca ? {https: new (await import('node:https')).Agent({ca}), http: new (await import('node:http')).Agent()} : undefined
      return new ResourceGraphClient(credential as never, {baseUri: armEndpoint, agentSettings} as never)
    }),
    monitor: (() => {
      const clients = new Map<string, Promise<MonitorClient>>()
      return (of: string = subscription) => {
        const key = of.toLowerCase()
        let client = clients.get(key)
        if (!client) {
          client = import('@azure/arm-monitor').then(({MonitorClient}) => new MonitorClient(credential, of, hlcOptions()))
          clients.set(key, client)
        }
        return client
      }
    })(),
    metrics(region = environment.region) {
      const key = region.toLowerCase()
      let client = metricsClients.get(key)
      if (!client) {
        client = (async () => {
          const {MetricsClient} = await import('@azure/monitor-query-metrics')
          const endpoint = useEmulator ? armEndpoint : cloud.metrics(key)
          return new MetricsClient(endpoint, credential, {...modularOptions(), endpoint} as never)
        })()
        metricsClients.set(key, client)
      }
      return client
    },
    logs: once(async () => {
      const {LogsQueryClient} = await import('@azure/monitor-query-logs')
      const scopes = [useEmulator ? 'https://api.loganalytics.io/.default' : `${cloud.logsAudience}/.default`]
      return new LogsQueryClient(credential, {...modularOptions(), endpoint: useEmulator ? armEndpoint : cloud.logs, credentials: {scopes}} as never)
    }),
    blobAccountName(account) {
      return useEmulator ? emulator!.blob.account : account
    },
    blob(account) {
      const key = account.toLowerCase()
      let client = blobClients.get(key)
      if (!client) {
        client = (async () => {
          const blob = await import('@azure/storage-blob')
          if (useEmulator) {
            // Every catalog account maps onto Azurite's single account, reached with its shared key.
            const shared = new blob.StorageSharedKeyCredential(emulator!.blob.account, emulator!.blob.key)
            // The same tries as against Azure, on the emulator's compressed clock (as pollIntervalMs): Storage's
            // default backoff (4 s, then 12 s) would make an unreachable emulator cost 16 s per request.
            return new blob.BlobServiceClient(emulator!.blob.endpoint, shared, {retryOptions: {retryDelayInMs: 100, maxRetryDelayInMs: 1000}, agent: blobAgent(emulator!.blob.endpoint)} as StoragePipelineOptions)
          }
          return new blob.BlobServiceClient(cloud.blob(account), credential, {agent: blobAgent(cloud.blob(account))} as StoragePipelineOptions)
        })()
        blobClients.set(key, client)
      }
      return client
    },
    async containerSasUrl(account, container, sas) {
      const blob = await import('@azure/storage-blob')
      const client = await services.blob(account)
      const startsOn = new Date(Date.now() - (sas.startsBeforeMs ?? 5 * 60_000)) // clock skew allowance
      const expiresOn = new Date(Date.now() + sas.expiresInMs)
      const values = {containerName: container, permissions: blob.ContainerSASPermissions.parse(sas.permissions), startsOn, expiresOn}
      let query: string
      if (useEmulator) {
        const shared = new blob.StorageSharedKeyCredential(emulator!.blob.account, emulator!.blob.key)
        query = blob.generateBlobSASQueryParameters(values, shared).toString()
      } else {
        // User delegation SAS: signed by Entra ID, no account key involved.
        const key = await client.getUserDelegationKey(startsOn, expiresOn)
        query = blob.generateBlobSASQueryParameters({...values, protocol: blob.SASProtocol.Https}, key, account).toString()
      }
      return `${client.getContainerClient(container).url}?${query}`
    },
    async armRequest(method, pathOrUrl, requestOptions = {}) {
      const [{createPipelineRequest, createHttpHeaders}, client] = await Promise.all([import('@azure/core-rest-pipeline'), armClient()])
      const url = new URL(/^https?:/i.test(pathOrUrl) ? pathOrUrl : `${armEndpoint}/${pathOrUrl.replace(/^\/+/, '')}`)
      if (requestOptions.apiVersion && !url.searchParams.has('api-version')) url.searchParams.set('api-version', requestOptions.apiVersion)
      const headers = createHttpHeaders({accept: 'application/json'})
      if (requestOptions.body !== undefined) headers.set('content-type', 'application/json')
      const request = createPipelineRequest({
        url: url.toString(),
        method,
        headers,
        body: requestOptions.body === undefined ? undefined : JSON.stringify(requestOptions.body),
        abortSignal: requestOptions.signal,
      })
      // armClient's pipeline carries the bearer policy, TLS and our retry policy.
      const response = await client.sendRequest(request)
      let body: unknown
      if (response.bodyAsText) {
        try {
          body = JSON.parse(response.bodyAsText)
        } catch {
          body = response.bodyAsText
        }
      }
      return {status: response.status, headers: response.headers.toJSON(), body}
    },
    httpGet(url, getOptions = {}) {
      return httpGet(url, {...getOptions, ca: getOptions.ca ?? ca})
    },
    onRetry(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async redisEndpoint(hostName, sslPort, endpointOptions = {}) {
      if (!useEmulator) return {host: hostName, port: sslPort, servername: hostName}
      const query = endpointOptions.user ? `?user=${encodeURIComponent(endpointOptions.user)}` : ''
      const response = await services.armRequest('GET', `/_emulator/redis/${encodeURIComponent(hostName)}/endpoint${query}`, {signal: endpointOptions.signal})
      if (response.status !== 200) throw new OpsbookError(`cannot reach ${hostName}: ${response.body?.error?.message ?? `the emulator answered ${response.status}`}`, {code: 'redis-unreachable'})
      return {host: response.body.host, port: response.body.port, servername: response.body.servername, ca}
    },
    async keyVaultGet(vault, path, signal) {
      const name = /^https:/i.test(vault) ? new URL(vault).hostname.split('.')[0]! : vault
      const base = useEmulator ? `${armEndpoint}/_emulator/keyvault/${encodeURIComponent(name)}` : /^https:/i.test(vault) ? vault.replace(/\/+$/, '') : `https://${name}.${cloud.keyVault.dnsSuffix}`
      const token = await credential.getToken(`${cloud.keyVault.audience}/.default`, {abortSignal: signal})
      if (!token) throw new Error(`no token for the Key Vault audience ${cloud.keyVault.audience}`)
      const url = `${base}${path}${path.includes('?') ? '&' : '?'}api-version=7.5`
      const response = await httpGet(url, {headers: {authorization: `Bearer ${token.token}`, accept: 'application/json'}, ca, signal, maxBodyBytes: 1024 * 1024})
      let body: any
      try {
        body = response.body ? JSON.parse(response.body) : undefined
      } catch {
        body = response.body
      }
      return {status: response.status, body}
    },
    async postgresAddress(server, signal) {
      if (!useEmulator) return {host: server.fqdn, port: server.port, servername: server.fqdn}
      // The emulator answers where the server's process listens (starting it if need be) on its data path.
      const response = await services.armRequest('GET', `${server.id}/opsbookData`, {apiVersion: '2025-08-01', signal})
      const plane = response.status === 200 ? response.body?.dataPlane : undefined
      if (response.status >= 400) throw new Error(response.body?.error?.message ?? `the emulator answered ${response.status}`)
      if (!plane) return undefined
      // The emulator's note when the server does not run the major its version names (the journal shows it).
      return {host: String(plane.host), port: Number(plane.port), servername: server.fqdn, ca, ...(plane.note ? {note: String(plane.note)} : {})}
    },
  }
  return services
}

/** A credential that builds the real one on first use (so constructing services never loads @azure/identity). */
/** A token asked for again (the one held was refused as expired): through the credential's `refresh` when it holds tokens. */
function refreshToken(credential: TokenCredential, scope: string): Promise<AccessToken | null> {
  const refresh = (credential as {refresh?: (scope: string) => Promise<AccessToken | null>}).refresh
  return refresh ? refresh.call(credential, scope) : credential.getToken(scope)
}

function lazyCredential(build: () => Promise<TokenCredential>): TokenCredential & {sourceOf(scope: string): Promise<string | undefined>; refresh(scope: string): Promise<AccessToken | null>} {
  let made: Promise<TokenCredential> | undefined
  let ready: TokenCredential | undefined
  const built = () => (made ??= build().then((credential) => (ready = credential)))
  return {
    async getToken(scopes, options) {
      // Once built, called in the same tick: the credential sees the caller's signal as it was at the call.
      if (ready) return ready.getToken(scopes, options)
      return (await built()).getToken(scopes, options)
    },
    async refresh(scope) {
      return refreshToken(await built(), scope)
    },
    async sourceOf(scope) {
      const credential = (await built()) as TokenCredential & {sourceOf?: (scope: string) => Promise<string | undefined>}
      if (credential.sourceOf) return credential.sourceOf(scope)
      await credential.getToken(scope)
      return undefined
    },
  }
}

async function buildCredential(environment: Environment, cloud: CloudEndpoints, emulator: EmulatorEndpoints | undefined, environmentName: string): Promise<TokenCredential> {
  const identity = await import('@azure/identity')
  if (!emulator) {
    // az login, managed identity, GitHub OIDC (workload identity env vars) … in DefaultAzureCredential's order — unless
    // this machine offers none of them: then fail at once with the short message instead of a long, slow chain.
    const {detectCredentialSources, credentialError, isCredentialFailure} = await import('./credentials.js')
    const sources = await detectCredentialSources()
    if (!sources.some((s) => s.available)) {
      const error = credentialError(undefined, {environment: environmentName, sources})
      return {getToken: async () => Promise.reject(error)}
    }
    const chain = new identity.DefaultAzureCredential({authorityHost: cloud.authorityHost, tenantId: environment.tenant})
    const translate = (error: unknown) => (isCredentialFailure(error) ? credentialError(error, {environment: environmentName, sources}) : error)
    return Object.assign(
      {
        getToken: (scopes: string | string[], options?: Parameters<TokenCredential['getToken']>[1]) => chain.getToken(scopes, options).catch((e: unknown) => Promise.reject(translate(e))),
      },
      // The source that gave the token (ChainedTokenCredential.getTokenInternal), for preflight and doctor.
      {
        sourceOf: async (scope: string) => {
          const internal = (chain as unknown as {getTokenInternal?: (s: string) => Promise<{successfulCredential?: {constructor: {name: string}}}>}).getTokenInternal
          if (!internal) return undefined
          const result = await internal.call(chain, scope).catch((e: unknown) => Promise.reject(translate(e)))
          return result.successfulCredential?.constructor.name
        },
      },
    )
  }
  // Emulator: the unmodified DefaultAzureCredential, pointed at the emulator's App Service style managed-identity
  // endpoint (notes §2.2). MSAL reads IDENTITY_ENDPOINT when it fetches a token, so it stays set for this process;
  // a process that already has one for a real identity keeps it, and gets the static credential instead.
  const existing = process.env.IDENTITY_ENDPOINT
  if (emulator.identityEndpoint && (!existing || existing === emulator.identityEndpoint)) {
    process.env.IDENTITY_ENDPOINT = emulator.identityEndpoint
    // The endpoint refuses a request without its IDENTITY_HEADER secret (server.ts identityHeaderRefused).
    const header = emulator.identityHeader ?? process.env.IDENTITY_HEADER
    if (header) process.env.IDENTITY_HEADER = header
    // Only the managed-identity source, so credentials for real Azure in the environment are never sent to localhost.
    // And no AZURE_CLIENT_ID: restricted to ManagedIdentityCredential, DefaultAzureCredential reads it while it is
    // constructed (@azure/identity 4.13 defaultAzureCredentialFunctions.js createDefaultManagedIdentityCredential) and
    // asks for that user-assigned identity; one meant for real Azure names none of the estate's, which the emulator
    // refuses as App Service does (400 "No MSI found…", emulator/server.ts noIdentityRefusal). Both are hidden for the
    // construction only (ManagedIdentityCredential's getToken reads AZURE_CLIENT_ID again only for workload identity,
    // which emulatorTokensOnly keeps out).
    const saved = {tokenCredentials: process.env.AZURE_TOKEN_CREDENTIALS, clientId: process.env.AZURE_CLIENT_ID}
    process.env.AZURE_TOKEN_CREDENTIALS = 'ManagedIdentityCredential'
    delete process.env.AZURE_CLIENT_ID
    try {
      // OPSBOOK_EMULATOR_IDENTITY picks one of the estate's identities (a reader-only one, say): the unmodified
      // ManagedIdentityCredential asks the token endpoint for it as a user-assigned identity's client id. (DefaultAzure-
      // Credential restricted to ManagedIdentityCredential ignores its managedIdentityClientId option: it reads
      // AZURE_CLIENT_ID only.)
      const chosen = process.env[EMULATOR_IDENTITY_ENV]?.trim()
      return heldTokens(emulatorTokensOnly(chosen ? unknownIdentityAsInput(new identity.ManagedIdentityCredential({clientId: chosen}), chosen, emulator) : new identity.DefaultAzureCredential()))
    } finally {
      if (saved.tokenCredentials === undefined) delete process.env.AZURE_TOKEN_CREDENTIALS
      else process.env.AZURE_TOKEN_CREDENTIALS = saved.tokenCredentials
      if (saved.clientId !== undefined) process.env.AZURE_CLIENT_ID = saved.clientId
    }
  }
  return emulatorStaticCredential(emulator)
}

/**
 * Tokens from the emulator only, also in a shell set up for workload identity (AKS, or a CI job with
 * AZURE_FEDERATED_TOKEN_FILE beside AZURE_CLIENT_ID and AZURE_TENANT_ID): ManagedIdentityCredential's getToken asks
 * tokenExchangeMsi.isAvailable first, on every call, which reads those three variables then (@azure/identity 4.13
 * managedIdentityCredential/index.js getToken, tokenExchangeMsi.js) and, finding them, exchanges the federated token at
 * Entra instead of asking IDENTITY_ENDPOINT — the run then fails, or sends a real token to the emulator. So the token
 * file is hidden while a getToken call starts: that check runs synchronously before the call's first await (through
 * ChainedTokenCredential and tracingClient.withSpan), and nothing is awaited between hiding and restoring, so no other
 * code sees the variable missing. test/runbooks/preflight.test.ts runs with the three set and fails if the SDK ever
 * reads the file later.
 */
function emulatorTokensOnly(credential: TokenCredential): TokenCredential {
  return {
    getToken(scopes, options) {
      const file = process.env.AZURE_FEDERATED_TOKEN_FILE
      if (file === undefined) return credential.getToken(scopes, options)
      delete process.env.AZURE_FEDERATED_TOKEN_FILE
      try {
        return credential.getToken(scopes, options)
      } finally {
        process.env.AZURE_FEDERATED_TOKEN_FILE = file
      }
    },
  }
}

/**
 * A misspelt OPSBOOK_EMULATOR_IDENTITY is a bad input (exit 2), said in the variable's name. The emulator's token
 * endpoint refuses an identity the estate does not have as App Service does, 400 `No MSI found for specified
 * ClientId/ResourceId.` in App Service's PascalCase shape, which @azure/identity (msal-node reads a lowercase `message`
 * only) reports as `Response had no "expiresOn" property.`: so on a failed token request the emulator's discovery
 * document is asked for the estate's identities, and the request is called a bad input only when the value names none
 * of them (by name, client id or object id); any other failure stays the SDK's own.
 */
function unknownIdentityAsInput(credential: TokenCredential, chosen: string, emulator: EmulatorEndpoints): TokenCredential {
  // The estate's identities do not change while the emulator runs: asked for once (every client's pipeline asks for a
  // token, so a misspelt identity failed many requests at once, each of which fetched the document), kept only when read.
  let identitiesRead: Promise<Awaited<ReturnType<typeof emulatorIdentities>> | undefined> | undefined
  const identities = () => {
    identitiesRead ??= emulatorIdentities(emulator).catch(() => {
      identitiesRead = undefined
      return undefined
    })
    return identitiesRead
  }
  const explain = async (error: unknown): Promise<never> => {
    if ((error as {name?: string})?.name === 'AbortError') throw error
    const known = await identities()
    const wanted = chosen.toLowerCase()
    if (!known || known.some((i) => [i.name, i.clientId, i.objectId].some((id) => id?.toLowerCase() === wanted))) throw error
    const names = known.map((i) => i.name)
    throw new OpsbookError(
      `${EMULATOR_IDENTITY_ENV}=${chosen} names no identity of the emulator's estate, and its token endpoint refuses it as App Service refuses an identity the app does not have (No MSI found for specified ClientId/ResourceId.); ${names.length > 0 ? `the estate's identities: ${names.join(', ')}` : 'the estate declares no identities'}`,
      {
        exitCode: ExitCode.invalidInput,
        code: UNKNOWN_EMULATOR_IDENTITY,
        suggestions: [
          names.length > 0 ? `set ${EMULATOR_IDENTITY_ENV} to one of: ${names.join(', ')}` : `declare it under \`identities:\` in opsbook.estate.yaml`,
          `or unset ${EMULATOR_IDENTITY_ENV} to run as the emulator's default principal (Owner)`,
        ],
        cause: error,
      },
    )
  }
  return {getToken: (scopes, options) => credential.getToken(scopes, options).catch(explain)}
}

/** The estate's identities, from the emulator's discovery document (`GET /opsbook/emulator`, served without a token). */
async function emulatorIdentities(emulator: EmulatorEndpoints): Promise<Array<{name: string; clientId?: string; objectId?: string}>> {
  const answer = await httpGet(`${emulator.armEndpoint.replace(/\/+$/, '')}/opsbook/emulator`, {ca: emulator.caPem, timeoutMs: 10_000})
  const identities = (JSON.parse(answer.body) as {identities?: unknown}).identities
  if (!Array.isArray(identities)) throw new Error('the emulator names no identities (an older emulator)')
  return identities as Array<{name: string; clientId?: string; objectId?: string}>
}

/**
 * The emulator's managed-identity tokens, held per scope until five minutes before expiry (a token shorter-lived than
 * ten minutes, as the fault runs serve: until half its life), and asked for again sooner only by `refresh` (a 401 for
 * an expired token, policy.ts). Callers that ask while a request for the scope is in flight share it; the shared
 * request carries no caller's abort signal, each caller races its own, so one cancelled poll never fails the others. Every token
 * request through @azure/identity's managed-identity path leaves an AbortController behind for the life of the process:
 * MSAL keeps the first managed-identity source it made in a static (ManagedIdentityClient.identitySource), with that
 * credential's IdentityClient as its network client, and IdentityClient drops a request's controller only when it is
 * aborted, never when the request completes (Azure/azure-sdk-for-js#26161, open). MSAL itself asks the endpoint again
 * for any token within five minutes of its expiry, so with the short lifetimes of the emulator's fault runs every
 * getToken of every client's pipeline was a request (the soak: ~100 a drill, each one kept): asking only when a token
 * is due keeps the number of requests to one per scope per half-lifetime, and what the SDK keeps of them is forgotten
 * once no token request is in flight (identity-controllers.ts): still one controller per request without that.
 */
let tokenRequestsInFlight = 0

function heldTokens(credential: TokenCredential): TokenCredential & {refresh(scope: string): Promise<AccessToken | null>} {
  const held = new Map<string, {token: AccessToken; renewAt: number}>()
  const pending = new Map<string, Promise<AccessToken | null>>()
  const fetch = (scopes: string | string[], options?: GetTokenOptions) => {
    const key = [scopes].flat().join(' ')
    const inFlight = pending.get(key)
    if (inFlight) return inFlight
    const asked = Date.now()
    const {abortSignal: _callerSignal, ...shared} = options ?? {}
    const request = credential
      .getToken(scopes, shared)
      .then((token) => {
        if (token) {
          const halfLife = Math.max(0, token.expiresOnTimestamp - asked) / 2
          held.set(key, {token, renewAt: token.refreshAfterTimestamp ?? token.expiresOnTimestamp - Math.min(5 * 60_000, halfLife)})
        }
        return token
      })
      .finally(() => {
        pending.delete(key)
        if (--tokenRequestsInFlight === 0) return forgetFinishedTokenRequests().then(() => undefined)
      })
    tokenRequestsInFlight++
    pending.set(key, request)
    return request
  }
  return {
    async getToken(scopes, options) {
      // A claims challenge or another tenant is the credential's own business: passed through, not held.
      if (options?.claims || options?.tenantId) return credential.getToken(scopes, options)
      const now = held.get([scopes].flat().join(' '))
      if (now && Date.now() < now.renewAt) return now.token
      // A caller already cancelled gets the held token while it is still good, not an AbortError: that caller is the
      // SDK's token cycler retrying a background refresh — started without `await` by a request in the refresh window,
      // retried every 3 s with that request's options, and thrown unhandled once the old token's expiry has passed
      // (@azure/core-rest-pipeline util/tokenCycler.ts: `if (cycler.shouldRefresh) refresh(scopes, tokenOptions)`;
      // `beginRefresh` rethrows after `refreshTimeout`). With 5 s tokens (renewed at half-life, sooner than the retry)
      // every retry was refused: two unhandled rejections in the full fault matrix (dr-drill × double SIGINT). The
      // cancelled caller's own HTTP request is still aborted by its signal. Once the held token has expired the same
      // retry must fetch a new one rather than be refused: after `refreshTimeout` the cycler rethrows, unawaited (the
      // fault matrix, maintenance-window × LRO hung, saw that AbortError unhandled).
      if (options?.abortSignal?.aborted) return now && Date.now() < now.token.expiresOnTimestamp ? now.token : fetch(scopes, options)
      return untilAborted(fetch(scopes, options), options?.abortSignal)
    },
    refresh: (scope) => {
      held.delete(scope)
      return fetch(scope)
    },
  }
}

/** The shared token request as one caller sees it: rejected with an AbortError when that caller's signal fires first. */
function untilAborted<T>(request: Promise<T>, signal: GetTokenOptions['abortSignal']): Promise<T> {
  if (!signal) return request
  const aborted = () => Object.assign(new Error('The token request was aborted.'), {name: 'AbortError'})
  if (signal.aborted) return Promise.reject(aborted())
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted())
    signal.addEventListener('abort', onAbort)
    request.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Environment variable: which identity of the emulator's estate (`identities:` in opsbook.estate.yaml) opsbook signs in as. */
export const EMULATOR_IDENTITY_ENV = 'OPSBOOK_EMULATOR_IDENTITY'

/** Which source a credential's token comes from, as a label; throws the credential's own error when there is none. */
async function credentialSourceOf(credential: TokenCredential, scope: string, where: {environmentName: string; emulator: boolean; custom: boolean}): Promise<string> {
  if (where.emulator) {
    await credential.getToken(scope)
    const chosen = process.env[EMULATOR_IDENTITY_ENV]?.trim()
    return `emulator managed identity${chosen ? ` (${chosen})` : ''}`
  }
  const sourceOf = (credential as {sourceOf?: (scope: string) => Promise<string | undefined>}).sourceOf
  if (where.custom || !sourceOf) {
    await credential.getToken(scope)
    return 'given credential'
  }
  const {sourceLabel} = await import('./credentials.js')
  return sourceLabel(await sourceOf(scope))
}

/**
 * Tokens from the emulator's token endpoint on its ARM host (`/msi/token`, the App Service managed-identity protocol),
 * for a process whose IDENTITY_ENDPOINT already names a real identity: the emulator signs its tokens and validates
 * them (ARM and its data planes, emulator/tokens.ts), so nothing else would be accepted. Cached per scope until five
 * minutes before expiry.
 */
function emulatorStaticCredential(emulator: EmulatorEndpoints): TokenCredential {
  const signed = new Map<string, {token: string; expiresOnTimestamp: number}>()
  return {
    async getToken(scopes) {
      const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? 'https://management.azure.com/.default'
      const cached = signed.get(scope)
      if (cached && cached.expiresOnTimestamp - Date.now() > 5 * 60_000) return cached
      const url = `${emulator.armEndpoint}/msi/token?api-version=2019-08-01&resource=${encodeURIComponent(scope.replace(/\/\.default$/, ''))}`
      const response = await httpGet(url, {headers: emulator.identityHeader ? {'X-IDENTITY-HEADER': emulator.identityHeader} : {}, ca: emulator.caPem})
      if (response.status !== 200) throw new Error(`the emulator's token endpoint answered ${response.status} for ${scope}`)
      const body = JSON.parse(response.body) as {access_token: string; expires_on: string}
      const token = {token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000}
      signed.set(scope, token)
      return token
    },
  }
}

/** Decode who the ARM token belongs to. Returns `unknown` rather than failing: this is for the run summary only. */
async function callerIdentity(credential: TokenCredential, scope: string): Promise<CallerIdentity> {
  try {
    const token = await credential.getToken(scope)
    const payload = token?.token.split('.')[1]
    if (!payload) return {display: 'unknown', kind: 'unknown'}
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, string | undefined>
    const upn = claims.upn ?? claims.unique_name ?? claims.preferred_username
    const appId = claims.appid ?? claims.azp
    const kind = upn ? 'user' : appId ? 'app' : 'unknown'
    return {display: upn ?? appId ?? claims.oid ?? 'unknown', objectId: claims.oid, upn, appId, tenantId: claims.tid, kind}
  } catch {
    return {display: 'unknown', kind: 'unknown'}
  }
}
