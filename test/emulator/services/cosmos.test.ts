/**
 * The emulator's Microsoft.DocumentDB service through the unmodified @azure/arm-cosmosdb client: restorable accounts
 * (continuous mode only), the container's continuous backup information, the LRO monitors, DELETE of an absent
 * account, and the in-process data plane's items and `_ts`.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startFixture, type Fixture, RG} from '../../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => fixture?.stop())

describe('Microsoft.DocumentDB', () => {
  it('serves the catalog account with its continuous backup policy, databases and containers', async () => {
    const client = await fixture.services.cosmos()
    const account = await client.databaseAccounts.get(RG, 'cosmos-shop-local')
    expect(account).toMatchObject({kind: 'GlobalDocumentDB', provisioningState: 'Succeeded', publicNetworkAccess: 'Enabled', disableLocalAuth: false, minimalTlsVersion: 'Tls12'})
    expect(account.backupPolicy).toMatchObject({type: 'Continuous', continuousModeProperties: {tier: 'Continuous7Days'}})
    const containers: string[] = []
    for await (const c of client.sqlResources.listSqlContainers(RG, 'cosmos-shop-local', 'shop')) containers.push(c.name!)
    expect(containers).toEqual(['products', 'carts'])
    const missing = await client.sqlResources.getSqlContainer(RG, 'cosmos-shop-local', 'shop', 'orders').catch((e) => e)
    expect([missing.statusCode, missing.code]).toEqual([404, 'NotFound'])
  })

  it('seeds the last hour of items with _ts, and answers the latest restorable timestamp as a Location LRO', async () => {
    const base = `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local/sqlDatabases/shop/containers/products`
    const items = (await fixture.services.armRequest('GET', `${base}/opsbookItems`, {apiVersion: '2025-10-15'})).body
    expect(items.count).toBeGreaterThanOrEqual(120)
    expect(Date.now() / 1000 - items.newestTs).toBeLessThan(120)
    const client = await fixture.services.cosmos()
    const info = await client.sqlResources.beginRetrieveContinuousBackupInformationAndWait(RG, 'cosmos-shop-local', 'shop', 'products', {location: 'eastus'}, {updateIntervalInMs: 20})
    expect(Math.abs(Date.parse(info.continuousBackupInformation!.latestRestorableTimestamp!) - Date.now())).toBeLessThan(60_000)
  })

  it('keeps the seeded history going, so a restore hours after the emulator started still finds data just before its point', async () => {
    let shiftMs = 0
    const later = await startFixture({clock: () => new Date(Date.now() + shiftMs)})
    try {
      const base = `/subscriptions/${later.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local/sqlDatabases/shop/containers/products`
      const newest = async () => (await later.services.armRequest('GET', `${base}/opsbookItems`, {apiVersion: '2025-10-15'})).body as {count: number; newestTs: number}
      const seeded = await newest()
      // Two hours on: an app writing to the container would have written until now (one item per 30 s).
      shiftMs = 2 * 3_600_000
      const twoHours = await newest()
      expect((Date.now() + shiftMs) / 1000 - twoHours.newestTs).toBeLessThan(60)
      expect(twoHours.count - seeded.count).toBeGreaterThanOrEqual(239)
      // A restore to now holds data from within the last minute: the drill's RPO is the app's, not the emulator's age.
      const client = await later.services.cosmos()
      const point = new Date(Date.now() + shiftMs)
      await client.databaseAccounts.beginCreateOrUpdateAndWait(
        RG,
        'cosmos-shop-restored',
        {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}], createMode: 'Restore', restoreParameters: {restoreMode: 'PointInTime', restoreSource: (await client.restorableDatabaseAccounts.listByLocation('eastus').next()).value!.id!, restoreTimestampInUtc: point}} as never,
        {updateIntervalInMs: 20},
      )
      const restored = (await later.services.armRequest('GET', base.replace('cosmos-shop-local', 'cosmos-shop-restored') + '/opsbookItems', {apiVersion: '2025-10-15'})).body as {newestTs: number}
      expect(point.getTime() / 1000 - restored.newestTs).toBeLessThan(60)
      // Eight days on: what no restore can reach any more (7-day continuous backup) is gone, so the list stays bounded.
      shiftMs = 8 * 86_400_000
      const week = await newest()
      expect(week.count).toBeLessThanOrEqual(7 * 2880 + 1)
      expect((Date.now() + shiftMs) / 1000 - week.newestTs).toBeLessThan(60)
    } finally {
      await later.stop()
    }
  })

  it("keeps the load generator's writes only as far back as the continuous-backup retention, even when nobody reads them", async () => {
    let shiftMs = 0
    const loaded = await startFixture({clock: () => new Date(Date.now() + shiftMs), load: {ratePerSecond: 50}})
    try {
      const key = `/subscriptions/${loaded.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local/sqlDatabases/shop/containers/products`.toLowerCase()
      // Read through the state (a copy), not the API: a read prunes too, and the leak was writes nobody reads.
      const held = () => loaded.emulator.state.slice<{items: Record<string, Array<{id: string; _ts: number}>>}>('cosmos')!.items[key]!
      const written = () => loaded.emulator.dataPlane.load!().find((l) => l.engine === 'cosmos')?.written ?? 0
      await expect.poll(written, {timeout: 10_000, interval: 20}).toBeGreaterThanOrEqual(10)
      const before = held()
      expect(before.filter((i) => i.id.startsWith('load-')).length).toBeGreaterThanOrEqual(10)
      // Eight days on, the writes go on: everything from before the 7-day window is gone, the new writes are kept.
      shiftMs = 8 * 86_400_000
      const at = written()
      await expect.poll(written, {timeout: 10_000, interval: 20}).toBeGreaterThanOrEqual(at + 5)
      const after = held()
      const windowStart = (Date.now() + shiftMs - 7 * 86_400_000) / 1000
      expect(after.filter((i) => i._ts < windowStart)).toEqual([])
      expect(after.filter((i) => i.id.startsWith('load-')).length).toBeGreaterThanOrEqual(5)
      expect(after.length).toBeLessThan(before.length)
    } finally {
      await loaded.stop()
    }
  })

  it('upserts by id, deletes, drops past the retention and restores each item as it was at the point (HTTP, id index)', async () => {
    let shiftMs = 0
    const at = startFixture({clock: () => new Date(Date.now() + shiftMs)})
    const emulator = await at
    try {
      const base = `/subscriptions/${emulator.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local/sqlDatabases/shop/containers/carts`
      const v = {apiVersion: '2025-10-15'}
      const write = (body: Record<string, unknown>) => emulator.services.armRequest('POST', `${base}/opsbookItems`, {...v, body})
      const count = async () => ((await emulator.services.armRequest('GET', `${base}/opsbookItems`, v)).body as {count: number}).count
      const client = await emulator.services.cosmos()
      const source = (await client.restorableDatabaseAccounts.listByLocation('eastus').next()).value!.id!
      /** Restore the account to a point; the restored container's items by id (read back through the emulator's state). */
      const restoreAt = async (name: string, point: Date) => {
        await client.databaseAccounts.beginCreateOrUpdateAndWait(
          RG,
          name,
          {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}], createMode: 'Restore', restoreParameters: {restoreMode: 'PointInTime', restoreSource: source, restoreTimestampInUtc: point}} as never,
          {updateIntervalInMs: 20},
        )
        const key = `${base.replace('cosmos-shop-local', name)}`.toLowerCase()
        const items = emulator.emulator.state.slice<{items: Record<string, Array<{id: string; _ts: number; v?: number}>>}>('cosmos')!.items[key]!
        const ts = items.map((i) => i._ts)
        expect(ts).toEqual([...ts].sort((a, b) => a - b)) // oldest first, as the live list
        return new Map(items.filter((i) => !i.id.startsWith('seed-')).map((i) => [i.id, i.v]))
      }
      const seeded = await count()
      const cartItems = () => emulator.emulator.state.slice<{items: Record<string, Array<{id: string}>>}>('cosmos')!.items[base.toLowerCase()]!
      const writtenBefore = cartItems().filter((i) => !i.id.startsWith('seed-')).map((i) => i.id)

      // t0: two new items (201), then one of them again (200: replaced, not a second item).
      expect((await write({id: 'cart-1', v: 1})).status).toBe(201)
      expect((await write({id: 'cart-2', v: 1})).status).toBe(201)
      // Two items more than before, and the count is the container's list — besides the seeded history's own item every
      // 30 s, which a count read on the far side of such a boundary adds (keepWriting): `toBe(seeded + 2)` failed
      // whenever the reads straddled one (about 1 in 30 with a second between them on a loaded machine).
      const countedT0 = await count()
      expect(countedT0).toBe(cartItems().length)
      expect(countedT0).toBeGreaterThanOrEqual(seeded + 2)
      expect(cartItems().filter((i) => !i.id.startsWith('seed-')).map((i) => i.id)).toEqual([...writtenBefore, 'cart-1', 'cart-2'])
      const t0 = new Date(Date.now() + shiftMs)
      shiftMs = 10 * 60_000
      const replaced = await write({id: 'cart-1', v: 2})
      expect([replaced.status, replaced.body.v]).toEqual([200, 2])
      // t1: cart-2 deleted; deleting it again is a 404.
      shiftMs = 20 * 60_000
      expect((await emulator.services.armRequest('DELETE', `${base}/opsbookItems/cart-2`, v)).status).toBe(204)
      expect((await emulator.services.armRequest('DELETE', `${base}/opsbookItems/cart-2`, v)).status).toBe(404)
      expect(await write({id: 'cart-3', v: 1}).then((r) => r.status)).toBe(201)
      // The items as they were: at t0 both first versions, before the replace and the delete; after both, the new ones.
      expect(await restoreAt('cosmos-carts-t0', t0)).toEqual(new Map([['cart-1', 1], ['cart-2', 1]]))
      expect(await restoreAt('cosmos-carts-t15', new Date(Date.now() + 15 * 60_000))).toEqual(new Map([['cart-1', 2], ['cart-2', 1]]))
      expect(await restoreAt('cosmos-carts-now', new Date(Date.now() + shiftMs))).toEqual(new Map([['cart-1', 2], ['cart-3', 1]]))
      // Eight days on: everything written, replaced or deleted before the 7-day window is gone — the replaced and the
      // deleted versions as well — and a write of an id that left the window is a new item again (201).
      shiftMs = 8 * 86_400_000
      expect((await write({id: 'cart-1', v: 3})).status).toBe(201)
      const state = emulator.emulator.state.slice<{items: Record<string, Array<{id: string}>>; history?: Record<string, unknown[]>}>('cosmos')!
      const key = base.toLowerCase()
      expect(state.items[key]!.filter((i) => !i.id.startsWith('seed-')).map((i) => i.id)).toEqual(['cart-1'])
      expect(state.history?.[key] ?? []).toEqual([])
      expect((await write({id: 'cart-1', v: 4})).status).toBe(200)
      // The emulator's load generator may add an item while the count is answered, and the count's own read drops items
      // that left the retention window (a load item written just inside it at the shifted clock): the count lies between
      // the lengths around it, whichever of the two is larger (idle CI of 98adf04: 20161 counted after 20162 before).
      const lengthBefore = state.items[key]!.length
      const counted = await count()
      const lengthAfter = emulator.emulator.state.slice<{items: Record<string, unknown[]>}>('cosmos')!.items[key]!.length
      expect(counted).toBeGreaterThanOrEqual(Math.min(lengthBefore, lengthAfter))
      expect(counted).toBeLessThanOrEqual(Math.max(lengthBefore, lengthAfter))
    } finally {
      await emulator.stop()
    }
  })

  it('serves the account and the account lists at 2022-08-15 (az 2.45 cosmosdb show / list), validated against that version\'s cosmos-db.json', async () => {
    const sub = `/subscriptions/${fixture.environment.subscription}`
    const one = await fixture.services.armRequest('GET', `${sub}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local`, {apiVersion: '2022-08-15'})
    expect([one.status, (one.body as {name: string}).name]).toEqual([200, 'cosmos-shop-local'])
    for (const path of [`${sub}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts`, `${sub}/providers/Microsoft.DocumentDB/databaseAccounts`]) {
      const list = await fixture.services.armRequest('GET', path, {apiVersion: '2022-08-15'})
      expect((list.body as {value: Array<{name: string}>}).value.map((a) => a.name)).toContain('cosmos-shop-local')
    }
  })

  it('serves the SQL databases, containers and restorable accounts at 2022-08-15, validated against that version\'s cosmos-db.json and restorable.json', async () => {
    const sub = `/subscriptions/${fixture.environment.subscription}`
    const account = `${sub}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-shop-local`
    const get = async (path: string) => {
      const answer = await fixture.services.armRequest('GET', path, {apiVersion: '2022-08-15'})
      expect(answer.status, path).toBe(200)
      return answer.body as any
    }
    expect((await get(`${account}/sqlDatabases`)).value.map((d: {name: string}) => d.name)).toEqual(['shop'])
    expect((await get(`${account}/sqlDatabases/shop`)).properties.resource.id).toBe('shop')
    expect((await get(`${account}/sqlDatabases/shop/containers`)).value.map((c: {name: string}) => c.name)).toEqual(['products', 'carts'])
    expect((await get(`${account}/sqlDatabases/shop/containers/products`)).properties.resource.partitionKey.paths).toHaveLength(1)
    const restorable = (await get(`${sub}/providers/Microsoft.DocumentDB/restorableDatabaseAccounts`)).value
    expect(restorable.map((a: {properties: {accountName: string}}) => a.properties.accountName)).toContain('cosmos-shop-local')
    // 2022-08-15's RestorableDatabaseAccountProperties has no oldestRestorableTime; 2025-10-15's has.
    expect(restorable[0].properties.oldestRestorableTime).toBeUndefined()
    const current = await fixture.services.armRequest('GET', `${sub}/providers/Microsoft.DocumentDB/restorableDatabaseAccounts`, {apiVersion: '2025-10-15'})
    expect(Date.parse((current.body as any).value[0].properties.oldestRestorableTime)).toBeLessThanOrEqual(Date.now())
  })

  it('deletes as an Azure-AsyncOperation LRO, and answers 204 for an account that is not there', async () => {
    const client = await fixture.services.cosmos()
    await client.databaseAccounts.beginCreateOrUpdateAndWait(RG, 'cosmos-scratch', {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}]}, {updateIntervalInMs: 20})
    const started = await fixture.services.armRequest('DELETE', `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-scratch`, {apiVersion: '2025-10-15'})
    expect(started.status).toBe(202)
    expect(started.headers['azure-asyncoperation']).toMatch(/\/providers\/Microsoft\.DocumentDB\/locations\/eastus\/operationsStatus\/[0-9a-f-]+\?api-version=2025-10-15$/)
    await expect.poll(async () => (await client.databaseAccounts.get(RG, 'cosmos-scratch').catch((e) => e)).statusCode, {timeout: 10_000, interval: 50}).toBe(404)
    const absent = await fixture.services.armRequest('DELETE', `/subscriptions/${fixture.environment.subscription}/resourceGroups/${RG}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-scratch`, {apiVersion: '2025-10-15'})
    expect(absent.status).toBe(204)
  })
})
