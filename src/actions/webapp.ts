/**
 * App Service actions: HTTP health checks on a slot, swaps with preview (apply slot config → health gate → swap,
 * or reset on failure; a direct swap when site authentication is on in either slot, where Azure refuses a preview), swap back, slot status and the guard against a slot left "prepared for swap" (which
 * otherwise surfaces as a bare 409 Conflict). SDK: @azure/arm-appservice 19 (modular, api 2025-05-01), lazily.
 *
 * A slot's URL is `https://<defaultHostName>` unless the response carries a local one in the `x-opsbook-local-url`
 * header (the emulator's does: its slots serve real HTTP on local ports; the body holds only what Azure's spec
 * defines for a site).
 */
import {z} from 'zod'
import {foundWithoutWrite} from '../azure/arm-writes.js'
import {slotRefusal} from '../azure/capabilities.js'
import type {Site} from '@azure/arm-appservice'
import type {WebappComponent} from '../catalog/schema.js'
import {ExitCode, GuardError} from '../errors.js'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import type {AzureServices} from '../azure/clients.js'
import {ActionFailure, toAzureError} from '../azure/errors.js'
import {runTracked} from '../azure/lro.js'
import {armPath, azureServices, delay, resolveResource, withRetryLog, type ResolvedResource} from './resolve.js'
import {defineAction, type ActionContext, type ActionDefinition, type ArmCall, type PlanContext, type PreflightRefusal} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT10S'})
const appRef = z.string().min(1).describe('Catalog component key, Azure app name, or ARM resource id')

export const PRODUCTION = 'production'
/** Response header with the URL a site/slot really serves on (sent by the emulator; not an Azure header). */
export const LOCAL_URL_HEADER = 'x-opsbook-local-url'

// RBAC operations (Microsoft.Web resource provider operations,
// https://learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile#microsoftweb): the slot-level
// `applySlotConfig` / `resetSlotConfig` are operations of their own ("Apply web app slot configuration from target slot
// to the current slot", "Reset web app slot configuration").
const SITE_READ = 'Microsoft.Web/sites/read'
const SLOT_READ = 'Microsoft.Web/sites/slots/read'
const RESET_CONFIG = 'Microsoft.Web/sites/resetSlotConfig/action'
const SLOT_APPLY_CONFIG = 'Microsoft.Web/sites/slots/applySlotConfig/action'
const SLOT_RESET_CONFIG = 'Microsoft.Web/sites/slots/resetSlotConfig/action'
const SWAP = 'Microsoft.Web/sites/slotsswap/action'
const SLOT_SWAP = 'Microsoft.Web/sites/slots/slotsswap/action'
// Reading config/authsettingsV2 (without secrets) of the site and of a slot: "Get Web App configuration settings" /
// "Get Web App Slot's configuration settings" (same page).
const CONFIG_READ = 'Microsoft.Web/sites/config/read'
const SLOT_CONFIG_READ = 'Microsoft.Web/sites/slots/config/read'

/**
 * "You can't use swap with preview when site authentication is enabled in one of the slots" ("Set up staging
 * environments in Azure App Service", section "Swap with preview (multi-phase swap)"); Azure answers the preview with
 * 409 "Swap with Preview cannot be used when one of the slots has site authentication enabled."
 * (MicrosoftDocs/azure-docs#102500 and #10661).
 */
export const SWAP_PREVIEW_DOC = 'https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap'

interface SlotView {
  slot: string
  site: Site
  /** Base URL the slot serves on (no trailing slash). */
  url: string
  targetSwapSlot?: string
}

function isProduction(slot: string): boolean {
  return slot.toLowerCase() === PRODUCTION
}

async function readSlot(services: AzureServices, app: ResolvedResource, slot: string, signal: AbortSignal): Promise<SlotView> {
  const web = await services.web()
  let raw: any
  let local: string | undefined
  const options = {
    abortSignal: signal,
    onResponse: (response: {parsedBody?: unknown; headers?: {get?: (name: string) => string | undefined}}) => {
      raw = response.parsedBody
      local = response.headers?.get?.(LOCAL_URL_HEADER)
    },
  }
  let site: Site
  try {
    site = isProduction(slot)
      ? await web.webApps.get(app.resourceGroup, app.name, options as never)
      : await web.webApps.getSlot(app.resourceGroup, app.name, slot, options as never)
  } catch (error) {
    throw toAzureError(error, {operation: `read ${isProduction(slot) ? 'web app' : 'slot'} ${app.name}${isProduction(slot) ? '' : `/${slot}`}`})
  }
  const host = site.defaultHostName ?? site.hostNames?.[0]
  const url = local ? local : host ? `https://${host}` : undefined
  if (!url) throw new ActionFailure(`${app.name}/${slot} has no host name to check`, {code: 'webapp-no-host'})
  return {slot, site, url: url.replace(/\/+$/, ''), targetSwapSlot: site.targetSwapSlot ?? raw?.properties?.targetSwapSlot ?? undefined}
}

async function slotNames(services: AzureServices, app: ResolvedResource, signal: AbortSignal): Promise<string[]> {
  const web = await services.web()
  const names = [PRODUCTION]
  try {
    for await (const slot of web.webApps.listSlots(app.resourceGroup, app.name, {abortSignal: signal})) {
      const name = slot.name?.split('/').at(-1)
      if (name) names.push(name)
    }
  } catch (error) {
    throw toAzureError(error, {operation: `list the slots of ${app.name}`})
  }
  return names
}

function healthPathOf(app: ResolvedResource, explicit: string | undefined): string {
  const component = app.component?.type === 'webapp' ? (app.component as WebappComponent) : undefined
  return explicit ?? component?.healthPath ?? '/health'
}

function slotPath(app: ResolvedResource, slot: string): string {
  return isProduction(slot) ? armPath(app) : armPath(app, `/slots/${slot}`)
}

export interface HealthResult {
  url: string
  status: number
  ok: boolean
  attempts: number
  version?: string
  error?: string
}

