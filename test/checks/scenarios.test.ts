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
    },
    components: {
      db: {type: 'postgres', name: 'pg-prod', backupRetentionDays: 14, geoRedundantBackup: true, highAvailability: 'ZoneRedundant', window: 'database'},
      cache: {type: 'redis', name: 'redis-prod', sku: 'Premium', window: 'cache'},
      web: {type: 'webapp', name: 'app-prod', slots: ['staging'], healthPath: '/health'},
      files: {type: 'storage', name: 'stprod'},
      secrets: {type: 'keyvault', name: 'kv-prod'},
      payments: {type: 'sqldb', name: 'sqldb-prod', server: 'sql-prod', failoverGroup: 'fog-prod', geoReplicas: [{server: 'sql-prod-dr', region: 'westus'}]},
      bus: {type: 'servicebus', name: 'sb-prod', sku: 'Premium', queues: ['orders']},
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
      emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, blob: emulator.blob, subscription: emulator.subscription},
      retry: {maxRetries: 1, baseDelayMs: 20},
    })
    return await runChecks({environment, environmentName: 'prod', sources: sourcesFromServices(services)})
  } finally {
    await emulator.stop()
  }
}

const reports: Partial<Record<Scenario, CheckReport>> = {}
beforeAll(async () => {
  reports.insecure = await scan('insecure')
  reports.compliant = await scan('compliant')
}, 120_000)
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
})
