import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  exportAction,
  getPatchScheduleAction,
  importAction,
  latestSnapshotAction,
  setPatchScheduleAction,
  verifyAction,
} from '../../src/actions/redis.js'
import {teardownAction} from '../../src/actions/drill.js'
import {makeContext, startFixture, type Fixture, parseInput as parse} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})


describe('redis export/import', () => {
  it('round-trips the cache through the snapshot container without the SAS in anything logged or journaled', async () => {
    const {context, logs, secrets, started} = makeContext(fixture)
    const before = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache'}), context)
    expect(before.keyCount).toBeGreaterThan(40)

    const exported = await exportAction.run(parse(exportAction, {cache: 'sessions-cache'}), context)
    expect(exported.container).toBe('redis-snapshots')
    expect(exported.blobs).toEqual([exported.prefix])
    expect(exported.prefix).toMatch(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb$/)

    // Older seeded snapshot first (fewer keys), then ours: the cache holds what the chosen snapshot held.
    const seeded = await latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache'}), context)
    expect(seeded.name).toBe(exported.prefix)
    const all = (await fixture.services.blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat({prefix: 'redis-shop-sessions-'})
    const names: string[] = []
    for await (const b of all) names.push(b.name)
    const older = names.find((n) => n !== exported.prefix)!
    await importAction.run(parse(importAction, {cache: 'sessions-cache', files: [older]}), context)
    const afterOld = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache'}), context)
    expect(afterOld.keyCount).toBe(before.keyCount! - 40)

    const imported = await importAction.run(parse(importAction, {cache: 'sessions-cache'}), context)
    expect(imported.files).toEqual([exported.prefix])
    const after = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache', expectKeys: before.keyCount}), context)
    expect(after.keyCount).toBe(before.keyCount)

    expect(secrets.some((s) => s.includes('sig='))).toBe(true)
    const recorded = JSON.stringify({logs, started, exported, imported})
    for (const secret of secrets) expect(recorded).not.toContain(secret)
    expect(recorded).not.toContain('sig=')
  })

  it('measures the newest snapshot against the RPO and the snapshot frequency', async () => {
    const {context} = makeContext(fixture)
    const out = await latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache'}), context)
    expect(out.found).toBe(true)
    expect(out.rpo).toBe('PT1H')
    expect(out.meetsRpo).toBe(true)
    const strict = await latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache', rpo: 'PT15M'}), context)
    expect(strict.frequencyMeetsRpo).toBe(false)
    await expect(latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache', rpo: 'PT15M', require: true}), context)).rejects.toThrow(
      /cannot meet|more than its RPO/,
    )
  })
})

describe('redis drill copies', () => {
  const snapshotBlobs = async () => {
    const container = (await fixture.services.blob('stshopsnapshots')).getContainerClient('redis-snapshots')
    const out: Array<{name: string; drillRun?: string}> = []
    for await (const b of container.listBlobsFlat({includeMetadata: true})) out.push({name: b.name, drillRun: b.metadata?.opsbookdrillrun})
    return out
  }

  it('are never taken for the newest snapshot, and teardown deletes only its own run\'s copy', async () => {
    const first = makeContext(fixture, {runId: '20261123T120000Z-dr-drill-aaaa'})
    const second = makeContext(fixture, {runId: '20261123T130000Z-dr-drill-bbbb'})
    const before = await latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache'}), first.context)
    expect(before.found).toBe(true)

    const copy = await exportAction.run(parse(exportAction, {cache: 'sessions-cache', drill: true}), first.context)
    expect(copy.blobs).toEqual(['opsbook-drill-redis-shop-sessions-20261123T120000Z-dr-drill-aaaa.rdb'])
    await exportAction.run(parse(exportAction, {cache: 'sessions-cache', drill: true}), second.context)
    expect(await snapshotBlobs()).toEqual(
      expect.arrayContaining([
        {name: copy.blobs[0], drillRun: '20261123T120000Z-dr-drill-aaaa'},
        {name: 'opsbook-drill-redis-shop-sessions-20261123T130000Z-dr-drill-bbbb.rdb', drillRun: '20261123T130000Z-dr-drill-bbbb'},
      ]),
    )

    // The newest snapshot a recovery would restore is still the scheduled one, even listing every blob.
    for (const prefix of [undefined, '']) {
      const after = await latestSnapshotAction.run(parse(latestSnapshotAction, {cache: 'sessions-cache', prefix}), first.context)
      expect(after).toMatchObject({name: before.name, takenAt: before.takenAt, count: before.count})
    }

    const torn = await teardownAction.run(parse(teardownAction, {component: 'sessions-cache'}), first.context)
    expect(torn.deleted).toEqual([copy.blobs[0]])
    const left = (await snapshotBlobs()).map((b) => b.name)
    expect(left).not.toContain(copy.blobs[0])
    expect(left).toContain('opsbook-drill-redis-shop-sessions-20261123T130000Z-dr-drill-bbbb.rdb')
    expect(left).toContain(before.name)
    await teardownAction.run(parse(teardownAction, {component: 'sessions-cache'}), second.context)
    expect((await snapshotBlobs()).filter((b) => b.name.startsWith('opsbook-drill-') || b.drillRun)).toEqual([])
    // Teardown runs again after a resume: nothing left is fine.
    expect((await teardownAction.run(parse(teardownAction, {component: 'sessions-cache'}), first.context)).deleted).toEqual([])
  })

  it('refuses a drill copy with a prefix of its own (exit 2)', async () => {
    const {context} = makeContext(fixture)
    await expect(exportAction.run(parse(exportAction, {cache: 'sessions-cache', drill: true, prefix: 'x.rdb'}), context)).rejects.toMatchObject({exitCode: 2})
  })
})

describe('redis patch schedule', () => {
  it('applies the catalog window (rounded up to Azure\'s 5 hours) and reports drift', async () => {
    const {context} = makeContext(fixture)
    const set = await setPatchScheduleAction.run(parse(setPatchScheduleAction, {cache: 'sessions-cache'}), context)
    expect(set.entries).toEqual([{dayOfWeek: 'Sunday', startHourUtc: 4, maintenanceWindow: 'PT5H'}])
    expect(set.notes.join(' ')).toContain('at least 5 hours')
    const report = await getPatchScheduleAction.run(parse(getPatchScheduleAction, {cache: 'sessions-cache'}), context)
    expect(report.drift).toBe(false)
    const other = await getPatchScheduleAction.run(parse(getPatchScheduleAction, {cache: 'sessions-cache', window: {day: 'Monday', startHour: 1}}), context)
    expect(other.drift).toBe(true)
  })
})
