/**
 * `run.lock`: one live process per run. Two `opsbook resume` of one run at once would both append to the journal
 * (duplicate sequence numbers, a broken chain): the second is refused with exit 5 while the first lives.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exitCodeOf, GuardError} from '../../src/errors.js'
import {Journal, runDir, verifyChain} from '../../src/evidence/journal.js'
import {acquireRunLock, readRunLock, RUN_LOCK_FILE} from '../../src/evidence/run-lock.js'
import {runStarted, tempDir, writeJournal} from './blob-helpers.js'

/** A real other process, alive until killed. */
function otherProcess(): {pid: number; stop(): Promise<void>} {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'})
  return {
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}

describe('run.lock', () => {
  it('refuses a second writer of a run while the first process lives (exit 5), and takes over once it is dead', async () => {
    const root = tempDir()
    const runId = 'run-lock-1'
    const journal = await writeJournal(root, runId, [runStarted(runId)])
    await journal.close()
    const dir = runDir(root, runId)
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false)

    const other = otherProcess()
    writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({pid: other.pid, host: hostname(), startedAt: '2026-12-02T06:00:00.000Z'}))
    const refused = await Journal.open(runId, root).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(GuardError)
    expect(exitCodeOf(refused)).toBe(5)
    expect((refused as Error).message).toContain(`pid ${other.pid}`)
    expect((refused as Error).message).toContain('2026-12-02T06:00:00.000Z')
    // Nothing was appended by the refused writer.
    expect(verifyChain(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).lines).toBe(1)

    await other.stop()
    const resumed = await Journal.open(runId, root)
    expect(await readRunLock(dir)).toMatchObject({pid: process.pid, host: hostname()})
    await resumed.close()
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false)
  })

  it('lets only one of two racing writers win', async () => {
    const dir = join(tempDir(), 'runs', 'race')
    mkdirSync(dir, {recursive: true})
    const other = otherProcess()
    try {
      // The other process got there first (O_EXCL decides between racers): this one is refused.
      writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({pid: other.pid, host: hostname()}))
      await expect(acquireRunLock(dir, 'race')).rejects.toBeInstanceOf(GuardError)
    } finally {
      await other.stop()
    }
    // Re-entrant for the holder itself.
    await acquireRunLock(dir, 'race')
    await expect(acquireRunLock(dir, 'race')).resolves.toMatchObject({pid: process.pid})
  })
})
