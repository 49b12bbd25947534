import {describe, expect, it} from 'vitest'
import type {MaintenanceWindow} from '../../src/catalog/schema.js'
import {activeFreeze, componentWindowStatus, nextOpening, occurrences, openOccurrence, weeklyUtcSlot, windowAssumptions} from '../../src/catalog/windows.js'
import {parseCatalog} from '../../src/catalog/loader.js'

/** A catalog with one environment, prod, whose remaining keys are `rest` (indented four spaces). */
const prodCatalog = (rest: string) =>
  parseCatalog('c.yaml', `version: 1\nenvironments:\n  prod:\n    cloud: azure\n    subscription: 11111111-2222-3333-4444-555555555555\n    resourceGroups: [rg]\n${rest}`)

const weekly: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'}

describe('maintenance windows', () => {
  it('is open inside a weekly window and closed just outside it', () => {
    expect(openOccurrence(weekly, new Date('2026-11-29T02:00:00Z'))).toBeDefined()
    expect(openOccurrence(weekly, new Date('2026-11-29T03:59:59Z'))).toBeDefined()
    expect(openOccurrence(weekly, new Date('2026-11-29T04:00:00Z'))).toBeUndefined()
    expect(openOccurrence(weekly, new Date('2026-11-28T02:30:00Z'))).toBeUndefined()
  })

  it('evaluates local time in the window\'s time zone, across daylight saving', () => {
    const berlin: MaintenanceWindow = {recurrence: 'weekly', day: 'Saturday', start: '22:00', end: '23:00', timeZone: 'Europe/Berlin'}
    // Winter (UTC+1): 22:00 Berlin is 21:00 UTC; summer (UTC+2): 20:00 UTC.
    expect(openOccurrence(berlin, new Date('2026-11-28T21:30:00Z'))).toBeDefined()
    expect(openOccurrence(berlin, new Date('2026-07-04T20:30:00Z'))).toBeDefined()
    expect(openOccurrence(berlin, new Date('2026-07-04T21:30:00Z'))).toBeUndefined()
  })

  it('opens a bi-weekly window only in weeks aligned with its anchor', () => {
    const app: MaintenanceWindow = {recurrence: 'biweekly', day: 'Saturday', start: '22:00', end: '23:00', timeZone: 'UTC', anchor: '2026-01-03'}
    expect(openOccurrence(app, new Date('2026-01-03T22:30:00Z'))).toBeDefined()
    expect(openOccurrence(app, new Date('2026-01-10T22:30:00Z'))).toBeUndefined()
    expect(openOccurrence(app, new Date('2026-01-17T22:30:00Z'))).toBeDefined()
    expect(nextOpening(app, new Date('2026-01-04T00:00:00Z'))?.opensAt.toISOString()).toBe('2026-01-17T22:00:00.000Z')
  })

  it('handles monthly windows (last Sunday) and windows crossing midnight', () => {
    const monthly: MaintenanceWindow = {recurrence: 'monthly', day: 'Sunday', week: 'last', start: '23:00', end: '01:00', timeZone: 'UTC'}
    expect(openOccurrence(monthly, new Date('2026-11-29T23:30:00Z'))).toBeDefined()
    expect(openOccurrence(monthly, new Date('2026-11-30T00:30:00Z'))).toBeDefined()
    expect(openOccurrence(monthly, new Date('2026-11-22T23:30:00Z'))).toBeUndefined()
  })

  it('finds the change freeze in force', () => {
    const loaded = prodCatalog(`    freezes: [{from: "2026-12-20T00:00:00Z", until: "2027-01-04T00:00:00Z", reason: year end}]\n    components: {}\n`)
    const env = loaded.catalog.environments.prod!
    expect(activeFreeze(env, new Date('2026-12-24T12:00:00Z'))?.reason).toBe('year end')
    expect(activeFreeze(env, new Date('2027-01-05T12:00:00Z'))).toBeUndefined()
  })
})

const occurrenceOn = (window: MaintenanceWindow, day: string) => {
  const found = occurrences(window, new Date(`${day}T00:00:00Z`), new Date(`${day}T23:59:59Z`))
  return found.map((o) => [o.opensAt.toISOString(), o.closesAt.toISOString()])
}

