/**
 * Regional failover of the web tier through a traffic router: Azure Traffic Manager profiles (endpoint enable/disable
 * and priority; @azure/arm-trafficmanager 6, api-version 2022-04-01) and Azure Front Door Standard/Premium origin
 * groups (origin enable/disable and priority; @azure/arm-cdn 9, 2024-02-01), plus the steps of `region-failover`:
 * preflight, switch, wait for healthy traffic from the target region (RTO), restore.
 *
 * Priority routing sends traffic to the lowest-priority-number endpoint that is enabled and healthy
 * (https://learn.microsoft.com/azure/traffic-manager/traffic-manager-routing-methods#priority-traffic-routing-method;
 * Front Door: https://learn.microsoft.com/azure/frontdoor/routing-methods#priority). The switch disables the
 * endpoints/origins outside the target region, so traffic moves to the target region's even while the primary is
 * healthy (a planned failover), and restore puts every changed setting back as it was.
 *
 * Where a response came from is read from a header: the emulator's fronts send `x-opsbook-region`; on Azure, have the
 * app send its region (App Service sets REGION_NAME in every app's environment) and name that header in `regionHeader`.
 */
import {z} from 'zod'
import type {Environment, FrontDoorComponent, TrafficManagerComponent} from '../catalog/schema.js'
import {ExitCode, OpsbookError} from '../errors.js'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import type {AzureServices} from '../azure/clients.js'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import {ActionFailure, toAzureError} from '../azure/errors.js'
import {COMPONENT_PROVIDER_TYPE} from '../catalog/resource-id.js'
import {azureServices, delay, withRetryLog} from './resolve.js'
import {LOCAL_URL_HEADER, probeWebappOnce} from './webapp.js'
import {defineAction, type ActionContext, type ActionDefinition, type ArmCall, type PlanContext} from './types.js'

export const TRAFFIC_MANAGER_API_VERSION = '2022-04-01'
export const FRONT_DOOR_API_VERSION = '2024-02-01'
const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT10M'})
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected an ISO-8601 date-time'})

const TM_READ = 'Microsoft.Network/trafficManagerProfiles/read'
const TM_ENDPOINT_WRITE = 'Microsoft.Network/trafficManagerProfiles/azureEndpoints/write'
const TM_EXTERNAL_WRITE = 'Microsoft.Network/trafficManagerProfiles/externalEndpoints/write'
const AFD_READ = 'Microsoft.Cdn/profiles/read'
const AFD_ENDPOINT_READ = 'Microsoft.Cdn/profiles/afdendpoints/read'
const AFD_ORIGIN_READ = 'Microsoft.Cdn/profiles/origingroups/origins/read'
const AFD_ORIGIN_WRITE = 'Microsoft.Cdn/profiles/origingroups/origins/write'
const WEB_READ = 'Microsoft.Web/sites/read'

/** Debian's az 2.45 fails every `az network traffic-manager` command before sending anything (AttributeError on
 * 'standard_medium' while loading the network module); the generic `az resource` commands are its equivalent. */
const AZ_245_TM = '# needs az newer than 2.45 (Debian\'s az 2.45 crashes in every traffic-manager command); with az 2.45'

/** Response header the emulator's fronts name the serving region in. */
export const REGION_HEADER = 'x-opsbook-region'

type RouterKind = 'trafficmanager' | 'frontdoor'

interface Router {
  key?: string
  kind: RouterKind
  name: string
  resourceGroup: string
  component?: TrafficManagerComponent | FrontDoorComponent
}

