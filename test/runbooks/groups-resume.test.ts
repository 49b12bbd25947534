/**
 * Resuming in the middle of a group and of a called runbook, through the real journal: a run is interrupted (Ctrl-C)
 * or cut short (a crash: the journal ends where the process died), `loadResumeState` reads what the journal says, and
 * the resumed run must keep what completed (outputs restored), re-attach what was in flight, and run only the rest —
 * except what a teardown undid, which is done again.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {registerActions} from '../../src/actions/registry.js'
import {defineAction} from '../../src/actions/types.js'
import {Journal, newRunId, verifyChain} from '../../src/evidence/journal.js'
import {Redactor} from '../../src/evidence/redact.js'
import {loadResumeState, reconstruct} from '../../src/evidence/resume-state.js'
import type {ExecuteOptions} from '../../src/runbooks/engine.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {loadRunbookFile} from '../../src/runbooks/loader.js'
import type {Runbook} from '../../src/runbooks/model.js'
import {flakyAttempts, run, runbook, trace} from './engine-fixtures.js'

/** Closed: `test.resume-gate` (and `test.resume-create` with hold, after starting its operation) wait until aborted. */
let gateOpen = false
/** How many times `test.resume-create` ran for each name, and how many of those re-attached. */
const creates = new Map<string, {runs: number; reattached: number}>()

function untilGateOpens(signal: AbortSignal): Promise<void> {
  if (gateOpen) return Promise.resolve()
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), {once: true})
  })
}

registerActions([
  defineAction({
    name: 'test.resume-gate',
    summary: 'Waits until the test opens the gate (or the step is aborted)',
    input: z.strictObject({}),
    output: z.strictObject({}),
    changes: false,
    permissions: [],
    async run(_input, ctx) {
      await untilGateOpens(ctx.signal)
      return {}
    },
  }),
  defineAction({
    name: 'test.resume-create',
    summary: 'Starts a tracked create (or re-attaches to the one in flight); with hold, waits for the gate then',
    input: z.strictObject({name: z.string(), hold: z.boolean().default(false)}),
    output: z.strictObject({name: z.string(), reattached: z.boolean()}),
    changes: true,
    permissions: ['Test/things/write'],
    async run(input, ctx) {
      const count = creates.get(input.name) ?? {runs: 0, reattached: 0}
      creates.set(input.name, count)
      count.runs++
      const inFlight = ctx.operations.inFlight()
      if (inFlight) count.reattached++
      else
        await ctx.operations.started({
          description: `create ${input.name}`,
          method: 'PUT',
          resourceUrl: `https://management.azure.com/things/${input.name}`,
          monitorUrl: `https://management.azure.com/operations/${input.name}`,
        })
      if (input.hold) await untilGateOpens(ctx.signal)
      return {name: input.name, reattached: inFlight !== undefined}
    },
  }),
])

const root = mkdtempSync(join(tmpdir(), 'opsbook-group-resume-'))

/** Runbook files side by side (a call finds `<name>.yaml` beside its caller); returns the first, loaded. */
function files(texts: Record<string, string>): Runbook {
  for (const [name, text] of Object.entries(texts)) writeFileSync(join(root, `${name}.yaml`), text)
  return loadRunbookFile(join(root, `${Object.keys(texts)[0]}.yaml`))
}

/** Run with the real journal (a new one, or the run's own on resume), every event recorded before it is delivered. */
async function journaled(book: Runbook, runId: string, options: Partial<ExecuteOptions> & {onEvent?: (event: RunEvent) => void; resumed?: boolean} = {}) {
  const {resumed, ...rest} = options
  const redactor = new Redactor()
  const journal = resumed ? await Journal.open(runId, root, {redactor}) : await Journal.create(runId, {root, redactor})
  try {
    return await run(book, {runId, redactor, record: (event) => journal.append(event), ...rest})
  } finally {
    await journal.close()
  }
}

