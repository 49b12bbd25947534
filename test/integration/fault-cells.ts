/**
 * The fault matrix's cells (issue 16), shared by test/integration/fault-suite.ts (the quick set and the full matrix's
 * shards) and bench/soak.ts: one built-in runbook that changes Azure × one fault, against a shared in-process emulator. Runs go through the same runner the
 * CLI calls (in this process: a cell costs a run, not a Node start); only what needs a process of its own — SIGKILL,
 * and a second live process resuming the same run — starts the real CLI. Each cell then checks, whatever the fault:
 * the exit code is the one the cell defines; through ARM nothing is left behind (no scratch server of the run, no
 * slot left prepared for a swap, no operation of the run still running, the target leases given back); after
 * `evidence sync` the Blob journal equals the local one byte for byte; and `evidence verify` passes for the run.
 * Cells that end interrupted (130) or with teardown incomplete (3) are resumed, and the resume must end in 0.
 */
import {closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {ApprovalDecision, Approver} from '../../src/actions/types.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {exitCodeOf} from '../../src/errors.js'
import {findRunBlobPrefix, openEvidenceTarget, UPLOAD_STATE_FILE, type EvidenceTarget} from '../../src/evidence/blob-sink.js'
import {DISK_FULL_ENV, verifyChain} from '../../src/evidence/journal.js'
import {acquireTargetLease, currentLeaseHolder, lockBlobName} from '../../src/evidence/lease.js'
import {syncPending} from '../../src/evidence/sync.js'
import {verifyRun} from '../../src/evidence/verify.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {opsbookRoot, runRunbook, type RunResult} from '../../src/runbooks/runner.js'
import {runCli} from '../helpers/cli.js'
import type {CellRow, Fault, RunbookName} from './fault-table.js'
import {deploy, postgresServers, repoRoot, scratchDir, sdkServices, servedVersion} from './support.js'

export {FAULTS, RUNBOOKS, matrixTable, type CellRow, type Fault, type RunbookName} from './fault-table.js'

const SITE = 'app-shop-storefront'
const RG = 'rg-shop-local'

interface RunbookSpec {
  target?: string
  params(n: number): Record<string, string>
  /** Set up what the run acts on; returns extra params. */
  prepare?(n: number): Promise<Record<string, string> | void>
  /** The long-running ARM operation that is the runbook's change (LRO failed / hung). */
  changeOperation: string
  /** The step whose operation is that change (SIGINT, SIGKILL, disk full, Blob down are aimed at it). */
  changeStep: RegExp
  /** Servers the run made on purpose and keeps (pg-pitr's restored server): not "left behind"; removed after the cell. */
  keeps?: boolean
  /** After the cell: what it served or kept is put back so the next cell starts the same. */
  cleanup?(): Promise<void>
}

export interface MatrixContext {
  emulator: RunningEmulator
  /** Cell counter (unique names and versions). */
  n: number
  evidence?: EvidenceTarget
  replica?: string
}

const yes: Approver = {approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'fault-matrix', via: 'yes'})}

