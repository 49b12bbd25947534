/**
 * Azure Traffic Manager (Microsoft.Network/trafficmanagerprofiles, api-version 2022-04-01 — what
 * @azure/arm-trafficmanager 6 sends; contract: trafficmanager.json, vendored in test/fixtures/azure-specs): profiles
 * with their endpoints (Profiles_Get / ListByResourceGroup, Endpoints_Get / CreateOrUpdate / Update / Delete).
 *
 * Endpoint monitor status is what Traffic Manager's probes would find: `Disabled` for a disabled endpoint, else the
 * health of the web app it targets (Online / Degraded); `profileMonitorStatus` is Online when any endpoint is, else
 * Degraded (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring#endpoint-and-profile-status).
 *
 * Every profile has a loopback HTTP front (front-host.ts) standing in for its DNS name: it answers from the endpoint
 * priority routing picks — the lowest `priority` among enabled endpoints that are Online; when every enabled endpoint
 * is degraded Traffic Manager returns them all anyway ("fail open", same page, "Endpoint failover and recovery"), so the
 * front then uses the lowest priority enabled one. Its URL is in the `x-opsbook-local-url` header of Profiles_Get
 * (not in the body: only what the spec defines is). Changes reach clients after the DNS TTL; the emulator compresses it
 * to min(TTL, lroSeconds) seconds (startEmulator's routingPropagationMs).
 */
import type {TrafficManagerComponent} from '../../catalog/schema.js'
import {canonicalEnum, checkScope, clone, invalidBody, paged, resourceIdOf, resourceNotFound} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import {FrontHost, propagate, visible, type FrontBackend, type Propagation} from '../front-host.js'
import {armError, type EmulatorResponse, type Route} from '../types.js'
import {registerResourceInventory} from './resource-graph.js'
import {LOCAL_URL_HEADER, webappBackend} from './webapp.js'

export const TM_TYPE = 'Microsoft.Network/trafficManagerProfiles'
const P = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/trafficmanagerprofiles/{profile}'
const ENDPOINT_TYPES = ['AzureEndpoints', 'ExternalEndpoints', 'NestedEndpoints'] as const

interface StoredEndpoint {
  name: string
  /** AzureEndpoints | ExternalEndpoints | NestedEndpoints (the path segment). */
  kind: string
  properties: Record<string, any>
}

export interface StoredProfile {
  resource: {id: string; name: string; type: string; location: string; tags: Record<string, string>; properties: Record<string, any>}
  resourceGroup: string
  endpoints: StoredEndpoint[]
  routing: Propagation<StoredEndpoint[]>
}

interface TrafficManagerState {
  profiles: Record<string, StoredProfile>
}

const runtimes = new WeakMap<EmulatorContext, FrontHost>()
function fronts(ctx: EmulatorContext): FrontHost {
  let host = runtimes.get(ctx)
  if (!host) runtimes.set(ctx, (host = new FrontHost()))
  return host
}

export function trafficManagerState(ctx: EmulatorContext): TrafficManagerState {
  return ctx.store.slice<TrafficManagerState>('trafficmanager', () => seed(ctx))
}

function seed(ctx: EmulatorContext): TrafficManagerState {
  const state: TrafficManagerState = {profiles: {}}
  if (!ctx.seedFromCatalog) return state
  for (const component of Object.values(ctx.environment.components)) {
    if (component.type !== 'trafficmanager') continue
    const c: TrafficManagerComponent = component
    const rg = c.resourceGroup ?? ctx.environment.resourceGroups[0]!
    const id = resourceIdOf(ctx.subscription, rg, TM_TYPE, c.name)
    // Defaults of a profile created without monitorConfig: HTTP on port 80, path "/", 30 s, 10 s, 3 failures
    // (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring#configure-endpoint-monitoring).
    const monitor = {protocol: 'HTTP', port: 80, path: '/', intervalInSeconds: 30, timeoutInSeconds: 10, toleratedNumberOfFailures: 3, ...(c.monitor ?? {})}
    const endpoints: StoredEndpoint[] = c.endpoints.map((e) => {
      const site = e.webapp ? ctx.environment.components[e.webapp] : undefined
      const siteRg = site?.resourceGroup ?? ctx.environment.resourceGroups[0]!
      const region = e.region ?? site?.region ?? ctx.environment.region
      return {
        name: e.name,
        kind: e.webapp ? 'AzureEndpoints' : 'ExternalEndpoints',
        properties: {
          ...(site ? {targetResourceId: resourceIdOf(ctx.subscription, siteRg, 'Microsoft.Web/sites', site.name), target: `${site.name}.azurewebsites.net`} : {target: e.target}),
          endpointStatus: e.enabled ? 'Enabled' : 'Disabled',
          ...(e.priority !== undefined ? {priority: e.priority} : {}),
          ...(e.weight !== undefined ? {weight: e.weight} : {}),
          endpointLocation: region,
          alwaysServe: 'Disabled',
        },
      }
    })
    state.profiles[id.toLowerCase()] = {
      resource: {
        id,
        name: c.name,
        type: TM_TYPE,
        location: 'global',
        tags: {...(c.tags ?? {})},
        properties: {
          profileStatus: 'Enabled',
          trafficRoutingMethod: c.routingMethod,
          dnsConfig: {relativeName: c.name, fqdn: `${c.name}.trafficmanager.net`, ttl: c.dnsTtl},
          monitorConfig: monitor,
          trafficViewEnrollmentStatus: 'Disabled',
          ...(c.routingMethod === 'MultiValue' ? {maxReturn: 2} : {}),
        },
      },
      resourceGroup: rg,
      endpoints,
      routing: {effectiveFrom: 0},
    }
  }
  return state
}

