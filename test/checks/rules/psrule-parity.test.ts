/**
 * Checks read side by side with PSRule for Azure's rules for the same properties (Azure/PSRule.Rules.Azure
 * src/PSRule.Rules.Azure/rules/Azure.{PostgreSQL,Redis,AppService,KeyVault}.Rule.{ps1,yaml}). Each case is a
 * resource on which the check disagreed with PSRule before (a default, a value, a limit or a scope).
 */
import {describe, expect, it} from 'vitest'
import {componentOf} from '../../../src/checks/evaluate.js'
import {findCheck} from '../../../src/checks/rules/index.js'
import {RESOURCE_TYPES, type CatalogContext, type InventoryResource, type ResourceFacts} from '../../../src/checks/types.js'
import {context, environment, resource} from '../fixtures.js'

function run(id: string, r: InventoryResource, facts: ResourceFacts = {}, ctx: CatalogContext = context()) {
  const rule = findCheck(id)
  if (!rule) throw new Error(`no rule ${id}`)
  return rule.evaluate(r, facts, {...ctx, component: ctx.component ?? componentOf(r, ctx.environment)})
}

const production = context(environment({production: true}))
const pg = (properties: Record<string, unknown>) => resource(RESOURCE_TYPES.postgres, 'pg-orders', properties)
const redis = (properties: Record<string, unknown>, extra: Partial<InventoryResource> = {}) => resource(RESOURCE_TYPES.redis, 'redis-sessions', properties, extra)
const site = (extra: Partial<InventoryResource> = {}, properties: Record<string, unknown> = {}) => resource(RESOURCE_TYPES.site, 'app-store', properties, extra)
const siteConfig = (values: Record<string, unknown>): ResourceFacts => ({siteConfig: {ok: true, value: values}})

describe('firewall rules: PSRule FirewallRuleCount (≤ 10 rules) and FirewallIPRange (≤ 10 public addresses in all)', () => {
  const pgRules = (rules: Array<[string, string, string]>): ResourceFacts => ({pgFirewallRules: {ok: true, value: rules.map(([name, startIpAddress, endIpAddress]) => ({name, startIpAddress, endIpAddress}))}})
  const redisRules = (rules: Array<[string, string, string]>): ResourceFacts => ({redisFirewallRules: {ok: true, value: rules.map(([name, startIP, endIP]) => ({name, startIP, endIP}))}})

  it('ten /25 rules passed ("no rule wider than 256") but admit 1,280 public addresses: fail', () => {
    const rules = Array.from({length: 10}, (_, i): [string, string, string] => [`office-${i}`, `20.1.${i}.0`, `20.1.${i}.127`])
    const result = run('pg.fw.narrow', pg({}), pgRules(rules))
    expect(result.status).toBe('fail')
    expect(result.message).toMatch(/^1,280 public addresses \(more than 10\): office-0 \(20\.1\.0\.0–20\.1\.0\.127\)/)
    expect(run('redis.fw.narrow', redis({}), redisRules(rules)).status).toBe('fail')
  })

  it('eleven single-address rules are too many rules even though each admits one address', () => {
    const rules = Array.from({length: 11}, (_, i): [string, string, string] => [`host-${i}`, `20.1.1.${i}`, `20.1.1.${i}`])
    expect(run('pg.fw.narrow', pg({}), pgRules(rules))).toEqual({status: 'fail', message: '11 rules (more than 10); 11 public addresses (more than 10): host-0 (20.1.1.0–20.1.1.0), host-1 (20.1.1.1–20.1.1.1), host-2 (20.1.1.2–20.1.1.2) and 8 more'})
    expect(run('redis.fw.narrow', redis({}), redisRules(rules.slice(0, 10))).status).toBe('pass')
  })

  it('private ranges and the Azure-services marker are left out of the address count (RFC 1918: 172.217.x.x is public)', () => {
    const rules: Array<[string, string, string]> = [
      ['vnet', '10.0.0.0', '10.0.255.255'],
      ['corp', '172.16.0.0', '172.31.255.255'],
      ['lab', '192.168.0.0', '192.168.255.255'],
      ['AllowAllWindowsAzureIps', '0.0.0.0', '0.0.0.0'],
      ['office', '20.1.1.1', '20.1.1.10'],
    ]
    expect(run('pg.fw.narrow', pg({}), pgRules(rules))).toEqual({status: 'pass', message: '5 firewall rule(s) admitting 10 public address(es) (at most 10 rules and 10 addresses)'})
    expect(run('pg.fw.narrow', pg({}), pgRules([['cdn', '172.217.0.0', '172.217.0.255']])).status).toBe('fail')
  })
})

