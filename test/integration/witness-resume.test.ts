/**
 * Issue 16: `opsbook evidence verify --witness activity-log` on a genuinely resumed run whose teardown's work was done
 * before the interrupt but not journaled as completed. A sql-pitr drill (scratch copy, teardown=true) is killed (SIGKILL) while its `finally` teardown's
 * DELETE of the copy is in flight: ARM accepted the delete, the journal says the operation started, but the step never
 * ended. The delete then completes in Azure. `opsbook resume` does not find the teardown a no-op: a teardown that
 * started undoes what its scope built (src/evidence/resume-state.ts), so the resume restores the copy again and deletes
 * it again. Verify with the Activity Log required must exit 0 with every changing step of both segments witnessed.
 * One run, one kill, one resume, one verify; the killed run is a real process, resume and verify run in the test
 * process (the same commands, no process start).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {runCliInProcess} from '../helpers/cli.js'
import {sendRaw} from '../contract/http.js'
import {journalLines, runRunbook, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator()
})
afterAll(async () => {
  emulator?.faults.clear()
  await emulator?.stop()
})

async function databases(): Promise<string[]> {
  const client = await sdkServices(emulator).sql()
  const names: string[] = []
  for await (const db of client.databases.listByServer('rg-shop-local', 'sql-shop-local')) names.push(db.name!)
  return names
}

describe('evidence verify --witness activity-log after a resume', () => {
  it('witnesses every changing step of a drill killed while its teardown deleted the copy, then resumed (exit 0)', async () => {
    // The teardown's delete is held open until the run is killed: the kill lands while it is in flight, not after.
    emulator.faults.set({hangOperations: ['sql.databases.delete']})
    let cwd = ''
    let deleteOperation: {monitorUrl?: string; resourceUrl: string} | undefined
    const killed = await runRunbook(emulator, 'sql-pitr', ['--target', 'payments-db', '--param', 'scratch=true', '--param', 'teardown=true'], {
      cwdReady: (dir) => (cwd = dir),
      onStart(child) {
        const timer = setInterval(() => {
          deleteOperation = journalLines(cwd).find((e) => e.type === 'operation.started' && e.step === 'teardown')?.data.operation
          if (deleteOperation) {
            clearInterval(timer)
            child.kill('SIGKILL')
          }
        }, 20)
        child.on('close', () => clearInterval(timer))
      },
    })
    emulator.faults.set({hangOperations: []})
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    expect(deleteOperation?.monitorUrl).toBeTruthy()
    const before = journalLines(cwd)
    // The teardown was cut off: started, its DELETE accepted by ARM, never ended in the journal.
    expect(before.filter((e) => e.step === 'teardown' && e.type !== 'step.log').map((e) => e.type)).toEqual(['step.started', 'operation.started'])
    const copy = decodeURIComponent(new URL(deleteOperation!.resourceUrl).pathname.split('/').at(-1)!)
    expect(copy).toMatch(/^sqldb-shop-payments-drill-/)

    // The delete goes on in Azure without the killed process: polled on its monitor (as `az` would) until it ends.
    const monitor = new URL(deleteOperation!.monitorUrl!)
    let status = 'InProgress'
    while (status === 'InProgress') {
      const answer = await sendRaw(emulator, 'GET', monitor.pathname + monitor.search)
      status = String((answer.body as {status?: string} | undefined)?.status ?? answer.status)
    }
    expect(status).toBe('Succeeded')
    expect(await databases()).toEqual(['sqldb-shop-payments'])

    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const env = emulator.env()
    const resumed = await runCliInProcess(['resume', runId, '--json', '--yes'], {cwd, env})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({runId, status: 'succeeded', leftBehind: []})
    const text = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(text).ok).toBe(true)
    // A teardown that started undoes what its scope built (src/evidence/resume-state.ts teardownStarted): the resume
    // makes the drill's copy again and deletes it again, so no step of the resumed segment is a no-op here.
    const resumedSegment = journalLines(cwd).slice(journalLines(cwd).findLastIndex((e) => e.type === 'run.started'))
    const writes = (id: string) => resumedSegment.filter((e) => e.type === 'step.succeeded' && e.step === id).flatMap((e) => (e.data.arm ?? []).map((w: {method: string}) => w.method))
    expect(writes('restore')).toEqual(['PUT'])
    expect(writes('teardown')).toEqual(['DELETE'])
    expect(await databases()).toEqual(['sqldb-shop-payments'])

    // The Activity Log required: every changing step witnessed, the resumed teardown by the delete its cut-off attempt made.
    const verified = await runCliInProcess(['evidence', 'verify', runId, '--env', 'local', '--witness', 'activity-log'], {cwd, env})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    const counted = /activity log: (\d+) of (\d+) changing step\(s\) witnessed \((.*)\)/.exec(verified.stdout)
    expect(counted, verified.stdout).not.toBeNull()
    expect(counted![1]).toBe(counted![2])
    expect(counted![3].split(', ').sort()).toEqual(['finally teardown (resumed segment 1)', 'restore', 'restore (resumed segment 1)'])
    expect(verified.stdout).not.toMatch(/not witnessed|not checkable/)
  }, 120_000)
})
