/**
 * Blob storage: Azurite's BlobServer in-process (deep-required: `require("azurite")` needs VS Code; notes §4.6),
 * plain http on 127.0.0.1 with SharedKey auth, in memory for tests or persisted under `<stateDir>/blob` for the CLI.
 *
 * Account mapping: Azurite serves one account, `devstoreaccount1`. Every storage account of the catalog
 * (e.g. `stshopevidence`, `stshopsnapshots`) maps onto it, so all accounts share one container namespace: the
 * evidence container and the Redis snapshot container are both containers of devstoreaccount1. ARM's listKeys
 * for any account returns Azurite's key. Container URLs of the real form
 * `https://<account>.blob.core.windows.net/<container>` are mapped to `<endpoint>/<container>` by `containerNameOf`.
 */
import {mkdirSync} from 'node:fs'
import {createRequire, Module} from 'node:module'
import {join} from 'node:path'
import type {BlobEndpoint} from './context.js'

export const AZURITE_ACCOUNT = 'devstoreaccount1'
/** Azurite's well-known development key (public, not a secret). */
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/**
 * Options of the emulator's own Blob clients (Redis export/import and snapshot seeding, storage accounts' containers).
 * The SDK's default retry (StorageRetryPolicy: exponential, (2^(try-1) - 1) × 4 s, 4 tries) waits 4 s after the
 * second failed try and rides out ~16 s; a request that met the Blob-down fault then finished ~4 s after the outage
 * ended. Here the waits are 0, 0.1, 0.3, 0.7, 1.5 s, then 2 s each, over 13 tries: the same ~16 s of outage is ridden
 * out, and a request goes on within 2 s of its end.
 */
export const INTERNAL_BLOB_CLIENT_OPTIONS = {retryOptions: {retryDelayInMs: 100, maxRetryDelayInMs: 2000, maxTries: 13}}

/**
 * Work Azurite's answers must reflect before it gives them: each waiter is asked with the container a request names
 * (undefined for a request about the whole account, such as listing containers) and returns what to wait for, if
 * anything. The Redis data plane holds requests that could see a cache's snapshot container until its catch-up snapshot
 * is taken (engines/redis-dataplane.ts). A waiter's promise must not reject.
 */
export class BlobRequestGate {
  private readonly waiters: Array<(container: string | undefined) => Promise<void> | undefined> = []

  add(waiter: (container: string | undefined) => Promise<void> | undefined): void {
    this.waiters.push(waiter)
  }

  /** What a request for `container` waits for; undefined (no wait, the request goes on at once) when nothing. */
  before(container: string | undefined): Promise<void> | undefined {
    if (this.waiters.length === 0) return undefined
    const waits = this.waiters.map((waiter) => waiter(container)).filter((wait) => wait !== undefined)
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined
  }
}

/** The User-Agent prefix of the emulator's requests that the gate lets through: the work it holds others for. */
export const BLOB_GATE_PASS_AGENT = 'opsbook-emulator-gated-work'

export interface RunningBlob extends BlobEndpoint {
  connectionString: string
  close(): Promise<void>
}

/**
 * Azurite's modules, without Application Insights. Its request pipeline requires Telemetry.js, which loads
 * `applicationinsights` into a static field as it loads; only `AzuriteTelemetryClient.init` uses it, which Azurite's own
 * `main` calls and the in-process BlobServer never does (every trace method checks `enableTelemetry` first). Loading the
 * package cost ~0.3 s of CPU per emulator start (136 files), ~0.1 s with its diagnostic channel off, and with the channel
 * on it subscribed to pg, redis, console and the Azure SDK and hooked every later `require` of the process — in the CLI,
 * the user's own PostgreSQL and Azure clients. So the CommonJS cache holds an empty module under its path before Azurite
 * loads ("Adding or replacing entries is also possible", https://nodejs.org/api/modules.html#requirecache), unless the
 * process has loaded the real one already.
 */
async function loadAzurite(): Promise<{serverModule: any; configModule: any}> {
  const require = createRequire(import.meta.url)
  const insights = createRequire(require.resolve('azurite/dist/src/common/Telemetry.js')).resolve('applicationinsights')
  if (!require.cache[insights]) {
    const empty = new Module(insights)
    empty.filename = insights
    empty.loaded = true
    require.cache[insights] = empty
  }
  const serverModule = await import('azurite/dist/src/blob/BlobServer.js')
  const configModule = await import('azurite/dist/src/blob/BlobConfiguration.js')
  return {serverModule, configModule}
}

/**
 * Start Azurite's blob service on a random port; `persistDir` undefined keeps blobs in memory. `isDown` (the
 * emulator's Blob-down fault) is asked before each request: while it says so, the connection is destroyed unanswered,
 * as when the storage endpoint cannot be reached. `gate` can hold a request (its body unread) until work it must
 * reflect is done; the fault is asked again after the wait.
 */
