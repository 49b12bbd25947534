/**
 * Who serves the emulator for a state directory. Two emulators on one `.opsbook/emulator/` would each keep their own
 * copy of the state (last writer wins) and their own Azurite, so leases taken in one are invisible to the other. The
 * process that serves it therefore records itself in `<stateDir>/emulator.lock`: `opsbook emulator start` as mode
 * `server` (others connect to it), an in-process `opsbook run` as mode `run` (others are refused). A lock whose
 * process is gone is stale and taken over.
 */
import {randomUUID} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {constants, hostname} from 'node:os'
import {join} from 'node:path'
import {GuardError} from '../errors.js'
import {processAlive} from '../support/process-alive.js'

export const LOCK_FILE = 'emulator.lock'

/** What the lock file holds. Endpoints are filled in once the emulator listens. */
export interface EmulatorLock {
  pid: number
  host: string
  /** `server`: `opsbook emulator start`, which others connect to; `run`: an `opsbook run` serving its own emulator. */
  mode: 'run' | 'server'
  startedAt: string
  /** Identifies this holder (a pid alone is reused, e.g. by every container started from one image). */
  token: string
  armEndpoint?: string
  caFile?: string
  blob?: {endpoint: string; account: string; key: string}
  identityEndpoint?: string
  identityHeader?: string
  subscription?: string
  environment?: string
}

export type LockEndpoints = Pick<EmulatorLock, 'armEndpoint' | 'caFile' | 'blob' | 'identityEndpoint' | 'identityHeader' | 'subscription' | 'environment'>

/** A lock this process holds. */
export interface HeldEmulatorLock {
  readonly file: string
  readonly lock: EmulatorLock
  /** Record the endpoints (atomically replaces the file, if it is still ours). */
  update(endpoints: LockEndpoints): void
  /** Remove the lock if it is still ours; idempotent and synchronous (it runs in `exit` handlers). */
  release(): void
}

/**
 * Tokens of the locks this process holds: a lock with our pid but an unknown token is a dead process's. Kept on
 * globalThis so that two copies of this module in one process (the built dist/ one the CLI runs and a src/ one, as in
 * a test serving the emulator itself) agree: with a Set per copy, an in-process CLI took the test's live lock for a
 * dead one and started a second emulator on the same Blob store, and which of the two saved it last decided whether
 * the runs' evidence was there after both stopped (resume-lost-laptop, stop 28).
 */
const heldTokens: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('opsbook.emulator.heldLockTokens')] ??= new Set<string>()) as Set<string>

export function lockFile(stateDir: string): string {
  return join(stateDir, LOCK_FILE)
}

