/**
 * Issue 16, item 5: a hung Azure operation. Every wait is bounded: a main step's by its timeout, teardown by its own
 * deadline; then the run says what is left, exits 3, and `opsbook resume` finishes it. Runs go through the runner the
 * CLI calls, in this process, against an in-process emulator whose faults hold or hang the operation. A step with no
 * `timeout:` is bounded too: by its action's declared default.
 */
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {findAction, listActions, registerActions} from '../../src/actions/registry.js'
import type {ApprovalDecision} from '../../src/actions/types.js'
import {parseDuration} from '../../src/support/duration.js'
import {runCliInProcess} from '../helpers/cli.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {runRunbook, type RunOptions} from '../../src/runbooks/runner.js'
import {printRunSummary} from '../../src/ui/run-summary.js'
import {redisData, scratchDir, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
beforeAll(async () => {
  emulator = await startLocalEmulator()
  // The runs in this process reach this emulator (as the CLI would through these variables); file-isolation restores env.
  Object.assign(process.env, emulator.env())
  // What an export step loads and connects to before its operation starts (the Redis and Blob SDKs, the cache over
  // TLS), loaded once here: the steps' timeouts below then measure the hung operation, not the first import.
  const services = sdkServices(emulator)
  await services.redis()
  await services.blob('stshopsnapshots')
  ;(await redisData(emulator)).disconnect()
})
afterAll(async () => {
  await emulator?.stop()
})

function lines(journal: string): any[] {
  return readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
}

function options(cwd: string, events: RunEvent[] = []): Omit<RunOptions, 'runbook' | 'envName' | 'params'> {
  return {
    cwd,
    approver: {approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'test', via: 'yes'})},
    interactive: false,
    preApproved: (): ApprovalDecision => ({approved: true, by: '--yes', via: 'yes'}),
    listeners: [async (event: RunEvent) => void events.push(event)],
    signal: new AbortController().signal,
  }
}

// The step timeout must outlast what the step does before its operation starts (token, SAS, the cache's canary, the
// POST): with 3 s and the SDK imports inside it (this test came first, cold), that could run out on a loaded machine
// (the worker gets an eighth of a core beside a CPU hog at load 16) before the export was started, and the run then had
// nothing left behind to name; 8 s cost 5 s here. The imports are done in beforeAll now, as for the PT2S default bound
// below, which has always run after a warm export; 4 s leaves twice that bound.
const HUNG_EXPORT = `name: hung-export
title: An export whose operation never ends, with a short step timeout
kind: maintenance
params:
  cache: {type: target, component: redis}
steps:
  - id: export
    uses: redis.export
    timeout: PT4S
    with: {cache: "\${{ params.cache }}"}
`

describe('a hung operation in a main step', () => {
  it('times out, names the operation still running, exits 3; resume waits for that operation, then finishes with 0', async () => {
    const cwd = scratchDir({'hung.yaml': HUNG_EXPORT})
    emulator.faults.set({hangOperations: ['redis.export']})
    let first
    try {
      first = await runRunbook({...options(cwd), runbook: './hung.yaml', envName: 'local', params: {}, target: 'sessions-cache'})
    } catch (error) {
      emulator.faults.set({hangOperations: []})
      throw error
    }
    // It used to end failed (exit 1) with "NEEDS A HUMAN" printed, and resume refused it: "already finished (failed)".
    expect(first.leftBehind.join('\n')).toMatch(/step export started "redis\.export .*" .* and did not finish: it is still running \(InProgress\)/)
    expect(first.status).toBe('rollback-failed')
    expect(first.exitCode).toBe(3)
    const finished = lines(first.journal).find((l) => l.type === 'run.finished')
    expect(finished.data).toMatchObject({status: 'rollback-failed', leftBehind: first.leftBehind})

    // Through ARM, as a user would look: the export's monitor says it is still running.
    const monitorUrl = lines(first.journal).find((l) => l.type === 'operation.started')?.data.operation.monitorUrl as string
    const status = async () => (await sdkServices(emulator).armRequest('GET', monitorUrl)).body?.status
    expect(await status()).toBe('InProgress')
    const events: RunEvent[] = []
    const waiting = () => events.some((e) => e.type === 'step.log' && /waiting for .* to end before sending it again/.test(e.message))
    const resumed = resumeRun({...options(cwd, events), runId: first.runId, params: {}})
    try {
      while (!waiting() && !events.some((e) => e.type === 'operation.started' || e.type === 'run.finished')) await new Promise((resolve) => setTimeout(resolve, 10))
      // Waiting for the first export: no second one beside it.
      expect(waiting()).toBe(true)
      expect(events.some((e) => e.type === 'operation.started')).toBe(false)
    } finally {
      emulator.faults.set({hangOperations: []})
    }
    const second = await resumed
    expect(second.steps.map((s) => `${s.id} ${s.status} ${s.error ?? ''}`)).toEqual(['export succeeded '])
    expect(second.exitCode).toBe(0)
    expect(await status()).toBe('Succeeded')
    // One export sent in all: the resume waited for the first, then sent its own once (two operation.started lines).
    expect(lines(first.journal).filter((l) => l.type === 'operation.started')).toHaveLength(2)
  }, 60_000)
})

