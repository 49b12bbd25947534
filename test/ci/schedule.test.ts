/**
 * The generated cron lines, fired for a whole year by cron-parser (the CI scheduler's reading of them) and filtered by
 * the gate, must start exactly one drill per quarter, inside an opening of the window — across daylight-saving
 * changes, UTC day shifts and bi-weekly/monthly windows.
 */
import {CronExpressionParser} from 'cron-parser'
import {describe, expect, it} from 'vitest'
import {environmentSchema, type MaintenanceWindow} from '../../src/catalog/schema.js'
import {openOccurrence} from '../../src/catalog/windows.js'
import {decideGate, drillGroups, groupCronLines} from '../../src/ci/groups.js'
import {cronProblem, windowCronLines, zoneOffsets} from '../../src/ci/schedule.js'

function environmentWith(window: Record<string, unknown>, production = true) {
  return environmentSchema.parse({
    cloud: 'azure',
    subscription: '00000000-0000-0000-0000-000000000001',
    production,
    resourceGroups: ['rg'],
    windows: {w: window},
    components: {db: {type: 'postgres', name: 'pg-db', window: 'w'}},
  })
}

/** Every firing of every line of the group in [from, to), and which the gate lets through. */
function gatedFirings(window: Record<string, unknown>, from: string, to: string, cadence: 'quarterly' | 'monthly' = 'quarterly') {
  const env = environmentWith(window)
  const [group] = drillGroups(env)
  const firings: Array<{at: Date; cron: string; open: boolean}> = []
  for (const line of groupCronLines(group!, cadence)) {
    const it = CronExpressionParser.parse(line.cron, {tz: 'UTC', currentDate: new Date(from), endDate: new Date(to)})
    while (it.hasNext()) {
      const at = it.next().toDate()
      firings.push({at, cron: line.cron, open: decideGate({environmentName: 'prod', env, components: ['db'], at, schedule: cadence, fired: line.cron}).open})
    }
  }
  return {env, firings: firings.sort((a, b) => a.at.getTime() - b.at.getTime())}
}

