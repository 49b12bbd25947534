import {describe, expect, it} from 'vitest'
import {ACTIVITY_LIMIT, ACTIVITY_RETENTION_DAYS, createActivityLog, JsonStateStore} from '../../src/emulator/state.js'

const DAY = 86_400_000

describe('emulator activity log', () => {
  it("keeps events for Azure's 90 days and drops them after, whether or not more are written", () => {
    let now = Date.parse('2026-01-01T00:00:00Z')
    const log = createActivityLog(new JsonStateStore(), () => new Date(now))
    log.append({resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', kind: 'webapp.swap'})
    now += 10 * DAY
    log.append({resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', kind: 'webapp.restart'})
    now += (ACTIVITY_RETENTION_DAYS - 10) * DAY - 1
    expect(log.list().map((e) => e.kind)).toEqual(['webapp.swap', 'webapp.restart'])
    // Past 90 days the swap is gone (read without a new event), the restart 10 days later still there.
    now += 2
    expect(log.list().map((e) => e.kind)).toEqual(['webapp.restart'])
    now += 10 * DAY
    expect(log.list()).toEqual([])
  })

  it('keeps at most the newest events of the limit within the 90 days', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    const log = createActivityLog(new JsonStateStore(), () => new Date(now))
    for (let n = 1; n <= ACTIVITY_LIMIT + 250; n++) log.append({resourceId: `/subscriptions/s/resourceGroups/rg-${n}`, kind: 'tags.update'})
    const kept = log.list()
    expect(kept).toHaveLength(ACTIVITY_LIMIT)
    expect(kept[0]!.resourceId).toBe('/subscriptions/s/resourceGroups/rg-251')
    expect(kept.at(-1)!.resourceId).toBe(`/subscriptions/s/resourceGroups/rg-${ACTIVITY_LIMIT + 250}`)
  })
})
