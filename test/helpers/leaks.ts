/**
 * What a test file leaves running in its worker process, for test/helpers/file-isolation.ts. Test files share worker
 * processes (`isolate: false`), so a server, socket, timer or child process a file leaves behind lives on into the
 * next files of that worker: it holds ports and CPU, and can answer or interrupt them. The check compares what keeps
 * the event loop alive (`process.getActiveResourcesInfo()`, one entry per handle or request: `Timeout`,
 * `TCPServerWrap`, `TCPSocketWrap`, `ProcessWrap` for a child, …) and the child processes of this file, when the file
 * starts and when it ends.
 *
 * Child processes of this file (Linux): direct children of the worker, and every process that carries this file's
 * mark in its environment (FILE_MARK_ENV, set for the file, inherited by what it spawns and what those spawn, as
 * a CLI started by a test starts redis-server), whatever they were reparented to. Not seen: descendants started with an
 * environment of their own (the PostgreSQL engine starts postgres with a minimal one); a running emulator that owns
 * them is seen by its listening socket.
 *
 * Timers are not compared by count: vitest's runner keeps a timer of its own pending for up to 100 ms after each
 * task update (its throttled report), which is there at the file's start more often than not and would hide a timer
 * the file leaves. Timers the file's code starts through the global setTimeout/setInterval are recorded instead
 * (trackTimers; vitest's own use the functions it saved before any test code ran), and those still active and
 * holding the process (ref'd) at the end are the file's.
 *
 * Resources close asynchronously (a socket after `end()`, a child after its kill signal, a server's last connection),
 * so a file is not failed on a first look: what is left is looked at again, every POLL_MS, until it is gone or
 * SETTLE_MS have passed.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

export const FILE_MARK_ENV = 'OPSBOOK_TEST_FILE_MARK'
const POLL_MS = 50
/** Bound for what is closing to finish closing: a postgres or redis-server told to stop can take seconds on a loaded 2-core machine. */
const SETTLE_MS = 15_000

/**
 * Kinds that are not a file's leftovers: requests of an operation under way that end by themselves (an fs call, a DNS
 * lookup, a close, a write) — compared, they make a file fail at random depending on when the look happens.
 */
const TRANSIENT = new Set(['CloseReq', 'FSReqCallback', 'FSReqPromise', 'FileHandleCloseReq', 'GetAddrInfoReqWrap', 'GetNameInfoReqWrap', 'QueryReqWrap', 'ShutdownWrap', 'WriteWrap', 'PipeConnectWrap', 'TCPConnectWrap'])

export interface Snapshot {
  resources: Map<string, number>
  /** Every process on the machine then (only those started since can be the file's). */
  pids: Set<number>
  /** The file's processes among those started since `since` was taken. */
  children: Map<number, string>
  timers: Set<NodeJS.Timeout>
}

/** What is there now; with `since`, which processes started since then are the file's (`mark`). */
export function snapshot(mark: string, since?: Snapshot): Snapshot {
  const resources = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) if (!TRANSIENT.has(kind) && kind !== 'Timeout') resources.set(kind, (resources.get(kind) ?? 0) + 1)
  const pids = processIds()
  return {resources, pids, children: since ? childrenOf(mark, [...pids].filter((pid) => !since.pids.has(pid))) : new Map(), timers: activeTimers()}
}

interface TimerRecord {
  timers: Set<NodeJS.Timeout>
}
const TIMERS = Symbol.for('opsbook.test.leaks.timers')

/**
 * Records every timer started through the global setTimeout/setInterval from now on in this process (once per worker:
 * the wrappers stay installed across files). Timers that have fired (one-shot) or been cleared are dropped as the
 * record grows, so it holds no more than what is active plus a bounded number of finished ones.
 */