function specs(ctx: MatrixContext): Record<RunbookName, RunbookSpec> {
  const services = sdkServices(ctx.emulator)
  const deleteServersOf = async (predicate: (s: {name: string; tags: Record<string, string>}) => boolean) => {
    const client = await services.postgres()
    for (const server of (await postgresServers(services)).filter(predicate)) await client.servers.beginDeleteAndWait(RG, server.name, {updateIntervalInMs: 50})
  }
  return {
    'pg-pitr': {
      target: 'orders-db',
      params: () => ({restoreTime: new Date(Date.now() - 10 * 60_000).toISOString()}),
      changeOperation: 'postgres.create',
      changeStep: /^restore$/,
      keeps: true,
      cleanup: () => deleteServersOf((s) => /-pitr-/.test(s.name)),
    },
    'pg-promote-replica': {
      params: () => ({replica: ctx.replica!, option: 'forced'}),
      async prepare(n) {
        // A promotion cannot be undone: each cell promotes a replica of its own.
        const client = await services.postgres()
        const source = await client.servers.get(RG, 'pg-shop-orders')
        ctx.replica = `pg-shop-orders-fm${n}`
        await client.servers.beginCreateOrUpdateAndWait(RG, ctx.replica, {location: 'westus', createMode: 'Replica', sourceServerResourceId: source.id}, {updateIntervalInMs: 50})
      },
      changeOperation: 'postgres.update',
      changeStep: /^promote$/,
      cleanup: () => deleteServersOf((s) => s.name === ctx.replica),
    },
    'redis-restore': {target: 'sessions-cache', params: () => ({}), changeOperation: 'redis.import', changeStep: /^import$/},
    'redis-export': {target: 'sessions-cache', params: () => ({}), changeOperation: 'redis.export', changeStep: /^export$/},
    'slot-swap': {
      target: 'storefront',
      params: () => ({watch: 'PT1S', metricsWait: 'PT30S'}),
      async prepare(n) {
        await deploy(ctx.emulator, SITE, 'production', `v${n}-prod`)
        await deploy(ctx.emulator, SITE, 'staging', `v${n}-next`)
      },
      changeOperation: 'webapp.swap',
      changeStep: /^swap$/,
    },
    'maintenance-window': {
      params: () => ({}),
      async prepare() {
        // Drift, so the run has a window to set.
        const client = await services.postgres()
        await client.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {maintenanceWindow: {customWindow: 'Enabled', dayOfWeek: 3, startHour: 5, startMinute: 0}}, {updateIntervalInMs: 50})
      },
      changeOperation: 'postgres.update',
      changeStep: /^pg-apply/,
    },
    'dr-drill': {params: () => ({}), changeOperation: 'postgres.create', changeStep: /^pg-pitr-[^.]+\.(geo-)?restore$/},
  }
}

interface Outcome {
  result?: RunResult
  exit: number
  error?: unknown
}

/**
 * How often runs renew their target leases. Faults about leases (lease lost, Blob down) renew every 50 ms, so a lost
 * or unrenewable lease is noticed within the cell and not after the product's 10 s; every other cell renews every
 * second — still several renewals alongside each run's steps, but not 20 a second per lease: a dr-drill holds a lease
 * per component, and at 50 ms its renewals were most of the matrix's Blob requests (measured: pg-pitr × 4 faults +
 * dr-drill × 2 faults, 29.2 → 20.0 s CPU, the dr-drill × 429 cell 35.5 → 17.9 s at load 12).
 */
const LEASE_RENEW_MS = 1000
const LEASE_FAULT_RENEW_MS = 50

interface RunControls {
  interrupt(): void
  abandon(): void
}

async function inProcess(
  cwd: string,
  runbook: string,
  spec: RunbookSpec,
  params: Record<string, string>,
  options: {onEvent?: (event: RunEvent, controls: RunControls) => void | Promise<void>; resume?: string; teardownTimeoutMs?: number; leaseRenewEveryMs?: number} = {},
): Promise<Outcome> {
  const first = new AbortController()
  const teardown = new AbortController()
  const controls = {interrupt: () => first.abort('SIGINT'), abandon: () => teardown.abort('SIGINT')}
  const common = {
    cwd,
    approver: yes,
    interactive: false,
    preApproved: (): ApprovalDecision => ({approved: true, by: '--yes', via: 'yes'}),
    listeners: [async (event: RunEvent) => options.onEvent?.(event, controls)],
    signal: first.signal,
    teardownSignal: teardown.signal,
    leaseRenewEveryMs: options.leaseRenewEveryMs ?? LEASE_RENEW_MS,
    teardownTimeoutMs: options.teardownTimeoutMs ?? 60_000,
  }
  try {
    const result = options.resume
      ? await resumeRun({...common, runId: options.resume, params: {}})
      : await runRunbook({...common, runbook, envName: 'local', params, target: spec.target})
    return {result, exit: result.exitCode}
  } catch (error) {
    return {exit: exitCodeOf(error), error}
  }
}

