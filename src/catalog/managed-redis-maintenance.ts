/**
 * Azure Managed Redis scheduled maintenance: the catalog's windows of a `managedredis` component as the cluster's
 * `properties.maintenanceConfiguration.maintenanceWindows` (Microsoft.Cache/redisEnterprise, first in api-version
 * 2025-08-01-preview, stable in 2026-09-01: redisenterprise.json `MaintenanceConfiguration` / `MaintenanceWindow`
 * {type: Weekly, duration (ISO 8601), startHourUtc 0-23, schedule.dayOfWeek}, set by RedisEnterprise_Update (PATCH);
 * examples RedisEnterpriseUpdate.json in Azure/azure-rest-api-specs specification/redisenterprise/…/2026-09-01).
 * Azure Managed Redis has no `patchSchedules` child resource (that is classic Azure Cache for Redis only).
 *
 * Azure's rules (https://learn.microsoft.com/azure/redis/scheduled-maintenance, "Maintenance window requirements and
 * limitations"): times in UTC, starts at the top of the hour, each window at least 4 hours, at least two windows a
 * week, at least 18 hours a week in all. Without a custom schedule Azure applies updates at its discretion.
 *
 * opsbook never widens or adds a window to meet those rules (Azure would then patch outside the catalog's windows):
 * a component whose windows cannot be set says so (`problem`) in `catalog validate`, the maintenance-window runbook
 * and the `amr.maintenance.window` check. Pure: used by the actions, the checks, the catalog notes and the emulator.
 */
import {parseDuration, toIsoDuration} from '../support/duration.js'
import {componentWindowNames, type Environment, type MaintenanceWindow} from './schema.js'
import {weeklyUtcSlot} from './windows.js'

export const AMR_MAINTENANCE_DOC = 'https://learn.microsoft.com/azure/redis/scheduled-maintenance'
/** The api-version opsbook reads and writes maintenanceConfiguration with (the first stable one that has it). */
export const AMR_MAINTENANCE_API = '2026-09-01'
/** The first api-version with maintenanceConfiguration (older versions leave it out of their answers). */
export const AMR_MAINTENANCE_FIRST_API = '2025-08-01-preview'

export const AMR_MIN_WINDOW_MS = 4 * 3_600_000
export const AMR_MIN_WINDOWS = 2
export const AMR_MIN_WEEKLY_MS = 18 * 3_600_000

export interface AmrMaintenanceWindow {
  type: 'Weekly'
  duration: string
  startHourUtc: number
  schedule: {dayOfWeek: string}
}

export interface AmrMaintenancePlan {
  /** The windows to set (empty when the catalog names none or they cannot be set). */
  windows: AmrMaintenanceWindow[]
  /** What opsbook adjusted (a start moved to the next full hour) or left out (windows that are not weekly). */
  notes: string[]
  /** Why the catalog's windows cannot be set on the cluster, with Azure's rule; undefined when they can. */
  problem?: string
}

/**
 * Azure's rules on a set of windows (durations in ms), or undefined when they hold. The emulator answers with it too.
 */
export function amrMaintenanceRuleViolation(durationsMs: number[]): string | undefined {
  const short = durationsMs.filter((d) => d < AMR_MIN_WINDOW_MS)
  if (short.length > 0) return `each maintenance window must last at least 4 hours (${short.map((d) => toIsoDuration(d)).join(', ')} ${short.length === 1 ? 'is' : 'are'} shorter)`
  if (durationsMs.length < AMR_MIN_WINDOWS) return `at least two maintenance windows a week are required (${durationsMs.length} given)`
  const total = durationsMs.reduce((a, b) => a + b, 0)
  if (total < AMR_MIN_WEEKLY_MS) return `the windows must add up to at least 18 hours a week (${toIsoDuration(total)} given)`
  return undefined
}

/** The windows of a component, as Azure Managed Redis takes them at `at` (each catalog window's occurrence open then, else its next). */
export function amrMaintenancePlan(environment: Environment, component: {window?: string; windows?: string[]}, at: Date): AmrMaintenancePlan {
  const names = componentWindowNames(component)
  const notes: string[] = []
  const windows: AmrMaintenanceWindow[] = []
  for (const name of names) {
    const window: MaintenanceWindow | undefined = environment.windows[name]
    if (!window) continue
    if (window.recurrence !== 'weekly') {
      notes.push(`window ${name} is ${window.recurrence}: Azure Managed Redis takes weekly windows only, so it is left out`)
      continue
    }
    const slot = weeklyUtcSlot(window, at)
    let hour = slot.startHour
    let day = slot.dayOfWeek
    let minutes = slot.durationMinutes
    if (slot.startMinute !== 0) {
      // Azure starts windows on the hour: start at the next full hour, so maintenance stays inside the catalog's window.
      minutes -= 60 - slot.startMinute
      hour += 1
      if (hour === 24) {
        hour = 0
        day = (day + 1) % 7
      }
      notes.push(`window ${name}: Azure starts maintenance windows on the hour, so ${pad(slot.startHour)}:${pad(slot.startMinute)} UTC becomes ${pad(hour)}:00 UTC (${toIsoDuration(minutes * 60_000)})`)
    }
    const entry: AmrMaintenanceWindow = {type: 'Weekly', duration: toIsoDuration(minutes * 60_000), startHourUtc: hour, schedule: {dayOfWeek: DAYS[day]!}}
    if (!windows.some((w) => sameWindow(w, entry))) windows.push(entry)
  }
  if (names.length === 0) return {windows: [], notes}
  if (windows.length === 0) return {windows: [], notes, problem: `none of its windows (${names.join(', ')}) is weekly: Azure Managed Redis takes weekly windows only (${AMR_MAINTENANCE_DOC})`}
  const violation = amrMaintenanceRuleViolation(windows.map((w) => parseDuration(w.duration) ?? 0))
  if (violation)
    return {
      windows: [],
      notes,
      problem: `Azure Managed Redis cannot take its windows (${windows.map(describeAmrWindow).join(', ')}): ${violation} (${AMR_MAINTENANCE_DOC}); opsbook does not widen or add windows, so without a catalog change Azure applies updates at its discretion`,
    }
  return {windows, notes}
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** e.g. "Sunday 02:00 UTC for PT6H". */
export function describeAmrWindow(w: {startHourUtc?: number; duration?: string; schedule?: {dayOfWeek?: string}}): string {
  return `${w.schedule?.dayOfWeek ?? '?'} ${pad(Number(w.startHourUtc ?? 0))}:00 UTC for ${w.duration ?? '?'}`
}

function sameWindow(a: {startHourUtc?: number; duration?: string; schedule?: {dayOfWeek?: string}}, b: {startHourUtc?: number; duration?: string; schedule?: {dayOfWeek?: string}}): boolean {
  return (
    String(a.schedule?.dayOfWeek).toLowerCase() === String(b.schedule?.dayOfWeek).toLowerCase() &&
    Number(a.startHourUtc) === Number(b.startHourUtc) &&
    parseDuration(String(a.duration)) === parseDuration(String(b.duration))
  )
}

/** Whether two window sets are the same (order aside). */
export function sameAmrWindows(a: readonly AmrMaintenanceWindow[] | undefined, b: readonly AmrMaintenanceWindow[] | undefined): boolean {
  const x = a ?? []
  const y = b ?? []
  return x.length === y.length && x.every((w) => y.some((v) => sameWindow(w, v)))
}
