/**
 * The emulator's Microsoft.Sql reads at 2021-11-01, the stable version it lists between az 2.45's previews and
 * arm-sql 10's (src/emulator/api-versions.ts). No client in the suite sends it, so this file does: each answer is
 * validated at teardown against that version's vendored Servers.json, Databases.json,
 * BackupShortTermRetentionPolicies.json and FailoverGroups.json (test/contract/global-setup.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startFixture, type Fixture, RG} from '../../azure/helpers.js'

const API_VERSION = '2021-11-01'
let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => fixture?.stop())

describe('Microsoft.Sql at 2021-11-01', () => {
  it('lists and reads the catalog servers, their databases, a database\'s short-term retention and the failover group', async () => {
    const get = async (path: string) => {
      const answer = await fixture.services.armRequest('GET', path, {apiVersion: API_VERSION})
      expect(answer.status, path).toBe(200)
      return answer.body as any
    }
    const sub = `/subscriptions/${fixture.environment.subscription}`
    const server = `${sub}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/sql-shop-local`
    expect((await get(`${sub}/providers/Microsoft.Sql/servers`)).value.map((s: {name: string}) => s.name)).toContain('sql-shop-local')
    expect((await get(`${sub}/resourceGroups/${RG}/providers/Microsoft.Sql/servers`)).value.map((s: {name: string}) => s.name)).toContain('sql-shop-local')
    expect(await get(server)).toMatchObject({name: 'sql-shop-local', type: 'Microsoft.Sql/servers'})
    expect((await get(`${server}/databases`)).value.map((d: {name: string}) => d.name)).toContain('sqldb-shop-payments')
    expect(await get(`${server}/databases/sqldb-shop-payments`)).toMatchObject({name: 'sqldb-shop-payments', properties: {status: 'Online'}})
    expect((await get(`${server}/databases/sqldb-shop-payments/backupShortTermRetentionPolicies/default`)).properties.retentionDays).toBe(7)
    expect((await get(`${server}/failoverGroups`)).value.map((g: {name: string}) => g.name)).toContain('fog-shop-payments')
    expect(await get(`${server}/failoverGroups/fog-shop-payments`)).toMatchObject({
      name: 'fog-shop-payments',
      properties: {replicationRole: 'Primary', partnerServers: [{replicationRole: 'Secondary'}]},
    })
  })
})
