import {describe, expect, it} from 'vitest'
import {configurationIssues, isExportOf, measureAction, PG_RPO_UNMEASURED_NOTE, reportAction, ROUTER_RPO_NOTE} from '../../src/actions/drill.js'
import type {ActionContext} from '../../src/actions/types.js'
import {catalog, environment} from '../runbooks/engine-fixtures.js'
import type {Environment} from '../../src/catalog/schema.js'

const now = new Date('2026-11-23T12:00:00Z')
function context(env: Environment = environment): ActionContext {
  const logs: string[] = []
  return {
    runId: 'r1',
    stepId: 's',
    attempt: 1,
    signal: new AbortController().signal,
    log: (m) => logs.push(m),
    environmentName: 'local',
    environment: env,
    catalog,
    secret: () => undefined,
    approver: {approve: async () => ({approved: true, by: 't', via: 'yes'})},
    operations: {started: async () => undefined, inFlight: () => undefined},
    services: undefined,
    now: () => now,
  }
}
const at = (minutesBefore: number) => new Date(now.getTime() - minutesBefore * 60_000).toISOString()
const measure = (input: Record<string, unknown>, env?: Environment) => measureAction.run(measureAction.input.parse(input), context(env))

describe('drill.measure', () => {
  it('measures RTO from start to verified and RPO from the point asked for to what the copy holds', async () => {
    const row = await measure({component: 'orders-db', startedAt: at(20), verifiedAt: at(5), requestedPoint: at(30), recoveredDataAsOf: at(40), dataAsOfSource: 'server'})
    expect(row).toMatchObject({component: 'orders-db', type: 'postgres', status: 'met'})
    expect(row.rto).toEqual({measuredMs: 15 * 60_000, objectiveMs: 60 * 60_000, met: true})
    expect(row.rpo).toEqual({measuredMs: 10 * 60_000, objectiveMs: 60 * 60_000, met: true})
  })

  it('misses the RPO when the copy is older than the objective allows; defaults to now and to the start', async () => {
    const row = await measure({component: 'orders-db', startedAt: at(10), recoveredDataAsOf: at(80)})
    expect(row.rto.measuredMs).toBe(10 * 60_000)
    expect(row.rpo).toMatchObject({measuredMs: 70 * 60_000, met: false})
    expect(row.status).toBe('missed')
  })

  it('leaves the RPO unmeasured, never 0, when the data age was not read from the restored server', async () => {
    // Against Azure, postgres.verify only has the restore point: the point asked for, echoed back.
    for (const dataAsOfSource of ['restore-point', 'unknown']) {
      const row = await measure({component: 'orders-db', startedAt: at(10), requestedPoint: at(10), recoveredDataAsOf: at(10), dataAsOfSource})
      expect(row.rpo).toEqual({objectiveMs: 60 * 60_000})
      expect(row.status).toBe('unmeasured')
      expect(row.notes).toContain(PG_RPO_UNMEASURED_NOTE)
    }
  })

  it('flags a cross-region PostgreSQL RPO shorter than the hour geo-restore guarantees', async () => {
    const env = structuredClone(environment)
    const db = env.components['orders-db']!
    if (db.type === 'postgres') db.objectives = {rto: 'PT1H', rpo: 'PT15M', crossRegion: true}
    // The drill itself went well (5 minutes of data lost), yet a region loss may cost up to an hour.
    const row = await measure({component: 'orders-db', startedAt: at(10), requestedPoint: at(10), recoveredDataAsOf: at(15), dataAsOfSource: 'server'}, env)
    expect(row.rpo).toEqual({measuredMs: 5 * 60_000, objectiveMs: 15 * 60_000, met: true})
    expect(row.status).toBe('cannot-meet')
    expect(row.notes.join()).toContain('configuration: cross-region RPO PT15M is shorter than the 1 hour geo-restore guarantees')
    // An hour is what geo-restore promises; the same RPO without a cross-region objective is a point-in-time restore's.
    expect(configurationIssues(environment.components['orders-db']!)).toEqual([])
    if (db.type === 'postgres') db.objectives = {rpo: 'PT15M', crossRegion: false}
    expect(configurationIssues(db)).toEqual([])
  })

  it('flags objectives the configuration cannot meet', async () => {
    const env = structuredClone(environment)
    const cache = env.components['sessions-cache']!
    if (cache.type === 'redis') cache.objectives = {rpo: 'PT15M', crossRegion: false}
    const db = env.components['orders-db']!
    if (db.type === 'postgres') db.geoRedundantBackup = false
    const redis = await measure({component: 'sessions-cache', startedAt: at(1), recoveredDataAsOf: at(5)}, env)
    expect(redis.status).toBe('cannot-meet')
    expect(redis.notes.join()).toContain('RPO PT15M is shorter than the snapshot frequency PT1H')
    expect(configurationIssues(db)).toEqual(['cross-region objective without geo-redundant backup: a region loss cannot be recovered from backup'])
    expect(configurationIssues(environment.components['orders-db']!, {retentionDays: 7})).toEqual(['backup retention is 7 days, the catalog needs 14'])
  })

  it('judges a Redis RPO by the snapshot interval, so drills back to back or an hour apart give the same verdict', async () => {
    // PT1H snapshots, objective PT1H: the newest snapshot's data is anywhere from seconds to an hour old.
    const rows = await Promise.all([0.2, 1, 59, 63].map((minutes) => measure({component: 'sessions-cache', startedAt: at(0), recoveredDataAsOf: at(minutes), dataAsOfSource: 'data'})))
    for (const row of rows) {
      expect(row.status).toBe('met')
      expect(row.rpo).toMatchObject({objectiveMs: 3_600_000, boundMs: 3_600_000, met: true})
      expect(row.notes.join()).toMatch(/^RPO bound 1h 00m: snapshots every PT1H, so a recovery from the newest loses at most that; this one's data was .* old$/)
    }
    // The measured age is kept as read.
    expect(rows.map((r) => r.rpo.measuredMs)).toEqual([12_000, 60_000, 59 * 60_000, 63 * 60_000])
    // A snapshot older than an interval and its grace (6 min for PT1H): the schedule stopped, and a recovery loses more.
    const stale = await measure({component: 'sessions-cache', startedAt: at(0), recoveredDataAsOf: at(70), dataAsOfSource: 'data'})
    expect(stale).toMatchObject({status: 'missed', rpo: {measuredMs: 70 * 60_000, boundMs: 3_600_000, met: false}})
    expect(stale.notes.join()).toContain('more than one snapshot interval (PT1H): the schedule did not run')
  })

  it('says when an objective could not be measured', async () => {
    const row = await measure({component: 'orders-db', startedAt: at(1), recoveredDataAsOf: null})
    expect(row.status).toBe('unmeasured')
    expect(row.rpo).toEqual({objectiveMs: 60 * 60_000})
  })
})

describe('drill.measure of a recovery that failed', () => {
  it('is a failed row naming the first failed step and its error, with nothing measured', async () => {
    const row = await measure({
      component: 'orders-db',
      startedAt: null,
      failures: {'pg-check': null, 'pg-restore': 'geo-restore failed: InternalServerError', 'pg-verify': 'never ran'},
    })
    expect(row).toMatchObject({status: 'failed', error: 'pg-restore: geo-restore failed: InternalServerError', rto: {objectiveMs: 60 * 60_000}, rpo: {objectiveMs: 60 * 60_000}})
    expect(row.rto.measuredMs).toBeUndefined()
    expect(row.notes).toContain('failed in pg-restore: geo-restore failed: InternalServerError')
    // No failure among the chain's steps: measured as usual.
    expect((await measure({component: 'storefront', startedAt: at(2), failures: {'web-swap': null}})).status).toBe('met')
  })
})

describe('drill.report', () => {
  // The three components these cases are about (the local catalog has more kinds since; each would be a row of its own).
  const drilled = {...environment, components: Object.fromEntries(['orders-db', 'sessions-cache', 'storefront'].map((key) => [key, environment.components[key]!]))} as Environment
  it('flattens forEach maps into one sorted table, and fails with the table when an objective is missed', async () => {
    const ok = await measure({component: 'storefront', startedAt: at(2)})
    const bad = await measure({component: 'orders-db', startedAt: at(90)})
    const passed = await reportAction.run(reportAction.input.parse({measurements: [{storefront: ok}, {}], expect: ['webapp']}), context(drilled))
    expect(passed).toMatchObject({allMet: true, missed: []})
    let error: any
    try {
      await reportAction.run(reportAction.input.parse({measurements: [{storefront: ok}, bad], expect: []}), context(drilled))
    } catch (caught) {
      error = caught
    }
    expect(error.message).toBe('recovery objectives not met: orders-db missed')
    expect(error.outputs.objectives.map((r: {component: string}) => r.component)).toEqual(['orders-db', 'storefront'])
  })

  it('fails for a failed component, keeps it as a row, and lists a component whose measure step failed as failed', async () => {
    const ok = await measure({component: 'storefront', startedAt: at(2)})
    const failed = await measure({component: 'orders-db', failures: {'pg-restore': 'Injected'}})
    // sessions-cache: its measure step itself failed (continueOnError), leaving empty outputs in the forEach map.
    const error = await reportAction.run(reportAction.input.parse({measurements: [{'orders-db': failed}, {'sessions-cache': {}}, {storefront: ok}]}), context(drilled)).catch((e) => e)
    expect(error.message).toBe('recovery objectives not met: orders-db failed, sessions-cache failed')
    expect(error.outputs.objectives.map((r: {component: string; status: string}) => [r.component, r.status])).toEqual([
      ['orders-db', 'failed'],
      ['sessions-cache', 'failed'],
      ['storefront', 'met'],
    ])
    expect(error.outputs.objectives[0].error).toBe('pg-restore: Injected')
  })

  it('reports a component of the environment without a measurement as failed, and fails', async () => {
    const ok = await measure({component: 'storefront', startedAt: at(2)})
    const error = await reportAction.run(reportAction.input.parse({measurements: [{storefront: ok}]}), context(drilled)).catch((e) => e)
    expect(error.message).toBe('recovery objectives not met: orders-db failed, sessions-cache failed')
    expect(error.outputs.objectives.find((r: {component: string}) => r.component === 'orders-db').notes).toEqual(['no measurement: the drill did not recover this component'])
  })

  it('shows an objective that could not be measured without failing the drill, unless failOnUnmeasured', async () => {
    const ok = await measure({component: 'storefront', startedAt: at(2)})
    const cache = await measure({component: 'sessions-cache', startedAt: at(2), recoveredDataAsOf: at(30)})
    const db = await measure({component: 'orders-db', startedAt: at(3), recoveredDataAsOf: at(5), dataAsOfSource: 'restore-point'})
    expect(db.status).toBe('unmeasured')
    const lenient = await reportAction.run(reportAction.input.parse({measurements: [db, cache, ok]}), context(drilled))
    expect(lenient.allMet).toBe(true)
    expect(lenient.objectives.find((r) => r.component === 'orders-db')?.status).toBe('unmeasured')
    const strict = await reportAction.run(reportAction.input.parse({measurements: [db, cache, ok], failOnUnmeasured: true}), context(drilled)).catch((e) => e)
    expect(strict.message).toBe('recovery objectives not met: orders-db unmeasured')
  })
})

describe('drill rows that could mislead', () => {
  const withComponents = (components: Record<string, unknown>): Environment => ({...environment, components: {...environment.components, ...components}}) as Environment

  it('a component without objectives is "no-objective", never met, and does not fail the drill', async () => {
    const env = withComponents({'plain-app': {type: 'webapp', name: 'app-plain', slots: ['staging'], healthPath: '/health'}})
    const row = await measure({component: 'plain-app', startedAt: at(10)}, env)
    expect(row.status).toBe('no-objective')
    expect(row.notes.join(' ')).toContain('no objective')
    const report = await reportAction.run(reportAction.input.parse({measurements: [row], expect: []}), context(env))
    expect(report.missed).toEqual([])
  })

  it('a web app with RPO 0 is measured 0 (it holds no data), not unmeasured', async () => {
    const env = withComponents({shop: {type: 'webapp', name: 'app-shop', slots: ['staging'], healthPath: '/health', objectives: {rto: 'PT15M', rpo: 'PT0S', crossRegion: false}}})
    const row = await measure({component: 'shop', startedAt: at(10)}, env)
    expect(row.rpo).toEqual({measuredMs: 0, objectiveMs: 0, met: true})
    expect(row.status).toBe('met')
  })

  it('a traffic router\'s failover has an RTO and no RPO of its own (n/a, with the reason), even with an RPO objective; a router the drill did not reach is a failed row', async () => {
    const env = withComponents({
      edge: {type: 'frontdoor', name: 'afd-shop', originGroups: [], origins: [], objectives: {rto: 'PT15M', rpo: 'PT5M', crossRegion: false}},
      dns: {type: 'trafficmanager', name: 'tm-shop', routingMethod: 'Priority', dnsTtl: 30, endpoints: [], objectives: {rto: 'PT15M', crossRegion: false}},
    })
    const row = await measure({component: 'edge', recovery: {startedAt: at(3), verifiedAt: at(2), method: 'failover to westus and back to eastus'}}, env)
    expect(row).toMatchObject({type: 'frontdoor', status: 'met', rto: {measuredMs: 60_000, met: true}, rpo: {}})
    expect(row.notes).toEqual(['failover to westus and back to eastus', ROUTER_RPO_NOTE])
    // dr-drill's report expects every drillable kind by default: the Traffic Manager profile without a row fails it.
    const error = await reportAction.run(reportAction.input.parse({measurements: [row]}), context(env)).catch((e) => e)
    expect(error.message).toMatch(/^recovery objectives not met: .*, dns failed,/)
    expect(error.message).not.toMatch(/(: |, )edge failed/)
  })
})

describe('drill.teardown of a cache: which in-flight operations are its exports', () => {
  const url = (path: string) => ({method: 'POST' as const, resourceUrl: `https://127.0.0.1:4443/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.Cache/${path}`})
  it('waits for a Managed Redis export as for a classic one (a Ctrl-C mid-export left the Managed Redis copy behind)', () => {
    expect(isExportOf(url('redis/redis-shop-sessions/export'), 'redis-shop-sessions')).toBe(true)
    // What managedredis.export journals, and the database-level path ARM defines.
    expect(isExportOf(url('redisEnterprise/amr-shop-carts/export'), 'amr-shop-carts')).toBe(true)
    expect(isExportOf(url('redisEnterprise/amr-shop-carts/databases/default/export'), 'amr-shop-carts')).toBe(true)
  })
  it('never another cache\'s, an import, or a GET', () => {
    expect(isExportOf(url('redisEnterprise/amr-shop-carts-2/export'), 'amr-shop-carts')).toBe(false)
    expect(isExportOf(url('redis/redis-shop-sessions/import'), 'redis-shop-sessions')).toBe(false)
    expect(isExportOf({...url('redis/redis-shop-sessions/export'), method: 'GET' as never}, 'redis-shop-sessions')).toBe(false)
  })
})