/** Interrupt (Ctrl-C) the run when `at` says so. */
async function interrupted(book: Runbook, runId: string, at: (event: RunEvent) => boolean, options: Partial<ExecuteOptions> = {}) {
  gateOpen = false
  const controller = new AbortController()
  const result = await journaled(book, runId, {...options, signal: controller.signal, onEvent: (event) => at(event) && controller.abort('SIGINT')})
  expect(result.outcome.status).toBe('interrupted')
  return result
}

/** What `opsbook resume` does: the state from the journal, then the same runbook again on the same journal. */
async function resumed(book: Runbook, runId: string, options: Partial<ExecuteOptions> = {}) {
  gateOpen = true
  const state = await loadResumeState(runId, {root})
  const result = await journaled(book, runId, {
    ...options,
    resumed: true,
    resume: {completed: state.completed, inFlight: state.inFlight, interrupted: state.interrupted, calls: state.calls, from: runId},
  })
  expect(verifyChain(readFileSync(join(root, 'runs', runId, 'journal.jsonl'), 'utf8')).ok).toBe(true)
  return {...result, state, started: trace(result.events).filter((t) => t.startsWith('step.started') && t.endsWith(' main')).map((t) => t.split(' ')[1])}
}

const startedStep = (id: string) => (event: RunEvent) => event.type === 'step.started' && event.step === id

