/**
 * An emulator with one compliant and one non-compliant resource of each kind: the catalog environment plus an estate
 * (the built-in compliant estate for the `-good` resources, the insecure one for the `-bad` ones — what an
 * opsbook.estate.yaml would say), then changed through the unmodified Azure SDK clients (as an operator would).
 */
import {environmentSchema, type Environment} from '../../src/catalog/schema.js'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {compliantEstate, insecureEstate, type Estate} from '../../src/emulator/estate.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'

export const SUB = '00000000-0000-0000-0000-00000000c4ec'
export const RG = 'rg-checks'

const windows = {
  database: {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'},
  cache: {recurrence: 'weekly', day: 'Sunday', start: '04:00', end: '05:00', timeZone: 'UTC'},
}
const tags = {owner: 'platform', costCenter: 'cc-1'}

/** What is deployed (seeds the emulator). */
export function deployedEnvironment(): Environment {
  return environmentSchema.parse({
    cloud: 'emulator',
    subscription: SUB,
    resourceGroups: [RG],
    requiredTags: ['owner', 'costCenter'],
    windows,
    components: {
      'pg-good': {type: 'postgres', name: 'pg-good', version: '15', backupRetentionDays: 14, geoRedundantBackup: true, highAvailability: 'ZoneRedundant', window: 'database', tags},
      'pg-bad': {type: 'postgres', name: 'pg-bad', version: '14', backupRetentionDays: 7, tags: {owner: 'data'}},
      'redis-good': {type: 'redis', name: 'redis-good', sku: 'Premium', window: 'cache', tags},
      'redis-bad': {type: 'redis', name: 'redis-bad', sku: 'Basic', snapshots: {storageAccount: 'stbad'}, window: 'cache', tags},
      'app-good': {type: 'webapp', name: 'app-good', slots: ['staging'], healthPath: '/health', tags},
      'app-bad': {type: 'webapp', name: 'app-bad', slots: ['staging'], healthPath: '/health', tags},
      stgood: {type: 'storage', name: 'stgood', tags},
      stbad: {type: 'storage', name: 'stbad', tags},
      'kv-good': {type: 'keyvault', name: 'kv-good', tags},
      'kv-bad': {type: 'keyvault', name: 'kv-bad', tags},
      'sql-good': {type: 'sqldb', name: 'sql-good', server: 'sql-good-srv', objectives: {crossRegion: true}, tags},
      'sql-bad': {type: 'sqldb', name: 'sql-bad', server: 'sql-bad-srv', objectives: {crossRegion: true}, tags},
      'sb-good': {type: 'servicebus', name: 'sb-good', queues: ['orders'], tags},
      'sb-bad': {type: 'servicebus', name: 'sb-bad', queues: ['orders'], tags},
      'cosmos-good': {type: 'cosmosdb', name: 'cosmos-good', backup: 'continuous30days', tags},
      'cosmos-bad': {type: 'cosmosdb', name: 'cosmos-bad', backup: 'continuous7days', tags},
      // Probed over HTTPS with two endpoints / probed over HTTP (the default) with one.
      'tm-good': {type: 'trafficmanager', name: 'tm-good', monitor: {protocol: 'HTTPS', port: 443, path: '/health'}, endpoints: [{name: 'a', webapp: 'app-good', priority: 1}, {name: 'b', webapp: 'app-bad', priority: 2}], tags},
      'tm-bad': {type: 'trafficmanager', name: 'tm-bad', endpoints: [{name: 'a', webapp: 'app-good', priority: 1}], tags},
    },
  })
}

/** What the catalog expects when the checks run: pg-bad is supposed to be a tier-1 server; two waivers. */
export function expectedEnvironment(): Environment {
  const env = deployedEnvironment()
  const raw = JSON.parse(JSON.stringify(env))
  raw.components['pg-bad'] = {...raw.components['pg-bad'], backupRetentionDays: 14, geoRedundantBackup: true, highAvailability: 'ZoneRedundant', window: 'database'}
  raw.waivers = [
    {check: 'redis.sku.not_basic', resource: 'redis-bad', reason: 'dev cache, replaced in Q4', owner: 'web-team', expires: '2099-12-31'},
    {check: 'st.shared_key.off', resource: 'stbad', reason: 'legacy backup tool', owner: 'platform', expires: '2020-01-01'},
  ]
  return environmentSchema.parse(raw)
}

export interface SeededEmulator {
  emulator: RunningEmulator
  services: AzureServices
  stop(): Promise<void>
}

const fast = {updateIntervalInMs: 10}

/** The compliant estate for `-good` components, the insecure one for `-bad` ones. */
export function fixtureEstate(environment: Environment, now: Date): Estate {
  const only = (suffix: string): Environment => ({...environment, components: Object.fromEntries(Object.entries(environment.components).filter(([, c]) => c.name.endsWith(suffix)))})
  const good = compliantEstate(only('good'), now)
  const bad = insecureEstate(only('bad'), now)
  return {subscription: {locks: [], defenderPlans: good.subscription!.defenderPlans}, resources: {...good.resources, ...bad.resources}}
}

/**
 * Start the emulator and make the "good" resources compliant and the "bad" ones not. `now`: the instant the estate's
 * dates are relative to (certificate and key expiries…): the one the checks then run at. `listPageSizes`: page these
 * list operations small (StartEmulatorOptions.listPageSizes) so the collector's nextLink handling is exercised.
 */
export async function startSeededEmulator(now = new Date(), options: {listPageSizes?: Record<string, number>} = {}): Promise<SeededEmulator> {
  const environment = deployedEnvironment()
  const emulator = await startEmulator({environment, environmentName: 'checks', lroDurationMs: 0, estate: fixtureEstate(environment, now), listPageSizes: options.listPageSizes})
  const services = createAzureServices({
    environment,
    environmentName: 'checks',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, blob: emulator.blob, subscription: emulator.subscription},
    retry: {maxRetries: 1, baseDelayMs: 20},
  })
  try {
    const pg = await services.postgres()
    const setParameter = (server: string, name: string, value: string) =>
      pg.configurations.beginUpdateAndWait(RG, server, name, {value, source: 'user-override'}, fast)
    await setParameter('pg-good', 'log_disconnections', 'on')
    await setParameter('pg-good', 'logfiles.retention_days', '7')
    await setParameter('pg-good', 'connection_throttle.enable', 'on')
    await pg.servers.beginUpdateAndWait(
      RG,
      'pg-good',
      {
        authConfig: {activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled'},
        maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: 0, startHour: 2, startMinute: 0},
        network: {publicNetworkAccess: 'Disabled'},
      } as never,
      fast,
    )
    await pg.servers.beginUpdateAndWait(RG, 'pg-bad', {network: {publicNetworkAccess: 'Enabled'}} as never, fast)
    await setParameter('pg-bad', 'require_secure_transport', 'off')
    await setParameter('pg-bad', 'ssl_min_protocol_version', 'TLSv1.1')
    await pg.firewallRules.beginCreateOrUpdateAndWait(RG, 'pg-bad', 'AllowAllAzureServicesAndResourcesWithinAzureIps', {startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0'}, fast)
    // A lock at subscription scope protects every resource (it used to be ignored: a false fail).
    const locks = await services.locks()
    await locks.managementLocks.createOrUpdateAtSubscriptionLevel('keep-subscription', {level: 'CanNotDelete'})

    const redis = await services.redis()
    await redis.patchSchedules.createOrUpdate(RG, 'redis-good', 'default', {scheduleEntries: [{dayOfWeek: 'Sunday', startHourUtc: 4, maintenanceWindow: 'PT5H'}]})
    await redis.redis.beginUpdateAndWait(RG, 'redis-good', {disableAccessKeyAuthentication: true}, fast)
    await redis.redis.beginUpdateAndWait(RG, 'redis-bad', {enableNonSslPort: true, minimumTlsVersion: '1.0', publicNetworkAccess: 'Enabled'}, fast)
    await redis.patchSchedules.createOrUpdate(RG, 'redis-bad', 'default', {scheduleEntries: [{dayOfWeek: 'Monday', startHourUtc: 12}]})

    const web = await services.web()
    await web.webApps.update(RG, 'app-good', {publicNetworkAccess: 'Disabled'} as never)
    await web.webApps.updateSlot(RG, 'app-good', 'staging', {publicNetworkAccess: 'Disabled'} as never)
    await web.webApps.updateConfiguration(RG, 'app-bad', {
      minTlsVersion: '1.0',
      ftpsState: 'AllAllowed',
      remoteDebuggingEnabled: true,
      http20Enabled: false,
      alwaysOn: false,
      healthCheckPath: '/status',
      cors: {allowedOrigins: ['*']},
    } as never)
    await web.webApps.update(RG, 'app-bad', {httpsOnly: false} as never)
    // Seeded: slots allow FTP basic auth. app-good's staging is fixed; app-bad also allows it for SCM and has Easy Auth off.
    await web.webApps.updateFtpAllowedSlot(RG, 'app-good', 'staging', {allow: false})
    await web.webApps.updateScmAllowed(RG, 'app-bad', {allow: true})
    await web.webApps.updateAuthSettingsV2(RG, 'app-bad', {platform: {enabled: false}})

    const storage = await services.storage()
    await storage.storageAccounts.update(RG, 'stgood', {allowSharedKeyAccess: false} as never)
    // stbad's firewall allows everyone yet blocks trusted Microsoft services (st.trusted_services).
    await storage.storageAccounts.update(RG, 'stbad', {networkRuleSet: {bypass: 'None', defaultAction: 'Allow'}} as never)

    const keyvault = await services.keyvault()
    await keyvault.vaults.update(RG, 'kv-good', {properties: {enablePurgeProtection: true, publicNetworkAccess: 'Disabled'}} as never)
    await keyvault.vaults.update(RG, 'kv-bad', {properties: {enableRbacAuthorization: false}} as never)
    // kv-good also keeps a disabled secret without an expiry, which does not count; kv-bad adds a key that expires but never rotates.
    await keyvault.secrets.createOrUpdate(RG, 'kv-good', 'old-token', {properties: {value: 'not-a-real-secret', attributes: {enabled: false}}})
    await keyvault.keys.createIfNotExist(RG, 'kv-bad', 'signing-legacy', {properties: {kty: 'RSA', keySize: 2048, attributes: {expires: Date.parse('2027-06-30T00:00:00Z') / 1000}}})
    const monitor = await services.monitor()
    await monitor.diagnosticSettings.createOrUpdate(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app-good/slots/staging`, 'slot-logs', {
      workspaceId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.OperationalInsights/workspaces/law`,
      logs: [{category: 'AppServiceHTTPLogs', enabled: true}],
    })
    // Audit logging switched off on kv-bad (the setting stays, its AuditEvent category is disabled).
    await monitor.diagnosticSettings.createOrUpdate(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-bad`, 'audit-to-law', {
      workspaceId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.OperationalInsights/workspaces/law`,
      logs: [{category: 'AuditEvent', enabled: false}],
    })
  } catch (error) {
    await emulator.stop()
    throw error
  }
  return {emulator, services, stop: () => emulator.stop()}
}
