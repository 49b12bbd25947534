/**
 * slot-swap through the real CLI: the health gate in front of the swap, and the automatic swap back when production
 * starts failing after it — observed from outside, over HTTP on the slots' own ports and in the emulator's log.
 * The CLI runs in the test process (runRunbookInProcess: the same command, without ~1 s of start-up per run), Ctrl-C
 * included (runCliInProcess's interrupt() calls the run's own SIGINT handler); the spawned binary's exit codes and a
 * real SIGINT are covered by test/commands and the other integration files. Only the terminal prompt is a process.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {binRun, repoRoot, runCliInProcess} from '../helpers/cli.js'
import {onPty} from '../helpers/pty.js'
import {deploy, requests, runRunbookInProcess as runRunbook, scratchDir, sdkServices, servedVersion, startLocalEmulator} from './support.js'

const SITE = 'app-shop-storefront'
let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator()
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

/**
 * Requests that change something: not GETs, and not POST …/slotsdiffs (Web Apps - List Slot Differences, a read the
 * differences step makes before the swap: POST only because its target slot is a request body).
 */
const changing = (r: {method: string; path: string}) => r.method !== 'GET' && !/\/slotsdiffs$/i.test(r.path)
const swapRequests = (from: number) => requests(emulator).slice(from).filter((r) => /\/slotsswap$/i.test(r.path))
// watch=PT0S: the post-swap gate right after the swap (the emulator's metrics are there at once). No test here is about
// the watch, a fixed wait of the runbook's; one of 1 s made each run 1 s longer.
const args = ['--target', 'storefront', '--param', 'watch=PT0S']
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
    expect(requests(emulator).slice(from).filter((r) => r.method === 'POST' && /\/sites\//i.test(r.path)).map((r) => r.path.split('/').at(-1))).toEqual(['slotsdiffs', 'slotsswap'])
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
    expect(requests(emulator).slice(from).filter((r) => r.method === 'POST' && /\/sites\//i.test(r.path)).map((r) => r.path.split('/').at(-1))).toEqual(['slotsdiffs', 'applySlotConfig', 'slotsswap'])
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
    expect(requests(emulator).slice(from).filter(changing)).toEqual([])
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
    expect(requests(emulator).slice(from).filter(changing)).toEqual([])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v20'})
  })

  it('swaps back automatically when production fails after the swap, and says so (exit 1)', async () => {
    await deploy(emulator, SITE, 'production', 'v30')
    await deploy(emulator, SITE, 'staging', 'v31')
    const from = emulator.state.activity.list().length
    // The new build passes the slot gate, then fails once it takes production traffic: as soon as the swap has
    // happened, production (now serving v31) answers 5xx — from the first request after it (the emulator asks its
    // faults at every request), so the post-swap gate sees it without a watch.
    const faults = emulator.faults as {isSlotUnhealthy(site: string, slot: string): boolean}
    const unhealthy = faults.isSlotUnhealthy.bind(faults)
    const swapped = () => emulator.state.activity.list().slice(from).some((e) => e.kind === 'webapp.swap')
    faults.isSlotUnhealthy = (site, name) => unhealthy(site, name) || (name.toLowerCase() === 'production' && swapped())
    onTestFinished(() => void (faults.isSlotUnhealthy = unhealthy))
    const run = await runRunbook(emulator, 'slot-swap', args)
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

  // Ctrl-C after phase 1 of a swap with preview (production's slot settings applied to the slot), while the swap step
  // gates the slot: the pair used to stay "prepared for swap" unless roundTrip was set — staging kept production's
  // slot settings and every later swap got 409 — because only round trips reset the preview in teardown.
  /** slot-swap with preview, Ctrl-C once phase 1 is applied and the swap step gates the slot. */
  async function interruptedAfterPreview(production: string, slot: string, extra: string[] = []) {
    await siteAuthentication(false)
    onTestFinished(() => siteAuthentication(true))
    await deploy(emulator, SITE, 'production', production)
    await deploy(emulator, SITE, 'staging', slot)
    const from = emulator.requestLog().length
    // The slot answers its health path until the preview is applied, then fails: the swap step's own gate keeps
    // retrying (that is where Ctrl-C lands), and the slot-gate step before it passed.
    const faults = emulator.faults as {isSlotUnhealthy(site: string, slot: string): boolean}
    const unhealthy = faults.isSlotUnhealthy.bind(faults)
    const previewApplied = () => requests(emulator).slice(from).some((r) => r.method === 'POST' && /\/applySlotConfig$/i.test(r.path))
    faults.isSlotUnhealthy = (site, name) => unhealthy(site, name) || (name.toLowerCase() === 'staging' && previewApplied())
    const heal = () => void (faults.isSlotUnhealthy = unhealthy)
    onTestFinished(heal)
    let interrupted = false
    const cwd = scratchDir()
    const run = await runCliInProcess(['run', 'slot-swap', '--env', 'local', '--json', '--yes', ...args, ...extra], {
      cwd,
      env: emulator.env(),
      onOutput: (text, control) => {
        if (!interrupted && text.includes('production settings applied (swap with preview)')) {
          interrupted = true
          control.interrupt()
        }
      },
    })
    expect(interrupted, run.stderr).toBe(true)
    const web = await sdkServices(emulator).web()
    return {run, cwd, heal, json: JSON.parse(run.stdout), from, staging: await web.webApps.getSlot('rg-shop-local', SITE, 'staging')}
  }

  it('Ctrl-C while the previewed slot is gated: teardown resets the preview, production untouched (exit 130)', async () => {
    const {run, json, from, staging} = await interruptedAfterPreview('v40', 'v41')
    // Nothing is left prepared: staging has its own slot settings back, a later swap is not refused.
    expect(staging.targetSwapSlot ?? undefined).toBeUndefined()
    expect(run.code, run.stderr).toBe(130)
    expect(json.leftBehind).toEqual([])
    expect(json.steps.find((s: {id: string; phase: string}) => s.id === 'reset-preview' && s.phase === 'finally')).toMatchObject({status: 'succeeded'})
    // phase 1, then teardown's reset of each slot of the prepared pair (the slot first, then production: a no-op)
    const posts = requests(emulator).slice(from).filter((r) => r.method === 'POST' && changing(r)).map((r) => r.path.replace(/^.*\/sites\/[^/]+/i, '').toLowerCase())
    expect(posts).toEqual(['/slots/staging/applyslotconfig', '/slots/staging/resetslotconfig', '/resetslotconfig'])
    expect(swapRequests(from)).toEqual([])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v40'})
  }, 120_000)

  // Issue 16: the resumed segment's reset-preview finds nothing pending (the resumed swap completed): no ARM write, and
  // genuine. evidence verify's Activity Log witness checks that finding (every applySlotConfig followed by a reset or
  // swap) instead of calling the step forged.
  it('Ctrl-C after the preview of a round trip, then resume: evidence verify witnesses the run (exit 0)', async () => {
    // A round trip resets any pending preview in its teardown, in every segment: the resumed one finds none.
    const {run, cwd, heal, json} = await interruptedAfterPreview('v44', 'v45', ['--param', 'roundTrip=true'])
    expect(run.code, run.stderr).toBe(130)
    heal()
    const resumed = await runCliInProcess(['resume', json.runId, '--json', '--yes'], {cwd, env: emulator.env()})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v44'})
    const lines = readFileSync(json.journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    const resumedReset = lines.slice(lines.findLastIndex((l) => l.type === 'run.started')).find((l) => l.type === 'step.succeeded' && l.step === 'reset-preview')
    expect(resumedReset.data).toMatchObject({outputs: {wasPrepared: false}, found: [{kind: 'no-preview'}]})
    expect(resumedReset.data.arm).toBeUndefined()
    const verified = await runCliInProcess(['evidence', 'verify', json.runId, '--env', 'local', '--witness', 'auto'], {cwd, env: emulator.env()})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/activity log: \d+ of \d+ changing step\(s\) witnessed \(.*reset-preview \(resumed segment 1\)/)
    expect(verified.stdout).not.toMatch(/not witnessed/)
  }, 120_000)

  it('when teardown cannot reset the preview it says exactly what is left and how to reset it (exit 3)', async () => {
    // Azure refuses the reset (409) whatever is tried.
    emulator.faults.set({transient: {rate: 1, status: 409, operations: ['webapp.resetSlotConfigSlot']}})
    const {run, json, staging} = await interruptedAfterPreview('v42', 'v43')
    emulator.faults.clear()
    expect(staging.targetSwapSlot).toBe('production')
    expect(run.code, run.stderr).toBe(3)
    expect(json.leftBehind.join('\n')).toContain(
      "slots staging→production are still prepared for swap (a swap with preview is pending): app-shop-storefront/staging runs with production's slot settings and Azure refuses any other swap (409) until it is reset — az webapp deployment slot swap --resource-group rg-shop-local --name app-shop-storefront --slot staging --target-slot staging --action reset",
    )
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v42'})
    // what the user is told to run works: the reset, by hand
    const web = await sdkServices(emulator).web()
    await web.webApps.resetSlotConfigurationSlot('rg-shop-local', SITE, 'staging')
    expect((await web.webApps.getSlot('rg-shop-local', SITE, 'staging')).targetSwapSlot ?? undefined).toBeUndefined()
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------------------------------
// What the swap will change, shown before it (webapp.slotDifferences): names only, never values.

/** Settings with planted secret values in production and staging (app settings and connection strings, one sticky). */
async function plantSettings(on: RunningEmulator, stamp: string) {
  const web = await sdkServices(on).web()
  const rg = 'rg-shop-local'
  const secrets = {
    prodKey: `Pk${stamp}Qz8Wm`,
    nextKey: `Nk${stamp}Rt5Yb`,
    prodOnly: `Po${stamp}Lc3Vd`,
    newFlag: `Nf${stamp}Hs6Ga`,
    prodDb: `Server=tcp:prod;Password=Pd${stamp}Xe2Jk`,
    nextDb: `Server=tcp:next;Password=Nd${stamp}Uw9Ci`,
    stickyProd: `Sp${stamp}Ko4Tf`,
    stickyNext: `Sn${stamp}Ba7Qe`,
  }
  const before = {
    app: (await web.webApps.listApplicationSettings(rg, SITE)).properties ?? {},
    appSlot: (await web.webApps.listApplicationSettingsSlot(rg, SITE, 'staging')).properties ?? {},
    cs: (await web.webApps.listConnectionStrings(rg, SITE)).properties ?? {},
    csSlot: (await web.webApps.listConnectionStringsSlot(rg, SITE, 'staging')).properties ?? {},
    names: await web.webApps.listSlotConfigurationNames(rg, SITE),
  }
  await web.webApps.updateSlotConfigurationNames(rg, SITE, {...before.names, appSettingNames: [...(before.names.appSettingNames ?? []), 'TENANT_SECRET']})
  await web.webApps.updateApplicationSettings(rg, SITE, {properties: {...before.app, PAYMENT_API_KEY: secrets.prodKey, LEGACY_TOKEN: secrets.prodOnly, TENANT_SECRET: secrets.stickyProd}})
  await web.webApps.updateApplicationSettingsSlot(rg, SITE, 'staging', {properties: {...before.appSlot, PAYMENT_API_KEY: secrets.nextKey, NEW_FEATURE_TOKEN: secrets.newFlag, TENANT_SECRET: secrets.stickyNext}})
  await web.webApps.updateConnectionStrings(rg, SITE, {properties: {...before.cs, ordersdb: {value: secrets.prodDb, type: 'SQLAzure'}}})
  await web.webApps.updateConnectionStringsSlot(rg, SITE, 'staging', {properties: {...before.csSlot, ordersdb: {value: secrets.nextDb, type: 'SQLAzure'}}})
  const restore = async () => {
    await web.webApps.updateSlotConfigurationNames(rg, SITE, before.names)
    await web.webApps.updateApplicationSettings(rg, SITE, {properties: before.app})
    await web.webApps.updateApplicationSettingsSlot(rg, SITE, 'staging', {properties: before.appSlot})
    await web.webApps.updateConnectionStrings(rg, SITE, {properties: before.cs})
    await web.webApps.updateConnectionStringsSlot(rg, SITE, 'staging', {properties: before.csSlot})
  }
  return {secrets, restore}
}

/** Every byte a run left: its local files (journal, summary, report…) and its blobs in the evidence container. */
async function evidenceOf(on: RunningEmulator, cwd: string, runId: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  const dir = join(cwd, '.opsbook', 'runs', runId)
  for (const name of ['journal.jsonl', 'summary.json', 'report.md']) if (existsSync(join(dir, name))) files[name] = readFileSync(join(dir, name), 'utf8')
  const {endpoint, account, key} = on.blob
  const container = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key)).getContainerClient('opsbook-evidence')
  for await (const blob of container.listBlobsFlat({prefix: 'runs/'}))
    if (blob.name.includes(`/${runId}/`)) files[`blob ${blob.name.split('/').at(-1)}`] = (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8')
  return files
}

/** Where any planted value shows (a fragment of 8 characters or more counts). */
function leaks(secrets: Record<string, string>, places: Record<string, string>): string[] {
  const found: string[] = []
  for (const [where, text] of Object.entries(places))
    for (const [what, value] of Object.entries(secrets)) {
      const core = value.replace(/^.*Password=/, '')
      if (text.includes(core) || text.includes(core.slice(0, 8)) || text.includes(core.slice(-8))) found.push(`${what} in ${where}`)
    }
  return found
}

describe('slot-swap shows what the swap changes in production before it swaps', () => {
  it('lists the changing settings by name (run output, journal, summary, report, Blob) before the swap, and no planted value anywhere', async () => {
    const {secrets, restore} = await plantSettings(emulator, String(Date.now()).slice(-7))
    onTestFinished(restore)
    await deploy(emulator, SITE, 'production', 'v50')
    await deploy(emulator, SITE, 'staging', 'v51')
    const run = await runRunbook(emulator, 'slot-swap', args)
    expect(run.code, run.stderr).toBe(0)
    const differences = run.json.steps.find((s: {id: string; phase: string}) => s.id === 'differences' && s.phase === 'main')
    expect(differences.status).toBe('succeeded')
    // Before the swap: in the journal, the differences are in before the swap step starts.
    const events = readFileSync(resolve(run.cwd, run.json.journal), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    const at = (type: string, step: string) => events.findIndex((e) => e.type === type && e.step === step)
    expect(at('step.succeeded', 'differences')).toBeGreaterThan(-1)
    expect(at('step.succeeded', 'differences')).toBeLessThan(at('step.started', 'swap'))
    const expected = ['AppSetting LEGACY_TOKEN (removed)', 'AppSetting NEW_FEATURE_TOKEN (added)', 'AppSetting PAYMENT_API_KEY (modified)', 'ConnectionString ordersdb (modified)']
    const outputs = events[at('step.succeeded', 'differences')].data.outputs
    expect(outputs.changing).toEqual(expect.arrayContaining(expected))
    // The slot setting stays with its slot: not a change the swap makes in production.
    expect(outputs.changing.join(' ')).not.toContain('TENANT_SECRET')
    expect(run.json.outputs.swapChanges).toMatch(/^swapping app-shop-storefront\/staging into production changes \d+ settings there: /)
    for (const name of expected) expect(run.json.outputs.swapChanges).toContain(name)
    // The run output (progress on stderr), the journal, the summary, the report and their copies in Blob name them.
    const files = await evidenceOf(emulator, run.cwd, run.json.runId)
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['journal.jsonl', 'summary.json', 'report.md', 'blob journal.jsonl', 'blob summary.json', 'blob report.md']))
    const named = ['journal.jsonl', 'summary.json', 'report.md', 'blob journal.jsonl', 'blob summary.json', 'blob report.md']
    for (const [where, text] of Object.entries({stderr: run.stderr, ...files})) if (where === 'stderr' || named.includes(where)) expect([where, text.includes('PAYMENT_API_KEY (modified)')]).toEqual([where, true])
    // …and not one value, in any of them or on stdout.
    expect(leaks(secrets, {stdout: run.stdout, stderr: run.stderr, ...files})).toEqual([])
    expect(await servedVersion(emulator, SITE)).toEqual({status: 200, version: 'v51'})
    // The values were there to leak: production now runs with staging's key.
    expect((await (await sdkServices(emulator).web()).webApps.listApplicationSettings('rg-shop-local', SITE)).properties?.PAYMENT_API_KEY).toBe(secrets.nextKey)
  })
})

describe('slot-swap in production', () => {
  // The same platform declared production in the CLI's catalog: production is the CLI's decision (confirmations,
  // approvals), the emulator serves the same resources either way, so the file's emulator serves these runs too.
  let prod: RunningEmulator
  let catalogDir: string
  beforeAll(() => {
    catalogDir = scratchDir()
    writeFileSync(join(catalogDir, 'runbooks.yaml'), readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('production: false', 'production: true'))
    prod = emulator
  })

  it('asks for the swap on a terminal with the settings it changes (names only), after the production confirmation', async () => {
    const {secrets, restore} = await plantSettings(prod, String(Date.now()).slice(-7))
    onTestFinished(restore)
    await deploy(prod, SITE, 'production', 'v60')
    await deploy(prod, SITE, 'staging', 'v61')
    const command = `node ${binRun} run slot-swap --env local --target storefront --param watch=PT0S --override-window --reason "slotsdiffs test"`
    const {code, screen} = await onPty(
      command,
      catalogDir,
      [
        {when: 'Type the environment name', send: 'local\r'},
        {when: 'Type the environment name', send: 'local\r'},
      ],
      {env: prod.env(), timeoutMs: 120_000},
    )
    expect(code, screen).toBe(0)
    // The second prompt is the swap's: it names what changes in production, and nothing was swapped before it.
    const prompt = screen.slice(screen.indexOf('Swap app-shop-storefront/staging into PRODUCTION (local)?'))
    expect(prompt.length, screen).toBeGreaterThan(0)
    expect(prompt.replace(/\s+/g, ' ')).toMatch(/Swap app-shop-storefront\/staging into PRODUCTION \(local\)\? swapping app-shop-storefront\/staging into production changes \d+ settings there: .*AppSetting PAYMENT_API_KEY \(modified\)/)
    expect(prompt.indexOf('Type the environment name')).toBeLessThan(prompt.search(/swapped staging into production/))
    expect(leaks(secrets, {screen})).toEqual([])
    expect(await servedVersion(prod, SITE)).toEqual({status: 200, version: 'v61'})
  }, 150_000)

  it('off a terminal, --approve run alone stops at the swap approval with exit 4 and nothing swapped', async () => {
    await deploy(prod, SITE, 'production', 'v62')
    await deploy(prod, SITE, 'staging', 'v63')
    const from = prod.requestLog().length
    const run = await runCliInProcess(['run', 'slot-swap', '--env', 'local', '--target', 'storefront', '--param', 'watch=PT0S', '--override-window', '--reason', 'test', '--approve', 'run', '--json'], {cwd: catalogDir, env: prod.env()})
    expect(run.code, run.stderr).toBe(4)
    expect(JSON.parse(run.stdout).error.message).toContain('approve-swap')
    expect(prod.requestLog().slice(from).filter((r) => /\/slotsswap$/i.test(r.path))).toEqual([])
    expect(await servedVersion(prod, SITE)).toEqual({status: 200, version: 'v62'})
  })
})
