/**
 * Azure Managed Redis through the real CLI against an emulator started here, with its own small catalog (a Managed
 * Redis component and the snapshot storage): redis-export and redis-restore choose the managedredis.* actions from the
 * component's kind, the database is a real redis-server (keys written before the export come back after the import),
 * and a user runbook reads persistence and the geo-replication group, then force-unlinks the lost region's database.
 * maintenance-window sets the catalog's windows as the cluster's scheduled maintenance windows (maintenanceConfiguration),
 * and a catalog whose windows Azure cannot take is warned about, fails its apply step with the reason and fails the check.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {runCliInProcess} from '../helpers/cli.js'
import {requests, runRunbook, scratchDir} from './support.js'

const CATALOG = `version: 1
environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-00000000a3a3
    region: eastus
    resourceGroups: [rg-amr]
    windows:
      weekend-sat: { recurrence: weekly, day: Saturday, start: "00:30", end: "09:30", timeZone: UTC }
      weekend-sun: { recurrence: weekly, day: Sunday, start: "00:00", end: "10:00", timeZone: UTC }
      nightly: { recurrence: weekly, day: Sunday, start: "04:00", end: "05:00", timeZone: UTC }
    components:
      snapshots:
        type: storage
        name: stamrsnapshots
      carts:
        type: managedredis
        name: amr-shop-carts
        sku: Balanced_B5
        snapshots: { storageAccount: stamrsnapshots, container: amr-snapshots, frequency: PT1H }
        probe: { canary: { key: "opsbook:canary", write: true }, keyCount: { tolerance: 0.25 } }
        persistence: { mode: rdb, frequency: PT6H }
        geoReplication: { group: shop-carts, linkedDatabases: [{ cluster: amr-shop-carts-west, region: westus }] }
        objectives: { rto: PT30M, rpo: PT1H }
        windows: [weekend-sat, weekend-sun]
`
/** The same estate with one one-hour window: Azure Managed Redis takes windows of 4 hours or more, two a week, 18 hours in all. */
const SHORT_WINDOW_CATALOG = CATALOG.replace('windows: [weekend-sat, weekend-sun]', 'window: nightly')

const USER_RUNBOOK = `name: amr-geo
title: Read persistence and the geo-replication group, then drop the lost region
kind: incident
params:
  cache: { type: target, component: managedredis }
steps:
  - id: persistence
    uses: managedredis.persistence
    with: { cache: "\${{ params.cache }}", require: true }
  - id: group
    uses: managedredis.geoReplication
    with: { cache: "\${{ params.cache }}" }
  - id: unlink
    needs: [persistence, group]
    uses: managedredis.forceUnlink
    with: { cache: "\${{ params.cache }}", unlink: [amr-shop-carts-west] }
outputs:
  persistence: \${{ steps.persistence.outputs }}
  group: \${{ steps.group.outputs }}
  unlink: \${{ steps.unlink.outputs }}
`

let emulator: RunningEmulator
let arm: AzureServices
let dir: string
let catalogFile: string

beforeAll(async () => {
  dir = scratchDir()
  catalogFile = join(dir, 'runbooks.yaml')
  writeFileSync(catalogFile, CATALOG)
  writeFileSync(join(dir, 'amr-geo.yaml'), USER_RUNBOOK)
  emulator = await startEmulator({catalogFile, environmentName: 'local', lroDurationMs: 100})
  const loaded = loadCatalog({flag: catalogFile})
  arm = createAzureServices({
    environment: loaded.catalog.environments.local!,
    environmentName: 'local',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, blob: emulator.blob, subscription: emulator.subscription},
  })
})
afterAll(async () => {
  // A test that failed half-way leaves its connection open: it would keep reconnecting to the stopped server.
  for (const client of clients) client.disconnect()
  await emulator?.stop()
})

const step = (json: any, id: string) => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === 'main')
/** A step's outputs as the run's summary.json keeps them. */
const outputsOf = (json: any, id: string) => JSON.parse(readFileSync(json.summary, 'utf8')).steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === 'main').outputs

