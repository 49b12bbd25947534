/**
 * Azure Front Door Standard/Premium (Microsoft.Cdn/profiles, api-version 2024-02-01 — what @azure/arm-cdn 9 sends;
 * contract: afdx.json / cdn.json of Microsoft.Cdn 2024-02-01, as the SDK's models deserialize them): profiles, AFD
 * endpoints (`afdEndpoints`) and their routes, origin groups, origins (get, list, update) and security policies.
 *
 * Routing (https://learn.microsoft.com/azure/frontdoor/routing-methods): a request goes to the origin group of the
 * endpoint's route; among its origins that are Enabled and healthy, the lowest `priority` wins. Origins are healthy when
 * the web app they are answers its health probe path; an origin group without health probes counts every origin as
 * healthy, and when every probe fails Front Door treats all enabled origins as healthy
 * (https://learn.microsoft.com/azure/frontdoor/health-probes). Each AFD endpoint has a loopback HTTP front
 * (front-host.ts) standing in for its `*.azurefd.net` host; its URL is in the `x-opsbook-local-url` header of
 * AFDEndpoints_Get. Configuration changes take minutes to reach Front Door's edges; the emulator compresses that to
 * lroSeconds (default 3; startEmulator's routingPropagationMs).
 *
 * AFDOrigins_Update is long-running in the spec (200 or 202): the emulator answers 200 with the origin as updated.
 */
import {createHash} from 'node:crypto'
import {frontDoorOriginGroups, type FrontDoorComponent} from '../../catalog/schema.js'
import {canonicalEnum, checkScope, clone, invalidBody, paged, resourceIdOf, resourceNotFound} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import {FrontHost, propagate, visible, type FrontBackend, type Propagation} from '../front-host.js'
import {armError, type EmulatorResponse, type Route} from '../types.js'
import {registerResourceInventory} from './resource-graph.js'
import {LOCAL_URL_HEADER, webappBackend} from './webapp.js'

export const AFD_TYPE = 'Microsoft.Cdn/profiles'
const P = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}'

interface StoredOrigin {
  name: string
  /** Catalog web app (site name) this origin is, if any. */
  site?: string
  region: string
  properties: Record<string, any>
}

interface StoredGroup {
  name: string
  properties: Record<string, any>
  origins: StoredOrigin[]
}

export interface StoredFrontDoor {
  resource: {id: string; name: string; type: string; location: string; tags: Record<string, string>; sku: {name: string}; kind: string; properties: Record<string, any>}
  resourceGroup: string
  endpoint: {name: string; properties: Record<string, any>}
  /** The endpoint's one route (patterns /*) to the first origin group. */
  route: {name: string; properties: Record<string, any>}
  groups: StoredGroup[]
  securityPolicies: Array<{name: string; properties: Record<string, any>}>
  routing: Propagation<StoredGroup[]>
  /** policySettings of the WAF policies the security policies name, by policy name (default Enabled/Prevention). */
  wafSettings?: Record<string, {enabledState: string; mode: string}>
  /** Custom domains (afdx.json AFDDomain properties); none unless the estate adds some. */
  customDomains?: Array<{name: string; properties: Record<string, any>}>
}

export const WAF_TYPE = 'Microsoft.Network/frontdoorWebApplicationFirewallPolicies'

/**
 * The WAF policies a profile's security policies name, as Resource Graph's `resources` table lists them
 * (microsoft.network/frontdoorwebapplicationfirewallpolicies; frontdoor webapplicationfirewall.json 2024-02-01
 * WebApplicationFirewallPolicy: sku, policySettings {enabledState, mode}).
 */
function wafPolicyResources(fd: StoredFrontDoor): Array<Record<string, any>> {
  return fd.securityPolicies.flatMap((policy) => {
    const id = String(policy.properties.parameters?.wafPolicy?.id ?? '')
    if (!id) return []
    const name = id.split('/').pop()!
    const settings = fd.wafSettings?.[name.toLowerCase()] ?? {enabledState: 'Enabled', mode: 'Prevention'}
    return [{id, name, type: WAF_TYPE, location: 'Global', tags: {}, sku: {name: fd.resource.sku.name}, properties: {policySettings: {...settings}, provisioningState: 'Succeeded', resourceState: 'Enabled'}}]
  })
}

