/**
 * Tier and capability rules (src/azure/capabilities.ts): the emulator refuses what Azure refuses for a tier, the
 * runbook that would issue it stops in preflight (exit 2, before anything connects or changes), and `catalog
 * validate` warns about a declared SKU that cannot do what the component needs.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {findAction} from '../../src/actions/registry.js'
import {catalogCapabilityWarnings, geoRestoreRefusal, postgresRefusal, redisRefusal, slotLimitOf, slotRefusal} from '../../src/azure/capabilities.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {ExitCode} from '../../src/errors.js'
import {planContext} from '../../src/runbooks/plan.js'
import {prepareRun} from '../../src/runbooks/runner.js'
import {credentialFor, hlcOptions, modularOptions, RG} from '../emulator/helpers.js'
import {repoRoot, runCli, scratchDir} from '../helpers/cli.js'

/** The repository catalog with a Standard cache, a Burstable server (no HA, no replicas) and a Basic plan. */
function downgradedCatalog(): string {
  const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
    .replace('sku: Premium', 'sku: Standard')
    .replace('slots: [staging]', 'slots: [staging]\n        planSku: B1')
    .replace('        highAvailability: ZoneRedundant\n        replicas:\n          - { name: pg-shop-orders-dr, region: westus }\n', '        highAvailability: Disabled\n        sku: Standard_B1ms\n')
  expect(text).toContain('sku: Standard_B1ms')
  return scratchDir({'runbooks.yaml': text})
}

describe('the rules, as Microsoft documents them', () => {
  it('Redis: import/export, persistence, geo-replication and VNet injection need Premium; zones Standard or Premium', () => {
    for (const feature of ['import/export', 'data persistence', 'geo-replication', 'virtual network injection'] as const) {
      expect(redisRefusal(feature, 'Premium')).toBeUndefined()
      expect(redisRefusal(feature, 'Standard')?.allowedTiers).toEqual(['Premium'])
    }
    expect(redisRefusal('zone redundancy', 'Standard')).toBeUndefined()
    expect(redisRefusal('zone redundancy', 'Basic')?.message).toMatch(/needs Standard or Premium/)
  })

  it('PostgreSQL: Burstable has no HA and no read replicas', () => {
    expect(postgresRefusal('high availability', 'Standard_B2s')?.allowedTiers).toEqual(['GeneralPurpose', 'MemoryOptimized'])
    expect(postgresRefusal('read replicas', 'Standard_D2ds_v5')).toBeUndefined()
  })

  it('App Service: slots per plan tier', () => {
    expect([slotLimitOf('B1').slots, slotLimitOf('S1').slots, slotLimitOf('P1v3').slots, slotLimitOf('I1v2').slots]).toEqual([0, 5, 20, 20])
    expect(slotRefusal('B1', 1)?.message).toMatch(/Basic \(B1\) tier, which allows 0; it needs Standard or Premium or Isolated/)
    expect(slotRefusal('S1', 6)?.allowedTiers).toEqual(['Premium', 'Isolated'])
  })
})

describe('catalog validate warns about a declared SKU that cannot do what the component needs', () => {
  it('names the component, the field and the tier that would allow it', async () => {
    const dir = downgradedCatalog()
    const warnings = catalogCapabilityWarnings(loadCatalog({cwd: dir}).catalog)
    expect(warnings.map((w) => w.path).sort()).toEqual(['environments.local.components.sessions-cache.sku', 'environments.local.components.storefront.planSku'])
    expect(warnings.find((w) => w.component === 'sessions-cache')!.message).toMatch(/snapshots .* import\/export is not available in the Standard tier; it needs Premium/)
    expect(catalogCapabilityWarnings(loadCatalog({cwd: repoRoot}).catalog)).toEqual([])
    const cli = await runCli(['catalog', 'validate', '--json'], {cwd: dir})
    expect(cli.code).toBe(0)
    expect(JSON.parse(cli.stdout).warnings).toHaveLength(2)
  })
})