/** GET the slot's health path until it answers `expectStatus`, at most `attempts` times. */
async function probeHealth(
  services: AzureServices,
  context: ActionContext,
  view: SlotView,
  options: {path: string; expectStatus: number; attempts: number; timeoutMs: number; intervalMs: number},
): Promise<HealthResult> {
  const url = `${view.url}${options.path.startsWith('/') ? '' : '/'}${options.path}`
  let last: HealthResult = {url, status: 0, ok: false, attempts: 0}
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      const response = await services.httpGet(url, {timeoutMs: options.timeoutMs, signal: context.signal})
      let version = response.headers['x-opsbook-version'] ?? response.headers['x-app-version']
      if (!version) {
        try {
          const body = JSON.parse(response.body)
          if (typeof body?.version === 'string') version = body.version
        } catch {
          // not JSON: no version
        }
      }
      last = {url, status: response.status, ok: response.status === options.expectStatus, attempts: attempt, version}
    } catch (error) {
      if (context.signal.aborted) throw error
      last = {url, status: 0, ok: false, attempts: attempt, error: (error as Error).message}
    }
    context.log(`GET ${url} → ${last.status || last.error}${last.version ? ` (version ${last.version})` : ''}`)
    if (last.ok) return last
    if (attempt < options.attempts) await delay(services.pauseBetweenChecks(options.intervalMs), context.signal)
  }
  return last
}

/**
 * One GET of a web app's production health path (its component's healthPath, else /health): what traffic routers
 * (Traffic Manager, Front Door) would find probing it. `app` is a catalog key, app name or site resource id.
 */
export async function probeWebappOnce(services: AzureServices, context: ActionContext, app: string): Promise<HealthResult & {app: string}> {
  const resolved = resolveResource(context.environment, 'webapp', app)
  const view = await readSlot(services, resolved, PRODUCTION, context.signal)
  const result = await probeHealth(services, context, view, {path: healthPathOf(resolved, undefined), expectStatus: 200, attempts: 1, timeoutMs: 10_000, intervalMs: 0})
  return {...result, app: resolved.name}
}

const healthOptions = {
  path: z.string().startsWith('/').optional().describe('Health path; default: the component\'s healthPath (/health)'),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeout: isoDuration.default('PT10S').describe('Per request'),
  attempts: z.number().int().min(1).max(100).default(3),
  interval: isoDuration.default('PT2S').describe('Pause between attempts (against the emulator at most its poll interval: its slots have no warm-up)'),
}

// ---------------------------------------------------------------------------------------------------------------------
// healthCheck

export const healthCheckAction = defineAction({
  name: 'webapp.healthCheck',
  summary: 'HTTP GET a slot\'s health path until it answers the expected status',
  input: z.strictObject({app: appRef, slot: z.string().default(PRODUCTION).describe('Slot name, or production'), ...healthOptions}),
  output: z.strictObject({
    app: z.string(),
    slot: z.string(),
    url: z.string(),
    status: z.number(),
    ok: z.boolean(),
    attempts: z.number(),
    version: z.string().optional().describe('What the slot serves (x-opsbook-version / x-app-version header or a JSON body\'s version)'),
    answeredAt: z.string().describe('When the healthy answer came (a drill\'s end of the recovery time)'),
  }),
  changes: false,
  permissions: [SITE_READ, SLOT_READ],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    const slotArg = isProduction(input.slot) ? '' : ` --slot ${input.slot}`
    return [`curl -fsS -o /dev/null -w "%{http_code}" "https://$(az webapp show --resource-group ${app.resourceGroup} --name ${app.name}${slotArg} --query defaultHostName -o tsv)${healthPathOf(app, input.path)}"`]
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [{method: 'GET', path: slotPath(app, input.slot), note: `then GET https://<host>${healthPathOf(app, input.path)}`}]
  },
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    const view = await withRetryLog(context, services, () => readSlot(services, app, input.slot, context.signal))
    const result = await probeHealth(services, context, view, {
      path: healthPathOf(app, input.path),
      expectStatus: input.expectStatus,
      attempts: input.attempts,
      timeoutMs: parseDuration(input.timeout)!,
      intervalMs: parseDuration(input.interval)!,
    })
    if (!result.ok)
      throw new ActionFailure(
        `${app.name}/${input.slot} is unhealthy: GET ${result.url} answered ${result.status || result.error} after ${result.attempts} attempt(s), expected ${input.expectStatus}`,
        {code: 'webapp-unhealthy', details: {...result}},
      )
    return {app: app.name, slot: input.slot, url: result.url, status: result.status, ok: true, attempts: result.attempts, version: result.version, answeredAt: context.now().toISOString()}
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// slot status and the prepared-for-swap guard

const slotStatusOutput = z.strictObject({
  app: z.string(),
  slots: z.array(
    z.strictObject({
      name: z.string(),
      state: z.string().optional(),
      url: z.string(),
      targetSwapSlot: z.string().optional(),
      lastSwap: z.strictObject({at: z.string().optional(), source: z.string().optional(), destination: z.string().optional()}).optional(),
    }),
  ),
  preparedForSwap: z.boolean().describe('A swap with preview was applied and neither completed nor reset'),
  preparedPair: z.string().optional().describe('e.g. staging→production'),
})
type SlotStatus = z.infer<typeof slotStatusOutput>

async function slotStatus(services: AzureServices, app: ResolvedResource, signal: AbortSignal): Promise<SlotStatus> {
  const names = await slotNames(services, app, signal)
  const views = await Promise.all(names.map((name) => readSlot(services, app, name, signal)))
  const slots = views.map((v) => ({
    name: v.slot,
    state: v.site.state,
    url: v.url,
    targetSwapSlot: v.targetSwapSlot,
    lastSwap: v.site.slotSwapStatus
      ? {
          at: v.site.slotSwapStatus.timestampUtc ? new Date(v.site.slotSwapStatus.timestampUtc).toISOString() : undefined,
          source: v.site.slotSwapStatus.sourceSlotName,
          destination: v.site.slotSwapStatus.destinationSlotName,
        }
      : undefined,
  }))
  const prepared = slots.find((s) => s.targetSwapSlot && !isProduction(s.name)) ?? slots.find((s) => s.targetSwapSlot)
  return {
    app: app.name,
    slots,
    preparedForSwap: Boolean(prepared),
    preparedPair: prepared ? `${prepared.name}→${prepared.targetSwapSlot}` : undefined,
  }
}

/**
 * Cancelling a swap with preview resets the *source* slot, the one phase 1 changed: Web Apps - Reset Slot Configuration
 * Slot "Resets the configuration settings of the current slot if they were previously modified by calling the API with
 * POST" (WebApps.json), and "Set up staging environments in Azure App Service", "Cancel a pending swap (swap with
 * review) and restore the source slot configuration", calls `resetSlotConfig` on `Microsoft.Web/sites/slots`
 * `<app>/<slot>` (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#automate-with-powershell).
 * az's `--action reset` calls it on `--target-slot` (production's POST …/sites/{app}/resetSlotConfig without one), so
 * the az line names the source slot as its target: POST …/slots/{slot}/resetSlotConfig, what resetSlot sends.
 */
function resetAz(app: ResolvedResource, slot: string): string {
  return `az webapp deployment slot swap --resource-group ${app.resourceGroup} --name ${app.name} --slot ${slot} --target-slot ${slot} --action reset`
}

function preparedGuard(app: ResolvedResource, status: SlotStatus): GuardError {
  const slot = status.preparedPair?.split('→')[0] ?? 'staging'
  return new GuardError(
    'slot-prepared-for-swap',
    `${app.name} has slots prepared for swap (${status.preparedPair}): a swap with preview was applied and neither completed nor reset, so Azure answers 409 Conflict to any other swap`,
    {app: app.name, preparedPair: status.preparedPair},
    [`reset it: ${resetAz(app, isProduction(slot) ? status.preparedPair?.split('→')[1] ?? 'staging' : slot)} (what the webapp.resetSwap action does)`, 'or complete the pending swap'],
  )
}

export const slotStatusAction = defineAction({
  name: 'webapp.slotStatus',
  summary: 'Slots of an app, their last swap, and whether any is left "prepared for swap"',
  input: z.strictObject({app: appRef}),
  output: slotStatusOutput,
  changes: false,
  permissions: [SITE_READ, SLOT_READ],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      `az webapp deployment slot list --resource-group ${app.resourceGroup} --name ${app.name} --query "[].{name: name, targetSwapSlot: targetSwapSlot, lastSwap: slotSwapStatus}"`,
      `az webapp show --resource-group ${app.resourceGroup} --name ${app.name} --query "{targetSwapSlot: targetSwapSlot, lastSwap: slotSwapStatus}"`,
    ]
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      {method: 'GET', path: armPath(app, '/slots')},
      {method: 'GET', path: armPath(app), note: 'and GET each slot'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    const status = await withRetryLog(context, services, () => slotStatus(services, app, context.signal))
    context.log(status.preparedForSwap ? `${app.name}: prepared for swap (${status.preparedPair})` : `${app.name}: ${status.slots.length} slot(s), none prepared for swap`)
    return status
  },
})

