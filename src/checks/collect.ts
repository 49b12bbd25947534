/**
 * Collect what the checks read: Resource Graph in bulk (one `resources` query for every covered type and locks,
 * one `appserviceresources` query for site and slot config, paged with skipToken), then per-resource ARM calls
 * only for what Resource Graph lacks (PostgreSQL parameters and firewall rules, blob service properties,
 * diagnostic settings, Redis patch schedules, Key Vault key and secret lists, App Service basic-auth policies and
 * authsettingsV2; locks and site config when Resource Graph has none). Every
 * request goes through the budget. A per-resource call that fails becomes an unreadable fact (→ `error`), never a
 * missing one that could pass.
 */
import type {Environment} from '../catalog/schema.js'
import {mapBounded, RequestBudget, type BudgetOptions} from './budget.js'
import type {Inventory} from './evaluate.js'
import {CHECKS} from './rules/index.js'
import {lockScopeOf, type CheckSources, type Paged} from './sources.js'
import {ALL_RESOURCE_TYPES, RESOURCE_TYPES, type CheckRule, type Fact, type FactName, type InventoryResource, type LockInfo, type ResourceFacts, type ResourceType} from './types.js'

const LOCK_TYPE = 'microsoft.authorization/locks'
const CONFIG_TYPES = ['microsoft.web/sites/config', 'microsoft.web/sites/slots/config']

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
}

export interface Collected extends Inventory {
  budget: RequestBudget
}

/** The KQL for the bulk inventory: the covered types plus locks, only the columns the checks read. */
export function inventoryQuery(types: string[] = [...ALL_RESOURCE_TYPES, LOCK_TYPE]): string {
  return `resources | where type in~ (${types.map((t) => `'${t}'`).join(', ')}) | project id, name, type, kind, location, resourceGroup, subscriptionId, tags, sku, identity, properties`
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
  const subscriptions = [environment.subscription]
  const groups = new Set(environment.resourceGroups.map((g) => g.toLowerCase()))
  const inScope = (row: Record<string, unknown>) =>
    String(row.subscriptionId ?? '').toLowerCase() === environment.subscription.toLowerCase() && groups.has(String(row.resourceGroup ?? '').toLowerCase())

  // 1. One paged Resource Graph query for every covered resource and lock.
  const rows = (await graphAll(sources, budget, inventoryQuery(), subscriptions, options.signal)).filter(inScope)
  const resources: InventoryResource[] = []
  const graphLocks: LockInfo[] = []
  for (const row of rows) {
    const type = String(row.type).toLowerCase()
    if (type === LOCK_TYPE) {
      graphLocks.push({scope: lockScopeOf(String(row.id)), level: String((row.properties as any)?.level ?? ''), name: String(row.name)})
      continue
    }
    if (!(ALL_RESOURCE_TYPES as string[]).includes(type)) continue
    resources.push(toResource(row, type as ResourceType))
  }
  log(`Resource Graph: ${resources.length} resource(s) and ${graphLocks.length} lock(s) in ${environment.resourceGroups.join(', ')}`)

  const needed = factsNeeded(rules)
  const facts = new Map<string, ResourceFacts>(resources.map((r) => [r.id.toLowerCase(), {}]))
  const factsOf = (r: InventoryResource) => facts.get(r.id.toLowerCase())!

  // 2. Site and slot config from appserviceresources, keyed by the site/slot id.
  const apps = resources.filter((r) => (r.type === RESOURCE_TYPES.site || r.type === RESOURCE_TYPES.slot) && needed.get(r.type)?.has('siteConfig'))
  if (apps.length > 0) {
    const configRows = (await graphAll(sources, budget, siteConfigQuery(), subscriptions, options.signal)).filter(inScope)
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

  // 3. Per-resource ARM calls for what Resource Graph lacks.
  type Task = {resource: InventoryResource; fact: FactName; read: () => Promise<unknown>}
  const tasks: Task[] = []
  for (const resource of resources) {
    const wanted = needed.get(resource.type) ?? new Set<FactName>()
    const [site, slot] = resource.type === RESOURCE_TYPES.slot ? resource.name.split('/') : [resource.name]
    for (const fact of wanted) {
      if (factsOf(resource)[fact]) continue
      const rg = resource.resourceGroup
      const read: Record<FactName, () => Promise<unknown>> = {
        pgConfigurations: async () =>
          Object.fromEntries((await allPages(budget, () => sources.pgConfigurations(rg, resource.name))).map((c) => [c.name, c.value])),
        pgFirewallRules: () => allPages(budget, () => sources.pgFirewallRules(rg, resource.name)),
        blobService: () => budget.run('arm', () => sources.blobService(rg, resource.name)),
        diagnosticSettings: () => budget.run('arm', () => sources.diagnosticSettings(resource.id)),
        redisPatchSchedule: () => budget.run('arm', () => sources.redisPatchSchedule(rg, resource.name)),
        siteConfig: async () => camelKeys(await budget.run('arm', () => sources.siteConfig(rg, site!, slot))),
        kvKeys: () => allPages(budget, () => sources.kvKeys(rg, resource.name)),
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
  let locks: Inventory['locks'] = {ok: true, value: graphLocks}
  const lockTask =
    graphLocks.length === 0 && rules.some((r) => r.id === 'gov.lock.critical')
      ? allPages(budget, () => sources.locks()).then(
          (value) => (locks = {ok: true, value}),
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
  log(`ARM: ${tasks.length} per-resource read(s)${graphLocks.length === 0 ? ' and the subscription locks' : ''}`)
  return {resources, facts, locks, budget}
}

/** Every page of a Resource Graph query. */
async function graphAll(sources: CheckSources, budget: RequestBudget, query: string, subscriptions: string[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  let skipToken: string | undefined
  do {
    signal?.throwIfAborted()
    const page = await budget.run('resourceGraph', () => sources.resourceGraph(query, subscriptions, skipToken))
    rows.push(...page.data)
    skipToken = page.skipToken
  } while (skipToken)
  return rows
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
