/**
 * Ctrl-C in the middle of a drill: the run stops launching steps, rolls back, runs `finally`, and the scratch server
 * the restore was creating is deleted — even though the restore step never produced its outputs. Nothing is then
 * reported as left behind that ARM says is gone, and `opsbook resume` continues the run to the end.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {runCli, runCliInProcess} from '../helpers/cli.js'
import {postgresServers, runRunbook, runRunbookInProcess, sdkServices, servedVersion, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  // Quick operations: the restores Ctrl-C and SIGKILL land in are held in flight by a fault (hangOperations) until the
  // test lets them go, not made slow for everyone (3 s operations were waited out by the teardowns and the resumes).
  // Routing changes (the failover legs) reach clients in 0.2 s instead of the default 3 s (as in the fault suite): this
  // file is about the interrupt, region-failover.test about that delay.
  emulator = await startLocalEmulator({lroDurationMs: 100, routingPropagationMs: 200})
})
afterAll(async () => emulator?.stop())

function journal(cwd: string): string {
  const runs = join(cwd, '.opsbook', 'runs')
  const [runId] = existsSync(runs) ? readdirSync(runs) : []
  const file = runId ? join(runs, runId, 'journal.jsonl') : ''
  return file && existsSync(file) ? readFileSync(file, 'utf8') : ''
}

describe('dr-drill interrupted', () => {
  it('tears the scratch server down after Ctrl-C and exits 130', async () => {
    // The restore stays in flight until the call's teardown has said it waits for it: a condition, not a time (with a
    // 6 s operation, a loaded machine reached the teardown after the restore had finished).
    emulator.faults.set({hangOperations: ['postgres.create']})
    let cwd = ''
    // In the test process (the same command, no process start); Ctrl-C reaches the run's own handler, as from a terminal.
    const run = await runRunbookInProcess(emulator, 'dr-drill', [], {
      onStart(control) {
        let interrupted = false
        const timer = setInterval(() => {
          const text = journal(cwd)
          if (!interrupted && /"operation\.started".*"pg-pitr-orders-db\.geo-restore"|"pg-pitr-orders-db\.geo-restore".*"operation\.started"/.test(text)) {
            interrupted = true
            control.interrupt()
          }
          if (interrupted && /still running: waiting for it before deleting/.test(text)) {
            clearInterval(timer)
            emulator.faults.set({hangOperations: []})
          }
        }, 20)
        return () => {
          clearInterval(timer)
          emulator.faults.set({hangOperations: []})
        }
      },
      cwdReady: (dir) => (cwd = dir),
    })
    expect(run.code, run.stderr).toBe(130)
    expect(run.json.status).toBe('interrupted')
    const teardown = run.json.steps.find((s: {id: string; phase: string}) => s.id === 'pg-pitr-orders-db.teardown' && s.phase === 'finally')
    expect(teardown.status).toBe('succeeded')
    const copies = async () => (await postgresServers(sdkServices(emulator))).filter((s) => /-drill-/.test(s.name))
    const logged = readFileSync(run.json.journal, 'utf8')
    // The restore was still running at Ctrl-C: teardown waited for it and deleted the server it created.
    expect(logged).toMatch(/still running: waiting for it before deleting/)
    expect(logged).toMatch(/deleted pg-shop-orders-drill-/)
    expect(await copies()).toEqual([])
    // And nothing appears later: no create of this run is still pending in the emulator.
    expect(emulator.state.operations().filter((o) => o.operation === 'postgres.create' && o.status === 'InProgress')).toEqual([])
    expect((await servedVersion(emulator, 'app-shop-storefront')).version, logged.split('\n').filter((l) => /slot-swap-/.test(l)).join('\n')).toBe('v1')
    // The Redis drill copy (its export may have been in flight too) is gone; the scheduled snapshot is not.
    const blobs: string[] = []
    for await (const blob of (await sdkServices(emulator).blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat()) blobs.push(blob.name)
    expect(blobs.filter((b) => b.startsWith('opsbook-drill-'))).toEqual([])
    expect(blobs.some((b) => b.startsWith('redis-shop-sessions-'))).toBe(true)
    expect(verifyChain(readFileSync(run.json.journal, 'utf8')).ok).toBe(true)
    // No false alarm: what teardown removed is checked through ARM and not called left behind.
    expect(run.json.leftBehind.filter((l: string) => /geo-restore|flexibleServers/.test(l))).toEqual([])
    expect(run.stderr + run.stdout).not.toMatch(/pg-shop-orders-drill-.*may still be running/)
    expect(readFileSync(run.json.journal, 'utf8')).toMatch(/left nothing behind \(checked: pg-shop-orders-drill-[^ ]* does not exist\)/)

    // Resume continues the interrupted run (exit 130 before): it completes, nothing is left, the chain verifies. It runs
    // in the test process too; the SIGKILLed run and the two racing resumes below are real processes.
    const resumed = await runCliInProcess(['resume', run.json.runId, '--json', '--yes'], {cwd: run.cwd, env: emulator.env()})
    expect(resumed.code, resumed.stderr).toBe(0)
    const result = JSON.parse(resumed.stdout)
    expect(result).toMatchObject({runId: run.json.runId, status: 'succeeded', leftBehind: []})
    expect(await copies()).toEqual([])
    const journalText = readFileSync(run.json.journal, 'utf8')
    expect(verifyChain(journalText).ok).toBe(true)
    expect(journalText).toContain('"resumedFrom"')
    // Steps that completed before Ctrl-C were kept, not run again — inside the pg-pitr call Ctrl-C stopped too: its
    // check (a read) is kept, and only what the call's teardown undid (the scratch server's restore) is done again.
    const resumedSegment = journalText.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    const secondStart = resumedSegment.findLastIndex((e) => e.type === 'run.started')
    const completedBefore = resumedSegment.slice(0, secondStart).filter((e) => e.type === 'step.succeeded' && e.data.phase === 'main').map((e) => e.step)
    const rerun = resumedSegment.slice(secondStart).filter((e) => e.type === 'step.started' && e.data.phase === 'main').map((e) => e.step)
    expect(completedBefore.length).toBeGreaterThan(0)
    expect(rerun.filter((id: string) => completedBefore.includes(id) && !id.includes('.'))).toEqual([])
    expect(completedBefore).toContain('pg-pitr-orders-db.check')
    expect(rerun).not.toContain('pg-pitr-orders-db.check')
    expect(rerun).toContain('pg-pitr-orders-db.geo-restore')
    // Both segments are in the summary, each with its start and duration.
    const summary = JSON.parse(readFileSync(result.summary, 'utf8'))
    expect(summary.segments).toHaveLength(2)
    expect(summary.segments[0]).toMatchObject({status: 'interrupted'})
    expect(summary.segments[1]).toMatchObject({status: 'succeeded'})
    for (const segment of summary.segments) expect(segment.durationMs).toBeGreaterThan(0)
    // Issue 16: the genuine resume verifies with the Activity Log as witness. Its idempotent steps that found nothing to
    // do (production already serving its version, a teardown with nothing left) are judged by what they found.
    const verified = await runCliInProcess(['evidence', 'verify', run.json.runId, '--env', 'local', '--witness', 'auto'], {cwd: run.cwd, env: emulator.env()})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/activity log: \d+ of \d+ changing step\(s\) witnessed \(.*\(resumed segment 1\)/)
    expect(verified.stdout).not.toMatch(/not witnessed/)
   }, 180_000)

  it('after SIGKILL, of two resumes started at once one continues (taking over all of its own leases) and the other is refused (exit 5)', async () => {
    // The restore stays in flight until the run is killed: the run cannot finish before the kill.
    emulator.faults.set({hangOperations: ['postgres.create']})
    let cwd = ''
    // Two components (two leases to take over) are enough for the race between the resumes; a whole estate's drill
    // interrupted and resumed is the test above.
    const killed = await runRunbook(emulator, 'dr-drill', ['--component', 'orders-db,sessions-cache'], {
      onStart(child) {
        const timer = setInterval(() => {
          if (/"operation\.started"/.test(journal(cwd))) {
            clearInterval(timer)
            child.kill('SIGKILL')
          }
        }, 20)
        // The restore stays hung after the kill too (lifted below, once one resume has ended).
        child.on('close', () => clearInterval(timer))
      },
      cwdReady: (dir) => (cwd = dir),
    })
    expect(killed.signal).toBe('SIGKILL')
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    // Right after the crash: the dead process's leases (one per component) have not lapsed yet.
    // The killed run's restore is held in flight until the first of the two resumes has ended: the one that continues
    // the run waits for it, so it cannot finish before the other has even started (a process start on a loaded
    // machine took seconds, and the late one then found a finished run, not a live one). The first to end is the
    // refused one; then the restore is let go and the other finishes the run.
    let lifted = false
    const lift = () => {
      if (!lifted) emulator.faults.set({hangOperations: []})
      lifted = true
    }
    const resume = () => runCli(['resume', runId, '--json', '--yes'], {cwd, env: emulator.env(), timeoutMs: 120_000}).finally(lift)
    const [a, b] = await Promise.all([resume(), resume()]).finally(lift)
    const codes = [a.code, b.code].sort()
    expect(codes, `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 5])
    const refused = a.code === 5 ? a : b
    expect(refused.stderr + refused.stdout).toMatch(/being written by another live process|in use by run/)
    const text = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    // One writer at a time: the chain is whole, no sequence number twice.
    expect(verifyChain(text).ok).toBe(true)
    const finished = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'run.finished')
    expect(finished.map((e) => e.data.status)).toEqual(['succeeded'])
    expect((await postgresServers(sdkServices(emulator))).filter((s) => /-drill-/.test(s.name))).toEqual([])
  }, 180_000)
})