export const assertNotPreparedForSwapAction = defineAction({
  name: 'webapp.assertNotPreparedForSwap',
  summary: 'Guard: stop (exit 5) when a slot is left "prepared for swap" by an unfinished swap with preview',
  input: z.strictObject({app: appRef}),
  output: z.strictObject({app: z.string(), preparedForSwap: z.literal(false)}),
  changes: false,
  permissions: [SITE_READ, SLOT_READ],
  az: (input, plan) => slotStatusAction.az!(input, plan),
  arm: (input, plan) => slotStatusAction.arm!(input, plan),
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    const status = await withRetryLog(context, services, () => slotStatus(services, app, context.signal))
    if (status.preparedForSwap) throw preparedGuard(app, status)
    return {app: app.name, preparedForSwap: false as const}
  },
})

export const resetSwapAction = defineAction({
  name: 'webapp.resetSwap',
  summary: 'Cancel a swap with preview: reset the slot configuration of both slots of the prepared pair',
  description:
    "Reads which two slots are prepared for swap and resets the slot configuration of each (the source slot gets its own slot settings back; resetting the other, which phase 1 did not change, changes nothing). Nothing prepared: nothing is called.",
  input: z.strictObject({app: appRef}),
  output: z.strictObject({app: z.string(), wasPrepared: z.boolean(), preparedPair: z.string().optional()}),
  changes: true,
  // Two POSTs of resetSlotConfig. Generous.
  defaultTimeout: 'PT30M',
  armWrites: 'when-needed',
  permissions: [SITE_READ, SLOT_READ, RESET_CONFIG, SLOT_RESET_CONFIG],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [...slotStatusAction.az!(input, plan).slice(0, 1), `${resetAz(app, 'staging')}   # each slot of the prepared pair`]
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      {method: 'GET', path: armPath(app, '/slots'), note: 'which pair is prepared for swap'},
      {method: 'POST', path: armPath(app, '/slots/{slot}/resetSlotConfig'), note: 'each slot of the pair (POST …/resetSlotConfig for production)'},
    ]
  },
  // The app whose swap with preview it cancels, as run() names it in its `no-preview` finding.
  targets: (input, plan) => [resolveResource(plan.environment, 'webapp', input.app).id],
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    return withRetryLog(context, services, async () => {
      const status = await slotStatus(services, app, context.signal)
      try {
        await resetPrepared(services, app, status, context)
      } catch (error) {
        // What is left, exactly: a teardown that cannot reset says so (the run then exits 3 with this as left behind).
        const slot = status.preparedPair?.split('→').find((s) => !isProduction(s)) ?? 'staging'
        const info = error as {message?: string; code?: string; retryable?: boolean}
        if (context.signal.aborted) throw error
        throw new ActionFailure(
          `${app.name}: slots ${status.preparedPair} are still prepared for swap (a swap with preview is pending): ${app.name}/${slot} runs with production's slot settings and Azure refuses any other swap (409) until it is reset — ${resetAz(app, slot)} (${info.message ?? String(error)})`,
          {code: info.code ?? 'webapp-preview-not-reset', retryable: info.retryable === true, details: {preparedPair: status.preparedPair}, cause: error},
        )
      }
      return {app: app.name, wasPrepared: status.preparedForSwap, preparedPair: status.preparedPair}
    })
  },
})

/**
 * Cancel whatever swap with preview is pending: reset each slot of the prepared pair, the source (the slot, as
 * opsbook and az prepare it) first. Which of the two phase 1 changed is not in the site resource (both carry
 * `targetSwapSlot`); resetting the other changes nothing ("if they were previously modified").
 */
async function resetPrepared(services: AzureServices, app: ResolvedResource, status: SlotStatus, context: ActionContext): Promise<void> {
  if (!status.preparedPair) return foundWithoutWrite({kind: 'no-preview', resourceId: app.id})
  const pair = status.preparedPair.split('→')
  for (const slot of [...pair.filter((s) => !isProduction(s)), ...pair.filter((s) => isProduction(s))]) await resetSlot(services, app, slot, context)
}

