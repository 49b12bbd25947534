/**
 * Turn an inventory (resources, their facts, locks) into findings: run each applicable rule, map missing or
 * unreadable data to `error`, then apply the environment's waivers. Pure: no I/O, so tests and the bench share it.
 */
import type {Component, Environment, Waiver} from '../catalog/schema.js'
import {closestName} from '../support/closest-name.js'
import {MissingData} from './rules/helpers.js'
import {CHECKS} from './rules/index.js'
import {inventoryRules} from './rules/inventory.js'
import {
  RESOURCE_TYPES,
  SEVERITIES,
  STATUSES,
  type CatalogContext,
  type CheckRule,
  type CheckStatus,
  type ExpiredWaiver,
  type Finding,
  type InventoryResource,
  type LockInfo,
  type ResourceFacts,
  type ResourceType,
  type Severity,
  type StatusCounts,
} from './types.js'

/** What collection produces and evaluation reads. */
export interface Inventory {
  resources: InventoryResource[]
  /** Facts by lower-case resource id. */
  facts: Map<string, ResourceFacts>
  locks: {ok: true; value: LockInfo[]} | {ok: false; error: string}
  /** Defender for Cloud plans (only when a rule reads them). */
  defenderPlans?: CatalogContext['defenderPlans']
  /** A fleet scan's plans by lower-case subscription id: each resource is judged by its own subscription's plans. */
  defenderPlansBySubscription?: Map<string, NonNullable<CatalogContext['defenderPlans']>>
}

export interface EvaluateOptions {
  environment: Environment
  environmentName: string
  now: Date
  rules?: CheckRule[]
}

export interface Evaluated {
  findings: Finding[]
  counts: StatusCounts
  expiredWaivers: ExpiredWaiver[]
  /**
   * Waivers naming a resource no scanned resource answers to (by name, id or component key): a typo such as
   * `sesions-cache` waives nothing, silently, while the finding keeps failing. `closest`: the name it probably meant.
   */
  unmatchedWaivers: Array<Waiver & {closest?: string}>
}

/**
 * Evaluate every rule against every resource of its types.
 * A rule that throws `MissingData` gives `error`; any other exception is a bug in the rule and is also reported as
 * `error` (with its message), never as a pass.
 */
export function evaluateInventory(inventory: Inventory, options: EvaluateOptions): Evaluated {
  const rules = options.rules ?? CHECKS
  const byId = new Map(inventory.resources.map((r) => [r.id.toLowerCase(), r]))
  const findings: Finding[] = []
  const expiredWaivers: ExpiredWaiver[] = []
  for (const resource of inventory.resources) {
    const facts = inventory.facts.get(resource.id.toLowerCase()) ?? {}
    const component = componentOf(resource, options.environment)
    const parentResource = resource.type === RESOURCE_TYPES.slot ? byId.get(siteIdOf(resource.id).toLowerCase()) : undefined
    const context: CatalogContext = {
      environment: options.environment,
      environmentName: options.environmentName,
      component,
      locks: inventory.locks,
      defenderPlans: inventory.defenderPlansBySubscription?.get(resource.subscriptionId.toLowerCase()) ?? inventory.defenderPlans,
      parent: parentResource ? {resource: parentResource, facts: inventory.facts.get(parentResource.id.toLowerCase()) ?? {}} : undefined,
      now: options.now,
    }
    for (const rule of rules) {
      if (!rule.resourceTypes.includes(resource.type)) continue
      let status: CheckStatus
      let message: string
      try {
        const result = rule.evaluate(resource, facts, context)
        status = result.status
        message = result.message
      } catch (error) {
        status = 'error'
        message = error instanceof MissingData ? `could not evaluate: ${error.message}` : `check failed to run: ${(error as Error).message}`
      }
      const finding: Finding = {
        checkId: rule.id,
        title: rule.title,
        severity: rule.severity,
        status,
        message,
        resourceId: resource.id,
        resourceName: resource.name,
        resourceType: resource.type,
        resourceGroup: resource.resourceGroup,
        subscriptionId: resource.subscriptionId,
        location: resource.location,
        component: component?.key,
        remediation: rule.remediation,
        frameworks: rule.frameworks,
      }
      if (status === 'fail') {
        const waiver = matchingWaiver(options.environment.waivers, rule.id, resource, component?.key, options.now)
        if (waiver) {
          finding.waiver = {reason: waiver.waiver.reason, owner: waiver.waiver.owner, expires: waiver.waiver.expires, expired: waiver.expired}
          if (waiver.expired) {
            finding.message = `${message} (waiver by ${waiver.waiver.owner} expired ${waiver.waiver.expires})`
            expiredWaivers.push({...waiver.waiver, resourceId: resource.id})
          } else {
            finding.status = 'waived'
            finding.message = `${message} — waived by ${waiver.waiver.owner} until ${waiver.waiver.expires}: ${waiver.waiver.reason}`
          }
        }
      }
      findings.push(finding)
    }
  }
  findings.push(...missingComponents(inventory, options.environment, rules))
  return {findings, counts: countByStatus(findings), expiredWaivers, unmatchedWaivers: unmatchedWaivers(inventory, options.environment)}
}

