/**
 * The real Azure CLI (Debian's azure-cli 2.45) as an independent client of the emulator, offline (test/helpers/az.ts):
 * real `az` commands across resource groups and resources, locks, Storage, Key Vault, PostgreSQL, Redis, Azure SQL,
 * Service Bus, App Service
 * (incl. slots) and Monitor, asserting exit codes and results; then every `az` line `plan` prints for every built-in
 * runbook goes through az's own argument parser (an unknown command or flag fails).
 *
 * Without `az`: fails in CI (CI=true; .ci/run installs azure-cli), skipped with the reason on a developer machine.
 * Commands run in one az interpreter (AzSandbox.session) so ~100 commands fit the suite's time; one runs as a separate
 * `az` process (`account show`, last), to prove the installed executable itself works the same way (each process
 * costs Python's start-up, 1–2 s of CPU: the HEAD 204/404 checks, once two more processes, go through the session).
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {azAvailability, createAzSandbox, type AzResult, type AzSandbox, type AzSession} from '../helpers/az.js'
import {repoRoot} from '../helpers/cli.js'
import {localEnvironmentWithServers} from './helpers.js'

const {az, skipReason, failReason} = azAvailability()
const RG = 'rg-shop-local'
const SITE = 'app-shop-storefront'
const PG = 'pg-shop-orders'
const CACHE = 'redis-shop-sessions'
const LONG = 240_000

if (failReason)
  describe('az conformance', () => {
    it('needs the Azure CLI in CI', () => {
      throw new Error(failReason)
    })
  })

describe.skipIf(!az)(`az conformance against the emulator${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  let emulator: RunningEmulator
  let sandbox: AzSandbox
  let session: AzSession
  let commands = 0
  let sub: string
  const id = (type: string, name: string) => `/subscriptions/${sub}/resourceGroups/${RG}/providers/${type}/${name}`

  /** Run `az …` and expect exit 0; returns the parsed JSON output. */
  const ok = async (args: string[]): Promise<any> => {
    const result = await session.run(args)
    commands++
    expect(result.code, `az ${args.join(' ')}\n${result.stderr}`).toBe(0)
    return result.json
  }
  const fails = async (args: string[]): Promise<AzResult> => {
    const result = await session.run(args)
    commands++
    expect(result.code, `az ${args.join(' ')} should fail\n${result.stdout}`).not.toBe(0)
    return result
  }

  beforeAll(async () => {
    // pg-conformance-12 already exists (12 is in extended support: Azure keeps such servers but creates no new ones).
    const environment = await localEnvironmentWithServers([{name: 'pg-conformance-12', version: '12'}])
    // Operations take no time: az still gets the 202 and polls, and its first poll of a short operation is held until
    // the operation ends (lro.ts, untilDueWithin), so 100 ms showed az nothing and added 1.4 s (14 operations).
    emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environment, lroDurationMs: 0})
    sub = emulator.subscription
    sandbox = await createAzSandbox({az: az!, armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, subscription: emulator.subscription})
    session = sandbox.session()
  }, LONG)

  afterAll(async () => {
    sandbox?.dispose()
    await emulator?.stop()
    if (commands) console.log(`az conformance: ${commands} az commands against the emulator`)
  })

  it('HEAD on a resource group answers 204 / 404 (`az group exists`)', async () => {
    expect(await ok(['group', 'exists', '-n', RG])).toBe(true)
    expect(await ok(['group', 'exists', '-n', 'rg-not-there'])).toBe(false)
  }, LONG)

  it('resource groups, resources, locations, providers', async () => {
    expect((await ok(['group', 'list'])).map((g: any) => g.name)).toContain(RG)
    expect((await ok(['group', 'show', '-n', RG])).location).toBe('eastus')
    const types = new Set((await ok(['resource', 'list'])).map((r: any) => String(r.type).toLowerCase()))
    for (const type of ['microsoft.dbforpostgresql/flexibleservers', 'microsoft.cache/redis', 'microsoft.web/sites', 'microsoft.web/sites/slots', 'microsoft.web/serverfarms', 'microsoft.storage/storageaccounts', 'microsoft.keyvault/vaults'])
      expect(types, type).toContain(type)
    expect((await ok(['resource', 'list', '--resource-type', 'Microsoft.Cache/Redis'])).map((r: any) => r.name)).toEqual([CACHE])
    expect((await ok(['resource', 'show', '--ids', id('Microsoft.DBforPostgreSQL/flexibleServers', PG)])).name).toBe(PG)
    const eastus = (await ok(['account', 'list-locations'])).find((l: any) => l.name === 'eastus')
    expect(eastus.metadata.pairedRegion[0].name).toBe('westus')
    expect((await ok(['provider', 'show', '-n', 'Microsoft.Web'])).registrationState).toBe('Registered')
    expect(await ok(['provider', 'list', '--query', '[].namespace'])).toContain('Microsoft.DBforPostgreSQL')
    await ok(['provider', 'register', '-n', 'Microsoft.Cache'])
  }, LONG)

  it('management locks', async () => {
    // The emulator's estate holds only what the catalog (and opsbook.estate.yaml) declares: no lock unless created.
    await ok(['lock', 'create', '--name', 'conformance', '-g', RG, '--lock-type', 'CanNotDelete', '--notes', 'az conformance'])
    expect((await ok(['lock', 'list', '-g', RG])).map((l: any) => l.name)).toContain('conformance')
    expect((await ok(['lock', 'show', '--name', 'conformance', '-g', RG])).level).toBe('CanNotDelete')
    await ok(['lock', 'delete', '--name', 'conformance', '-g', RG])
    expect((await ok(['lock', 'list', '-g', RG])).map((l: any) => l.name)).not.toContain('conformance')
  }, LONG)

  it('storage accounts and key vaults', async () => {
    expect((await ok(['storage', 'account', 'list', '-g', RG])).map((a: any) => a.name).sort()).toEqual(['stshopevidence', 'stshopsnapshots'])
    // Unset in the catalog: Azure's default for the api-version, one of the documented values.
    expect(['TLS1_0', 'TLS1_1', 'TLS1_2']).toContain((await ok(['storage', 'account', 'show', '-g', RG, '-n', 'stshopsnapshots'])).minimumTlsVersion)
    expect(await ok(['storage', 'account', 'keys', 'list', '-g', RG, '-n', 'stshopevidence'])).toHaveLength(2)
    expect((await ok(['storage', 'container-rm', 'list', '--storage-account', 'stshopevidence', '-g', RG])).map((c: any) => c.name)).toContain('opsbook-evidence')
    expect(typeof (await ok(['storage', 'account', 'blob-service-properties', 'show', '--account-name', 'stshopevidence', '-g', RG])).deleteRetentionPolicy?.enabled).toMatch(/boolean|undefined/)
    expect((await ok(['keyvault', 'list', '-g', RG])).map((v: any) => v.name)).toEqual(['kv-shop-local'])
    const vault = await ok(['keyvault', 'show', '-g', RG, '-n', 'kv-shop-local'])
    expect([vault.properties.enableSoftDelete, vault.properties.enablePurgeProtection ?? null]).toEqual([true, null])
  }, LONG)

  it('PostgreSQL flexible servers: reads, parameters, capabilities, a public server with firewall rules, restore', async () => {
    expect((await ok(['postgres', 'flexible-server', 'list', '-g', RG])).map((s: any) => s.name)).toContain(PG)
    expect((await ok(['postgres', 'flexible-server', 'show', '-g', RG, '-n', PG])).highAvailability.mode).toBe('ZoneRedundant')
    expect((await ok(['postgres', 'flexible-server', 'db', 'list', '-g', RG, '-s', PG])).map((d: any) => d.name)).toContain('postgres')
    expect((await ok(['postgres', 'flexible-server', 'parameter', 'show', '-g', RG, '-s', PG, '-n', 'require_secure_transport'])).value).toBe('on')
    expect((await ok(['postgres', 'flexible-server', 'parameter', 'set', '-g', RG, '-s', PG, '-n', 'log_disconnections', '--value', 'on'])).value).toBe('on')
    expect((await ok(['postgres', 'flexible-server', 'replica', 'list', '-g', RG, '-n', PG])).map((s: any) => s.name)).toEqual(['pg-shop-orders-dr'])
    const skus = await ok(['postgres', 'flexible-server', 'list-skus', '-l', 'eastus'])
    expect(skus[0].supportedFlexibleServerEditions.map((e: any) => e.name)).toEqual(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
    expect((await ok(['postgres', 'flexible-server', 'backup', 'list', '-g', RG, '-n', PG])).length).toBeGreaterThan(0)
    // az create: capabilities, location-based checkNameAvailability, server, firewall rule, database.
    const created = await ok([
      'postgres', 'flexible-server', 'create', '-g', RG, '-n', 'pg-conformance', '-l', 'eastus', '--tier', 'Burstable', '--sku-name', 'Standard_B1ms',
      '--public-access', '0.0.0.0', '--admin-user', 'confadmin', '--admin-password', 'Conf-Passw0rd-123', '--version', '16', '--storage-size', '32', '--yes',
    ])
    expect(created.host).toBe('pg-conformance.postgres.database.azure.com')
    await ok(['postgres', 'flexible-server', 'firewall-rule', 'create', '-g', RG, '-n', 'pg-conformance', '--rule-name', 'office', '--start-ip-address', '203.0.113.1', '--end-ip-address', '203.0.113.9'])
    expect((await ok(['postgres', 'flexible-server', 'firewall-rule', 'list', '-g', RG, '-n', 'pg-conformance'])).map((r: any) => r.name)).toContain('office')
    // The seeded server has no delegated subnet in the catalog, so it has public access (Azure's default) and, with
    // no rules in the catalog or estate, an empty firewall rule list.
    expect(await ok(['postgres', 'flexible-server', 'firewall-rule', 'list', '-g', RG, '-n', PG])).toEqual([])
    const restoreTime = new Date(Date.now() - 3_600_000).toISOString()
    const restored = await ok(['postgres', 'flexible-server', 'restore', '-g', RG, '-n', 'pg-conformance-pitr', '--source-server', PG, '--restore-time', restoreTime])
    expect(restored.name).toBe('pg-conformance-pitr')
    // Before the retention window: the emulator refuses, as Azure does.
    await fails(['postgres', 'flexible-server', 'restore', '-g', RG, '-n', 'pg-conformance-old', '--source-server', PG, '--restore-time', new Date(Date.now() - 40 * 86_400_000).toISOString()])
    await ok(['postgres', 'flexible-server', 'delete', '-g', RG, '-n', 'pg-conformance-pitr', '--yes'])
    // A new server on 12 is refused (extended support: existing servers only), as Azure refuses a version outside
    // the allowed values; the existing 12 server upgrades in place (az 2.45 offers 12–14 as targets): PATCH {version}.
    const refused = await fails([
      'postgres', 'flexible-server', 'create', '-g', RG, '-n', 'pg-conformance-new-12', '-l', 'eastus', '--tier', 'GeneralPurpose', '--sku-name', 'Standard_D2ds_v5',
      '--public-access', 'None', '--admin-user', 'confadmin', '--admin-password', 'Conf-Passw0rd-123', '--version', '12', '--storage-size', '32', '--yes',
    ])
    expect(refused.stderr).toMatch(/ParameterOutOfRange|The value of the 'Version' should be in: \[14,15,16,17,18\]/)
    expect((await ok(['postgres', 'flexible-server', 'show', '-g', RG, '-n', 'pg-conformance-12'])).version).toBe('12')
    expect((await ok(['postgres', 'flexible-server', 'upgrade', '-g', RG, '-n', 'pg-conformance-12', '--version', '14', '--yes'])).version).toBe('14')
  }, LONG)

  it('Azure Cache for Redis: keys, firewall rules, patch schedules', async () => {
    expect((await ok(['redis', 'list', '-g', RG])).map((c: any) => c.name)).toEqual([CACHE])
    expect((await ok(['redis', 'show', '-g', RG, '-n', CACHE])).sku.name).toBe('Premium')
    const keys = await ok(['redis', 'list-keys', '-g', RG, '-n', CACHE])
    expect(keys.primaryKey).toBeTruthy()
    expect(keys.primaryKey).not.toBe(keys.secondaryKey)
    await ok(['redis', 'firewall-rules', 'create', '-g', RG, '-n', CACHE, '--rule-name', 'office', '--start-ip', '203.0.113.1', '--end-ip', '203.0.113.9'])
    expect((await ok(['redis', 'firewall-rules', 'list', '-g', RG, '-n', CACHE])).map((r: any) => r.name)).toContain(`${CACHE}/office`)
    await ok(['redis', 'patch-schedule', 'create', '-g', RG, '-n', CACHE, '--schedule-entries', '[{"dayOfWeek":"Sunday","startHourUtc":4,"maintenanceWindow":"PT5H"}]'])
    expect((await ok(['redis', 'patch-schedule', 'show', '-g', RG, '-n', CACHE])).scheduleEntries[0].dayOfWeek).toBe('Sunday')
  }, LONG)

  it('App Service: sites, plan, settings, power actions, slots and swap with preview', async () => {
    expect((await ok(['webapp', 'list', '-g', RG])).map((s: any) => s.name)).toEqual([SITE, `${SITE}-dr`])
    const site = await ok(['webapp', 'show', '-g', RG, '-n', SITE])
    expect(site.state).toBe('Running')
    const plan = await ok(['appservice', 'plan', 'show', '--ids', site.appServicePlanId])
    expect(plan.sku.tier).toBe('PremiumV3')
    expect((await ok(['webapp', 'config', 'show', '-g', RG, '-n', SITE])).healthCheckPath).toBe('/health')
    expect((await ok(['webapp', 'config', 'appsettings', 'list', '-g', RG, '-n', SITE])).map((s: any) => s.name)).toContain('WEBSITE_RUN_FROM_PACKAGE')
    await ok(['webapp', 'config', 'appsettings', 'set', '-g', RG, '-n', SITE, '--settings', 'FEATURE_X=on'])
    expect((await ok(['webapp', 'config', 'appsettings', 'list', '-g', RG, '-n', SITE])).find((s: any) => s.name === 'FEATURE_X')?.value).toBe('on')
    await ok(['webapp', 'stop', '-g', RG, '-n', SITE])
    expect((await ok(['webapp', 'show', '-g', RG, '-n', SITE])).state).toBe('Stopped')
    await ok(['webapp', 'start', '-g', RG, '-n', SITE])
    await ok(['webapp', 'restart', '-g', RG, '-n', SITE])
    expect((await ok(['webapp', 'deployment', 'slot', 'list', '-g', RG, '-n', SITE])).map((s: any) => s.name)).toContain('staging')
    // What swapping staging would change in production, by name, as plan's webapp.slotDifferences line asks (no az
    // webapp command lists slot differences): FEATURE_X, set on production only, would be gone after the swap.
    const diffs = ['rest', '--method', 'post', '--url', `${id('Microsoft.Web/sites', SITE)}/slots/staging/slotsdiffs?api-version=2025-05-01`, '--body', '{"targetSlot": "production", "preserveVnet": true}']
    expect(await ok([...diffs, '--query', 'value[].properties.{type: settingType, name: settingName, rule: diffRule, level: level}'])).toContainEqual({type: 'AppSetting', name: 'FEATURE_X', rule: 'SettingsNotInSource', level: 'Information'})
    // Azure refuses a swap with preview while site authentication (Easy Auth, on in every seeded slot) is on in either
    // slot (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap).
    const preview = ['webapp', 'deployment', 'slot', 'swap', '-g', RG, '-n', SITE, '--slot', 'staging', '--target-slot', 'production', '--action', 'preview']
    expect((await fails(preview)).stderr).toContain('Swap with Preview cannot be used when one of the slots has site authentication enabled.')
    // With it off in both slots (config/authsettingsV2, as az rest sends it), the preview goes.
    for (const slot of ['', '/slots/staging'])
      await ok(['rest', '--method', 'put', '--url', `${id('Microsoft.Web/sites', SITE)}${slot}/config/authsettingsV2?api-version=2025-05-01`, '--body', '{"properties": {"platform": {"enabled": false}}}'])
    // Swap with preview as opsbook's plan prints it: preview prepares staging→production, reset cancels, swap completes.
    await ok(preview)
    expect((await ok(['webapp', 'show', '-g', RG, '-n', SITE, '--slot', 'staging'])).targetSwapSlot).toBe('production')
    await ok(['webapp', 'deployment', 'slot', 'swap', '-g', RG, '-n', SITE, '--slot', 'staging', '--action', 'reset'])
    expect((await ok(['webapp', 'show', '-g', RG, '-n', SITE, '--slot', 'staging'])).targetSwapSlot).toBeNull()
    await ok(['webapp', 'deployment', 'slot', 'swap', '-g', RG, '-n', SITE, '--slot', 'staging', '--target-slot', 'production', '--action', 'swap'])
    expect((await ok(['webapp', 'show', '-g', RG, '-n', SITE])).slotSwapStatus.sourceSlotName).toBe('staging')
    // Slot settings across a swap with preview, as live Azure answered az's test_webapp_slot_swap (az recording
    // test_webapp_slot_swap.yaml): phase one gives staging production's slot setting, completing the swap gives each
    // slot its own back, and a setting that is not a slot setting (FEATURE_X, set on production above) moves with each swap.
    const setting = async (name: string, slot?: string) =>
      (await ok(['webapp', 'config', 'appsettings', 'list', '-g', RG, '-n', SITE, ...(slot ? ['--slot', slot] : [])])).find((s: any) => s.name === name)
    const s1 = (slot?: string) => setting('s1', slot)
    expect([(await setting('FEATURE_X', 'staging'))?.value, await setting('FEATURE_X')]).toEqual(['on', undefined])
    await ok(['webapp', 'config', 'appsettings', 'set', '-g', RG, '-n', SITE, '--slot-settings', 's1=prod'])
    await ok(['webapp', 'config', 'appsettings', 'set', '-g', RG, '-n', SITE, '--slot', 'staging', '--slot-settings', 's1=slot'])
    await ok(['webapp', 'deployment', 'slot', 'swap', '-g', RG, '-n', SITE, '--slot', 'staging', '--action', 'preview'])
    expect(await s1('staging')).toMatchObject({value: 'prod', slotSetting: true})
    await ok(['webapp', 'deployment', 'slot', 'swap', '-g', RG, '-n', SITE, '--slot', 'staging'])
    expect([(await s1('staging'))?.value, (await s1())?.value]).toEqual(['slot', 'prod'])
    expect([(await setting('FEATURE_X'))?.value, await setting('FEATURE_X', 'staging')]).toEqual(['on', undefined])
  }, LONG)

  it('Azure SQL: databases, retention, point-in-time restore, failover groups; Service Bus dead-letter counts', async () => {
    const SQL = ['--resource-group', RG, '--server', 'sql-shop-local']
    const db = await ok(['sql', 'db', 'show', ...SQL, '--name', 'sqldb-shop-payments'])
    expect([db.status, db.currentBackupStorageRedundancy]).toEqual(['Online', 'Geo'])
    expect(Date.parse(db.earliestRestoreDate)).toBeLessThan(Date.now() - 6 * 86_400_000)
    expect((await ok(['sql', 'db', 'str-policy', 'show', ...SQL, '--name', 'sqldb-shop-payments'])).retentionDays).toBe(7)
    const point = new Date(Date.now() - 5 * 60_000).toISOString()
    const restored = await ok(['sql', 'db', 'restore', ...SQL, '--name', 'sqldb-shop-payments', '--dest-name', 'sqldb-az-pitr', '--time', point])
    expect([restored.name, restored.status]).toEqual(['sqldb-az-pitr', 'Online'])
    const tooOld = await fails(['sql', 'db', 'restore', ...SQL, '--name', 'sqldb-shop-payments', '--dest-name', 'sqldb-az-old', '--time', new Date(Date.now() - 20 * 86_400_000).toISOString()])
    expect(tooOld.stderr).toContain('PitrPointInTimeInvalid')
    await ok(['sql', 'db', 'delete', ...SQL, '--name', 'sqldb-az-pitr', '--yes'])
    expect((await ok(['sql', 'db', 'list', ...SQL])).map((d: any) => d.name)).toEqual(['sqldb-shop-payments'])
    const group = await ok(['sql', 'failover-group', 'show', ...SQL, '--name', 'fog-shop-payments'])
    expect([group.replicationRole, group.partnerServers[0].replicationRole]).toEqual(['Primary', 'Secondary'])
    await ok(['sql', 'failover-group', 'set-primary', '--resource-group', RG, '--server', 'sql-shop-local-dr', '--name', 'fog-shop-payments'])
    expect((await ok(['sql', 'failover-group', 'show', ...SQL, '--name', 'fog-shop-payments'])).replicationRole).toBe('Secondary')
    await ok(['sql', 'failover-group', 'set-primary', ...SQL, '--name', 'fog-shop-payments', '--allow-data-loss'])
    expect((await ok(['sql', 'failover-group', 'show', ...SQL, '--name', 'fog-shop-payments'])).replicationRole).toBe('Primary')

    const BUS = ['--resource-group', RG, '--namespace-name', 'sb-shop-local']
    expect((await ok(['servicebus', 'namespace', 'show', '--resource-group', RG, '--name', 'sb-shop-local'])).minimumTlsVersion).toBe('1.2')
    expect((await ok(['servicebus', 'queue', 'show', ...BUS, '--name', 'orders'])).countDetails.deadLetterMessageCount).toBe(3)
    const subs = await ok(['servicebus', 'topic', 'subscription', 'list', ...BUS, '--topic-name', 'order-events'])
    expect(subs.map((s: any) => [s.name, s.countDetails.deadLetterMessageCount])).toEqual([['billing', 0], ['audit', 0]])
  }, LONG)

  it('Front Door origins: disable, enable (region-failover\'s az lines; Debian\'s az 2.45 crashes in traffic-manager commands)', async () => {
    const AFD = ['--resource-group', RG, '--profile-name', 'afd-shop-local', '--origin-group-name', 'storefront']
    expect((await ok(['afd', 'origin', 'update', ...AFD, '--origin-name', 'eastus', '--enabled-state', 'Disabled'])).enabledState).toBe('Disabled')
    expect((await ok(['afd', 'origin', 'update', ...AFD, '--origin-name', 'eastus', '--enabled-state', 'Enabled', '--priority', '1'])).enabledState).toBe('Enabled')
  }, LONG)

  it('Monitor: metric definitions, metrics (timespan double-encoded by az), diagnostic settings', async () => {
    const siteId = id('Microsoft.Web/sites', SITE)
    expect((await ok(['monitor', 'metrics', 'list-definitions', '--resource', siteId])).map((d: any) => d.name.value)).toContain('Requests')
    const metrics = await ok(['monitor', 'metrics', 'list', '--resource', siteId, '--metric', 'Requests', '--offset', '1h', '--interval', 'PT5M'])
    expect(metrics.value[0].timeseries[0].data.length).toBeGreaterThanOrEqual(12)
    // A storage account's platform metrics, as the az live-test recording test_monitor_metrics_scenario reads them.
    const account = id('Microsoft.Storage/storageAccounts', 'stshopevidence')
    expect((await ok(['monitor', 'metrics', 'list-namespaces', '--resource', account])).map((n: any) => n.properties.metricNamespaceName)).toEqual(['microsoft.storage/storageaccounts'])
    const transactions = await ok(['monitor', 'metrics', 'list', '--resource', account, '--namespace', 'microsoft.storage/storageaccounts', '--metrics', 'Transactions', '--offset', '1h', '--interval', 'PT5M'])
    expect(transactions.value[0].timeseries[0].data.filter((d: any) => d.total > 0).length).toBeGreaterThanOrEqual(11)
    const vault = id('Microsoft.KeyVault/vaults', 'kv-shop-local')
    const workspace = id('Microsoft.OperationalInsights/workspaces', 'law-conformance')
    await ok(['monitor', 'diagnostic-settings', 'create', '--name', 'audit-to-law', '--resource', vault, '--workspace', workspace, '--logs', '[{"category":"AuditEvent","enabled":true}]'])
    const settings = await ok(['monitor', 'diagnostic-settings', 'list', '--resource', vault])
    expect((settings.value ?? settings).map((s: any) => s.name)).toContain('audit-to-law')
  }, LONG)

  it('every az line plan prints for every built-in runbook parses with az\'s own parser (those az 2.45 cannot take are skipped with the reason)', async ({annotate}) => {
    const {planAzCommands, knownAz245Failure} = await import('./az-plan-lines.js')
    const checked: string[] = []
    const skipped = new Map<string, string>()
    const failures: string[] = []
    // The same argv printed by several runbooks (or twice in one plan) parses the same way: az parses each distinct
    // command once (163 lines, 102 distinct), and every line is judged by its command's answer. A line marked as
    // needing a newer az whose command falls in a known failure's group is judged by one command of that group: each
    // known failure is az failing on the group itself, before the rest of the argv is read (the extension group it does
    // not know, the network module that crashes loading, the command az 2.45 does not have), and each such failed parse
    // made az rebuild its command index from every command module (1-4.5 s of CPU; 5 redisenterprise commands ~11 s).
    const parsed = new Map<string, Promise<AzResult>>()
    for (const {runbook, command, line, needsNewerAz} of await planAzCommands()) {
      const known = needsNewerAz ? knownAz245Failure(command) : undefined
      const key = known ? `known az 2.45 failure: ${known.group.join(' ')}` : JSON.stringify(command)
      if (!parsed.has(key)) parsed.set(key, session.parse(command))
      const result = await parsed.get(key)!
      // A line marked "needs az newer than 2.45" must really not parse here (else the marker is stale), must fail for
      // the known reason of its command group (else it may be wrong in another way), and is skipped with that reason;
      // the older equivalent it names is checked as the line's next command.
      if (needsNewerAz) {
        if (result.code === 0) failures.push(`${runbook}: az ${command.join(' ')} is marked as needing a newer az, but az 2.45 parses it`)
        else if (!known) failures.push(`${runbook}: az ${command.join(' ')} is marked as needing a newer az, but no known az 2.45 failure covers it:\n  ${result.stderr.split('\n')[0]}`)
        else if (!known.stderr.test(result.stderr)) failures.push(`${runbook}: az ${command.join(' ')} fails on az 2.45, but not for the known reason (${known.reason}):\n  ${result.stderr.trim().split('\n').at(-1)}`)
        else skipped.set(`az ${commandWords(command).join(' ')}`, known.reason)
        continue
      }
      if (result.code === 0) checked.push(command.slice(0, 3).join(' '))
      else failures.push(`${runbook}: az ${command.join(' ')}\n  (from: ${line})\n  ${result.stderr.split('\n')[0]}`)
    }
    expect(failures, failures.join('\n')).toEqual([])
    console.log(
      [
        `plan az lines: ${checked.length} commands (${parsed.size} distinct parses) parsed by az 2.45, ${skipped.size} skipped (marked as needing a newer az):`,
        ...[...skipped].map(([command, reason]) => `  skipped ${command}: ${reason}`),
      ].join('\n'),
    )
    // Recorded with the test result too (reporters and the JSON report show annotations).
    for (const [command, reason] of skipped) await annotate(`skipped ${command}: ${reason}`, 'skip')
    expect(checked.length).toBeGreaterThan(30)
    // Every known cause is met by the built-in runbooks' lines (region-failover's Traffic Manager legs, PostgreSQL
    // replica promotion, the Managed Redis actions): a cause no line needs any more would be a stale entry.
    const {AZ_245_KNOWN_FAILURES} = await import('./az-plan-lines.js')
    expect([...new Set(skipped.values())].sort()).toEqual(AZ_245_KNOWN_FAILURES.map((k) => k.reason).sort())
  }, LONG)

  it('the az executable itself: account show reads the pre-seeded profile', async () => {
    const shown = await sandbox.run(['account', 'show'])
    commands++
    expect(shown.code).toBe(0)
    expect(shown.json.environmentName).toBe('OpsbookEmulator')
    expect(readdirSync(sandbox.configDir)).toContain('msal_http_cache.bin')
  }, LONG)
})

/** A command's group and name: its words before the first flag. */
function commandWords(command: string[]): string[] {
  const flag = command.findIndex((word) => word.startsWith('-'))
  return flag < 0 ? command : command.slice(0, flag)
}