interface FrontDoorState {
  profiles: Record<string, StoredFrontDoor>
}

const runtimes = new WeakMap<EmulatorContext, FrontHost>()
function fronts(ctx: EmulatorContext): FrontHost {
  let host = runtimes.get(ctx)
  if (!host) runtimes.set(ctx, (host = new FrontHost()))
  return host
}

export function frontDoorState(ctx: EmulatorContext): FrontDoorState {
  return ctx.store.slice<FrontDoorState>('frontdoor', () => seed(ctx))
}

const deployed = {provisioningState: 'Succeeded', deploymentStatus: 'Succeeded'}

function seed(ctx: EmulatorContext): FrontDoorState {
  const state: FrontDoorState = {profiles: {}}
  if (!ctx.seedFromCatalog) return state
  for (const component of Object.values(ctx.environment.components)) {
    if (component.type !== 'frontdoor') continue
    const c: FrontDoorComponent = component
    const rg = c.resourceGroup ?? ctx.environment.resourceGroups[0]!
    const id = resourceIdOf(ctx.subscription, rg, AFD_TYPE, c.name)
    const endpointName = c.endpoint ?? c.name
    const hash = createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 16)
    const groups: StoredGroup[] = frontDoorOriginGroups(c).map((g) => ({
      name: g.name,
      properties: {
        // Defaults of an origin group created in the portal: sample size 4, 3 successful, 50 ms
        // (https://learn.microsoft.com/azure/frontdoor/health-probes#health-probe-settings).
        loadBalancingSettings: {sampleSize: 4, successfulSamplesRequired: 3, additionalLatencyInMilliseconds: 50},
        ...(g.healthProbe ? {healthProbeSettings: {probePath: g.healthProbe.path, probeRequestType: 'HEAD', probeProtocol: g.healthProbe.protocol, probeIntervalInSeconds: g.healthProbe.intervalInSeconds}} : {}),
        sessionAffinityState: 'Disabled',
        ...deployed,
      },
      origins: g.origins.map((o) => {
        const site = o.webapp ? ctx.environment.components[o.webapp] : undefined
        const siteRg = site?.resourceGroup ?? ctx.environment.resourceGroups[0]!
        const host = site ? `${site.name}.azurewebsites.net` : o.host!
        return {
          name: o.name,
          site: site?.name,
          region: o.region ?? site?.region ?? ctx.environment.region,
          properties: {
            ...(site ? {azureOrigin: {id: resourceIdOf(ctx.subscription, siteRg, 'Microsoft.Web/sites', site.name)}} : {}),
            hostName: host,
            httpPort: 80,
            httpsPort: 443,
            originHostHeader: host,
            priority: o.priority,
            weight: o.weight,
            enabledState: o.enabled ? 'Enabled' : 'Disabled',
            enforceCertificateNameCheck: true,
            ...deployed,
          },
        }
      }),
    }))
    const endpointId = `${id}/afdEndpoints/${endpointName}`
    state.profiles[id.toLowerCase()] = {
      resource: {
        id,
        name: c.name,
        type: AFD_TYPE,
        location: 'Global',
        tags: {...(c.tags ?? {})},
        sku: {name: c.sku},
        kind: 'frontdoor',
        properties: {provisioningState: 'Succeeded', resourceState: 'Active', frontDoorId: `${hash.slice(0, 8)}-${hash.slice(8, 12)}-4${hash.slice(13, 16)}-8000-000000000000`, originResponseTimeoutSeconds: 60, extendedProperties: {}},
      },
      resourceGroup: rg,
      endpoint: {name: endpointName, properties: {hostName: `${endpointName}-${hash}.z01.azurefd.net`, enabledState: 'Enabled', autoGeneratedDomainNameLabelScope: 'TenantReuse', ...deployed}},
      route: {
        name: 'default-route',
        properties: {
          customDomains: [],
          originGroup: groups[0] ? {id: `${id}/originGroups/${groups[0].name}`} : undefined,
          ruleSets: [],
          // Portal defaults of a new route: HTTP and HTTPS accepted, HTTP redirected to HTTPS, HTTPS to the origin
          // only when the request was (MatchRequest) — https://learn.microsoft.com/azure/frontdoor/how-to-configure-route
          supportedProtocols: ['Http', 'Https'],
          patternsToMatch: ['/*'],
          forwardingProtocol: 'MatchRequest',
          linkToDefaultDomain: 'Enabled',
          httpsRedirect: 'Enabled',
          enabledState: 'Enabled',
          endpointName,
          ...deployed,
        },
      },
      groups,
      securityPolicies: c.waf ? [wafPolicy(ctx, rg, c.name, c.waf, endpointId)] : [],
      routing: {effectiveFrom: 0},
    }
  }
  return state
}

