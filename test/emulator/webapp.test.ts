import {request as httpsRequest} from 'node:https'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import type {WebSiteManagementClient} from '@azure/arm-appservice'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {bearerFor, credentialFor} from './helpers.js'
import {sendRaw} from '../contract/http.js'

const RG = 'rg-shop-local'
const SITE = 'app-shop-storefront'

let emulator: RunningEmulator
let client: WebSiteManagementClient

/** What a slot's local port serves (GET /), read from outside like a user's curl would. */
async function served(url: string): Promise<{status: number; version: string}> {
  const response = await fetch(`${url}/`)
  const body = (await response.json()) as {version: string}
  return {status: response.status, version: body.version}
}

/** The local URL the emulator sends with the resource (the x-opsbook-local-url header). */
async function localUrl(slot?: string): Promise<string> {
  let url: string | undefined
  const onResponse = (raw: {headers: {get(name: string): string | undefined}}) => {
    url = raw.headers.get('x-opsbook-local-url')
  }
  if (slot) await client.webApps.getSlot(RG, SITE, slot, {onResponse})
  else await client.webApps.get(RG, SITE, {onResponse})
  if (!url) throw new Error('no x-opsbook-local-url header with the resource')
  return url
}

/** The admin deploy route (not ARM), over https trusting the emulator's CA. */
async function deploy(slot: string, version: string, healthy = true): Promise<void> {
  const {status} = await adminPost(`/_emulator/webapps/${SITE}/slots/${slot}/deploy`, {version, healthy})
  expect(status).toBe(200)
}

/** Turn App Service Authentication (Easy Auth) on or off in these slots (undefined: production). */
async function siteAuthentication(enabled: boolean, ...slots: Array<string | undefined>): Promise<void> {
  for (const slot of slots) {
    if (slot) await client.webApps.updateAuthSettingsV2Slot(RG, SITE, slot, {platform: {enabled}})
    else await client.webApps.updateAuthSettingsV2(RG, SITE, {platform: {enabled}})
  }
}

