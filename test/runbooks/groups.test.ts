/**
 * Step groups and runbook calls in the engine: one node outside (status, first inner error, outputs), a sub-DAG
 * inside; failure stays in its group instance under continueOnError; rollbacks, finally, Ctrl-C and resume.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {reconstruct} from '../../src/evidence/resume-state.js'
import {expandRunbook} from '../../src/runbooks/expand.js'
import {loadRunbookFile} from '../../src/runbooks/loader.js'
import {environment, run, runbook, trace} from './engine-fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'opsbook-groups-'))
/** Write runbook files side by side (calls find `<name>.yaml` beside the caller); returns the path of the first. */
function files(texts: Record<string, string>): string {
  for (const [name, text] of Object.entries(texts)) writeFileSync(join(dir, `${name}.yaml`), text)
  return join(dir, `${Object.keys(texts)[0]}.yaml`)
}

describe('step groups', () => {
  it('runs inner steps as a DAG that sees the group item and each other; outside, the group is one node with outputs', async () => {
    const book = expandRunbook(
      runbook(`
name: grouped
title: A group per postgres server
kind: drill
steps:
  - id: per-db
    forEach: {components: postgres}
    steps:
      - {id: name, uses: core.log, with: {message: "\${{ item.name }}"}}
      - {id: check, uses: core.assert, needs: [name], with: {that: "\${{ steps.name.status == 'succeeded' }}", message: ok}}
    outputs:
      server: \${{ item.key }}
      checked: \${{ steps.check.status }}
  - id: after
    needs: [per-db]
    uses: core.log
    with: {message: "\${{ toJSON(steps.per-db.outputs) }}"}
outputs:
  servers: \${{ steps.per-db.outputs }}
`),
      environment,
    )
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    const keys = Object.entries(environment.components).filter(([, c]) => c.type === 'postgres').map(([k]) => k)
    expect(keys.length).toBeGreaterThan(0)
    const key = keys[0]!
    // Nested ids, journaled in the tree order with their parent.
    const started = events.find((e) => e.type === 'run.started')!
    expect(started.type === 'run.started' && started.steps.slice(0, 3)).toEqual([
      expect.objectContaining({id: `per-db-${key}`, uses: 'group'}),
      expect.objectContaining({id: `per-db-${key}.name`, parent: `per-db-${key}`}),
      expect.objectContaining({id: `per-db-${key}.check`, parent: `per-db-${key}`, needs: [`per-db-${key}.name`]}),
    ])
    expect(trace(events)).toContain(`step.succeeded per-db-${key}.check main`)
    expect(outcome.steps.find((s) => s.id === `per-db-${key}`)).toMatchObject({status: 'succeeded', outputs: {server: key, checked: 'succeeded'}})
    expect(outcome.outputs.servers).toMatchObject({[key]: {server: key, checked: 'succeeded'}})
    // The group ends after its inner steps.
    const order = trace(events)
    expect(order.indexOf(`step.succeeded per-db-${key} main`)).toBeGreaterThan(order.indexOf(`step.succeeded per-db-${key}.check main`))
  })

  it('with continueOnError, a failing instance stops only its own steps; the siblings and the run go on', async () => {
    const book = runbook(`
name: contained
title: One failing group among two
kind: checklist
steps:
  - id: bad
    continueOnError: true
    steps:
      - {id: one, uses: core.assert, with: {that: false, message: broken on purpose}}
      - {id: two, uses: core.log, needs: [one], with: {message: never}}
  - id: good
    steps:
      - {id: one, uses: core.log, with: {message: fine}}
  - id: report
    needs: [bad, good]
    if: \${{ always() }}
    uses: core.log
    with: {message: "bad=\${{ steps.bad.status }} (\${{ steps.bad.error }}) good=\${{ steps.good.status }}"}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    expect(outcome.steps.find((s) => s.id === 'bad')).toMatchObject({status: 'failed', continued: true, error: {message: 'step bad.one failed: assertion failed: broken on purpose'}})
    expect(outcome.steps.find((s) => s.id === 'bad.two')).toMatchObject({status: 'cancelled', reason: 'not started: group bad failed'})
    expect(outcome.steps.find((s) => s.id === 'good')).toMatchObject({status: 'succeeded'})
    const log = events.find((e) => e.type === 'step.log' && e.step === 'report')
    expect(log).toMatchObject({message: 'bad=failed (step bad.one failed: assertion failed: broken on purpose) good=succeeded'})
  })

  it('one failing instance of a forEach group never stops the other instances (continueOnError)', async () => {
    const book = expandRunbook(
      runbook(`
name: instances
title: One instance fails
kind: drill
steps:
  - id: per
    forEach: {components: [postgres, redis, webapp]}
    continueOnError: true
    steps:
      - {id: check, uses: core.assert, with: {that: "\${{ item.type != 'redis' }}", message: "\${{ item.key }} is broken"}}
      - {id: after, uses: core.log, needs: [check], with: {message: "\${{ item.key }} ok"}}
`),
      environment,
    )
    const {outcome} = await run(book)
    expect(outcome.status).toBe('succeeded')
    const groups = outcome.steps.filter((s) => !s.parent && s.id.startsWith('per-'))
    expect(groups.length).toBeGreaterThanOrEqual(3)
    for (const group of groups) {
      const key = group.id.slice('per-'.length)
      const redis = environment.components[key]!.type === 'redis'
      expect(group).toMatchObject(redis ? {status: 'failed', continued: true, error: {message: `step ${group.id}.check failed: assertion failed: ${key} is broken`}} : {status: 'succeeded'})
      expect(outcome.steps.find((s) => s.id === `${group.id}.after`)!.status).toBe(redis ? 'cancelled' : 'succeeded')
    }
  })

  it('without continueOnError a group failure fails the run: the group rolls back its own steps in reverse, runs its finally, then the run rolls back the rest', async () => {
    const book = runbook(`
name: rollback-order
title: Rollback order across a group
kind: maintenance
steps:
  - id: before
    uses: core.log
    with: {message: before}
    rollback: {uses: core.log, with: {message: undo before}}
  - id: grp
    needs: [before]
    steps:
      - {id: a, uses: core.log, with: {message: a}, rollback: {uses: core.log, with: {message: undo a}}}
      - {id: b, uses: core.log, needs: [a], with: {message: b}, rollback: {uses: core.log, with: {message: undo b}}}
      - {id: c, uses: core.assert, needs: [b], with: {that: false, message: c fails}}
    finally:
      - {id: cleanup, uses: core.log, with: {message: "group cleanup after \${{ steps.c.status }}"}}
  - {id: never, uses: core.log, needs: [grp], with: {message: never}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('failed')
    expect(outcome.error?.message).toBe('step grp failed: step grp.c failed: assertion failed: c fails')
    const messages = events.filter((e) => e.type === 'step.log').map((e) => (e as {message: string}).message)
    expect(messages).toEqual(['before', 'a', 'b', 'undo b', 'undo a', 'group cleanup after failed', 'undo before'])
    expect(outcome.steps.find((s) => s.id === 'never')).toMatchObject({status: 'cancelled'})
    expect(outcome.steps.find((s) => s.id === 'grp.a')).toMatchObject({status: 'rolled-back'})
  })

  it('Ctrl-C inside a group stops it, runs its finally, and the run ends interrupted', async () => {
    const book = runbook(`
name: group-interrupt
title: Interrupted in a group
kind: maintenance
steps:
  - id: grp
    steps:
      - {id: create, uses: test.operation, with: {name: g-1}, rollback: {uses: core.log, with: {message: "delete \${{ steps.create.outputs.name }}"}}}
      - {id: long, uses: core.wait, needs: [create], with: {duration: PT10S}}
      - {id: later, uses: core.log, needs: [long], with: {message: never}}
    finally:
      - {id: teardown, uses: core.log, with: {message: group teardown}}
`)
    const controller = new AbortController()
    const {outcome, events} = await run(book, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step.started' && e.step === 'grp.long') setTimeout(() => controller.abort('SIGINT'), 20)
      },
    })
    expect(outcome.status).toBe('interrupted')
    expect(outcome.steps.find((s) => s.id === 'grp')).toMatchObject({status: 'cancelled'})
    expect(outcome.steps.find((s) => s.id === 'grp.later')).toMatchObject({status: 'cancelled', reason: 'not started: the run was interrupted'})
    const messages = events.filter((e) => e.type === 'step.log').map((e) => (e as {message: string}).message)
    // core.wait says how long it waits (a wait of 5 s or more), then the group's finally runs.
    expect(messages).toEqual([expect.stringMatching(/^waiting 10\.0s, until /), 'group teardown', 'delete g-1'])
    // Well under the 10 s wait it cut short, with room for a loaded machine.
    expect(outcome.durationMs).toBeLessThan(8000)
  })

  it('a group past its timeout stops what runs inside, fails as timed out with its finally run, and continueOnError keeps the run going', async () => {
    const book = runbook(`
name: group-timeout
title: A group that runs out of time
kind: maintenance
steps:
  - id: slow
    timeout: PT0.3S
    continueOnError: true
    steps:
      - {id: wait, uses: core.wait, with: {duration: PT30S}}
      - {id: never, uses: core.log, needs: [wait], with: {message: never}}
    finally:
      - {id: cleanup, uses: core.log, with: {message: "cleanup after \${{ steps.wait.status }}"}}
  - {id: after, uses: core.log, needs: [slow], if: "\${{ always() }}", with: {message: "slow is \${{ steps.slow.status }}"}}
`)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    expect(outcome.steps.find((s) => s.id === 'slow')).toMatchObject({status: 'failed', continued: true, error: {timedOut: true}})
    expect(outcome.steps.find((s) => s.id === 'slow.never')).toMatchObject({status: 'cancelled'})
    const messages = events.filter((e) => e.type === 'step.log').map((e) => (e as {message: string}).message)
    expect(messages).toEqual([expect.stringMatching(/^waiting 30\.0s, until /), 'cleanup after cancelled', 'slow is failed'])
    expect(outcome.durationMs).toBeLessThan(10_000)
  })

  it('resumes in the middle of a group: completed inner steps are not run again and their outputs are restored', async () => {
    const book = runbook(`
name: group-resume
title: Resume mid-group
kind: maintenance
steps:
  - id: grp
    steps:
      - {id: first, uses: test.flaky, with: {key: group-resume-first, failures: 5}}
      - {id: second, uses: core.log, needs: [first], with: {message: "first was attempt \${{ steps.first.outputs.attempt }}"}}
    outputs:
      attempt: \${{ steps.first.outputs.attempt }}
`)
    const {outcome, events} = await run(book, {resume: {completed: {'grp.first': {outputs: {attempt: 7}}}, inFlight: {}, from: 'earlier'}})
    expect(outcome.status).toBe('succeeded')
    expect(trace(events)).not.toContain('step.started grp.first main')
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({step: 'grp.second', message: 'first was attempt 7'})
    expect(outcome.steps.find((s) => s.id === 'grp')).toMatchObject({outputs: {attempt: 7}})
  })

  it('the journal tells resume to redo a group whose finally ran, and to continue one that crashed', () => {
    const line = (type: string, data: Record<string, unknown>, step?: string) => ({type, data, step, seq: 0, at: '', prevHash: '', hash: ''})
    const started = line('run.started', {runbook: 'x', environment: 'local', params: {}})
    const crashed = reconstruct('r', [started, line('step.started', {phase: 'main'}, 'g'), line('step.started', {phase: 'main'}, 'g.a'), line('step.succeeded', {phase: 'main', outputs: {}}, 'g.a')] as never)
    expect(Object.keys(crashed.completed)).toEqual(['g.a'])
    const tornDown = reconstruct('r', [
      started,
      line('step.started', {phase: 'main'}, 'g.a'),
      line('step.succeeded', {phase: 'main', outputs: {}}, 'g.a'),
      line('step.started', {phase: 'finally'}, 'g.teardown'),
    ] as never)
    expect(Object.keys(tornDown.completed)).toEqual([])
  })
})

