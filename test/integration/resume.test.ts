/**
 * Crash safety: a run killed with SIGKILL while PostgreSQL restores is continued with `opsbook resume`, which
 * re-attaches to the restore's operation monitor instead of asking Azure for a second restore. The killed run is a
 * real process; `runs list` and `resume` after it, and the run interrupted on the lost laptop (Ctrl-C through the
 * run's own handler), run in the test process (the same commands, no process start).
 */
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {repoRoot, runCli, runCliInProcess, scratchDir} from '../helpers/cli.js'
import {sendRaw} from '../contract/http.js'

let emulator: RunningEmulator

beforeAll(async () => {
  // Restores are held in flight by a fault (hangOperations) until the test has interrupted the run: a condition, not a
  // slow operation (an 8 s restore cost each test its whole length again in the teardown's and the resume's waits).
  emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())
afterEach(() => emulator.faults.clear())

function journalEvents(cwd: string): Array<{type: string; step: string | null; data: any}> {
  const runs = join(cwd, '.opsbook', 'runs')
  if (!existsSync(runs)) return []
  const [runId] = readdirSync(runs)
  if (!runId || !existsSync(join(runs, runId, 'journal.jsonl'))) return []
  // Only lines a newline ends: the rest is being written (it may end in a nested `}` and not parse).
  return readFileSync(join(runs, runId, 'journal.jsonl'), 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l))
}

/** A pg-pitr run on orders-db interrupted (Ctrl-C) during its restore on a first laptop whose folder is then lost: its run id. */
async function interruptedElsewhere(): Promise<string> {
  const first = scratchDir()
  const restoreTime = new Date(Date.now() - 10 * 60_000).toISOString()
  // The restore stays in flight until the interrupted run's teardown says it waits for it, then finishes.
  emulator.faults.set({hangOperations: ['postgres.create']})
  let interrupting = false
  // In the test process (the same command, no process start): Ctrl-C reaches the run's own SIGINT handler, as from a
  // terminal; a real signal to a CLI process is test/commands/run.test.ts's, and the SIGKILL below is a real process.
  const interrupted = await runCliInProcess(['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime}`, '--json'], {
    cwd: first,
    env: emulator.env(),
    onStart(control) {
      const timer = setInterval(() => {
        const events = journalEvents(first)
        if (!interrupting && events.some((e) => e.type === 'operation.started' && e.step === 'restore')) {
          interrupting = true
          control.interrupt()
        }
        if (interrupting && events.some((e) => e.type === 'step.log' && /still running: waiting for it before deleting/.test(JSON.stringify(e.data)))) {
          clearInterval(timer)
          emulator.faults.set({hangOperations: []})
        }
      }, 50)
      return () => {
        clearInterval(timer)
        emulator.faults.set({hangOperations: []})
      }
    },
  })
  expect(interrupted.code, interrupted.stderr).toBe(130)
  rmSync(first, {recursive: true, force: true})
  return JSON.parse(interrupted.stdout).runId as string
}

/** The ARM resource as the emulator serves it (its `id` and provisioning state). */
async function postgresServer(name: string): Promise<{status: number; id?: string; state?: string}> {
  const group = loadCatalog({flag: join(repoRoot, 'runbooks.yaml')}).catalog.environments.local!.resourceGroups[0]
  const answer = await sendRaw(emulator, 'GET', `/subscriptions/${emulator.subscription}/resourceGroups/${group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}?api-version=2025-08-01`)
  const body = answer.body as {id?: string; properties?: {state?: string}} | undefined
  return {status: answer.status, id: body?.id, state: body?.properties?.state}
}