/** A TLS connection to the database's real redis-server, found the way opsbook finds it (host name → local port). */
const clients: Array<import('ioredis').Redis> = []
async function database(): Promise<import('ioredis').Redis> {
  const endpoint = await arm.redisEndpoint('amr-shop-carts.eastus.redis.azure.net', 10000, {user: 'integration-test'})
  const {Redis} = await import('ioredis')
  const client = new Redis({host: endpoint.host, port: endpoint.port, username: 'integration-test', password: 'token-not-checked', tls: {ca: endpoint.ca, servername: endpoint.servername}, lazyConnect: true})
  clients.push(client)
  await client.connect()
  return client
}

describe('redis-export and redis-restore on a Managed Redis component', () => {
  it('exports through managedredis.export, reads the RDB back, and restores the keys through managedredis.import', async () => {
    const data = await database()
    await data.set('cart:amr-1', 'three items')
    const exported = await runRunbook(emulator, 'redis-export', ['--catalog', catalogFile, '--target', 'carts'], {cwd: dir, inProcess: true})
    expect(exported.code, exported.stderr).toBe(0)
    expect(step(exported.json, 'export').status).toBe('skipped')
    expect(step(exported.json, 'export-managed').status).toBe('succeeded')
    const [blob] = exported.json.outputs.blobs as string[]
    // The export wrote into the directory the sasUri named: <cluster>-<UTC time>Z.rdb/<database>.rdb.
    expect(blob).toMatch(/^amr-shop-carts-\d{8}T\d{6}Z\.rdb\/default\.rdb$/)
    // RPO read from the data: the canary opsbook wrote just before the export is inside the RDB.
    expect(Date.parse(exported.json.outputs.canaryAt)).toBeGreaterThan(Date.now() - 5 * 60_000)
    expect(exported.json.outputs.keyCount).toBe(await data.dbsize())
    expect(exported.json.outputs.meetsRpo).toBe(true)
    expect(exported.stdout + exported.stderr).not.toMatch(/sig=/)
    expect(requests(emulator).some((r) => r.method === 'POST' && /\/redisEnterprise\/amr-shop-carts\/databases\/default\/export$/i.test(r.path))).toBe(true)

    await data.del('cart:amr-1')
    await data.set('cart:amr-2', 'after the snapshot')
    data.disconnect()
    const restored = await runRunbook(emulator, 'redis-restore', ['--catalog', catalogFile, '--target', 'carts', '--param', `snapshot=${blob}`], {cwd: dir, inProcess: true})
    expect(restored.code, restored.stderr).toBe(0)
    expect(step(restored.json, 'import').status).toBe('skipped')
    expect(step(restored.json, 'import-managed').status).toBe('succeeded')
    expect(step(restored.json, 'verify-managed').status).toBe('succeeded')
    expect(restored.json.outputs).toMatchObject({snapshot: blob, dataAsOf: exported.json.outputs.canaryAt, dataAsOfSource: 'data', keyCount: exported.json.outputs.keyCount})
    const after = await database()
    expect(await after.get('cart:amr-1')).toBe('three items')
    expect(await after.get('cart:amr-2')).toBeNull()
    after.disconnect()
  })

  it('refuses an export or import SAS that ends less than an hour ahead or starts less than 15 minutes back, as Azure does', async () => {
    // Microsoft's Managed Redis FAQ (learn.microsoft.com/azure/redis/how-to-import-export-data, "I received a timeout
    // error during my Import/Export operation"): "The SAS token end time (se) must be at least 1 hour from now and the
    // start time (st), if given, must be at least 15 minutes in the past." The emulator enforced it for the classic
    // cache only; opsbook's own SAS (the test above) meets it.
    const rule = /The SAS token end time \(se\) must be at least 1 hour from now and the start time \(st\), if given, must be at least 15 minutes in the past/
    const client = await arm.redisEnterprise()
    for (const sas of [{expiresInMs: 2 * 3_600_000}, {expiresInMs: 3_600_000, startsBeforeMs: 20 * 60_000}]) {
      const container = await arm.containerSasUrl('stamrsnapshots', 'amr-snapshots', {permissions: 'racwdtm', ...sas})
      await expect(client.databases.beginExportAndWait('rg-amr', 'amr-shop-carts', 'default', {sasUri: container.replace('?', '/sas-rule?')}, {updateIntervalInMs: 10})).rejects.toThrow(rule)
      await expect(client.databases.beginImportAndWait('rg-amr', 'amr-shop-carts', 'default', {sasUris: [container.replace('?', '/sas-rule/default.rdb?')]}, {updateIntervalInMs: 10})).rejects.toThrow(rule)
    }
  })
})

