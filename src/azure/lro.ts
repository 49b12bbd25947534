/**
 * Long-running operations the way incidents need them: journaled the moment ARM accepts them (monitor URL and
 * all), and on `opsbook resume` re-attached by polling that monitor instead of sending the request again — a
 * second PUT of a restore would start a second restore.
 */
import type {ActionContext, ArmCall, TrackedOperation} from '../actions/types.js'
import type {AzureServices} from './clients.js'
import {AzureError, withArmReason} from './errors.js'
import {retryAfterMs} from './policy.js'

/** What the SDK's `onResponse` hands over (HLC and modular clients alike). */
interface RawResponse {
  status: number
  headers: {get(name: string): string | undefined}
}

/** Options to pass to the SDK's begin…AndWait call (or modular poller call). */
export interface LroCallOptions {
  onResponse: (raw: RawResponse, ...rest: unknown[]) => void
  abortSignal: AbortSignal
  updateIntervalInMs: number
}

export interface TrackedCall<T> {
  /** e.g. "postgres.restore pg-orders → pg-orders-drill-1a2b". */
  description: string
  method: ArmCall['method']
  /** The ARM path or URL the request goes to. */
  resource: string
  /** What the action needs to finish after a resume (names, times). No secrets. */
  state?: Record<string, unknown>
  /** Send the request and wait for the operation, passing `options` to the SDK. */
  call(options: LroCallOptions): Promise<T>
  /**
   * Re-attach to this operation (an action's own decision, e.g. OperationTracker.interrupted) instead of the step's
   * in-flight one; null: send the request anew even on resume (what the in-flight operation made is gone).
   */
  reattach?: TrackedOperation | null
}

export interface TrackedResult<T> {
  /** The SDK's result; undefined when re-attached (read the resource afterwards). */
  result?: T
  /** True when this attempt re-attached to an operation a previous process started. */
  resumed: boolean
  /** The state journaled with the operation (from the previous process when resumed). */
  state: Record<string, unknown>
  monitorUrl?: string
}

/** Whether two ARM URLs or paths name the same resource (query, host and case aside). */
export function sameResource(a: string, b: string): boolean {
  const path = (u: string) => {
    try {
      return new URL(u).pathname.toLowerCase().replace(/\/+$/, '')
    } catch {
      return u.split('?')[0]!.toLowerCase().replace(/\/+$/, '')
    }
  }
  return path(a) === path(b)
}

/** How long an interrupted request may still wait for ARM's first answer (so its operation is journaled). */
export const INITIAL_ANSWER_GRACE_MS = 60_000

/**
 * Run a long-running call, journaling it through `context.operations.started` as soon as ARM answers 201/202, or —
 * when this step had the same operation in flight before a resume — poll that operation's monitor instead.
 */