describe('windows across the 2026 daylight-saving changes (each occurrence in its own zone)', () => {
  const amsterdam: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'Europe/Amsterdam'}
  const newYork: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '01:00', end: '03:00', timeZone: 'America/New_York'}

  it('Europe, spring forward (2026-03-29): 02:00 does not exist, the window is 03:00–04:00 CEST and closes at 04:00, not 05:00', () => {
    expect(occurrenceOn(amsterdam, '2026-03-22')).toEqual([['2026-03-22T01:00:00.000Z', '2026-03-22T03:00:00.000Z']])
    expect(occurrenceOn(amsterdam, '2026-03-29')).toEqual([['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']])
    expect(openOccurrence(amsterdam, new Date('2026-03-29T02:30:00Z'))).toBeUndefined() // 04:30 CEST
    expect(occurrenceOn(amsterdam, '2026-04-05')).toEqual([['2026-04-05T00:00:00.000Z', '2026-04-05T02:00:00.000Z']])
  })

  it('Europe, fall back (2026-10-25): opens at the first 02:00 (CEST, 00:00Z) and closes at 04:00 CET (03:00Z), three hours', () => {
    expect(occurrenceOn(amsterdam, '2026-10-18')).toEqual([['2026-10-18T00:00:00.000Z', '2026-10-18T02:00:00.000Z']])
    expect(occurrenceOn(amsterdam, '2026-10-25')).toEqual([['2026-10-25T00:00:00.000Z', '2026-10-25T03:00:00.000Z']])
    // 02:30 CEST, during the first 02:00–03:00: the window is open (it was reported closed until the second 02:00)
    expect(openOccurrence(amsterdam, new Date('2026-10-25T00:30:00Z'))?.opensAt.toISOString()).toBe('2026-10-25T00:00:00.000Z')
    expect(openOccurrence(amsterdam, new Date('2026-10-25T02:30:00Z'))).toBeDefined() // 03:30 CET
    expect(openOccurrence(amsterdam, new Date('2026-10-25T03:00:00Z'))).toBeUndefined() // 04:00 CET
    expect(openOccurrence(amsterdam, new Date('2026-10-24T23:59:00Z'))).toBeUndefined() // 01:59 CEST
  })

  it('a window ending inside the repeated hour ends at its first occurrence too (RFC 5545 §3.3.5)', () => {
    const early: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '01:00', end: '02:30', timeZone: 'Europe/Amsterdam'}
    // 01:00 CEST (23:00Z Saturday) → the first 02:30, CEST (00:30Z)
    expect(occurrenceOn(early, '2026-10-24')).toEqual([['2026-10-24T23:00:00.000Z', '2026-10-25T00:30:00.000Z']])
  })

  it('a window crossing midnight into the US repeated hour closes at its first occurrence (01:30 EDT), not an hour later', () => {
    const overnight: MaintenanceWindow = {recurrence: 'weekly', day: 'Saturday', start: '23:00', end: '01:30', timeZone: 'America/New_York'}
    // Saturday 23:00 EDT (03:00Z) → Sunday's first 01:30, still EDT (05:30Z): 2 h 30 m, as on any other Saturday
    expect(occurrenceOn(overnight, '2026-11-01')).toEqual([['2026-11-01T03:00:00.000Z', '2026-11-01T05:30:00.000Z']])
    expect(openOccurrence(overnight, new Date('2026-11-01T06:00:00Z'))).toBeUndefined() // the second 01:00, EST
    // spring forward: Saturday 23:00 EST (04:00Z) → Sunday 01:30 EST (06:30Z), before the gap
    expect(occurrenceOn(overnight, '2026-03-08')).toEqual([['2026-03-08T04:00:00.000Z', '2026-03-08T06:30:00.000Z']])
  })

  it('a zone that changes at midnight (America/Santiago): a nonexistent 00:00 is read before the gap, a repeated 23:30 is the first', () => {
    // 2026-09-06 00:00 -04 → 01:00 -03: a window 00:00–02:00 opens at 04:00Z (01:00 -03) and lasts 1 h
    const spring: MaintenanceWindow = {recurrence: 'weekly', day: 'Sunday', start: '00:00', end: '02:00', timeZone: 'America/Santiago'}
    expect(occurrenceOn(spring, '2026-09-06')).toEqual([['2026-09-06T04:00:00.000Z', '2026-09-06T05:00:00.000Z']])
    // 2026-04-05 00:00 -03 → 2026-04-04 23:00 -04: Saturday 23:00–23:30 happens twice; the window is the first, 30 min
    const fall: MaintenanceWindow = {recurrence: 'weekly', day: 'Saturday', start: '23:00', end: '23:30', timeZone: 'America/Santiago'}
    expect(occurrenceOn(fall, '2026-04-05')).toEqual([['2026-04-05T02:00:00.000Z', '2026-04-05T02:30:00.000Z']])
  })

  it('US, spring forward (2026-03-08) and fall back (2026-11-01)', () => {
    expect(occurrenceOn(newYork, '2026-03-01')).toEqual([['2026-03-01T06:00:00.000Z', '2026-03-01T08:00:00.000Z']])
    // 01:00 EST → 03:00 EDT: one hour long
    expect(occurrenceOn(newYork, '2026-03-08')).toEqual([['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z']])
    expect(occurrenceOn(newYork, '2026-03-15')).toEqual([['2026-03-15T05:00:00.000Z', '2026-03-15T07:00:00.000Z']])
    // 01:00 is repeated on 2026-11-01: the first, 01:00 EDT (05:00Z); the window ends at 03:00 EST (08:00Z), 3 h
    expect(occurrenceOn(newYork, '2026-11-01')).toEqual([['2026-11-01T05:00:00.000Z', '2026-11-01T08:00:00.000Z']])
    expect(occurrenceOn(newYork, '2026-11-08')).toEqual([['2026-11-08T06:00:00.000Z', '2026-11-08T08:00:00.000Z']])
  })

  it('a window crossing midnight ends on the next local day, in that day\'s offset', () => {
    const late: MaintenanceWindow = {recurrence: 'weekly', day: 'Saturday', start: '23:00', end: '03:00', timeZone: 'Europe/Berlin'}
    // Sat 2026-03-28 23:00 CET (22:00Z) → Sun 03:00 CEST (01:00Z): three hours of wall clock, three hours elapsed
    expect(occurrenceOn(late, '2026-03-28')).toEqual([['2026-03-28T22:00:00.000Z', '2026-03-29T01:00:00.000Z']])
  })

  it('the UTC slot Azure takes is computed per occurrence and says until when it holds', () => {
    const before = weeklyUtcSlot(amsterdam, new Date('2026-03-23T12:00:00Z'))
    expect(before).toMatchObject({dayName: 'Sunday', startHour: 1, startMinute: 0})
    expect(before.validUntil?.toISOString()).toBe('2026-04-05T00:00:00.000Z')
    expect(weeklyUtcSlot(amsterdam, new Date('2026-07-01T12:00:00Z'))).toMatchObject({dayName: 'Sunday', startHour: 0})
    expect(weeklyUtcSlot(amsterdam, new Date('2026-11-01T12:00:00Z'))).toMatchObject({dayName: 'Sunday', startHour: 1})
    // the PostgreSQL/Redis slot for the DST Sundays themselves: the fall-back one starts at the first 02:00 (00:00Z)
    // and lasts 3 h; the spring-forward one starts at 03:00 CEST (01:00Z) and lasts 1 h
    const fallBack = weeklyUtcSlot(amsterdam, new Date('2026-10-20T12:00:00Z'))
    expect(fallBack).toMatchObject({dayName: 'Sunday', startHour: 0, startMinute: 0, durationMinutes: 180})
    expect(fallBack.validUntil?.toISOString()).toBe('2026-11-01T01:00:00.000Z')
    expect(weeklyUtcSlot(amsterdam, new Date('2026-03-25T12:00:00Z'))).toMatchObject({dayName: 'Sunday', startHour: 1, durationMinutes: 60})
  })
})