describe('Managed Redis import/export SAS permissions', () => {
  it('refuses an export SAS without the permissions Microsoft lists and an import SAS that cannot read, with the request (400 ErrorResponse)', async () => {
    // learn.microsoft.com/azure/redis/how-to-import-export-data, FAQ "Which permissions need to be granted to the storage
    // account container shared access signature (SAS) token to allow export?": read, add, create, write, delete, tag, move.
    const client = await arm.redisEnterprise()
    const times = {expiresInMs: 2 * 3_600_000, startsBeforeMs: 20 * 60_000}
    const old = await arm.containerSasUrl('stamrsnapshots', 'amr-snapshots', {permissions: 'rcwl', ...times})
    const refused = await client.databases.beginExportAndWait('rg-amr', 'amr-shop-carts', 'default', {sasUri: old.replace('?', '/sas-perm?')}, {updateIntervalInMs: 10}).catch((e: unknown) => e)
    expect(refused).toMatchObject({statusCode: 400, code: 'InvalidRequestBody'})
    expect(String((refused as Error).message)).toMatch(/does not grant the permissions export needs: read, add, create, write, delete, tag, move \(missing: add, delete, tag, move\)/)
    const writeOnly = await arm.containerSasUrl('stamrsnapshots', 'amr-snapshots', {permissions: 'w', ...times})
    await expect(client.databases.beginImportAndWait('rg-amr', 'amr-shop-carts', 'default', {sasUris: [writeOnly.replace('?', '/sas-perm/default.rdb?')]}, {updateIntervalInMs: 10})).rejects.toThrow(
      /does not grant the permissions import needs: read \(missing: read\)/,
    )
  })
})

describe('a failed Managed Redis export', () => {
  it("names Azure's reason although the operation status nests it (ErrorResponse) where the SDK's poller does not look", async () => {
    // redisenterprise.json OperationStatus.error is an ErrorResponse ({error: {code, message}}): the SDK reports only
    // "The long-running operation has failed"; opsbook reads the reason from the operation's monitor.
    emulator.faults.set({failOperations: {'managedRedis.databases.export': {code: 'InternalServerError', message: 'Injected: the export could not be written.'}}})
    try {
      const run = await runRunbook(emulator, 'redis-export', ['--catalog', catalogFile, '--target', 'carts'], {cwd: dir, inProcess: true})
      expect(run.code, run.stderr).toBe(1)
      // The reason, under the action's own name for what failed (carried as data by the error, not read back from its text).
      expect(run.stdout + run.stderr).toMatch(/export of amr-shop-carts failed: InternalServerError: Injected: the export could not be written\./)
    } finally {
      emulator.faults.clear()
    }
  })
})

describe('Managed Redis persistence and active geo-replication', () => {
  it('reads persistence and the group, and force-unlinks the lost region\'s database', async () => {
    const run = await runRunbook(emulator, join(dir, 'amr-geo.yaml'), ['--catalog', catalogFile, '--target', 'carts'], {cwd: dir, inProcess: true})
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.persistence).toMatchObject({mode: 'rdb', frequency: '6h', expected: 'rdb/PT6H', matches: true})
    expect(run.json.outputs.group).toMatchObject({group: 'shop-carts', allLinked: true})
    expect(run.json.outputs.group.linkedDatabases.map((l: {cluster: string}) => l.cluster)).toEqual(['amr-shop-carts', 'amr-shop-carts-west'])
    expect(run.json.outputs.unlink).toEqual({cache: 'amr-shop-carts', unlinked: ['amr-shop-carts-west'], remaining: ['amr-shop-carts']})
    const client = await arm.redisEnterprise()
    const db = await client.databases.get('rg-amr', 'amr-shop-carts', 'default')
    expect(db.geoReplication?.linkedDatabases?.map((l) => l.id)).toEqual([expect.stringMatching(/\/redisEnterprise\/amr-shop-carts\/databases\/default$/)])
  })
})

