import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {findAction} from '../../src/actions/registry.js'
import {derivedName, resolveResource, resolveWindow, windowInUtc} from '../../src/actions/resolve.js'
import type {PlanContext} from '../../src/actions/types.js'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'

const environment = getEnvironment(loadCatalog({flag: join(import.meta.dirname, '..', '..', 'runbooks.yaml')}), 'local')

describe('resolveResource', () => {
  it('resolves a component key, an Azure name, a replica, an ARM id and a name the catalog does not know', () => {
    expect(resolveResource(environment, 'postgres', 'orders-db')).toMatchObject({name: 'pg-shop-orders', resourceGroup: 'rg-shop-local', componentKey: 'orders-db'})
    expect(resolveResource(environment, 'redis', 'redis-shop-sessions').componentKey).toBe('sessions-cache')
    expect(resolveResource(environment, 'postgres', 'pg-shop-orders-dr')).toMatchObject({name: 'pg-shop-orders-dr', componentKey: 'orders-db'})
    const id = '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-other/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-x'
    expect(resolveResource(environment, 'postgres', id)).toMatchObject({name: 'pg-x', resourceGroup: 'rg-other', subscription: '11111111-1111-1111-1111-111111111111', id})
    expect(resolveResource(environment, 'postgres', 'pg-shop-orders-drill-abc123')).toMatchObject({name: 'pg-shop-orders-drill-abc123', resourceGroup: 'rg-shop-local', component: undefined})
  })

  it('rejects a component of another type (exit 2)', () => {
    expect(() => resolveResource(environment, 'postgres', 'sessions-cache')).toThrow(/is a redis, not a postgres/)
  })
})

describe('windows in UTC', () => {
  it('converts a Berlin window with daylight saving to the UTC slot of its next opening', () => {
    const app = environment.windows.app!
    expect(windowInUtc(app, new Date('2026-01-05T12:00:00Z'))).toMatchObject({dayName: 'Saturday', startHour: 21, startMinute: 0, durationMinutes: 60})
    expect(windowInUtc(app, new Date('2026-07-01T12:00:00Z'))).toMatchObject({dayName: 'Saturday', startHour: 20, startMinute: 0})
  })

  it('keeps UTC windows as they are and takes explicit ones literally', () => {
    expect(resolveWindow(environment, 'database', new Date())).toMatchObject({dayOfWeek: 0, startHour: 2, startMinute: 0, durationMinutes: 120, name: 'database'})
    expect(resolveWindow(environment, {day: 'Tue', startHour: 3}, new Date())).toMatchObject({dayOfWeek: 2, startHour: 3, startMinute: 0})
    expect(() => resolveWindow(environment, 'nope', new Date())).toThrow(/no maintenance window named nope/)
  })
})

describe('derivedName', () => {
  it('stays within 63 characters and ends with the purpose and run', () => {
    const name = derivedName('a'.repeat(70), 'drill', '20261123T152435Z-dr-drill-f7d3')
    expect(name.length).toBeLessThanOrEqual(63)
    expect(name).toMatch(/-drill-illf7d3$|-drill-[a-z0-9]{6}$/)
  })
})

describe('plan declarations of the Azure actions', () => {
  const plan: PlanContext = {environment, environmentName: 'local', resourceId: () => ''}
  const samples: Record<string, Record<string, unknown>> = {
    'postgres.assertRestorable': {server: 'orders-db', pointInTime: '2026-11-23T10:00:00Z'},
    'postgres.restore': {server: 'orders-db', scratch: true},
    'postgres.geoRestore': {server: 'orders-db', scratch: true},
    'postgres.promoteReplica': {replica: 'pg-shop-orders-dr', mode: 'switchover', option: 'planned'},
    'postgres.waitReady': {server: '<steps.restore.outputs.server>'},
    'postgres.verify': {server: '<steps.restore.outputs.server>'},
    'postgres.delete': {server: '<steps.restore.outputs.server>'},
    'postgres.setMaintenanceWindow': {server: 'orders-db'},
    'postgres.getMaintenanceWindow': {server: 'orders-db'},
    'redis.export': {cache: 'sessions-cache'},
    'redis.import': {cache: 'sessions-cache'},
    'redis.latestSnapshot': {cache: 'sessions-cache'},
    'redis.setPatchSchedule': {cache: 'sessions-cache'},
    'redis.getPatchSchedule': {cache: 'sessions-cache'},
    'redis.verify': {cache: 'sessions-cache'},
    'webapp.healthCheck': {app: 'storefront', slot: 'staging'},
    'webapp.swap': {app: 'storefront'},
    'webapp.swapBack': {app: 'storefront'},
    'webapp.slotStatus': {app: 'storefront'},
    'webapp.assertNotPreparedForSwap': {app: 'storefront'},
    'webapp.resetSwap': {app: 'storefront'},
    'monitor.metricsAssert': {resource: 'storefront', after: '2026-11-23T10:00:00Z'},
    'monitor.logsQuery': {workspace: '00000000-0000-0000-0000-0000000000aa', query: "AzureActivity | take 1"},
    'storage.containerProperties': {account: 'evidence-store', container: 'opsbook-evidence'},
  }

  it.each(Object.keys(samples))('%s declares permissions, ARM calls and an az equivalent', (name) => {
    const action = findAction(name)!
    expect(action, name).toBeDefined()
    const input = action.input.parse(samples[name])
    expect(action.permissions.length).toBeGreaterThan(0)
    for (const permission of action.permissions) expect(permission).toMatch(/^Microsoft\.[A-Za-z]+\/[A-Za-z/]+$/)
    const az = action.az!(input, plan)
    expect(az.length).toBeGreaterThan(0)
    for (const line of az) {
      expect(line).toMatch(/^(az |curl |SAS=)/)
      expect(line).not.toContain('undefined')
    }
    for (const call of action.arm!(input, plan)) expect(call.path).not.toContain('undefined')
  })

  it('names the exact RBAC actions of the disruptive calls', () => {
    expect(findAction('postgres.restore')!.permissions).toContain('Microsoft.DBforPostgreSQL/flexibleServers/write')
    expect(findAction('postgres.delete')!.permissions).toContain('Microsoft.DBforPostgreSQL/flexibleServers/delete')
    expect(findAction('redis.export')!.permissions).toContain('Microsoft.Cache/redis/export/action')
    expect(findAction('webapp.swap')!.permissions).toEqual(expect.arrayContaining(['Microsoft.Web/sites/slotsswap/action', 'Microsoft.Web/sites/slots/slotsswap/action']))
    expect(findAction('monitor.metricsAssert')!.permissions).toEqual(['Microsoft.Insights/metrics/read'])
  })
})
