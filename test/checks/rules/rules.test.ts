import {describe, expect, it} from 'vitest'
import {componentOf} from '../../../src/checks/evaluate.js'
import {findCheck} from '../../../src/checks/rules/index.js'
import {MissingData} from '../../../src/checks/rules/helpers.js'
import {RESOURCE_TYPES, type CatalogContext, type FrontDoorConfig, type InventoryResource, type ResourceFacts} from '../../../src/checks/types.js'
import {context, environment, resource} from '../fixtures.js'

function run(id: string, r: InventoryResource, facts: ResourceFacts = {}, ctx: CatalogContext = context()) {
  const rule = findCheck(id)
  if (!rule) throw new Error(`no rule ${id}`)
  const env = ctx.environment
  return rule.evaluate(r, facts, {...ctx, component: ctx.component ?? componentOf(r, env)})
}

const pg = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.postgres, 'pg-orders', properties)
const configs = (values: Record<string, string>): ResourceFacts => ({pgConfigurations: {ok: true, value: values}})

describe('PostgreSQL rules', () => {
  it('pg.tls.enforced passes on, fails off, and errors when the parameter is missing or unreadable', () => {
    expect(run('pg.tls.enforced', pg({}), configs({require_secure_transport: 'ON'}))).toEqual({status: 'pass', message: 'require_secure_transport is on'})
    expect(run('pg.tls.enforced', pg({}), configs({require_secure_transport: 'off'})).status).toBe('fail')
    expect(() => run('pg.tls.enforced', pg({}), configs({}))).toThrow(MissingData)
    expect(() => run('pg.tls.enforced', pg({}), {pgConfigurations: {ok: false, error: 'HTTP 403 AuthorizationFailed'}})).toThrow(/403/)
  })

  it('pg.tls.min12 compares versions, not strings', () => {
    expect(run('pg.tls.min12', pg({}), configs({ssl_min_protocol_version: 'TLSv1.3'})).status).toBe('pass')
    expect(run('pg.tls.min12', pg({}), configs({ssl_min_protocol_version: 'TLSv1.1'})).status).toBe('fail')
  })

  it('pg.fw.no_azure_wide names the offending rules', () => {
    const facts = (rules: unknown[]): ResourceFacts => ({pgFirewallRules: {ok: true, value: rules}})
    expect(run('pg.fw.no_azure_wide', pg({}), facts([{name: 'office', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.9'}])).status).toBe('pass')
    const wide = run('pg.fw.no_azure_wide', pg({}), facts([{name: 'AllowAllAzure', startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0'}]))
    expect(wide).toEqual({status: 'fail', message: 'firewall rule(s) AllowAllAzure (0.0.0.0–0.0.0.0) open the server widely'})
  })

  it('pg.backup.retention compares with the component and is n/a outside the catalog', () => {
    expect(run('pg.backup.retention', pg({backup: {backupRetentionDays: 7}}))).toEqual({
      status: 'fail',
      message: 'backupRetentionDays is 7, catalog requires at least 14',
    })
    expect(run('pg.backup.retention', pg({backup: {backupRetentionDays: 21}})).status).toBe('pass')
    expect(run('pg.backup.retention', resource(RESOURCE_TYPES.postgres, 'pg-other', {backup: {backupRetentionDays: 1}})).status).toBe('not-applicable')
    expect(() => run('pg.backup.retention', pg({backup: {}}))).toThrow('properties.backup.backupRetentionDays is absent')
  })

  it('pg.backup.geo applies where the catalog expects cross-region recovery', () => {
    expect(run('pg.backup.geo', pg({backup: {geoRedundantBackup: 'Disabled'}})).status).toBe('fail')
    const env = environment({components: {db: {type: 'postgres', name: 'pg-orders'}}})
    expect(run('pg.backup.geo', pg({backup: {geoRedundantBackup: 'Disabled'}}), {}, context(env)).status).toBe('not-applicable')
  })

  it('pg.ha.enabled: required in production and where the catalog asks for it', () => {
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'SameZone'}}))).toEqual({
      status: 'fail',
      message: 'highAvailability.mode is SameZone; the catalog asks for ZoneRedundant',
    })
    const prod = environment({production: true, components: {}})
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'Disabled'}}), {}, context(prod)).status).toBe('fail')
    const dev = environment({components: {}})
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'Disabled'}}), {}, context(dev)).status).toBe('not-applicable')
  })

  it("pg.maintenance.window matches the catalog window in UTC", () => {
    const window = (dayOfWeek: number, startHour: number) => pg({maintenanceWindow: {customWindow: 'Enabled', dayOfWeek, startHour, startMinute: 0}})
    expect(run('pg.maintenance.window', window(0, 2)).status).toBe('pass')
    expect(run('pg.maintenance.window', window(1, 2))).toEqual({
      status: 'fail',
      message: "custom window starts Monday 02:00 UTC; the catalog's 'database' window starts Sunday 02:00 UTC",
    })
    expect(run('pg.maintenance.window', pg({maintenanceWindow: {customWindow: 'Disabled'}})).status).toBe('fail')
    // Saturday 22:00 Berlin in June (CEST, UTC+2) is Saturday 20:00 UTC.
    const env = environment({components: {db: {type: 'postgres', name: 'pg-orders', window: 'berlin'}}})
    expect(run('pg.maintenance.window', window(6, 20), {}, context(env)).status).toBe('pass')
  })

  // Azure serves connection_throttle.enable (default off) on PostgreSQL 11–17 (server-parameters-table-customized-options).
  it('pg.conn_throttle applies on PostgreSQL 16 and 17 too (it was not-applicable there)', () => {
    for (const version of ['16', '17']) {
      expect(run('pg.conn_throttle', pg({version}), configs({'connection_throttle.enable': 'off'}))).toEqual({status: 'fail', message: 'connection_throttle.enable is off'})
      expect(run('pg.conn_throttle', pg({version}), configs({'connection_throttle.enable': 'on'})).status).toBe('pass')
    }
    expect(() => run('pg.conn_throttle', pg({version: '17'}), configs({}))).toThrow('server parameter connection_throttle.enable is absent')
  })

  it('pg.tls.min12 reads TLSv1 as TLS 1.0 (a fail, not an error)', () => {
    expect(run('pg.tls.min12', pg({}), configs({ssl_min_protocol_version: 'TLSv1'})).status).toBe('fail')
  })

  it('pg.auth.entra needs Entra auth and an Entra administrator; pg.auth.password_off treats unset as Enabled', () => {
    const admins = (list: unknown[]): ResourceFacts => ({pgAdministrators: {ok: true, value: list}})
    expect(run('pg.auth.entra', pg({authConfig: {activeDirectoryAuth: 'Enabled'}}), admins([]))).toEqual({
      status: 'fail',
      message: 'activeDirectoryAuth is Enabled but the server has no Microsoft Entra administrator',
    })
    expect(run('pg.auth.entra', pg({authConfig: {activeDirectoryAuth: 'Enabled'}}), admins([{principalName: 'dba', principalType: 'User'}])).status).toBe('pass')
    expect(run('pg.auth.entra', pg({}), admins([]))).toEqual({status: 'fail', message: "activeDirectoryAuth is not set (Azure's default: Disabled)"})
    expect(run('pg.auth.password_off', pg({authConfig: {}})).status).toBe('fail')
    expect(run('pg.auth.password_off', pg({authConfig: {passwordAuth: 'Disabled', activeDirectoryAuth: 'Enabled'}})).status).toBe('pass')
  })

  it('pg.fw.narrow follows PSRule: at most 10 rules and 10 public addresses in all (the Azure-services marker and private ranges left out)', () => {
    const facts = (rules: unknown[]): ResourceFacts => ({pgFirewallRules: {ok: true, value: rules}})
    expect(run('pg.fw.narrow', pg({}), facts([{name: 'office', startIpAddress: '10.0.0.0', endIpAddress: '10.0.0.255'}, {name: 'azure', startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0'}])).status).toBe('pass')
    expect(run('pg.fw.narrow', pg({}), facts([{name: 'wide', startIpAddress: '20.0.0.0', endIpAddress: '20.0.1.0'}]))).toEqual({
      status: 'fail',
      message: '257 public addresses (more than 10): wide (20.0.0.0–20.0.1.0)',
    })
  })
})

describe('Redis rules', () => {
  const redis = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.redis, 'redis-sessions', properties)
  it('reads TLS, network and sku properties; absent means error', () => {
    expect(run('redis.tls.no_plain_port', redis({enableNonSslPort: true})).status).toBe('fail')
    expect(run('redis.tls.min12', redis({minimumTlsVersion: '1.2'})).status).toBe('pass')
    expect(run('redis.tls.min12', redis({minimumTlsVersion: '1.0'})).status).toBe('fail')
    // Unset disableAccessKeyAuthentication is Azure's default false: access keys work, a fail (it was an error).
    expect(run('redis.auth.no_keys', redis({}))).toEqual({status: 'fail', message: "disableAccessKeyAuthentication is not set (Azure's default: false): access keys work"})
    // Unset minimumTlsVersion is 1.2 since TLS 1.0/1.1 were retired (PSRule Azure.Redis.MinTLS: hasDefault '1.2').
    expect(run('redis.tls.min12', redis({}))).toEqual({status: 'pass', message: "minimumTlsVersion is not set (Azure's default: 1.2)"})
    expect(run('redis.sku.not_basic', redis({sku: {name: 'Basic'}})).status).toBe('fail')
    expect(run('redis.net.private', redis({privateEndpointConnections: [{properties: {privateLinkServiceConnectionState: {status: 'Approved'}}}]})).status).toBe('pass')
  })

  it('redis.maintenance.patch_schedule compares with the window; none set is a fail', () => {
    const schedule = (value: unknown): ResourceFacts => ({redisPatchSchedule: {ok: true, value}})
    expect(run('redis.maintenance.patch_schedule', redis({}), schedule({scheduleEntries: [{dayOfWeek: 'Sunday', startHourUtc: 4}]})).status).toBe('pass')
    expect(run('redis.maintenance.patch_schedule', redis({}), schedule(null))).toEqual({
      status: 'fail',
      message: "no patch schedule; the catalog's 'cache' window starts Sunday 04:00 UTC",
    })
    expect(run('redis.maintenance.patch_schedule', redis({}), schedule({scheduleEntries: [{dayOfWeek: 'Monday', startHourUtc: 4}]})).status).toBe('fail')
  })
})

describe('App Service rules', () => {
  const site = resource(RESOURCE_TYPES.site, 'app-store', {httpsOnly: true, publicNetworkAccess: 'Enabled'}, {identity: {type: 'SystemAssigned'}})
  const config = (value: Record<string, unknown>): ResourceFacts => ({siteConfig: {ok: true, value}})
  const endpoints = (list: unknown[]): ResourceFacts => ({privateEndpoints: {ok: true, value: list}})

  it('app.net.restricted ignores privateEndpointConnections on the site (Azure never returns them) and reads private endpoints, publicNetworkAccess and access restrictions', () => {
    const open = {ipSecurityRestrictions: [{ipAddress: 'Any', action: 'Allow'}]}
    // The emulator used to put privateEndpointConnections on the site; a site claiming them passes no longer.
    const claimed = resource(RESOURCE_TYPES.site, 'app-store', {publicNetworkAccess: 'Enabled', privateEndpointConnections: [{properties: {privateLinkServiceConnectionState: {status: 'Approved'}}}]})
    expect(run('app.net.restricted', claimed, {...config(open), ...endpoints([])}).status).toBe('fail')
    // A private endpoint (from Resource Graph) with publicNetworkAccess unset: private access only.
    const unset = resource(RESOURCE_TYPES.site, 'app-store', {})
    expect(run('app.net.restricted', unset, {...config(open), ...endpoints([{name: 'pe', status: 'Approved'}])}).status).toBe('pass')
    // …but publicNetworkAccess Enabled opens the public endpoint again.
    expect(run('app.net.restricted', site, {...config(open), ...endpoints([{name: 'pe', status: 'Approved'}])}).status).toBe('fail')
    // Access restrictions that deny unmatched traffic on the app and on the SCM site (via useMain).
    const denied = {ipSecurityRestrictionsDefaultAction: 'Deny', scmIpSecurityRestrictionsUseMain: true}
    expect(run('app.net.restricted', site, {...config(denied), ...endpoints([])}).status).toBe('pass')
    expect(run('app.net.restricted', site, {...config({ipSecurityRestrictionsDefaultAction: 'Deny'}), ...endpoints([])})).toEqual({
      status: 'fail',
      message: 'publicNetworkAccess is Enabled, 0 approved private endpoint(s), and access restrictions allow unmatched traffic to the SCM site',
    })
    expect(() => run('app.net.restricted', site, {...config(open), privateEndpoints: {ok: false, error: 'HTTP 400 BadRequest'}})).toThrow(/400/)
  })

  it('app.tls.min12 also requires the SCM site to refuse TLS below 1.2, and is high severity', () => {
    expect(run('app.tls.min12', site, config({minTlsVersion: '1.2', scmMinTlsVersion: '1.0'}))).toEqual({status: 'fail', message: 'minTlsVersion is 1.2, scmMinTlsVersion is 1.0'})
    expect(run('app.tls.min12', site, config({minTlsVersion: '1.3', scmMinTlsVersion: '1.2'})).status).toBe('pass')
    expect(findCheck('app.tls.min12')!.severity).toBe('high')
  })

  it('app.stack.supported fails runtimes past their end of support', () => {
    expect(run('app.stack.supported', site, config({linuxFxVersion: 'NODE|18-lts'}))).toEqual({status: 'fail', message: 'NODE|18-lts (support ended 2025-04-30)'})
    expect(run('app.stack.supported', site, config({linuxFxVersion: 'PYTHON|3.12'})).status).toBe('pass')
    expect(run('app.stack.supported', site, config({linuxFxVersion: 'DOCKER|nginx:latest'})).status).toBe('not-applicable')
  })

  it('config rules read config/web and error when it is unreadable', () => {
    expect(run('app.ftps', site, config({ftpsState: 'AllAllowed'}))).toEqual({status: 'fail', message: 'ftpsState is AllAllowed'})
    expect(run('app.always_on', site, config({alwaysOn: true})).status).toBe('pass')
    expect(run('app.always_on', site, config({}))).toEqual({status: 'fail', message: 'alwaysOn is not set (off)'})
    expect(() => run('app.tls.min12', site, {siteConfig: {ok: false, error: 'HTTP 500 InternalServerError'}})).toThrow(/500/)
  })

  it("app.health_check wants the catalog's healthPath", () => {
    expect(run('app.health_check', site, config({healthCheckPath: '/health'})).status).toBe('pass')
    expect(run('app.health_check', site, config({healthCheckPath: '/status'}))).toEqual({
      status: 'fail',
      message: "healthCheckPath is /status; the catalog's healthPath is /health",
    })
    expect(run('app.health_check', site, config({healthCheckPath: null})).status).toBe('fail')
  })

  it('app.logs.http accepts the allLogs category group', () => {
    const diag = (logs: unknown[]): ResourceFacts => ({diagnosticSettings: {ok: true, value: [{name: 'to-law', logs}]}})
    expect(run('app.logs.http', site, diag([{categoryGroup: 'allLogs', enabled: true}])).status).toBe('pass')
    expect(run('app.logs.http', site, diag([{category: 'AppServiceConsoleLogs', enabled: true}])).status).toBe('fail')
  })

  it('app.slot.parity lists what differs from production, scmMinTlsVersion included', () => {
    const slot = resource(RESOURCE_TYPES.slot, 'app-store/staging', {httpsOnly: false, publicNetworkAccess: 'Enabled'}, {identity: null})
    const good = {minTlsVersion: '1.2', scmMinTlsVersion: '1.2', ftpsState: 'Disabled', remoteDebuggingEnabled: false, http20Enabled: true}
    const parent = {resource: site, facts: config(good)}
    expect(run('app.slot.parity', slot, config({...good, scmMinTlsVersion: '1.0', ftpsState: 'AllAllowed'}), context(environment(), {parent}))).toEqual({
      status: 'fail',
      message:
        'slot differs from production: httpsOnly false (production true); scmMinTlsVersion 1.0 (production 1.2); ftpsState AllAllowed (production Disabled); managed identity false (production true)',
    })
    expect(() => run('app.slot.parity', slot, config(good))).toThrow('production site of this slot')
  })
})

describe('Storage, Key Vault and governance rules', () => {
  it('storage flags and soft delete', () => {
    const st = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.storage, 'stdata', properties)
    expect(run('st.shared_key.off', st({allowSharedKeyAccess: true})).status).toBe('fail')
    expect(run('st.net.restricted', st({publicNetworkAccess: 'Enabled', networkAcls: {defaultAction: 'Deny'}})).status).toBe('pass')
    const blob = (value: unknown): ResourceFacts => ({blobService: {ok: true, value}})
    expect(
      run('st.blob.soft_delete', st({}), blob({deleteRetentionPolicy: {enabled: true, days: 7}, containerDeleteRetentionPolicy: {enabled: true, days: 3}})),
    ).toEqual({status: 'fail', message: 'blob soft delete 7 days, container soft delete 3 days'})
  })

  // Unset properties whose ARM default is insecure fail; they used to be errors (storage.json 2023-05-01, blob.json, keyvault.json).
  it('unset insecure defaults are fails, not errors', () => {
    const st = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.storage, 'stdata', properties)
    expect(run('st.shared_key.off', st({}))).toEqual({status: 'fail', message: "allowSharedKeyAccess is not set (Azure's default: true)"})
    expect(run('st.tls.min12', st({}))).toEqual({status: 'fail', message: "minimumTlsVersion is not set (Azure's default: TLS1_0)"})
    const blob = (value: unknown): ResourceFacts => ({blobService: {ok: true, value}})
    expect(run('st.blob.soft_delete', st({}), blob({}))).toEqual({status: 'fail', message: 'blob soft delete off, container soft delete off'})
    expect(run('st.blob.versioning', st({}), blob({})).status).toBe('fail')
    const kv = resource(RESOURCE_TYPES.keyvault, 'kv-shop', {})
    expect(run('kv.rbac', kv)).toEqual({status: 'fail', message: "enableRbacAuthorization is not set (Azure's default: false) (access policies)"})
    const app = resource(RESOURCE_TYPES.site, 'app-store', {}, {identity: {type: 'SystemAssigned'}})
    expect(run('app.net.restricted', app, {siteConfig: {ok: true, value: {}}, privateEndpoints: {ok: true, value: []}}).status).toBe('fail')
    // Still an error when nothing at all was read.
    expect(() => run('st.shared_key.off', resource(RESOURCE_TYPES.storage, 'stdata', null as never))).toThrow(MissingData)
  })

  it('TLS below 1.2 is high severity on Storage, Redis, App Service and PostgreSQL (so --fail-on high catches it)', () => {
    for (const id of ['st.tls.min12', 'redis.tls.min12', 'app.tls.min12', 'pg.tls.min12']) expect(findCheck(id)!.severity).toBe('high')
  })

  it('framework references: key expiry is CIS 9.3.1.1, regeneration 9.3.1.2; public access and firewall are separate checks', () => {
    expect(findCheck('st.key_expiry')!.frameworks.cis).toEqual(['F6 9.3.1.1'])
    expect(findCheck('st.keys.regenerated')!.frameworks.cis).toEqual(['F6 9.3.1.2'])
    expect(findCheck('st.net.public_disabled')!.frameworks.cis).toEqual(['F6 9.3.2.2'])
    expect(findCheck('st.net.restricted')!.frameworks.cis).toEqual(['F6 9.3.2.3'])
    expect(findCheck('kv.net.public_disabled')!.frameworks.cis).toEqual(['F6 8.3.7'])
    expect(findCheck('kv.net.restricted')!.frameworks.cis).toBeUndefined()
    // App Service HTTP logs is CIS v3.0 6.1.6 (v6.0 dropped it; its 6.1.1.6 is VNet flow logs): Prowler's CIS mappings.
    expect(findCheck('app.logs.http')!.frameworks.cis).toEqual(['F3 6.1.6'])
    const st = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.storage, 'stdata', properties)
    expect(run('st.net.public_disabled', st({networkAcls: {defaultAction: 'Deny'}})).status).toBe('fail')
    const kv = resource(RESOURCE_TYPES.keyvault, 'kv-shop', {networkAcls: {defaultAction: 'Deny'}})
    expect(run('kv.net.restricted', kv).status).toBe('pass')
    expect(run('kv.net.public_disabled', kv).status).toBe('fail')
  })

  it('kv.net.restricted: a vault with no network ACLs, or ACLs without a default action, fails (the firewall is off by default) instead of erroring', () => {
    const kv = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.keyvault, 'kv-shop', properties)
    expect(run('kv.net.restricted', kv({}))).toEqual({status: 'fail', message: 'publicNetworkAccess is not set and there are no network ACLs (all networks allowed)'})
    expect(run('kv.net.restricted', kv({networkAcls: null})).status).toBe('fail')
    expect(run('kv.net.restricted', kv({networkAcls: {bypass: 'AzureServices'}}))).toEqual({
      status: 'fail',
      message: "publicNetworkAccess is not set and networkAcls.defaultAction is not set (Azure's default: Allow)",
    })
    expect(run('kv.net.restricted', kv({publicNetworkAccess: 'Disabled'})).status).toBe('pass')
  })

  it('st.keys.regenerated compares key creation times with 90 days', () => {
    const st = (keyCreationTime: unknown) => resource(RESOURCE_TYPES.storage, 'stdata', {keyCreationTime})
    expect(run('st.keys.regenerated', st({key1: '2026-05-01T00:00:00Z', key2: '2026-06-01T00:00:00Z'})).status).toBe('pass')
    expect(run('st.keys.regenerated', st({key1: '2025-01-01T00:00:00Z', key2: null}))).toEqual({status: 'fail', message: 'key1 525 days old, key2 creation time unknown'})
  })

  it('key vault purge protection and audit logs', () => {
    const kv = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.keyvault, 'kv-shop', properties)
    expect(run('kv.purge_protection', kv({enableSoftDelete: true, enablePurgeProtection: true})).status).toBe('pass')
    expect(run('kv.purge_protection', kv({enableSoftDelete: true})).status).toBe('fail')
    expect(run('kv.audit_logs', kv({}), {diagnosticSettings: {ok: true, value: [{name: 'a', logs: [{categoryGroup: 'audit', enabled: true}]}]}}).status).toBe('pass')
  })

  it('gov.lock.critical counts a lock at subscription scope', () => {
    const st = resource(RESOURCE_TYPES.storage, 'stdata', {})
    const subScope = `/subscriptions/${st.subscriptionId}`.toLowerCase()
    expect(run('gov.lock.critical', st, {}, context(environment(), {locks: {ok: true, value: [{scope: subScope, level: 'CanNotDelete', name: 'sub-lock'}]}}))).toEqual({
      status: 'pass',
      message: 'CanNotDelete lock sub-lock on its subscription',
    })
  })

  it('gov.lock.critical finds locks on the resource group; unreadable locks are an error', () => {
    const st = resource(RESOURCE_TYPES.storage, 'stdata', {})
    const rgScope = `/subscriptions/${st.subscriptionId}/resourcegroups/${st.resourceGroup}`.toLowerCase()
    expect(run('gov.lock.critical', st, {}, context(environment(), {locks: {ok: true, value: [{scope: rgScope, level: 'CanNotDelete', name: 'keep'}]}}))).toEqual({
      status: 'pass',
      message: 'CanNotDelete lock keep on its resource group',
    })
    expect(run('gov.lock.critical', st).status).toBe('fail')
    expect(() => run('gov.lock.critical', st, {}, context(environment(), {locks: {ok: false, error: 'HTTP 403'}}))).toThrow(MissingData)
  })

  it('gov.tags.required names the missing tags', () => {
    const st = resource(RESOURCE_TYPES.storage, 'stdata', {}, {tags: {owner: 'x'}})
    expect(run('gov.tags.required', st)).toEqual({status: 'fail', message: 'missing tag(s) costCenter'})
  })
})

