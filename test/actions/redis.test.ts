import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  exportAction,
  getPatchScheduleAction,
  importAction,
  latestSnapshotAction,
  setPatchScheduleAction,
  verifyAction,
} from '../../src/actions/redis.js'
import {teardownAction, verifySnapshotAction} from '../../src/actions/drill.js'
import {managedExportAction} from '../../src/actions/managed-redis.js'
import {connectCache} from '../../src/actions/redis-data.js'
import {resolveResource} from '../../src/actions/resolve.js'
import type {PlanContext} from '../../src/actions/types.js'
import type {RedisComponent} from '../../src/catalog/schema.js'
import {makeContext, startFixture, type Fixture, parseInput as parse} from '../azure/helpers.js'
import {setKeyVaultSecret} from '../helpers/keyvault.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})


describe('redis export/import', () => {
  it('round-trips the cache\'s real keys through the snapshot container, and verifies the data over TLS, without the SAS or token in anything logged', async () => {
    const {context, logs, secrets, started} = makeContext(fixture)
    const before = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache'}), context)
    // The catalog's probe: read from the cache itself (TLS with the emulator's CA, Entra token), not modelled.
    expect(before.probes?.find((p) => p.probe === 'connect')).toMatchObject({ok: true})
    expect(before.keyCount).toBeGreaterThan(40)

    const exported = await exportAction.run(parse(exportAction, {cache: 'sessions-cache'}), context)
    expect(exported.container).toBe('redis-snapshots')
    expect(exported.blobs).toEqual([exported.prefix])
    expect(exported.prefix).toMatch(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb$/)
    // probe.canary.write: the canary was set just before the export, so the RDB holds it.
    expect(exported.canaryAt).toBeDefined()
    const readback = await verifySnapshotAction.run(
      parse(verifySnapshotAction, {storageAccount: 'stshopsnapshots', container: 'redis-snapshots', blobs: exported.blobs, component: 'sessions-cache', expectCanaryAt: exported.canaryAt}),
      context,
    )
    expect(readback).toMatchObject({keyCount: before.keyCount, canaryAt: exported.canaryAt, dataAsOfSource: 'data', dataAsOf: exported.canaryAt})

    // Data written after the export is gone after importing it; the exported keys are back.
    const client = await connectCache(context, fixture.services, resolveResource(fixture.environment, 'redis', 'sessions-cache'), await (await fixture.services.redis()).redis.get('rg-shop-local', 'redis-shop-sessions'), (fixture.environment.components['sessions-cache'] as RedisComponent).probe!)
    await client.set('written-after-export', 'lost')
    await client.del('session:1001')
    client.disconnect()
    const imported = await importAction.run(parse(importAction, {cache: 'sessions-cache'}), context)
    expect(imported.files).toEqual([exported.prefix])
    const after = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache', expectKeyCount: readback.keyCount, expectCanaryAt: readback.canaryAt}), context)
    expect(after.keyCount).toBe(before.keyCount)
    expect(after.canaryAt).toBe(exported.canaryAt)
    const check = await connectCache(context, fixture.services, resolveResource(fixture.environment, 'redis', 'sessions-cache'), await (await fixture.services.redis()).redis.get('rg-shop-local', 'redis-shop-sessions'), (fixture.environment.components['sessions-cache'] as RedisComponent).probe!)
    expect(await check.get('written-after-export')).toBeNull()
    expect(await check.exists('session:1001')).toBe(1)
    check.disconnect()

    expect(secrets.some((s) => s.includes('sig='))).toBe(true)
    const recorded = JSON.stringify({logs, started, exported, imported, before, after})
    for (const secret of secrets) expect(recorded).not.toContain(secret)
    expect(recorded).not.toContain('sig=')
  })

  it('hands Azure a SAS that meets its import/export rule (ends ≥ 1 h ahead, starts ≥ 15 min back); one that does not is refused', async () => {
    // Microsoft's FAQ (cache-how-to-import-export-data): "The SAS token end time (se) must be at least 1 hour from now
    // and the start time (st), if given, must be at least 15 minutes in the past." Ours started 5 min back and ended
    // exactly sasTtl (PT1H) ahead.
    const rule = /The SAS token end time \(se\) must be at least 1 hour from now and the start time \(st\), if given, must be at least 15 minutes in the past/
    const client = (await fixture.services.redis()).redis
    for (const sas of [{expiresInMs: 2 * 3_600_000}, {expiresInMs: 3_600_000, startsBeforeMs: 20 * 60_000}]) {
      const container = await fixture.services.containerSasUrl('stshopsnapshots', 'redis-snapshots', {permissions: 'racwdtm', ...sas})
      await expect(client.beginExportDataAndWait('rg-shop-local', 'redis-shop-sessions', {format: 'RDB', prefix: 'sas-rule.rdb', container}, {updateIntervalInMs: 10})).rejects.toThrow(rule)
    }
    const {context} = makeContext(fixture)
    const exported = await exportAction.run(parse(exportAction, {cache: 'sessions-cache', prefix: 'sas-rule-ok.rdb'}), context)
    expect(exported.blobs).toEqual(['sas-rule-ok.rdb'])
    const imported = await importAction.run(parse(importAction, {cache: 'sessions-cache', files: ['sas-rule-ok.rdb']}), context)
    expect(imported.files).toEqual(['sas-rule-ok.rdb'])
    // Not a snapshot the tests after this one should find (latestSnapshot lists the container).
    await (await fixture.services.blob('stshopsnapshots')).getContainerClient('redis-snapshots').deleteBlob('sas-rule-ok.rdb')
    // A lifetime Azure would refuse is invalid input before anything is asked of it.
    expect(() => parse(exportAction, {cache: 'sessions-cache', sasTtl: 'PT30M'})).toThrow(/must be at least PT1H: Azure refuses an import\/export SAS that ends less than 1 hour from now/)
  })

  it('gives an export SAS exactly the permissions Microsoft lists (read, add, create, write, delete, tag, move) and an import SAS read only; the emulator refuses less, as Azure does', async () => {
    // The import/export FAQ "Which permissions need to be granted to the storage account container shared access
    // signature (SAS) token to allow export?". opsbook sent rcwl (no add, delete, tag or move, and a list it never needed).
    const client = (await fixture.services.redis()).redis
    const times = {expiresInMs: 2 * 3_600_000, startsBeforeMs: 20 * 60_000}
    const old = await fixture.services.containerSasUrl('stshopsnapshots', 'redis-snapshots', {permissions: 'rcwl', ...times})
    const refused = await client.beginExportDataAndWait('rg-shop-local', 'redis-shop-sessions', {format: 'RDB', prefix: 'sas-perm.rdb', container: old}, {updateIntervalInMs: 10}).catch((e: unknown) => e)
    expect(String((refused as Error).message)).toMatch(/One of the SAS URIs provided could not be used for the following reason: The SAS token does not grant the permissions export needs: read, add, create, write, delete, tag, move \(missing: add, delete, tag, move\)/)
    expect(String((refused as Error).message)).not.toContain('sig=')
    const writeOnly = await fixture.services.containerSasUrl('stshopsnapshots', 'redis-snapshots', {permissions: 'w', ...times})
    await expect(
      client.beginImportDataAndWait('rg-shop-local', 'redis-shop-sessions', {format: 'RDB', files: [writeOnly.replace('?', '/sas-perm.rdb?')]}, {updateIntervalInMs: 10}),
    ).rejects.toThrow(/does not grant the permissions import needs: read \(missing: read\)/)

    // What the actions hand Azure (the SAS is one of the secrets they register) and what their az lines say.
    const {context, secrets} = makeContext(fixture)
    await exportAction.run(parse(exportAction, {cache: 'sessions-cache', prefix: 'sas-perm-ok.rdb'}), context)
    await importAction.run(parse(importAction, {cache: 'sessions-cache', files: ['sas-perm-ok.rdb']}), context)
    const granted = secrets.filter((s) => s.includes('sig=')).map((s) => new URLSearchParams(s.slice(s.indexOf('?') + 1)).get('sp'))
    expect(new Set(granted)).toEqual(new Set(['racwdtm', 'r']))
    await (await fixture.services.blob('stshopsnapshots')).getContainerClient('redis-snapshots').deleteBlob('sas-perm-ok.rdb')
    const plan = {environment: fixture.environment, now: new Date('2026-10-01T12:00:00Z')} as unknown as PlanContext
    expect(exportAction.az!(parse(exportAction, {cache: 'sessions-cache'}), plan)[0]).toContain('--permissions racwdtm ')
    expect(importAction.az!(parse(importAction, {cache: 'sessions-cache'}), plan)[0]).toContain('--permissions r ')
  })

  it('a probe that cannot sign in is a clear failure naming what to set, never a crash', async () => {
    const {context} = makeContext(fixture)
    const component = fixture.environment.components['sessions-cache'] as RedisComponent
    const saved = component.probe
    component.probe = {...saved!, auth: 'accessKey', accessKeyParam: 'SESSIONS_KEY'}
    try {
      delete process.env.OPSBOOK_PARAM_SESSIONS_KEY
      await expect(verifyAction.run(parse(verifyAction, {cache: 'sessions-cache'}), context)).rejects.toThrow(/no access key for redis-shop-sessions: set the environment variable OPSBOOK_PARAM_SESSIONS_KEY/)
      // A wrong key: the cache's server requires its own access key, so Redis refuses the sign-in.
      process.env.OPSBOOK_PARAM_SESSIONS_KEY = 'wrong-key'
      const error = await verifyAction.run(parse(verifyAction, {cache: 'sessions-cache'}), context).catch((e: Error) => e)
      expect(String((error as Error).message)).toMatch(/cannot read redis-shop-sessions's data at redis-shop-sessions\.redis\.cache\.windows\.net:6380: WRONGPASS/)
      expect(String((error as Error).message)).not.toContain('wrong-key')
    } finally {
      component.probe = saved
      delete process.env.OPSBOOK_PARAM_SESSIONS_KEY
    }
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

  it('a Managed Redis export lists the files written in its directory, not a blob of the same name beside it', async () => {
    const {context} = makeContext(fixture)
    // A snapshot taken in the same second as the export has exactly the export directory's name.
    const prefix = 'amr-shop-carts-20261203T063236Z.rdb'
    const container = (await fixture.services.blob('stshopsnapshots')).getContainerClient('amr-snapshots')
    await container.createIfNotExists()
    await container.getBlockBlobClient(prefix).upload('not this export', 15)
    const exported = await managedExportAction.run(parse(managedExportAction, {cache: 'carts-cache', prefix}), context)
    expect(exported.blobs).toEqual([`${prefix}/default.rdb`])
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

  // Issue 16, fault matrix dr-drill × disk full: the disk filled while the export ran, so its success was never
  // journaled; the run failed and its `finally` (drill.teardown) deleted the copy, its records lost as well. The resume
  // saw the export still in flight, re-attached to it and found nothing under its prefix. This is that interleaving.
  it('a resumed export whose copy was deleted since (teardown records lost to a full disk) exports again instead of failing', async () => {
    for (const [action, cache, container] of [
      [exportAction, 'sessions-cache', 'redis-snapshots'],
      [managedExportAction, 'carts-cache', 'amr-snapshots'],
    ] as const) {
      const runId = `20261203T070000Z-dr-drill-${cache.slice(0, 4)}`
      const first = makeContext(fixture, {runId})
      const copy = await action.run(parse(action, {cache, drill: true}), first.context)
      expect(first.started).toHaveLength(1)
      // The first process's `finally`: the drill copy deleted; the journal still shows the export in flight.
      expect((await teardownAction.run(parse(teardownAction, {component: cache}), first.context)).deleted).toEqual(copy.blobs)

      const resumed = makeContext(fixture, {runId, inFlight: first.started[0]})
      const again = await action.run(parse(action, {cache, drill: true}), resumed.context)
      expect(again.blobs).toEqual(copy.blobs)
      expect(again.canaryAt).toBe(copy.canaryAt)
      expect(resumed.logs.some((l) => /re-attaching/.test(l)) && resumed.logs.some((l) => /exporting again/.test(l))).toBe(true)
      // Sent anew (journaled as an operation of its own), and the copy is there to be read back.
      expect(resumed.started).toHaveLength(1)
      const readback = await verifySnapshotAction.run(parse(verifySnapshotAction, {storageAccount: 'stshopsnapshots', container, blobs: again.blobs, component: cache, expectCanaryAt: again.canaryAt}), resumed.context)
      expect(readback.keyCount).toBeGreaterThan(0)
      await teardownAction.run(parse(teardownAction, {component: cache}), resumed.context)
    }
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

describe('redis probe credentials from Key Vault', () => {
  it('signs in with the access key read from a Key Vault secret (accessKeySecret), and a wrong or missing secret is a credentials failure that names it', async () => {
    const {context, logs, secrets} = makeContext(fixture)
    const resource = resolveResource(fixture.environment, 'redis', 'sessions-cache')
    const arm = await fixture.services.redis()
    const cache = await arm.redis.get('rg-shop-local', 'redis-shop-sessions')
    const probe = {...(fixture.environment.components['sessions-cache'] as RedisComponent).probe!, auth: 'accessKey' as const, accessKeySecret: {vault: 'kv-shop-local', secret: 'redis-sessions-key'}}
    // The key Redis - List Keys gives is the one the cache requires; stored in the vault as an operator would.
    const {primaryKey} = await arm.redis.listKeys('rg-shop-local', 'redis-shop-sessions')
    await setKeyVaultSecret(fixture.emulator, 'kv-shop-local', 'redis-sessions-key', primaryKey!)
    const client = await connectCache(context, fixture.services, resource, cache, probe)
    expect(await client.dbsize()).toBeGreaterThan(40)
    client.disconnect()
    // Marked secret (redacted from journal and output) and never logged.
    expect(secrets).toContain(primaryKey)
    expect(logs.join('\n')).not.toContain(primaryKey!)

    await setKeyVaultSecret(fixture.emulator, 'kv-shop-local', 'redis-wrong-key', 'not-the-access-key')
    const wrong = await connectCache(context, fixture.services, resource, cache, {...probe, accessKeySecret: {vault: 'kv-shop-local', secret: 'redis-wrong-key'}}).catch((e) => e)
    expect(wrong).toMatchObject({code: 'redis-probe-credentials'})
    expect(String(wrong.message)).toMatch(/WRONGPASS|invalid username-password/)
    expect(String(wrong.message)).not.toContain('not-the-access-key')

    const missing = await connectCache(context, fixture.services, resource, cache, {...probe, accessKeySecret: {vault: 'kv-shop-local', secret: 'no-such-secret'}}).catch((e) => e)
    expect(missing).toMatchObject({code: 'redis-probe-credentials'})
    expect(String(missing.message)).toMatch(/no access key for redis-shop-sessions: secret no-such-secret in Key Vault kv-shop-local does not exist \(HTTP 404: A secret with \(name\/id\) no-such-secret was not found/)
  })
})