const WINDOWS: Record<string, Record<string, unknown>> = {
  'weekly UTC': {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'},
  'weekly Europe/Amsterdam (DST, two-hour window: both seasons\' lines land inside it)': {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'Europe/Amsterdam'},
  'bi-weekly Europe/Berlin evening': {recurrence: 'biweekly', day: 'Saturday', start: '22:00', end: '23:00', timeZone: 'Europe/Berlin', anchor: '2026-01-03'},
  'monthly 2nd Tuesday America/New_York': {recurrence: 'monthly', week: 2, day: 'Tuesday', start: '23:30', end: '01:30', timeZone: 'America/New_York'},
  'monthly last Sunday Europe/London': {recurrence: 'monthly', week: 'last', day: 'Sunday', start: '01:00', end: '03:00', timeZone: 'Europe/London'},
  'weekly Monday 02:00 Asia/Tokyo (the previous UTC day)': {recurrence: 'weekly', day: 'Monday', start: '02:00', end: '03:00', timeZone: 'Asia/Tokyo'},
  'weekly Saturday 11:00 Pacific/Auckland (southern DST)': {recurrence: 'weekly', day: 'Saturday', start: '11:00', end: '12:00', timeZone: 'Pacific/Auckland'},
}

describe('window-aligned cron lines', () => {
  for (const [name, window] of Object.entries(WINDOWS)) {
    it(`${name}: exactly one gated firing per quarter, inside an opening of the window`, () => {
      const {env, firings} = gatedFirings(window, '2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z')
      const open = firings.filter((f) => f.open)
      // Count by the quarter in the window's own zone: a firing late on 31 December UTC can open a window on 1 January.
      const zone = (window.timeZone as string) ?? 'UTC'
      const quarterOf = (at: Date) => {
        const [year, month] = new Intl.DateTimeFormat('en-CA', {timeZone: zone, year: 'numeric', month: 'numeric'}).formatToParts(at).filter((p) => p.type !== 'literal').map((p) => Number(p.value)) as [number, number]
        return `${year}Q${Math.floor((month - 1) / 3) + 1}`
      }
      const perQuarter = new Map<string, number>()
      for (const f of open) perQuarter.set(quarterOf(f.at), (perQuarter.get(quarterOf(f.at)) ?? 0) + 1)
      for (const quarter of ['2026Q1', '2026Q2', '2026Q3', '2026Q4', '2027Q1', '2027Q2', '2027Q3', '2027Q4']) expect(perQuarter.get(quarter), quarter).toBe(1)
      for (const [quarter, count] of perQuarter) expect(count, quarter).toBe(1)
      for (const f of open) expect(openOccurrence(env.windows.w as MaintenanceWindow, f.at), `${f.at.toISOString()} (${f.cron})`).toBeDefined()
      // Every gated firing is in the first month of a quarter in the window's own zone.
      for (const f of open) {
        const month = Number(new Intl.DateTimeFormat('en', {timeZone: (window.timeZone as string) ?? 'UTC', month: 'numeric'}).format(f.at))
        expect([1, 4, 7, 10]).toContain(month)
      }
    })
  }

  it('gives one line per UTC offset where daylight-saving time applies, and says so', () => {
    expect(zoneOffsets('UTC')).toEqual([0])
    expect(zoneOffsets('Europe/Amsterdam')).toEqual([60, 120])
    const lines = windowCronLines(WINDOWS['weekly Europe/Amsterdam (DST, two-hour window: both seasons\' lines land inside it)'] as MaintenanceWindow, 'quarterly')
    expect(lines.map((l) => l.cron)).toEqual(['10 1 1-7 1,4,7,10 *', '10 0 1-7 1,4,7,10 *'])
    expect(lines[0]!.note).toMatch(/UTC\+1.*daylight-saving offset/)
  })

  it('monthly cadence: one gated drill per month', () => {
    const {firings} = gatedFirings(WINDOWS['weekly UTC']!, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 'monthly')
    expect(firings.filter((f) => f.open)).toHaveLength(12)
  })

  it('a line of another group, or a closed window, keeps the gate shut and says why', () => {
    const env = environmentWith(WINDOWS['weekly UTC']!)
    const closed = decideGate({environmentName: 'prod', env, components: ['db'], at: new Date('2026-01-05T02:30:00Z'), schedule: 'quarterly'})
    expect(closed.open).toBe(false)
    expect(closed.reasons.join()).toMatch(/db: window closed; next opens 2026-01-11T02:00:00.000Z/)
    const other = decideGate({environmentName: 'prod', env, components: ['db'], at: new Date('2026-01-04T02:30:00Z'), schedule: 'quarterly', fired: '0 3 1 1,4,7,10 *'})
    expect(other.open).toBe(false)
    expect(other.reasons.join()).toMatch(/belongs to another group/)
  })

  it('a window with less left than the drill is expected to take keeps the gate shut and says how much is left', () => {
    const env = environmentWith(WINDOWS['weekly UTC']!)
    const late = new Date('2026-01-04T03:30:00Z')
    const tooLong = decideGate({environmentName: 'prod', env, components: ['db'], at: late, schedule: 'quarterly', expected: {ms: 3_600_000, description: 'PT1H (the runbook\'s expectedDuration)'}})
    expect(tooLong.open).toBe(false)
    expect(tooLong.reasons.join()).toMatch(/db: PT30M left of its window \(closes 2026-01-04T04:00:00.000Z\), the drill is expected to take PT1H/)
    expect(decideGate({environmentName: 'prod', env, components: ['db'], at: late, schedule: 'quarterly', expected: {ms: 20 * 60_000, description: 'PT20M'}}).open).toBe(true)
    // Unknown duration (no expectedDuration, no past runs): only the start is checked.
    expect(decideGate({environmentName: 'prod', env, components: ['db'], at: late, schedule: 'quarterly', expected: {description: 'unknown'}}).open).toBe(true)
  })

  it('a production component without a window is never open; outside production it is', () => {
    const base = {cloud: 'azure', subscription: '00000000-0000-0000-0000-000000000001', resourceGroups: ['rg'], components: {db: {type: 'postgres', name: 'pg'}}}
    const at = new Date('2026-01-01T03:00:00Z')
    expect(decideGate({environmentName: 'p', env: environmentSchema.parse({...base, production: true}), components: ['db'], at, schedule: 'quarterly'}).open).toBe(false)
    expect(decideGate({environmentName: 'd', env: environmentSchema.parse({...base, production: false}), components: ['db'], at, schedule: 'quarterly'}).open).toBe(true)
  })

  it('checks a user cron with cron-parser', async () => {
    expect(await cronProblem('0 3 * * 0')).toBeUndefined()
    expect(await cronProblem('0 3 * *')).toMatch(/five fields/)
    expect(await cronProblem('61 3 * * 0')).toMatch(/not a valid cron/)
  })
})