/** POST …/slots/{slot}/resetSlotConfig (…/sites/{app}/resetSlotConfig for production): see resetAz. */
async function resetSlot(services: AzureServices, app: ResolvedResource, slot: string, context: ActionContext): Promise<void> {
  const web = await services.web()
  try {
    if (isProduction(slot)) await web.webApps.resetProductionSlotConfig(app.resourceGroup, app.name, {abortSignal: context.signal})
    else await web.webApps.resetSlotConfigurationSlot(app.resourceGroup, app.name, slot, {abortSignal: context.signal})
    context.log(`${app.name}${isProduction(slot) ? '' : `/${slot}`}: slot configuration reset (swap with preview cancelled)`)
  } catch (error) {
    throw toAzureError(error, {operation: `reset the slot configuration of ${app.name}${isProduction(slot) ? '' : `/${slot}`}`, az: resetAz(app, slot)})
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// swap / swapBack

/**
 * Whether App Service Authentication (Easy Auth, "site authentication") is on for a slot: config/authsettingsV2
 * `platform.enabled`, read without secrets. The classic config/authsettings is the same switch, and reading it needs
 * POST …/config/authsettings/list, which returns secrets: not read.
 */
async function siteAuthenticationOn(services: AzureServices, app: ResolvedResource, slot: string, signal: AbortSignal): Promise<boolean> {
  const web = await services.web()
  try {
    const settings = isProduction(slot)
      ? await web.webApps.getAuthSettingsV2WithoutSecrets(app.resourceGroup, app.name, {abortSignal: signal})
      : await web.webApps.getAuthSettingsV2WithoutSecretsSlot(app.resourceGroup, app.name, slot, {abortSignal: signal})
    return settings.platform?.enabled === true
  } catch (error) {
    throw toAzureError(error, {
      operation: `read the authentication settings of ${app.name}${isProduction(slot) ? '' : `/${slot}`}`,
      az: `az rest --method get --url "${app.id}${isProduction(slot) ? '' : `/slots/${slot}`}/config/authsettingsV2?api-version=2025-05-01"`,
    })
  }
}

/** `preview` as the runbooks say it: `auto` (preview unless Azure refuses it), `always` (or true), `never` (or false). */
const previewInput = z
  .union([z.enum(['auto', 'always', 'never']), z.boolean()])
  .default('auto')
  .describe(
    'Swap with preview (applySlotConfig, health gate, then swap or resetSlotConfig): `auto` previews unless site authentication (Easy Auth) is on in either slot — Azure refuses a preview then — and swaps directly instead; `always` (or true) refuses (exit 2, nothing changed) when Azure would refuse the preview; `never` (or false) always swaps directly',
  )
type PreviewInput = z.infer<typeof previewInput>

function previewMode(preview: PreviewInput): 'auto' | 'always' | 'never' {
  return preview === true ? 'always' : preview === false ? 'never' : preview
}

// What is lost and what still protects production when a swap goes direct because of site authentication. What a
// standard swap still does ("What happens during a swap",
// https://learn.microsoft.com/azure/app-service/deploy-staging-slots#what-happens-during-a-swap): it applies the target's
// slot settings to the source slot, waits for every instance of it to restart and warm up, and reverts the source slot
// and stops if one fails, before routing is switched.
const DIRECT_SWAP_TRADE =
  "lost: the pause to check the slot running with production's slot settings before the swap; still protecting production: the standard swap's own warm-up (Azure applies production's slot settings to the slot, waits for every instance to restart and warm up, and stops the swap if one fails) and the post-swap health gate with automatic swap-back"

export interface SwapMode {
  /** Whether the swap goes with preview. */
  preview: boolean
  /** Slots with site authentication on (read only when a preview was wanted). */
  siteAuthentication: string[]
  /** Why the swap goes direct although a preview was wanted (auto). */
  reason?: string
}

/**
 * Decide how to swap `slot` into production: `never` swaps directly without reading anything; otherwise both slots'
 * authentication settings are read, and site authentication on either one turns `auto` into a direct swap (said in the
 * log) and `always` into a refusal (exit 2), before anything is changed.
 */
export async function decideSwapMode(services: AzureServices, context: ActionContext, app: ResolvedResource, slot: string, preview: PreviewInput): Promise<SwapMode> {
  const mode = previewMode(preview)
  if (mode === 'never') return {preview: false, siteAuthentication: []}
  const slots = [slot, PRODUCTION]
  const on = await Promise.all(slots.map((name) => siteAuthenticationOn(services, app, name, context.signal)))
  const siteAuthentication = slots.filter((_, i) => on[i])
  if (siteAuthentication.length === 0) return {preview: true, siteAuthentication}
  const which = `site authentication (Easy Auth) is on in ${siteAuthentication.map((name) => `${app.name}${isProduction(name) ? '' : `/${name}`}`).join(' and ')}`
  if (mode === 'always')
    throw new ActionFailure(
      `swap with preview refused before anything changed: ${which}, and Azure refuses a swap with preview then (409 Conflict, "Swap with Preview cannot be used when one of the slots has site authentication enabled."; ${SWAP_PREVIEW_DOC})`,
      {
        code: 'webapp-preview-site-authentication',
        exitCode: ExitCode.invalidInput,
        details: {app: app.name, slot, siteAuthentication},
        suggestions: ['swap without preview: preview=auto (or never)', 'or turn site authentication off in both slots first, if the app can go without it'],
      },
    )
  const reason = `${which}: Azure refuses a swap with preview (${SWAP_PREVIEW_DOC}), so this is a direct swap — ${DIRECT_SWAP_TRADE}`
  context.log(`${app.name}: ${reason}`)
  return {preview: false, siteAuthentication, reason}
}

async function swapWithProduction(services: AzureServices, context: ActionContext, app: ResolvedResource, slot: string, preserveVnet: boolean, what: string): Promise<boolean> {
  const web = await services.web()
  const tracked = await runTracked(context, services, {
    description: `webapp.${what} ${app.name}: ${slot} ⇄ production`,
    method: 'POST',
    resource: `${app.id}/slotsswap`,
    state: {slot},
    call: async (options) => {
      try {
        await web.webApps.swapSlotWithProduction(app.resourceGroup, app.name, {targetSlot: slot, preserveVnet}, options as never)
      } catch (error) {
        throw toAzureError(error, {
          operation: `swap ${slot} with production on ${app.name}`,
          az: `az webapp deployment slot swap --resource-group ${app.resourceGroup} --name ${app.name} --slot ${slot} --target-slot production`,
        })
      }
    },
  })
  return tracked.resumed
}

function swapAz(app: ResolvedResource, slot: string, preview: PreviewInput, healthPath: string): string[] {
  const base = `az webapp deployment slot swap --resource-group ${app.resourceGroup} --name ${app.name} --slot ${slot} --target-slot production`
  const mode = previewMode(preview)
  if (mode === 'never') return [`${base} --action swap`]
  // config/authsettingsV2 read without secrets (`az webapp auth show` is the classic settings, with secrets, in older az).
  const auth = (name: string) => `az rest --method get --url "${app.id}${isProduction(name) ? '' : `/slots/${name}`}/config/authsettingsV2?api-version=2025-05-01" --query properties.platform.enabled`
  return [
    `${auth(slot)}; ${auth(PRODUCTION)}   # true on either: Azure refuses a swap with preview (${SWAP_PREVIEW_DOC}); ${mode === 'auto' ? `then only: ${base} --action swap` : 'opsbook refuses (exit 2)'}`,
    `${base} --action preview`,
    `curl -fsS "https://$(az webapp show --resource-group ${app.resourceGroup} --name ${app.name} --slot ${slot} --query defaultHostName -o tsv)${healthPath}"`,
    `${base} --action swap   # or, when the slot is unhealthy: ${resetAz(app, slot)}`,
  ]
}

function swapArm(app: ResolvedResource, slot: string, preview: PreviewInput, healthPath: string): ArmCall[] {
  const mode = previewMode(preview)
  const ifPreview = mode === 'auto' ? ' (with preview only)' : ''
  return [
    {method: 'GET', path: armPath(app, '/slots'), note: 'guard: no slot prepared for swap'},
    ...(mode !== 'never'
      ? [
          {
            method: 'GET' as const,
            path: armPath(app, `/slots/${slot}/config/authsettingsV2`),
            note: `and GET ${armPath(app, '/config/authsettingsV2')}: site authentication (platform.enabled) on either slot — Azure refuses a swap with preview (409) — ${mode === 'auto' ? 'makes this a direct swap (no applySlotConfig, no resetSlotConfig)' : 'refuses the step (exit 2, nothing changed)'}`,
          },
          {
            method: 'POST' as const,
            path: armPath(app, `/slots/${slot}/applySlotConfig`),
            note: `{targetSlot: production} — swap with preview, phase 1: the slot takes on production's slot settings (slotConfigNames)${ifPreview}`,
          },
        ]
      : []),
    {method: 'GET', path: armPath(app, `/slots/${slot}`), note: `health gate: GET https://<slot host>${healthPath}`},
    {method: 'POST', path: armPath(app, '/slotsswap'), longRunning: true, note: `{targetSlot: ${slot}} — the content and the settings not in slotConfigNames move; each slot keeps its slot settings`},
    ...(mode !== 'never' ? [{method: 'POST' as const, path: armPath(app, `/slots/${slot}/resetSlotConfig`), note: `only when the health gate fails: the slot gets its own slot settings back${ifPreview}`}] : []),
  ]
}

export const swapAction = defineAction({
  name: 'webapp.swap',
  preflight: (input, plan) => slotPreflight(plan, input.app),
  summary: 'Swap a slot into production: preview (apply slot config; not with site authentication on), health gate on the slot, then swap — or reset',
  description:
    "Refuses (exit 5) when another pair of slots is already prepared for swap. Azure refuses a swap with preview when site authentication (Easy Auth) is on in either slot (409 Conflict; " + SWAP_PREVIEW_DOC + "): with preview `auto` (the default) both slots' authentication settings are read first and such a swap goes direct, saying so in its log and its `directSwapReason` output — " + DIRECT_SWAP_TRADE + "; with `always` it is refused (exit 2) before anything changes. With preview, production's slot settings (the app settings and connection strings named in slotConfigNames) are applied to the slot first, so the health gate sees the slot as it will run in production; an unhealthy slot gets the preview reset (its own slot settings back) and production is never touched. The swap moves the slot's content to production with the settings that follow it (app settings and connection strings not in slotConfigNames, runtime stack and version, 32/64 bit, WebSockets, handler and path mappings); Always On, TLS, IP restrictions, CORS, custom domains, identity and the slot settings stay with each slot.",
  input: z.strictObject({
    app: appRef,
    slot: z.string().default('staging'),
    preview: previewInput,
    preserveVnet: z.boolean().default(true),
    ...healthOptions,
  }),
  output: z.strictObject({
    app: z.string(),
    slot: z.string(),
    preview: z.boolean().describe('Whether the swap went with preview'),
    directSwapReason: z.string().optional().describe('Why the swap went direct although a preview was wanted (site authentication on)'),
    siteAuthentication: z.array(z.string()).describe('Slots with site authentication (Easy Auth) on, when they were read'),
    startedAt: z.string(),
    swappedAt: z.string(),
    productionUrl: z.string(),
    productionVersion: z.string().optional().describe('What production serves after the swap'),
    slotVersion: z.string().optional().describe('What the slot serves after the swap (the previous production)'),
    resumed: z.boolean(),
  }),
  changes: true,
  // No documented duration (https://learn.microsoft.com/azure/app-service/deploy-staging-slots: "If the swap operation takes a long time to
  // complete…", warm-up included); plus its health gate.
  defaultTimeout: 'PT2H',
  permissions: [SITE_READ, SLOT_READ, CONFIG_READ, SLOT_CONFIG_READ, SLOT_APPLY_CONFIG, SLOT_RESET_CONFIG, SWAP, SLOT_SWAP],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return swapAz(app, input.slot, input.preview, healthPathOf(app, input.path))
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return swapArm(app, input.slot, input.preview, healthPathOf(app, input.path))
  },
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    if (isProduction(input.slot))
      throw new ActionFailure('slot must name a deployment slot, not production', {code: 'webapp-invalid-slot', exitCode: ExitCode.invalidInput})
    return withRetryLog(context, services, async () => {
      const startedAt = context.now().toISOString()
      const healthPath = healthPathOf(app, input.path)
      const health = {path: healthPath, expectStatus: input.expectStatus, attempts: input.attempts, timeoutMs: parseDuration(input.timeout)!, intervalMs: parseDuration(input.interval)!}
      let resumed = false
      // A resumed run whose swap is in flight, or whose preview is already applied (ours), previewed or not before.
      let mode: SwapMode = {preview: previewMode(input.preview) !== 'never', siteAuthentication: []}
      const previous = context.operations.inFlight()
      if (!previous) {
        const status = await slotStatus(services, app, context.signal)
        const ours = status.preparedPair && [`${input.slot}→production`, `production→${input.slot}`].includes(status.preparedPair.toLowerCase())
        if (status.preparedForSwap && !ours) throw preparedGuard(app, status)
        if (ours) mode = {preview: true, siteAuthentication: []}
        else mode = await decideSwapMode(services, context, app, input.slot, input.preview)
        const web = await services.web()
        if (mode.preview && !ours) {
          try {
            // Web Apps - Apply Slot Configuration Slot: "Applies the configuration settings from the target slot onto the
            // current slot" (https://learn.microsoft.com/rest/api/appservice/web-apps/apply-slot-configuration-slot), so
            // phase 1 is POST …/slots/{slot}/applySlotConfig {targetSlot: production} — what `az webapp deployment slot
            // swap --slot <slot> --target-slot production --action preview` sends. POST …/sites/{app}/applySlotConfig
            // {targetSlot: slot} would apply the slot's settings onto production instead.
            await web.webApps.applySlotConfigurationSlot(app.resourceGroup, app.name, input.slot, {targetSlot: PRODUCTION, preserveVnet: input.preserveVnet}, {abortSignal: context.signal})
          } catch (error) {
            throw toAzureError(error, {operation: `apply production slot settings to ${app.name}/${input.slot} (swap with preview)`})
          }
          context.log(`${app.name}/${input.slot}: production settings applied (swap with preview)`)
        }
        const view = await readSlot(services, app, input.slot, context.signal)
        const gate = await probeHealth(services, context, view, health)
        if (!gate.ok) {
          if (mode.preview) await resetSlot(services, app, input.slot, context)
          throw new ActionFailure(
            `not swapping: ${app.name}/${input.slot} is unhealthy (GET ${gate.url} answered ${gate.status || gate.error}, expected ${input.expectStatus}); ${mode.preview ? 'the preview was reset and ' : ''}production was not touched`,
            {code: 'webapp-slot-unhealthy', details: {...gate}},
          )
        }
      }
      try {
        resumed = await swapWithProduction(services, context, app, input.slot, input.preserveVnet, 'swap')
      } catch (error) {
        if (mode.preview) await resetSlot(services, app, input.slot, context).catch(() => undefined)
        throw error
      }
      const swappedAt = context.now().toISOString()
      const production = await readSlot(services, app, PRODUCTION, context.signal)
      const slotView = await readSlot(services, app, input.slot, context.signal)
      const [prodHealth, slotHealth] = await Promise.all([
        probeHealth(services, context, production, {...health, attempts: 1}),
        probeHealth(services, context, slotView, {...health, attempts: 1}),
      ])
      context.log(`${app.name}: swapped ${input.slot} into production${mode.preview ? ' (with preview)' : ' (direct swap)'} in ${humanDuration(Date.parse(swappedAt) - Date.parse(startedAt))}`)
      return {
        app: app.name,
        slot: input.slot,
        preview: mode.preview,
        ...(mode.reason ? {directSwapReason: mode.reason} : {}),
        siteAuthentication: mode.siteAuthentication,
        startedAt,
        swappedAt,
        productionUrl: production.url,
        productionVersion: prodHealth.version,
        slotVersion: slotHealth.version,
        resumed,
      }
    })
  },
})