export async function startBlobServer(options: {persistDir?: string; isDown?: () => boolean; gate?: BlobRequestGate} = {}): Promise<RunningBlob> {
  const {serverModule, configModule} = await loadAzurite()
  const BlobServer = serverModule.default?.default ?? serverModule.default
  const BlobConfiguration = configModule.default?.default ?? configModule.default
  const dir = options.persistDir
  if (dir) mkdirSync(join(dir, 'data'), {recursive: true})
  const configuration = new BlobConfiguration(
    '127.0.0.1',
    0,
    // Seconds an idle keep-alive connection is held: a minute, as the ARM server (EMULATOR_KEEP_ALIVE_MS in server.ts,
    // which says why). Azurite's default (5 s) let a Blob client's kept-alive socket meet Azurite's close on a loaded
    // machine; close() still ends idle connections at once.
    60,
    dir ? join(dir, '__azurite_db_blob__.json') : '__azurite_db_blob__.json',
    dir ? join(dir, '__azurite_db_blob_extent__.json') : '__azurite_db_blob_extent__.json',
    dir ? [{locationId: 'Default', locationPath: join(dir, 'data'), maxConcurrency: 10}] : undefined,
    false,
    undefined,
    false,
    undefined,
    true, // loose: tolerate headers Azurite does not implement
    true, // skipApiVersionCheck: storage-blob 12.32 sends a newer x-ms-version than Azurite 3.35 knows
    '',
    '',
    '',
    undefined,
    false,
    !dir,
    undefined,
  )
  const server = new BlobServer(configuration)
  await server.start()
  const {isDown, gate} = options
  if (isDown || gate) {
    // Azurite binds one request listener (ServerBase); put the fault and the gate in front of it.
    const http = (server as {httpServer: import('node:http').Server}).httpServer
    const listeners = http.listeners('request') as Array<(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>
    http.removeAllListeners('request')
    const forward = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      if (isDown?.()) {
        req.socket.destroy()
        return
      }
      for (const listener of listeners) listener.call(http, req, res)
    }
    http.on('request', (req, res) => {
      // Down first: a request that cannot reach storage does not wait for anything.
      const scope = isDown?.() || !gate || String(req.headers['user-agent'] ?? '').startsWith(BLOB_GATE_PASS_AGENT) ? undefined : requestScope(req.url)
      const wait = scope ? gate!.before(scope.container) : undefined
      if (wait) void wait.then(() => forward(req, res))
      else forward(req, res)
    })
  }
  const endpoint = `${server.getHttpServerAddress().replace(/\/$/, '')}/${AZURITE_ACCOUNT}`
  return {
    endpoint,
    account: AZURITE_ACCOUNT,
    key: AZURITE_KEY,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    close: () => server.close(),
  }
}

/**
 * The container a container URL names (SAS query ignored): path-style Azurite URLs
 * (`http://127.0.0.1:p/devstoreaccount1/<container>`) and real ones (`https://acct.blob.core.windows.net/<container>`).
 */
export function containerNameOf(url: string): string | undefined {
  const parsed = safeUrl(url)
  if (!parsed) return undefined
  const segments = parsed.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  if (segments[0] === AZURITE_ACCOUNT) segments.shift()
  return segments[0]
}

/**
 * Account operations that show no blob: List Containers, Get/Set Blob Service Properties, Get Blob Service Stats, Get
 * User Delegation Key (the `comp` values of https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api).
 * The containers they list are the same before and after a gated piece of work that only writes blobs into an
 * existing container (creating a blob leaves its container's properties as they were). Others (Find Blobs by Tags,
 * Blob Batch) can reach any container's blobs.
 */
const ACCOUNT_COMPS_WITHOUT_BLOBS = new Set(['list', 'properties', 'stats', 'userdelegationkey'])

/**
 * What a request could see, for the gate: the container its path names (`/devstoreaccount1/<container>/…`); for a
 * request about the account that can reach blobs, `{container: undefined}` (every container); undefined when it
 * cannot see any blob.
 */
function requestScope(url: string | undefined): {container: string | undefined} | undefined {
  const [path = '/', query = ''] = (url ?? '/').split('?', 2)
  const segments = path.split('/').filter(Boolean)
  if (segments[0] === AZURITE_ACCOUNT) segments.shift()
  if (segments[0] === undefined) return ACCOUNT_COMPS_WITHOUT_BLOBS.has(new URLSearchParams(query).get('comp')?.toLowerCase() ?? '') ? undefined : {container: undefined}
  try {
    return {container: decodeURIComponent(segments[0])}
  } catch {
    return {container: segments[0]}
  }
}

/** Container and blob name of a blob URL, with the same mapping as `containerNameOf`. */
export function blobPathOf(url: string): {container: string; blob: string} | undefined {
  const parsed = safeUrl(url)
  if (!parsed) return undefined
  const segments = parsed.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  if (segments[0] === AZURITE_ACCOUNT) segments.shift()
  if (segments.length < 2) return undefined
  return {container: segments[0]!, blob: segments.slice(1).join('/')}
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}
