/**
 * The checklist end to end against the emulator: Resource Graph + ARM through the unmodified SDK clients, rules,
 * waivers, and the output formats a user feeds to GitHub code scanning and CI.
 */
import {readFileSync} from 'node:fs'
import {Ajv} from 'ajv'
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {formatCsv} from '../../src/checks/format/csv.js'
import {formatJunit} from '../../src/checks/format/junit.js'
import {junit10Violations} from '../helpers/junit-schema.js'
import {toOcsf} from '../../src/checks/format/ocsf.js'
import {toSarif} from '../../src/checks/format/sarif.js'
import {securityCheck} from '../../src/actions/security.js'
import type {ActionContext} from '../../src/actions/types.js'
import {CHECKS, findCheck} from '../../src/checks/rules/index.js'
import {gate, runChecks} from '../../src/checks/run.js'
import {sourcesFromServices} from '../../src/checks/sources.js'
import type {CheckReport} from '../../src/checks/types.js'
import {expectedEnvironment, RG, startSeededEmulator, type SeededEmulator} from './emulator-fixture.js'

const NOW = new Date('2026-06-10T12:00:00Z')

/** Per resource: the checks that fail, are waived or not applicable; every other applicable check passes. */
const APP_BAD = [
  'app.https_only', 'app.tls.min12', 'app.ftps', 'app.basic_auth.off', 'app.remote_debug.off', 'app.identity', 'app.auth.easy_auth', 'app.http2', 'app.cors.no_wildcard',
  'app.net.restricted', 'app.net.vnet', 'app.arr_affinity.off', 'app.client_cert', 'app.stack.supported', 'app.logs.http', 'app.health_check', 'app.always_on', 'logs.audit', 'gov.tags.required',
]
// The environment is not production: production-only checks are not applicable.
const EXPECTED: Record<string, {fail: string[]; waived?: string[]; na?: string[]}> = {
  'pg-good': {fail: []},
  'pg-bad': {
    fail: [
      'pg.tls.enforced', 'pg.tls.min12', 'pg.net.public_disabled', 'pg.fw.no_azure_wide', 'pg.fw.narrow', 'pg.auth.entra', 'pg.auth.password_off', 'pg.log.checkpoints',
      'pg.log.connections', 'pg.log.retention', 'pg.conn_throttle', 'pg.backup.retention', 'pg.backup.geo', 'pg.ha.enabled', 'pg.maintenance.window', 'logs.audit', 'gov.tags.required',
    ],
  },
  'redis-good': {fail: [], na: ['redis.zones']},
  'redis-bad': {
    fail: [
      'redis.tls.no_plain_port', 'redis.tls.min12', 'redis.net.public_disabled', 'redis.net.private', 'redis.auth.no_keys', 'redis.auth.entra', 'redis.version', 'redis.fw.narrow',
      'redis.memory.reserved', 'redis.maintenance.patch_schedule', 'logs.audit', 'gov.tags.required',
    ],
    waived: ['redis.sku.not_basic'],
    na: ['redis.zones'],
  },
  'app-good': {fail: []},
  'app-good/staging': {fail: []},
  'app-bad': {fail: APP_BAD},
  'app-bad/staging': {fail: [...APP_BAD, 'app.slot.parity']},
  'asp-app-good': {fail: [], na: ['app.plan.zone_redundant', 'app.plan.instances']},
  'asp-app-bad': {fail: ['gov.tags.required'], na: ['app.plan.zone_redundant', 'app.plan.instances']},
  stgood: {fail: [], na: ['st.replication', 'st.geo_replication']},
  stbad: {
    fail: [
      'st.secure_transfer', 'st.tls.min12', 'st.blob.anon_off', 'st.shared_key.off', 'st.entra_default', 'st.net.public_disabled', 'st.net.restricted', 'st.trusted_services', 'st.net.private_endpoint',
      'st.xtenant_repl.off', 'st.key_expiry', 'st.keys.regenerated', 'st.sas_policy', 'st.blob.soft_delete', 'st.file.soft_delete', 'st.blob.versioning', 'st.logs.audit', 'gov.tags.required',
    ],
    na: ['st.replication', 'st.geo_replication'],
  },
  'kv-good': {fail: []},
  'sql-good-srv': {fail: []},
  'sql-bad-srv': {fail: ['sql.net.public_disabled', 'sql.tls.min12', 'sql.auth.entra_only', 'gov.tags.required']},
  // Not production, but the catalog asks for cross-region recovery: geo-redundant backup is expected.
  'sql-good': {fail: []},
  'sql-bad': {fail: ['sql.backup.redundancy', 'gov.tags.required']},
  'sb-good': {fail: []},
  'sb-bad': {fail: ['sb.net.public_disabled', 'sb.tls.min12', 'sb.auth.local_disabled', 'gov.tags.required']},
  'cosmos-good': {fail: []},
  // The insecure estate leaves it on periodic, locally redundant backups while the catalog asks for continuous.
  'cosmos-bad': {fail: ['cosmos.net.public_disabled', 'cosmos.tls.min12', 'cosmos.auth.local_disabled', 'cosmos.backup.continuous', 'gov.tags.required']},
  'tm-good': {fail: []},
  'tm-bad': {fail: ['tm.monitor.https', 'tm.monitor.configured', 'tm.endpoints.redundant', 'gov.tags.required']},
  'kv-bad': {fail: ['kv.purge_protection', 'kv.rbac', 'kv.net.public_disabled', 'kv.net.restricted', 'kv.private_link', 'kv.audit_logs', 'kv.expiry', 'kv.key_rotation', 'kv.cert.validity', 'kv.cert.auto_renew', 'kv.cert.max_validity', 'gov.tags.required']},
}

