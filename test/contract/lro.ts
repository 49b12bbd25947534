/**
 * Long-running operations' monitors (the URLs a 201/202's Azure-AsyncOperation and Location headers hand out), checked
 * against what Azure publishes for them:
 * - where the resource provider's own document defines the monitor as an operation (Microsoft.Cache's
 *   AsyncOperationStatus_Get at `…/asyncOperations/{id}`, Managed Redis's OperationsStatus_Get at `…/operationsStatus/{id}`),
 *   the registry validates it like any operation (specs.ts) and this module only counts it;
 * - any other Azure-AsyncOperation poll against ARM's RPC, "Azure-AsyncOperation Resource format"
 *   (test/fixtures/azure-resource-manager-rpc/v1.0/async-api-reference.md, lines 151–191, vendored verbatim with its
 *   licence): read with 200; `status` required, terminal values Succeeded / Failed / Canceled and any other value "still
 *   running"; `error` required when Failed (with `code` and `message`) or Canceled (with `code`); `properties` only when
 *   Succeeded; `id` "should match what is used to GET the operation resource" and `name` "must match the last segment of
 *   the id"; `percentComplete` a number 0–100. The properties allowed are the RPC's element table plus `resourceId` and
 *   `operations`, which common-types' OperationStatusResult (resource-management v5, vendored) adds to the same resource;
 *   `error` is common-types' ErrorDetail (the RPC points at the common-types ErrorResponse for it);
 * - any Location poll against the RPC's "202 Accepted and Location Headers" (lines 105–149): 202 with a Location header
 *   and no body while the operation runs; once complete, "the exact same response that would have been returned had the
 *   operation been executed synchronously" — validated against the operation that handed the URL out (its vendored
 *   document's responses for that status, as the registry checks the operation itself); a failed operation's error is
 *   ARM's `{error: {code, message}}`.
 */
import {Ajv2019, type ValidateFunction} from 'ajv/dist/2019.js'
import type {ContractExchange, ContractRegistry, SpecOperation} from './specs.js'

export const RPC_ASYNC_REFERENCE = 'azure-resource-manager-rpc v1.0/async-api-reference.md'

export type MonitorKind = 'status' | 'location'

export interface LroPollCheck {
  kind: MonitorKind
  /** What it was validated against: a vendored document's operation, or the RPC reference. */
  against: string
  /** The spec operation that validated it (the provider's own status operation), if any. */
  operation?: SpecOperation
  /** For a Location poll: the operation that handed the URL out, when a vendored document defines it. */
  origin?: SpecOperation
  violations: string[]
}

const STATUS_SEGMENT = /\/(azureAsyncOperation|operationsStatus|operationStatuses|asyncOperations|[a-z]+AzureAsyncOperation)\/[^/]+$/i
const LOCATION_SEGMENT = /\/(operationResults|[a-z]+OperationResults)\/[^/]+$/i

const ERROR_DETAIL = {
  type: 'object',
  properties: {
    code: {type: 'string'},
    message: {type: 'string'},
    target: {type: 'string'},
    details: {type: 'array', items: {$ref: '#/$defs/error'}},
    additionalInfo: {type: 'array', items: {type: 'object', properties: {type: {type: 'string'}, info: {}}, additionalProperties: false}},
  },
  additionalProperties: false,
}

/** The Azure-AsyncOperation resource (see the header comment). */
export const RPC_OPERATION_STATUS_SCHEMA = {
  $defs: {error: ERROR_DETAIL},
  type: 'object',
  required: ['status'],
  properties: {
    id: {type: 'string'},
    name: {type: 'string'},
    status: {type: 'string'},
    startTime: {type: 'string'},
    endTime: {type: 'string'},
    percentComplete: {type: 'number', minimum: 0, maximum: 100},
    properties: {type: 'object'},
    error: {$ref: '#/$defs/error'},
    resourceId: {type: 'string'},
    operations: {type: 'array', items: {type: 'object'}},
  },
  additionalProperties: false,
  allOf: [
    {if: {properties: {status: {const: 'Failed'}}, required: ['status']}, then: {required: ['error'], properties: {error: {required: ['code', 'message']}}}},
    {if: {properties: {status: {const: 'Canceled'}}, required: ['status']}, then: {required: ['error'], properties: {error: {required: ['code']}}}},
    {if: {required: ['properties']}, then: {properties: {status: {const: 'Succeeded'}}}},
  ],
}

