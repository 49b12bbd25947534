/**
 * reads.ts says where each fact comes from; a full scan of the seeded emulator must agree: what it calls Resource
 * Graph's is never read per resource, and every per-resource read it lists is one the collector actually makes.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {collectInventory} from '../../src/checks/collect.js'
import {evaluateInventory} from '../../src/checks/evaluate.js'
import {ARG_TABLES_URL, FACT_SOURCES, LOCKS_SOURCE} from '../../src/checks/reads.js'
import {CHECKS} from '../../src/checks/rules/index.js'
import {sourcesFromServices, type CheckSources} from '../../src/checks/sources.js'
import type {FactName} from '../../src/checks/types.js'
import {expectedEnvironment, startSeededEmulator, type SeededEmulator} from './emulator-fixture.js'

/** The source method that reads each fact per resource (none for facts only Resource Graph serves). */
const METHOD: Record<FactName, keyof CheckSources | undefined> = {
  siteConfig: 'siteConfig',
  privateEndpoints: undefined,
  pgConfigurations: 'pgConfigurations',
  pgFirewallRules: 'pgFirewallRules',
  pgAdministrators: 'pgAdministrators',
  blobService: 'blobService',
  fileService: 'fileService',
  diagnosticSettings: 'diagnosticSettings',
  storageServiceDiagnostics: 'diagnosticSettings',
  redisPatchSchedule: 'redisPatchSchedule',
  redisFirewallRules: 'redisFirewallRules',
  managedRedisDatabase: 'managedRedisDatabase',
  managedRedisMaintenance: 'managedRedisMaintenance',
  kvKeys: 'kvKeys',
  kvSecrets: 'kvSecrets',
  kvKeyRotationPolicies: 'kvKeyRotationPolicy',
  kvCertificates: 'kvCertificates',
  publishingCredentials: 'publishingCredentialsPolicy',
  authSettings: 'authSettingsV2',
  frontDoorConfig: 'frontDoorLists',
}

let seeded: SeededEmulator
const calls = new Map<string, number>()
let graphQueries: string[] = []

beforeAll(async () => {
  seeded = await startSeededEmulator()
  const real = sourcesFromServices(seeded.services)
  // The real sources, counted: which reads a full scan makes.
  const counted = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1)
        if (name === 'resourceGraph') graphQueries.push(String(args[0]).split(' ')[0]!)
        return (fn as (...a: unknown[]) => unknown).apply(real, args)
      },
    ]),
  ) as unknown as CheckSources
  graphQueries = []
  await collectInventory({environment: expectedEnvironment(), sources: counted})
})
afterAll(async () => seeded?.stop())

describe('where each fact comes from (reads.ts)', () => {
  it('every fact a check reads is described; each per-resource one says why no bulk form exists, against Resource Graph\'s table reference', () => {
    const read = new Set(CHECKS.flatMap((c) => c.facts ?? []))
    for (const fact of read) {
      const source = FACT_SOURCES[fact]
      expect(source.cites, fact).toContain(ARG_TABLES_URL)
      if (source.source === 'per-resource') expect(source.why, fact).toMatch(/\S/)
    }
    expect(LOCKS_SOURCE.why).toMatch(/microsoft\.authorization\/locks/)
  })

  it('a full scan reads the Resource Graph facts only from Resource Graph, and makes the per-resource reads listed', () => {
    // Site config came from appserviceresources, private endpoints from resources: no per-app config/web GET.
    expect(graphQueries).toEqual(expect.arrayContaining(['resources', 'appserviceresources', 'securityresources']))
    for (const [fact, source] of Object.entries(FACT_SOURCES) as Array<[FactName, (typeof FACT_SOURCES)[FactName]]>) {
      const method = METHOD[fact]
      if (source.source === 'resource-graph') {
        if (method) expect(calls.get(method) ?? 0, `${fact} read per resource`).toBe(0)
      } else if (CHECKS.some((c) => c.facts?.includes(fact))) {
        // The fixture has every resource type a check reads per resource, except Managed Redis and Front Door.
        if (fact === 'managedRedisDatabase' || fact === 'frontDoorConfig') continue
        expect(calls.get(method!) ?? 0, `${fact} (${method}) not read`).toBeGreaterThan(0)
      }
    }
    expect(calls.get('locks')).toBe(1)
  })
})

describe('dropped connections (issue #14: two 5,000-resource bench runs died of an uncaught socket hang up)', () => {
  it('a scan whose every ARM and Key Vault GET has its connection dropped finishes: each check needing those reads is an error naming the reset', async () => {
    const environment = expectedEnvironment()
    // Every GET's TCP connection destroyed before an answer — on fresh and on kept-alive sockets, after the client's own
    // retries too — while Resource Graph (POST) answers: the inventory is known, no per-resource read succeeds.
    seeded.emulator.faults.set({resetConnections: {next: 1_000_000, methods: ['GET']}})
    try {
      const inventory = await collectInventory({environment, sources: sourcesFromServices(seeded.services)})
      const findings = evaluateInventory(inventory, {environment, environmentName: 'checks', now: new Date()}).findings
      const perResource = new Set(CHECKS.filter((c) => c.facts?.some((f) => FACT_SOURCES[f].source === 'per-resource')).map((c) => c.id))
      const errored = findings.filter((f) => f.status === 'error')
      expect(errored.length).toBeGreaterThan(0)
      // Every error is a per-resource read's (or the locks list's), and says the connection was dropped.
      for (const f of errored) {
        expect(perResource.has(f.checkId) || f.checkId === 'gov.lock.critical', f.checkId).toBe(true)
        expect(f.message, `${f.checkId} ${f.resourceName}`).toMatch(/ECONNRESET|socket hang up/i)
      }
      // And no check that reads per resource passed or failed on data it could not read.
      const judged = findings.filter((f) => perResource.has(f.checkId) && (f.status === 'pass' || f.status === 'fail'))
      for (const f of judged) expect(CHECKS.find((c) => c.id === f.checkId)!.needsFacts, `${f.checkId} judged without its reads`).toBeDefined()
    } finally {
      seeded.emulator.faults.set({resetConnections: {next: 0}})
    }
  }, 120_000)
})

describe('reads the catalog makes unnecessary', () => {
  it('a cache the catalog gives no maintenance window gets no PatchSchedules_Get, and its patch-schedule check is not applicable as before', async () => {
    const withWindows = expectedEnvironment()
    const withoutGoodWindow = structuredClone(withWindows)
    delete (withoutGoodWindow.components['redis-good'] as {window?: string}).window
    const real = sourcesFromServices(seeded.services)
    const caches: string[] = []
    const sources: CheckSources = {...real, redisPatchSchedule: (rg, cache) => (caches.push(cache), real.redisPatchSchedule(rg, cache))}
    const inventory = await collectInventory({environment: withoutGoodWindow, sources})
    expect(caches).toEqual(['redis-bad'])
    const finding = (environment: typeof withWindows, name: string) =>
      evaluateInventory(inventory, {environment, environmentName: 'checks', now: new Date()}).findings.find((f) => f.checkId === 'redis.maintenance.patch_schedule' && f.resourceName === name)!
    expect(finding(withoutGoodWindow, 'redis-good')).toMatchObject({status: 'not-applicable', message: expect.stringMatching(/no maintenance window/)})
    // The cache that keeps its window is still judged on its schedule (the insecure estate's: none).
    expect(finding(withoutGoodWindow, 'redis-bad').status).toBe('fail')
  }, 120_000)
})