let seeded: SeededEmulator
let report: CheckReport
const PAGED_ONE_BY_ONE = Object.fromEntries(
  ['keyvault.keys.list', 'keyvault.secrets.list', 'keyvault.data.getCertificates', 'postgres.firewallRules.list', 'postgres.administrators.list', 'redis.firewallRules.list', 'locks.list'].map((o) => [o, 1]),
)

beforeAll(async () => {
  // Every list the per-resource reads follow is paged one item at a time (a test-only knob; Azure pages them at 25 or
  // not at all), so the findings below also show that no page after the first is lost.
  seeded = await startSeededEmulator(NOW, {listPageSizes: PAGED_ONE_BY_ONE})
  seeded.emulator.clearRequestLog()
  report = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW})
})
afterAll(async () => seeded?.stop())

describe('runChecks against the emulator', () => {
  it('finds exactly the seeded violations: every check passes somewhere and fails somewhere', () => {
    const actual: Record<string, Record<string, string>> = {}
    for (const f of report.findings) (actual[f.resourceName] ??= {})[f.checkId] = f.status
    const expected: Record<string, Record<string, string>> = {}
    for (const [name, spec] of Object.entries(EXPECTED)) {
      const type = report.findings.find((f) => f.resourceName === name)!.resourceType
      expected[name] = {}
      for (const rule of CHECKS.filter((c) => c.resourceTypes.includes(type)))
        expected[name][rule.id] = spec.fail.includes(rule.id) ? 'fail' : spec.waived?.includes(rule.id) ? 'waived' : spec.na?.includes(rule.id) ? 'not-applicable' : 'pass'
    }
    expect(actual).toEqual(expected)
    const statusesByCheck = new Map<string, Set<string>>()
    for (const f of report.findings) statusesByCheck.set(f.checkId, (statusesByCheck.get(f.checkId) ?? new Set()).add(f.status))
    // Azure Managed Redis and Front Door are not in this fixture: test/checks/scenarios.test.ts makes every amr.* and
    // fd.* check fail and pass.
    const inFixture = CHECKS.filter((c) => !c.id.startsWith('amr.') && !c.id.startsWith('fd.'))
    const neverPass = inFixture.filter((c) => !statusesByCheck.get(c.id)?.has('pass')).map((c) => c.id)
    const neverFail = inFixture.filter((c) => !statusesByCheck.get(c.id)?.has('fail') && !statusesByCheck.get(c.id)?.has('waived')).map((c) => c.id)
    // inventory.missing is an error or nothing: every component is there (see the test below for one that is not).
    // Production-only checks are not applicable here (test/checks/scenarios.test.ts runs them); Defender plans are on.
    expect(neverPass).toEqual(['redis.zones', 'st.replication', 'st.geo_replication', 'app.plan.zone_redundant', 'app.plan.instances', 'inventory.missing'])
    // gov.lock.critical passes everywhere: the fixture adds a lock at subscription scope (once ignored, a false fail).
    expect(neverFail).toEqual(['redis.zones', 'st.replication', 'st.geo_replication', 'def.plan', 'def.arm', 'app.plan.zone_redundant', 'app.plan.instances', 'gov.lock.critical', 'inventory.missing'])
  })

  it('says what it found', () => {
    const message = (resource: string, check: string) => report.findings.find((f) => f.resourceName === resource && f.checkId === check)?.message
    expect(message('pg-bad', 'pg.fw.no_azure_wide')).toBe('firewall rule(s) AllowAllAzureServicesAndResourcesWithinAzureIps (0.0.0.0–0.0.0.0), AllowAll (0.0.0.0–255.255.255.255) open the server widely')
    expect(message('pg-bad', 'pg.backup.retention')).toBe('backupRetentionDays is 1, catalog requires at least 14')
    expect(message('redis-bad', 'redis.maintenance.patch_schedule')).toBe("patch schedule Monday 12:00 UTC; the catalog's 'cache' window starts Sunday 04:00 UTC")
    expect(message('app-bad/staging', 'app.slot.parity')).toBe(
      'slot differs from production: minTlsVersion 1.2 (production 1.0)',
    )
    expect(message('redis-bad', 'redis.sku.not_basic')).toBe('sku is Basic — waived by web-team until 2099-12-31: dev cache, replaced in Q4')
    expect(message('redis-bad', 'gov.lock.critical')).toBe('CanNotDelete lock keep-subscription on its subscription')
    expect(message('app-bad', 'app.net.restricted')).toBe('publicNetworkAccess is Enabled, 0 approved private endpoint(s), and access restrictions allow unmatched traffic to the app and the SCM site')
    expect(message('kv-good', 'kv.key_rotation')).toBe('all 1 enabled key(s) have a rotation policy that rotates them')
    expect(message('kv-bad', 'kv.expiry')).toBe('2 of 3 enabled key(s) and secret(s) never expire: key never-rotated, secret never-expires')
    expect(message('kv-good', 'kv.expiry')).toBe('all 2 enabled key(s) and secret(s) have an expiry')
    expect(message('kv-bad', 'kv.key_rotation')).toBe('2 of 2 enabled key(s) have no rotation policy with a Rotate action: key never-rotated, key signing-legacy')
    expect(message('app-bad', 'app.basic_auth.off')).toBe('basic auth is allowed for FTP and SCM')
    expect(message('app-bad/staging', 'app.basic_auth.off')).toBe('basic auth is allowed for FTP and SCM')
    expect(message('app-bad', 'app.auth.easy_auth')).toBe('authsettingsV2 platform.enabled is false')
  })

  it('reports an expired waiver and keeps the finding failing', () => {
    const finding = report.findings.find((f) => f.resourceName === 'stbad' && f.checkId === 'st.shared_key.off')!
    expect(finding.status).toBe('fail')
    expect(finding.waiver).toEqual({reason: 'legacy backup tool', owner: 'platform', expires: '2020-01-01', expired: true})
    expect(report.expiredWaivers.map((w) => [w.check, w.resource, w.owner])).toEqual([['st.shared_key.off', 'stbad', 'platform']])
  })

  it('collects in bulk: four Resource Graph queries (resources, site config, private endpoints, Defender plans), no per-resource GET of the resources themselves', () => {
    expect(report.collection.resourceGraphQueries).toBe(4)
    const gets = seeded.emulator.requestLog().filter((e) => e.method === 'GET' && /\/(flexibleServers|redis|sites|storageAccounts|vaults)\/[^/]+$/i.test(e.path))
    expect(gets).toEqual([])
  })

  it('follows every nextLink of the per-resource lists: with one item a page, later pages were read and their items judged', () => {
    const pagedOn = new Set(seeded.emulator.requestLog().filter((e) => /skiptoken/i.test(e.query)).map((e) => e.operation))
    // Lists with more than one item here: kv-bad's keys, a vault's secrets, pg-bad's firewall rules, the locks.
    // (Each vault holds one certificate: test/checks/sources.test.ts pages certificates.)
    expect([...pagedOn].sort()).toEqual(['keyvault.keys.list', 'keyvault.secrets.list', 'locks.list', 'postgres.firewallRules.list'])
    const message = (resource: string, check: string) => report.findings.find((f) => f.resourceName === resource && f.checkId === check)?.message
    // The second key and the second firewall rule are on a second page.
    expect(message('kv-bad', 'kv.key_rotation')).toContain('key never-rotated, key signing-legacy')
    expect(message('pg-bad', 'pg.fw.no_azure_wide')).toContain('AllowAllAzureServicesAndResourcesWithinAzureIps (0.0.0.0–0.0.0.0), AllowAll (0.0.0.0–255.255.255.255)')
  })

  it('reads locks from ARM at every scope (Resource Graph holds none): a resource lock and a resource-group lock protect', async () => {
    const sources = sourcesFromServices(seeded.services)
    // No Resource Graph table lists microsoft.authorization/locks (supported-tables-resources): the emulator has none.
    const graph = await sources.resourceGraph("resources | where type =~ 'microsoft.authorization/locks' | project id", [seeded.emulator.subscription])
    expect(graph.data).toEqual([])
    const client = (await seeded.services.locks()).managementLocks
    const rules = [findCheck('gov.lock.critical')!]
    const scan = async () => {
      const from = seeded.emulator.requestLog().length
      const result = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources, now: () => NOW, rules})
      const lockLists = seeded.emulator.requestLog().slice(from).filter((e) => e.operation === 'locks.list')
      const outcome = (name: string) => {
        const f = result.findings.find((x) => x.resourceName === name)!
        return `${f.status}: ${f.message}`
      }
      return {outcome, lockLists}
    }
    await client.deleteAtSubscriptionLevel('keep-subscription')
    try {
      // The compliant estate locks each -good resource itself; nothing protects the -bad ones without the subscription lock.
      const before = await scan()
      expect(before.lockLists.length).toBeGreaterThan(0)
      expect(before.lockLists.every((e) => /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Authorization\/locks$/i.test(e.path))).toBe(true)
      expect(before.outcome('pg-good')).toBe('pass: CanNotDelete lock do-not-delete on the resource')
      expect(before.outcome('pg-bad')).toBe('fail: no CanNotDelete or ReadOnly lock on the resource, its resource group or its subscription')
      expect(before.outcome('stbad')).toBe('fail: no CanNotDelete or ReadOnly lock on the resource, its resource group or its subscription')
      // A lock put on one resource through ARM, then one on the resource group.
      await client.createOrUpdateAtResourceLevel(RG, 'Microsoft.DBforPostgreSQL', '', 'flexibleServers', 'pg-bad', 'keep-pg', {level: 'CanNotDelete'})
      const onResource = await scan()
      expect(onResource.outcome('pg-bad')).toBe('pass: CanNotDelete lock keep-pg on the resource')
      expect(onResource.outcome('stbad')).toMatch(/^fail: /)
      await client.createOrUpdateAtResourceGroupLevel(RG, 'keep-rg', {level: 'ReadOnly'})
      const onGroup = await scan()
      expect(onGroup.outcome('stbad')).toBe('pass: ReadOnly lock keep-rg on its resource group')
    } finally {
      await client.deleteAtResourceLevel(RG, 'Microsoft.DBforPostgreSQL', '', 'flexibleServers', 'pg-bad', 'keep-pg').catch(() => undefined)
      await client.deleteAtResourceGroupLevel(RG, 'keep-rg').catch(() => undefined)
      await client.createOrUpdateAtSubscriptionLevel('keep-subscription', {level: 'CanNotDelete'})
    }
  })

  it('gates on severity: high fails are blocking, nothing is critical', () => {
    expect(gate(report, 'critical').failed).toBe(false)
    const high = gate(report, 'high')
    expect(high.failed).toBe(true)
    expect(high.blocking.every((f) => f.severity === 'high' && f.status === 'fail')).toBe(true)
  })

  it('unreadable key and secret lists or publishing policies are errors for the new ARM checks, never passes', async () => {
    seeded.emulator.faults.set({transient: {rate: 1, status: 403, operations: ['keyvault.secrets.list', 'webapp.getScmAllowedSlot', 'webapp.getAuthSettingsV2WithoutSecrets']}})
    let faulty: CheckReport
    try {
      const rules = ['kv.expiry', 'kv.key_rotation', 'app.basic_auth.off', 'app.auth.easy_auth'].map((id) => findCheck(id)!)
      faulty = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW, rules})
    } finally {
      seeded.emulator.faults.clear()
    }
    const byStatus = (status: string) => faulty.findings.filter((f) => f.status === status).map((f) => `${f.resourceName} ${f.checkId}`).sort()
    expect(byStatus('error')).toEqual([
      'app-bad app.auth.easy_auth',
      'app-bad/staging app.basic_auth.off',
      'app-good app.auth.easy_auth',
      'app-good/staging app.basic_auth.off',
      'kv-bad kv.expiry',
      'kv-good kv.expiry',
    ])
    expect(faulty.findings.find((f) => f.resourceName === 'kv-good' && f.checkId === 'kv.expiry')!.message).toMatch(/^could not evaluate: kvSecrets could not be read: HTTP 403/)
    // The key list was readable: rotation is still judged.
    expect(byStatus('pass')).toContain('kv-good kv.key_rotation')
  })

  it('a throttled Key Vault data plane (429) is waited out and retried: the certificate checks still decide', async () => {
    seeded.emulator.faults.set({transient: {next: 2, status: 429, operations: ['keyvault.data.getCertificates']}})
    let scan: CheckReport
    try {
      const rules = ['kv.cert.validity', 'kv.cert.auto_renew'].map((id) => findCheck(id)!)
      scan = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW, rules})
    } finally {
      seeded.emulator.faults.clear()
    }
    const statuses = scan.findings.map((f) => `${f.resourceName} ${f.checkId} ${f.status}`).sort()
    expect(statuses).toEqual(['kv-bad kv.cert.auto_renew fail', 'kv-bad kv.cert.validity fail', 'kv-good kv.cert.auto_renew pass', 'kv-good kv.cert.validity pass'])
    expect(scan.collection.throttled).toBe(2)
  })

  it('a catalog component Resource Graph does not return is an error that shuts the gate, not silence', async () => {
    const environment = expectedEnvironment()
    environment.components['orders-db'] = {...environment.components['pg-good']!, name: 'pg-orders'} as never
    // One check that passes on every server: without inventory.missing this scan would be all green.
    const scan = await runChecks({environment, environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW, rules: [findCheck('def.plan')!]})
    const postgres = scan.findings.filter((f) => f.resourceType === 'microsoft.dbforpostgresql/flexibleservers')
    expect(postgres.map((f) => `${f.status} ${f.checkId} ${f.resourceName}`)).toEqual(['pass def.plan pg-bad', 'pass def.plan pg-good', 'error inventory.missing pg-orders'])
    expect(postgres.at(-1)!.message).toMatch(/^catalog component orders-db \(postgres pg-orders\) expected in resource group rg-checks of subscription 00000000-0000-0000-0000-00000000c4ec was not found/)
    expect(gate(scan, 'high')).toMatchObject({failed: true, blocking: [{checkId: 'inventory.missing', severity: 'high', component: 'orders-db'}]})
  })

  it('when Resource Graph rejects appserviceresources (sovereign clouds), config/web is read per app from ARM and the scan completes', async () => {
    const real = sourcesFromServices(seeded.services)
    const rejecting = {
      ...real,
      resourceGraph: (query: string, subscriptions: string[], skipToken?: string) =>
        query.startsWith('appserviceresources')
          ? Promise.reject(Object.assign(new Error("Table 'appserviceresources' could not be found"), {statusCode: 400, code: 'BadRequest'}))
          : real.resourceGraph(query, subscriptions, skipToken),
    }
    const rules = ['app.tls.min12', 'app.ftps', 'app.slot.parity'].map((id) => findCheck(id)!)
    const from = seeded.emulator.requestLog().length
    const lines: string[] = []
    const scan = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: rejecting, now: () => NOW, rules, log: (m) => lines.push(m)})
    const status = (name: string, check: string) => scan.findings.find((f) => f.resourceName === name && f.checkId === check)?.status
    expect(scan.counts.error).toBe(0)
    expect([status('app-good', 'app.tls.min12'), status('app-bad', 'app.tls.min12'), status('app-bad/staging', 'app.slot.parity')]).toEqual(['pass', 'fail', 'fail'])
    expect(lines.some((l) => /rejected appserviceresources/.test(l))).toBe(true)
    const configGets = seeded.emulator.requestLog().slice(from).filter((e) => e.method === 'GET' && /\/config\/web$/i.test(e.path))
    expect(configGets.length).toBe(4)
  })

  it('when Resource Graph rejects securityresources, Defender plans are read from ARM (one pricings list) and judged the same', async () => {
    const real = sourcesFromServices(seeded.services)
    const rejecting = {
      ...real,
      resourceGraph: (query: string, subscriptions: string[], skipToken?: string) =>
        query.startsWith('securityresources')
          ? Promise.reject(Object.assign(new Error("Table 'securityresources' could not be found"), {statusCode: 400, code: 'BadRequest'}))
          : real.resourceGraph(query, subscriptions, skipToken),
    }
    const ids = ['def.plan', 'def.arm']
    const from = seeded.emulator.requestLog().length
    const lines: string[] = []
    const scan = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: rejecting, now: () => NOW, rules: ids.map((id) => findCheck(id)!), log: (m) => lines.push(m)})
    const outcome = (r: CheckReport) => r.findings.filter((f) => ids.includes(f.checkId)).map((f) => `${f.resourceName} ${f.checkId} ${f.status}`).sort()
    expect(scan.counts.error).toBe(0)
    expect(outcome(scan)).toEqual(outcome(report))
    expect(outcome(scan).length).toBeGreaterThan(0)
    expect(lines.some((l) => /rejected securityresources/.test(l))).toBe(true)
    const pricingLists = seeded.emulator.requestLog().slice(from).filter((e) => e.method === 'GET' && /\/providers\/Microsoft\.Security\/pricings$/i.test(e.path))
    expect(pricingLists).toHaveLength(1)
  })

  it('an unreadable property is an error, never a pass', async () => {
    seeded.emulator.faults.set({transient: {rate: 1, status: 403, operations: ['postgres.firewallRules.list', 'storage.blobServices.get']}})
    try {
      const faulty = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW})
      const errors = faulty.findings.filter((f) => f.status === 'error').map((f) => `${f.resourceName} ${f.checkId}`)
      expect(errors.sort()).toEqual([
        'pg-bad pg.fw.narrow',
        'pg-bad pg.fw.no_azure_wide',
        'stbad st.blob.soft_delete',
        'stbad st.blob.versioning',
        'stgood st.blob.soft_delete',
        'stgood st.blob.versioning',
      ])
      // pg-good has public network access disabled: its firewall rules admit no one, so they are not read (bulk filter).
      expect(faulty.findings.find((f) => f.resourceName === 'pg-good' && f.checkId === 'pg.fw.no_azure_wide')).toMatchObject({status: 'pass', message: 'public network access is disabled: firewall rules admit no one'})
      expect(faulty.findings.find((f) => f.resourceName === 'pg-bad' && f.checkId === 'pg.fw.no_azure_wide')!.message).toMatch(
        /^could not evaluate: pgFirewallRules could not be read: HTTP 403/,
      )
      // The unreadable firewall rules keep the gate shut: an error blocks like a fail.
      expect(gate(faulty, 'high').blocking.filter((f) => f.resourceName === 'pg-bad' && f.status === 'error').map((f) => f.checkId)).toEqual(['pg.fw.no_azure_wide', 'pg.fw.narrow'])
    } finally {
      seeded.emulator.faults.clear()
    }
  })
})

