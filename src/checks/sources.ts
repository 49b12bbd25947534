/**
 * Where a scan reads from. `CheckSources` is the narrow port the collector uses, one method per request kind;
 * `sourcesFromServices` implements it with the unmodified Azure SDK clients of the client factory (real Azure or
 * the emulator). Each method returns one page or one resource, so the budget sees every request.
 */
import type {AzureServices} from '../azure/clients.js'
import {AMR_MAINTENANCE_API} from '../catalog/managed-redis-maintenance.js'
import {quotaResetMs} from './budget.js'
import type {FrontDoorConfig, LockInfo, VaultCertificate, VaultItem} from './types.js'

export interface GraphPage {
  data: Record<string, unknown>[]
  skipToken?: string
  /** The caller's Resource Graph quota after this query (x-ms-user-quota-remaining / -resets-after), when sent. */
  quota?: GraphQuota
}

export interface GraphQuota {
  remaining: number
  resetsAfterMs: number
}

export interface Paged<T> {
  items: T[]
  /** Fetch the next page, when there is one. */
  next?: () => Promise<Paged<T>>
}

export interface CheckSources {
  /** One page of a Resource Graph query over `subscriptions` (or, when given, over `managementGroups` instead). */
  resourceGraph(query: string, subscriptions: string[], skipToken?: string, managementGroups?: string[]): Promise<GraphPage>
  /** The same sources for another subscription (fleet scans read per-resource settings where each resource lives). */
  forSubscription?(subscription: string): CheckSources
  /** Server parameters, first page (name → value). */
  pgConfigurations(resourceGroup: string, server: string): Promise<Paged<{name: string; value?: string}>>
  pgFirewallRules(resourceGroup: string, server: string): Promise<Paged<{name: string; startIpAddress?: string; endIpAddress?: string}>>
  /** `blobServices/default` properties. */
  blobService(resourceGroup: string, account: string): Promise<Record<string, unknown>>
  /** `fileServices/default` properties. */
  fileService(resourceGroup: string, account: string): Promise<Record<string, unknown>>
  diagnosticSettings(resourceId: string): Promise<Array<{name: string; logs: Array<{category?: string; categoryGroup?: string; enabled: boolean}>}>>
  /** The cache's `default` patch schedule, or null when it has none (404). */
  redisPatchSchedule(resourceGroup: string, cache: string): Promise<{scheduleEntries: Array<{dayOfWeek: string; startHourUtc: number; maintenanceWindow?: string}>} | null>
  /** `config/web` of a site or slot (fallback when Resource Graph has no row). */
  siteConfig(resourceGroup: string, site: string, slot?: string): Promise<Record<string, unknown>>
  /** Locks in the subscription, first page. */
  locks(): Promise<Paged<LockInfo>>
  /** ARM `vaults/{vault}/keys`, first page (attributes and rotation policy; management plane, no key material). */
  kvKeys(resourceGroup: string, vault: string): Promise<Paged<VaultItem>>
  /** ARM `vaults/{vault}/secrets`, first page (attributes only: ARM never returns values). */
  kvSecrets(resourceGroup: string, vault: string): Promise<Paged<VaultItem>>
  /** `basicPublishingCredentialsPolicies/{ftp|scm}` of a site or slot: whether basic auth is allowed. */
  publishingCredentialsPolicy(resourceGroup: string, site: string, slot: string | undefined, policy: 'ftp' | 'scm'): Promise<{allow?: boolean}>
  /** `config/authsettingsV2` of a site or slot, the variant without secrets. */
  authSettingsV2(resourceGroup: string, site: string, slot?: string): Promise<Record<string, unknown>>
  /** One key (`GET vaults/{v}/keys/{key}`): its rotation policy, or null when it has none ("Omitted if empty"). */
  kvKeyRotationPolicy(resourceGroup: string, vault: string, key: string): Promise<VaultItem['rotationPolicy'] | null>
  /** Microsoft Entra administrators of a PostgreSQL flexible server, first page. */
  pgAdministrators(resourceGroup: string, server: string): Promise<Paged<{principalName?: string; principalType?: string}>>
  /**
   * Certificates of a vault (every page, up to 25 each) and the policy of each enabled one, from the Key Vault data plane (vault URL
   * from ARM's vaultUri): needs data-plane read access (e.g. the Key Vault Reader role) and network reach.
   */
  kvCertificates(vaultUri: string): Promise<VaultCertificate[]>
  /** Firewall rules of a Redis cache, first page. */
  redisFirewallRules(resourceGroup: string, cache: string): Promise<Paged<{name: string; startIP?: string; endIP?: string}>>
  /**
   * The `default` database of a Managed Redis cluster, as api-version 2025-07-01 returns it (accessKeysAuthentication
   * and persistence; the SDK's 2022-01-01 has no accessKeysAuthentication). Null when the cluster has no such database.
   */
  managedRedisDatabase(clusterId: string): Promise<Record<string, any> | null>
  /**
   * A Managed Redis cluster's `properties.maintenanceConfiguration` as its ARM GET at api-version 2026-09-01 returns it
   * (AMR_MAINTENANCE_API: the first stable version that has the property), null when it has none. Read only for
   * clusters whose Resource Graph row lacks the property (reads.ts, managedRedisMaintenance).
   */
  managedRedisMaintenance(clusterId: string): Promise<Record<string, any> | null>
  /**
   * A Front Door profile's security policies, AFD endpoints' routes and custom domains (every page of each list),
   * one ARM request per page, each sent through `within` (the collector's budget).
   */
  frontDoorLists(profileId: string, within: <T>(send: () => Promise<T>) => Promise<T>): Promise<Omit<FrontDoorConfig, 'wafPolicies'>>
  /**
   * The subscription's Defender for Cloud plans from ARM (plan name lower-cased → pricingTier), one list: the fallback
   * when Resource Graph rejects `securityresources`.
   */
  defenderPricings?(): Promise<Record<string, string>>
}

