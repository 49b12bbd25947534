/**
 * Shared helpers of the Azure actions: naming resources by catalog component key or Azure name, ARM ids and paths
 * for `plan`, the services cast, waiting, scratch names, and maintenance windows in UTC.
 * Light on purpose: action modules import it at load time, so no SDK here.
 */
import type {Component, Environment, MaintenanceWindow} from '../catalog/schema.js'
import {COMPONENT_PROVIDER_TYPE} from '../catalog/resource-id.js'
import {weeklyUtcSlot} from '../catalog/windows.js'
import {ExitCode, OpsbookError} from '../errors.js'
import type {AzureServices} from '../azure/clients.js'
import type {ActionContext} from './types.js'

export type ResourceKind = 'postgres' | 'redis' | 'managedredis' | 'webapp' | 'storage' | 'keyvault'

/** ARM provider type of each kind: the catalog's, for the kinds actions resolve. */
export const providerTypes: Record<ResourceKind, string> = {
  postgres: COMPONENT_PROVIDER_TYPE.postgres,
  redis: COMPONENT_PROVIDER_TYPE.redis,
  managedredis: COMPONENT_PROVIDER_TYPE.managedredis,
  webapp: COMPONENT_PROVIDER_TYPE.webapp,
  storage: COMPONENT_PROVIDER_TYPE.storage,
  keyvault: COMPONENT_PROVIDER_TYPE.keyvault,
}

/** API versions the installed SDKs send (for `plan` paths and raw probes). */
export const apiVersions: Record<ResourceKind, string> = {
  postgres: '2025-08-01',
  redis: '2024-11-01',
  // @azure/arm-redisenterprisecache 2.2.0 (the only release on npm) sends 2022-01-01.
  managedredis: '2022-01-01',
  webapp: '2025-05-01',
  storage: '2025-08-01',
  keyvault: '2026-02-01',
}

export interface ResolvedResource {
  kind: ResourceKind
  /** Azure resource name. */
  name: string
  resourceGroup: string
  subscription: string
  /** ARM resource id. */
  id: string
  /** The catalog component, when the input named one (by key, by Azure name, or as a replica of one). */
  component?: Component
  componentKey?: string
}

/**
 * Resolve a component key, an Azure resource name, or a full ARM resource id to name, resource group and id.
 * Unknown names are taken as Azure names in the environment's first resource group (a server restored by this run
 * is not in the catalog). Placeholders such as `<steps.restore.outputs.server>` pass through for `plan`.
 */
export function resolveResource(environment: Environment, kind: ResourceKind, reference: string): ResolvedResource {
  const subscription = environment.subscription
  const defaultRg = environment.resourceGroups[0]!
  const make = (name: string, resourceGroup: string, component?: Component, componentKey?: string, sub = subscription): ResolvedResource => ({
    kind,
    name,
    resourceGroup,
    subscription: sub,
    id: `/subscriptions/${sub}/resourceGroups/${resourceGroup}/providers/${providerTypes[kind]}/${name}`,
    component,
    componentKey,
  })
  const idMatch = /^\/?subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)$/i.exec(reference.trim())
  if (idMatch) {
    const found = findComponent(environment, kind, idMatch[3]!)
    return make(idMatch[3]!, idMatch[2]!, found?.component, found?.key, idMatch[1]!)
  }
  const byKey = environment.components[reference]
  if (byKey) {
    if (byKey.type !== kind)
      throw new OpsbookError(`component ${reference} is a ${byKey.type}, not a ${kind}`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
    return make(byKey.name, byKey.resourceGroup ?? defaultRg, byKey, reference)
  }
  const found = findComponent(environment, kind, reference)
  if (found) {
    if (found.replica) return make(found.replica.name, found.replica.resourceGroup ?? found.component.resourceGroup ?? defaultRg, found.component, found.key)
    return make(found.component.name, found.component.resourceGroup ?? defaultRg, found.component, found.key)
  }
  return make(reference, defaultRg)
}

function findComponent(environment: Environment, kind: ResourceKind, name: string) {
  const lower = name.toLowerCase()
  for (const [key, component] of Object.entries(environment.components)) {
    if (component.type !== kind) continue
    if (component.name.toLowerCase() === lower) return {key, component, replica: undefined}
    if (component.type === 'postgres') {
      const replica = component.replicas.find((r) => r.name.toLowerCase() === lower)
      if (replica) return {key, component, replica}
    }
  }
  return undefined
}

/** The services the engine put on the context (an {@link AzureServices}). */
export function azureServices(context: ActionContext): AzureServices {
  const services = context.services as AzureServices | undefined
  if (!services || typeof (services as {postgres?: unknown}).postgres !== 'function')
    throw new OpsbookError('this step needs Azure services, but the run has none (is the environment configured?)', {code: 'no-azure-services'})
  return services
}

