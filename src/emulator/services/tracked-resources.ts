/**
 * What the providers that keep their top-level resources as `{resource, resourceGroup}` records answer alike (Cosmos DB
 * database accounts, SQL logical servers): the subscription- and resource-group-scoped lists and the GET of the
 * resource, and long-running operations monitored at the provider's regional endpoints
 * (`/subscriptions/{sub}/providers/{provider}/locations/{location}/{segment}/{id}`), as ARM answers for both.
 */
import {checkScope, paged} from '../arm.js'
import type {EmulatorContext, LroStartOptions} from '../context.js'
import type {EmulatorRequest, EmulatorResponse, Route, RouteParams} from '../types.js'

export interface TrackedRecord {
  resourceGroup: string
}

export interface TrackedReadRoutes<T extends TrackedRecord> {
  /** e.g. `Microsoft.Sql` */
  provider: string
  /** The resource type's collection segment, e.g. `servers`. */
  collection: string
  /** The resource's own path, e.g. `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}`. */
  pattern: string
  /** The route operation names' prefix, e.g. `sql.servers` (→ `.list`, `.listByResourceGroup`, `.get`). */
  operation: string
  records: () => T[]
  /** The wire shape; `request` gives the api-version asked, for providers that shape per version. */
  view: (record: T, request?: EmulatorRequest) => unknown
  /** The record a `{sub}/{rg}/…/{name}` path names, or the error to answer (out of scope, not found). */
  find: (p: RouteParams) => T | EmulatorResponse
}

/** `GET` of the subscription list, the resource-group list and the resource itself. */
export function trackedReadRoutes<T extends TrackedRecord>(ctx: EmulatorContext, spec: TrackedReadRoutes<T>): Route[] {
  const providerPath = `providers/${spec.provider}/${spec.collection}`
  return [
    {
      method: 'GET',
      pattern: `/subscriptions/{sub}/${providerPath}`,
      operation: `${spec.operation}.list`,
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, spec.records().map((r) => spec.view(r, request))),
    },
    {
      method: 'GET',
      pattern: `/subscriptions/{sub}/resourceGroups/{rg}/${providerPath}`,
      operation: `${spec.operation}.listByResourceGroup`,
      handler: (request, p) =>
        checkScope(ctx, p.sub!, p.rg!) ?? paged(request, spec.records().filter((r) => r.resourceGroup.toLowerCase() === p.rg!.toLowerCase()).map((r) => spec.view(r, request))),
    },
    {
      method: 'GET',
      pattern: spec.pattern,
      operation: `${spec.operation}.get`,
      handler: (request, p) => {
        const found = spec.find(p)
        return isResponse(found) ? found : {status: 200, body: spec.view(found, request)}
      },
    },
  ]
}

/** Where a provider's regional monitors live: the async-operation segment and the Location (results) segment. */
export interface RegionalMonitors {
  asyncOperationSegment: string
  resultsSegment: string
}

/**
 * Start a long-running operation whose monitors are the provider's regional endpoints; 202 Accepted with
 * Azure-AsyncOperation (and Location) unless `kind` is `location`.
 */
export function regionalLro(
  ctx: EmulatorContext,
  provider: string,
  request: EmulatorRequest,
  operation: string,
  location: string,
  resourceId: string,
  monitors: RegionalMonitors,
  run: () => void,
  options: {result?: () => unknown; kind?: LroStartOptions['kind']} = {},
): EmulatorResponse {
  const base = `/subscriptions/${ctx.subscription}/providers/${provider}/locations/${encodeURIComponent(location)}`
  return ctx.lro.start({
    request,
    operation,
    location,
    provider,
    resourceId,
    kind: options.kind ?? 'azure-async-operation',
    initialStatus: 202,
    asyncOperationSegment: monitors.asyncOperationSegment,
    locationPath: `${base}/${monitors.resultsSegment}`,
    run,
    ...(options.result ? {result: options.result} : {}),
  })
}

/** An error response rather than a found record (records have no top-level numeric `status`). */
export function isResponse(value: unknown): value is EmulatorResponse {
  return typeof value === 'object' && value !== null && typeof (value as {status?: unknown}).status === 'number'
}