/** Apply the estate's profile settings (by profile name): e.g. monitorConfig. */
export function applyTrafficManagerEstate(ctx: EmulatorContext, settingsOf: (name: string) => {properties?: Record<string, unknown>; tags?: Record<string, string>} | undefined): void {
  for (const profile of Object.values(trafficManagerState(ctx).profiles)) {
    const s = settingsOf(profile.resource.name)
    // `endpointStatus: {<endpoint>: Enabled|Disabled}` sets endpoints; the rest merges into the profile's properties.
    const {endpointStatus, ...properties} = (s?.properties ?? {}) as {endpointStatus?: Record<string, string>}
    for (const e of profile.endpoints) {
      const status = endpointStatus?.[e.name]
      if (status) e.properties.endpointStatus = status
    }
    if (s?.properties) Object.assign(profile.resource.properties, clone(properties))
    if (s?.tags) profile.resource.tags = {...s.tags}
  }
}

/** What the probes find now (Online / Degraded / Disabled), from the target web app's health. */
function monitorStatus(ctx: EmulatorContext, endpoint: StoredEndpoint): string {
  if (endpoint.properties.endpointStatus === 'Disabled') return 'Disabled'
  const siteName = /\/providers\/Microsoft\.Web\/sites\/([^/]+)$/i.exec(endpoint.properties.targetResourceId ?? '')?.[1]
  // An external endpoint is not reachable from the emulator: its probes fail.
  if (!siteName) return 'Degraded'
  return webappBackend(ctx, siteName)?.healthy ? 'Online' : 'Degraded'
}

function endpointView(ctx: EmulatorContext, profile: StoredProfile, endpoint: StoredEndpoint): Record<string, unknown> {
  return {
    id: `${profile.resource.id}/${endpoint.kind}/${endpoint.name}`,
    name: endpoint.name,
    // The type segment is lower camel case (azureEndpoints), as the spec's examples show it; the path segment is not.
    type: `${TM_TYPE}/${endpoint.kind.charAt(0).toLowerCase()}${endpoint.kind.slice(1)}`,
    properties: {...clone(endpoint.properties), endpointMonitorStatus: monitorStatus(ctx, endpoint)},
  }
}

function profileView(ctx: EmulatorContext, profile: StoredProfile): Record<string, unknown> {
  const endpoints = profile.endpoints.map((e) => endpointView(ctx, profile, e))
  const statuses = endpoints.map((e) => (e.properties as {endpointMonitorStatus: string}).endpointMonitorStatus)
  const profileMonitorStatus = profile.resource.properties.profileStatus === 'Disabled' ? 'Disabled' : statuses.includes('Online') ? 'Online' : statuses.every((s) => s === 'Disabled') ? 'Inactive' : 'Degraded'
  const body = clone(profile.resource)
  body.properties.monitorConfig = {...body.properties.monitorConfig, profileMonitorStatus}
  body.properties.endpoints = endpoints
  return body
}

