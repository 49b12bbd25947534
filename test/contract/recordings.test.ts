/**
 * Real Azure's own answers: interactions from the Azure CLI's live-test recordings (VCR cassettes,
 * test/fixtures/azure-cli-recordings) replayed against the emulator — same method, path, api-version and body, with
 * the subscription, resource group and resource names mapped onto the emulator's seeded world — comparing with what
 * Azure answered (LocalStack's parity snapshots are the model): the status code; the LRO headers (Azure-AsyncOperation
 * and Location exactly, each monitor at the path Azure's was, Retry-After where Azure sent one); the body's presence; its shape (no property Azure did not
 * answer, the resource type, the envelope Azure filled in, Azure's error code, publishing profiles for XML); and that
 * a started long-running operation ends Succeeded, as every recorded one did.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {startFixture, type Fixture} from '../azure/helpers.js'
import {sendRaw, type RawAnswer} from './http.js'
import {contractRegistry} from './specs.js'

const RECORDED_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000'
const ROOT = join(import.meta.dirname, '..', 'fixtures', 'azure-cli-recordings')
const registry = contractRegistry()
let fixture: Fixture

/** The recordings' generated names → the seeded resources that stand in for them (runbooks.yaml, `local`). */
const NAMES: Array<[RegExp, string]> = [
  [/cli_test_redis\d+/g, 'rg-shop-local'],
  [/cliredis\d+/g, 'redis-shop-sessions'],
  // The storage account of the monitor module's recording (`clitest.rg…` before `clitest…`).
  [/clitest\.rg\d+/g, 'rg-shop-local'],
  // The App Service module's site with a staging slot, and its plan.
  [/slot-swap-web\d+/g, 'app-shop-storefront'],
  [/slot-swap-plan\d+/g, 'asp-app-shop-storefront'],
  // The plan of the App Service module's managed-instance recording (az 2.86, 2025-05-01).
  [/mi-plan\d+/g, 'asp-app-shop-storefront'],
  // The App Service module's `webapp config` test (az 2.38, 2022-03-01): its Linux site's connection strings.
  [/cli_test_webapp_config\d+/g, 'rg-shop-local'],
  [/webapp-linux\d+/g, 'app-shop-storefront'],
  [/clitest\d+/g, 'stshopevidence'],
]

