/**
 * Maintenance windows and change freezes: is a component's window open at an instant, when does it next open,
 * and is the environment frozen. Used by the production guard of disruptive runbooks and `opsbook window status`.
 */
import {DateTime} from 'luxon'
import type {Component, Environment, MaintenanceWindow, Weekday} from './schema.js'

const WEEKDAY_NUMBER: Record<Weekday, number> = {Monday: 1, Tuesday: 2, Wednesday: 3, Thursday: 4, Friday: 5, Saturday: 6, Sunday: 7}

export interface WindowOccurrence {
  opensAt: Date
  closesAt: Date
}

/** Every opening of `window` that overlaps [from, to). */
export function occurrences(window: MaintenanceWindow, from: Date, to: Date): WindowOccurrence[] {
  const zone = window.timeZone
  const [startHour, startMinute] = window.start.split(':').map(Number) as [number, number]
  const [endHour, endMinute] = window.end.split(':').map(Number) as [number, number]
  let lengthMinutes = endHour * 60 + endMinute - (startHour * 60 + startMinute)
  if (lengthMinutes <= 0) lengthMinutes += 24 * 60
  const result: WindowOccurrence[] = []
  // Start a day early so a window that opened yesterday and is still open is found.
  let day = DateTime.fromJSDate(from, {zone}).startOf('day').minus({days: 1})
  const last = DateTime.fromJSDate(to, {zone}).endOf('day')
  while (day <= last) {
    if (day.weekday === WEEKDAY_NUMBER[window.day] && opensOn(window, day)) {
      const opens = day.set({hour: startHour, minute: startMinute})
      const closes = opens.plus({minutes: lengthMinutes})
      if (closes.toMillis() > from.getTime() && opens.toMillis() < to.getTime())
        result.push({opensAt: opens.toJSDate(), closesAt: closes.toJSDate()})
    }
    day = day.plus({days: 1})
  }
  return result
}

function opensOn(window: MaintenanceWindow, day: DateTime): boolean {
  if (window.recurrence === 'weekly') return true
  if (window.recurrence === 'biweekly') {
    const anchor = DateTime.fromISO(window.anchor!, {zone: window.timeZone}).startOf('week')
    const weeks = Math.round(day.startOf('week').diff(anchor, 'weeks').weeks)
    return weeks % 2 === 0
  }
  // monthly: the n-th (or last) such weekday of the month
  const occurrence = Math.ceil(day.day / 7)
  if (window.week === 'last') return day.plus({days: 7}).month !== day.month
  return occurrence === window.week
}

/** The occurrence containing `at`, if the window is open then. */
export function openOccurrence(window: MaintenanceWindow, at: Date): WindowOccurrence | undefined {
  return occurrences(window, at, new Date(at.getTime() + 1)).find((o) => o.opensAt <= at && at < o.closesAt)
}

/** The next opening strictly after `at` (searches ~10 weeks ahead, enough for monthly windows). */
export function nextOpening(window: MaintenanceWindow, at: Date): WindowOccurrence | undefined {
  const horizon = new Date(at.getTime() + 70 * 24 * 3600 * 1000)
  return occurrences(window, at, horizon).find((o) => o.opensAt > at)
}

/** Human text such as "weekly Sunday 02:00–04:00 UTC". */
export function describeWindow(window: MaintenanceWindow): string {
  const which = window.recurrence === 'monthly' ? `monthly (${window.week === 'last' ? 'last' : ordinal(window.week as number)} ${window.day})` : `${window.recurrence} ${window.day}`
  return `${which} ${window.start}–${window.end} ${window.timeZone}`
}

function ordinal(n: number): string {
  return ['', '1st', '2nd', '3rd', '4th'][n] ?? `${n}th`
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

export interface ComponentWindowStatus {
  component: string
  type: Component['type']
  window?: string
  description?: string
  open: boolean
  closesAt?: string
  nextOpensAt?: string
}

/** Window status of every component of an environment at `at`. */
export function windowStatus(env: Environment, at: Date): ComponentWindowStatus[] {
  return Object.entries(env.components).map(([key, component]) => {
    const window = component.window ? env.windows[component.window] : undefined
    if (!window) return {component: key, type: component.type, open: false}
    const open = openOccurrence(window, at)
    const next = nextOpening(window, at)
    return {
      component: key,
      type: component.type,
      window: component.window,
      description: describeWindow(window),
      open: Boolean(open),
      closesAt: open?.closesAt.toISOString(),
      nextOpensAt: next?.opensAt.toISOString(),
    }
  })
}
