import {describe, expect, it} from 'vitest'
import {Faults} from '../../src/emulator/faults.js'
import {Operations} from '../../src/emulator/lro.js'
import type {EmulatorRequest} from '../../src/emulator/types.js'

const request = (path: string, method = 'PUT'): EmulatorRequest => ({
  method,
  path,
  query: new URLSearchParams('api-version=2025-08-01'),
  headers: {},
  body: undefined,
  rawBody: Buffer.alloc(0),
  baseUrl: 'https://127.0.0.1:8443',
})

function manager(faults = new Faults(), finishedLimit = 20): Operations {
  return new Operations({subscription: 's', defaultDurationMs: 0, faults, clock: () => new Date(), onSettled: () => {}, finishedLimit})
}

/** Start an operation that is due at once and poll its async monitor until it has finished; returns the monitor path. */
async function runOne(ops: Operations, n: number, operation = 'postgres.create'): Promise<string> {
  const started = ops.start({request: request(`/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-${n}`), operation, location: 'eastus', provider: 'Microsoft.DBforPostgreSQL', run: () => {}, kind: 'azure-async-operation', initialStatus: 202, body: {payload: 'x'.repeat(10_000)}})
  const monitor = new URL(started.headers!['Azure-AsyncOperation']!).pathname
  await ops.handleMonitor(request(monitor, 'GET'))
  return monitor
}

describe('emulator long-running operations', () => {
  it('keeps a bounded number of finished operations and their monitors, the newest ones', async () => {
    const ops = manager()
    const monitors: string[] = []
    for (let n = 1; n <= 200; n++) monitors.push(await runOne(ops, n))
    expect(ops.held.operations).toBe(20)
    expect(ops.held.monitors).toBe(40) // async status + Location per operation
    expect(ops.list().every((op) => op.status === 'Succeeded')).toBe(true)
    // The newest finished operation still answers on its monitor; the oldest is forgotten.
    expect((await ops.handleMonitor(request(monitors.at(-1)!, 'GET')))?.body).toMatchObject({status: 'Succeeded'})
    expect(ops.isMonitor(request(monitors[0]!, 'GET'))).toBe(false)
    expect(await ops.handleMonitor(request(monitors[0]!, 'GET'))).toBeUndefined()
  })

  it('never forgets a running operation, however many finish after it', async () => {
    const faults = new Faults({hangOperations: ['postgres.update']})
    const ops = manager(faults)
    const hung = await runOne(ops, 0, 'postgres.update')
    for (let n = 1; n <= 100; n++) await runOne(ops, n)
    expect(ops.list().filter((op) => op.status === 'InProgress')).toMatchObject([{operation: 'postgres.update'}])
    expect(ops.held.operations).toBe(21)
    // Once the hang is lifted it finishes on its next poll, and counts among the finished from then on.
    faults.clear()
    expect((await ops.handleMonitor(request(hung, 'GET')))?.body).toMatchObject({status: 'Succeeded'})
    expect(ops.held.operations).toBe(20)
  })
})
