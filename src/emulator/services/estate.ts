/**
 * The estate (see ../estate.ts) applied to the catalog's resources, and the ARM routes the security checks read
 * that no other service module serves: PostgreSQL Microsoft Entra administrators, private endpoint connections of
 * sites and slots, storage file services and Defender for Cloud pricings. App Service plans and Redis firewall rules
 * belong to webapp.ts and redis.ts (one owner per route: server.ts refuses duplicates); the estate writes into their
 * state. Each follows the published ARM contract (paths and shapes from Azure/azure-rest-api-specs):
 * - `flexibleServers/{name}/administrators` (postgresql Administrators, 2025-08-01): list, get.
 * - `sites/{name}[/slots/{slot}]/privateEndpointConnections` (web WebApps.json): list. Azure does not put these on
 *   the site resource; private endpoints are `Microsoft.Network/privateEndpoints` resources (listed in Resource Graph).
 * - `Microsoft.Security/pricings` (security pricings.json, 2024-01-01): list (with the documented `$filter`), get. Every
 *   plan Azure lists for a subscription is there; a plan never enabled is `Free`.
 * The estate is applied once, when the state is first seeded; it is then ordinary state that requests change.
 */
import {createHash} from 'node:crypto'
import {clone, paged, resourceIdOf, resourceNotFound} from '../arm.js'
import type {Component} from '../../catalog/schema.js'
import type {EmulatorContext} from '../context.js'
import type {Estate, EstateResource} from '../estate.js'
import {applySqlEstate} from './sql.js'
import {applyServiceBusEstate} from './servicebus.js'
import {applyCosmosEstate} from './cosmos.js'
import {applyTrafficManagerEstate} from './trafficmanager.js'
import {applyFrontDoorEstate} from './frontdoor.js'
import type {Route} from '../types.js'
import {miscState} from './arm-misc.js'
import {postgresState} from './postgres.js'
import {managedRedisState} from './managed-redis.js'
import {redisState} from './redis.js'
import {applyPlanOverlay, applyWebappOverlay, PRODUCTION, removeWebapp} from './webapp.js'

const RG = '/subscriptions/{sub}/resourceGroups/{rg}/providers'
/**
 * The Defender plans a subscription has (Microsoft.Security/pricings names), as Azure lists them: the thirteen of
 * Pricings_List's published answer (security pricings.json 2024-01-01, examples/Pricings/ListPricings_example.json,
 * vendored in test/fixtures/azure-specs), which the checks' plans (AppServices, StorageAccounts, KeyVaults,
 * OpenSourceRelationalDatabases, Arm) are among. KubernetesService and ContainerRegistry are there `deprecated`,
 * `replacedBy: ['Containers']`, as that answer shows them.
 */
export const DEFENDER_PLANS = [
  'VirtualMachines',
  'SqlServers',
  'AppServices',
  'StorageAccounts',
  'SqlServerVirtualMachines',
  'KubernetesService',
  'ContainerRegistry',
  'KeyVaults',
  'Dns',
  'Arm',
  'OpenSourceRelationalDatabases',
  'Containers',
  'CloudPosture',
] as const
const DEPRECATED_PLANS: Partial<Record<(typeof DEFENDER_PLANS)[number], string[]>> = {KubernetesService: ['Containers'], ContainerRegistry: ['Containers']}

interface EstateState {
  /** SHA-256 of the estate last applied ('' = none): a changed estate file or scenario is applied over the state. */
  applied: string
  /** Server id (lower-case) → administrators. */
  pgAdministrators: Record<string, Array<{principalName: string; principalType: string; objectId: string}>>
  /** Microsoft.Network/privateEndpoints resources. */
  privateEndpoints: Record<string, Record<string, any>>
  pricings: Record<string, Record<string, any>>
  /** Account id (lower-case) → fileServices/default properties (absent: Azure's default for new accounts). */
  fileServices?: Record<string, Record<string, any>>
}

function estateState(ctx: EmulatorContext): EstateState {
  return ctx.store.slice<EstateState>('estate', () => seed(ctx))
}