describe('bi-weekly, monthly and one-off windows', () => {
  it('bi-weekly windows open every other week from the anchor, across DST', () => {
    const app: MaintenanceWindow = {recurrence: 'biweekly', day: 'Wednesday', start: '06:00', end: '07:00', timeZone: 'America/New_York', anchor: '2026-01-07'}
    const opens = occurrences(app, new Date('2026-02-26T00:00:00Z'), new Date('2026-04-01T00:00:00Z')).map((o) => o.opensAt.toISOString())
    // 06:00 EST is 11:00Z; after the US change on 2026-03-08, 06:00 EDT is 10:00Z
    expect(opens).toEqual(['2026-03-04T11:00:00.000Z', '2026-03-18T10:00:00.000Z'])
    expect(nextOpening(app, new Date('2026-03-05T00:00:00Z'))?.opensAt.toISOString()).toBe('2026-03-18T10:00:00.000Z')
  })

  it('monthly: n-th and last weekday; without a week the 1st is assumed and said', () => {
    const second: MaintenanceWindow = {recurrence: 'monthly', week: 2, day: 'Tuesday', start: '22:00', end: '23:00', timeZone: 'UTC'}
    const last: MaintenanceWindow = {recurrence: 'monthly', week: 'last', day: 'Friday', start: '22:00', end: '23:00', timeZone: 'UTC'}
    const open: MaintenanceWindow = {recurrence: 'monthly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'}
    expect(nextOpening(second, new Date('2026-12-01T00:00:00Z'))?.opensAt.toISOString()).toBe('2026-12-08T22:00:00.000Z')
    expect(nextOpening(last, new Date('2026-12-01T00:00:00Z'))?.opensAt.toISOString()).toBe('2026-12-25T22:00:00.000Z')
    expect(nextOpening(open, new Date('2026-12-01T00:00:00Z'))?.opensAt.toISOString()).toBe('2026-12-06T02:00:00.000Z')
    expect(windowAssumptions(open)[0]).toContain('assumed the 1st Sunday')
    expect(windowAssumptions(second)).toEqual([])
    // a monthly window two months away is still found
    expect(nextOpening(second, new Date('2026-12-09T00:00:00Z'))?.opensAt.toISOString()).toBe('2027-01-12T22:00:00.000Z')
  })

  it('one-off windows open on their dates only, even months ahead', () => {
    const migration: MaintenanceWindow = {recurrence: 'once', dates: ['2027-02-13'], start: '20:00', end: '23:59', timeZone: 'Europe/Berlin'}
    expect(nextOpening(migration, new Date('2026-12-01T00:00:00Z'))?.opensAt.toISOString()).toBe('2027-02-13T19:00:00.000Z')
    expect(nextOpening(migration, new Date('2027-02-14T00:00:00Z'))).toBeUndefined()
  })
})