describe('PostgreSQL: PSRule AADOnly and AAD', () => {
  it('password authentication off is Entra-only only with Microsoft Entra authentication on', () => {
    expect(run('pg.auth.password_off', pg({authConfig: {passwordAuth: 'Disabled'}}))).toEqual({
      status: 'fail',
      message: "passwordAuth is Disabled, activeDirectoryAuth is not set (Azure's default: Disabled)",
    })
    expect(run('pg.auth.password_off', pg({authConfig: {passwordAuth: 'Disabled', activeDirectoryAuth: 'Enabled'}})).status).toBe('pass')
  })

  it('an Entra administrator without principalType is not counted', () => {
    const admins = (value: unknown[]): ResourceFacts => ({pgAdministrators: {ok: true, value}})
    const server = pg({authConfig: {activeDirectoryAuth: 'Enabled'}})
    expect(run('pg.auth.entra', server, admins([{principalName: 'dba'}]))).toEqual({
      status: 'fail',
      message: 'activeDirectoryAuth is Enabled but 1 of 1 Entra administrator(s) name no principal (principalName and principalType)',
    })
    expect(run('pg.auth.entra', server, admins([{principalName: 'dba', principalType: 'Group'}])).status).toBe('pass')
  })
})

describe('PostgreSQL: PSRule MaintenanceWindow wants a custom window on every server', () => {
  it('outside the catalog (no window to compare) a system-managed window fails and a custom one passes; it was not applicable', () => {
    const env = environment({components: {}})
    expect(run('pg.maintenance.window', pg({maintenanceWindow: {customWindow: 'Disabled'}}), {}, context(env))).toEqual({
      status: 'fail',
      message: 'customWindow is Disabled: Azure picks the maintenance time (system-managed window)',
    })
    expect(run('pg.maintenance.window', pg({}), {}, context(env)).status).toBe('fail')
    expect(run('pg.maintenance.window', pg({maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: 3, startHour: 1, startMinute: 0}}), {}, context(env)).status).toBe('pass')
  })
})

describe('PostgreSQL: PSRule ZoneRedundantHA', () => {
  it('in production SameZone fails unless the catalog asks for it', () => {
    const prod = environment({production: true, components: {}})
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'SameZone'}}), {}, context(prod))).toEqual({
      status: 'fail',
      message: "highAvailability.mode is SameZone: primary and standby share a zone (set the catalog's highAvailability to SameZone where the region has no zones)",
    })
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'ZoneRedundant'}}), {}, context(prod)).status).toBe('pass')
    const sameZone = environment({production: true, components: {db: {type: 'postgres', name: 'pg-orders', highAvailability: 'SameZone'}}})
    expect(run('pg.ha.enabled', pg({highAvailability: {mode: 'SameZone'}}), {}, context(sameZone)).status).toBe('pass')
  })
})

