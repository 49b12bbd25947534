/**
 * The contract checks use the spec of the api-version a request asked for: a Microsoft.Web site answered in one
 * version's shape is a violation of another version's document where they differ (test/fixtures/azure-specs README).
 */
import {describe, expect, it} from 'vitest'
import {ContractRegistry} from './specs.js'

const registry = new ContractRegistry()
const PATH = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Web/sites/app'

/** A site as the emulator answers it; `properties` merged over the common part. */
function site(properties: Record<string, unknown>) {
  return {
    id: PATH,
    name: 'app',
    type: 'Microsoft.Web/sites',
    kind: 'app,linux',
    location: 'East US',
    properties: {state: 'Running', enabled: true, httpsOnly: true, siteConfig: {numberOfWorkers: 1, alwaysOn: true}, ...properties},
  }
}

const routing = {allTraffic: false, applicationTraffic: true, contentShareTraffic: false, imagePullTraffic: false, backupRestoreTraffic: false}

function check(apiVersion: string, body: unknown) {
  const result = registry.check({method: 'GET', path: PATH, query: `api-version=${apiVersion}`, status: 200, headers: {}, body} as never)
  return {operation: result.operation && `${result.operation.operationId}@${result.operation.apiVersion}`, violations: result.violations}
}

describe('Microsoft.Web specs per api-version', () => {
  it('has a document for every api-version the emulator serves for Microsoft.Web', async () => {
    const {SUPPORTED_API_VERSIONS} = await import('../../src/emulator/api-versions.js')
    const vendored = registry.providers().filter((p) => p.startsWith('Microsoft.Web@')).map((p) => p.slice('Microsoft.Web@'.length))
    expect(vendored.sort()).toEqual([...SUPPORTED_API_VERSIONS['microsoft.web']!].sort())
  })

  it('checks a site against the version asked for: outboundVnetRouting from 2024-11-01, vnetRouteAllEnabled before', () => {
    expect(check('2025-05-01', site({outboundVnetRouting: routing, sku: 'PremiumV3'}))).toEqual({operation: 'WebApps_Get@2025-05-01', violations: []})
    expect(check('2024-11-01', site({outboundVnetRouting: routing, sku: 'PremiumV3'})).violations).toEqual([])
    expect(check('2024-04-01', site({vnetRouteAllEnabled: true, vnetBackupRestoreEnabled: false, sku: 'PremiumV3'})).violations).toEqual([])
    expect(check('2023-01-01', site({vnetRouteAllEnabled: true})).violations).toEqual([])
    expect(check('2024-04-01', site({outboundVnetRouting: routing})).violations).toEqual(["/properties: property 'outboundVnetRouting' is not defined by the spec"])
    expect(check('2025-05-01', site({vnetRouteAllEnabled: true})).violations).toEqual(["/properties: property 'vnetRouteAllEnabled' is not defined by the spec"])
    // Site.sku arrived in 2024-04-01, vnetBackupRestoreEnabled in 2023-12-01.
    expect(check('2023-12-01', site({sku: 'PremiumV3'})).violations).toEqual(["/properties: property 'sku' is not defined by the spec"])
    expect(check('2023-01-01', site({vnetBackupRestoreEnabled: false})).violations).toEqual(["/properties: property 'vnetBackupRestoreEnabled' is not defined by the spec"])
  })

  it("never lets a site's siteConfig carry app settings from 2024-11-01, where they became create/update-only", () => {
    const withSettings = site({siteConfig: {numberOfWorkers: 1, appSettings: [{name: 'A', value: 'b'}]}})
    expect(check('2024-04-01', withSettings).violations).toEqual([])
    expect(check('2024-11-01', withSettings).violations).toEqual([
      '/properties/siteConfig/appSettings: is write-only in the spec (x-ms-secret, or x-ms-mutability without read) and must not be returned',
    ])
  })
})