/** ARM path of a resolved resource plus `suffix`, with the api-version — for `plan`. */
export function armPath(resource: ResolvedResource, suffix = '', apiVersion = apiVersions[resource.kind]): string {
  return `${resource.id}${suffix}?api-version=${apiVersion}`
}

/** True when a `plan` input is still a placeholder (`<steps.x.outputs.y>`, `${{ … }}`). */
export function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && (/^<.*>$/.test(value) || value.includes('${{'))
}

/** Quote a value for a POSIX shell when it needs it. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./<>{}-]+$/.test(value) && !/[<>]/.test(value.replace(/^<[^>]*>$/, 'x')) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

/** A short, name-safe token of a run id, for resource names. */
export function shortRunId(runId: string): string {
  const clean = runId.toLowerCase().replaceAll(/[^a-z0-9]/g, '')
  return clean.slice(-6) || 'run'
}

/**
 * A resource name for a copy of `source` made by this run: `<source>-<purpose>-<run>`, cut to `maxLength`
 * (PostgreSQL: 63) without leaving a trailing hyphen.
 */
export function derivedName(source: string, purpose: string, runId: string, maxLength = 63): string {
  const suffix = `-${purpose}-${shortRunId(runId)}`
  const head = source.slice(0, Math.max(1, maxLength - suffix.length)).replace(/-+$/, '')
  return `${head}${suffix}`.toLowerCase()
}

/** Wait `ms`, rejecting when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason ?? new Error('aborted'))
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** Forward the shared retry policy's retries to the step's progress lines while `fn` runs. */
export async function withRetryLog<T>(context: ActionContext, services: AzureServices, fn: () => Promise<T>): Promise<T> {
  const off = services.onRetry((e) =>
    context.log(
      e.reason === 'rate-limit-low'
        ? `Azure rate limit nearly used up: pausing ${e.delayMs} ms`
        : `${e.method} ${new URL(e.url).pathname}: ${e.status ?? e.reason}, retry ${e.retry} in ${e.delayMs} ms`,
    ),
  )
  try {
    return await fn()
  } finally {
    off()
  }
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const
export type WeekdayName = (typeof WEEKDAYS)[number]

/** A weekly slot in UTC, the form Azure's maintenance settings take. */
export interface UtcWindow {
  /** 0 = Sunday … 6 = Saturday (PostgreSQL's numbering). */
  dayOfWeek: number
  dayName: WeekdayName
  startHour: number
  startMinute: number
  durationMinutes: number
}

/**
 * A catalog window as a weekly UTC slot, from its occurrence open at `now` or else its next one — per occurrence, so
 * a window in a zone with daylight saving maps to the UTC hour that is right for that occurrence (catalog/windows.ts).
 * `validUntil`: when daylight saving moves the slot and the window must be applied again.
 */
export function windowInUtc(window: MaintenanceWindow, now: Date): UtcWindow & {validUntil?: string} {
  const slot = weeklyUtcSlot(window, now)
  return {
    dayOfWeek: slot.dayOfWeek,
    dayName: slot.dayName,
    startHour: slot.startHour,
    startMinute: slot.startMinute,
    durationMinutes: slot.durationMinutes,
    ...(slot.validUntil ? {validUntil: slot.validUntil.toISOString()} : {}),
  }
}

/** Day name ↔ PostgreSQL day number. */
export function weekdayName(day: number): WeekdayName {
  return WEEKDAYS[((day % 7) + 7) % 7]!
}

export function weekdayNumber(day: string | number): number {
  if (typeof day === 'number') return day
  const index = WEEKDAYS.findIndex((d) => d.toLowerCase() === day.toLowerCase() || d.slice(0, 3).toLowerCase() === day.toLowerCase())
  if (index === -1) throw new OpsbookError(`unknown day ${day}: use Sunday … Saturday`, {exitCode: ExitCode.invalidInput, code: 'invalid-day'})
  return index
}

/**
 * A window given as a catalog window name (of the environment) or explicitly; explicit windows are UTC.
 */
export function resolveWindow(
  environment: Environment,
  window: string | {day: string | number; startHour: number; startMinute?: number; durationMinutes?: number},
  now: Date,
): UtcWindow & {name?: string; validUntil?: string} {
  if (typeof window === 'string') {
    const named = environment.windows[window]
    if (!named)
      throw new OpsbookError(`no maintenance window named ${window} in this environment (known: ${Object.keys(environment.windows).join(', ') || 'none'})`, {
        exitCode: ExitCode.invalidInput,
        code: 'unknown-window',
      })
    return {...windowInUtc(named, now), name: window}
  }
  const dayOfWeek = weekdayNumber(window.day)
  return {dayOfWeek, dayName: weekdayName(dayOfWeek), startHour: window.startHour, startMinute: window.startMinute ?? 0, durationMinutes: window.durationMinutes ?? 60}
}