/** A security policy attaching WAF policy `waf` (of the profile's resource group) to the endpoint. */
function wafPolicy(ctx: EmulatorContext, rg: string, profileName: string, waf: string, endpointId: string): {name: string; properties: Record<string, any>} {
  return {
    name: `${waf}-policy`,
    properties: {
      parameters: {
        type: 'WebApplicationFirewall',
        wafPolicy: {id: resourceIdOf(ctx.subscription, rg, 'Microsoft.Network/frontdoorWebApplicationFirewallPolicies', waf)},
        associations: [{domains: [{id: endpointId}], patternsToMatch: ['/*']}],
      },
      profileName,
      ...deployed,
    },
  }
}

/** Apply the estate's Front Door settings (by profile name): `route` properties and `securityPolicies: []`. */
export function applyFrontDoorEstate(ctx: EmulatorContext, settingsOf: (name: string) => {properties?: Record<string, any>; tags?: Record<string, string>} | undefined): void {
  for (const fd of Object.values(frontDoorState(ctx).profiles)) {
    const s = settingsOf(fd.resource.name)
    if (s?.properties?.route) Object.assign(fd.route.properties, clone(s.properties.route))
    if (Array.isArray(s?.properties?.securityPolicies) && s.properties.securityPolicies.length === 0) fd.securityPolicies = []
    if (typeof s?.properties?.wafPolicy === 'string' && fd.securityPolicies.length === 0) fd.securityPolicies = [wafPolicy(ctx, fd.resourceGroup, fd.resource.name, s.properties.wafPolicy, `${fd.resource.id}/afdEndpoints/${fd.endpoint.name}`)]
    // `wafMode` (Detection | Prevention) sets the mode of the profile's WAF policies; `customDomains` replaces them.
    if (typeof s?.properties?.wafMode === 'string')
      fd.wafSettings = Object.fromEntries(wafPolicyResources(fd).map((w) => [String(w.name).toLowerCase(), {enabledState: 'Enabled', mode: s.properties!.wafMode}]))
    if (Array.isArray(s?.properties?.customDomains)) fd.customDomains = clone(s.properties.customDomains)
    if (s?.tags) fd.resource.tags = {...s.tags}
  }
}

function originHealthy(ctx: EmulatorContext, group: StoredGroup, origin: StoredOrigin): boolean {
  if (!group.properties.healthProbeSettings) return true
  return origin.site ? Boolean(webappBackend(ctx, origin.site)?.healthy) : false
}