describe('catalog windows: lists per component, validation', () => {
  const catalog = (windows: string, component: string) => prodCatalog(`    windows:\n${windows}\n    components:\n      db: {type: postgres, name: pg, ${component}}\n`)

  it('a component with a weekly and a monthly window is open in either', () => {
    const loaded = catalog(
      `      weekly: {recurrence: weekly, day: Sunday, start: "02:00", end: "04:00"}
      patches: {recurrence: monthly, week: 2, day: Tuesday, start: "22:00", end: "23:00"}`,
      'windows: [weekly, patches]',
    )
    const env = loaded.catalog.environments.prod!
    const tuesday = componentWindowStatus(env, 'db', new Date('2026-12-08T22:30:00Z'))
    expect(tuesday).toMatchObject({open: true, closesAt: '2026-12-08T23:00:00.000Z'})
    expect(tuesday.windows.map((w) => [w.name, w.open])).toEqual([
      ['weekly', false],
      ['patches', true],
    ])
    expect(componentWindowStatus(env, 'db', new Date('2026-12-09T12:00:00Z')).nextOpensAt).toBe('2026-12-13T02:00:00.000Z')
  })

  it('an unknown window name in the list and a once window without dates are positioned errors', () => {
    let error: any
    try {
      catalog('      w: {recurrence: once, start: "02:00", end: "04:00"}', 'windows: [w, nope]')
    } catch (e) {
      error = e
    }
    const messages = error.problems.map((p: any) => `${p.location?.line}:${p.location?.column} ${p.message}`)
    expect(messages.join('\n')).toMatch(/8:\d+ .*needs dates/)
  })
})