export const swapModeAction = defineAction({
  name: 'webapp.swapMode',
  summary: 'Before a swap: whether it can go with preview — Azure refuses one when site authentication (Easy Auth) is on in either slot',
  description:
    "Reads the authentication settings (config/authsettingsV2, without secrets) of the slot and of production. Site authentication on in either: with preview `auto` the swap will go direct — the step says so, and what that loses and what still protects production — and with `always` the step fails with exit 2 (the reason and " + SWAP_PREVIEW_DOC + "), before anything is changed. With `never` nothing is read.",
  input: z.strictObject({app: appRef, slot: z.string().default('staging'), preview: previewInput}),
  output: z.strictObject({
    app: z.string(),
    slot: z.string(),
    preview: z.boolean().describe('Whether the swap can go with preview'),
    siteAuthentication: z.array(z.string()).describe('Slots with site authentication (Easy Auth) on'),
    directSwapReason: z.string().optional(),
  }),
  changes: false,
  permissions: [SITE_READ, SLOT_READ, CONFIG_READ, SLOT_CONFIG_READ],
  az: (input, plan) => swapAz(resolveResource(plan.environment, 'webapp', input.app), input.slot, input.preview, '').slice(0, previewMode(input.preview) === 'never' ? 0 : 1),
  arm: (input, plan) => swapArm(resolveResource(plan.environment, 'webapp', input.app), input.slot, input.preview, '').filter((call) => call.path.includes('/config/authsettingsV2')),
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    if (isProduction(input.slot))
      throw new ActionFailure('slot must name a deployment slot, not production', {code: 'webapp-invalid-slot', exitCode: ExitCode.invalidInput})
    const mode = await withRetryLog(context, services, () => decideSwapMode(services, context, app, input.slot, input.preview))
    if (mode.preview) context.log(`${app.name}: no site authentication on ${input.slot} or production: the swap can go with preview`)
    return {app: app.name, slot: input.slot, preview: mode.preview, siteAuthentication: mode.siteAuthentication, ...(mode.reason ? {directSwapReason: mode.reason} : {})}
  },
})

