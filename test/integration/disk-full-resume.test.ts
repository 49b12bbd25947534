/**
 * A disk that fills while a drill's Redis export runs, then `opsbook resume` (issue 16: the fault matrix's
 * dr-drill × disk full failed now and then with "export reported success but wrote no blob"). The interleaving the
 * drill hit by chance is forced here: the disk fills right after the export's operation.started is written, so the
 * journal says the export is in flight, while the run goes on without a record — the export ends, the run fails, and
 * its `finally` deletes the drill copy. The resume must still end in 0 with the copy read back and deleted again.
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
import {sdkServices, startLocalEmulator} from './support.js'

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

async function run(cwd: string, onEvent: (event: RunEvent) => void, resume?: string): Promise<{result?: RunResult; exit: number; error?: unknown}> {
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
      : await runRunbook({...common, runbook: 'redis-restore', envName: 'local', params: {drill: 'true'}, target: 'sessions-cache'})
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
  it('a drill export left "in flight" by the journal, whose copy the run\'s teardown deleted, is exported again and the run ends 0', async () => {
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
    expect(first.exit).toBe(1)
    expect(first.result?.status).toBe('failed')
    // The journal, as the resume reads it: the export started, never ended; and teardown did delete the copy.
    const lines = readFileSync(journalFile(cwd), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {type: string; step: string | null})
    expect(lines.at(-1)).toMatchObject({type: 'operation.started', step: 'export'})
    expect(await drillCopies()).toEqual([])

    const resumed = await run(cwd, () => undefined, first.result!.runId)
    const failed = resumed.result?.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`)
    expect(failed, String((resumed.error as Error | undefined)?.message)).toEqual([])
    expect(resumed.exit).toBe(0)
    expect(resumed.result?.steps.find((s) => s.id === 'export-readback')?.status).toBe('succeeded')
    expect(await drillCopies()).toEqual([])
    expect(verifyChain(readFileSync(journalFile(cwd), 'utf8')).ok).toBe(true)
  }, 180_000)
})
