/**
 * Azure Managed Redis checks (`Microsoft.Cache/redisEnterprise`). The cluster (TLS minimum, public network access) is
 * in Resource Graph; the database's access-key setting and persistence need one ARM read of `databases/default` at
 * api-version 2025-07-01 (sources.ts). Unset properties take the spec's defaults (redisenterprise.json 2025-07-01):
 * `minimumTlsVersion` 1.2, `accessKeysAuthentication` Enabled unless set, persistence off. `publicNetworkAccess` has
 * no default in the spec (Azure requires it at create since 2025-07-01): absent reads as Enabled, as clusters created
 * before the property existed are reachable publicly.
 */
import {AMR_MAINTENANCE_DOC, amrMaintenancePlan, describeAmrWindow, sameAmrWindows, type AmrMaintenanceWindow} from '../../catalog/managed-redis-maintenance.js'
import {componentWindowNames} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {atLeastTls12, describeSetting, fail, needFact, notApplicable, pass, readOrDefault} from './helpers.js'

const AMR = [RESOURCE_TYPES.managedRedis]

/** Whether the cluster's Resource Graph row carries maintenanceConfiguration (null counts: the version knows it). */
const inRow = (resource: {properties?: unknown}) =>
  Object.hasOwn((resource.properties ?? {}) as object, 'maintenanceConfiguration')
const AZ = 'az redisenterprise'

export const managedRedisRules: CheckRule[] = [
  {
    id: 'amr.tls.min12',
    title: 'Managed Redis accepts TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: AMR,
    reads: ['properties.minimumTlsVersion'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.minimumTlsVersion', '1.2')
      return atLeastTls12(setting.value, 'minimumTlsVersion') ? pass(describeSetting('minimumTlsVersion', setting)) : fail(describeSetting('minimumTlsVersion', setting))
    },
    remediation: {text: 'Require TLS 1.2.', az: `${AZ} update --resource-group <rg> --cluster-name <name> --minimum-tls-version 1.2`},
    frameworks: {mcsb: ['DP-3'], iso27001: ['A.8.24'], psrule: ['Azure.RedisEnterprise.MinTLS']},
  },
  {
    id: 'amr.net.public_disabled',
    title: 'Managed Redis public network access is disabled',
    severity: 'high',
    resourceTypes: AMR,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      return String(setting.value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access and reach the cluster through a private endpoint.', az: `${AZ} update --resource-group <rg> --cluster-name <name> --public-network-access Disabled`},
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20']},
  },
  {
    id: 'amr.auth.entra_only',
    title: 'Managed Redis access keys are disabled (Microsoft Entra ID only)',
    severity: 'high',
    resourceTypes: AMR,
    reads: ['databases/default: properties.accessKeysAuthentication'],
    facts: ['managedRedisDatabase'],
    evaluate(_resource, facts) {
      const database = needFact(facts, 'managedRedisDatabase') as Record<string, any> | null
      if (!database) return notApplicable('the cluster has no database named default')
      const value = database.properties?.accessKeysAuthentication
      const text = value === undefined ? "accessKeysAuthentication is not set (Azure's default: Enabled)" : `accessKeysAuthentication is ${value}`
      return String(value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Use Microsoft Entra ID and turn access keys off.', az: `${AZ} database update --resource-group <rg> --cluster-name <name> --access-keys-auth Disabled`},
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1'], iso27001: ['A.5.17']},
  },
  {
    id: 'amr.data.persistence',
    title: 'Managed Redis persists its data (RDB or AOF)',
    severity: 'medium',
    resourceTypes: AMR,
    reads: ['databases/default: properties.persistence.{rdbEnabled,aofEnabled}'],
    facts: ['managedRedisDatabase'],
    evaluate(_resource, facts) {
      const database = needFact(facts, 'managedRedisDatabase') as Record<string, any> | null
      if (!database) return notApplicable('the cluster has no database named default')
      const p = database.properties?.persistence ?? {}
      // Persistence rehydrates a node after a failure (https://learn.microsoft.com/azure/redis/how-to-persistence).
      if (p.rdbEnabled === true) return pass(`RDB persistence every ${p.rdbFrequency ?? '?'}`)
      if (p.aofEnabled === true) return pass(`AOF persistence every ${p.aofFrequency ?? '1s'}`)
      return fail('persistence is off: a node failure loses the data since the last export')
    },
    remediation: {text: 'Turn on RDB (or AOF) persistence.', az: `${AZ} database update --resource-group <rg> --cluster-name <name> --persistence rdb-enabled=true rdb-frequency=1h`},
    frameworks: {mcsb: ['BR-1']},
  },
  {
    id: 'amr.maintenance.window',
    title: "Managed Redis scheduled maintenance windows match the catalog's windows",
    severity: 'medium',
    resourceTypes: AMR,
    // The cluster's maintenanceConfiguration (redisenterprise.json 2025-08-01-preview and later; Azure Managed Redis has
    // no patchSchedules): without it Azure applies updates at its discretion (https://learn.microsoft.com/azure/redis/scheduled-maintenance).
    // From the Resource Graph row when it carries the property; otherwise from the cluster's ARM GET at 2026-09-01,
    // since Resource Graph stores the GET of an api-version it does not document per type, which may predate the
    // property (reads.ts, managedRedisMaintenance): an absent property there is not "no windows".
    reads: ['properties.maintenanceConfiguration.maintenanceWindows', 'cluster at api-version 2026-09-01 (when the Resource Graph row lacks it): properties.maintenanceConfiguration'],
    facts: ['managedRedisMaintenance'],
    needsFacts: (resource) => !inRow(resource),
    evaluate(resource, facts, context) {
      const spec = context.component?.spec
      if (!spec || spec.type !== 'managedredis' || componentWindowNames(spec).length === 0)
        return notApplicable('the catalog names no maintenance window for this cluster')
      const config = inRow(resource) ? (resource.properties as Record<string, any>).maintenanceConfiguration : needFact(facts, 'managedRedisMaintenance')
      const raw = (config as Record<string, any> | null | undefined)?.maintenanceWindows
      const found: AmrMaintenanceWindow[] = Array.isArray(raw) ? raw : []
      const have = found.length ? `maintenance windows ${found.map(describeAmrWindow).join(', ')}` : 'no maintenance windows (Azure applies updates at its discretion)'
      const wanted = amrMaintenancePlan(context.environment, spec, context.now)
      if (wanted.problem) return fail(`${have}; the catalog's windows cannot be set: ${wanted.problem}`)
      if (sameAmrWindows(found, wanted.windows)) return pass(`${have} as the catalog's windows`)
      return fail(`${have}; the catalog's windows are ${wanted.windows.map(describeAmrWindow).join(', ')}`)
    },
    remediation: {
      text: `Set the cluster's maintenance windows to the catalog's (the maintenance-window runbook does this); Azure needs at least two weekly windows of 4 hours or more, 18 hours a week in all (${AMR_MAINTENANCE_DOC}).`,
      // The argument's key names as the redisenterprise extension (≥ 1.5.0b1) declares them: amrMaintenanceAzValue in
      // src/actions/managed-redis.ts (azure-cli-extensions src/redisenterprise/…/aaz/latest/redisenterprise/_update.py).
      az: `${AZ} update --resource-group <rg> --cluster-name <name> --maintenance-configuration '{"maintenance-windows":[{"type":"Weekly","duration":"PT9H","start-hour-utc":<hour>,"schedule":{"day-of-week":"<Day>"}}, …]}'`,
    },
    frameworks: {soc2: ['CC8.1'], iso27001: ['A.8.32']},
  },
]
