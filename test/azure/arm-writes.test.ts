/**
 * src/azure/arm-writes.ts: what counts as an ARM write and how the Activity Log files it, and the pipeline policy
 * that records each accepted write into the collector of the step that made it (unmodified SDK clients from the
 * client factory, against the emulator).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {collectArmWrites, describeArmWrite, type ArmWrite} from '../../src/azure/arm-writes.js'
import {ARM_WRITE_KIND} from '../../src/emulator/services/activity-log.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {sdkServices, startLocalEmulator} from '../integration/support.js'

const SUB = '/subscriptions/00000000-0000-0000-0000-00000000c0de'
const SITE = `${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`

describe('describeArmWrite', () => {
  it('names the resource and operation as the Activity Log does, and leaves reads and queries out', () => {
    expect(describeArmWrite('PUT', `${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg`)).toEqual({
      resourceId: `${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg`,
      operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write',
    })
    expect(describeArmWrite('DELETE', `${SITE}/slots/staging`)).toEqual({resourceId: `${SITE}/slots/staging`, operation: 'Microsoft.Web/sites/slots/delete'})
    // A POST action is filed under the resource it acts on.
    expect(describeArmWrite('POST', `${SITE}/slots/staging/slotsswap`)).toEqual({resourceId: `${SITE}/slots/staging`, operation: 'Microsoft.Web/sites/slots/slotsswap/action'})
    expect(describeArmWrite('PATCH', `/${SITE}/`)?.resourceId).toBe(SITE)
    expect(describeArmWrite('PUT', `${SUB}/resourcegroups/rg`)).toEqual({resourceId: `${SUB}/resourcegroups/rg`, operation: 'Microsoft.Resources/subscriptions/resourceGroups/write'})
    expect(describeArmWrite('GET', SITE)).toBeUndefined()
    expect(describeArmWrite('POST', `${SUB}/providers/Microsoft.ResourceGraph/resources`)).toBeUndefined()
    expect(describeArmWrite('POST', `${SUB}/metrics:getBatch`)).toBeUndefined()
    expect(describeArmWrite('PUT', '/providers/Microsoft.Web/publishingUsers/web')).toBeUndefined()
  })
})

describe('the ARM write policy', () => {
  let emulator: RunningEmulator
  beforeAll(async () => {
    emulator = await startLocalEmulator({lroDurationMs: 20})
  })
  afterAll(async () => emulator?.stop())

  it('records each accepted write with the correlation id ARM answered, into the collector of the step that sent it', async () => {
    const services = sdkServices(emulator)
    const client = await services.postgres()
    const rg = 'rg-shop-local'
    const a: ArmWrite[] = []
    const b: ArmWrite[] = []
    const answered: Record<string, string> = {}
    const tag = (into: ArmWrite[], name: string, value: string) =>
      collectArmWrites(into, () =>
        client.servers.beginUpdateAndWait(rg, 'pg-shop-orders', {tags: {[name]: value}}, {
          updateIntervalInMs: 10,
          onResponse: (raw) => {
            if (raw.request.method === 'PATCH') answered[value] = raw.headers.get('x-ms-correlation-request-id')!
          },
        }),
      )
    // Two "steps" at once, plus a read outside any step: each collector holds only its own write.
    await Promise.all([tag(a, 'witness-a', 'one'), tag(b, 'witness-b', 'two'), client.servers.get(rg, 'pg-shop-orders')])
    expect(a).toHaveLength(1)
    expect(b).toHaveLength(1)
    expect(a[0]).toMatchObject({method: 'PATCH', operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write', correlationId: answered.one})
    expect(a[0]!.resourceId).toMatch(/\/flexibleServers\/pg-shop-orders$/)
    expect(b[0]!.correlationId).toBe(answered.two)
    expect(a[0]!.correlationId).not.toBe(b[0]!.correlationId)
    // A write ARM refused is not recorded: the Activity Log has no accepted event for it.
    const refused: ArmWrite[] = []
    await expect(collectArmWrites(refused, () => client.servers.beginUpdateAndWait(rg, 'pg-does-not-exist', {tags: {}}, {updateIntervalInMs: 10}))).rejects.toMatchObject({statusCode: 404})
    expect(refused).toEqual([])
  })
  it('records a write retried after a 503 once, with the correlation id of the attempt ARM accepted (the one the Activity Log has)', async () => {
    const services = sdkServices(emulator)
    const sql = await services.sql()
    const rg = 'rg-shop-local'
    const answered: Array<{status: number; correlationId: string}> = []
    const since = new Date(Date.now() - 1000)
    emulator.faults.set({transient: {next: 1, status: 503, operations: ['sql.databases.createOrUpdate']}})
    const into: ArmWrite[] = []
    try {
      await collectArmWrites(into, () =>
        sql.databases.beginCreateOrUpdateAndWait(rg, 'sql-shop-local', 'sqldb-witness-retry', {location: 'eastus'}, {
          updateIntervalInMs: 10,
          onResponse: (raw) => {
            if (raw.request.method === 'PUT') answered.push({status: raw.status, correlationId: raw.headers.get('x-ms-correlation-request-id')!})
          },
        }),
      )
    } finally {
      emulator.faults.set({})
    }
    // The retry policy answered the 503 itself: the SDK (and the user) see only the accepted attempt.
    expect(answered).toHaveLength(1)
    expect(answered[0]!.status).toBeGreaterThanOrEqual(200)
    expect(answered[0]!.status).toBeLessThan(300)
    expect(into).toHaveLength(1)
    expect(into[0]).toMatchObject({method: 'PUT', operation: 'Microsoft.Sql/servers/databases/write', correlationId: answered[0]!.correlationId})
    // Both attempts reached ARM with different correlation ids: the Activity Log has the refused one as Failed, the
    // accepted one as taken; the journal records only the accepted one.
    const puts = emulator.requestLog().filter((r) => r.method === 'PUT' && /\/databases\/sqldb-witness-retry$/.test(r.path))
    expect(puts.map((r) => r.status)).toEqual([503, expect.any(Number)])
    const events = emulator.state.activity.list({kind: ARM_WRITE_KIND, since}).filter((e) => /\/databases\/sqldb-witness-retry$/.test(e.resourceId))
    const statuses = (mine: boolean) => events.filter((e) => (e.data?.correlationId === into[0]!.correlationId) === mine).map((e) => e.data?.status)
    expect(statuses(false)).toEqual(['Started', 'Failed'])
    expect(statuses(true)[0]).toBe('Started')
    expect(statuses(true)).toContain(answered[0]!.status === 202 ? 'Accepted' : 'Succeeded')
  })
})