function unmatchedWaivers(inventory: Inventory, environment: Environment): Evaluated['unmatchedWaivers'] {
  const candidates = [...inventory.resources.map((r) => r.name), ...Object.keys(environment.components)]
  const known = new Set([...candidates, ...inventory.resources.map((r) => r.id)].map((n) => n.toLowerCase()))
  return environment.waivers
    .filter((w) => w.resource !== undefined && !known.has(w.resource.toLowerCase()))
    .map((w) => {
      const closest = closestName(w.resource!, candidates)
      return closest ? {...w, closest} : w
    })
}

/** ARM provider path of each covered type, for the id a missing component was expected at. */
export const PROVIDER_PATH: Record<ResourceType, string> = {
  [RESOURCE_TYPES.postgres]: 'Microsoft.DBforPostgreSQL/flexibleServers',
  [RESOURCE_TYPES.redis]: 'Microsoft.Cache/Redis',
  [RESOURCE_TYPES.managedRedis]: 'Microsoft.Cache/redisEnterprise',
  [RESOURCE_TYPES.site]: 'Microsoft.Web/sites',
  [RESOURCE_TYPES.slot]: 'Microsoft.Web/sites',
  [RESOURCE_TYPES.storage]: 'Microsoft.Storage/storageAccounts',
  [RESOURCE_TYPES.keyvault]: 'Microsoft.KeyVault/vaults',
  [RESOURCE_TYPES.plan]: 'Microsoft.Web/serverfarms',
  [RESOURCE_TYPES.sqlServer]: 'Microsoft.Sql/servers',
  [RESOURCE_TYPES.sqlDatabase]: 'Microsoft.Sql/servers',
  [RESOURCE_TYPES.serviceBus]: 'Microsoft.ServiceBus/namespaces',
  [RESOURCE_TYPES.cosmos]: 'Microsoft.DocumentDB/databaseAccounts',
  [RESOURCE_TYPES.trafficManager]: 'Microsoft.Network/trafficmanagerprofiles',
  [RESOURCE_TYPES.frontDoor]: 'Microsoft.Cdn/profiles',
}

/**
 * `inventory.missing` errors: catalog components of a type some active rule covers with no inventory row, and
 * absent slots of a present site (an absent site implies its slots). Whether or not `inventory.missing` is among
 * the active rules: a component nobody can see must not turn into zero findings and a passing gate.
 */
export function missingComponents(inventory: Inventory, environment: Environment, rules: CheckRule[] = CHECKS): Finding[] {
  const rule = inventoryRules[0]!
  const covered = new Set<ResourceType>(rules.flatMap((r) => r.resourceTypes))
  const present = new Set(inventory.resources.map((r) => `${r.type}|${r.resourceGroup}|${r.name}`.toLowerCase()))
  const scanned = new Set(environment.resourceGroups.map((g) => g.toLowerCase()))
  const findings: Finding[] = []
  for (const [key, spec] of Object.entries(environment.components)) {
    const type = COMPONENT_RESOURCE_TYPE[spec.type]
    if (!type) continue
    const group = spec.resourceGroup ?? environment.resourceGroups[0] ?? ''
    const expected: Array<{type: ResourceType; name: string; what: string}> = [{type, name: spec.name, what: `${spec.type} ${spec.name}`}]
    if (spec.type === 'webapp' && present.has(`${type}|${group}|${spec.name}`.toLowerCase()))
      expected.splice(0, 1, ...spec.slots.map((slot) => ({type: RESOURCE_TYPES.slot as ResourceType, name: `${spec.name}/${slot}`, what: `slot ${slot} of web app ${spec.name}`})))
    for (const item of expected) {
      if (!covered.has(item.type) || present.has(`${item.type}|${group}|${item.name}`.toLowerCase())) continue
      const path = item.type === RESOURCE_TYPES.slot ? item.name.replace('/', '/slots/') : item.name
      const why = scanned.has(group.toLowerCase())
        ? 'no Resource Graph row (missing Reader role, Resource Graph indexing lag, or a wrong name in the catalog)'
        : `resource group ${group} is not in the environment's resourceGroups (${environment.resourceGroups.join(', ')}), so it was not scanned`
      findings.push({
        checkId: rule.id,
        title: rule.title,
        severity: rule.severity,
        status: 'error',
        message: `catalog component ${key} (${item.what}) expected in resource group ${group} of subscription ${environment.subscription} was not found: ${why}; none of its checks ran`,
        resourceId: `/subscriptions/${environment.subscription}/resourceGroups/${group}/providers/${PROVIDER_PATH[item.type]}/${path}`,
        resourceName: item.name,
        resourceType: item.type,
        resourceGroup: group,
        subscriptionId: environment.subscription,
        component: key,
        remediation: rule.remediation,
        frameworks: rule.frameworks,
      })
    }
  }
  return findings
}

