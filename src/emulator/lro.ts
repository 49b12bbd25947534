/**
 * Long-running operations the way ARM does them (notes §3): the initial 201/202 carries Azure-AsyncOperation
 * (unless the kind is `location`), Location and Retry-After; progress is by elapsed time (the SDKs send two polls
 * within milliseconds, so poll counting would finish too early); the async status goes InProgress → Succeeded or
 * Failed with an `error`; the Location monitor answers 202 while running and, when done, what the operation would have
 * answered synchronously (see `completed`).
 */
import {randomUUID} from 'node:crypto'
import type {FaultInjector, LroManager, LroOperation, LroStartOptions} from './context.js'
import {ArmFailure} from './context.js'
import {armError, type EmulatorRequest, type EmulatorResponse} from './types.js'

interface TrackedOperation extends LroOperation {
  dueAt: number
  hangs: boolean
  injected?: {code: string; message: string}
  run: LroStartOptions['run']
  result: LroStartOptions['result']
  /** The request that started the operation: its method decides the finished Location monitor's answer. */
  startedBy: {method: string; path: string}
  finalResource?: string
  noPercentComplete?: boolean
  errorResponse?: boolean
  applying?: Promise<void>
  timer?: NodeJS.Timeout
  /** Called once when the operation ends (the Activity Log's last event of the write that started it). */
  onEnd?: (op: LroOperation) => void
}

/**
 * Finished operations kept (with their monitors) by default. A long-lived emulator (the CLI's, the soak's) starts
 * operations without end; only the newest finished ones are kept, so clients can still poll a monitor after the
 * operation ended and tests can find a recent failure. Running operations (hung ones included) are always kept.
 */
export const FINISHED_OPERATION_LIMIT = 500

/** The Retry-After every running operation's answer carries (1 s: see `start`), in milliseconds. */
const RETRY_AFTER_MS = 1000

export class Operations implements LroManager {
  private readonly operations = new Map<string, TrackedOperation>()
  /** Lower-cased monitor path → operation id and monitor kind. */
  private readonly monitors = new Map<string, {id: string; kind: 'status' | 'location'}>()
  /** The monitor paths of each operation, to forget them with it. */
  private readonly monitorsOf = new Map<string, string[]>()
  /** Finished operations, oldest first (a Set keeps insertion order = settle order). */
  private readonly finished = new Set<string>()

  constructor(
    private readonly options: {
      subscription: string
      defaultDurationMs: number
      faults: FaultInjector
      clock: () => Date
      /** Called after an operation's effect is applied (the server persists state). */
      onSettled: () => void
      /** Finished operations kept (default FINISHED_OPERATION_LIMIT). */
      finishedLimit?: number
    },
  ) {}

  setDefaultDurationMs(ms: number): void {
    this.options.defaultDurationMs = Math.max(0, ms)
  }

