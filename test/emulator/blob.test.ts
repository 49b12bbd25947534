import {createRequire} from 'node:module'
import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AZURITE_ACCOUNT, AZURITE_KEY, startBlobServer, type RunningBlob} from '../../src/emulator/blob.js'

const require = createRequire(import.meta.url)
let blob: RunningBlob

beforeAll(async () => {
  blob = await startBlobServer()
})
afterAll(async () => blob?.close())

describe('the in-process Azurite blob server', () => {
  it('serves blobs with its SharedKey, and loading it loads no Application Insights code (nothing in the process is patched)', async () => {
    const client = new BlobServiceClient(blob.endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY))
    const container = client.getContainerClient('probe')
    await container.create()
    await container.getBlockBlobClient('a.txt').upload('hello', 5)
    expect((await container.getBlockBlobClient('a.txt').downloadToBuffer()).toString()).toBe('hello')
    // Azurite requires applicationinsights, which the blob server never uses: none of its code is loaded (with its
    // diagnostic channel it would subscribe to pg, redis, console and the Azure SDK and hook every later require of the
    // process — the CLI's, when it starts the emulator itself), and the Telemetry class Azurite loaded holds nothing.
    const azurite = createRequire(require.resolve('azurite/dist/src/common/Telemetry.js'))
    const loaded = Object.keys(require.cache).filter((path) => /[\\/]node_modules[\\/](applicationinsights|diagnostic-channel)/.test(path))
    // Only the empty placeholder blob.ts puts in its place.
    expect(loaded).toEqual([azurite.resolve('applicationinsights')])
    expect(require.cache[loaded[0]!]!.exports).toEqual({})
    // Never initialised (only Azurite's own main does): no telemetry client that could send anything.
    const {AzuriteTelemetryClient} = azurite('azurite/dist/src/common/Telemetry.js')
    expect(AzuriteTelemetryClient.appInsights).toEqual({})
    expect([AzuriteTelemetryClient.initialized, AzuriteTelemetryClient.eventClient, AzuriteTelemetryClient.requestClient]).toEqual([false, undefined, undefined])
  })
})
