/**
 * Maintenance windows and change freezes: is a component's window open at an instant, when does it next open,
 * and is the environment frozen. Used by the production guard of disruptive runbooks, `opsbook window status`
 * and the maintenance-window actions (which turn a window into the weekly UTC slot Azure takes).
 *
 * Every occurrence is computed in the window's own time zone: its start AND its end are local wall-clock times of
 * that day, never a fixed number of minutes after the start. Local times that a daylight-saving change makes
 * nonexistent or repeated follow RFC 5545 §3.3.5 (https://datatracker.ietf.org/doc/html/rfc5545#section-3.3.5, the
 * rule iCalendar applies to recurrence instances too, §3.3.10): a repeated local time "refers to the first
 * occurrence of the referenced time"; a nonexistent one "is interpreted using the UTC offset before the gap". So a
 * 02:00–04:00 Europe/Amsterdam window is
 * - 01:00–02:00Z on the spring-forward Sunday 2026-03-29 (02:00 does not exist: read at CET, UTC+1, it is 03:00 CEST;
 *   it ends at 04:00 CEST): one hour;
 * - 00:00–03:00Z on the fall-back Sunday 2026-10-25 (02:00 happens twice: the first, 02:00 CEST, is 00:00Z; 04:00 is
 *   after the change, 04:00 CET = 03:00Z): three hours, the repeated hour included.
 */
import {DateTime, Info, type Zone} from 'luxon'
import {componentWindowNames, type Component, type Environment, type MaintenanceWindow, type Weekday} from './schema.js'

const WEEKDAY_NUMBER: Record<Weekday, number> = {Monday: 1, Tuesday: 2, Wednesday: 3, Thursday: 4, Friday: 5, Saturday: 6, Sunday: 7}
const DAY_MS = 24 * 3600 * 1000
/** How far ahead a next opening is looked for: enough for monthly windows and one-off dates within a year. */
const HORIZON_DAYS = 400

export interface WindowOccurrence {
  opensAt: Date
  closesAt: Date
}

/**
 * Every opening of `window` that overlaps [from, to).
 *
 * The local days from the one before `from`'s to `to`'s (a window that opened yesterday may still be open) are not
 * walked one by one: the days the window opens on are computed directly (the weekday, then every 7th day; every 14th
 * from the anchor's week; the n-th or last weekday of each month; the one-off dates), and only those are turned into
 * instants. The result is the day-by-day walk's, occurrence for occurrence (test/catalog/windows-equivalence.test.ts
 * keeps that walk as its oracle); the walk was the largest luxon cost of the suite (each day a time-zone conversion).
 */
export function occurrences(window: MaintenanceWindow, from: Date, to: Date): WindowOccurrence[] {
  const zone = window.timeZone
  const [startHour, startMinute] = hourMinute(window.start)
  const [endHour, endMinute] = hourMinute(window.end)
  const crossesMidnight = endHour * 60 + endMinute <= startHour * 60 + startMinute
  const fromMs = from.getTime()
  const toMs = to.getTime()
  const result: WindowOccurrence[] = []
  for (const day of openingDays(window, localDay(zone, fromMs) - 1, localDay(zone, toMs))) {
    const opens = localInstant(day, startHour, startMinute, zone)
    const closes = localInstant(crossesMidnight ? day + 1 : day, endHour, endMinute, zone)
    if (closes > opens && closes > fromMs && opens < toMs) result.push({opensAt: new Date(opens), closesAt: new Date(closes)})
  }
  return result
}

/**
 * The days (counted from 1970-01-01, in local dates) in [first, last] the window opens on, in order: the days the
 * day-by-day walk found with `day.weekday` (ISO, Monday 1), the week of the month, and the ISO week's Monday.
 */