describe('resume in the middle of a group or a called runbook (from the journal)', () => {
  it('a group interrupted by Ctrl-C goes on from where it stopped: completed inner steps are kept with their outputs', async () => {
    const book = runbook(`
name: group-mid
title: Interrupted inside a group
kind: maintenance
steps:
  - {id: before, uses: test.flaky, with: {key: gm-before, failures: 0}}
  - id: grp
    needs: [before]
    steps:
      - {id: first, uses: test.flaky, with: {key: gm-first, failures: 0}}
      - {id: create, uses: test.resume-create, needs: [first], with: {name: gm-thing}}
      - {id: hold, uses: test.resume-gate, needs: [create]}
      - {id: last, uses: core.log, needs: [hold], with: {message: "first was attempt \${{ steps.first.outputs.attempt }}, made \${{ steps.create.outputs.name }}"}}
    finally:
      - {id: note, uses: core.log, with: {message: group ends}}
    outputs:
      made: \${{ steps.create.outputs.name }}
`)
    const runId = newRunId(book.name)
    await interrupted(book, runId, startedStep('grp.hold'))
    const second = await resumed(book, runId)
    expect(second.outcome.status).toBe('succeeded')
    // Nothing before the interruption ran twice; the group and the rest of its steps did run.
    expect(flakyAttempts.get('gm-before')).toBe(1)
    expect(flakyAttempts.get('gm-first')).toBe(1)
    expect(creates.get('gm-thing')).toEqual({runs: 1, reattached: 0})
    expect(second.started).toEqual(['grp', 'grp.hold', 'grp.last'])
    expect(second.events.find((e) => e.type === 'step.log' && e.step === 'grp.last')).toMatchObject({message: 'first was attempt 1, made gm-thing'})
    expect(second.outcome.steps.find((s) => s.id === 'grp')).toMatchObject({status: 'succeeded', outputs: {made: 'gm-thing'}})
  })

  it('a call interrupted by Ctrl-C goes on from where it stopped, with the params it started with; what its teardown undid is done again', async () => {
    const book = files({
      'mid-caller': `
name: mid-caller
title: Calls a runbook that is interrupted
kind: maintenance
steps:
  - {id: prep, uses: test.flaky, with: {key: mc-prep, failures: 0}}
  - id: child
    needs: [prep]
    uses: runbook:mid-callee
    with: {at: "\${{ now() }}"}
  - {id: after, uses: core.log, needs: [child], with: {message: "child made \${{ steps.child.outputs.made }} as of \${{ steps.child.outputs.at }}"}}
`,
      'mid-callee': `
name: mid-callee
title: Checks, creates scratch, holds, verifies; tears the scratch down at the end
kind: maintenance
params:
  at: {type: datetime}
steps:
  - {id: check, uses: test.flaky, with: {key: mc-check, failures: 0}}
  - {id: create, uses: test.resume-create, needs: [check], with: {name: mc-scratch}}
  - {id: hold, uses: test.resume-gate, needs: [create]}
  - {id: verify, uses: core.log, needs: [check, hold], with: {message: "verified as of \${{ params.at }} after check attempt \${{ steps.check.outputs.attempt }}"}}
finally:
  - {id: teardown, uses: test.resume-create, with: {name: mc-teardown}}
outputs:
  made: \${{ steps.create.outputs.name }}
  at: \${{ params.at }}
`,
    })
    const runId = newRunId(book.name)
    const first = new Date('2026-12-02T10:00:00.000Z')
    await interrupted(book, runId, startedStep('child.hold'), {now: () => first})
    // The resumed process evaluates now() anew: the call must keep the point its kept steps were checked against.
    const second = await resumed(book, runId, {now: () => new Date('2026-12-02T11:00:00.000Z')})
    expect(second.outcome.status).toBe('succeeded')
    expect(flakyAttempts.get('mc-prep')).toBe(1)
    expect(flakyAttempts.get('mc-check')).toBe(1)
    // The scratch thing was torn down by the call's finally at Ctrl-C: it is made again (a second create, not a re-attach).
    expect(creates.get('mc-scratch')).toEqual({runs: 2, reattached: 0})
    expect(second.state.completed).toHaveProperty('child.check')
    expect(second.state.completed).not.toHaveProperty('child.create')
    expect(second.started).toEqual(['child', 'child.create', 'child.hold', 'child.verify', 'after'])
    expect(second.events.find((e) => e.type === 'step.started' && e.step === 'child')).toMatchObject({inputs: {at: first.toISOString()}})
    const logs = second.events.filter((e) => e.type === 'step.log').map((e) => (e as {message: string}).message)
    expect(logs).toEqual([`verified as of ${first.toISOString()} after check attempt 1`, `child made mc-scratch as of ${first.toISOString()}`])
  })

  it('a crash inside a call: the operation in flight is re-attached, not issued again, and earlier steps are kept', async () => {
    const book = files({
      'crash-caller': `
name: crash-caller
title: Calls a runbook whose create is in flight when the process dies
kind: maintenance
steps:
  - {id: child, uses: runbook:crash-callee}
`,
      'crash-callee': `
name: crash-callee
title: Check, create, verify
kind: maintenance
steps:
  - {id: check, uses: test.flaky, with: {key: cc-check, failures: 0}}
  - {id: create, uses: test.resume-create, needs: [check], with: {name: cc-thing, hold: true}}
  - {id: verify, uses: core.log, needs: [create], with: {message: "made \${{ steps.create.outputs.name }} (re-attached \${{ steps.create.outputs.reattached }})"}}
finally:
  - {id: teardown, uses: test.resume-create, with: {name: cc-teardown}}
`,
    })
    const runId = newRunId(book.name)
    await interrupted(book, runId, (e) => e.type === 'operation.started' && e.step === 'child.create')
    // The process died right after the operation was journaled: the journal ends there (no teardown, no rollback).
    const path = join(root, 'runs', runId, 'journal.jsonl')
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean)
    const cut = lines.findIndex((l) => JSON.parse(l).type === 'operation.started')
    writeFileSync(path, `${lines.slice(0, cut + 1).join('\n')}\n`)
    const second = await resumed(book, runId)
    expect(second.state.inFlight).toHaveProperty('child.create')
    expect(second.outcome.status).toBe('succeeded')
    expect(flakyAttempts.get('cc-check')).toBe(1)
    expect(creates.get('cc-thing')).toEqual({runs: 2, reattached: 1})
    expect(second.started).toEqual(['child', 'child.create', 'child.verify'])
    expect(second.events.find((e) => e.type === 'step.log' && e.step === 'child.verify')).toMatchObject({message: 'made cc-thing (re-attached true)'})
  })

  it('a call inside a group: Ctrl-C in the callee, then resume runs neither the group’s earlier steps nor the callee’s again', async () => {
    const book = files({
      'nest-outer': `
name: nest-outer
title: A group that calls a runbook
kind: maintenance
steps:
  - id: grp
    steps:
      - {id: pre, uses: test.flaky, with: {key: nest-pre, failures: 0}}
      - {id: call, uses: runbook:nest-inner, needs: [pre], with: {label: "after pre attempt \${{ steps.pre.outputs.attempt }}"}}
      - {id: post, uses: core.log, needs: [call], with: {message: "call said \${{ steps.call.outputs.said }}"}}
    outputs:
      said: \${{ steps.call.outputs.said }}
outputs:
  said: \${{ steps.grp.outputs.said }}
`,
      'nest-inner': `
name: nest-inner
title: Counted step, then a hold; a teardown that changes something
kind: maintenance
params:
  label: {type: string}
steps:
  - {id: count, uses: test.flaky, with: {key: nest-count, failures: 0}}
  - {id: hold, uses: test.resume-gate, needs: [count]}
finally:
  - {id: teardown, uses: test.resume-create, with: {name: nest-teardown}}
outputs:
  said: "\${{ params.label }}, count attempt \${{ steps.count.outputs.attempt }}"
`,
    })
    const runId = newRunId(book.name)
    const first = await interrupted(book, runId, startedStep('grp.call.hold'))
    expect(first.outcome.steps.find((s) => s.id === 'grp.call')).toMatchObject({status: 'cancelled'})
    const second = await resumed(book, runId)
    expect(second.outcome.status).toBe('succeeded')
    expect(flakyAttempts.get('nest-pre')).toBe(1)
    expect(flakyAttempts.get('nest-count')).toBe(1)
    expect(second.started).toEqual(['grp', 'grp.call', 'grp.call.hold', 'grp.post'])
    expect(second.outcome.outputs).toEqual({said: 'after pre attempt 1, count attempt 1'})
  })
})