export function trackTimers(): void {
  const global = globalThis as typeof globalThis & {[TIMERS]?: TimerRecord}
  if (global[TIMERS]) return
  const record: TimerRecord = {timers: new Set()}
  global[TIMERS] = record
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const original = globalThis[name] as (...args: unknown[]) => NodeJS.Timeout
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const timer = original.apply(this, args)
      record.timers.add(timer)
      if (record.timers.size > 5000) for (const t of record.timers) if (!isActive(t)) record.timers.delete(t)
      return timer
    }
    // Keeps util.promisify.custom, name and length, as code that promisifies setTimeout expects.
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original))
    Object.assign(globalThis, {[name]: wrapped})
  }
}

const isActive = (timer: NodeJS.Timeout) => !(timer as unknown as {_destroyed: boolean})._destroyed && timer.hasRef()

function activeTimers(): Set<NodeJS.Timeout> {
  const record = (globalThis as typeof globalThis & {[TIMERS]?: TimerRecord})[TIMERS]
  const active = new Set<NodeJS.Timeout>()
  if (record) for (const timer of record.timers) if (isActive(timer)) active.add(timer)
  return active
}

/** What a timer would run, for the message: its callback's name or first line. */
function describeTimer(timer: NodeJS.Timeout): string {
  const callback = (timer as unknown as {_onTimeout?: (...args: unknown[]) => unknown})._onTimeout
  const repeat = (timer as unknown as {_repeat: number | null})._repeat
  const text = callback?.name || String(callback ?? '?').split('\n')[0]!.slice(0, 80)
  return `${repeat ? `setInterval every ${repeat} ms` : 'setTimeout'} (${text})`
}

/** What `after` has beyond `before`, as lines a reader can act on; empty when nothing. */
export function leftovers(before: Snapshot, after: Snapshot): string[] {
  const found: string[] = []
  for (const [kind, count] of after.resources) {
    const more = count - (before.resources.get(kind) ?? 0)
    if (more > 0) found.push(`${more} × ${kind}`)
  }
  for (const timer of after.timers) if (!before.timers.has(timer)) found.push(describeTimer(timer))
  for (const [pid, command] of after.children) found.push(`child process ${pid} (${command})`)
  return found
}

/**
 * Waits until nothing is left beyond `before`, at most SETTLE_MS; returns what is still left then, and ends the child
 * processes and clears the timers still left (SIGKILL, clearTimeout), so that the next file does not run beside
 * them (a server or socket cannot be closed from here: the message names it). The wait's own timer is unref'd
 * and not started through the global setTimeout, so it is not among what it looks at.
 */
export async function settle(before: Snapshot, mark: string, settleMs = SETTLE_MS): Promise<string[]> {
  const deadline = Date.now() + settleMs
  for (;;) {
    const after = snapshot(mark, before)
    const left = leftovers(before, after)
    if (left.length === 0 || Date.now() >= deadline) {
      for (const pid of after.children.keys()) killQuietly(pid)
      for (const timer of after.timers) if (!before.timers.has(timer)) clearTimeout(timer)
      return left
    }
    await sleep(POLL_MS, undefined, {ref: false})
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Gone already.
  }
}

function processIds(): Set<number> {
  if (process.platform !== 'linux') return new Set()
  try {
    return new Set(readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number))
  } catch {
    return new Set()
  }
}

/**
 * Of `pids` (processes started while the file ran), those that are this worker's children or carry `mark` in their
 * environment (Linux /proc; elsewhere only the handles are compared). Only new processes are read, which keeps the
 * look cheap on a machine running hundreds. Zombies (exited, not yet reaped) have left already.
 */
function childrenOf(mark: string, pids: number[]): Map<number, string> {
  const found = new Map<number, string>()
  const needle = `${FILE_MARK_ENV}=${mark}\0`
  for (const pid of pids) {
    if (pid === process.pid) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read from the last ')'.
      const close = stat.lastIndexOf(')')
      const [state, ppid] = stat.slice(close + 2).split(' ')
      if (state === 'Z' || state === 'X') continue
      const command = stat.slice(stat.indexOf('(') + 1, close)
      if (Number(ppid) === process.pid || `${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(needle)) found.set(pid, command)
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}
