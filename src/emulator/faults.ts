/**
 * Fault injection: latency, ARM-like throttling (token bucket, 429 + Retry-After + x-ms-ratelimit-remaining-*; the
 * metrics data plane answers 529, as Azure's does),
 * transient 5xx, named operations that fail or never finish, unhealthy web app slots. Set by flag or
 * OPSBOOK_EMULATOR_FAULTS (JSON or `k=v` pairs, see `parseFaultSpec`), by the catalog, or by tests at runtime.
 */
import type {FaultInjector, FaultSpec} from './context.js'
import {armError, type EmulatorResponse} from './types.js'

/** The environment variable read by `opsbook emulator start` and in-process starts. */
export const FAULTS_ENV = 'OPSBOOK_EMULATOR_FAULTS'

/**
 * Parse a fault spec from JSON (`{"latencyMs":50}`) or comma/semicolon-separated `k=v` pairs:
 * `latency=50`, `throttle=<capacity>/<refillPerSecond>[/<retryAfterSeconds>]`, `transient=<next>` or `transient=0.1` (a rate),
 * `transientStatus=503`, `fail=<operation>:<code>:<message>` (repeatable), `hang=<operation>` (repeatable), `hold=<operation>` (repeatable),
 * `unhealthySlot=<site/slot|slot>` (repeatable), `reset=<next>` (connection resets), `expireTokens=<next>[/<lifetimeSeconds>]`,
 * `blobDown=true`.
 */
export function parseFaultSpec(text: string | undefined): FaultSpec {
  const trimmed = text?.trim()
  if (!trimmed) return {}
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as FaultSpec
  const spec: FaultSpec = {}
  for (const part of trimmed.split(/[;,]\s*(?=[A-Za-z]+=)/)) {
    const eq = part.indexOf('=')
    if (eq < 0) throw new Error(`invalid fault "${part}": expected key=value`)
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    switch (key) {
      case 'latency':
      case 'latencyMs':
        spec.latencyMs = numberOf(key, value)
        break
      case 'throttle': {
        const [capacity, refill, retryAfter] = value.split('/').map((v) => numberOf(key, v))
        spec.throttle = {capacity: capacity!, refillPerSecond: refill ?? 1, ...(retryAfter === undefined ? {} : {retryAfterSeconds: retryAfter})}
        break
      }
      case 'transient': {
        const n = numberOf(key, value)
        spec.transient = {...spec.transient, ...(n < 1 ? {rate: n} : {next: n})}
        break
      }
      case 'transientStatus':
        spec.transient = {...spec.transient, status: numberOf(key, value)}
        break
      case 'fail': {
        const [operation, code, ...message] = value.split(':')
        if (!operation || !code) throw new Error(`invalid fault "${part}": expected fail=<operation>:<code>:<message>`)
        spec.failOperations = {...spec.failOperations, [operation]: {code, message: message.join(':') || `Injected failure of ${operation}.`}}
        break
      }
      case 'hang':
        spec.hangOperations = [...(spec.hangOperations ?? []), value]
        break
      case 'hold':
        spec.holdOperations = [...(spec.holdOperations ?? []), value]
        break
      case 'unhealthySlot':
        spec.unhealthySlots = [...(spec.unhealthySlots ?? []), value]
        break
      case 'reset':
        spec.resetConnections = {next: numberOf(key, value)}
        break
      case 'expireTokens': {
        const [next, lifetime] = value.split('/').map((v) => numberOf(key, v))
        spec.expireTokens = {next: next!, ...(lifetime === undefined ? {} : {lifetimeSeconds: lifetime})}
        break
      }
      case 'blobDown':
        spec.blobDown = value !== 'false' && value !== '0'
        break
      default:
        throw new Error(`unknown fault "${key}" (known: latency, throttle, transient, transientStatus, fail, hang, hold, unhealthySlot, reset, expireTokens, blobDown)`)
    }
  }
  return spec
}

