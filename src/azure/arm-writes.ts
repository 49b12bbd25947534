/**
 * The ARM writes a step makes, as Azure acknowledged them: for each PUT, PATCH, DELETE or POST action ARM accepted
 * (2xx), the `x-ms-correlation-request-id` ARM returned, the resource, the method and the time. The engine runs each
 * step's action inside {@link collectArmWrites}; the pipeline policy every ARM client gets ({@link armWritePolicy})
 * adds what it sees to the collector of the step that sent it (an AsyncLocalStorage context, so parallel steps keep
 * theirs apart). The journal records them with the step, and `opsbook evidence verify` looks each one up in Azure's
 * Activity Log (src/evidence/witness.ts), a record the operator cannot write.
 *
 * Why these fields: the Activity Log's Administrative category records "all create, update, delete, and action
 * operations performed through Resource Manager", each event with its correlationId, resourceId, operationName,
 * httpRequest.method, status and eventTimestamp (https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema);
 * ARM adds `x-ms-correlation-request-id` to every request it proxies ("Always added. Specifies the tracing correlation
 * Id for the request", https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-details.md) and
 * returns it on the response; a client-supplied one is kept (the emulator echoes it the same way, src/emulator/server.ts).
 *
 * This module holds no Azure SDK import at run time (types only): the engine imports it.
 */
import {AsyncLocalStorage} from 'node:async_hooks'
import type {PipelinePolicy} from '@azure/core-rest-pipeline'

/** One ARM write ARM accepted, as the journal records it on the step's `step.succeeded` / `step.failed` line. */
export interface ArmWrite {
  /** HTTP method: PUT, PATCH, DELETE or POST. */
  method: string
  /**
   * The resource the Activity Log files the event under: the request path, or for a POST action the path without its
   * last segment (`…/flexibleServers/x/restart` → `…/flexibleServers/x`, operation `…/restart/action`).
   */
  resourceId: string
  /** ARM operation name as the Activity Log spells it, e.g. `Microsoft.DBforPostgreSQL/flexibleServers/write`. */
  operation: string
  /** HTTP status ARM answered (2xx). */
  status: number
  /** `x-ms-correlation-request-id` of ARM's answer: the Activity Log event's correlationId. */
  correlationId: string
  /** When the request was sent (ISO). */
  at: string
}

/**
 * What a step of an action that writes through ARM only when needed (the registry's `armWrites: 'when-needed'`) found
 * when it made no write, for the witness to check against the Activity Log (evidence/witness.ts):
 * - `gone`: the resource was already deleted (a teardown's scratch server);
 * - `no-preview`: no swap with preview was pending on the app (`resourceId` the site);
 * - `swapped-back`: production serves the version from before, nothing to swap back (`resourceId` the site);
 * - `not-switched`: a fail-back found nothing of the router switched, nothing to put back (`resourceId` the router);
 * - `data-plane`: what it changed or found is in a data plane only (blobs), nothing the Activity Log records;
 * - `nothing-to-do`: the action has nothing of its kind to change here (a web app drill has no scratch copy); verify
 *   checks it against the run as a whole: no copy the run made may still stand (evidence/witness.ts).
 */
export type NoWriteFinding = {kind: 'gone' | 'no-preview' | 'swapped-back' | 'not-switched'; resourceId: string} | {kind: 'data-plane' | 'nothing-to-do'; what: string}

const writes = new AsyncLocalStorage<{writes: ArmWrite[]; findings?: NoWriteFinding[]}>()

/**
 * Run `fn` collecting the ARM writes it makes into `into` (nested calls collect into the innermost), and what it
 * says it found without writing ({@link foundWithoutWrite}) into `findings`.
 */
export function collectArmWrites<T>(into: ArmWrite[], fn: () => T, findings?: NoWriteFinding[]): T {
  return writes.run({writes: into, findings}, fn)
}

/** Record, for the running step's journal line, what an idempotent action found when it had nothing to write. */
export function foundWithoutWrite(finding: NoWriteFinding): void {
  writes.getStore()?.findings?.push(finding)
}

const WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST'])
/**
 * POSTs that only read, on the ARM host: queries answered by services behind ARM that the Activity Log does not
 * record as Administrative operations (Resource Graph queries, the metrics batch, Log Analytics queries). listKeys and
 * other `…/action` POSTs are recorded by Azure (they are RBAC actions) and so are kept.
 */
const QUERY_POST = [/\/providers\/microsoft\.resourcegraph\/resources$/i, /\/metrics:getbatch$/i, /\/workspaces\/[^/]+\/query$/i, /\/providers\/microsoft\.insights\/metrics$/i]

/** The Activity Log's view of an ARM write: its resource id and operation name, or undefined when it is not one. */
export function describeArmWrite(method: string, path: string): {resourceId: string; operation: string} | undefined {
  const upper = method.toUpperCase()
  if (!WRITE_METHODS.has(upper)) return undefined
  // `//subscriptions/…` (arm-monitor joins resource ids unencoded) is the same path to ARM.
  const clean = safeDecode(path).replace(/^\/+/, '/').replace(/\/+$/, '')
  if (!/^\/subscriptions\/[^/]+/i.test(clean)) return undefined
  if (upper === 'POST' && QUERY_POST.some((p) => p.test(clean))) return undefined
  const segments = clean.split('/').filter(Boolean)
  const action = upper === 'POST' ? segments.pop() : undefined
  const resourceId = `/${segments.join('/')}`
  // Resource type from the last `providers/<Namespace>` on: the type names (odd positions after it), e.g.
  // providers/Microsoft.Web/sites/app/slots/staging → Microsoft.Web/sites/slots.
  const at = segments.map((s) => s.toLowerCase()).lastIndexOf('providers')
  let type: string
  if (at >= 0 && segments[at + 1]) {
    const rest = segments.slice(at + 2)
    type = [segments[at + 1], ...rest.filter((_, i) => i % 2 === 0)].join('/')
  } else type = segments.length > 2 ? 'Microsoft.Resources/subscriptions/resourceGroups' : 'Microsoft.Resources/subscriptions'
  const verb = upper === 'DELETE' ? 'delete' : upper === 'POST' ? `${action}/action` : 'write'
  return {resourceId, operation: `${type}/${verb}`}
}

/**
 * The policy that records ARM writes into the running step's collector. Position `perCall`: it sees the final answer
 * of a request after the retry policy's attempts (a write throttled and retried is recorded once, with the correlation
 * id of the answer ARM accepted). Requests to other hosts (Blob, Key Vault, metrics, Log Analytics) are data-plane
 * calls the Activity Log does not record, and are ignored.
 */
export function armWritePolicy(armEndpoint: string): PipelinePolicy {
  const armHost = new URL(armEndpoint).host.toLowerCase()
  return {
    name: 'opsbookArmWrites',
    async sendRequest(request, next) {
      const into = writes.getStore()?.writes
      const at = new Date().toISOString()
      const response = await next(request)
      if (!into) return response
      const url = new URL(request.url)
      if (url.host.toLowerCase() !== armHost || response.status < 200 || response.status >= 300) return response
      const described = describeArmWrite(request.method, url.pathname)
      const correlationId = response.headers.get('x-ms-correlation-request-id')
      if (described && correlationId) into.push({method: request.method.toUpperCase(), ...described, status: response.status, correlationId, at})
      return response
    },
  }
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
