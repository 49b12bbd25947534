/**
 * The quarterly drill through the real CLI against an emulator started here: the table, the teardown, the journal,
 * a restore Azure refuses, a production drill outside its window, and the plan a human can take over with.
 */
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {runCli} from '../helpers/cli.js'
import {oldSnapshot, postgresServers, repoRoot, runRunbook, runRunbookInProcess, scratchDir, sdkServices, servedVersion, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
let arm: AzureServices
let emulatorStartedAt: number

beforeAll(async () => {
  emulatorStartedAt = Date.now()
  emulator = await startLocalEmulator()
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

const drillCopies = async () => (await postgresServers(arm)).filter((s) => s.tags['opsbook-scratch'] === 'true' || /-drill-/.test(s.name))
/** Blobs in the Redis snapshot container, with the drill-copy marker when a blob has one. */
const snapshotBlobs = async (services = arm) => {
  const out: Array<{name: string; drillRun?: string}> = []
  for await (const blob of (await services.blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat({includeMetadata: true}))
    out.push({name: blob.name, ...(blob.metadata?.opsbookdrillrun ? {drillRun: blob.metadata.opsbookdrillrun} : {})})
  return out
}
const drillBlobs = async (services = arm) => (await snapshotBlobs(services)).filter((b) => b.drillRun || b.name.startsWith('opsbook-drill-'))
type Row = {component: string; type: string; status: string; rpo: {measuredMs?: number; met?: boolean}; notes: string[]}
type DrillRun = Awaited<ReturnType<typeof runRunbook>>
/** The drill as the first tests see it, run once (in the test process) and shared: several assertions, one drill. */
let firstDrill: Promise<DrillRun> | undefined
const drill = () => (firstDrill ??= runRunbookInProcess(emulator, 'dr-drill'))
const summarySteps = (run: {json: any}) => JSON.parse(readFileSync(run.json.summary, 'utf8')).steps as Array<{id: string; phase: string; status: string; outputs: Record<string, any>}>

describe('dr-drill', () => {
  it('restores, verifies and measures every component, tears the scratch server down, and journals it', {timeout: 150_000}, async () => {
    const run = await drill()
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.status).toBe('succeeded')
    const rows = run.json.objectives as Array<{component: string; type: string; rto: {measuredMs?: number; met?: boolean}; rpo: {measuredMs?: number; met?: boolean}; status: string}>
    expect(rows.map((r) => [r.component, r.type, r.status])).toEqual([
      ['orders-db', 'postgres', 'met'],
      ['payments-db', 'sqldb', 'met'],
      ['sessions-cache', 'redis', 'met'],
      ['storefront', 'webapp', 'met'],
      ['storefront-dr', 'webapp', 'met'],
    ])
    for (const row of rows) expect(row.rto.met).toBe(true)
    // The SQL leg (sql-pitr into a scratch database): both objectives measured, the RPO from the copy's newest row.
    const sql = rows.find((r) => r.type === 'sqldb')!
    expect(sql.rto.measuredMs).toBeGreaterThan(0)
    expect(sql.rpo.measuredMs).toBeGreaterThanOrEqual(0)
    expect(sql.rpo.met).toBe(true)
    // orders-db has a cross-region objective: it is geo-restored, and geo backups trail the primary (10 s in the local catalog).
    const db = rows.find((r) => r.type === 'postgres')! as (typeof rows)[number] & {notes: string[]}
    expect(db.notes[0]).toBe('geo restore into westus')
    expect(db.rpo.measuredMs).toBeGreaterThanOrEqual(9_000)
    expect(db.rpo.met).toBe(true)
    // The Redis RPO is read from the data: the canary inside the newest scheduled snapshot (taken when the emulator
    // started, with the data it had), against the drill's start — seconds to minutes here, never a seeded age.
    const cacheRow = rows.find((r) => r.type === 'redis')!
    expect(cacheRow.rpo.measuredMs).toBeGreaterThan(0)
    expect(cacheRow.rpo.measuredMs).toBeLessThan(Date.now() - emulatorStartedAt)
    const steps = summarySteps(run)
    // Each component's leg is the incident runbook, its steps nested under the call.
    const restoreData = steps.find((s) => s.id === 'redis-restore-sessions-cache.readback')!.outputs!
    expect(restoreData.dataAsOfSource).toBe('data')
    expect(restoreData.probes).toEqual([
      {probe: 'canary', ok: true, detail: expect.stringMatching(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb: opsbook:canary = /)},
      {probe: 'keyCount', ok: true, detail: expect.stringContaining('the snapshot: ')},
    ])
    // The drill's own export holds the canary it wrote just before exporting.
    const readback = steps.find((s) => s.id === 'redis-restore-sessions-cache.export-readback')!.outputs!
    expect(readback.probes.find((p: {probe: string}) => p.probe === 'canaryWritten')).toMatchObject({ok: true})

    // The drill did restore into a scratch server, and nothing of it is left.
    const restores = emulator.state.activity.list().filter((e) => e.kind === 'postgres.georestore')
    expect(restores.length).toBeGreaterThan(0)
    expect(await drillCopies()).toEqual([])
    // Production serves what it served before the slot round trip.
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')

    const journal = readFileSync(run.json.journal, 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"pg-pitr-orders-db.teardown"')
    // The scratch database of the SQL leg is gone too.
    const sqlTeardown = steps.find((s) => s.id === 'sql-pitr-payments-db.teardown' && s.phase === 'finally')!
    expect(sqlTeardown.status).toBe('succeeded')
    expect(sqlTeardown.outputs.deleted).toBe(true)
  })

  it('measures the same scheduled snapshot in a second drill: the first drill\'s export is not a snapshot, and is deleted', {timeout: 150_000}, async () => {
    const redisRow = (run: {json: any}) => (run.json.objectives as Row[]).find((r) => r.type === 'redis')!
    const first = await drill()
    expect(first.code, first.stderr).toBe(0)
    expect(await drillBlobs()).toEqual([])
    const before = (await snapshotBlobs()).map((b) => b.name)
    const second = await runRunbookInProcess(emulator, 'dr-drill')
    expect(second.code, second.stderr).toBe(0)
    // Both read the same scheduled snapshot's data, which only ages: a drill copy counted as a snapshot would read
    // the second drill's RPO as the seconds since the first drill's canary.
    expect(redisRow(second).rpo.measuredMs).toBeGreaterThan(redisRow(first).rpo.measuredMs!)
    // Each drill did export (and read back) a copy of its own, then deleted it; the scheduled snapshots are untouched.
    for (const run of [first, second]) {
      const outputs = (id: string) => summarySteps(run).find((s) => s.id === id)!.outputs
      expect(outputs('redis-restore-sessions-cache.export').blobs).toEqual([`opsbook-drill-redis-shop-sessions-${run.json.runId}.rdb`])
      expect(outputs('redis-restore-sessions-cache.teardown').deleted).toEqual(outputs('redis-restore-sessions-cache.export').blobs)
    }
    const restored = (run: {json: any}) => summarySteps(run).find((s) => s.id === 'redis-restore-sessions-cache.readback')!.outputs
    expect(restored(second).blobs.map((b: {name: string}) => b.name)).toEqual(restored(first).blobs.map((b: {name: string}) => b.name))
    expect(restored(second).canaryAt).toBe(restored(first).canaryAt)
    expect(await drillBlobs()).toEqual([])
    expect((await snapshotBlobs()).map((b) => b.name)).toEqual(before)
  })

  it('leaves the PostgreSQL RPO unmeasured where no data probe is configured, as in Azure, and names the setting (fails only with requireMeasured)', {timeout: 150_000}, async () => {
    // Azure has no opsbookData route: the emulator answers 404 for it, as ARM answers an unknown resource type.
    emulator.faults.set({transient: {rate: 1, status: 404, operations: ['postgres.data']}})
    // …and the catalog has no dataProbes for the server: nothing reads the copy.
    const cwd = scratchDir()
    writeFileSync(join(cwd, 'runbooks.yaml'), readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace(/\n {8}dataProbes:\n( {10}.*\n)+/, '\n'))
    // Without requireMeasured the row is shown, not failed (the PostgreSQL leg alone is enough to show it).
    const lenient = await runRunbookInProcess(emulator, 'dr-drill', ['--component', 'orders-db'], {cwd})
    expect(lenient.code, lenient.stderr).toBe(0)
    expect((lenient.json.objectives as Row[]).map((r) => [r.component, r.status])).toEqual([['orders-db', 'unmeasured']])
    const run = await runRunbookInProcess(emulator, 'dr-drill', ['--param', 'requireMeasured=true'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    const rows = run.json.objectives as Row[]
    expect(rows.map((r) => [r.component, r.status])).toEqual([
      ['orders-db', 'unmeasured'],
      ['payments-db', 'met'],
      ['sessions-cache', 'met'],
      ['storefront', 'met'],
      ['storefront-dr', 'met'],
    ])
    const db = rows[0]!
    expect(db.rpo.measuredMs).toBeUndefined()
    expect(db.notes.join('\n')).toContain('RPO not measured: Azure does not report the newest commit a restored server holds')
    expect(db.notes.join('\n')).toContain('set components.orders-db.dataProbes (a freshness query, or canary: true) in the catalog to measure it')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: orders-db unmeasured')
    expect(await drillCopies()).toEqual([])
  })

  it('measures every other component when Azure fails one restore, prints the table with the failed row, tears down, and exits 1', {timeout: 150_000}, async () => {
    emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'Injected: the restore could not be completed.'}}})
    // Without --json, as a person runs it: the table is printed; the summary on disk holds the same run.
    const cwd = scratchDir()
    const run = await runCli(['run', 'dr-drill', '--env', 'local', '--yes'], {cwd, env: emulator.env(), timeoutMs: 90_000})
    expect(run.code, run.stderr).toBe(1)
    const [runId] = readdirSync(join(cwd, '.opsbook', 'runs'))
    const summary = JSON.parse(readFileSync(join(cwd, '.opsbook', 'runs', runId!, 'summary.json'), 'utf8'))
    expect(summary.status).toBe('failed')
    const step = (id: string, phase = 'main') => summary.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)
    // pg-pitr failed in its geo restore; the drill went on with the other components.
    expect(step('pg-pitr-orders-db')).toMatchObject({status: 'failed', continued: true})
    expect(step('pg-pitr-orders-db.geo-restore').error.message).toContain('Injected')
    expect(step('report')).toMatchObject({status: 'failed', error: {message: 'recovery objectives not met: orders-db failed'}})

    // One row per component: the failed one with its error, the others measured and met.
    const rows = summary.outputs.objectives as Array<Row & {error?: string; rto: {measuredMs?: number; met?: boolean}}>
    expect(rows.map((r) => [r.component, r.status])).toEqual([
      ['orders-db', 'failed'],
      ['payments-db', 'met'],
      ['sessions-cache', 'met'],
      ['storefront', 'met'],
      ['storefront-dr', 'met'],
    ])
    expect(rows[0]!.error).toMatch(/^pg-pitr-orders-db\.geo-restore: .*Injected: the restore could not be completed/)
    expect(rows[0]!.rto.measuredMs).toBeUndefined()
    for (const row of rows.slice(1)) expect(row.rto.met, row.component).toBe(true)
    expect(rows[2]!.rpo.measuredMs).toBeGreaterThan(0)
    expect(run.stdout).toContain('Recovery objectives (local):')
    expect(run.stdout).toMatch(/orders-db +│ postgres │.*│ failed +│ failed in pg-pitr-orders-db\.geo-restore: /)
    expect(run.stdout).toMatch(/storefront +│ webapp +│ ✔ /)

    // Teardown and rollbacks completed (the failed restore's own operation is noted, not a leftover resource).
    expect(step('pg-pitr-orders-db.teardown', 'finally').status).toBe('succeeded')
    expect(step('redis-restore-sessions-cache.teardown', 'finally').status).toBe('succeeded')
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
    const cwd = scratchDir()
    mkdirSync(join(cwd, 'runbooks'))
    writeFileSync(join(cwd, 'runbooks', 'dr-drill.yaml'), readFileSync(join(library, 'dr-drill.yaml'), 'utf8'))
    const pgPitr = readFileSync(join(library, 'pg-pitr.yaml'), 'utf8')
    const broken = pgPitr.replace('expectVersion: ${{ env.components[params.server].version }}', 'expectVersion: "9"')
    expect(broken).not.toBe(pgPitr)
    writeFileSync(join(cwd, 'runbooks', 'pg-pitr.yaml'), broken)
    // pg-pitr on its own fails the same way: this is the incident runbook an on-call engineer would run.
    const run = await runCli(['run', 'dr-drill', '--env', 'local', '--component', 'orders-db', '--json', '--yes'], {cwd, env: emulator.env(), timeoutMs: 90_000})
    expect(run.code, run.stderr).toBe(1)
    const result = JSON.parse(run.stdout)
    expect(result.steps.find((s: {id: string}) => s.id === 'pg-pitr-orders-db.verify')).toMatchObject({status: 'failed'})
    const verifyError = result.steps.find((s: {id: string}) => s.id === 'pg-pitr-orders-db.verify').error as string
    expect(verifyError).toMatch(/version/)
    const row = (result.objectives as Array<Row & {error?: string}>).find((r) => r.component === 'orders-db')!
    expect(row.status).toBe('failed')
    expect(row.error).toBe(`pg-pitr-orders-db.verify: ${verifyError}`)
    expect(result.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: orders-db failed')
    // pg-pitr's own teardown still removed the scratch server.
    expect(await drillCopies()).toEqual([])
  })

  it('refuses a production drill outside the maintenance window (exit 5) before connecting to anything', async () => {
    // A production copy of the local environment whose windows open on a day that is not today.
    const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][(new Date().getUTCDay() + 3) % 7]
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
      .replace('production: false', 'production: true')
      .replaceAll(/day: \w+day, start: "\d\d:\d\d", end: "\d\d:\d\d", timeZone: [\w/]+/g, `day: ${day}, start: "02:00", end: "03:00", timeZone: UTC`)
    const cwd = scratchDir()
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const before = emulator.requestLog().length
    const run = await runCli(['run', 'dr-drill', '--env', 'local', '--json', '--yes'], {cwd, env: emulator.env()})
    expect(run.code, run.stderr).toBe(5)
    const error = JSON.parse(run.stdout)
    expect(error).toMatchObject({status: 'error', exitCode: 5})
    expect(error.error.message).toContain('outside its window')
    expect(emulator.requestLog().slice(before).filter((r) => r.method !== 'GET')).toEqual([])
  })
})

describe('dr-drill with an objective the configuration cannot meet', () => {
  // Its own emulator, whose newest snapshot holds data 50 minutes old.
  let fresh: RunningEmulator
  beforeAll(async () => {
    fresh = await startLocalEmulator()
    await oldSnapshot(fresh, 50 * 60_000)
  })
  afterAll(async () => fresh?.stop())

  it('fails (exit 1) with the table when an objective is missed, and says when the configuration cannot meet it', async () => {
    // An RPO of 15 minutes for a cache snapshotted hourly: its newest snapshot is 50 minutes old, and no schedule fixes that.
    const cwd = scratchDir()
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('objectives: { rto: PT30M, rpo: PT1H }', 'objectives: { rto: PT30M, rpo: PT15M }')
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const run = await runRunbookInProcess(fresh, 'dr-drill', ['--param', 'geo=never'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.status).toBe('failed')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: sessions-cache missed')
    const cache = run.json.objectives.find((r: {component: string}) => r.component === 'sessions-cache')
    expect(cache).toMatchObject({status: 'missed', rpo: {objectiveMs: 15 * 60_000, met: false}})
    expect(cache.notes.join()).toContain('RPO PT15M is shorter than the snapshot frequency PT1H')
    expect(run.json.objectives.map((r: {status: string}) => r.status)).toEqual(['met', 'met', 'missed', 'met', 'met'])
    // geo=never: the cross-region server gets a point-in-time restore in its own region instead.
    expect(run.json.objectives[0].notes[0]).toBe('point-in-time restore')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'pg-pitr-orders-db.geo-restore').status).toBe('skipped')
    expect((await postgresServers(sdkServices(fresh))).filter((s) => /-drill-/.test(s.name))).toEqual([])
  })

  it('turns a data probe that cannot sign in into a failed row with the reason, and measures the rest', async () => {
    // An access-key probe whose key was never given: the canary cannot be written, so the Redis chain stops there.
    const cwd = scratchDir()
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('probe: { canary:', 'probe: { auth: accessKey, accessKeyParam: SESSIONS_KEY, canary:')
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const run = await runRunbookInProcess(fresh, 'dr-drill', ['--param', 'geo=never'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    const cache = run.json.objectives.find((r: {component: string}) => r.component === 'sessions-cache')
    expect(cache).toMatchObject({status: 'failed', rpo: {objectiveMs: 3_600_000}})
    expect(cache.error).toMatch(/^redis-restore-sessions-cache\.export: no access key for redis-shop-sessions: set the environment variable OPSBOOK_PARAM_SESSIONS_KEY/)
    expect(run.json.objectives.map((r: {status: string}) => r.status)).toEqual(['met', 'met', 'failed', 'met', 'met'])
    expect(await drillBlobs(sdkServices(fresh))).toEqual([])
  })

})

describe('opsbook plan dr-drill --env local', () => {
  it('lists every ARM call, permission and az equivalent', async () => {
    const text = await runCli(['plan', 'dr-drill', '--env', 'local'], {cwd: scratchDir(), env: emulator.env()})
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/ARM {2}PUT \/subscriptions\/.+\/flexibleServers\/.+ \(long-running\)/)
    expect(text.stdout).toContain('az   az postgres flexible-server restore --resource-group rg-shop-local')
    expect(text.stdout).toContain('az   az redis export --resource-group rg-shop-local --name redis-shop-sessions')
    expect(text.stdout).toMatch(/ARM {2}POST \/subscriptions\/.+\/sites\/app-shop-storefront\/slotsswap/)
    // The called runbooks' steps are nested (indented) under the call that runs them.
    expect(text.stdout).toMatch(/^ {1,2}\d+\. pg-pitr-orders-db {2}\[runbook:pg-pitr\]/m)
    expect(text.stdout).toMatch(/^ {4,}\d+\. pg-pitr-orders-db\.geo-restore {2}\[postgres\.geoRestore\]/m)
    expect(text.stdout).toMatch(/^ {4,}\d+\. sql-pitr-payments-db\.restore {2}\[sql\.restore\]/m)

    const json = await runCli(['plan', 'dr-drill', '--env', 'local', '--json'], {cwd: scratchDir(), env: emulator.env()})
    const plan = JSON.parse(json.stdout) as {steps: Array<{id: string; uses: string; if?: string; changes: boolean; arm: unknown[]; az: string[]; permissions: string[]}>; permissions: string[]}
    // One step per component, and every step that changes Azure says how, with what right, and how to do it by hand.
    expect(plan.steps.map((s) => s.id)).toEqual(
      expect.arrayContaining(['pg-pitr-orders-db.restore', 'redis-restore-sessions-cache.export', 'slot-swap-storefront.swap', 'sql-pitr-payments-db.restore', 'pg-pitr-orders-db.teardown']),
    )
    // The Managed Redis variants of the Redis legs never run for a classic cache (their `if:` names the kind).
    for (const step of plan.steps.filter((s) => s.changes && !/type == 'managedredis'/.test(s.if ?? ''))) {
      expect(step.arm.length, step.id).toBeGreaterThan(0)
      expect(step.az.length, step.id).toBeGreaterThan(0)
      expect(step.permissions.length, step.id).toBeGreaterThan(0)
    }
    expect(plan.permissions).toEqual(
      expect.arrayContaining([
        'Microsoft.DBforPostgreSQL/flexibleServers/write',
        'Microsoft.DBforPostgreSQL/flexibleServers/delete',
        'Microsoft.Cache/redis/export/action',
        'Microsoft.Web/sites/slotsswap/action',
      ]),
    )
  })
})
