/** A year of runs of the `local` environment, written through the real journal and summary writer. */
import {Journal, newRunId} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {runStarted, summaryFor} from './blob-helpers.js'

const MIN = 60_000

export interface HistoryRun {
  runId: string
  runbook: string
  at: string
}

function objective(component: string, type: string, rtoMs: number, rtoObjective: number, rpoMs?: number, rpoObjective?: number) {
  return {
    component,
    type,
    rto: {measuredMs: rtoMs, objectiveMs: rtoObjective, met: rtoMs <= rtoObjective},
    ...(rpoMs === undefined ? {} : {rpo: {measuredMs: rpoMs, objectiveMs: rpoObjective, met: rpoMs <= rpoObjective!}}),
  }
}

/** One run, written through the real journal and summary writer (`fields` go into its summary). */
export async function writeRun(root: string, at: string, runbook: string, kind: string, fields: Parameters<typeof summaryFor>[1], extra: RunEvent[] = []): Promise<HistoryRun> {
  const date = new Date(at)
  const runId = newRunId(runbook, date)
  let clock = date.getTime()
  const journal = await Journal.create(runId, {root, now: () => new Date((clock += 1000))})
  const events: RunEvent[] = [
    runStarted(runId, runbook, kind),
    {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {server: 'pg-shop-orders'}},
    {type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {server: 'pg-shop-orders-drill'}, durationMs: 1000, attempts: 1},
    ...extra,
    {type: 'run.finished', status: (fields?.status ?? 'succeeded') as any, durationMs: 95_000, leftBehind: [], outputs: {}},
  ]
  for (const event of events) await journal.append(event)
  await completeRun(journal, summaryFor(journal, {...fields, runbook, kind, startedAt: date.toISOString()}))
  return {runId, runbook, at}
}

/** Drills each quarter of 2026 (some objectives missed), an incident with an override and approval, a checklist. */
export async function writeHistory(root: string): Promise<HistoryRun[]> {
  return [
    await writeRun(root, '2026-02-10T09:00:00Z', 'dr-drill', 'drill', {
      objectives: [objective('orders-db', 'postgres', 40 * MIN, 60 * MIN, 5 * MIN, 15 * MIN), objective('sessions-cache', 'redis', 20 * MIN, 30 * MIN, 30 * MIN, 60 * MIN)],
    }),
    await writeRun(root, '2026-05-12T09:00:00Z', 'dr-drill', 'drill', {
      objectives: [objective('orders-db', 'postgres', 70 * MIN, 60 * MIN, 9 * MIN, 15 * MIN), objective('sessions-cache', 'redis', 25 * MIN, 30 * MIN, 40 * MIN, 60 * MIN)],
    }),
    await writeRun(root, '2026-08-20T09:00:00Z', 'dr-drill', 'drill', {objectives: [objective('orders-db', 'postgres', 45 * MIN, 60 * MIN, 7 * MIN, 15 * MIN)]}),
    await writeRun(root, '2026-10-01T03:00:00Z', 'pg-pitr', 'incident', {
      status: 'failed',
      approvals: [{step: 'cutover', approved: true, by: 'carol', via: 'prompt', at: '2026-10-01T03:20:00Z'}],
      overrides: [{kind: 'window', reason: 'INC-4711 outage: restore cannot wait for Sunday', by: 'carol', at: '2026-10-01T03:00:00Z'}],
    }),
    await writeRun(root, '2026-11-02T09:00:00Z', 'dr-drill', 'drill', {
      // Since the drill's SQL leg (sql-pitr), a drill measures the Azure SQL database too.
      objectives: [
        objective('orders-db', 'postgres', 50 * MIN, 60 * MIN, 6 * MIN, 15 * MIN),
        objective('payments-db', 'sqldb', 12 * MIN, 60 * MIN, 2 * MIN, 5 * MIN),
        objective('sessions-cache', 'redis', 35 * MIN, 30 * MIN, 20 * MIN, 60 * MIN),
      ],
    }),
    await writeRun(root, '2026-11-10T09:00:00Z', 'security-checklist', 'checklist', {outputs: {counts: {pass: 12, fail: 2, waived: 1}, status: 'failed-checks'}}),
  ]
}

/**
 * A drill since the Cosmos DB, Managed Redis and regional-failover legs: every component of the repository's catalog has
 * a row. It failed (exit 1) because sessions-cache missed its RTO again; the rows that were met still count as
 * drilled. Routers have no RPO of their own (n/a), web apps an RPO of 0.
 */
export async function writeDrillOfEveryLeg(root: string, at = '2026-11-16T09:00:00Z'): Promise<HistoryRun> {
  const stateless = (component: string, type: string, rpo: object) => ({component, type, status: 'met', rto: {measuredMs: 4 * MIN, objectiveMs: 15 * MIN, met: true}, rpo})
  return writeRun(root, at, 'dr-drill', 'drill', {
    status: 'failed',
    objectives: [
      objective('carts-cache', 'managedredis', 7 * MIN, 30 * MIN, 20 * MIN, 60 * MIN),
      objective('catalog-cosmos', 'cosmosdb', 9 * MIN, 60 * MIN, 1 * MIN, 5 * MIN),
      objective('orders-db', 'postgres', 48 * MIN, 60 * MIN, 8 * MIN, 60 * MIN),
      objective('payments-db', 'sqldb', 11 * MIN, 60 * MIN, 1 * MIN, 5 * MIN),
      objective('sessions-cache', 'redis', 33 * MIN, 30 * MIN, 25 * MIN, 60 * MIN),
      stateless('storefront', 'webapp', {measuredMs: 0}),
      stateless('storefront-dns', 'trafficmanager', {}),
      stateless('storefront-dr', 'webapp', {measuredMs: 0}),
      stateless('storefront-edge', 'frontdoor', {}),
    ],
  })
}
