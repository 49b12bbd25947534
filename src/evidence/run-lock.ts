/**
 * `run.lock`: the one process that may write a run's journal. It names that process (pid, host, start time); a
 * second process for the same run (two `opsbook resume` at once) is refused with exit 5 while the holder lives, so
 * two writers never interleave lines and break the hash chain. A lock whose process is provably dead (same host, no
 * such pid) is taken over; a lock from another host cannot be checked and counts as alive.
 */
import {open, readFile, rm, stat} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {GuardError} from '../errors.js'

export const RUN_LOCK_FILE = 'run.lock'

export interface RunLockHolder {
  pid: number
  host: string
  startedAt?: string
}

/** Whether the process named by a lock is still running (a lock from another host counts as alive: it cannot be checked). */
export function isLockHolderAlive(holder: Partial<RunLockHolder> | undefined): boolean {
  if (!holder?.pid) return false
  if (holder.host && holder.host !== hostname()) return true
  if (holder.pid === process.pid) return true
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The lock's holder, or undefined when there is no (readable) lock. */
export async function readRunLock(dir: string): Promise<RunLockHolder | undefined> {
  return readHolder(join(dir, RUN_LOCK_FILE))
}

/**
 * Take the run's lock for this process, created exclusively (O_EXCL) so two processes racing for it cannot both win.
 * Re-entrant for the same process. Throws GuardError `run-lock` (exit 5) while another live process holds it.
 */
export async function acquireRunLock(dir: string, runId: string): Promise<RunLockHolder> {
  const mine: RunLockHolder = {pid: process.pid, host: hostname(), startedAt: new Date().toISOString()}
  const path = join(dir, RUN_LOCK_FILE)
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(JSON.stringify(mine))
      } catch (error) {
        // A full disk took the file but not its content: an empty lock would be read as a lock being written.
        await rm(path, {force: true})
        throw error
      } finally {
        await handle.close().catch(() => undefined)
      }
      return mine
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = await readRunLock(dir)
    if (holder && holder.pid === process.pid && holder.host === mine.host) return holder
    if (holder && isLockHolderAlive(holder))
      throw new GuardError(
        'run-lock',
        `run ${runId} is being written by another live process (pid ${holder.pid} on ${holder.host}${holder.startedAt ? `, since ${holder.startedAt}` : ''}); two processes must not continue one run`,
        {runId, holder},
        [`wait for pid ${holder.pid} to finish, or stop it (Ctrl-C) and resume again`],
      )
    // A dead holder: take its lock over, one taker at a time. A lock being written right now (unreadable yet) is
    // retried, and taken over as a dead one only when it stays unreadable.
    if (holder || attempt > 2) await removeDeadLock(dir, path, holder, mine)
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.floor(Math.random() * 40)))
  }
  throw new GuardError('run-lock', `could not take the lock of run ${runId} (${path}): another process keeps taking it`, {runId})
}

/**
 * Remove a dead holder's lock, under `run.lock.takeover` (created exclusively) and only while the lock still names
 * that holder. Two resumers that both found the same dead holder used to both remove "its" lock — the second removed
 * the lock the first had just created — and both continued the run (issue 16: two concurrent resumes after a kill -9).
 * A taker that finds the takeover file held returns and retries; a takeover file whose process died is removed.
 */
async function removeDeadLock(dir: string, path: string, dead: RunLockHolder | undefined, mine: RunLockHolder): Promise<void> {
  const guard = `${path}.takeover`
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(guard, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // A taker killed inside this function (a few microseconds) leaves its takeover file behind: clear it once dead.
    const taker = await readHolder(guard)
    if (taker ? !isLockHolderAlive(taker) : await olderThan(guard, 5000)) await rm(guard, {force: true})
    return
  }
  try {
    await handle.writeFile(JSON.stringify(mine)).finally(() => handle.close())
    const current = await readRunLock(dir)
    const stillDead = dead ? current !== undefined && sameHolder(current, dead) : current === undefined
    if (stillDead) await rm(path, {force: true})
  } finally {
    await rm(guard, {force: true})
  }
}

function sameHolder(a: RunLockHolder, b: RunLockHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt
}

async function readHolder(path: string): Promise<RunLockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<RunLockHolder>
    return typeof parsed.pid === 'number' ? {pid: parsed.pid, host: parsed.host ?? hostname(), startedAt: parsed.startedAt} : undefined
  } catch {
    return undefined
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms
  } catch {
    return false
  }
}

/** Drop the lock if this process holds it. */
export async function releaseRunLock(dir: string): Promise<void> {
  const holder = await readRunLock(dir)
  if (holder && holder.pid === process.pid && holder.host === hostname()) await rm(join(dir, RUN_LOCK_FILE), {force: true})
}