export async function runTracked<T>(context: ActionContext, services: AzureServices, spec: TrackedCall<T>): Promise<TrackedResult<T>> {
  const resourceUrl = /^https?:/i.test(spec.resource) ? spec.resource : `${services.armEndpoint}${spec.resource}`
  const previous = spec.reattach === null ? undefined : (spec.reattach ?? context.operations.inFlight())
  if (previous && previous.method === spec.method && sameResource(previous.resourceUrl, resourceUrl)) {
    context.log(`re-attaching to ${previous.description} (started before the resume)`)
    if (previous.monitorUrl) await pollMonitor(services, rebase(previous.monitorUrl, previous.resourceUrl, services.armEndpoint), context.signal, previous.description)
    return {resumed: true, state: previous.state ?? {}, monitorUrl: previous.monitorUrl}
  }
  // Resumed after Ctrl-C stopped waiting for this same request: that operation may still be running in Azure (a hung
  // one outlives teardown's deadline). It is waited for before the request goes again, so no operation of the run is
  // left running beside its second one (Azure refuses a second export/import/update of a resource mid-operation with
  // 409 Conflict anyway). How it ended does not matter: the request is sent anew either way.
  const earlier = spec.reattach === undefined ? context.operations.interrupted?.() : undefined
  if (earlier?.monitorUrl && earlier.method === spec.method && sameResource(earlier.resourceUrl, resourceUrl)) {
    context.log(`waiting for ${earlier.description} (started before the interruption) to end before sending it again`)
    await pollMonitor(services, rebase(earlier.monitorUrl, earlier.resourceUrl, services.armEndpoint), context.signal, earlier.description).catch((error: unknown) => {
      if (context.signal.aborted) throw error
    })
  }

  let journaled: Promise<void> | undefined
  let monitorUrl: string | undefined
  const state = spec.state ?? {}
  // Ctrl-C while the request is on its way must not cut it off: ARM may already be running it (a swap, a restore),
  // and an operation nobody journaled is one teardown cannot wait for and resume cannot re-attach to — a swap
  // interrupted so went through after the teardown had checked production, which was left on the slot's build.
  // Only once ARM has answered (and the operation is journaled) does the interrupt stop the wait; an answer that
  // never comes is given up after INITIAL_ANSWER_GRACE_MS. A request not yet sent is not sent.
  const abort = new AbortController()
  let answered = false
  let grace: ReturnType<typeof setTimeout> | undefined
  const stop = () => abort.abort(context.signal.reason)
  const onInterrupt = () => {
    if (answered) void (journaled ?? Promise.resolve()).finally(stop)
    else grace = setTimeout(stop, INITIAL_ANSWER_GRACE_MS)
  }
  if (context.signal.aborted) stop()
  else context.signal.addEventListener('abort', onInterrupt, {once: true})
  // The run has ended: no answer can be journaled any more, so the grace has nothing to wait for.
  const onEnded = () => (clearTimeout(grace), abort.abort(context.ended?.reason))
  if (context.ended?.aborted) onEnded()
  else context.ended?.addEventListener('abort', onEnded, {once: true})
  const options: LroCallOptions = {
    abortSignal: abort.signal,
    updateIntervalInMs: services.pollIntervalMs,
    onResponse(raw) {
      // Accepted (201/202), or a 200 that still carries an Azure-AsyncOperation monitor: Cosmos DB answers a database
      // account PUT with 200 and the monitor (cosmos-db.json DatabaseAccounts_CreateOrUpdate lists 200 only).
      const running = raw.status === 201 || raw.status === 202 || (raw.status === 200 && raw.headers.get('azure-asyncoperation') != null)
      if (!journaled && running) {
        monitorUrl = raw.headers.get('azure-asyncoperation') ?? raw.headers.get('operation-location') ?? raw.headers.get('location') ?? undefined
        const operation: TrackedOperation = {description: spec.description, method: spec.method, resourceUrl, monitorUrl, state}
        journaled = context.operations.started(operation)
        // Journal failures surface below; never as an unhandled rejection.
        journaled.catch(() => {})
      }
      if (!answered) {
        answered = true
        if (context.signal.aborted) {
          clearTimeout(grace)
          void (journaled ?? Promise.resolve()).finally(stop)
        }
      }
    },
  }
  let result: T
  try {
    result = await spec.call(options)
  } catch (caught) {
    let error = caught
    if (monitorUrl) error = await withOperationReason(services, monitorUrl, error, abort.signal)
    if (error && typeof error === 'object' && monitorUrl) (error as {monitorUrl?: string}).monitorUrl ??= monitorUrl
    throw error
  } finally {
    clearTimeout(grace)
    context.signal.removeEventListener('abort', onInterrupt)
    context.ended?.removeEventListener('abort', onEnded)
    await journaled
  }
  return {result, resumed: false, state, monitorUrl}
}

/**
 * A monitor URL recorded against an endpoint that has since moved (a local emulator restarted on another port) is
 * moved along with it. Against Azure the origins never differ and the URL is returned as is.
 */
export function rebase(monitorUrl: string, recordedResourceUrl: string, armEndpoint: string): string {
  try {
    const monitor = new URL(monitorUrl)
    const recorded = new URL(recordedResourceUrl).origin
    const current = new URL(armEndpoint).origin
    if (monitor.origin !== recorded || recorded === current) return monitorUrl
    return `${current}${monitor.pathname}${monitor.search}`
  } catch {
    return monitorUrl
  }
}

