/**
 * Fleet scans: `opsbook check` over management groups and subscription lists, through the unmodified Resource Graph
 * and ARM SDK clients against an emulator whose estate declares a fleet (copies of the `local` subscription and
 * management groups over them). Resource Graph pages with $skipToken, batches subscriptions under its per-request
 * limit, and its quota headers are obeyed (a scan that would exceed 15 queries / 5 s waits for the reset instead of
 * being throttled).
 */
import {request} from 'node:https'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import {createAzureServices} from '../../src/azure/clients.js'
import {graphTargets, SUBSCRIPTIONS_PER_QUERY} from '../../src/checks/collect.js'
import {CHECKS} from '../../src/checks/rules/index.js'
import {runChecks} from '../../src/checks/run.js'
import {parseScopeFlags, scanScope} from '../../src/checks/scope.js'
import {sourcesFromServices} from '../../src/checks/sources.js'
import {parseEstate} from '../../src/emulator/estate.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {MAX_QUERY_SUBSCRIPTIONS, USER_QUOTA} from '../../src/emulator/services/resource-graph.js'
import {ValidationError} from '../../src/errors.js'
import {repoRoot} from '../helpers/cli.js'

const loaded = loadCatalog({flag: join(repoRoot, 'runbooks.yaml')})
const environment = getEnvironment(loaded, 'local')
const HOME = environment.subscription.toLowerCase()
const sub = (n: number) => `00000000-0000-0000-0001-${String(n).padStart(12, '0')}`
/** 1,100 copies of the local subscription: more than one Resource Graph request may name. */
const COPIES = Array.from({length: 1100}, (_, i) => sub(i + 1))
const estate = {
  resources: {},
  fleet: {
    subscriptions: COPIES,
    managementGroups: {
      'mg-contoso': {subscriptions: [HOME], children: ['mg-shops']},
      'mg-shops': {subscriptions: [sub(1), sub(2)], children: []},
    },
  },
}

let emulator: RunningEmulator
let services: ReturnType<typeof createAzureServices>
const sources = () =>
  sourcesFromServices(services, (subscription) => createAzureServices({environment: {...environment, subscription}, environmentName: 'local', emulator, credential: services.credential}))

beforeAll(async () => {
  emulator = await startEmulator({environment, environmentName: 'local', lroDurationMs: 0, estate})
  services = createAzureServices({environment, environmentName: 'local', emulator})
})
afterAll(async () => emulator?.stop())

/** A finding's key without its subscription: the same check on the same resource name. */
const keyOf = (f: {checkId: string; resourceName: string; status: string}) => `${f.checkId}|${f.resourceName}|${f.status}`

