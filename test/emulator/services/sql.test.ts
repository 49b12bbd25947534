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
    // BackupShortTermRetentionPolicies_ListByDatabase: the one `default` policy (the replayed example found it missing: 404).
    expect((await get(`${server}/databases/sqldb-shop-payments/backupShortTermRetentionPolicies`)).value.map((p: {name: string; properties: {retentionDays: number}}) => [p.name, p.properties.retentionDays])).toEqual([['default', 7]])
    expect((await get(`${server}/failoverGroups`)).value.map((g: {name: string}) => g.name)).toContain('fog-shop-payments')
    expect(await get(`${server}/failoverGroups/fog-shop-payments`)).toMatchObject({
      name: 'fog-shop-payments',
      properties: {replicationRole: 'Primary', partnerServers: [{replicationRole: 'Secondary'}]},
    })
  })
})

/**
 * Failover-group writes through @azure/arm-sql (2020-11-01-preview for failover groups) and at 2021-11-01: each answer
 * is validated at teardown against that version's FailoverGroups.json (CreateOrUpdate / Update / Delete, vendored by the
 * specs4 session), and each refusal carries a code from the document's published error list.
 */
describe('Microsoft.Sql failover-group writes (FailoverGroups_CreateOrUpdate / Update / Delete)', () => {
  const sub = () => `/subscriptions/${fixture.environment.subscription}`
  const serverId = (name: string) => `${sub()}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${name}`
  const PRIMARY = 'sql-shop-local'
  // The catalog's geo-replica server in the paired region (runbooks.yaml payments-db geoReplicas), the group's partner.
  const SECONDARY = 'sql-shop-local-dr'
  const write = async (method: 'GET' | 'PUT' | 'PATCH' | 'DELETE', server: string, name: string, body?: unknown, apiVersion = API_VERSION) => {
    const answer = await fixture.services.armRequest(method, `${serverId(server)}/failoverGroups/${name}`, {apiVersion, ...(body === undefined ? {} : {body})})
    return {status: answer.status, code: (answer.body as any)?.error?.code as string | undefined, body: answer.body as any}
  }

  it('creates a group with a database through the SDK; the partner gets its geo-secondary; update and delete follow it', async () => {
    const sql = await fixture.services.sql()
    // A second database on the primary, outside the catalog's group.
    await sql.databases.beginCreateOrUpdateAndWait(RG, PRIMARY, 'sqldb-contract-fg', {location: fixture.environment.region}, {updateIntervalInMs: 20})
    const created = await sql.failoverGroups.beginCreateOrUpdateAndWait(
      RG,
      PRIMARY,
      'fog-contract',
      {readWriteEndpoint: {failoverPolicy: 'Automatic', failoverWithDataLossGracePeriodMinutes: 60}, partnerServers: [{id: serverId(SECONDARY)}], databases: [`${serverId(PRIMARY)}/databases/sqldb-contract-fg`]},
      {updateIntervalInMs: 20},
    )
    expect(created).toMatchObject({name: 'fog-contract', replicationRole: 'Primary', readWriteEndpoint: {failoverPolicy: 'Automatic', failoverWithDataLossGracePeriodMinutes: 60}})
    expect(created.partnerServers?.map((p) => p.id?.toLowerCase())).toEqual([serverId(SECONDARY).toLowerCase()])
    // Seen from the partner: the same group, secondary there, and the database's geo-secondary exists on it.
    expect(await sql.failoverGroups.get(RG, SECONDARY, 'fog-contract')).toMatchObject({replicationRole: 'Secondary'})
    expect(await sql.databases.get(RG, SECONDARY, 'sqldb-contract-fg')).toMatchObject({name: 'sqldb-contract-fg', secondaryType: 'Geo'})

    const updated = await sql.failoverGroups.beginUpdateAndWait(RG, PRIMARY, 'fog-contract', {readWriteEndpoint: {failoverPolicy: 'Manual'}, tags: {purpose: 'contract'}}, {updateIntervalInMs: 20})
    expect(updated.readWriteEndpoint).toEqual({failoverPolicy: 'Manual'})
    expect(updated.tags).toEqual({purpose: 'contract'})
    expect(updated.databases?.map((d) => d.split('/').pop())).toEqual(['sqldb-contract-fg'])

    // Only the primary can change or delete it.
    expect(await write('DELETE', SECONDARY, 'fog-contract')).toMatchObject({status: 400, code: 'FailoverGroupUpdateOrDeleteRequestOnSecondary'})
    await sql.failoverGroups.beginDeleteAndWait(RG, PRIMARY, 'fog-contract', {updateIntervalInMs: 20})
    const names: string[] = []
    for await (const group of sql.failoverGroups.listByServer(RG, PRIMARY)) names.push(group.name!)
    expect(names).toEqual(['fog-shop-payments'])
    // The databases stay (a group's deletion does not stop the replication); deleting it again finds nothing.
    expect(await sql.databases.get(RG, SECONDARY, 'sqldb-contract-fg')).toMatchObject({secondaryType: 'Geo'})
    expect((await write('DELETE', PRIMARY, 'fog-contract')).status).toBe(204)
  })

  it('refuses what the published error list names, with its codes, and changes nothing', async () => {
    const partner = {partnerServers: [{id: serverId(SECONDARY)}]}
    const manual = {readWriteEndpoint: {failoverPolicy: 'Manual'}}
    const db = (name: string, server = PRIMARY) => `${serverId(server)}/databases/${name}`
    const cases: Array<[string, unknown, number, string]> = [
      ['no body properties', {}, 400, 'FailoverGroupCreateOrUpdateRequestInvalid'],
      ['no read-write endpoint', {properties: {...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpoint'],
      ['no failover policy', {properties: {readWriteEndpoint: {}, ...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidReadWriteFailoverPolicy'],
      ['Automatic without a grace period', {properties: {readWriteEndpoint: {failoverPolicy: 'Automatic'}, ...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFields'],
      ['Manual with a grace period', {properties: {readWriteEndpoint: {failoverPolicy: 'Manual', failoverWithDataLossGracePeriodMinutes: 60}, ...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFieldsForManualPolicy'],
      ['a negative grace period', {properties: {readWriteEndpoint: {failoverPolicy: 'Automatic', failoverWithDataLossGracePeriodMinutes: -1}, ...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestNegativeGracePeriodValues'],
      ['Automatic with a grace period under an hour', {properties: {readWriteEndpoint: {failoverPolicy: 'Automatic', failoverWithDataLossGracePeriodMinutes: 30}, ...partner}}, 400, 'FailoverGroupCreateOrUpdateRequestLessThanMinimumGracePeriodValues'],
      ['no partner', {properties: {...manual}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidPartner'],
      ['two partners', {properties: {...manual, partnerServers: [{id: serverId(SECONDARY)}, {id: serverId('sql-other')}]}}, 400, 'FailoverGroupCreateOrUpdateRequestUnsupportedPartnerCount'],
      ['the primary as its own partner', {properties: {...manual, partnerServers: [{id: serverId(PRIMARY)}]}}, 400, 'FailoverGroupCreateOrUpdateRequestDuplicatePartner'],
      ['a partner that does not exist', {properties: {...manual, partnerServers: [{id: serverId('sql-nowhere')}]}}, 400, 'ServerNotFound'],
      ['a database id that is not one', {properties: {...manual, ...partner, databases: ['sqldb-shop-payments']}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidDatabases'],
      ['a database on the partner', {properties: {...manual, ...partner, databases: [db('sqldb-shop-payments', SECONDARY)]}}, 400, 'FailoverGroupCreateOrUpdateRequestInvalidDatabaseServer'],
      ['a database in another group', {properties: {...manual, ...partner, databases: [db('sqldb-shop-payments')]}}, 409, 'DatabaseBelongsToOtherFailoverGroup'],
    ]
    for (const [what, body, status, code] of cases) expect([what, await write('PUT', PRIMARY, 'fog-refused', body)]).toMatchObject([what, {status, code}])
    // A group's settings cannot be changed from its secondary, and a PATCH of a group that does not exist is a 404.
    expect(await write('PATCH', SECONDARY, 'fog-shop-payments', {properties: {...manual}})).toMatchObject({status: 400, code: 'FailoverGroupUpdateOrDeleteRequestOnSecondary'})
    expect((await write('PATCH', PRIMARY, 'fog-refused', {properties: {...manual}})).status).toBe(404)
    expect((await write('GET', PRIMARY, 'fog-refused')).status).toBe(404)
  })
})