/** The origin Front Door sends a request to now (see the module comment). */
export function routeOf(ctx: EmulatorContext, fd: StoredFrontDoor): FrontBackend | undefined {
  if (fd.route.properties.enabledState === 'Disabled' || fd.endpoint.properties.enabledState === 'Disabled') return undefined
  const groupName = String(fd.route.properties.originGroup?.id ?? '').split('/').at(-1)?.toLowerCase()
  const group = visible(fd.routing, fd.groups, ctx.clock().getTime()).find((g) => g.name.toLowerCase() === groupName)
  if (!group) return undefined
  const enabled = group.origins.filter((o) => o.properties.enabledState !== 'Disabled').sort((a, b) => a.properties.priority - b.properties.priority || b.properties.weight - a.properties.weight)
  const chosen = enabled.find((o) => originHealthy(ctx, group, o)) ?? enabled[0]
  const site = chosen?.site ? webappBackend(ctx, chosen.site) : undefined
  if (!chosen || !site?.url) return undefined
  return {name: chosen.name, region: chosen.region, url: site.url}
}

export async function start(ctx: EmulatorContext): Promise<void> {
  const host = fronts(ctx)
  ctx.onClose(() => host.close())
  for (const fd of Object.values(frontDoorState(ctx).profiles)) {
    const key = fd.resource.id.toLowerCase()
    await host.open(frontKey(fd), () => {
      const live = frontDoorState(ctx).profiles[key]
      return live ? routeOf(ctx, live) : undefined
    })
  }
}

