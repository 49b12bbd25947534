/**
 * The other built-in runbooks through the real CLI (`run … --env local --json --yes`) against an emulator started
 * here: each JSON result parses and the exit code is the one DESIGN.md gives; what each did is checked in the
 * emulator (its ARM API through the SDK, its request log, Blob).
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
// Commands run in the test process against the emulator (the same command code, without a CLI start each).
import {runCliInProcess} from '../helpers/cli.js'
import {postgresServers, redisData, requests, runRunbookInProcess as runRunbook, scratchDir, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
let arm: AzureServices

beforeAll(async () => {
  emulator = await startLocalEmulator()
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString()
const step = (json: any, id: string, phase = 'main') => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)

const BUILT_IN = ['dr-drill', 'pg-pitr', 'pg-promote-replica', 'redis-export', 'redis-restore', 'slot-swap', 'maintenance-window', 'hello']

describe('built-in runbooks', () => {
  it('all validate with `opsbook runbooks validate`', async () => {
    const result = await runCliInProcess(['runbooks', 'validate', '--json'], {cwd: scratchDir()})
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const names = (JSON.parse(result.stdout).runbooks as Array<{name: string}>).map((r) => r.name)
    expect(names).toEqual(expect.arrayContaining(BUILT_IN))
  })

  it('hello runs and changes nothing', async () => {
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'hello', ['--param', 'pause=PT0S'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.status).toBe('succeeded')
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET' && !/\/(opsbook|msi)\//i.test(r.path))).toEqual([])
  })
})

describe('postgres.delete in a user runbook', () => {
  it('refuses to delete a server that is not a scratch copy of this run (exit 2, nothing deleted)', async () => {
    const cwd = scratchDir({
      'oops.yaml': 'name: oops\ntitle: Delete the orders database\nkind: incident\nsteps:\n  - {id: delete, uses: postgres.delete, with: {server: orders-db}}\n',
    })
    const run = await runRunbook(emulator, 'oops.yaml', [], {cwd})
    expect(run.code, run.stderr).toBe(2)
    expect(step(run.json, 'delete').error).toContain('refusing to delete pg-shop-orders')
    expect(requests(emulator).filter((r) => r.method === 'DELETE' && /pg-shop-orders$/i.test(r.path))).toEqual([])
    expect((await postgresServers(arm)).map((s) => s.name)).toContain('pg-shop-orders')
  })
})

describe('pg-pitr', () => {
  it('restores to a new server, verifies the restore point, and keeps it', async () => {
    const restoreTime = minutesAgo(30)
    const run = await runRunbook(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${restoreTime}`])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.server).toMatch(/^pg-shop-orders-pitr-/)
    expect(Date.parse(run.json.outputs.restorePoint)).toBe(Date.parse(restoreTime))
    const restored = (await postgresServers(arm)).find((s) => s.name === run.json.outputs.server)
    expect(restored?.tags).toMatchObject({'opsbook-run-id': run.json.runId, 'opsbook-scratch': 'false'})
    expect(step(run.json, 'cutover').status).toBe('skipped')
    // What the on-call engineer does next, with the new server's name and host, also without --param cutover=true.
    expect(run.json.outputs.nextSteps).toBe(
      `to cut over, point the application at ${run.json.outputs.fqdn} instead of the host of orders-db (connection setting or Key Vault secret), restart it and check it; to keep ${run.json.outputs.server}, remove its opsbook-expires tag (set to expire after P7D); the old server is untouched: delete it only after the incident review`,
    )
    expect(run.json.outputs.fqdn).toContain(run.json.outputs.server)
  })

  it('refuses a restore time outside retention with exit 2 before any change', async () => {
    const from = emulator.requestLog().length
    // 20 days back: inside the 35 days a flexible server may keep (plan cannot refuse it), outside this one's 14 days.
    const run = await runRunbook(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${minutesAgo(20 * 24 * 60)}`])
    expect(run.code, run.stderr).toBe(2)
    expect(run.json.status).toBe('failed')
    expect(step(run.json, 'check').error).toContain('outside the restore window')
    expect(step(run.json, 'restore').status).toBe('cancelled')
    expect(requests(emulator).slice(from).filter((r) => r.method === 'PUT' && /flexibleServers/i.test(r.path))).toEqual([])
  })

  it('cleans up after a restore Azure fails, and exits 1', async () => {
    emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'Injected restore failure.'}}})
    const before = (await postgresServers(arm)).map((s) => s.name)
    const run = await runRunbook(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${minutesAgo(20)}`])
    expect(run.code, run.stderr).toBe(1)
    expect(step(run.json, 'restore')).toMatchObject({status: 'failed'})
    expect(step(run.json, 'cleanup-failed-restore', 'finally').status).toBe('succeeded')
    expect((await postgresServers(arm)).map((s) => s.name)).toEqual(before)
    // The failed restore ended in Azure: nothing is reported as possibly still running.
    expect(run.json.leftBehind).toEqual([])
  })

  it('finds the copy in the source\'s resource group when that is not the environment\'s first (drill leg: scratch, geo, teardown)', async () => {
    // As in examples/azure-platform.yaml, where orders-db lives in rg-shop-prod-data: the copy is restored beside the
    // source, and the later steps used to look for it by name in the first resource group (NotFound until timeout).
    // The file's emulator serves it: the repository's orders-db, in the second of the catalog's resource groups (the
    // first, created here, has no server). No emulator of its own, no CLI process.
    const created = await arm.armRequest('PUT', `/subscriptions/${emulator.subscription}/resourcegroups/rg-shop-app`, {body: {location: 'eastus'}, apiVersion: '2021-04-01'})
    expect(created.status).toBeLessThan(300)
    const dir = scratchDir({
      'runbooks.yaml': `version: 1
environments:
  local:
    cloud: emulator
    subscription: ${emulator.subscription}
    region: eastus
    pairedRegion: westus
    resourceGroups: [rg-shop-app, rg-shop-local]
    components:
      orders-db: {type: postgres, name: pg-shop-orders, resourceGroup: rg-shop-local, version: "16", backupRetentionDays: 14, geoRedundantBackup: true}
`,
    })
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'pg-pitr', ['--target', 'orders-db', '--param', `restoreTime=${minutesAgo(30)}`, '--param', 'scratch=true', '--param', 'geo=true', '--param', 'teardown=true'], {cwd: dir})
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.json.outputs.server).toMatch(/^pg-shop-orders-drill-/)
    for (const id of ['geo-restore', 'ready', 'verify']) expect(step(run.json, id).status, id).toBe('succeeded')
    const getsOfCopy = requests(emulator).slice(from).filter((r) => r.method === 'GET' && r.path.toLowerCase().endsWith(`/flexibleservers/${run.json.outputs.server}`))
    // Every read of the copy went to rg-shop-local (none to rg-shop-app, where it is not), and it was found there.
    expect(getsOfCopy.filter((r) => !/\/resourceGroups\/rg-shop-local\//i.test(r.path))).toEqual([])
    expect(getsOfCopy.some((r) => r.status === 200)).toBe(true)
    // Torn down: the copy is gone, the source is left.
    const names = (await postgresServers(arm)).map((server) => server.name)
    expect(names).toContain('pg-shop-orders')
    expect(names).not.toContain(run.json.outputs.server)
  })
})

describe('cosmos-pitr', () => {
  it('restores into a new account, verifies its data and keeps it for a cutover (no teardown)', async () => {
    const run = await runRunbook(emulator, 'cosmos-pitr', ['--target', 'catalog-cosmos'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.account).toMatch(/^cosmos-shop-local-pitr-/)
    // The copy's probe container was read: items and the newest `_ts` (the RPO against the restore point).
    expect(run.json.outputs).toMatchObject({dataAsOfSource: 'data', items: expect.any(Number)})
    expect(run.json.outputs.items).toBeGreaterThan(0)
    expect(Date.parse(run.json.outputs.dataAsOf)).toBeLessThanOrEqual(Date.parse(run.json.outputs.restorePoint))
    expect(step(run.json, 'teardown', 'finally').status).toBe('skipped')
    const copy = await (await arm.cosmos()).databaseAccounts.get('rg-shop-local', run.json.outputs.account)
    expect(copy.tags).toMatchObject({'opsbook-run-id': run.json.runId})
    expect(copy.tags?.['opsbook-expires']).toBeDefined()
  })
})

describe('redis-export and redis-restore', () => {
  it('exports a snapshot, reads it back, and restores the cache\'s real keys from it after approval, verified from the data', async () => {
    const data = await redisData(emulator)
    await data.set('order:42', 'placed')
    const exported = await runRunbook(emulator, 'redis-export', ['--target', 'sessions-cache'])
    expect(exported.code, exported.stderr).toBe(0)
    const [blob] = exported.json.outputs.blobs as string[]
    expect(blob).toMatch(/^redis-shop-sessions-/)
    expect(exported.json.outputs.meetsRpo).toBe(true)
    // The RDB was parsed: it holds the canary opsbook wrote just before exporting, and the cache's keys.
    expect(Date.parse(exported.json.outputs.canaryAt)).toBeGreaterThan(Date.now() - 5 * 60_000)
    expect(exported.json.outputs.keyCount).toBe(await data.dbsize())
    // The SAS handed to Azure never reaches the output.
    expect(exported.stdout + exported.stderr).not.toMatch(/sig=/)

    // What happens after the snapshot is lost by restoring it; what it holds comes back.
    await data.del('order:42')
    await data.set('order:43', 'after the snapshot')
    data.disconnect()
    const restored = await runRunbook(emulator, 'redis-restore', ['--target', 'sessions-cache', '--param', `snapshot=${blob}`])
    expect(restored.code, restored.stderr).toBe(0)
    expect(restored.json.outputs.snapshot).toBe(blob)
    expect(restored.json.outputs).toMatchObject({dataAsOf: exported.json.outputs.canaryAt, dataAsOfSource: 'data', keyCount: exported.json.outputs.keyCount})
    expect(step(restored.json, 'approve').status).toBe('succeeded')
    expect(requests(emulator).some((r) => r.method === 'POST' && /\/import$/i.test(r.path))).toBe(true)
    const after = await redisData(emulator)
    expect(await after.get('order:42')).toBe('placed')
    expect(await after.get('order:43')).toBeNull()
    after.disconnect()
  })

  it('restores from the latest snapshot when none is named', async () => {
    const run = await runRunbook(emulator, 'redis-restore', ['--target', 'sessions-cache'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.snapshot).toMatch(/^redis-shop-sessions-.*\.rdb$/)
    // The recovery ends when the cache is verified, not when drill.measure reads the measurement: a drill resumed after
    // an interruption measured the pause between its segments into the RTO (41.6 s for a 5.6 s restore).
    const {startedAt, verifiedAt} = run.json.outputs.measurement
    expect(Date.parse(verifiedAt)).toBeGreaterThanOrEqual(Date.parse(startedAt))
    expect(Date.parse(verifiedAt)).toBeLessThanOrEqual(Date.parse(run.json.finishedAt))
  })
})

describe('slot-swap', () => {
  it('a round trip\'s measurement ends when production answered after the swap back, not when it is read', async () => {
    const run = await runRunbook(emulator, 'slot-swap', ['--target', 'storefront', '--param', 'roundTrip=true', '--param', 'watch=PT0S'])
    expect(run.code, run.stderr).toBe(0)
    const {startedAt, verifiedAt} = run.json.outputs.measurement
    expect(Date.parse(verifiedAt)).toBeGreaterThan(Date.parse(startedAt))
    expect(Date.parse(verifiedAt)).toBeLessThanOrEqual(Date.parse(run.json.finishedAt))
  })
})

describe('maintenance-window', () => {
  it('applies the catalog windows, verifies them, and reports drift before and after', async () => {
    const run = await runRunbook(emulator, 'maintenance-window')
    expect(run.code, run.stderr).toBe(0)
    const {before, after} = run.json.outputs
    // The emulator seeds system-managed windows: drift before, none after.
    expect(before.postgres['orders-db'].drift).toBe(true)
    expect(after.postgres['orders-db']).toMatchObject({drift: false, customWindow: 'Enabled', dayOfWeek: 0, startHour: 2})
    expect(after.redis['sessions-cache'].drift).toBe(false)
    // The repository catalog's Managed Redis cache: its two 9-hour weekend windows become the cluster's scheduled maintenance.
    expect(before.managedredis['carts-cache']).toMatchObject({windows: [], drift: true})
    expect(after.managedredis['carts-cache']).toMatchObject({
      drift: false,
      windows: [
        {type: 'Weekly', duration: 'PT9H', startHourUtc: 0, schedule: {dayOfWeek: 'Saturday'}},
        {type: 'Weekly', duration: 'PT9H', startHourUtc: 0, schedule: {dayOfWeek: 'Sunday'}},
      ],
    })
    // A second run finds nothing to change.
    const again = await runRunbook(emulator, 'maintenance-window')
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.outputs.before.postgres['orders-db'].drift).toBe(false)
    expect(again.json.outputs.before.managedredis['carts-cache'].drift).toBe(false)
  })
})

describe('pg-promote-replica', () => {
  it('promotes the geo replica to a standalone server after approval', async () => {
    const run = await runRunbook(emulator, 'pg-promote-replica', ['--param', 'replica=pg-shop-orders-dr', '--param', 'option=forced'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.server).toBe('pg-shop-orders-dr')
    expect(step(run.json, 'approve').status).toBe('succeeded')
    const client = await arm.postgres()
    const promoted = await client.servers.get('rg-shop-local', 'pg-shop-orders-dr')
    expect(promoted.replica?.role ?? promoted.replicationRole).not.toMatch(/replica$/i)
  })
})
