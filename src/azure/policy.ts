/**
 * The one retry/throttle policy every Azure client gets (clients are built with `retryOptions.maxRetries: 0`
 * so the SDK's own retry stays out of the way and this policy decides alone).
 *
 * - 429 (any method) and 503 honour `Retry-After` (seconds or HTTP date) / `retry-after-ms`; without one they back off
 *   exponentially with jitter. 529 is the metrics data plane's throttling answer ("529 throttling errors … implement an
 *   exponential backoff retry scheme", https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api#529-throttling-errors)
 *   and is treated as 429.
 * - A throttled answer pauses every request to the same host until its Retry-After has passed, so parallel steps do
 *   not keep hammering a throttled subscription.
 * - `x-ms-ratelimit-remaining-*` headers at or below the low-water mark pause the next requests to that host briefly.
 * - 5xx and network errors are retried only for idempotent requests. A POST is not retried on a 5xx: ARM may have
 *   accepted it, and only its async-operation contract (which we do not have for a failed initial request) could tell.
 *   Read-only POSTs (metrics batch, Resource Graph, Log Analytics queries, listKeys) are idempotent and are retried.
 * - 401 with an expired-token challenge (`error="invalid_token"`, ARM code ExpiredAuthenticationToken) is sent again
 *   with a fresh token (`renewToken`), any method: ARM refused the request before acting on it. This policy runs after
 *   the SDK's bearer policy (perRetry = after Sign), which answers only CAE challenges itself. Up to 3 times per
 *   request: a renewed token can itself expire before the request is answered (short-lived tokens, a held request).
 * - Retries are bounded (count and longest wait).
 */
import type {PipelinePolicy, PipelineRequest, PipelineResponse, SendRequest} from '@azure/core-rest-pipeline'

export const retryPolicyName = 'opsbookRetryPolicy'
/** Fresh tokens tried for one request refused as expired, before its 401 is returned. */
const MAX_TOKEN_RENEWALS = 3

export interface RetryEvent {
  /** 1-based retry number. */
  retry: number
  method: string
  /** Request URL without its query string (a SAS lives there). */
  url: string
  status?: number
  reason: 'throttled' | 'unavailable' | 'server-error' | 'network' | 'rate-limit-low' | 'token-expired'
  delayMs: number
}

export interface RetryPolicyOptions {
  /** Retries after the first attempt (default 5). */
  maxRetries?: number
  /** First backoff step without Retry-After (default 800 ms); doubles per retry. */
  baseDelayMs?: number
  /** Cap of a computed backoff (default 30 s). */
  maxDelayMs?: number
  /** A Retry-After longer than this is not waited for: the response is returned (default 5 min). */
  maxRetryAfterMs?: number
  /** `x-ms-ratelimit-remaining-*` at or below this pauses the next requests (default 1). */
  lowRemaining?: number
  /** Pause applied when the remaining quota is low (default 1 s). */
  lowRemainingPauseMs?: number
  /** A fresh bearer token for a request ARM refused because its token expired (undefined: not for this host). */
  renewToken?(url: string): Promise<string | undefined>
  /** Told about each retry and pause (for progress lines). */
  onRetry?(event: RetryEvent): void
  /** Random source for jitter, [0, 1). */
  random?: () => number
}

/**
 * POST paths that only read, so retrying them is safe. `slotsdiffs`: Web Apps - List Slot Differences ("Get the
 * difference in configuration settings between two web app slots", WebApps.json; a POST only because the target slot
 * is its body).
 */
const READ_ONLY_POST = [/\/metrics:getbatch$/i, /\/providers\/microsoft\.resourcegraph\/resources$/i, /\/workspaces\/[^/]+\/query$/i, /\/listkeys$/i, /\/query$/i, /\/slotsdiffs$/i]
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'])
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'REQUEST_SEND_ERROR'])

/** Whether repeating the request cannot do something twice. */
export function isIdempotent(method: string, url: string): boolean {
  const upper = method.toUpperCase()
  if (IDEMPOTENT.has(upper)) return true
  if (upper !== 'POST') return false
  const path = stripQuery(url).replace(/\/+$/, '')
  return READ_ONLY_POST.some((pattern) => pattern.test(path))
}

/**
 * Milliseconds to wait from `retry-after-ms` / `x-ms-retry-after-ms` (ms) or `Retry-After` (seconds or an HTTP
 * date), or undefined when none is usable.
 */
