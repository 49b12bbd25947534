/**
 * Issue 16, item 8: a run that loses its lease while another run takes the target must not change that target beside
 * it — main steps stop starting (the change guard), and so do the run's teardown changes (rollbacks, `finally`): they
 * are named as left (exit 3) and `opsbook resume` runs them once the other run is done.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ApprovalDecision} from '../../src/actions/types.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {openEvidenceTarget} from '../../src/evidence/blob-sink.js'
import {acquireTargetLease, lockBlobName} from '../../src/evidence/lease.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {runRunbook, type RunOptions} from '../../src/runbooks/runner.js'
import {repoRoot, scratchDir, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
beforeAll(async () => {
  emulator = await startLocalEmulator()
  Object.assign(process.env, emulator.env())
}, 60_000)
afterAll(async () => {
  await emulator?.stop()
})

function options(cwd: string, onEvent: (event: RunEvent) => Promise<void> | void = () => undefined): Omit<RunOptions, 'runbook' | 'envName' | 'params'> {
  return {
    cwd,
    approver: {approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'test', via: 'yes'})},
    interactive: false,
    preApproved: (): ApprovalDecision => ({approved: true, by: '--yes', via: 'yes'}),
    listeners: [async (event: RunEvent) => onEvent(event)],
    signal: new AbortController().signal,
    leaseRenewEveryMs: 50,
  }
}

const RUNBOOK = `name: export-twice
title: An export, and another in finally (a teardown that changes the target)
kind: maintenance
steps:
  - id: export
    uses: redis.export
    with: {cache: sessions-cache, prefix: lease-teardown-main.rdb}
finally:
  - id: export-again
    uses: redis.export
    with: {cache: sessions-cache, prefix: lease-teardown-finally.rdb}
`

describe('a teardown after another run took the target', () => {
  it('is not started beside that run: exit 3 naming the holder; resume runs it once the other run is done', async () => {
    const cwd = scratchDir({'export-twice.yaml': RUNBOOK})
    const evidence = (await openEvidenceTarget(loadCatalog({flag: join(repoRoot, 'runbooks.yaml')}).catalog.environments.local!, sdkServices(emulator)))!
    let thief: Awaited<ReturnType<typeof acquireTargetLease>> | undefined
    let lost = false
    const first = await runRunbook({
      ...options(cwd, async (event) => {
        if (event.type === 'run.note' && /lost the lease/.test(event.message)) lost = true
        if (event.type === 'operation.started' && event.step === 'export' && !thief) {
          // Another run takes the component (its lease broken, as a partition that outlived the lease would let it).
          await evidence.client.getBlockBlobClient(lockBlobName('local', 'sessions-cache')).getBlobLeaseClient().breakLease(0)
          thief = await acquireTargetLease({container: evidence.client, environmentName: 'local', component: 'sessions-cache', holder: {runId: 'run-thief'}})
          while (!lost) await new Promise((resolve) => setTimeout(resolve, 20))
        }
      }),
      runbook: './export-twice.yaml',
      envName: 'local',
      params: {},
    })
    try {
      expect(thief).toBeDefined()
      const journal = readFileSync(first.journal, 'utf8')
      // The finally export was not started beside run-thief: no step.started of it, and what is left names why.
      expect(journal).not.toMatch(/"type":"step\.started","step":"export-again"/)
      expect(first.leftBehind.join('\n')).toMatch(/finally step export-again \(redis\.export\) failed: not started: this run lost its lease on component "sessions-cache" and run run-thief holds it now/)
      expect(first.exitCode).toBe(3)
    } finally {
      await thief?.release()
    }
    const events: RunEvent[] = []
    const resumed = await resumeRun({...options(cwd, (event) => void events.push(event)), runId: first.runId, params: {}})
    expect(resumed.exitCode).toBe(0)
    expect(events.some((e) => e.type === 'step.succeeded' && e.step === 'export-again')).toBe(true)
    // The main export is not done again.
    expect(events.some((e) => e.type === 'step.started' && e.step === 'export')).toBe(false)
  }, 90_000)
})