export const swapBackAction = defineAction({
  name: 'webapp.swapBack',
  summary: 'Swap production back with the slot (rollback of a swap: the same swap again); cancels a pending preview first',
  input: z.strictObject({app: appRef, slot: z.string().default('staging'), preserveVnet: z.boolean().default(true), path: healthOptions.path}),
  output: z.strictObject({app: z.string(), slot: z.string(), swappedBackAt: z.string(), productionVersion: z.string().optional(), resumed: z.boolean()}),
  changes: true,
  // The same swap again (see webapp.swap); no health gate of its own.
  defaultTimeout: 'PT1H',
  permissions: [SITE_READ, SLOT_READ, RESET_CONFIG, SLOT_RESET_CONFIG, SWAP, SLOT_SWAP],
  az: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [`az webapp deployment slot swap --resource-group ${app.resourceGroup} --name ${app.name} --slot ${input.slot} --target-slot production --action swap`]
  },
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      {method: 'GET', path: armPath(app, '/slots'), note: 'a pending preview is reset first (resetSlotConfig on each slot of the prepared pair)'},
      {method: 'POST', path: armPath(app, '/slotsswap'), longRunning: true, note: `{targetSlot: ${input.slot}} — the same swap again: each slot gets back its content and the settings that follow it`},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    return withRetryLog(context, services, async () => {
      if (!context.operations.inFlight()) {
        const status = await slotStatus(services, app, context.signal)
        // A rollback must not be blocked by a leftover preview.
        if (status.preparedForSwap) await resetPrepared(services, app, status, context)
      }
      const resumed = await swapWithProduction(services, context, app, input.slot, input.preserveVnet, 'swapBack')
      const production = await readSlot(services, app, PRODUCTION, context.signal)
      const health = await probeHealth(services, context, production, {path: healthPathOf(app, input.path), expectStatus: 200, attempts: 1, timeoutMs: 10_000, intervalMs: 0})
      context.log(`${app.name}: swapped back; production serves ${health.version ?? 'the previous deployment'}`)
      return {app: app.name, slot: input.slot, swappedBackAt: context.now().toISOString(), productionVersion: health.version, resumed}
    })
  },
})

