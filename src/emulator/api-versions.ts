/**
 * The api-versions the emulator serves, per resource provider namespace, as ARM enforces them: a request with any
 * other version is refused before it reaches the provider with `400 InvalidApiVersionParameter` and the message
 * "The api-version '<v>' is invalid. The supported versions are '<v1,v2,…>'." (the shape ARM answers, e.g.
 * Azure/azure-cli#28038, Azure/azure-sdk-for-net#2276).
 *
 * Served: the versions the pinned SDK packages send (package.json; notes/azure-sdk-contracts.md §1), the ones
 * Debian's `az` 2.45 sends (notes/az-offline.md) and the stable versions in between that newer `az` releases send.
 * Each is a published stable (or, where a client sends it, preview) version in Azure/azure-rest-api-specs.
 * A namespace not listed here is not checked beyond the version's format.
 */
import {armError, type EmulatorResponse} from './types.js'

/**
 * Lower-cased namespace (or `subscriptions` for /subscriptions, /tenants, /locations; or `namespace/type` where one
 * namespace's resource types have different versions, as ARM registers them per type) → versions, newest first.
 */
export const SUPPORTED_API_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  // arm-postgresql-flexible 9.0.0 → 2025-08-01; 8.0.0 and az 2.6x/2.7x → 2024-08-01; az 2.45 → 2022-12-01.
  'microsoft.dbforpostgresql': ['2025-08-01', '2024-08-01', '2022-12-01'],
  // arm-rediscache 8.2.0 and current az → 2024-11-01; az 2.5x → 2023-08-01 / 2023-04-01 (az 2.53); az 2.45 → 2022-06-01;
  // az 2.30 → 2021-06-01 (2021-06-01 and 2023-04-01: the versions of the az live-test recordings replayed in
  // test/contract/recordings.test.ts).
  'microsoft.cache': ['2024-11-01', '2023-08-01', '2023-04-01', '2022-06-01', '2021-06-01'],
  // Managed Redis (Microsoft.Cache/redisEnterprise and its operationsStatus monitors; ARM checks versions per resource
  // type): arm-redisenterprisecache 2.2.0 (its only release) → 2022-01-01; the checks' database read → 2025-07-01;
  // maintenanceConfiguration (managedredis.getMaintenance/setMaintenance) → 2026-09-01, the first stable version that
  // has it (added in 2025-08-01-preview; redisenterprise.json in Azure/azure-rest-api-specs).
  'microsoft.cache/redisenterprise': ['2026-09-01', '2025-07-01', '2022-01-01'],
  // arm-appservice 19.0.0 → 2025-05-01; az 2.5x–2.7x → 2023-01-01 / 2023-12-01 / 2024-04-01 / 2024-11-01; az 2.45 → 2022-03-01;
  // az 2.86 → 2025-03-01 (azure-mgmt-web: `appservice plan create`) and 2025-05-01 (`appservice plan show`), az recording
  // test_appservice_plan_managed_instance_basic_create.yaml.
  'microsoft.web': ['2025-05-01', '2025-03-01', '2024-11-01', '2024-04-01', '2023-12-01', '2023-01-01', '2022-03-01'],
  // arm-storage 20.0.0 → 2025-08-01; az 2.5x–2.7x → 2023-01-01 / 2023-05-01 / 2024-01-01; az 2.45 → 2022-09-01;
  // az 2.30 → 2021-06-01 (the version of the az live-test recording replayed in test/contract/recordings.test.ts).
  'microsoft.storage': ['2025-08-01', '2024-01-01', '2023-05-01', '2023-01-01', '2022-09-01', '2021-06-01'],
  // arm-keyvault 5.0.0 → 2026-02-01; az 2.5x–2.7x → 2023-02-01 / 2023-07-01 / 2024-11-01; az 2.45 → 2022-07-01.
  'microsoft.keyvault': ['2026-02-01', '2024-11-01', '2023-07-01', '2023-02-01', '2022-07-01'],
  // Azure SQL (one version per operation group, as the packages send them): arm-sql 10.0.0 → servers and databases
  // 2022-08-01-preview, failover groups 2020-11-01-preview, short-term retention 2021-02-01-preview, database metrics
  // 2014-04-01; az 2.45 → databases 2022-05-01-preview, servers 2021-02-01-preview, failover groups 2020-11-01-preview;
  // 2021-11-01 is the stable version between them (specs vendored in test/fixtures/azure-specs/specification/sql).
  'microsoft.sql': ['2022-08-01-preview', '2022-05-01-preview', '2021-11-01', '2021-02-01-preview', '2020-11-01-preview', '2014-04-01'],
  // Cosmos DB: arm-cosmosdb 16.4.0 → 2025-10-15 (cosmos-db.json / restorable.json); az 2.45 → 2022-08-15.
  'microsoft.documentdb': ['2025-10-15', '2022-08-15'],
  // Service Bus: arm-servicebus 6.1.0 → 2021-11-01; az 2.45 → 2022-01-01-preview.
  'microsoft.servicebus': ['2022-01-01-preview', '2021-11-01'],
  // Traffic Manager: arm-trafficmanager 6.1.0 → 2022-04-01; az 2.45 (azure-mgmt-trafficmanager) → 2022-04-01-preview.
  // Microsoft.Network serves Traffic Manager and (its own resource type, below) Front Door WAF policies in the emulator.
  'microsoft.network': ['2022-04-01', '2022-04-01-preview'],
  // Front Door WAF policies (Microsoft.Network/frontdoorWebApplicationFirewallPolicies, which ARM versions apart from
  // Traffic Manager: the frontdoor spec, not trafficmanager's): the policy read at 2024-02-01, the newest stable
  // webapplicationfirewall.json in Azure/azure-rest-api-specs (specification/frontdoor/resource-manager/Microsoft.Network/stable/2024-02-01).
  'microsoft.network/frontdoorwebapplicationfirewallpolicies': ['2024-02-01'],
  // Front Door Standard/Premium (Microsoft.Cdn): arm-cdn 9.1.0 → 2024-02-01; az 2.45 `afd` (azure-mgmt-cdn) → 2021-06-01.
  'microsoft.cdn': ['2024-02-01', '2021-06-01'],
  // Management locks: arm-locks 2.1.0 → 2020-05-01; az (every version) → 2016-09-01. Permissions (the RBAC preflight):
  // 2022-04-01 (authorization-RoleDefinitionsCalls.json).
  'microsoft.authorization': ['2022-04-01', '2020-05-01', '2016-09-01'],
  // arm-monitor 7.0.0: metrics and metric definitions 2018-01-01, diagnostic settings 2017-05-01-preview, activity
  // log 2015-04-01; az: diagnostic settings 2021-05-01-preview, metrics 2018-01-01 (2.45) and 2023-10-01 (newer);
  // arm-monitor 8 / monitor-query-metrics → 2024-02-01; az 2.30–2.45 metric namespaces → 2017-12-01-preview (the replayed
  // recording test_monitor_metrics_scenario.yaml).
  'microsoft.insights': ['2024-02-01', '2023-10-01', '2021-05-01-preview', '2018-01-01', '2017-12-01-preview', '2017-05-01-preview', '2015-04-01'],
  // arm-resourcegraph 4.2.1 → 2021-03-01; 5.0.0 → 2024-04-01; the az graph extension → 2022-10-01 / 2021-03-01.
  'microsoft.resourcegraph': ['2024-04-01', '2022-10-01', '2021-03-01'],
  // Resource groups, resources, tags, provider registrations: az 2.45 → 2021-04-01; newer az → 2022-09-01 / 2024-03-01 / 2024-11-01.
  'microsoft.resources': ['2024-11-01', '2024-03-01', '2022-09-01', '2021-04-01'],
  // Subscriptions, tenants and locations: az 2.45 → 2019-11-01; newer az → 2022-12-01.
  subscriptions: ['2022-12-01', '2021-01-01', '2019-11-01'],
}

