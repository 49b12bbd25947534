/**
 * Issue 16, item 5: a hung Azure operation. Every wait is bounded: a main step's by its timeout, teardown by its own
 * deadline; then the run says what is left, exits 3, and `opsbook resume` finishes it. Runs go through the runner the
 * CLI calls, in this process, against an in-process emulator whose faults hold or hang the operation.
 */
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ApprovalDecision} from '../../src/actions/types.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {resumeRun} from '../../src/runbooks/resume.js'
import {runRunbook, type RunOptions} from '../../src/runbooks/runner.js'
import {printRunSummary} from '../../src/ui/run-summary.js'
import {scratchDir, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
beforeAll(async () => {
  emulator = await startLocalEmulator()
  // The runs in this process reach this emulator (as the CLI would through these variables); file-isolation restores env.
  Object.assign(process.env, emulator.env())
}, 60_000)
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

const HUNG_EXPORT = `name: hung-export
title: An export whose operation never ends, with a short step timeout
kind: maintenance
params:
  cache: {type: target, component: redis}
steps:
  - id: export
    uses: redis.export
    timeout: PT3S
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
