import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {restoreAction, setMaintenanceWindowAction} from '../../src/actions/postgres.js'
import {AzureError} from '../../src/azure/errors.js'
import {rebase} from '../../src/azure/lro.js'
import {makeContext, RG, startFixture, type Fixture} from './helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})

describe('re-attaching to a tracked operation', () => {
  it('reports the ARM error of an operation that failed while the process was away, with its monitor URL', async () => {
    fixture.emulator.faults.set({failOperations: {'postgres.create': {code: 'RestoreFailed', message: 'the backup could not be read'}}})
    try {
      const runId = 'run-lro-000005'
      const controller = new AbortController()
      const first = makeContext(fixture, {runId, signal: controller.signal})
      const started = first.context.operations.started
      first.context.operations.started = async (operation) => {
        await started(operation)
        controller.abort(new Error('process killed'))
      }
      await expect(restoreAction.run(restoreAction.input.parse({server: 'orders-db', scratch: true}), first.context)).rejects.toThrow()

      const second = makeContext(fixture, {runId, inFlight: first.started[0]})
      const error = await restoreAction.run(restoreAction.input.parse({server: 'orders-db', scratch: true}), second.context).catch((e) => e)
      expect(error).toBeInstanceOf(AzureError)
      expect(error.armCode).toBe('RestoreFailed')
      expect(error.message).toContain('the backup could not be read')
      expect(error.monitorUrl).toBe(first.started[0]!.monitorUrl)
      expect(second.logs.join('\n')).toContain('re-attaching')
    } finally {
      fixture.emulator.faults.clear()
    }
  })

  it('moves a recorded monitor URL to an endpoint that restarted elsewhere, and leaves Azure URLs alone', () => {
    expect(rebase('https://127.0.0.1:4000/subscriptions/s/op/1?api-version=1', 'https://127.0.0.1:4000/subscriptions/s/x', 'https://127.0.0.1:5000')).toBe(
      'https://127.0.0.1:5000/subscriptions/s/op/1?api-version=1',
    )
    const azure = 'https://management.azure.com/subscriptions/s/providers/p/locations/l/azureAsyncOperation/1?api-version=1'
    expect(rebase(azure, 'https://management.azure.com/subscriptions/s/x', 'https://management.azure.com')).toBe(azure)
  })

  it('on resume, waits for an operation Ctrl-C left running before sending the same request again', async () => {
    // Drift, so the action has a window to set; the PATCH then hangs (an operation that outlives teardown's deadline).
    const client = await fixture.services.postgres()
    await client.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: 3, startHour: 5, startMinute: 0}}, {updateIntervalInMs: 20})
    fixture.emulator.faults.set({hangOperations: ['postgres.update']})
    try {
      const controller = new AbortController()
      const first = makeContext(fixture, {signal: controller.signal})
      const started = first.context.operations.started
      first.context.operations.started = async (operation) => {
        await started(operation)
        controller.abort('SIGINT')
      }
      await expect(setMaintenanceWindowAction.run(setMaintenanceWindowAction.input.parse({server: 'orders-db'}), first.context)).rejects.toBeDefined()
      const hung = () => fixture.emulator.state.operations().filter((o) => o.operation === 'postgres.update' && o.status === 'InProgress')
      expect(hung()).toHaveLength(1)

      const second = makeContext(fixture)
      second.context.operations.interrupted = () => first.started[0]
      const resumed = setMaintenanceWindowAction.run(setMaintenanceWindowAction.input.parse({server: 'orders-db'}), second.context)
      const waiting = () => second.logs.some((l) => /waiting for .* to end before sending it again/.test(l))
      while (!waiting() && second.started.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
      // Waiting: no second PATCH beside the running one.
      expect(second.started).toHaveLength(0)
      expect(waiting()).toBe(true)
      fixture.emulator.faults.clear()
      await expect(resumed).resolves.toMatchObject({changed: true})
      expect(hung()).toHaveLength(0)
      expect(second.started).toHaveLength(1)
    } finally {
      fixture.emulator.faults.clear()
    }
  })
})

// Issue 16, item 6: Ctrl-C while a slot swap's POST was on its way cut the request off client-side, but ARM had it
// and swapped: the operation was never journaled, so the interrupted run's teardown found production "as before"
// (the swap still running), the swap then completed, and production was left on the slot's build.
describe('Ctrl-C while ARM has not answered yet', () => {
  it('lets the request finish and journals its operation, then stops waiting for it', async () => {
    const {runTracked} = await import('../../src/azure/lro.js')
    const web = await fixture.services.web()
    const site = 'app-shop-storefront'
    const swapsBefore = fixture.emulator.state.operations().filter((o) => o.operation === 'webapp.swap').length
    fixture.emulator.faults.set({latencyMs: 800})
    const controller = new AbortController()
    const {context, started} = makeContext(fixture, {signal: controller.signal})
    try {
      const tracked = runTracked(context, fixture.services, {
        description: `webapp.swap ${site}: staging ⇄ production`,
        method: 'POST',
        resource: `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${site}/slotsswap`,
        call: async (options) => {
          const sending = web.webApps.beginSwapSlotWithProductionAndWait(RG, site, {targetSlot: 'staging', preserveVnet: true}, options as never)
          // Ctrl-C while the POST waits for ARM's answer (the emulator holds every request 800 ms).
          setTimeout(() => controller.abort('SIGINT'), 200)
          return sending
        },
      })
      await expect(tracked).rejects.toBeDefined()
      const swaps = fixture.emulator.state.operations().filter((o) => o.operation === 'webapp.swap')
      // ARM got the request and runs the swap: the run knows, so teardown can wait for it and resume re-attach.
      expect(swaps).toHaveLength(swapsBefore + 1)
      expect(started).toHaveLength(1)
      expect(started[0]!.monitorUrl).toMatch(/^https:\/\//)
    } finally {
      fixture.emulator.faults.clear()
      // Put production back: wait for the swap, then swap again.
      while (fixture.emulator.state.operations().some((o) => o.operation === 'webapp.swap' && o.status === 'InProgress')) await new Promise((resolve) => setTimeout(resolve, 50))
      await web.webApps.beginSwapSlotWithProductionAndWait(RG, site, {targetSlot: 'staging', preserveVnet: true}, {updateIntervalInMs: 20})
    }
  })
})