/** The Microsoft.Cdn api-version the Front Door checks read (what @azure/arm-cdn 9 sends; afdx.json 2024-02-01). */
export const FRONT_DOOR_CHECK_API = '2024-02-01'

/** The Microsoft.Security api-version of the Defender pricings list (security pricings.json, the emulator's too). */
export const DEFENDER_PRICINGS_API = '2024-01-01'

/** The Managed Redis api-version whose databases carry accessKeysAuthentication (stable since 2025-04-01; 2025-07-01 is the newest stable). */
export const MANAGED_REDIS_CHECK_API = '2025-07-01'

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

/** Whether a modular SDK page has a next page (its continuation token is the next link). */
function hasNextPage(page: unknown[]): boolean {
  return Boolean((page as {continuationToken?: string}).continuationToken)
}

/** An ISO time from a Date or from seconds since 1970 (Key Vault attribute times), else undefined. */
function isoTime(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString()
  return undefined
}

/** A Key Vault nextLink's path and query without api-version (keyVaultGet adds its own). */
function nextPath(nextLink: string): string {
  const url = new URL(nextLink)
  // URLSearchParams would write `$skiptoken` as `%24skiptoken`; keep the query as Key Vault wrote it.
  const query = url.search.replace(/^\?/, '').split('&').filter((part) => part && !/^api-version=/i.test(part)).join('&')
  return `${url.pathname}${query ? `?${query}` : ''}`
}

function isNotFound(error: unknown): boolean {
  const e = error as {statusCode?: number; status?: number}
  return e?.statusCode === 404 || e?.status === 404
}

/**
 * CheckSources over the client factory's SDK clients. `servicesFor` gives the services of another subscription (a
 * fleet scan's per-resource reads); without it every read goes to `services`' subscription.
 */