/** Recordings that create their resource map its name onto a new one (the seeded cache would make the PUT an update). */
const NEW_RESOURCE_NAMES: Record<string, Array<[RegExp, string]>> = {
  'redis/test_redis_cache_with_tags_and_zones.yaml': [[/cliredis\d+/g, 'redis-created-zones']],
  // `webapp deployment slot create` of the staging slot: the seeded site has one, so the replay creates another.
  'appservice/test_webapp_slot_swap_slot_create.yaml': [[/slots\/staging/g, 'slots/recorded']],
  'redis/test_redis_cache_with_mandatory_args.yaml': [[/cliredis\d+/g, 'redis-created-basic']],
  'redis/test_standard_redis_cache_zonal_allocation_policy.yaml': [[/cliredis\d+/g, 'redis-created-standard']],
  'redis/test_premium_redis_cache_zonal_allocation_policy.yaml': [[/cliredis\d+/g, 'redis-created-premium']],
  // The restore's source is the seeded server (in the environment's region); its target is a new server.
  'postgresql/test_postgres_flexible_server_restore_mgmt.yaml': [
    [/azuredbclitest-000002/g, 'pg-shop-orders'],
    [/azuredbclitest-000003/g, 'pg-restored-recording'],
    [/canadacentral/g, 'eastus'],
    [/Canada Central/g, 'East US'],
  ],
  // Backups of the seeded server (its automatic backups are days old; the recorded server's was minutes old).
  'postgresql/test_postgres_flexible_server_backups_mgmt.yaml': [
    [/azuredbclitest-000002/g, 'pg-shop-orders'],
    [/canadacentral/g, 'eastus'],
    [/Canada Central/g, 'East US'],
  ],
  // `flexible-server show` and `upgrade --version 17` onto the server the replica cassette created and promoted (16 → 17).
  'postgresql/test_postgres_flexible_server_upgrade_mgmt.yaml': [
    [/azuredbclitest-000002/g, 'pg-replica-recording'],
    [/canadacentral/g, 'eastus'],
    [/Canada Central/g, 'East US'],
  ],
  // `parameter show / set` on the seeded server.
  'postgresql/test_postgres_flexible_server_parameter_mgmt.yaml': [
    [/azuredbclitest-000002/g, 'pg-shop-orders'],
    [/canadacentral/g, 'eastus'],
    [/Canada Central/g, 'East US'],
  ],
  // The same cassette's `flexible-server delete`, replayed onto the replica an earlier cassette created and promoted.
  'postgresql/test_postgres_flexible_server_parameter_mgmt.delete.yaml': [[/azuredbclitest-000002/g, 'pg-replica-recording'], [/Canada Central/g, 'East US']],
  // `keyvault create`'s final GET: the seeded vault stands in for the created one; its first GET: a vault that does not exist.
  'keyvault/test_keyvault_creation.yaml': [[/cli_test_keyvault_mgmt\d+/g, 'rg-shop-local'], [/cli-test-kv-mgmt-\d+/g, 'kv-shop-local']],
  'keyvault/test_keyvault_creation.notfound.yaml': [[/cli_test_keyvault_mgmt\d+/g, 'rg-shop-local'], [/cli-test-kv-mgmt-\d+/g, 'kv-not-recorded']],
  // Diagnostic settings on a network security group (not modelled): the seeded key vault stands in for it.
  'monitor/test_monitor_diagnostic_settings_scenario.yaml': [[/Microsoft\.Network\/networkSecurityGroups\/nsg\d+/g, 'Microsoft.KeyVault/vaults/kv-shop-local']],
  // The replica's primary is the seeded server; the replica is a new server, created then promoted.
  'postgresql/test_postgres_flexible_server_replica_mgmt.yaml': [
    [/azuredbclitest-000003/g, 'pg-shop-orders'],
    [/azuredbclirep1000004/g, 'pg-replica-recording'],
    [/canadacentral/g, 'eastus'],
    [/Canada Central/g, 'East US'],
  ],
}

/**
 * Recorded instants that must lie in the emulator's present: a point-in-time restore's `pointInTimeUTC` has to fall in
 * the source's retention window (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore),
 * so the recorded instant (3 s before the request) becomes one minute before the replay.
 */
const RECENT_INSTANTS: Record<string, RegExp> = {
  'postgresql/test_postgres_flexible_server_restore_mgmt.yaml': /"pointInTimeUTC": "[^"]+"/g,
}

/**
 * Properties Azure returns only once they are set, or only for a configuration the seeded resources have and the
 * recorded ones did not, by resource type:
 * - the seeded cache requires TLS 1.2 (runbooks.yaml); the seeded vault uses RBAC authorization;
 * - the seeded account is StorageV2 with geo-redundant storage (Standard_GRS), the recorded one a general-purpose v1
 *   (`kind: Storage`) Standard_LRS account: `accessTier` is returned for StorageV2 and Blob accounts only, the secondary
 *   location and its status for geo-redundant accounts only (storage.json StorageAccountProperties); and
 *   `allowCrossTenantReplication` is returned as false for accounts created since Azure changed its default
 *   (https://learn.microsoft.com/azure/storage/common/object-replication-prevent-cross-tenant-policies), after the
 *   2021 recording.
 */
const SET_ONLY_WHEN_CONFIGURED: Record<string, Record<string, true>> = {
  'Microsoft.Cache': {minimumTlsVersion: true},
  'Microsoft.Storage': {accessTier: true, secondaryLocation: true, statusOfSecondary: true, allowCrossTenantReplication: true},
  // The seeded vault sets RBAC authorization (and may set purge protection); the recorded `keyvault create` left both
  // unset (null in its template), and Azure returned neither.
  'Microsoft.KeyVault': {enableRbacAuthorization: true, enablePurgeProtection: true},
}