function openingDays(window: MaintenanceWindow, first: number, last: number): number[] {
  const days: number[] = []
  // An invalid Date (NaN) opened nothing in the walk: the monthly loop below would not end.
  if (!Number.isFinite(first) || !Number.isFinite(last)) return days
  if (window.recurrence === 'once') {
    for (const date of window.dates ?? []) {
      const day = dayOfIsoDate(date)
      if (day !== undefined && day >= first && day <= last) days.push(day)
    }
    // A date listed twice opened once, and the walk went in date order.
    return [...new Set(days)].sort((a, b) => a - b)
  }
  const weekday = WEEKDAY_NUMBER[window.day!]
  if (window.recurrence === 'weekly' || window.recurrence === 'biweekly') {
    let day = first + mod(weekday - isoWeekday(first), 7)
    let step = 7
    if (window.recurrence === 'biweekly') {
      // Whole weeks between the ISO weeks (their Mondays) of the day and of the anchor: even ones open.
      const anchorMonday = anchorWeekStart(window.anchor!, window.timeZone)
      if (anchorMonday === undefined) return days
      if (mod((day - (weekday - 1) - anchorMonday) / 7, 2) !== 0) day += 7
      step = 14
    }
    for (; day <= last; day += step) days.push(day)
    return days
  }
  // monthly: the n-th such weekday is in days 7n-6..7n of its month; the last one in the month's last 7 days.
  const week = monthlyWeek(window)
  const start = new Date(first * DAY_MS)
  for (let year = start.getUTCFullYear(), month = start.getUTCMonth(); ; month++) {
    const firstOfMonth = Date.UTC(year, month, 1) / DAY_MS
    if (firstOfMonth > last) break
    const lastOfMonth = Date.UTC(year, month + 1, 0) / DAY_MS
    const day =
      week === 'last'
        ? lastOfMonth - mod(isoWeekday(lastOfMonth) - weekday, 7)
        : firstOfMonth + mod(weekday - isoWeekday(firstOfMonth), 7) + (week - 1) * 7
    if (day >= first && day <= last) days.push(day)
  }
  return days
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m
}

/** ISO weekday (Monday 1 … Sunday 7) of a day counted from 1970-01-01 (a Thursday). */
function isoWeekday(day: number): number {
  return mod(day + 3, 7) + 1
}

/** The day (from 1970-01-01) a YYYY-MM-DD names, or undefined when it is no calendar date (the walk never met it). */
function dayOfIsoDate(date: string): number | undefined {
  const ms = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(ms)) return undefined
  const day = Math.floor(ms / DAY_MS)
  return new Date(day * DAY_MS).toISOString().slice(0, 10) === date ? day : undefined
}

const anchorWeeks = new Map<string, number | undefined>()

/** The Monday (day from 1970-01-01) of the local ISO week holding a bi-weekly window's anchor, read as luxon reads it. */
function anchorWeekStart(anchor: string, timeZone: string): number | undefined {
  const key = `${timeZone}|${anchor}`
  if (!anchorWeeks.has(key)) {
    const monday = DateTime.fromISO(anchor, {zone: timeZone}).startOf('week')
    anchorWeeks.set(key, monday.isValid ? Date.UTC(monday.year, monday.month - 1, monday.day) / DAY_MS : undefined)
  }
  return anchorWeeks.get(key)
}

/** The local date (day from 1970-01-01) of an instant in `zone`. */
function localDay(timeZone: string, ms: number): number {
  return Math.floor((ms + offsetAt(timeZone, ms) * 60_000) / DAY_MS)
}

/**
 * The instant a local wall-clock time of `day` (from 1970-01-01) names in `zone`, per RFC 5545 §3.3.5 (see the top of
 * this file): a repeated time is its first occurrence (the earlier instant), a nonexistent time is read at the offset
 * in force before the gap. (luxon alone takes a repeated time at the later offset, which opened the 2026-10-25
 * Amsterdam window at the second 02:00.)
 */
function localInstant(day: number, hour: number, minute: number, timeZone: string): number {
  const wall = day * DAY_MS + hour * 3_600_000 + minute * 60_000
  // The offsets in force a day either side cover any single change at that time.
  const before = offsetAt(timeZone, wall - DAY_MS)
  const after = offsetAt(timeZone, wall + DAY_MS)
  let ms: number | undefined
  for (const offset of before === after ? [before] : [before, after]) {
    const candidate = wall - offset * 60_000
    if (offsetAt(timeZone, candidate) * 60_000 === wall - candidate && (ms === undefined || candidate < ms)) ms = candidate
  }
  return ms ?? wall - before * 60_000
}