/** A PostgreSQL flexible server's Microsoft Entra administrators (what `flexibleServers/{name}/administrators` lists). */
export function pgAdministratorsOf(ctx: EmulatorContext, serverId: string): Array<{principalName: string; principalType: string; objectId: string}> {
  return clone(estateState(ctx).pgAdministrators[serverId.toLowerCase()] ?? [])
}

/** Azure's defaults for what this module serves: Defender plans Free. */
function seed(ctx: EmulatorContext): EstateState {
  const state: EstateState = {applied: '', pgAdministrators: {}, privateEndpoints: {}, pricings: {}}
  for (const plan of DEFENDER_PLANS) {
    const id = `/subscriptions/${ctx.subscription}/providers/Microsoft.Security/pricings/${plan}`
    const replacedBy = DEPRECATED_PLANS[plan]
    state.pricings[plan.toLowerCase()] = {
      id,
      name: plan,
      type: 'Microsoft.Security/pricings',
      properties: {pricingTier: 'Free', freeTrialRemainingTime: 'PT0S', ...(replacedBy ? {deprecated: true, replacedBy: [...replacedBy]} : {})},
    }
  }
  return state
}

/** Deep merge: objects merge, arrays and scalars replace, null removes the key (back to Azure's default). */
function merge(target: Record<string, any>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key]
    else if (typeof value === 'object' && !Array.isArray(value) && typeof target[key] === 'object' && target[key] !== null && !Array.isArray(target[key])) merge(target[key], value as Record<string, unknown>)
    else target[key] = clone(value)
  }
}

