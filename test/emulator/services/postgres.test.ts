import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {bearerFor, credentialFor, hlcOptions, localEnvironmentWithServers, poll, RG} from '../helpers.js'

let emulator: RunningEmulator
let client: import('@azure/arm-postgresql-flexible').PostgreSQLManagementFlexibleServerClient
const SOURCE = 'pg-shop-orders'

beforeAll(async () => {
  // Firewall rules and backups are paged small here (a test-only knob) so the SDK's nextLink handling is exercised;
  // without it they come in one page, as Azure documents no page size for them. Operations take no time (lroDurationMs
  // 0): the SDK still gets a 202 and polls, and a client's first poll of a short operation is held until it ends
  // (lro.ts, untilDueWithin), so a duration showed no client anything — it only added its length to every operation.
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 0, listPageSizes: {'postgres.firewallRules.list': 1, 'postgres.backups.list': 5}})
  const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
  client = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
})
afterAll(async () => emulator?.stop())
beforeEach(() => emulator.faults.clear())

const sourceId = () => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SOURCE}`

async function dataAsOf(name: string): Promise<string> {
  const https = await import('node:https')
  const url = `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}/opsbookData`
  const headers = await bearerFor(emulator)
  return new Promise((resolve, reject) =>
    https.get(url, {ca: emulator.caPem, headers}, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text).dataAsOf))
    }).on('error', reject),
  )
}

describe('PostgreSQL flexible servers through the unmodified SDK', () => {
  it('takes, lists and deletes an on-demand backup; automatic backups keep Azure\'s names and a delete of one changes nothing', async () => {
    await client.backupsAutomaticAndOnDemand.beginCreateAndWait(RG, SOURCE, 'before-release-42', {updateIntervalInMs: 10})
    const listed = []
    for await (const backup of client.backupsAutomaticAndOnDemand.listByServer(RG, SOURCE)) listed.push(backup)
    const onDemand = listed.find((b) => b.name === 'before-release-42')!
    expect(onDemand.backupType).toBe('Customer On-Demand')
    expect(onDemand.source).toBe('Customer Initiated')
    const automatic = listed.filter((b) => b.source === 'Automatic')
    // `backup_<.NET ticks of the completion>`, as Azure names them (az recording test_postgres_flexible_server_backups_mgmt).
    expect(automatic.length).toBeGreaterThan(0)
    for (const b of automatic) expect(b.name).toBe(`backup_${BigInt(b.completedTime!.getTime()) * 10_000n + 621_355_968_000_000_000n}`)
    // A name that matches no on-demand backup is no error in Azure (Learn, "Delete on-demand backups": the command
    // "doesn't report any error"): the automatic backup stays, and so does a name that was never a backup.
    await client.backupsAutomaticAndOnDemand.beginDeleteAndWait(RG, SOURCE, automatic[0]!.name!, {updateIntervalInMs: 10})
    await client.backupsAutomaticAndOnDemand.beginDeleteAndWait(RG, SOURCE, 'never-taken', {updateIntervalInMs: 10})
    const after = []
    for await (const backup of client.backupsAutomaticAndOnDemand.listByServer(RG, SOURCE)) after.push(backup.name)
    expect(after).toContain(automatic[0]!.name)
    expect(after).toContain('before-release-42')
    await client.backupsAutomaticAndOnDemand.beginDeleteAndWait(RG, SOURCE, 'before-release-42', {updateIntervalInMs: 10})
    await expect(client.backupsAutomaticAndOnDemand.get(RG, SOURCE, 'before-release-42')).rejects.toMatchObject({statusCode: 404})
  })

  it('serves the seeded server with the catalog settings and an earliest restore date', async () => {
    const server = await client.servers.get(RG, SOURCE)
    expect(server.version).toBe('16')
    expect(server.backup?.backupRetentionDays).toBe(14)
    expect(server.backup?.geoRedundantBackup).toBe('Enabled')
    expect(server.highAvailability?.mode).toBe('ZoneRedundant')
    expect(server.maintenanceWindow?.customWindow).toBe('Disabled')
    expect(server.tags).toEqual({owner: 'data-platform', costCenter: 'cc-1001'})
    const earliest = server.backup!.earliestRestoreDate!
    expect(earliest).toBeInstanceOf(Date)
    expect(Math.round((Date.now() - earliest.getTime()) / 86_400_000)).toBe(14)
  })

  it('pages firewall rules and backups through absolute nextLinks; lists every configuration in one page, as Azure does', async () => {
    // A seeded server has the catalog's rules (none here); two are created as an operator would, to page through.
    for (const [name, ip] of [['AllowCorpNetwork', '203.0.113.0'], ['AllowBuildAgents', '198.51.100.10']] as const)
      await client.firewallRules.beginCreateOrUpdateAndWait(RG, SOURCE, name, {startIpAddress: ip, endIpAddress: ip}, poll)
    const rules = []
    for await (const rule of client.firewallRules.listByServer(RG, SOURCE)) rules.push(rule.name)
    expect(rules.sort()).toEqual(['AllowBuildAgents', 'AllowCorpNetwork'])
    const backups = []
    for await (const backup of client.backupsAutomaticAndOnDemand.listByServer(RG, SOURCE)) backups.push(backup)
    expect(backups.length).toBeGreaterThanOrEqual(14)
    expect(backups[0]!.completedTime).toBeInstanceOf(Date)
    const configurations = []
    for await (const c of client.configurations.listByServer(RG, SOURCE)) configurations.push(c.name)
    expect(configurations).toEqual(expect.arrayContaining(['require_secure_transport', 'ssl_min_protocol_version', 'logfiles.retention_days']))
    // Azure answers the parameter list in one page (azure-cli's parameter_mgmt recording has no nextLink): one request.
    expect(emulator.requestLog().filter((e) => e.operation === 'postgres.configurations.list')).toHaveLength(1)
    expect(emulator.requestLog().some((e) => e.operation === 'postgres.backups.list' && e.query.includes('skiptoken'))).toBe(true)
    expect(emulator.requestLog().filter((e) => e.operation === 'postgres.firewallRules.list')).toHaveLength(2)
    const tls = await client.configurations.get(RG, SOURCE, 'ssl_min_protocol_version')
    expect(tls.value).toBe('TLSv1.2')
  })

  it('restores to a point in time: the new server records its source and holds data as of that point', async () => {
    const point = new Date(Date.now() - 3_600_000)
    const restored = await client.servers.beginCreateOrUpdateAndWait(
      RG,
      'pg-pitr-ok',
      {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: sourceId(), pointInTimeUTC: point},
      poll,
    )
    expect(restored.state).toBe('Ready')
    expect(restored.sourceServerResourceId).toBe(sourceId())
    // pointInTimeUTC is create-only (x-ms-mutability [create], Servers.json 2025-08-01): Azure does not return it.
    expect(restored.pointInTimeUTC).toBeUndefined()
    expect(await dataAsOf('pg-pitr-ok')).toBe(point.toISOString())
    const log = emulator.requestLog().filter((e) => e.path.includes('azureAsyncOperation'))
    expect(log.length).toBeGreaterThan(0)
  })

  it.each([
    ['before the earliest restore date', () => new Date(Date.now() - 20 * 86_400_000)],
    ['in the future', () => new Date(Date.now() + 3_600_000)],
  ])('rejects a restore point %s with InvalidParameterValue', async (_label, point) => {
    const error = await client.servers
      .beginCreateOrUpdateAndWait(RG, 'pg-pitr-bad', {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: sourceId(), pointInTimeUTC: point()}, poll)
      .catch((e) => e)
    expect(error.statusCode).toBe(400)
    expect(error.code).toBe('InvalidParameterValue')
    expect(error.message).toMatch(/Invalid value given for parameter 'pointInTimeUTC'.*earliest restore date/)
    await expect(client.servers.get(RG, 'pg-pitr-bad')).rejects.toMatchObject({statusCode: 404, code: 'ResourceNotFound'})
  })

  it('rejects a restore from a missing source and onto a taken name', async () => {
    const missing = await client.servers
      .beginCreateOrUpdateAndWait(RG, 'pg-from-nowhere', {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: sourceId().replace(SOURCE, 'pg-nope'), pointInTimeUTC: new Date(Date.now() - 60_000)}, poll)
      .catch((e) => e)
    expect(missing).toMatchObject({statusCode: 404, code: 'ResourceNotFound'})
    const taken = await client.servers
      .beginCreateOrUpdateAndWait(RG, SOURCE, {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: sourceId(), pointInTimeUTC: new Date(Date.now() - 60_000)}, poll)
      .catch((e) => e)
    expect(taken).toMatchObject({statusCode: 409, code: 'ServerNameAlreadyExists'})
  })

  it('geo-restores into the paired region', async () => {
    const restored = await client.servers.beginCreateOrUpdateAndWait(
      RG,
      'pg-geo',
      {location: 'eastus', createMode: 'GeoRestore', sourceServerResourceId: sourceId(), pointInTimeUTC: new Date(Date.now() - 60_000)},
      poll,
    )
    expect(restored.location).toBe('westus')
    expect(restored.sourceServerResourceId).toBe(sourceId())
  })

  it('ends the operation Failed with the injected code when a fault is set', async () => {
    emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'injected boom'}}})
    const error = await client.servers
      .beginCreateOrUpdateAndWait(RG, 'pg-doomed', {location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: sourceId(), pointInTimeUTC: new Date(Date.now() - 60_000)}, poll)
      .catch((e) => e)
    expect(String(error.message)).toContain('InternalServerError')
    expect(String(error.message)).toContain('injected boom')
    expect(emulator.state.operations().some((op) => op.operation === 'postgres.create' && op.status === 'Failed')).toBe(true)
  })

  it('keeps an operation in progress when it is set never to finish', async () => {
    emulator.faults.set({hangOperations: ['postgres.restart']})
    const poller = await client.servers.beginRestart(RG, SOURCE, poll)
    await poller.poll()
    await poller.poll()
    expect(poller.isDone()).toBe(false)
    expect(poller.getOperationState().status).toBe('running')
  })

  it('applies a maintenance window and backup retention with PATCH', async () => {
    const updated = await client.servers.beginUpdateAndWait(
      RG,
      'pg-pitr-ok',
      {backup: {backupRetentionDays: 21}, maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: 0, startHour: 2, startMinute: 0}},
      poll,
    )
    expect(updated.maintenanceWindow).toMatchObject({customWindow: 'Enabled', dayOfWeek: 0, startHour: 2})
    expect(updated.backup?.backupRetentionDays).toBe(21)
  })

  it('promotes the read replica to a standalone server', async () => {
    const replicasBefore = []
    for await (const r of client.replicas.listByServer(RG, SOURCE)) replicasBefore.push(r.name)
    expect(replicasBefore).toEqual(['pg-shop-orders-dr'])
    const promoted = await client.servers.beginUpdateAndWait(RG, 'pg-shop-orders-dr', {replica: {promoteMode: 'Standalone', promoteOption: 'Forced'}}, poll)
    expect(promoted.replicationRole).toBe('None')
    expect(promoted.location).toBe('westus')
    const replicasAfter = []
    for await (const r of client.replicas.listByServer(RG, SOURCE)) replicasAfter.push(r.name)
    expect(replicasAfter).toEqual([])
    expect(emulator.state.activity.list({kind: 'postgres.promote'})).toHaveLength(1)
  })

  it('stops, starts, deletes and revives a dropped server', async () => {
    await client.servers.beginStopAndWait(RG, 'pg-geo', poll)
    expect((await client.servers.get(RG, 'pg-geo')).state).toBe('Stopped')
    await client.servers.beginStartAndWait(RG, 'pg-geo', poll)
    expect((await client.servers.get(RG, 'pg-geo')).state).toBe('Ready')
    // A point the dropped server's backups hold: its earliest restore date (a fixed offset from now can fall before
    // the server was created when its operations finish within a second).
    const earliest = (await client.servers.get(RG, 'pg-pitr-ok')).backup?.earliestRestoreDate
    expect(earliest).toBeInstanceOf(Date)
    const point = earliest!
    await client.servers.beginDeleteAndWait(RG, 'pg-pitr-ok', poll)
    await expect(client.servers.get(RG, 'pg-pitr-ok')).rejects.toMatchObject({statusCode: 404})
    const revived = await client.servers.beginCreateOrUpdateAndWait(
      RG,
      'pg-pitr-ok',
      {location: 'eastus', createMode: 'ReviveDropped', sourceServerResourceId: sourceId().replace(SOURCE, 'pg-pitr-ok'), pointInTimeUTC: point},
      poll,
    )
    expect(revived.state).toBe('Ready')
  })
})

describe('authConfig of the catalog\'s servers', () => {
  it('follows the probes: Entra on when they sign in with Entra — also in a state saved before it did', async () => {
    expect((await client.servers.get(RG, SOURCE)).authConfig).toMatchObject({activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'})
    const stateDir = mkdtempSync(join(tmpdir(), 'opsbook-emu-auth-'))
    try {
      const first = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 0})
      await first.stop()
      // What an older emulator saved: every server with Entra authentication off, no marker.
      const file = join(stateDir, 'state.json')
      const doc = JSON.parse(readFileSync(file, 'utf8'))
      delete doc.slices.postgres.authFromCatalog
      for (const server of Object.values(doc.slices.postgres.servers) as Array<{resource: {properties: {authConfig: Record<string, string>}}}>)
        server.resource.properties.authConfig = {activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled'}
      writeFileSync(file, JSON.stringify(doc))
      const second = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 0})
      try {
        const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
        const again = new PostgreSQLManagementFlexibleServerClient(credentialFor(second), second.subscription, hlcOptions(second))
        expect((await again.servers.get(RG, SOURCE)).authConfig).toMatchObject({activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled'})
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(stateDir, {recursive: true, force: true})
    }
  })
})

describe('majors a new server cannot have (retired or in extended support: 11, 12, 13)', () => {
  it('refuses to create a server on 11, 12 or 13, while an existing 12 server is served and upgrades to 14', async () => {
    const create = (name: string, version: string) =>
      client.servers.beginCreateOrUpdateAndWait(RG, name, {location: 'eastus', version, administratorLogin: 'pgadmin', administratorLoginPassword: 'Not-a-real-secret-1'} as never, poll)
    // 11 as well: retired, its extended support over (concepts-version-policy, POSTGRES_NEW_SERVER_VERSIONS).
    for (const version of ['11', '12', '13']) {
      const refused = await create(`pg-new-${version}`, version).catch((e) => e)
      expect(refused.statusCode, version).toBe(400)
      expect(refused.code, version).toBe('ParameterOutOfRange')
      expect(refused.message).toBe("The value of the 'Version' should be in: [14,15,16,17,18]. Verify that the specified parameter value is correct.")
      await expect(client.servers.get(RG, `pg-new-${version}`)).rejects.toMatchObject({statusCode: 404})
    }
    // A supported major is created as before.
    expect((await create('pg-new-14', '14')).version).toBe('14')
    await client.servers.beginDeleteAndWait(RG, 'pg-new-14', poll)

    // A 12 server that already exists (Azure keeps existing servers running on extended support) stays usable.
    const legacy = await startEmulator({environment: await localEnvironmentWithServers([{name: 'pg-legacy-12', version: '12'}]), lroDurationMs: 0})
    try {
      const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
      const other = new PostgreSQLManagementFlexibleServerClient(credentialFor(legacy), legacy.subscription, hlcOptions(legacy))
      expect((await other.servers.get(RG, 'pg-legacy-12')).version).toBe('12')
      expect((await other.servers.beginUpdateAndWait(RG, 'pg-legacy-12', {version: '14'} as never, poll)).version).toBe('14')
    } finally {
      await legacy.stop()
    }
  })
})

describe('dropped servers', () => {
  it('are forgotten once their five days of revival are over, so a long-lived emulator does not keep every server it dropped (issue 16 soak)', async () => {
    let offsetMs = 0
    const own = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 0, clock: () => new Date(Date.now() + offsetMs)})
    try {
      const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
      // A new client (and token) at each clock, so no token is judged by a clock it was not issued under.
      const at = () => new PostgreSQLManagementFlexibleServerClient(credentialFor(own), own.subscription, hlcOptions(own))
      const dropped = () => Object.values(own.state.slice<{dropped: Record<string, {server: {resource: {name: string}}}>}>('postgres')!.dropped).map((d) => d.server.resource.name)
      await at().servers.beginDeleteAndWait(RG, 'pg-shop-orders-dr', poll)
      expect(dropped()).toEqual(['pg-shop-orders-dr'])
      offsetMs = 6 * 86_400_000
      await at().servers.beginDeleteAndWait(RG, 'pg-shop-orders', poll)
      expect(dropped()).toEqual(['pg-shop-orders'])
      // The one within its window can still be revived.
      const revived = await at().servers.beginCreateOrUpdateAndWait(
        RG,
        'pg-shop-orders',
        {location: 'eastus', createMode: 'ReviveDropped', sourceServerResourceId: `/subscriptions/${own.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders`, pointInTimeUTC: new Date(Date.now() + offsetMs - 1000)},
        poll,
      )
      expect(revived.state).toBe('Ready')
    } finally {
      await own.stop()
    }
  })
})
