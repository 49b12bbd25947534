/**
 * Issue 16 / 11: a region-failover killed (SIGKILL) once its `finally` fail-back (`restore`, failover.restore) has
 * started but before any of its updates reached Azure, then resumed — once as it is, once after a Ctrl-C while it
 * waited for traffic in the DR region (`healthy`, a main step).
 *
 * The resume used to redo the switch (a teardown that started undid its scope, src/evidence/resume-state.ts): the
 * redone switch found traffic already in westus and changed nothing, so the restore had nothing to put back and
 * traffic stayed in the DR region (resume exit 3). With `healthy` cut off too, it undid the scope although the
 * teardown wrote nothing. Now a teardown that wrote nothing undoes nothing: the resume keeps the switch and its
 * journaled `changed`, redoes what was cut off, and the restore puts traffic back in eastus; the Activity Log
 * witnesses every changing step. One emulator for both.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCliInProcess} from '../helpers/cli.js'
import {journalLines, runRunbook, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

/**
 * How long a routing change takes to reach clients. Only the Ctrl-C needs a long one — traffic reaches the DR region a
 * while after the switch, long enough for the Ctrl-C to land while `healthy` waits; every other wait (the first test's
 * `healthy`, each resume's fail-back `back`) waits for a short one: 3 s each was 9 of the file's 17 s (CI, idle).
 */
const CTRL_C_WINDOW_MS = 3000
const PROPAGATION_MS = 200

beforeAll(async () => {
  emulator = await startLocalEmulator({routingPropagationMs: PROPAGATION_MS})
})
afterAll(async () => {
  emulator?.faults.clear()
  await emulator?.stop()
})

async function endpoints(): Promise<Array<[string, string]>> {
  const profile = await (await sdkServices(emulator).trafficManager()).profiles.get('rg-shop-local', 'tm-shop-local')
  return (profile.endpoints ?? []).map((e) => [e.name!, e.endpointStatus!])
}

/** Runs region-failover, (optionally Ctrl-C while `healthy` waits,) SIGKILLs it once `restore` started, resumes it. */
async function killInFailBackThenResume(options: {ctrlCWhileHealthy: boolean}) {
  let cwd = ''
  let interrupted = false
  emulator.setRoutingPropagationMs(options.ctrlCWhileHealthy ? CTRL_C_WINDOW_MS : PROPAGATION_MS)
  const killed = await runRunbook(emulator, 'region-failover', ['--target', 'storefront-dns', '--param', 'timeout=PT20S'], {
    cwdReady: (dir) => (cwd = dir),
    onStart(child) {
      const timer = setInterval(() => {
        const lines = journalLines(cwd)
        // Once the switch is done, every endpoint PATCH has its connection dropped before ARM handles it: the
        // restore's updates never reach Azure. The kill lands once the journal shows the restore started.
        if (lines.some((e) => e.type === 'step.succeeded' && e.step === 'switch')) emulator.faults.set({resetConnections: {next: 1000, methods: ['PATCH']}})
        if (options.ctrlCWhileHealthy && !interrupted && lines.some((e) => e.type === 'step.started' && e.step === 'healthy')) {
          interrupted = true
          child.kill('SIGINT')
        }
        if (lines.some((e) => e.type === 'step.started' && e.step === 'restore')) {
          clearInterval(timer)
          child.kill('SIGKILL')
        }
      }, 20)
      child.on('close', () => clearInterval(timer))
    },
  })
  emulator.faults.set({resetConnections: {next: 0}})
  emulator.setRoutingPropagationMs(PROPAGATION_MS)
  expect(killed.signal, killed.stderr).toBe('SIGKILL')
  const before = journalLines(cwd)
  // `healthy` cut off by the Ctrl-C (it did not see traffic in westus) when there was one
  if (options.ctrlCWhileHealthy) expect(before.some((e) => e.step === 'healthy' && e.type === 'step.succeeded')).toBe(false)
  expect(before.filter((e) => e.step === 'restore' && e.type !== 'step.log').map((e) => e.type)).toEqual(['step.started'])
  // Cut off before any write: traffic is still in the DR region.
  expect(await endpoints()).toEqual([
    ['eastus', 'Disabled'],
    ['westus', 'Enabled'],
  ])

  const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
  const env = emulator.env()
  const resumed = await runCliInProcess(['resume', runId, '--json', '--yes'], {cwd, env})
  expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
  expect(JSON.parse(resumed.stdout)).toMatchObject({runId, status: 'succeeded', outputs: {failedBack: true, servedAfterFailBack: 'eastus'}})
  expect(await endpoints()).toEqual([
    ['eastus', 'Enabled'],
    ['westus', 'Enabled'],
  ])
  // The switch was not done again: one switch.succeeded in the whole journal, and the restore put back what it changed.
  const after = journalLines(cwd)
  expect(after.filter((e) => e.step === 'switch' && e.type === 'step.succeeded')).toHaveLength(1)
  const switched = (after.find((e) => e.step === 'switch' && e.type === 'step.succeeded')!.data.outputs.changed as Array<{name: string}>).map((c) => c.name)
  expect(switched.length).toBeGreaterThan(0)
  expect(after.findLast((e) => e.step === 'restore' && e.type === 'step.succeeded')?.data.outputs.restored).toEqual([...switched].reverse())
  return {cwd, runId, env}
}

describe('region-failover resumed after a kill in its fail-back', () => {
  it('puts traffic back in eastus and verifies with the Activity Log (exit 0)', async () => {
    const {cwd, runId, env} = await killInFailBackThenResume({ctrlCWhileHealthy: false})
    const verified = await runCliInProcess(['evidence', 'verify', runId, '--env', 'local', '--witness', 'activity-log'], {cwd, env})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).not.toMatch(/not witnessed|not checkable/)
  }, 150_000)

  it('after a Ctrl-C in its wait as well: keeps the switch, waits again and puts traffic back in eastus (exit 0)', async () => {
    await killInFailBackThenResume({ctrlCWhileHealthy: true})
  }, 150_000)
})
