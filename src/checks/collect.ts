/**
 * Collect what the checks read: Resource Graph in bulk (one `resources` query for every covered type, one
 * `appserviceresources` query for site and slot config, one for private endpoints and one `securityresources`
 * query for Defender plans, paged with skipToken), one ARM list of the subscription's locks, then per-resource ARM
 * calls only for what Resource Graph lacks (PostgreSQL parameters, firewall rules and Entra administrators, blob
 * service properties, diagnostic settings, Redis patch schedules and firewall rules, Key Vault key and secret lists
 * and each enabled key's rotation policy, App Service basic-auth policies and authsettingsV2; site config when
 * Resource Graph has none or rejects `appserviceresources`). Every request goes through the budget. A call that
 * fails becomes an unreadable fact (→ `error`), never a missing one that could pass. reads.ts says, per fact, which
 * of these Resource Graph answers and why the others have no documented bulk form (its table reference lists none of
 * those child or extension types).
 */
import type {Environment} from '../catalog/schema.js'
import {mapBounded, RequestBudget, type BudgetOptions} from './budget.js'
import {componentOf, type Inventory} from './evaluate.js'
import {CHECKS} from './rules/index.js'
import type {FleetScope} from './scope.js'
import {type CheckSources, type Paged} from './sources.js'
import {ALL_RESOURCE_TYPES, DEFENDER_ARM_RULE, DEFENDER_RULE, RESOURCE_TYPES, type CheckRule, type Fact, type FactName, type FrontDoorConfig, type InventoryResource, type ResourceFacts, type ResourceType, type VaultItem} from './types.js'

const CONFIG_TYPES = ['microsoft.web/sites/config', 'microsoft.web/sites/slots/config']
/** Storage services whose diagnostic settings are separate resources (`{account}/blobServices/default`, …). */
export const STORAGE_SERVICES = ['blobServices', 'queueServices', 'tableServices', 'fileServices'] as const

export interface CollectOptions {
  environment: Environment
  sources: CheckSources
  budget?: RequestBudget
  budgetOptions?: BudgetOptions
  /** Rules whose facts to collect (default: every check). */
  rules?: CheckRule[]
  /** Told about progress (one line per phase). */
  log?: (message: string) => void
  signal?: AbortSignal
  /** A fleet scan (management groups, subscription lists) instead of the environment's resource groups. */
  scope?: FleetScope
}

export interface Collected extends Inventory {
  budget: RequestBudget
  /** The subscriptions whose resources were scanned. */
  subscriptions: string[]
}

/**
 * Subscriptions per Resource Graph request. Azure accepts at most 1,000 per request (troubleshoot/general, "Too many
 * subscriptions": batch "to stay under the 1,000 subscription limit") and recommends groups under 300 for the quota
 * (concepts/guidance-for-throttled-requests, "Grouping queries").
 */
export const SUBSCRIPTIONS_PER_QUERY = 250

/** Where one Resource Graph query runs: a batch of subscriptions, or management groups. */
export interface GraphTarget {
  subscriptions: string[]
  managementGroups?: string[]
}

/** The Resource Graph targets of a scan: the environment's subscription, or the fleet scope in batches. */
export function graphTargets(environment: Environment, scope?: FleetScope): GraphTarget[] {
  if (!scope) return [{subscriptions: [environment.subscription]}]
  const targets: GraphTarget[] = []
  if (scope.managementGroups.length > 0) targets.push({subscriptions: [], managementGroups: scope.managementGroups})
  for (let i = 0; i < scope.subscriptions.length; i += SUBSCRIPTIONS_PER_QUERY) targets.push({subscriptions: scope.subscriptions.slice(i, i + SUBSCRIPTIONS_PER_QUERY)})
  return targets
}


/** The KQL for the bulk inventory: the covered types, only the columns the checks read. */
export function inventoryQuery(types: string[] = ALL_RESOURCE_TYPES): string {
  return `resources | where type in~ (${types.map((t) => `'${t}'`).join(', ')}) | project id, name, type, kind, location, resourceGroup, subscriptionId, tags, sku, identity, zones, properties`
}

