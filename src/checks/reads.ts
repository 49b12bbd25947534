/**
 * Where each fact the checks read comes from, and, for the facts read per resource, why no bulk read exists. The
 * collector (collect.ts) follows this; `bench/checks.ts` prints it next to the request counts, so a scan's cost can
 * be traced to the Azure APIs that force it.
 *
 * The bulk source is Azure Resource Graph. Its table reference ("Azure Resource Graph table and resource type
 * reference", learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources; stored copy
 * MicrosoftDocs/azure-docs articles/governance/resource-graph/reference/supported-tables-resources.md) lists, for
 * the types checked here, only the top-level resources in `resources` (microsoft.dbforpostgresql/flexibleservers,
 * microsoft.cache/redis, microsoft.cache/redisenterprise, microsoft.storage/storageaccounts, microsoft.keyvault/vaults,
 * microsoft.web/sites, microsoft.web/sites/slots, microsoft.cdn/profiles, microsoft.network/privateendpoints, WAF
 * policies), site and slot config in `appserviceresources` and Defender plans (microsoft.security/pricings) in
 * `securityresources`. None of the child or extension resources below is in any table (re-read stop 29 in the stored
 * copy at commit 00ec1e2: `resources` lists microsoft.insights/guestdiagnosticsettings but no diagnosticsettings,
 * microsoft.storage/storageaccounts/connectors but no blob/file/queue/table services, no Key Vault keys or secrets, no
 * PostgreSQL or Redis child type; `appserviceresources` holds sites/config, sites/slots/config and sites/workflows).
 * Re-read stop 31 (same stored copy, every table, for each per-resource read below): no table lists
 * microsoft.dbforpostgresql/flexibleservers/configurations, /firewallrules or /administrators, microsoft.cache/redis/
 * firewallrules or /patchschedules, microsoft.cache/redisenterprise/databases, microsoft.storage/storageaccounts/
 * blobservices or /fileservices, microsoft.keyvault/vaults/keys or /secrets, microsoft.web/sites/
 * basicpublishingcredentialspolicies, microsoft.insights/diagnosticsettings (`insightresources` holds only
 * datacollectionruleassociations and tenantactiongroups; `resources` guestdiagnosticsettings) or
 * microsoft.authorization/locks (`securityresources` holds microsoft.authorization/locks/providers/assessments/
 * governanceassignments — Defender governance on a lock, not the lock — and `authorizationresources` only
 * classicadministrators, roleassignments and roledefinitions). The page names no config other than `web` for
 * `appserviceresources` (its earlier revisions list microsoft.web/sites/config/web) and no sample reads authsettingsV2
 * from it, so auth settings stay an ARM read. `advisorresources`, `healthresources` and
 * `kubernetesconfigurationresources` hold recommendations, availability statuses and Arc extensions: none of these
 * facts. What Resource Graph does hold is already read from it: resources rows, config/web, private endpoints and
 * Defender pricings (`securityresources`). ARM's `/batch` endpoint is
 * not documented, so it is not used: no Microsoft Learn page or REST API spec describes it (checked stop 28 in the
 * docs corpus and the specs fork), Azure/azure-rest-api-specs#39106 ("[FEATURE REQ] Document
 * https://management.azure.com/batch", 2025-12-05) is open, and the SDK maintainers said "I don't know why the API is
 * not publicly documented" (Azure/azure-sdk-for-python#9271). Even it would not reach issue #14's ≥ 20× with all
 * checks: at the portal's 20 GETs a request, bench/checks.ts's 5,100 resources would still take about 2,142 requests
 * (2.4× fewer than one GET per resource; Key Vault's certificate reads are data plane, outside ARM), which the bench
 * prints next to ARM_BATCH_STATUS.
 */
import type {FactName} from './types.js'

/** Why the bulk read that would batch per-resource GETs is not used (printed by bench/checks.ts). */
export const ARM_BATCH_STATUS =
  "ARM's /batch (POST https://management.azure.com/batch) is undocumented — no REST spec or Microsoft Learn page; Azure/azure-rest-api-specs#39106 asks for one — so it is not used"

export const ARG_TABLES_URL = 'https://learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources'
/**
 * "Resource Graph uses a GET to the latest non-preview API of each resource provider to gather properties and values.
 * As a result, the property expected may not be available. In some cases, the API version used has been overridden"
 * (overview, "How Resource Graph is kept current"; stored copy MicrosoftDocs/azure-docs
 * articles/governance/resource-graph/overview.md), and the `apiVersion` column of `resources` names the version used
 * per type (samples/advanced, "Show resource types and API versions").
 */