/**
 * Top-level properties the seeded resources have and the recorded ones did not: the seeded web app has a
 * system-assigned managed identity (`identity`, ManagedServiceIdentity in the Microsoft.Web documents, returned only when
 * one is assigned); the recorded `az webapp create` assigned none.
 */
const SEEDED_TOP_LEVEL: Record<string, Record<string, true>> = {
  'Microsoft.Web': {identity: true},
}

/**
 * Resources whose `properties` are the user's own keys (a StringDictionary: app settings; a ConnectionStringDictionary:
 * connection strings), not a shape to compare.
 */
const USER_KEYED_PROPERTIES = /\/config\/(appsettings|connectionstrings)(\/list)?$/i

/** Connection strings (WebApps_ListConnectionStrings / UpdateConnectionStrings): their values are secrets. */
const CONNECTION_STRINGS = /\/config\/connectionstrings(\/list)?$/i

interface Interaction {
  request: {method: string; uri: string; body: string | null}
  response: {status: {code: number}; headers: Record<string, string[]>; body: {string: string}}
}

// `*.delete.yaml` (a recorded deletion, mapped onto a resource an earlier cassette created) replay after all the others.
const cassettes = readdirSync(ROOT, {withFileTypes: true})
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(ROOT, d.name)).map((f) => join(d.name, f)))
  .filter((f) => f.endsWith('.yaml'))
  .sort((a, b) => Number(a.endsWith('.delete.yaml')) - Number(b.endsWith('.delete.yaml')) || (a < b ? -1 : a > b ? 1 : 0))

beforeAll(async () => {
  fixture = await startFixture({lroDurationMs: 20})
})
afterAll(async () => fixture?.stop())

/**
 * Recordings whose site had App Service Authentication off (what `az webapp create` leaves) while the seeded stand-in
 * has it on in every slot: it is switched off on the stand-in's slots while the cassette replays, as Azure refuses a
 * swap with preview when either slot has site authentication on (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap).
 */
const SITE_AUTHENTICATION_OFF: Record<string, string[]> = {
  'appservice/test_webapp_slot_swap.yaml': ['', '/slots/staging'],
}

/** Cassettes whose replay has written the site's connection strings (from then on they are compared with Azure's). */
const connectionStringsWritten = new Set<string>()

