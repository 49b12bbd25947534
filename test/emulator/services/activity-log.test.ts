/**
 * The emulator's Activity Log (src/emulator/services/activity-log.ts): every ARM write it accepts is listed by
 * ActivityLogs_List with the correlation id ARM answered — Started, then Accepted/Succeeded/Failed, then a long-running
 * operation's end, as Azure records a write — read through the unmodified @azure/arm-monitor client and
 * validated against the vendored spec (activityLogs_API.json, 2015-04-01); `$filter` takes the forms the spec allows
 * and nothing else, its quoted values read whole; each subscription lists its own events only.
 */
import {randomUUID} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {sendRaw} from '../../contract/http.js'
import {contractRegistry} from '../../contract/specs.js'
import {scratchDir} from '../../helpers/cli.js'
import {credentialFor, hlcOptions, poll, RG} from '../helpers.js'

let emulator: RunningEmulator
let postgres: import('@azure/arm-postgresql-flexible').PostgreSQLManagementFlexibleServerClient
let monitor: import('@azure/arm-monitor').MonitorClient
const registry = contractRegistry()
const SERVER = 'pg-shop-orders'
/** A fleet copy of the environment's subscription (estate `fleet`, src/emulator/fleet.ts): another subscription served. */
const COPY = '00000000-0000-0000-0007-000000000001'

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, estate: {resources: {}, fleet: {subscriptions: [COPY], managementGroups: {}}}})
  const [{PostgreSQLManagementFlexibleServerClient}, {MonitorClient}] = await Promise.all([import('@azure/arm-postgresql-flexible'), import('@azure/arm-monitor')])
  postgres = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
  monitor = new MonitorClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
})
afterAll(async () => emulator?.stop())