function numberOf(key: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid fault ${key}=${value}: expected a non-negative number`)
  return n
}

/** The FaultInjector the server consults before every ARM request. */
export class Faults implements FaultInjector {
  private spec: FaultSpec = {}
  private tokens = 0
  private lastRefill = 0
  private transientServed = 0
  /** Requests held by `holdOperations`, released when the fault no longer names their operation. */
  private holds: Array<{operation: string; release: () => void}> = []

  constructor(
    initial: FaultSpec = {},
    private readonly now: () => number = () => Date.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.set(initial)
  }

  current(): FaultSpec {
    return JSON.parse(JSON.stringify(this.spec)) as FaultSpec
  }

  set(spec: FaultSpec): void {
    this.spec = {...this.spec, ...JSON.parse(JSON.stringify(spec))}
    if (spec.transient) this.transientServed = 0
    if (spec.throttle) {
      this.tokens = spec.throttle.capacity
      this.lastRefill = this.now()
    }
    this.releaseHolds()
  }

  clear(): void {
    this.spec = {}
    this.releaseHolds()
  }

  held(operation: string): Promise<void> {
    if (!this.spec.holdOperations?.includes(operation)) return Promise.resolve()
    return new Promise((release) => this.holds.push({operation, release}))
  }

  private releaseHolds(): void {
    const still = (operation: string) => this.spec.holdOperations?.includes(operation) ?? false
    for (const hold of this.holds.filter((h) => !still(h.operation))) hold.release()
    this.holds = this.holds.filter((h) => still(h.operation))
  }

  operationFailure(operation: string): {code: string; message: string} | undefined {
    return this.spec.failOperations?.[operation]
  }

  operationHangs(operation: string): boolean {
    return this.spec.hangOperations?.includes(operation) ?? false
  }

  isSlotUnhealthy(site: string, slot: string): boolean {
    const wanted = [`${site}/${slot}`.toLowerCase(), slot.toLowerCase()]
    return (this.spec.unhealthySlots ?? []).some((s) => wanted.includes(s.toLowerCase()))
  }

  blobDown(): boolean {
    return this.spec.blobDown === true
  }

  /** Whether this ARM request's connection is to be destroyed (counts down `resetConnections.next`). */
  takeReset(method: string): boolean {
    const reset = this.spec.resetConnections
    if (!reset || reset.next <= 0 || (reset.methods && !reset.methods.includes(method))) return false
    reset.next -= 1
    return true
  }

  /** Lifetime of the tokens the managed-identity endpoint issues while token expiry is injected, in seconds. */
  tokenLifetimeSeconds(): number | undefined {
    return this.spec.expireTokens ? (this.spec.expireTokens.lifetimeSeconds ?? 2) : undefined
  }

  /** Whether this ARM request is to meet an expired token (counts down `expireTokens.next`). */
  takeTokenExpiry(): boolean {
    const expire = this.spec.expireTokens
    if (!expire || expire.next <= 0) return false
    expire.next -= 1
    return true
  }

  /** Wait out injected latency. */
  async delay(): Promise<void> {
    const ms = this.spec.latencyMs ?? 0
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
  }

  /**
   * The fault response for a request, or undefined to serve it. Also returns rate-limit headers to add to a
   * served response while throttling is configured.
   */
  intercept(method: string, operation: string): {response?: EmulatorResponse; headers: Record<string, string>} {
    const headers: Record<string, string> = {}
    const throttle = this.spec.throttle
    if (throttle) {
      const now = this.now()
      this.tokens = Math.min(throttle.capacity, this.tokens + ((now - this.lastRefill) / 1000) * throttle.refillPerSecond)
      this.lastRefill = now
      const header = method === 'GET' || method === 'HEAD' ? 'x-ms-ratelimit-remaining-subscription-reads' : 'x-ms-ratelimit-remaining-subscription-writes'
      if (this.tokens < 1) {
        // The metrics data plane throttles with 529, not ARM's 429: "529 throttling errors … This error indicates that
        // the metrics backend is currently throttling your requests. The recommended action is to implement an
        // exponential backoff retry scheme" (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api#529-throttling-errors;
        // MicrosoftDocs/azure-monitor-docs articles/azure-monitor/metrics/migrate-to-batch-api.md @ 0f267057). The page
        // gives no body, code or Retry-After: the batch API's error shape `{error: {code, message}}` (same page, "Error
        // response changes") with ARM's throttling code, and no Retry-After (the client backs off). The code stays a
        // guess after stop 26's search (listed at authorization.ts metricsBatchRefusal; grafana/grafana#127114 treats
        // "Azure's 529 metrics throttle" as retryable by status alone, quoting no body).
        if (operation === 'monitor.metrics.getBatch') {
          // With the batch API's `x-ms-error-code` header (metricBatch.json `default`, services/monitor.ts withBatchErrorCode).
          return {response: {...armError(529, 'TooManyRequests', 'The metrics backend is throttling requests (injected throttling). Retry with exponential backoff.'), headers: {'x-ms-error-code': 'TooManyRequests'}}, headers}
        }
        const wait = throttle.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - this.tokens) / Math.max(throttle.refillPerSecond, 0.001)))
        const response = armError(
          429,
          'TooManyRequests',
          `The request is being throttled as the limit has been reached for operation type - ${method === 'GET' ? 'Read' : 'Write'}_ObservationWindow_00:05:00. For more information, see - https://aka.ms/throttling`,
        )
        response.headers = {'Retry-After': String(wait), [header]: '0'}
        return {response, headers}
      }
      this.tokens -= 1
      headers[header] = String(Math.floor(this.tokens))
    }
    const transient = this.spec.transient
    if (transient && (!transient.operations || transient.operations.includes(operation))) {
      let fail = false
      if (transient.next && transient.next > 0) {
        transient.next -= 1
        fail = true
      } else if (transient.rate && this.random() < transient.rate) fail = true
      if (fail) {
        const status = transient.statuses?.length ? transient.statuses[this.transientServed++ % transient.statuses.length]! : (transient.status ?? 503)
        return {
          response: armError(status, status === 503 ? 'ServiceUnavailable' : 'InternalServerError', 'The service is temporarily unavailable (injected transient fault). Please retry the request.'),
          headers,
        }
      }
    }
    return {headers}
  }
}
