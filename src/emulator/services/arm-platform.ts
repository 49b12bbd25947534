/**
 * The subscription-level ARM reads every client makes before touching a resource (what `az account
 * list-locations`, `az account tenant list`, `az provider list|show|register` and the SDKs' provider checks send):
 * - `GET /tenants` — Tenants - List (Microsoft.Resources/stable/2022-12-01/subscriptions.json; az 2.45 sends 2019-11-01).
 * - `GET /subscriptions/{sub}/locations` — Subscriptions - List Locations (same spec): the catalog's region and paired
 *   region plus the regions the emulator knows, with `metadata.pairedRegion`.
 * - `GET /subscriptions/{sub}/providers[/{ns}]`, `POST …/providers/{ns}/register` — Providers - List / Get / Register
 *   (Microsoft.Resources/stable/2021-04-01/resources.json): every namespace the emulator serves, Registered.
 */
import {apiVersionOf, checkScope, paged} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import {armError, type Route} from '../types.js'
import {SUPPORTED_API_VERSIONS} from '../api-versions.js'

/** Regions the emulator knows, with Azure's display names and pairs (https://learn.microsoft.com/azure/reliability/cross-region-replication-azure). */
export const REGIONS: Record<string, {displayName: string; geography: string; pair?: string}> = {
  eastus: {displayName: 'East US', geography: 'US', pair: 'westus'},
  eastus2: {displayName: 'East US 2', geography: 'US', pair: 'centralus'},
  westus: {displayName: 'West US', geography: 'US', pair: 'eastus'},
  westus2: {displayName: 'West US 2', geography: 'US', pair: 'westcentralus'},
  westus3: {displayName: 'West US 3', geography: 'US', pair: 'eastus'},
  centralus: {displayName: 'Central US', geography: 'US', pair: 'eastus2'},
  northeurope: {displayName: 'North Europe', geography: 'Europe', pair: 'westeurope'},
  westeurope: {displayName: 'West Europe', geography: 'Europe', pair: 'northeurope'},
  germanywestcentral: {displayName: 'Germany West Central', geography: 'Germany', pair: 'germanynorth'},
  uksouth: {displayName: 'UK South', geography: 'UK', pair: 'ukwest'},
  ukwest: {displayName: 'UK West', geography: 'UK', pair: 'uksouth'},
}

/** Azure's display name of a region ("East US"), or the name itself when unknown. */
export function regionDisplayName(region: string): string {
  return REGIONS[region.toLowerCase()]?.displayName ?? region
}

/** Resource types per namespace the emulator serves, with the api-versions clients send (pinned SDKs, current and Debian az). */
const PROVIDERS: Record<string, Array<{resourceType: string; apiVersions: string[]}>> = {
  'Microsoft.DBforPostgreSQL': [
    {resourceType: 'flexibleServers', apiVersions: ['2025-08-01', '2024-08-01', '2022-12-01']},
    {resourceType: 'locations/capabilities', apiVersions: ['2025-08-01', '2024-08-01', '2022-12-01']},
    {resourceType: 'locations/checkNameAvailability', apiVersions: ['2025-08-01', '2024-08-01', '2022-12-01']},
  ],
  'Microsoft.Cache': [{resourceType: 'Redis', apiVersions: ['2024-11-01', '2023-08-01', '2022-06-01']}],
  // Every version the emulator serves for Microsoft.Web (each with its vendored spec, test/fixtures/azure-specs).
  'Microsoft.Web': ['sites', 'sites/slots', 'serverfarms'].map((resourceType) => ({resourceType, apiVersions: [...SUPPORTED_API_VERSIONS['microsoft.web']!]})),
  'Microsoft.Storage': [{resourceType: 'storageAccounts', apiVersions: ['2024-01-01', '2023-05-01', '2022-09-01']}],
  'Microsoft.KeyVault': [{resourceType: 'vaults', apiVersions: ['2026-02-01', '2024-11-01', '2022-07-01']}],
  'Microsoft.Authorization': [{resourceType: 'locks', apiVersions: ['2020-05-01', '2016-09-01']}],
  'Microsoft.Insights': [
    {resourceType: 'metrics', apiVersions: ['2024-02-01', '2023-10-01', '2018-01-01']},
    {resourceType: 'metricDefinitions', apiVersions: ['2024-02-01', '2023-10-01', '2018-01-01']},
    {resourceType: 'metricNamespaces', apiVersions: ['2017-12-01-preview']},
    {resourceType: 'diagnosticSettings', apiVersions: ['2021-05-01-preview']},
  ],
  'Microsoft.ResourceGraph': [{resourceType: 'resources', apiVersions: ['2022-10-01', '2021-03-01']}],
}