describe('runbook calls', () => {
  it('maps with: to the callee params, returns its outputs, nests its steps, and the callee sees only its own scope', async () => {
    const caller = files({
      'call-caller': `
name: call-caller
title: Calls a child
kind: maintenance
steps:
  - {id: prep, uses: core.log, with: {message: prep}}
  - id: child
    needs: [prep]
    uses: runbook:call-child
    with: {who: "\${{ steps.prep.status }}", times: 2}
  - {id: after, uses: core.log, needs: [child], with: {message: "child said \${{ steps.child.outputs.said }}"}}
`,
      'call-child': `
name: call-child
title: The child
kind: maintenance
params:
  who: {type: string}
  times: {type: integer, default: 1}
  greeting: {type: string, default: hello}
steps:
  - {id: say, uses: core.log, with: {message: "\${{ params.greeting }} \${{ params.who }} x\${{ params.times }}"}}
finally:
  - {id: bye, uses: core.log, with: {message: "bye after \${{ steps.say.status }}"}}
outputs:
  said: \${{ params.greeting }}-\${{ params.who }}
`,
    })
    const book = loadRunbookFile(caller)
    const {outcome, events} = await run(book)
    expect(outcome.status).toBe('succeeded')
    const started = events.find((e) => e.type === 'step.started' && e.step === 'child')
    expect(started).toMatchObject({uses: 'runbook:call-child', inputs: {who: 'succeeded', times: 2, greeting: 'hello'}})
    const messages = events.filter((e) => e.type === 'step.log').map((e) => `${(e as {step: string}).step}: ${(e as {message: string}).message}`)
    expect(messages).toEqual(['prep: prep', 'child.say: hello succeeded x2', 'child.bye: bye after succeeded', 'after: child said hello-succeeded'])
    expect(outcome.steps.map((s) => s.id)).toEqual(['prep', 'child', 'child.say', 'child.bye', 'after'])
  })

  it('resumes in the middle of a called runbook', async () => {
    const caller = files({
      'resume-caller': `
name: resume-caller
title: Calls a two-step child
kind: maintenance
steps:
  - {id: child, uses: runbook:resume-child, with: {name: x}}
`,
      'resume-child': `
name: resume-child
title: Two steps
kind: maintenance
params:
  name: {type: string}
steps:
  - {id: create, uses: test.operation, with: {name: "\${{ params.name }}"}}
  - {id: use, uses: core.log, needs: [create], with: {message: "using \${{ steps.create.outputs.name }}"}}
`,
    })
    const {outcome, events} = await run(loadRunbookFile(caller), {resume: {completed: {'child.create': {outputs: {reattached: false, name: 'restored'}}}, inFlight: {}, from: 'earlier'}})
    expect(outcome.status).toBe('succeeded')
    expect(trace(events)).not.toContain('step.started child.create main')
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({step: 'child.use', message: 'using restored'})
  })

  it('a failure in the callee fails the calling step with the callee step as the error', async () => {
    const caller = files({
      'fail-caller': `
name: fail-caller
title: Calls a failing child
kind: maintenance
steps:
  - {id: child, uses: runbook:fail-child}
`,
      'fail-child': `
name: fail-child
title: Fails
kind: maintenance
steps:
  - {id: boom, uses: core.assert, with: {that: false, message: child broke}}
`,
    })
    const {outcome} = await run(loadRunbookFile(caller))
    expect(outcome.status).toBe('failed')
    expect(outcome.error?.message).toBe('step child failed: step child.boom failed: assertion failed: child broke')
  })
})
