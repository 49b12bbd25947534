import {describe, expect, it} from 'vitest'
import {blockingFindings, evaluateInventory, waiverExpiry} from '../../src/checks/evaluate.js'
import {CHECKS, findCheck} from '../../src/checks/rules/index.js'
import {RESOURCE_TYPES} from '../../src/checks/types.js'
import {environment, resource} from './fixtures.js'

const redis = resource(RESOURCE_TYPES.redis, 'redis-sessions', {enableNonSslPort: true, minimumTlsVersion: '1.2'})
const rules = [findCheck('redis.tls.no_plain_port')!, findCheck('redis.tls.min12')!, findCheck('redis.sku.not_basic')!]

function evaluate(waivers: unknown[], now = '2026-06-10T12:00:00Z') {
  return evaluateInventory(
    {resources: [redis], facts: new Map(), locks: {ok: true, value: []}},
    {environment: environment({waivers}), environmentName: 'local', now: new Date(now), rules},
  )
}

describe('evaluateInventory', () => {
  it('turns missing data into error, never pass', () => {
    const {findings, counts} = evaluate([])
    expect(findings.map((f) => [f.checkId, f.status])).toEqual([
      ['redis.tls.no_plain_port', 'fail'],
      ['redis.tls.min12', 'pass'],
      ['redis.sku.not_basic', 'error'],
    ])
    expect(findings[2]!.message).toBe('could not evaluate: properties.sku.name is absent')
    expect(counts).toEqual({pass: 1, fail: 1, error: 1, 'not-applicable': 0, waived: 0})
  })

  it('applies a waiver by component key with its reason and owner', () => {
    const {findings, expiredWaivers} = evaluate([
      {check: 'redis.tls.no_plain_port', resource: 'sessions-cache', reason: 'legacy client until Q3', owner: 'web-team', expires: '2026-09-30'},
    ])
    expect(findings[0]).toMatchObject({
      status: 'waived',
      waiver: {reason: 'legacy client until Q3', owner: 'web-team', expires: '2026-09-30', expired: false},
    })
    expect(findings[0]!.message).toBe('enableNonSslPort is true — waived by web-team until 2026-09-30: legacy client until Q3')
    expect(expiredWaivers).toEqual([])
  })

  it('an expired waiver stops applying and is reported', () => {
    const waiver = {check: 'redis.tls.no_plain_port', resource: 'redis-sessions', reason: 'legacy client', owner: 'web-team', expires: '2026-06-09'}
    const {findings, expiredWaivers, counts} = evaluate([waiver])
    expect(findings[0]).toMatchObject({status: 'fail', waiver: {expired: true, owner: 'web-team'}})
    expect(findings[0]!.message).toBe('enableNonSslPort is true (waiver by web-team expired 2026-06-09)')
    expect(expiredWaivers).toEqual([{...waiver, resourceId: redis.id}])
    expect(counts.waived).toBe(0)
  })

  it('a waiver never hides an error, and one for another resource does not apply', () => {
    const {findings} = evaluate([
      {check: 'redis.sku.not_basic', reason: 'r', owner: 'o', expires: '2030-01-01'},
      {check: 'redis.tls.no_plain_port', resource: 'other-cache', reason: 'r', owner: 'o', expires: '2030-01-01'},
    ])
    expect(findings.map((f) => f.status)).toEqual(['fail', 'pass', 'error'])
  })

  it('reports a waiver whose resource the scan did not find (a typo waives nothing), with the name it probably meant', () => {
    const typo = {check: 'redis.tls.no_plain_port', resource: 'sesions-cache', reason: 'r', owner: 'web-team', expires: '2030-01-01'}
    const elsewhere = {check: 'redis.tls.no_plain_port', resource: 'redis-in-another-subscription', reason: 'r', owner: 'o', expires: '2030-01-01'}
    const byKey = {check: 'redis.tls.min12', resource: 'sessions-cache', reason: 'r', owner: 'o', expires: '2030-01-01'}
    const byId = {check: 'redis.tls.min12', resource: redis.id.toUpperCase(), reason: 'r', owner: 'o', expires: '2030-01-01'}
    const {findings, unmatchedWaivers} = evaluate([typo, elsewhere, byKey, byId, {check: 'redis.sku.not_basic', reason: 'r', owner: 'o', expires: '2030-01-01'}])
    expect(findings[0]!.status).toBe('fail')
    expect(unmatchedWaivers).toEqual([{...typo, closest: 'sessions-cache'}, elsewhere])
  })

  it('a date-only expiry covers that whole day', () => {
    expect(waiverExpiry('2026-06-10').toISOString()).toBe('2026-06-11T00:00:00.000Z')
    const waiver = {check: 'redis.tls.no_plain_port', reason: 'r', owner: 'o', expires: '2026-06-10'}
    expect(evaluate([waiver], '2026-06-10T23:00:00Z').findings[0]!.status).toBe('waived')
  })

  it('blocks on fails and errors at or above the threshold only', () => {
    const {findings} = evaluate([])
    expect(blockingFindings(findings, 'high').map((f) => f.checkId)).toEqual(['redis.tls.no_plain_port'])
    expect(blockingFindings(findings, 'medium').map((f) => f.checkId)).toEqual(['redis.tls.no_plain_port'])
    expect(blockingFindings(findings, 'low').map((f) => f.checkId)).toEqual(['redis.tls.no_plain_port', 'redis.sku.not_basic'])
    expect(blockingFindings(findings, 'critical')).toEqual([])
  })
})

