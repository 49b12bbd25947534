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
import type {RunningEmulator} from '../../../src/emulator/server.js'
import {contractRegistry} from '../../contract/specs.js'
import {sdkServices, startLocalEmulator} from '../../integration/support.js'

let emulator: RunningEmulator
let arm: AzureServices
let cluster: string

beforeAll(async () => {
  emulator = await startLocalEmulator()
  arm = sdkServices(emulator)
  cluster = `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Cache/redisEnterprise/amr-shop-carts`
}, 60_000)
afterAll(async () => emulator?.stop())

const weekly = (dayOfWeek: string, startHourUtc: number, duration: string) => ({type: 'Weekly', duration, startHourUtc, schedule: {dayOfWeek}})

/** PATCH the windows; on 202 wait for the operation. Returns the first answer's status and error. */
async function patch(maintenanceWindows: unknown[], apiVersion = '2026-09-01'): Promise<{status: number; error?: {code: string; message: string}}> {
  const response = await arm.armRequest('PATCH', cluster, {apiVersion, body: {properties: {maintenanceConfiguration: {maintenanceWindows}}}})
  if (response.status === 202) await pollMonitor(arm, response.headers['azure-asyncoperation']!, new AbortController().signal, 'maintenance update')
  return {status: response.status, ...(response.body?.error ? {error: response.body.error} : {})}
}

const windowsAt = async (apiVersion: string) => (await arm.armRequest('GET', cluster, {apiVersion})).body.properties.maintenanceConfiguration?.maintenanceWindows

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

describe('a failed Managed Redis operation (OperationsStatus_Get)', () => {
  it('answers the status with its error as an ErrorResponse, {error: {code, message}}, as redisenterprise.json defines OperationStatus.error; opsbook reads the code through it', async () => {
    emulator.faults.set({failOperations: {'managedRedis.update': {code: 'InternalServerError', message: 'maintenance store unavailable'}}})
    try {
      const response = await arm.armRequest('PATCH', cluster, {apiVersion: '2026-09-01', body: {tags: {failed: 'yes'}}})
      expect(response.status).toBe(202)
      const monitor = response.headers['azure-asyncoperation']!
      const failure = await pollMonitor(arm, monitor, new AbortController().signal, 'tag update').then(
        () => undefined,
        (error: {armCode?: string; message?: string}) => error,
      )
      expect(failure).toMatchObject({armCode: 'InternalServerError', message: expect.stringContaining('maintenance store unavailable')})
      const status = await arm.armRequest('GET', monitor)
      expect(status.body).toMatchObject({status: 'Failed', error: {error: {code: 'InternalServerError', message: 'maintenance store unavailable'}}})
      const url = new URL(monitor)
      const checked = contractRegistry().check({method: 'GET', path: url.pathname, query: url.search.slice(1), status: status.status, headers: {}, body: status.body})
      expect([checked.operation?.operationId, checked.violations]).toEqual(['OperationsStatus_Get', []])
    } finally {
      emulator.faults.set({failOperations: {}})
    }
  })
})
