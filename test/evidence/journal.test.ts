import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {describeRunFolder, GENESIS_HASH, Journal, JournalFileError, JournalWriteError, newRunId, readJournal, sha256Hex, verifyChain} from '../../src/evidence/journal.js'
import {loadResumeState} from '../../src/evidence/resume-state.js'
import {Redactor, REDACTED} from '../../src/evidence/redact.js'
import type {RunEvent} from '../../src/runbooks/events.js'

const events: RunEvent[] = [
  {type: 'run.started', runId: 'r', runbook: 'pg-pitr', title: 'PITR', kind: 'incident', environment: 'local', production: false, params: {}, steps: []},
  {type: 'step.started', step: 'restore', phase: 'main', uses: 'postgres.restore', attempt: 1, inputs: {server: 'pg-shop-orders'}},
  {type: 'step.log', step: 'restore', phase: 'main', message: 'restoring to pg-shop-orders-pitr'},
  {type: 'step.succeeded', step: 'restore', phase: 'main', outputs: {server: 'pg-shop-orders-pitr'}, durationMs: 1200, attempts: 1},
  {type: 'run.finished', status: 'succeeded', durationMs: 1300, leftBehind: [], outputs: {}},
]

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'opsbook-journal-'))
}

async function writeJournal(root: string, runId: string, redactor?: Redactor): Promise<Journal> {
  const journal = await Journal.create(runId, {root, redactor, now: () => new Date('2026-11-23T15:30:00.000Z')})
  for (const event of events) await journal.append(event)
  return journal
}

