import {mkdtemp, readFile, readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {defineAction} from '../../src/actions/types.js'
import {registerActions} from '../../src/actions/registry.js'
import {Journal, newRunId, readJournal, verifyChain} from '../../src/evidence/journal.js'
import {Redactor} from '../../src/evidence/redact.js'
import {listRuns, showRun} from '../../src/evidence/runs-store.js'
import {buildSummary, writeSummary} from '../../src/evidence/summary.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {environment, run, runbook} from './engine-fixtures.js'

const SAS_URL =
  'https://stshopsnapshots.blob.core.windows.net/redis-snapshots/sessions.rdb?sv=2022-11-02&ss=b&srt=o&sp=rw&se=2026-11-24T00%3A00%3A00Z&spr=https&sig=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ%3D%3D'

describe('engine → journal → summary', () => {
  it('keeps secrets out of every file, and the journal chain verifies', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-run-'))
    const book = runbook(`
name: secret-handling
title: Secrets stay secret
kind: maintenance
params:
  adminPassword: {type: secret}
steps:
  - {id: connect, uses: test.secret, with: {value: "\${{ params.adminPassword }}-session-7f3a9c"}}
  - {id: export, uses: core.log, needs: [connect], with: {message: "exporting to ${SAS_URL}"}}
  - {id: echo, uses: core.log, needs: [connect], with: {message: "password was \${{ params.adminPassword }}"}}
  - {id: fail, uses: core.assert, needs: [export, echo], with: {that: false, message: "could not log in with \${{ params.adminPassword }}"}}
outputs:
  connection: \${{ steps.connect.outputs.connection }}
`)
    const password = 'Orders-Admin-9x!'
    const redactor = new Redactor()
    const runId = newRunId(book.name)
    const journal = await Journal.create(runId, {root, redactor})
    const shown: RunEvent[] = []
    const {outcome} = await run(book, {
      runId,
      params: {adminPassword: password},
      redactor,
      emit: async (event) => {
        await journal.append(event)
        // The journal line is on disk before anyone sees the event.
        const lines = await readJournal(journal.path)
        expect(lines.at(-1)!.type).toBe(event.type)
        shown.push(event)
      },
    })
    await journal.close()
    expect(outcome.status).toBe('failed')

    const summary = buildSummary({
      runId,
      runbook: book,
      catalog: {file: 'runbooks.yaml', sha256: 'c'.repeat(64)},
      environmentName: 'local',
      environment,
      outcome,
      params: {adminPassword: password},
      journal: {lines: journal.lines, lastHash: journal.hash},
      redactor,
    })
    await writeSummary(root, summary, redactor)

    const files = await readdir(join(root, 'runs', runId))
    expect(files.sort()).toEqual(['journal.jsonl', 'summary.json'])
    const everything = [
      await readFile(join(root, 'runs', runId, 'journal.jsonl'), 'utf8'),
      await readFile(join(root, 'runs', runId, 'summary.json'), 'utf8'),
      JSON.stringify(shown),
      JSON.stringify(outcome),
    ].join('\n')
    for (const secret of [password, `${password}-session-7f3a9c`, 'dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ', 'sig=dGhp', encodeURIComponent(password)])
      expect(everything).not.toContain(secret)
    // What is not secret is still there to read.
    expect(everything).toContain('https://stshopsnapshots.blob.core.windows.net/redis-snapshots/sessions.rdb?[REDACTED]')
    expect(everything).toContain('password was [REDACTED]')

    const text = await readFile(journal.path, 'utf8')
    expect(verifyChain(text, summary.journal)).toMatchObject({ok: true, lines: shown.length})

    expect(await listRuns(root)).toEqual([{runId, runbook: 'secret-handling', environment: 'local', status: 'failed', startedAt: outcome.startedAt, durationMs: outcome.durationMs}])
    const details = await showRun(root, runId.slice(0, 22))
    expect(details).toMatchObject({runId, status: 'failed', chain: {ok: true}, summary: {params: {adminPassword: '[REDACTED]'}}})
  })
})

