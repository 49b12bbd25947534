/**
 * A disk that fills while a drill's Redis export runs, then `opsbook resume` (issue 16: the fault matrix's
 * dr-drill × disk full failed now and then with "export reported success but wrote no blob"). The interleaving the
 * drill hit by chance is forced here: the disk fills right after the export's operation.started is written, so the
 * journal says the export is in flight, while the run goes on without a record — the export ends and the run fails.
 * Its `finally` used to delete the drill copy unrecorded; now it is left for the resume (exit 3), which must end in 0
 * with the copy read back and deleted.
 *
 * The general case (the 200-drill soak's drill 73, `sql-pitr … verify: SQL database … does not exist`): a drill leg's
 * restore completes and is recorded, then the disk fills. The run used to go on to its `finally` and delete the copy
 * unrecorded, so the resume verified a copy that was gone. Now the engine makes no teardown change it cannot record:
 * the run ends 3 naming the teardown left and the copy (still there, through ARM), and the resume verifies it and tears
 * it down, recorded — for SQL and PostgreSQL PITR drills, with the disk filling after the restore and during it.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ApprovalDecision} from '../../src/actions/types.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {exitCodeOf} from '../../src/errors.js'
import {DISK_FULL_ENV, verifyChain} from '../../src/evidence/journal.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {runRunbook, type RunResult} from '../../src/runbooks/runner.js'
import {scratchDir} from '../helpers/cli.js'
import {postgresServers, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
beforeAll(async () => {
  emulator = await startLocalEmulator()
  Object.assign(process.env, emulator.env())
}, 180_000)
afterAll(async () => {
  delete process.env[DISK_FULL_ENV]
  await emulator?.stop()
})

const journalFile = (cwd: string) => {
  const runs = join(cwd, '.opsbook', 'runs')
  return join(runs, readdirSync(runs)[0]!, 'journal.jsonl')
}

interface Target {
  runbook: string
  target: string
  params: Record<string, string>
}
const REDIS_DRILL: Target = {runbook: 'redis-restore', target: 'sessions-cache', params: {drill: 'true'}}

async function run(cwd: string, onEvent: (event: RunEvent) => void, resume?: string, what: Target = REDIS_DRILL): Promise<{result?: RunResult; exit: number; error?: unknown}> {
  const common = {
    cwd,
    approver: {approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'test', via: 'yes'})},
    interactive: false,
    preApproved: (): ApprovalDecision => ({approved: true, by: '--yes', via: 'yes'}),
    listeners: [async (event: RunEvent) => onEvent(event)],
    signal: new AbortController().signal,
    teardownSignal: new AbortController().signal,
  }
  try {
    const result = resume
      ? await resumeRun({...common, runId: resume, params: {}})
      : await runRunbook({...common, runbook: what.runbook, envName: 'local', params: what.params, target: what.target})
    return {result, exit: result.exitCode}
  } catch (error) {
    return {exit: exitCodeOf(error), error}
  }
}

async function drillCopies(): Promise<string[]> {
  const names: string[] = []
  for await (const blob of (await sdkServices(emulator).blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat()) names.push(blob.name)
  return names.filter((name) => name.startsWith('opsbook-drill-'))
}

describe('resume after a full disk', () => {
  it('a drill export left "in flight" by the journal: its copy is not torn down unrecorded (exit 3), the resume reads it back, deletes it and ends 0', async () => {
    const cwd = scratchDir()
    let filled = false
    let first
    try {
      first = await run(cwd, (event) => {
        if (!filled && event.type === 'operation.started' && event.step === 'export') {
          filled = true
          process.env[DISK_FULL_ENV] = String(statSync(journalFile(cwd)).size + 1)
        }
      })
    } finally {
      delete process.env[DISK_FULL_ENV]
    }
    expect(filled).toBe(true)
    // The run used to end 1 having deleted the copy unrecorded (the resume then found the export's blob gone; the
    // action now sends such an export again, test/actions/redis.test.ts). Now the teardown waits for the resume.
    expect(first.exit).toBe(3)
    expect(first.result?.status).toBe('rollback-failed')
    expect(first.result?.leftBehind).toEqual([expect.stringMatching(/^finally step teardown \(drill\.teardown \{component: sessions-cache, .*\}\) was not run: the journal cannot be written/)])
    // The journal, as the resume reads it: the export started, never ended; the copy is still there.
    const lines = readFileSync(journalFile(cwd), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {type: string; step: string | null})
    expect(lines.at(-1)).toMatchObject({type: 'operation.started', step: 'export'})
    const copies = await drillCopies()
    expect(copies).toHaveLength(1)
    expect(first.result!.leftBehind[0]).toContain(copies[0]!)

    const resumed = await run(cwd, () => undefined, first.result!.runId)
    const failed = resumed.result?.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`)
    expect(failed, String((resumed.error as Error | undefined)?.message)).toEqual([])
    expect(resumed.exit).toBe(0)
    expect(resumed.result?.steps.find((s) => s.id === 'export-readback')?.status).toBe('succeeded')
    expect(await drillCopies()).toEqual([])
    expect(verifyChain(readFileSync(journalFile(cwd), 'utf8')).ok).toBe(true)
  }, 180_000)
})

/** The drill copies a PITR drill leg makes, through ARM: SQL databases / PostgreSQL servers named <source>-drill-<run>. */
async function copiesOf(runbook: string): Promise<string[]> {
  const services = sdkServices(emulator)
  if (runbook === 'sql-pitr') {
    const names: string[] = []
    for await (const db of (await services.sql()).databases.listByServer('rg-shop-local', 'sql-shop-local')) names.push(db.name!)
    return names.filter((name) => name.includes('-drill-'))
  }
  return (await postgresServers(services)).map((s) => s.name).filter((name) => name.includes('-drill-'))
}