export function retryAfterMs(headers: {get(name: string): string | undefined}, now: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = headers.get(name)
    if (value !== undefined && /^\d+(\.\d+)?$/.test(value.trim())) return Math.max(0, Number(value))
  }
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Math.max(0, Number(value) * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The smallest `x-ms-ratelimit-remaining-*` count in a response (values like `Microsoft.Compute/Get3Min;107` included). */
export function remainingQuota(headers: {toJSON(): Record<string, string>}): number | undefined {
  let lowest: number | undefined
  for (const [name, value] of Object.entries(headers.toJSON())) {
    if (!name.toLowerCase().startsWith('x-ms-ratelimit-remaining-')) continue
    for (const match of String(value).matchAll(/(?:^|[;,\s])(\d+)(?=$|[,\s])/g)) {
      const n = Number(match[1])
      lowest = lowest === undefined ? n : Math.min(lowest, n)
    }
  }
  return lowest
}

function stripQuery(url: string): string {
  const i = url.indexOf('?')
  return i === -1 ? url : url.slice(0, i)
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

function sleep(ms: number, signal?: {aborted: boolean; addEventListener?: any; removeEventListener?: any}): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError())
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener?.('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener?.('abort', onAbort, {once: true})
  })
}

function abortError(): Error {
  const error = new Error('The operation was aborted.')
  error.name = 'AbortError'
  return error
}

/** A 401 whose challenge or body says the bearer token expired (RFC 6750 §3.1 `invalid_token`; ARM ExpiredAuthenticationToken). */
function isExpiredTokenChallenge(response: PipelineResponse): boolean {
  const challenge = response.headers.get('www-authenticate') ?? ''
  return /error="?invalid_token/i.test(challenge) && /expired/i.test(challenge + (response.bodyAsText ?? ''))
}

/**
 * Build the policy. Share one instance between all clients of a run so a throttled host pauses everyone.
 */
export function createRetryPolicy(options: RetryPolicyOptions = {}): PipelinePolicy {
  const maxRetries = options.maxRetries ?? 5
  const baseDelayMs = options.baseDelayMs ?? 800
  const maxDelayMs = options.maxDelayMs ?? 30_000
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000
  const lowRemaining = options.lowRemaining ?? 1
  const lowRemainingPauseMs = options.lowRemainingPauseMs ?? 1000
  const random = options.random ?? Math.random
  /** Host → epoch ms before which no request is sent. */
  const pausedUntil = new Map<string, number>()

  const backoff = (retry: number) => {
    const step = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1))
    return Math.round(step * (0.5 + random() / 2))
  }
  const pauseHost = (host: string, ms: number) => {
    const until = Date.now() + ms
    if ((pausedUntil.get(host) ?? 0) < until) pausedUntil.set(host, until)
  }

  return {
    name: retryPolicyName,
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      const host = hostOf(request.url)
      const idempotent = isIdempotent(request.method, request.url)
      const url = stripQuery(request.url)
      let tokenRenewals = 0
      for (let retry = 0; ; retry++) {
        const wait = (pausedUntil.get(host) ?? 0) - Date.now()
        if (wait > 0) await sleep(wait, request.abortSignal)

        let response: PipelineResponse
        try {
          response = await next(request)
        } catch (error) {
          const code = (error as {code?: string}).code
          const network = code !== undefined && NETWORK_CODES.has(code)
          if (!network || !idempotent || retry >= maxRetries || request.abortSignal?.aborted) throw error
          const delayMs = backoff(retry + 1)
          options.onRetry?.({retry: retry + 1, method: request.method, url, reason: 'network', delayMs})
          await sleep(delayMs, request.abortSignal)
          continue
        }

        const remaining = remainingQuota(response.headers)
        if (remaining !== undefined && remaining <= lowRemaining && response.status !== 429) {
          pauseHost(host, lowRemainingPauseMs)
          options.onRetry?.({retry: 0, method: request.method, url, status: response.status, reason: 'rate-limit-low', delayMs: lowRemainingPauseMs})
        }

        const status = response.status
        if (status === 401 && tokenRenewals < MAX_TOKEN_RENEWALS && options.renewToken && isExpiredTokenChallenge(response)) {
          tokenRenewals++
          const token = await options.renewToken(request.url)
          if (!token) return response
          request.headers.set('authorization', `Bearer ${token}`)
          options.onRetry?.({retry: retry + 1, method: request.method, url, status, reason: 'token-expired', delayMs: 0})
          response.readableStreamBody?.resume?.()
          continue
        }
        const throttled = status === 429 || status === 529
        const unavailable = status === 503
        const serverError = status === 500 || status === 502 || status === 504 || status === 408
        if (!throttled && !unavailable && !serverError) return response
        if (!throttled && !idempotent) return response
        if (retry >= maxRetries) return response

        const hinted = retryAfterMs(response.headers)
        if (hinted !== undefined && hinted > maxRetryAfterMs) return response
        const delayMs = hinted !== undefined && hinted > 0 ? hinted : backoff(retry + 1)
        if (throttled || unavailable) pauseHost(host, delayMs)
        options.onRetry?.({
          retry: retry + 1,
          method: request.method,
          url,
          status,
          reason: throttled ? 'throttled' : unavailable ? 'unavailable' : 'server-error',
          delayMs,
        })
        // Drain the body so the socket is reused.
        response.readableStreamBody?.resume?.()
        // Throttled/unavailable: the host pause set above makes this request (and everyone else's) wait.
        if (!throttled && !unavailable) await sleep(delayMs, request.abortSignal)
      }
    },
  }
}