const serverId = () => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SERVER}`
const path = (subscription = emulator.subscription) => `/subscriptions/${subscription}/providers/Microsoft.Insights/eventtypes/management/values`
const since = (ms: number) => new Date(Date.now() - ms).toISOString()

async function postgresIn(running: RunningEmulator, subscription = running.subscription) {
  const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
  return new PostgreSQLManagementFlexibleServerClient(credentialFor(running), subscription, hlcOptions(running))
}

async function list(filter: string) {
  const events = []
  for await (const event of monitor.activityLogs.list(filter)) events.push(event)
  return events
}

describe('the Activity Log of ARM writes', () => {
  it('lists a write under the correlation id the client sent and ARM echoed, with the fields Azure gives', async () => {
    const correlationId = randomUUID()
    let echoed: string | undefined
    await postgres.servers.beginUpdateAndWait(RG, SERVER, {tags: {witness: 'yes'}}, {
      ...poll,
      requestOptions: {customHeaders: {'x-ms-correlation-request-id': correlationId}},
      onResponse: (raw) => {
        echoed ??= raw.headers.get('x-ms-correlation-request-id')
      },
    })
    expect(echoed).toBe(correlationId)

    const events = await list(`eventTimestamp ge '${since(60_000)}' and eventTimestamp le '${new Date().toISOString()}' and correlationId eq '${correlationId}'`)
    // Newest first, as Azure lists them. A PATCH the server answers 202 (long-running): Started when it arrived,
    // Accepted with the HTTP status as the subStatus, Succeeded when the operation ended — one correlation id.
    const [done, accepted, started] = events
    expect(events.map((e) => e.status?.value)).toEqual(['Succeeded', 'Accepted', 'Started'])
    for (const event of events)
      expect(event).toMatchObject({
        correlationId,
        resourceId: serverId(),
        resourceGroupName: RG,
        operationName: {value: 'Microsoft.DBforPostgreSQL/flexibleServers/write'},
        httpRequest: {method: 'PATCH'},
        category: {value: 'Administrative'},
        subscriptionId: emulator.subscription,
      })
    expect(started).toMatchObject({eventName: {value: 'BeginRequest'}, subStatus: {value: ''}})
    expect(accepted).toMatchObject({eventName: {value: 'EndRequest'}, subStatus: {value: 'Accepted', localizedValue: 'Accepted (HTTP Status Code: 202)'}})
    expect(done).toMatchObject({eventName: {value: 'EndRequest'}, level: 'Informational'})
    expect(started!.eventTimestamp!.getTime()).toBeLessThanOrEqual(accepted!.eventTimestamp!.getTime())
    expect(accepted!.eventTimestamp!.getTime()).toBeLessThanOrEqual(done!.eventTimestamp!.getTime())
    expect(Date.now() - done!.eventTimestamp!.getTime()).toBeLessThan(60_000)
    // The caller and claims are those of the token ARM validated (the spec's EventData caller and claims, its example's
    // claim names): the identity the token names, which the witness compares with the run's principal.
    const token = await credentialFor(emulator).getToken('https://management.azure.com/.default')
    const claims = JSON.parse(Buffer.from(token!.token.split('.')[1]!, 'base64url').toString('utf8')) as {appid: string; oid: string; tid: string}
    for (const event of events) {
      expect(event.caller).toBe(claims.appid)
      expect(event.claims).toMatchObject({
        appid: claims.appid,
        'http://schemas.microsoft.com/identity/claims/objectidentifier': claims.oid,
        'http://schemas.microsoft.com/identity/claims/tenantid': claims.tid,
      })
    }
  })

  it('records a refused write (Started, then Failed with the HTTP status) and a long-running one that failed (Started, Accepted, Failed)', async () => {
    const refusedId = randomUUID()
    // Starting a running server: 409 ServerNotInStoppedState.
    await expect(postgres.servers.beginStartAndWait(RG, SERVER, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': refusedId}}})).rejects.toMatchObject({statusCode: 409})
    const refused = await list(`eventTimestamp ge '${since(60_000)}' and correlationId eq '${refusedId}'`)
    expect(refused.map((e) => e.status?.value)).toEqual(['Failed', 'Started'])
    expect(refused[0]).toMatchObject({level: 'Error', operationName: {value: 'Microsoft.DBforPostgreSQL/flexibleServers/start/action'}, subStatus: {value: 'Conflict', localizedValue: 'Conflict (HTTP Status Code: 409)'}})

    const failedId = randomUUID()
    emulator.faults.set({failOperations: {'postgres.restart': {code: 'InternalServerError', message: 'Injected failure of postgres.restart.'}}})
    try {
      await expect(postgres.servers.beginRestartAndWait(RG, SERVER, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': failedId}}})).rejects.toThrow()
    } finally {
      emulator.faults.set({failOperations: {}})
    }
    const failed = await list(`eventTimestamp ge '${since(60_000)}' and correlationId eq '${failedId}'`)
    expect(failed.map((e) => e.status?.value)).toEqual(['Failed', 'Accepted', 'Started'])
    expect(failed[0]).toMatchObject({level: 'Error', resourceId: serverId(), operationName: {value: 'Microsoft.DBforPostgreSQL/flexibleServers/restart/action'}})
  })

  it('gives a write the client sent no correlation id for the id its answer carried', async () => {
    let answered: string | undefined
    await postgres.servers.beginRestartAndWait(RG, SERVER, {
      ...poll,
      onResponse: (raw) => {
        answered ??= raw.headers.get('x-ms-correlation-request-id')
      },
    })
    expect(answered).toMatch(/^[0-9a-f-]{36}$/)
    const [event] = (await list(`eventTimestamp ge '${since(60_000)}' and correlationId eq '${answered}'`)).filter((e) => e.status?.value !== 'Started')
    // A POST action is filed under the resource it acts on, named `…/{verb}/action`.
    expect(event).toMatchObject({resourceId: serverId(), operationName: {value: 'Microsoft.DBforPostgreSQL/flexibleServers/restart/action'}, httpRequest: {method: 'POST'}})
  })

  it('answers each $filter form the spec allows, and its responses validate against the vendored spec', async () => {
    // A write of its own, so every form below has an event to list whichever tests ran before.
    await postgres.servers.beginUpdateAndWait(RG, SERVER, {tags: {filters: 'yes'}}, poll)
    const window = `eventTimestamp ge '${since(10 * 60_000)}' and eventTimestamp le '${new Date().toISOString()}'`
    const forms = [
      window,
      `${window} and resourceGroupName eq '${RG}'`,
      `${window} and resourceUri eq '${serverId()}'`,
      `${window} and resourceProvider eq 'Microsoft.DBforPostgreSQL'`,
      // What the Azure CLI adds to every query.
      `${window} and eventChannels eq 'Admin, Operation'`,
    ]
    for (const filter of forms) {
      const query = `api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`
      const answer = await sendRaw(emulator, 'GET', `${path()}?${query}`)
      expect(answer.status, filter).toBe(200)
      const events = (answer.body as {value: Array<{resourceId: string}>}).value
      expect(events.length, filter).toBeGreaterThan(0)
      if (filter.includes('resourceUri') || filter.includes('resourceProvider')) for (const e of events) expect(e.resourceId.toLowerCase()).toContain('microsoft.dbforpostgresql')
      expect(registry.check({method: 'GET', path: path(), query, ...answer}).violations, filter).toEqual([])
    }
    // $select keeps only the properties asked for.
    const selected = await sendRaw(emulator, 'GET', `${path()}?api-version=2015-04-01&$filter=${encodeURIComponent(window)}&$select=correlationId,status`)
    expect(Object.keys((selected.body as {value: object[]}).value[0]!).sort()).toEqual(['correlationId', 'status'])
  })

  it('refuses the filters Azure refuses: 400 BadRequest, validated against the spec\'s error response', async () => {
    const refused = [
      undefined,
      `resourceGroupName eq '${RG}'`,
      `eventTimestamp ge '${since(60_000)}' and caller eq 'someone@contoso.com'`,
      `eventTimestamp ge '${since(60_000)}' and resourceGroupName eq '${RG}' and correlationId eq '${randomUUID()}'`,
      `eventTimestamp ge '${since(60_000)}' or resourceGroupName eq '${RG}'`,
      `eventTimestamp ge 'yesterday'`,
    ]
    for (const filter of refused) {
      const query = `api-version=2015-04-01${filter === undefined ? '' : `&$filter=${encodeURIComponent(filter)}`}`
      const answer = await sendRaw(emulator, 'GET', `${path()}?${query}`)
      expect(answer.status, String(filter)).toBe(400)
      expect(answer.body).toEqual({code: 'BadRequest', message: '$filter searching parameters invalid'})
      expect(registry.check({method: 'GET', path: path(), query, ...answer}).violations).toEqual([])
    }
    await expect(list(`resourceGroupName eq '${RG}'`)).rejects.toMatchObject({statusCode: 400})
  })

  it('records writes only: reads and Resource Graph queries leave no event', async () => {
    const before = (await list(`eventTimestamp ge '${since(10 * 60_000)}'`)).length
    await postgres.servers.get(RG, SERVER)
    const query = await sendRaw(emulator, 'POST', '/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01', JSON.stringify({query: 'Resources | take 1', subscriptions: [emulator.subscription]}))
    expect(query.status).toBe(200)
    expect((await list(`eventTimestamp ge '${since(10 * 60_000)}'`)).length).toBe(before)
  })

  it('reads a quoted $filter value whole, " and " and doubled quotes included', async () => {
    const window = `eventTimestamp ge '${since(10 * 60_000)}'`
    // Each value is one literal (no resource group has that name): a valid filter listing nothing, not a 400.
    for (const value of ['rg-shop and more', "it''s and eventTimestamp le ''x''"]) {
      const query = `api-version=2015-04-01&$filter=${encodeURIComponent(`${window} and resourceGroupName eq '${value}'`)}`
      const answer = await sendRaw(emulator, 'GET', `${path()}?${query}`)
      expect(answer.status, value).toBe(200)
      expect((answer.body as {value: unknown[]}).value, value).toEqual([])
    }
    // A correlation id filter whose value holds " and ": the write sent with that id is found by it.
    const correlationId = `run-${randomUUID()} and step 'teardown'`
    await postgres.servers.beginUpdateAndWait(RG, SERVER, {tags: {quoted: 'yes'}}, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': correlationId}}})
    const events = await list(`${window} and correlationId eq '${correlationId.replace(/'/g, "''")}'`)
    expect(events.map((e) => e.status?.value)).toEqual(['Succeeded', 'Accepted', 'Started'])
    expect(events.every((e) => e.correlationId === correlationId)).toBe(true)
    // An unterminated literal is still refused.
    const open = await sendRaw(emulator, 'GET', `${path()}?api-version=2015-04-01&$filter=${encodeURIComponent(`${window} and resourceGroupName eq '${RG}`)}`)
    expect(open.status).toBe(400)
  })
})