describe('catalog components the scan cannot see', () => {
  const inventory = (...resources: ReturnType<typeof resource>[]) => ({resources, facts: new Map(), locks: {ok: true as const, value: []}})
  const run = (resources: ReturnType<typeof resource>[], env = environment(), ruleSet = CHECKS) =>
    evaluateInventory(inventory(...resources), {environment: env, environmentName: 'local', now: new Date('2026-06-10T12:00:00Z'), rules: ruleSet})

  it('reports each absent component as a high error naming what was expected where, and the gate fails', () => {
    const {findings, counts} = run([redis])
    const missing = findings.filter((f) => f.checkId === 'inventory.missing')
    expect(missing.map((f) => [f.component, f.resourceType, f.resourceName, f.status, f.severity])).toEqual([
      ['orders-db', RESOURCE_TYPES.postgres, 'pg-orders', 'error', 'high'],
      ['storefront', RESOURCE_TYPES.site, 'app-store', 'error', 'high'],
    ])
    expect(missing[0]!.resourceId).toBe('/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders')
    expect(missing[0]!.message).toBe(
      'catalog component orders-db (postgres pg-orders) expected in resource group rg-shop-local of subscription 00000000-0000-0000-0000-00000000c0de was not found: no Resource Graph row (missing Reader role, Resource Graph indexing lag, or a wrong name in the catalog); none of its checks ran',
    )
    expect(counts.error).toBe(findings.filter((f) => f.status === 'error').length)
    expect(blockingFindings(findings, 'high').filter((f) => f.checkId === 'inventory.missing')).toHaveLength(2)
  })

  it('an empty inventory is not a clean bill of health', () => {
    const {findings} = run([])
    expect(findings.map((f) => `${f.checkId} ${f.resourceName}`)).toEqual(['inventory.missing pg-orders', 'inventory.missing redis-sessions', 'inventory.missing app-store'])
    expect(blockingFindings(findings, 'critical')).toEqual([])
    expect(blockingFindings(findings, 'high')).toHaveLength(3)
  })

  it('reports an absent slot of a present site, and a resource group the scan does not cover', () => {
    const env = environment({
      components: {
        storefront: {type: 'webapp', name: 'app-store', slots: ['staging', 'canary'], healthPath: '/health'},
        'audit-vault': {type: 'keyvault', name: 'kv-audit', resourceGroup: 'rg-security'},
      },
    })
    const site = resource(RESOURCE_TYPES.site, 'app-store', {httpsOnly: true})
    const staging = resource(RESOURCE_TYPES.slot, 'app-store/staging', {httpsOnly: true})
    const missing = run([site, staging], env).findings.filter((f) => f.checkId === 'inventory.missing')
    expect(missing.map((f) => [f.resourceName, f.resourceType, f.resourceId.split('/providers/')[1]])).toEqual([
      ['app-store/canary', RESOURCE_TYPES.slot, 'Microsoft.Web/sites/app-store/slots/canary'],
      ['kv-audit', RESOURCE_TYPES.keyvault, 'Microsoft.KeyVault/vaults/kv-audit'],
    ])
    expect(missing[1]!.message).toContain("resource group rg-security is not in the environment's resourceGroups (rg-shop-local), so it was not scanned")
  })

  it('only for types the active rules cover', () => {
    const {findings} = run([], environment(), rules)
    expect(findings.map((f) => `${f.checkId} ${f.resourceName}`)).toEqual(['inventory.missing redis-sessions'])
  })
})
