/**
 * What a test file leaves running in its worker process, for test/helpers/file-isolation.ts. Test files share worker
 * processes (`isolate: false`), so a server, socket, timer or child process a file leaves behind lives on into the
 * next files of that worker: it holds ports and CPU, and can answer or interrupt them.
 *
 * Each thing is followed by identity, from the file's first hook to its end:
 * - handles that hold the process (`process._getActiveHandles()`: servers, sockets, pipes, child processes, watchers);
 * - timers the file's code started through the global setTimeout/setInterval that are still active and ref'd. They
 *   are recorded by a wrapper (trackTimers): vitest's runner keeps a timer of its own pending for up to 100 ms after
 *   each task update, present at most file starts, so timers cannot be compared by count. Vitest's own timers use
 *   the functions it saved before any test code ran, so they are not recorded;
 * - on Linux, processes started while the file ran that are the worker's children or carry the file's mark in their
 *   environment (FILE_MARK_ENV, inherited by what the file spawns and what those spawn, as a CLI started by a test
 *   starts redis-server), whatever they were reparented to. Not seen: descendants started with an environment of
 *   their own (the PostgreSQL engine starts postgres with a minimal one); the emulator that owns them is seen by its
 *   server.
 *
 * Much of what a file closes is still closing when its last hook returns (a server's last keep-alive connection, a
 * child after its kill signal, a redis-server its parent stopped) and goes away by itself within seconds. Waiting for
 * all of it at every file's end cost seconds per file (measured on the loaded 2-core machine: 3 of 4 files sampled
 * waited 2.0, 2.0 and 5.0 s; in a full run the gaps between files summed to 424 of 1,780 worker-seconds), time
 * this suite cannot spend. So the file's end waits GRACE_MS at most (polling);
 * what is still there then is recorded as pending, by identity, and looked at again at the end of each next file of
 * the worker: gone — fine; still there SETTLE_MS after the file ended — a leak, and that check fails, naming the file
 * that left it. Leftovers of the worker's last file affect no other file and are not reported.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

export const FILE_MARK_ENV = 'OPSBOOK_TEST_FILE_MARK'
const POLL_MS = 25
/** How long a file's end waits for what it is closing (what goes at once need not be kept as pending). */
const GRACE_MS = 100
/** After this long, what a file left is a leak, not something still closing (a postgres or redis-server told to stop can take seconds under load). */
const SETTLE_MS = 15_000

export interface Snapshot {
  handles: Set<object>
  timers: Set<NodeJS.Timeout>
  /** Every process on the machine then (only those started since can be the file's). */
  pids: Set<number>
}

/** What a file left, by identity. */
interface Leftovers {
  file: string
  endedAt: number
  handles: object[]
  timers: NodeJS.Timeout[]
  children: Map<number, string>
}

export function snapshot(): Snapshot {
  return {handles: activeHandles(), timers: activeTimers(), pids: processIds()}
}

function leftoversSince(before: Snapshot, mark: string, file: string): Leftovers {
  const now = snapshot()
  return {
    file,
    endedAt: Date.now(),
    handles: [...now.handles].filter((h) => !before.handles.has(h)),
    timers: [...now.timers].filter((t) => !before.timers.has(t)),
    children: childrenOf(mark, [...now.pids].filter((pid) => !before.pids.has(pid))),
  }
}

/** The part of `left` still there now. */
function stillThere(left: Leftovers): Leftovers {
  const handles = activeHandles()
  const children = new Map([...left.children].filter(([pid]) => running(pid)))
  return {...left, handles: left.handles.filter((h) => handles.has(h)), timers: left.timers.filter(isActive), children}
}

const isEmpty = (left: Leftovers) => left.handles.length === 0 && left.timers.length === 0 && left.children.size === 0

