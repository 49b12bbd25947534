/**
 * Azure Cache for Redis checks (Prowler has none). Everything but the patch schedule and firewall rules is in
 * Resource Graph. Unset properties take the defaults of the Microsoft.Cache spec (stable/2024-11-01 redis.json):
 * `enableNonSslPort` false, `publicNetworkAccess` Enabled, `disableAccessKeyAuthentication` false.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {approvedPrivateEndpoints, atLeastTls12, describeSetting, fail, isTrue, MissingData, needFact, notApplicable, pass, readOrDefault, valueAt} from './helpers.js'
import {firewallSummary, judgeFirewall, MAX_FIREWALL_RULES, MAX_PUBLIC_ADDRESSES} from './network.js'
import {windowStartUtc} from './window-utc.js'

const REDIS = [RESOURCE_TYPES.redis]
/** Cache memory by size ("Azure Cache for Redis pricing": C0 250 MB … P5 120 GB). */
const CACHE_MEMORY_MB: Record<string, number> = {C0: 250, C1: 1024, C2: 2560, C3: 6144, C4: 13312, C5: 26624, C6: 54272, P1: 6144, P2: 13312, P3: 26624, P4: 54272, P5: 122880}
const AZ = 'az redis'

export const redisRules: CheckRule[] = [
  {
    id: 'redis.tls.no_plain_port',
    title: 'Redis non-TLS port 6379 is disabled',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.enableNonSslPort'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.enableNonSslPort', false)
      return isTrue(setting.value) ? fail(describeSetting('enableNonSslPort', setting)) : pass(describeSetting('enableNonSslPort', {...setting, value: false}))
    },
    remediation: {text: 'Disable the non-TLS port.', az: `${AZ} update --resource-group <rg> --name <name> --set enableNonSslPort=false`},
    frameworks: {mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24'], psrule: ['Azure.Redis.NonSslPort'], defender: ['22bee202'], azqr: ['redis-008']},
  },
  {
    id: 'redis.tls.min12',
    title: 'Redis accepts TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.minimumTlsVersion'],
    evaluate(resource) {
      // Unset is TLS 1.2: "Starting November 01, 2024, TLS 1.0 and 1.1 will no longer be supported" (Azure Cache for
      // Redis "What are the configuration settings for TLS?", learn.microsoft.com/azure/azure-cache-for-redis/cache-tls-configuration;
      // redis.json 2024-03-01 documents no default), as PSRule reads it (Azure.Redis.MinTLS: `hasDefault: '1.2'`,
      // Azure/PSRule.Rules.Azure rules/Azure.Redis.Rule.yaml). An older value a cache still carries fails.
      const setting = readOrDefault(resource, 'properties.minimumTlsVersion', '1.2')
      const text = describeSetting('minimumTlsVersion', setting)
      return atLeastTls12(setting.value, 'minimumTlsVersion') ? pass(text) : fail(text)
    },
    remediation: {text: 'Require TLS 1.2.', az: `${AZ} update --resource-group <rg> --name <name> --set minimumTlsVersion=1.2`},
    frameworks: {mcsb: ['DP-3'], iso27001: ['A.8.24'], psrule: ['Azure.Redis.MinTLS'], azqr: ['redis-009']},
  },
  {
    id: 'redis.net.public_disabled',
    title: 'Redis public network access is disabled',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      return String(setting.value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access.', az: `${AZ} update --resource-group <rg> --name <name> --set publicNetworkAccess=Disabled`},
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20'], psrule: ['Azure.Redis.PublicNetworkAccess'], defender: ['470baccb']},
  },
  {
    id: 'redis.net.private',
    title: 'Redis is reached through a private endpoint or VNet injection',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.privateEndpointConnections', 'properties.subnetId'],
    evaluate(resource) {
      const subnet = valueAt(resource, 'properties.subnetId')
      if (subnet) return pass(`VNet-injected into ${String(subnet).split('/').slice(-3).join('/')}`)
      if (!resource.properties) throw new MissingData('properties is absent')
      // ARM omits privateEndpointConnections when there are none: absence is "none" (a fail), never a pass.
      const connections = valueAt(resource, 'properties.privateEndpointConnections') ?? []
      if (!Array.isArray(connections)) throw new MissingData('properties.privateEndpointConnections is not a list')
      const approved = approvedPrivateEndpoints(connections)
      return approved > 0 ? pass(`${approved} approved private endpoint(s)`) : fail('no approved private endpoint and no VNet injection')
    },
    remediation: {
      text: 'Add a private endpoint for the cache (group id redisCache).',
      az: 'az network private-endpoint create --resource-group <rg> --name <pe> --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id <cache-id> --group-id redisCache --connection-name <name>',
    },
    frameworks: {mcsb: ['NS-2'], defender: ['7803067c']},
  },
  {
    id: 'redis.auth.no_keys',
    title: 'Redis access-key authentication is disabled (Entra only)',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.disableAccessKeyAuthentication'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.disableAccessKeyAuthentication', false)
      const text = describeSetting('disableAccessKeyAuthentication', setting)
      return isTrue(setting.value) ? pass(text) : fail(`${text}: access keys work`)
    },
    remediation: {text: 'Disable access-key authentication and use Microsoft Entra.', az: `${AZ} update --resource-group <rg> --name <name> --set disableAccessKeyAuthentication=true`},
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1'], psrule: ['Azure.Redis.LocalAuth'], defender: ['3827af20']},
  },
  {
    id: 'redis.auth.entra',
    title: 'Redis Microsoft Entra authentication is enabled',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.redisConfiguration.aad-enabled'],
    evaluate(resource) {
      // redisConfiguration['aad-enabled'] ("Specifies whether AAD based authentication has been enabled or disabled"); unset = disabled.
      const setting = readOrDefault(resource, 'properties.redisConfiguration.aad-enabled', 'false')
      const text = describeSetting('redisConfiguration.aad-enabled', setting)
      return isTrue(setting.value) ? pass(text) : fail(text)
    },
    remediation: {text: 'Enable Microsoft Entra authentication.', az: `${AZ} update --resource-group <rg> --name <name> --set redisConfiguration.aad-enabled=true`},
    frameworks: {mcsb: ['IM-1'], psrule: ['Azure.Redis.EntraID']},
  },
  {
    id: 'redis.version',
    title: 'Redis runs version 6 or newer',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.redisVersion'],
    evaluate(resource) {
      // Redis 4 was retired on 2025-06-30 (Azure Cache for Redis "Redis version 4 retirement" notice). `latest`, and
      // unset, are "the latest stable Redis version that is available … Default value is 'latest'" (redis.json
      // 2024-03-01 RedisCommonProperties.redisVersion); PSRule's Azure.Redis.Version passes them the same way
      // (`HasDefaultValue(…, 'properties.redisVersion', 'latest')`, rules/Azure.Redis.Rule.ps1).
      const setting = readOrDefault(resource, 'properties.redisVersion', 'latest')
      const version = String(setting.value)
      if (version.toLowerCase() === 'latest') return pass(describeSetting('redisVersion', setting))
      const major = Number.parseInt(version, 10)
      if (!Number.isFinite(major)) throw new MissingData(`redisVersion is '${version}', not a version`)
      return major >= 6 ? pass(`redisVersion is ${version}`) : fail(`redisVersion is ${version} (retired)`)
    },
    remediation: {text: 'Upgrade the cache to Redis 6.', az: `${AZ} update --resource-group <rg> --name <name> --set redisVersion=6`},
    frameworks: {mcsb: ['PV-5'], psrule: ['Azure.Redis.Version']},
  },
  {
    id: 'redis.zones',
    title: 'Production Redis is zone-redundant',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.sku.name', 'zones', 'properties.replicasPerMaster', 'properties.zonalAllocationPolicy'],
    evaluate(resource, _f, context) {
      if (!context.environment.production) return notApplicable('not a production environment')
      const sku = valueAt(resource, 'properties.sku.name') ?? valueAt(resource, 'sku.name')
      if (sku === undefined || sku === null) throw new MissingData('sku.name is absent')
      // Basic caches are a single node: no zone redundancy is possible ("Zone redundancy for Azure Cache for Redis").
      if (String(sku).toLowerCase() === 'basic') return fail('sku is Basic: a single node, never zone-redundant')
      // zonalAllocationPolicy Automatic: Azure spreads the nodes over zones itself and `zones` stays empty ("Migrate an
      // Azure Cache for Redis instance to availability zone support", learn.microsoft.com/azure/redis/migrate-cache-redis-zones:
      // "passing ZonalAllocationPolicy as Automatic in the request body").
      const allocation = valueAt(resource, 'properties.zonalAllocationPolicy')
      if (String(allocation).toLowerCase() === 'automatic') return pass('zonalAllocationPolicy is Automatic: Azure places the nodes across zones')
      const count = resource.zones?.length ?? 0
      if (count < 2) return fail(count === 0 ? 'no availability zones' : `${count} zone only`)
      // A node in every zone: the primary plus replicasPerMaster ≥ zones − 1 (PSRule Azure.Redis.AvailabilityZone,
      // rules/Azure.Redis.Rule.ps1: "GreaterOrEqual($TargetObject, 'Properties.replicasPerMaster', $TargetObject.zones.Length - 1)").
      // Unset counts as 1: "Azure Cache for Redis, in the Standard or Premium tier, runs on a pair of Redis servers by
      // default" ("High availability for Azure Cache for Redis", learn.microsoft.com/azure/azure-cache-for-redis/cache-high-availability).
      const replicas = Number(valueAt(resource, 'properties.replicasPerMaster') ?? valueAt(resource, 'properties.replicasPerPrimary') ?? 1)
      return replicas >= count - 1
        ? pass(`${count} zones, ${replicas} replica(s) per primary`)
        : fail(`${count} zones but ${replicas} replica(s) per primary: ${count - replicas - 1} zone(s) hold no node (needs ${count - 1})`)
    },
    remediation: {text: 'Recreate the cache with zones 1, 2 and 3 (zones cannot be added to a Premium cache in place).', az: `${AZ} create --resource-group <rg> --name <name> --sku Premium --vm-size P1 --zones 1 2 3 --location <region>`},
    // No azqr id: redis-003 reports the SLA (by SKU; zones count only for Enterprise), it does not check zones.
    frameworks: {mcsb: ['BR-1'], psrule: ['Azure.Redis.AvailabilityZone']},
  },
  {
    id: 'redis.fw.narrow',
    title: `Redis firewall admits few addresses (at most ${MAX_FIREWALL_RULES} rules and ${MAX_PUBLIC_ADDRESSES} public addresses in all)`,
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['firewallRules[*].properties.{startIP,endIP}', 'properties.publicNetworkAccess'],
    facts: ['redisFirewallRules'],
    // With public network access disabled the rules cannot admit anyone: decided from the row, no read.
    needsFacts: (resource) => String(readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled').value).toLowerCase() !== 'disabled',
    evaluate(resource, facts) {
      const access = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      if (String(access.value).toLowerCase() === 'disabled') return pass('public network access is disabled: no address outside private endpoints can connect')
      const rules = needFact(facts, 'redisFirewallRules') as Array<{name: string; startIP?: string; endIP?: string}>
      // No rules on a public cache means every address may connect (Azure: "if no rules, all IPs are allowed").
      if (rules.length === 0) return fail('public network access is on and there are no firewall rules: every address may connect')
      // PSRule's Azure.Redis.FirewallRuleCount and FirewallIPRange (network.ts).
      const verdict = judgeFirewall(firewallSummary(rules.map((r) => ({name: r.name, start: r.startIP, end: r.endIP}))))
      return verdict.ok ? pass(verdict.text) : fail(verdict.text)
    },
    remediation: {text: 'Replace wide rules with the specific client addresses and drop unused rules (or disable public access).', az: `${AZ} firewall-rules create --resource-group <rg> --name <name> --rule-name <rule> --start-ip <ip> --end-ip <ip>`},
    frameworks: {mcsb: ['NS-2'], psrule: ['Azure.Redis.FirewallIPRange', 'Azure.Redis.FirewallRuleCount']},
  },
  {
    id: 'redis.sku.not_basic',
    title: 'Redis is Standard C1 or larger, or Premium (not Basic, not the shared-core C0)',
    severity: 'low',
    resourceTypes: REDIS,
    reads: ['properties.sku.name', 'properties.sku.capacity'],
    evaluate(resource) {
      // ARG nests the Redis sku under properties; ARM returns it at the top level too.
      const sku = valueAt(resource, 'properties.sku.name') ?? valueAt(resource, 'sku.name')
      if (sku === undefined || sku === null) throw new MissingData('properties.sku.name is absent')
      const name = String(sku).toLowerCase()
      if (name === 'basic') return fail('sku is Basic')
      if (name === 'premium') return pass(`sku is ${sku}`)
      // PSRule Azure.Redis.MinSKU (rules/Azure.Redis.Rule.yaml): Premium, or Standard with capacity ≥ 1 — C0 is the
      // 250 MB shared-core size.
      const capacity = Number(valueAt(resource, 'properties.sku.capacity') ?? valueAt(resource, 'sku.capacity'))
      if (!Number.isFinite(capacity)) throw new MissingData('sku.capacity is absent')
      return capacity >= 1 ? pass(`sku is ${sku} C${capacity}`) : fail(`sku is ${sku} C${capacity} (shared core)`)
    },
    remediation: {text: 'Scale to Standard C1 or larger, or Premium.', az: `${AZ} update --resource-group <rg> --name <name> --sku Standard --vm-size c1`},
    // No azqr id: redis-011 flags every Azure Cache for Redis SKU for migration to Azure Managed Redis, not Basic only.
    frameworks: {cis: ['F6 6.1.5'], mcsb: ['BR-1'], psrule: ['Azure.Redis.MinSKU']},
  },
  {
    id: 'redis.memory.reserved',
    title: 'Redis reserves at least 10 % of memory for non-cache operations (maxmemory-reserved)',
    severity: 'low',
    resourceTypes: REDIS,
    reads: ['properties.sku', 'properties.redisConfiguration.maxmemory-reserved'],
    evaluate(resource) {
      const family = String(valueAt(resource, 'properties.sku.family') ?? valueAt(resource, 'sku.family') ?? '').toUpperCase()
      const capacity = Number(valueAt(resource, 'properties.sku.capacity') ?? valueAt(resource, 'sku.capacity'))
      const memory = CACHE_MEMORY_MB[`${family}${capacity}`]
      if (!memory) throw new MissingData(`cache size ${family}${Number.isFinite(capacity) ? capacity : '?'} is unknown`)
      // "Manage Azure Cache for Redis memory": set maxmemory-reserved to at least 10 % of the cache size; unset is Azure's per-size default, below that.
      const reserved = Number(valueAt(resource, 'properties.redisConfiguration.maxmemory-reserved') ?? 0)
      const want = Math.ceil(memory * 0.1)
      return reserved >= want ? pass(`maxmemory-reserved is ${reserved} MB of ${memory} MB`) : fail(`maxmemory-reserved is ${reserved || 'not set'}; at least ${want} MB (10 % of ${memory} MB) is recommended`)
    },
    remediation: {text: 'Set maxmemory-reserved to at least 10 % of the cache memory.', az: `${AZ} update --resource-group <rg> --name <name> --set "redisConfiguration.maxmemory-reserved=<MB>"`},
    frameworks: {psrule: ['Azure.Redis.MaxMemoryReserved']},
  },
  {
    id: 'redis.maintenance.patch_schedule',
    title: "Redis patch schedule matches the catalog's maintenance window",
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['patchSchedules/default.scheduleEntries'],
    facts: ['redisPatchSchedule'],
    // A cache the catalog gives no window is not applicable before the schedule is read: no PatchSchedules_Get for it.
    needsFacts: (_resource, catalog) => !catalog || Boolean(catalog.component?.spec?.window),
    evaluate(_resource, facts, context) {
      const spec = context.component?.spec
      if (!spec?.window) return notApplicable('the catalog names no maintenance window for this cache')
      const window = context.environment.windows[spec.window]
      if (!window) throw new MissingData(`the catalog window '${spec.window}' is not defined`)
      const want = windowStartUtc(window, context.now)
      const schedule = needFact(facts, 'redisPatchSchedule') as {scheduleEntries?: Array<{dayOfWeek: string; startHourUtc: number}>} | null
      const wanted = `${want.day} ${String(want.hour).padStart(2, '0')}:00 UTC`
      if (schedule === null) return fail(`no patch schedule; the catalog's '${spec.window}' window starts ${wanted}`)
      const entries = schedule.scheduleEntries
      if (!Array.isArray(entries)) throw new MissingData('patch schedule has no scheduleEntries')
      const found = entries.map((e) => `${e.dayOfWeek} ${String(e.startHourUtc).padStart(2, '0')}:00 UTC`)
      const matches = entries.some(
        (e) =>
          Number(e.startHourUtc) === want.hour &&
          (e.dayOfWeek === want.day || e.dayOfWeek === 'Everyday' || (e.dayOfWeek === 'Weekend' && (want.dayOfWeek === 0 || want.dayOfWeek === 6))),
      )
      const extra = entries.length > 1 ? ' (other entries allow patching outside the window)' : ''
      return matches && entries.length === 1
        ? pass(`patch schedule ${found.join(', ')} as the '${spec.window}' window`)
        : fail(`patch schedule ${found.join(', ') || 'is empty'}; the catalog's '${spec.window}' window starts ${wanted}${matches ? extra : ''}`)
    },
    remediation: {
      text: "Set the cache's patch schedule to the catalog's window (the maintenance-window runbook does this).",
      az: `${AZ} patch-schedule create --resource-group <rg> --name <name> --schedule-entries '[{"dayOfWeek":"<Day>","startHourUtc":<hour>,"maintenanceWindow":"PT5H"}]'`,
    },
    frameworks: {soc2: ['CC8.1'], iso27001: ['A.8.32']},
  },
]
