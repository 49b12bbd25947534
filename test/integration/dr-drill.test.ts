/**
 * The quarterly drill through the real CLI against an emulator started here, from the repository's catalog plus an Azure
 * Managed Redis cache, so one drill covers every kind: PostgreSQL, Azure SQL, Cosmos DB, Redis and Managed Redis, web
 * apps, Traffic Manager and Front Door. The table, the teardown, the journal, a restore Azure refuses, a production
 * drill outside its window, objectives the configuration cannot meet, a Cosmos DB account opsbook cannot restore
 * (periodic backup; the drill's Cosmos leg is cosmos-pitr's integration test), and the plan. One emulator for the whole file;
 * two full drills (the shared first one, and one with a failed restore), the other runs drill only the components
 * they are about (--component).
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {ROUTER_RPO_NOTE} from '../../src/actions/drill.js'
import type {AzureServices} from '../../src/azure/clients.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {runCliInProcess} from '../helpers/cli.js'
import {oldSnapshot, postgresServers, repoRoot, requests, runRunbookInProcess, scratchDir, sdkServices, servedVersion} from './support.js'

/** The repository's catalog with a Managed Redis cache beside the classic one (its drill leg is redis-restore too). */
// The repository's catalog: it has every drillable kind, a Managed Redis cache (carts-cache) among them.
const CATALOG = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
/** A working directory holding the drill's catalog, optionally edited. */
const drillDir = (edit: (catalog: string) => string = (c) => c) => scratchDir({'runbooks.yaml': edit(CATALOG)})

let emulator: RunningEmulator
let arm: AzureServices
let emulatorStartedAt: number
/**
 * How long a Traffic Manager / Front Door change takes to reach clients here: shorter than the emulator's default 3 s
 * (region-failover.test measures that), so each drill's two failovers and fail-backs do not wait 3 s each. 200 ms, as
 * the fault suite's: every RTO asserted here is bounded below by it whatever it is, and a drill's router legs wait it
 * twice in a row (switch, fail-back) — 500 ms made that 1 s of each of the three router drills.
 */
const ROUTING_PROPAGATION_MS = 200

