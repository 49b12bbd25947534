/**
 * Azure Managed Redis scheduled maintenance in the emulator (RedisEnterprise_Update with
 * properties.maintenanceConfiguration, redisenterprise.json 2025-08-01-preview and later): the windows Azure's rules
 * allow are stored and read back at versions that have the property, the others are refused with the rule
 * (https://learn.microsoft.com/azure/redis/scheduled-maintenance: each window at least 4 hours, at least two a week,
 * 18 hours a week in all), an empty list removes the schedule, and an older api-version can neither set nor see it.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../../src/azure/clients.js'
import {pollMonitor} from '../../../src/azure/lro.js'
import {contractRegistry} from '../../contract/specs.js'
import {sendRaw} from '../../contract/http.js'
import type {RunningEmulator} from '../../../src/emulator/server.js'
import {sdkServices, startLocalEmulator} from '../../integration/support.js'

let emulator: RunningEmulator
let arm: AzureServices
let cluster: string

beforeAll(async () => {
  emulator = await startLocalEmulator()
  arm = sdkServices(emulator)
  cluster = `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Cache/redisEnterprise/amr-shop-carts`
})
afterAll(async () => emulator?.stop())

const weekly = (dayOfWeek: string, startHourUtc: number, duration: string) => ({type: 'Weekly', duration, startHourUtc, schedule: {dayOfWeek}})

/** PATCH the windows; on 202 wait for the operation. Returns the first answer's status and error. */
async function patch(maintenanceWindows: unknown[], apiVersion = '2026-09-01'): Promise<{status: number; error?: {code: string; message: string}}> {
  const response = await arm.armRequest('PATCH', cluster, {apiVersion, body: {properties: {maintenanceConfiguration: {maintenanceWindows}}}})
  if (response.status === 202) await pollMonitor(arm, response.headers['azure-asyncoperation']!, new AbortController().signal, 'maintenance update')
  return {status: response.status, ...(response.body?.error ? {error: response.body.error} : {})}
}

const windowsAt = async (apiVersion: string) => (await arm.armRequest('GET', cluster, {apiVersion})).body.properties.maintenanceConfiguration?.maintenanceWindows

describe('Managed Redis failed operation status (OperationsStatus_Get)', () => {
  it("answers a failed operation's status in the spec's shape: OperationStatus with its error an ErrorResponse, and opsbook still reads the reason", async () => {
    // redisenterprise.json (2022-01-01 and 2026-09-01, vendored): OperationStatus {id, name, startTime, endTime, status,
    // error: ErrorResponse}, ErrorResponse {error: ErrorDetail}. The emulator wrote the classic `error: {code, message}`.
    emulator.faults.set({failOperations: {'managedRedis.update': {code: 'InternalServerError', message: 'Injected: the update could not be completed.'}}})
    try {
      const windows = [weekly('Saturday', 0, 'PT9H'), weekly('Sunday', 0, 'PT9H')]
      for (const apiVersion of ['2026-09-01', '2022-01-01']) {
        const started = await arm.armRequest('PATCH', cluster, {apiVersion, body: apiVersion === '2026-09-01' ? {properties: {maintenanceConfiguration: {maintenanceWindows: windows}}} : {tags: {failed: 'yes'}}})
        expect(started.status).toBe(202)
        const monitor = new URL(started.headers['azure-asyncoperation']!)
        let answer = await sendRaw(emulator, 'GET', `${monitor.pathname}${monitor.search}`)
        while ((answer.body as {status?: string}).status === 'InProgress') answer = await new Promise((r) => setTimeout(r, 20)).then(() => sendRaw(emulator, 'GET', `${monitor.pathname}${monitor.search}`))
        expect(answer.body).toEqual({
          id: expect.any(String),
          name: expect.any(String),
          status: 'Failed',
          startTime: expect.any(String),
          endTime: expect.any(String),
          error: {error: {code: 'InternalServerError', message: 'Injected: the update could not be completed.'}},
        })
        const check = contractRegistry().check({method: 'GET', path: monitor.pathname, query: monitor.search.slice(1), ...answer})
        expect([apiVersion, check.operation?.operationId, check.violations]).toEqual([apiVersion, 'OperationsStatus_Get', []])
        // opsbook's own poll (resume re-attaches with it) names the reason.
        await expect(pollMonitor(arm, started.headers['azure-asyncoperation']!, new AbortController().signal, 'update')).rejects.toMatchObject({
          armCode: 'InternalServerError',
          message: expect.stringContaining('Injected: the update could not be completed.'),
        })
      }
    } finally {
      emulator.faults.clear()
    }
  })
})