// ---------------------------------------------------------------------------------------------------------------------
// slotDifferences: what a swap will change, names only

// "Get differences in configuration between web app and slots": Microsoft.Web/sites/slotsdiffs/Action (production's
// …/sites/{app}/slotsdiffs) and Microsoft.Web/sites/slots/slotsdiffs/Action (…/slots/{slot}/slotsdiffs), resource
// provider operations, https://learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile#microsoftweb
const DIFFS = 'Microsoft.Web/sites/slotsdiffs/Action'
const SLOT_DIFFS = 'Microsoft.Web/sites/slots/slotsdiffs/Action'
/** The api-version az's line asks for (the one @azure/arm-appservice 19 sends). */
const WEB_API = '2025-05-01'

/**
 * What a `diffRule` of Web Apps - List Slot Differences (WebApps.json SlotDifference: `level` "Information, Warning or
 * Error", `settingType` "General, AppSetting or ConnectionString", `diffRule` "how to process the setting difference
 * during a slot swap") means for the slot swapped into. The spec lists no values; these are the ones Azure's portal
 * reads from this answer (Azure/azure-functions-ux client/src/app/shared/models/arm/slots-diff.ts): its swap blade
 * shows the three `Settings…` rules as the changes the swap makes to the destination, and the `SlotSettings…` ones are
 * about slot settings (sticky: they stay with their slot and the swap does not move them). A rule not known here is
 * listed as it came, with `effect: unknown`, so a new rule is seen, never dropped.
 */
const DIFF_RULES: Record<string, {effect: 'added' | 'modified' | 'removed' | 'none'; slotSetting: boolean}> = {
  settingswillbeaddedtodestination: {effect: 'added', slotSetting: false},
  settingswillbemodifiedindestination: {effect: 'modified', slotSetting: false},
  settingsnotinsource: {effect: 'removed', slotSetting: false},
  slotsettingsmissing: {effect: 'none', slotSetting: true},
  slotsettingssamevalue: {effect: 'none', slotSetting: true},
}

const differenceOutput = z.strictObject({
  type: z.string().describe('settingType as Azure reports it: General (site configuration), AppSetting or ConnectionString'),
  name: z.string().describe('The setting\'s name (never its value: app settings and connection strings are secrets)'),
  level: z.string().optional().describe('Information, Warning or Error, as Azure reports it'),
  rule: z.string().optional().describe('Azure\'s diffRule, e.g. SettingsWillBeModifiedInDestination'),
  effect: z.enum(['added', 'modified', 'removed', 'none', 'unknown']).describe('What the swap does to the setting in the target slot (none: a slot setting, it stays; unknown: a rule opsbook does not know)'),
  slotSetting: z.boolean().optional().describe('Whether Azure reports it as a slot setting (sticky: stays with its slot); absent for an unknown rule'),
})
export type SlotDifferenceEntry = z.infer<typeof differenceOutput>

/**
 * Azure's slotsdiffs entries as opsbook keeps them: names, types, levels and rules — never `valueInCurrentSlot`,
 * `valueInTargetSlot` or `description` (which may quote them). Robust to what the spec leaves open: any field may be
 * missing, unknown fields are ignored, an unknown rule is kept with `effect: unknown`. Sorted by type and name.
 */
export function describeDifferences(entries: Iterable<Record<string, unknown>>): SlotDifferenceEntry[] {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined)
  const out: SlotDifferenceEntry[] = []
  for (const entry of entries) {
    // The SDK flattens `properties`; a raw ARM entry keeps them nested.
    const p = {...(entry ?? {}), ...((entry?.properties as Record<string, unknown> | undefined) ?? {})}
    const name = text(p.settingName) ?? text(p.name)?.split('/').at(-1)
    if (!name) continue
    const rule = text(p.diffRule)
    const known = rule ? DIFF_RULES[rule.toLowerCase()] : undefined
    out.push({
      type: text(p.settingType) ?? 'Unknown',
      name,
      ...(text(p.level) ? {level: text(p.level)} : {}),
      ...(rule ? {rule} : {}),
      effect: known?.effect ?? 'unknown',
      ...(known ? {slotSetting: known.slotSetting} : {}),
    })
  }
  return out.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
}

