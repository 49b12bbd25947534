/**
 * The standing fault matrix (issue 16): built-in runbooks × faults, run in this process against the in-process
 * emulator (CLI spawns are covered by dr-drill-interrupt.test.ts: SIGKILL + resume, concurrent resume). Each cell has
 * a defined end state and exit code, and for every cell: what production serves is what that end state says, no
 * slot is left prepared for swap, no scratch server remains (through ARM), the journal chain verifies, and after a
 * sync the Blob copy of the journal equals the local one. The matrix is printed as a table at the end.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ApprovalDecision, Approver} from '../../src/actions/types.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {exitCodeOf} from '../../src/errors.js'
import {findRunBlobPrefix, openEvidenceTarget} from '../../src/evidence/blob-sink.js'
import {acquireTargetLease, currentLeaseHolder, lockBlobName} from '../../src/evidence/lease.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {syncPending} from '../../src/evidence/sync.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {opsbookRoot, runRunbook, type RunResult} from '../../src/runbooks/runner.js'
import {deploy, postgresServers, repoRoot, scratchDir, sdkServices, servedVersion, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
const SITE = 'app-shop-storefront'
const rows: Array<{runbook: string; fault: string; expected: string; exit: number | string; leftBehind: number; chain: string; blob: string}> = []

beforeAll(async () => {
  emulator = await startLocalEmulator()
  // The runs below connect to this emulator the way the CLI does (OPSBOOK_EMULATOR_URL …).
  Object.assign(process.env, emulator.env())
})
afterAll(async () => {
  console.log(`\nfault matrix\n${table()}`)
  await emulator?.stop()
})

function table(): string {
  const head = ['runbook', 'fault', 'expected end state', 'exit', 'left behind', 'chain', 'local = Blob']
  const body = rows.map((r) => [r.runbook, r.fault, r.expected, String(r.exit), String(r.leftBehind), r.chain, r.blob])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

const yes: Approver = {approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'fault-matrix', via: 'yes'})}

interface CellRun {
  result?: RunResult
  exit: number
  error?: unknown
}

async function run(
  cwd: string,
  runbook: string,
  params: Record<string, string>,
  options: {target?: string; signal?: AbortSignal; teardownSignal?: AbortSignal; onEvent?: (event: RunEvent) => void | Promise<void>; resume?: string; teardownTimeoutMs?: number} = {},
): Promise<CellRun> {
  const common = {
    cwd,
    approver: yes,
    interactive: false,
    preApproved: (): ApprovalDecision => ({approved: true, by: '--yes', via: 'yes'}),
    listeners: [async (event: RunEvent) => options.onEvent?.(event)],
    signal: options.signal ?? new AbortController().signal,
    teardownSignal: options.teardownSignal,
    leaseRenewEveryMs: 50,
    teardownTimeoutMs: options.teardownTimeoutMs ?? 60_000,
  }
  try {
    const result = options.resume
      ? await resumeRun({...common, runId: options.resume, params: {}})
      : await runRunbook({...common, runbook, envName: 'local', params, target: options.target})
    return {result, exit: result.exitCode}
  } catch (error) {
    return {exit: exitCodeOf(error), error}
  }
}

/** The invariants every cell must hold; returns what the table shows. */
async function invariants(cwd: string, runId: string, options: {slotsSettled?: boolean} = {}): Promise<{chain: string; blob: string}> {
  const root = opsbookRoot({cwd})
  const local = readFileSync(`${root}/runs/${runId}/journal.jsonl`, 'utf8')
  expect(verifyChain(local).ok).toBe(true)
  const loaded = loadCatalog({cwd})
  const environment = loaded.catalog.environments.local!
  const services = sdkServices(emulator)
  await syncPending(root, {name: 'local', environment}, services, {runIds: [runId], timeoutMs: 20_000})
  const target = (await openEvidenceTarget(environment, services))!
  const prefix = await findRunBlobPrefix(target, runId)
  const remote = (await target.client.getBlobClient(`${prefix}journal.jsonl`).downloadToBuffer()).toString('utf8')
  expect(remote).toBe(local)
  // No slot left prepared for swap, no scratch server of this run.
  const slots = await services.armRequest('GET', `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.Web/sites/${SITE}/slots`, {apiVersion: '2025-05-01'})
  if (options.slotsSettled !== false)
    for (const slot of (slots.body?.value ?? []) as Array<{properties?: {targetSwapSlot?: string | null}}>) expect(slot.properties?.targetSwapSlot ?? null).toBeNull()
  const leftovers = (await postgresServers(services)).filter((s) => s.tags['opsbook-run-id'] === runId && s.tags['opsbook-scratch'] === 'true')
  expect(leftovers).toEqual([])
  return {chain: 'verifies', blob: 'equal'}
}

