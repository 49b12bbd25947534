/**
 * sql-pitr (as an incident runbook and as a drill leg), sql-failover and servicebus-dlq through the real CLI against
 * an emulator started here. Four CLI runs, in the test process (the same command, without a process start each);
 * what each run did is checked in the emulator through the SDK and its request log. SQL data is modelled by the
 * emulator (no SQL engine runs here): the RPO figure is the modelled one.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {inspectOperation} from '../../src/azure/inspect.js'
import {requests, runRunbookInProcess as runRunbook, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
let arm: AzureServices

beforeAll(async () => {
  emulator = await startLocalEmulator()
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())

const step = (json: any, id: string, phase = 'main') => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)

async function databases(): Promise<string[]> {
  const client = await arm.sql()
  const names: string[] = []
  for await (const db of client.databases.listByServer('rg-shop-local', 'sql-shop-local')) names.push(db.name!)
  return names
}

describe('sql-pitr', () => {
  it('as a drill leg: restores a scratch copy, measures RTO/RPO against the objectives, and tears the copy down', async () => {
    const run = await runRunbook(emulator, 'sql-pitr', ['--target', 'payments-db', '--param', 'scratch=true', '--param', 'teardown=true'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.database).toMatch(/^sqldb-shop-payments-drill-/)
    expect(run.json.outputs.dataAsOfSource).toBe('modelled')
    // The drill table's row: RTO from restore start to verified, RPO = restore point − newest row in the copy.
    expect(run.json.outputs.row).toMatchObject({component: 'payments-db', type: 'sqldb', status: 'met', rto: {objectiveMs: 3_600_000, met: true}, rpo: {objectiveMs: 300_000, met: true}})
    expect(run.json.outputs.rpoMs).toBeLessThan(1_000)
    expect(step(run.json, 'teardown', 'finally').status).toBe('succeeded')
    expect(await databases()).toEqual(['sqldb-shop-payments'])
    // What a Ctrl-C'd run checks through ARM before calling the restore "left behind" (a journaled URL carries no
    // api-version): the deleted copy does not exist — it was "could not be read (HTTP 400)", a false NEEDS A HUMAN, exit 3.
    const url = (name: string) => `${arm.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Sql/servers/sql-shop-local/databases/${name}`
    const restore = {description: 'sql.restore', method: 'PUT' as const}
    expect(await inspectOperation(arm, {...restore, resourceUrl: url(run.json.outputs.database)})).toEqual({remains: false, detail: `${run.json.outputs.database} does not exist`})
    expect(await inspectOperation(arm, {...restore, resourceUrl: url('sqldb-shop-payments')})).toEqual({remains: true, detail: 'sqldb-shop-payments still exists'})
  })

  it('refuses a restore time before the earliest restore date with exit 2, before any change', async () => {
    const from = emulator.requestLog().length
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString()
    const run = await runRunbook(emulator, 'sql-pitr', ['--target', 'payments-db', '--param', `restoreTime=${old}`])
    expect(run.code, run.stderr).toBe(2)
    expect(step(run.json, 'check').error).toMatch(/outside the restore window of sql-shop-local\/sqldb-shop-payments.*retention 7 days/)
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
  })
})

describe('sql-failover', () => {
  it('fails the failover group over to the DR server (planned) and reports the RTO', async () => {
    const run = await runRunbook(emulator, 'sql-failover', ['--target', 'payments-db'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs).toMatchObject({failoverGroup: 'fog-shop-payments', newPrimary: 'sql-shop-local-dr', oldPrimary: 'sql-shop-local', lostMs: 0})
    const client = await arm.sql()
    expect((await client.failoverGroups.get('rg-shop-local', 'sql-shop-local-dr', 'fog-shop-payments')).replicationRole).toBe('Primary')
    expect(requests(emulator).filter((r) => r.method === 'POST' && /forceFailoverAllowDataLoss/.test(r.path))).toEqual([])
  })
})

describe('servicebus-dlq', () => {
  it('reports dead-letter counts per queue and subscription, read-only', async () => {
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'servicebus-dlq', ['--target', 'orders-bus'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.totalDeadLetters).toBe(3)
    expect(run.json.outputs.flagged).toEqual(['orders'])
    expect(run.json.outputs.entities).toHaveLength(4)
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET' && !/\/(opsbook|msi)\//i.test(r.path))).toEqual([])
  })
})
