import {createServer, type Socket} from 'node:net'
import {ContainerClient, AnonymousCredential} from '@azure/storage-blob'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {exitCodeOf, GuardError} from '../../src/errors.js'
import {acquireTargetLease, acquireTargetLeases, componentsHeldBy, currentLeaseHolder, lockBlobName} from '../../src/evidence/lease.js'
import {startBlobFixture, until, type BlobFixture} from './blob-helpers.js'

describe('target leases', () => {
  let fixture: BlobFixture
  /** A Blob outage: Azurite drops every connection while it is set. */
  let blobDown = false
  beforeAll(async () => {
    fixture = await startBlobFixture({isDown: () => blobDown})
  })
  afterAll(async () => {
    await fixture.blob.close()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const options = (component: string, runId: string, extra = {}) => ({
    container: fixture.target.client,
    environmentName: 'local',
    component,
    holder: {runId, user: 'alice', host: 'laptop-7', startedAt: '2026-11-23T15:00:00.000Z'},
    durationSeconds: 15,
    ...extra,
  })

  it('refuses a second run on the same component with exit 5, naming the holder', async () => {
    const first = await acquireTargetLease(options('orders-db', 'run-first'))
    const error = await acquireTargetLease({...options('orders-db', 'run-second'), holder: {runId: 'run-second', user: 'bob'}}).catch((e) => e)
    expect(error).toBeInstanceOf(GuardError)
    expect(exitCodeOf(error)).toBe(5)
    expect(error.message).toContain('run-first')
    expect(error.message).toContain('alice')
    expect(error.message).toContain('2026-11-23T15:00:00.000Z')
    expect(error.details.holder).toEqual({runId: 'run-first', user: 'alice', host: 'laptop-7', startedAt: '2026-11-23T15:00:00.000Z'})
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'orders-db')).toMatchObject({runId: 'run-first'})

    // Released on finish: the next run gets it at once.
    await first.release()
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'orders-db')).toBeUndefined()
    const next = await acquireTargetLease(options('orders-db', 'run-second'))
    await next.release()
  })

  it('keeps the lease by renewing it, and other components stay free', async () => {
    const lease = await acquireTargetLease(options('storefront', 'run-renew', {renewEveryMs: 50}))
    await until(() => lease.renewals >= 2, 'two renewals')
    expect(lease.lost).toBe(false)
    const other = await acquireTargetLease(options('sessions-cache', 'run-other'))
    await Promise.all([lease.release(), other.release()])
  })

  it('lets a lease left by a dead process expire by itself, then another run takes over', async () => {
    // A process that dies stops renewing: model it with a renewal that never comes.
    await acquireTargetLease(options('sessions-cache', 'run-crashed', {renewEveryMs: 3_600_000}))
    await expect(acquireTargetLease(options('sessions-cache', 'run-waiting'))).rejects.toBeInstanceOf(GuardError)
    // Azurite runs in this process and judges expiry by Date: move the clock past the 15 s lease.
    vi.useFakeTimers({toFake: ['Date'], shouldAdvanceTime: true})
    vi.setSystemTime(Date.now() + 16_000)
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'sessions-cache')).toBeUndefined()
    const takeover = await acquireTargetLease(options('sessions-cache', 'run-takeover'))
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'sessions-cache')).toMatchObject({runId: 'run-takeover'})
    await takeover.release()
  })

  it('a resumer takes over every lease its own dead run held — and never a live holder\'s', async () => {
    // The crashed process of run-crashed-2 held both components (renewals stopped with it).
    for (const component of ['drill-db', 'drill-cache']) await acquireTargetLease(options(component, 'run-crashed-2', {renewEveryMs: 3_600_000}))
    const live = await acquireTargetLease(options('drill-app', 'run-live'))
    const takeOver = (holder: {runId: string; host: string} | undefined) => holder?.runId === 'run-crashed-2' && holder.host === 'laptop-7'
    const resumed = await acquireTargetLeases({...options('x', 'run-crashed-2'), components: ['drill-db', 'drill-cache'], takeOver})
    expect(resumed.map((l) => l.component).sort()).toEqual(['drill-cache', 'drill-db'])
    for (const component of ['drill-db', 'drill-cache'])
      expect(await currentLeaseHolder(fixture.target.client, 'local', component)).toMatchObject({runId: 'run-crashed-2'})
    // Another run's live lease is not broken, whatever the resumer wishes.
    await expect(acquireTargetLeases({...options('x', 'run-crashed-2'), components: ['drill-app'], takeOver})).rejects.toBeInstanceOf(GuardError)
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'drill-app')).toMatchObject({runId: 'run-live'})
    await Promise.all([...resumed, live].map((l) => l.release()))
  })

  it('finds every lease a run\'s dead process still holds on this host, so its resume takes them over and gives them back', async () => {
    // The crashed process held the primary's component besides its own; the resumed segment may no longer need it (a
    // promoted replica has no primary any more) but must not leave it leased.
    for (const component of ['held-primary', 'held-replica']) await acquireTargetLease(options(component, 'run-crashed-3', {renewEveryMs: 3_600_000}))
    const elsewhere = await acquireTargetLease({...options('held-elsewhere', 'run-crashed-3'), holder: {runId: 'run-crashed-3', host: 'other-host'}})
    const other = await acquireTargetLease(options('held-other', 'run-live-3'))
    const held = await componentsHeldBy(fixture.target.client, 'local', {runId: 'run-crashed-3', host: 'laptop-7'})
    expect(held.sort()).toEqual(['held-primary', 'held-replica'])
    const resumed = await acquireTargetLeases({...options('x', 'run-crashed-3'), components: held, takeOver: (h) => h?.runId === 'run-crashed-3' && h.host === 'laptop-7'})
    await Promise.all([...resumed, elsewhere, other].map((l) => l.release()))
    expect(await componentsHeldBy(fixture.target.client, 'local', {runId: 'run-crashed-3', host: 'laptop-7'})).toEqual([])
  })

  it('notices when its lease is taken away: it is no longer secure and onLost says so', async () => {
    const lost: Error[] = []
    const lease = await acquireTargetLease(options('lost-db', 'run-partitioned', {renewEveryMs: 50, onLost: (e: Error) => lost.push(e)}))
    expect(lease.secure).toBe(true)
    // Another party breaks it and takes the component (what a lapse during a partition amounts to).
    await fixture.target.client.getBlockBlobClient(lockBlobName('local', 'lost-db')).getBlobLeaseClient().breakLease(0)
    const thief = await acquireTargetLease(options('lost-db', 'run-thief'))
    await until(() => lease.lost, 'the renewal to find the lease lost')
    expect(lease.secure).toBe(false)
    expect(lost).toHaveLength(1)
    await Promise.all([lease.release(), thief.release()])
  })

  it('a lease whose background renewal is late is renewed before a change, not called lost (a loaded machine)', async () => {
    // No background renewal within the test: the one the timer should have made came late, as on a machine at load 30.
    const lease = await acquireTargetLease(options('late-db', 'run-late', {renewEveryMs: 3_600_000}))
    expect(lease.secure).toBe(true)
    // Past half the lease's 15 s since it was taken: the lease is still held (Azure keeps it 15 s), only not known
    // to be. The clock alone moves (Date): timers and sockets stay real.
    vi.useFakeTimers({toFake: ['Date']})
    vi.setSystemTime(Date.now() + 8000)
    expect(lease.secure).toBe(false)
    expect(await lease.confirm()).toBe(true)
    expect(lease.renewals).toBe(1)
    expect(lease.secure).toBe(true)
    expect(lease.lost).toBe(false)
    vi.useRealTimers()
    await lease.release()
    // A lease taken away is not confirmed: the renewal finds it lost.
    const taken = await acquireTargetLease(options('late-db', 'run-late-2', {renewEveryMs: 3_600_000}))
    await fixture.target.client.getBlockBlobClient(lockBlobName('local', 'late-db')).getBlobLeaseClient().breakLease(0)
    const thief = await acquireTargetLease(options('late-db', 'run-thief'))
    vi.useFakeTimers({toFake: ['Date']})
    vi.setSystemTime(Date.now() + 8000)
    expect(await taken.confirm()).toBe(false)
    expect(taken.lost).toBe(true)
    vi.useRealTimers()
    await Promise.all([taken.release(), thief.release()])
  })

  it('gives the lease back after a Blob outage it ended in, rather than leave the component leased until it lapses', async () => {
    const retries: Date[] = []
    const lease = await acquireTargetLease(options('outage-db', 'run-outage', {onReleaseRetry: (_: Error, lapsesAt: Date) => retries.push(lapsesAt)}))
    blobDown = true
    try {
      const releasing = lease.release()
      await until(() => retries.length > 0, 'the failed release to be reported')
      // Said once, with when the lease lapses by itself (15 s after it was taken).
      expect(retries[0]!.getTime()).toBeGreaterThan(Date.now())
      expect(retries[0]!.getTime()).toBeLessThanOrEqual(Date.now() + 15_000)
      blobDown = false
      await releasing
    } finally {
      blobDown = false
    }
    expect(retries).toHaveLength(1)
    // Free at once: the next run takes it without waiting for the lapse.
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'outage-db')).toBeUndefined()
    const next = await acquireTargetLease(options('outage-db', 'run-next'))
    await next.release()
  })

  it('takes several components all or nothing', async () => {
    const holder = await acquireTargetLease(options('redis-b', 'run-holder'))
    await expect(acquireTargetLeases({...options('x', 'run-multi'), components: ['redis-a', 'redis-b', 'redis-c']})).rejects.toBeInstanceOf(GuardError)
    // redis-a was taken before the conflict and given back.
    expect(await currentLeaseHolder(fixture.target.client, 'local', 'redis-a')).toBeUndefined()
    await holder.release()
    const all = await acquireTargetLeases({...options('x', 'run-multi'), components: ['redis-a', 'redis-b']})
    expect(all.map((l) => l.blobName)).toEqual([lockBlobName('local', 'redis-a'), lockBlobName('local', 'redis-b')])
    await Promise.all(all.map((l) => l.release()))
  })
})

describe('currentLeaseHolder against a Blob endpoint that never answers', () => {
  it('gives up at its bound instead of waiting for TCP (a partition: asked before each teardown step of a run that lost a lease)', async () => {
    // A partition that drops packets: the connection is accepted, no answer ever comes.
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const {port} = silent.address() as {port: number}
    try {
      const container = new ContainerClient(`http://127.0.0.1:${port}/devstoreaccount1/evidence`, new AnonymousCredential())
      const asked = currentLeaseHolder(container, 'local', 'orders-db', {timeoutMs: 300})
      await expect(asked).rejects.toThrow(/abort/i)
      expect(sockets.length).toBeGreaterThan(0)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  }, 10_000)
})