/**
 * The KQL for private endpoints: one query serves every type, including App Service, whose site resource does not
 * carry `privateEndpointConnections` (Microsoft.Web spec `Site` has no such property; the connections are a separate
 * `privateEndpointConnections` collection). Locks are not queried here: Resource Graph's documented tables do not
 * list `microsoft.authorization/locks`, so the collector reads them from ARM.
 */
export function privateEndpointQuery(): string {
  return `resources | where type =~ 'microsoft.network/privateendpoints' | project id, name, subscriptionId, properties`
}

/** The KQL for Front Door WAF policies (the security policies of a profile name them by id). */
export function wafPolicyQuery(): string {
  return `resources | where type =~ 'microsoft.network/frontdoorwebapplicationfirewallpolicies' | project id, name, subscriptionId, properties`
}

/** The KQL for Defender for Cloud plans (`securityresources` holds `microsoft.security/pricings`). */
export function defenderPlansQuery(): string {
  return `securityresources | where type =~ 'microsoft.security/pricings' | project id, name, subscriptionId, properties`
}

/** The KQL for site and slot config/web. */
export function siteConfigQuery(): string {
  return `appserviceresources | where type in~ (${CONFIG_TYPES.map((t) => `'${t}'`).join(', ')}) | project id, name, type, subscriptionId, resourceGroup, properties`
}