describe('Journal', () => {
  it('writes one chained JSON object per line under <root>/runs/<runId>/', async () => {
    const root = await tempRoot()
    const journal = await writeJournal(root, 'run-1')
    await journal.close()
    expect(journal.path).toBe(join(root, 'runs', 'run-1', 'journal.jsonl'))
    const text = await readFile(journal.path, 'utf8')
    const raw = text.trimEnd().split('\n')
    const lines = await readJournal(journal.path)
    expect(lines).toHaveLength(5)
    expect(lines[0]).toEqual({seq: 1, ts: '2026-11-23T15:30:00.000Z', runId: 'run-1', type: 'run.started', step: null, data: expect.objectContaining({runbook: 'pg-pitr'}), prev: GENESIS_HASH})
    expect(lines[1]).toMatchObject({seq: 2, type: 'step.started', step: 'restore', data: {phase: 'main', uses: 'postgres.restore'}, prev: sha256Hex(raw[0]!)})
    expect(lines[1]!.data).not.toHaveProperty('type')
    expect(lines[1]!.data).not.toHaveProperty('step')
    expect(verifyChain(text)).toEqual({ok: true, lines: 5, lastHash: sha256Hex(raw[4]!)})
    expect(journal.hash).toBe(sha256Hex(raw[4]!))
  })

  it('names the line where one byte was flipped', async () => {
    const root = await tempRoot()
    const journal = await writeJournal(root, 'run-2')
    await journal.close()
    const text = await readFile(journal.path, 'utf8')
    // Change "pg-shop-orders-pitr" to "pg-shop-orders-pitt" in line 3 only.
    const lines = text.split('\n')
    lines[2] = lines[2]!.replace('pitr', 'pitt')
    const tampered = lines.join('\n')
    expect(tampered.length).toBe(text.length)
    const check = verifyChain(tampered)
    expect(check.ok).toBe(false)
    expect(check.firstBad?.line).toBe(3)
    expect(check.firstBad?.reason).toContain('line 3 was changed')
  })

  it('catches a removed line, a broken line and a changed last line (against the recorded hash)', async () => {
    const root = await tempRoot()
    const journal = await writeJournal(root, 'run-3')
    await journal.close()
    const text = await readFile(journal.path, 'utf8')
    const lines = text.trimEnd().split('\n')
    expect(verifyChain([lines[0], lines[1], lines[3], lines[4]].join('\n')).firstBad?.line).toBe(2)
    expect(verifyChain([lines[0], lines[1].slice(0, -1), lines[2]].join('\n')).firstBad).toEqual({line: 2, reason: 'not valid JSON'})
    const recorded = {lines: 5, lastHash: journal.hash}
    expect(verifyChain(text, recorded).ok).toBe(true)
    const lastChanged = [...lines.slice(0, 4), lines[4]!.replace('1300', '1301')].join('\n')
    expect(verifyChain(lastChanged).ok).toBe(true)
    expect(verifyChain(lastChanged, recorded).firstBad?.line).toBe(5)
    expect(verifyChain(lines.slice(0, 4).join('\n'), recorded).ok).toBe(false)
  })

  it('continues the chain when reopened for a resume', async () => {
    const root = await tempRoot()
    const first = await writeJournal(root, 'run-4')
    await first.close()
    const again = await Journal.open('run-4', root)
    expect(again.lines).toBe(5)
    await again.append({type: 'run.note', message: 'resumed'})
    await again.close()
    const text = await readFile(again.path, 'utf8')
    expect(verifyChain(text)).toMatchObject({ok: true, lines: 6})
    expect((await readJournal(again.path))[5]).toMatchObject({seq: 6, type: 'run.note', data: {message: 'resumed'}})
  })

  it('cuts a partial last line left by a crash, records the cut, and continues the chain', async () => {
    const root = await tempRoot()
    const first = await writeJournal(root, 'run-8')
    await first.close()
    const text = await readFile(first.path, 'utf8')
    await writeFile(first.path, `${text}{"seq":6,"ts":"2026-11-23T15:3`)
    const again = await Journal.open('run-8', root)
    await again.append({type: 'run.note', message: 'resumed'})
    await again.close()
    const after = await readFile(again.path, 'utf8')
    expect(after.startsWith(text)).toBe(true)
    expect(verifyChain(after)).toMatchObject({ok: true, lines: 7})
    expect((await readJournal(again.path))[5]).toMatchObject({seq: 6, type: 'run.note', data: {message: expect.stringContaining('discarded a partial last line (30 bytes)')}})
  })

  it('refuses to reopen a damaged journal and to create a run twice', async () => {
    const root = await tempRoot()
    const journal = await writeJournal(root, 'run-5')
    await journal.close()
    const text = await readFile(journal.path, 'utf8')
    await writeFile(journal.path, text.replace('restoring', 'rest0ring'))
    await expect(Journal.open('run-5', root)).rejects.toThrow(/damaged at line 3/)
    await expect(Journal.create('run-5', {root})).rejects.toThrow(/EEXIST/)
  })

  it('a journal gone when a resume opens it is named with the operation, the path and what the run folder holds (issue 16: one unexplained ENOENT)', async () => {
    const root = await tempRoot()
    const journal = await writeJournal(root, 'run-gone')
    await journal.close()
    await writeFile(join(journal.dir, 'summary.json'), '{}')
    // Removed from outside (opsbook never removes a journal) after the resume found where the run stood.
    expect((await loadResumeState('run-gone', {root})).journal.lines).toBe(5)
    await rm(journal.path)
    const error = await Journal.open('run-gone', root).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(JournalFileError)
    expect((error as JournalFileError).code).toBe('ENOENT')
    expect((error as Error).message).toBe(
      `cannot read run run-gone's journal to continue it: ENOENT on ${journal.path}; the run folder ${journal.dir} holds run.lock ${(await readFile(join(journal.dir, 'run.lock'))).length} B, summary.json 2 B`,
    )
    // The whole run folder gone, or the folders above it: said so, not listed as empty.
    await rm(journal.dir, {recursive: true})
    expect(describeRunFolder(journal.dir)).toBe(`the run folder ${journal.dir} is gone (${join(root, 'runs')} is there)`)
    await rm(root, {recursive: true})
    expect(describeRunFolder(journal.dir)).toBe(`the run folder ${journal.dir} is gone, and ${join(root, 'runs')} with it (and ${root})`)
  })

  it('redacts event data before it is written', async () => {
    const root = await tempRoot()
    const redactor = new Redactor()
    redactor.add('hunter2-orders')
    const journal = await Journal.create('run-6', {root, redactor})
    await journal.append({type: 'step.log', step: 's', phase: 'main', message: 'password hunter2-orders, sas ?sv=2022-11-02&sig=abcdef%2Bghi'})
    await journal.close()
    const text = await readFile(journal.path, 'utf8')
    expect(text).not.toContain('hunter2-orders')
    expect(text).not.toContain('abcdef')
    expect(text).toContain(REDACTED)
  })

  it('keeps appends in call order even when not awaited one by one', async () => {
    const root = await tempRoot()
    const journal = await Journal.create('run-7', {root})
    await Promise.all(Array.from({length: 20}, (_, i) => journal.append({type: 'run.note', message: `note ${i}`})))
    await journal.close()
    const lines = await readJournal(journal.path)
    expect(lines.map((l) => l.data.message)).toEqual(Array.from({length: 20}, (_, i) => `note ${i}`))
    expect(verifyChain(await readFile(journal.path, 'utf8')).ok).toBe(true)
  })
})

