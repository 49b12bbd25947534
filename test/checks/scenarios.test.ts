/**
 * The emulator's built-in estates against the whole checklist, through the unmodified SDK clients: with
 * `--scenario insecure` every check fails at least once; with `--scenario compliant` every check passes (or is not
 * applicable). A production environment, so the production-only checks take part.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {environmentSchema, type Environment} from '../../src/catalog/schema.js'
import {createAzureServices} from '../../src/azure/clients.js'
import {CHECKS} from '../../src/checks/rules/index.js'
import {INVENTORY_MISSING} from '../../src/checks/rules/inventory.js'
import {runChecks} from '../../src/checks/run.js'
import {sourcesFromServices} from '../../src/checks/sources.js'
import type {CheckReport} from '../../src/checks/types.js'
import type {Scenario} from '../../src/emulator/estate.js'
import {startEmulator} from '../../src/emulator/server.js'

const SUB = '00000000-0000-0000-0000-0000000005ce'

function productionEnvironment(): Environment {
  return environmentSchema.parse({
    cloud: 'emulator',
    production: true,
    subscription: SUB,
    resourceGroups: ['rg-prod'],
    pairedRegion: 'westus',
    requiredTags: ['owner', 'costCenter'],
    windows: {
      database: {recurrence: 'weekly', day: 'Sunday', start: '02:00', end: '04:00', timeZone: 'UTC'},
      cache: {recurrence: 'weekly', day: 'Sunday', start: '04:00', end: '05:00', timeZone: 'UTC'},
      // Azure Managed Redis takes maintenance windows of 4 hours or more, two a week, 18 hours in all.
      'cache-saturday': {recurrence: 'weekly', day: 'Saturday', start: '00:00', end: '09:00', timeZone: 'UTC'},
      'cache-sunday': {recurrence: 'weekly', day: 'Sunday', start: '00:00', end: '09:00', timeZone: 'UTC'},
    },
    components: {
      db: {type: 'postgres', name: 'pg-prod', backupRetentionDays: 14, geoRedundantBackup: true, highAvailability: 'ZoneRedundant', window: 'database'},
      cache: {type: 'redis', name: 'redis-prod', sku: 'Premium', window: 'cache'},
      carts: {type: 'managedredis', name: 'amr-prod', sku: 'Balanced_B5', windows: ['cache-saturday', 'cache-sunday']},
      web: {type: 'webapp', name: 'app-prod', slots: ['staging'], healthPath: '/health'},
      files: {type: 'storage', name: 'stprod'},
      secrets: {type: 'keyvault', name: 'kv-prod'},
      payments: {type: 'sqldb', name: 'sqldb-prod', server: 'sql-prod', failoverGroup: 'fog-prod', geoReplicas: [{server: 'sql-prod-dr', region: 'westus'}]},
      bus: {type: 'servicebus', name: 'sb-prod', sku: 'Premium', queues: ['orders']},
      catalog: {type: 'cosmosdb', name: 'cosmos-prod', backup: 'continuous30days', dataProbes: {database: 'shop', container: 'products'}},
      'web-dr': {type: 'webapp', name: 'app-prod-dr', region: 'westus', slots: ['staging'], healthPath: '/health'},
      dns: {type: 'trafficmanager', name: 'tm-prod', endpoints: [{name: 'east', webapp: 'web', priority: 1}, {name: 'west', webapp: 'web-dr', priority: 2}]},
      edge: {type: 'frontdoor', name: 'afd-prod', sku: 'Premium_AzureFrontDoor', endpoint: 'shop', originGroups: [{name: 'web', origins: [{name: 'east', webapp: 'web', priority: 1}, {name: 'west', webapp: 'web-dr', priority: 2}]}]},
    },
  })
}

async function scan(scenario: Scenario): Promise<CheckReport> {
  const environment = productionEnvironment()
  const emulator = await startEmulator({environment, environmentName: 'prod', lroDurationMs: 0, scenario})
  try {
    const services = createAzureServices({
      environment,
      environmentName: 'prod',
      emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, blob: emulator.blob, subscription: emulator.subscription},
      retry: {maxRetries: 1, baseDelayMs: 20},
    })
    const report = await runChecks({environment, environmentName: 'prod', sources: sourcesFromServices(services)})
    // What the estate set, read back through the ARM routes that own it (webapp.ts plans, redis.ts firewall rules).
    const rg = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers`
    const plan = (await services.armRequest('GET', `${rg}/Microsoft.Web/serverfarms/asp-app-prod`, {apiVersion: '2024-11-01'})).body
    const rules = (await services.armRequest('GET', `${rg}/Microsoft.Cache/redis/redis-prod/firewallRules`, {apiVersion: '2024-11-01'})).body
    served[scenario] = {plan, redisFirewallRules: rules.value}
    return report
  } finally {
    await emulator.stop()
  }
}

const reports: Partial<Record<Scenario, CheckReport>> = {}
const served: Partial<Record<Scenario, {plan: any; redisFirewallRules: any[]}>> = {}
beforeAll(async () => {
  reports.insecure = await scan('insecure')
  reports.compliant = await scan('compliant')
})
afterAll(() => undefined)

const perResourceChecks = CHECKS.filter((c) => c.id !== INVENTORY_MISSING).map((c) => c.id)

describe('emulator scenarios', () => {
  it('insecure: every check fails at least once, and nothing errors', () => {
    const findings = reports.insecure!.findings
    const failing = new Set(findings.filter((f) => f.status === 'fail').map((f) => f.checkId))
    expect(perResourceChecks.filter((id) => !failing.has(id))).toEqual([])
    expect(findings.filter((f) => f.status === 'error').map((f) => `${f.checkId} ${f.resourceName}: ${f.message}`)).toEqual([])
  })

  it('compliant: every check passes or is not applicable, and each check passes somewhere', () => {
    const findings = reports.compliant!.findings
    expect(findings.filter((f) => f.status !== 'pass' && f.status !== 'not-applicable').map((f) => `${f.checkId} ${f.resourceName} ${f.status}: ${f.message}`)).toEqual([])
    const passing = new Set(findings.filter((f) => f.status === 'pass').map((f) => f.checkId))
    expect(perResourceChecks.filter((id) => !passing.has(id))).toEqual([])
  })

  it('the estate\'s App Service plan and Redis firewall rules are what the routes owning them serve', () => {
    expect(served.insecure!.plan.sku).toMatchObject({name: 'B1', tier: 'Basic', capacity: 1})
    expect(served.compliant!.plan).toMatchObject({sku: {name: 'P1v3', tier: 'PremiumV3', capacity: 3}, properties: {zoneRedundant: true}})
    expect(served.insecure!.redisFirewallRules).toEqual([
      {id: expect.stringMatching(/redis-prod\/firewallRules\/AllowAll$/), name: 'redis-prod/AllowAll', type: 'Microsoft.Cache/Redis/firewallRules', properties: {startIP: '0.0.0.0', endIP: '255.255.255.255'}},
    ])
    expect(served.compliant!.redisFirewallRules).toEqual([])
  })
})