function lockId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/locks/${name}`.toLowerCase()
}

const seconds = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) : undefined)

/** Apply the estate to the freshly seeded state (once). */
export function applyEstate(ctx: EmulatorContext, estate: Estate): void {
  const mine = estateState(ctx)
  const digest = createHash('sha256').update(JSON.stringify(estate)).digest('hex')
  if (mine.applied === digest) return
  mine.applied = digest
  const misc = miscState(ctx)
  const pg = postgresState(ctx)
  const redis = redisState(ctx)
  const now = ctx.clock()
  const sub = `/subscriptions/${ctx.subscription}`
  for (const lock of estate.subscription?.locks ?? []) misc.locks[lockId(sub, lock.name)] = {scope: sub, name: lock.name, level: lock.level}
  for (const [plan, tier] of Object.entries(estate.subscription?.defenderPlans ?? {})) {
    const key = plan.toLowerCase()
    mine.pricings[key] ??= {id: `${sub}/providers/Microsoft.Security/pricings/${plan}`, name: plan, type: 'Microsoft.Security/pricings', properties: {}}
    mine.pricings[key].properties.pricingTier = tier
  }
  // A PostgreSQL component's read replicas are servers of their own, which an estate may configure by name too.
  const targets = Object.values(ctx.environment.components).flatMap((component): Component[] =>
    component.type === 'postgres'
      ? [component, ...component.replicas.map((replica) => ({...component, name: replica.name, resourceGroup: replica.resourceGroup ?? component.resourceGroup, replicas: []}))]
      : [component],
  )
  for (const component of targets) {
    const settings = Object.entries(estate.resources).find(([name]) => name.toLowerCase() === component.name.toLowerCase())?.[1]
    if (!settings) continue
    const rg = component.resourceGroup ?? ctx.environment.resourceGroups[0]!
    const find = <T extends {resource: {name: string}}>(records: Record<string, T>) => Object.entries(records).find(([, r]) => r.resource.name.toLowerCase() === component.name.toLowerCase())
    let id: string | undefined
    let resource: Record<string, any> | undefined
    if (component.type === 'postgres') {
      const found = find(pg.servers)
      if (!found) continue
      if (settings.absent) {
        delete pg.servers[found[0]]
        continue
      }
      ;[id, resource] = [found[1].resource.id, found[1].resource]
      Object.assign(found[1].configurations, settings.configurations ?? {})
      if (settings.firewallRules)
        found[1].firewallRules = Object.fromEntries(
          Object.entries(settings.firewallRules).map(([name, r]) => [name, {name, startIpAddress: String(r.startIpAddress), endIpAddress: String(r.endIpAddress)}]),
        )
      if (settings.administrators) mine.pgAdministrators[id.toLowerCase()] = clone(settings.administrators)
    } else if (component.type === 'redis') {
      const found = find(redis.caches)
      if (!found) continue
      if (settings.absent) {
        delete redis.caches[found[0]]
        continue
      }
      ;[id, resource] = [found[1].resource.id, found[1].resource]
      if (settings.zones) found[1].resource.zones = [...settings.zones]
      if (settings.patchSchedule) found[1].patchSchedule = clone(settings.patchSchedule)
      // Served by redis.ts's firewallRules routes (Microsoft.Cache/redis/{name}/firewallRules, redis.json).
      if (settings.firewallRules)
        found[1].firewallRules = Object.fromEntries(Object.entries(settings.firewallRules).map(([name, r]) => [name, {startIP: String(r.startIP), endIP: String(r.endIP)}]))
    } else if (component.type === 'managedredis') {
      const clusters = managedRedisState(ctx).clusters
      const found = find(clusters)
      if (!found) continue
      if (settings.absent) {
        delete clusters[found[0]]
        continue
      }
      ;[id, resource] = [found[1].resource.id, found[1].resource]
      const database = found[1].databases[component.database.toLowerCase()]
      if (settings.database && database) merge(database.properties, settings.database)
    } else if (component.type === 'storage') {
      const found = find(misc.storageAccounts)
      if (!found) continue
      if (settings.absent) {
        delete misc.storageAccounts[found[0]]
        continue
      }
      ;[id, resource] = [found[1].resource.id, found[1].resource]
      if (settings.blobService) merge(found[1].blobService, settings.blobService)
      if (settings.fileService) merge(((mine.fileServices ??= {})[id.toLowerCase()] ??= defaultFileService()), settings.fileService)
    } else if (component.type === 'keyvault') {
      const found = find(misc.vaults)
      if (!found) continue
      if (settings.absent) {
        delete misc.vaults[found[0]]
        continue
      }
      ;[id, resource] = [found[1].resource.id, found[1].resource]
      const at = Math.floor(now.getTime() / 1000)
      const uri = String(resource.properties.vaultUri ?? '')
      if (settings.keys)
        found[1].keys = Object.fromEntries(
          settings.keys.map((k) => [
            k.name.toLowerCase(),
            {
              name: k.name,
              version: `${k.name}v1`.replace(/[^a-z0-9]/gi, '').padEnd(32, '0').slice(0, 32),
              kty: 'RSA',
              keySize: 2048,
              keyOps: ['wrapKey', 'unwrapKey'],
              attributes: {enabled: k.enabled, ...(k.expires ? {exp: seconds(k.expires)} : {}), created: at, updated: at, recoveryLevel: 'Recoverable', exportable: false},
              ...(k.rotateAfter ? {rotationPolicy: {attributes: {expiryTime: 'P1Y', created: at, updated: at}, lifetimeActions: [{trigger: {timeAfterCreate: k.rotateAfter}, action: {type: 'Rotate'}}]}} : {}),
              tags: {},
            } as never,
          ]),
        )
      if (settings.secrets)
        found[1].secrets = Object.fromEntries(
          settings.secrets.map((s) => [
            s.name.toLowerCase(),
            {name: s.name, version: `${s.name}v1`.replace(/[^a-z0-9]/gi, '').padEnd(32, '0').slice(0, 32), attributes: {enabled: s.enabled, ...(s.expires ? {exp: seconds(s.expires)} : {}), created: at, updated: at}, tags: {}} as never,
          ]),
        )
      if (settings.certificates)
        found[1].certificates = Object.fromEntries(
          settings.certificates.map((c) => {
            const exp = seconds(c.expires)!
            // notAfter is validityMonths calendar months after notBefore.
            const issued = new Date(exp * 1000)
            issued.setUTCMonth(issued.getUTCMonth() - c.validityMonths)
            const nbf = Math.round(issued.getTime() / 1000)
            return [
              c.name.toLowerCase(),
              {
                name: c.name,
                x5t: createHash('sha1').update(`${id}/${c.name}/${exp}`).digest('base64url'),
                attributes: {enabled: c.enabled, nbf, exp, created: Math.min(nbf, at), updated: at},
                policy: {
                  issuer: c.issuer,
                  validityMonths: c.validityMonths,
                  // Key Vault's default policy emails the contacts at 80 % of the lifetime; AutoRenew replaces it.
                  lifetimeActions: [{trigger: {lifetime_percentage: c.lifetimePercentage}, action: {action_type: c.autoRenew ? ('AutoRenew' as const) : ('EmailContacts' as const)}}],
                },
                tags: {},
              },
            ]
          }),
        )
      void uri
    } else if (component.type === 'webapp') {
      if (settings.absent) {
        removeWebapp(ctx, component.name)
        continue
      }
      id = resourceIdOf(ctx.subscription, rg, 'Microsoft.Web/sites', component.name)
      applyWebappOverlay(ctx, component.name, PRODUCTION, {...settings, properties: {...settings.properties, ...(settings.tags ? {} : {})}})
      for (const [slot, slotSettings] of Object.entries(settings.slots ?? {})) applyWebappOverlay(ctx, component.name, slot, {tags: settings.tags, ...slotSettings})
      // The plan's tags are the site's (webapp.ts planBody); its sku and properties are served by webapp.ts too.
      if (settings.plan) applyPlanOverlay(ctx, component.name, settings.plan as {sku?: Record<string, unknown>; properties?: Record<string, unknown>})
    }
    if (!id) continue
    if (resource && component.type !== 'webapp') applyResourceSettings(resource, settings, component.type)
    if (settings.diagnosticSettings) {
      for (const key of Object.keys(misc.diagnosticSettings)) if (key === id.toLowerCase() || key.startsWith(`${id.toLowerCase()}/`)) delete misc.diagnosticSettings[key]
      // A web app's settings apply to the site and to each of its slots (each slot has its own settings in Azure).
      const owners = component.type === 'webapp' ? [id, ...component.slots.map((slot) => `${id}/slots/${slot}`)] : [id]
      const wanted = settings.diagnosticSettings
      for (const owner of owners)
        for (const setting of wanted) {
          const target = (setting.service ? `${owner}/${setting.service}/default` : owner).toLowerCase()
          ;(misc.diagnosticSettings[target] ??= []).push({name: setting.name, properties: {workspaceId: `${sub}/resourceGroups/${rg}/providers/Microsoft.OperationalInsights/workspaces/law-${ctx.environmentName}`, logs: clone(setting.logs), metrics: []}})
        }
    }
    if (settings.locks) {
      for (const key of Object.keys(misc.locks)) if (misc.locks[key]!.scope.toLowerCase() === id.toLowerCase()) delete misc.locks[key]
      for (const lock of settings.locks) misc.locks[lockId(id, lock.name)] = {scope: id, name: lock.name, level: lock.level}
    }
    for (const endpoint of settings.privateEndpoints ?? []) addPrivateEndpoint(ctx, mine, rg, id, endpoint, component.type, resource)
  }
  // Azure SQL and Service Bus keep their own state; the estate names servers, databases and namespaces by Azure name.
  const byName = (name: string) => Object.entries(estate.resources).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1]
  applySqlEstate(ctx, byName)
  applyServiceBusEstate(ctx, byName)
  applyCosmosEstate(ctx, byName)
  applyTrafficManagerEstate(ctx, byName)
  applyFrontDoorEstate(ctx, byName)
}

function applyResourceSettings(resource: Record<string, any>, settings: EstateResource, type: string): void {
  if (settings.properties) merge((resource.properties ??= {}), settings.properties)
  if (settings.tags) resource.tags = {...settings.tags}
  if (settings.sku && type !== 'redis') resource.sku = clone(settings.sku)
  if (settings.identity !== undefined) {
    if (settings.identity === null) delete resource.identity
    else resource.identity = clone(settings.identity)
  }
}

/**
 * A `Microsoft.Network/privateEndpoints` resource connected to `targetId`. Storage, Key Vault and Redis also list
 * the connection in their own `privateEndpointConnections` property (their specs define it); App Service does not.
 */
function addPrivateEndpoint(
  ctx: EmulatorContext,
  mine: EstateState,
  rg: string,
  targetId: string,
  endpoint: {name: string; status: string; slot?: string},
  type: string,
  resource: Record<string, any> | undefined,
): void {
  const id = resourceIdOf(ctx.subscription, rg, 'Microsoft.Network/privateEndpoints', endpoint.name)
  const groupId = type === 'webapp' ? (endpoint.slot ? `sites-${endpoint.slot}` : 'sites') : type === 'storage' ? 'blob' : type === 'keyvault' ? 'vault' : 'redisCache'
  const state = {status: endpoint.status, description: endpoint.status === 'Approved' ? 'Auto-approved' : '', actionsRequired: 'None'}
  mine.privateEndpoints[id.toLowerCase()] = {
    id,
    name: endpoint.name,
    type: 'Microsoft.Network/privateEndpoints',
    location: ctx.environment.region,
    tags: {},
    properties: {
      provisioningState: 'Succeeded',
      subnet: {id: `/subscriptions/${ctx.subscription}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/endpoints`},
      privateLinkServiceConnections: [{name: endpoint.name, properties: {privateLinkServiceId: targetId, groupIds: [groupId], privateLinkServiceConnectionState: state}}],
      manualPrivateLinkServiceConnections: [],
    },
  }
  if (resource && type !== 'webapp') {
    const connections = (resource.properties.privateEndpointConnections ??= []) as unknown[]
    // Key Vault's PrivateEndpointConnectionItem is {id, etag, properties} (keyvault.json 2022-07-01 and 2026-02-01:
    // no name); the other services' connections are ARM resources with a name.
    const named = type === 'keyvault' ? {} : {name: endpoint.name}
    // Storage's own PrivateLinkServiceConnectionState spells it `actionRequired` (storage privatelinks.json 2022-09-01
    // and 2025-08-01); Key Vault, Redis (common-types privatelinks.json) and Microsoft.Network say `actionsRequired`.
    const {actionsRequired, ...rest} = state
    const connectionState = type === 'storage' ? {...rest, actionRequired: actionsRequired} : state
    connections.push({id: `${targetId}/privateEndpointConnections/${endpoint.name}`, ...named, properties: {privateEndpoint: {id}, privateLinkServiceConnectionState: connectionState, provisioningState: 'Succeeded'}})
  }
}

/** Connections of a site or slot, as `GET …/privateEndpointConnections` returns them. */
function siteConnections(ctx: EmulatorContext, siteId: string, slot?: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const endpoint of Object.values(estateState(ctx).privateEndpoints))
    for (const c of endpoint.properties.privateLinkServiceConnections ?? []) {
      const p = c.properties
      const forSlot = (p.groupIds as string[]).map((g) => /^sites-(.+)$/i.exec(g)?.[1]).find(Boolean)
      if (String(p.privateLinkServiceId).toLowerCase() !== siteId.toLowerCase() || (forSlot ?? '').toLowerCase() !== (slot ?? '').toLowerCase()) continue
      const base = slot ? `${siteId}/slots/${slot}` : siteId
      out.push({
        id: `${base}/privateEndpointConnections/${endpoint.name}`,
        name: endpoint.name,
        type: 'Microsoft.Web/sites/privateEndpointConnections',
        properties: {provisioningState: 'Succeeded', privateEndpoint: {id: endpoint.id}, privateLinkServiceConnectionState: clone(p.privateLinkServiceConnectionState), ipAddresses: []},
      })
    }
  return out
}

/** File share soft delete is on, 7 days, for new accounts ("Enable soft delete on Azure file shares": on by default). */
function defaultFileService(): Record<string, any> {
  return {shareDeleteRetentionPolicy: {enabled: true, days: 7}, protocolSettings: {smb: {}}}
}

export function routes(ctx: EmulatorContext): Route[] {
  const mine = () => estateState(ctx)
  const PG = `${RG}/Microsoft.DBforPostgreSQL/flexibleServers/{name}`
  const serverId = (p: Record<string, string>) => resourceIdOf(ctx.subscription, p.rg!, 'Microsoft.DBforPostgreSQL/flexibleServers', p.name!).toLowerCase()
  const siteId = (p: Record<string, string>) => resourceIdOf(ctx.subscription, p.rg!, 'Microsoft.Web/sites', p.name!)
  const serverExists = (p: Record<string, string>) => Object.values(postgresState(ctx).servers).some((s) => s.resource.id.toLowerCase() === serverId(p))
  return [
    {
      method: 'GET',
      pattern: `${RG}/Microsoft.Storage/storageAccounts/{name}/fileServices/default`,
      operation: 'storage.fileServices.get',
      handler: (_request, p) => {
        const id = resourceIdOf(ctx.subscription, p.rg!, 'Microsoft.Storage/storageAccounts', p.name!)
        if (!miscState(ctx).storageAccounts[id.toLowerCase()]) return resourceNotFound('Microsoft.Storage/storageAccounts', p.name!, p.rg!)
        const properties = mine().fileServices?.[id.toLowerCase()] ?? defaultFileService()
        return {status: 200, body: {id: `${id}/fileServices/default`, name: 'default', type: 'Microsoft.Storage/storageAccounts/fileServices', properties: clone(properties)}}
      },
    },
    {
      method: 'GET',
      pattern: `${PG}/administrators`,
      operation: 'postgres.administrators.list',
      handler: (request, p) => {
        if (!serverExists(p)) return resourceNotFound('Microsoft.DBforPostgreSQL/flexibleServers', p.name!, p.rg!)
        const base = resourceIdOf(ctx.subscription, p.rg!, 'Microsoft.DBforPostgreSQL/flexibleServers', p.name!)
        return paged(
          request,
          (mine().pgAdministrators[serverId(p)] ?? []).map((a) => ({
            id: `${base}/administrators/${a.objectId}`,
            name: a.objectId,
            type: 'Microsoft.DBforPostgreSQL/flexibleServers/administrators',
            properties: {principalType: a.principalType, principalName: a.principalName, objectId: a.objectId, tenantId: ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000'},
          })),
        )
      },
    },
    {
      method: 'GET',
      pattern: `${RG}/Microsoft.Web/sites/{name}/privateEndpointConnections`,
      operation: 'web.privateEndpointConnections.list',
      handler: (request, p) => paged(request, siteConnections(ctx, siteId(p))),
    },
    {
      method: 'GET',
      pattern: `${RG}/Microsoft.Web/sites/{name}/slots/{slot}/privateEndpointConnections`,
      operation: 'web.privateEndpointConnections.listSlot',
      handler: (request, p) => paged(request, siteConnections(ctx, siteId(p), p.slot)),
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Security/pricings',
      operation: 'security.pricings.list',
      handler: (request) => {
        // "Valid $filter is: 'name in ({planName1},{planName2},...)' … the returned list includes the pricings set for
        // 'planName1' and 'planName2' only" (Pricings_List, pricings.json 2024-01-01). Azure's answer to any other
        // filter is not documented: it is not applied.
        const filter = /^\s*name\s+in\s*\(([^)]*)\)\s*$/i.exec(request.query.get('$filter') ?? '')
        const names = filter ? new Set(filter[1]!.split(',').map((n) => n.trim().toLowerCase()).filter(Boolean)) : undefined
        const value = Object.entries(mine().pricings).filter(([key]) => !names || names.has(key)).map(([, x]) => clone(x))
        return {status: 200, body: {value}}
      },
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Security/pricings/{plan}',
      operation: 'security.pricings.get',
      handler: (_request, p) => {
        const pricing = mine().pricings[p.plan!.toLowerCase()]
        return pricing ? {status: 200, body: clone(pricing)} : resourceNotFound('Microsoft.Security/pricings', p.plan!, '')
      },
    },
  ]
}

/** Apply the estate after every other module has seeded its state. */
export async function start(ctx: EmulatorContext): Promise<void> {
  estateState(ctx)
  if (ctx.estate) applyEstate(ctx, ctx.estate)
}
