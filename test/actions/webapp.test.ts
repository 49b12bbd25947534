import {afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished} from 'vitest'
import {
  assertNotPreparedForSwapAction,
  healthCheckAction,
  describeDifferences,
  resetSwapAction,
  slotDifferencesAction,
  slotStatusAction,
  swapAction,
  swapBackAction,
  swapModeAction,
} from '../../src/actions/webapp.js'
import {ExitCode} from '../../src/errors.js'
import {makeContext, startFixture, type Fixture, parseInput as parse} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})

// `timeout` bounds each health request to a slot server in this process: it costs nothing when the slot answers, and
// 2 s (two attempts) could pass unanswered on a loaded machine, failing a healthy gate.
const fast = {attempts: 2, interval: 'PT0.05S', timeout: 'PT20S'}

/** What a slot serves, asked over HTTP from outside (the emulator's admin listing gives each slot's local URL). */
async function served(slot: string): Promise<{status: number; version?: string}> {
  const listing = await fixture.services.armRequest('GET', '/_emulator/webapps')
  const entry = listing.body.value.find((e: {site: string; slot: string}) => e.site === 'app-shop-storefront' && e.slot === slot)
  const response = await fixture.services.httpGet(`${entry.url}/health`)
  return {status: response.status, version: response.headers['x-opsbook-version']}
}

async function deploy(slot: string, version: string): Promise<void> {
  const response = await fixture.services.armRequest('POST', `/_emulator/webapps/app-shop-storefront/slots/${slot}/deploy`, {body: {version}})
  expect(response.status).toBe(200)
}

/** Replace the app settings of production and staging, and which of them are slot settings. */
async function setSettings(values: {production: Record<string, string>; staging: Record<string, string>}, sticky: string[]): Promise<void> {
  const web = await fixture.services.web()
  await web.webApps.updateApplicationSettings('rg-shop-local', 'app-shop-storefront', {properties: values.production})
  await web.webApps.updateApplicationSettingsSlot('rg-shop-local', 'app-shop-storefront', 'staging', {properties: values.staging})
  await web.webApps.updateSlotConfigurationNames('rg-shop-local', 'app-shop-storefront', {appSettingNames: sticky})
}

async function settings(): Promise<{production?: Record<string, string>; staging?: Record<string, string>}> {
  const web = await fixture.services.web()
  return {
    production: (await web.webApps.listApplicationSettings('rg-shop-local', 'app-shop-storefront')).properties,
    staging: (await web.webApps.listApplicationSettingsSlot('rg-shop-local', 'app-shop-storefront', 'staging')).properties,
  }
}

/** Turn App Service Authentication (Easy Auth) on or off in production and staging, through the SDK. */
async function siteAuthentication(enabled: boolean): Promise<void> {
  const web = await fixture.services.web()
  await web.webApps.updateAuthSettingsV2('rg-shop-local', 'app-shop-storefront', {platform: {enabled}})
  await web.webApps.updateAuthSettingsV2Slot('rg-shop-local', 'app-shop-storefront', 'staging', {platform: {enabled}})
}

