/**
 * Issue 16 / 11: a region-failover killed (SIGKILL) once its `finally` fail-back (`restore`, failover.restore) has
 * started but before any of its updates reached Azure, then resumed. The resume used to redo the switch (a teardown
 * that started undid its scope, src/evidence/resume-state.ts): the redone switch found traffic already in westus and
 * changed nothing, so the restore had nothing to put back and traffic stayed in the DR region (resume exit 3). Now
 * the resume keeps the switch and its journaled `changed`, and runs the restore again with it: traffic is back in
 * eastus, and the Activity Log witnesses every changing step. One emulator, one run, one kill, one resume, one verify.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCliInProcess} from '../helpers/cli.js'
import {journalLines, runRunbook, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator({routingPropagationMs: 1000})
})
afterAll(async () => {
  emulator?.faults.clear()
  await emulator?.stop()
})

async function endpoints(): Promise<Array<[string, string]>> {
  const profile = await (await sdkServices(emulator).trafficManager()).profiles.get('rg-shop-local', 'tm-shop-local')
  return (profile.endpoints ?? []).map((e) => [e.name!, e.endpointStatus!])
}

describe('region-failover resumed after a kill in its fail-back', () => {
  it('puts traffic back in eastus and verifies with the Activity Log (exit 0)', async () => {
    let cwd = ''
    const killed = await runRunbook(emulator, 'region-failover', ['--target', 'storefront-dns', '--param', 'timeout=PT20S'], {
      cwdReady: (dir) => (cwd = dir),
      onStart(child) {
        const timer = setInterval(() => {
          const lines = journalLines(cwd)
          // Once the switch is done, every endpoint PATCH has its connection dropped before ARM handles it: the
          // restore's updates never reach Azure. The kill lands once the journal shows the restore started.
          if (lines.some((e) => e.type === 'step.succeeded' && e.step === 'switch')) emulator.faults.set({resetConnections: {next: 1000, methods: ['PATCH']}})
          if (lines.some((e) => e.type === 'step.started' && e.step === 'restore')) {
            clearInterval(timer)
            child.kill('SIGKILL')
          }
        }, 20)
        child.on('close', () => clearInterval(timer))
      },
    })
    emulator.faults.set({resetConnections: {next: 0}})
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    const before = journalLines(cwd)
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

    const verified = await runCliInProcess(['evidence', 'verify', runId, '--env', 'local', '--witness', 'activity-log'], {cwd, env})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).not.toMatch(/not witnessed|not checkable/)
  }, 120_000)
})
