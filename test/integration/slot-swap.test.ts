/**
 * slot-swap through the real CLI: the health gate in front of the swap, and the automatic swap back when production
 * starts failing after it — observed from outside, over HTTP on the slots' own ports and in the emulator's log.
 * The CLI runs in the test process (runRunbookInProcess: the same command, without ~1 s of start-up per run); the
 * spawned binary's exit codes are covered by test/commands and the other integration files.
 */
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {deploy, requests, runRunbookInProcess as runRunbook, sdkServices, servedVersion, startLocalEmulator} from './support.js'

const SITE = 'app-shop-storefront'
let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator()
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

const swapRequests = (from: number) => requests(emulator).slice(from).filter((r) => /\/slotsswap$/i.test(r.path))
const args = ['--target', 'storefront', '--param', 'watch=PT1S']
const LEARN = 'https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap'

/** Turn App Service Authentication (Easy Auth) on or off in production and staging, through the SDK. */
async function siteAuthentication(enabled: boolean): Promise<void> {
  const web = await sdkServices(emulator).web()
  await web.webApps.updateAuthSettingsV2('rg-shop-local', SITE, {platform: {enabled}})
  await web.webApps.updateAuthSettingsV2Slot('rg-shop-local', SITE, 'staging', {platform: {enabled}})
}

const stepStatus = (run: {json: any}, id: string) => run.json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === 'main')?.status

describe('slot-swap', () => {
  // The seeded app has site authentication (Easy Auth) on in every slot, and Azure refuses a swap with preview then
  // (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap).
  it('swaps a healthy slot with site authentication on directly, says so, and still gates production', async () => {
    await deploy(emulator, SITE, 'production', 'v10')
    await deploy(emulator, SITE, 'staging', 'v11')
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'slot-swap', args)
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs).toMatchObject({previousVersion: 'v10', swappedVersion: 'v11', swappedBack: false, preview: false})
    expect(run.json.outputs.directSwapReason).toMatch(/site authentication \(Easy Auth\) is on .*direct swap/)
    expect(requests(emulator).slice(from).filter((r) => r.method === 'POST' && /\/sites\//i.test(r.path)).map((r) => r.path.split('/').at(-1))).toEqual(['slotsswap'])
    expect([stepStatus(run, 'swap-mode'), stepStatus(run, 'production-health'), stepStatus(run, 'production-metrics')]).toEqual(['succeeded', 'succeeded', 'succeeded'])
    const journal = readFileSync(resolve(run.cwd, run.json.journal), 'utf8')
    expect(journal).toContain('Azure refuses a swap with preview')
    expect(journal).toContain('post-swap health gate with automatic swap-back')
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v11'})
  })

  it('swaps an app without site authentication with preview', async () => {
    await siteAuthentication(false)
    onTestFinished(() => siteAuthentication(true))
    await deploy(emulator, SITE, 'production', 'v12')
    await deploy(emulator, SITE, 'staging', 'v13')
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'slot-swap', args)
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs).toMatchObject({previousVersion: 'v12', swappedVersion: 'v13', preview: true})
    expect(run.json.outputs.directSwapReason ?? undefined).toBeUndefined()
    expect(requests(emulator).slice(from).filter((r) => r.method === 'POST' && /\/sites\//i.test(r.path)).map((r) => r.path.split('/').at(-1))).toEqual(['applySlotConfig', 'slotsswap'])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v13'})
  })

  it('refuses preview=always with site authentication on: exit 2, the reason and the page, nothing changed', async () => {
    await deploy(emulator, SITE, 'production', 'v14')
    await deploy(emulator, SITE, 'staging', 'v15')
    const from = emulator.requestLog().length
    const run = await runRunbook(emulator, 'slot-swap', [...args, '--param', 'preview=always'])
    expect(run.code, run.stderr).toBe(2)
    expect(`${run.stdout}${run.stderr}`).toContain('Swap with Preview cannot be used when one of the slots has site authentication enabled.')
    expect(`${run.stdout}${run.stderr}`).toContain(LEARN)
    expect(stepStatus(run, 'swap-mode')).toBe('failed')
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v14'})
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
