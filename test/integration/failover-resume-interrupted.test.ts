/**
 * Issue 16: a region-failover interrupted (Ctrl-C) while waiting for traffic in the DR region (`healthy`, a main
 * step), then SIGKILLed once its `finally` fail-back (`restore`) had started but before any of its updates reached
 * Azure, then resumed. `healthy` was cut off, so the resume does it again; it used to undo the teardown's scope at the
 * restore's start as well (src/evidence/resume-state.ts), so the switch was redone too — with traffic still in the DR
 * region it changed nothing, and the restore had nothing to put back (the fail-back lost). A teardown that wrote
 * nothing undid nothing: the resume keeps the switch and its journaled `changed`, redoes `healthy`, and the restore
 * puts traffic back in eastus. (failover-resume.test.ts covers the kill without the Ctrl-C.)
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCliInProcess} from '../helpers/cli.js'
import {journalLines, runRunbook, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  // Traffic reaches the DR region a while after the switch: long enough for the Ctrl-C to land while `healthy` waits.
  emulator = await startLocalEmulator({routingPropagationMs: 3000})
})
afterAll(async () => {
  emulator?.faults.clear()
  await emulator?.stop()
})

async function endpoints(): Promise<Array<[string, string]>> {
  const profile = await (await sdkServices(emulator).trafficManager()).profiles.get('rg-shop-local', 'tm-shop-local')
  return (profile.endpoints ?? []).map((e) => [e.name!, e.endpointStatus!])
}

describe('region-failover resumed after a Ctrl-C in its wait and a kill in its fail-back', () => {
  it('keeps the switch, waits again and puts traffic back in eastus (exit 0)', async () => {
    let cwd = ''
    let interrupted = false
    const killed = await runRunbook(emulator, 'region-failover', ['--target', 'storefront-dns', '--param', 'timeout=PT20S'], {
      cwdReady: (dir) => (cwd = dir),
      onStart(child) {
        const timer = setInterval(() => {
          const lines = journalLines(cwd)
          // Once the switch is done, every endpoint PATCH has its connection dropped before ARM handles it: the
          // restore's updates never reach Azure. Ctrl-C while `healthy` waits; the kill once the restore started.
          if (lines.some((e) => e.type === 'step.succeeded' && e.step === 'switch')) emulator.faults.set({resetConnections: {next: 1000, methods: ['PATCH']}})
          if (!interrupted && lines.some((e) => e.type === 'step.started' && e.step === 'healthy')) {
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
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    const before = journalLines(cwd)
    // `healthy` was cut off by the Ctrl-C (it did not see traffic in westus), the restore by the kill before any write.
    expect(before.some((e) => e.step === 'healthy' && e.type === 'step.succeeded')).toBe(false)
    expect(before.filter((e) => e.step === 'restore' && e.type !== 'step.log').map((e) => e.type)).toEqual(['step.started'])
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
  }, 150_000)
})
