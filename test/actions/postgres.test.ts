import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  assertRestorableAction,
  deleteAction,
  geoRestoreAction,
  getMaintenanceWindowAction,
  promoteReplicaAction,
  restoreAction,
  setMaintenanceWindowAction,
  verifyAction,
} from '../../src/actions/postgres.js'
import type {TrackedOperation} from '../../src/actions/types.js'
import {ExitCode} from '../../src/errors.js'
import {planContext} from '../../src/runbooks/plan.js'
import {makeContext, startFixture, type Fixture, parseInput as parse} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})


describe('postgres.assertRestorable', () => {
  it('reports the restore window of a catalog component', async () => {
    const {context} = makeContext(fixture)
    const out = await assertRestorableAction.run(parse(assertRestorableAction, {server: 'orders-db', geo: true}), context)
    expect(out.server).toBe('pg-shop-orders')
    expect(out.retentionDays).toBe(14)
    expect(out.geoRedundantBackup).toBe(true)
    expect(Date.parse(out.earliestRestoreDate)).toBeLessThan(Date.now())
  })

  it('rejects a point before earliestRestoreDate with exit 2 and names the window', async () => {
    const {context} = makeContext(fixture)
    const before = new Date(Date.now() - 30 * 86_400_000).toISOString()
    const error = await assertRestorableAction.run(parse(assertRestorableAction, {server: 'orders-db', pointInTime: before}), context).catch((e) => e)
    expect(error.exitCode).toBe(ExitCode.invalidInput)
    expect(error.message).toMatch(/outside the restore window of pg-shop-orders: \[.+, .+\]/)
    expect(error.message).toContain('14 days')
  })
})

describe('postgres.assertRestorable before the run (plan and run refuse it, exit 2)', () => {
  const now = new Date('2026-12-03T12:00:00Z')
  const refusal = (pointInTime: string) => assertRestorableAction.preflight!(parse(assertRestorableAction, {server: 'orders-db', pointInTime}), planContext(fixture.environment, 'local', now))

  it('refuses a point in the future, naming the catalog\'s window', () => {
    expect(refusal('2027-01-01T00:00:00Z')?.message).toBe(
      "restore point 2027-01-01T00:00:00.000Z is in the future: pg-shop-orders can be restored to a point up to now; the catalog's retention of 14 days is the window [2026-11-19T12:00:00.000Z, 2026-12-03T12:00:00.000Z] (backupRetentionDays)",
    )
  })

  it('refuses a point older than the 35 days any flexible server keeps', () => {
    const message = refusal('2026-10-01T00:00:00Z')?.message
    expect(message).toContain('restore point 2026-10-01T00:00:00.000Z is older than any backup of pg-shop-orders: a flexible server keeps backups 35 days at most, so nothing before 2026-10-29T12:00:00.000Z can be restored')
    expect(message).toContain('[2026-11-19T12:00:00.000Z, 2026-12-03T12:00:00.000Z]')
  })

  it('leaves a point inside 35 days to the run, which reads the server\'s own window (the catalog\'s retention is a minimum)', () => {
    expect(refusal('2026-11-10T00:00:00Z')).toBeUndefined()
    expect(refusal('2026-12-03T11:59:00Z')).toBeUndefined()
    // A placeholder (an earlier step's output) is not a date: nothing to say before the run.
    expect(assertRestorableAction.preflight!({server: 'orders-db', pointInTime: '<steps.x.outputs.at>', geo: false}, planContext(fixture.environment, 'local', now))).toBeUndefined()
  })
})

