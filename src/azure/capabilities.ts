/**
 * What a tier can do, as Azure documents it. One table, read by the emulator (which refuses like Azure), by the
 * actions' preflight (exit 2 before anything changes, naming the tier that would allow it) and by `catalog validate`
 * (a warning when a component's declared SKU cannot do what its objectives or snapshots need).
 */
import {amrMaintenancePlan} from '../catalog/managed-redis-maintenance.js'
import type {Catalog, Component} from '../catalog/schema.js'

export interface Refusal {
  /** What cannot be done, e.g. "RDB export". */
  feature: string
  /** The tier asked for. */
  tier: string
  /** The tiers that would allow it. */
  allowedTiers: string[]
  /** The Microsoft page that documents the rule. */
  source: string
  message: string
}

const refusal = (feature: string, tier: string, allowedTiers: string[], source: string, detail = ''): Refusal => ({
  feature,
  tier,
  allowedTiers,
  source,
  message: `${feature} is not available in the ${tier} tier${detail}; it needs ${allowedTiers.join(' or ')} (${source})`,
})

// ── Azure Cache for Redis ──

export type RedisFeature = 'import/export' | 'data persistence' | 'geo-replication' | 'zone redundancy' | 'virtual network injection' | 'clustering' | 'multiple replicas'

/**
 * Premium-only features of Azure Cache for Redis (Basic, Standard, Premium):
 * https://learn.microsoft.com/azure/azure-cache-for-redis/cache-overview#feature-comparison — import/export
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data#scope-of-availability), data
 * persistence (cache-how-to-premium-persistence), passive geo-replication (cache-how-to-geo-replication), VNet
 * injection (cache-how-to-premium-vnet). Zone redundancy: Standard (preview) and Premium
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-zone-redundancy; Basic has no replica to put
 * in another zone). Clustering (`shardCount`, cache-how-to-premium-clustering) and more than one replica per primary
 * (`replicasPerMaster`/`replicasPerPrimary`, cache-how-to-multi-replicas) are Premium only.
 */
