import {describe, expect, it} from 'vitest'
import {componentOf} from '../../../src/checks/evaluate.js'
import {findCheck} from '../../../src/checks/rules/index.js'
import {MissingData} from '../../../src/checks/rules/helpers.js'
import {RESOURCE_TYPES, type CatalogContext, type InventoryResource, type ResourceFacts} from '../../../src/checks/types.js'
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

  it('pg.conn_throttle is n/a on PostgreSQL 16+', () => {
    expect(run('pg.conn_throttle', pg({version: '16'})).status).toBe('not-applicable')
    expect(run('pg.conn_throttle', pg({version: '14'}), configs({'connection_throttle.enable': 'off'})).status).toBe('fail')
  })
})

describe('Redis rules', () => {
  const redis = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.redis, 'redis-sessions', properties)
  it('reads TLS, network and sku properties; absent means error', () => {
    expect(run('redis.tls.no_plain_port', redis({enableNonSslPort: true})).status).toBe('fail')
    expect(run('redis.tls.min12', redis({minimumTlsVersion: '1.2'})).status).toBe('pass')
    expect(run('redis.tls.min12', redis({minimumTlsVersion: '1.0'})).status).toBe('fail')
    expect(() => run('redis.tls.min12', redis({}))).toThrow(MissingData)
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
  const site = resource(RESOURCE_TYPES.site, 'app-store', {httpsOnly: true, publicNetworkAccess: 'Enabled', privateEndpointConnections: []}, {identity: {type: 'SystemAssigned'}})
  const config = (value: Record<string, unknown>): ResourceFacts => ({siteConfig: {ok: true, value}})

  it('config rules read config/web and error when it is unreadable', () => {
    expect(run('app.ftps', site, config({ftpsState: 'AllAllowed'}))).toEqual({status: 'fail', message: 'ftpsState is AllAllowed'})
    expect(run('app.always_on', site, config({alwaysOn: true})).status).toBe('pass')
    expect(() => run('app.always_on', site, config({}))).toThrow('config/web.alwaysOn is absent')
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

  it('app.slot.parity lists what differs from production', () => {
    const slot = resource(RESOURCE_TYPES.slot, 'app-store/staging', {httpsOnly: false}, {identity: null})
    const good = {minTlsVersion: '1.2', ftpsState: 'Disabled', remoteDebuggingEnabled: false, http20Enabled: true}
    const parent = {resource: site, facts: config(good)}
    expect(run('app.slot.parity', slot, config({...good, ftpsState: 'AllAllowed'}), context(environment(), {parent}))).toEqual({
      status: 'fail',
      message: 'slot differs from production: httpsOnly false (production true); ftpsState AllAllowed (production Disabled); managed identity false (production true)',
    })
    expect(() => run('app.slot.parity', slot, config(good))).toThrow('production site of this slot')
  })
})

describe('Storage, Key Vault and governance rules', () => {
  it('storage flags and soft delete', () => {
    const st = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.storage, 'stdata', properties)
    expect(run('st.shared_key.off', st({allowSharedKeyAccess: true})).status).toBe('fail')
    expect(() => run('st.shared_key.off', st({}))).toThrow(MissingData)
    expect(run('st.net.restricted', st({publicNetworkAccess: 'Enabled', networkAcls: {defaultAction: 'Deny'}})).status).toBe('pass')
    const blob = (value: unknown): ResourceFacts => ({blobService: {ok: true, value}})
    expect(
      run('st.blob.soft_delete', st({}), blob({deleteRetentionPolicy: {enabled: true, days: 7}, containerDeleteRetentionPolicy: {enabled: true, days: 3}})),
    ).toEqual({status: 'fail', message: 'blob soft delete 7 days, container soft delete 3 days'})
  })

  it('key vault purge protection and audit logs', () => {
    const kv = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.keyvault, 'kv-shop', properties)
    expect(run('kv.purge_protection', kv({enableSoftDelete: true, enablePurgeProtection: true})).status).toBe('pass')
    expect(run('kv.purge_protection', kv({enableSoftDelete: true})).status).toBe('fail')
    expect(run('kv.audit_logs', kv({}), {diagnosticSettings: {ok: true, value: [{name: 'a', logs: [{categoryGroup: 'audit', enabled: true}]}]}}).status).toBe('pass')
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

  it('kv.key_rotation: needs a Rotate action with a trigger (any case); Notify alone or no policy fails', () => {
    const key = (name: string, rotationPolicy?: unknown) => ({name, attributes: {enabled: true}, rotationPolicy})
    expect(run('kv.key_rotation', kv, items([key('a', rotating)])).status).toBe('pass')
    const result = run('kv.key_rotation', kv, items([key('a', rotating), key('b'), key('c', {lifetimeActions: [{trigger: {timeBeforeExpiry: 'P30D'}, action: {type: 'Notify'}}]})]))
    expect(result).toEqual({status: 'fail', message: '2 of 3 enabled key(s) have no rotation policy with a Rotate action: key b, key c'})
    expect(run('kv.key_rotation', kv, items([key('d', {lifetimeActions: [{action: {type: 'Rotate'}}]})])).status).toBe('fail')
    expect(run('kv.key_rotation', kv, items([])).status).toBe('not-applicable')
    expect(() => run('kv.key_rotation', kv, {kvKeys: {ok: false, error: 'HTTP 403 AuthorizationFailed'}})).toThrow(/403/)
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
