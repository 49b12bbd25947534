/**
 * The catalog's maintenance windows are written in local time; PostgreSQL's custom window and Redis patch
 * schedules are in UTC. This turns a window's start into the UTC weekday and time of its current or next occurrence.
 */
import {weeklyUtcSlot} from '../../catalog/windows.js'
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

/**
 * The UTC weekday, hour and minute a window starts at, for its occurrence open at `now` or else its next one
 * (catalog/windows.ts computes each occurrence in the window's own zone, daylight saving included).
 */
export function windowStartUtc(window: MaintenanceWindow, now: Date): UtcStart {
  const slot = weeklyUtcSlot(window, now)
  return {dayOfWeek: slot.dayOfWeek, day: slot.dayName, hour: slot.startHour, minute: slot.startMinute, durationMinutes: slot.durationMinutes}
}