const REDIS_FEATURES: Record<RedisFeature, {tiers: string[]; page: string}> = {
  'import/export': {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-import-export-data'},
  'data persistence': {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-persistence'},
  'geo-replication': {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-geo-replication'},
  'zone redundancy': {tiers: ['Standard', 'Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-zone-redundancy'},
  'virtual network injection': {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-vnet'},
  clustering: {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-clustering'},
  'multiple replicas': {tiers: ['Premium'], page: 'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-multi-replicas'},
}

/** Why a Redis tier cannot do `feature`, or undefined when it can. */
export function redisRefusal(feature: RedisFeature, tier: string): Refusal | undefined {
  const rule = REDIS_FEATURES[feature]
  if (rule.tiers.some((t) => t.toLowerCase() === tier.toLowerCase())) return undefined
  return refusal(feature, tier, rule.tiers, rule.page)
}

// ── Azure Database for PostgreSQL flexible server ──

/** Compute tier of a flexible server SKU name (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-compute). */
export function postgresTierOf(sku: string): 'Burstable' | 'GeneralPurpose' | 'MemoryOptimized' {
  if (/^Standard_B/i.test(sku)) return 'Burstable'
  if (/^Standard_E/i.test(sku)) return 'MemoryOptimized'
  return 'GeneralPurpose'
}

export type PostgresFeature = 'high availability' | 'read replicas'

/**
 * Burstable servers have neither high availability
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-high-availability#limitations) nor read
 * replicas (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas#limitations).
 */
const POSTGRES_FEATURES: Record<PostgresFeature, string> = {
  'high availability': 'https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-high-availability#limitations',
  'read replicas': 'https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas#limitations',
}

export function postgresRefusal(feature: PostgresFeature, sku: string): Refusal | undefined {
  const tier = postgresTierOf(sku)
  if (tier !== 'Burstable') return undefined
  return refusal(feature, tier, ['GeneralPurpose', 'MemoryOptimized'], POSTGRES_FEATURES[feature], ` (SKU ${sku})`)
}

/**
 * Geo-restore needs geo-redundant backup on the source server, which can only be enabled when the server is created
 * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore#geo-redundant-backup-and-restore:
 * "you can only configure geo-redundant storage for backup at server creation"); Burstable servers can have it too.
 */
export function geoRestoreRefusal(serverName: string, geoRedundantBackup: boolean): Refusal | undefined {
  if (geoRedundantBackup) return undefined
  const source = 'https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore#geo-redundant-backup-and-restore'
  return {
    feature: 'geo-restore',
    tier: 'geo-redundant backup Disabled',
    allowedTiers: ['a server created with geo-redundant backup Enabled'],
    source,
    message: `geo-restore of ${serverName} needs geo-redundant backup, which is Disabled and can only be enabled when a server is created; restore in the same region, or recreate the server with geo-redundant backup (${source})`,
  }
}

// ── App Service ──

/**
 * Deployment slots per plan tier besides production (https://learn.microsoft.com/azure/app-service/deploy-staging-slots
 * and https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#app-service-limits):
 * Free, Shared and Basic have none; Standard 5; Premium (v2, v3, v4) and Isolated 20.
 */
export function slotLimitOf(planSku: string): {tier: string; slots: number} {
  const sku = planSku.toUpperCase()
  if (/^(F|FREE|D|SHARED)/.test(sku)) return {tier: sku.startsWith('D') || sku === 'SHARED' ? 'Shared' : 'Free', slots: 0}
  if (/^B/.test(sku)) return {tier: 'Basic', slots: 0}
  if (/^S/.test(sku)) return {tier: 'Standard', slots: 5}
  if (/^I/.test(sku)) return {tier: 'Isolated', slots: 20}
  return {tier: 'Premium', slots: 20}
}

export function slotRefusal(planSku: string, slots: number): Refusal | undefined {
  const limit = slotLimitOf(planSku)
  if (slots <= limit.slots) return undefined
  const allowed = slots <= 5 ? ['Standard', 'Premium', 'Isolated'] : ['Premium', 'Isolated']
  return refusal(`${slots} deployment slot(s)`, `${limit.tier} (${planSku})`, allowed, 'https://learn.microsoft.com/azure/app-service/deploy-staging-slots', `, which allows ${limit.slots}`)
}

// ── catalog ──

export interface CapabilityWarning {
  environment: string
  component: string
  path: string
  message: string
}

/** What a component's declared SKU cannot do that its objectives, snapshots, replicas or slots need. */
export function catalogCapabilityWarnings(catalog: Catalog): CapabilityWarning[] {
  const warnings: CapabilityWarning[] = []
  for (const [envName, env] of Object.entries(catalog.environments)) {
    for (const [key, component] of Object.entries(env.components) as Array<[string, Component]>) {
      const warn = (field: string, r: Refusal | undefined, why: string) => {
        if (r) warnings.push({environment: envName, component: key, path: `environments.${envName}.components.${key}.${field}`, message: `${why}: ${r.message}`})
      }
      if (component.type === 'redis') {
        if (component.snapshots) warn('sku', redisRefusal('import/export', component.sku), 'snapshots (RDB export/import) are declared')
        if (component.objectives?.crossRegion) warn('sku', redisRefusal('geo-replication', component.sku), 'a cross-region objective is declared')
      }
      if (component.type === 'postgres') {
        if (component.highAvailability !== 'Disabled') warn('sku', postgresRefusal('high availability', component.sku), `highAvailability ${component.highAvailability} is declared`)
        if (component.replicas.length > 0) warn('sku', postgresRefusal('read replicas', component.sku), 'read replicas are declared')
        if (component.objectives?.crossRegion) warn('geoRedundantBackup', geoRestoreRefusal(component.name, component.geoRedundantBackup), 'a cross-region objective is declared')
      }
      if (component.type === 'webapp' && component.planSku) warn('planSku', slotRefusal(component.planSku, component.slots.length), `slots ${component.slots.join(', ')} are declared`)
      if (component.type === 'managedredis') {
        // Azure Managed Redis scheduled maintenance: its rules on windows (src/catalog/managed-redis-maintenance.ts).
        const problem = amrMaintenancePlan(env, component, new Date()).problem
        if (problem)
          warnings.push({environment: envName, component: key, path: `environments.${envName}.components.${key}.${component.windows ? 'windows' : 'window'}`, message: `its maintenance windows cannot be set on the cluster: ${problem}`})
      }
    }
  }
  return warnings
}