function describe(left: Leftovers): string[] {
  const kinds = new Map<string, number>()
  for (const handle of left.handles) {
    const kind = handleKind(handle)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  return [
    ...[...kinds].map(([kind, n]) => `${n} × ${kind}`),
    ...left.timers.map(describeTimer),
    ...[...left.children].map(([pid, command]) => `child process ${pid} (${command})`),
  ]
}

const PENDING = Symbol.for('opsbook.test.leaks.pending')
const pending = (): Leftovers[] => ((globalThis as Record<symbol, Leftovers[]>)[PENDING] ??= [])

/**
 * At a file's end: waits up to GRACE_MS for what the file is closing, keeps what is still there as pending, and
 * returns the leaks found — this file's or an earlier one's in this worker — as messages (empty when none). Child
 * processes found leaked are killed and timers cleared, so that the next file does not run beside them.
 */
export async function checkFileEnd(before: Snapshot, mark: string, file: string): Promise<string[]> {
  let left = leftoversSince(before, mark, file)
  const deadline = Date.now() + GRACE_MS
  while (!isEmpty(left) && Date.now() < deadline) {
    await sleep(POLL_MS, undefined, {ref: false})
    left = stillThere(left)
  }
  // An earlier file's leftover may only have waited for the event loop: a file that keeps the CPU busy without
  // yielding (fuzz.test, ci/schedule.test: 17–24 s on the loaded 2-core machine) runs no timer and delivers no 'close'
  // or 'exit' meanwhile, so ioredis's 2 s disconnect timer, due long before, still looked active at its end and was
  // reported as a leak 18–24 s old. Before a verdict, let the loop turn (at most GRACE_MS) for what is overdue.
  let earlier = pending().map(stillThere).filter((l) => !isEmpty(l))
  const settled = (l: Leftovers) => Date.now() - l.endedAt >= SETTLE_MS
  const turnUntil = Date.now() + GRACE_MS
  while (earlier.some(settled) && Date.now() < turnUntil) {
    await sleep(POLL_MS, undefined, {ref: false})
    earlier = earlier.map(stillThere).filter((l) => !isEmpty(l))
  }
  const messages: string[] = []
  const keep: Leftovers[] = []
  for (const now of earlier) {
    if (!settled(now)) keep.push(now)
    else {
      messages.push(`${now.file === file ? 'This test file' : `The earlier test file ${now.file} (in this worker)`} left running ${describe(now).join(', ')}, still there ${Math.round((Date.now() - now.endedAt) / 1000)} s after it ended`)
      for (const pid of now.children.keys()) killQuietly(pid)
      for (const timer of now.timers) clearTimeout(timer)
    }
  }
  if (!isEmpty(left)) keep.push(left)
  ;(globalThis as Record<symbol, Leftovers[]>)[PENDING] = keep
  return messages
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

/** Handles that hold the process: Node's own list (undocumented, stable since Node 0.x; the documented getActiveResourcesInfo() gives kinds only, no identity). */
function activeHandles(): Set<object> {
  return new Set((process as unknown as {_getActiveHandles(): object[]})._getActiveHandles())
}

function handleKind(handle: object): string {
  const name = handle.constructor?.name ?? 'handle'
  if (name === 'Socket') {
    const socket = handle as {remotePort?: number; remoteAddress?: string; localPort?: number}
    return socket.remotePort ? `Socket (to ${socket.remoteAddress}:${socket.remotePort})` : 'Socket (pipe)'
  }
  if (name === 'Server') {
    const address = (handle as {address?: () => unknown}).address?.()
    return address && typeof address === 'object' && 'port' in address ? `Server (listening on port ${String(address.port)})` : 'Server'
  }
  return name
}

/** What a timer would run, for the message: its callback's name or first line. */
function describeTimer(timer: NodeJS.Timeout): string {
  const callback = (timer as unknown as {_onTimeout?: (...args: unknown[]) => unknown})._onTimeout
  const repeat = (timer as unknown as {_repeat: number | null})._repeat
  const text = callback?.name || String(callback ?? '?').split('\n')[0]!.slice(0, 80)
  return `${repeat ? `setInterval every ${repeat} ms` : 'setTimeout'} (${text})`
}

function processIds(): Set<number> {
  if (process.platform !== 'linux') return new Set()
  try {
    return new Set(readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number))
  } catch {
    return new Set()
  }
}

/** Whether a process runs (a zombie — exited, not yet reaped — has left already). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/**
 * Of `pids` (processes started while the file ran), those that are this worker's children or carry `mark` in their
 * environment (Linux /proc; elsewhere none). Only new processes are read, which keeps the look cheap on a machine
 * running hundreds.
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

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Gone already.
  }
}