/** Offsets looked up, per zone, before the zone's map is emptied (a year of a weekly window takes ~300). */
const OFFSET_CACHE_SIZE = 100_000
const offsetCache = new Map<string | undefined, {zone: Zone; offsets: Map<number, number>}>()

/**
 * The UTC offset (minutes) of `zone` at an instant: what `DateTime.fromMillis(ms, {zone}).offset` says (the same
 * luxon zone, so the same reading of the zone name and of Intl), without making a DateTime, and remembered: each
 * look-up is an Intl formatToParts, and the same instants come back (every occurrence asks for its day's offsets, and
 * `nextOpening`, `openOccurrence` and the gate ask again for the same windows).
 */
function offsetAt(timeZone: string, ms: number): number {
  let entry = offsetCache.get(timeZone)
  if (!entry) offsetCache.set(timeZone, (entry = {zone: Info.normalizeZone(timeZone), offsets: new Map()}))
  let offset = entry.offsets.get(ms)
  if (offset === undefined) {
    offset = entry.zone.offset(ms)
    if (entry.offsets.size >= OFFSET_CACHE_SIZE) entry.offsets.clear()
    entry.offsets.set(ms, offset)
  }
  return offset
}

function hourMinute(hhmm: string): [number, number] {
  return hhmm.split(':').map(Number) as [number, number]
}

/** The week of the month a monthly window opens in: the catalog's, or the 1st when it leaves it open. */
export function monthlyWeek(window: MaintenanceWindow): 1 | 2 | 3 | 4 | 'last' {
  return window.week ?? 1
}

/** The occurrence containing `at`, if the window is open then. */
export function openOccurrence(window: MaintenanceWindow, at: Date): WindowOccurrence | undefined {
  return occurrences(window, at, new Date(at.getTime() + 1)).find((o) => o.opensAt <= at && at < o.closesAt)
}

/**
 * The next opening strictly after `at` (up to ~13 months ahead); with `minimumMs`, the next one long enough for a
 * run of that length.
 */
export function nextOpening(window: MaintenanceWindow, at: Date, minimumMs = 0): WindowOccurrence | undefined {
  // Searched in 8-week slices: most windows are found in the first.
  for (let offset = 0; offset < HORIZON_DAYS; offset += 56) {
    const from = new Date(at.getTime() + offset * DAY_MS)
    const found = occurrences(window, from, new Date(from.getTime() + 56 * DAY_MS)).find(
      (o) => o.opensAt > at && o.closesAt.getTime() - o.opensAt.getTime() >= minimumMs,
    )
    if (found) return found
  }
  return undefined
}

/** Human text such as "weekly Sunday 02:00–04:00 UTC". */
export function describeWindow(window: MaintenanceWindow): string {
  const which =
    window.recurrence === 'monthly'
      ? `monthly (${monthlyWeek(window) === 'last' ? 'last' : ordinal(monthlyWeek(window) as number)} ${window.day})`
      : window.recurrence === 'once'
        ? `once on ${(window.dates ?? []).join(', ')}`
        : `${window.recurrence} ${window.day}`
  return `${which} ${window.start}–${window.end} ${window.timeZone}`
}

/** What opsbook assumed where the catalog left something open (said by `window status` and `catalog validate`). */
export function windowAssumptions(window: MaintenanceWindow): string[] {
  if (window.recurrence === 'monthly' && window.week === undefined)
    return [`the catalog says "monthly" without a week: assumed the 1st ${window.day} of each month (set week: 1-4 or last)`]
  return []
}

function ordinal(n: number): string {
  return ['', '1st', '2nd', '3rd', '4th'][n] ?? `${n}th`
}

/**
 * A window as the weekly UTC slot Azure takes (PostgreSQL custom window, Redis patch schedule), computed from one
 * occurrence: the one open at `at`, else the next. Azure keeps a fixed UTC slot, so a window in a zone with daylight
 * saving maps to a different slot after each change: `validUntil` is when this slot stops matching the catalog (the
 * first later occurrence whose UTC start differs), so the maintenance-window runbook is re-run then.
 */