export function sourcesFromServices(services: AzureServices, servicesFor?: (subscription: string) => AzureServices): CheckSources {
  const others = new Map<string, CheckSources>()
  return {
    forSubscription(subscription) {
      const key = subscription.toLowerCase()
      if (!servicesFor || key === services.subscription.toLowerCase()) return this
      if (!others.has(key)) others.set(key, sourcesFromServices(servicesFor(subscription)))
      return others.get(key)!
    },
    async resourceGraph(query, subscriptions, skipToken, managementGroups) {
      const client = await services.resourceGraph()
      const scope = managementGroups?.length ? {managementGroups} : {subscriptions}
      const response = await client.resources({query, ...scope, options: {resultFormat: 'objectArray', skipToken, top: 1000}})
      // The quota headers of every response (guidance-for-throttled-requests): the collector backs off on them.
      const headers = response._response?.headers
      const remaining = headers?.get('x-ms-user-quota-remaining')
      const resetsAfterMs = quotaResetMs(headers?.get('x-ms-user-quota-resets-after'))
      const quota = remaining !== undefined && /^\d+$/.test(remaining) && resetsAfterMs !== undefined ? {remaining: Number(remaining), resetsAfterMs} : undefined
      return {data: (response.data as Record<string, unknown>[]) ?? [], skipToken: response.skipToken ?? undefined, quota}
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
    async fileService(resourceGroup, account) {
      const client = await services.storage()
      return (await client.fileServices.getServiceProperties(resourceGroup, account)) as unknown as Record<string, unknown>
    },
    async diagnosticSettings(resourceId) {
      const client = await services.monitor()
      const {createPipelineRequest, RestError} = await import('@azure/core-rest-pipeline')
      // arm-monitor 7 reads diagnostic settings at 2017-05-01-preview, whose LogSettings has no categoryGroup
      // (Microsoft.Insights/preview/2017-05-01-preview/diagnosticsSettings_API.json), so `allLogs`/`audit` groups
      // would not count (Prowler #8460 reported allLogs as a failure for the same reason). Read 2021-05-01-preview,
      // the version that defines categoryGroup, through the client's own pipeline (credential, TLS, policies).
      const url = `${services.armEndpoint}${resourceId}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview`
      const response = await client.sendRequest(createPipelineRequest({url, method: 'GET'}))
      const body = response.bodyAsText ? JSON.parse(response.bodyAsText) : {}
      if (response.status >= 400)
        throw new RestError(body?.error?.message ?? `GET diagnostic settings answered ${response.status}`, {code: body?.error?.code, statusCode: response.status, request: response.request, response})
      return ((body.value ?? []) as any[]).map((s) => ({
        name: String(s.name),
        logs: (s.properties?.logs ?? []).map((l: any) => ({category: l.category ?? undefined, categoryGroup: l.categoryGroup ?? undefined, enabled: l.enabled === true})),
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
    async kvKeys(resourceGroup, vault) {
      const client = await services.keyvault()
      const pages = client.keys.list(resourceGroup, vault).byPage()
      return pagedFrom(
        pages,
        (k: any): VaultItem => ({
          name: String(k.name),
          // arm-keyvault 5 flattens key properties; `expires` is seconds since 1970 here (a Date for secrets).
          attributes: k.attributes ? {enabled: k.attributes.enabled, expires: isoTime(k.attributes.expires)} : undefined,
          rotationPolicy: k.rotationPolicy ?? undefined,
        }),
        hasNextPage,
      )()
    },
    async kvSecrets(resourceGroup, vault) {
      const client = await services.keyvault()
      const pages = client.secrets.list(resourceGroup, vault).byPage()
      return pagedFrom(
        pages,
        (s: any): VaultItem => {
          const attributes = s.properties?.attributes
          return {name: String(s.name), attributes: attributes ? {enabled: attributes.enabled, expires: isoTime(attributes.expires)} : undefined}
        },
        hasNextPage,
      )()
    },
    async publishingCredentialsPolicy(resourceGroup, site, slot, policy) {
      const client = await services.web()
      const apps = client.webApps
      const entity =
        policy === 'ftp'
          ? slot
            ? await apps.getFtpAllowedSlot(resourceGroup, site, slot)
            : await apps.getFtpAllowed(resourceGroup, site)
          : slot
            ? await apps.getScmAllowedSlot(resourceGroup, site, slot)
            : await apps.getScmAllowed(resourceGroup, site)
      return {allow: entity.allow}
    },
    async authSettingsV2(resourceGroup, site, slot) {
      const client = await services.web()
      // The WithoutSecrets variant (GET config/authsettingsV2): the check needs platform.enabled, never a secret.
      const settings = slot
        ? await client.webApps.getAuthSettingsV2WithoutSecretsSlot(resourceGroup, site, slot)
        : await client.webApps.getAuthSettingsV2WithoutSecrets(resourceGroup, site)
      return {platform: settings.platform}
    },
    async kvCertificates(vaultUri) {
      // Get Certificates (keyvault 7.5 certificates.json, GetCertificates-example.json): CertificateItem[] with
      // attributes {enabled, nbf, exp} in seconds since 1970; each policy from Get Certificate Policy.
      const read = async (path: string) => {
        const response = await services.keyVaultGet(vaultUri, path)
        // The status travels with the error, so the budget retries a 429 (Key Vault throttles with 429, "Azure Key
        // Vault throttling guidance", learn.microsoft.com/azure/key-vault/general/overview-throttling) instead of
        // turning a busy vault into an unreadable fact.
        if (response.status !== 200)
          throw Object.assign(new Error(`Key Vault ${path} answered ${response.status}${response.body?.error?.message ? `: ${response.body.error.message}` : ''}`), {statusCode: response.status})
        return response.body
      }
      // Every page: Key Vault returns up to 25 certificates a page ("If not specified the service will return up to 25
      // results", GetCertificates maxresults) with an absolute nextLink on the vault's host; its path and query (less
      // api-version, which keyVaultGet adds) are read from the same vault.
      type Item = {id: string; attributes?: {enabled?: boolean; nbf?: number; exp?: number}}
      const items: Item[] = []
      let path: string | undefined = '/certificates'
      for (let pages = 0; path && pages < 1000; pages++) {
        const page = (await read(path)) as {value?: Item[]; nextLink?: string | null}
        items.push(...(page.value ?? []))
        path = page.nextLink ? nextPath(page.nextLink) : undefined
      }
      return Promise.all(
        items.map(async (item): Promise<VaultCertificate> => {
          const name = decodeURIComponent(item.id.replace(/\/+$/, '').split('/').pop()!)
          const attributes = item.attributes ? {enabled: item.attributes.enabled, notBefore: isoTime(item.attributes.nbf), expires: isoTime(item.attributes.exp)} : undefined
          if (attributes?.enabled === false) return {name, attributes}
          const policy = await read(`/certificates/${encodeURIComponent(name)}/policy`)
          return {name, attributes, policy: {issuer: policy?.issuer?.name, lifetimeActions: policy?.lifetime_actions ?? []}}
        }),
      )
    },
    async kvKeyRotationPolicy(resourceGroup, vault, key) {
      const client = await services.keyvault()
      const found: any = await client.keys.get(resourceGroup, vault, key)
      return (found.rotationPolicy ?? found.properties?.rotationPolicy ?? null) as VaultItem['rotationPolicy'] | null
    },
    async pgAdministrators(resourceGroup, server) {
      const client = await services.postgres()
      const {getContinuationToken} = await import('@azure/arm-postgresql-flexible')
      const pages = client.administratorsMicrosoftEntra.listByServer(resourceGroup, server).byPage()
      return pagedFrom(pages, (a: any) => ({principalName: a.principalName ?? undefined, principalType: a.principalType ?? undefined}), (p) => Boolean(getContinuationToken(p)))()
    },
    async managedRedisDatabase(clusterId) {
      const response = await services.armRequest('GET', `${clusterId}/databases/default`, {apiVersion: MANAGED_REDIS_CHECK_API})
      if (response.status === 404) return null
      if (response.status >= 400) throw new Error(response.body?.error?.message ?? `GET the database of ${clusterId} answered ${response.status}`)
      return response.body as Record<string, any>
    },
    async managedRedisMaintenance(clusterId) {
      const response = await services.armRequest('GET', clusterId, {apiVersion: AMR_MAINTENANCE_API})
      if (response.status >= 400) throw new Error(response.body?.error?.message ?? `GET ${clusterId} answered ${response.status}`)
      return (response.body?.properties?.maintenanceConfiguration ?? null) as Record<string, any> | null
    },
    async frontDoorLists(profileId, within) {
      const list = async (path: string): Promise<Array<{name: string; properties: Record<string, any>}>> => {
        const items: Array<{name: string; properties: Record<string, any>}> = []
        let next: string | undefined = path
        while (next) {
          const url: string = next
          const response = await within(() => services.armRequest('GET', url, url === path ? {apiVersion: FRONT_DOOR_CHECK_API} : {}))
          if (response.status >= 400) throw new Error(response.body?.error?.message ?? `GET ${path} answered ${response.status}`)
          for (const item of response.body?.value ?? []) items.push({name: String(item.name), properties: item.properties ?? {}})
          next = response.body?.nextLink ?? undefined
        }
        return items
      }
      const [securityPolicies, endpoints, customDomains] = await Promise.all([
        list(`${profileId}/securityPolicies`),
        list(`${profileId}/afdEndpoints`),
        list(`${profileId}/customDomains`),
      ])
      const routes = (await Promise.all(endpoints.map(async (e) => (await list(`${profileId}/afdEndpoints/${e.name}/routes`)).map((r) => ({...r, endpoint: e.name}))))).flat()
      return {securityPolicies, routes, customDomains}
    },
    async redisFirewallRules(resourceGroup, cache) {
      const client = await services.redis()
      const {getContinuationToken} = await import('@azure/arm-rediscache')
      const pages = client.firewallRules.list(resourceGroup, cache).byPage()
      return pagedFrom(pages, (r: any) => ({name: String(r.name).split('/').pop()!, startIP: r.startIP, endIP: r.endIP}), (p) => Boolean(getContinuationToken(p)))()
    },
    async defenderPricings() {
      // Pricings_List: GET /subscriptions/{id}/providers/Microsoft.Security/pricings (security pricings.json
      // 2024-01-01; learn.microsoft.com/dotnet/api/azure.resourcemanager.securitycenter.securitycenterpricingcollection.getall).
      const response = await services.armRequest('GET', `/subscriptions/${services.subscription}/providers/Microsoft.Security/pricings`, {apiVersion: DEFENDER_PRICINGS_API})
      if (response.status >= 400)
        throw Object.assign(new Error(response.body?.error?.message ?? `GET the Defender pricings answered ${response.status}`), {statusCode: response.status})
      const plans: Record<string, string> = {}
      for (const p of response.body?.value ?? []) plans[String(p.name).toLowerCase()] = String(p.properties?.pricingTier ?? '')
      return plans
    },
    async locks() {
      const client = await services.locks()
      const {getContinuationToken} = await import('@azure/arm-locks')
      const pages = client.managementLocks.listAtSubscriptionLevel().byPage()
      return pagedFrom(pages, (l: any) => ({scope: lockScopeOf(String(l.id)), level: String(l.level), name: String(l.name)}), (p) => Boolean(getContinuationToken(p)))()
    },
  }
}