/** Collect the inventory of an environment's resource groups. */
export async function collectInventory(options: CollectOptions): Promise<Collected> {
  const {environment, sources} = options
  const budget = options.budget ?? new RequestBudget(options.budgetOptions)
  const log = options.log ?? (() => undefined)
  const rules = options.rules ?? CHECKS
  const home = environment.subscription.toLowerCase()
  const targets = graphTargets(environment, options.scope)
  const groups = new Set(environment.resourceGroups.map((g) => g.toLowerCase()))
  // A fleet scan takes every row Resource Graph returns for its targets; otherwise the environment's resource groups.
  const inScope = options.scope
    ? () => true
    : (row: Record<string, unknown>) => String(row.subscriptionId ?? '').toLowerCase() === home && groups.has(String(row.resourceGroup ?? '').toLowerCase())
  const graph = (query: string) => graphAll(sources, budget, query, targets, options.signal)

  // 1. One paged Resource Graph query for every covered resource.
  const rows = (await graph(inventoryQuery())).filter(inScope)
  const resources: InventoryResource[] = []
  for (const row of rows) {
    const type = String(row.type).toLowerCase()
    if (!(ALL_RESOURCE_TYPES as string[]).includes(type)) continue
    resources.push(toResource(row, type as ResourceType))
  }
  const subscriptions = options.scope
    ? [...new Set([...options.scope.subscriptions, ...resources.map((r) => r.subscriptionId.toLowerCase())])]
    : [environment.subscription]
  log(
    options.scope
      ? `Resource Graph: ${resources.length} resource(s) in ${subscriptions.length} subscription(s) (${budget.stats.resourceGraphQueries} page(s))`
      : `Resource Graph: ${resources.length} resource(s) in ${environment.resourceGroups.join(', ')}`,
  )
  /** Sources for where a resource lives (fleet scans: its own subscription). */
  const sourcesIn = (subscription: string) =>
    subscription.toLowerCase() === home || !sources.forSubscription ? sources : sources.forSubscription(subscription)

  const needed = factsNeeded(rules)
  const facts = new Map<string, ResourceFacts>(resources.map((r) => [r.id.toLowerCase(), {}]))
  const factsOf = (r: InventoryResource) => facts.get(r.id.toLowerCase())!

  // 2. Site and slot config from appserviceresources, keyed by the site/slot id.
  const apps = resources.filter((r) => (r.type === RESOURCE_TYPES.site || r.type === RESOURCE_TYPES.slot) && needed.get(r.type)?.has('siteConfig'))
  if (apps.length > 0) {
    let configRows: Record<string, unknown>[] = []
    try {
      configRows = (await graph(siteConfigQuery())).filter(inScope)
    } catch (error) {
      if (options.signal?.aborted) throw error
      // Sovereign clouds reject the appserviceresources table (400 "Table 'appserviceresources' could not be found"):
      // every app then reads config/web from ARM, one GET each, instead of aborting the scan.
      log(`Resource Graph rejected appserviceresources (${describeError(error)}): reading config/web per app from ARM`)
    }
    const byOwner = new Map<string, Record<string, unknown>>()
    for (const row of configRows) {
      const id = String(row.id)
      if (!/\/config\/web$/i.test(id)) continue
      byOwner.set(id.replace(/\/config\/web$/i, '').toLowerCase(), camelKeys((row.properties ?? {}) as Record<string, unknown>))
    }
    for (const app of apps) {
      const config = byOwner.get(app.id.toLowerCase())
      if (config) factsOf(app).siteConfig = {ok: true, value: config}
    }
    log(`Resource Graph: config/web for ${apps.filter((a) => factsOf(a).siteConfig).length} of ${apps.length} site(s) and slot(s)`)
  }

  // 3. Private endpoints of every resource that a rule needs them for, from one Resource Graph query.
  const wantEndpoints = resources.filter((r) => needed.get(r.type)?.has('privateEndpoints'))
  if (wantEndpoints.length > 0) {
    let fact: (r: InventoryResource) => Fact
    try {
      const byTarget = privateEndpointsByTarget(await graph(privateEndpointQuery()))
      fact = (r) => ({ok: true, value: byTarget.get(r.id.toLowerCase()) ?? []})
    } catch (error) {
      if (options.signal?.aborted) throw error
      const reason = describeError(error)
      fact = () => ({ok: false, error: reason})
    }
    for (const r of wantEndpoints) factsOf(r).privateEndpoints = fact(r)
  }

  // 4. Defender for Cloud plans, one Resource Graph query.
  // Plans are per subscription: each resource is judged by its own subscription's plans.
  let defenderPlans: Collected['defenderPlans']
  let defenderPlansBySubscription: Collected['defenderPlansBySubscription']
  if (rules.some((r) => r.id === DEFENDER_RULE || r.id === DEFENDER_ARM_RULE)) {
    const bySubscription = new Map<string, Record<string, string>>(subscriptions.map((s) => [s.toLowerCase(), {}]))
    try {
      try {
        for (const row of await graph(defenderPlansQuery())) {
          const plans = bySubscription.get(String(row.subscriptionId ?? '').toLowerCase())
          if (plans) plans[String(row.name).toLowerCase()] = String((row.properties as any)?.pricingTier ?? '')
        }
      } catch (error) {
        const fallback = sources.defenderPricings
        if (options.signal?.aborted || !fallback) throw error
        // A cloud without the securityresources table (400 "Table 'securityresources' could not be found"): one ARM
        // list of pricings per subscription instead of no plans at all.
        log(`Resource Graph rejected securityresources (${describeError(error)}): reading Defender plans per subscription from ARM`)
        const lists = await mapBounded(subscriptions, 16, (subscription) => budget.run('arm', () => sourcesIn(subscription).defenderPricings!()))
        subscriptions.forEach((subscription, i) => bySubscription.set(subscription.toLowerCase(), lists[i]!))
      }
      defenderPlans = {ok: true, value: bySubscription.get(home) ?? {}}
      if (options.scope) defenderPlansBySubscription = new Map([...bySubscription].map(([sub, value]) => [sub, {ok: true, value}]))
    } catch (error) {
      if (options.signal?.aborted) throw error
      defenderPlans = {ok: false, error: describeError(error)}
    }
  }

  // WAF policies (Resource Graph `resources` holds microsoft.network/frontdoorwebapplicationfirewallpolicies): one
  // query, made only when a Front Door profile is in scope.
  let wafQuery: Promise<FrontDoorConfig['wafPolicies']> | undefined
  const wafPolicies = () =>
    (wafQuery ??= graph(wafPolicyQuery()).then((rows) =>
      Object.fromEntries(rows.map((row) => [String(row.id).toLowerCase(), {name: String(row.name), properties: (row.properties ?? {}) as Record<string, any>}])),
    ))

  // 5. Per-resource ARM calls for what Resource Graph lacks.
  type Task = {resource: InventoryResource; fact: FactName; read: () => Promise<unknown>}
  const tasks: Task[] = []
  // kv.expiry and kv.key_rotation share one key list per vault.
  const keyLists = new Map<string, Promise<VaultItem[]>>()
  const keyList = (r: InventoryResource) => {
    const key = r.id.toLowerCase()
    if (!keyLists.has(key)) keyLists.set(key, allPages(budget, () => sourcesIn(r.subscriptionId).kvKeys(r.resourceGroup, r.name)))
    return keyLists.get(key)!
  }
  for (const resource of resources) {
    // Every read below goes to the subscription the resource lives in.
    const sources = sourcesIn(resource.subscriptionId)
    const wanted = factsFor(resource, rules, needed, environment)
    const [site, slot] = resource.type === RESOURCE_TYPES.slot ? resource.name.split('/') : [resource.name]
    for (const fact of wanted) {
      if (factsOf(resource)[fact]) continue
      const rg = resource.resourceGroup
      const read: Record<FactName, () => Promise<unknown>> = {
        pgConfigurations: async () =>
          Object.fromEntries((await allPages(budget, () => sources.pgConfigurations(rg, resource.name))).map((c) => [c.name, c.value])),
        pgFirewallRules: () => allPages(budget, () => sources.pgFirewallRules(rg, resource.name)),
        blobService: () => budget.run('arm', () => sources.blobService(rg, resource.name)),
        fileService: () => budget.run('arm', () => sources.fileService(rg, resource.name)),
        diagnosticSettings: () => budget.run('arm', () => sources.diagnosticSettings(resource.id)),
        redisPatchSchedule: () => budget.run('arm', () => sources.redisPatchSchedule(rg, resource.name)),
        siteConfig: async () => camelKeys(await budget.run('arm', () => sources.siteConfig(rg, site!, slot))),
        kvKeys: () => keyList(resource),
        frontDoorConfig: async () => ({...(await sources.frontDoorLists(resource.id, (send) => budget.run('arm', send))), wafPolicies: await wafPolicies()}),
        kvKeyRotationPolicies: async () => {
          const enabled = (await keyList(resource)).filter((k) => k.attributes?.enabled !== false)
          const entries = await Promise.all(enabled.map(async (k) => [k.name, await budget.run('arm', () => sources.kvKeyRotationPolicy(rg, resource.name, k.name))] as const))
          return Object.fromEntries(entries)
        },
        pgAdministrators: () => allPages(budget, () => sources.pgAdministrators(rg, resource.name)),
        redisFirewallRules: () => allPages(budget, () => sources.redisFirewallRules(rg, resource.name)),
        managedRedisDatabase: () => budget.run('arm', () => sources.managedRedisDatabase(resource.id)),
        managedRedisMaintenance: () => budget.run('arm', () => sources.managedRedisMaintenance(resource.id)),
        kvCertificates: () => {
          const uri = (resource.properties as {vaultUri?: string} | null | undefined)?.vaultUri
          if (!uri) return Promise.reject(new Error('the vault has no vaultUri'))
          return budget.run('arm', () => sources.kvCertificates(uri))
        },
        storageServiceDiagnostics: async () =>
          Object.fromEntries(
            await Promise.all(STORAGE_SERVICES.map(async (service) => [service, await budget.run('arm', () => sources.diagnosticSettings(`${resource.id}/${service}/default`))] as const)),
          ),
        // Collected in bulk above; never per resource.
        privateEndpoints: () => Promise.reject(new Error('private endpoints are read from Resource Graph')),
        kvSecrets: () => allPages(budget, () => sources.kvSecrets(rg, resource.name)),
        publishingCredentials: async () => {
          const [ftp, scm] = await Promise.all((['ftp', 'scm'] as const).map((policy) => budget.run('arm', () => sources.publishingCredentialsPolicy(rg, site!, slot, policy))))
          return {ftp, scm}
        },
        authSettings: () => budget.run('arm', () => sources.authSettingsV2(rg, site!, slot)),
      }
      tasks.push({resource, fact, read: read[fact]})
    }
  }
  // Locks: one ARM list per subscription ("Management Locks - List At Subscription Level" returns the locks at every
  // scope in it: the subscription, its resource groups and resources), so a subscription-scope lock counts.
  let locks: Inventory['locks'] = {ok: true, value: []}
  const lockTask = rules.some((r) => r.id === 'gov.lock.critical')
    ? mapBounded(subscriptions, 16, (subscription) => allPages(budget, () => sourcesIn(subscription).locks())).then(
        (lists) => (locks = {ok: true, value: lists.flat()}),
        (error) => (locks = {ok: false, error: describeError(error)}),
      )
    : Promise.resolve()
  await Promise.all([
    lockTask,
    mapBounded(tasks, 64, async (task) => {
      options.signal?.throwIfAborted()
      let fact: Fact
      try {
        fact = {ok: true, value: await task.read()}
      } catch (error) {
        if (options.signal?.aborted) throw error
        fact = {ok: false, error: describeError(error)}
      }
      factsOf(task.resource)[task.fact] = fact
    }),
  ])
  log(`ARM: ${tasks.length} per-resource read(s) and the locks of ${subscriptions.length === 1 ? 'the subscription' : `${subscriptions.length} subscriptions`}`)
  return {resources, facts, locks, defenderPlans, defenderPlansBySubscription, budget, subscriptions}
}

