import {describe, expect, it} from 'vitest'
import type {MaintenanceWindow} from '../../src/catalog/schema.js'
import {activeFreeze, nextOpening, openOccurrence} from '../../src/catalog/windows.js'
import {parseCatalog} from '../../src/catalog/loader.js'

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
    const loaded = parseCatalog(
      'c.yaml',
      `version: 1
environments:
  prod:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    freezes: [{from: "2026-12-20T00:00:00Z", until: "2027-01-04T00:00:00Z", reason: year end}]
    components: {}
`,
    )
    const env = loaded.catalog.environments.prod!
    expect(activeFreeze(env, new Date('2026-12-24T12:00:00Z'))?.reason).toBe('year end')
    expect(activeFreeze(env, new Date('2027-01-05T12:00:00Z'))).toBeUndefined()
  })
})