export function routes(ctx: EmulatorContext): Route[] {
  const tenantId = () => ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000'
  const regions = () => {
    const names = [ctx.environment.region, ...(ctx.environment.pairedRegion ? [ctx.environment.pairedRegion] : []), ...Object.keys(REGIONS)]
    return [...new Set(names.map((n) => n.toLowerCase()))]
  }
  const locationView = (name: string) => {
    const known = REGIONS[name]
    const pair = name === ctx.environment.region.toLowerCase() && ctx.environment.pairedRegion ? ctx.environment.pairedRegion : known?.pair
    return {
      id: `/subscriptions/${ctx.subscription}/locations/${name}`,
      name,
      type: 'Region',
      displayName: known?.displayName ?? name,
      regionalDisplayName: known ? `(${known.geography}) ${known.displayName}` : name,
      metadata: {
        regionType: 'Physical',
        regionCategory: 'Recommended',
        geographyGroup: known?.geography ?? 'Unknown',
        ...(pair ? {pairedRegion: [{name: pair, id: `/subscriptions/${ctx.subscription}/locations/${pair}`}]} : {}),
      },
    }
  }
  const providerView = (namespace: string) => ({
    id: `/subscriptions/${ctx.subscription}/providers/${namespace}`,
    namespace,
    registrationState: 'Registered',
    registrationPolicy: 'RegistrationRequired',
    resourceTypes: PROVIDERS[namespace]!.map((t) => ({resourceType: t.resourceType, locations: regions().map(regionDisplayName), apiVersions: [...t.apiVersions]})),
  })
  const providerNamed = (name: string) => Object.keys(PROVIDERS).find((ns) => ns.toLowerCase() === name.toLowerCase())
  const provider = (p: Record<string, string>) => {
    const scope = checkScope(ctx, p.sub!)
    if (scope) return scope
    const namespace = providerNamed(p.namespace!)
    return namespace ? {status: 200, body: providerView(namespace)} : armError(404, 'InvalidResourceNamespace', `The resource namespace '${p.namespace}' is invalid.`)
  }

  return [
    {
      method: 'GET',
      pattern: '/tenants',
      operation: 'tenants.list',
      // TenantIdDescription has `defaultDomain` and `tenantType` in 2022-12-01; 2019-11-01 (az 2.45) has neither
      // (subscriptions.json of each, vendored in test/fixtures/azure-specs; 2021-01-01 has them too).
      handler: (request) =>
        paged(request, [
          {
            id: `/tenants/${tenantId()}`,
            tenantId: tenantId(),
            tenantCategory: 'Home',
            displayName: `opsbook emulator (${ctx.environmentName})`,
            ...(apiVersionOf(request) === '2019-11-01' ? {} : {defaultDomain: 'opsbook.test', tenantType: 'AAD'}),
          },
        ]),
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/locations',
      operation: 'subscriptions.listLocations',
      // Location has `type` (Region | EdgeZone) in 2021-01-01 and 2022-12-01; 2019-11-01 (az 2.45) has none (same documents).
      handler: (request, p) =>
        checkScope(ctx, p.sub!) ??
        paged(
          request,
          regions().map((name) => {
            const {type, ...view} = locationView(name)
            return apiVersionOf(request) === '2019-11-01' ? view : {...view, type}
          }),
        ),
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers',
      operation: 'providers.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.keys(PROVIDERS).map(providerView)),
    },
    // Providers - Get, and Register (every namespace the emulator serves is already registered: same answer).
    {method: 'GET', pattern: '/subscriptions/{sub}/providers/{namespace}', operation: 'providers.get', handler: (_request, p) => provider(p)},
    {method: 'POST', pattern: '/subscriptions/{sub}/providers/{namespace}/register', operation: 'providers.register', handler: (_request, p) => provider(p)},
  ]
}