/** The lock of a state directory as written, or undefined when there is none (or it cannot be parsed). */
export function readEmulatorLock(stateDir: string): EmulatorLock | undefined {
  try {
    const parsed = JSON.parse(readFileSync(lockFile(stateDir), 'utf8')) as EmulatorLock
    return typeof parsed.pid === 'number' && typeof parsed.token === 'string' ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether the holder of a lock is still serving. A lock from another host is assumed live (its pid cannot be
 * checked from here); on this host the pid must be alive and, once the lock names an endpoint, the port must accept
 * connections (a recycled pid does not listen there).
 */
export async function isLockLive(lock: EmulatorLock): Promise<boolean> {
  if (lock.host !== hostname()) return true
  if (lock.pid === process.pid) return heldTokens.has(lock.token)
  if (!processAlive(lock.pid)) return false
  if (lock.armEndpoint) return (await portState(lock.armEndpoint)) !== 'refused'
  return true
}

/**
 * Take the lock of `stateDir` for `mode`, taking over a stale one. Returns the held lock, or the live holder's.
 */
export async function acquireEmulatorLock(stateDir: string, mode: EmulatorLock['mode']): Promise<{held: HeldEmulatorLock} | {holder: EmulatorLock}> {
  mkdirSync(stateDir, {recursive: true})
  const file = lockFile(stateDir)
  const lock: EmulatorLock = {pid: process.pid, host: hostname(), mode, startedAt: new Date().toISOString(), token: randomUUID()}
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      // `wx`: exactly one of several processes creating the file at once succeeds.
      writeFileSync(file, JSON.stringify(lock), {flag: 'wx', mode: 0o600})
      return {held: holdLock(file, lock)}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const existing = readEmulatorLock(stateDir)
    if (!existing) {
      // Being written right now (created, not yet filled), or garbage left by a crash.
      if (ageMs(file) > 5000) rmSync(file, {force: true})
      else await sleep(50)
      continue
    }
    if (await isLockLive(existing)) return {holder: existing}
    takeOver(file, existing)
  }
  throw new Error(`could not take the emulator lock ${file}: it keeps changing hands`)
}

/** Throw exit 5 when a live emulator serves `stateDir` (its state must not change under it). */
export async function assertNotServed(stateDir: string, doing: string): Promise<void> {
  const lock = readEmulatorLock(stateDir)
  if (lock && (await isLockLive(lock))) throw servedError(lock, stateDir, doing)
}

/** The exit-5 error for a state directory served by `lock`'s holder. */
export function servedError(lock: EmulatorLock, stateDir: string, doing: string): GuardError {
  const by = lock.mode === 'server' ? '`opsbook emulator start`' : '`opsbook run` (its own in-process emulator)'
  const where = `${lock.host === hostname() ? '' : `on host ${lock.host}, `}pid ${lock.pid}, started ${lock.startedAt}`
  return new GuardError(
    'emulator-in-use',
    `cannot ${doing}: the emulator state in ${stateDir} is in use by ${by} (${where})`,
    {holder: {pid: lock.pid, host: lock.host, mode: lock.mode, startedAt: lock.startedAt, armEndpoint: lock.armEndpoint}, lockFile: lockFile(stateDir)},
    lock.mode === 'server'
      ? ['stop that emulator (Ctrl-C) first']
      : [
          'wait for that run to finish',
          'to run several at once, start `opsbook emulator start` once in another terminal; runs then share it',
          `if no such process exists, delete ${lockFile(stateDir)}`,
        ],
  )
}

function holdLock(file: string, lock: EmulatorLock): HeldEmulatorLock {
  heldTokens.add(lock.token)
  let released = false
  const release = () => {
    if (released) return
    released = true
    heldTokens.delete(lock.token)
    process.off('exit', release)
    for (const signal of SIGNALS) process.off(signal, onSignal)
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as EmulatorLock).token === lock.token) unlinkSync(file)
    } catch {
      // Already gone (reset of the folder, or taken over as stale).
    }
  }
  // Ctrl-C where nobody else handles it would kill the process without an `exit` event: remove the lock, then
  // die of the same signal. Where a command handles the signal (run, emulator start), it stops the emulator.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return
    release()
    // Dying of a signal emits no 'exit': run the exit hooks first (the redis engine kills its redis-server there), as
    // the signal-exit package does, so no engine this process started outlives it (a SIGTERMed holder left one each time).
    process.emit('exit', 128 + (constants.signals[signal] ?? 0))
    process.kill(process.pid, signal)
  }
  process.on('exit', release)
  for (const signal of SIGNALS) process.on(signal, onSignal)
  return {
    file,
    lock,
    update(endpoints) {
      if (released || readEmulatorLock(join(file, '..'))?.token !== lock.token) return
      Object.assign(lock, endpoints)
      const temp = `${file}.${process.pid}.tmp`
      writeFileSync(temp, JSON.stringify(lock), {mode: 0o600})
      renameSync(temp, file)
    },
    release,
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** Remove a stale lock, unless another process replaced it meanwhile (then put that one back). */
function takeOver(file: string, stale: EmulatorLock): void {
  const aside = `${file}.${process.pid}.${randomUUID()}.stale`
  try {
    renameSync(file, aside)
  } catch {
    return // someone else moved it first
  }
  let moved: EmulatorLock | undefined
  try {
    moved = JSON.parse(readFileSync(aside, 'utf8')) as EmulatorLock
  } catch {
    moved = undefined
  }
  if (moved && moved.token !== stale.token) {
    try {
      writeFileSync(file, JSON.stringify(moved), {flag: 'wx', mode: 0o600})
    } catch {
      // A third process took the lock meanwhile; it holds it now.
    }
  }
  rmSync(aside, {force: true})
}


/** Whether something listens on the endpoint's port: a refused connection means its emulator is gone. */
function portState(endpoint: string): Promise<'open' | 'refused' | 'unknown'> {
  const url = new URL(endpoint)
  return new Promise((resolve) => {
    const socket = connect({host: url.hostname, port: Number(url.port)})
    const done = (state: 'open' | 'refused' | 'unknown') => {
      socket.destroy()
      resolve(state)
    }
    socket.setTimeout(2000, () => done('unknown'))
    socket.once('connect', () => done('open'))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : 'unknown'))
  })
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs
  } catch {
    return 0
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