describe('output formats', () => {
  it('SARIF validates against the SARIF 2.1.0 schema, with stable ids and fingerprints', () => {
    const schema = JSON.parse(readFileSync(new URL('../fixtures/sarif-2.1.0.schema.json', import.meta.url), 'utf8'))
    // `code.optimize: false` (as test/contract/specs.ts): how the validator is written, not what it accepts
    // (https://ajv.js.org/options.html#code); this compile took 0.7 s of CPU with Ajv's optimising pass, 0.45 s without.
    const ajv = new Ajv({allErrors: true, strict: false, code: {optimize: false}})
    ajv.addFormat('uri', (v: string) => URL.canParse(v))
    ajv.addFormat('uri-reference', (v: string) => URL.canParse(v, 'https://example.invalid/'))
    ajv.addFormat('date-time', (v: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v))
    const sarif = toSarif(report)
    const validate = ajv.compile(schema)
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    // …and the validator still refuses what the schema does not allow.
    expect(validate({...sarif, version: '2.0.0'})).toBe(false)
    // package.json names no homepage or repository, so the log has no informationUri (toolComponent requires only
    // `name`); with one, informationUri and every rule's helpUri are absolute URIs the schema accepts.
    expect(sarif.runs[0]!.tool.driver.informationUri).toBeUndefined()
    const published = toSarif(report, CHECKS, 'https://github.com/example-org/opsbook')
    expect(validate(published), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    expect(published.runs[0]!.tool.driver.informationUri).toBe('https://github.com/example-org/opsbook')
    const run = sarif.runs[0]!
    expect(run.tool.driver.rules!.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id))
    expect(run.results!.length).toBe(report.counts.fail + report.counts.waived + report.counts.error)
    const result = run.results!.find((r) => r.ruleId === 'pg.fw.no_azure_wide')!
    expect(result.locations![0]!.physicalLocation!.artifactLocation!.uri).toBe(
      'subscriptions/00000000-0000-0000-0000-00000000c4ec/resourceGroups/rg-checks/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-bad',
    )
    expect(run.tool.driver.rules![result.ruleIndex!]!.properties!['security-severity']).toBe('7.0')
    // Same check and resource in another scan → same fingerprint, so GitHub updates the alert instead of adding one.
    expect(toSarif(report).runs[0]!.results!.map((r) => r.partialFingerprints)).toEqual(run.results!.map((r) => r.partialFingerprints))
    expect(new Set(run.results!.map((r) => r.partialFingerprints!['opsbookFinding/v1'])).size).toBe(run.results!.length)
    expect(run.results!.find((r) => r.ruleId === 'redis.sku.not_basic')!.suppressions).toEqual([
      {kind: 'external', status: 'accepted', justification: 'dev cache, replaced in Q4 (owner web-team, expires 2099-12-31)'},
    ])
  })

  it('SARIF: an error (the check could not decide) is kind review with level none, as §3.27.9 requires', async () => {
    seeded.emulator.faults.set({transient: {rate: 1, status: 403, operations: ['postgres.firewallRules.list']}})
    let faulty: CheckReport
    try {
      faulty = await runChecks({environment: expectedEnvironment(), environmentName: 'checks', sources: sourcesFromServices(seeded.services), now: () => NOW, rules: [findCheck('pg.fw.no_azure_wide')!, findCheck('pg.tls.enforced')!]})
    } finally {
      seeded.emulator.faults.clear()
    }
    const results = toSarif(faulty).runs[0]!.results!
    const byKind = (kind: string) => results.filter((r) => r.kind === kind).map((r) => `${r.ruleId} ${r.level} ${(r.properties as any).status}`)
    expect(byKind('review')).toEqual(['pg.fw.no_azure_wide none error'])
    expect(byKind('fail')).toEqual(['pg.tls.enforced error fail'])
    // The schema does not tie level to kind, so check the rule for every result: level none if and only if kind is not fail.
    expect(results.every((r) => (r.kind === 'fail') === (r.level !== 'none'))).toBe(true)
  })

  it('SARIF: helpUri per rule to its docs/checks.md section, the package homepage as informationUri (none made up), executionSuccessful false when a check errored, primaryLocationLineHash', () => {
    const homepage = 'https://github.com/example-org/opsbook'
    const run = toSarif(report, CHECKS, homepage).runs[0]!
    expect(run.tool.driver.informationUri).toBe(homepage)
    expect(run.tool.driver.rules!.find((r) => r.id === 'st.tls.min12')!.helpUri).toBe('https://github.com/example-org/opsbook/blob/main/docs/checks.md#st.tls.min12')
    expect(run.invocations![0]!.executionSuccessful).toBe(true)
    const result = run.results![0]!
    expect(result.partialFingerprints!.primaryLocationLineHash).toMatch(/^[0-9a-f]{64}$/)
    // Without a homepage in package.json nothing is invented.
    const bare = toSarif(report, CHECKS, undefined).runs[0]!
    expect(bare.tool.driver.informationUri).toBeUndefined()
    expect(bare.tool.driver.rules!.every((r) => r.helpUri === undefined)).toBe(true)
    const errored = {...report, findings: report.findings.map((f, i) => (i === 0 ? {...f, status: 'error' as const, message: 'could not evaluate: x'} : f))}
    const failedRun = toSarif(errored, CHECKS, homepage).runs[0]!
    expect(failedRun.invocations![0]!.executionSuccessful).toBe(false)
    expect(failedRun.invocations![0]!.toolExecutionNotifications![0]!.message.text).toContain('could not evaluate: x')
  })

  it('OCSF: one schema version (1.5.0, which has compliance.checks); unreadable data is Warning with the missing information; the account has type_id 6', () => {
    const errored = {...report, findings: report.findings.map((f, i) => (i === 0 ? {...f, status: 'error' as const, message: 'could not evaluate: properties is absent'} : f))}
    const events = toOcsf(errored)
    expect(new Set(events.map((e) => e.metadata.version))).toEqual(new Set(['1.5.0']))
    expect(events[0]!.compliance).toMatchObject({status_id: 2, status: 'Warning', status_detail: 'missing information: could not evaluate: properties is absent'})
    expect(events[0]!.cloud.account).toMatchObject({type: 'Azure AD Account', type_id: 6})
  })

  it('JUnit: time on the root, suites and cases; an XSD-valid timestamp; classname is the suite name on every case', async () => {
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(await formatJunit(report))
    expect(Number(doc.testsuites.time)).toBeCloseTo(report.collection.durationMs / 1000, 2)
    for (const suite of [doc.testsuites.testsuite].flat()) {
      expect(suite.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
      expect(suite.time).toBeDefined()
      for (const testCase of [suite.testcase].flat()) {
        expect(testCase.classname).toBe(suite.name)
        expect(testCase.time).toBeDefined()
      }
    }
  })

  it('JUnit XML parses, with one suite per resource type and the right counts', async () => {
    const xml = await formatJunit(report)
    expect(XMLValidator.validate(xml)).toBe(true)
    // …and valid for the schema CI servers check JUnit against (Jenkins' junit-10.xsd).
    expect(junit10Violations(xml)).toEqual([])
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(xml)
    const suites = [doc.testsuites.testsuite].flat()
    expect(suites.map((s: any) => s.name).sort()).toEqual([...new Set(report.findings.map((f) => f.resourceType))].sort())
    const sum = (key: string) => suites.reduce((n: number, s: any) => n + Number(s[key]), 0)
    expect(sum('tests')).toBe(report.findings.length)
    expect(sum('failures')).toBe(report.counts.fail)
    expect(sum('errors')).toBe(report.counts.error)
    expect(sum('skipped')).toBe(report.counts.waived + report.counts['not-applicable'])
  })

  it('OCSF compliance findings and CSV carry every finding', () => {
    const events = toOcsf(report)
    expect(events).toHaveLength(report.findings.length)
    const waived = events.find((e) => e.compliance.control === 'redis.sku.not_basic')!
    expect(waived).toMatchObject({class_uid: 2003, type_uid: 200301, status: 'Suppressed', compliance: {status: 'Fail', status_id: 3}})
    expect(events.find((e) => e.compliance.control === 'st.secure_transfer')!.compliance.requirements).toContain('CIS Microsoft Azure Foundations Benchmark F6 9.3.4')
    const csv = formatCsv(report).trimEnd().split('\r\n')
    expect(csv).toHaveLength(report.findings.length + 1)
  })
})

describe('security.check action', () => {
  const context = (logs: string[]): ActionContext =>
    ({
      runId: 'run-1',
      stepId: 'scan',
      attempt: 1,
      signal: new AbortController().signal,
      log: (m: string) => logs.push(m),
      environmentName: 'checks',
      environment: expectedEnvironment(),
      services: seeded.services,
      now: () => NOW,
    }) as unknown as ActionContext

  it('returns counts and failed check ids when nothing at or above failOn fails', async () => {
    const logs: string[] = []
    const output = await securityCheck.run({failOn: 'critical'}, context(logs))
    expect(output.counts).toEqual(report.counts)
    expect(output.failedChecks).toContain('pg.fw.no_azure_wide')
    expect(output.failedChecks).not.toContain('redis.sku.not_basic')
    expect(output.blocking).toEqual([])
    expect(output.expiredWaivers).toEqual(['st.shared_key.off stbad (expired 2020-01-01)'])
    expect(logs).toContain('expired waiver: st.shared_key.off (owner platform, expired 2020-01-01)')
  })

  it('fails the step on a high finding, logging each one', async () => {
    const logs: string[] = []
    await expect(securityCheck.run({failOn: 'high', checks: ['pg.fw.no_azure_wide']}, context(logs))).rejects.toThrow(
      '1 fail(s) or error(s) at or above high: pg.fw.no_azure_wide pg-bad',
    )
    expect(logs.some((l) => l.startsWith('✖ [high] pg.fw.no_azure_wide pg-bad:'))).toBe(true)
  })

  it('a failed gate still hands over its results (for the journal and evidence), and its message names only the blocking findings', async () => {
    // pg-bad fails pg.fw.no_azure_wide (high) and pg.log.connections (medium); at failOn high only the first blocks.
    const error = (await securityCheck.run({failOn: 'high', checks: ['pg.log.connections', 'pg.fw.no_azure_wide']}, context([])).catch((e: unknown) => e)) as Error & {outputs?: any}
    expect(error.message).toBe('1 fail(s) or error(s) at or above high: pg.fw.no_azure_wide pg-bad')
    expect(error.outputs).toMatchObject({counts: {pass: 2, fail: 2, error: 0}, resources: report.resources, blocking: ['pg.fw.no_azure_wide pg-bad'], findingsOmitted: 0})
    expect(error.outputs.failedChecks).toEqual(['pg.fw.no_azure_wide', 'pg.log.connections'])
    expect(error.outputs.findings).toEqual([
      {check: 'pg.fw.no_azure_wide', resource: 'pg-bad', severity: 'high', status: 'fail', message: 'firewall rule(s) AllowAllAzureServicesAndResourcesWithinAzureIps (0.0.0.0–0.0.0.0), AllowAll (0.0.0.0–255.255.255.255) open the server widely'},
      {check: 'pg.log.connections', resource: 'pg-bad', severity: 'medium', status: 'fail', message: expect.stringContaining('log_connections')},
    ])
    // What the engine keeps must match the action's declared outputs.
    expect(securityCheck.output.safeParse(error.outputs).success).toBe(true)
  })
})
