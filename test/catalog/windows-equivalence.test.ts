/**
 * `occurrences` computes the days a window opens on directly and remembers zone offsets; it must give exactly what the
 * plain day-by-day walk gave (kept below as the oracle, as it was in src/catalog/windows.ts): the same openings and
 * closings, to the millisecond, for weekly, bi-weekly, monthly and one-off windows, in zones with and without
 * daylight-saving time — a 30-minute change (Australia/Lord_Howe), quarter-hour offsets (Pacific/Chatham,
 * Asia/Kathmandu), a change at midnight (America/Santiago) — around every 2026 change, in ranges from one millisecond
 * (what `openOccurrence` asks) to twelve days. 200 cases, about half a second of CPU.
 */
import {DateTime} from 'luxon'
import {describe, expect, it} from 'vitest'
import type {MaintenanceWindow, Weekday} from '../../src/catalog/schema.js'
import {occurrences, weeklyUtcSlot} from '../../src/catalog/windows.js'

// ---- the oracle: the day-by-day walk ------------------------------------------------------------------------------
const WEEKDAY_NUMBER: Record<Weekday, number> = {Monday: 1, Tuesday: 2, Wednesday: 3, Thursday: 4, Friday: 5, Saturday: 6, Sunday: 7}
const DAY_MS = 24 * 3600 * 1000

function walkedOccurrences(window: MaintenanceWindow, from: Date, to: Date): Array<{opensAt: Date; closesAt: Date}> {
  const zone = window.timeZone
  const [startHour, startMinute] = window.start.split(':').map(Number) as [number, number]
  const [endHour, endMinute] = window.end.split(':').map(Number) as [number, number]
  const crossesMidnight = endHour * 60 + endMinute <= startHour * 60 + startMinute
  const result: Array<{opensAt: Date; closesAt: Date}> = []
  let day = DateTime.fromJSDate(from, {zone}).startOf('day').minus({days: 1})
  const last = DateTime.fromJSDate(to, {zone}).endOf('day')
  while (day <= last) {
    if (walkedOpensOn(window, day)) {
      const opens = walkedLocalInstant(day, startHour, startMinute, zone)
      const endDay = crossesMidnight ? day.plus({days: 1}) : day
      const closes = walkedLocalInstant(endDay, endHour, endMinute, zone)
      if (closes > opens && closes.toMillis() > from.getTime() && opens.toMillis() < to.getTime()) result.push({opensAt: opens.toJSDate(), closesAt: closes.toJSDate()})
    }
    day = day.plus({days: 1})
  }
  return result
}

function walkedLocalInstant(day: DateTime, hour: number, minute: number, zone: string): DateTime {
  const wall = Date.UTC(day.year, day.month - 1, day.day, hour, minute)
  const offsetAt = (ms: number) => DateTime.fromMillis(ms, {zone}).offset
  const before = offsetAt(wall - DAY_MS)
  const after = offsetAt(wall + DAY_MS)
  const candidates = [...new Set([before, after])].map((offset) => wall - offset * 60_000).filter((ms) => offsetAt(ms) * 60_000 === wall - ms)
  const ms = candidates.length > 0 ? Math.min(...candidates) : wall - before * 60_000
  return DateTime.fromMillis(ms, {zone})
}

function walkedOpensOn(window: MaintenanceWindow, day: DateTime): boolean {
  if (window.recurrence === 'once') return (window.dates ?? []).includes(day.toISODate()!)
  if (day.weekday !== WEEKDAY_NUMBER[window.day!]) return false
  if (window.recurrence === 'weekly') return true
  if (window.recurrence === 'biweekly') {
    const anchor = DateTime.fromISO(window.anchor!, {zone: window.timeZone}).startOf('week')
    const weeks = Math.round(day.startOf('week').diff(anchor, 'weeks').weeks)
    return weeks % 2 === 0
  }
  const week = window.week ?? 1
  if (week === 'last') return day.plus({days: 7}).month !== day.month
  return Math.ceil(day.day / 7) === week
}