const UNBOUNDED_EXPORT = `name: unbounded-export
title: An export whose operation never ends, and no timeout on the step
kind: maintenance
params:
  cache: {type: target, component: redis}
steps:
  - id: export
    uses: test.slowExport
    with: {cache: "\${{ params.cache }}"}
`

describe('a step with no timeout:', () => {
  it('every changing action declares a default bound; plan and runbooks show print it, a timeout: overrides it', async () => {
    // Issue 16, item 5 ("every wait has a bound"): a step that set no timeout waited for ever on a hung operation.
    // Built-in actions only: other files sharing this worker (isolate: false) register test.* actions into the registry.
    const unbounded = listActions().filter((a) => !a.name.startsWith('test.') && a.changes && !(parseDuration(a.defaultTimeout ?? '')! > 0))
    expect(unbounded.map((a) => a.name)).toEqual([])
    const cwd = scratchDir({
      'export.yaml': UNBOUNDED_EXPORT.replace('test.slowExport', 'redis.export'),
      'export-bounded.yaml': UNBOUNDED_EXPORT.replace('test.slowExport', 'redis.export').replace('    with:', '    timeout: PT5M\n    with:'),
    })
    const plan = await runCliInProcess(['plan', './export.yaml', '--env', 'local', '--target', 'sessions-cache'], {cwd})
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/export {2}\[redis\.export\] {2}\(changes; timeout PT2H \(default\)\)/)
    const bounded = await runCliInProcess(['plan', './export-bounded.yaml', '--env', 'local', '--target', 'sessions-cache'], {cwd})
    expect(bounded.stdout).toMatch(/\[redis\.export\] {2}\(changes; timeout PT5M\)/)
    const show = await runCliInProcess(['runbooks', 'show', './export.yaml'], {cwd})
    expect(show.stdout).toMatch(/redis\.export +changes +.*\(default timeout PT2H\)/)
  }, 60_000)

  it('times out at its action\'s default bound exactly as with timeout: — exit 3 naming the operation still running', async () => {
    // The export action as registered, with a default bound a test can wait for (the real one is PT2H).
    registerActions([{...findAction('redis.export')!, name: 'test.slowExport', defaultTimeout: 'PT2S'}])
    const cwd = scratchDir({'unbounded.yaml': UNBOUNDED_EXPORT})
    emulator.faults.set({hangOperations: ['redis.export']})
    let first
    try {
      first = await runRunbook({...options(cwd), runbook: './unbounded.yaml', envName: 'local', params: {}, target: 'sessions-cache'})
    } finally {
      emulator.faults.set({hangOperations: []})
    }
    const failed = lines(first.journal).find((l) => l.type === 'step.failed')
    expect(failed.data.error).toMatchObject({timedOut: true, message: 'timed out after PT2S (the default bound of test.slowExport; a `timeout:` on the step sets another)'})
    expect(first.leftBehind.join('\n')).toMatch(/step export started "redis\.export .*" .* and did not finish/)
    expect(first.exitCode).toBe(3)
  }, 60_000)
})

describe('Ctrl-C while an operation of the run is still running in Azure', () => {
  it('ends exit 3 naming the operation (NEEDS A HUMAN, not 130 as if nothing were left); resume waits for it and finishes with 0', async () => {
    const cwd = scratchDir({'hung.yaml': HUNG_EXPORT})
    emulator.faults.set({hangOperations: ['redis.export']})
    const ctrlC = new AbortController()
    // Ctrl-C the moment the export's operation is journaled: Azure has it, and nothing will undo it.
    const events: RunEvent[] = []
    const listen = async (event: RunEvent) => {
      events.push(event)
      if (event.type === 'operation.started') ctrlC.abort('SIGINT')
    }
    let first
    try {
      first = await runRunbook({...options(cwd), listeners: [listen], signal: ctrlC.signal, runbook: './hung.yaml', envName: 'local', params: {}, target: 'sessions-cache'})
    } finally {
      emulator.faults.set({hangOperations: []})
    }
    expect(first.status).toBe('interrupted')
    expect(first.leftBehind.join('\n')).toMatch(/step export started "redis\.export .*" .* and did not finish: it is still running \(InProgress\)/)
    expect(first.exitCode).toBe(3)
    let printed = ''
    printRunSummary(first, {write: (text: string) => (printed += text) > ''} as never)
    expect(printed).toContain('NEEDS A HUMAN — left behind:')
    expect(printed).toContain(`continue with: opsbook resume ${first.runId}`)

    const second = await resumeRun({...options(cwd), runId: first.runId, params: {}})
    expect(second.steps.map((s) => `${s.id} ${s.status}`)).toEqual(['export succeeded'])
    expect(second.exitCode).toBe(0)
  }, 60_000)
})