const swapParams = {watch: 'PT1S', metricsWait: 'PT30S'}

async function swapCell(
  fault: string,
  expected: string,
  setup: () => void | Promise<void>,
  options: {
    signalAt?: (event: RunEvent, controls: {interrupt(): void; abandon(): void}) => void | Promise<void>
    expectExit: number
    expectServed: 'before' | 'after'
    resume?: boolean
    teardownTimeoutMs?: number
    expectLeft?: RegExp
  },
): Promise<void> {
  const n = rows.length
  await deploy(emulator, SITE, 'production', `v${n}-prod`)
  await deploy(emulator, SITE, 'staging', `v${n}-next`)
  await setup()
  const cwd = scratchDir()
  const first = new AbortController()
  const teardown = new AbortController()
  const controls = {interrupt: () => first.abort('SIGINT'), abandon: () => teardown.abort('SIGINT')}
  const outcome = await run(cwd, 'slot-swap', swapParams, {
    target: 'storefront',
    signal: first.signal,
    teardownSignal: teardown.signal,
    onEvent: (event) => options.signalAt?.(event, controls),
    teardownTimeoutMs: options.teardownTimeoutMs,
  })
  emulator.faults.clear()
  expect(outcome.exit, String((outcome.error as Error)?.message ?? JSON.stringify(outcome.result?.leftBehind))).toBe(options.expectExit)
  const result = outcome.result!
  const served = (await servedVersion(emulator, SITE)).version
  expect(served).toBe(options.expectServed === 'before' ? `v${n}-prod` : `v${n}-next`)
  if (options.expectExit !== 0 && options.expectExit !== 3) expect(result.leftBehind, `${fault}: left behind`).toEqual([])
  if (options.expectExit === 3) expect(result.leftBehind.join('\n')).toMatch(options.expectLeft ?? /auto-swap-back \(webapp\.swapBack\) did not complete/)
  let exit: number | string = outcome.exit
  let final = result
  if (options.resume) {
    const resumed = await run(cwd, 'slot-swap', {}, {resume: result.runId})
    expect(resumed.exit, (resumed.error as Error)?.message).toBe(0)
    final = resumed.result!
    exit = `${outcome.exit} → resume ${resumed.exit}`
    expect(final.leftBehind).toEqual([])
    expect((await servedVersion(emulator, SITE)).version).toBe(`v${n}-next`)
  }
  const checked = await invariants(cwd, result.runId, {slotsSettled: !options.expectLeft})
  rows.push({runbook: 'slot-swap', fault, expected, exit, leftBehind: final.leftBehind.length, ...checked})
}

