/**
 * The security checklist's model: declarative rules, the facts collected for each resource, and findings.
 * Rules are plain data plus one pure `evaluate`; collection (collect.ts) and output (format/) are separate, so a
 * rule can be tested without Azure and every output reads the same findings.
 */
import type {Component, Environment, Waiver} from '../catalog/schema.js'

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const
export type Severity = (typeof SEVERITIES)[number]

export const STATUSES = ['pass', 'fail', 'error', 'not-applicable', 'waived'] as const
export type CheckStatus = (typeof STATUSES)[number]

/** Framework references. CIS uses `F3 5.2.1` (Foundations v3.0) / `F6 9.3.4` (v6.0) numbering. */
export interface Frameworks {
  cis?: string[]
  mcsb?: string[]
  soc2?: string[]
  iso27001?: string[]
  /** PSRule for Azure rule names (e.g. `Azure.Storage.MinTLS`). */
  psrule?: string[]
  /** Azure Policy built-in definitions (first 8 hex digits of the GUID); those Defender for Cloud assigns by default are in coverage.ts DEFENDER_INITIATIVE_POLICIES. */
  defender?: string[]
  /** Azure Quick Review recommendation ids (e.g. `st-009`). */
  azqr?: string[]
}

/** ARG lower-case resource types the checklist covers. */
export const RESOURCE_TYPES = {
  postgres: 'microsoft.dbforpostgresql/flexibleservers',
  redis: 'microsoft.cache/redis',
  managedRedis: 'microsoft.cache/redisenterprise',
  site: 'microsoft.web/sites',
  slot: 'microsoft.web/sites/slots',
  storage: 'microsoft.storage/storageaccounts',
  keyvault: 'microsoft.keyvault/vaults',
  plan: 'microsoft.web/serverfarms',
  sqlServer: 'microsoft.sql/servers',
  sqlDatabase: 'microsoft.sql/servers/databases',
  serviceBus: 'microsoft.servicebus/namespaces',
  cosmos: 'microsoft.documentdb/databaseaccounts',
  trafficManager: 'microsoft.network/trafficmanagerprofiles',
  /** Front Door Standard/Premium profiles (Resource Graph `resources` lists microsoft.cdn/profiles). */
  frontDoor: 'microsoft.cdn/profiles',
} as const
export type ResourceType = (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES]
/** The rule that reads Defender for Cloud plans (collected once per scan, not per resource). */
export const DEFENDER_RULE = 'def.plan'
/** The rule that reads the subscription's Defender for Resource Manager plan (from the same pricings query). */
export const DEFENDER_ARM_RULE = 'def.arm'

export const ALL_RESOURCE_TYPES: ResourceType[] = Object.values(RESOURCE_TYPES)

/** One resource as Resource Graph `resources` returns it (keys as ARM spells them). */
export interface InventoryResource {
  /** ARM id, case preserved. */
  id: string
  /** Lower-case ARG type, e.g. microsoft.web/sites/slots. */
  type: ResourceType
  /** For slots `site/slot`, as ARM names them. */
  name: string
  resourceGroup: string
  subscriptionId: string
  location?: string
  kind?: string
  tags?: Record<string, string> | null
  sku?: Record<string, unknown> | null
  identity?: Record<string, unknown> | null
  /** Availability zones (Resource Graph `zones` column). */
  zones?: string[]
  properties?: Record<string, unknown> | null
}