/** The run folders under `cwd` (a cell's scratch folder holds the one run the cell started, once it has started). */
function runIdsIn(cwd: string): string[] {
  const runs = join(cwd, '.opsbook', 'runs')
  return existsSync(runs) ? readdirSync(runs, {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => e.name) : []
}

/** The cell's run: the one run folder under `cwd`; a second one is a failure of the cell, named (never a guess between them). */
function runIdIn(cwd: string): string | undefined {
  const ids = runIdsIn(cwd)
  check(ids.length <= 1, () => `more than one run under ${cwd}/.opsbook/runs: ${ids.join(', ')}`)
  return ids[0]
}

/**
 * The complete journal lines the cell's run has added since the last call: the SIGKILL cell watches the CLI's journal
 * every 10 ms, and reading the whole file each time (a dr-drill's is 50-200 KB) cost CPU the killed run competes for.
 */
function journalWatch(cwd: string): () => string[] {
  let runId: string | undefined
  let offset = 0
  let partial = Buffer.alloc(0)
  return () => {
    runId ??= runIdsIn(cwd)[0]
    if (!runId) return []
    let fd: number
    try {
      fd = openSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'r')
    } catch {
      return [] // not created yet
    }
    try {
      const added = Buffer.alloc(Math.max(0, fstatSync(fd).size - offset))
      const read = added.length > 0 ? readSync(fd, added, 0, added.length, offset) : 0
      offset += read
      const bytes = Buffer.concat([partial, added.subarray(0, read)])
      const end = bytes.lastIndexOf(0x0a) + 1
      partial = bytes.subarray(end)
      return end > 0 ? bytes.subarray(0, end - 1).toString('utf8').split('\n') : []
    } finally {
      closeSync(fd)
    }
  }
}

/** Why an outcome is what it is: the thrown error, or the failed steps' errors and what was left. */
function why(outcome: Outcome): string {
  if (outcome.error) return (outcome.error as Error).message
  const failed = outcome.result?.steps.filter((s) => s.error).map((s) => `${s.id} (${s.phase}): ${s.error}`) ?? []
  return [...failed, ...(outcome.result?.leftBehind.length ? [`left: ${outcome.result.leftBehind.join('; ')}`] : [])].join(' | ') || '[]'
}

const isChangeStart = (spec: RunbookSpec, event: RunEvent) => event.type === 'operation.started' && spec.changeStep.test(event.step)

class CellFailure extends Error {}
function check(ok: boolean, message: () => string): void {
  if (!ok) throw new CellFailure(message())
}

/**
 * Run one cell. Throws (with what differed) when the cell does not end as it must; returns its table row.
 * `expect` overrides the exit a cell must end with (per runbook × fault, when it differs from the fault's default).
 */
export async function runCell(ctx: MatrixContext, runbook: RunbookName, fault: Fault | 'none'): Promise<CellRow> {
  const cwd = scratchDir()
  // What the run's folder held at each turn of the cell (after the kill, after the resume), for a failure about a file.
  const trail: string[] = []
  try {
    return await cellIn(cwd, ctx, runbook, fault, trail)
  } catch (error) {
    // What the run's folder held when the cell failed: which files a failure about them (ENOENT …) found or missed.
    if (error instanceof Error) error.message += `\n${[...trail, `when the cell failed: ${runFolders(cwd)}`].join('\n')}`
    throw error
  }
}

/** The run folders under `cwd`, each file with its size, for a failing cell's message. */
function runFolders(cwd: string): string {
  const runs = join(cwd, '.opsbook', 'runs')
  // The whole scratch folder gone says something outside the run removed it (opsbook never deletes a run or journal).
  if (!existsSync(cwd)) return `${cwd}: the cell's scratch folder is gone`
  if (!existsSync(runs)) return `${runs}: missing`
  return readdirSync(runs, {withFileTypes: true})
    .map((entry) => {
      if (!entry.isDirectory()) return `${runs}/${entry.name} (not a folder)`
      const dir = join(runs, entry.name)
      const files = readdirSync(dir).map((f) => {
        try {
          return `${f} ${statSync(join(dir, f)).size} B`
        } catch {
          return `${f} (gone)`
        }
      })
      return `${dir}: ${files.join(', ') || 'empty'}`
    })
    .join('\n') || `${runs}: empty`
}

