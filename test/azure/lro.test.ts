import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {restoreAction} from '../../src/actions/postgres.js'
import {AzureError} from '../../src/azure/errors.js'
import {rebase} from '../../src/azure/lro.js'
import {makeContext, startFixture, type Fixture} from './helpers.js'

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
})