/**
 * Private endpoint connections by the lower-case id of the resource they reach. A connection to an App Service
 * slot targets the site with group id `sites-<slot>` ("Private endpoints for App Service apps"), so it is filed under
 * the slot's id.
 */
function privateEndpointsByTarget(rows: Record<string, unknown>[]): Map<string, Array<{name: string; status: string; groupIds: string[]}>> {
  const byTarget = new Map<string, Array<{name: string; status: string; groupIds: string[]}>>()
  for (const row of rows) {
    const properties = (row.properties ?? {}) as Record<string, any>
    const connections = [...(properties.privateLinkServiceConnections ?? []), ...(properties.manualPrivateLinkServiceConnections ?? [])]
    for (const connection of connections) {
      const p = connection?.properties ?? connection ?? {}
      const target = String(p.privateLinkServiceId ?? '').toLowerCase()
      if (!target) continue
      const groupIds: string[] = (p.groupIds ?? []).map(String)
      const slot = groupIds.map((g) => /^sites-(.+)$/i.exec(g)?.[1]).find(Boolean)
      const key = slot ? `${target}/slots/${slot.toLowerCase()}` : target
      const list = byTarget.get(key) ?? []
      list.push({name: String(row.name), status: String(p.privateLinkServiceConnectionState?.status ?? ''), groupIds})
      byTarget.set(key, list)
    }
  }
  return byTarget
}

