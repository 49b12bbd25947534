/**
 * Azure errors as users should see them: the ARM error code and message, the HTTP status, the correlation id to
 * quote to Azure support, and a hint for the failures people hit mid-incident (a bare "Conflict" is never enough).
 * No SDK import: errors are recognised by shape, so this module stays light.
 */
import {ExitCode, OpsbookError} from '../errors.js'

export interface AzureErrorContext {
  /** What was being done, e.g. "swap staging into production on app-shop". */
  operation?: string
  /** The `az` command to finish or undo it by hand. */
  az?: string
  /** Extra hints for this call site, tried before the generic ones. */
  hints?: Array<(error: AzureErrorFields) => string | undefined>
}

export interface AzureErrorFields {
  /** ARM error code, e.g. ResourceNotFound, Conflict, OperationNotAllowed. */
  armCode: string
  statusCode?: number
  message: string
  correlationId?: string
  requestId?: string
  /** Operation monitor URL, when a long-running operation failed. */
  monitorUrl?: string
  /** The long-running operation reached a terminal state (Failed/Canceled): nothing is left running in Azure. */
  operationEnded?: boolean
}

/** An Azure failure: exit 1 unless it is plainly the caller's input (then exit 2 is decided by the action). */
export class AzureError extends OpsbookError implements AzureErrorFields {
  readonly armCode: string
  readonly statusCode?: number
  readonly correlationId?: string
  readonly requestId?: string
  readonly monitorUrl?: string
  readonly operationEnded?: boolean
  readonly armMessage: string
  /** What was being done (the action's words, e.g. "export of redis-shop-sessions"): data, never parsed from the message. */
  readonly operation?: string
  /** Whether repeating the step may help (engine retries): false for the caller's own mistakes (400/401/403/404). */
  readonly retryable: boolean
  /**
   * How toAzureError converted the SDK's error (operation, az line, the call site's hints), so that a reason learned
   * later (withArmReason) is converted the same way. Not enumerable: not part of the error's JSON or journal record.
   */
  declare readonly conversion?: AzureErrorContext

  constructor(fields: AzureErrorFields & {operation?: string; hint?: string; az?: string; cause?: unknown; exitCode?: ExitCode}) {
    const head = fields.operation ? `${fields.operation} failed: ` : ''
    const status = fields.statusCode ? ` (HTTP ${fields.statusCode})` : ''
    const ids = [fields.correlationId && `correlation id ${fields.correlationId}`, fields.requestId && `request id ${fields.requestId}`]
      .filter(Boolean)
      .join(', ')
    super(`${head}${fields.armCode}${status}: ${fields.message}${ids ? ` [${ids}]` : ''}`, {
      exitCode: fields.exitCode ?? ExitCode.failed,
      code: `azure-${fields.armCode}`,
      suggestions: [fields.hint, fields.az && `by hand: ${fields.az}`].filter((s): s is string => Boolean(s)),
      cause: fields.cause,
    })
    this.armCode = fields.armCode
    this.statusCode = fields.statusCode
    this.correlationId = fields.correlationId
    this.requestId = fields.requestId
    this.monitorUrl = fields.monitorUrl
    this.operationEnded = fields.operationEnded
    this.armMessage = fields.message
    this.operation = fields.operation
    const httpStatus = fields.statusCode ?? 0
    this.retryable = ![400, 401, 403, 404, 422].includes(httpStatus)
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      armCode: this.armCode,
      statusCode: this.statusCode,
      correlationId: this.correlationId,
      requestId: this.requestId,
      monitorUrl: this.monitorUrl,
    }
  }
}

interface HeaderBag {
  get?(name: string): string | undefined | null
  [key: string]: unknown
}

function header(headers: HeaderBag | undefined, name: string): string | undefined {
  if (!headers) return undefined
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined
  const value = headers[name] ?? headers[name.toLowerCase()]
  return typeof value === 'string' ? value : undefined
}

const LRO_FAILED = /^The long-running operation has failed\.\s*([^.\s]+)\.\s*([\s\S]*)$/

/** Pull the ARM code/message/status/ids out of anything the SDKs throw (RestError, LRO failure, ms-rest-js error). */
export function azureErrorFields(error: unknown): AzureErrorFields {
  const e = (error ?? {}) as Record<string, any>
  const response = e.response as Record<string, any> | undefined
  const headers = (response?.headers ?? e.headers) as HeaderBag | undefined
  let body: any = e.details ?? response?.parsedBody ?? e.body
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch {
      body = undefined
    }
  }
  if (body === undefined && typeof response?.bodyAsText === 'string') {
    try {
      body = JSON.parse(response.bodyAsText)
    } catch {
      body = undefined
    }
  }
  const envelope = body?.error ?? body?.odata?.error ?? (body?.code && body?.message ? body : undefined)
  const message = String(e.message ?? error ?? 'unknown error')
  const lro = LRO_FAILED.exec(message)
  const statusCode: number | undefined = e.statusCode ?? response?.status
  const armCode: string =
    envelope?.code ?? lro?.[1] ?? (typeof e.code === 'string' && !/^\d+$/.test(e.code) ? e.code : undefined) ?? statusName(statusCode) ?? 'Error'
  let armMessage: string = envelope?.message ?? lro?.[2] ?? message
  // Nested detail messages often say what the top level does not (ARM wraps provider errors).
  const details: any[] = Array.isArray(envelope?.details) ? envelope.details : []
  const extra = details.map((d) => d?.message).filter((m: unknown) => typeof m === 'string' && !armMessage.includes(m))
  if (extra.length > 0) armMessage = `${armMessage} (${extra.join('; ')})`
  return {
    armCode,
    statusCode,
    message: armMessage,
    correlationId: header(headers, 'x-ms-correlation-request-id'),
    requestId: header(headers, 'x-ms-request-id') ?? header(headers, 'x-ms-client-request-id'),
    ...(lro ? {operationEnded: true} : {}),
  }
}