  start(options: LroStartOptions): EmulatorResponse {
    const id = randomUUID()
    const now = this.options.clock()
    const duration = Math.max(0, options.durationMs ?? this.options.defaultDurationMs)
    const op: TrackedOperation = {
      id,
      operation: options.operation,
      status: 'InProgress',
      startTime: now.toISOString(),
      ...(options.resourceId ? {resourceId: options.resourceId} : {}),
      dueAt: now.getTime() + duration,
      hangs: this.options.faults.operationHangs(options.operation),
      injected: this.options.faults.operationFailure(options.operation),
      run: options.run,
      result: options.result,
      startedBy: {method: options.request.method.toUpperCase(), path: options.request.path},
      ...(options.finalResource ? {finalResource: options.finalResource} : {}),
      ...(options.noPercentComplete ? {noPercentComplete: true} : {}),
      ...(options.errorResponse ? {errorResponse: true} : {}),
    }
    this.operations.set(id, op)
    if (!op.hangs) {
      op.timer = setTimeout(() => void this.settle(op), duration)
      op.timer.unref()
    }

    const location = encodeURIComponent(options.location)
    const base = `/subscriptions/${this.options.subscription}/providers/${options.provider}/locations/${location}`
    const statusPath = `${base}/${options.asyncOperationSegment ?? 'azureAsyncOperation'}/${id}`
    const resolvedLocationPath = `${options.locationPath ? options.locationPath.replace(/\/+$/, '') : `${base}/operationResults`}/${id}`
    const statusKey = decodeURIComponent(statusPath).toLowerCase()
    const locationKey = decodeURIComponent(resolvedLocationPath).toLowerCase()
    this.monitors.set(statusKey, {id, kind: 'status'})
    if (!options.locationIsResource) this.monitors.set(locationKey, {id, kind: 'location'})
    this.monitorsOf.set(id, options.locationIsResource ? [statusKey] : [statusKey, locationKey])
    const query = monitorQuery(options.request)
    const headers: Record<string, string> = {
      Location: `${options.request.baseUrl}${options.locationIsResource ? options.request.path : resolvedLocationPath}${query}`,
      // On every answer, short operations too: without it `az` (azure-core's ARM polling) waits its default 30 s
      // between polls (the az conformance suite took 392 s instead of 43 s). Whole seconds, as ARM documents it ("The
      // number of seconds to wait before checking the status",
      // https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations): 1 is the shortest wait
      // that is not 0, which azure-core takes as "no header" (its default interval). Clients do not sleep it before
      // their first poll (core-lro and azure-core's LROBasePolling._poll poll at once), which untilDueWithin answers
      // at the operation's end. Not what every Azure service sends: the recorded 202 of `az postgres flexible-server
      // backup create` (test/fixtures/azure-cli-recordings/postgresql/test_postgres_flexible_server_backups_mgmt.yaml,
      // az 2.82, 2025-08-01; headers verbatim) carries Azure-AsyncOperation and Location but no Retry-After, so a
      // client then polls at its own default: kept as a deliberate deviation for speed (issue #11).
      'Retry-After': '1',
    }
    if (options.kind === 'azure-async-operation') headers['Azure-AsyncOperation'] = `${options.request.baseUrl}${statusPath}${query}`
    return {status: options.initialStatus, headers, ...(options.body === undefined ? {} : {body: options.body})}
  }

  async get(id: string): Promise<LroOperation | undefined> {
    const op = this.operations.get(id)
    if (!op) return undefined
    await this.advance(op)
    return publicView(op)
  }

  list(): LroOperation[] {
    return [...this.operations.values()].map(publicView)
  }

  /**
   * Call `fn` once when the operation whose monitor URL `monitorUrl` names ends (at once if it already has); nothing
   * when no operation of this manager has that URL (a 202 answered without one).
   */
  whenFinished(monitorUrl: string, fn: (op: LroOperation) => void): void {
    let key: string
    try {
      key = decodeURIComponent(new URL(monitorUrl).pathname).toLowerCase()
    } catch {
      return
    }
    const id = this.monitors.get(key)?.id
    const op = id ? this.operations.get(id) : undefined
    if (!op) return
    if (op.status !== 'InProgress') fn(publicView(op))
    else op.onEnd = fn
  }

  /** Whether a GET path is one of the monitor URLs this manager serves. */
  isMonitor(request: EmulatorRequest): boolean {
    return request.method === 'GET' && this.monitors.has(safeDecode(request.path).toLowerCase())
  }

