import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sqlAssertRestorableAction, sqlDeleteAction, sqlFailoverAction, sqlRestoreAction, sqlVerifyAction} from '../../src/actions/sql.js'
import {deadLetterReportAction} from '../../src/actions/servicebus.js'
import {collectArmWrites, type ArmWrite, type NoWriteFinding} from '../../src/azure/arm-writes.js'
import {ExitCode} from '../../src/errors.js'
import type {TrackedOperation} from '../../src/actions/types.js'
import {SQL_REPLICATION_LAG_MS, SQL_WRITE_INTERVAL_MS} from '../../src/emulator/services/sql.js'
import {makeContext, startFixture, type Fixture, parseInput as parse, RG} from '../azure/helpers.js'

let fixture: Fixture
beforeAll(async () => {
  fixture = await startFixture()
})
afterAll(async () => {
  await fixture?.stop()
})

describe('sql.assertRestorable', () => {
  it('reports the retention window of a catalog database through the unmodified SDK', async () => {
    const {context} = makeContext(fixture)
    const out = await sqlAssertRestorableAction.run(parse(sqlAssertRestorableAction, {database: 'payments-db'}), context)
    expect(out).toMatchObject({database: 'sqldb-shop-payments', server: 'sql-shop-local', retentionDays: 7, backupRedundancy: 'Geo', warnings: []})
    expect(Date.now() - Date.parse(out.earliestRestoreDate)).toBeGreaterThan(6.9 * 86_400_000)
  })

  it('refuses a point before the earliest restore date with exit 2, naming the window', async () => {
    const {context} = makeContext(fixture)
    const before = new Date(Date.now() - 8 * 86_400_000).toISOString()
    const error = await sqlAssertRestorableAction.run(parse(sqlAssertRestorableAction, {database: 'payments-db', pointInTime: before}), context).catch((e) => e)
    expect(error.exitCode).toBe(ExitCode.invalidInput)
    expect(error.message).toMatch(/outside the restore window of sql-shop-local\/sqldb-shop-payments: \[.+, .+\] \(point-in-time retention 7 days\)/)
  })
})