/** The endpoint priority routing sends a request to now (see the module comment), as a front backend. */
export function routeOf(ctx: EmulatorContext, profile: StoredProfile): FrontBackend | undefined {
  const endpoints = visible(profile.routing, profile.endpoints, ctx.clock().getTime())
  const enabled = endpoints.filter((e) => e.properties.endpointStatus !== 'Disabled').sort((a, b) => (a.properties.priority ?? 1000) - (b.properties.priority ?? 1000))
  const chosen = enabled.find((e) => monitorStatus(ctx, e) === 'Online') ?? enabled[0]
  if (!chosen) return undefined
  const siteName = /\/providers\/Microsoft\.Web\/sites\/([^/]+)$/i.exec(chosen.properties.targetResourceId ?? '')?.[1]
  const site = siteName ? webappBackend(ctx, siteName) : undefined
  if (!site?.url) return undefined
  return {name: chosen.name, region: chosen.properties.endpointLocation ?? site.location, url: site.url}
}

function propagationMs(ctx: EmulatorContext, profile: StoredProfile): number {
  const ttl = Number(profile.resource.properties.dnsConfig?.ttl ?? 60)
  return Math.min(ttl * 1000, ctx.routingPropagationMs)
}

/** Open a front per profile; called once before the emulator reports itself started. */
export async function start(ctx: EmulatorContext): Promise<void> {
  const host = fronts(ctx)
  ctx.onClose(() => host.close())
  for (const profile of Object.values(trafficManagerState(ctx).profiles)) await openFront(ctx, profile)
}

async function openFront(ctx: EmulatorContext, profile: StoredProfile): Promise<string> {
  const key = profile.resource.id.toLowerCase()
  return fronts(ctx).open(`trafficmanager/${profile.resource.name}`, () => {
    const live = trafficManagerState(ctx).profiles[key]
    return live ? routeOf(ctx, live) : undefined
  })
}

const ENDPOINT_WRITABLE = ['targetResourceId', 'target', 'endpointStatus', 'weight', 'priority', 'endpointLocation', 'minChildEndpoints', 'geoMapping', 'subnets', 'customHeaders', 'alwaysServe']