  /**
   * Serve a monitor URL (async status or Location), or undefined when the path is not one. `read` answers a GET of a
   * resource path as the emulator's routes do (the finished Location monitor of a PUT or PATCH returns the resource).
   */
  async handleMonitor(request: EmulatorRequest, read?: ResourceReader): Promise<EmulatorResponse | undefined> {
    if (request.method !== 'GET') return undefined
    const monitor = this.monitors.get(safeDecode(request.path).toLowerCase())
    if (!monitor) return undefined
    const op = this.operations.get(monitor.id)
    if (!op) return undefined
    await this.advance(op)
    await this.untilDueWithin(op, RETRY_AFTER_MS)
    const retry = {'Retry-After': '1'}
    if (monitor.kind === 'status') {
      const body: Record<string, unknown> = {
        id: `${request.path}`,
        name: op.id,
        status: op.status,
        startTime: op.startTime,
        ...(op.noPercentComplete ? {} : {percentComplete: op.status === 'InProgress' ? this.percent(op) : 100}),
      }
      if (op.endTime) body.endTime = op.endTime
      if (op.error) body.error = op.errorResponse ? {error: op.error} : op.error
      return {status: 200, headers: op.status === 'InProgress' ? retry : {}, body}
    }
    if (op.status === 'InProgress') return {status: 202, headers: {...retry, Location: `${request.baseUrl}${request.path}${monitorQuery(request)}`}}
    if (op.status === 'Failed') return armError(400, op.error!.code, op.error!.message)
    return this.completed(op, request, read)
  }

  /**
   * The finished Location monitor's answer: "the exact same response that would have been returned had the operation
   * been executed synchronously" (ARM's RPC, test/fixtures/azure-resource-manager-rpc/v1.0/async-api-reference.md,
   * "202 Accepted and Location Headers", step 5), by the kind of operation as the same document's sections say:
   * - an operation that states its result (`result`: a SQL failover group's failover, Cosmos DB's continuous backup
   *   information): 200 with it;
   * - DELETE: 204 No Content ("Delete Resource Asynchronously", step 5: "200 OK or 204 NoContent"; its example flow
   *   ends `204 NOCONTENT`; Azure's spec linter, Azure/azure-openapi-validator docs/delete-response-codes.md,
   *   RPC-Delete-V1-01: "LRO DELETE must have 202 and 204 return code", so 204 is the one a long-running DELETE
   *   documents besides the 202);
   * - PUT and PATCH: 200 with the resource as a GET at the same api-version answers it ("Updating using PATCH", step 5:
   *   "what would have been a successful response if the API completed (e.g. a response body …)"); JS SDKs read a
   *   PATCH's final result from this URL (core-lro takes the Location URL for a PATCH's final GET);
   * - POST: 200 with `finalResource` read where the operation names one — App Service's slot swap: Azure's finished
   *   `slotsswap` monitor answers 200 with the slot the POST was sent to (the azure-cli recording
   *   src/azure-cli/azure/cli/command_modules/appservice/tests/latest/recordings/test_webapp_slot_swap.yaml @ 04686e86,
   *   api-version 2024-11-01, the 6th poll of `operationresults/748febc9…`: `{"id":"…/sites/slot-swap-web000003/slots/staging",
   *   "type":"Microsoft.Web/sites/slots",…}`) — else 200 with no body ("Call Action POST Asynchronously", step 4: "It is
   *   acceptable for this to be a 200/204 NoContent if the action does not require a response (e.g. restarting a VM)";
   *   the actions the emulator runs, PostgreSQL start/stop/restart and Redis export/import, document a 200 without a
   *   schema, which is what they answer synchronously). Not `{}`, which no spec documents for them.
   */
  private async completed(op: TrackedOperation, request: EmulatorRequest, read?: ResourceReader): Promise<EmulatorResponse> {
    const result = typeof op.result === 'function' ? (op.result as () => unknown)() : op.result
    if (result !== undefined) return {status: 200, body: result}
    const {method, path} = op.startedBy
    if (method === 'DELETE') return {status: 204}
    const resource = op.finalResource ?? (method === 'PUT' || method === 'PATCH' ? path : undefined)
    if (resource && read) {
      const answer = await read(resource, request)
      if (answer?.status === 200 && answer.body !== undefined) return {status: 200, body: answer.body}
    }
    return {status: 200}
  }

  /** Operations held, running and finished (the bound's unit test reads it). */
  get held(): {operations: number; monitors: number} {
    return {operations: this.operations.size, monitors: this.monitors.size}
  }

  /** Stop timers (the emulator is closing). */
  close(): void {
    for (const op of this.operations.values()) if (op.timer) clearTimeout(op.timer)
  }