/**
 * Extra data a rule needs beyond the `resources` row. Each is fetched once per resource that an active rule needs it for.
 * - `siteConfig`: appserviceresources `sites/config/web` (ARM `config/web` when Resource Graph has no row), keys camelCased.
 * - `pgConfigurations`: server parameters, name → value.
 * - `pgFirewallRules`: `{name, startIpAddress, endIpAddress}[]`.
 * - `blobService`: storage `blobServices/default` properties.
 * - `diagnosticSettings`: `{name, logs: {category?, categoryGroup?, enabled}[]}[]`.
 * - `redisPatchSchedule`: `{scheduleEntries}`, or null when the cache has none.
 * - `kvKeys`, `kvSecrets`: the vault's keys / secrets from ARM (`VaultItem[]`; never a secret value).
 * - `publishingCredentials`: `{ftp: {allow}, scm: {allow}}` from `basicPublishingCredentialsPolicies` of a site or slot.
 * - `authSettings`: `config/authsettingsV2` of a site or slot without secrets (`{platform: {enabled}, …}`).
 * - `kvKeyRotationPolicies`: key name → its rotation policy (or null), from `GET vaults/{v}/keys/{key}` of each enabled
 *   key: the ARM key list returns only attributes and keyUri (spec example `listKeys.json`, 2024-11-01).
 * - `privateEndpoints`: private endpoint connections to this resource, from one Resource Graph query over
 *   `microsoft.network/privateendpoints` (`{name, status, groupIds}[]`). App Service does not return
 *   `privateEndpointConnections` on the site; this is the same view for every type.
 * - `pgAdministrators`: Microsoft Entra administrators of a PostgreSQL server (`{principalName, principalType}[]`).
 * - `storageServiceDiagnostics`: diagnostic settings of the account's blob, queue, table and file services.
 * - `redisFirewallRules`: `{name, startIP, endIP}[]` of a cache.
 * - `fileService`: storage `fileServices/default` properties (share soft delete).
 * - `frontDoorConfig`: a Front Door profile's security policies, routes (of every AFD endpoint) and custom domains from
 *   ARM (Resource Graph does not hold these child resources), plus the WAF policies its security policies name, from
 *   one Resource Graph query over `microsoft.network/frontdoorwebapplicationfirewallpolicies` (`FrontDoorConfig`).
 * - `kvCertificates`: the vault's certificates with their policies, from the Key Vault data plane (`GET /certificates`
 *   and `GET /certificates/{name}/policy`, api-version 7.5): ARM has no certificate API (`VaultCertificate[]`).
 */
export type FactName =
  | 'siteConfig'
  | 'pgConfigurations'
  | 'pgFirewallRules'
  | 'blobService'
  | 'diagnosticSettings'
  | 'redisPatchSchedule'
  | 'kvKeys'
  | 'kvSecrets'
  | 'publishingCredentials'
  | 'authSettings'
  | 'kvKeyRotationPolicies'
  | 'privateEndpoints'
  | 'pgAdministrators'
  | 'storageServiceDiagnostics'
  | 'redisFirewallRules'
  | 'managedRedisDatabase'
  | 'managedRedisMaintenance'
  | 'kvCertificates'
  | 'fileService'
  | 'frontDoorConfig'

/** A Key Vault key or secret as the management plane lists it. `attributes` is undefined when ARM sent none. */
export interface VaultItem {
  name: string
  attributes?: {
    /** Undefined means enabled (Azure's default). */
    enabled?: boolean
    /** ISO time, or undefined when the item never expires. */
    expires?: string
  }
  /** Keys only: `properties.rotationPolicy`, undefined when the key has none. */
  rotationPolicy?: {lifetimeActions?: Array<{action?: {type?: string}; trigger?: {timeAfterCreate?: string; timeBeforeExpiry?: string}}>}
}

/** What the Front Door checks read of a profile (Microsoft.Cdn 2024-02-01 afdx.json shapes, `properties` only). */
export interface FrontDoorConfig {
  securityPolicies: Array<{name: string; properties: Record<string, any>}>
  routes: Array<{name: string; endpoint: string; properties: Record<string, any>}>
  customDomains: Array<{name: string; properties: Record<string, any>}>
  /** WAF policies by lower-case id, as Resource Graph returns them (absent: not visible to the scan). */
  wafPolicies: Record<string, {name: string; properties: Record<string, any>}>
}

/** A Key Vault certificate as the data plane lists it (CertificateItem) with its CertificatePolicy. */
export interface VaultCertificate {
  name: string
  /** Undefined `enabled` means enabled; times ISO. */
  attributes?: {enabled?: boolean; notBefore?: string; expires?: string}
  /** Undefined when the certificate is disabled (its policy is not read). */
  policy?: {
    /** Issuer name: Self, Unknown (manually managed: Key Vault cannot renew it) or a configured CA. */
    issuer?: string
    lifetimeActions: Array<{trigger?: {lifetime_percentage?: number; days_before_expiry?: number}; action?: {action_type?: string}}>
  }
}

/** A fact as collected: its value, or why it could not be read (403, 500, missing in every source…). */
export type Fact = {ok: true; value: any} | {ok: false; error: string}
export type ResourceFacts = Partial<Record<FactName, Fact>>

