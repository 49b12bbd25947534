/**
 * `opsbook resume <id> --env local` when the run's local files are gone (a lost laptop's `.opsbook/runs`) and its
 * evidence is in the Blob store of THIS folder's emulator (the one `opsbook emulator start` serves here): resume finds
 * the journal there, and continues the run or says it already finished. Without OPSBOOK_EMULATOR_URL, so the folder's
 * own emulator is what is asked (src/runbooks/resume.ts loadState; here it both serves the folder and keeps its Blob
 * store there, so the quick "this folder has none" answer must not be taken). One emulator serves the folder for the
 * whole file (modelled data plane, the suite's default); every command runs in-process. The last test stops it: resume
 * then starts one on the Blob store kept in the folder itself.
 */
import {cpSync, existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import {serveEmulator} from '../../src/emulator/connect.js'
import {readEmulatorLock} from '../../src/emulator/lock.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {onlyJson, repoRoot, runCliInProcess, scratchDir} from '../helpers/cli.js'

let folder: string
let emulator: RunningEmulator
/** No OPSBOOK_EMULATOR_* variables: the CLI reaches the emulator serving this folder through its lock. */
const env = {OPSBOOK_EMULATOR_URL: undefined, OPSBOOK_EMULATOR_CA: undefined, OPSBOOK_EMULATOR_BLOB: undefined}

beforeAll(async () => {
  folder = scratchDir()
  cpSync(join(repoRoot, 'test', 'fixtures', 'cli', 'rollback-fails.yaml'), join(folder, 'rollback-fails.yaml'))
  const catalogFile = join(folder, 'runbooks.yaml')
  const environment = getEnvironment(loadCatalog({flag: catalogFile}), 'local')
  // As `opsbook emulator start` in this folder: it serves .opsbook/emulator and records itself in the lock there.
  const served = await serveEmulator({stateDir: join(folder, '.opsbook', 'emulator'), mode: 'server', catalogFile, environmentName: 'local', environment})
  if (!('emulator' in served)) throw new Error(`the folder's emulator is already served by pid ${served.holder.pid}`)
  emulator = served.emulator
})
afterAll(async () => emulator?.stop())

/** Runs a runbook here, checks its evidence reached the folder's emulator's Blob store, then loses the local copy. */
async function runThenLoseLaptop(args: string[]): Promise<{runId: string; status: string}> {
  const ran = await runCliInProcess(['run', ...args, '--env', 'local', '--json'], {cwd: folder, env})
  const {runId, status} = onlyJson(ran) as {runId: string; status: string}
  const runDir = join(folder, '.opsbook', 'runs', runId)
  expect(existsSync(join(runDir, 'journal.jsonl')), ran.stderr).toBe(true)
  // A run uploads as it goes, but an upload that failed under load leaves the journal pending locally (and a lost
  // laptop would lose it): the condition for this test is everything in Blob, which `evidence sync` retries to.
  const synced = await runCliInProcess(['evidence', 'sync', '--env', 'local', '--json'], {cwd: folder, env})
  expect(synced.code, synced.stdout + synced.stderr).toBe(0)
  expect(onlyJson(synced).pending, synced.stdout).toBe(0)
  rmSync(runDir, {recursive: true, force: true})
  return {runId, status}
}

describe('opsbook resume --env local, the run\'s local files gone, its evidence in this folder\'s emulator', () => {
  it('continues a run whose rollback failed from the journal in Blob, as one chain', async () => {
    const {runId, status} = await runThenLoseLaptop(['./rollback-fails.yaml'])
    expect(status).toBe('rollback-failed')
    expect(existsSync(join(folder, '.opsbook', 'runs', runId))).toBe(false)

    const resumed = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: folder, env})
    const result = onlyJson(resumed)
    // The same run continued (not "no journal"): its rollback is attempted again, and fails again as the runbook says.
    expect(result, resumed.stdout + resumed.stderr).toMatchObject({runId, status: 'rollback-failed'})
    expect(resumed.code).toBe(result.exitCode)
    const journal = readFileSync(join(folder, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"resumedFrom"')
    // Both segments are in the one journal: the first laptop's run.started and the resume's.
    expect(journal.split('\n').filter(Boolean).filter((l) => JSON.parse(l).type === 'run.started')).toHaveLength(2)
  })

  it('says a finished run found in Blob has nothing to resume (exit 2), and runs nothing', async () => {
    const {runId, status} = await runThenLoseLaptop(['hello', '--param', 'pause=PT0S'])
    expect(status).toBe('succeeded')
    const since = emulator.requestCount()
    const finished = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: folder, env})
    expect(finished.code, finished.stdout + finished.stderr).toBe(2)
    expect(onlyJson(finished).error.message).toContain(`run ${runId} already finished (succeeded); there is nothing to resume`)
    // Its status can only have come from the journal in Blob (none is here); nothing was run or written to Azure.
    expect(emulator.requestLog(since).filter((r) => r.method !== 'GET')).toEqual([])
  })

  // Last: it stops the file's emulator. `opsbook emulator start` was stopped (Ctrl-C, a reboot): no emulator serves the
  // folder, but the Blob store it persisted is still in .opsbook/emulator — resume starts an emulator on it itself.
  it('with the folder\'s emulator stopped, starts one on the Blob store kept there, finds the journal, and stops it after', async () => {
    const {runId} = await runThenLoseLaptop(['hello', '--param', 'pause=PT0S'])
    const stateDir = join(folder, '.opsbook', 'emulator')
    await emulator.stop()
    expect(readEmulatorLock(stateDir)).toBeUndefined()
    expect(existsSync(join(stateDir, 'blob'))).toBe(true)
    const finished = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: folder, env})
    // The run's status is only in the kept Blob store (its local files are gone, no emulator was serving): found there.
    expect(finished.code, finished.stdout + finished.stderr).toBe(2)
    expect(onlyJson(finished).error.message).toContain(`run ${runId} already finished (succeeded); there is nothing to resume`)
    // The emulator resume started for the look-up is stopped again: no lock left, the folder free for the next command.
    expect(readEmulatorLock(stateDir)).toBeUndefined()
  })
})