  /** Record `id` as finished and forget the oldest finished operations (and their monitors) beyond the limit. */
  private forgetOldFinished(id: string): void {
    this.finished.add(id)
    const limit = this.options.finishedLimit ?? FINISHED_OPERATION_LIMIT
    for (const oldest of this.finished) {
      if (this.finished.size <= limit) break
      this.finished.delete(oldest)
      this.operations.delete(oldest)
      for (const key of this.monitorsOf.get(oldest) ?? []) this.monitors.delete(key)
      this.monitorsOf.delete(oldest)
    }
  }

  private percent(op: TrackedOperation): number {
    if (op.hangs) return 50
    const start = Date.parse(op.startTime)
    const span = Math.max(1, op.dueAt - start)
    return Math.min(99, Math.floor(((this.options.clock().getTime() - start) / span) * 100))
  }

  /**
   * A poll that arrives less than `withinMs` before the operation is due is answered when it is due (with the
   * operation's end), not at once with InProgress and `Retry-After: 1`: on the emulator's compressed clock an operation
   * often ends a few milliseconds after the poll the JS SDKs send right after the initial answer (core-lro polls once
   * at once, then honours Retry-After), and each of them then waited a whole second for an operation that took 100 ms.
   * The answer comes no later than the client would have come back; az (which waits the initial Retry-After first)
   * never sees a running operation it would then sleep its default 30 s for. Hung operations (a fault) are answered at
   * once, as before; the wait is never longer than what was left of the operation when the poll came.
   */
  private async untilDueWithin(op: TrackedOperation, withinMs: number): Promise<void> {
    if (op.status !== 'InProgress' || op.hangs) return
    const remaining = op.dueAt - this.options.clock().getTime()
    if (remaining <= 0 || remaining >= withinMs) return
    await new Promise((resolve) => setTimeout(resolve, remaining + 1).unref())
    await this.advance(op)
  }

  private async advance(op: TrackedOperation): Promise<void> {
    // A hang lasts until the fault is lifted (tests hold an operation open until a condition, then let it finish).
    if (op.hangs && !this.options.faults.operationHangs(op.operation)) op.hangs = false
    if (op.status !== 'InProgress' || op.hangs) return
    if (this.options.clock().getTime() < op.dueAt) return
    await this.settle(op)
  }

  private settle(op: TrackedOperation): Promise<void> {
    if (op.status !== 'InProgress' || op.hangs) return Promise.resolve()
    op.applying ??= (async () => {
      if (op.timer) clearTimeout(op.timer)
      try {
        if (op.injected) throw new ArmFailure(op.injected.code, op.injected.message)
        await op.run()
        op.status = 'Succeeded'
      } catch (error) {
        op.status = 'Failed'
        op.error =
          error instanceof ArmFailure
            ? {code: error.code, message: error.message}
            : {code: 'InternalServerError', message: `An unexpected error occured while processing the request: ${(error as Error).message}`}
      }
      op.endTime = this.options.clock().toISOString()
      op.onEnd?.(publicView(op))
      op.onEnd = undefined
      // The change is applied: what it captured (request bodies, state records) is no longer needed.
      op.run = async () => {}
      this.forgetOldFinished(op.id)
      this.options.onSettled()
    })()
    return op.applying
  }
}

/** Answers a GET of `path` (same api-version as `request`, the monitor poll) as the emulator's routes do. */
export type ResourceReader = (path: string, request: EmulatorRequest) => Promise<EmulatorResponse | undefined>

function publicView(op: TrackedOperation): LroOperation {
  return {
    id: op.id,
    operation: op.operation,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? {endTime: op.endTime} : {}),
    ...(op.resourceId ? {resourceId: op.resourceId} : {}),
    ...(op.error ? {error: op.error} : {}),
  }
}

function monitorQuery(request: EmulatorRequest): string {
  const apiVersion = request.query.get('api-version')
  return apiVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : ''
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
