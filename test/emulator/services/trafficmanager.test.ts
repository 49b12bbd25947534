/**
 * Traffic Manager and Front Door in the emulator through the unmodified SDK clients: endpoint monitor status follows
 * the target web app's health, invalid priorities are refused as ARM does, and the loopback fronts route to the
 * highest-priority enabled healthy backend — failing open when every enabled one is unhealthy — only after the
 * compressed DNS TTL / edge propagation.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../../src/azure/clients.js'
import type {RunningEmulator} from '../../../src/emulator/server.js'
import {sendRaw} from '../../contract/http.js'
import {contractRegistry} from '../../contract/specs.js'
import {deploy, sdkServices, startLocalEmulator} from '../../integration/support.js'

let emulator: RunningEmulator
let arm: AzureServices
const RG = 'rg-shop-local'

beforeAll(async () => {
  // Routing changes reach clients after 1 s (the compressed DNS TTL / edge propagation; the default is 3 s): long
  // enough that the answer right after a change is still the old one on a busy machine.
  emulator = await startLocalEmulator({routingPropagationMs: 1000})
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())

async function front(kind: 'trafficmanager' | 'frontdoor'): Promise<{status: number; region: string | null}> {
  const listed = await arm.armRequest('GET', `/_emulator/${kind}`)
  const response = await fetch(`${listed.body.value[0].url}/health`)
  return {status: response.status, region: response.headers.get('x-opsbook-region')}
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('Traffic Manager (Microsoft.Network/trafficmanagerprofiles 2022-04-01)', () => {
  it('reports endpoint monitor status from the web app health, and the front fails open when every endpoint is degraded', async () => {
    const tm = await arm.trafficManager()
    await deploy(emulator, 'app-shop-storefront', 'production', 'bad', false)
    try {
      const profile = await tm.profiles.get(RG, 'tm-shop-local')
      expect(profile.endpoints?.map((e) => [e.name, e.endpointMonitorStatus])).toEqual([['eastus', 'Degraded'], ['westus', 'Online']])
      expect(profile.monitorConfig?.profileMonitorStatus).toBe('Online')
      expect(await front('trafficmanager')).toEqual({status: 200, region: 'westus'})
      await deploy(emulator, 'app-shop-storefront-dr', 'production', 'bad', false)
      expect((await tm.profiles.get(RG, 'tm-shop-local')).monitorConfig?.profileMonitorStatus).toBe('Degraded')
      // Every endpoint degraded: Traffic Manager answers with them anyway (the highest priority one here).
      expect(await front('trafficmanager')).toMatchObject({status: 503, region: 'eastus'})
    } finally {
      await deploy(emulator, 'app-shop-storefront', 'production', 'v1', true)
      await deploy(emulator, 'app-shop-storefront-dr', 'production', 'v1', true)
    }
  })

  it("deletes an endpoint as the spec's example and Azure's recording answer (200 {}, then 204)", async () => {
    const endpoint = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/trafficmanagerprofiles/tm-shop-local/ExternalEndpoints/ext-delete`
    const created = await arm.armRequest('PUT', endpoint, {apiVersion: '2022-04-01', body: {properties: {target: 'www.contoso.com', endpointStatus: 'Disabled', priority: 900}}})
    expect(created.status).toBe(201)
    // Endpoint-DELETE-External.json (2022-04-01): 200 with `{}`; azure-cli test_network_traffic_manager.yaml: 200, empty body.
    const deleted = await arm.armRequest('DELETE', endpoint, {apiVersion: '2022-04-01'})
    expect([deleted.status, deleted.body]).toEqual([200, {}])
    const again = await arm.armRequest('DELETE', endpoint, {apiVersion: '2022-04-01'})
    expect(again.status).toBe(204)
  })

  it('refuses a priority outside 1–1000 and an unknown endpoint type; a disabled endpoint moves traffic after the TTL', async () => {
    const tm = await arm.trafficManager()
    await expect(tm.endpoints.update(RG, 'tm-shop-local', 'AzureEndpoints', 'eastus', {priority: 0})).rejects.toMatchObject({statusCode: 400})
    const bad = await arm.armRequest('PATCH', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/trafficmanagerprofiles/tm-shop-local/BogusEndpoints/eastus`, {body: {properties: {}}, apiVersion: '2022-04-01'})
    expect(bad.status).toBe(400)
    const sent = Date.now()
    const updated = await tm.endpoints.update(RG, 'tm-shop-local', 'AzureEndpoints', 'eastus', {endpointStatus: 'Disabled'})
    expect([updated.endpointStatus, updated.endpointMonitorStatus]).toEqual(['Disabled', 'Disabled'])
    // Resolvers still hold the old answer right after the change (compressed TTL), then westus answers. "Right after" is
    // checked when it was: the change was made after `sent`, so an answer back within the 1 s TTL of `sent` was served
    // inside it. A loaded machine can take longer than the TTL for the update and the read (the read then rightly sees
    // westus), and a bare assertion failed there.
    const right = await front('trafficmanager')
    if (Date.now() - sent < 1000) expect(right.region).toBe('eastus')
    expect((await until(() => front('trafficmanager'), (f) => f.region === 'westus')).status).toBe(200)
    await tm.endpoints.update(RG, 'tm-shop-local', 'AzureEndpoints', 'eastus', {endpointStatus: 'Enabled'})
    await until(() => front('trafficmanager'), (f) => f.region === 'eastus')
  })
})

describe('Front Door (Microsoft.Cdn/profiles 2024-02-01)', () => {
  it('serves the AFD endpoint, origin groups and origins; an origin update changes where the front routes', async () => {
    const cdn = await arm.frontDoor()
    // The profile and the endpoint as the vendored Microsoft.Cdn 2024-02-01 documents define them (validated at teardown).
    expect((await cdn.profiles.get(RG, 'afd-shop-local')).sku?.name).toMatch(/_AzureFrontDoor$/)
    const endpoint = await cdn.afdEndpoints.get(RG, 'afd-shop-local', 'shop')
    expect(endpoint.hostName).toMatch(/^shop-[0-9a-f]{16}\.z01\.azurefd\.net$/)
    const group = await cdn.afdOriginGroups.get(RG, 'afd-shop-local', 'storefront')
    expect(group.healthProbeSettings).toMatchObject({probePath: '/health', probeProtocol: 'Https'})
    await expect(cdn.afdOrigins.beginUpdateAndWait(RG, 'afd-shop-local', 'storefront', 'westus', {priority: 6}, {updateIntervalInMs: 50})).rejects.toMatchObject({statusCode: 400})
    const origin = await cdn.afdOrigins.beginUpdateAndWait(RG, 'afd-shop-local', 'storefront', 'westus', {priority: 1}, {updateIntervalInMs: 50})
    expect(origin.priority).toBe(1)
    await cdn.afdOrigins.beginUpdateAndWait(RG, 'afd-shop-local', 'storefront', 'eastus', {priority: 2}, {updateIntervalInMs: 50})
    expect((await until(() => front('frontdoor'), (f) => f.region === 'westus')).status).toBe(200)
    await cdn.afdOrigins.beginUpdateAndWait(RG, 'afd-shop-local', 'storefront', 'eastus', {priority: 1}, {updateIntervalInMs: 50})
    await cdn.afdOrigins.beginUpdateAndWait(RG, 'afd-shop-local', 'storefront', 'westus', {priority: 2}, {updateIntervalInMs: 50})
    await until(() => front('frontdoor'), (f) => f.region === 'eastus')
  })

  it("answers az 2.45's `afd` reads at 2021-06-01 in that version's shape (afdx.json 2021-06-01)", async () => {
    // az 2.45 (azure-mgmt-cdn) sends 2021-06-01; each answer is checked here against the vendored 2021-06-01 afdx.json
    // and cdn.json (Profiles_Get: '') at once (and again at teardown).
    const profile = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Cdn/profiles/afd-shop-local`
    const paths = ['', 'afdEndpoints', 'afdEndpoints/shop', 'afdEndpoints/shop/routes', 'originGroups', 'originGroups/storefront', 'originGroups/storefront/origins', 'originGroups/storefront/origins/eastus', 'securityPolicies', 'customDomains']
    for (const path of paths) {
      const query = 'api-version=2021-06-01'
      const url = path ? `${profile}/${path}` : profile
      // What az sends, raw: the answer's own status, headers and body are what is checked.
      const answer = await sendRaw(emulator, 'GET', `${url}?${query}`)
      const check = contractRegistry().check({method: 'GET', path: url, query, ...answer})
      expect([path, answer.status, check.operation?.apiVersion, check.violations]).toEqual([path, 200, '2021-06-01', []])
    }
  })

  it("reads WAF policies at the frontdoor spec's version, not Traffic Manager's (Microsoft.Network versions the type apart)", async () => {
    // webapplicationfirewall.json 2024-02-01 (specification/frontdoor/…/Microsoft.Network/stable/2024-02-01): Policies_Get.
    const policy = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/FrontDoorWebApplicationFirewallPolicies/wafshop`
    const refused = await arm.armRequest('GET', policy, {apiVersion: '2022-04-01'})
    expect([refused.status, refused.body.error.code]).toEqual([400, 'InvalidApiVersionParameter'])
    expect(refused.body.error.message).toContain("The supported versions are '2024-02-01'")
    // Traffic Manager keeps its own versions.
    const profiles = await arm.armRequest('GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/trafficmanagerprofiles`, {apiVersion: '2024-02-01'})
    expect([profiles.status, profiles.body.error.code]).toEqual([400, 'InvalidApiVersionParameter'])
  })

  it("answers a read of a WAF policy that does not exist as Azure's gateway does (404 ResourceNotFound, recorded)", async () => {
    // Azure's answer to a GET of a deleted policy (azure-powershell src/FrontDoor/FrontDoor.Test/SessionRecords/
    // …WebApplicationFireWallPolicyTests/TestPolicyCrud.json): 404, `x-ms-failure-cause: gateway`, ARM's wrapped error.
    const path = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/FrontDoorWebApplicationFirewallPolicies/wafgone`
    const answer = await sendRaw(emulator, 'GET', `${path}?api-version=2024-02-01`)
    expect([answer.status, answer.headers['x-ms-failure-cause']]).toEqual([404, 'gateway'])
    expect(answer.body).toEqual({
      error: {
        code: 'ResourceNotFound',
        message: `The Resource 'Microsoft.Network/frontdoorWebApplicationFirewallPolicies/wafgone' under resource group '${RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      },
    })
    // Not the Front Door provider's error (Policies_Get `default`, an unwrapped {code, message}), so no violation.
    const check = contractRegistry().check({method: 'GET', path, query: 'api-version=2024-02-01', ...answer})
    expect([check.operation?.operationId, check.violations]).toEqual(['Policies_Get', []])
    // opsbook's own ARM client sees the same 404.
    const read = await arm.armRequest('GET', path, {apiVersion: '2024-02-01'})
    expect([read.status, read.body.error.code]).toEqual([404, 'ResourceNotFound'])
  })
})
