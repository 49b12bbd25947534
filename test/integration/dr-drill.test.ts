/**
 * The quarterly drill through the real CLI against an emulator started here: the table, the teardown, the journal,
 * a restore Azure refuses, a production drill outside its window, and the plan a human can take over with.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {runCli} from '../helpers/cli.js'
import {oldSnapshot, postgresServers, repoRoot, runRunbook, scratchDir, sdkServices, servedVersion, startLocalEmulator} from './support.js'

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

describe('dr-drill', () => {
  it('restores, verifies and measures every component, tears the scratch server down, and journals it', async () => {
    const run = await runRunbook(emulator, 'dr-drill')
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.status).toBe('succeeded')
    const rows = run.json.objectives as Array<{component: string; type: string; rto: {measuredMs?: number; met?: boolean}; rpo: {measuredMs?: number; met?: boolean}; status: string}>
    expect(rows.map((r) => [r.component, r.type, r.status])).toEqual([
      ['orders-db', 'postgres', 'met'],
      ['sessions-cache', 'redis', 'met'],
      ['storefront', 'webapp', 'met'],
      ['storefront-dr', 'webapp', 'met'],
    ])
    for (const row of rows) expect(row.rto.met).toBe(true)
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
    const steps = JSON.parse(readFileSync(run.json.summary, 'utf8')).steps as Array<{id: string; outputs?: Record<string, any>}>
    const restoreData = steps.find((s) => s.id === 'redis-restore-data-sessions-cache')!.outputs!
    expect(restoreData.dataAsOfSource).toBe('data')
    expect(restoreData.probes).toEqual([
      {probe: 'canary', ok: true, detail: expect.stringMatching(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb: opsbook:canary = /)},
      {probe: 'keyCount', ok: true, detail: expect.stringContaining('the snapshot: ')},
    ])
    // The drill's own export holds the canary it wrote just before exporting.
    const readback = steps.find((s) => s.id === 'redis-readback-sessions-cache')!.outputs!
    expect(readback.probes.find((p: {probe: string}) => p.probe === 'canaryWritten')).toMatchObject({ok: true})

    // The drill did restore into a scratch server, and nothing of it is left.
    const restores = emulator.state.activity.list().filter((e) => e.kind === 'postgres.georestore')
    expect(restores.length).toBeGreaterThan(0)
    expect(await drillCopies()).toEqual([])
    // Production serves what it served before the slot round trip.
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')

    const journal = readFileSync(run.json.journal, 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"pg-teardown-orders-db"')
  })

  it('measures the same scheduled snapshot in a second drill: the first drill\'s export is not a snapshot, and is deleted', {timeout: 150_000}, async () => {
    const before = (await snapshotBlobs()).map((b) => b.name)
    const redisRow = (run: {json: any}) => (run.json.objectives as Row[]).find((r) => r.type === 'redis')!
    const first = await runRunbook(emulator, 'dr-drill')
    expect(first.code, first.stderr).toBe(0)
    expect(await drillBlobs()).toEqual([])
    const second = await runRunbook(emulator, 'dr-drill')
    expect(second.code, second.stderr).toBe(0)
    // Both read the same scheduled snapshot's data, which only ages: a drill copy counted as a snapshot would read
    // the second drill's RPO as the seconds since the first drill's canary.
    expect(redisRow(second).rpo.measuredMs).toBeGreaterThan(redisRow(first).rpo.measuredMs!)
    // Each drill did export (and read back) a copy of its own, then deleted it; the scheduled snapshots are untouched.
    for (const run of [first, second]) {
      const steps = JSON.parse(readFileSync(run.json.summary, 'utf8')).steps as Array<{id: string; outputs: Record<string, unknown>}>
      const outputs = (id: string) => steps.find((s) => s.id === id)!.outputs
      expect(outputs('redis-export-sessions-cache').blobs).toEqual([`opsbook-drill-redis-shop-sessions-${run.json.runId}.rdb`])
      expect(outputs('redis-teardown-sessions-cache').deleted).toEqual(outputs('redis-export-sessions-cache').blobs)
    }
    const restored = (run: {json: any}) => (JSON.parse(readFileSync(run.json.summary, 'utf8')).steps as Array<{id: string; outputs: any}>).find((s) => s.id === 'redis-restore-data-sessions-cache')!.outputs
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
    const lenient = await runRunbook(emulator, 'dr-drill', [], {cwd})
    expect(lenient.code, lenient.stderr).toBe(0)
    expect((lenient.json.objectives as Row[]).find((r) => r.component === 'orders-db')?.status).toBe('unmeasured')
    const run = await runRunbook(emulator, 'dr-drill', ['--param', 'requireMeasured=true'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    const rows = run.json.objectives as Row[]
    expect(rows.map((r) => [r.component, r.status])).toEqual([
      ['orders-db', 'unmeasured'],
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

  it('measures every other component when Azure fails one restore, prints the table with the failed row, tears down, and exits 1', async () => {
    emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'Injected: the restore could not be completed.'}}})
    // Without --json, as a person runs it: the table is printed; the summary on disk holds the same run.
    const cwd = scratchDir()
    const run = await runCli(['run', 'dr-drill', '--env', 'local', '--yes'], {cwd, env: emulator.env(), timeoutMs: 90_000})
    expect(run.code, run.stderr).toBe(1)
    const [runId] = readdirSync(join(cwd, '.opsbook', 'runs'))
    const summary = JSON.parse(readFileSync(join(cwd, '.opsbook', 'runs', runId!, 'summary.json'), 'utf8'))
    expect(summary.status).toBe('failed')
    const step = (id: string, phase = 'main') => summary.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)
    expect(step('pg-geo-restore-orders-db')).toMatchObject({status: 'failed', continued: true})
    expect(step('pg-geo-restore-orders-db').error.message).toContain('Injected')
    expect(step('report')).toMatchObject({status: 'failed', error: {message: 'recovery objectives not met: orders-db failed'}})

    // One row per component: the failed one with its error, the others measured and met.
    const rows = summary.outputs.objectives as Array<Row & {error?: string; rto: {measuredMs?: number; met?: boolean}}>
    expect(rows.map((r) => [r.component, r.status])).toEqual([
      ['orders-db', 'failed'],
      ['sessions-cache', 'met'],
      ['storefront', 'met'],
      ['storefront-dr', 'met'],
    ])
    expect(rows[0]!.error).toMatch(/^pg-geo-restore: .*Injected: the restore could not be completed/)
    expect(rows[0]!.rto.measuredMs).toBeUndefined()
    for (const row of rows.slice(1)) expect(row.rto.met, row.component).toBe(true)
    expect(rows[1]!.rpo.measuredMs).toBeGreaterThan(0)
    expect(run.stdout).toContain('Recovery objectives (local):')
    expect(run.stdout).toMatch(/orders-db +│ postgres │.*│ failed +│ failed in pg-geo-restore: /)
    expect(run.stdout).toMatch(/storefront +│ webapp +│ ✔ /)

    // Teardown and rollbacks completed (the failed restore's own operation is noted, not a leftover resource).
    expect(step('pg-teardown-orders-db', 'finally').status).toBe('succeeded')
    expect(step('redis-teardown-sessions-cache', 'finally').status).toBe('succeeded')
    expect(summary.leftBehind.filter((l: string) => /^(rollback of|finally step)/.test(l))).toEqual([])
    // The slot round trip completed, and its rollback found production already serving its version from before.
    expect(step('web-swap-back-storefront').status).toBe('succeeded')
    expect(step('web-swap-storefront', 'rollback')).toMatchObject({status: 'succeeded', outputs: {swappedBack: false}})
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')
    expect(await drillCopies()).toEqual([])
    expect(await drillBlobs()).toEqual([])
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
    const run = await runRunbook(fresh, 'dr-drill', ['--param', 'geo=never'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.status).toBe('failed')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'report').error).toBe('recovery objectives not met: sessions-cache missed')
    const cache = run.json.objectives.find((r: {component: string}) => r.component === 'sessions-cache')
    expect(cache).toMatchObject({status: 'missed', rpo: {objectiveMs: 15 * 60_000, met: false}})
    expect(cache.notes.join()).toContain('RPO PT15M is shorter than the snapshot frequency PT1H')
    expect(run.json.objectives.map((r: {status: string}) => r.status)).toEqual(['met', 'missed', 'met', 'met'])
    // geo=never: the cross-region server gets a point-in-time restore in its own region instead.
    expect(run.json.objectives[0].notes[0]).toBe('point-in-time restore')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'pg-geo-restore-orders-db').status).toBe('skipped')
    expect((await postgresServers(sdkServices(fresh))).filter((s) => /-drill-/.test(s.name))).toEqual([])
  })

  it('turns a data probe that cannot sign in into a failed row with the reason, and measures the rest', async () => {
    // An access-key probe whose key was never given: the canary cannot be written, so the Redis chain stops there.
    const cwd = scratchDir()
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('probe: { canary:', 'probe: { auth: accessKey, accessKeyParam: SESSIONS_KEY, canary:')
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const run = await runRunbook(fresh, 'dr-drill', ['--param', 'geo=never'], {cwd})
    expect(run.code, run.stderr).toBe(1)
    const cache = run.json.objectives.find((r: {component: string}) => r.component === 'sessions-cache')
    expect(cache).toMatchObject({status: 'failed', rpo: {objectiveMs: 3_600_000}})
    expect(cache.error).toMatch(/^redis-export: no access key for redis-shop-sessions: set the environment variable OPSBOOK_PARAM_SESSIONS_KEY/)
    expect(run.json.objectives.map((r: {status: string}) => r.status)).toEqual(['met', 'failed', 'met', 'met'])
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

    const json = await runCli(['plan', 'dr-drill', '--env', 'local', '--json'], {cwd: scratchDir(), env: emulator.env()})
    const plan = JSON.parse(json.stdout) as {steps: Array<{id: string; uses: string; changes: boolean; arm: unknown[]; az: string[]; permissions: string[]}>; permissions: string[]}
    // One step per component, and every step that changes Azure says how, with what right, and how to do it by hand.
    expect(plan.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['pg-restore-orders-db', 'redis-export-sessions-cache', 'web-swap-storefront', 'pg-teardown-orders-db']))
    for (const step of plan.steps.filter((s) => s.changes)) {
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
