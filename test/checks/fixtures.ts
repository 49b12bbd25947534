/** Resources and catalog context for pure rule tests (no emulator). */
import {environmentSchema, type Environment} from '../../src/catalog/schema.js'
import {PROVIDER_PATH} from '../../src/checks/evaluate.js'
import {RESOURCE_TYPES, type CatalogContext, type InventoryResource, type ResourceType} from '../../src/checks/types.js'

export const SUB = '00000000-0000-0000-0000-00000000c0de'
export const RG = 'rg-shop-local'

export function environment(overrides: Record<string, unknown> = {}): Environment {
  return environmentSchema.parse({
    cloud: 'emulator',
    subscription: SUB,
    resourceGroups: [RG],
    requiredTags: ['owner', 'costCenter'],
    windows: {
      database: {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'},
      cache: {recurrence: 'weekly', day: 'Sunday', start: '04:00', end: '05:00', timeZone: 'UTC'},
      berlin: {recurrence: 'weekly', day: 'Saturday', start: '22:00', end: '23:00', timeZone: 'Europe/Berlin'},
    },
    components: {
      'orders-db': {type: 'postgres', name: 'pg-orders', backupRetentionDays: 14, geoRedundantBackup: true, highAvailability: 'ZoneRedundant', window: 'database'},
      'sessions-cache': {type: 'redis', name: 'redis-sessions', window: 'cache'},
      storefront: {type: 'webapp', name: 'app-store', healthPath: '/health'},
    },
    ...overrides,
  })
}


export function resource(type: ResourceType, name: string, properties: Record<string, unknown>, extra: Partial<InventoryResource> = {}): InventoryResource {
  const path = type === RESOURCE_TYPES.slot ? `${name.split('/')[0]}/slots/${name.split('/')[1]}` : name
  return {
    id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/${PROVIDER_PATH[type]}/${path}`,
    type,
    name,
    resourceGroup: RG,
    subscriptionId: SUB,
    location: 'eastus',
    tags: {owner: 'team', costCenter: 'cc-1'},
    properties,
    ...extra,
  }
}

export function context(env: Environment = environment(), extra: Partial<CatalogContext> = {}): CatalogContext {
  return {environment: env, environmentName: 'local', locks: {ok: true, value: []}, now: new Date('2026-06-10T12:00:00Z'), ...extra}
}
