/**
 * Azure's own examples (`x-ms-examples` of the vendored specs) replayed against the emulator: each example's request
 * (method, path, api-version, body) with its names mapped onto the emulator's seeded subscription, resource group and
 * resources; the emulator must answer one of the example's documented status codes, with the LRO headers the example
 * shows, and a body that validates against the spec's schema for that status.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import type {FrontDoorComponent, TrafficManagerComponent} from '../../src/catalog/schema.js'
import {EXCHANGE_LOG_ENV} from '../../src/emulator/server.js'
import {startFixture, type Fixture} from '../azure/helpers.js'
import {sendRaw} from './http.js'
import {EXAMPLES_FILE_PREFIX, providerKey, summarize} from './report.js'
import {contractRegistry, type ContractExchange, type SpecOperation} from './specs.js'

const registry = contractRegistry()
let fixture: Fixture

/**
 * The WAF policy the replayed Front Door WAF example reads (WafPolicyGet, frontdoor 2024-02-01): the local Front Door
 * (runbooks.yaml, component storefront-edge) with a WAF policy attached through a security policy, as the catalog's
 * `waf` setting does — runbooks.yaml's local environment attaches none.
 */
const WAF_POLICY = 'wafshoplocal'
/**
 * Traffic Manager profiles of the routing methods the endpoint examples were written for (trafficmanager.json
 * 2022-04-01 / 2022-04-01-preview examples): an endpoint's `geoMapping` is for the Geographic routing method and its
 * `subnets` for the Subnet one (EndpointProperties, "when using the 'Geographic' / 'Subnet' traffic routing method"),
 * so those examples write to a profile of that method; the others (endpointLocation, custom headers, always serve, a
 * target change, delete) to the local profile tm-shop-local (Priority).
 */
const TM_PROFILES: Record<string, TrafficManagerComponent> = {
  'contract-tm-geographic': {type: 'trafficmanager', name: 'tm-contract-geographic', routingMethod: 'Geographic', dnsTtl: 60, endpoints: []},
  'contract-tm-subnet': {type: 'trafficmanager', name: 'tm-contract-subnet', routingMethod: 'Subnet', dnsTtl: 60, endpoints: []},
}
/** The seeded Cosmos DB account (continuous backup: restorable) as the restorable-account examples need it. */
let cosmos: {instanceId: string; location: string; restorableId: string; createdAt: number}

beforeAll(async () => {
  const local = getEnvironment(loadCatalog({flag: join(import.meta.dirname, '..', '..', 'runbooks.yaml')}), 'local')
  const environment = structuredClone(local)
  ;(environment.components['storefront-edge'] as FrontDoorComponent).waf = WAF_POLICY
  Object.assign(environment.components, structuredClone(TM_PROFILES))
  fixture = await startFixture({lroDurationMs: 20, environment})
  const sub = `/subscriptions/${fixture.emulator.subscription}`
  const account = (await sendRaw(fixture.emulator, 'GET', `${sub}/resourceGroups/${RG_LOCAL}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local?api-version=2022-08-15`)).body as any
  const restorables = (await sendRaw(fixture.emulator, 'GET', `${sub}/providers/Microsoft.DocumentDB/restorableDatabaseAccounts?api-version=2022-08-15`)).body as any
  const restorable = restorables.value.find((r: any) => r.properties.accountName === 'cosmos-shop-local')
  cosmos = {instanceId: account.properties.instanceId, location: account.location, restorableId: restorable.id, createdAt: Date.parse(restorable.properties.creationTime)}
})
afterAll(async () => fixture?.stop())

interface Example {
  title: string
  file: string
  operation: SpecOperation
  doc: {parameters: Record<string, any>; responses: Record<string, {body?: unknown; headers?: Record<string, string>}>}
}

/**
 * The seeded resources that stand in for the examples' names (runbooks.yaml, environment `local`): per provider, the
 * resource group and the value of each path parameter naming a resource. Parameters not listed keep the example's
 * value (a lock's or a diagnostic setting's own name, a provider namespace).
 */