export function weeklyUtcSlot(window: MaintenanceWindow, at: Date): WeeklyUtcSlot {
  // Remembered by window and instant: `opsbook check` asks once per resource with the run's one `now`, and each answer
  // is a day-by-day walk of up to a year (in a scan of 300 subscription copies, test/checks/fleet.test.ts, luxon was the
  // largest item of the CPU profile). A copy is handed out, so that no caller can change what the next one gets.
  const key = `${at.getTime()}|${JSON.stringify(window)}`
  let slot = slotCache.get(key)
  if (!slot) {
    slot = computeWeeklyUtcSlot(window, at)
    if (slotCache.size >= SLOT_CACHE_SIZE) slotCache.delete(slotCache.keys().next().value!)
    slotCache.set(key, slot)
  }
  const copy = (o: WindowOccurrence): WindowOccurrence => ({opensAt: new Date(o.opensAt), closesAt: new Date(o.closesAt)})
  return {...slot, occurrence: copy(slot.occurrence), validUntil: slot.validUntil && new Date(slot.validUntil)}
}

export interface WeeklyUtcSlot {
  dayOfWeek: number
  dayName: Weekday
  startHour: number
  startMinute: number
  durationMinutes: number
  occurrence: WindowOccurrence
  validUntil?: Date
}

const SLOT_CACHE_SIZE = 256
const slotCache = new Map<string, WeeklyUtcSlot>()