/**
 * Poll an ARM operation monitor until it ends. Azure-AsyncOperation monitors answer 200 `{status}`; Location
 * monitors answer 202 while running and 200/204 when done. Honours Retry-After. A monitor that no longer exists
 * (404: ARM forgets finished operations) ends the wait: the caller reads the resource itself.
 */
export async function pollMonitor(services: AzureServices, monitorUrl: string, signal: AbortSignal, description: string): Promise<'succeeded' | 'gone'> {
  for (;;) {
    const response = await services.armRequest('GET', monitorUrl, {signal})
    if (response.status === 404) return 'gone'
    const status = typeof response.body?.status === 'string' ? response.body.status.toLowerCase() : undefined
    if (response.status >= 400 || status === 'failed' || status === 'canceled' || status === 'cancelled') {
      const error = operationError(response.body)
      throw new AzureError({
        armCode: error.code ?? (status === 'canceled' || status === 'cancelled' ? 'Canceled' : 'OperationFailed'),
        message: error.message ?? `the operation ended ${response.body?.status ?? `with HTTP ${response.status}`}`,
        statusCode: response.status >= 400 ? response.status : undefined,
        correlationId: response.headers['x-ms-correlation-request-id'],
        requestId: response.headers['x-ms-request-id'],
        monitorUrl,
        operationEnded: response.status < 400,
        operation: description,
      })
    }
    const running = response.status === 202 || (status !== undefined && status !== 'succeeded')
    if (!running) return 'succeeded'
    const hinted = retryAfterMs({get: (name) => response.headers[name]})
    await sleep(hinted && hinted > 0 ? Math.min(hinted, 60_000) : services.pollIntervalMs, signal)
  }
}

/**
 * The SDK's poller reads a failed status's `error` as an ErrorDetail; where it is an ErrorResponse (redisEnterprise's
 * OperationStatus) the poller's error says only "The long-running operation has failed". The reason is then read from
 * the monitor itself: an SDK error not yet converted gets it in the poller's own form ("… has failed. <code>. <message>",
 * which toAzureError parses); one the action already converted is converted again with it (withArmReason: the action's
 * operation name, az line and hints carried as data). Any other error, or a monitor that cannot be read, is returned
 * as it was.
 */
async function withOperationReason(services: AzureServices, monitorUrl: string, error: unknown, signal: AbortSignal): Promise<unknown> {
  // The poller's bare failure, as the SDK threw it or already made an AzureError by the action (toAzureError).
  const bare = /^The long-running operation has failed\.?$/
  const raw = error instanceof Error && !(error instanceof AzureError) && bare.test(error.message)
  const wrapped = error instanceof AzureError && bare.test(error.armMessage)
  if (!raw && !wrapped) return error
  let reason: {code?: string; message?: string}
  try {
    reason = operationError((await services.armRequest('GET', monitorUrl, {signal})).body)
  } catch {
    return error
  }
  if (!reason.code || !reason.message) return error
  if (raw) return Object.assign(new Error(`The long-running operation has failed. ${reason.code}. ${reason.message}`), {monitorUrl})
  // Already converted by the action (toAzureError): converted again with the reason, the operation name kept as data.
  return withArmReason(error as AzureError, {code: reason.code, message: reason.message}, monitorUrl)
}

/**
 * The `error` of a failed operation's status body: an ErrorDetail (`{code, message}`, ARM's OperationStatusResult), or
 * the ErrorResponse that wraps one (`{error: {code, message}}`: Microsoft.Cache/redisEnterprise's OperationStatus).
 */
export function operationError(body: unknown): {code?: string; message?: string} {
  const error = (body as {error?: unknown} | undefined)?.error
  if (!error || typeof error !== 'object') return {}
  const inner = (error as {error?: unknown}).error
  const detail = inner && typeof inner === 'object' && !('code' in error) ? inner : error
  const {code, message} = detail as {code?: unknown; message?: unknown}
  return {...(typeof code === 'string' ? {code} : {}), ...(typeof message === 'string' ? {message} : {})}
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, {once: true})
  })
}