describe.each(cassettes)('az recording %s replayed against the emulator', (cassette) => {
  const interactions = (parse(readFileSync(join(ROOT, cassette), 'utf8')) as {interactions: Interaction[]}).interactions
  const authOff = SITE_AUTHENTICATION_OFF[cassette]
  if (authOff) {
    const site = () => `/subscriptions/${fixture.emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Web/sites/app-shop-storefront`
    const saved: unknown[] = []
    const put = async (slot: string, properties: unknown) => {
      const answer = await sendRaw(fixture.emulator, 'PUT', `${site()}${slot}/config/authsettingsV2?api-version=2025-05-01`, JSON.stringify({properties}))
      expect(answer.status).toBe(200)
    }
    beforeAll(async () => {
      for (const slot of authOff) {
        const properties = (await sendRaw(fixture.emulator, 'GET', `${site()}${slot}/config/authsettingsV2?api-version=2025-05-01`)).body as {properties: {platform?: object}}
        saved.push(properties.properties)
        await put(slot, {...properties.properties, platform: {...properties.properties.platform, enabled: false}})
      }
    })
    afterAll(async () => {
      for (const [i, slot] of authOff.entries()) await put(slot, saved[i])
    })
  }
  // Interactions run in order: later ones see what earlier ones changed, as they did in Azure.
  for (const [index, interaction] of interactions.entries()) {
    const url = new URL(interaction.request.uri)
    it(`${index + 1}. ${interaction.request.method} ${url.pathname.split('/').slice(-2).join('/')} answers as Azure did`, async () => {
      const path = mapNames(url.pathname, cassette).replace(RECORDED_SUBSCRIPTION, fixture.emulator.subscription)
      // Resource ids in the body (a restore's source server) name the recorded subscription too.
      const body = interaction.request.body === null ? undefined : mapNames(interaction.request.body, cassette).replaceAll(RECORDED_SUBSCRIPTION, fixture.emulator.subscription)
      const answer = await sendRaw(fixture.emulator, interaction.request.method, `${path}${url.search}`, body)
      const azure = interaction.response
      // (The answer is printed when the status differs, with any access key masked: keys are never printed.)
      expect(answer.status, JSON.stringify(answer.body, (k, v) => ((/key$/i.test(k) || (k === 'value' && CONNECTION_STRINGS.test(path))) && typeof v === 'string' ? '***' : v))).toBe(azure.status.code)
      expect(lroHeaders(answer.headers)).toEqual(lroHeaders(azure.headers))
      // And where each monitor lives: the same path as Azure's (names mapped), but for the operation's own id.
      for (const header of lroHeaders(azure.headers)) {
        const recorded = String(Object.entries(azure.headers).find(([h]) => h.toLowerCase() === header)![1])
        const monitorPath = (url: string) => monitorShape(new URL(url).pathname)
        const azurePath = mapNames(decodeURIComponent(new URL(recorded).pathname), cassette).replace(RECORDED_SUBSCRIPTION, fixture.emulator.subscription)
        expect([header, monitorPath(String(answer.headers[header]))]).toEqual([header, monitorShape(azurePath)])
      }
      // Retry-After: where Azure sent one the emulator must too. The emulator also sends `Retry-After: 1` where Azure
      // sent none (no recorded PostgreSQL or Redis operation has one): a deliberate deviation, without which az's
      // azure-core polling waits its 30 s default between polls (src/emulator/lro.ts).
      if (hasHeader(azure.headers, 'retry-after')) expect(hasHeader(answer.headers, 'retry-after')).toBe(true)
      // An XML answer (`publishxml`): the same publishing profiles, by name and method (credentials are not compared).
      if (/xml/i.test(azure.headers['content-type']?.[0] ?? '')) {
        expect(answer.headers['content-type']).toMatch(/xml/i)
        expect(publishProfiles(String(answer.body), path)).toEqual(publishProfiles(mapNames(azure.body.string, cassette), path))
        return
      }
      const azureBody = azure.body.string ? JSON.parse(azure.body.string) : undefined
      expect(answer.body === undefined).toBe(azureBody === undefined)
      if (azureBody !== undefined) {
        // Shape: the emulator answers with no property Azure did not have, at the top level and in `properties`.
        // (`tags` too, where the recorded resource had none: the seeded resources carry the catalog's required tags.)
        const provider = /\/providers\/(Microsoft\.[A-Za-z]+)\//.exec(path)?.[1] ?? ''
        expect(extraKeys(answer.body, {...azureBody, tags: true, ...(NEW_RESOURCE_NAMES[cassette] ? {} : SEEDED_TOP_LEVEL[provider])})).toEqual([])
        // Access keys (`redis list-keys`): two keys of Azure's form (44 base64 characters), compared without printing them.
        for (const key of ['primaryKey', 'secondaryKey'])
          if (typeof azureBody[key] === 'string') expect(/^[A-Za-z0-9+/]{43}=$/.test(String((answer.body as any)?.[key])), `${key} is 44 base64 characters`).toBe(true)
        // An error answers with Azure's error code.
        if (azureBody.error) expect((answer.body as any)?.error?.code).toBe(azureBody.error.code)
        // The resource type as Azure names it (ARM compares types case-insensitively).
        if (typeof azureBody.type === 'string') expect(String((answer.body as any)?.type).toLowerCase()).toBe(azureBody.type.toLowerCase())
        // And none of the resource envelope Azure filled in is missing (a value of null counts as absent), except where
        // Azure answers what its own spec does not define (SPEC_OVER_AZURE).
        expect(ENVELOPE.filter((k) => azureBody[k] != null && (answer.body as any)?.[k] == null && !SPEC_OVER_AZURE.some(([p, key]) => key === k && p.test(path)))).toEqual([])
        if (!USER_KEYED_PROPERTIES.test(path))
          expect(extraKeys((answer.body as any).properties, {...azureBody.properties, ...SET_ONLY_WHEN_CONFIGURED[provider]})).toEqual([])
        // Swap with preview: the slot a site is prepared to swap with, as Azure answered it after applySlotConfig.
        if (typeof azureBody.properties?.targetSwapSlot === 'string') expect((answer.body as any).properties?.targetSwapSlot).toBe(azureBody.properties.targetSwapSlot)
        // A site's siteConfig: the emulator fills in no setting Azure left null there (the rest is read from config/web).
        const azureSiteConfig = azureBody.properties?.siteConfig
        if (azureSiteConfig && typeof azureSiteConfig === 'object')
          expect(extraKeys(nonNull((answer.body as any).properties?.siteConfig), nonNull(azureSiteConfig))).toEqual([])
        // Automatic backups are named as Azure names them (`backup_<.NET ticks>`): the name az's `backup show` takes.
        if (/\/backups$/i.test(path))
          expect(automaticBackupNames(answer.body).map(nameShape)).toEqual(automaticBackupNames(answer.body).map(() => nameShape(automaticBackupNames(azureBody)[0]!)))
        // Connection strings, once the replay has written them itself (the seeded site may have its own before): the
        // same names and types as Azure answered, and the same values, compared without printing them (secrets).
        if (CONNECTION_STRINGS.test(path)) {
          if (interaction.request.method === 'PUT') connectionStringsWritten.add(cassette)
          if (connectionStringsWritten.has(cassette)) {
            const shape = (props: Record<string, {type: string}>) => Object.fromEntries(Object.entries(props ?? {}).map(([name, pair]) => [name, pair.type]))
            const ours = (answer.body as any).properties as Record<string, {value: string; type: string}>
            expect(shape(ours)).toEqual(shape(azureBody.properties))
            expect(Object.keys(ours).filter((name) => ours[name]!.value !== azureBody.properties[name]?.value)).toEqual([])
          }
        }
        // Slot-sticky connection string names (`--slot-settings`), as Azure answered them once set.
        if (/\/config\/slotConfigNames$/i.test(path) && Array.isArray(azureBody.properties?.connectionStringNames))
          expect((answer.body as any).properties?.connectionStringNames).toEqual(azureBody.properties.connectionStringNames)
        // And with every property Azure answered for these (child) resources, whose shape does not depend on the cache's settings.
        if (/patchSchedules/i.test(path)) expect(extraKeys(azureBody.properties, (answer.body as any).properties)).toEqual([])
      }
      expect(registry.check({method: interaction.request.method, path, query: url.search.slice(1), ...answer}).violations).toEqual([])
      // az polls a long-running operation to its end before its next command; the cassettes keep only the first answer.
      // Every recorded operation succeeded in Azure; so must the emulator's.
      const ended = await untilOperationEnds(answer)
      if (ended) expect(ended.status === 'Failed' || ended.status === 'Canceled' ? JSON.stringify(ended) : ended.status ?? 'Succeeded').toBe('Succeeded')
    })
  }
})