describe('postgres.restore', () => {
  it('restores into a tagged scratch server, verifies it and deletes it', async () => {
    const point = new Date(Date.now() - 10 * 60_000).toISOString()
    const {context, started} = makeContext(fixture, {runId: 'run-happy-000001'})
    const restored = await restoreAction.run(parse(restoreAction, {server: 'orders-db', pointInTime: point, scratch: true}), context)
    expect(restored.server).toBe('pg-shop-orders-drill-000001')
    expect(restored.pointInTime).toBe(point)
    expect(started).toHaveLength(1)
    expect(started[0]!.monitorUrl).toMatch(/azureAsyncOperation/i)

    const client = await fixture.services.postgres()
    const server = await client.servers.get('rg-shop-local', restored.server)
    expect(server.state).toBe('Ready')
    expect(server.tags).toMatchObject({'opsbook-run-id': 'run-happy-000001', 'opsbook-scratch': 'true', 'opsbook-source': 'pg-shop-orders', owner: 'data-platform'})
    expect(Date.parse(server.tags!['opsbook-expires']!)).toBeGreaterThan(Date.now() + 3 * 3_600_000)

    const verified = await verifyAction.run(parse(verifyAction, {server: restored.server, pointInTime: point, expectVersion: '16'}), context)
    expect(verified.dataAsOf).toBe(point)
    expect(verified.dataAsOfSource).toBe('server')

    const deleted = await deleteAction.run(parse(deleteAction, {server: restored.server}), context)
    expect(deleted.deleted).toBe(true)
    await expect(client.servers.get('rg-shop-local', restored.server)).rejects.toMatchObject({statusCode: 404})
    const again = await deleteAction.run(parse(deleteAction, {server: restored.server}), context)
    expect(again.alreadyGone).toBe(true)
  })

  it('re-attaches to the restore in flight on resume instead of sending a second PUT', async () => {
    const runId = 'run-resume-000002'
    const controller = new AbortController()
    const first = makeContext(fixture, {runId, signal: controller.signal})
    // The process "dies" right after the operation is journaled.
    const started = first.context.operations.started
    first.context.operations.started = async (operation) => {
      await started(operation)
      controller.abort(new Error('process killed'))
    }
    fixture.emulator.clearRequestLog()
    await expect(restoreAction.run(parse(restoreAction, {server: 'orders-db', scratch: true}), first.context)).rejects.toThrow()
    const inFlight: TrackedOperation = first.started[0]!
    expect(inFlight.state).toMatchObject({server: 'pg-shop-orders-drill-000002'})

    const second = makeContext(fixture, {runId, inFlight})
    const out = await restoreAction.run(parse(restoreAction, {server: 'orders-db', scratch: true}), second.context)
    expect(out.resumed).toBe(true)
    expect(out.server).toBe('pg-shop-orders-drill-000002')
    expect(out.pointInTime).toBe(inFlight.state!.pointInTime)
    const puts = fixture.emulator.requestLog().filter((e) => e.method === 'PUT' && e.path.toLowerCase().endsWith('/flexibleservers/pg-shop-orders-drill-000002'))
    expect(puts).toHaveLength(1)
    await deleteAction.run(parse(deleteAction, {server: out.server}), second.context)
  })

  it('fails with the ARM code when Azure fails the restore', async () => {
    fixture.emulator.faults.set({failOperations: {'postgres.create': {code: 'InternalServerError', message: 'restore worker crashed'}}})
    try {
      const {context} = makeContext(fixture, {runId: 'run-fail-000003'})
      const error = await restoreAction.run(parse(restoreAction, {server: 'orders-db', scratch: true}), context).catch((e) => e)
      expect(error.exitCode).toBe(ExitCode.failed)
      expect(error.message).toContain('InternalServerError')
      expect(error.message).toContain('restore worker crashed')
    } finally {
      fixture.emulator.faults.clear()
    }
  })

  it('refuses to delete a server that is not a scratch server of this run', async () => {
    const {context} = makeContext(fixture)
    const error = await deleteAction.run(parse(deleteAction, {server: 'orders-db'}), context).catch((e) => e)
    expect(error.message).toContain('refusing to delete pg-shop-orders')
    const client = await fixture.services.postgres()
    expect((await client.servers.get('rg-shop-local', 'pg-shop-orders')).state).toBe('Ready')
  })
})

describe('postgres.geoRestore', () => {
  it('lands in the paired region, and its data trails the primary by the geo-backup lag', async () => {
    const {context} = makeContext(fixture, {runId: 'run-geo-000004'})
    const out = await geoRestoreAction.run(parse(geoRestoreAction, {server: 'orders-db', scratch: true}), context)
    expect(out.server).toBe('pg-shop-orders-drill-000004')
    expect(out.location.toLowerCase()).toBe('westus')
    const verified = await verifyAction.run(parse(verifyAction, {server: out.server}), context)
    expect(Date.parse(verified.dataAsOf!)).toBeLessThan(Date.parse(out.pointInTime))
    await deleteAction.run(parse(deleteAction, {server: out.server}), context)
  })
})

describe('postgres maintenance window', () => {
  it('applies the catalog window, then reports no drift', async () => {
    const {context} = makeContext(fixture)
    const set = await setMaintenanceWindowAction.run(parse(setMaintenanceWindowAction, {server: 'orders-db'}), context)
    expect(set).toMatchObject({dayOfWeek: 0, startHour: 2, startMinute: 0})
    const again = await setMaintenanceWindowAction.run(parse(setMaintenanceWindowAction, {server: 'orders-db'}), context)
    expect(again.changed).toBe(false)
    const report = await getMaintenanceWindowAction.run(parse(getMaintenanceWindowAction, {server: 'orders-db'}), context)
    expect(report.drift).toBe(false)
    const drifted = await getMaintenanceWindowAction.run(parse(getMaintenanceWindowAction, {server: 'orders-db', window: {day: 'Saturday', startHour: 1}}), context)
    expect(drifted.drift).toBe(true)
    expect(drifted.differences.join(' ')).toContain('expected Saturday')
  })
})

describe('postgres.promoteReplica', () => {
  it('promotes the catalog replica to a standalone server', async () => {
    const {context} = makeContext(fixture)
    const out = await promoteReplicaAction.run(parse(promoteReplicaAction, {replica: 'pg-shop-orders-dr'}), context)
    expect(out.replicationRole).toBe('None')
    const error = await promoteReplicaAction.run(parse(promoteReplicaAction, {replica: 'pg-shop-orders-dr'}), context).catch((e) => e)
    expect(error.message).toContain('not a read replica')
  })
})