const frontKey = (fd: StoredFrontDoor) => `frontdoor/${fd.resource.name}/${fd.endpoint.name}`

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => frontDoorState(ctx)
  frontDoorState(ctx)
  registerResourceInventory(ctx, 'frontdoor', () => Object.values(state().profiles).flatMap((x) => [clone(x.resource), ...wafPolicyResources(x)]))
  const find = (p: Record<string, string>): StoredFrontDoor | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().profiles[resourceIdOf(p.sub!, p.rg!, AFD_TYPE, p.profile!).toLowerCase()] ?? resourceNotFound(AFD_TYPE, p.profile!, p.rg!)
  }
  const child = (fd: StoredFrontDoor, path: string, type: string, name: string, properties: Record<string, any>) => ({id: `${fd.resource.id}/${path}`, name, type: `${AFD_TYPE}/${type}`, properties: clone(properties)})
  const endpointView = (fd: StoredFrontDoor, request?: {query: URLSearchParams}) => {
    const view = {...child(fd, `afdEndpoints/${fd.endpoint.name}`, 'afdendpoints', fd.endpoint.name, fd.endpoint.properties), location: 'Global', tags: {}}
    // az 2.45 reads at 2021-06-01, whose AFDEndpointProperties has no `autoGeneratedDomainNameLabelScope` (afdx.json
    // 2021-06-01, vendored in test/fixtures/azure-specs; 2024-02-01 has it).
    if (request?.query.get('api-version') === '2021-06-01') delete view.properties.autoGeneratedDomainNameLabelScope
    return view
  }
  // Profiles_Get at 2021-06-01 (az 2.45): that version's ProfileProperties (cdn.json 2021-06-01, vendored whole in
  // test/fixtures/azure-specs) has resourceState, provisioningState, frontDoorId and originResponseTimeoutSeconds only;
  // `extendedProperties` (and `logScrubbing`) came later (2024-02-01 has them).
  const profileView = (fd: StoredFrontDoor, request?: {query: URLSearchParams}) => {
    const view = clone(fd.resource)
    if (request?.query.get('api-version') === '2021-06-01') delete view.properties.extendedProperties
    return view
  }
  const groupView = (fd: StoredFrontDoor, g: StoredGroup) => child(fd, `originGroups/${g.name}`, 'origingroups', g.name, g.properties)
  const originView = (fd: StoredFrontDoor, g: StoredGroup, o: StoredOrigin) => child(fd, `originGroups/${g.name}/origins/${o.name}`, 'origingroups/origins', o.name, {...o.properties, originGroupName: g.name})
  const named = <T extends {name: string}>(list: T[], name: string) => list.find((x) => x.name.toLowerCase() === name.toLowerCase())
  const notFound = (what: string, name: string) => armError(404, 'NotFound', `The requested ${what} '${name}' was not found.`)
  const withFd = (fn: (fd: StoredFrontDoor, request: any, p: Record<string, string>) => EmulatorResponse) => (request: any, p: Record<string, string>) => {
    const fd = find(p)
    return 'resource' in fd ? fn(fd, request, p) : fd
  }
  const withGroup = (fn: (fd: StoredFrontDoor, g: StoredGroup, request: any, p: Record<string, string>) => EmulatorResponse) =>
    withFd((fd, request, p) => {
      const g = named(fd.groups, p.group!)
      return g ? fn(fd, g, request, p) : notFound('origin group', p.group!)
    })
  return [
    {method: 'GET', pattern: P, operation: 'frontdoor.profiles.get', handler: withFd((fd, request) => ({status: 200, body: profileView(fd, request)}))},
    {method: 'GET', pattern: `${P}/afdEndpoints`, operation: 'frontdoor.afdEndpoints.list', handler: withFd((fd, request) => paged(request, [endpointView(fd, request)]))},
    {
      method: 'GET',
      pattern: `${P}/afdEndpoints/{endpoint}`,
      operation: 'frontdoor.afdEndpoints.get',
      handler: withFd((fd, request, p) => {
        if (fd.endpoint.name.toLowerCase() !== p.endpoint!.toLowerCase()) return notFound('endpoint', p.endpoint!)
        const url = fronts(ctx).url(frontKey(fd))
        return {status: 200, body: endpointView(fd, request), ...(url ? {headers: {[LOCAL_URL_HEADER]: url}} : {})}
      }),
    },
    {
      method: 'GET',
      pattern: `${P}/afdEndpoints/{endpoint}/routes`,
      operation: 'frontdoor.routes.list',
      handler: withFd((fd, request, p) =>
        fd.endpoint.name.toLowerCase() !== p.endpoint!.toLowerCase() ? notFound('endpoint', p.endpoint!) : paged(request, [child(fd, `afdEndpoints/${fd.endpoint.name}/routes/${fd.route.name}`, 'afdendpoints/routes', fd.route.name, fd.route.properties)]),
      ),
    },
    {method: 'GET', pattern: `${P}/originGroups`, operation: 'frontdoor.originGroups.list', handler: withFd((fd, request) => paged(request, fd.groups.map((g) => groupView(fd, g))))},
    {method: 'GET', pattern: `${P}/originGroups/{group}`, operation: 'frontdoor.originGroups.get', handler: withGroup((fd, g) => ({status: 200, body: groupView(fd, g)}))},
    {method: 'GET', pattern: `${P}/originGroups/{group}/origins`, operation: 'frontdoor.origins.list', handler: withGroup((fd, g, request) => paged(request, g.origins.map((o) => originView(fd, g, o))))},
    {
      method: 'GET',
      pattern: `${P}/originGroups/{group}/origins/{origin}`,
      operation: 'frontdoor.origins.get',
      handler: withGroup((fd, g, _r, p) => {
        const o = named(g.origins, p.origin!)
        return o ? {status: 200, body: originView(fd, g, o)} : notFound('origin', p.origin!)
      }),
    },
    ...(['PATCH', 'PUT'] as const).map((method): Route => ({
      method,
      pattern: `${P}/originGroups/{group}/origins/{origin}`,
      // AFDOrigins_Update (PATCH, what the SDK sends) and AFDOrigins_Create (PUT, what `az afd origin update` sends
      // after a GET): both change an existing origin here; creating origins is not served.
      operation: method === 'PATCH' ? 'frontdoor.origins.update' : 'frontdoor.origins.createOrUpdate',
      handler: withGroup((fd, g, request, p) => {
        const o = named(g.origins, p.origin!)
        if (!o) return notFound('origin', p.origin!)
        const props = request.body?.properties
        if (!props || typeof props !== 'object') return invalidBody()
        const next = clone(o.properties)
        if (props.enabledState !== undefined) {
          const state = canonicalEnum(props.enabledState, ['Enabled', 'Disabled'])
          if (!state) return armError(400, 'BadRequest', `The value '${props.enabledState}' is not valid for enabledState. Valid values are 'Enabled' and 'Disabled'.`)
          next.enabledState = state
        }
        // Priority 1–5 and weight 1–1000 (AFDOriginProperties in the spec; https://learn.microsoft.com/azure/frontdoor/routing-methods).
        if (props.priority !== undefined) {
          if (!Number.isInteger(props.priority) || props.priority < 1 || props.priority > 5) return armError(400, 'BadRequest', `Priority must be between 1 and 5; '${props.priority}' is invalid.`)
          next.priority = props.priority
        }
        if (props.weight !== undefined) {
          if (!Number.isInteger(props.weight) || props.weight < 1 || props.weight > 1000) return armError(400, 'BadRequest', `Weight must be between 1 and 1000; '${props.weight}' is invalid.`)
          next.weight = props.weight
        }
        propagate(fd.routing, clone(fd.groups), ctx.clock().getTime(), ctx.routingPropagationMs)
        o.properties = next
        ctx.activity.append({resourceId: fd.resource.id, kind: 'frontdoor.origin', data: {originGroup: g.name, origin: o.name, enabledState: next.enabledState, priority: next.priority}})
        return {status: 200, body: originView(fd, g, o)}
      }),
    })),
    {
      method: 'GET',
      pattern: `${P}/securityPolicies`,
      operation: 'frontdoor.securityPolicies.list',
      handler: withFd((fd, request) => paged(request, fd.securityPolicies.map((s) => child(fd, `securityPolicies/${s.name}`, 'securitypolicies', s.name, s.properties)))),
    },
    {
      method: 'GET',
      pattern: `${P}/customDomains`,
      operation: 'frontdoor.customDomains.list',
      handler: withFd((fd, request) => paged(request, (fd.customDomains ?? []).map((d) => child(fd, `customDomains/${d.name}`, 'customdomains', d.name, d.properties)))),
    },
    {
      // Policies_Get (webapplicationfirewall.json, specification/frontdoor/resource-manager/Microsoft.Network/stable/2024-02-01
      // in Azure/azure-rest-api-specs), served at that version only (api-versions.ts: ARM versions this Microsoft.Network
      // type apart from Traffic Manager). A policy no security policy names is answered by ARM's gateway, not by the
      // Front Door provider (whose errors are the unwrapped {code, message} the spec's `default` describes): Azure's
      // recorded answer to a GET of a deleted policy (Azure/azure-powershell, src/FrontDoor/FrontDoor.Test/SessionRecords/
      // …WebApplicationFireWallPolicyTests/TestPolicyCrud.json, api-version 2020-04-01) is 404 with
      // `x-ms-failure-cause: gateway` and {"error": {"code": "ResourceNotFound", "message": "The Resource
      // 'Microsoft.Network/frontdoorWebApplicationFirewallPolicies/ps493' under resource group 'ps2250' was not found.
      // For more details please go to https://aka.ms/ARMResourceNotFoundFix"}} — resourceNotFound's text, same casing.
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/FrontDoorWebApplicationFirewallPolicies/{policy}',
      operation: 'frontdoor.wafPolicies.get',
      handler: (_request: any, p: Record<string, string>) => {
        const scope = checkScope(ctx, p.sub!, p.rg!)
        if (scope) return scope
        const id = resourceIdOf(p.sub!, p.rg!, WAF_TYPE, p.policy!).toLowerCase()
        const found = Object.values(state().profiles).flatMap(wafPolicyResources).find((w) => String(w.id).toLowerCase() === id)
        return found ? {status: 200, body: found} : {...resourceNotFound(WAF_TYPE, p.policy!, p.rg!), headers: {'x-ms-failure-cause': 'gateway'}}
      },
    },
    {
      method: 'GET',
      pattern: '/_emulator/frontdoor',
      operation: 'emulator.frontdoor.list',
      handler: () => ({status: 200, body: {value: Object.values(state().profiles).map((x) => ({profile: x.resource.name, endpoint: x.endpoint.name, url: fronts(ctx).url(frontKey(x)) ?? null, serving: routeOf(ctx, x) ?? null}))}}),
    },
  ]
}