/** The POSTs the emulator answered since the request log was cleared, as `<site>/<path>` (what changed Azure). */
function posts(): string[] {
  return fixture.emulator
    .requestLog()
    .filter((e) => e.method === 'POST' && e.path.includes('/sites/'))
    .map((e) => e.path.replace(/^.*\/sites\//, ''))
}

beforeEach(() => {
  fixture.emulator.faults.clear()
})

describe('webapp.healthCheck', () => {
  it('checks the production slot over HTTP and reports its version', async () => {
    const {context} = makeContext(fixture)
    const out = await healthCheckAction.run(parse(healthCheckAction, {app: 'storefront', ...fast}), context)
    expect(out.ok).toBe(true)
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/)
    expect(out.version).toBe((await served('production')).version)
  })

  it('fails on an unhealthy slot', async () => {
    fixture.emulator.faults.set({unhealthySlots: ['app-shop-storefront/staging']})
    const {context} = makeContext(fixture)
    await expect(healthCheckAction.run(parse(healthCheckAction, {app: 'storefront', slot: 'staging', ...fast}), context)).rejects.toThrow(/unhealthy.*503/)
  })
})

describe('webapp.swap', () => {
  it('swaps a healthy staging slot into production and back, observed over HTTP; slot settings stay, the others follow', async () => {
    const before = await served('production')
    await deploy('staging', 'v2-candidate')
    // A slot setting (sticky: the environment's name) and one that follows the build (its feature flag).
    await setSettings({production: {ENVIRONMENT_NAME: 'production', FEATURE_X: 'off'}, staging: {ENVIRONMENT_NAME: 'staging', FEATURE_X: 'on'}}, ['ENVIRONMENT_NAME'])
    const {context, started} = makeContext(fixture)
    const swapped = await swapAction.run(parse(swapAction, {app: 'storefront', ...fast}), context)
    expect(await settings()).toEqual({production: {ENVIRONMENT_NAME: 'production', FEATURE_X: 'on'}, staging: {ENVIRONMENT_NAME: 'staging', FEATURE_X: 'off'}})
    expect(swapped.productionVersion).toBe('v2-candidate')
    expect(swapped.slotVersion).toBe(before.version)
    expect(await served('production')).toEqual({status: 200, version: 'v2-candidate'})
    expect(started.some((op) => op.description.includes('staging ⇄ production') && op.monitorUrl)).toBe(true)

    const back = await swapBackAction.run(parse(swapBackAction, {app: 'storefront'}), context)
    expect(back.productionVersion).toBe(before.version)
    expect(await settings()).toEqual({production: {ENVIRONMENT_NAME: 'production', FEATURE_X: 'off'}, staging: {ENVIRONMENT_NAME: 'staging', FEATURE_X: 'on'}})
    expect(await served('production')).toEqual({status: 200, version: before.version})
    const status = await slotStatusAction.run(parse(slotStatusAction, {app: 'storefront'}), context)
    expect(status.preparedForSwap).toBe(false)
    expect(status.slots.find((s) => s.name === 'production')?.lastSwap?.source).toBeDefined()
  })

  it('does not swap an unhealthy staging slot, and resets the preview', async () => {
    // An app without site authentication: the swap goes with preview.
    await siteAuthentication(false)
    onTestFinished(() => siteAuthentication(true))
    const before = await served('production')
    await deploy('staging', 'v3-broken')
    fixture.emulator.faults.set({unhealthySlots: ['app-shop-storefront/staging']})
    fixture.emulator.clearRequestLog()
    const {context} = makeContext(fixture)
    const error = await swapAction.run(parse(swapAction, {app: 'storefront', ...fast}), context).catch((e) => e)
    expect(error.message).toContain('not swapping')
    expect(error.message).toContain('production was not touched')
    expect(fixture.emulator.requestLog().filter((e) => e.path.toLowerCase().endsWith('/slotsswap'))).toHaveLength(0)
    expect(await served('production')).toEqual({status: 200, version: before.version})
    const status = await slotStatusAction.run(parse(slotStatusAction, {app: 'storefront'}), context)
    expect(status.preparedForSwap).toBe(false)
    // The preview was cancelled on the slot it changed (the source), which has its own slot settings back.
    expect(fixture.emulator.requestLog().filter((e) => /resetSlotConfig$/i.test(e.path)).map((e) => e.path.replace(/^.*\/sites\//, ''))).toEqual(['app-shop-storefront/slots/staging/resetSlotConfig'])
    expect((await settings()).staging).toEqual({ENVIRONMENT_NAME: 'staging', FEATURE_X: 'on'})
  })

  // Azure refuses a swap with preview when site authentication is on in either slot
  // (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap).
  it('swaps an app with site authentication on directly (no preview), and says why and what that loses', async () => {
    const before = await served('production')
    await deploy('staging', 'v4-auth')
    fixture.emulator.clearRequestLog()
    const {context, logs} = makeContext(fixture)
    const swapped = await swapAction.run(parse(swapAction, {app: 'storefront', ...fast}), context)
    expect(swapped).toMatchObject({preview: false, siteAuthentication: ['staging', 'production'], productionVersion: 'v4-auth'})
    expect(swapped.directSwapReason).toMatch(/site authentication \(Easy Auth\) is on.*refuses a swap with preview.*direct swap.*lost: .*post-swap health gate with automatic swap-back/)
    expect(logs.join('\n')).toContain('direct swap')
    expect(posts()).toEqual(['app-shop-storefront/slotsswap'])
    expect(await served('production')).toEqual({status: 200, version: 'v4-auth'})
    await swapBackAction.run(parse(swapBackAction, {app: 'storefront'}), context)
    expect(await served('production')).toEqual({status: 200, version: before.version})
  })

  it('previews an app without site authentication: applySlotConfig, gate, swap', async () => {
    await siteAuthentication(false)
    onTestFinished(() => siteAuthentication(true))
    const before = await served('production')
    await deploy('staging', 'v5-noauth')
    fixture.emulator.clearRequestLog()
    const {context} = makeContext(fixture)
    const swapped = await swapAction.run(parse(swapAction, {app: 'storefront', ...fast}), context)
    expect(swapped).toMatchObject({preview: true, siteAuthentication: [], productionVersion: 'v5-noauth'})
    expect(swapped.directSwapReason).toBeUndefined()
    expect(posts()).toEqual(['app-shop-storefront/slots/staging/applySlotConfig', 'app-shop-storefront/slotsswap'])
    await swapBackAction.run(parse(swapBackAction, {app: 'storefront'}), context)
    expect(await served('production')).toEqual({status: 200, version: before.version})
  })

  it('refuses a forced preview with site authentication on: exit 2, nothing changed', async () => {
    const before = await served('production')
    fixture.emulator.clearRequestLog()
    for (const preview of ['always', true] as const) {
      const {context} = makeContext(fixture)
      const error = await swapAction.run(parse(swapAction, {app: 'storefront', preview, ...fast}), context).catch((e) => e)
      expect(error.exitCode).toBe(ExitCode.invalidInput)
      expect(error.message).toContain('Swap with Preview cannot be used when one of the slots has site authentication enabled.')
      expect(error.message).toContain('https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap')
      const mode = await swapModeAction.run(parse(swapModeAction, {app: 'storefront', preview}), context).catch((e) => e)
      expect(mode.exitCode).toBe(ExitCode.invalidInput)
    }
    expect(posts()).toEqual([])
    expect(await served('production')).toEqual({status: 200, version: before.version})
    // `never` reads nothing and swaps directly; `auto` says the swap will go direct.
    const {context} = makeContext(fixture)
    expect(await swapModeAction.run(parse(swapModeAction, {app: 'storefront', preview: 'never'}), context)).toMatchObject({preview: false, siteAuthentication: []})
    expect(await swapModeAction.run(parse(swapModeAction, {app: 'storefront'}), context)).toMatchObject({preview: false, siteAuthentication: ['staging', 'production']})
  })

  it('stops with exit 5 when a slot is left prepared for swap, and resetSwap clears it', async () => {
    await siteAuthentication(false)
    onTestFinished(() => siteAuthentication(true))
    const web = await fixture.services.web()
    await web.webApps.applySlotConfigToProduction('rg-shop-local', 'app-shop-storefront', {targetSlot: 'staging', preserveVnet: true})
    const {context} = makeContext(fixture)
    const guard = await assertNotPreparedForSwapAction.run(parse(assertNotPreparedForSwapAction, {app: 'storefront'}), context).catch((e) => e)
    expect(guard.exitCode).toBe(ExitCode.blocked)
    expect(guard.message).toContain('prepared for swap')
    expect(guard.suggestions.join(' ')).toContain('--action reset')

    // Production, the source here, runs with staging's slot setting until the reset.
    expect((await settings()).production?.ENVIRONMENT_NAME).toBe('staging')
    const reset = await resetSwapAction.run(parse(resetSwapAction, {app: 'storefront'}), context)
    expect(reset.wasPrepared).toBe(true)
    expect((await settings()).production?.ENVIRONMENT_NAME).toBe('production')
    const ok = await assertNotPreparedForSwapAction.run(parse(assertNotPreparedForSwapAction, {app: 'storefront'}), context)
    expect(ok.preparedForSwap).toBe(false)
  })
})

describe('webapp.slotDifferences', () => {
  const RG = 'rg-shop-local'
  const SITE = 'app-shop-storefront'

  it('lists, through the SDK, the settings a swap of staging changes in production — by name, with type and level, never a value — and the swap changes exactly those', async () => {
    const web = await fixture.services.web()
    const stamp = Date.now()
    // Secret values in every kind of setting: app settings (one a slot setting), connection strings (one sticky).
    const secret = {
      prodKey: `prod-key-${stamp}-Zq9`,
      nextKey: `next-key-${stamp}-Xw4`,
      prodDb: `Server=tcp:prod;Password=pw-prod-${stamp}`,
      nextDb: `Server=tcp:next;Password=pw-next-${stamp}`,
      prodOnly: `legacy-${stamp}-Lk2`,
      newFlag: `flag-${stamp}-Nf7`,
      prodEnv: `env-prod-${stamp}`,
      nextEnv: `env-next-${stamp}`,
    }
    await setSettings(
      {
        production: {ENVIRONMENT_NAME: secret.prodEnv, API_KEY: secret.prodKey, LEGACY_ONLY: secret.prodOnly, SAME: 'same'},
        staging: {ENVIRONMENT_NAME: secret.nextEnv, API_KEY: secret.nextKey, NEW_FLAG: secret.newFlag, SAME: 'same'},
      },
      ['ENVIRONMENT_NAME'],
    )
    const connections = {
      production: (await web.webApps.listConnectionStrings(RG, SITE)).properties ?? {},
      staging: (await web.webApps.listConnectionStringsSlot(RG, SITE, 'staging')).properties ?? {},
    }
    onTestFinished(async () => {
      await web.webApps.updateConnectionStrings(RG, SITE, {properties: connections.production})
      await web.webApps.updateConnectionStringsSlot(RG, SITE, 'staging', {properties: connections.staging})
    })
    await web.webApps.updateConnectionStrings(RG, SITE, {properties: {...connections.production, orders: {value: secret.prodDb, type: 'SQLAzure'}}})
    await web.webApps.updateConnectionStringsSlot(RG, SITE, 'staging', {properties: {...connections.staging, orders: {value: secret.nextDb, type: 'SQLAzure'}}})

    fixture.emulator.clearRequestLog()
    const {context, logs, secrets} = makeContext(fixture)
    const out = await slotDifferencesAction.run(parse(slotDifferencesAction, {app: 'storefront'}), context)
    // The portal's call: POST on the source slot with the target in the body (one page here), nothing else.
    expect(posts()).toEqual([`${SITE}/slots/staging/slotsdiffs`])
    const app = out.differences.filter((d) => d.type === 'AppSetting' || d.type === 'ConnectionString')
    expect(app.map((d) => `${d.type} ${d.name} ${d.effect}`)).toEqual([
      'AppSetting API_KEY modified',
      'AppSetting LEGACY_ONLY removed',
      'AppSetting NEW_FLAG added',
      'ConnectionString orders modified',
    ])
    // The slot setting and the equal one are not changes; every entry carries Azure's level and rule.
    expect(out.differences.every((d) => d.level && d.rule && d.slotSetting === false)).toBe(true)
    expect(out.changing).toEqual(expect.arrayContaining(['AppSetting API_KEY (modified)', 'AppSetting NEW_FLAG (added)', 'AppSetting LEGACY_ONLY (removed)', 'ConnectionString orders (modified)']))
    expect(out.summary).toMatch(/^swapping app-shop-storefront\/staging into production changes \d+ settings there: .*AppSetting API_KEY \(modified\)/)
    expect(logs).toContain(out.summary)
    // Names only: no value is in what the step returns or logs, and none had to be registered as a secret to get there.
    const shown = JSON.stringify({out, logs})
    for (const [what, value] of Object.entries(secret)) expect([what, shown.includes(value)]).toEqual([what, false])
    expect(secrets).toEqual([])

    // The swap then changes in production exactly the app settings and connection strings listed, no other.
    const before = {app: (await settings()).production ?? {}, cs: (await web.webApps.listConnectionStrings(RG, SITE)).properties ?? {}}
    const swapped = await swapAction.run(parse(swapAction, {app: 'storefront', preview: 'never', ...fast}), context)
    onTestFinished(() => swapBackAction.run(parse(swapBackAction, {app: 'storefront'}), makeContext(fixture).context).then(() => undefined))
    expect(swapped.preview).toBe(false)
    const after = {app: (await settings()).production ?? {}, cs: (await web.webApps.listConnectionStrings(RG, SITE)).properties ?? {}}
    const changed = [
      ...[...new Set([...Object.keys(before.app), ...Object.keys(after.app)])].filter((n) => before.app[n] !== after.app[n]).map((n) => `AppSetting ${n}`),
      ...[...new Set([...Object.keys(before.cs), ...Object.keys(after.cs)])].filter((n) => before.cs[n]?.value !== after.cs[n]?.value).map((n) => `ConnectionString ${n}`),
    ].sort()
    expect(changed).toEqual(app.map((d) => `${d.type} ${d.name}`).sort())
  })

  it('is retried like the read it is when Azure answers 503 (POST only because the target slot is its body)', async () => {
    fixture.emulator.faults.set({transient: {next: 1, statuses: [503]}})
    fixture.emulator.clearRequestLog()
    const out = await slotDifferencesAction.run(parse(slotDifferencesAction, {app: 'storefront'}), makeContext(fixture).context)
    expect(out.summary).toMatch(/^swapping app-shop-storefront\/staging into production/)
    expect(fixture.emulator.requestLog().filter((e) => e.path.endsWith('/slotsdiffs')).map((e) => e.status)).toEqual([503, 200])
  })

  it('compares from production with listSlotDifferencesFromProduction, and refuses a slot compared with itself (exit 2) without calling Azure', async () => {
    fixture.emulator.clearRequestLog()
    const {context} = makeContext(fixture)
    const out = await slotDifferencesAction.run(parse(slotDifferencesAction, {app: 'storefront', slot: 'production', targetSlot: 'staging'}), context)
    expect(posts()).toEqual([`${SITE}/slotsdiffs`])
    expect(out).toMatchObject({app: SITE, slot: 'production', targetSlot: 'staging'})
    expect(out.summary).toMatch(/^swapping app-shop-storefront\/production into app-shop-storefront\/staging changes/)
    const same = await slotDifferencesAction.run(parse(slotDifferencesAction, {app: 'storefront', slot: 'staging', targetSlot: 'Staging'}), context).catch((e) => e)
    expect(same.exitCode).toBe(ExitCode.invalidInput)
    expect(posts()).toEqual([`${SITE}/slotsdiffs`])
  })

  it('keeps names, types, levels and rules of entries it does not know, drops every value and description, and says which are slot settings', () => {
    const entries = describeDifferences([
      // As the SDK gives them (flattened), with a field the spec does not define.
      {settingType: 'AppSetting', settingName: 'B', diffRule: 'SettingsWillBeModifiedInDestination', level: 'Information', valueInCurrentSlot: 'v-current', valueInTargetSlot: 'v-target', description: 'B: v-current → v-target', somethingNew: 'x'},
      {settingType: 'AppSetting', settingName: 'STICKY', diffRule: 'SlotSettingsMissing', level: 'Warning', valueInCurrentSlot: 'v-sticky'},
      {settingType: 'ConnectionString', settingName: 'db', diffRule: 'slotsettingssamevalue'},
      // A rule opsbook does not know, and the raw ARM shape (properties nested).
      {name: 'site/slotsdiffs/1', properties: {settingType: 'General', settingName: 'alwaysOn', diffRule: 'SomeFutureRule', level: 'Error', valueInTargetSlot: 'v-general'}},
      {settingType: 'AppSetting', diffRule: 'SettingsWillBeAddedToDestination'},
    ])
    expect(entries).toEqual([
      {type: 'AppSetting', name: 'B', level: 'Information', rule: 'SettingsWillBeModifiedInDestination', effect: 'modified', slotSetting: false},
      {type: 'AppSetting', name: 'STICKY', level: 'Warning', rule: 'SlotSettingsMissing', effect: 'none', slotSetting: true},
      {type: 'ConnectionString', name: 'db', rule: 'slotsettingssamevalue', effect: 'none', slotSetting: true},
      {type: 'General', name: 'alwaysOn', level: 'Error', rule: 'SomeFutureRule', effect: 'unknown'},
    ])
    expect(JSON.stringify(entries)).not.toMatch(/v-(current|target|sticky|general)/)
    expect(slotDifferencesAction.output.parse({app: 'a', slot: 's', targetSlot: 'production', differences: entries, changing: [], summary: ''})).toBeTruthy()
  })

  it('declares itself read-only, with the slotsdiffs permissions and an az rest line (no az webapp command lists slot differences)', () => {
    expect(slotDifferencesAction.changes).toBe(false)
    expect(slotDifferencesAction.permissions).toEqual(['Microsoft.Web/sites/slotsdiffs/Action', 'Microsoft.Web/sites/slots/slotsdiffs/Action'])
    const plan = {environment: fixture.environment, environmentName: 'local', resourceId: () => ''}
    const [az] = slotDifferencesAction.az!(parse(slotDifferencesAction, {app: 'storefront'}), plan)
    expect(az).toMatch(/^az rest --method post --url "\/subscriptions\/[^"]+\/sites\/app-shop-storefront\/slots\/staging\/slotsdiffs\?api-version=2025-05-01" --body '\{"targetSlot": "production"/)
    expect(az).not.toContain('valueIn')
  })
})
