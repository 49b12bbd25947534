import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {loadCatalog, getEnvironment} from '../../src/catalog/loader.js'
import type {Environment} from '../../src/catalog/schema.js'
import {describeEvidenceStore} from '../../src/evidence/blob-sink.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'

describe('evidence store immutability (through ARM container properties)', () => {
  let emulator: RunningEmulator
  let environment: Environment
  let services: AzureServices
  beforeAll(async () => {
    environment = getEnvironment(loadCatalog({flag: 'runbooks.yaml'}), 'local')
    emulator = await startEmulator({environment, environmentName: 'local'})
    services = createAzureServices({environment, environmentName: 'local', emulator})
  })
  afterAll(async () => {
    await emulator.stop()
  })

  it('records the policy, and warns when a production evidence container can still be changed', async () => {
    const store = await describeEvidenceStore(environment, services)
    expect(store).toMatchObject({account: 'stshopevidence', container: 'opsbook-evidence', immutabilityPolicy: {state: 'Unlocked', allowProtectedAppendWrites: true}, legalHold: false, mutable: true})
    expect(store!.warning).toBeUndefined() // not production
    const production = await describeEvidenceStore({...environment, production: true}, services)
    expect(production!.warning).toMatch(/production evidence container stshopevidence\/opsbook-evidence has an unlocked immutability policy/)
  })

  it('sees a legal hold set through ARM: the container is no longer mutable', async () => {
    const storage = await services.storage()
    await storage.blobContainers.setLegalHold('rg-shop-local', 'stshopevidence', 'opsbook-evidence', {tags: ['audit2026']})
    const store = await describeEvidenceStore({...environment, production: true}, services)
    expect(store).toMatchObject({legalHold: true, legalHoldTags: ['audit2026'], mutable: false})
    expect(store!.warning).toBeUndefined()
  })
})
