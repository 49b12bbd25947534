/**
 * Cron lines that start a CI job inside a maintenance window. CI schedulers (GitHub Actions, Azure Pipelines) read
 * cron in UTC and cannot say "the 1st Sunday" or "every other Saturday": cron ORs day-of-month and day-of-week when
 * both are given (GitHub: docs.github.com/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#schedule,
 * POSIX crontab). So each line fires daily, at the window's local start (plus a small lead), on the days of the month
 * that hold exactly one occurrence of the window (days 1–7 for a weekly window, 1–14 for a bi-weekly one, the n-th
 * week for a monthly one), and the generated job's first step (`opsbook ci gate`) lets the drill run only when the
 * window is really open. A zone with daylight-saving time gets one line per UTC offset; of the lines that land inside
 * one opening, the gate lets only the earliest start a drill.
 */
import {DateTime} from 'luxon'
import type {MaintenanceWindow} from '../catalog/schema.js'

export type Cadence = 'quarterly' | 'monthly'

export interface CronLine {
  cron: string
  /** Why this line exists, for a comment in the generated file. */
  note: string
  /** The UTC offset (minutes) of the window's zone this line assumes; undefined when not window-aligned. */
  offset?: number
}

const QUARTER_MONTHS = [1, 4, 7, 10]
const ALL_MONTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
/** A year without a leap day; February is widened to 29 below so leap years are covered too (the gate filters). */
const REFERENCE_YEAR = 2027

/** Minutes after the window opens at which the job is scheduled: CI schedulers start late under load. */
export function leadMinutes(window: MaintenanceWindow): number {
  return Math.min(10, Math.floor(windowLengthMinutes(window) / 4))
}

export function windowLengthMinutes(window: MaintenanceWindow): number {
  const [sh, sm] = window.start.split(':').map(Number) as [number, number]
  const [eh, em] = window.end.split(':').map(Number) as [number, number]
  const length = eh * 60 + em - (sh * 60 + sm)
  return length <= 0 ? length + 24 * 60 : length
}

/** The distinct UTC offsets (minutes) of a zone over a year: one for UTC, two where daylight-saving time applies. */
export function zoneOffsets(timeZone: string): number[] {
  // Remembered per zone (12 luxon DateTimes each): the gate asks for every group's cron lines at every firing.
  let offsets = offsetsByZone.get(timeZone)
  if (!offsets) {
    const found = new Set<number>()
    for (const month of ALL_MONTHS) found.add(DateTime.fromObject({year: REFERENCE_YEAR, month, day: 15, hour: 12}, {zone: timeZone}).offset)
    offsetsByZone.set(timeZone, (offsets = [...found].sort((a, b) => a - b)))
  }
  return [...offsets]
}

const offsetsByZone = new Map<string, number[]>()

/** Days of `month` (1-based, inclusive) that hold exactly one occurrence of the window's day. */
function occurrenceDays(window: MaintenanceWindow, month: number): [number, number] {
  const length = daysIn(month)
  if (window.recurrence === 'weekly') return [1, 7]
  if (window.recurrence === 'biweekly') return [1, 14]
  if (window.week === 'last') return [length - 6, length]
  const week = Number(window.week ?? 1)
  return [(week - 1) * 7 + 1, week * 7]
}

function daysIn(month: number): number {
  return month === 2 ? 29 : new Date(Date.UTC(REFERENCE_YEAR, month, 0)).getUTCDate()
}

/** Cron lines (UTC) for the window under a cadence; each comes with a note naming the offset it assumes. */
export function windowCronLines(window: MaintenanceWindow, cadence: Cadence): CronLine[] {
  const months = cadence === 'quarterly' ? QUARTER_MONTHS : ALL_MONTHS
  const [sh, sm] = window.start.split(':').map(Number) as [number, number]
  const localMinute = sh * 60 + sm + leadMinutes(window)
  const offsets = zoneOffsets(window.timeZone)
  const lines: CronLine[] = []
  for (const offset of offsets) {
    const utcTotal = localMinute - offset
    const dayShift = Math.floor(utcTotal / 1440)
    const utcMinute = ((utcTotal % 1440) + 1440) % 1440
    // Day ranges per month after the shift into UTC; a range that leaves its month continues in the next/previous one.
    const segments = new Map<string, number[]>()
    const add = (month: number, from: number, to: number) => {
      const key = from === to ? `${from}` : `${from}-${to}`
      segments.set(key, [...(segments.get(key) ?? []), month])
    }
    for (const month of months) {
      const [first, last] = occurrenceDays(window, month)
      const from = first + dayShift
      const to = last + dayShift
      const length = daysIn(month)
      if (from < 1) {
        const previous = month === 1 ? 12 : month - 1
        add(previous, daysIn(previous) + from, daysIn(previous))
        add(month, 1, to)
      } else if (to > length) {
        add(month, from, length)
        add(month === 12 ? 1 : month + 1, 1, to - length)
      } else add(month, from, to)
    }
    const zoneNote = offsets.length > 1 ? ` (UTC${formatOffset(offset)}, one line per daylight-saving offset)` : window.timeZone === 'UTC' ? '' : ` (UTC${formatOffset(offset)})`
    for (const [days, monthList] of segments) {
      const uniqueMonths = [...new Set(monthList)].sort((a, b) => a - b)
      const monthField = uniqueMonths.length === 12 ? '*' : uniqueMonths.join(',')
      lines.push({cron: `${utcMinute % 60} ${Math.floor(utcMinute / 60)} ${days} ${monthField} *`, note: `${window.start} ${window.timeZone}${zoneNote}`, offset})
    }
  }
  return lines
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`
}

/** Default for components without a window (non-production): 03:00 UTC on the first day of each period. */
export function unwindowedCronLines(cadence: Cadence): CronLine[] {
  return [{cron: `0 3 1 ${cadence === 'quarterly' ? QUARTER_MONTHS.join(',') : '*'} *`, note: 'no maintenance window: first day of the period, 03:00 UTC'}]
}

/** A user-given cron (`--schedule '<cron>'`): five fields, checked by cron-parser. Undefined when valid. */
export async function cronProblem(expression: string): Promise<string | undefined> {
  if (expression.trim().split(/\s+/).length !== 5) return `"${expression}" is not a cron expression of five fields (minute hour day-of-month month day-of-week)`
  const {CronExpressionParser} = await import('cron-parser')
  try {
    CronExpressionParser.parse(expression, {tz: 'UTC'})
    return undefined
  } catch (error) {
    return `"${expression}" is not a valid cron expression: ${(error as Error).message}`
  }
}