describe('Managed Redis maintenanceConfiguration (RedisEnterprise_Update)', () => {
  it('refuses windows Azure cannot take, with the rule, and keeps what the cluster had', async () => {
    const cases: Array<[unknown[], RegExp]> = [
      [[weekly('Saturday', 0, 'PT3H'), weekly('Sunday', 0, 'PT16H')], /each maintenance window must last at least 4 hours \(PT3H is shorter\)/],
      [[weekly('Sunday', 0, 'PT20H')], /at least two maintenance windows a week are required \(1 given\)/],
      [[weekly('Saturday', 0, 'PT8H'), weekly('Sunday', 0, 'PT8H')], /the windows must add up to at least 18 hours a week \(PT16H given\)/],
      [[{type: 'Weekly', duration: 'PT9H', startHourUtc: 0, schedule: {}}, weekly('Sunday', 0, 'PT9H')], /schedule\.dayOfWeek is required for a Weekly window/],
      [[weekly('Saturday', 24, 'PT9H'), weekly('Sunday', 0, 'PT9H')], /startHourUtc must be an hour from 0 to 23/],
      [[{...weekly('Saturday', 0, 'PT9H'), type: 'Monthly'}, weekly('Sunday', 0, 'PT9H')], /the supported maintenance window type is Weekly/],
      [[weekly('Saturday', 0, 'nine hours'), weekly('Sunday', 0, 'PT9H')], /is not an ISO 8601 duration/],
    ]
    for (const [windows, message] of cases) {
      const answer = await patch(windows)
      expect(answer.status, JSON.stringify(windows)).toBe(400)
      expect(answer.error).toEqual({code: 'InvalidRequestBody', message: expect.stringMatching(message)})
    }
    expect(await windowsAt('2026-09-01')).toBeUndefined()
  })

  it('stores valid windows (202, then the operation), shows them at 2026-09-01 (not at 2022-01-01), and an empty list removes them', async () => {
    const windows = [weekly('Saturday', 0, 'PT9H'), weekly('Sunday', 22, 'PT4H30M'), weekly('Wednesday', 1, 'PT5H')]
    expect(await patch(windows)).toEqual({status: 202})
    expect(await windowsAt('2026-09-01')).toEqual(windows)
    // The api-version that SDK 2.2.0 sends predates the property: it is left out of the answer.
    expect(await windowsAt('2022-01-01')).toBeUndefined()
    // …and cannot be set through it.
    const old = await patch(windows, '2022-01-01')
    expect(old).toMatchObject({status: 400, error: {code: 'InvalidRequestBody', message: expect.stringContaining("'maintenanceConfiguration' is not supported in api-version '2022-01-01'")}})
    expect(await patch([])).toEqual({status: 202})
    expect(await windowsAt('2026-09-01')).toBeUndefined()
  })

  it('checks api-versions per resource type, as ARM does: Managed Redis and classic Redis share Microsoft.Cache, not their versions', async () => {
    const classic = `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Cache/redis/redis-shop-sessions`
    expect((await arm.armRequest('GET', cluster, {apiVersion: '2024-11-01'})).body.error).toMatchObject({code: 'InvalidApiVersionParameter', message: expect.stringContaining("'2026-09-01,2025-07-01,2022-01-01'")})
    expect((await arm.armRequest('GET', classic, {apiVersion: '2026-09-01'})).body.error).toMatchObject({code: 'InvalidApiVersionParameter'})
    expect((await arm.armRequest('GET', classic, {apiVersion: '2024-11-01'})).status).toBe(200)
  })
})
