/**
 * cosmos.* actions through the unmodified @azure/arm-cosmosdb client against the emulator, with the load generator
 * writing items into the catalog account's probe container (so a restore has writes after its point to leave out).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cosmosDeleteAction, cosmosRestoreAction, cosmosRestoreWindowAction, cosmosVerifyAction} from '../../src/actions/cosmos.js'
import {collectArmWrites, type ArmWrite, type NoWriteFinding} from '../../src/azure/arm-writes.js'
import {ExitCode} from '../../src/errors.js'
import {makeContext, startFixture, type Fixture, parseInput as parse, RG} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture({load: {ratePerSecond: 20}})
})
afterAll(async () => {
  await fixture?.stop()
})

const itemsOf = async (account: string) =>
  (await fixture.services.armRequest('GET', `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/${account}/sqlDatabases/shop/containers/products/opsbookItems`, {apiVersion: '2025-10-15'})).body as {count: number; newestTs: number}

describe('cosmos.restoreWindow', () => {
  it('reads the restorable account and the probe container\'s latest restorable timestamp', async () => {
    const {context} = makeContext(fixture)
    const out = await cosmosRestoreWindowAction.run(parse(cosmosRestoreWindowAction, {account: 'catalog-cosmos'}), context)
    expect(out).toMatchObject({account: 'cosmos-shop-local', backupTier: 'Continuous7Days', latestFrom: 'container', warnings: []})
    expect(out.restoreSource).toMatch(/^\/subscriptions\/[^/]+\/providers\/Microsoft\.DocumentDB\/locations\/eastus\/restorableDatabaseAccounts\/[0-9a-f-]{36}$/)
    // Continuous7Days: the oldest restorable time is 7 days back (the seeded account is older than that).
    expect(Date.now() - Date.parse(out.oldestRestorableTime)).toBeGreaterThan(6.9 * 86_400_000)
  })

  it('refuses a point before the oldest restorable time with exit 2, naming the window', async () => {
    const {context} = makeContext(fixture)
    const before = new Date(Date.now() - 8 * 86_400_000).toISOString()
    const error = await cosmosRestoreWindowAction.run(parse(cosmosRestoreWindowAction, {account: 'catalog-cosmos', pointInTime: before}), context).catch((e) => e)
    expect(error.exitCode).toBe(ExitCode.invalidInput)
    expect(error.message).toMatch(/outside the restore window of cosmos-shop-local: \[.+, .+\] \(Continuous7Days\)/)
  })

  it('reports a periodic-backup account as not restorable by opsbook, with the reason', async () => {
    const client = await fixture.services.cosmos()
    // An account created without a backup policy gets the periodic mode, as in Azure.
    await client.databaseAccounts.beginCreateOrUpdateAndWait(RG, 'cosmos-periodic', {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}]}, {updateIntervalInMs: 20})
    const restorable: string[] = []
    for await (const r of client.restorableDatabaseAccounts.list()) restorable.push(r.accountName!)
    expect(restorable).toContain('cosmos-shop-local')
    expect(restorable).not.toContain('cosmos-periodic')
    const {context} = makeContext(fixture)
    const error = await cosmosRestoreWindowAction.run(parse(cosmosRestoreWindowAction, {account: 'cosmos-periodic'}), context).catch((e) => e)
    expect(error.exitCode).toBe(ExitCode.invalidInput)
    expect(error.code).toBe('cosmos-not-restorable')
    expect(error.message).toMatch(/cosmos-periodic uses the Periodic backup mode: Azure restores periodic backups only through a support request/)
  })
})

describe('cosmos.restore / verify / delete', () => {
  it('restores into a new account holding the items up to the point, reads its newest _ts and deletes only its own copy', async () => {
    // The point must come after the load generator's first write, or the newest item before it is the seeded history's
    // (one every 30 s) and the copy looks up to 30 s stale (seen once in an idle run). Conditions, never a fixed sleep.
    const written = () => fixture.emulator.dataPlane.load?.().find((l) => l.engine === 'cosmos')?.written ?? 0
    // Limits of 30 s, not 10: conditions that a loaded machine reaches late (the load generator's timer, the copy's
    // writes); passing ones cost no more.
    await expect.poll(written, {timeout: 30_000, interval: 50}).toBeGreaterThan(0)
    const firstWriteBy = Date.now()
    await expect.poll(() => Math.floor(Date.now() / 1000) * 1000 - 1000, {timeout: 30_000, interval: 100}).toBeGreaterThan(firstWriteBy)
    const point = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000)
    // Then for the load to have written after the point (poll the source's newest _ts).
    await expect.poll(async () => (await itemsOf('cosmos-shop-local')).newestTs * 1000, {timeout: 30_000, interval: 100}).toBeGreaterThan(point.getTime())
    const {context, started} = makeContext(fixture, {runId: 'run-cos-000001'})
    const restored = await cosmosRestoreAction.run(parse(cosmosRestoreAction, {account: 'catalog-cosmos', pointInTime: point.toISOString()}), context)
    expect(restored.account).toBe('cosmos-shop-local-pitr-000001')
    expect(started[0]!.monitorUrl).toMatch(/\/providers\/Microsoft\.DocumentDB\/locations\/eastus\/operationsStatus\//)
    const client = await fixture.services.cosmos()
    const account = await client.databaseAccounts.get(RG, restored.account)
    expect(account).toMatchObject({provisioningState: 'Succeeded', createMode: 'Restore', restoreParameters: {restoreMode: 'PointInTime'}})
    expect(account.tags).toMatchObject({'opsbook-run-id': 'run-cos-000001', 'opsbook-scratch': 'false', 'opsbook-source': 'cosmos-shop-local', owner: 'catalog-team'})

    const verified = await cosmosVerifyAction.run(parse(cosmosVerifyAction, {account: restored.resourceId, probes: 'catalog-cosmos', pointInTime: restored.pointInTime}), context)
    expect(verified.dataAsOfSource).toBe('data')
    // The copy holds items up to the point and none after it; the source kept writing past it.
    const lag = point.getTime() - Date.parse(verified.dataAsOf!)
    expect(lag).toBeGreaterThanOrEqual(0)
    expect(lag).toBeLessThan(2_000)
    expect((await itemsOf(restored.account)).count).toBeLessThan((await itemsOf('cosmos-shop-local')).count)

    const other = makeContext(fixture, {runId: 'run-other-000002'}).context
    const refused = await cosmosDeleteAction.run(parse(cosmosDeleteAction, {account: restored.account, ifScratchOnly: false}), other).catch((e) => e)
    expect(refused.code).toBe('cosmos-delete-refused')
    const deleted = await cosmosDeleteAction.run(parse(cosmosDeleteAction, {source: 'catalog-cosmos', purpose: 'pitr', ifScratchOnly: false}), context)
    expect(deleted).toEqual({account: restored.account, deleted: true, alreadyGone: false})
    // Run again (a resume): no ARM write, and it says what it found, for evidence verify's Activity Log witness.
    const [writes, found]: [ArmWrite[], NoWriteFinding[]] = [[], []]
    const again = await collectArmWrites(writes, () => cosmosDeleteAction.run(parse(cosmosDeleteAction, {source: 'catalog-cosmos', purpose: 'pitr', ifScratchOnly: false}), context), found)
    expect(again.alreadyGone).toBe(true)
    expect(writes).toEqual([])
    expect(found).toEqual([{kind: 'gone', resourceId: expect.stringMatching(new RegExp(`/databaseAccounts/${restored.account}$`))}])
  })

  it('Azure refuses a restore outside the window, and onto an existing name, with 400 BadRequest (the SDK call, no preflight)', async () => {
    const client = await fixture.services.cosmos()
    let source: string | undefined
    for await (const r of client.restorableDatabaseAccounts.listByLocation('eastus')) if (r.accountName === 'cosmos-shop-local') source = r.id
    const body = (name: string, at: Date) =>
      client.databaseAccounts
        .beginCreateOrUpdateAndWait(RG, name, {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}], createMode: 'Restore', restoreParameters: {restoreMode: 'PointInTime', restoreSource: source, restoreTimestampInUtc: at}}, {updateIntervalInMs: 20})
        .catch((e) => e)
    const old = await body('too-old', new Date(Date.now() - 30 * 86_400_000))
    expect([old.statusCode, old.code]).toEqual([400, 'BadRequest'])
    expect(old.message).toMatch(/outside the restorable window of 'cosmos-shop-local'/)
    const taken = await body('cosmos-shop-local', new Date(Date.now() - 60_000))
    expect([taken.statusCode, taken.code]).toEqual([400, 'BadRequest'])
    expect(taken.message).toMatch(/already exists/)
  })
})