/** A management lock as found in Resource Graph or ARM. `scope` is lower-case (the id up to `/providers/microsoft.authorization/locks/`). */
export interface LockInfo {
  scope: string
  level: 'CanNotDelete' | 'ReadOnly' | string
  name: string
}

/** What a rule may know besides the resource: the catalog and the rest of the inventory. */
export interface CatalogContext {
  environment: Environment
  environmentName: string
  /** The catalog component this resource is (for slots: the site's component), if any. */
  component?: {key: string; spec: Component}
  /** Locks in scope, or why they could not be read. */
  locks: {ok: true; value: LockInfo[]} | {ok: false; error: string}
  /** For a slot: the production site and its facts. */
  parent?: {resource: InventoryResource; facts: ResourceFacts}
  /** Defender for Cloud plans of the subscription (plan name lower-cased → pricingTier), or why they could not be read. */
  defenderPlans?: {ok: true; value: Record<string, string>} | {ok: false; error: string}
  now: Date
}

/** What a rule decides. `error` comes only from missing or unreadable data (thrown `MissingData`), never from a rule. */
export interface Evaluation {
  status: 'pass' | 'fail' | 'not-applicable'
  /** What was found, e.g. "minimumTlsVersion is 1.0". */
  message: string
}

export interface CheckRule {
  /** Stable id, e.g. pg.tls.enforced; SARIF rule ids and fingerprints derive from it. */
  id: string
  title: string
  severity: Severity
  /** Types it applies to (app rules list sites and slots). */
  resourceTypes: ResourceType[]
  /** Property paths it reads, for the reference and for `error` messages. */
  reads: string[]
  /** Facts it needs collected. */
  facts?: FactName[]
  /**
   * Whether the rule needs its facts for this resource, decided from the Resource Graph row and the catalog component
   * it is (if any) alone (default: yes). A bulk filter: the collector skips the per-resource reads of a resource no
   * active rule needs them for, so it must be false only where `evaluate` decides without the facts.
   */
  needsFacts?(resource: InventoryResource, catalog?: Pick<CatalogContext, 'environment' | 'component'>): boolean
  /** Pure: throws `MissingData` when something it needs is absent or unreadable. */
  evaluate(resource: InventoryResource, facts: ResourceFacts, context: CatalogContext): Evaluation
  remediation: {text: string; az: string}
  frameworks: Frameworks
}

export interface WaiverState {
  reason: string
  owner: string
  expires: string
  /** True when the waiver matched but its expiry has passed: the finding stays a fail. */
  expired: boolean
}

export interface Finding {
  checkId: string
  title: string
  severity: Severity
  status: CheckStatus
  message: string
  resourceId: string
  resourceName: string
  resourceType: ResourceType
  resourceGroup: string
  subscriptionId: string
  location?: string
  /** Catalog component key, when the resource is one. */
  component?: string
  remediation: {text: string; az: string}
  frameworks: Frameworks
  /** Set when a waiver matched (applied, or expired and reported). */
  waiver?: WaiverState
}

export type StatusCounts = Record<CheckStatus, number>

/** An expired waiver that still matched a failing finding. */
export interface ExpiredWaiver extends Waiver {
  resourceId: string
}

export interface CheckReport {
  environment: string
  subscription: string
  /** ISO time the scan finished. */
  scannedAt: string
  resources: number
  counts: StatusCounts
  findings: Finding[]
  /** Waivers that matched a failing finding but had expired: reported so someone renews or fixes. */
  expiredWaivers: ExpiredWaiver[]
  /** Waivers naming a resource the scan did not find (a typo waives nothing): with the name they probably meant. */
  unmatchedWaivers: Array<Waiver & {closest?: string}>
  /** Collection statistics (requests made, throttled responses, time). */
  collection: CollectionStats
  /** A fleet scan: its scope (`mg:<id> sub:<id>,…`) and how many subscriptions it read. */
  fleet?: {scope: string; subscriptions: number}
}

export interface CollectionStats {
  resourceGraphQueries: number
  armRequests: number
  throttled: number
  retries: number
  /** Times Resource Graph's quota ran out and queries waited for its reset. */
  quotaWaits?: number
  durationMs: number
}
