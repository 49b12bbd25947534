import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {containerPropertiesAction} from '../../src/actions/storage.js'
import {makeContext, startFixture, type Fixture} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})

describe('storage.containerProperties', () => {
  it('reads the evidence container\'s immutability through ARM and enforces it on request', async () => {
    const {context} = makeContext(fixture)
    const evidence = await containerPropertiesAction.run(
      containerPropertiesAction.input.parse({account: 'evidence-store', container: 'opsbook-evidence', requireImmutable: true}),
      context,
    )
    expect(evidence).toMatchObject({account: 'stshopevidence', hasImmutabilityPolicy: true, immutabilityDays: 365, immutabilityState: 'Unlocked'})
    await expect(
      containerPropertiesAction.run(containerPropertiesAction.input.parse({account: 'evidence-store', container: 'opsbook-evidence', requireLocked: true}), context),
    ).rejects.toThrow(/Unlocked, not Locked/)
    await expect(
      containerPropertiesAction.run(containerPropertiesAction.input.parse({account: 'snapshot-store', container: 'redis-snapshots', requireImmutable: true}), context),
    ).rejects.toThrow(/no immutability policy/)
  })
})