describe('opsbook check on a Managed Redis cluster', () => {
  it('reports TLS, public access, Entra-only auth and persistence, reading the database at the api-version that has them', async () => {
    const result = await runCliInProcess(['check', '--env', 'local', '--catalog', catalogFile, '--format', 'json'], {cwd: dir, env: emulator.env()})
    const findings = (JSON.parse(result.stdout).findings as Array<{checkId: string; resourceId: string; status: string}>).filter((f) => f.checkId.startsWith('amr.'))
    const status = Object.fromEntries(findings.map((f) => [f.checkId, f.status]))
    // The seeded cluster: TLS 1.2, public access on, access keys on, RDB persistence from the catalog.
    // No scheduled maintenance windows yet (maintenance-window below sets them).
    expect(status).toEqual({'amr.tls.min12': 'pass', 'amr.net.public_disabled': 'fail', 'amr.auth.entra_only': 'fail', 'amr.data.persistence': 'pass', 'amr.maintenance.window': 'fail'})
    expect(findings.every((f) => /\/redisEnterprise\/amr-shop-carts$/i.test(f.resourceId))).toBe(true)
  })
})

/** The cluster's maintenance windows as a 2026-09-01 client reads them, and whether a 2022-01-01 read (the SDK's) shows any. */
async function maintenanceWindows(): Promise<{windows: unknown; olderShows: boolean}> {
  const id = '/subscriptions/00000000-0000-0000-0000-00000000a3a3/resourceGroups/rg-amr/providers/Microsoft.Cache/redisEnterprise/amr-shop-carts'
  const current = await arm.armRequest('GET', id, {apiVersion: '2026-09-01'})
  const older = await arm.armRequest('GET', id, {apiVersion: '2022-01-01'})
  return {windows: current.body.properties.maintenanceConfiguration?.maintenanceWindows, olderShows: 'maintenanceConfiguration' in older.body.properties}
}

const amrCheck = async (catalog: string) => {
  const result = await runCliInProcess(['check', '--env', 'local', '--catalog', catalog, '--format', 'json'], {cwd: dir, env: emulator.env()})
  return (JSON.parse(result.stdout).findings as Array<{checkId: string; status: string; message: string}>).find((f) => f.checkId === 'amr.maintenance.window')!
}