beforeAll(async () => {
  emulatorStartedAt = Date.now()
  const dir = drillDir()
  emulator = await startEmulator({catalogFile: join(dir, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100, routingPropagationMs: ROUTING_PROPAGATION_MS})
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

const drillRun = (args: string[] = [], cwd = drillDir()) => runRunbookInProcess(emulator, 'dr-drill', args, {cwd})
const drillCopies = async () => (await postgresServers(arm)).filter((s) => s.tags['opsbook-scratch'] === 'true' || /-drill-/.test(s.name))
/** Blobs in the snapshot containers of both caches, with the drill-copy marker when a blob has one. */
const snapshotBlobs = async (services = arm) => {
  const out: Array<{name: string; drillRun?: string}> = []
  for (const container of ['redis-snapshots', 'amr-snapshots'])
    for await (const blob of (await services.blob('stshopsnapshots')).getContainerClient(container).listBlobsFlat({includeMetadata: true}))
      out.push({name: `${container}/${blob.name}`, ...(blob.metadata?.opsbookdrillrun ? {drillRun: blob.metadata.opsbookdrillrun} : {})})
  return out
}
const drillBlobs = async (services = arm) => (await snapshotBlobs(services)).filter((b) => b.drillRun || /\/opsbook-drill-/.test(b.name))
const cosmosAccounts = async () => {
  const names: string[] = []
  for await (const a of (await arm.cosmos()).databaseAccounts.listByResourceGroup('rg-shop-local')) names.push(a.name!)
  return names.sort()
}
/** Which region a router's front answers from now, asked over HTTP as a browser would. */
async function servedRegion(kind: 'trafficmanager' | 'frontdoor'): Promise<string | null> {
  const listed = await arm.armRequest('GET', `/_emulator/${kind}`)
  return (await fetch(`${listed.body.value[0].url}/health`)).headers.get('x-opsbook-region')
}
type Measure = {measuredMs?: number; objectiveMs?: number; met?: boolean}
type Row = {component: string; type: string; status: string; rto: Measure; rpo: Measure; notes: string[]; error?: string}
type DrillRun = Awaited<ReturnType<typeof drillRun>>
/** The drill as the first tests see it, run once (in the test process) and shared: several assertions, one drill. */
let firstDrill: Promise<DrillRun> | undefined
let requestsBeforeFirstDrill = 0
let accountsBeforeFirstDrill: string[] = []
const drill = () =>
  (firstDrill ??= (async () => {
    requestsBeforeFirstDrill = emulator.requestLog().length
    accountsBeforeFirstDrill = await cosmosAccounts()
    return drillRun()
  })())
const summarySteps = (run: {json: any}) => JSON.parse(readFileSync(run.json.summary, 'utf8')).steps as Array<{id: string; phase: string; status: string; outputs: Record<string, any>}>
const rowsOf = (run: {json: any}) => run.json.objectives as Row[]
/** Every component of the catalog, in the table's order. */
const EVERY_COMPONENT = [
  ['carts-cache', 'managedredis'],
  ['catalog-cosmos', 'cosmosdb'],
  ['orders-db', 'postgres'],
  ['payments-db', 'sqldb'],
  ['sessions-cache', 'redis'],
  ['storefront', 'webapp'],
  ['storefront-dns', 'trafficmanager'],
  ['storefront-dr', 'webapp'],
  ['storefront-edge', 'frontdoor'],
]

describe('dr-drill', () => {
  it('restores, verifies and measures every component of every kind, tears the scratch copies down, and journals it', {timeout: 300_000}, async () => {
    const run = await drill()
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.status).toBe('succeeded')
    const rows = rowsOf(run)
    expect(rows.map((r) => [r.component, r.type, r.status])).toEqual(EVERY_COMPONENT.map(([c, t]) => [c, t, 'met']))
    for (const row of rows) expect(row.rto.met, row.component).toBe(true)
    const row = (component: string) => rows.find((r) => r.component === component)!
    const steps = summarySteps(run)
    const outputs = (id: string, phase = 'main') => steps.find((s) => s.id === id && s.phase === phase)!.outputs
    // Every data store's RPO is read from the data in the copy: newest row, item `_ts`, canary inside the RDB.
    for (const store of ['orders-db', 'payments-db', 'catalog-cosmos', 'sessions-cache', 'carts-cache']) {
      expect(row(store).rpo.measuredMs, store).toBeGreaterThanOrEqual(0)
      expect(row(store).rpo.met, store).toBe(true)
    }
    // orders-db has a cross-region objective: it is geo-restored, and geo backups trail the primary (10 s in the local catalog).
    expect(row('orders-db').notes[0]).toBe('geo restore into westus')
    // The copy holds data up to (the emulator's clock at the restore request − 10 s), so the RPO is at least 10 s minus
    // the time from the point asked for to that request's answer (under load that alone passed 1 s).
    const geoRestore = outputs('pg-pitr-orders-db.geo-restore')
    const restoreRequest = emulator.requestLog().find((r) => r.method === 'PUT' && r.path.endsWith(`/flexibleServers/${geoRestore.server}`))!
    expect(row('orders-db').rpo.measuredMs).toBeGreaterThanOrEqual(10_000 - (Date.parse(restoreRequest.at) - Date.parse(geoRestore.pointInTime)))
    // Cosmos DB (cosmos-pitr into a scratch account): RPO = restore point − the newest `_ts` in the restored container.
    expect(row('catalog-cosmos').notes[0]).toMatch(/^point-in-time restore into cosmos-shop-local-drill-/)
    expect(outputs('cosmos-pitr-catalog-cosmos.verify')).toMatchObject({dataAsOfSource: 'data', items: expect.any(Number)})
    expect(outputs('cosmos-pitr-catalog-cosmos.verify').items).toBeGreaterThan(0)
    expect(requests(emulator).slice(requestsBeforeFirstDrill).some((r) => r.method === 'PUT' && /databaseAccounts\/cosmos-shop-local-drill-/.test(r.path))).toBe(true)
    expect(outputs('cosmos-pitr-catalog-cosmos.teardown', 'finally')).toMatchObject({deleted: true})
    expect(await cosmosAccounts()).toEqual(accountsBeforeFirstDrill)
    // Both Redis kinds: the RPO is the canary inside the newest scheduled snapshot (taken when the emulator started, with
    // the data it had), against the drill's start — seconds to minutes here, never a seeded age.
    for (const [cache, exportStep] of [['sessions-cache', 'export'], ['carts-cache', 'export-managed']]) {
      expect(row(cache!).rpo.measuredMs, cache).toBeGreaterThan(0)
      expect(row(cache!).rpo.measuredMs, cache).toBeLessThan(Date.now() - emulatorStartedAt)
      expect(outputs(`redis-restore-${cache}.readback`).dataAsOfSource, cache).toBe('data')
      // The drill's own export holds the canary it wrote just before exporting.
      expect(outputs(`redis-restore-${cache}.export-readback`).probes.find((p: {probe: string}) => p.probe === 'canaryWritten'), cache).toMatchObject({ok: true})
      expect(steps.find((s) => s.id === `redis-restore-${cache}.${exportStep}`)!.status, cache).toBe('succeeded')
    }
    expect(outputs('redis-restore-sessions-cache.readback').probes).toEqual([
      {probe: 'canary', ok: true, detail: expect.stringMatching(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb: opsbook:canary = /)},
      {probe: 'keyCount', ok: true, detail: expect.stringContaining('the snapshot: ')},
    ])
    // Regional failover through both routers: RTO from the switch to healthy traffic from westus; Traffic Manager's
    // (compressed) DNS TTL keeps clients on the old answer for ROUTING_PROPAGATION_MS. No RPO of their own: the data
    // tier's rows are it.
    for (const router of ['storefront-dns', 'storefront-edge']) {
      expect(row(router).notes, router).toEqual(['failover to westus and back to eastus', ROUTER_RPO_NOTE])
      expect(row(router).rpo, router).toEqual({})
      expect(outputs(`region-failover-${router}`)).toMatchObject({toRegion: 'westus', servedFrom: 'westus', failedBack: true, servedAfterFailBack: 'eastus'})
    }
    for (const router of ['storefront-dns', 'storefront-edge']) expect(row(router).rto.measuredMs, router).toBeGreaterThanOrEqual(ROUTING_PROPAGATION_MS)
    // Through ARM: only the eastus endpoint/origin was disabled, then enabled again; both fronts answer from eastus.
    const patches = requests(emulator).slice(requestsBeforeFirstDrill).filter((r) => r.method === 'PATCH')
    expect(patches.filter((r) => /trafficmanagerprofiles/i.test(r.path)).map((r) => r.path.split('/').at(-1))).toEqual(['eastus', 'eastus'])
    expect(outputs('region-failover-storefront-edge').changed).toEqual([{name: 'eastus', group: 'storefront', region: 'eastus', before: {enabled: true, priority: 1}}])
    const profile = await (await arm.trafficManager()).profiles.get('rg-shop-local', 'tm-shop-local')
    expect(profile.endpoints?.map((e) => [e.name, e.endpointStatus])).toEqual([['eastus', 'Enabled'], ['westus', 'Enabled']])
    expect((await (await arm.frontDoor()).afdOrigins.get('rg-shop-local', 'afd-shop-local', 'storefront', 'eastus')).enabledState).toBe('Enabled')
    expect([await servedRegion('trafficmanager'), await servedRegion('frontdoor')]).toEqual(['eastus', 'eastus'])

    // The drill did restore into a scratch server, and nothing of it is left.
    expect(emulator.state.activity.list().filter((e) => e.kind === 'postgres.georestore').length).toBeGreaterThan(0)
    expect(await drillCopies()).toEqual([])
    expect(await drillBlobs()).toEqual([])
    // Production serves what it served before the slot round trip.
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')

    const journal = readFileSync(run.json.journal, 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"pg-pitr-orders-db.teardown"')
    // The scratch database of the SQL leg is gone too.
    expect(outputs('sql-pitr-payments-db.teardown', 'finally').deleted).toBe(true)
  })

  it('measures the same scheduled snapshots in a second drill of the caches: the first drill\'s exports are not snapshots, and are deleted', {timeout: 150_000}, async () => {
    const first = await drill()
    expect(first.code, first.stderr).toBe(0)
    const before = (await snapshotBlobs()).map((b) => b.name)
    const second = await drillRun(['--component', 'sessions-cache,carts-cache'])
    expect(second.code, second.stderr).toBe(0)
    expect(rowsOf(second).map((r) => [r.component, r.status])).toEqual([['carts-cache', 'met'], ['sessions-cache', 'met']])
    for (const cache of ['sessions-cache', 'carts-cache']) {
      const rpo = (run: {json: any}) => rowsOf(run).find((r) => r.component === cache)!.rpo.measuredMs!
      // Both read the same scheduled snapshot's data, which only ages: a drill copy counted as a snapshot would read
      // the second drill's RPO as the seconds since the first drill's canary.
      expect(rpo(second), cache).toBeGreaterThan(rpo(first))
      const restored = (run: {json: any}) => summarySteps(run).find((s) => s.id === `redis-restore-${cache}.readback`)!.outputs
      expect(restored(second).blobs.map((b: {name: string}) => b.name)).toEqual(restored(first).blobs.map((b: {name: string}) => b.name))
      expect(restored(second).canaryAt).toBe(restored(first).canaryAt)
    }
    // Each drill exported (and read back) a copy of its own, then deleted it; the scheduled snapshots are untouched.
    for (const run of [first, second]) {
      const outputs = (id: string) => summarySteps(run).find((s) => s.id === id)!.outputs
      expect(outputs('redis-restore-sessions-cache.export').blobs).toEqual([`opsbook-drill-redis-shop-sessions-${run.json.runId}.rdb`])
      expect(outputs('redis-restore-sessions-cache.teardown').deleted).toEqual(outputs('redis-restore-sessions-cache.export').blobs)
      expect(outputs('redis-restore-carts-cache.export-managed').blobs).toEqual([`opsbook-drill-amr-shop-carts-${run.json.runId}.rdb/default.rdb`])
      expect(outputs('redis-restore-carts-cache.teardown').deleted).toEqual(outputs('redis-restore-carts-cache.export-managed').blobs)
    }
    expect(await drillBlobs()).toEqual([])
    expect((await snapshotBlobs()).map((b) => b.name)).toEqual(before)
  })

  it('leaves the PostgreSQL RPO unmeasured where no data probe is configured, as in Azure, and names the setting (fails only with requireMeasured)', {timeout: 150_000}, async () => {
    // Azure has no opsbookData route: the emulator answers 404 for it, as ARM answers an unknown resource type.
    emulator.faults.set({transient: {rate: 1, status: 404, operations: ['postgres.data']}})
    // …and the catalog has no dataProbes for the server: nothing reads the copy.
    const cwd = drillDir((c) => c.replace(/\n {8}dataProbes:\n( {10}.*\n)+/, '\n'))
    // Without requireMeasured the row is shown, not failed.
    const lenient = await drillRun(['--component', 'orders-db'], cwd)
    expect(lenient.code, lenient.stderr).toBe(0)
    expect(rowsOf(lenient).map((r) => [r.component, r.status])).toEqual([['orders-db', 'unmeasured']])
    const run = await drillRun(['--component', 'orders-db', '--param', 'requireMeasured=true'], cwd)
    expect(run.code, run.stderr).toBe(1)
    const [db] = rowsOf(run)
    expect(db).toMatchObject({component: 'orders-db', status: 'unmeasured', rto: {met: true}})
    expect(db!.rpo.measuredMs).toBeUndefined()
    expect(db!.notes.join('\n')).toContain('RPO not measured: Azure does not report the newest commit a restored server holds')
    expect(db!.notes.join('\n')).toContain('set components.orders-db.dataProbes (a freshness query, or canary: true) in the catalog to measure it')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: orders-db unmeasured')
    expect(await drillCopies()).toEqual([])
  })

  it('measures every other component when Azure fails one restore, prints the table with the failed row, tears down, and exits 1', {timeout: 150_000}, async () => {
    emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'Injected: the restore could not be completed.'}}})
    // Without --json, as a person runs it: the table is printed; the summary on disk holds the same run.
    const cwd = drillDir()
    const run = await runCliInProcess(['run', 'dr-drill', '--env', 'local', '--yes'], {cwd, env: emulator.env()})
    expect(run.code, run.stderr).toBe(1)
    const runs = join(cwd, '.opsbook', 'runs')
    // Once (run 1 of five beside a CPU hog, 3ce04af) this exited 1 in 4 s with no run recorded; say what it printed.
    expect(existsSync(runs), `no run recorded in ${runs}; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(true)
    const summary = JSON.parse(readFileSync(join(runs, readdirSync(runs)[0]!, 'summary.json'), 'utf8'))
    expect(summary.status).toBe('failed')
    const step = (id: string, phase = 'main') => summary.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)
    // pg-pitr failed in its geo restore; the drill went on with the other components.
    expect(step('pg-pitr-orders-db')).toMatchObject({status: 'failed', continued: true})
    expect(step('pg-pitr-orders-db.geo-restore').error.message).toContain('Injected')
    expect(step('report')).toMatchObject({status: 'failed', error: {message: 'recovery objectives not met: orders-db failed'}})

    // One row per component: the failed one with its error, the others measured and met.
    const rows = summary.outputs.objectives as Row[]
    expect(rows.map((r) => [r.component, r.status])).toEqual(EVERY_COMPONENT.map(([c]) => [c, c === 'orders-db' ? 'failed' : 'met']))
    const failed = rows.find((r) => r.component === 'orders-db')!
    expect(failed.error).toMatch(/^pg-pitr-orders-db\.geo-restore: .*Injected: the restore could not be completed/)
    expect(failed.rto.measuredMs).toBeUndefined()
    for (const row of rows.filter((r) => r !== failed)) expect(row.rto.met, row.component).toBe(true)
    expect(run.stdout).toContain('Recovery objectives (local):')
    expect(run.stdout).toMatch(/orders-db +│ postgres +│.*│ failed +│ failed in pg-pitr-orders-db\.geo-restore: /)
    expect(run.stdout).toMatch(/storefront +│ webapp +│ ✔ /)
    expect(run.stdout).toMatch(/storefront-edge +│ frontdoor +│ ✔ /)

    // Teardown and rollbacks completed (the failed restore's own operation is noted, not a leftover resource).
    for (const id of ['pg-pitr-orders-db.teardown', 'redis-restore-sessions-cache.teardown', 'redis-restore-carts-cache.teardown', 'cosmos-pitr-catalog-cosmos.teardown', 'region-failover-storefront-dns.restore'])
      expect(step(id, 'finally').status, id).toBe('succeeded')
    expect(summary.leftBehind.filter((l: string) => /^(rollback of|finally step)/.test(l))).toEqual([])
    // The slot round trip completed, and its teardown found production already serving its version from before.
    expect(step('slot-swap-storefront.swap-back').status).toBe('succeeded')
    expect(step('slot-swap-storefront.round-trip-restore', 'finally')).toMatchObject({status: 'succeeded', outputs: {swappedBack: false}})
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')
    expect(await drillCopies()).toEqual([])
    expect(await drillBlobs()).toEqual([])
  })

  it('fails on the orders-db leg with pg-pitr\'s own error when pg-pitr is broken: the drill rehearses the incident runbook itself', {timeout: 150_000}, async () => {
    // A team's copy of the library (the catalog's runbooksDir): dr-drill as shipped, and a pg-pitr whose verify step
    // expects a PostgreSQL version the restored server cannot have — a broken incident runbook.
    const library = join(repoRoot, 'src', 'runbooks', 'library')
    const cwd = drillDir()
    mkdirSync(join(cwd, 'runbooks'))
    writeFileSync(join(cwd, 'runbooks', 'dr-drill.yaml'), readFileSync(join(library, 'dr-drill.yaml'), 'utf8'))
    const pgPitr = readFileSync(join(library, 'pg-pitr.yaml'), 'utf8')
    const broken = pgPitr.replace('expectVersion: ${{ env.components[params.server].version }}', 'expectVersion: "9"')
    expect(broken).not.toBe(pgPitr)
    writeFileSync(join(cwd, 'runbooks', 'pg-pitr.yaml'), broken)
    // pg-pitr on its own fails the same way: this is the incident runbook an on-call engineer would run.
    const run = await drillRun(['--component', 'orders-db'], cwd)
    expect(run.code, run.stderr).toBe(1)
    const verifyError = run.json.steps.find((s: {id: string}) => s.id === 'pg-pitr-orders-db.verify')
    expect(verifyError).toMatchObject({status: 'failed', error: expect.stringMatching(/version/)})
    const [row] = rowsOf(run)
    expect(row).toMatchObject({component: 'orders-db', status: 'failed', error: `pg-pitr-orders-db.verify: ${verifyError.error}`})
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: orders-db failed')
    // pg-pitr's own teardown still removed the scratch server.
    expect(await drillCopies()).toEqual([])
  })

  it('refuses a production drill outside the maintenance window (exit 5) before connecting to anything', async () => {
    // A production copy of the local environment whose windows open on a day that is not today.
    const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][(new Date().getUTCDay() + 3) % 7]
    const cwd = drillDir((c) =>
      c.replace('production: false', 'production: true').replaceAll(/day: \w+day, start: "\d\d:\d\d", end: "\d\d:\d\d", timeZone: [\w/]+/g, `day: ${day}, start: "02:00", end: "03:00", timeZone: UTC`),
    )
    const before = emulator.requestLog().length
    const run = await drillRun([], cwd)
    expect(run.code, run.stderr).toBe(5)
    expect(run.json).toMatchObject({status: 'error', exitCode: 5})
    expect(run.json.error.message).toContain('outside its window')
    expect(emulator.requestLog().slice(before).filter((r) => r.method !== 'GET')).toEqual([])
  })

  it('reports a periodic-backup Cosmos DB account as not restorable by opsbook, with the reason, changing nothing: cosmos-pitr exits 2, the drill has a failed row', async () => {
    const client = await arm.cosmos()
    await client.databaseAccounts.beginCreateOrUpdateAndWait('rg-shop-local', 'cosmos-legacy', {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}]}, {updateIntervalInMs: 20})
    const cwd = drillDir((c) => c.replace(/^ {6}catalog-cosmos:$/m, '      legacy-cosmos:\n        type: cosmosdb\n        name: cosmos-legacy\n        backup: periodic\n        objectives: { rto: PT1H, rpo: PT1H }\n$&'))
    const from = emulator.requestLog().length
    const run = await drillRun(['--component', 'legacy-cosmos'], cwd)
    expect(run.code, run.stderr).toBe(1)
    const [row] = rowsOf(run)
    expect(row).toMatchObject({component: 'legacy-cosmos', type: 'cosmosdb', status: 'failed'})
    expect(row!.error).toMatch(/^cosmos-pitr-legacy-cosmos\.check: not restorable by opsbook: cosmos-legacy uses the Periodic backup mode: Azure restores periodic backups only through a support request/)
    expect(row!.notes).toContain('configuration: periodic backup: not restorable by opsbook (Azure restores periodic backups through a support request only); use continuous backup')
    // The incident runbook on its own: invalid input (exit 2), before anything changes.
    const pitr = await runRunbookInProcess(emulator, 'cosmos-pitr', ['--target', 'legacy-cosmos'], {cwd})
    expect(pitr.code, pitr.stderr).toBe(2)
    expect(pitr.json.steps.find((s: {id: string}) => s.id === 'check').error).toMatch(/not restorable by opsbook: cosmos-legacy uses the Periodic backup mode/)
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
  })
})

describe('opsbook plan dr-drill --env local', () => {
  it('lists every ARM call, permission and az equivalent', async () => {
    const text = await runCliInProcess(['plan', 'dr-drill', '--env', 'local'], {cwd: drillDir(), env: emulator.env()})
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/ARM {2}PUT \/subscriptions\/.+\/flexibleServers\/.+ \(long-running\)/)
    // orders-db's objective is cross-region: the drill geo-restores it, and the plan shows that (its point-in-time
    // restore step is NOT RUN with these params, with no az line).
    expect(text.stdout).toContain('az   az postgres flexible-server geo-restore --resource-group rg-shop-local')
    expect(text.stdout).toMatch(/pg-pitr-orders-db\.restore {2}\[postgres\.restore\] {2}\(NOT RUN with these params/)
    expect(text.stdout).not.toContain('az   az postgres flexible-server restore --resource-group rg-shop-local')
    expect(text.stdout).toContain('az   az redis export --resource-group rg-shop-local --name redis-shop-sessions')
    expect(text.stdout).toContain('az   az redisenterprise database export --resource-group rg-shop-local --cluster-name amr-shop-carts')
    expect(text.stdout).toContain('az   az cosmosdb restore --resource-group rg-shop-local --account-name cosmos-shop-local')
    expect(text.stdout).toContain('az   az afd origin update --resource-group rg-shop-local --profile-name afd-shop-local --origin-group-name storefront --origin-name eastus --enabled-state Disabled')
    expect(text.stdout).toMatch(/ARM {2}POST \/subscriptions\/.+\/sites\/app-shop-storefront\/slotsswap/)
    // The called runbooks' steps are nested (indented) under the call that runs them.
    expect(text.stdout).toMatch(/^ {1,2}\d+\. pg-pitr-orders-db {2}\[runbook:pg-pitr\]/m)
    expect(text.stdout).toMatch(/^ {4,}\d+\. pg-pitr-orders-db\.geo-restore {2}\[postgres\.geoRestore\]/m)
    expect(text.stdout).toMatch(/^ {4,}\d+\. sql-pitr-payments-db\.restore {2}\[sql\.restore\]/m)
    expect(text.stdout).toMatch(/^ {4,}\d+\. region-failover-storefront-dns\.switch {2}\[failover\.switch\]/m)

    const json = await runCliInProcess(['plan', 'dr-drill', '--env', 'local', '--json'], {cwd: drillDir(), env: emulator.env()})
    const plan = JSON.parse(json.stdout) as {steps: Array<{id: string; uses: string; if?: string; changes: boolean; arm: unknown[]; az: string[]; permissions: string[]}>; permissions: string[]}
    // One step per component, and every step that changes Azure says how, with what right, and how to do it by hand.
    expect(plan.steps.map((s) => s.id)).toEqual(
      expect.arrayContaining([
        'pg-pitr-orders-db.restore',
        'redis-restore-sessions-cache.export',
        'redis-restore-carts-cache.export-managed',
        'slot-swap-storefront.swap',
        'sql-pitr-payments-db.restore',
        'cosmos-pitr-catalog-cosmos.restore',
        'region-failover-storefront-edge.switch',
        'pg-pitr-orders-db.teardown',
      ]),
    )
    // A Redis leg's variant for the other kind never runs (its `if:` names the kind).
    for (const step of plan.steps.filter((s) => s.changes && !/type == '(managedredis|redis)'/.test(s.if ?? ''))) {
      expect(step.arm.length, step.id).toBeGreaterThan(0)
      expect(step.az.length, step.id).toBeGreaterThan(0)
      expect(step.permissions.length, step.id).toBeGreaterThan(0)
    }
    expect(plan.permissions).toEqual(
      expect.arrayContaining([
        'Microsoft.DBforPostgreSQL/flexibleServers/write',
        'Microsoft.DBforPostgreSQL/flexibleServers/delete',
        'Microsoft.Cache/redis/export/action',
        'Microsoft.Cache/redisEnterprise/databases/export/action',
        'Microsoft.DocumentDB/locations/restorableDatabaseAccounts/restore/action',
        'Microsoft.Network/trafficManagerProfiles/azureEndpoints/write',
        'Microsoft.Cdn/profiles/origingroups/origins/write',
        'Microsoft.Web/sites/slotsswap/action',
      ]),
    )
  })
})

// Last: these age the cache's newest snapshot, which the drills above measure.
describe('dr-drill with a web app that has no slot', () => {
  it('still fails the router over (its leg waits for the slot round trips, it is not skipped with the slot-less app)', async () => {
    // As examples/azure-platform.yaml's Basic-plan brochure: the standby has no slot, so its round trip is skipped.
    const slotless = 'name: app-shop-storefront-dr\n        region: westus\n        slots: []'
    const cwd = drillDir((c) => c.replace('name: app-shop-storefront-dr\n        region: westus\n        slots: [staging]', slotless))
    expect(readFileSync(join(cwd, 'runbooks.yaml'), 'utf8')).toContain(slotless)
    const run = await drillRun(['--component', 'storefront-dr,storefront-dns'], cwd)
    const status = (id: string) => run.json.steps.find((s: {id: string}) => s.id === id)?.status
    expect(status('slot-swap-storefront-dr')).toBe('skipped')
    expect(status('region-failover-storefront-dns'), run.stderr).toBe('succeeded')
    const router = rowsOf(run).find((r) => r.component === 'storefront-dns')!
    expect(router).toMatchObject({status: 'met'})
    expect(router.rto.measuredMs).toBeGreaterThanOrEqual(ROUTING_PROPAGATION_MS)
    // The slot-less app itself is a row that could not be drilled, which fails the run as any unmet row does.
    expect(rowsOf(run).find((r) => r.component === 'storefront-dr')).toMatchObject({status: 'failed'})
    expect(run.code).toBe(1)
  })
})

describe('dr-drill with an objective the configuration cannot meet', () => {
  it('fails (exit 1) with the table when an objective is missed, and says when the configuration cannot meet it', async () => {
    await oldSnapshot(emulator, 50 * 60_000)
    // An RPO of 15 minutes for a cache snapshotted hourly: its newest snapshot is 50 minutes old, and no schedule fixes that.
    const cwd = drillDir((c) => c.replace('objectives: { rto: PT30M, rpo: PT1H }', 'objectives: { rto: PT30M, rpo: PT15M }'))
    const run = await drillRun(['--component', 'orders-db,sessions-cache', '--param', 'geo=never'], cwd)
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.status).toBe('failed')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: sessions-cache missed')
    const cache = rowsOf(run).find((r) => r.component === 'sessions-cache')!
    expect(cache).toMatchObject({status: 'missed', rpo: {objectiveMs: 15 * 60_000, met: false}})
    expect(cache.notes.join()).toContain('RPO PT15M is shorter than the snapshot frequency PT1H')
    // geo=never: the cross-region server gets a point-in-time restore in its own region instead.
    const db = rowsOf(run).find((r) => r.component === 'orders-db')!
    expect(db).toMatchObject({status: 'met', notes: ['point-in-time restore']})
    expect(run.json.steps.find((s: {id: string}) => s.id === 'pg-pitr-orders-db.geo-restore').status).toBe('skipped')
    expect(await drillCopies()).toEqual([])
  })

  it('turns a data probe that cannot sign in into a failed row with the reason, and measures the rest', async () => {
    // An access-key probe whose key was never given: the canary cannot be written, so the Redis chain stops there.
    const cwd = drillDir((c) => c.replace('probe: { canary:', 'probe: { auth: accessKey, accessKeyParam: SESSIONS_KEY, canary:'))
    const run = await drillRun(['--component', 'sessions-cache,payments-db'], cwd)
    expect(run.code, run.stderr).toBe(1)
    const cache = rowsOf(run).find((r) => r.component === 'sessions-cache')!
    expect(cache).toMatchObject({status: 'failed', rpo: {objectiveMs: 3_600_000}})
    expect(cache.error).toMatch(/^redis-restore-sessions-cache\.export: no access key for redis-shop-sessions: set the environment variable OPSBOOK_PARAM_SESSIONS_KEY/)
    expect(rowsOf(run).map((r) => [r.component, r.status])).toEqual([['payments-db', 'met'], ['sessions-cache', 'failed']])
    expect(await drillBlobs()).toEqual([])
  })
})