async function cellIn(cwd: string, ctx: MatrixContext, runbook: RunbookName, fault: Fault | 'none', trail: string[] = []): Promise<CellRow> {
  const started = Date.now()
  const n = ++ctx.n
  const spec = specs(ctx)[runbook]
  const {emulator} = ctx
  const extra = (await spec.prepare?.(n)) ?? {}
  const params = {...spec.params(n), ...extra}
  const services = sdkServices(emulator)
  ctx.evidence ??= (await openEvidenceTarget(loadCatalog({flag: join(repoRoot, 'runbooks.yaml')}).catalog.environments.local!, services))!
  // A cursor, not an index: in a long matrix the log drops its oldest entries (request-log.ts).
  const requestsBefore = emulator.requestCount()
  let outcome: Outcome
  /** Exit codes a cell may end with before any resume; a resume (when the run is resumable) must then end in 0. */
  let allowed: number[]
  let note = ''
  try {
    switch (fault) {
      case 'none':
        outcome = await inProcess(cwd, runbook, spec, params)
        allowed = [0]
        break
      case '429 burst':
        emulator.faults.set({throttle: {capacity: 3, refillPerSecond: 20, retryAfterSeconds: 0}})
        outcome = await inProcess(cwd, runbook, spec, params)
        allowed = [0]
        break
      case '500/503':
        emulator.faults.set({transient: {next: 4, statuses: [503, 500]}})
        outcome = await inProcess(cwd, runbook, spec, params)
        allowed = [0]
        break
      case 'conn reset':
        // Reads: a reset write is not retried (ARM may have acted on it) and fails its step — that is the LRO-failed cell's ground.
        emulator.faults.set({resetConnections: {next: 3, methods: ['GET']}})
        outcome = await inProcess(cwd, runbook, spec, params)
        allowed = [0]
        break
      case 'LRO failed':
        emulator.faults.set({failOperations: {[spec.changeOperation]: {code: 'Conflict', message: 'Injected failure of the change.'}}})
        outcome = await inProcess(cwd, runbook, spec, params)
        allowed = [1]
        break
      case 'LRO hung':
        // The change never finishes: Ctrl-C, and teardown gives up at its deadline naming what is still running.
        emulator.faults.set({hangOperations: [spec.changeOperation]})
        outcome = await inProcess(cwd, runbook, spec, params, {
          teardownTimeoutMs: 1500,
          onEvent: (event, c) => {
            if (isChangeStart(spec, event)) c.interrupt()
          },
        })
        allowed = [3, 130]
        break
      case 'token expiry':
        // From the first step on: the preflight's subscription read (merged from #17) does not yet recover from an
        // expired token, and would stop the run before it is recorded.
        outcome = await inProcess(cwd, runbook, spec, params, {
          onEvent: (event) => {
            if (event.type === 'step.started' && !emulator.faults.current().expireTokens) emulator.faults.set({expireTokens: {next: 2, lifetimeSeconds: 2}})
          },
        })
        {
          const log = emulator.requestLog(requestsBefore)
          const refused = log.findIndex((r) => r.status === 401)
          check(refused >= 0, () => 'no request met an expired token')
          // The client went on with a new token: the identity endpoint was asked again after the refusal.
          check(log.slice(refused).some((r) => r.operation === 'identity.token'), () => 'no fresh token was fetched after the 401')
          note = `${log.filter((r) => r.status === 401).length}×401, fresh token`
        }
        allowed = [0]
        break
      case 'Blob down': {
        // A Blob outage from the change on: evidence waits locally and catches up, leases are not renewed meanwhile
        // (a run that cannot count on its lease stops starting changes: exit 1; one that can finishes: exit 0). The
        // outage lasts until the run has recorded a failed upload (its journal pending in upload-state.json), not a
        // fixed 3 s: that is the moment the fault has done what the cell is about.
        let outage: NodeJS.Timeout | undefined
        let pendingSeen = false
        const uploadFailed = () => {
          const runId = runIdsIn(cwd)[0]
          const file = runId ? join(cwd, '.opsbook', 'runs', runId, UPLOAD_STATE_FILE) : ''
          try {
            return Boolean(file && existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as {lastError?: string}).lastError)
          } catch {
            return false // being rewritten
          }
        }
        outcome = await inProcess(cwd, runbook, spec, params, {
          leaseRenewEveryMs: LEASE_FAULT_RENEW_MS,
          onEvent: (event) => {
            if (!outage && isChangeStart(spec, event)) {
              emulator.faults.set({blobDown: true})
              outage = setInterval(() => {
                if (!uploadFailed()) return
                pendingSeen = true
                clearInterval(outage)
                emulator.faults.set({blobDown: false})
              }, 20)
            }
          },
        })
        clearInterval(outage)
        check(outage !== undefined, () => 'the change never started')
        check(pendingSeen, () => 'no evidence upload failed while Blob was down')
        allowed = [0, 1]
        break
      }
      case 'lease lost': {
        let thief: Awaited<ReturnType<typeof acquireTargetLease>> | undefined
        let lost = false
        outcome = await inProcess(cwd, runbook, spec, params, {
          leaseRenewEveryMs: LEASE_FAULT_RENEW_MS,
          onEvent: async (event) => {
            if (event.type === 'run.note' && /lost the lease/.test(event.message)) lost = true
            if (event.type === 'step.started' && !thief) {
              const leased = await leasedComponents(ctx)
              const component = leased[0]
              if (!component) return
              await ctx.evidence!.client.getBlockBlobClient(lockBlobName('local', component)).getBlobLeaseClient().breakLease(0)
              thief = await acquireTargetLease({container: ctx.evidence!.client, environmentName: 'local', component, holder: {runId: 'run-thief'}})
              const deadline = Date.now() + 20_000
              while (!lost && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
            }
          },
        })
        await thief?.release()
        check(lost, () => 'the lease loss was not journaled')
        // 3: a teardown that changes something is not started while the thief holds the target (issue 16 item 8); the
        // resume, once the thief is gone, runs it and must end 0.
        allowed = [1, 3]
        break
      }
      case 'SIGINT':
        outcome = await inProcess(cwd, runbook, spec, params, {
          onEvent: (event, c) => {
            if (isChangeStart(spec, event)) c.interrupt()
          },
        })
        // 130 when the interruption left nothing for a human; 3 when the change's Azure operation was already accepted
        // and is listed as left (it ended after the Ctrl-C, or still runs) — DESIGN.md's 3, since newuser4 (stop 28).
        // Either way the resume below must end 0.
        allowed = [3, 130]
        break
      case 'double SIGINT':
        // The second Ctrl-C arrives while teardown runs: teardown is abandoned, the run says what is left (3) or,
        // when nothing was left to undo, is interrupted (130).
        outcome = await inProcess(cwd, runbook, spec, params, {
          onEvent: (event, c) => {
            if (isChangeStart(spec, event)) c.interrupt()
            if (event.type === 'step.started' && (event.phase === 'finally' || event.phase === 'rollback')) c.abandon()
          },
        })
        allowed = [3, 130]
        break
      case 'SIGKILL+resume': {
        const killed = await runCli(['run', runbook, '--env', 'local', '--json', '--yes', ...(spec.target ? ['--target', spec.target] : []), ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`])], {
          cwd,
          env: emulator.env(),
          timeoutMs: 120_000,
          onStart(child) {
            const added = journalWatch(cwd)
            const timer = setInterval(() => {
              if (added().some((line) => line.includes('"operation.started"') && spec.changeStep.test(String(/"step":"([^"]*)"/.exec(line)?.[1])))) {
                clearInterval(timer)
                child.kill('SIGKILL')
              }
            }, 10)
            child.on('close', () => clearInterval(timer))
          },
        })
        check(killed.signal === 'SIGKILL', () => `the CLI was not killed mid-change (exit ${killed.code}): ${killed.stderr}`)
        trail.push(`after the kill: ${runFolders(cwd)}`)
        outcome = {exit: 137}
        allowed = [137]
        break
      }
      case 'concurrent resume':
        // Interrupted, then resumed here while a second process (the CLI) resumes the same run: it is refused (5).
        outcome = await inProcess(cwd, runbook, spec, params, {
          onEvent: (event, c) => {
            if (isChangeStart(spec, event)) c.interrupt()
          },
        })
        allowed = [3, 130] // as SIGINT above
        break
      case 'disk full':
        // The disk fills as the change starts: the next journal line cannot be written.
        outcome = await inProcess(cwd, runbook, spec, params, {
          onEvent: (event) => {
            if (isChangeStart(spec, event)) process.env[DISK_FULL_ENV] = String(statSync(join(cwd, '.opsbook', 'runs', runIdsIn(cwd)[0]!, 'journal.jsonl')).size + 1)
          },
        })
        delete process.env[DISK_FULL_ENV]
        allowed = [1, 3, 130]
        break
    }
  } finally {
    delete process.env[DISK_FULL_ENV]
    emulator.faults.clear()
  }
  const runId = outcome.result?.runId ?? runIdIn(cwd)
  check(runId !== undefined, () => `no run was recorded: ${(outcome.error as Error)?.message}`)
  check(allowed.includes(outcome.exit), () => `exit ${outcome.exit}, expected ${allowed.join(' or ')}: ${why(outcome)}`)
  let exit = String(outcome.exit)
  let end = outcome.result?.status ?? (fault === 'SIGKILL+resume' ? 'killed' : 'error')
  let final = outcome.result
  if (outcome.exit === 3) check((outcome.result?.leftBehind.length ?? 0) > 0, () => 'exit 3 without saying what is left')
  if (outcome.exit === 3 || outcome.exit === 130 || outcome.exit === 137 || (fault === 'disk full' && outcome.exit !== 0)) {
    let refused: number | null | undefined
    const resumed = await inProcess(cwd, runbook, spec, {}, {
      resume: runId!,
      onEvent: async (event) => {
        if (fault === 'concurrent resume' && refused === undefined && event.type === 'step.started') {
          refused = null
          const second = await runCli(['resume', runId!, '--json', '--yes'], {cwd, env: emulator.env(), timeoutMs: 120_000})
          refused = second.code
          check(/another live process|in use by run/.test(second.stderr + second.stdout), () => `the second resume was not refused as concurrent: ${second.stderr}`)
        }
      },
    })
    trail.push(`after the resume (exit ${resumed.exit}): ${runFolders(cwd)}`)
    if (fault === 'concurrent resume') {
      check(refused === 5, () => `the concurrent resume exited ${refused}, expected 5`)
      exit += ` → resume 0 ∥ 5`
    } else exit += ` → resume ${resumed.exit}`
    // A run that lost its lease failed on its own (exit 1 when its teardown could run); resumed once the other run is
    // gone, it finishes the teardown it left and keeps its verdict: a drill whose legs were refused still fails (1).
    const resumeAllowed = fault === 'lease lost' ? [0, 1] : [0]
    check(resumeAllowed.includes(resumed.exit), () => `resume exited ${resumed.exit}: ${why(resumed)}`)
    final = resumed.result
    end += ` → ${resumed.result?.status}`
  }
  if (note) end += ` (${note})`
  const leftBehind = final?.leftBehind.length ?? 0
  check(outcome.exit === 3 || leftBehind === 0, () => `left behind: ${final?.leftBehind.join('; ')}`)
  await invariants(ctx, cwd, runId!, spec, runbook, started)
  await spec.cleanup?.()
  return {runbook, fault, exit, end, leftBehind, chain: 'verifies', blob: 'equal', ms: Date.now() - started}
}

async function leasedComponents(ctx: MatrixContext): Promise<string[]> {
  const out: string[] = []
  for (const component of ['orders-db', 'sessions-cache', 'storefront'])
    if (await currentLeaseHolder(ctx.evidence!.client, 'local', component)) out.push(component)
  return out
}

/** What every cell must hold at its end, checked from outside: ARM, Blob, the journal, `evidence verify`. */
async function invariants(ctx: MatrixContext, cwd: string, runId: string, spec: RunbookSpec, runbook: RunbookName, startedAt: number): Promise<void> {
  const {emulator} = ctx
  const root = opsbookRoot({cwd})
  const journalPath = join(root, 'runs', runId, 'journal.jsonl')
  let local: string
  try {
    local = readFileSync(journalPath, 'utf8')
  } catch (error) {
    // Which read of the cell found no journal, and where: the trail (runCell) says what the folder held before.
    throw new CellFailure(`invariants, once the cell's last run had ended: reading the run's journal ${journalPath}: ${(error as Error).message}`)
  }
  const chain = verifyChain(local)
  check(chain.ok, () => `journal chain broken at line ${chain.firstBad?.line}: ${chain.firstBad?.reason}`)
  const services = sdkServices(emulator)
  const environment = loadCatalog({cwd}).catalog.environments.local!
  await syncPending(root, {name: 'local', environment}, services, {runIds: [runId], timeoutMs: 20_000})
  // No journal event lost: after a sync the Blob copy is the local one, and verify (local, Blob, summary) passes.
  const verified = await verifyRun(runId, {root, target: ctx.evidence})
  check(verified.ok, () => `evidence verify: ${verified.firstProblem}`)
  const skipped = verified.checks.filter((c) => c.skipped)
  check(skipped.length === 0, () => `evidence verify skipped: ${skipped.map((c) => c.message).join('; ')}`)
  const prefix = await findRunBlobPrefix(ctx.evidence!, runId)
  const remote = prefix ? (await ctx.evidence!.client.getBlobClient(`${prefix}journal.jsonl`).downloadToBuffer()).toString('utf8') : undefined
  check(remote === local, () => `the Blob journal (${remote?.length ?? 'missing'} chars) is not the local one (${local.length})`)
  // Through ARM: no slot left prepared for a swap, no scratch server of this run, no operation of it still running.
  const slots = await services.armRequest('GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${SITE}/slots`, {apiVersion: '2025-05-01'})
  for (const slot of (slots.body?.value ?? []) as Array<{name?: string; properties?: {targetSwapSlot?: string | null}}>)
    check((slot.properties?.targetSwapSlot ?? null) === null, () => `slot ${slot.name} left prepared for a swap`)
  const servers = (await postgresServers(services)).filter((s) => s.tags['opsbook-run-id'] === runId && (s.tags['opsbook-scratch'] === 'true' || !spec.keeps))
  check(servers.length === 0 || (spec.keeps === true && servers.every((s) => /-pitr-/.test(s.name))), () => `servers of the run remain: ${servers.map((s) => s.name).join(', ')}`)
  // This cell's operations only: one an earlier cell left hanging is that cell's failure, not a cascade into this one.
  const running = emulator.state.operations().filter((o) => o.status === 'InProgress' && Date.parse(o.startTime) >= startedAt)
  check(running.length === 0, () => `operations still running: ${running.map((o) => o.operation).join(', ')}`)
  if (runbook === 'slot-swap' || runbook === 'dr-drill') {
    const served = await servedVersion(emulator, SITE)
    check(served.status === 200, () => `production answers ${served.status}`)
  }
  const held = await leasedComponents(ctx)
  check(held.length === 0, () => `leases still held on ${held.join(', ')}`)
  if (runbook === 'dr-drill') {
    const blobs: string[] = []
    for await (const blob of (await services.blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat()) blobs.push(blob.name)
    check(!blobs.some((b) => b.startsWith('opsbook-drill-')), () => `drill snapshot copies remain: ${blobs.filter((b) => b.startsWith('opsbook-drill-')).join(', ')}`)
  }
}