let rpcValidator: ValidateFunction | undefined
function validateRpcStatus(body: unknown): string[] {
  rpcValidator ??= new Ajv2019({strict: false, allErrors: true}).compile(RPC_OPERATION_STATUS_SCHEMA)
  if (rpcValidator(body)) return []
  return (rpcValidator.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => {
    const at = e.instancePath || '(body)'
    if (e.keyword === 'additionalProperties') return `${at}: property '${(e.params as {additionalProperty: string}).additionalProperty}' is not in the RPC's operation resource`
    return `${at}: ${e.message}`
  })
}

function pathOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url, 'https://emulator.invalid').pathname).toLowerCase()
  } catch {
    return undefined
  }
}

function header(exchange: Pick<ContractExchange, 'headers'>, name: string): string | undefined {
  const found = Object.entries(exchange.headers ?? {}).find(([key]) => key.toLowerCase() === name)
  return found === undefined ? undefined : String(found[1])
}

/**
 * The monitors handed out by the exchanges of one run (the suite's, or a test's), and the checks of their polls. A poll
 * whose URL no recorded exchange handed out (a client built it, or its start was not recorded) is classified by its
 * path's last-but-one segment, as ARM's URLs name it.
 */
export class LroContract {
  private readonly origins = new Map<string, {kind: MonitorKind; exchange: ContractExchange}>()

  constructor(
    private readonly registry: ContractRegistry,
    exchanges: ContractExchange[],
  ) {
    for (const exchange of exchanges) {
      if (this.kindByPath(exchange.path)) continue
      const status = header(exchange, 'azure-asyncoperation')
      const location = header(exchange, 'location')
      if (location && (exchange.status === 201 || exchange.status === 202)) this.remember(location, 'location', exchange)
      if (status) this.remember(status, 'status', exchange)
    }
  }

  /** Whether the exchange is a poll of a monitor, and of which kind. */
  kind(exchange: Pick<ContractExchange, 'method' | 'path'>): MonitorKind | undefined {
    if (exchange.method !== 'GET') return undefined
    const key = safeDecode(exchange.path).toLowerCase()
    return this.origins.get(key)?.kind ?? this.kindByPath(exchange.path)
  }

  /** Validate a poll; undefined when the exchange is not one. */
  check(exchange: ContractExchange): LroPollCheck | undefined {
    const kind = this.kind(exchange)
    if (!kind) return undefined
    const own = this.registry.check(exchange)
    if (own.operation) return {kind, against: own.operation.specFile, operation: own.operation, violations: own.violations}
    return kind === 'status' ? this.checkStatus(exchange) : this.checkLocation(exchange)
  }

  private checkStatus(exchange: ContractExchange): LroPollCheck {
    const result: LroPollCheck = {kind: 'status', against: RPC_ASYNC_REFERENCE, violations: []}
    if (exchange.status >= 400) {
      // "a failure in reading the status but not in the underlying operation": ARM's error envelope.
      result.violations.push(...armErrorViolations(exchange))
      return result
    }
    if (exchange.status !== 200) {
      result.violations.push(`status ${exchange.status}: the operation resource is read with 200`)
      return result
    }
    if (exchange.body === undefined || typeof exchange.body !== 'object') {
      result.violations.push('200 has no JSON body; the RPC defines the operation resource')
      return result
    }
    result.violations.push(...validateRpcStatus(exchange.body))
    const {id, name} = exchange.body as {id?: unknown; name?: unknown}
    if (typeof id === 'string') {
      if (pathOf(id) !== safeDecode(exchange.path).toLowerCase()) result.violations.push(`/id: '${id}' is not the URL the status was read at`)
      if (typeof name === 'string' && id.split('/').pop()?.toLowerCase() !== name.toLowerCase()) result.violations.push(`/name: '${name}' is not the last segment of id`)
    }
    return result
  }

