/**
 * slot-swap through the real CLI: the health gate in front of the swap, and the automatic swap back when production
 * starts failing after it — observed from outside, over HTTP on the slots' own ports and in the emulator's log.
 * The CLI runs in the test process (runRunbookInProcess: the same command, without ~1 s of start-up per run); the
 * spawned binary's exit codes are covered by test/commands and the other integration files.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {deploy, requests, runRunbookInProcess as runRunbook, servedVersion, startLocalEmulator} from './support.js'

const SITE = 'app-shop-storefront'
let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator()
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

const swapRequests = (from: number) => requests(emulator).slice(from).filter((r) => /\/slotsswap$/i.test(r.path))
const args = ['--target', 'storefront', '--param', 'watch=PT1S']

describe('slot-swap', () => {
  it('swaps a healthy slot into production and keeps it there', async () => {
    await deploy(emulator, SITE, 'production', 'v10')
    await deploy(emulator, SITE, 'staging', 'v11')
    const run = await runRunbook(emulator, 'slot-swap', args)
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs).toMatchObject({previousVersion: 'v10', swappedVersion: 'v11', swappedBack: false})
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v11'})
  })

  it('does not swap an unhealthy slot: production untouched, exit 1', async () => {
    await deploy(emulator, SITE, 'production', 'v20')
    await deploy(emulator, SITE, 'staging', 'v21-broken', false)
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'slot-swap', args)
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.steps.find((s: {id: string}) => s.id === 'slot-gate')).toMatchObject({status: 'failed'})
    expect(swapRequests(from)).toEqual([])
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v20'})
  })

  it('swaps back automatically when production fails after the swap, and says so (exit 1)', async () => {
    await deploy(emulator, SITE, 'production', 'v30')
    await deploy(emulator, SITE, 'staging', 'v31')
    const from = emulator.state.activity.list().length
    // The new build passes the slot gate, then fails once it takes production traffic: as soon as the swap has
    // happened, production (now serving v31) starts answering 5xx.
    const watcher = setInterval(() => {
      if (emulator.state.activity.list().slice(from).some((e) => e.kind === 'webapp.swap')) {
        emulator.faults.set({unhealthySlots: [`${SITE}/production`]})
        clearInterval(watcher)
      }
    }, 10)
    const run = await runRunbook(emulator, 'slot-swap', args)
    clearInterval(watcher)
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.status).toBe('failed')
    expect(run.json.steps.find((s: {id: string}) => s.id === 'production-health')).toMatchObject({status: 'failed'})
    const swapBack = run.json.steps.find((s: {id: string; phase: string}) => s.id === 'auto-swap-back' && s.phase === 'finally')
    expect(swapBack.status).toBe('succeeded')
    expect(run.json.outputs).toMatchObject({previousVersion: 'v30', swappedVersion: 'v31', swappedBack: true, productionVersion: 'v30'})
    expect(run.stderr).toMatch(/post-swap gate failed .* inside the rollback\s+window \(PT30M\): swapping storefront back automatically/)
    // Two swaps (there and back) and production serves the old version again, over HTTP.
    expect(emulator.state.activity.list().slice(from).filter((e) => e.kind === 'webapp.swap')).toHaveLength(2)
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v30'})
  })
})