describe('maintenance-window on a Managed Redis component', () => {
  it('warns in catalog validate, fails the apply step and the check when Azure cannot take the windows, and changes nothing', async () => {
    const shortFile = join(dir, 'short-window.yaml')
    writeFileSync(shortFile, SHORT_WINDOW_CATALOG)
    const validate = await runCliInProcess(['catalog', 'validate', '--catalog', shortFile, '--json'], {cwd: dir})
    expect(validate.code, validate.stderr).toBe(0)
    const warnings = JSON.parse(validate.stdout).warnings as Array<{component: string; path: string; message: string}>
    expect(warnings).toEqual([
      {
        environment: 'local',
        component: 'carts',
        path: 'environments.local.components.carts.window',
        message: expect.stringContaining('Azure Managed Redis cannot take its windows (Sunday 04:00 UTC for PT1H): each maintenance window must last at least 4 hours (PT1H is shorter)'),
      },
    ])
    expect(warnings[0]!.message).toContain('https://learn.microsoft.com/azure/redis/scheduled-maintenance')
    // window status says it beside the windows themselves.
    const status = await runCliInProcess(['window', 'status', '--env', 'local', '--catalog', shortFile, '--json'], {cwd: dir})
    const carts = JSON.parse(status.stdout).components.find((c: {component: string}) => c.component === 'carts')
    expect(carts.managedRedisMaintenance).toMatchObject({windows: [], problem: expect.stringContaining('each maintenance window must last at least 4 hours')})

    const run = await runRunbook(emulator, 'maintenance-window', ['--catalog', shortFile], {cwd: dir, inProcess: true})
    expect(run.code, run.stderr).toBe(1)
    const apply = step(run.json, 'amr-apply-carts')
    expect(apply.status).toBe('failed')
    expect(apply.error).toMatch(/^amr-shop-carts: Azure Managed Redis cannot take its windows \(Sunday 04:00 UTC for PT1H\): each maintenance window must last at least 4 hours/)
    expect((await maintenanceWindows()).windows).toBeUndefined()
    expect(requests(emulator).some((r) => r.method === 'PATCH' && /\/redisEnterprise\/amr-shop-carts$/i.test(r.path))).toBe(false)

    const finding = await amrCheck(shortFile)
    expect(finding.status).toBe('fail')
    expect(finding.message).toMatch(/^no maintenance windows \(Azure applies updates at its discretion\); the catalog's windows cannot be set: /)
  })

  it('sets the weekly windows in UTC on the hour, reads them back without drift, and the check passes', async () => {
    const run = await runRunbook(emulator, 'maintenance-window', ['--catalog', catalogFile], {cwd: dir, inProcess: true})
    expect(run.code, run.stderr).toBe(0)
    // Saturday 00:30–09:30 UTC starts at the next full hour (inside the catalog's window); Sunday 00:00–10:00 as it is.
    const expected = [
      {type: 'Weekly', duration: 'PT8H30M', startHourUtc: 1, schedule: {dayOfWeek: 'Saturday'}},
      {type: 'Weekly', duration: 'PT10H', startHourUtc: 0, schedule: {dayOfWeek: 'Sunday'}},
    ]
    expect(run.json.outputs.before.managedredis).toEqual({
      carts: {cache: 'amr-shop-carts', windows: [], expected, drift: true, differences: ['no maintenance windows: Azure applies updates at its discretion; expected Saturday 01:00 UTC for PT8H30M, Sunday 00:00 UTC for PT10H']},
    })
    const apply = outputsOf(run.json, 'amr-apply-carts')
    expect(apply).toMatchObject({cache: 'amr-shop-carts', windows: expected, changed: true})
    expect(apply.notes).toEqual([expect.stringContaining('00:30 UTC becomes 01:00 UTC (PT8H30M)')])
    expect(run.json.outputs.after.managedredis).toEqual({carts: {cache: 'amr-shop-carts', windows: expected, expected, drift: false, differences: []}})
    // What Azure (the emulator) holds now, at the api-version that has the property; older versions leave it out.
    expect(await maintenanceWindows()).toEqual({windows: expected, olderShows: false})
    const patches = requests(emulator).filter((r) => r.method === 'PATCH' && /\/redisEnterprise\/amr-shop-carts$/i.test(r.path))
    expect(patches).toHaveLength(1)

    // Run again: nothing to change.
    const again = await runRunbook(emulator, 'maintenance-window', ['--catalog', catalogFile], {cwd: dir, inProcess: true})
    expect(again.code, again.stderr).toBe(0)
    expect(outputsOf(again.json, 'amr-apply-carts').changed).toBe(false)

    const status = await runCliInProcess(['window', 'status', '--env', 'local', '--catalog', catalogFile, '--json'], {cwd: dir})
    expect(JSON.parse(status.stdout).components.find((c: {component: string}) => c.component === 'carts').managedRedisMaintenance.windows).toEqual(expected)

    const finding = await amrCheck(catalogFile)
    expect(finding).toMatchObject({status: 'pass', message: "maintenance windows Saturday 01:00 UTC for PT8H30M, Sunday 00:00 UTC for PT10H as the catalog's windows"})
  })

  it('the plan names the PATCH at 2026-09-01 and the az redisenterprise line with the windows', async () => {
    const plan = await runCliInProcess(['plan', 'maintenance-window', '--env', 'local', '--catalog', catalogFile, '--json'], {cwd: dir, env: emulator.env()})
    expect(plan.code, plan.stderr).toBe(0)
    const apply = JSON.parse(plan.stdout).steps.find((s: {id: string}) => s.id === 'amr-apply-carts')
    expect(apply.arm).toEqual([
      expect.objectContaining({method: 'GET', path: expect.stringMatching(/\/redisEnterprise\/amr-shop-carts\?api-version=2026-09-01$/)}),
      expect.objectContaining({method: 'PATCH', path: expect.stringMatching(/\/redisEnterprise\/amr-shop-carts\?api-version=2026-09-01$/), longRunning: true}),
    ])
    // Marked for the az conformance suite: Debian's az 2.45 has no redisenterprise command group (an extension's).
    expect(apply.az).toEqual([
      `az redisenterprise update --resource-group rg-amr --cluster-name amr-shop-carts --maintenance-configuration '{"maintenance-windows":[{"type":"Weekly","duration":"PT8H30M","start-hour-utc":1,"schedule":{"day-of-week":"Saturday"}},{"type":"Weekly","duration":"PT10H","start-hour-utc":0,"schedule":{"day-of-week":"Sunday"}}]}'  # needs az newer than 2.45 (Debian's az 2.45 has no redisenterprise command group: it is the redisenterprise extension's)`,
    ])
    expect(apply.permissions).toEqual(['Microsoft.Cache/redisEnterprise/read', 'Microsoft.Cache/redisEnterprise/write'])
  })
})