export const ARG_API_VERSION_URL = 'https://learn.microsoft.com/azure/governance/resource-graph/overview#how-resource-graph-is-kept-current'
export const ARG_API_VERSION_SAMPLE_URL = 'https://learn.microsoft.com/azure/governance/resource-graph/samples/advanced#apiversion'

export interface FactSource {
  /** `resource-graph`: one paged query serves every resource; `per-resource`: at least one ARM (or data-plane) read per resource. */
  source: 'resource-graph' | 'per-resource'
  /** The request(s) made. */
  read: string
  /** Per-resource reads: why there is no bulk form, and when the collector skips the read. */
  why?: string
  /** Microsoft docs, specs or recordings the statement rests on. */
  cites: string[]
}

const notInArg = (type: string) => `Resource Graph's table reference lists no ${type}`

export const FACT_SOURCES: Record<FactName, FactSource> = {
  siteConfig: {
    source: 'resource-graph',
    read: "appserviceresources microsoft.web/sites/config and sites/slots/config (config/web); GET config/web per app only when Resource Graph rejects the table (sovereign clouds) or has no row",
    cites: [ARG_TABLES_URL],
  },
  privateEndpoints: {
    source: 'resource-graph',
    read: 'resources microsoft.network/privateendpoints, matched to their target by privateLinkServiceId',
    cites: [ARG_TABLES_URL],
  },
  pgConfigurations: {
    source: 'per-resource',
    read: 'Configurations_ListByServer, one page per server',
    why: `${notInArg('microsoft.dbforpostgresql/flexibleservers/configurations')}; the list is per server and answers in one page (azure-cli recording test_postgres_flexible_server_parameter_mgmt.yaml: every parameter, no nextLink)`,
    cites: [ARG_TABLES_URL, 'https://learn.microsoft.com/rest/api/postgresql/configurations/list-by-server', 'https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/postgresql/tests/latest/recordings/test_postgres_flexible_server_parameter_mgmt.yaml'],
  },
  pgFirewallRules: {
    source: 'per-resource',
    read: 'FirewallRules_ListByServer',
    why: `${notInArg('microsoft.dbforpostgresql/flexibleservers/firewallrules')}; skipped for servers whose Resource Graph row has public network access disabled`,
    cites: [ARG_TABLES_URL],
  },
  pgAdministrators: {
    source: 'per-resource',
    read: 'Administrators_ListByServer (Microsoft Entra administrators)',
    why: `${notInArg('microsoft.dbforpostgresql/flexibleservers/administrators')}; skipped when the row says Entra authentication is off`,
    cites: [ARG_TABLES_URL],
  },
  blobService: {
    source: 'per-resource',
    read: 'BlobServices_GetServiceProperties (blobServices/default)',
    why: `${notInArg('microsoft.storage/storageaccounts/blobservices')}; skipped for FileStorage accounts (no blob service)`,
    cites: [ARG_TABLES_URL],
  },
  fileService: {
    source: 'per-resource',
    read: 'FileServices_GetServiceProperties (fileServices/default)',
    why: `${notInArg('microsoft.storage/storageaccounts/fileservices')}; skipped for BlockBlobStorage accounts (no file service)`,
    cites: [ARG_TABLES_URL],
  },
  diagnosticSettings: {
    source: 'per-resource',
    read: 'DiagnosticSettings_List, GET {resourceUri}/providers/Microsoft.Insights/diagnosticSettings',
    why: `${notInArg('microsoft.insights/diagnosticsettings')} (Azure/bicep#18820 asks for it; Microsoft's APRL notes "Azure Resource Graph does not have tables for Microsoft.Insights/diagnosticSettings", Azure/Azure-Proactive-Resiliency-Library-v2#53); the list takes one resource URI`,
    cites: [ARG_TABLES_URL, 'https://learn.microsoft.com/rest/api/monitor/diagnostic-settings/list', 'https://github.com/Azure/bicep/issues/18820', 'https://github.com/Azure/Azure-Proactive-Resiliency-Library-v2/issues/53'],
  },
  storageServiceDiagnostics: {
    source: 'per-resource',
    read: 'DiagnosticSettings_List on blobServices/default, queueServices/default, tableServices/default and fileServices/default (4 per account)',
    why: `${notInArg('microsoft.insights/diagnosticsettings')}; each storage service is its own diagnostic-settings scope`,
    cites: [ARG_TABLES_URL, 'https://learn.microsoft.com/rest/api/monitor/diagnostic-settings/list'],
  },
  redisPatchSchedule: {
    source: 'per-resource',
    read: 'PatchSchedules_Get (default)',
    why: `${notInArg('microsoft.cache/redis/patchschedules')}; skipped for caches the catalog gives no maintenance window (the check is not applicable)`,
    cites: [ARG_TABLES_URL],
  },
  redisFirewallRules: {
    source: 'per-resource',
    read: 'FirewallRules_List (Redis)',
    why: `${notInArg('microsoft.cache/redis/firewallrules')}; skipped for caches whose row has public network access disabled`,
    cites: [ARG_TABLES_URL],
  },
  managedRedisDatabase: {
    source: 'per-resource',
    read: 'Databases_Get (default) of a Managed Redis cluster',
    why: notInArg('microsoft.cache/redisenterprise/databases'),
    cites: [ARG_TABLES_URL],
  },
  managedRedisMaintenance: {
    source: 'resource-graph',
    read: "the cluster's Resource Graph row (properties.maintenanceConfiguration); RedisEnterprise_Get at api-version 2026-09-01 per cluster only when the row lacks the property",
    // Resource Graph stores what a GET at the provider's latest non-preview api-version returns, unless it overrides
    // the version per type ("As a result, the property expected may not be available"; the `apiVersion` column says
    // which): nothing documents which version it uses for microsoft.cache/redisenterprise, and maintenanceConfiguration
    // exists only from 2025-08-01-preview (stable 2026-09-01), so a row without it may just be an older version's.
    why: 'Resource Graph documents no api-version per type, and maintenanceConfiguration is newer than most: a row without it is read from ARM',
    cites: [ARG_TABLES_URL, ARG_API_VERSION_URL, ARG_API_VERSION_SAMPLE_URL],
  },
  kvKeys: {
    source: 'per-resource',
    read: 'Keys_List (management plane), every page (up to 25 a page, the size Key Vault documents for these collections)',
    why: notInArg('microsoft.keyvault/vaults/keys'),
    cites: [ARG_TABLES_URL],
  },
  kvSecrets: {
    source: 'per-resource',
    read: 'Secrets_List (management plane), every page (up to 25 a page, the size Key Vault documents for these collections)',
    why: notInArg('microsoft.keyvault/vaults/secrets'),
    cites: [ARG_TABLES_URL],
  },
  kvKeyRotationPolicies: {
    source: 'per-resource',
    read: 'Keys_Get per enabled key (Keys_List omits rotationPolicy)',
    why: `${notInArg('microsoft.keyvault/vaults/keys')}; Keys_List returns attributes and keyUri only (spec example listKeys.json)`,
    cites: [ARG_TABLES_URL],
  },
  kvCertificates: {
    source: 'per-resource',
    read: 'Get Certificates (data plane, every page of up to 25) and each enabled certificate\'s policy',
    why: 'certificates are data-plane objects: no ARM resource type, so no Resource Graph row',
    cites: [ARG_TABLES_URL],
  },
  publishingCredentials: {
    source: 'per-resource',
    read: 'basicPublishingCredentialsPolicies/ftp and /scm, per site and slot',
    why: `${notInArg('microsoft.web/sites/basicpublishingcredentialspolicies')} (appserviceresources holds sites/config, sites/slots/config and workflows)`,
    cites: [ARG_TABLES_URL],
  },
  authSettings: {
    source: 'per-resource',
    read: 'config/authsettingsV2 (without secrets), per site and slot',
    why: "appserviceresources holds config/web only (earlier revisions of the table reference name microsoft.web/sites/config/web and sites/slots/config/web)",
    cites: [ARG_TABLES_URL],
  },
  frontDoorConfig: {
    source: 'per-resource',
    read: "a profile's security policies, endpoints' routes and custom domains (WAF policies from Resource Graph)",
    why: `${notInArg('microsoft.cdn/profiles/securitypolicies, routes or customdomains')} (only profiles, afdendpoints and endpoints)`,
    cites: [ARG_TABLES_URL],
  },
}

/** Locks: one ARM list per subscription (Resource Graph's table reference lists no microsoft.authorization/locks). */
export const LOCKS_SOURCE: FactSource = {
  source: 'per-resource',
  read: 'ManagementLocks_ListAtSubscriptionLevel, one list per subscription',
  why: notInArg('microsoft.authorization/locks'),
  cites: [ARG_TABLES_URL],
}

/**
 * Defender for Cloud plans: one `securityresources` query (microsoft.security/pricings); where Resource Graph rejects
 * the table, one ARM Pricings_List per subscription (GET /subscriptions/{id}/providers/Microsoft.Security/pricings).
 */
export const DEFENDER_PLANS_SOURCE: FactSource = {
  source: 'resource-graph',
  read: 'securityresources microsoft.security/pricings; Pricings_List per subscription when Resource Graph rejects the table',
  cites: [ARG_TABLES_URL, 'https://learn.microsoft.com/dotnet/api/azure.resourcemanager.securitycenter.securitycenterpricingcollection.getall'],
}