async function adminPost(path: string, body: unknown, target: RunningEmulator = emulator): Promise<{status: number; body: any}> {
  const authorization = await bearerFor(target)
  return new Promise((resolve, reject) => {
    const request = httpsRequest(`${target.armEndpoint}${path}`, {method: 'POST', ca: target.caPem, agent: false, headers: {...authorization, 'content-type': 'application/json'}}, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (c: Buffer) => chunks.push(c))
      response.on('end', () => resolve({status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null')}))
    })
    request.on('error', reject)
    request.end(JSON.stringify(body))
  })
}

beforeAll(async () => {
  // The example catalog's storefront, with a second slot so swaps between other pairs can conflict.
  const environment = getEnvironment(loadCatalog({cwd: process.cwd()}), 'local')
  const storefront = Object.values(environment.components).find((c) => c.name === SITE)
  if (storefront?.type !== 'webapp') throw new Error('the example catalog has no storefront web app')
  storefront.slots = ['staging', 'canary']
  emulator = await startEmulator({environment, environmentName: 'local', lroDurationMs: 0})
  const {WebSiteManagementClient} = await import('@azure/arm-appservice')
  client = new WebSiteManagementClient(credentialFor(emulator), emulator.subscription, {
    endpoint: emulator.armEndpoint,
    tlsOptions: {ca: emulator.caPem},
    retryOptions: {maxRetries: 0},
  })
})

afterAll(async () => {
  await emulator?.stop()
})

describe('App Service through @azure/arm-appservice', () => {
  it('keeps slot setting names (config/slotConfigNames) and publishes four profiles as Azure does', async () => {
    expect((await client.webApps.listSlotConfigurationNames(RG, SITE)).appSettingNames).toEqual([])
    const names = await client.webApps.updateSlotConfigurationNames(RG, SITE, {appSettingNames: ['FEATURE_FLAG']})
    expect(names.appSettingNames).toEqual(['FEATURE_FLAG'])
    expect(names.connectionStringNames).toEqual([])
    expect((await client.webApps.listSlotConfigurationNames(RG, SITE)).appSettingNames).toEqual(['FEATURE_FLAG'])
    await client.webApps.updateSlotConfigurationNames(RG, SITE, {})
    const xml = await sendRaw(emulator, 'POST', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}/publishxml?api-version=2024-11-01`, '{"format": "WebDeploy"}')
    expect([...String(xml.body).matchAll(/publishMethod="([^"]+)"/g)].map((m) => m[1])).toEqual(['MSDeploy', 'FTP', 'ZipDeploy', 'FTP'])
  })

  it('answers a site in the shape of the api-version asked for (outbound routing, plan tier)', async () => {
    await client.webApps.updateConfiguration(RG, SITE, {vnetRouteAllEnabled: true})
    const site = (apiVersion: string) => sendRaw(emulator, 'GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}?api-version=${apiVersion}`)
    // 2024-11-01 and later: outboundVnetRouting, whose applicationTraffic is the older vnetRouteAllEnabled; the plan's tier.
    const newest = (await client.webApps.get(RG, SITE)) as any
    expect(newest.outboundVnetRouting).toMatchObject({applicationTraffic: true})
    expect(newest.vnetRouteAllEnabled).toBeUndefined()
    expect(newest.sku).toBe('PremiumV3')
    const at2024 = ((await site('2024-04-01')).body as any).properties
    expect([at2024.vnetRouteAllEnabled, at2024.vnetBackupRestoreEnabled, at2024.outboundVnetRouting, at2024.sku]).toEqual([true, false, undefined, 'PremiumV3'])
    const at2023 = ((await site('2023-01-01')).body as any).properties
    expect([at2023.vnetRouteAllEnabled, at2023.vnetBackupRestoreEnabled, at2023.sku]).toEqual([true, undefined, undefined])
    // az 2.86 reads sites at 2025-03-01.
    const current = await site('2025-03-01')
    expect(current.status).toBe(200)
    expect((current.body as any).properties.outboundVnetRouting).toMatchObject({applicationTraffic: true})
    await client.webApps.updateConfiguration(RG, SITE, {vnetRouteAllEnabled: false})
    expect(((await site('2022-03-01')).body as any).properties.vnetRouteAllEnabled).toBe(false)
    // Set through the site as each version names it, it is the config/web setting.
    const patch = (apiVersion: string, properties: unknown) =>
      sendRaw(emulator, 'PATCH', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}?api-version=${apiVersion}`, JSON.stringify({properties}))
    expect(((await patch('2023-01-01', {vnetRouteAllEnabled: true})).body as any).properties.vnetRouteAllEnabled).toBe(true)
    expect((await client.webApps.getConfiguration(RG, SITE)).vnetRouteAllEnabled).toBe(true)
    expect(((await patch('2025-05-01', {outboundVnetRouting: {applicationTraffic: false}})).body as any).properties.outboundVnetRouting.applicationTraffic).toBe(false)
    expect((await client.webApps.getConfiguration(RG, SITE)).vnetRouteAllEnabled).toBe(false)
    // The plan's asyncScalingEnabled is defined from 2024-11-01.
    const plan = (apiVersion: string) => sendRaw(emulator, 'GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/serverfarms/asp-${SITE}?api-version=${apiVersion}`)
    expect(((await plan('2025-05-01')).body as any).properties.asyncScalingEnabled).toBe(false)
    expect(((await plan('2024-04-01')).body as any).properties).not.toHaveProperty('asyncScalingEnabled')
  })

  it("answers a site's siteConfig as az webapp show sees it: TLS, FTPS and health check are read from config/web", async () => {
    const site = await client.webApps.get(RG, SITE)
    expect(site.siteConfig).toMatchObject({numberOfWorkers: 1, alwaysOn: true})
    expect([site.siteConfig?.minTlsVersion, site.siteConfig?.ftpsState, site.siteConfig?.healthCheckPath]).toEqual([undefined, undefined, undefined])
    const config = await client.webApps.getConfiguration(RG, SITE)
    expect(config.minTlsVersion).toBe('1.2')
    expect(config.healthCheckPath).toBe('/health')
  })

  it('compares enum values case-insensitively and answers with the canonical spelling, as ARM does', async () => {
    const updated = await client.webApps.updateConfigurationSlot(RG, SITE, 'canary', {ftpsState: 'ftpsonly' as never})
    expect(updated.ftpsState).toBe('FtpsOnly')
    await expect(client.webApps.updateConfigurationSlot(RG, SITE, 'canary', {ftpsState: 'sometimes' as never})).rejects.toMatchObject({statusCode: 400})
  })

  it('serves the plan every site references, power actions and app settings', async () => {
    const site = await client.webApps.get(RG, SITE)
    const plan = await client.appServicePlans.get(RG, site.serverFarmId!.split('/').pop()!)
    expect(plan.sku?.tier).toBe('PremiumV3')
    await client.webApps.stop(RG, SITE)
    expect((await client.webApps.get(RG, SITE)).state).toBe('Stopped')
    await client.webApps.start(RG, SITE)
    expect((await client.webApps.get(RG, SITE)).state).toBe('Running')
    await client.webApps.updateApplicationSettings(RG, SITE, {properties: {FEATURE: 'on'}})
    expect((await client.webApps.listApplicationSettings(RG, SITE)).properties).toEqual({FEATURE: 'on'})
  })

  it('lists and gets the seeded site and its slots, each with its own local URL', async () => {
    const sites = []
    for await (const site of client.webApps.listByResourceGroup(RG)) sites.push(site)
    expect(sites.map((s) => s.name)).toEqual([SITE, `${SITE}-dr`])
    const site = await client.webApps.get(RG, SITE)
    expect(site.defaultHostName).toBe(`${SITE}.azurewebsites.net`)
    expect(site.httpsOnly).toBe(true)
    const slots = []
    for await (const slot of client.webApps.listSlots(RG, SITE)) slots.push(slot)
    expect(slots.map((s) => s.name)).toEqual([`${SITE}/staging`, `${SITE}/canary`])
    expect(await localUrl()).not.toBe(await localUrl('staging'))
  })

  it('updates httpsOnly and config/web on a slot, and validates config values', async () => {
    const updated = await client.webApps.updateSlot(RG, SITE, 'staging', {httpsOnly: false})
    expect(updated.httpsOnly).toBe(false)
    const config = await client.webApps.updateConfigurationSlot(RG, SITE, 'staging', {minTlsVersion: '1.0', ftpsState: 'Disabled', remoteDebuggingEnabled: true})
    expect(config.minTlsVersion).toBe('1.0')
    const again = await client.webApps.getConfigurationSlot(RG, SITE, 'staging')
    expect([again.minTlsVersion, again.ftpsState, again.remoteDebuggingEnabled, again.healthCheckPath]).toEqual(['1.0', 'Disabled', true, '/health'])
    // production is untouched
    expect((await client.webApps.getConfiguration(RG, SITE)).minTlsVersion).toBe('1.2')
    await expect(client.webApps.updateConfiguration(RG, SITE, {minTlsVersion: '0.9' as '1.0'})).rejects.toMatchObject({statusCode: 400})
    await client.webApps.updateSlot(RG, SITE, 'staging', {httpsOnly: true})
    await client.webApps.updateConfigurationSlot(RG, SITE, 'staging', {minTlsVersion: '1.2', remoteDebuggingEnabled: false})
  })

  it('serves basic publishing credentials policies and authsettingsV2 for the site and every slot', async () => {
    // Seeded: production allows no basic auth; the slots still allow it for FTP (a deliberate gap). Auth is on everywhere.
    const allowed = async (slot?: string) =>
      slot
        ? [(await client.webApps.getFtpAllowedSlot(RG, SITE, slot)).allow, (await client.webApps.getScmAllowedSlot(RG, SITE, slot)).allow]
        : [(await client.webApps.getFtpAllowed(RG, SITE)).allow, (await client.webApps.getScmAllowed(RG, SITE)).allow]
    expect([await allowed(), await allowed('staging'), await allowed('canary')]).toEqual([[false, false], [true, false], [true, false]])
    await client.webApps.updateFtpAllowedSlot(RG, SITE, 'canary', {allow: false})
    await client.webApps.updateScmAllowed(RG, SITE, {allow: true})
    expect([await allowed(), await allowed('staging'), await allowed('canary')]).toEqual([[false, true], [true, false], [false, false]])
    await expect(client.webApps.updateFtpAllowed(RG, SITE, {} as never)).rejects.toMatchObject({statusCode: 400})
    await expect(client.webApps.getFtpAllowedSlot(RG, SITE, 'nightly')).rejects.toMatchObject({statusCode: 404})

    expect((await client.webApps.getAuthSettingsV2WithoutSecrets(RG, SITE)).platform?.enabled).toBe(true)
    await client.webApps.updateAuthSettingsV2Slot(RG, SITE, 'staging', {platform: {enabled: false}})
    expect((await client.webApps.getAuthSettingsV2WithoutSecretsSlot(RG, SITE, 'staging')).platform?.enabled).toBe(false)
    expect((await client.webApps.getAuthSettingsV2WithoutSecrets(RG, SITE)).platform?.enabled).toBe(true)
    await expect(client.webApps.getAuthSettingsV2WithoutSecretsSlot(RG, SITE, 'nightly')).rejects.toMatchObject({statusCode: 404})
    await client.webApps.updateScmAllowed(RG, SITE, {allow: false})
    await client.webApps.updateAuthSettingsV2Slot(RG, SITE, 'staging', {platform: {enabled: true}})
  })

  it('answers 404 for a slot that does not exist', async () => {
    await expect(client.webApps.getSlot(RG, SITE, 'nightly')).rejects.toMatchObject({statusCode: 404})
  })

  it('swaps staging into production: observed from outside through the slot ports', async () => {
    await deploy('production', 'v1')
    await deploy('staging', 'v2')
    const production = await localUrl()
    const staging = await localUrl('staging')
    expect((await served(production)).version).toBe('v1')
    expect((await served(staging)).version).toBe('v2')

    await client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})

    expect((await served(production)).version).toBe('v2')
    expect((await served(staging)).version).toBe('v1')
    const site = await client.webApps.get(RG, SITE)
    expect(site.slotSwapStatus).toMatchObject({sourceSlotName: 'staging', destinationSlotName: 'production'})
    expect(site.slotSwapStatus?.timestampUtc).toBeInstanceOf(Date)
    // ARM's shape of the operation: 202 + Location, then the site-scoped monitor ends in 200 (never 204).
    const log = emulator.requestLog()
    expect(log.find((e) => e.method === 'POST' && /\/slotsswap$/i.test(e.path))?.status).toBe(202)
    expect(log.filter((e) => /\/sites\/[^/]+\/operationresults\//i.test(e.path)).at(-1)?.status).toBe(200)
    const swaps = emulator.state.activity.list({kind: 'webapp.swap'})
    expect(swaps.at(-1)?.data).toMatchObject({sourceSlot: 'staging', targetSlot: 'production', production: {version: 'v2'}})
  })

  it('swaps slot to slot (staging → production) with the slot-level operation', async () => {
    const production = await localUrl()
    const before = (await served(production)).version
    await client.webApps.swapSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: false}, {updateIntervalInMs: 50})
    expect((await served(production)).version).not.toBe(before)
  })

  it("ends a swap's Location monitor as Azure does: 200 with the slot the swap was sent to (azure-cli's recorded slot swap)", async () => {
    // az webapp deployment slot swap -s staging (test_webapp_slot_swap.yaml @ 04686e86): POST slots/staging/slotsswap
    // {targetSlot: production, preserveVnet: true} → 202 + Location; the last poll answers 200 with the staging slot.
    const slot = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}/slots/staging`
    const started = await sendRaw(emulator, 'POST', `${slot}/slotsswap?api-version=2024-11-01`, JSON.stringify({targetSlot: 'production', preserveVnet: true}))
    expect(started.status).toBe(202)
    const monitor = new URL(started.headers.location!)
    // Under the slot, as the recorded 202's Location is (`…/slots/staging/operationresults/748febc9-…`).
    expect(monitor.pathname).toMatch(/\/sites\/app-shop-storefront\/slots\/staging\/operationresults\/[0-9a-f-]{36}$/i)
    let done = await sendRaw(emulator, 'GET', `${monitor.pathname}${monitor.search}`)
    await expect.poll(async () => (done = await sendRaw(emulator, 'GET', `${monitor.pathname}${monitor.search}`)).status, {interval: 50, timeout: 10_000}).not.toBe(202)
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({id: expect.stringMatching(/\/sites\/app-shop-storefront\/slots\/staging$/i), type: 'Microsoft.Web/sites/slots'})
    expect((done.body as {properties: {slotSwapStatus?: unknown}}).properties.slotSwapStatus).toMatchObject({sourceSlotName: 'staging'})
  })

  // "You can't use swap with preview when site authentication is enabled in one of the slots"
  // (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap); Azure's
  // answer as MicrosoftDocs/azure-docs#102500 quotes it: 409, "Swap with Preview cannot be used when one of the slots
  // has site authentication enabled."
  it('refuses a swap with preview (409) while site authentication is on in either slot; nothing is prepared, a direct swap still goes', async () => {
    const refusal = {statusCode: 409, code: 'Conflict', message: 'Swap with Preview cannot be used when one of the slots has site authentication enabled.'}
    const staging = async () => (await client.webApps.listApplicationSettingsSlot(RG, SITE, 'staging')).properties
    const before = await staging()
    const prepared = async () => [(await client.webApps.get(RG, SITE)).targetSwapSlot, (await client.webApps.getSlot(RG, SITE, 'staging')).targetSwapSlot]
    try {
      // Seeded: on everywhere. Then on in one slot only, each way round, from either slot's side.
      await expect(client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})).rejects.toMatchObject(refusal)
      await siteAuthentication(false, 'staging')
      await expect(client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})).rejects.toMatchObject(refusal)
      await siteAuthentication(true, 'staging')
      await siteAuthentication(false, undefined)
      await expect(client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})).rejects.toMatchObject(refusal)
      await expect(client.webApps.applySlotConfigToProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true})).rejects.toMatchObject(refusal)
      expect(await prepared()).toEqual([undefined, undefined])
      expect(await staging()).toEqual(before)
      // Off in both: the preview goes.
      await siteAuthentication(false, 'staging')
      await client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})
      expect(await prepared()).toEqual(['staging', 'production'])
      await client.webApps.resetProductionSlotConfig(RG, SITE)
    } finally {
      await siteAuthentication(true, undefined, 'staging')
    }
    // A direct swap is not refused for it.
    await deploy('production', 'v1')
    await deploy('staging', 'v2')
    await client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})
    expect((await served(await localUrl())).version).toBe('v2')
  })

  it('swap with preview: applySlotConfig prepares, a swap with another pair conflicts, reset cancels, swap completes', async () => {
    await deploy('production', 'v1')
    await deploy('staging', 'v2')
    // Azure refuses a preview while either slot has site authentication on (see above).
    await siteAuthentication(false, undefined, 'staging')
    onTestFinished(() => siteAuthentication(true, undefined, 'staging'))
    // As `az webapp deployment slot swap --slot staging --target-slot production --action preview` sends it: the
    // current slot (staging) takes on the target's (production's) settings.
    await client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})
    const prepared = await client.webApps.get(RG, SITE)
    expect(prepared.targetSwapSlot).toBe('staging')
    expect((await client.webApps.getSlot(RG, SITE, 'staging')).targetSwapSlot).toBe('production')
    // Nothing moved yet: preview only applied settings.
    expect((await served(await localUrl())).version).toBe('v1')
    // A prepared slot refuses changes
    await expect(client.webApps.updateConfigurationSlot(RG, SITE, 'staging', {alwaysOn: false})).rejects.toMatchObject({statusCode: 409, code: 'Conflict'})

    await client.webApps.resetProductionSlotConfig(RG, SITE)
    expect((await client.webApps.get(RG, SITE)).targetSwapSlot).toBeUndefined()

    await client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})
    await client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})
    expect((await served(await localUrl())).version).toBe('v2')
    expect((await client.webApps.get(RG, SITE)).targetSwapSlot).toBeUndefined()
  })

  it('rejects a swap while slots are prepared for swap with another target (409 Conflict)', async () => {
    await siteAuthentication(false, undefined, 'staging', 'canary')
    onTestFinished(() => siteAuthentication(true, undefined, 'staging', 'canary'))
    await client.webApps.applySlotConfigToProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true})
    await expect(client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'canary', preserveVnet: true}, {updateIntervalInMs: 50})).rejects.toMatchObject({
      statusCode: 409,
      code: 'Conflict',
    })
    await expect(client.webApps.swapSlot(RG, SITE, 'canary', {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})).rejects.toMatchObject({statusCode: 409})
    await expect(client.webApps.applySlotConfigToProduction(RG, SITE, {targetSlot: 'canary', preserveVnet: true})).rejects.toMatchObject({statusCode: 409, message: expect.stringContaining('prepared for swap')})
    await client.webApps.resetProductionSlotConfig(RG, SITE)
    // Once reset, the other pair swaps fine.
    await client.webApps.swapSlot(RG, SITE, 'canary', {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})
  })

  it('an unhealthy slot answers 503 on the catalog health path; the bad build moves with a swap and back', async () => {
    await deploy('production', 'v1')
    await deploy('staging', 'v2')
    emulator.faults.set({unhealthySlots: [`${SITE}/staging`]})
    const production = await localUrl()
    const staging = await localUrl('staging')
    const health = await fetch(`${staging}/health`)
    expect(health.status).toBe(503)
    expect(await health.json()).toMatchObject({status: 'unhealthy', version: 'v2'})
    expect((await fetch(`${production}/health`)).status).toBe(200)

    await client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})
    expect((await fetch(`${production}/health`)).status).toBe(503)
    expect((await fetch(`${staging}/health`)).status).toBe(200)

    await client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 50})
    expect(await (await fetch(`${production}/health`)).json()).toMatchObject({status: 'healthy', version: 'v1'})
    emulator.faults.clear()
    expect((await fetch(`${staging}/health`)).status).toBe(200)
  })

  it('deploys an unhealthy build through the admin route', async () => {
    await deploy('staging', 'v3-broken', false)
    const staging = await localUrl('staging')
    const response = await fetch(`${staging}/health`)
    expect(response.status).toBe(503)
    expect((await response.json()) as {version: string}).toMatchObject({version: 'v3-broken'})
    const root = await fetch(`${staging}/`)
    expect(root.status).toBe(500)
  })

  it("keeps what slots served for Azure Monitor's 93 days of metrics, and forgets deployments no slot served since", async () => {
    let shiftMs = 0
    const later = await startEmulator({environment: getEnvironment(loadCatalog({cwd: process.cwd()}), 'local'), environmentName: 'local', lroDurationMs: 0, clock: () => new Date(Date.now() + shiftMs)})
    try {
      type Webapps = {sites: Record<string, {slots: Record<string, {history: Array<{deploymentId: string}>}>}>; deployments: Record<string, {version: string}>}
      const webapps = () => later.state.slice<Webapps>('webapps')!
      const staging = () => webapps().sites[SITE]!.slots.staging!
      for (const version of ['v3', 'v4']) expect((await adminPost(`/_emulator/webapps/${SITE}/slots/staging/deploy`, {version, healthy: true}, later)).status).toBe(200)
      expect(staging().history).toHaveLength(3)
      // 94 days on, one more deploy: what the slot served before the window is gone but for the one in force at its
      // start (v4), and the deployments only those entries named (v2 seeded, v3) with them.
      shiftMs = 94 * 86_400_000
      expect((await adminPost(`/_emulator/webapps/${SITE}/slots/staging/deploy`, {version: 'v5', healthy: true}, later)).status).toBe(200)
      const versions = (id: string) => webapps().deployments[id]?.version
      expect(staging().history.map((e) => versions(e.deploymentId))).toEqual(['v4', 'v5'])
      expect(Object.values(webapps().deployments).map((d) => d.version)).not.toContain('v3')
      // Production's seeded v1 still serves: kept.
      expect(Object.values(webapps().deployments).map((d) => d.version)).toContain('v1')
    } finally {
      await later.stop()
    }
  })

  it('creates a slot without a managed identity unless one is asked for', async () => {
    const plain = await client.webApps.beginCreateOrUpdateSlotAndWait(RG, SITE, 'no-identity', {location: 'eastus'})
    expect(plain.identity).toBeUndefined()
    const withIdentity = await client.webApps.beginCreateOrUpdateSlotAndWait(RG, SITE, 'with-identity', {location: 'eastus', identity: {type: 'SystemAssigned'}})
    expect(withIdentity.identity?.type).toBe('SystemAssigned')
    expect(withIdentity.identity?.principalId).toMatch(/^[0-9a-f-]{36}$/)
    for (const slot of ['no-identity', 'with-identity']) expect((await client.webApps.getSlot(RG, SITE, slot)).name).toBe(`${SITE}/${slot}`)
  })

  it('creates a slot on a Premium plan (Web Apps - Create Or Update Slot), which is then listed and read', async () => {
    const created = await client.webApps.createOrUpdateSlot(RG, SITE, 'blue', {location: 'eastus', tags: {purpose: 'contract'}}, {updateIntervalInMs: 20})
    expect(created).toMatchObject({name: `${SITE}/blue`, tags: {purpose: 'contract'}})
    const names: string[] = []
    for await (const slot of client.webApps.listSlots(RG, SITE)) names.push(slot.name!)
    expect(names).toContain(`${SITE}/blue`)
    expect((await client.webApps.getSlot(RG, SITE, 'blue')).state).toBe('Running')
  })

  // What a swap moves and what stays with the slot, as "Set up staging environments in Azure App Service" lists it
  // (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#which-settings-are-swapped): the settings named in
  // config/slotConfigNames stay, the others follow the content; so do the language stack (linuxFxVersion) and
  // WebSockets, while Always On and the TLS version stay.
  describe('slot settings across a swap (slotConfigNames)', () => {
    const settings = async (slot?: string) => (slot ? await client.webApps.listApplicationSettingsSlot(RG, SITE, slot) : await client.webApps.listApplicationSettings(RG, SITE)).properties
    const connections = async (slot?: string) => {
      const list = slot ? await client.webApps.listConnectionStringsSlot(RG, SITE, slot) : await client.webApps.listConnectionStrings(RG, SITE)
      return Object.fromEntries(Object.entries(list.properties ?? {}).map(([name, pair]) => [name, pair.value]))
    }
    const config = async (slot?: string) => {
      const c = slot ? await client.webApps.getConfigurationSlot(RG, SITE, slot) : await client.webApps.getConfiguration(RG, SITE)
      return {linuxFxVersion: c.linuxFxVersion, webSocketsEnabled: c.webSocketsEnabled, alwaysOn: c.alwaysOn, minTlsVersion: c.minTlsVersion}
    }
    const swap = () => client.webApps.swapSlotWithProduction(RG, SITE, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 20})

    beforeAll(async () => {
      // The az recording test_webapp_slot_swap.yaml's settings: `s1` is a slot setting, set to `prod` in production and
      // `slot` in staging; WEBSITE_NODE_DEFAULT_VERSION is not.
      await client.webApps.updateApplicationSettings(RG, SITE, {properties: {WEBSITE_NODE_DEFAULT_VERSION: '~20', s1: 'prod', DB_NAME: 'orders'}})
      await client.webApps.updateApplicationSettingsSlot(RG, SITE, 'staging', {properties: {WEBSITE_NODE_DEFAULT_VERSION: '6.9.1', s1: 'slot', DB_NAME: 'orders-next'}})
      await client.webApps.updateConnectionStrings(RG, SITE, {properties: {main: {value: 'Server=prod', type: 'SQLAzure'}, cache: {value: 'redis-v1', type: 'RedisCache'}}})
      await client.webApps.updateConnectionStringsSlot(RG, SITE, 'staging', {properties: {main: {value: 'Server=staging', type: 'SQLAzure'}, cache: {value: 'redis-v2', type: 'RedisCache'}}})
      await client.webApps.updateSlotConfigurationNames(RG, SITE, {appSettingNames: ['s1'], connectionStringNames: ['main']})
      await client.webApps.updateConfiguration(RG, SITE, {linuxFxVersion: 'NODE|20-lts', webSocketsEnabled: false, alwaysOn: true, minTlsVersion: '1.2'})
      await client.webApps.updateConfigurationSlot(RG, SITE, 'staging', {linuxFxVersion: 'NODE|22-lts', webSocketsEnabled: true, alwaysOn: false, minTlsVersion: '1.3'})
      await deploy('production', 'v1')
      await deploy('staging', 'v2')
    })

    afterAll(async () => {
      await client.webApps.resetProductionSlotConfig(RG, SITE)
      await client.webApps.updateSlotConfigurationNames(RG, SITE, {})
    })

    it('moves the content and the settings that follow it, keeps slot settings with their slot; swapping back restores both sides', async () => {
      const before = {production: [await settings(), await connections(), await config()], staging: [await settings('staging'), await connections('staging'), await config('staging')]}
      await swap()
      expect((await served(await localUrl())).version).toBe('v2')
      expect(await settings()).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '6.9.1', s1: 'prod', DB_NAME: 'orders-next'})
      expect(await settings('staging')).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '~20', s1: 'slot', DB_NAME: 'orders'})
      expect(await connections()).toEqual({main: 'Server=prod', cache: 'redis-v2'})
      expect(await connections('staging')).toEqual({main: 'Server=staging', cache: 'redis-v1'})
      expect(await config()).toEqual({linuxFxVersion: 'NODE|22-lts', webSocketsEnabled: true, alwaysOn: true, minTlsVersion: '1.2'})
      expect(await config('staging')).toEqual({linuxFxVersion: 'NODE|20-lts', webSocketsEnabled: false, alwaysOn: false, minTlsVersion: '1.3'})

      // Roll back: the same swap again.
      await swap()
      expect((await served(await localUrl())).version).toBe('v1')
      expect({production: [await settings(), await connections(), await config()], staging: [await settings('staging'), await connections('staging'), await config('staging')]}).toEqual(before)
    })

    it('swap with preview: phase one gives staging the sticky settings of production, reset takes them back, completing the swap finishes it', async () => {
      // The recording's site had no site authentication (Azure refuses a preview otherwise).
      await siteAuthentication(false, undefined, 'staging')
      onTestFinished(() => siteAuthentication(true, undefined, 'staging'))
      const production = await settings()
      // `az webapp deployment slot swap --slot staging --action preview`: as live Azure answered it (az recording
      // test_webapp_slot_swap.yaml), staging's slot setting s1 reads production's `prod`; its other settings are its own.
      await client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})
      expect(await settings('staging')).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '6.9.1', s1: 'prod', DB_NAME: 'orders-next'})
      expect(await connections('staging')).toEqual({main: 'Server=prod', cache: 'redis-v2'})
      // Production and what the slots serve are untouched.
      expect(await settings()).toEqual(production)
      expect((await served(await localUrl('staging'))).version).toBe('v2')

      // `--action reset` (az calls it on production): staging gets its own back.
      await client.webApps.resetProductionSlotConfig(RG, SITE)
      expect(await settings('staging')).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '6.9.1', s1: 'slot', DB_NAME: 'orders-next'})
      expect(await connections('staging')).toEqual({main: 'Server=staging', cache: 'redis-v2'})

      // Preview again, then complete: as in the recording, staging reads s1 = `slot` and production's former
      // WEBSITE_NODE_DEFAULT_VERSION; a reset after the completed swap changes nothing.
      await client.webApps.applySlotConfigurationSlot(RG, SITE, 'staging', {targetSlot: 'production', preserveVnet: true})
      await swap()
      for (const _ of [1, 2]) {
        expect(await settings('staging')).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '~20', s1: 'slot', DB_NAME: 'orders'})
        expect(await settings()).toEqual({WEBSITE_NODE_DEFAULT_VERSION: '6.9.1', s1: 'prod', DB_NAME: 'orders-next'})
        expect(await connections()).toEqual({main: 'Server=prod', cache: 'redis-v2'})
        await client.webApps.resetProductionSlotConfig(RG, SITE)
      }
      expect((await served(await localUrl())).version).toBe('v2')
      await swap()
    })

    it('lists what a swap will change (slotsdiffs): the swapped settings that differ, not the slot settings; the swap then changes exactly those', async () => {
      type Difference = {settingType?: string; settingName?: string; diffRule?: string; valueInCurrentSlot?: string; valueInTargetSlot?: string}
      const differences = async (from?: string, targetSlot = 'production') => {
        const out: Difference[] = []
        const pages = from ? client.webApps.listSlotDifferencesSlot(RG, SITE, from, {targetSlot, preserveVnet: true}) : client.webApps.listSlotDifferencesFromProduction(RG, SITE, {targetSlot, preserveVnet: true})
        for await (const d of pages) out.push(d)
        return out
      }
      const rules = (list: Difference[]) => list.map((d) => `${d.settingType} ${d.settingName} ${d.diffRule}`).sort()
      // A setting only staging has is added to production by the swap; one only production has is not in the source.
      await client.webApps.updateApplicationSettingsSlot(RG, SITE, 'staging', {properties: {...(await settings('staging')), FEATURE_X: 'on'}})
      await client.webApps.updateApplicationSettings(RG, SITE, {properties: {...(await settings()), LEGACY_ONLY: 'yes'}})
      onTestFinished(async () => {
        const {FEATURE_X: _x, ...staging} = (await settings('staging')) ?? {}
        await client.webApps.updateApplicationSettingsSlot(RG, SITE, 'staging', {properties: staging})
        const {LEGACY_ONLY: _l, ...production} = (await settings()) ?? {}
        await client.webApps.updateApplicationSettings(RG, SITE, {properties: production})
      })

      const staged = await differences('staging')
      // s1 and the connection string `main` are slot settings: they stay with their slot and are not listed; Always On
      // and the TLS version are not swapped (Learn, deploy-staging-slots#which-settings-are-swapped).
      expect(rules(staged)).toEqual([
        'AppSetting DB_NAME SettingsWillBeModifiedInDestination',
        'AppSetting FEATURE_X SettingsWillBeAddedToDestination',
        'AppSetting LEGACY_ONLY SettingsNotInSource',
        'AppSetting WEBSITE_NODE_DEFAULT_VERSION SettingsWillBeModifiedInDestination',
        'ConnectionString cache SettingsWillBeModifiedInDestination',
        'General linuxFxVersion SettingsWillBeModifiedInDestination',
        'General webSocketsEnabled SettingsWillBeModifiedInDestination',
      ])
      // Seen from production towards staging, the same settings with the two sides exchanged.
      const fromProduction = await differences(undefined, 'staging')
      const key = (d: Difference) => `${d.settingType} ${d.settingName}`
      expect(fromProduction.map((d) => [key(d), d.valueInCurrentSlot, d.valueInTargetSlot]).sort()).toEqual(staged.map((d) => [key(d), d.valueInTargetSlot, d.valueInCurrentSlot]).sort())

      // The swap changes in production exactly what was listed, to the values staging had.
      const productionBefore = {AppSetting: await settings(), ConnectionString: await connections(), General: await config()}
      await swap()
      try {
        const after = {AppSetting: await settings(), ConnectionString: await connections(), General: await config()} as Record<string, Record<string, unknown>>
        for (const d of staged) expect([key(d), String(after[d.settingType!]![d.settingName!] ?? '(absent)')]).toEqual([key(d), d.valueInCurrentSlot ?? '(absent)'])
        const listed = new Set(staged.map(key))
        for (const [type, values] of Object.entries(productionBefore))
          for (const [name, value] of Object.entries(values ?? {})) if (!listed.has(`${type} ${name}`)) expect([type, name, after[type]![name]]).toEqual([type, name, value])
      } finally {
        await swap()
      }
    })

    it('answers slotsdiffs for an unknown target slot with 404 and without a target slot with 400', async () => {
      await expect(client.webApps.listSlotDifferencesSlot(RG, SITE, 'staging', {targetSlot: 'nope', preserveVnet: true}).next()).rejects.toMatchObject({statusCode: 404})
      const path = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}/slotsdiffs?api-version=2025-05-01`
      expect((await sendRaw(emulator, 'POST', path, JSON.stringify({preserveVnet: true}))).status).toBe(400)
    })

    it('keeps connection string values out of everything but the connection-string answers (request log, activity log, admin listing, errors)', async () => {
      const planted = `Server=tcp:planted;Password=${'p'.repeat(8)}-${Date.now()}`
      const current = (await client.webApps.listConnectionStringsSlot(RG, SITE, 'canary')).properties ?? {}
      await client.webApps.updateConnectionStringsSlot(RG, SITE, 'canary', {properties: {...current, planted: {value: planted, type: 'SQLAzure'}}})
      onTestFinished(() => client.webApps.updateConnectionStringsSlot(RG, SITE, 'canary', {properties: current}).then(() => undefined))
      // A refused write names the connection string, never its value.
      const path = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}/slots/canary/config/connectionstrings?api-version=2025-05-01`
      const refused = await sendRaw(emulator, 'PUT', path, JSON.stringify({properties: {planted: {value: planted, type: 'NotAType'}}}))
      expect(refused.status).toBe(400)
      expect(JSON.stringify(refused.body)).toContain("'planted'")
      expect(JSON.stringify(refused.body)).not.toContain(planted)
      // The value is there for whoever lists them (as in Azure)…
      expect((await client.webApps.listConnectionStringsSlot(RG, SITE, 'canary')).properties?.planted?.value).toBe(planted)
      // …and nowhere else the emulator keeps or shows.
      const listing = await sendRaw(emulator, 'GET', '/_emulator/webapps')
      expect(listing.status).toBe(200)
      const admin = JSON.stringify(listing.body)
      expect(admin).toContain('canary')
      for (const [where, text] of [
        ['request log', JSON.stringify(emulator.requestLog())],
        ['activity log', JSON.stringify(emulator.state.activity)],
        ['admin listing', admin],
      ] as const)
        expect([where, text.includes(planted)]).toEqual([where, false])
    })

    it('swaps Always On and the TLS version too when every slot sets WEBSITE_OVERRIDE_PRESERVE_DEFAULT_STICKY_SLOT_SETTINGS=0', async () => {
      const slots = [undefined as string | undefined]
      for await (const slot of client.webApps.listSlots(RG, SITE)) slots.push(slot.name!.split('/')[1])
      const setOverride = async (on: boolean) => {
        for (const slot of slots) {
          const current = {...(await settings(slot))}
          if (on) current.WEBSITE_OVERRIDE_PRESERVE_DEFAULT_STICKY_SLOT_SETTINGS = '0'
          else delete current.WEBSITE_OVERRIDE_PRESERVE_DEFAULT_STICKY_SLOT_SETTINGS
          if (slot) await client.webApps.updateApplicationSettingsSlot(RG, SITE, slot, {properties: current})
          else await client.webApps.updateApplicationSettings(RG, SITE, {properties: current})
        }
      }
      await setOverride(true)
      try {
        await swap()
        expect(await config()).toEqual({linuxFxVersion: 'NODE|22-lts', webSocketsEnabled: true, alwaysOn: false, minTlsVersion: '1.3'})
        await swap()
        expect(await config()).toEqual({linuxFxVersion: 'NODE|20-lts', webSocketsEnabled: false, alwaysOn: true, minTlsVersion: '1.2'})
      } finally {
        await setOverride(false)
      }
    })
  })
})