describe('one subscription\'s Activity Log', () => {
  it('witnesses a journaled write made in another subscription from that subscription\'s log (evidence verify\'s reader)', async () => {
    const [{witnessJournal, activityLogReader}, {MonitorClient}] = await Promise.all([import('../../../src/evidence/witness.js'), import('@azure/arm-monitor')])
    const copyServer = serverId().replace(emulator.subscription, COPY)
    const correlationId = randomUUID()
    const sent = new Date()
    await (await postgresIn(emulator, COPY)).servers.beginUpdateAndWait(RG, SERVER, {tags: {foreign: 'yes'}}, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': correlationId}}})
    const done = new Date()
    const plan = [{id: 'tag', uses: 'postgres.update', phase: 'main', changes: true, needs: []}]
    const line = (seq: number, ts: Date, type: string, step: string | null, data: Record<string, unknown>) => JSON.stringify({seq, ts: ts.toISOString(), runId: 'r', type, step, data, prev: ''})
    const journal = [
      line(1, sent, 'run.started', null, {steps: plan, armWrites: true}),
      line(2, sent, 'step.started', 'tag', {phase: 'main'}),
      line(3, done, 'step.succeeded', 'tag', {phase: 'main', outputs: {}, arm: [{method: 'PATCH', resourceId: copyServer, operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write', status: 202, correlationId, at: sent.toISOString()}]}),
    ].join('\n')
    // The environment's services: the monitor client of whichever subscription is asked for.
    const services = {subscription: emulator.subscription, monitor: async (subscription?: string) => new MonitorClient(credentialFor(emulator), subscription ?? emulator.subscription, hlcOptions(emulator))}
    const report = await witnessJournal(journal, activityLogReader(services))
    expect(report.steps).toEqual([expect.objectContaining({step: 'tag', verdict: 'witnessed'})])
  })

  it('lists the writes made in the subscription asked for, not those of another subscription the emulator serves', async () => {
    const copyServer = serverId().replace(emulator.subscription, COPY)
    const inCopy = randomUUID()
    await (await postgresIn(emulator, COPY)).servers.beginUpdateAndWait(RG, SERVER, {tags: {copy: 'yes'}}, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': inCopy}}})
    const inHome = randomUUID()
    await postgres.servers.beginUpdateAndWait(RG, SERVER, {tags: {home: 'yes'}}, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': inHome}}})

    const listed = async (subscription: string) => {
      const query = `api-version=2015-04-01&$filter=${encodeURIComponent(`eventTimestamp ge '${since(10 * 60_000)}'`)}`
      const answer = await sendRaw(emulator, 'GET', `${path(subscription)}?${query}`)
      expect(answer.status).toBe(200)
      return (answer.body as {value: Array<{correlationId: string; resourceId: string; subscriptionId: string}>}).value
    }
    const home = await listed(emulator.subscription)
    expect(home.some((e) => e.correlationId === inHome)).toBe(true)
    expect(home.filter((e) => e.correlationId === inCopy)).toEqual([])
    for (const e of home) expect(e.resourceId.toLowerCase()).toMatch(new RegExp(`^/subscriptions/${emulator.subscription.toLowerCase()}/`))
    const copy = await listed(COPY)
    expect(copy.filter((e) => e.correlationId === inCopy).map((e) => e.resourceId)).toEqual([copyServer, copyServer, copyServer])
    expect(copy.filter((e) => e.correlationId === inHome)).toEqual([])
    for (const e of copy) expect(e.subscriptionId).toBe(COPY)
  })

  it('starts over with the state: an emulator started for another subscription lists none of the old one\'s writes, nor does the old one when it comes back', async () => {
    const stateDir = scratchDir()
    const other = '00000000-0000-0000-0007-000000000002'
    const correlationId = randomUUID()
    const first = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, stateDir})
    try {
      await (await postgresIn(first)).servers.beginUpdateAndWait(RG, SERVER, {tags: {before: 'yes'}}, {...poll, requestOptions: {customHeaders: {'x-ms-correlation-request-id': correlationId}}})
    } finally {
      await first.stop()
    }
    const byCorrelation = async (running: RunningEmulator) => {
      const query = `api-version=2015-04-01&$filter=${encodeURIComponent(`eventTimestamp ge '${since(10 * 60_000)}' and correlationId eq '${correlationId}'`)}`
      const answer = await sendRaw(running, 'GET', `${path(running.subscription)}?${query}`)
      expect(answer.status).toBe(200)
      return (answer.body as {value: unknown[]}).value
    }
    // The same subscription again: its writes are still there (the state was kept).
    const again = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, stateDir})
    try {
      expect(await byCorrelation(again)).toHaveLength(3)
    } finally {
      await again.stop()
    }
    // Another subscription: its state starts over, and so does its Activity Log.
    const switched = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, stateDir, subscription: other})
    try {
      expect(switched.subscription).toBe(other)
      expect(await byCorrelation(switched)).toEqual([])
    } finally {
      await switched.stop()
    }
    // Back to the first subscription: its state was set aside (resources seeded again), its old writes with it.
    const back = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 50, stateDir})
    try {
      expect(await byCorrelation(back)).toEqual([])
    } finally {
      await back.stop()
    }
  })
})