const RG_LOCAL = 'rg-shop-local'
const SEEDED: Record<string, (op: SpecOperation, title: string) => Record<string, string>> = {
  'Microsoft.DBforPostgreSQL': (op, title) => {
    // The promote example needs a read replica; a point-in-time restore creates a new server from the seeded one.
    const server = /promote/i.test(title) ? 'pg-shop-orders-dr' : op.operationId === 'Servers_CreateOrUpdate' ? 'pg-contract-restored' : 'pg-shop-orders'
    return {serverName: server, name: server}
  },
  'Microsoft.Cache': () => ({cacheName: 'redis-shop-sessions', name: 'redis-shop-sessions'}),
  // App Service plans: the plan the seeded site references (asp-<site>).
  'Microsoft.Web': (op) => ({name: op.operationId.startsWith('AppServicePlans_') ? 'asp-app-shop-storefront' : 'app-shop-storefront', slot: 'staging'}),
  'Microsoft.Storage': () => ({accountName: 'stshopsnapshots'}),
  // Cosmos DB (2022-08-15 and 2025-10-15): the seeded account, its database and container (runbooks.yaml local) and
  // its restorable account (continuous backup); the create examples make accounts of their own (a restore always
  // creates a new one), and the delete example deletes the one CreateMin made.
  'Microsoft.DocumentDB': (op, title) => {
    const created = op.operationId === 'DatabaseAccounts_CreateOrUpdate' || op.operationId === 'DatabaseAccounts_Delete'
    const accountName = created ? `cosmos-contract-${/restore/i.test(title) ? 'restored' : /max/i.test(title) ? 'max' : 'min'}` : 'cosmos-shop-local'
    return {accountName, databaseName: 'shop', containerName: 'products', instanceId: cosmos.instanceId, location: cosmos.location}
  },
  // Azure SQL: the seeded logical server, database and failover group (runbooks.yaml local, component payments-db).
  'Microsoft.Sql': () => ({serverName: 'sql-shop-local', databaseName: 'sqldb-shop-payments', failoverGroupName: 'fog-shop-payments'}),
  // Service Bus (2021-11-01 and 2022-01-01-preview): the seeded namespace, a queue, the topic and one of its
  // subscriptions (runbooks.yaml local, component orders-bus).
  'Microsoft.ServiceBus': () => ({namespaceName: 'sb-shop-local', queueName: 'orders', topicName: 'order-events', subscriptionName: 'billing'}),
  // Microsoft.Network: Front Door WAF policies (frontdoor 2024-02-01) read the policy attached to the local Front Door;
  // Traffic Manager (2022-04-01, 2022-04-01-preview) the local profile, or one of the example's routing method (TM_PROFILES).
  'Microsoft.Network': (_op, title) => ({
    policyName: WAF_POLICY,
    profileName: /GeoMapping/.test(title) ? 'tm-contract-geographic' : /SubnetMapping/.test(title) ? 'tm-contract-subnet' : 'tm-shop-local',
  }),
  // Front Door: the seeded profile's origin group and its primary origin (runbooks.yaml local, component storefront-edge).
  'Microsoft.Cdn': () => ({profileName: 'afd-shop-local', originGroupName: 'storefront', originName: 'eastus', endpointName: 'shop'}),
  'Microsoft.KeyVault': () => ({vaultName: 'kv-shop-local'}),
  'Microsoft.Authorization': () => ({}),
  'Microsoft.Resources': () => ({resourceProviderNamespace: 'Microsoft.Web'}),
  'Microsoft.ResourceGraph': () => ({}),
  // Defender pricings (security 2024-01-01): the subscription scope (the examples' `subscriptions/{id}`), the plans by the
  // examples' own names (every plan Azure lists is in a subscription).
  'Microsoft.Security': () => ({scopeId: `subscriptions/${fixture.emulator.subscription}`}),
  // Log Analytics queries (v1): the emulator answers any workspace id with its one workspace, so the example's id stays.
  'Microsoft.OperationalInsights': () => ({}),
  // Diagnostic settings of the seeded storage account (the examples' resource is a Logic App); metric definitions of the
  // seeded web app (the example's resource is a site and its metricnamespace Microsoft.Web/sites, which the emulator checks).
  'Microsoft.Insights': (op) => ({
    resourceUri: op.operationId.startsWith('MetricDefinitions_')
      ? `subscriptions/${fixture.emulator.subscription}/resourceGroups/${RG_LOCAL}/providers/Microsoft.Web/sites/app-shop-storefront`
      : `subscriptions/${fixture.emulator.subscription}/resourceGroups/${RG_LOCAL}/providers/Microsoft.Storage/storageAccounts/stshopsnapshots`,
  }),
}