describe('Redis: PSRule MinTLS, Version, MinSKU and AvailabilityZone', () => {
  it('unset minimumTlsVersion and redisVersion are the service defaults (1.2, latest), not errors; an explicit 1.0 still fails', () => {
    expect(run('redis.tls.min12', redis({})).status).toBe('pass')
    expect(run('redis.tls.min12', redis({minimumTlsVersion: '1.0'})).status).toBe('fail')
    expect(run('redis.version', redis({}))).toEqual({status: 'pass', message: "redisVersion is not set (Azure's default: latest)"})
    expect(run('redis.version', redis({redisVersion: 'latest'})).status).toBe('pass')
    expect(run('redis.version', redis({redisVersion: '4.0.14'})).status).toBe('fail')
  })

  it('Standard C0 (shared core) fails like Basic; Standard C1 and Premium pass', () => {
    expect(run('redis.sku.not_basic', redis({sku: {name: 'Standard', family: 'C', capacity: 0}}))).toEqual({status: 'fail', message: 'sku is Standard C0 (shared core)'})
    expect(run('redis.sku.not_basic', redis({sku: {name: 'Standard', family: 'C', capacity: 1}})).status).toBe('pass')
    expect(run('redis.sku.not_basic', redis({sku: {name: 'Premium', family: 'P', capacity: 1}})).status).toBe('pass')
  })

  it('three zones need two replicas per primary; automatic zonal allocation passes', () => {
    const premium = {sku: {name: 'Premium', family: 'P', capacity: 1}}
    expect(run('redis.zones', redis(premium, {zones: ['1', '2', '3']}), {}, production)).toEqual({
      status: 'fail',
      message: '3 zones but 1 replica(s) per primary: 1 zone(s) hold no node (needs 2)',
    })
    expect(run('redis.zones', redis({...premium, replicasPerMaster: 2}, {zones: ['1', '2', '3']}), {}, production).status).toBe('pass')
    expect(run('redis.zones', redis({...premium}, {zones: ['1', '2']}), {}, production).status).toBe('pass')
    expect(run('redis.zones', redis({sku: {name: 'Standard'}, zonalAllocationPolicy: 'Automatic'}), {}, production).status).toBe('pass')
  })
})

describe('App Service: PSRule UseHTTPS, RemoteDebug, AlwaysOn, WebProbePath, PlanInstanceCount, NETVersion', () => {
  it('unset httpsOnly is a fail and unset remoteDebuggingEnabled a pass (Azure\'s defaults), not errors', () => {
    expect(run('app.https_only', site({}, {}))).toEqual({status: 'fail', message: "httpsOnly is not set (Azure's default: false)"})
    expect(run('app.remote_debug.off', site(), siteConfig({}))).toEqual({status: 'pass', message: 'remoteDebuggingEnabled is not set (off)'})
    expect(run('app.remote_debug.off', site(), siteConfig({remoteDebuggingEnabled: true})).status).toBe('fail')
  })

  it('Always On is not applicable to function apps and Logic Apps; unset on a web app fails', () => {
    expect(run('app.always_on', site({kind: 'functionapp,linux'}), siteConfig({alwaysOn: false}))).toEqual({status: 'not-applicable', message: 'a function app: Always On is a web app setting'})
    expect(run('app.always_on', site({kind: 'functionapp,workflowapp'}), siteConfig({})).status).toBe('not-applicable')
    expect(run('app.always_on', site({kind: 'app,linux'}), siteConfig({})).status).toBe('fail')
  })

  it('a health check path of "/" is the site root, not a dedicated probe', () => {
    // Outside the catalog (no healthPath to compare with).
    const env = environment({components: {}})
    expect(run('app.health_check', site(), siteConfig({healthCheckPath: '/'}), context(env))).toEqual({status: 'fail', message: 'healthCheckPath is /: the site root, not a dedicated health endpoint'})
    expect(run('app.health_check', site(), siteConfig({healthCheckPath: '/healthz'}), context(env)).status).toBe('pass')
  })

  it('consumption and elastic plans are not held to 2 instances', () => {
    const plan = (sku: Record<string, unknown>, kind?: string) => resource(RESOURCE_TYPES.plan, 'asp-fn', {}, {sku, kind})
    expect(run('app.plan.instances', plan({name: 'Y1', tier: 'Dynamic', capacity: 0}), {}, production).status).toBe('not-applicable')
    expect(run('app.plan.instances', plan({name: 'EP1', tier: 'ElasticPremium', capacity: 1}, 'elastic'), {}, production).status).toBe('not-applicable')
    expect(run('app.plan.instances', plan({name: 'P1v3', tier: 'PremiumV3', capacity: 1}), {}, production).status).toBe('fail')
  })

  it('a Windows app on .NET 6 (netFrameworkVersion v6.0) fails; v4.0 (.NET Framework 4.x) is not judged', () => {
    expect(run('app.stack.supported', site(), siteConfig({netFrameworkVersion: 'v6.0'}))).toEqual({status: 'fail', message: 'netFrameworkVersion v6.0 (support ended 2024-11-12)'})
    expect(run('app.stack.supported', site(), siteConfig({netFrameworkVersion: 'v4.0'})).status).toBe('not-applicable')
    expect(run('app.stack.supported', site(), siteConfig({netFrameworkVersion: 'v10.0'})).status).toBe('pass')
  })
})