describe('engine → journal group commit', () => {
  it('shows each event only after its line is fsynced, and starts a change only after its step.started is', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-run-'))
    const journal = await Journal.create('grouped', {root})
    const handle = (journal as unknown as {handle: {sync(): Promise<void>; stat(): Promise<{size: number}>}}).handle
    const realSync = handle.sync.bind(handle)
    let synced = 0
    handle.sync = async () => {
      const {size} = await handle.stat()
      await realSync()
      synced = size
    }
    const fsyncedLines = async () =>
      (await readFile(journal.path)).subarray(0, synced).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {type: string; step: string | null})
    let seenByChange: string[] = []
    registerActions([
      defineAction({
        name: 'test.durable-change',
        summary: 'A change that looks at the journal on disk when it starts',
        input: z.strictObject({}),
        output: z.strictObject({}),
        changes: true,
        permissions: [],
        async run() {
          seenByChange = (await fsyncedLines()).map((l) => `${l.type} ${l.step ?? ''}`.trim())
          return {}
        },
      }),
    ])
    const shown: string[] = []
    const chain = Array.from({length: 20}, (_, i) => `  - {id: s${i}, uses: core.log, with: {message: "line ${i}"}${i > 0 ? `, needs: [s${i - 1}]` : ''}}`)
    const book = runbook(`name: grouped\ntitle: grouped\nkind: checklist\nsteps:\n${chain.join('\n')}\n  - {id: change, uses: test.durable-change, needs: [s19]}\n`)
    const {outcome} = await run(book, {
      record: (event) => journal.append(event),
      emit: async (event) => {
        const lines = await fsyncedLines()
        // Shown in order, and only once its line (so every line before it) is on disk.
        expect(lines.length).toBeGreaterThan(shown.length)
        expect(lines[shown.length]!.type).toBe(event.type)
        shown.push(event.type)
      },
    })
    await journal.close()
    expect(outcome.status).toBe('succeeded')
    expect(seenByChange.at(-1)).toBe('step.started change')
    expect(seenByChange).toContain('step.succeeded s19')
    const lines = await readJournal(journal.path)
    expect(shown).toEqual(lines.map((l) => l.type))
    expect(verifyChain(await readFile(journal.path, 'utf8')).ok).toBe(true)
  })
})

describe('engine → journal that cannot write', () => {
  it('fails the run when lines of steps it did not wait for are lost, never succeeded with a cut journal', async () => {
    // The disk fills once the change's operation is on disk. The steps after it change nothing, so the engine does not
    // wait for their lines (group commit): the writes are still pending (a slow fsync) when those steps are done, and
    // fail only later. The run's status must count them (fault matrix: maintenance-window × disk full ended 0).
    let full = false
    let released = false
    const held: Array<() => void> = []
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'})
    const book = runbook(`
name: disk-full
title: The disk fills mid-run
kind: maintenance
steps:
  - {id: change, uses: test.operation, with: {name: change-1}}
  - {id: after, uses: core.log, needs: [change], with: {message: "reading back"}}
`)
    const {outcome} = await run(book, {
      record: (event) => {
        if (released) return Promise.reject(enospc())
        if (full) {
          if (event.type === 'step.succeeded' && (event as {step?: string}).step === 'after')
            setImmediate(() => {
              released = true
              for (const fail of held.splice(0)) fail()
            })
          return new Promise((_, reject) => held.push(() => reject(enospc())))
        }
        if (event.type === 'operation.started') full = true
        return Promise.resolve()
      },
    })
    expect(outcome.status).toBe('failed')
    expect(outcome.error).toMatchObject({code: 'journal-failed'})
    expect(outcome.error?.message).toMatch(/could not record event step\.succeeded: ENOSPC/)
  })
})