function computeWeeklyUtcSlot(window: MaintenanceWindow, at: Date): WeeklyUtcSlot {
  const occurrence = openOccurrence(window, at) ?? nextOpening(window, at) ?? fallbackOccurrence(window, at)
  const start = occurrence.opensAt
  const slotKey = (o: WindowOccurrence) => `${o.opensAt.getUTCDay()}/${o.opensAt.getUTCHours()}/${o.opensAt.getUTCMinutes()}`
  // Searched in 8-week slices: a daylight-saving change is at most about 8 months away.
  let later: WindowOccurrence | undefined
  for (let offset = 0; offset < 370 && !later; offset += 56) {
    const from = new Date(occurrence.closesAt.getTime() + offset * DAY_MS)
    later = occurrences(window, from, new Date(from.getTime() + 56 * DAY_MS)).find((o) => o.opensAt > occurrence.opensAt && slotKey(o) !== slotKey(occurrence))
  }
  const dayOfWeek = start.getUTCDay()
  return {
    dayOfWeek,
    dayName: (['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as Weekday[])[dayOfWeek]!,
    startHour: start.getUTCHours(),
    startMinute: start.getUTCMinutes(),
    durationMinutes: Math.round((occurrence.closesAt.getTime() - occurrence.opensAt.getTime()) / 60_000),
    occurrence,
    validUntil: later?.opensAt,
  }
}

/** A one-off window whose dates are all past still has a shape: its last date. */
function fallbackOccurrence(window: MaintenanceWindow, at: Date): WindowOccurrence {
  const lastDate = [...(window.dates ?? [])].sort().at(-1)
  const from = lastDate ? DateTime.fromISO(lastDate, {zone: window.timeZone}).toJSDate() : at
  const found = occurrences(window, from, new Date(from.getTime() + 8 * DAY_MS))[0]
  if (!found) throw new Error(`window ${describeWindow(window)} never opens`)
  return found
}

export interface FreezeStatus {
  from: string
  until: string
  reason: string
}

/** The change freeze in force at `at`, if any. */
export function activeFreeze(env: Environment, at: Date): FreezeStatus | undefined {
  return env.freezes.find((f) => Date.parse(f.from) <= at.getTime() && at.getTime() < Date.parse(f.until))
}

export interface WindowState {
  name: string
  description: string
  open: boolean
  /** While open: when this occurrence closes. */
  closesAt?: string
  nextOpensAt?: string
  nextClosesAt?: string
  /** What opsbook assumed where the catalog left something open. */
  assumptions: string[]
}

export interface ComponentWindowStatus {
  component: string
  type: Component['type']
  /** Every window the component names, each with its own state. */
  windows: WindowState[]
  /** The first window's name and description (one-window catalogs). */
  window?: string
  description?: string
  /** Any of its windows open. */
  open: boolean
  /** The latest close among its open windows. */
  closesAt?: string
  /** The soonest next opening among its windows. */
  nextOpensAt?: string
}

/** The windows of a component, by name, that the environment defines. */
export function windowsOf(env: Environment, component: Component): Array<{name: string; window: MaintenanceWindow}> {
  return componentWindowNames(component)
    .filter((name) => env.windows[name])
    .map((name) => ({name, window: env.windows[name]!}))
}

/** State of one component's windows at `at`. */
export function componentWindowStatus(env: Environment, key: string, at: Date): ComponentWindowStatus {
  const component = env.components[key]!
  const windows: WindowState[] = windowsOf(env, component).map(({name, window}) => {
    const open = openOccurrence(window, at)
    const next = nextOpening(window, at)
    return {
      name,
      description: describeWindow(window),
      open: Boolean(open),
      ...(open ? {closesAt: open.closesAt.toISOString()} : {}),
      ...(next ? {nextOpensAt: next.opensAt.toISOString(), nextClosesAt: next.closesAt.toISOString()} : {}),
      assumptions: windowAssumptions(window),
    }
  })
  const openOnes = windows.filter((w) => w.open)
  const nexts = windows.map((w) => w.nextOpensAt).filter((v): v is string => Boolean(v)).sort()
  return {
    component: key,
    type: component.type,
    windows,
    ...(windows[0] ? {window: windows[0].name, description: windows[0].description} : {}),
    open: openOnes.length > 0,
    ...(openOnes.length ? {closesAt: openOnes.map((w) => w.closesAt!).sort().at(-1)} : {}),
    ...(nexts[0] ? {nextOpensAt: nexts[0]} : {}),
  }
}

/** Window status of every component of an environment at `at`. */
export function windowStatus(env: Environment, at: Date): ComponentWindowStatus[] {
  return Object.keys(env.components).map((key) => componentWindowStatus(env, key, at))
}

/**
 * Whether a run of `durationMs` starting at `at` fits inside one of the component's windows: the window is open
 * at `at` and still open at `at + durationMs`. Returns the occurrence it fits in.
 */
export function fittingOccurrence(env: Environment, key: string, at: Date, durationMs: number): WindowOccurrence | undefined {
  const component = env.components[key]
  if (!component) return undefined
  return windowsOf(env, component)
    .map(({window}) => openOccurrence(window, at))
    .filter((o): o is WindowOccurrence => Boolean(o))
    .sort((a, b) => b.closesAt.getTime() - a.closesAt.getTime())
    .find((o) => o.closesAt.getTime() >= at.getTime() + durationMs)
}

/**
 * The first instant at or after `at` when a run of `durationMs` changing `components` may start: every component's
 * window open with room for the run, and no change freeze. Undefined when there is none within ~13 months (or a
 * component has no window).
 */
export function nextStart(env: Environment, components: string[], at: Date, durationMs: number): Date | undefined {
  const horizon = new Date(at.getTime() + HORIZON_DAYS * DAY_MS)
  const candidates = new Set<number>([at.getTime()])
  for (const key of components) {
    const component = env.components[key]
    if (!component) continue
    const windows = windowsOf(env, component)
    if (windows.length === 0) return undefined
    for (const {window} of windows) for (const o of occurrences(window, at, horizon)) if (o.opensAt >= at) candidates.add(o.opensAt.getTime())
  }
  for (const freeze of env.freezes) if (Date.parse(freeze.until) > at.getTime()) candidates.add(Date.parse(freeze.until))
  for (const time of [...candidates].sort((a, b) => a - b)) {
    const when = new Date(time)
    if (activeFreeze(env, when)) continue
    if (components.every((key) => fittingOccurrence(env, key, when, durationMs))) return when
  }
  return undefined
}