/** Creates first (a read example may need what one creates), then reads and changes; stopping a server last. */
const ORDER = ['PUT', 'GET', 'PATCH', 'POST', 'DELETE']
const examples: Example[] = registry.operations
  .flatMap((operation) => Object.entries(operation.examples).map(([title, file]) => ({title, file, operation, doc: JSON.parse(readFileSync(file, 'utf8'))})))
  .sort((a, b) => ORDER.indexOf(a.operation.method) - ORDER.indexOf(b.operation.method) || Number(/stop/i.test(a.title)) - Number(/stop/i.test(b.title)))

describe("the vendored specs' x-ms-examples, replayed against the emulator", () => {
  const replayed = new Map<string, number>()
  const exchanges: ContractExchange[] = []

  for (const example of examples) {
    it(`${example.operation.operationId}: ${example.title}`, async () => {
      const {path, query, body} = await mapRequest(example)
      const response = await sendRaw(fixture.emulator, example.operation.method, `${path}?${query}`, body === undefined ? undefined : JSON.stringify(body))
      const exchange = {method: example.operation.method, path, query, ...response}
      exchanges.push(exchange)
      const documented = Object.keys(example.doc.responses)
      expect(documented, `${example.file}: ${JSON.stringify(response.body)}`).toContain(String(response.status))
      for (const header of Object.keys(example.doc.responses[String(response.status)]?.headers ?? {}))
        if (/^(location|azure-asyncoperation)$/i.test(header)) expect(Object.keys(response.headers).map((h) => h.toLowerCase())).toContain(header.toLowerCase())
      expect(registry.check(exchange).violations).toEqual([])
      // The report's key (a data-plane document's examples count under `Microsoft.X data plane@version`).
      const key = providerKey(example.operation)
      replayed.set(key, (replayed.get(key) ?? 0) + 1)
    })
  }

  afterAll(() => {
    process.stdout.write(`\n${summarize(registry, exchanges, Object.fromEntries(replayed)).text}\n`)
    // The suite's teardown (global-setup.ts) adds these counts to its per-provider coverage.
    const dir = process.env[EXCHANGE_LOG_ENV]
    if (dir) writeFileSync(join(dir, `${EXAMPLES_FILE_PREFIX}${process.pid}.json`), JSON.stringify(Object.fromEntries(replayed)))
  })

  it('leaves read-only and create-only server properties as they are when a PATCH sends them (Servers.json x-ms-mutability)', async () => {
    const path = `/subscriptions/${fixture.emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders?api-version=2025-08-01`
    const before = (await sendRaw(fixture.emulator, 'GET', path)).body as any
    // readOnly: state, fullyQualifiedDomainName, minorVersion; create-only (no "update"): availabilityZone.
    const patch = {properties: {state: 'Disabled', fullyQualifiedDomainName: 'elsewhere.example.com', minorVersion: '99', availabilityZone: '3'}, tags: {contract: 'mutability'}}
    const started = await sendRaw(fixture.emulator, 'PATCH', path, JSON.stringify(patch))
    expect(started.status).toBe(202)
    const monitor = new URL(started.headers['azure-asyncoperation']!)
    await expect.poll(async () => ((await sendRaw(fixture.emulator, 'GET', `${monitor.pathname}${monitor.search}`)).body as any).status, {interval: 20, timeout: 10_000}).toBe('Succeeded')
    const after = (await sendRaw(fixture.emulator, 'GET', path)).body as any
    expect(after.tags.contract).toBe('mutability')
    for (const key of ['fullyQualifiedDomainName', 'minorVersion', 'availabilityZone']) expect([key, after.properties[key]]).toEqual([key, before.properties[key]])
    // state moves on its own (an earlier example stopped the server: Stopping → Stopped), but never to what was sent.
    expect(after.properties.state).not.toBe('Disabled')
  })

  it('leaves read-only site and storage account properties as they are when a PATCH sends them (WebApps.json, storage.json readOnly)', async () => {
    const rg = `/subscriptions/${fixture.emulator.subscription}/resourceGroups/${RG_LOCAL}/providers`
    const cases = [
      // Site: state, defaultHostName, hostNames are readOnly (Microsoft.Web/stable/2022-03-01/WebApps.json).
      {path: `${rg}/Microsoft.Web/sites/app-shop-storefront?api-version=2022-03-01`, readOnly: {state: 'Stopped', defaultHostName: 'elsewhere.example.com', hostNames: ['elsewhere.example.com']}},
      // StorageAccount: provisioningState, creationTime, primaryLocation are readOnly (Microsoft.Storage/stable/2022-09-01/storage.json).
      {path: `${rg}/Microsoft.Storage/storageAccounts/stshopsnapshots?api-version=2022-09-01`, readOnly: {provisioningState: 'Failed', creationTime: '2000-01-01T00:00:00Z', primaryLocation: 'antarctica'}},
    ]
    for (const {path, readOnly} of cases) {
      const before = (await sendRaw(fixture.emulator, 'GET', path)).body as any
      const answer = await sendRaw(fixture.emulator, 'PATCH', path, JSON.stringify({properties: readOnly, tags: {...before.tags, contract: 'readOnly'}}))
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      const after = (await sendRaw(fixture.emulator, 'GET', path)).body as any
      expect(after.tags.contract).toBe('readOnly')
      for (const key of Object.keys(readOnly)) expect([path, key, after.properties[key]]).toEqual([path, key, before.properties[key]])
    }
  })

  // Every vendored provider replays examples: Traffic Manager (Microsoft.Network 2022-04-01 / 2022-04-01-preview) those of its
  // six served operations, and the Front Door WAF policy read (Microsoft.Network, frontdoor 2024-02-01, WafPolicyGet);
  // Front Door (Microsoft.Cdn 2024-02-01 and 2021-06-01) those of the served operations; Cosmos DB (2022-08-15) the account, SQL database / container, restorable-account and
  // backup-information examples, and eleven of the 2025-10-15 ones; Service Bus those of its six served reads at both
  // versions; Azure SQL those of its served reads (servers, databases, failover groups, short-term retention);
  // Defender pricings (Microsoft.Security 2024-01-01) the subscription-scope list (whole and `$filter`ed) and three plan
  // reads; Log Analytics (Microsoft.OperationalInsights v1) the `Usage | take 10` query. Not vendored, with the reason:
  // the pricings examples at resource scope (the emulator serves subscription-level pricings only) and of Pricings_Update
  // / Delete (not served), the Log Analytics GET query (Query_Get, not served) and the cross-workspace query (`union *`,
  // `summarize` and `workspaces`, outside the emulator's KQL subset).
  it('covers every vendored provider with at least one example', () => {
    const vendored = new Set(registry.operations.map((op) => op.provider))
    expect(new Set(examples.map((e) => e.operation.provider))).toEqual(vendored)
  })
})