/** A traffic router by catalog key or Azure name (Traffic Manager profile or Front Door profile). */
export function resolveRouter(environment: Environment, reference: string, kind?: RouterKind): Router {
  const byKey = environment.components[reference]
  const entry = byKey
    ? ([reference, byKey] as const)
    : Object.entries(environment.components).find(([, c]) => (c.type === 'trafficmanager' || c.type === 'frontdoor') && (!kind || c.type === kind) && c.name.toLowerCase() === reference.toLowerCase())
  const component = entry?.[1]
  if (component && component.type !== 'trafficmanager' && component.type !== 'frontdoor')
    throw new OpsbookError(`component ${reference} is a ${component.type}, not a trafficmanager or frontdoor`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
  if (component && kind && component.type !== kind) throw new OpsbookError(`component ${reference} is a ${component.type}, not a ${kind}`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
  if (!component && !kind)
    throw new OpsbookError(`no trafficmanager or frontdoor component "${reference}" in environment (name one of: ${routerKeys(environment).join(', ') || 'none'})`, {
      exitCode: ExitCode.invalidInput,
      code: 'unknown-component',
    })
  const type = (component?.type ?? kind) as RouterKind
  return {key: entry?.[0], kind: type, name: component?.name ?? reference, resourceGroup: component?.resourceGroup ?? environment.resourceGroups[0]!, component: component as Router['component']}
}

function routerKeys(environment: Environment): string[] {
  return Object.entries(environment.components).filter(([, c]) => c.type === 'trafficmanager' || c.type === 'frontdoor').map(([k]) => k)
}

/** One endpoint (Traffic Manager) or origin (Front Door) as the router reports it. */
export interface Backend {
  name: string
  /** Front Door: the origin group; Traffic Manager: the endpoint type (AzureEndpoints, ExternalEndpoints). */
  group: string
  region: string
  enabled: boolean
  priority: number
  /** Traffic Manager's endpointMonitorStatus; Front Door reports none in ARM (undefined). */
  monitorStatus?: string
  /** The web app (site resource id) it routes to, when it is one. */
  siteId?: string
}

interface RouterView {
  backends: Backend[]
  /** Where clients reach the router: https://<fqdn> on Azure, the emulator's loopback front locally. */
  url: string
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

async function readRouter(services: AzureServices, router: Router, context: ActionContext): Promise<RouterView> {
  let local: string | undefined
  const onResponse = (response: {headers?: {get?: (name: string) => string | undefined}}) => {
    local = response.headers?.get?.(LOCAL_URL_HEADER) ?? local
  }
  const options = {abortSignal: context.signal, onResponse} as never
  try {
    if (router.kind === 'trafficmanager') {
      const client = await services.trafficManager()
      const profile = await client.profiles.get(router.resourceGroup, router.name, options)
      const backends = (profile.endpoints ?? []).map((e) => ({
        name: e.name ?? '?',
        group: capitalize(e.type?.split('/').at(-1) ?? 'azureEndpoints'),
        region: normalizeRegion(e.endpointLocation ?? ''),
        enabled: e.endpointStatus !== 'Disabled',
        priority: e.priority ?? 1000,
        monitorStatus: e.endpointMonitorStatus,
        siteId: /\/providers\/Microsoft\.Web\/sites\//i.test(e.targetResourceId ?? '') ? e.targetResourceId : undefined,
      }))
      return {backends, url: (local ?? `https://${profile.dnsConfig?.fqdn ?? `${router.name}.trafficmanager.net`}`).replace(/\/+$/, '')}
    }
    const client = await services.frontDoor()
    const fd = router.component as FrontDoorComponent | undefined
    const endpointName = fd?.endpoint ?? router.name
    const endpoint = await client.afdEndpoints.get(router.resourceGroup, router.name, endpointName, options)
    const backends: Backend[] = []
    for await (const group of client.afdOriginGroups.listByProfile(router.resourceGroup, router.name, {abortSignal: context.signal}))
      for await (const origin of client.afdOrigins.listByOriginGroup(router.resourceGroup, router.name, group.name!, {abortSignal: context.signal})) {
        const catalogOrigin = fd?.originGroups.find((g) => g.name.toLowerCase() === group.name!.toLowerCase())?.origins.find((o) => o.name.toLowerCase() === origin.name?.toLowerCase())
        const site = catalogOrigin?.webapp ? context.environment.components[catalogOrigin.webapp] : undefined
        backends.push({
          name: origin.name ?? '?',
          group: group.name!,
          // AFD origins carry no region in ARM: it is the catalog's (the origin's, else its web app's).
          region: normalizeRegion(catalogOrigin?.region ?? site?.region ?? context.environment.region),
          enabled: origin.enabledState !== 'Disabled',
          priority: origin.priority ?? 1,
          siteId: origin.azureOrigin?.id,
        })
      }
    return {backends, url: (local ?? `https://${endpoint.hostName}`).replace(/\/+$/, '')}
  } catch (error) {
    throw toAzureError(error, {operation: `read ${router.kind === 'trafficmanager' ? 'Traffic Manager profile' : 'Front Door profile'} ${router.name}`})
  }
}

/** "West US" / "westus" → "westus" (ARM reports endpointLocation in either form). */
export function normalizeRegion(region: string): string {
  return region.replace(/\s+/g, '').toLowerCase()
}

interface BackendChange {
  name: string
  group: string
  enabled?: boolean
  priority?: number
}

/** Apply one endpoint/origin change; returns the backend as it was before. */
async function updateBackend(services: AzureServices, router: Router, change: BackendChange, context: ActionContext): Promise<void> {
  try {
    if (router.kind === 'trafficmanager') {
      const client = await services.trafficManager()
      await client.endpoints.update(
        router.resourceGroup,
        router.name,
        change.group as 'AzureEndpoints',
        change.name,
        {...(change.enabled !== undefined ? {endpointStatus: change.enabled ? 'Enabled' : 'Disabled'} : {}), ...(change.priority !== undefined ? {priority: change.priority} : {})},
        {abortSignal: context.signal},
      )
      return
    }
    const client = await services.frontDoor()
    await client.afdOrigins.beginUpdateAndWait(
      router.resourceGroup,
      router.name,
      change.group,
      change.name,
      {...(change.enabled !== undefined ? {enabledState: change.enabled ? 'Enabled' : 'Disabled'} : {}), ...(change.priority !== undefined ? {priority: change.priority} : {})},
      {abortSignal: context.signal, updateIntervalInMs: services.pollIntervalMs},
    )
  } catch (error) {
    throw toAzureError(error, {operation: `update ${router.kind === 'trafficmanager' ? 'endpoint' : 'origin'} ${change.name} of ${router.name}`})
  }
}

function azLine(router: Router, change: BackendChange): string {
  const status = change.enabled === undefined ? '' : router.kind === 'trafficmanager' ? ` --endpoint-status ${change.enabled ? 'Enabled' : 'Disabled'}` : ` --enabled-state ${change.enabled ? 'Enabled' : 'Disabled'}`
  const priority = change.priority === undefined ? '' : ` --priority ${change.priority}`
  const type = change.group.replace(/^./, (c) => c.toLowerCase())
  const sets = [...(change.enabled === undefined ? [] : [`properties.endpointStatus=${change.enabled ? 'Enabled' : 'Disabled'}`]), ...(change.priority === undefined ? [] : [`properties.priority=${change.priority}`])]
  return router.kind === 'trafficmanager'
    ? `az network traffic-manager endpoint update --resource-group ${router.resourceGroup} --profile-name ${router.name} --type ${type} --name ${change.name}${status}${priority}  ${AZ_245_TM}: az resource update --resource-group ${router.resourceGroup} --namespace Microsoft.Network --parent trafficmanagerprofiles/${router.name} --resource-type ${type} --name ${change.name} --set ${sets.join(' ')}`
    : `az afd origin update --resource-group ${router.resourceGroup} --profile-name ${router.name} --origin-group-name ${change.group} --origin-name ${change.name}${status}${priority}`
}

/** Catalog view of a router's backends (for plan: names, groups and regions before anything is read). */
function catalogBackends(environment: Environment, router: Router): Array<{name: string; group: string; region: string}> {
  const regionOf = (explicit: string | undefined, webapp: string | undefined) => normalizeRegion(explicit ?? (webapp ? environment.components[webapp]?.region : undefined) ?? environment.region)
  if (router.component?.type === 'trafficmanager')
    return router.component.endpoints.map((e) => ({name: e.name, group: e.webapp ? 'AzureEndpoints' : 'ExternalEndpoints', region: regionOf(e.region, e.webapp)}))
  if (router.component?.type === 'frontdoor')
    return router.component.originGroups.flatMap((g) => g.origins.map((o) => ({name: o.name, group: g.name, region: regionOf(o.region, o.webapp)})))
  return []
}

/** ARM calls that read a router and PATCH some of its endpoints (Traffic Manager) or origins (Front Door, long-running). */
function backendArm(plan: PlanContext, router: Router, backends: Array<{name: string; group: string}>): ArmCall[] {
  const tm = router.kind === 'trafficmanager'
  const base = `/subscriptions/${plan.environment.subscription}/resourceGroups/${router.resourceGroup}/providers/${tm ? 'Microsoft.Network/trafficmanagerprofiles' : 'Microsoft.Cdn/profiles'}/${router.name}`
  return tm
    ? [
        {method: 'GET', path: `${base}?api-version=${TRAFFIC_MANAGER_API_VERSION}`},
        ...backends.map((b): ArmCall => ({method: 'PATCH', path: `${base}/${b.group}/${b.name}?api-version=${TRAFFIC_MANAGER_API_VERSION}`})),
      ]
    : [
        ...[...new Set(backends.map((b) => b.group))].map((g): ArmCall => ({method: 'GET', path: `${base}/originGroups/${g}/origins?api-version=${FRONT_DOOR_API_VERSION}`})),
        ...backends.map((b): ArmCall => ({method: 'PATCH', path: `${base}/originGroups/${b.group}/origins/${b.name}?api-version=${FRONT_DOOR_API_VERSION}`, longRunning: true})),
      ]
}

const routerRef = z.string().min(1).describe('Catalog key of a trafficmanager or frontdoor component, or its Azure name')
const targetRegion = z.string().min(1).optional().describe('Region to fail over to; default: the environment\'s pairedRegion')

function toRegionOf(environment: Environment, to: string | undefined): string {
  const region = to ?? environment.pairedRegion
  if (!region) throw new OpsbookError('no region to fail over to: pass `to` or set the environment\'s pairedRegion', {exitCode: ExitCode.invalidInput, code: 'missing-paired-region'})
  return normalizeRegion(region)
}

/** Input of the failover steps that act on a router towards a region. */
const failoverInput = z.strictObject({router: routerRef, to: targetRegion})

/** The router, the region to fail over to, and the router's endpoints/origins as Azure reports them now. */
async function readFailover(input: z.infer<typeof failoverInput>, context: ActionContext) {
  const services = azureServices(context)
  const router = resolveRouter(context.environment, input.router)
  const to = toRegionOf(context.environment, input.to)
  const view = await withRetryLog(context, services, () => readRouter(services, router, context))
  return {services, router, to, view}
}

// ---------------------------------------------------------------------------------------------------------------------
// trafficmanager.updateEndpoint / frontdoor.updateOrigin

const backendOutput = z.strictObject({
  router: z.string(),
  name: z.string(),
  group: z.string(),
  before: z.strictObject({enabled: z.boolean(), priority: z.number()}),
  after: z.strictObject({enabled: z.boolean(), priority: z.number()}),
})

function updateAction(kind: RouterKind) {
  const tm = kind === 'trafficmanager'
  return defineAction({
    name: tm ? 'trafficmanager.updateEndpoint' : 'frontdoor.updateOrigin',
    summary: tm ? 'Enable or disable a Traffic Manager endpoint, or change its priority' : 'Enable or disable a Front Door origin, or change its priority',
    description: tm
      ? 'Endpoints_Update (PATCH) of one endpoint: endpointStatus and/or priority (1–1000, unique per Priority profile). Outputs the settings before and after, so a later step can put them back.'
      : 'AFDOrigins_Update (PATCH, long-running) of one origin: enabledState and/or priority (1–5). Outputs the settings before and after, so a later step can put them back.',
    input: z.strictObject({
      profile: routerRef,
      ...(tm ? {endpoint: z.string().min(1).describe('Endpoint name')} : {originGroup: z.string().min(1).optional().describe('Origin group; default: the one holding `origin`'), origin: z.string().min(1).describe('Origin name')}),
      enabled: z.boolean().optional().describe('Enable (true) or disable (false)'),
      priority: z.number().int().min(1).max(tm ? 1000 : 5).optional(),
    }),
    output: backendOutput,
    changes: true,
    // One PATCH of an endpoint (Traffic Manager) or origin (Front Door, long-running). Generous.
    defaultTimeout: 'PT1H',
    permissions: tm ? [TM_READ, TM_ENDPOINT_WRITE, TM_EXTERNAL_WRITE] : [AFD_READ, AFD_ORIGIN_READ, AFD_ORIGIN_WRITE],
    az: (input: any, plan) => {
      const router = resolveRouter(plan.environment, input.profile, kind)
      const name = tm ? input.endpoint : input.origin
      const group = catalogBackends(plan.environment, router).find((b) => b.name.toLowerCase() === String(name).toLowerCase() && (tm || !input.originGroup || b.group === input.originGroup))?.group ?? input.originGroup ?? (tm ? 'AzureEndpoints' : '<origin-group>')
      return [azLine(router, {name, group, enabled: input.enabled, priority: input.priority})]
    },
    arm: (input: any, plan) => {
      const router = resolveRouter(plan.environment, input.profile, kind)
      return backendArm(plan, router, [tm ? {name: input.endpoint, group: '<endpointType>'} : {name: input.origin, group: input.originGroup ?? '<group>'}])
    },
    async run(input: any, context) {
      const services = azureServices(context)
      const router = resolveRouter(context.environment, input.profile, kind)
      const name: string = tm ? input.endpoint : input.origin
      const view = await withRetryLog(context, services, () => readRouter(services, router, context))
      const backend = view.backends.find((b) => b.name.toLowerCase() === name.toLowerCase() && (tm || !input.originGroup || b.group.toLowerCase() === input.originGroup.toLowerCase()))
      if (!backend)
        throw new ActionFailure(`${router.name} has no ${tm ? 'endpoint' : 'origin'} ${name} (it has: ${view.backends.map((b) => b.name).join(', ') || 'none'})`, {code: 'backend-not-found', exitCode: ExitCode.invalidInput})
      const after = {enabled: input.enabled ?? backend.enabled, priority: input.priority ?? backend.priority}
      await withRetryLog(context, services, () => updateBackend(services, router, {name: backend.name, group: backend.group, enabled: input.enabled, priority: input.priority}, context))
      context.log(`${router.name}/${backend.name}: ${backend.enabled ? 'Enabled' : 'Disabled'} priority ${backend.priority} → ${after.enabled ? 'Enabled' : 'Disabled'} priority ${after.priority}`)
      return {router: router.name, name: backend.name, group: backend.group, before: {enabled: backend.enabled, priority: backend.priority}, after}
    },
  })
}

export const updateEndpointAction = updateAction('trafficmanager')
export const updateOriginAction = updateAction('frontdoor')

// ---------------------------------------------------------------------------------------------------------------------
// failover.preflight

const backendRow = z.strictObject({name: z.string(), group: z.string(), region: z.string(), enabled: z.boolean(), priority: z.number(), healthy: z.boolean(), detail: z.string()})

export const failoverPreflightAction = defineAction({
  name: 'failover.preflight',
  summary: 'Check a traffic router can fail over: the target region has an endpoint/origin, and its app is healthy',
  description:
    'Reads the Traffic Manager or Front Door profile, finds the endpoints/origins in the target region (default: pairedRegion) and in the others, and checks each target one: its web app answers its health path (and a Traffic Manager endpoint that is enabled reports endpointMonitorStatus Online). Fails (exit 1) when the target region has no endpoint/origin or none is healthy. Changes nothing.',
  input: failoverInput,
  output: z.strictObject({
    router: z.string(),
    kind: z.enum(['trafficmanager', 'frontdoor']),
    url: z.string().describe('Where clients reach the router'),
    toRegion: z.string(),
    fromRegions: z.array(z.string()),
    backends: z.array(backendRow),
  }),
  changes: false,
  permissions: [TM_READ, AFD_READ, AFD_ENDPOINT_READ, AFD_ORIGIN_READ, WEB_READ],
  az: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    return router.kind === 'trafficmanager'
      ? [
          `az network traffic-manager endpoint list --resource-group ${router.resourceGroup} --profile-name ${router.name} --query "[].{name: name, location: endpointLocation, status: endpointStatus, monitor: endpointMonitorStatus, priority: priority}" -o table  ${AZ_245_TM}: az resource show --resource-group ${router.resourceGroup} --resource-type Microsoft.Network/trafficmanagerprofiles --name ${router.name} --query properties.endpoints`,
        ]
      : [`az afd origin list --resource-group ${router.resourceGroup} --profile-name ${router.name} --origin-group-name ${catalogBackends(plan.environment, router)[0]?.group ?? '<origin-group>'} -o table`]
  },
  async run(input, context) {
    const {services, router, to, view} = await readFailover(input, context)
    const rows: Array<z.infer<typeof backendRow>> = []
    for (const b of view.backends) {
      let healthy = false
      let detail = 'not a web app: health not probed'
      if (b.monitorStatus && b.enabled && b.monitorStatus !== 'Online') detail = `endpointMonitorStatus ${b.monitorStatus}`
      else if (b.siteId) {
        const probe = await probeWebappOnce(services, context, b.siteId)
        healthy = probe.ok
        detail = probe.ok ? `${probe.app} healthy (GET ${probe.url} → ${probe.status})` : `${probe.app} unhealthy (GET ${probe.url} → ${probe.status || probe.error})`
      }
      rows.push({name: b.name, group: b.group, region: b.region, enabled: b.enabled, priority: b.priority, healthy, detail})
      context.log(`${b.name} (${b.region}, priority ${b.priority}, ${b.enabled ? 'enabled' : 'disabled'}): ${detail}`)
    }
    const targets = rows.filter((r) => r.region === to)
    if (targets.length === 0)
      throw new ActionFailure(`${router.name} has no ${router.kind === 'trafficmanager' ? 'endpoint' : 'origin'} in ${to} (regions: ${[...new Set(rows.map((r) => r.region))].join(', ') || 'none'}): there is nowhere to fail over to`, {code: 'failover-no-target'})
    if (!targets.some((r) => r.healthy))
      throw new ActionFailure(`no healthy ${router.kind === 'trafficmanager' ? 'endpoint' : 'origin'} in ${to}: ${targets.map((r) => `${r.name}: ${r.detail}`).join('; ')} — failing over would take the service down`, {code: 'failover-target-unhealthy'})
    if (rows.every((r) => r.region === to)) context.log(`every ${router.kind === 'trafficmanager' ? 'endpoint' : 'origin'} is already in ${to}`)
    return {router: router.name, kind: router.kind, url: view.url, toRegion: to, fromRegions: [...new Set(rows.filter((r) => r.region !== to).map((r) => r.region))], backends: rows}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// failover.switch / failover.restore

const changeRow = z.strictObject({name: z.string(), group: z.string(), region: z.string(), before: z.strictObject({enabled: z.boolean(), priority: z.number()})})

export const failoverSwitchAction = defineAction({
  name: 'failover.switch',
  summary: 'Switch a traffic router to the target region: disable its endpoints/origins in every other region',
  description:
    'Disables every enabled endpoint (Traffic Manager) or origin (Front Door) outside the target region and enables the target region\'s, so priority routing sends all traffic there. Outputs what it changed (with the settings before) and when, for failover.waitForRegion (RTO) and failover.restore (fail back).',
  input: failoverInput,
  output: z.strictObject({router: z.string(), toRegion: z.string(), switchedAt: z.string(), changed: z.array(changeRow)}),
  changes: true,
  // A few PATCHes of endpoints/origins (Front Door's are long-running). Generous.
  defaultTimeout: 'PT1H',
  permissions: [TM_READ, TM_ENDPOINT_WRITE, TM_EXTERNAL_WRITE, AFD_READ, AFD_ORIGIN_READ, AFD_ORIGIN_WRITE],
  az: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    const to = input.to && !/^</.test(input.to) ? normalizeRegion(input.to) : normalizeRegion(plan.environment.pairedRegion ?? '<region>')
    return catalogBackends(plan.environment, router).map((b) => azLine(router, {name: b.name, group: b.group, enabled: b.region === to}))
  },
  arm: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    return backendArm(plan, router, catalogBackends(plan.environment, router))
  },
  async run(input, context) {
    const {services, router, to, view} = await readFailover(input, context)
    const changed: Array<z.infer<typeof changeRow>> = []
    // Enable the target region first, then disable the others: at no moment is every backend disabled.
    const plan = [...view.backends.filter((b) => b.region === to && !b.enabled), ...view.backends.filter((b) => b.region !== to && b.enabled)]
    const switchedAt = context.now().toISOString()
    for (const b of plan) {
      await withRetryLog(context, services, () => updateBackend(services, router, {name: b.name, group: b.group, enabled: b.region === to}, context))
      changed.push({name: b.name, group: b.group, region: b.region, before: {enabled: b.enabled, priority: b.priority}})
      context.log(`${b.name} (${b.region}): ${b.region === to ? 'enabled' : 'disabled'}`)
    }
    if (changed.length === 0) context.log(`${router.name} already sends all traffic to ${to}: nothing to change`)
    return {router: router.name, toRegion: to, switchedAt, changed}
  },
})

export const failoverRestoreAction = defineAction({
  name: 'failover.restore',
  summary: 'Fail back: put the endpoints/origins failover.switch changed back as they were',
  input: z.strictObject({router: routerRef, changed: z.array(changeRow).default([]).describe('failover.switch\'s `changed` output')}),
  output: z.strictObject({router: z.string(), restored: z.array(z.string())}),
  changes: true,
  // A few PATCHes of endpoints/origins (Front Door's are long-running). Generous.
  defaultTimeout: 'PT1H',
  // Nothing to put back when the switch changed nothing: it says so (`not-switched`) for evidence verify's witness.
  armWrites: 'when-needed',
  permissions: [TM_ENDPOINT_WRITE, TM_EXTERNAL_WRITE, AFD_ORIGIN_WRITE],
  az: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    return Array.isArray(input.changed) && input.changed.length > 0
      ? input.changed.map((c) => azLine(router, {name: c.name, group: c.group, enabled: c.before.enabled, priority: c.before.priority}))
      : catalogBackends(plan.environment, router).map((b) => azLine(router, {name: b.name, group: b.group, enabled: true}))
  },
  arm: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    return backendArm(plan, router, Array.isArray(input.changed) && input.changed.length > 0 ? input.changed : catalogBackends(plan.environment, router)).filter((c) => c.method === 'PATCH')
  },
  // The router it puts back, as run() names it in its `not-switched` finding.
  targets: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    return [`/subscriptions/${plan.environment.subscription}/resourceGroups/${router.resourceGroup}/providers/${COMPONENT_PROVIDER_TYPE[router.kind]}/${router.name}`]
  },
  async run(input, context) {
    const services = azureServices(context)
    const router = resolveRouter(context.environment, input.router)
    const restored: string[] = []
    // Reverse order of the switch: the primary region is enabled again before the target region is put back.
    for (const c of [...input.changed].reverse()) {
      await withRetryLog(context, services, () => updateBackend(services, router, {name: c.name, group: c.group, enabled: c.before.enabled, priority: c.before.priority}, context))
      restored.push(c.name)
      context.log(`${c.name} (${c.region}): ${c.before.enabled ? 'enabled' : 'disabled'} again, priority ${c.before.priority}`)
    }
    if (restored.length === 0) {
      context.log(`${router.name}: the switch changed nothing, nothing to put back`)
      foundWithoutWrite({kind: 'not-switched', resourceId: `/subscriptions/${context.environment.subscription}/resourceGroups/${router.resourceGroup}/providers/${COMPONENT_PROVIDER_TYPE[router.kind]}/${router.name}`})
    }
    return {router: router.name, restored}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// failover.waitForRegion

export const failoverWaitAction = defineAction({
  name: 'failover.waitForRegion',
  summary: 'GET the router until healthy traffic comes from the target region; RTO = switch to first healthy answer',
  description: `Polls <router url><path> until it answers 2xx from the target region (read from the response header \`regionHeader\`, default ${REGION_HEADER}, which the emulator sends; on Azure have the app send its REGION_NAME). The RTO is measured from \`since\` (failover.switch's switchedAt) to that answer and compared with the router component's objectives.rto. DNS caching (Traffic Manager's TTL) and Front Door's configuration rollout are part of what it measures.`,
  input: z.strictObject({
    router: routerRef,
    url: z.string().optional().describe('Base URL to GET (failover.preflight\'s url); default: read from the router'),
    region: z.string().min(1).describe('Region the answers must come from'),
    since: isoDateTime.describe('When traffic was switched (failover.switch\'s switchedAt)'),
    path: z.string().startsWith('/').optional().describe('Path to GET; default: the health path of the target region\'s web app, else /'),
    regionHeader: z.string().default(REGION_HEADER),
    timeout: isoDuration.default('PT15M'),
    // Each poll is one GET of the health path: once a second measures the RTO to the second at no cost. Against the
    // emulator, whose routing changes take a compressed time (routingPropagationMs), a second would be most of the RTO
    // it measures: there the default is its poll interval (services.pollIntervalMs, 100 ms), as every other wait's.
    interval: isoDuration.optional().describe('Pause between GETs; default PT1S (against the emulator, its poll interval)'),
  }),
  output: z.strictObject({
    region: z.string(),
    status: z.number(),
    attempts: z.number(),
    url: z.string(),
    rtoMs: z.number(),
    rto: z.string().describe('RTO, human readable'),
    answeredAt: z.string().describe('When the healthy answer came (the end of the RTO)'),
    objective: z.string().optional().describe('The router component\'s objectives.rto'),
    met: z.boolean().optional(),
  }),
  changes: false,
  permissions: [TM_READ, AFD_READ, AFD_ENDPOINT_READ],
  az: (input, plan) => {
    const router = resolveRouter(plan.environment, input.router)
    const host = router.kind === 'trafficmanager' ? `${router.name}.trafficmanager.net` : `$(az afd endpoint show --resource-group ${router.resourceGroup} --profile-name ${router.name} --endpoint-name ${(router.component as FrontDoorComponent | undefined)?.endpoint ?? router.name} --query hostName -o tsv)`
    return [`until curl -fsS -D - -o /dev/null "https://${host}${input.path ?? '/'}" | grep -qi "^${input.regionHeader ?? REGION_HEADER}: ${input.region}"; do sleep 2; done`]
  },
  async run(input, context) {
    const services = azureServices(context)
    const router = resolveRouter(context.environment, input.router)
    const region = normalizeRegion(input.region)
    const base = (input.url ?? (await withRetryLog(context, services, () => readRouter(services, router, context))).url).replace(/\/+$/, '')
    const path = input.path ?? targetHealthPath(context.environment, router, region)
    const url = `${base}${path}`
    const timeoutMs = parseDuration(input.timeout) ?? 900_000
    const intervalMs = input.interval === undefined ? Math.min(1000, services.pollIntervalMs) : parseDuration(input.interval)!
    const started = Date.now()
    const header = input.regionHeader.toLowerCase()
    let attempts = 0
    let last = 'no answer yet'
    for (;;) {
      attempts++
      try {
        const response = await services.httpGet(url, {timeoutMs: 10_000, signal: context.signal})
        const from = normalizeRegion(response.headers[header] ?? '')
        if (response.status >= 200 && response.status < 300 && from === region) {
          const answeredAt = context.now()
          const rtoMs = Math.max(0, answeredAt.getTime() - Date.parse(input.since))
          const objective = router.component?.objectives?.rto
          const objectiveMs = objective ? parseDuration(objective) : undefined
          const met = objectiveMs === undefined ? undefined : rtoMs <= objectiveMs
          context.log(`GET ${url} → ${response.status} from ${from} after ${attempts} attempt(s): RTO ${humanDuration(rtoMs)}${objective ? ` (objective ${objective}: ${met ? 'met' : 'MISSED'})` : ''}`)
          return {region, status: response.status, attempts, url, rtoMs, rto: humanDuration(rtoMs), answeredAt: answeredAt.toISOString(), ...(objective ? {objective, met} : {})}
        }
        last = `${response.status} from ${from || `no ${header} header`}`
      } catch (error) {
        if (context.signal.aborted) throw error
        last = (error as Error).message
      }
      if (attempts === 1 || attempts % 5 === 0) context.log(`GET ${url} → ${last} (attempt ${attempts})`)
      if (Date.now() - started + intervalMs > timeoutMs)
        throw new ActionFailure(`no healthy answer from ${region} at ${url} within ${input.timeout}: last ${last} after ${attempts} attempts`, {code: 'failover-not-healthy'})
      await delay(intervalMs, context.signal)
    }
  },
})

function targetHealthPath(environment: Environment, router: Router, region: string): string {
  const c = router.component
  const apps =
    c?.type === 'trafficmanager'
      ? c.endpoints.map((e) => ({webapp: e.webapp, region: e.region}))
      : c?.type === 'frontdoor'
        ? c.originGroups.flatMap((g) => g.origins.map((o) => ({webapp: o.webapp, region: o.region})))
        : []
  for (const a of apps) {
    const app = a.webapp ? environment.components[a.webapp] : undefined
    if (app?.type === 'webapp' && normalizeRegion(a.region ?? app.region ?? environment.region) === region) return app.healthPath
  }
  return '/'
}

export const trafficActions: ActionDefinition[] = [updateEndpointAction, updateOriginAction, failoverPreflightAction, failoverSwitchAction, failoverWaitAction, failoverRestoreAction]