/** Findings per status (every status present, zero when none). */
export function countByStatus(findings: Finding[]): StatusCounts {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts
  for (const f of findings) counts[f.status]++
  return counts
}

/** Severity rank: critical 0 … low 3. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity)
}

/**
 * Findings that break the gate: failed (not waived) at or above `failOn`. Errors at or above `failOn` count too —
 * a check that could not read its data has not passed.
 */
export function blockingFindings(findings: Finding[], failOn: Severity): Finding[] {
  return findings.filter((f) => (f.status === 'fail' || f.status === 'error') && severityRank(f.severity) <= severityRank(failOn))
}

/** The production site id of a slot id (`…/sites/app/slots/staging` → `…/sites/app`). */
export function siteIdOf(slotId: string): string {
  return slotId.replace(/\/slots\/[^/]+$/i, '')
}

/** The inventory type of each covered component type (a webapp component's slots are `sites/slots`). */
const COMPONENT_RESOURCE_TYPE: Partial<Record<Component['type'], ResourceType>> = {
  postgres: RESOURCE_TYPES.postgres,
  redis: RESOURCE_TYPES.redis,
  managedredis: RESOURCE_TYPES.managedRedis,
  webapp: RESOURCE_TYPES.site,
  storage: RESOURCE_TYPES.storage,
  keyvault: RESOURCE_TYPES.keyvault,
  sqldb: RESOURCE_TYPES.sqlDatabase,
  servicebus: RESOURCE_TYPES.serviceBus,
  cosmosdb: RESOURCE_TYPES.cosmos,
  trafficmanager: RESOURCE_TYPES.trafficManager,
  frontdoor: RESOURCE_TYPES.frontDoor,
}

const COMPONENT_TYPE: Partial<Record<string, Component['type']>> = {
  [RESOURCE_TYPES.postgres]: 'postgres',
  [RESOURCE_TYPES.redis]: 'redis',
  [RESOURCE_TYPES.managedRedis]: 'managedredis',
  [RESOURCE_TYPES.site]: 'webapp',
  [RESOURCE_TYPES.slot]: 'webapp',
  [RESOURCE_TYPES.storage]: 'storage',
  [RESOURCE_TYPES.keyvault]: 'keyvault',
  [RESOURCE_TYPES.sqlDatabase]: 'sqldb',
  [RESOURCE_TYPES.serviceBus]: 'servicebus',
  [RESOURCE_TYPES.cosmos]: 'cosmosdb',
  [RESOURCE_TYPES.trafficManager]: 'trafficmanager',
  [RESOURCE_TYPES.frontDoor]: 'frontdoor',
}

/** The catalog component a resource is (a slot belongs to its site's component). */
export function componentOf(resource: InventoryResource, environment: Environment): {key: string; spec: Component} | undefined {
  const type = COMPONENT_TYPE[resource.type]
  const name = (resource.type === RESOURCE_TYPES.slot ? resource.name.split('/')[0]! : resource.name).toLowerCase()
  for (const [key, spec] of Object.entries(environment.components)) {
    if (spec.type !== type || spec.name.toLowerCase() !== name) continue
    const group = (spec.resourceGroup ?? environment.resourceGroups[0] ?? '').toLowerCase()
    if (group === resource.resourceGroup.toLowerCase()) return {key, spec}
  }
  return undefined
}

/** When a waiver stops applying. A date without a time covers that whole day (UTC). */
export function waiverExpiry(expires: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expires)) return new Date(Date.parse(`${expires}T00:00:00Z`) + 86_400_000)
  return new Date(expires)
}

function matchingWaiver(
  waivers: Waiver[],
  checkId: string,
  resource: InventoryResource,
  componentKey: string | undefined,
  now: Date,
): {waiver: Waiver; expired: boolean} | undefined {
  const names = new Set([resource.name, resource.id, componentKey ?? ''].filter(Boolean).map((n) => n.toLowerCase()))
  const matches = waivers
    .filter((w) => w.check === checkId && (w.resource === undefined || names.has(w.resource.toLowerCase())))
    .map((waiver) => ({waiver, expired: waiverExpiry(waiver.expires).getTime() <= now.getTime()}))
  return matches.find((m) => !m.expired) ?? matches[0]
}