describe('newRunId', () => {
  it('is a sortable UTC timestamp, the runbook name and a random suffix', () => {
    const id = newRunId('DR drill', new Date('2026-11-23T15:30:00.123Z'))
    expect(id).toMatch(/^20261123T153000Z-dr-drill-[0-9a-f]{4}$/)
    expect(newRunId('dr-drill', new Date('2026-11-23T15:30:00Z'))).not.toBe(newRunId('dr-drill', new Date('2026-11-23T15:30:00Z')))
    expect(newRunId('a', new Date('2026-11-23T09:00:00Z')) < newRunId('a', new Date('2026-11-23T10:00:00Z'))).toBe(true)
  })

  it('on a full disk, cuts off the half-written line, says so plainly, and the journal stays resumable', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-journal-'))
    const journal = await Journal.create('disk-full', {root})
    await journal.append(events[0]!)
    await journal.append(events[1]!)
    // The operating system takes part of the line, then the disk is full (what write(2) does at ENOSPC).
    const handle = (journal as unknown as {handle: {write(data: Buffer, offset: number, length: number, position: number): Promise<unknown>}}).handle
    const realWrite = handle.write.bind(handle)
    handle.write = async (data: Buffer, _offset: number, _length: number, position: number) => {
      await realWrite(data, 0, 25, position)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28})
    }
    const error = await journal.append(events[2]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalWriteError)
    expect((error as Error).message).toMatch(/the disk is full \(ENOSPC\); it is intact up to line 2 — free space, then `opsbook resume` continues the run/)
    expect((error as JournalWriteError).code).toBe('disk-full')
    const text = await readFile(journal.path, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    expect(verifyChain(text)).toMatchObject({ok: true, lines: 2})
    // Space is back: the resume (Journal.open) continues the run on the same chain.
    handle.write = realWrite
    await journal.close()
    const resumed = await Journal.open('disk-full', root)
    await resumed.append(events[2]!)
    await resumed.close()
    const after = await readFile(journal.path, "utf8")
    expect(verifyChain(after), after).toMatchObject({ok: true, lines: 3})
  })

  it('writes nothing after a lost line, even a smaller one that fits: the journal ends where it is whole, never with a gap', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-journal-'))
    const journal = await Journal.create('gap', {root})
    await journal.append(events[0]!)
    // The disk has room for a short line but not for a long one (a step's big outputs): the long line is lost.
    const handle = (journal as unknown as {handle: {write(data: Buffer, offset: number, length: number, position: number): Promise<{bytesWritten: number}>}}).handle
    const realWrite = handle.write.bind(handle)
    handle.write = async (data: Buffer, offset: number, length: number, position: number) => {
      if (length > 400) throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28})
      return realWrite(data, offset, length, position)
    }
    const lost = await journal.append({type: 'step.log', step: 'greet', phase: 'main', message: 'x'.repeat(500)}).catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(JournalWriteError)
    // A later, short line fits; written, the journal would say it happened right after line 1 — a story with a hole.
    const later = await journal.append({type: 'step.succeeded', step: 'pause', phase: 'main', outputs: {}, durationMs: 1, attempts: 1}).catch((e: unknown) => e)
    expect(later).toBeInstanceOf(JournalWriteError)
    expect((later as Error).message).toMatch(/it is intact up to line 1 — free space, then `opsbook resume` continues the run/)
    handle.write = realWrite
    await journal.close()
    const text = await readFile(journal.path, 'utf8')
    expect(verifyChain(text)).toMatchObject({ok: true, lines: 1})
    expect(text).not.toContain('pause')
  })
})

