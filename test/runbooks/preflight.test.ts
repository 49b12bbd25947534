/**
 * Preflight against the emulator, in process: identities from the estate (reader-only, contributor, operator) sign in
 * through the unmodified DefaultAzureCredential and the emulator's permissions API answers for each. A run that lacks a
 * permission stops before its first step — nothing changed, no lease, no journal — and with the permission it runs.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createAzureServices} from '../../src/azure/clients.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {armOperation} from '../../src/emulator/services/authorization.js'
import {currentLeaseHolder} from '../../src/evidence/lease.js'
import {listRuns} from '../../src/evidence/runs-store.js'
import {ExitCode, GuardError, OpsbookError, ValidationError} from '../../src/errors.js'
import {buildPlan} from '../../src/runbooks/plan.js'
import {runDoctor, renderDoctor} from '../../src/doctor/doctor.js'
import {checkAccess} from '../../src/runbooks/preflight.js'
import {metricsAssertAction} from '../../src/actions/monitor.js'
import {managedExportAction} from '../../src/actions/managed-redis.js'
import {BLOB_TAGS_READ, BLOB_TAGS_WRITE, exportAction, REDIS_EXPORT_SAS_PERMISSIONS, sasDataActions} from '../../src/actions/redis.js'
import {makeContext, parseInput} from '../azure/helpers.js'
import {prepareRun, runRunbook, type RunOptions} from '../../src/runbooks/runner.js'
import {createApprover, preApproved} from '../../src/ui/approver.js'
import {runCliInProcess, scratchDir} from '../helpers/cli.js'

const ESTATE = `
identities:
  reader: { roles: [{ role: Reader }] }
  contributor: { roles: [{ role: Contributor }] }
  group-reader: { roles: [{ role: Reader, scope: rg-shop-local }] }
  operator:
    roles:
      - { role: Reader }
      - { role: Redis Cache Contributor, scope: rg-shop-local }
      - { role: Storage Blob Data Contributor }
  exporter:
    roles:
      - { role: Reader }
      - { role: Redis Cache Contributor, scope: rg-shop-local }
      - { role: Storage Blob Data Owner }
`
const RUNBOOK = `
name: patch-cache
title: Set the cache's patch schedule from its window
kind: maintenance
params:
  cache: { type: target, component: redis }
steps:
  - id: schedule
    uses: redis.setPatchSchedule
    with: { cache: "\${{ params.cache }}" }
`

let dir: string
let emulator: RunningEmulator
const saved = {...process.env}
beforeAll(async () => {
  dir = scratchDir({'opsbook.estate.yaml': ESTATE, 'patch-cache.yaml': RUNBOOK})
  emulator = await startEmulator({catalogFile: join(dir, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
  // The run connects to this emulator as the CLI would (OPSBOOK_EMULATOR_URL …).
  Object.assign(process.env, emulator.env())
})
afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
  Object.assign(process.env, saved)
  await emulator?.stop()
})

function as(identity: string | undefined) {
  if (identity) process.env.OPSBOOK_EMULATOR_IDENTITY = identity
  else delete process.env.OPSBOOK_EMULATOR_IDENTITY
}

function services() {
  const loaded = loadCatalog({flag: join(dir, 'runbooks.yaml')})
  const environment = loaded.catalog.environments.local!
  return {environment, services: createAzureServices({environment, environmentName: 'local', emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, blob: emulator.blob, subscription: emulator.subscription, identityEndpoint: emulator.identityEndpoint, identityHeader: emulator.identityHeader}})}
}

async function patchCachePlan() {
  const prepared = await prepareRun({runbook: join(dir, 'patch-cache.yaml'), envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir, params: {}, target: 'sessions-cache'})
  return buildPlan(prepared)
}

function runOptions(where = dir): RunOptions {
  const policy = {yes: true, approvedSteps: [], interactive: false, user: 'test'}
  return {
    runbook: join(dir, 'patch-cache.yaml'),
    envName: 'local',
    catalogFlag: join(where, 'runbooks.yaml'),
    cwd: where,
    params: {},
    target: 'sessions-cache',
    approver: createApprover(policy),
    interactive: false,
    preApproved: (step) => preApproved(policy, step),
    listeners: [],
    signal: new AbortController().signal,
  }
}

describe('RBAC preflight against the emulator', () => {
  it('asks the permissions API as each identity and names what is missing with a built-in role that grants it', async () => {
    const plan = await patchCachePlan()
    as('reader')
    const reader = await checkAccess(plan, services().environment, services().services)
    expect(reader.principal).toContain('emulator managed identity (reader)')
    expect(reader.missing.map((m) => [m.step, m.permission, m.role])).toEqual(
      expect.arrayContaining([
        ['schedule', 'Microsoft.Cache/redis/patchSchedules/write', 'Redis Cache Contributor'],
        ['evidence', 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', 'Storage Blob Data Contributor'],
      ]),
    )
    expect(reader.missing.find((m) => m.permission.endsWith('patchSchedules/read'))).toBeUndefined()
    as('contributor')
    const contributor = await checkAccess(plan, services().environment, services().services)
    // Contributor manages everything but holds no data action: only the evidence upload is missing.
    expect([...new Set(contributor.missing.map((m) => m.step))]).toEqual(['evidence'])
    expect(contributor.missing.every((m) => m.dataAction && m.scope === `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local`)).toBe(true)
    as('operator')
    expect((await checkAccess(plan, services().environment, services().services)).missing).toEqual([])
    as(undefined)
    expect((await checkAccess(plan, services().environment, services().services)).missing).toEqual([])
  })

  it('an on-call cache operator may restore a classic cache: steps its params rule out (Managed Redis, the drill teardown) need no permission', async () => {
    const prepared = await prepareRun({runbook: 'redis-restore', envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir, params: {}, target: 'sessions-cache'})
    const plan = buildPlan(prepared)
    expect(plan.steps.filter((s) => s.notRun).map((s) => s.id)).toEqual(expect.arrayContaining(['export-managed', 'import-managed', 'teardown']))
    expect(plan.steps.find((s) => s.id === 'import')!.notRun).toBeUndefined()
    expect(plan.permissions.some((p) => p.startsWith('Microsoft.Cache/redisEnterprise/') || p.startsWith('Microsoft.DBforPostgreSQL/'))).toBe(false)
    as('operator')
    try {
      const access = await checkAccess(plan, services().environment, services().services)
      expect(access.missing.map((m) => `${m.step} ${m.permission}`)).toEqual([])
      // The import it will run is still asked for, as every step that may run.
      expect(access.checks.some((c) => c.step === 'import' && c.permission === 'Microsoft.Cache/redis/import/action' && c.granted)).toBe(true)
    } finally {
      as(undefined)
    }
  })

  it('refuses a run before its first step (exit 6): nothing changed, no lease, no journal; with the permission it runs', async () => {
    as('reader')
    emulator.clearRequestLog()
    const refused = await runRunbook(runOptions()).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(OpsbookError)
    expect((refused as OpsbookError).exitCode).toBe(ExitCode.notReady)
    expect((refused as OpsbookError).message).toMatch(/step schedule \(redis\.setPatchSchedule\) needs Microsoft\.Cache\/redis\/patchSchedules\/write on \/subscriptions\/.*\/resourceGroups\/rg-shop-local — granted by the built-in role "Redis Cache Contributor"/)
    // The fix names the identity that was refused — its object id, from its token — not a `<principal>` to look up.
    const reader = await services().services.identity()
    expect(reader.objectId).toMatch(/^[0-9a-f-]{36}$/)
    expect((refused as OpsbookError).suggestions).toContain(
      `az role assignment create --assignee ${reader.objectId} --role "Redis Cache Contributor" --scope /subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local`,
    )
    expect((refused as OpsbookError).suggestions.join('\n')).not.toContain('<principal>')
    expect(emulator.requestLog().filter((r) => r.method !== 'GET')).toEqual([])
    // No journal: the run's folder holds only the refused-run record (who, what, why, when).
    const runs = readdirSync(join(dir, '.opsbook', 'runs'))
    expect(runs).toHaveLength(1)
    expect(readdirSync(join(dir, '.opsbook', 'runs', runs[0]!))).toEqual(['refused.json'])
    const record = JSON.parse(readFileSync(join(dir, '.opsbook', 'runs', runs[0]!, 'refused.json'), 'utf8'))
    expect(record).toMatchObject({status: 'refused', runbook: 'patch-cache', environment: 'local', changed: false, leasesTaken: 0, request: {components: ['sessions-cache'], changes: true}})
    expect(record.who.azurePrincipal).toContain('(reader)')
    expect(record.why).toMatchObject({exitCode: 6, code: 'missing-permission'})
    expect(record.why.message).toContain('Microsoft.Cache/redis/patchSchedules/write')
    expect((await listRuns(join(dir, '.opsbook')))[0]).toMatchObject({runId: runs[0], status: 'refused'})
    const container = (await services().services.blob('stshopevidence')).getContainerClient('opsbook-evidence')
    expect(await currentLeaseHolder(container, 'local', 'sessions-cache')).toBeUndefined()

    as('operator')
    const result = await runRunbook(runOptions())
    expect(result.status).toBe('succeeded')
    expect(emulator.requestLog().some((r) => r.method === 'PUT' && r.path.endsWith('/patchSchedules/default'))).toBe(true)
    expect(readFileSync(result.journal, 'utf8')).toContain('"run.finished"')
  })
})

describe('the data actions behind the Redis export SAS', () => {
  it('declares, for both kinds of cache, the data action behind every letter of the export SAS', () => {
    const behindSas = sasDataActions(REDIS_EXPORT_SAS_PERMISSIONS)
    // r a c w d t m: read, add (a and c), write, delete, tags read + write, move.
    expect(behindSas.map((p) => p.replace('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/', ''))).toEqual(['read', 'add/action', 'write', 'delete', 'tags/read', 'tags/write', 'move/action'])
    for (const action of [exportAction, managedExportAction]) expect(action.permissions).toEqual(expect.arrayContaining(behindSas))
    // A letter with no known data action is an error, never a permission silently not asked for.
    expect(() => sasDataActions('rl')).toThrow(/SAS permission "l"/)
  })

  it('refuses an export (exit 6) to an identity whose roles lack the tag data actions (Storage Blob Data Contributor): nothing changed, no journal; Storage Blob Data Owner is enough', async () => {
    emulator.clearRequestLog()
    const cwd = scratchDir({'opsbook.estate.yaml': ESTATE})
    const refused = await runCliInProcess(['run', 'redis-export', '--env', 'local', '--target', 'sessions-cache', '--yes', '--json'], {cwd, env: {OPSBOOK_EMULATOR_IDENTITY: 'operator'}})
    expect(refused.code, refused.stdout + refused.stderr).toBe(ExitCode.notReady)
    const error = JSON.parse(refused.stdout).error
    expect(error.code).toBe('missing-permission')
    expect(error.details.missing.map((m: {step: string; permission: string; role?: string}) => [m.step, m.permission, m.role])).toEqual([
      ['export', BLOB_TAGS_READ, 'Storage Blob Data Owner'],
      ['export', BLOB_TAGS_WRITE, 'Storage Blob Data Owner'],
    ])
    expect(error.message).toContain(`step export (redis.export) needs ${BLOB_TAGS_WRITE} (data action) on /subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local — granted by the built-in role "Storage Blob Data Owner"`)
    expect(error.suggestions.join('\n')).toContain('--role "Storage Blob Data Owner"')
    // Before anything changed: only reads reached the emulator, and the run left its refused-run record only.
    expect(emulator.requestLog().filter((r) => r.method !== 'GET')).toEqual([])
    const [run] = readdirSync(join(cwd, '.opsbook', 'runs'))
    expect(readdirSync(join(cwd, '.opsbook', 'runs', run!))).toEqual(['refused.json'])

    const plan = buildPlan(await prepareRun({runbook: 'redis-export', envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir, params: {}, target: 'sessions-cache'}))
    as('exporter')
    try {
      const access = await checkAccess(plan, services().environment, services().services)
      expect(access.missing).toEqual([])
      expect(access.checks.filter((c) => c.step === 'export' && c.dataAction).map((c) => c.permission)).toEqual(expect.arrayContaining([BLOB_TAGS_READ, BLOB_TAGS_WRITE]))
    } finally {
      as(undefined)
    }
  })
})

describe('which identity `opsbook run` signs in as against the emulator', () => {
  const run = (env: Record<string, string | undefined>) => {
    // A folder of its own: the runs here must not show up in the file's other folder.
    const cwd = scratchDir({'opsbook.estate.yaml': ESTATE, 'patch-cache.yaml': RUNBOOK})
    return runCliInProcess(['run', './patch-cache.yaml', '--env', 'local', '--target', 'sessions-cache', '--yes', '--json'], {cwd, env}).then((result) => ({...result, cwd}))
  }

  it('a misspelt OPSBOOK_EMULATOR_IDENTITY is a bad input (exit 2) that names the variable and the estate\'s identities; nothing runs as Owner', async () => {
    emulator.clearRequestLog()
    const result = await run({OPSBOOK_EMULATOR_IDENTITY: 'raeder', AZURE_CLIENT_ID: undefined})
    expect(result.code).toBe(ExitCode.invalidInput)
    const error = JSON.parse(result.stdout).error
    expect(error).toMatchObject({code: 'unknown-emulator-identity', exitCode: 2})
    expect(error.message).toContain('OPSBOOK_EMULATOR_IDENTITY=raeder names no identity')
    expect(error.message).toContain('No MSI found for specified ClientId/ResourceId.')
    expect(error.message).toContain("the estate's identities: reader, contributor, group-reader, operator, exporter")
    // The token endpoint refused it, and nothing was asked of ARM with any token.
    expect(emulator.requestLog().filter((r) => r.operation === 'identity.token').map((r) => r.status)).toEqual([400])
    expect(emulator.requestLog().filter((r) => r.operation !== 'identity.token' && r.operation !== 'emulator.info')).toEqual([])
  })

  it('an AZURE_CLIENT_ID for real Azure in the shell is not sent to the emulator: the run is the default principal\'s', async () => {
    emulator.clearRequestLog()
    const result = await run({AZURE_CLIENT_ID: '5f2c9d1e-8a4b-4c3d-9e7f-1a2b3c4d5e6f', OPSBOOK_EMULATOR_IDENTITY: undefined})
    expect([result.code, JSON.parse(result.stdout).status], result.stderr).toEqual([0, 'succeeded'])
    const summary = JSON.parse(readFileSync(join(result.cwd, '.opsbook', 'runs', JSON.parse(result.stdout).runId, 'summary.json'), 'utf8'))
    expect(summary.who.azurePrincipal).toBe('opsbook-emulator')
    // No token request named an identity (MSAL may answer from its process-wide cache of the default principal's
    // token when an earlier test here asked for one: then there is no request at all).
    const tokens = emulator.requestLog().filter((r) => r.operation === 'identity.token')
    expect(tokens.filter((r) => r.status !== 200 || /client_id|object_id|principal_id|mi_res_id/.test(r.query))).toEqual([])
  })

  it('a shell set up for workload identity (AZURE_FEDERATED_TOKEN_FILE, as in AKS or a CI job) still signs in at the emulator, never at Entra', async () => {
    // The authority is a closed local port: a token exchange there fails the run instead of reaching the internet.
    const federated = {
      AZURE_CLIENT_ID: '5f2c9d1e-8a4b-4c3d-9e7f-1a2b3c4d5e6f',
      AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      AZURE_FEDERATED_TOKEN_FILE: join(scratchDir({'token': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3b3JrbG9hZCJ9.'}), 'token'),
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:9/',
    }
    for (const [who, principal] of [[undefined, 'opsbook-emulator'], ['operator', 'operator']] as const) {
      const result = await run({...federated, OPSBOOK_EMULATOR_IDENTITY: who})
      expect([who, result.code, JSON.parse(result.stdout).status], result.stdout).toEqual([who, 0, 'succeeded'])
      const summary = JSON.parse(readFileSync(join(result.cwd, '.opsbook', 'runs', JSON.parse(result.stdout).runId, 'summary.json'), 'utf8'))
      expect([who, summary.who.azurePrincipal]).toEqual([who, principal])
    }
  })
})

describe('the emulator enforces role assignments on ordinary ARM calls', () => {
  it('maps requests to their RBAC operation as ARM names them', () => {
    const rg = '/subscriptions/s/resourceGroups/rg/providers'
    expect(armOperation('PUT', `${rg}/Microsoft.Cache/redis/c/patchSchedules/default`)).toEqual({operation: 'Microsoft.Cache/redis/patchSchedules/write', scope: `${rg}/Microsoft.Cache/redis/c/patchSchedules/default`, resourceGroup: 'rg'})
    expect(armOperation('POST', `${rg}/Microsoft.Web/sites/app/slots/staging/slotsswap`)).toMatchObject({operation: 'Microsoft.Web/sites/slots/slotsswap/action', scope: `${rg}/Microsoft.Web/sites/app/slots/staging`})
    expect(armOperation('DELETE', '/subscriptions/s/resourceGroups/rg')).toMatchObject({operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete'})
    expect(armOperation('GET', `${rg}/Microsoft.Cache/redis/c/providers/Microsoft.Insights/metrics`)).toMatchObject({operation: 'Microsoft.Insights/metrics/read'})
  })

  it('answers the metrics batch API 401 without a metrics-read role on the subscription itself (Reader on the resource group is not enough), as Learn documents', async () => {
    const site = `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Web/sites/app-shop-storefront`
    const query = async () => (await services().services.metrics()).queryResources([site], ['Requests'], 'Microsoft.Web/sites', {startTime: new Date(Date.now() - 600_000), endTime: new Date()})
    // The monitor step as the user runs it: its failure names the subscription-level role.
    const step = () => {
      const {environment, services: azure} = services()
      const {context} = makeContext({environment, services: azure, catalog: loadCatalog({flag: join(dir, 'runbooks.yaml')}).catalog})
      return metricsAssertAction.run(parseInput(metricsAssertAction, {resource: 'storefront', window: 'PT10M'}), context)
    }
    try {
      as('group-reader')
      const refused = await query().then(() => undefined, (error: any) => error)
      expect(refused?.statusCode).toBe(401)
      const failed = await step().then(() => undefined, (error: OpsbookError) => error)
      expect(failed?.message).toMatch(/read metrics of app-shop-storefront/)
      expect(failed?.suggestions.join(' ')).toMatch(/Monitoring Reader \(or Reader\) assigned on the whole subscription/)
      as('reader')
      expect((await query())[0]?.resourceId).toBe(site)
      expect((await step()).ok).toBe(true)
    } finally {
      as(undefined)
    }
  })

  it('refuses a reader that gets past preflight with 403 AuthorizationFailed, as Azure does; reads and granted writes go through', async () => {
    const cache = `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Cache/redis/redis-shop-sessions`
    const schedule = {scheduleEntries: [{dayOfWeek: 'Sunday', startHourUtc: 2, maintenanceWindow: 'PT5H'}]}
    as('reader')
    const redis = await services().services.redis()
    // The unmodified SDK client, straight at "Azure": no preflight in between.
    const refused = await redis.patchSchedules.createOrUpdate('rg-shop-local', 'redis-shop-sessions', 'default', schedule as never).then(() => undefined, (error: any) => error)
    expect(refused?.statusCode).toBe(403)
    expect(refused?.code).toBe('AuthorizationFailed')
    expect(refused?.message).toMatch(/^The client '[0-9a-f-]{36}' with object id '[0-9a-f-]{36}' does not have authorization to perform action 'Microsoft\.Cache\/redis\/patchSchedules\/write' over scope '.*\/redis-shop-sessions\/patchSchedules\/default' or the scope is invalid/)
    expect((await services().services.armRequest('GET', cache, {apiVersion: '2024-11-01'})).status).toBe(200)
    const keys = await services().services.armRequest('POST', `${cache}/listKeys`, {apiVersion: '2024-11-01'})
    expect([keys.status, keys.body?.error?.code]).toEqual([403, 'AuthorizationFailed'])
    as('operator')
    const allowed = await (await services().services.redis()).patchSchedules.createOrUpdate('rg-shop-local', 'redis-shop-sessions', 'default', schedule as never)
    expect(allowed.scheduleEntries[0]?.dayOfWeek).toBe('Sunday')
    as(undefined)
  })
})

describe('production fails closed without its evidence store', () => {
  it('refuses (exit 5) when the evidence container is unreachable, unless --no-evidence --reason, which is journaled', async () => {
    as(undefined)
    // The same emulator described as production; its Blob endpoint pointed at a closed port (a storage outage).
    const production = scratchDir({'patch-cache.yaml': RUNBOOK})
    writeFileSync(join(production, 'runbooks.yaml'), readFileSync(join(dir, 'runbooks.yaml'), 'utf8').replace('production: false', 'production: true'))
    const blob = process.env.OPSBOOK_EMULATOR_BLOB
    process.env.OPSBOOK_EMULATOR_BLOB = 'http://127.0.0.1:9/devstoreaccount1'
    try {
      const refused = await runRunbook(runOptions(production)).then(() => undefined, (error: unknown) => error)
      expect(refused).toBeInstanceOf(GuardError)
      expect((refused as GuardError).exitCode).toBe(ExitCode.blocked)
      expect((refused as GuardError).message).toContain('evidence container stshopevidence/opsbook-evidence is unavailable')
      expect((refused as GuardError).suggestions.join(' ')).toContain('--no-evidence --reason')
      // Refused before anything ran: the refused-run record only, no journal.
      const [refusedRun] = readdirSync(join(production, '.opsbook', 'runs'))
      expect(readdirSync(join(production, '.opsbook', 'runs', refusedRun!))).toEqual(['refused.json'])
      expect(JSON.parse(readFileSync(join(production, '.opsbook', 'runs', refusedRun!, 'refused.json'), 'utf8')).why).toMatchObject({exitCode: 5, code: 'blocked-evidence'})

      await expect(runRunbook({...runOptions(production), optOut: {evidence: true}})).rejects.toBeInstanceOf(ValidationError)

      const result = await runRunbook({...runOptions(production), optOut: {evidence: true, reason: 'storage outage INC-42'}})
      expect(result.status).toBe('succeeded')
      expect(result.overrides).toEqual([expect.objectContaining({kind: 'no-evidence', reason: 'storage outage INC-42', by: expect.any(String)})])
      expect(readFileSync(result.journal, 'utf8')).toContain('storage outage INC-42')
      expect(result.warnings.join('\n')).toContain('evidence container unavailable')
    } finally {
      process.env.OPSBOOK_EMULATOR_BLOB = blob
    }
  })
})

describe('opsbook doctor', () => {
  it('says per built-in runbook what a reader-only identity lacks and which role grants it; the default principal is ready', async () => {
    as('reader')
    const reader = await runDoctor({envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir})
    expect(reader.ready).toBe(false)
    expect(reader.lines.find((l) => l.check === 'credential')).toMatchObject({status: 'ok', detail: 'reader via emulator managed identity (reader)'})
    expect(reader.lines.find((l) => l.check === 'runbook hello')).toMatchObject({status: 'ok'})
    expect(reader.lines.find((l) => l.check === 'runbook slot-swap')).toMatchObject({status: 'fail', fix: expect.stringContaining('Website Contributor')})
    expect(reader.lines.find((l) => l.check === 'runbook redis-export')?.fix).toContain('Redis Cache Contributor')
    expect(renderDoctor(reader)).toMatch(/✖ runbook slot-swap +missing \d+ of \d+: /)
    as(undefined)
    const owner = await runDoctor({envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir})
    expect(owner.lines.filter((l) => l.status === 'fail')).toEqual([])
    expect(owner.lines.map((l) => l.check)).toEqual(expect.arrayContaining(['node', 'az', 'emulator: postgresql', 'emulator: redis', 'windows now', 'subscription', 'evidence', 'evidence immutability', 'leases']))
  })

  it('puts a misspelt OPSBOOK_EMULATOR_IDENTITY on its credential line, with the estate\'s identities as the fix, and checks nothing as Owner', async () => {
    as('raeder')
    try {
      const report = await runDoctor({envName: 'local', catalogFlag: join(dir, 'runbooks.yaml'), cwd: dir})
      expect(report.ready).toBe(false)
      expect(report.lines.find((l) => l.check === 'credential')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('OPSBOOK_EMULATOR_IDENTITY=raeder names no identity'),
        fix: 'set OPSBOOK_EMULATOR_IDENTITY to one of: reader, contributor, group-reader, operator, exporter',
      })
      // Not blamed on the subscription, and no permission or evidence line from a token it did not get.
      expect(report.lines.map((l) => l.check).filter((c) => c === 'subscription' || c.startsWith('runbook ') || c.startsWith('evidence'))).toEqual([])
    } finally {
      as(undefined)
    }
  })
})