/**
 * Every page of a Resource Graph query over every target (rows of overlapping targets once). After each page the
 * quota headers are obeyed: with none left, the next query waits until the quota resets.
 */
async function graphAll(sources: CheckSources, budget: RequestBudget, query: string, targets: GraphTarget[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
  const rows = new Map<string, Record<string, unknown>>()
  for (const target of targets) {
    let skipToken: string | undefined
    do {
      signal?.throwIfAborted()
      const page = await budget.run('resourceGraph', () => sources.resourceGraph(query, target.subscriptions, skipToken, target.managementGroups))
      if (page.quota) budget.graphQuota(page.quota)
      for (const row of page.data) rows.set(String(row.id ?? rows.size).toLowerCase(), row)
      skipToken = page.skipToken
    } while (skipToken)
  }
  return [...rows.values()]
}

/** Every page of an ARM list, each page inside the budget. */
async function allPages<T>(budget: RequestBudget, first: () => Promise<Paged<T>>): Promise<T[]> {
  const items: T[] = []
  let page: Paged<T> | undefined = await budget.run('arm', first)
  while (page) {
    items.push(...page.items)
    const next: (() => Promise<Paged<T>>) | undefined = page.next
    page = next ? await budget.run('arm', next) : undefined
  }
  return items
}

/**
 * The facts to read for one resource: those of the active rules that apply to it and need them for it
 * (`needsFacts`, decided from its Resource Graph row and catalog component). A slot's needs are its site's too (slot parity).
 */
function factsFor(resource: InventoryResource, rules: CheckRule[], needed: Map<ResourceType, Set<FactName>>, environment: Environment): Set<FactName> {
  const all = needed.get(resource.type) ?? new Set<FactName>()
  // Sites read what slots need (parity compares them); keep the type-level set for them.
  if (resource.type === RESOURCE_TYPES.site) return all
  const wanted = new Set<FactName>()
  // The catalog component the evaluation will see (evaluate.ts: componentOf), so a rule can skip what the catalog decides.
  const catalog = {environment, component: componentOf(resource, environment)}
  for (const rule of rules)
    if (rule.resourceTypes.includes(resource.type) && (rule.needsFacts?.(resource, catalog) ?? true)) for (const fact of rule.facts ?? []) wanted.add(fact)
  return wanted
}

/** Which facts each resource type needs, given the active rules. */
function factsNeeded(rules: CheckRule[]): Map<ResourceType, Set<FactName>> {
  const needed = new Map<ResourceType, Set<FactName>>()
  for (const rule of rules)
    for (const type of rule.resourceTypes) {
      const set = needed.get(type) ?? new Set<FactName>()
      for (const fact of rule.facts ?? []) set.add(fact)
      needed.set(type, set)
    }
  // Slot parity compares a slot with its production site: sites need what slots need.
  const slotFacts = needed.get(RESOURCE_TYPES.slot)
  if (slotFacts) for (const fact of slotFacts) needed.get(RESOURCE_TYPES.site)?.add(fact)
  return needed
}

function toResource(row: Record<string, unknown>, type: ResourceType): InventoryResource {
  return {
    id: String(row.id),
    type,
    name: String(row.name),
    resourceGroup: String(row.resourceGroup),
    subscriptionId: String(row.subscriptionId),
    location: row.location === undefined ? undefined : String(row.location),
    kind: row.kind === undefined || row.kind === null ? undefined : String(row.kind),
    tags: row.tags as InventoryResource['tags'],
    sku: row.sku as InventoryResource['sku'],
    identity: row.identity as InventoryResource['identity'],
    zones: Array.isArray(row.zones) ? (row.zones as string[]) : undefined,
    properties: row.properties as InventoryResource['properties'],
  }
}

/** Top-level keys camelCased: APRL-style Resource Graph rows spell config keys in PascalCase. */
function camelKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value ?? {}).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v]))
}

/** A short, secret-free description of a failed request: status, ARM code, message. */
export function describeError(error: unknown): string {
  const e = error as {statusCode?: number; code?: string; message?: string; response?: {status?: number}}
  const status = e?.statusCode ?? e?.response?.status
  const message = String(e?.message ?? error).split('\n')[0]!.slice(0, 200)
  return [status ? `HTTP ${status}` : undefined, e?.code && e.code !== String(status) ? e.code : undefined, message].filter(Boolean).join(' ')
}