describe('Key Vault items and App Service publishing/auth rules (ARM reads)', () => {
  const kv = resource(RESOURCE_TYPES.keyvault, 'kv-shop', {})
  const items = (keys: unknown[], secrets: unknown[] = []): ResourceFacts => ({kvKeys: {ok: true, value: keys}, kvSecrets: {ok: true, value: secrets}})
  const rotating = {lifetimeActions: [{trigger: {timeAfterCreate: 'P90D'}, action: {type: 'rotate'}}]}

  it('kv.expiry: enabled items only; a vault with none is not applicable; an item without attributes is an error', () => {
    const expiring = {name: 'cmk', attributes: {enabled: true, expires: '2027-01-01T00:00:00.000Z'}}
    expect(run('kv.expiry', kv, items([expiring], [{name: 'old', attributes: {enabled: false}}]))).toEqual({status: 'pass', message: 'all 1 enabled key(s) and secret(s) have an expiry'})
    // enabled unset means enabled (Azure's default).
    expect(run('kv.expiry', kv, items([expiring], [{name: 'token', attributes: {}}]))).toEqual({
      status: 'fail',
      message: '1 of 2 enabled key(s) and secret(s) never expire: secret token',
    })
    expect(run('kv.expiry', kv, items([], [{name: 'old', attributes: {enabled: false}}])).status).toBe('not-applicable')
    expect(() => run('kv.expiry', kv, items([{name: 'cmk'}]))).toThrow('attributes of key cmk are absent')
    expect(() => run('kv.expiry', kv, {kvKeys: {ok: true, value: []}})).toThrow(MissingData)
  })

  // The key list carries no rotation policy (spec example listKeys.json); each key's GET does.
  it('kv.key_rotation reads each key\'s rotation policy from its GET, not from the list: Rotate with a trigger passes; Notify alone or none fails', () => {
    const key = (name: string) => ({name, attributes: {enabled: true}})
    const policies = (value: Record<string, unknown>): ResourceFacts => ({kvKeyRotationPolicies: {ok: true, value}})
    const facts = (keys: unknown[], byName: Record<string, unknown>) => ({...items(keys), ...policies(byName)})
    expect(run('kv.key_rotation', kv, facts([key('a')], {a: rotating})).status).toBe('pass')
    const result = run('kv.key_rotation', kv, facts([key('a'), key('b'), key('c')], {a: rotating, b: null, c: {lifetimeActions: [{trigger: {timeBeforeExpiry: 'P30D'}, action: {type: 'Notify'}}]}}))
    expect(result).toEqual({status: 'fail', message: '2 of 3 enabled key(s) have no rotation policy with a Rotate action: key b, key c'})
    // A rotation policy in the list item is not how Azure serves it and does not count.
    expect(() => run('kv.key_rotation', kv, items([{...key('a'), rotationPolicy: rotating}]))).toThrow('kvKeyRotationPolicies was not collected')
    expect(() => run('kv.key_rotation', kv, facts([key('a')], {}))).toThrow('rotation policy of key a was not read')
    expect(run('kv.key_rotation', kv, facts([], {})).status).toBe('not-applicable')
    expect(() => run('kv.key_rotation', kv, {kvKeys: {ok: false, error: 'HTTP 403 AuthorizationFailed'}})).toThrow(/403/)
  })

  // Certificates come from the Key Vault data plane (Get Certificates + Get Certificate Policy); now is 2026-06-10.
  it('kv.cert.validity: expired or expiring within 30 days fails; disabled certificates are ignored; no expiry or no list is an error', () => {
    const certs = (value: unknown[]): ResourceFacts => ({kvCertificates: {ok: true, value}})
    const cert = (name: string, expires: string | undefined, enabled = true) => ({name, attributes: {enabled, expires}, policy: {issuer: 'Self', lifetimeActions: []}})
    expect(run('kv.cert.validity', kv, certs([cert('tls', '2026-12-01T00:00:00.000Z'), cert('old', '2020-01-01T00:00:00.000Z', false)]))).toEqual({
      status: 'pass',
      message: 'all 1 enabled certificate(s) are valid beyond 30 days',
    })
    expect(run('kv.cert.validity', kv, certs([cert('gone', '2026-06-01T00:00:00.000Z'), cert('soon', '2026-06-30T00:00:00.000Z'), cert('fine', '2027-01-01T00:00:00.000Z')]))).toEqual({
      status: 'fail',
      message: '2 of 3 enabled certificate(s) expired: certificate gone; expire within 30 days: soon (2026-06-30)',
    })
    expect(run('kv.cert.validity', kv, certs([])).status).toBe('not-applicable')
    expect(() => run('kv.cert.validity', kv, certs([cert('tls', undefined)]))).toThrow('expiry of certificate tls is absent')
    expect(() => run('kv.cert.validity', kv, {kvCertificates: {ok: false, error: 'Key Vault /certificates answered 403: Forbidden'}})).toThrow(/403/)
  })

  it('kv.cert.auto_renew: an AutoRenew lifetime action with an issuer Key Vault can renew with passes; EmailContacts only or issuer Unknown fails', () => {
    const certs = (value: unknown[]): ResourceFacts => ({kvCertificates: {ok: true, value}})
    const cert = (name: string, issuer: string, action: string) => ({name, attributes: {enabled: true, expires: '2027-01-01T00:00:00.000Z'}, policy: {issuer, lifetimeActions: [{trigger: {lifetime_percentage: 80}, action: {action_type: action}}]}})
    expect(run('kv.cert.auto_renew', kv, certs([cert('tls', 'Self', 'AutoRenew')])).status).toBe('pass')
    expect(run('kv.cert.auto_renew', kv, certs([cert('tls', 'Self', 'AutoRenew'), cert('mail', 'Self', 'EmailContacts'), cert('byhand', 'Unknown', 'AutoRenew')]))).toEqual({
      status: 'fail',
      message: '2 of 3 enabled certificate(s) do not renew automatically: mail (issuer Self, actions EmailContacts), byhand (issuer Unknown, actions AutoRenew)',
    })
    expect(() => run('kv.cert.auto_renew', kv, certs([{name: 'tls', attributes: {enabled: true}}]))).toThrow('policy of certificate tls was not read')
  })

  it('kv.cert.max_validity: more than 12 calendar months from notBefore to expiry fails; an absent period is an error', () => {
    const certs = (value: unknown[]): ResourceFacts => ({kvCertificates: {ok: true, value}})
    const cert = (name: string, notBefore: string | undefined, expires: string) => ({name, attributes: {enabled: true, notBefore, expires}})
    // Exactly 12 months (across a leap day, 366 days) passes; a day more fails.
    expect(run('kv.cert.max_validity', kv, certs([cert('leap', '2027-06-01T00:00:00.000Z', '2028-06-01T00:00:00.000Z')])).status).toBe('pass')
    expect(run('kv.cert.max_validity', kv, certs([cert('ok', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'), cert('long', '2026-01-01T00:00:00.000Z', '2027-01-02T00:00:00.000Z')]))).toEqual({
      status: 'fail',
      message: '1 of 2 enabled certificate(s) are valid for longer than 12 months: long (2026-01-01 to 2027-01-02)',
    })
    expect(() => run('kv.cert.max_validity', kv, certs([cert('tls', undefined, '2027-01-01T00:00:00.000Z')]))).toThrow('validity period (nbf/exp) of certificate tls is absent')
  })

  it('app.basic_auth.off: both policies must be readable and false', () => {
    const site = resource(RESOURCE_TYPES.slot, 'app-store/staging', {})
    const policies = (ftp: unknown, scm: unknown): ResourceFacts => ({publishingCredentials: {ok: true, value: {ftp: {allow: ftp}, scm: {allow: scm}}}})
    expect(run('app.basic_auth.off', site, policies(false, false))).toEqual({status: 'pass', message: 'basic auth is off for FTP and SCM'})
    expect(run('app.basic_auth.off', site, policies(true, true))).toEqual({status: 'fail', message: 'basic auth is allowed for FTP and SCM'})
    expect(() => run('app.basic_auth.off', site, policies(false, undefined))).toThrow('basicPublishingCredentialsPolicies/scm.allow is absent')
  })

  it('app.auth.easy_auth: platform.enabled decides; absent is an error', () => {
    const site = resource(RESOURCE_TYPES.site, 'app-store', {})
    const auth = (value: unknown): ResourceFacts => ({authSettings: {ok: true, value}})
    expect(run('app.auth.easy_auth', site, auth({platform: {enabled: true}})).status).toBe('pass')
    expect(run('app.auth.easy_auth', site, auth({platform: {enabled: false}})).status).toBe('fail')
    expect(() => run('app.auth.easy_auth', site, auth({}))).toThrow('config/authsettingsV2.platform.enabled is absent')
  })
})

describe('Front Door and Defender for Resource Manager rules', () => {
  const afd = (sku = 'Premium_AzureFrontDoor') => resource(RESOURCE_TYPES.frontDoor, 'afd-shop', {}, {sku: {name: sku}})
  const wafId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/frontdoorWebApplicationFirewallPolicies/wafshop'
  const fd = (parts: Partial<FrontDoorConfig>): ResourceFacts => ({frontDoorConfig: {ok: true, value: {securityPolicies: [], routes: [], customDomains: [], wafPolicies: {}, ...parts}}})
  const attached = [{name: 'wafshop-policy', properties: {parameters: {type: 'WebApplicationFirewall', wafPolicy: {id: wafId}}}}]
  const waf = (mode: string, enabledState = 'Enabled') => ({[wafId.toLowerCase()]: {name: 'wafshop', properties: {policySettings: {enabledState, mode}}}})

  it('fd.waf.prevention: an attached, enabled policy in Prevention passes; Detection, disabled or none fails; an unseen policy is an error', () => {
    expect(run('fd.waf.prevention', afd(), fd({securityPolicies: attached, wafPolicies: waf('Prevention')})).status).toBe('pass')
    expect(run('fd.waf.prevention', afd(), fd({securityPolicies: attached, wafPolicies: waf('Detection')}))).toEqual({status: 'fail', message: 'wafshop is Enabled/Detection'})
    expect(run('fd.waf.prevention', afd(), fd({securityPolicies: attached, wafPolicies: waf('Prevention', 'Disabled')})).status).toBe('fail')
    expect(run('fd.waf.prevention', afd(), fd({})).status).toBe('fail')
    expect(() => run('fd.waf.prevention', afd(), fd({securityPolicies: attached}))).toThrow(MissingData)
    expect(() => run('fd.waf.prevention', afd(), {frontDoorConfig: {ok: false, error: 'HTTP 403'}})).toThrow(/403/)
    expect(run('fd.waf.prevention', afd('Standard_Microsoft')).status).toBe('not-applicable')
  })

  it('fd.https_only: a route serving HTTP without redirect fails (the defaults are [Http, Https] and Disabled)', () => {
    const route = (properties: Record<string, unknown>) => ({name: 'default-route', endpoint: 'shop', properties})
    expect(run('fd.https_only', afd(), fd({routes: [route({supportedProtocols: ['Https']})]})).status).toBe('pass')
    expect(run('fd.https_only', afd(), fd({routes: [route({supportedProtocols: ['Http', 'Https'], httpsRedirect: 'Enabled'})]})).status).toBe('pass')
    expect(run('fd.https_only', afd(), fd({routes: [route({})]}))).toEqual({status: 'fail', message: 'route(s) shop/default-route serve plain HTTP without redirecting to HTTPS'})
    expect(run('fd.https_only', afd(), fd({routes: [route({enabledState: 'Disabled'})]})).status).toBe('pass')
  })

  it('fd.tls.min12: a custom domain at TLS10 fails; TLS12 or no custom domain passes', () => {
    const domain = (minimumTlsVersion?: string) => ({name: 'www', properties: {tlsSettings: minimumTlsVersion ? {minimumTlsVersion} : {}}})
    expect(run('fd.tls.min12', afd(), fd({customDomains: [domain('TLS12')]})).status).toBe('pass')
    expect(run('fd.tls.min12', afd(), fd({customDomains: [domain()]})).status).toBe('pass')
    expect(run('fd.tls.min12', afd(), fd({})).status).toBe('pass')
    expect(run('fd.tls.min12', afd(), fd({customDomains: [domain('TLS10')]}))).toEqual({status: 'fail', message: 'custom domain(s) www (TLS10) accept TLS older than 1.2'})
  })

  it('def.arm reads the subscription plan named Arm (CIS F6 8.1.9.1); never read is Free; unreadable is an error', () => {
    const st = resource(RESOURCE_TYPES.storage, 'stshop', {})
    expect(run('def.arm', st, {}, context(environment(), {defenderPlans: {ok: true, value: {arm: 'Standard'}}}))).toEqual({status: 'pass', message: 'Defender plan Arm is Standard'})
    expect(run('def.arm', st, {}, context(environment(), {defenderPlans: {ok: true, value: {storageaccounts: 'Standard'}}}))).toEqual({status: 'fail', message: 'Defender plan Arm is Free'})
    expect(() => run('def.arm', st, {}, context(environment(), {defenderPlans: {ok: false, error: 'HTTP 403'}}))).toThrow(MissingData)
    expect(findCheck('def.arm')!.frameworks.cis).toEqual(['F6 8.1.9.1'])
  })

  it('CIS v6.0 numbers are the benchmark\'s (Prowler cis_6.0_azure.json): Defender plans, certificate validity, Entra default, resource logs', () => {
    expect(findCheck('def.plan')!.frameworks.cis).toEqual(['F6 8.1.5.1', 'F6 8.1.6.1', 'F6 8.1.7.2', 'F6 8.1.8.1'])
    expect(findCheck('kv.cert.max_validity')!.frameworks.cis).toEqual(['F6 8.3.11'])
    expect(findCheck('st.entra_default')!.frameworks.cis).toEqual(['F6 9.3.3.1'])
    expect(findCheck('logs.audit')!.frameworks.cis).toEqual(['F6 6.1.4'])
    // v6.0 9.3.5 is "Allow trusted Microsoft services"; no CIS control asks for a SAS expiration policy.
    expect(findCheck('st.sas_policy')!.frameworks.cis).toBeUndefined()
  })
})

describe('bulk filters: per-resource reads only where the Resource Graph row leaves the outcome open', () => {
  it('PostgreSQL firewall rules are not needed (and the checks pass) when public network access is Disabled; administrators only with Entra auth on', () => {
    const privateServer = pg({network: {publicNetworkAccess: 'Disabled'}})
    for (const id of ['pg.fw.no_azure_wide', 'pg.fw.narrow']) {
      expect(findCheck(id)!.needsFacts!(privateServer)).toBe(false)
      expect(findCheck(id)!.needsFacts!(pg({}))).toBe(true)
      expect(run(id, privateServer)).toEqual({status: 'pass', message: 'public network access is disabled: firewall rules admit no one'})
      expect(() => run(id, pg({network: {publicNetworkAccess: 'Enabled'}}))).toThrow(MissingData)
    }
    expect(findCheck('pg.auth.entra')!.needsFacts!(pg({}))).toBe(false)
    expect(run('pg.auth.entra', pg({})).status).toBe('fail')
    expect(findCheck('pg.auth.entra')!.needsFacts!(pg({authConfig: {activeDirectoryAuth: 'Enabled'}}))).toBe(true)
  })

  it('Redis firewall rules are not needed when public network access is Disabled', () => {
    const rule = findCheck('redis.fw.narrow')!
    expect(rule.needsFacts!(resource(RESOURCE_TYPES.redis, 'c', {publicNetworkAccess: 'Disabled'}))).toBe(false)
    expect(rule.needsFacts!(resource(RESOURCE_TYPES.redis, 'c', {}))).toBe(true)
  })
})