const PITR_DRILLS: Array<[string, Target, string]> = [
  ['SQL PITR', {runbook: 'sql-pitr', target: 'payments-db', params: {scratch: 'true', teardown: 'true'}}, 'sql.delete'],
  [
    'PostgreSQL PITR',
    {
      runbook: 'pg-pitr',
      target: 'orders-db',
      // As the fault matrix's pg-pitr cells: a point inside the emulator's restore window.
      get params() {
        return {scratch: 'true', teardown: 'true', restoreTime: new Date(Date.now() - 10 * 60_000).toISOString()}
      },
    },
    'drill.teardown',
  ],
]
const FILL_POINTS: Array<[string, (event: RunEvent) => boolean]> = [
  // The soak's drill 73: the restore's success is on disk, the next line is not.
  ['after the restore was recorded', (event) => event.type === 'step.succeeded' && event.step === 'restore'],
  // The fault matrix's cell: the restore is in flight (operation.started on disk), its success never recorded.
  ['while the restore runs', (event) => event.type === 'operation.started' && event.step === 'restore'],
]

describe.each(PITR_DRILLS)('%s drill on a disk that fills', (_, what, teardownAction) => {
  it.each(FILL_POINTS)('%s: no teardown unrecorded (exit 3 naming the copy), then the resume verifies the copy and deletes it (0)', async (__, fillsOn) => {
    const cwd = scratchDir()
    let filled = false
    let first
    try {
      first = await run(
        cwd,
        (event) => {
          if (!filled && fillsOn(event)) {
            filled = true
            process.env[DISK_FULL_ENV] = String(statSync(journalFile(cwd)).size + 1)
          }
        },
        undefined,
        what,
      )
    } finally {
      delete process.env[DISK_FULL_ENV]
    }
    expect(filled, `${(first.error as Error | undefined)?.message} ${JSON.stringify(first.result?.steps.filter((s) => s.error))}`).toBe(true)
    expect(first.exit, String((first.error as Error | undefined)?.message)).toBe(3)
    expect(first.result?.status).toBe('rollback-failed')
    // What a user reads under NEEDS A HUMAN: the teardown not run, and the copy it would delete, by name.
    const copies = await copiesOf(what.runbook)
    expect(copies).toHaveLength(1)
    const left = first.result!.leftBehind.find((l) => l.startsWith('finally step teardown'))
    expect(left).toContain(`(${teardownAction} {`)
    expect(left).toContain('the journal cannot be written')
    expect(left).toContain(copies[0]!)
    expect(left).toContain(`opsbook resume ${first.result!.runId}`)
    // Nothing it could not record: the journal ends before any teardown line.
    const lines = readFileSync(journalFile(cwd), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {type: string; step: string | null; data: {phase?: string}})
    expect(lines.filter((l) => l.data.phase === 'finally' || l.data.phase === 'rollback')).toEqual([])

    const resumed = await run(cwd, () => undefined, first.result!.runId, what)
    const failed = resumed.result?.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`)
    expect(failed, String((resumed.error as Error | undefined)?.message)).toEqual([])
    expect(resumed.exit).toBe(0)
    expect(resumed.result?.steps.find((s) => s.id === 'verify')?.status).toBe('succeeded')
    expect(resumed.result?.steps.find((s) => s.id === 'teardown')?.status).toBe('succeeded')
    expect(resumed.result?.leftBehind).toEqual([])
    expect(await copiesOf(what.runbook)).toEqual([])
    expect(verifyChain(readFileSync(journalFile(cwd), 'utf8')).ok).toBe(true)
  }, 240_000)
})
