/**
 * `runs list --env`: runs recorded by other machines (CI jobs) are found in the environment's evidence container,
 * and a run recorded both here and in Blob is listed once. The CLI runs in the test process (no process start per
 * command); each command gets its own working directory, as on separate machines.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCliInProcess as runCli} from '../helpers/cli.js'
import {runRunbookInProcess as runRunbook, scratchDir, startLocalEmulator} from '../integration/support.js'

let emulator: RunningEmulator
beforeAll(async () => {
  emulator = await startLocalEmulator()
})
afterAll(async () => emulator?.stop())

describe('runs list --env', () => {
  it('lists a run made on another machine from Blob, and a local run once with both places', async () => {
    const ciMachine = scratchDir()
    const run = await runRunbook(emulator, 'hello', ['--param', 'pause=PT0S'], {cwd: ciMachine})
    expect(run.code, run.stderr).toBe(0)
    const laptop = scratchDir()
    const there = await runCli(['runs', 'list', '--env', 'local', '--json'], {cwd: laptop, env: emulator.env()})
    expect(there.code, there.stderr).toBe(0)
    const remote = JSON.parse(there.stdout).runs.find((r: any) => r.runId === run.json.runId)
    expect(remote).toMatchObject({runbook: 'hello', environment: 'local', status: 'succeeded', where: ['blob']})
    expect(remote.durationMs).toBeGreaterThan(0)
    // Without --env only this machine's runs: the laptop has none.
    expect(JSON.parse((await runCli(['runs', 'list', '--json'], {cwd: laptop, env: emulator.env()})).stdout).runs).toEqual([])
    const here = JSON.parse((await runCli(['runs', 'list', '--env', 'local', '--json'], {cwd: ciMachine, env: emulator.env()})).stdout).runs
    expect(here.filter((r: any) => r.runId === run.json.runId)).toEqual([expect.objectContaining({where: ['local', 'blob']})])
  }, 120_000)
})