/** The example's path (with its query parameters) and body, with names mapped onto the emulator's seeded world. */
async function mapRequest(example: Example): Promise<{path: string; query: string; body?: unknown}> {
  const {operation, doc, title} = example
  const values: Record<string, string> = {
    subscriptionId: fixture.emulator.subscription,
    resourceGroupName: RG_LOCAL,
    location: fixture.environment.region,
    ...SEEDED[operation.provider]!(operation, title),
  }
  const path = operation.template.replace(/\{(\w+)\}/g, (_, param: string) => {
    // An example can give a path value already percent-encoded (Endpoint-GET-External-WithGeoMapping.json:
    // `"endpointName": "My%20external%20endpoint"`, the endpoint named `My external endpoint` in its response).
    const value = values[param] ?? decodeURIComponent(String(doc.parameters[param]))
    // A multi-segment parameter (x-ms-skip-url-encoding) goes in as it is.
    return ['resourceUri', 'scope', 'resourceId', 'scopeId'].includes(param) ? value.replace(/^\//, '') : encodeURIComponent(value)
  })
  // The cut-down PostgreSQL and Redis documents list no parameters: api-version and a `parameters` body then.
  // (A data-plane example — Log Analytics — has none: its version is in the path.)
  const query = new URLSearchParams(doc.parameters['api-version'] === undefined ? {} : {'api-version': doc.parameters['api-version']})
  // An example may spell a query parameter in another case than its document (ListPricingsWithPlanFilter_example.json:
  // `$Filter` for Pricings_List's `$filter`); query parameter names are matched case-insensitively.
  const exampleValue = (name: string) => Object.entries(doc.parameters).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1]
  for (const parameter of operation.parameters)
    if (parameter.in === 'query' && exampleValue(parameter.name) !== undefined) query.set(parameter.name, String(exampleValue(parameter.name)))
  // The cut-down documents list no parameters: the example's one object-valued parameter is then the body
  // (`parameters` for PostgreSQL and Redis, `createUpdateParameters` for a Cosmos DB account).
  const bodyName =
    operation.parameters.find((parameter) => parameter.in === 'body')?.name ??
    Object.keys(doc.parameters).find((name) => typeof doc.parameters[name] === 'object' && doc.parameters[name] !== null) ??
    'parameters'
  const bodyParameter = bodyName === undefined ? undefined : doc.parameters[bodyName]
  if (bodyParameter === undefined) return {path, query: query.toString()}
  const body = JSON.parse(JSON.stringify(bodyParameter).replaceAll('ffffffff-ffff-ffff-ffff-ffffffffffff', fixture.emulator.subscription).replaceAll('exampleresourcegroup', RG_LOCAL))
  if (Array.isArray(body.subscriptions)) body.subscriptions = [fixture.emulator.subscription]
  if (body.properties?.sourceServerResourceId) {
    // The example's source server and restore point, mapped to the seeded server and a point inside its backups.
    body.properties.sourceServerResourceId = body.properties.sourceServerResourceId.replace(/flexibleServers\/[^/]+$/, 'flexibleServers/pg-shop-orders')
    const source = await sendRaw(fixture.emulator, 'GET', `${body.properties.sourceServerResourceId}?api-version=${doc.parameters['api-version']}`)
    const earliest = Date.parse((source.body as any).properties.backup.earliestRestoreDate)
    body.properties.pointInTimeUTC = new Date(Math.max(earliest + 1000, Date.now() - 1000)).toISOString()
    body.location = fixture.environment.region
  }
  if (body.properties?.restoreParameters?.restoreSource) {
    // Cosmos DB restore: the seeded account's restorable id and a point inside its window (after its creation, within
    // the 7 days its continuous7days backup keeps).
    body.properties.restoreParameters.restoreSource = cosmos.restorableId
    body.properties.restoreParameters.restoreTimestampInUtc = new Date(Math.max((cosmos.createdAt + Date.now()) / 2, Date.now() - 3_600_000)).toISOString()
  }
  // RetrieveContinuousBackupInformation: the region of the seeded account (the example's is North Europe).
  if (operation.operationId === 'SqlResources_RetrieveContinuousBackupInformation') body.location = cosmos.location
  if (typeof body.container === 'string') body.container = `${fixture.emulator.blob.endpoint}/${snapshotsContainer()}?sv=2024-01-01&sig=example`
  if (Array.isArray(body.files)) body.files = [`${fixture.emulator.blob.endpoint}/${snapshotsContainer()}/seed.rdb?sv=2024-01-01&sig=example`]
  return {path, query: query.toString(), body}
}

function snapshotsContainer(): string {
  for (const component of Object.values(fixture.environment.components)) if (component.type === 'redis' && component.snapshots) return component.snapshots.container
  throw new Error('runbooks.yaml local has no Redis snapshots container')
}