/** Validate and merge an endpoint body (PUT replaces, PATCH merges). */
function applyEndpointBody(existing: Record<string, any>, body: any, replace: boolean): Record<string, any> | EmulatorResponse {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return invalidBody()
  const props = body.properties ?? {}
  if (typeof props !== 'object') return invalidBody()
  const next: Record<string, any> = replace ? {alwaysServe: 'Disabled'} : clone(existing)
  for (const key of ENDPOINT_WRITABLE) if (props[key] !== undefined) next[key] = clone(props[key])
  if (props.endpointStatus !== undefined) {
    const status = canonicalEnum(props.endpointStatus, ['Enabled', 'Disabled'])
    if (!status) return armError(400, 'BadRequest', `The endpoint status '${props.endpointStatus}' is invalid. Valid values are 'Enabled' and 'Disabled'.`)
    next.endpointStatus = status
  }
  // Priority is 1–1000 (trafficmanager.json EndpointProperties.priority; the portal and az enforce the same range).
  if (next.priority !== undefined && (!Number.isInteger(next.priority) || next.priority < 1 || next.priority > 1000))
    return armError(400, 'BadRequest', `The priority '${next.priority}' is invalid. Priority must be an integer between 1 and 1000.`)
  if (next.endpointStatus === undefined) next.endpointStatus = 'Enabled'
  return next
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => trafficManagerState(ctx)
  trafficManagerState(ctx)
  registerResourceInventory(ctx, 'trafficmanager', () => Object.values(state().profiles).map((p) => profileView(ctx, p)))
  const find = (p: Record<string, string>): StoredProfile | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().profiles[resourceIdOf(p.sub!, p.rg!, TM_TYPE, p.profile!).toLowerCase()] ?? resourceNotFound(TM_TYPE, p.profile!, p.rg!)
  }
  const findEndpoint = (profile: StoredProfile, p: Record<string, string>): StoredEndpoint | EmulatorResponse => {
    const kind = canonicalEnum(p.kind, ENDPOINT_TYPES)
    const endpoint = kind && profile.endpoints.find((e) => e.kind === kind && e.name.toLowerCase() === p.endpoint!.toLowerCase())
    return endpoint || armError(404, 'NotFound', `The endpoint '${p.endpoint}' of type '${p.kind}' was not found in Traffic Manager profile '${profile.resource.name}'.`)
  }
  const withLocalUrl = (profile: StoredProfile, body: unknown): EmulatorResponse => {
    const url = fronts(ctx).url(`trafficmanager/${profile.resource.name}`)
    return {status: 200, body, ...(url ? {headers: {[LOCAL_URL_HEADER]: url}} : {})}
  }
  const write = (method: 'PUT' | 'PATCH') => (request: {body: any}, p: Record<string, string>): EmulatorResponse => {
    const profile = find(p)
    if (!('resource' in profile)) return profile
    const kind = canonicalEnum(p.kind, ENDPOINT_TYPES)
    if (!kind) return armError(400, 'BadRequest', `The endpoint type '${p.kind}' is invalid. Valid types are ${ENDPOINT_TYPES.join(', ')}.`)
    const existing = profile.endpoints.find((e) => e.kind === kind && e.name.toLowerCase() === p.endpoint!.toLowerCase())
    if (!existing && method === 'PATCH') return findEndpoint(profile, p) as EmulatorResponse
    const next = applyEndpointBody(existing?.properties ?? {}, request.body, method === 'PUT')
    if ('status' in next && typeof next.status === 'number' && 'body' in next) return next as EmulatorResponse
    const now = ctx.clock().getTime()
    propagate(profile.routing, clone(profile.endpoints), now, propagationMs(ctx, profile))
    if (existing) existing.properties = next as Record<string, any>
    else profile.endpoints.push({name: p.endpoint!, kind, properties: next as Record<string, any>})
    ctx.activity.append({resourceId: profile.resource.id, kind: 'trafficmanager.endpoint', data: {endpoint: p.endpoint, status: (next as any).endpointStatus, priority: (next as any).priority}})
    const endpoint = profile.endpoints.find((e) => e.kind === kind && e.name.toLowerCase() === p.endpoint!.toLowerCase())!
    return {status: existing ? 200 : 201, body: endpointView(ctx, profile, endpoint)}
  }
  return [
    {
      method: 'GET',
      pattern: `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/trafficmanagerprofiles`,
      operation: 'trafficmanager.profiles.listByResourceGroup',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!, p.rg!)
        if (scope) return scope
        return paged(request, Object.values(state().profiles).filter((x) => x.resourceGroup.toLowerCase() === p.rg!.toLowerCase()).map((x) => profileView(ctx, x)))
      },
    },
    {
      method: 'GET',
      pattern: P,
      operation: 'trafficmanager.profiles.get',
      handler: (_r, p) => {
        const profile = find(p)
        return 'resource' in profile ? withLocalUrl(profile, profileView(ctx, profile)) : profile
      },
    },
    {
      method: 'GET',
      pattern: `${P}/{kind}/{endpoint}`,
      operation: 'trafficmanager.endpoints.get',
      handler: (_r, p) => {
        const profile = find(p)
        if (!('resource' in profile)) return profile
        const endpoint = findEndpoint(profile, p)
        return 'kind' in endpoint ? {status: 200, body: endpointView(ctx, profile, endpoint)} : endpoint
      },
    },
    {method: 'PUT', pattern: `${P}/{kind}/{endpoint}`, operation: 'trafficmanager.endpoints.createOrUpdate', handler: write('PUT')},
    {method: 'PATCH', pattern: `${P}/{kind}/{endpoint}`, operation: 'trafficmanager.endpoints.update', handler: write('PATCH')},
    {
      method: 'DELETE',
      pattern: `${P}/{kind}/{endpoint}`,
      operation: 'trafficmanager.endpoints.delete',
      handler: (_r, p) => {
        const profile = find(p)
        if (!('resource' in profile)) return profile
        const endpoint = findEndpoint(profile, p)
        if (!('kind' in endpoint)) return {status: 204}
        propagate(profile.routing, clone(profile.endpoints), ctx.clock().getTime(), propagationMs(ctx, profile))
        profile.endpoints = profile.endpoints.filter((e) => e !== endpoint)
        // 200 with `{}`: the spec's own example at 2022-04-01 (Endpoint-DELETE-External.json, vendored: `"200": {"body":
        // {}}, "204": {}`) — a DeleteOperationResult without its read-only `boolean`. Azure's recorded answer to
        // `az network traffic-manager endpoint delete` (azure-cli network recordings test_network_traffic_manager.yaml,
        // api-version 2018-04-01) is 200 with an empty body; `{}` is the closest body the spec's schema allows. A
        // missing endpoint is 204 ("Resource does not exist").
        return {status: 200, body: {}}
      },
    },
    {
      // Not ARM: where each profile's loopback front listens (tests and `emulator start` print it).
      method: 'GET',
      pattern: '/_emulator/trafficmanager',
      operation: 'emulator.trafficmanager.list',
      handler: () => ({
        status: 200,
        body: {value: Object.values(state().profiles).map((x) => ({profile: x.resource.name, resourceGroup: x.resourceGroup, url: fronts(ctx).url(`trafficmanager/${x.resource.name}`) ?? null, serving: routeOf(ctx, x) ?? null}))},
      }),
    },
  ]
}