describe('fleet scope', () => {
  it('--scope values: mg:<id> and sub:<id>,<id> parse; anything else is exit 2 with what was expected', () => {
    expect(parseScopeFlags(['mg:mg-contoso', `sub:${sub(1)},${sub(2).toUpperCase()}`])).toEqual({managementGroups: ['mg-contoso'], subscriptions: [sub(1), sub(2)]})
    expect(() => parseScopeFlags(['sub:not-a-guid'])).toThrow(/expected a subscription id \(GUID\)/)
    const error = (() => {
      try {
        parseScopeFlags(['tenant'])
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).exitCode).toBe(2)
    // The catalog's `scope` applies when no flag is given; the flag wins.
    expect(scanScope({...environment, scope: {managementGroups: ['mg-x'], subscriptions: []}})).toEqual({managementGroups: ['mg-x'], subscriptions: []})
    expect(scanScope({...environment, scope: {managementGroups: ['mg-x'], subscriptions: []}}, [`sub:${sub(3)}`])).toEqual({managementGroups: [], subscriptions: [sub(3)]})
    expect(scanScope(environment)).toBeUndefined()
  })

  it('an estate whose management group names a subscription the emulator does not serve is exit 2 at file:line:col', () => {
    const text = ['fleet:', `  subscriptions: [${sub(1)}]`, '  managementGroups:', `    mg-a: {subscriptions: [${sub(9)}], children: [mg-missing]}`, ''].join('\n')
    const error = (() => {
      try {
        parseEstate('/repo/opsbook.estate.yaml', text, environment)
      } catch (e) {
        return e as ValidationError
      }
    })()
    expect(error?.exitCode).toBe(2)
    expect(error?.message).toMatch(/opsbook\.estate\.yaml:4:\d+.*subscription 0+-0000-0000-0001-0+9 is neither the environment's nor one of fleet\.subscriptions/s)
    expect(error?.message).toMatch(/child management group "mg-missing" is not declared/)
  })

  it('mg:<id>: every subscription under the group and its children, each resource checked in its own subscription with the same results', async () => {
    const report = await runChecks({environment, environmentName: 'local', sources: sources(), scope: {managementGroups: ['mg-contoso'], subscriptions: []}})
    const home = await runChecks({environment, environmentName: 'local', sources: sources()})
    expect(report.fleet).toEqual({scope: 'mg:mg-contoso', subscriptions: 3})
    expect(report.resources).toBe(home.resources * 3)
    const bySubscription = new Map<string, string[]>()
    for (const f of report.findings) bySubscription.set(f.subscriptionId!.toLowerCase(), [...(bySubscription.get(f.subscriptionId!.toLowerCase()) ?? []), keyOf(f)])
    expect([...bySubscription.keys()].sort()).toEqual([sub(1), sub(2), HOME].sort())
    // A copy answers every per-resource read as its own (no read fails because it went to the wrong subscription).
    const expected = home.findings.filter((f) => f.checkId !== 'inventory.missing').map(keyOf).sort()
    for (const [, keys] of bySubscription) expect(keys.sort()).toEqual(expected)
  }, 60_000)

  it('a subscription list beyond one request\'s limit is batched and paged, and the quota headers keep the scan unthrottled', async () => {
    expect(graphTargets(environment, {managementGroups: [], subscriptions: COPIES}).map((t) => t.subscriptions.length)).toEqual([250, 250, 250, 250, 100])
    expect(SUBSCRIPTIONS_PER_QUERY).toBeLessThan(MAX_QUERY_SUBSCRIPTIONS)
    // 300 subscriptions (two requests) × 9 resources: the inventory needs four pages of 1,000, plus the Defender plans.
    const scope = {managementGroups: [], subscriptions: COPIES.slice(0, 300)}
    // The checks Resource Graph answers alone: this is about paging, not per-resource reads.
    const rules = CHECKS.filter((c) => !c.facts?.length && c.id !== 'gov.lock.critical' && c.id !== 'inventory.missing')
    // A small quota (one query per second) and a client budget that would send faster: only the headers hold it back.
    // The window is a whole second: x-ms-user-quota-resets-after is hh:mm:ss, rounded up, so a 1.5 s window said
    // "00:00:02" and each quota wait lasted up to 2 s (a 2.5 s gap between two queries). One query per window, so
    // every answer says none is left and the scan must wait before each next query however slow the machine: with 3
    // per second, a loaded 2-core machine (load 35) took over a second for three queries, the window reset before
    // the quota ran out, and the scan never had to wait (quotaWaits undefined, full run of flake11 run 1).
    emulator.faults.set({graphQuota: {queries: 1, windowMs: 1000}})
    emulator.clearRequestLog()
    try {
      const report = await runChecks({environment, environmentName: 'local', sources: sources(), scope, rules, budgetOptions: {resourceGraph: {ratePerSecond: 100, burst: 100}}})
      const graphRequests = emulator.requestLog().filter((e) => e.operation === 'resourcegraph.resources')
      const home = await runChecks({environment, environmentName: 'local', sources: sources(), rules})
      expect(report.resources).toBe(home.resources * 300)
      expect(graphRequests.length).toBeGreaterThan(3)
      expect(graphRequests.filter((e) => e.status === 429)).toEqual([])
      expect(report.collection.quotaWaits).toBeGreaterThanOrEqual(1)
    } finally {
      emulator.faults.clear()
    }
  }, 60_000)

  it('the emulator: more than 1,000 subscriptions in one request is 400; an unknown management group is 400; paging; the quota counts down to 429', async () => {
    const client = await services.resourceGraph()
    await expect(client.resources({query: 'resources | project id', subscriptions: [...COPIES, HOME]})).rejects.toMatchObject({statusCode: 400})
    await expect(client.resources({query: 'resources | project id', managementGroups: ['mg-nowhere']})).rejects.toMatchObject({statusCode: 400})
    // Paging: a small $top gives a $skipToken that reads on where the page ended.
    const first = await client.resources({query: 'resources | project id', subscriptions: [HOME, sub(1)], options: {top: 5}})
    const second = await client.resources({query: 'resources | project id', subscriptions: [HOME, sub(1)], options: {top: 5, skipToken: first.skipToken}})
    expect(first.skipToken).toBeTruthy()
    expect(new Set([...first.data, ...second.data].map((r: any) => r.id)).size).toBe(10)
    // The raw protocol (no SDK retry): two queries left in a minute-long window, then 429 with the headers and Retry-After.
    emulator.faults.set({graphQuota: {queries: 2, windowMs: 60_000}})
    try {
      const token = (await services.credential.getToken('https://management.azure.com/.default'))!.token
      const post = () => rawQuery(token, {query: 'resources | project id', subscriptions: [HOME]})
      const answers = [await post(), await post(), await post()]
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429])
      expect(answers.map((a) => a.headers['x-ms-user-quota-remaining'])).toEqual(['1', '0', '0'])
      expect(answers[2]!.headers['x-ms-user-quota-resets-after']).toMatch(/^00:01:00|00:00:[0-5]\d$/)
      expect(Number(answers[2]!.headers['retry-after'])).toBeGreaterThan(0)
    } finally {
      emulator.faults.clear()
    }
  })
})

function rawQuery(token: string, body: unknown): Promise<{status: number; headers: Record<string, string>}> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${emulator.armEndpoint}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01`)
    const req = request(url, {method: 'POST', ca: emulator.caPem, agent: false, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'}}, (res) => {
      res.resume()
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers as Record<string, string>}))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}