// ---- generated windows and ranges ---------------------------------------------------------------------------------
/** A small seeded generator (mulberry32): the same cases every run, so a failure can be reproduced. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Each zone with instants near its 2026 offset changes (none for zones without daylight saving). */
const ZONES: Record<string, string[]> = {
  'Europe/Amsterdam': ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z'],
  'America/New_York': ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z'],
  'Australia/Lord_Howe': ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z'],
  'Asia/Kolkata': [],
  'Pacific/Chatham': ['2026-04-04T14:00:00Z', '2026-09-26T14:00:00Z'],
  'America/Santiago': ['2026-04-05T03:00:00Z', '2026-09-06T04:00:00Z'],
  'America/St_Johns': ['2026-03-08T05:30:00Z', '2026-11-01T04:30:00Z'],
  'Asia/Kathmandu': [],
  UTC: [],
}
const DAYS: Weekday[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
/** Local times where the changes happen (00:00 Santiago, 01:00/02:00 Europe and US, 02:00/02:45/03:45 Oceania). */
const TIMES = ['00:00', '00:30', '01:00', '01:30', '01:59', '02:00', '02:15', '02:30', '02:45', '03:00', '03:30', '03:45', '04:00', '22:00', '23:00', '23:30']

function generateCases(count: number, seed: number) {
  const next = random(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!
  const time = () => (next() < 0.85 ? pick(TIMES) : `${String(Math.floor(next() * 24)).padStart(2, '0')}:${String(Math.floor(next() * 60)).padStart(2, '0')}`)
  const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  const cases: Array<{window: MaintenanceWindow; from: Date; to: Date}> = []
  // Zones with changes three times as often as those without.
  const zones = Object.entries(ZONES).flatMap(([zone, changes]) => (changes.length > 0 ? [zone, zone, zone] : [zone]))
  while (cases.length < count) {
    const timeZone = pick(zones)
    const changes = ZONES[timeZone]!
    // Mostly a short range around one of the zone's changes, on a window that opens that local day (or the day before,
    // crossing midnight into it); otherwise a longer range anywhere in 2026 (bi-weekly parity, months' n-th weekdays).
    const onChange = changes.length > 0 && next() < 0.9
    const near = onChange ? Date.parse(pick(changes)) : Date.parse('2026-01-01T00:00:00Z') + next() * 365 * DAY_MS
    const from = Math.round(onChange ? near - (0.3 + next()) * DAY_MS : near)
    const length = onChange ? pick([1, 3 * 3600_000, 2 * DAY_MS, 2 * DAY_MS, 3 * DAY_MS]) : pick([DAY_MS, 3 * DAY_MS, 9 * DAY_MS, 12 * DAY_MS])
    const local = DateTime.fromMillis(near, {zone: timeZone}).minus({days: next() < 0.2 ? 1 : 0})
    const day = next() < 0.9 ? DAYS[local.weekday - 1]! : pick(DAYS)
    // Half the windows on a change day start up to three hours before the local time the clocks show after the change
    // and end up to two hours after it: across the gap or the repeated hour, or inside them.
    const hhmm = (m: number) => `${String(Math.floor((((m % 1440) + 1440) % 1440) / 60)).padStart(2, '0')}:${String((((m % 60) + 60) % 60)).padStart(2, '0')}`
    const changeMinute = DateTime.fromMillis(near, {zone: timeZone}).hour * 60 + DateTime.fromMillis(near, {zone: timeZone}).minute
    const around = onChange && next() < 0.5
    const start = around ? hhmm(changeMinute - 15 * Math.floor(next() * 13)) : time()
    let end = around ? hhmm(changeMinute + 15 * Math.floor(next() * 9)) : time()
    if (end === start) end = start === '04:00' ? '03:00' : '04:00'
    const recurrence = pick(['weekly', 'weekly', 'weekly', 'biweekly', 'monthly', 'monthly', 'once'] as const)
    const window: MaintenanceWindow = {recurrence, start, end, timeZone}
    if (recurrence !== 'once') window.day = day
    if (recurrence === 'biweekly') {
      const anchorMs = Date.parse('2025-06-01T00:00:00Z') + Math.floor(next() * 500) * DAY_MS
      // A date, a local date-time, or an instant in UTC (its local date may be the next or previous day).
      window.anchor = pick([isoDay(anchorMs), `${isoDay(anchorMs)}T23:30`, `${isoDay(anchorMs)}T23:30:00Z`, `${isoDay(anchorMs)}T00:30:00Z`])
    }
    if (recurrence === 'monthly') {
      // Mostly the week of the month of that local day (the 1st also as no week at all), else any.
      const ofDay = Math.ceil(local.day / 7)
      const isLast = local.plus({days: 7}).month !== local.month
      const week: MaintenanceWindow['week'] =
        next() < 0.3 ? pick([1, 2, 3, 4, 'last', undefined] as const) : isLast && (ofDay === 5 || next() < 0.5) ? 'last' : ofDay === 1 && next() < 0.5 ? undefined : (Math.min(ofDay, 4) as 1 | 2 | 3 | 4)
      if (week !== undefined) window.week = week
    }
    if (recurrence === 'once') {
      // Dates around the range, unsorted, one listed twice, and one that is no calendar date.
      const dates = [local.toISODate()!, ...Array.from({length: Math.floor(next() * 4)}, () => isoDay(from + (next() - 0.3) * 12 * DAY_MS))].sort(() => next() - 0.5)
      window.dates = [...dates, dates[0]!, ...(next() < 0.2 ? ['2026-02-30'] : [])]
    }
    cases.push({window, from: new Date(from), to: new Date(from + length)})
  }
  return cases
}

const iso = (list: Array<{opensAt: Date; closesAt: Date}>) => list.map((o) => `${o.opensAt.toISOString()}–${o.closesAt.toISOString()}`)
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))

