/**
 * The catalog's maintenance windows are written in local time; PostgreSQL's custom window and Redis patch
 * schedules are in UTC. This turns a window's start into the UTC weekday and time for the week of `now`
 * (so daylight saving is taken as it is this week).
 */
import {DateTime} from 'luxon'
import type {MaintenanceWindow, Weekday} from '../../catalog/schema.js'

export const WEEKDAYS: Weekday[] = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

export interface UtcStart {
  /** 0 = Sunday, as PostgreSQL's maintenanceWindow.dayOfWeek. */
  dayOfWeek: number
  day: Weekday
  hour: number
  minute: number
  /** Window length in minutes. */
  durationMinutes: number
}

/** The UTC weekday, hour and minute a window starts at, in the week of `now`. */
export function windowStartUtc(window: MaintenanceWindow, now: Date): UtcStart {
  const [startHour, startMinute] = window.start.split(':').map(Number) as [number, number]
  const [endHour, endMinute] = window.end.split(':').map(Number) as [number, number]
  let durationMinutes = endHour * 60 + endMinute - (startHour * 60 + startMinute)
  if (durationMinutes <= 0) durationMinutes += 24 * 60
  const luxonWeekday = WEEKDAYS.indexOf(window.day) === 0 ? 7 : WEEKDAYS.indexOf(window.day)
  const local = DateTime.fromJSDate(now, {zone: window.timeZone})
    .set({weekday: luxonWeekday as 1 | 2 | 3 | 4 | 5 | 6 | 7, hour: startHour, minute: startMinute, second: 0, millisecond: 0})
  const utc = local.toUTC()
  const dayOfWeek = utc.weekday % 7
  return {dayOfWeek, day: WEEKDAYS[dayOfWeek]!, hour: utc.hour, minute: utc.minute, durationMinutes}
}