/** One line for logs, the approval prompt and the run's outputs: what changes in the target, by name only. */
export function summarizeDifferences(differences: SlotDifferenceEntry[], slot: string, target: string): string {
  const changing = differences.filter((d) => d.effect === 'added' || d.effect === 'modified' || d.effect === 'removed')
  const unknown = differences.filter((d) => d.effect === 'unknown')
  const sticky = differences.filter((d) => d.effect === 'none')
  const label = (d: SlotDifferenceEntry) => `${d.type} ${d.name}${d.effect === 'unknown' ? ` (${d.rule ?? 'no rule'})` : d.effect === 'none' ? '' : ` (${d.effect})`}${d.level && !/^information$/i.test(d.level) ? ` [${d.level}]` : ''}`
  const parts = [
    changing.length === 0
      ? `swapping ${slot} into ${target} changes no setting there`
      : `swapping ${slot} into ${target} changes ${changing.length} setting${changing.length === 1 ? '' : 's'} there: ${changing.map(label).join(', ')}`,
  ]
  if (unknown.length > 0) parts.push(`Azure also reports ${unknown.length} difference${unknown.length === 1 ? '' : 's'} of a kind opsbook does not know: ${unknown.map(label).join(', ')}`)
  if (sticky.length > 0) parts.push(`slot settings that stay with their slot: ${sticky.map(label).join(', ')}`)
  return `${parts.join('; ')} (names only; values are not shown)`
}

function differencesAz(app: ResolvedResource, slot: string, target: string): string {
  const url = `${app.id}${isProduction(slot) ? '' : `/slots/${slot}`}/slotsdiffs?api-version=${WEB_API}`
  // No `az webapp` command lists slot differences (az webapp deployment slot has auto-swap, create, delete, list and
  // swap only): az rest calls the REST operation; the query keeps the values (secrets) off the screen.
  return `az rest --method post --url "${url}" --body '{"targetSlot": "${target}", "preserveVnet": true}' --query "value[].properties.{type: settingType, name: settingName, rule: diffRule, level: level}"`
}

export const slotDifferencesAction = defineAction({
  name: 'webapp.slotDifferences',
  summary: 'Before a swap: the settings it will change in the target slot — names, types and levels, never values',
  description:
    "Calls Web Apps - List Slot Differences Slot (POST …/slots/{slot}/slotsdiffs {targetSlot}; …/sites/{app}/slotsdiffs from production), what Azure's portal shows before a swap, and keeps only each setting's type (General, AppSetting, ConnectionString), name, level, Azure's diffRule and whether Azure reports it as a slot setting. Values are read by Azure's answer but never kept, logged or journaled: app settings and connection strings are secrets. There is no `az webapp` command for it; the az line is `az rest`.",
  input: z.strictObject({
    app: appRef,
    slot: z.string().default('staging').describe('The slot to be swapped (the source)'),
    targetSlot: z.string().default(PRODUCTION).describe('The slot it is swapped into'),
    preserveVnet: z.boolean().default(true),
  }),
  output: z.strictObject({
    app: z.string(),
    slot: z.string(),
    targetSlot: z.string(),
    differences: z.array(differenceOutput),
    changing: z.array(z.string()).describe('"<type> <name> (<added|modified|removed>)" for each setting the swap changes in the target slot'),
    summary: z.string().describe('One line: what the swap changes in the target slot, by name'),
  }),
  changes: false,
  permissions: [DIFFS, SLOT_DIFFS],
  az: (input, plan) => [differencesAz(resolveResource(plan.environment, 'webapp', input.app), input.slot, input.targetSlot)],
  arm: (input, plan) => {
    const app = resolveResource(plan.environment, 'webapp', input.app)
    return [
      {
        method: 'POST',
        path: isProduction(input.slot) ? armPath(app, '/slotsdiffs') : armPath(app, `/slots/${input.slot}/slotsdiffs`),
        note: `{targetSlot: ${input.targetSlot}} — reads only: the settings a swap changes there (names kept, values dropped); paged`,
      },
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const app = resolveResource(context.environment, 'webapp', input.app)
    if (input.slot.toLowerCase() === input.targetSlot.toLowerCase())
      throw new ActionFailure(`slot and targetSlot are both ${input.slot}: nothing to compare`, {code: 'webapp-invalid-slot', exitCode: ExitCode.invalidInput})
    const differences = await withRetryLog(context, services, async () => {
      const web = await services.web()
      const entity = {targetSlot: input.targetSlot, preserveVnet: input.preserveVnet}
      const pages = isProduction(input.slot)
        ? web.webApps.listSlotDifferencesFromProduction(app.resourceGroup, app.name, entity, {abortSignal: context.signal})
        : web.webApps.listSlotDifferencesSlot(app.resourceGroup, app.name, input.slot, entity, {abortSignal: context.signal})
      const entries: Array<Record<string, unknown>> = []
      try {
        for await (const entry of pages) entries.push(entry as unknown as Record<string, unknown>)
      } catch (error) {
        throw toAzureError(error, {operation: `list the settings a swap of ${app.name}/${input.slot} into ${input.targetSlot} changes`, az: differencesAz(app, input.slot, input.targetSlot)})
      }
      return describeDifferences(entries)
    })
    const summary = summarizeDifferences(differences, `${app.name}/${input.slot}`, isProduction(input.targetSlot) ? PRODUCTION : `${app.name}/${input.targetSlot}`)
    context.log(summary)
    const changing = differences.filter((d) => d.effect === 'added' || d.effect === 'modified' || d.effect === 'removed').map((d) => `${d.type} ${d.name} (${d.effect})`)
    return {app: app.name, slot: input.slot, targetSlot: input.targetSlot, differences, changing, summary}
  },
})

export const webappActions: ActionDefinition[] = [
  healthCheckAction,
  swapModeAction,
  slotDifferencesAction,
  swapAction,
  swapBackAction,
  slotStatusAction,
  assertNotPreparedForSwapAction,
  resetSwapAction,
]

/** For plan helpers elsewhere. */
export function webappPlanPath(plan: PlanContext, app: string, slot = PRODUCTION): string {
  return slotPath(resolveResource(plan.environment, 'webapp', app), slot)
}

/** A plan tier without deployment slots (Free, Shared, Basic) cannot swap: refused from the catalog's planSku before the run. */
function slotPreflight(plan: PlanContext, app: string): PreflightRefusal | undefined {
  const {component, componentKey} = resolveResource(plan.environment, 'webapp', app)
  if (component?.type !== 'webapp' || !component.planSku) return undefined
  const refusal = slotRefusal(component.planSku, Math.max(1, component.slots.length))
  return refusal && {message: `${component.name}: ${refusal.message}`, component: componentKey, field: 'planSku'}
}
