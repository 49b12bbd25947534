import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ACTIVITY_FILE, ACTIVITY_RETENTION_DAYS, createActivityLog, JsonStateStore} from '../../src/emulator/state.js'

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

  it('keeps every event of the 90 days, as Azure does (no count), unless a caller measuring growth sets a limit', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    const log = createActivityLog(new JsonStateStore(), () => new Date(now))
    // The old cap was 5,000: a run followed by ~160 drills lost its events.
    for (let n = 1; n <= 20_000; n++) log.append({resourceId: `/subscriptions/s/resourceGroups/rg-${n}`, kind: 'tags.update'})
    expect(log.list()).toHaveLength(20_000)
    const bounded = createActivityLog(new JsonStateStore(), () => new Date(now), 100)
    for (let n = 1; n <= 250; n++) bounded.append({resourceId: `/subscriptions/s/resourceGroups/rg-${n}`, kind: 'tags.update'})
    expect(bounded.list().map((e) => e.resourceId)).toEqual(Array.from({length: 100}, (_, i) => `/subscriptions/s/resourceGroups/rg-${i + 151}`))
  })

  it('keeps the log in its own file beside state.json, appended per event, read back (without expired events) on the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-activity-'))
    try {
      let now = Date.parse('2026-01-01T00:00:00Z')
      const store = new JsonStateStore({stateDir: dir})
      const log = createActivityLog(store, () => new Date(now), undefined, {stateDir: dir})
      log.append({resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', kind: 'webapp.swap'})
      now += 10 * 86_400_000
      log.append({resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', kind: 'webapp.restart'})
      store.save()
      expect(readFileSync(join(dir, ACTIVITY_FILE), 'utf8').trim().split('\n')).toHaveLength(2)
      expect(readFileSync(join(dir, 'state.json'), 'utf8')).not.toContain('webapp.swap')
      now += (ACTIVITY_RETENTION_DAYS - 5) * 86_400_000
      const again = createActivityLog(new JsonStateStore({stateDir: dir}), () => new Date(now), undefined, {stateDir: dir})
      expect(again.list().map((e) => e.kind)).toEqual(['webapp.restart'])
      expect(readFileSync(join(dir, ACTIVITY_FILE), 'utf8')).not.toContain('webapp.swap')
    } finally {
      if (existsSync(dir)) rmSync(dir, {recursive: true, force: true})
    }
  })
  it("moves an older state.json's activity slice into the file once: a restart before the next save does not list them twice", () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-activity-'))
    try {
      const now = Date.parse('2026-01-01T00:00:00Z')
      const old = {at: new Date(now - DAY).toISOString(), resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', kind: 'webapp.swap'}
      writeFileSync(join(dir, 'state.json'), JSON.stringify({format: 1, slices: {activity: {entries: [old]}}}))
      // First start after the upgrade, then the emulator is killed before anything else saves state.json.
      expect(createActivityLog(new JsonStateStore({stateDir: dir}), () => new Date(now), undefined, {stateDir: dir}).list()).toHaveLength(1)
      const again = createActivityLog(new JsonStateStore({stateDir: dir}), () => new Date(now), undefined, {stateDir: dir})
      expect(again.list().map((e) => e.kind)).toEqual(['webapp.swap'])
      expect(readFileSync(join(dir, 'state.json'), 'utf8')).not.toContain('webapp.swap')
    } finally {
      if (existsSync(dir)) rmSync(dir, {recursive: true, force: true})
    }
  })
})