describe('what the journal tells resume to keep', () => {
  const line = (type: string, data: Record<string, unknown>, step?: string) => ({type, data, step: step ?? null, seq: 0, ts: '', runId: 'r', prev: ''})
  const plan = [
    {id: 'g', uses: 'group', phase: 'main', changes: false, needs: []},
    {id: 'g.read', uses: 'test.flaky', phase: 'main', changes: false, needs: [], parent: 'g'},
    {id: 'g.make', uses: 'test.operation', phase: 'main', changes: true, needs: ['g.read'], parent: 'g'},
    {id: 'g.use', uses: 'core.log', phase: 'main', changes: false, needs: ['g.make'], parent: 'g'},
    {id: 'g.log', uses: 'core.log', phase: 'finally', changes: false, needs: [], parent: 'g'},
    {id: 'g.teardown', uses: 'drill.teardown', phase: 'finally', changes: true, needs: [], parent: 'g'},
  ]
  const started = line('run.started', {runbook: 'x', environment: 'local', params: {}, steps: plan})
  const done = (step: string) => [line('step.started', {phase: 'main'}, step), line('step.succeeded', {phase: 'main', outputs: {}}, step)]
  const keep = (...rest: Array<ReturnType<typeof line>>) => Object.keys(reconstruct('r', [started, line('step.started', {phase: 'main'}, 'g'), ...done('g.read'), ...done('g.make'), ...done('g.use'), ...rest] as never).completed).sort()

  it('keeps every completed step of a group that crashed, or whose finally changed nothing', () => {
    expect(keep()).toEqual(['g.make', 'g.read', 'g.use'])
    expect(keep(line('step.started', {phase: 'finally'}, 'g.log'))).toEqual(['g.make', 'g.read', 'g.use'])
  })

  it('after a teardown that changes something: redoes the changing steps and what needs them, keeps the reads', () => {
    const teardown = line('step.started', {phase: 'finally'}, 'g.teardown')
    expect(keep(teardown, line('step.succeeded', {phase: 'finally', outputs: {}}, 'g.teardown'))).toEqual(['g.read'])
    expect(keep(teardown, line('step.failed', {phase: 'finally', error: {code: 'x'}}, 'g.teardown'))).toEqual(['g.read'])
    expect(keep(teardown, line('operation.started', {operation: {description: 'delete x'}}, 'g.teardown'))).toEqual(['g.read'])
    // A main step of the scope that failed is done again; what a teardown that then wrote or ended undid is done again too.
    const failedFirst = [started, line('step.started', {phase: 'main'}, 'g'), ...done('g.read'), ...done('g.make'), line('step.started', {phase: 'main'}, 'g.use'), line('step.failed', {phase: 'main', error: {code: 'x'}}, 'g.use'), teardown]
    expect(Object.keys(reconstruct('r', [...failedFirst, line('operation.started', {operation: {description: 'delete x'}}, 'g.teardown')] as never).completed)).toEqual(['g.read'])
  })

  it('a main step of the scope that failed, then a teardown cut off before it wrote: that step is redone, the rest of the scope kept', () => {
    // (region-failover: Ctrl-C in the wait for the DR region, a kill in the fail-back. Redoing the switch too found
    // traffic already switched: it changed nothing, the restore put nothing back and the fail-back was lost.)
    const teardown = line('step.started', {phase: 'finally'}, 'g.teardown')
    const failedFirst = [started, line('step.started', {phase: 'main'}, 'g'), ...done('g.read'), ...done('g.make'), line('step.started', {phase: 'main'}, 'g.use'), line('step.failed', {phase: 'main', error: {code: 'interrupted'}}, 'g.use'), teardown]
    expect(Object.keys(reconstruct('r', failedFirst as never).completed)).toEqual(['g.read', 'g.make'])
  })

  it('a teardown cut off before it wrote, with nothing else of its scope left to do: the scope is kept and the teardown runs again with its outputs', () => {
    // (region-failover: a switch redone with traffic still in the DR region changed nothing, and the restore put nothing back.)
    expect(keep(line('step.started', {phase: 'finally'}, 'g.teardown'))).toEqual(['g.make', 'g.read', 'g.use'])
  })

  it('after a rollback: redoes the rolled-back step and what needs it', () => {
    expect(keep(line('step.succeeded', {phase: 'rollback', outputs: {}}, 'g.make'))).toEqual(['g.read'])
  })

  it('a completed group is one step: what its own teardown or a later rollback did inside it does not reopen it', () => {
    const completedGroup = keep(line('step.started', {phase: 'finally'}, 'g.teardown'), line('step.succeeded', {phase: 'main', outputs: {}}, 'g'), line('step.succeeded', {phase: 'rollback', outputs: {}}, 'g.make'))
    expect(completedGroup).toContain('g')
  })

  it('without the step list (older journals) a group whose finally ran is done again from its first step', () => {
    const old = reconstruct('r', [line('run.started', {runbook: 'x', environment: 'local', params: {}}), ...done('g.a'), line('step.started', {phase: 'finally'}, 'g.teardown')] as never)
    expect(old.completed).toEqual({})
  })

  it('hands an inner step the operation Ctrl-C stopped waiting for, as a top-level step gets it', () => {
    const operation = {description: 'create x', method: 'PUT', resourceUrl: 'https://management.azure.com/things/x'}
    const state = reconstruct('r', [
      started,
      line('step.started', {phase: 'main'}, 'g'),
      ...done('g.read'),
      line('step.started', {phase: 'main'}, 'g.make'),
      line('operation.started', {operation}, 'g.make'),
      line('step.failed', {phase: 'main', error: {message: 'interrupted: SIGINT', code: 'interrupted'}}, 'g.make'),
    ] as never)
    expect(state.interrupted).toEqual({'g.make': operation})
    expect(state.inFlight).toEqual({})
    expect(Object.keys(state.completed)).toEqual(['g.read'])
  })

  it('hands a call that goes on the params it started with, and none to a call that completed', () => {
    const call = (id: string) => line('step.started', {phase: 'main', uses: 'runbook:child', inputs: {at: '2026-12-02T10:00:00.000Z'}}, id)
    const state = reconstruct('r', [started, call('c1'), ...done('c1.a'), call('c2'), ...done('c2.a'), line('step.succeeded', {phase: 'main', outputs: {}}, 'c2'), call('c3')] as never)
    expect(state.calls).toEqual({c1: {params: {at: '2026-12-02T10:00:00.000Z'}}})
  })
})