describe('Journal on a real full disk (tmpfs)', () => {
  // What write(2) really does when the disk fills: it writes what fits and returns that count (no error); the next
  // write fails with ENOSPC. The journal took the short count for the whole line, so the next line was written past
  // the end of the file — a run on a 64 KB tmpfs left a line of NUL bytes, and the chain was broken, not resumable.
  it('treats a short write as the start of ENOSPC: the line is cut off, the chain stays whole and continues', async () => {
    const root = await mkdtemp(join(tmpdir(), 'opsbook-journal-'))
    const journal = await Journal.create('short-write', {root})
    await journal.append(events[0]!)
    await journal.append(events[1]!)
    const handle = (journal as unknown as {handle: {write(data: Buffer, offset: number, length: number, position: number): Promise<{bytesWritten: number}>}}).handle
    const realWrite = handle.write.bind(handle)
    let calls = 0
    handle.write = async (data: Buffer, offset: number, length: number, position: number) => {
      if (++calls === 1) return realWrite(data, offset, Math.min(25, length), position)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28})
    }
    const error = await journal.append(events[2]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalWriteError)
    const text = await readFile(journal.path, 'utf8')
    expect(text).not.toContain('\0')
    expect(verifyChain(text)).toMatchObject({ok: true, lines: 2})
    handle.write = realWrite
    await journal.close()
    const resumed = await Journal.open('short-write', root)
    await resumed.append(events[2]!)
    await resumed.close()
    const after = await readFile(journal.path, 'utf8')
    expect(after).not.toContain('\0')
    expect(verifyChain(after), after).toMatchObject({ok: true, lines: 3})
  })
})