/** Polls the operation's monitor to its end: its last status body (undefined when the answer started none). */
async function untilOperationEnds(answer: RawAnswer): Promise<{status?: string} | undefined> {
  const monitor = answer.headers['azure-asyncoperation'] ?? answer.headers.location
  if (!monitor || ![201, 202].includes(answer.status)) return undefined
  const {pathname, search} = new URL(monitor)
  for (;;) {
    const poll = await sendRaw(fixture.emulator, 'GET', `${pathname}${search}`)
    const body = (poll.body ?? {}) as {status?: string}
    if (poll.status !== 202 && body.status !== 'InProgress' && body.status !== 'Accepted') return poll.status >= 400 ? {status: 'Failed', ...body} : body
    await new Promise((resolve) => setImmediate(resolve))
  }
}

function mapNames(text: string, cassette: string): string {
  const mapped = [...(NEW_RESOURCE_NAMES[cassette] ?? []), ...NAMES].reduce((out, [pattern, name]) => out.replace(pattern, name), text)
  const instant = RECENT_INSTANTS[cassette]
  return instant ? mapped.replace(instant, (match) => match.replace(/"[^"]+"$/, `"${new Date(Date.now() - 60_000).toISOString()}"`)) : mapped
}

/**
 * A monitor path compared case-insensitively (ARM paths are), its last segment (the operation's id) left out, and its
 * region written one way: Azure writes it either way, even for one provider at one api-version (PostgreSQL 2025-08-01:
 * `locations/canadacentral/…` in the backups, parameter and upgrade cassettes, `locations/Canada%20Central/…` for the
 * replica's promote and delete; Redis: `locations/West%20Europe/…`).
 */
function monitorShape(path: string): string {
  return decodeURIComponent(path)
    .toLowerCase()
    .replace(/\/locations\/([^/]+)\//, (_, region: string) => `/locations/${region.replaceAll(' ', '')}/`)
    .replace(/\/[^/]+$/, '/{operationId}')
}

function lroHeaders(headers: Record<string, unknown>): string[] {
  return Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h === 'location' || h === 'azure-asyncoperation')
    .sort()
}

/** The resource envelope every ARM answer about one resource carries (its other properties depend on the resource). */
const ENVELOPE = ['id', 'name', 'type', 'location', 'kind']

/**
 * Where live Azure answers a property its own spec does not define, the emulator keeps to the spec (issue #10: no
 * property the spec does not define), and the replay allows the difference: `location` on an App Service site's config
 * resources (config/web, config/appsettings, config/slotConfigNames: ProxyOnlyResource in WebApps.json 2024-11-01 has
 * no `location`; az recording test_webapp_slot_swap.yaml has it on each).
 */
const SPEC_OVER_AZURE: Array<[RegExp, string]> = [[/\/providers\/Microsoft\.Web\/sites\/[^/]+(\/slots\/[^/]+)?\/config\//i, 'location']]

/** The profiles of a publishing-profile XML document: `<name without the site> <publishMethod>`, in order. */
function publishProfiles(xml: string, path: string): string[] {
  const site = /\/sites\/([^/]+)/i.exec(path)?.[1] ?? ''
  const slot = /\/slots\/([^/]+)/i.exec(path)?.[1]
  const host = slot ? `${site}-${slot}` : site
  return [...xml.replaceAll(/\s+/g, ' ').matchAll(/profileName="([^"]*)" publishMethod="([^"]*)"/g)].map(([, name, method]) => `${name!.replace(`${host} - `, '')} ${method}`)
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name)
}

function automaticBackupNames(list: unknown): string[] {
  return ((list as {value?: Array<{name: string; properties?: {source?: string}}>})?.value ?? []).filter((b) => b.properties?.source === 'Automatic').map((b) => b.name)
}

/** A name with every digit made 9: `backup_639034028138853571` and `backup_639035…` have the same shape. */
function nameShape(name: string): string {
  return name.replaceAll(/\d/g, '9')
}

function extraKeys(ours: unknown, theirs: unknown): string[] {
  if (!ours || typeof ours !== 'object') return []
  const known = new Set(Object.keys((theirs ?? {}) as object))
  return Object.keys(ours).filter((k) => !known.has(k))
}

function nonNull(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {}
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null))
}
