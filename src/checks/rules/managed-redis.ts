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
    reads: ['properties.maintenanceConfiguration.maintenanceWindows'],
    evaluate(resource, _facts, context) {
      const spec = context.component?.spec
      if (!spec || spec.type !== 'managedredis' || componentWindowNames(spec).length === 0)
        return notApplicable('the catalog names no maintenance window for this cluster')
      const raw = (resource.properties as Record<string, any> | undefined)?.maintenanceConfiguration?.maintenanceWindows
      const found: AmrMaintenanceWindow[] = Array.isArray(raw) ? raw : []
      const have = found.length ? `maintenance windows ${found.map(describeAmrWindow).join(', ')}` : 'no maintenance windows (Azure applies updates at its discretion)'
      const wanted = amrMaintenancePlan(context.environment, spec, context.now)
      if (wanted.problem) return fail(`${have}; the catalog's windows cannot be set: ${wanted.problem}`)
      if (sameAmrWindows(found, wanted.windows)) return pass(`${have} as the catalog's windows`)
      return fail(`${have}; the catalog's windows are ${wanted.windows.map(describeAmrWindow).join(', ')}`)
    },
    remediation: {
      text: `Set the cluster's maintenance windows to the catalog's (the maintenance-window runbook does this); Azure needs at least two weekly windows of 4 hours or more, 18 hours a week in all (${AMR_MAINTENANCE_DOC}).`,
      az: `${AZ} update --resource-group <rg> --cluster-name <name> --maintenance-configuration '{"maintenanceWindows":[{"type":"Weekly","duration":"PT9H","startHourUtc":<hour>,"schedule":{"dayOfWeek":"<Day>"}}, …]}'`,
    },
    frameworks: {soc2: ['CC8.1'], iso27001: ['A.8.32']},
  },
]
