/**
 * Contract between the emulator's HTTPS core (server, routing, state, long-running operations, faults) and the
 * per-service route modules (postgres, redis, webapp, monitor, resource graph, storage, key vault, locks).
 * Each service module exports `routes(ctx): Route[]`.
 */
import type {IncomingHttpHeaders} from 'node:http'

export interface EmulatorRequest {
  method: string
  /** Path with leading slashes collapsed and no query, e.g. /subscriptions/s/resourceGroups/rg/…; matching is case-insensitive. */
  path: string
  /** Query with percent-encoded keys decoded (`api%2Dversion` → `api-version`). */
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: any
  rawBody: Buffer
  /** Absolute base URL of the emulator, e.g. https://127.0.0.1:8443 — for Location headers and nextLinks. */
  baseUrl: string
  /**
   * Test-only page size for this request's list operation (StartEmulatorOptions.listPageSizes), so clients' nextLink
   * handling is exercised; undefined in normal use, where each list pages as Azure documents (arm.ts `paged`).
   */
  pageSize?: number
  /**
   * The fleet copy of the subscription the client addressed (`/subscriptions/{copy}/…`, fleet.ts), whose request is
   * served by the environment's own handlers (`path` rewritten to the environment's subscription); undefined otherwise.
   */
  copy?: string
}

export interface EmulatorResponse {
  status: number
  headers?: Record<string, string>
  /** Serialized as JSON unless it is a string or Buffer. */
  body?: unknown
}

/** Route parameters, from `{name}` segments of the pattern. */
export type RouteParams = Record<string, string>

export interface Route {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE' | 'HEAD'
  /** e.g. /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}. Literal segments match case-insensitively. */
  pattern: string
  /** A name for the request log and fault injection, e.g. `postgres.create`. */
  operation: string
  handler(request: EmulatorRequest, params: RouteParams): EmulatorResponse | Promise<EmulatorResponse>
}

/** An ARM error envelope response. */
export function armError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): EmulatorResponse {
  return {status, body: {error: {code, message, ...extra}}}
}

/** One line of the request log that tests read. */
export interface RequestLogEntry {
  /** 1-based number of the request over the emulator's life (see request-log.ts). */
  seq: number
  at: string
  method: string
  path: string
  query: string
  operation: string
  status: number
  durationMs: number
}