  private checkLocation(exchange: ContractExchange): LroPollCheck {
    const started = this.origins.get(safeDecode(exchange.path).toLowerCase())?.exchange
    const origin = started ? this.registry.match(started.method, started.path, new URLSearchParams(started.query).get('api-version')) : undefined
    const result: LroPollCheck = {kind: 'location', against: origin ? `${origin.specFile} (${origin.operationId})` : RPC_ASYNC_REFERENCE, ...(origin ? {origin} : {}), violations: []}
    if (exchange.status === 202) {
      if (!header(exchange, 'location')) result.violations.push('202 lacks the Location header the RPC requires while the operation runs')
      if (exchange.body !== undefined && !(typeof exchange.body === 'object' && exchange.body !== null && Object.keys(exchange.body).length === 0))
        result.violations.push('202 has a body; the RPC says a 202 Accepted "should return no response body"')
      return result
    }
    if (exchange.status >= 400) result.violations.push(...armErrorViolations(exchange))
    // An operation that documents no synchronous answer with this status (a POST action that is only ever 202: PostgreSQL
    // Servers_Start / Stop / Restart) has no "same response" to compare with: only the RPC's rules apply to it.
    if (started && origin && !origin.responses[String(exchange.status)] && exchange.status === 200 && origin.finalStateSchema) {
      // An operation that answers only 202 but documents its final result (`final-state-schema`: PostgreSQL 2025-08-01
      // Servers_Update / CreateOrUpdate, a Server): the complete answer is checked against that schema.
      result.against = `${origin.specFile} (${origin.operationId} final-state-schema)`
      if (exchange.body !== undefined) result.violations.push(...this.registry.validateAgainst(origin.finalStateSchema, exchange.body).map((v) => `as ${origin.operationId}'s final state: ${v}`))
    } else if (started && origin && !origin.responses[String(exchange.status)] && exchange.status < 400) {
      result.against = RPC_ASYNC_REFERENCE
      delete result.origin
      if (exchange.status !== 200 && exchange.status !== 204) result.violations.push(`status ${exchange.status}: a complete operation answers 200 or 204`)
    } else if (started && origin) {
      // The answer the operation would have given synchronously: checked as that operation's (same status code).
      const {violations} = this.registry.check({...exchange, method: started.method, path: started.path, query: started.query})
      result.violations.push(...violations.map((v) => `as ${origin.operationId}: ${v}`))
    } else if (exchange.status !== 200 && exchange.status !== 204 && exchange.status < 400) result.violations.push(`status ${exchange.status}: a complete operation answers 200 or 204`)
    return result
  }

  private remember(url: string, kind: MonitorKind, exchange: ContractExchange): void {
    const key = pathOf(url)
    // A 201's Location can name the created resource itself rather than a monitor.
    if (!key || (kind === 'location' && key === safeDecode(exchange.path).toLowerCase())) return
    this.origins.set(key, {kind, exchange})
  }

  private kindByPath(path: string): MonitorKind | undefined {
    if (STATUS_SEGMENT.test(path)) return 'status'
    if (LOCATION_SEGMENT.test(path)) return 'location'
    return undefined
  }
}

function armErrorViolations(exchange: ContractExchange): string[] {
  const error = (exchange.body as {error?: {code?: unknown; message?: unknown}} | undefined)?.error
  return typeof error?.code === 'string' && typeof error.message === 'string' ? [] : [`${exchange.status} is not ARM's {error: {code, message}}`]
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
