/**
 * failover.restore (src/actions/traffic.ts) when the switch changed nothing: no ARM write, and it journals what it found
 * (`not-switched`, the router's resource id) for evidence verify's Activity Log witness (src/evidence/witness.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {failoverRestoreAction} from '../../src/actions/traffic.js'
import {collectArmWrites, type ArmWrite, type NoWriteFinding} from '../../src/azure/arm-writes.js'
import {makeContext, startFixture, type Fixture, parseInput as parse, RG} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => fixture?.stop())

describe('failover.restore', () => {
  it('with nothing the switch changed: writes nothing and says the router has nothing left switched', async () => {
    const {context} = makeContext(fixture)
    const [writes, found]: [ArmWrite[], NoWriteFinding[]] = [[], []]
    const result = await collectArmWrites(writes, () => failoverRestoreAction.run(parse(failoverRestoreAction, {router: 'storefront-dns', changed: []}), context), found)
    expect(result).toEqual({router: 'tm-shop-local', restored: []})
    expect(writes).toEqual([])
    expect(found).toEqual([{kind: 'not-switched', resourceId: `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.Network/trafficmanagerprofiles/tm-shop-local`}])
  })
})