describe('sql.restore / verify / delete', () => {
  it('restores into <db>-pitr-<run>, reads its newest row (modelled) and deletes only its own copy', async () => {
    const point = new Date(Date.now() - 10 * 60_000)
    const {context, started} = makeContext(fixture, {runId: 'run-sql-000001'})
    const restored = await sqlRestoreAction.run(parse(sqlRestoreAction, {database: 'payments-db', pointInTime: point.toISOString()}), context)
    expect(restored.database).toBe('sqldb-shop-payments-pitr-000001')
    expect(started[0]!.monitorUrl).toMatch(/\/providers\/Microsoft\.Sql\/locations\/eastus\/databaseAzureAsyncOperation\//)
    const client = await fixture.services.sql()
    const db = await client.databases.get(RG, 'sql-shop-local', restored.database)
    expect(db.status).toBe('Online')
    expect(db.tags).toMatchObject({'opsbook-run-id': 'run-sql-000001', 'opsbook-scratch': 'false', 'opsbook-source': 'sqldb-shop-payments', owner: 'payments'})

    const verified = await sqlVerifyAction.run(parse(sqlVerifyAction, {database: restored.resourceId, probes: 'payments-db', pointInTime: restored.pointInTime}), context)
    expect(verified.dataAsOfSource).toBe('modelled')
    // The copy holds the newest write at or before the restore point: at most one write interval older.
    const lag = point.getTime() - Date.parse(verified.dataAsOf!)
    expect(lag).toBeGreaterThanOrEqual(0)
    expect(lag).toBeLessThan(SQL_WRITE_INTERVAL_MS)

    const other = makeContext(fixture, {runId: 'run-other-000002'}).context
    const refused = await sqlDeleteAction.run(parse(sqlDeleteAction, {database: restored.resourceId, ifScratchOnly: false}), other).catch((e) => e)
    expect(refused.code).toBe('sql-delete-refused')
    const deleted = await sqlDeleteAction.run(parse(sqlDeleteAction, {source: 'payments-db', purpose: 'pitr', ifScratchOnly: false}), context)
    expect(deleted).toEqual({database: restored.database, deleted: true, alreadyGone: false})
    // Run again (a resume): no ARM write, and it says what it found, for evidence verify's Activity Log witness.
    const [writes, found]: [ArmWrite[], NoWriteFinding[]] = [[], []]
    const again = await collectArmWrites(writes, () => sqlDeleteAction.run(parse(sqlDeleteAction, {source: 'payments-db', purpose: 'pitr', ifScratchOnly: false}), context), found)
    expect(again.alreadyGone).toBe(true)
    expect(writes).toEqual([])
    expect(found).toEqual([{kind: 'gone', resourceId: expect.stringMatching(new RegExp(`/databases/${restored.database}$`))}])
  })

  it('on resume, restores again when the copy the earlier process restored was deleted by its teardown', async () => {
    const runId = 'run-sql-gone-000003'
    const first = makeContext(fixture, {runId})
    const restored = await sqlRestoreAction.run(parse(sqlRestoreAction, {database: 'payments-db', scratch: true}), first.context)
    const inFlight: TrackedOperation = first.started[0]!
    // The earlier run failed after journaling the restore (a full disk) and its teardown deleted the copy.
    await sqlDeleteAction.run(parse(sqlDeleteAction, {database: restored.resourceId, ifScratchOnly: false}), first.context)
    const from = fixture.emulator.requestCount()
    const second = makeContext(fixture, {runId, inFlight})
    const again = await sqlRestoreAction.run(parse(sqlRestoreAction, {database: 'payments-db', scratch: true}), second.context)
    // The same copy, at the same point, back Online — instead of waiting for it until the step's timeout.
    expect(again.database).toBe(restored.database)
    expect(again.pointInTime).toBe(restored.pointInTime)
    const client = await fixture.services.sql()
    expect((await client.databases.get(RG, 'sql-shop-local', again.database)).status).toBe('Online')
    expect(fixture.emulator.requestLog(from).filter((e) => e.method === 'PUT' && e.path.toLowerCase().endsWith(`/databases/${again.database}`))).toHaveLength(1)
    await sqlDeleteAction.run(parse(sqlDeleteAction, {database: again.resourceId, ifScratchOnly: false}), second.context)
  })

  it('Azure refuses a restore point outside retention with PitrPointInTimeInvalid (the SDK call, no preflight)', async () => {
    const client = await fixture.services.sql()
    const source = await client.databases.get(RG, 'sql-shop-local', 'sqldb-shop-payments')
    const error = await client.databases
      .beginCreateOrUpdateAndWait(RG, 'sql-shop-local', 'too-old', {location: 'eastus', createMode: 'PointInTimeRestore', sourceDatabaseId: source.id, restorePointInTime: new Date(Date.now() - 30 * 86_400_000)}, {updateIntervalInMs: 20})
      .catch((e) => e)
    expect(error.statusCode).toBe(400)
    expect(error.code).toBe('PitrPointInTimeInvalid')
  })
})

describe('sql.failover', () => {
  it('fails the group over (planned) on the secondary, and back; forced reports the modelled loss', async () => {
    const {context} = makeContext(fixture)
    const planned = await sqlFailoverAction.run(parse(sqlFailoverAction, {database: 'payments-db'}), context)
    expect(planned).toMatchObject({failoverGroup: 'fog-shop-payments', newPrimary: 'sql-shop-local-dr', oldPrimary: 'sql-shop-local', forced: false, lostMs: 0})
    const client = await fixture.services.sql()
    expect((await client.failoverGroups.get(RG, 'sql-shop-local', 'fog-shop-payments')).replicationRole).toBe('Secondary')
    // Issuing failover on the primary is Azure's FailoverGroupNotSecondary.
    const wrong = await client.failoverGroups.beginFailoverAndWait(RG, 'sql-shop-local-dr', 'fog-shop-payments').catch((e) => e)
    expect(wrong.code).toBe('FailoverGroupNotSecondary')
    const back = await sqlFailoverAction.run(parse(sqlFailoverAction, {database: 'payments-db', allowDataLoss: true}), context)
    expect(back).toMatchObject({newPrimary: 'sql-shop-local', oldPrimary: 'sql-shop-local-dr', forced: true, lostMs: SQL_REPLICATION_LAG_MS})
    expect(back.rtoMs).toBeGreaterThanOrEqual(0)
  })
})

describe('servicebus.deadLetterReport', () => {
  it('reports dead-letter counts per queue and subscription and flags what exceeds the catalog', async () => {
    const {context, logs} = makeContext(fixture)
    const out = await deadLetterReportAction.run(parse(deadLetterReportAction, {namespace: 'orders-bus'}), context)
    expect(out.entities.map((e) => [e.entity, e.kind, e.deadLetters])).toEqual([
      ['orders', 'queue', 3],
      ['payments', 'queue', 0],
      ['order-events/billing', 'subscription', 0],
      ['order-events/audit', 'subscription', 0],
    ])
    expect(out.flagged).toEqual(['orders'])
    expect(out.totalDeadLetters).toBe(3)
    expect(logs.join('\n')).toMatch(/oldest dead letter age not reported/)
    const failing = await deadLetterReportAction.run(parse(deadLetterReportAction, {namespace: 'orders-bus', failOnDeadLetters: true}), context).catch((e) => e)
    expect(failing.message).toMatch(/1 entity has more than 0 dead-lettered message\(s\): orders/)
  })
})

describe('drill: what an Azure SQL configuration cannot meet', () => {
  it('flags a cross-region objective with local backups and no failover group, and a short retention', async () => {
    const {configurationIssues} = await import('../../src/actions/drill.js')
    const {sqlDatabaseComponentSchema} = await import('../../src/catalog/schema.js')
    const db = sqlDatabaseComponentSchema.parse({type: 'sqldb', name: 'd', server: 's', backupRedundancy: 'Local', backupRetentionDays: 14, objectives: {rpo: 'PT1H', crossRegion: true}})
    expect(configurationIssues(db, {retentionDays: 3})).toEqual([
      'cross-region objective with Local-redundant backups and no failover group: a region loss cannot be recovered',
      'point-in-time retention is 3 days, the catalog needs 14',
      'point-in-time retention of 3 days is below the 7 days a restore needs to be useful',
    ])
    expect(configurationIssues({...db, backupRedundancy: 'Geo'})).toEqual([])
  })
})