describe('geo-restore needs geo-redundant backup, settable only when the server is created', () => {
  const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('geoRedundantBackup: true', 'geoRedundantBackup: false')
  const dir = scratchDir({'runbooks.yaml': text})

  it('catalog validate warns about a cross-region objective on a server without it', () => {
    expect(geoRestoreRefusal('pg', true)).toBeUndefined()
    const warnings = catalogCapabilityWarnings(loadCatalog({cwd: dir}).catalog)
    expect(warnings.map((w) => w.path)).toEqual(['environments.local.components.orders-db.geoRedundantBackup'])
    expect(warnings[0]!.message).toMatch(/cross-region objective .* can only be enabled when a server is created/)
  })

  it('postgres.geoRestore refuses in preflight from the catalog, naming what would allow it', () => {
    const {catalog} = loadCatalog({cwd: dir})
    const preflight = findAction('postgres.geoRestore')!.preflight!
    expect(preflight({server: 'orders-db'} as never, planContext(catalog.environments.local!, 'local'))?.message).toMatch(/geo-restore of pg-shop-orders needs geo-redundant backup.*recreate the server with geo-redundant backup/)
    const repo = loadCatalog({cwd: repoRoot}).catalog
    expect(preflight({server: 'orders-db'} as never, planContext(repo.environments.local!, 'local'))).toBeUndefined()
  })
})