/** The namespace whose api-versions govern an ARM path (the last `/providers/{ns}` segment decides, as ARM routes). */
export function apiVersionNamespace(path: string): string | undefined {
  // Providers - Get / Register (`/subscriptions/{sub}/providers/{ns}[/register]`) are Microsoft.Resources operations:
  // `az resource show --ids` reads them with 2021-04-01 (az 2.45) to pick the resource's api-version.
  if (/^\/subscriptions\/[^/]+\/providers\/[^/]+(\/(register|unregister))?$/i.test(path)) return 'microsoft.resources'
  const providers = [...path.matchAll(/\/providers\/([^/]+)/gi)]
  const last = providers.at(-1)?.[1]
  if (last) {
    // `/subscriptions/{sub}/providers` (and `/providers/{ns}` registrations) are served by Microsoft.Resources.
    return /^microsoft\./i.test(last) ? last.toLowerCase() : 'microsoft.resources'
  }
  if (/^\/providers\/?$/i.test(path) || /^\/subscriptions\/[^/]+\/providers$/i.test(path)) return 'microsoft.resources'
  if (/^\/(tenants|subscriptions)(\/[^/]+)?(\/locations)?$/i.test(path)) return 'subscriptions'
  if (/^\/subscriptions\/[^/]+\/(resourcegroups|resources|tagnames)(\/|$)/i.test(path)) return 'microsoft.resources'
  return undefined
}

/** Microsoft.Cache serves two products whose resource types have their own versions: classic Redis and Managed Redis. */
const MANAGED_REDIS_PATH = /\/providers\/Microsoft\.Cache\/(redisEnterprise(\/|$)|locations\/[^/]+\/operationsStatus\/)/i

/** Front Door WAF policies: Microsoft.Network's resource type with the frontdoor spec's versions. */
const FRONT_DOOR_WAF_PATH = /\/providers\/Microsoft\.Network\/frontdoorWebApplicationFirewallPolicies(\/|$)/i

/** The SUPPORTED_API_VERSIONS key governing a path: its namespace, or `namespace/type` for the types versioned apart. */
export function apiVersionKey(path: string): string | undefined {
  const found = apiVersionNamespace(path)
  if (found === 'microsoft.cache' && MANAGED_REDIS_PATH.test(path)) return 'microsoft.cache/redisenterprise'
  if (found === 'microsoft.network' && FRONT_DOOR_WAF_PATH.test(path)) return 'microsoft.network/frontdoorwebapplicationfirewallpolicies'
  return found
}

/** 400 InvalidApiVersionParameter when the namespace is known and does not serve this version, else undefined. */
export function unsupportedApiVersion(path: string, apiVersion: string): EmulatorResponse | undefined {
  const namespace = apiVersionKey(path)
  const supported = namespace ? SUPPORTED_API_VERSIONS[namespace] : undefined
  if (!supported || supported.includes(apiVersion.toLowerCase())) return undefined
  return armError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`)
}