describe('occurrences computed directly equal the day-by-day walk', () => {
  it('for generated windows, zones and ranges across the 2026 daylight-saving changes', () => {
    const cases = generateCases(200, 2026)
    const mismatches: string[] = []
    let compared = 0
    let shifted = 0
    for (const {window, from, to} of cases) {
      const walked = walkedOccurrences(window, from, to)
      const expected = iso(walked)
      const actual = iso(occurrences(window, from, to))
      if (JSON.stringify(actual) !== JSON.stringify(expected))
        mismatches.push(`${JSON.stringify(window)} [${from.toISOString()}, ${to.toISOString()}): got ${JSON.stringify(actual)}, the walk ${JSON.stringify(expected)}`)
      compared += expected.length
      // Occurrences a change made shorter or longer than the window's wall-clock length (the gap and the repeated hour).
      const nominal = (minutes(window.end) - minutes(window.start) + 1440) % 1440 || 1440
      for (const o of walked) if ((o.closesAt.getTime() - o.opensAt.getTime()) / 60_000 !== nominal) shifted++
    }
    expect(mismatches.slice(0, 5)).toEqual([])
    // The cases must say something: hundreds of occurrences, dozens of them made shorter or longer by a change.
    expect(compared).toBeGreaterThan(120)
    expect(shifted).toBeGreaterThan(30)
  })

  it('weeklyUtcSlot over the year of a 30-minute daylight-saving zone: each occurrence and the slot change it lasts until', () => {
    const lordHowe: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '01:45', end: '02:15', timeZone: 'Australia/Lord_Howe'}
    // 2026-10-04 02:00 +10:30 → 02:30 +11: 01:45 +10:30 is 15:15Z; 02:15 does not exist and is read at +10:30 (15:45Z,
    // 02:45 +11): 30 minutes. A week later 01:45 +11 is 14:45Z, another slot.
    const spring = weeklyUtcSlot(lordHowe, new Date('2026-10-01T00:00:00Z'))
    expect(iso([spring.occurrence])).toEqual(['2026-10-03T15:15:00.000Z–2026-10-03T15:45:00.000Z'])
    expect(iso([spring.occurrence])).toEqual(iso(walkedOccurrences(lordHowe, new Date('2026-10-03T00:00:00Z'), new Date('2026-10-04T00:00:00Z'))))
    expect(spring).toMatchObject({dayName: 'Saturday', startHour: 15, startMinute: 15, durationMinutes: 30})
    expect(spring.validUntil?.toISOString()).toBe('2026-10-10T14:45:00.000Z')
    // 2026-04-05 02:00 +11 → 01:30 +10:30: 01:45 is repeated, the first (+11) is 14:45Z; 02:15 is once, +10:30 (15:45Z)
    const autumn = weeklyUtcSlot(lordHowe, new Date('2026-04-01T00:00:00Z'))
    expect(iso([autumn.occurrence])).toEqual(['2026-04-04T14:45:00.000Z–2026-04-04T15:45:00.000Z'])
    expect(iso([autumn.occurrence])).toEqual(iso(walkedOccurrences(lordHowe, new Date('2026-04-04T00:00:00Z'), new Date('2026-04-05T00:00:00Z'))))
    expect(autumn.validUntil?.toISOString()).toBe('2026-04-11T15:15:00.000Z')
  })
})