describe('Journal group commit', () => {
  /** Counts fsyncs and records the file size each one made durable. */
  function watchSyncs(journal: Journal): {sizes: number[]} {
    const handle = (journal as unknown as {handle: {sync(): Promise<void>; stat(): Promise<{size: number}>}}).handle
    const realSync = handle.sync.bind(handle)
    const watched = {sizes: [] as number[]}
    handle.sync = async () => {
      const {size} = await handle.stat()
      await realSync()
      watched.sizes.push(size)
    }
    return watched
  }

  it('writes a burst of appends with one fsync, and resolves each only once that fsync is done', async () => {
    const journal = await Journal.create('burst', {root: await tempRoot()})
    const syncs = watchSyncs(journal)
    const shown: number[] = []
    await Promise.all(events.map((event) => journal.append(event).then((line) => shown.push(syncs.sizes.length > 0 ? line.seq : -1))))
    expect(syncs.sizes).toHaveLength(1)
    expect(shown).toEqual([1, 2, 3, 4, 5])
    const perEvent = await Journal.create('per-event', {root: await tempRoot(), sync: 'per-event'})
    const each = watchSyncs(perEvent)
    await Promise.all(events.map((event) => perEvent.append(event)))
    expect(each.sizes).toHaveLength(5)
    for (const journalOf of [journal, perEvent]) {
      await journalOf.close()
      expect(verifyChain(await readFile(journalOf.path, 'utf8'))).toMatchObject({ok: true, lines: 5})
    }
  })

  it('a crash in the middle of a group loses nothing already shown, and resume continues the chain', async () => {
    const root = await tempRoot()
    const journal = await Journal.create('crash', {root})
    const shown: string[] = []
    await Promise.all(events.slice(0, 3).map((event) => journal.append(event).then(() => shown.push(event.type))))
    // The next group is written but the machine dies before its fsync: any prefix of the unsynced bytes may survive.
    const handle = (journal as unknown as {handle: {sync(): Promise<void>; close(): Promise<void>}}).handle
    let image: Buffer | undefined
    handle.sync = async () => {
      const written = await readFile(journal.path)
      const durable = journal.durableBytes
      image = written.subarray(0, durable + Math.floor((written.length - durable) / 2))
      return new Promise<void>(() => undefined) // never returns: the process is gone
    }
    for (const event of events.slice(3)) void journal.append(event).then(() => shown.push(event.type))
    // vi.waitFor's default limit is 1 s: a write and a read of the file can take longer on a loaded machine.
    await vi.waitFor(() => expect(image).toBeDefined(), {timeout: 30_000, interval: 10})
    expect(shown).toEqual(['run.started', 'step.started', 'step.log'])

    const after = await tempRoot()
    const dir = join(after, 'runs', 'crash')
    await mkdir(dir, {recursive: true})
    await writeFile(join(dir, 'journal.jsonl'), image!)
    const resumed = await Journal.open('crash', after)
    await resumed.close()
    const lines = await readJournal(resumed.path)
    expect(lines.slice(0, 3).map((l) => l.type)).toEqual(shown)
    expect(lines.at(-1)).toMatchObject({type: 'run.note'}) // the half-written line was cut, and the cut recorded
    expect(verifyChain(await readFile(resumed.path, 'utf8')).ok).toBe(true)
    // The crashed journal's file stays open in this process (its fsync never returns): close it, as the exit would.
    await handle.close()
  })
})

describe('a journal over the file-size limit (ulimit -f)', () => {
  // Node ignores SIGXFSZ, so a write past `ulimit -f` fails with EFBIG: it used to read "EFBIG: file too large, write
  // (EFBIG) … free space", which names neither the limit nor the fix.
  it('says the limit is reached and to raise it', async () => {
    const journal = await Journal.create('efbig', {root: await mkdtemp(join(tmpdir(), 'opsbook-journal-'))})
    await journal.append(events[0]!)
    const handle = (journal as unknown as {handle: {write(): Promise<unknown>}}).handle
    handle.write = async () => {
      throw Object.assign(new Error('EFBIG: file too large, write'), {code: 'EFBIG', errno: -27})
    }
    const error = await journal.append(events[1]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalWriteError)
    expect((error as Error).message).toMatch(/: the file-size limit \(ulimit -f\) is reached \(EFBIG\); it is intact up to line 1 — raise the limit, then `opsbook resume` continues the run$/)
    await journal.close()
  })
})

describe('a journal that cannot be created', () => {
  // Issue 16, item 10: a run on a full disk ended with a bare "Error: ENOSPC: no space left on device, write" and an
  // empty run.lock in a run folder. The first write failing says what it means, and leaves no folder or lock behind.
  it('says so plainly, names the journal, and leaves no run folder or lock', async () => {
    const {existsSync, writeFileSync} = await import('node:fs')
    const root = await mkdtemp(join(tmpdir(), 'opsbook-journal-'))
    // `runs` is a file, so the run folder cannot be made (ENOTDIR: what a full or read-only disk looks like to mkdir).
    writeFileSync(join(root, 'runs'), '')
    const error = await Journal.create('cannot-create', {root}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalWriteError)
    expect((error as Error).message).toMatch(/^cannot create the journal .*cannot-create\/journal\.jsonl: .*ENOTDIR.*; nothing was started and no target stays leased — free space, then run it again$/)
    expect(existsSync(join(root, 'runs', 'cannot-create'))).toBe(false)
  })
})
