/**
 * A Managed Redis component's catalog windows as the cluster's scheduled maintenance windows: weekly, UTC, on the
 * hour, and Azure's rules (https://learn.microsoft.com/azure/redis/scheduled-maintenance) said precisely when the
 * windows fall short; opsbook never widens or adds a window.
 */
import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {amrMaintenancePlan, amrMaintenanceRuleViolation} from '../../src/catalog/managed-redis-maintenance.js'
import {catalogNotes} from '../../src/catalog/notes.js'
import {catalogCapabilityWarnings} from '../../src/azure/capabilities.js'

/** A catalog whose prod environment has `windows` and one Managed Redis component naming `names`. */
function catalog(windows: string, names: string) {
  const loaded = parseCatalog(
    'c.yaml',
    `version: 1
environments:
  prod:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    windows:
${windows}
    components:
      carts: { type: managedredis, name: amr-carts, windows: [${names}] }
`,
  )
  return loaded.catalog
}
const plan = (windows: string, names: string, at = new Date('2026-12-03T12:00:00Z')) => {
  const env = catalog(windows, names).environments.prod!
  return amrMaintenancePlan(env, env.components.carts!, at)
}

describe('Managed Redis maintenance windows from the catalog', () => {
  it('maps each weekly window to a Weekly window in UTC, from the window\'s time zone at the occurrence in question', () => {
    const windows = `      sat: { recurrence: weekly, day: Saturday, start: "01:00", end: "10:00", timeZone: Europe/Berlin }
      sun: { recurrence: weekly, day: Sunday, start: "00:00", end: "09:00", timeZone: UTC }`
    // December: Berlin is UTC+1, so 01:00 Saturday there is 00:00 UTC; in July (UTC+2) it is Friday 23:00 UTC.
    expect(plan(windows, 'sat, sun')).toEqual({
      windows: [
        {type: 'Weekly', duration: 'PT9H', startHourUtc: 0, schedule: {dayOfWeek: 'Saturday'}},
        {type: 'Weekly', duration: 'PT9H', startHourUtc: 0, schedule: {dayOfWeek: 'Sunday'}},
      ],
      notes: [],
    })
    expect(plan(windows, 'sat, sun', new Date('2026-07-01T12:00:00Z')).windows[0]).toEqual({type: 'Weekly', duration: 'PT9H', startHourUtc: 23, schedule: {dayOfWeek: 'Friday'}})
  })

  it('starts a window at the next full hour (crossing midnight into the next day), keeping it inside the catalog window', () => {
    const windows = `      sat: { recurrence: weekly, day: Saturday, start: "23:30", end: "09:30", timeZone: UTC }
      sun: { recurrence: weekly, day: Sunday, start: "12:00", end: "22:00", timeZone: UTC }`
    const result = plan(windows, 'sat, sun')
    expect(result.windows[0]).toEqual({type: 'Weekly', duration: 'PT9H30M', startHourUtc: 0, schedule: {dayOfWeek: 'Sunday'}})
    expect(result.notes).toEqual(['window sat: Azure starts maintenance windows on the hour, so 23:30 UTC becomes 00:00 UTC (PT9H30M)'])
    expect(result.problem).toBeUndefined()
  })

  it('leaves out windows that are not weekly and says so; with too little left, says which rule fails', () => {
    const windows = `      sat: { recurrence: weekly, day: Saturday, start: "00:00", end: "10:00", timeZone: UTC }
      monthly: { recurrence: monthly, day: Sunday, week: 1, start: "00:00", end: "12:00", timeZone: UTC }`
    const result = plan(windows, 'sat, monthly')
    expect(result.windows).toEqual([])
    expect(result.notes).toEqual(['window monthly is monthly: Azure Managed Redis takes weekly windows only, so it is left out'])
    expect(result.problem).toMatch(/^Azure Managed Redis cannot take its windows \(Saturday 00:00 UTC for PT10H\): at least two maintenance windows a week are required \(1 given\) \(https:\/\/learn\.microsoft\.com\/azure\/redis\/scheduled-maintenance\)/)
  })

  it('checks every rule: 4 hours each, two a week, 18 hours in all', () => {
    expect(amrMaintenanceRuleViolation([9, 9].map((h) => h * 3_600_000))).toBeUndefined()
    expect(amrMaintenanceRuleViolation([3, 20].map((h) => h * 3_600_000))).toMatch(/at least 4 hours \(PT3H is shorter\)/)
    expect(amrMaintenanceRuleViolation([20].map((h) => h * 3_600_000))).toMatch(/at least two maintenance windows/)
    expect(amrMaintenanceRuleViolation([8, 9].map((h) => h * 3_600_000))).toMatch(/at least 18 hours a week \(PT17H given\)/)
  })

  it('catalog validate: a warning at the component\'s windows when Azure cannot take them, notes for what opsbook adjusted', () => {
    const short = catalog(`      nightly: { recurrence: weekly, day: Sunday, start: "04:00", end: "05:00", timeZone: UTC }`, 'nightly')
    expect(catalogCapabilityWarnings(short)).toEqual([
      {
        environment: 'prod',
        component: 'carts',
        path: 'environments.prod.components.carts.windows',
        message: expect.stringMatching(/^its maintenance windows cannot be set on the cluster: Azure Managed Redis cannot take its windows \(Sunday 04:00 UTC for PT1H\): each maintenance window must last at least 4 hours/),
      },
    ])
    const adjusted = catalog(
      `      sat: { recurrence: weekly, day: Saturday, start: "00:30", end: "09:30", timeZone: UTC }
      sun: { recurrence: weekly, day: Sunday, start: "00:00", end: "10:00", timeZone: UTC }`,
      'sat, sun',
    )
    expect(catalogCapabilityWarnings(adjusted)).toEqual([])
    expect(catalogNotes(adjusted)).toEqual({prod: ['carts: window sat: Azure starts maintenance windows on the hour, so 00:30 UTC becomes 01:00 UTC (PT8H30M)']})
  })
})