describe('preflight: the runbook that would issue a refused request exits 2 before anything runs', () => {
  const dir = downgradedCatalog()
  const prepare = (runbook: string, params: Record<string, string>) => prepareRun({runbook, envName: 'local', params, cwd: dir, env: {}})

  it('redis-export on a Standard cache', async () => {
    await expect(prepare('redis-export', {cache: 'sessions-cache'})).rejects.toMatchObject({exitCode: ExitCode.invalidInput, message: expect.stringMatching(/import\/export is not available in the Standard tier; it needs Premium/)})
  })

  // pg-pitr to a point outside the retention window: its own check step refuses with exit 2 before any PUT, journaled
  // (test/integration/runbooks.test.ts "refuses a restore time outside retention with exit 2 before any change").

  it('slot-swap on a Basic plan (no deployment slots)', async () => {
    await expect(prepare('slot-swap', {app: 'storefront'})).rejects.toMatchObject({exitCode: ExitCode.invalidInput, message: expect.stringMatching(/Basic \(B1\) tier, which allows 0/)})
  })

  it('names the catalog field that decides, with file:line:col (the fix goes there)', async () => {
    const error = await prepare('slot-swap', {app: 'storefront'}).catch((e: {problems: Array<{location?: {file: string; line: number; column: number}}>}) => e)
    const location = (error as {problems: Array<{location?: {file: string; line: number}}>}).problems[0]!.location!
    expect(location.file).toBe(join(dir, 'runbooks.yaml'))
    expect(readFileSync(location.file, 'utf8').split('\n')[location.line - 1]).toMatch(/planSku: B1/)
  })

  it('pg-promote-replica on a primary server: only a read replica can be promoted, the replicas named', async () => {
    const repo = scratchDir({'runbooks.yaml': readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')})
    const promote = (replica: string) => prepareRun({runbook: 'pg-promote-replica', envName: 'local', params: {replica}, cwd: repo, env: {}})
    const refused = promote('pg-shop-orders')
    await expect(refused).rejects.toMatchObject({exitCode: ExitCode.invalidInput, message: expect.stringMatching(/pg-shop-orders is the primary server of component orders-db, not a read replica.*its replicas: pg-shop-orders-dr/)})
    const location = (await refused.then(
      () => undefined,
      (e: {problems: Array<{location?: {file: string; line: number}}>}) => e.problems[0]!.location,
    ))!
    expect(readFileSync(location.file, 'utf8').split('\n')[location.line - 1]).toMatch(/replicas:|name: pg-shop-orders-dr/)
    await expect(promote('pg-shop-orders-dr')).resolves.toBeDefined()
  })

  it('end to end: `opsbook run redis-export` exits 2 with the reason and the tier that would allow it, no run recorded', async () => {
    const result = await runCli(['run', 'redis-export', '--env', 'local', '--target', 'sessions-cache', '--yes'], {cwd: dir})
    expect(result.code, result.stderr).toBe(2)
    expect(result.stderr).toMatch(/needs Premium/)
    const runs = await runCli(['runs', 'list', '--json'], {cwd: dir})
    expect(JSON.parse(runs.stdout).runs ?? JSON.parse(runs.stdout)).toHaveLength(0)
  })
})

describe('the emulator refuses like Azure for the tier', () => {
  let emulator: RunningEmulator
  beforeAll(async () => {
    const dir = downgradedCatalog()
    emulator = await startEmulator({catalogFile: join(dir, 'runbooks.yaml'), lroDurationMs: 50})
  })
  afterAll(async () => emulator?.stop())

  it('Redis: export, import and persistence on a Standard cache are 400 InvalidParameterValue naming Premium', async () => {
    const {RedisManagementClient} = await import('@azure/arm-rediscache')
    const client = new RedisManagementClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const refused = {statusCode: 400, code: 'InvalidParameterValue', message: expect.stringMatching(/not available in the Standard tier; it needs Premium/)}
    await expect(client.redis.beginExportDataAndWait(RG, 'redis-shop-sessions', {prefix: 'x.rdb', container: 'https://stshopsnapshots.blob.core.windows.net/redis-snapshots?sv=x'}, {updateIntervalInMs: 20})).rejects.toMatchObject(refused)
    await expect(client.redis.beginImportDataAndWait(RG, 'redis-shop-sessions', {files: ['https://stshopsnapshots.blob.core.windows.net/redis-snapshots/x.rdb?sv=x']}, {updateIntervalInMs: 20})).rejects.toMatchObject(refused)
    await expect(client.redis.beginUpdateAndWait(RG, 'redis-shop-sessions', {redisConfiguration: {rdbBackupEnabled: 'true'}}, {updateIntervalInMs: 20})).rejects.toMatchObject({statusCode: 400})
    expect(emulator.state.activity.list().filter((e) => ['redis.export', 'redis.import', 'redis.update'].includes(e.kind))).toEqual([])
  })

  it('PostgreSQL: HA on a Burstable server, a replica of one, and changing geo-redundant backup after creation are refused', async () => {
    const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
    const client = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const poll = {updateIntervalInMs: 20}
    await expect(client.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {highAvailability: {mode: 'ZoneRedundant'}}, poll)).rejects.toMatchObject({statusCode: 400, message: expect.stringMatching(/high availability is not available in the Burstable tier/)})
    await expect(
      client.servers.beginCreateOrUpdateAndWait(RG, 'pg-burstable-replica', {location: 'westus', createMode: 'Replica', sourceServerResourceId: `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders`}, poll),
    ).rejects.toMatchObject({statusCode: 400, message: expect.stringMatching(/read replicas is not available in the Burstable tier/)})
    await expect(
      client.servers.beginCreateOrUpdateAndWait(RG, 'pg-burstable-ha', {location: 'eastus', sku: {name: 'Standard_B1ms', tier: 'Burstable'}, administratorLogin: 'a', administratorLoginPassword: 'P-a55word!', highAvailability: {mode: 'SameZone'}}, poll),
    ).rejects.toMatchObject({statusCode: 400})
    await expect(client.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {backup: {geoRedundantBackup: 'Disabled'}}, poll)).rejects.toMatchObject({statusCode: 400, message: expect.stringMatching(/only be configured when the server is created/)})
  })

  it('App Service: a slot past the plan tier limit is 409 Conflict naming the SKU, nothing created', async () => {
    const {WebSiteManagementClient} = await import('@azure/arm-appservice')
    const client = new WebSiteManagementClient(credentialFor(emulator), emulator.subscription, modularOptions(emulator))
    await expect(client.webApps.createOrUpdateSlot(RG, 'app-shop-storefront', 'canary', {location: 'eastus'}, {updateIntervalInMs: 20})).rejects.toMatchObject({
      statusCode: 409,
      code: 'Conflict',
      message: expect.stringMatching(/exceed the number of slots allowed for the 'Basic' SKU/),
    })
    const slots: string[] = []
    for await (const slot of client.webApps.listSlots(RG, 'app-shop-storefront')) slots.push(slot.name!)
    expect(slots).toEqual(['app-shop-storefront/staging'])
  })

  it('Redis: geo-replication (a linked server) on a Standard cache is refused naming Premium, nothing linked', async () => {
    const {RedisManagementClient} = await import('@azure/arm-rediscache')
    const client = new RedisManagementClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const cacheId = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Cache/Redis/redis-shop-sessions`
    await expect(
      client.linkedServer.beginCreateAndWait(RG, 'redis-shop-sessions', 'redis-shop-sessions-dr', {linkedRedisCacheId: cacheId, linkedRedisCacheLocation: 'westus', serverRole: 'Secondary'}, {updateIntervalInMs: 20}),
    ).rejects.toMatchObject({statusCode: 400, code: 'InvalidParameterValue', message: expect.stringMatching(/geo-replication is not available in the Standard tier; it needs Premium/)})
    const links: unknown[] = []
    for await (const link of client.linkedServer.list(RG, 'redis-shop-sessions')) links.push(link)
    expect(links).toEqual([])
  })
})