describe('fault matrix: slot-swap', () => {
  it('429 bursts: throttled calls are retried after Retry-After; the swap completes (exit 0)', async () => {
    await swapCell('429 burst', 'swapped', () => emulator.faults.set({throttle: {capacity: 4, refillPerSecond: 20, retryAfterSeconds: 0}}), {expectExit: 0, expectServed: 'after'})
  }, 120_000)

  it('500/503: transient server errors are retried; the swap completes (exit 0)', async () => {
    await swapCell('503 ×3', 'swapped', () => emulator.faults.set({transient: {next: 3, status: 503}}), {expectExit: 0, expectServed: 'after'})
  }, 120_000)

  it('LRO failed: the swap operation fails; production untouched (exit 1)', async () => {
    await swapCell('LRO failed', 'not swapped', () => emulator.faults.set({failOperations: {'webapp.swap': {code: 'Conflict', message: 'Injected swap failure.'}}}), {
      expectExit: 1,
      expectServed: 'before',
    })
  }, 120_000)

  it('SIGINT during the swap: the swap in flight is waited for and undone (exit 130); resume completes it (exit 0)', async () => {
    await swapCell('SIGINT mid-swap', 'swapped back, then resumed', () => undefined, {
      signalAt: (event, c) => {
        if (event.type === 'operation.started' && event.step === 'swap') c.interrupt()
      },
      expectExit: 130,
      expectServed: 'before',
      resume: true,
    })
  }, 120_000)

  it('double SIGINT (third Ctrl-C abandons teardown): exit 3 naming what is left; resume finishes the run (exit 0)', async () => {
    await swapCell('SIGINT + abandon teardown', 'left, then resumed', () => undefined, {
      signalAt: (event, c) => {
        if (event.type === 'step.started' && event.step === 'watch') c.interrupt()
        if (event.type === 'step.started' && event.phase === 'finally' && event.step === 'auto-swap-back') c.abandon()
      },
      expectExit: 3,
      expectServed: 'after',
      resume: true,
    })
  }, 120_000)

  it('lease lost: another run takes the target; no more changes start, the loss is journaled (exit 1)', async () => {
    const environment = loadCatalog({flag: `${repoRoot}/runbooks.yaml`}).catalog.environments.local!
    const target = (await openEvidenceTarget(environment, sdkServices(emulator)))!
    let thief: Awaited<ReturnType<typeof acquireTargetLease>> | undefined
    let lossJournaled = false
    await swapCell('lease lost', 'not swapped', () => undefined, {
      signalAt: async (event) => {
        if (event.type === 'run.note' && /lost the lease/.test(event.message)) lossJournaled = true
        if (event.type === 'step.started' && event.step === 'slot-gate' && !thief) {
          await target.client.getBlockBlobClient(lockBlobName('local', 'storefront')).getBlobLeaseClient().breakLease(0)
          thief = await acquireTargetLease({container: target.client, environmentName: 'local', component: 'storefront', holder: {runId: 'run-thief'}})
          const deadline = Date.now() + 20_000
          while (!lossJournaled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
        }
      },
      expectExit: 1,
      expectServed: 'before',
    })
    expect(lossJournaled).toBe(true)
    await thief?.release()
  }, 120_000)

  it('journal cannot be created: the run stops before any step and gives its target leases back at once', async () => {
    const cwd = scratchDir()
    // `.opsbook/runs` is a file: no run folder can be made (as on a full or read-only disk).
    mkdirSync(`${cwd}/.opsbook`, {recursive: true})
    writeFileSync(`${cwd}/.opsbook/runs`, 'not a folder')
    const requestsBefore = emulator.requestLog().filter((r) => r.method === 'POST').length
    const outcome = await run(cwd, 'slot-swap', swapParams, {target: 'storefront'})
    expect(outcome.exit).toBe(1)
    expect(String((outcome.error as Error).message)).toMatch(/ENOTDIR|not a directory/)
    const environment = loadCatalog({cwd}).catalog.environments.local!
    const target = (await openEvidenceTarget(environment, sdkServices(emulator)))!
    expect(await currentLeaseHolder(target.client, 'local', 'storefront')).toBeUndefined()
    expect(emulator.requestLog().filter((r) => r.method === 'POST').length).toBe(requestsBefore)
    rows.push({runbook: 'slot-swap', fault: 'journal not creatable', expected: 'nothing ran, lease freed', exit: outcome.exit, leftBehind: 0, chain: 'n/a', blob: 'n/a'})
  }, 60_000)

  // Last: the hung swap never ends in the emulator.
  it('LRO hung + SIGINT: teardown stops at its deadline and names the swap still running (exit 3), never hangs', async () => {
    await swapCell('LRO hung + SIGINT', 'left: swap running', () => emulator.faults.set({hangOperations: ['webapp.swap']}), {
      signalAt: (event, c) => {
        if (event.type === 'operation.started' && event.step === 'swap') c.interrupt()
      },
      teardownTimeoutMs: 1500,
      expectExit: 3,
      expectServed: 'before',
      expectLeft: /interrupted-swap-back \(drill\.restoreProduction\) did not complete: .*teardown did not finish within PT1\.5S[\s\S]*webapp\.swap .* still running/,
    })
  }, 120_000)
})