describe('opsbook resume', () => {
  it('continues a SIGKILLed restore without a second restore request', async () => {
    const cwd = scratchDir()
    const env = emulator.env()
    const restoreTime = new Date(Date.now() - 10 * 60_000).toISOString()
    let operation: {resourceUrl: string; monitorUrl?: string} | undefined
    // The restore stays in flight until the run is killed; it finishes while nobody watches it.
    emulator.faults.set({hangOperations: ['postgres.create']})
    const killed = await runCli(['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime}`, '--json'], {
      cwd,
      env,
      onStart(child) {
        const timer = setInterval(() => {
          const started = journalEvents(cwd).find((e) => e.type === 'operation.started' && e.step === 'restore')
          if (started) {
            operation = started.data.operation
            clearInterval(timer)
            child.kill('SIGKILL')
          }
        }, 50)
        child.on('close', () => {
          clearInterval(timer)
          emulator.faults.set({hangOperations: []})
        })
      },
    })
    expect(killed.signal).toBe('SIGKILL')
    expect(operation?.monitorUrl).toBeTruthy()
    const serverPath = new URL(operation!.resourceUrl).pathname.toLowerCase()
    const creates = () => emulator.requestLog().filter((r) => r.method === 'PUT' && r.path.toLowerCase() === serverPath)
    expect(creates()).toHaveLength(1)

    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const listed = await runCliInProcess(['runs', 'list', '--json'], {cwd, env})
    expect(JSON.parse(listed.stdout).runs[0]).toMatchObject({runId, status: 'crashed'})

    const resumed = await runCliInProcess(['resume', runId, '--json'], {cwd, env})
    expect(resumed.code, resumed.stderr).toBe(0)
    const result = JSON.parse(resumed.stdout)
    expect(result).toMatchObject({runId, status: 'succeeded'})
    expect(result.outputs.server).toBe(serverPath.split('/').at(-1))
    // The same restore, re-attached: still exactly one create request for the restored server.
    expect(creates()).toHaveLength(1)
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"resumedFrom"')
  })

  // One lost laptop, three things a user meets on the next one (one interrupted restore, not three: each costs a real
  // PostgreSQL restore): a catalog that points the run's component elsewhere is refused before anything runs; the
  // same catalog edited (same resources) continues the run from the journal in Blob, and says the catalog differs.
  it('on another laptop: refuses a catalog naming other resources (exit 2, nothing run), then continues with an edited catalog naming the same ones', async () => {
    const runId = await interruptedElsewhere()
    const [orders, other] = [await postgresServer('pg-shop-orders'), await postgresServer('pg-shop-orders-dr')]
    expect(orders.id).toBeTruthy()
    expect(other.id).toBeTruthy()
    // Same component key, another server: the remaining steps (and teardown) would act on pg-shop-orders-dr.
    // (the primary and its replica swapped, as after a promotion someone recorded in their copy only).
    const original = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
    const swapped = original
      .replace(/\n(\s+)name: pg-shop-orders\n/, '\n$1name: pg-shop-orders-dr\n')
      .replace('{ name: pg-shop-orders-dr, region: westus }', '{ name: pg-shop-orders, region: westus }')
    expect(swapped).toContain('name: pg-shop-orders-dr\n')
    const second = scratchDir()
    writeFileSync(join(second, 'runbooks.yaml'), swapped)
    const since = emulator.requestCount()
    const refused = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: second, env: emulator.env()})
    expect(refused.code, refused.stdout + refused.stderr).toBe(2)
    const message = JSON.parse(refused.stdout).error.message as string
    expect(message).toContain('component orders-db')
    expect(message.toLowerCase()).toContain(orders.id!.toLowerCase())
    expect(message.toLowerCase()).toContain(other.id!.toLowerCase())
    expect(message).toContain('--catalog')
    // Nothing ran: no write reached Azure, and both servers are as they were.
    const writes = emulator.requestLog(since).filter((r) => r.method !== 'GET' && r.path.startsWith('/subscriptions/'))
    expect(writes).toEqual([])
    expect(await postgresServer('pg-shop-orders-dr')).toEqual(other)
    expect(await postgresServer('pg-shop-orders')).toEqual(orders)
    expect(readFileSync(join(second, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')).not.toContain('"resumedFrom"')

    // The laptop's copy of the catalog, edited but naming the same resources: the run continues from the journal in
    // Blob (the refused attempt's local copy removed, so this is the lost-laptop path again) and completes.
    rmSync(join(second, '.opsbook'), {recursive: true, force: true})
    writeFileSync(join(second, 'runbooks.yaml'), `# copied to the second laptop and edited\n${original}`)
    const resumed = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: second, env: emulator.env()})
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({runId, status: 'succeeded'})
    expect(resumed.stderr).toMatch(/differs from the one run \S+ started with, but the run's targets are the same resources/)
    // The continued journal is on this laptop now, one chain from the first laptop's lines on.
    const journal = readFileSync(join(second, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"resumedFrom"')
    // The catalog note is part of the run's record, not stderr only: a warning of the run (--json), a journaled
    // warning of the resumed segment, and in summary.json.
    const differs = /differs from the one run \S+ started with, but the run's targets are the same resources/
    expect(JSON.parse(resumed.stdout).warnings).toEqual([expect.stringMatching(differs)])
    expect(journal.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.type === 'run.note' && differs.test(l.data.message))).toEqual([expect.objectContaining({data: expect.objectContaining({data: {resumeCatalog: true, warning: true}})})])
    expect(JSON.parse(readFileSync(join(second, '.opsbook', 'runs', runId, 'summary.json'), 'utf8')).resumeWarnings).toEqual([expect.stringMatching(differs)])
  }, 240_000)

  it('on another folder without the emulator variables or an emulator of its own, says where an emulator run\'s evidence is and how to reach it, at once', async () => {
    const elsewhere = scratchDir()
    const {OPSBOOK_EMULATOR_URL: _url, ...rest} = emulator.env()
    const env = {...Object.fromEntries(Object.keys(rest).map((k) => [k, undefined])), OPSBOOK_EMULATOR_URL: undefined}
    const missing = await runCliInProcess(['resume', '20261203T000000Z-pg-pitr-0000', '--env', 'local', '--json'], {cwd: elsewhere, env})
    expect(missing.code, missing.stderr).toBe(2)
    const message = JSON.parse(missing.stdout).error.message as string
    expect(message).toContain('no journal for run 20261203T000000Z-pg-pitr-0000 locally or in evidence container stshopevidence/opsbook-evidence')
    expect(message).toMatch(/local is an emulator environment: .*this folder has none that could hold it.*set the OPSBOOK_EMULATOR_\* variables `opsbook emulator start` printed/)
    // No emulator serves this folder and none kept a Blob store here: none is started only to find it empty.
    expect(existsSync(join(elsewhere, '.opsbook', 'emulator'))).toBe(false)
  })
})