describe('Storage: PSRule UseReplication asks for a second region, not zones', () => {
  const account = (sku: string, tags: Record<string, string> = {}) => resource(RESOURCE_TYPES.storage, 'stshop', {}, {sku: {name: sku}, tags})
  it('GRS passes and ZRS fails st.geo_replication; st.replication (zones) reads ZRS the other way', () => {
    expect(run('st.geo_replication', account('Standard_GRS'), {}, production).status).toBe('pass')
    expect(run('st.geo_replication', account('Standard_ZRS'), {}, production)).toEqual({status: 'fail', message: 'sku is Standard_ZRS: no copy in a second region'})
    expect(run('st.replication', account('Standard_ZRS'), {}, production).status).toBe('pass')
    expect(run('st.geo_replication', account('Standard_RAGZRS'), {}, production).status).toBe('pass')
    expect(run('st.geo_replication', account('Premium_LRS'), {}, production).status).toBe('not-applicable')
    expect(run('st.geo_replication', account('Standard_LRS', {'resource-usage': 'azure-functions'}), {}, production).status).toBe('not-applicable')
    expect(run('st.geo_replication', account('Standard_LRS'), {}, context()).status).toBe('not-applicable')
  })
})

describe('Storage: accounts without a blob or file service (PSRule SoftDelete skips FileStorage)', () => {
  it('FileStorage skips the blob checks and BlockBlobStorage the file check, reading nothing', () => {
    const files = resource(RESOURCE_TYPES.storage, 'stfiles', {}, {kind: 'FileStorage'})
    const blobs = resource(RESOURCE_TYPES.storage, 'stblobs', {}, {kind: 'BlockBlobStorage'})
    for (const id of ['st.blob.soft_delete', 'st.blob.versioning']) {
      expect(findCheck(id)!.needsFacts!(files)).toBe(false)
      expect(run(id, files)).toEqual({status: 'not-applicable', message: 'a FileStorage account has no blob service'})
      expect(findCheck(id)!.needsFacts!(blobs)).toBe(true)
    }
    expect(findCheck('st.file.soft_delete')!.needsFacts!(blobs)).toBe(false)
    expect(run('st.file.soft_delete', blobs)).toEqual({status: 'not-applicable', message: 'a BlockBlobStorage account has no file service'})
    expect(findCheck('st.file.soft_delete')!.needsFacts!(files)).toBe(true)
  })
})

describe('Storage: CIS v6.0 9.3.5 trusted Microsoft services', () => {
  const account = (networkAcls?: Record<string, unknown>) => resource(RESOURCE_TYPES.storage, 'stshop', networkAcls ? {networkAcls} : {})
  it('bypass None fails; AzureServices (alone, in a list, or the unset default) passes', () => {
    expect(run('st.trusted_services', account({bypass: 'None', defaultAction: 'Deny'})).status).toBe('fail')
    expect(run('st.trusted_services', account({bypass: 'Logging, Metrics'})).status).toBe('fail')
    expect(run('st.trusted_services', account({bypass: 'Logging, AzureServices'})).status).toBe('pass')
    expect(run('st.trusted_services', account())).toEqual({status: 'pass', message: "networkAcls.bypass is not set (Azure's default: AzureServices)"})
  })
})

describe('diagnostic settings: category names compare as PowerShell does (case-insensitively)', () => {
  const diag = (logs: unknown[]): ResourceFacts => ({diagnosticSettings: {ok: true, value: [{name: 'to-law', logs}]}})
  it('auditevent and appservicehttplogs count', () => {
    expect(run('kv.audit_logs', resource(RESOURCE_TYPES.keyvault, 'kv-app', {}), diag([{category: 'auditevent', enabled: true}])).status).toBe('pass')
    expect(run('app.logs.http', site(), diag([{category: 'appservicehttplogs', enabled: true}])).status).toBe('pass')
  })
})
