import {describe, expect, it} from 'vitest'
import type {RunEvent} from '../../src/runbooks/events.js'
import {run, runbook, trace} from './engine-fixtures.js'

/** Run `book` with an `emit` that records (no separate journal) and fails, as a full disk, at `type` of `step`. */
async function runLosingJournalAt(book: Parameters<typeof run>[0], type: string, step: string, lost: () => Error = () => new Error('ENOSPC: no space left on device')) {
  const seen: string[] = []
  const operations: string[] = []
  const {outcome} = await run(book, {
    emit: async (event) => {
      const e = event as {type: string; step?: string; phase?: string; operation?: {description: string}}
      seen.push([e.type, e.step, e.phase].filter(Boolean).join(' '))
      if (e.type === 'operation.started') operations.push(e.operation!.description)
      if (e.type === type && e.step === step) throw lost()
    },
  })
  return {outcome, seen, operations}
}

describe('executeRunbook: scheduling', () => {
  it('runs independent waits side by side, so the run takes about the longest wait, not the sum', async () => {
    const book = runbook(`
name: parallel-waits
title: Four independent waits
kind: checklist
steps:
  - {id: w1, uses: core.wait, with: {duration: PT0.5S}}
  - {id: w2, uses: core.wait, with: {duration: PT0.5S}}
  - {id: w3, uses: core.wait, with: {duration: PT0.5S}}
  - {id: w4, uses: core.wait, with: {duration: PT0.5S}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    const order = trace(events).filter((t) => t.startsWith('step.'))
    // All four started before any finished: they overlapped.
    expect(order.slice(0, 4)).toEqual(['step.started w1 main', 'step.started w2 main', 'step.started w3 main', 'step.started w4 main'])
    // Below the sum (2000 ms), which waits one after another can never be: 1.5 s of margin over the longest wait. A
    // bound nearer the longest wait (900 ms for 4 × 0.3 s) left 600 ms for the event loop's lag on a loaded machine.
    expect(outcome.durationMs).toBeLessThan(2000)
  })

  it('never runs more steps at once than the concurrency limit, and a waiting step holds no slot', async () => {
    const book = runbook(`
name: limited
title: Limited concurrency
kind: checklist
steps:
  - {id: a, uses: core.wait, with: {duration: PT0.05S}}
  - {id: b, uses: core.wait, with: {duration: PT0.05S}}
  - {id: c, uses: core.wait, with: {duration: PT0.05S}, needs: [a, b]}
  - {id: d, uses: core.wait, with: {duration: PT0.05S}}
  - {id: e, uses: core.wait, with: {duration: PT0.05S}}
`)
    let running = 0
    let peak = 0
    const {outcome, events} = await run(book, {
      concurrency: 2,
      onEvent: (e) => {
        if (e.type === 'step.started') peak = Math.max(peak, ++running)
        if (e.type === 'step.succeeded' || e.type === 'step.failed') running--
      },
    })
    expect(outcome.status).toBe('succeeded')
    expect(peak).toBe(2)
    const started = trace(events).filter((t) => t.startsWith('step.started'))
    // c waits for a and b; d takes the free slot meanwhile.
    expect(started.indexOf('step.started d main')).toBeLessThan(started.indexOf('step.started c main'))
  })

  it('passes outputs to later steps and evaluates the runbook outputs at the end', async () => {
    const book = runbook(`
name: outputs
title: Outputs flow
kind: checklist
params:
  greeting: {type: string, default: hello}
steps:
  - {id: first, uses: test.flaky, with: {key: outputs-first, failures: 0}}
  - id: second
    uses: core.log
    needs: [first]
    with: {message: "\${{ params.greeting }} from attempt \${{ steps.first.outputs.attempt }} in \${{ env.name }}"}
outputs:
  attempt: \${{ steps.first.outputs.attempt }}
`)
    const {outcome, events} = await run(book, {params: {greeting: 'hi'}})
    expect(outcome.status).toBe('succeeded')
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({step: 'second', message: 'hi from attempt 1 in local'})
    expect(outcome.outputs).toEqual({attempt: 1})
    expect(events.at(-1)).toMatchObject({type: 'run.finished', status: 'succeeded', outputs: {attempt: 1}})
  })
})

describe('executeRunbook: failure, rollback and finally', () => {
  const failing = `
name: failing
title: Fails at the third step
kind: maintenance
steps:
  - id: a
    uses: core.log
    with: {message: do a}
    rollback: {uses: core.log, with: {message: undo a}}
  - id: b
    uses: core.log
    needs: [a]
    with: {message: do b}
    rollback: {uses: core.log, with: {message: undo b}}
  - id: c
    uses: core.assert
    needs: [b]
    with: {that: false, message: the data is not there}
  - id: d
    uses: core.log
    needs: [c]
    with: {message: never}
finally:
  - {id: cleanup, uses: core.log, with: {message: cleaning up}}
`

  it('rolls back completed steps in reverse order, then runs finally, and the run fails', async () => {
    const {outcome, events} = await run(runbook(failing))
    expect(trace(events)).toEqual([
      'run.started',
      'step.started a main',
      'step.log a main',
      'step.succeeded a main',
      'step.started b main',
      'step.log b main',
      'step.succeeded b main',
      'step.started c main',
      'step.failed c main',
      'step.skipped d main',
      'rollback.started',
      'step.started b rollback',
      'step.log b rollback',
      'step.succeeded b rollback',
      'step.started a rollback',
      'step.log a rollback',
      'step.succeeded a rollback',
      'rollback.finished',
      'finally.started',
      'step.started cleanup finally',
      'step.log cleanup finally',
      'step.succeeded cleanup finally',
      'run.finished',
    ])
    expect(events.find((e) => e.type === 'rollback.started')).toMatchObject({steps: ['b', 'a']})
    expect(events.find((e) => e.type === 'rollback.finished')).toMatchObject({ok: true, failed: []})
    // The first plan names each step's rollback action: the Activity Log witness judges a rollback by it (issue 16).
    const planned = (events[0] as Extract<RunEvent, {type: 'run.started'}>).steps
    expect(planned.map((s) => [s.id, s.rollback])).toEqual([['a', {uses: 'core.log', changes: false}], ['b', {uses: 'core.log', changes: false}], ['c', undefined], ['d', undefined], ['cleanup', undefined]])
    expect(outcome.status).toBe('failed')
    expect(outcome.error?.message).toBe('step c failed: assertion failed: the data is not there')
    expect(outcome.leftBehind).toEqual([])
    const status = Object.fromEntries(outcome.steps.map((s) => [`${s.id}/${s.phase}`, s.status]))
    expect(status).toEqual({
      'a/main': 'rolled-back',
      'b/main': 'rolled-back',
      'c/main': 'failed',
      'd/main': 'cancelled',
      'b/rollback': 'succeeded',
      'a/rollback': 'succeeded',
      'cleanup/finally': 'succeeded',
    })
  })

  it('a failing rollback makes the run rollback-failed and says what was left behind; finally still runs', async () => {
    const book = runbook(failing.replace('rollback: {uses: core.log, with: {message: undo b}}', 'rollback: {uses: core.assert, with: {that: false, message: cannot undo b}}'))
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('rollback-failed')
    expect(events.find((e) => e.type === 'rollback.finished')).toMatchObject({ok: false, failed: ['b']})
    // a is still rolled back after b's rollback failed.
    expect(trace(events)).toContain('step.succeeded a rollback')
    expect(trace(events)).toContain('step.succeeded cleanup finally')
    expect(outcome.leftBehind).toHaveLength(1)
    expect(outcome.leftBehind[0]).toContain('rollback of step b (core.assert) failed: assertion failed: cannot undo b')
    expect(outcome.steps.find((s) => s.id === 'b' && s.phase === 'main')?.status).toBe('rollback-failed')
    expect(events.at(-1)).toMatchObject({type: 'run.finished', status: 'rollback-failed'})
  })

  it('runs every finally step even when an earlier one fails, and a failed finally step is rollback-failed', async () => {
    const book = runbook(`
name: teardown
title: Teardown fails halfway
kind: drill
steps:
  - {id: work, uses: core.log, with: {message: working}}
finally:
  - {id: drop-scratch, uses: core.assert, with: {that: false, message: scratch server still locked}}
  - {id: report, uses: core.log, needs: [drop-scratch], with: {message: "drop-scratch was \${{ steps.drop-scratch.status }}"}}
  - {id: only-on-failure, uses: core.log, if: failure(), with: {message: not shown}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('rollback-failed')
    expect(events.find((e) => e.type === 'step.log' && e.step === 'report')).toMatchObject({message: 'drop-scratch was failed'})
    expect(events.find((e) => e.type === 'step.skipped')).toMatchObject({step: 'only-on-failure', phase: 'finally'})
    expect(outcome.leftBehind).toEqual(['finally step drop-scratch (core.assert) failed: assertion failed: scratch server still locked'])
  })

  it('fails the run, and still rolls back, when an event cannot be recorded', async () => {
    const book = runbook(`
name: journal-broken
title: The journal fails midway
kind: maintenance
steps:
  - {id: a, uses: core.log, with: {message: do a}, rollback: {uses: core.log, with: {message: undo a}}}
  - {id: b, uses: core.log, needs: [a], with: {message: do b}}
  - {id: c, uses: core.log, needs: [b], with: {message: do c}}
`)
    const seen: string[] = []
    const {outcome} = await run(book, {
      emit: async (event) => {
        const e = event as {type: string; step?: string; phase?: string}
        seen.push([e.type, e.step, e.phase].filter(Boolean).join(' '))
        if (e.type === 'step.succeeded' && e.step === 'b') throw new Error('ENOSPC: no space left on device')
      },
    })
    expect(outcome.status).toBe('failed')
    expect(outcome.error).toEqual({message: 'could not record event step.succeeded: ENOSPC: no space left on device', code: 'journal-failed'})
    expect(seen).not.toContain('step.started c main')
    expect(seen).toContain('step.succeeded a rollback')
  })

  it('makes no teardown change it cannot record once the journal has failed: names it as left (rollback-failed, exit 3)', async () => {
    // Issue 16 (200-drill soak, drill 73): the teardown deleted the drill copy unrecorded, and the resume then verified
    // a copy that was gone. Now changing rollbacks and finally steps wait for the resume; those that change nothing run.
    const book = runbook(`
name: journal-broken-teardown
title: The journal fails after a change
kind: maintenance
steps:
  - {id: make, uses: test.operation, with: {name: scratch-1}, rollback: {uses: test.operation, with: {name: undo-1}}}
  - {id: read, uses: core.log, needs: [make], with: {message: read it}}
finally:
  - {id: teardown, uses: test.operation, with: {name: drop-1}}
  - {id: note, uses: core.log, with: {message: "teardown is over"}}
`)
    const {outcome, seen, operations} = await runLosingJournalAt(book, 'step.succeeded', 'make')
    // Only the change made before the loss: neither its rollback nor the teardown ran.
    expect(operations).toEqual(['create scratch-1'])
    expect(seen).not.toContain('step.started make rollback')
    expect(seen).not.toContain('step.started teardown finally')
    expect(seen).toContain('step.succeeded note finally')
    expect(outcome.status).toBe('rollback-failed')
    expect(outcome.error).toMatchObject({code: 'journal-failed'})
    expect(outcome.leftBehind).toEqual([
      expect.stringMatching(/^rollback of step make \(test\.operation \{name: undo-1, duration: 0\}\) was not run: the journal cannot be written.*what test\.operation changed is still in place — the disk is full: free space; once the journal can be written again, `opsbook resume test-run-\d+` continues the run/),
      expect.stringMatching(/^finally step teardown \(test\.operation \{name: drop-1, duration: 0\}\) was not run: .*what it would undo is still in place \(make → scratch-1\)/),
    ])
    expect(outcome.steps.find((s) => s.id === 'teardown')).toMatchObject({status: 'cancelled', error: {code: 'journal-failed'}})
  })

  it.each([
    ['EROFS', 'read-only file system', 'the file system is read-only: make it writable'],
    ['EIO', 'i/o error', 'the disk reported an error: check it'],
  ])('names the cause of a journal lost to %s, not a full disk, in what it leaves for resume', async (code, text, cause) => {
    const book = runbook(`
name: journal-broken-${code.toLowerCase()}
title: The journal fails after a change
kind: maintenance
steps:
  - {id: make, uses: test.operation, with: {name: scratch-1}, rollback: {uses: test.operation, with: {name: undo-1}}}
`)
    // As node:fs fails a write: the errno name in `code`, not necessarily in the message's first word.
    const lost = () => Object.assign(new Error(`${text}, write`), {code})
    const {outcome} = await runLosingJournalAt(book, 'step.succeeded', 'make', lost)
    expect(outcome.status).toBe('rollback-failed')
    expect(outcome.leftBehind).toHaveLength(1)
    expect(outcome.leftBehind![0]).toContain(`— ${cause}; once the journal can be written again, \`opsbook resume `)
    expect(outcome.leftBehind![0]).not.toMatch(/free space/)
  })

  it('a journal lost before any change leaves nothing behind: the teardown change is not made and the run just fails (exit 1)', async () => {
    // The journal fails on the first change's step.started: nothing was changed, so the teardown has nothing to undo.
    // Naming it as left (rollback-failed, exit 3, "resume to finish the teardown") would send a human after nothing.
    const book = runbook(`
name: journal-broken-early
title: The journal fails before the first change
kind: maintenance
steps:
  - {id: make, uses: test.operation, with: {name: scratch-1}, rollback: {uses: test.operation, with: {name: undo-1}}}
finally:
  - {id: teardown, uses: test.operation, with: {name: drop-1}}
  - {id: note, uses: core.log, with: {message: "teardown is over"}}
`)
    const {outcome, seen, operations} = await runLosingJournalAt(book, 'step.started', 'make')
    expect(operations).toEqual([])
    expect(seen).not.toContain('step.started teardown finally')
    expect(seen).toContain('step.succeeded note finally')
    expect(outcome.status).toBe('failed')
    expect(outcome.error).toMatchObject({code: 'journal-failed'})
    expect(outcome.leftBehind).toEqual([])
    expect(outcome.steps.find((s) => s.id === 'teardown')).toMatchObject({status: 'cancelled', error: {code: 'journal-failed'}})
  })

  it('a listener that fails while the journal still records fails the run but does not hold back its teardown', async () => {
    // The journal (record) keeps writing; a reporter (emit) throws. The teardown can be recorded, so it runs: only a
    // journal that cannot record a change keeps it for the resume.
    const book = runbook(`
name: reporter-broken-teardown
title: A reporter fails after a change
kind: maintenance
steps:
  - {id: make, uses: test.operation, with: {name: scratch-1}, rollback: {uses: test.operation, with: {name: undo-1}}}
  - {id: read, uses: core.log, needs: [make], with: {message: read it}}
finally:
  - {id: teardown, uses: test.operation, with: {name: drop-1}}
`)
    const journal: string[] = []
    const operations: string[] = []
    const {outcome} = await run(book, {
      record: async (event) => {
        const e = event as {type: string; step?: string; phase?: string; operation?: {description: string}}
        journal.push([e.type, e.step, e.phase].filter(Boolean).join(' '))
        if (e.type === 'operation.started') operations.push(e.operation!.description)
      },
      emit: async (event) => {
        if (event.type === 'step.succeeded' && (event as {step?: string}).step === 'make') throw new Error('EPIPE: broken pipe')
      },
    })
    expect(operations).toEqual(['create scratch-1', 'create undo-1', 'create drop-1'])
    expect(journal).toContain('step.succeeded teardown finally')
    expect(outcome.status).toBe('failed')
    expect(outcome.leftBehind).toEqual([])
  })

  it('a finally change whose step.started is on disk runs even when a later line is lost: the resume reads that line as the teardown done', async () => {
    // The resume takes a recorded finally step.started as "what this teardown undoes is gone" and makes it again; had
    // the teardown then not run, the first copy would stay behind, unnamed. A line lost after it does not hold it back.
    const book = runbook(`
name: journal-broken-during-teardown
title: The journal fails while the teardown starts
kind: maintenance
steps:
  - {id: make, uses: test.operation, with: {name: scratch-1}}
finally:
  - {id: teardown, uses: test.operation, with: {name: drop-1}}
  - {id: settle, uses: core.wait, with: {duration: PT0.1S}}
`)
    const journal: string[] = []
    const operations: string[] = []
    let release: (() => void) | undefined
    let lost = false
    const {outcome} = await run(book, {
      record: async (event) => {
        const e = event as {type: string; step?: string; phase?: string; operation?: {description: string}}
        if (lost) throw new Error('ENOSPC: no space left on device')
        if (release) {
          // The first line after the teardown's step.started is lost; that one is written.
          lost = true
          release()
          throw new Error('ENOSPC: no space left on device')
        }
        journal.push([e.type, e.step, e.phase].filter(Boolean).join(' '))
        if (e.type === 'operation.started') operations.push(e.operation!.description)
        if (e.type === 'step.started' && e.step === 'teardown') await new Promise<void>((resolve) => (release = resolve))
      },
    })
    expect(journal).toContain('step.started teardown finally')
    expect(operations).toEqual(['create scratch-1'])
    expect(outcome.steps.find((s) => s.id === 'teardown')).toMatchObject({status: 'succeeded'})
    expect(outcome.error).toMatchObject({code: 'journal-failed'})
    expect(outcome.leftBehind).toEqual([])
  })

  it('a continueOnError failure is recorded and the run goes on and succeeds', async () => {
    const book = runbook(`
name: tolerant
title: Optional check fails
kind: checklist
steps:
  - {id: optional, uses: core.assert, continueOnError: true, with: {that: false, message: optional check failed}}
  - {id: after, uses: core.log, needs: [optional], with: {message: "optional was \${{ steps.optional.status }}: \${{ steps.optional.error }}"}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    expect(events.find((e) => e.type === 'step.failed')).toMatchObject({step: 'optional', continued: true})
    // A later step can say what went wrong: steps.<id>.error is the failed step's message.
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({message: 'optional was failed: assertion failed: optional check failed'})
    expect(outcome.steps.find((s) => s.id === 'optional')).toMatchObject({status: 'failed', continued: true})
    expect(trace(events)).not.toContain('rollback.started')
  })
})

describe('executeRunbook: conditions, timeouts and retries', () => {
  it('skips a step whose if is false, and its dependents unless their own if says otherwise', async () => {
    const book = runbook(`
name: conditional
title: Conditional steps
kind: checklist
params:
  cutover: {type: boolean, default: false}
steps:
  - {id: swap, uses: core.log, if: params.cutover, with: {message: swapping}}
  - {id: verify-swap, uses: core.log, needs: [swap], with: {message: verifying}}
  - {id: report, uses: core.log, needs: [swap], if: "\${{ steps.swap.status == 'skipped' }}", with: {message: no cutover}}
`)
    const {outcome, events} = await run(book, {params: {cutover: false}})
    expect(outcome.status).toBe('succeeded')
    expect(events.filter((e) => e.type === 'step.skipped').map((e) => (e as {step: string; reason: string}).step)).toEqual(['swap', 'verify-swap'])
    expect(events.find((e) => e.type === 'step.skipped' && e.step === 'verify-swap')).toMatchObject({reason: 'needs swap, which was skipped'})
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({step: 'report', message: 'no cutover'})
    expect(outcome.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'succeeded'])
  })

  it('fails a step that runs past its timeout with a clear message', async () => {
    const book = runbook(`
name: slow
title: Too slow
kind: checklist
steps:
  - {id: slow, uses: core.wait, timeout: PT0.1S, with: {duration: PT5S}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('failed')
    const failed = events.find((e) => e.type === 'step.failed')
    expect(failed).toMatchObject({step: 'slow', error: {message: 'timed out after PT0.1S', timedOut: true}})
    expect(outcome.error?.message).toBe('step slow failed: timed out after PT0.1S')
  })

  it('times out an action that ignores its signal', async () => {
    const book = runbook(`
name: stubborn
title: Ignores abort
kind: checklist
steps:
  - {id: hang, uses: test.stubborn, timeout: PT0.1S}
`)
    const {outcome} = await run(book)
    expect(outcome.steps[0]).toMatchObject({status: 'failed', error: {message: 'timed out after PT0.1S'}})
  })

  it('retries with exponential backoff and succeeds', async () => {
    const book = runbook(`
name: flaky
title: Flaky step
kind: checklist
steps:
  - {id: flaky, uses: test.flaky, retry: {attempts: 3, backoff: PT0.01S}, with: {key: retry-success, failures: 2}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    const retries = events.filter((e): e is Extract<RunEvent, {type: 'step.retrying'}> => e.type === 'step.retrying')
    expect(retries.map((r) => [r.attempt, r.delayMs, r.error.message])).toEqual([
      [2, 10, 'transient failure 1'],
      [3, 20, 'transient failure 2'],
    ])
    expect(events.find((e) => e.type === 'step.succeeded')).toMatchObject({attempts: 3, outputs: {attempt: 3}})
  })

  it('gives up after the last attempt', async () => {
    const book = runbook(`
name: flaky-out
title: Too flaky
kind: checklist
steps:
  - {id: flaky, uses: test.flaky, retry: {attempts: 2}, with: {key: retry-exhausted, failures: 5}}
`)
    const {outcome} = await run(book)
    expect(outcome.steps[0]).toMatchObject({status: 'failed', attempts: 2, error: {message: 'transient failure 2'}})
  })

  it('does not retry inputs that fail the action schema, and says which input is wrong', async () => {
    const book = runbook(`
name: bad-input
title: Bad duration at run time
kind: checklist
params:
  pause: {type: string, default: soon}
steps:
  - {id: pause, uses: core.wait, retry: {attempts: 3}, with: {duration: "\${{ params.pause }}"}}
`)
    const {outcome, events} = await run(book, {params: {pause: 'soon'}})
    expect(outcome.steps[0]).toMatchObject({status: 'failed', attempts: 0})
    expect(outcome.steps[0]!.error!.message).toMatch(/^invalid inputs for core\.wait: duration: expected an ISO-8601 duration/)
    expect(trace(events)).not.toContain('step.retrying pause main')
  })

  it('fails a step whose outputs do not match the action schema', async () => {
    const book = runbook(`
name: bad-output
title: Bad outputs
kind: checklist
steps:
  - {id: count, uses: test.bad-output}
`)
    const {outcome} = await run(book)
    expect(outcome.steps[0]!.error!.message).toMatch(/^test\.bad-output returned outputs that do not match its schema: count:/)
  })
})

describe('executeRunbook: interruption, approvals, operations and resume', () => {
  it('Ctrl-C stops launching, aborts the running step, rolls back, runs finally and ends interrupted', async () => {
    const book = runbook(`
name: interrupted
title: Interrupted midway
kind: maintenance
steps:
  - id: create
    uses: test.operation
    with: {name: scratch-1}
    rollback: {uses: core.log, with: {message: "delete \${{ steps.create.outputs.name }}"}}
  - {id: long, uses: core.wait, needs: [create], with: {duration: PT10S}}
  - {id: later, uses: core.log, needs: [long], with: {message: never}}
finally:
  - {id: cleanup, uses: core.log, with: {message: cleaning up}}
`)
    const controller = new AbortController()
    const {outcome, events} = await run(book, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step.started' && e.step === 'long') setTimeout(() => controller.abort('SIGINT'), 30)
      },
    })
    expect(outcome.status).toBe('interrupted')
    expect(trace(events).slice(-15)).toEqual([
      'step.started long main',
      // core.wait says how long it waits (a wait of 5 s or more)
      'step.log long main',
      'step.failed long main',
      'step.skipped later main',
      'run.interrupted',
      'rollback.started',
      'step.started create rollback',
      'step.log create rollback',
      'step.succeeded create rollback',
      'rollback.finished',
      'finally.started',
      'step.started cleanup finally',
      'step.log cleanup finally',
      'step.succeeded cleanup finally',
      'run.finished',
    ])
    // What the interruption does next, for the line that announces it.
    expect(events.find((e) => e.type === 'run.interrupted')).toMatchObject({signal: 'SIGINT', rollback: ['create'], finally: ['cleanup']})
    expect(events.find((e) => e.type === 'step.log' && e.phase === 'rollback')).toMatchObject({message: 'delete scratch-1'})
    expect(outcome.steps.find((s) => s.id === 'long')).toMatchObject({status: 'cancelled'})
    expect(outcome.steps.find((s) => s.id === 'later')).toMatchObject({status: 'cancelled', reason: 'not started: the run was interrupted'})
    // Well under the 10 s wait it cut short (a bound nearer the interrupt leaves no room for a loaded machine).
    expect(outcome.durationMs).toBeLessThan(8000)
  })

  it('journals approval requests and decisions around core.approval, and a denial fails the step', async () => {
    const book = runbook(`
name: approval
title: Needs a yes
kind: incident
steps:
  - {id: ok-to-swap, uses: core.approval, with: {message: Swap staging into production?}}
  - {id: swap, uses: core.log, needs: [ok-to-swap], with: {message: swapped}}
`)
    const approved = await run(book)
    expect(approved.outcome.status).toBe('succeeded')
    expect(trace(approved.events).slice(1, 5)).toEqual(['step.started ok-to-swap main', 'approval.requested ok-to-swap', 'approval.decided ok-to-swap', 'step.succeeded ok-to-swap main'])
    expect(approved.outcome.approvals).toEqual([{step: 'ok-to-swap', approved: true, by: 'tester', via: 'prompt', at: expect.any(String)}])

    const denied = await run(book, {approver: {approve: async () => ({approved: false, by: 'alice', via: 'prompt', reason: 'not during the sale'})}})
    expect(denied.outcome.status).toBe('failed')
    expect(denied.outcome.steps[0]!.error!.message).toBe('approval denied by alice: not during the sale')
    expect(trace(denied.events)).not.toContain('step.started swap main')

    const preApproved = await run(book, {
      approver: {approve: async () => Promise.reject(new Error('must not be asked'))},
      preApproved: {'ok-to-swap': {approved: true, by: 'bob', via: 'flag'}},
    })
    expect(preApproved.outcome.status).toBe('succeeded')
    expect(preApproved.outcome.approvals[0]).toMatchObject({by: 'bob', via: 'flag'})
  })

  it('ends approval-required when the approver cannot ask anyone', async () => {
    const {ApprovalRequiredError} = await import('../../src/errors.js')
    const book = runbook(`
name: approval-no-tty
title: Needs a yes, nobody to ask
kind: incident
steps:
  - {id: ok, uses: core.approval, with: {message: Go?}}
`)
    const {outcome} = await run(book, {approver: {approve: async (r) => Promise.reject(new ApprovalRequiredError('no terminal', r.step))}})
    expect(outcome.status).toBe('approval-required')
  })

  it('journals operation.started before the step finishes, and lists operations of unfinished steps as left behind', async () => {
    const book = runbook(`
name: operations
title: Long-running operation times out
kind: incident
steps:
  - {id: restore, uses: test.operation, timeout: PT0.1S, with: {name: pg-restored, duration: 5000}}
`)
    const {outcome, events} = await run(book)
    expect(trace(events).slice(1, 4)).toEqual(['step.started restore main', 'operation.started restore', 'step.failed restore main'])
    expect(outcome.leftBehind).toEqual([
      'step restore started "create pg-restored" (PUT https://management.azure.com/things/pg-restored) and did not finish; it may still be running: https://management.azure.com/operations/pg-restored',
    ])
  })

  it('on resume, does not re-run completed steps, restores their outputs and hands in-flight operations to the action', async () => {
    const book = runbook(`
name: resumable
title: Resumable
kind: drill
steps:
  - {id: first, uses: test.flaky, with: {key: resume-first, failures: 0}}
  - {id: restore, uses: test.operation, needs: [first], with: {name: pg-drill}}
  - {id: report, uses: core.log, needs: [restore], with: {message: "first=\${{ steps.first.outputs.attempt }} reattached=\${{ steps.restore.outputs.reattached }}"}}
`)
    const {outcome, events} = await run(book, {
      resume: {
        from: 'earlier-run',
        completed: {first: {outputs: {attempt: 7}}},
        inFlight: {restore: {description: 'create pg-drill', method: 'PUT', resourceUrl: 'https://management.azure.com/things/pg-drill'}},
      },
    })
    expect(outcome.status).toBe('succeeded')
    expect(events[0]).toMatchObject({type: 'run.started', resumedFrom: 'earlier-run'})
    expect(trace(events)).not.toContain('step.started first main')
    expect(trace(events)).not.toContain('operation.started restore')
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({message: 'first=7 reattached=true'})
  })
})
