/**
 * amr.maintenance.window against the emulator, on both of its paths: a Resource Graph row that carries the cluster's
 * maintenanceConfiguration (read from the row, no ARM call), and a row that lacks it because Resource Graph stored an
 * older api-version's GET (src/checks/reads.ts managedRedisMaintenance: then the cluster's ARM GET at 2026-09-01 is
 * the source, so a cluster whose windows are right is not reported as having none). The emulator's estate sets the
 * cluster's windows (the catalog's, as Azure takes them) and, for the second path, the version Resource Graph uses.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {createAzureServices} from '../../../src/azure/clients.js'
import {amrMaintenancePlan, describeAmrWindow} from '../../../src/catalog/managed-redis-maintenance.js'
import {environmentSchema, type Environment} from '../../../src/catalog/schema.js'
import {inventoryQuery} from '../../../src/checks/collect.js'
import {CHECKS} from '../../../src/checks/rules/index.js'
import {runChecks} from '../../../src/checks/run.js'
import {sourcesFromServices, type CheckSources} from '../../../src/checks/sources.js'
import type {FaultSpec} from '../../../src/emulator/context.js'
import type {Estate} from '../../../src/emulator/estate.js'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'

const SUB = '00000000-0000-0000-0000-0000000a3a30'
const RG = 'rg-amr-checks'
const RULE = CHECKS.filter((c) => c.id === 'amr.maintenance.window')
const NOW = new Date('2026-12-02T12:00:00Z')

const environment: Environment = environmentSchema.parse({
  cloud: 'emulator',
  subscription: SUB,
  resourceGroups: [RG],
  windows: {
    'cache-saturday': {recurrence: 'weekly', day: 'Saturday', start: '00:00', end: '09:00', timeZone: 'UTC'},
    'cache-sunday': {recurrence: 'weekly', day: 'Sunday', start: '00:00', end: '09:00', timeZone: 'UTC'},
  },
  components: {
    carts: {type: 'managedredis', name: 'amr-checks-carts', sku: 'Balanced_B5', windows: ['cache-saturday', 'cache-sunday']},
  },
})
const wanted = amrMaintenancePlan(environment, environment.components.carts as never, NOW).windows

/** The cluster with the catalog's windows set; Resource Graph storing the GET of `argApiVersion` when given. */
function estate(argApiVersion?: string): Estate {
  return {
    ...(argApiVersion ? {resourceGraph: {apiVersions: {'microsoft.cache/redisenterprise': argApiVersion}}} : {}),
    resources: {'amr-checks-carts': {properties: {maintenanceConfiguration: {maintenanceWindows: wanted}}}},
  }
}

let emulator: RunningEmulator | undefined
afterEach(async () => {
  await emulator?.stop()
  emulator = undefined
})

async function scan(argApiVersion?: string, faults?: FaultSpec) {
  emulator = await startEmulator({environment, environmentName: 'amr', lroDurationMs: 0, estate: estate(argApiVersion), ...(faults ? {faults} : {})})
  const services = createAzureServices({
    environment,
    environmentName: 'amr',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, blob: emulator.blob, subscription: emulator.subscription},
    retry: {maxRetries: 1, baseDelayMs: 20},
  })
  const sources: CheckSources = sourcesFromServices(services)
  const row = (await sources.resourceGraph(inventoryQuery(), [SUB])).data.find((r) => r.name === 'amr-checks-carts')!
  const since = emulator.requestCount()
  const report = await runChecks({environment, environmentName: 'amr', sources, rules: RULE, now: () => NOW})
  const clusterGets = emulator.requestLog(since).filter((r) => r.method === 'GET' && /\/redisEnterprise\/amr-checks-carts$/i.test(r.path))
  return {row: row.properties as Record<string, unknown>, finding: report.findings.find((f) => f.checkId === 'amr.maintenance.window')!, clusterGets}
}

describe('amr.maintenance.window reads the windows where they are', () => {
  it('from the Resource Graph row when it carries maintenanceConfiguration: passes, no ARM read of the cluster', async () => {
    const {row, finding, clusterGets} = await scan()
    expect(row).toHaveProperty('maintenanceConfiguration')
    expect(finding.status).toBe('pass')
    expect(finding.message).toBe(`maintenance windows ${wanted.map(describeAmrWindow).join(', ')} as the catalog's windows`)
    expect(clusterGets).toEqual([])
  })

  it('from the cluster\'s ARM GET at 2026-09-01 when Resource Graph stored an older version without it: passes, not "no windows"', async () => {
    const {row, finding, clusterGets} = await scan('2025-07-01')
    expect(row).not.toHaveProperty('maintenanceConfiguration')
    expect(row).toHaveProperty('publicNetworkAccess')
    expect(finding.status).toBe('pass')
    expect(finding.message).toBe(`maintenance windows ${wanted.map(describeAmrWindow).join(', ')} as the catalog's windows`)
    expect(clusterGets.map((r) => r.query)).toEqual([expect.stringContaining('api-version=2026-09-01')])
  })

  it('an ARM read that fails is an error, never a pass or a "no windows" fail', async () => {
    // Every GET of the cluster answers 500 (retries included); Resource Graph still answers.
    const {finding, clusterGets} = await scan('2025-07-01', {transient: {rate: 1, status: 500, operations: ['managedRedis.get']}})
    expect(clusterGets.length).toBeGreaterThan(0)
    expect(clusterGets.every((r) => r.status === 500)).toBe(true)
    expect(finding.status).toBe('error')
    expect(finding.message).toMatch(/temporarily unavailable/)
  })
})
