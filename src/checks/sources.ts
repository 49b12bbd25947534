/**
 * Where a scan reads from. `CheckSources` is the narrow port the collector uses, one method per request kind;
 * `sourcesFromServices` implements it with the unmodified Azure SDK clients of the client factory (real Azure or
 * the emulator). Each method returns one page or one resource, so the budget sees every request.
 */
import type {AzureServices} from '../azure/clients.js'
import type {LockInfo} from './types.js'

export interface GraphPage {
  data: Record<string, unknown>[]
  skipToken?: string
}

export interface Paged<T> {
  items: T[]
  /** Fetch the next page, when there is one. */
  next?: () => Promise<Paged<T>>
}

export interface CheckSources {
  /** One page of a Resource Graph query over `subscriptions`. */
  resourceGraph(query: string, subscriptions: string[], skipToken?: string): Promise<GraphPage>
  /** Server parameters, first page (name → value). */
  pgConfigurations(resourceGroup: string, server: string): Promise<Paged<{name: string; value?: string}>>
  pgFirewallRules(resourceGroup: string, server: string): Promise<Paged<{name: string; startIpAddress?: string; endIpAddress?: string}>>
  /** `blobServices/default` properties. */
  blobService(resourceGroup: string, account: string): Promise<Record<string, unknown>>
  diagnosticSettings(resourceId: string): Promise<Array<{name: string; logs: Array<{category?: string; categoryGroup?: string; enabled: boolean}>}>>
  /** The cache's `default` patch schedule, or null when it has none (404). */
  redisPatchSchedule(resourceGroup: string, cache: string): Promise<{scheduleEntries: Array<{dayOfWeek: string; startHourUtc: number; maintenanceWindow?: string}>} | null>
  /** `config/web` of a site or slot (fallback when Resource Graph has no row). */
  siteConfig(resourceGroup: string, site: string, slot?: string): Promise<Record<string, unknown>>
  /** Locks in the subscription, first page. */
  locks(): Promise<Paged<LockInfo>>
}

/** Lower-case scope of a lock from its id. */
export function lockScopeOf(lockId: string): string {
  const id = lockId.toLowerCase()
  const at = id.indexOf('/providers/microsoft.authorization/locks/')
  return at < 0 ? id : id.slice(0, at)
}

/**
 * Pages of an SDK `byPage()` iterator, one request each. `more(page)` reads the page's continuation token, so no
 * request is counted for the empty step after the last page.
 */
function pagedFrom<S, T>(iterator: AsyncIterableIterator<S[]>, map: (item: S) => T, more: (page: S[]) => boolean): () => Promise<Paged<T>> {
  const fetch = async (): Promise<Paged<T>> => {
    const page = await iterator.next()
    if (page.done) return {items: []}
    const items = page.value ?? []
    return {items: items.map(map), next: more(items) ? fetch : undefined}
  }
  return fetch
}

function isNotFound(error: unknown): boolean {
  const e = error as {statusCode?: number; status?: number}
  return e?.statusCode === 404 || e?.status === 404
}

/** CheckSources over the client factory's SDK clients. */
export function sourcesFromServices(services: AzureServices): CheckSources {
  return {
    async resourceGraph(query, subscriptions, skipToken) {
      const client = await services.resourceGraph()
      const response = await client.resources({query, subscriptions, options: {resultFormat: 'objectArray', skipToken, top: 1000}})
      return {data: (response.data as Record<string, unknown>[]) ?? [], skipToken: response.skipToken ?? undefined}
    },
    async pgConfigurations(resourceGroup, server) {
      const client = await services.postgres()
      const {getContinuationToken} = await import('@azure/arm-postgresql-flexible')
      const pages = client.configurations.listByServer(resourceGroup, server).byPage()
      return pagedFrom(pages, (c: any) => ({name: String(c.name), value: c.value ?? c.properties?.value}), (p) => Boolean(getContinuationToken(p)))()
    },
    async pgFirewallRules(resourceGroup, server) {
      const client = await services.postgres()
      const {getContinuationToken} = await import('@azure/arm-postgresql-flexible')
      const pages = client.firewallRules.listByServer(resourceGroup, server).byPage()
      return pagedFrom(
        pages,
        (r: any) => ({name: String(r.name), startIpAddress: r.startIpAddress ?? r.properties?.startIpAddress, endIpAddress: r.endIpAddress ?? r.properties?.endIpAddress}),
        (p) => Boolean(getContinuationToken(p)),
      )()
    },
    async blobService(resourceGroup, account) {
      const client = await services.storage()
      return (await client.blobServices.getServiceProperties(resourceGroup, account)) as unknown as Record<string, unknown>
    },
    async diagnosticSettings(resourceId) {
      const client = await services.monitor()
      // arm-monitor 7's models have no `categoryGroup` and drop it; read the wire body so `allLogs`/`audit` groups
      // count (Prowler #8460 reported allLogs as a failure for the same reason).
      let wire: {value?: unknown[]} | undefined
      const response = await client.diagnosticSettings.list(resourceId, {
        onResponse: (raw) => {
          wire = raw.bodyAsText ? JSON.parse(raw.bodyAsText) : undefined
        },
      })
      const items = (wire?.value ?? response.value ?? []).map((s: any) => ({name: s.name, logs: s.properties?.logs ?? s.logs}))
      return items.map((s: any) => ({
        name: String(s.name),
        logs: (s.logs ?? []).map((l: any) => ({category: l.category ?? undefined, categoryGroup: l.categoryGroup ?? undefined, enabled: l.enabled === true})),
      }))
    },
    async redisPatchSchedule(resourceGroup, cache) {
      const client = await services.redis()
      try {
        const schedule: any = await client.patchSchedules.get(resourceGroup, cache, 'default')
        return {scheduleEntries: schedule.scheduleEntries ?? []}
      } catch (error) {
        if (isNotFound(error)) return null
        throw error
      }
    },
    async siteConfig(resourceGroup, site, slot) {
      const client = await services.web()
      const config = slot ? await client.webApps.getConfigurationSlot(resourceGroup, site, slot) : await client.webApps.getConfiguration(resourceGroup, site)
      return config as unknown as Record<string, unknown>
    },
    async locks() {
      const client = await services.locks()
      const {getContinuationToken} = await import('@azure/arm-locks')
      const pages = client.managementLocks.listAtSubscriptionLevel().byPage()
      return pagedFrom(pages, (l: any) => ({scope: lockScopeOf(String(l.id)), level: String(l.level), name: String(l.name)}), (p) => Boolean(getContinuationToken(p)))()
    },
  }
}
