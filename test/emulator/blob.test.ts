import {createRequire} from 'node:module'
import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AZURITE_ACCOUNT, AZURITE_KEY, startBlobServer, type RunningBlob} from '../../src/emulator/blob.js'

const require = createRequire(import.meta.url)
let blob: RunningBlob
let envBefore: string | undefined

beforeAll(async () => {
  envBefore = process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL
  blob = await startBlobServer()
})
afterAll(async () => blob?.close())

describe('the in-process Azurite blob server', () => {
  it('serves blobs with its SharedKey, and loading it patched none of the process\'s modules (Application Insights stays out)', async () => {
    const client = new BlobServiceClient(blob.endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY))
    const container = client.getContainerClient('probe')
    await container.create()
    await container.getBlockBlobClient('a.txt').upload('hello', 5)
    expect((await container.getBlockBlobClient('a.txt').downloadToBuffer()).toString()).toBe('hello')
    // Azurite requires applicationinsights; with its diagnostic channel on, that subscribes to pg, redis, console and
    // the Azure SDK and hooks every later require of the process (the CLI's, when it starts the emulator itself).
    expect(require.cache[require.resolve('applicationinsights')]).toBeDefined()
    expect(require('applicationinsights/out/AutoCollection/diagnostic-channel/initialization.js').IsInitialized).toBe(false)
    expect(Object.keys(require.cache).some((path) => path.includes('/diagnostic-channel-publishers/'))).toBe(false)
    expect(process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL).toBe(envBefore)
  })
})