function statusName(status: number | undefined): string | undefined {
  const names: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    412: 'PreconditionFailed',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    503: 'ServiceUnavailable',
  }
  return status === undefined ? undefined : names[status]
}

/** Generic hints for failures people hit (see notes/anchors.md §4). */
function genericHint(f: AzureErrorFields): string | undefined {
  const text = `${f.armCode} ${f.message}`.toLowerCase()
  if (text.includes('prepared for swap') || text.includes('swap with preview') || text.includes('slotswapinprogress'))
    return 'a slot is left "prepared for swap" from an earlier swap with preview: cancel it on the slot prepared for swap with `az webapp deployment slot swap --action reset --resource-group <rg> --name <app> --slot <slot> --target-slot <slot>` (what the webapp.resetSwap action does), or complete the pending swap'
  if (f.armCode === 'AuthorizationFailed' || f.statusCode === 403)
    return 'the caller lacks an RBAC permission for this call: `opsbook plan <runbook>` lists the permissions every step needs'
  if (f.armCode === 'ResourceNotFound' || f.armCode === 'ResourceGroupNotFound' || f.statusCode === 404)
    return 'check the resource and resource group names in runbooks.yaml (`opsbook catalog show`)'
  // 529 is the metrics data plane's own throttling answer, sent without Retry-After (see policy.ts).
  if (f.statusCode === 529) return 'the Azure Monitor metrics backend throttled the reads (529); the retries backed off and ran out: run again later or reduce parallel metric steps'
  if (f.statusCode === 429 || f.armCode === 'TooManyRequests')
    return 'Azure throttled the subscription; retries honoured Retry-After and ran out: run again later or reduce parallel steps'
  if (f.statusCode === 409 || f.armCode === 'Conflict' || f.armCode === 'OperationNotAllowed' || f.armCode === 'AnotherOperationInProgress')
    return 'another operation is still running on this resource (scaling, patching, restore, import/export): wait for it to finish (its provisioning state returns to Succeeded/Ready) and retry'
  if (f.armCode === 'InvalidAuthenticationToken' || f.statusCode === 401)
    return 'sign in again (`az login`), or check the workload identity / managed identity configuration'
  return undefined
}

/**
 * Wrap anything an Azure SDK throws into an {@link AzureError} with ARM code, message, status, correlation id and a hint.
 * Abort errors and opsbook errors pass through unchanged.
 */
export function toAzureError(error: unknown, context: AzureErrorContext = {}): OpsbookError {
  if (error instanceof OpsbookError) return error
  const name = (error as {name?: string} | undefined)?.name
  if (name === 'AbortError') return error as OpsbookError
  return convert(azureErrorFields(error), context, error)
}

function convert(fields: AzureErrorFields, context: AzureErrorContext, cause: unknown, exitCode?: ExitCode): AzureError {
  const hint = context.hints?.map((h) => h(fields)).find(Boolean) ?? genericHint(fields)
  const converted = new AzureError({...fields, operation: context.operation, hint, az: context.az, cause, ...(exitCode === undefined ? {} : {exitCode})})
  Object.defineProperty(converted, 'conversion', {value: context, enumerable: false})
  return converted
}

/**
 * The same failure with the reason Azure gave for it, read after the SDK's error was converted (a long-running
 * operation's monitor, where the SDK's poller did not look: lro.ts). Converted again as toAzureError first did — the
 * action's operation name, az line and hints (which now see the reason's code) — with its status, ids and exit code.
 */
export function withArmReason(error: AzureError, reason: {code: string; message: string}, monitorUrl?: string): AzureError {
  const fields: AzureErrorFields = {
    armCode: reason.code,
    message: reason.message,
    statusCode: error.statusCode,
    correlationId: error.correlationId,
    requestId: error.requestId,
    monitorUrl: monitorUrl ?? error.monitorUrl,
    operationEnded: true,
  }
  return convert(fields, error.conversion ?? {operation: error.operation}, error, error.exitCode)
}

/**
 * A failure an action detects itself (a check that does not hold, a refused deletion). Not retried by the engine:
 * repeating the step cannot change the answer. Exit code 2 marks failures found before anything changed.
 */
export class ActionFailure extends OpsbookError {
  readonly retryable: boolean
  readonly details: Record<string, unknown>
  constructor(
    message: string,
    options: {code: string; exitCode?: ExitCode; suggestions?: string[]; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown},
  ) {
    super(message, {exitCode: options.exitCode ?? ExitCode.failed, code: options.code, suggestions: options.suggestions, cause: options.cause})
    this.retryable = options.retryable ?? false
    this.details = options.details ?? {}
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), details: this.details}
  }
}

/** True for a 404 from ARM (resource or parent missing). */
export function isNotFound(error: unknown): boolean {
  const e = error as {statusCode?: number; code?: string; response?: {status?: number}} | undefined
  return e?.statusCode === 404 || e?.response?.status === 404 || e?.code === 'ResourceNotFound' || (error instanceof AzureError && error.statusCode === 404)
}
