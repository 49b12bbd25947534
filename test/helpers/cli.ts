/**
 * Runs the real CLI (`node bin/run.js`, the built dist) in a child process, the way users and CI do,
 * and returns its exit code and output. `npm test` builds dist first (pretest).
 */
import {spawn} from 'node:child_process'
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

export const repoRoot = join(import.meta.dirname, '..', '..')
export const binRun = join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  /** Called with the child once started (e.g. to send SIGINT). */
  onStart?: (child: import('node:child_process').ChildProcess) => void
  /** Called for each stdout/stderr chunk. */
  onOutput?: (text: string, child: import('node:child_process').ChildProcess) => void
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, CI: 'true', NO_COLOR: '1', ...options.env}
    for (const [k, v] of Object.entries(options.env ?? {})) if (v === undefined) delete env[k]
    const child = spawn(process.execPath, [binRun, ...args], {cwd: options.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
      options.onOutput?.(String(d), child)
    })
    child.stderr.on('data', (d) => {
      stderr += d
      options.onOutput?.(String(d), child)
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`opsbook ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
    options.onStart?.(child)
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}

/**
 * Runs the same CLI inside the test process: bin/run.js's own `execute` over the built dist (loaded natively by oclif,
 * not through Vite, with oclif's auto-transpile off as bin/run.js has it), with the working directory, environment and exit code the child would have, stdout/stderr
 * captured and stdin/stdout not a TTY. Use it where the process itself is not under test: it saves the ~1 s of CPU
 * every CLI start costs (most of the suite's time). Ctrl-C as the command's own handlers get it: `onOutput`'s
 * `interrupt()`. A real signal (SIGKILL), TTY prompts, stdin and startup need `runCli`.
 * One command at a time per test file (cwd, env and the streams are the process's own).
 */
export async function runCliInProcess(args: string[], options: Pick<CliOptions, 'cwd' | 'env'> & InProcessOptions = {}): Promise<CliResult> {
  const {execute} = await import('@oclif/core/execute')
  // The build, as bin/run.js runs it: without this, oclif (NODE_ENV=test under vitest) registered tsx in the worker and
  // loaded src/ through it in place of dist/, and tsx's loader hooks stayed on for every later file of the worker.
  ;(globalThis as {oclif?: {enableAutoTranspile?: boolean}}).oclif!.enableAutoTranspile = false
  // Ctrl-C for the command alone: the SIGINT listeners it added (its run's trap), not the worker's own.
  const sigintListeners = new Set(process.listeners('SIGINT'))
  const control: InProcessControl = {
    interrupt() {
      // As a signal comes: on the event loop, not inside the write that asked for it.
      const listeners = process.listeners('SIGINT').filter((listener) => !sigintListeners.has(listener))
      // Nobody to hear it (pressed before the run trapped Ctrl-C): say so, rather than let the test wait for its timeout.
      if (listeners.length === 0) throw new Error(`interrupt(): opsbook ${args.join(' ')} has no SIGINT handler (yet)`)
      setImmediate(() => {
        for (const listener of listeners) (listener as (signal: NodeJS.Signals) => void)('SIGINT')
      })
    },
  }
  const saved = {cwd: process.cwd(), env: {...process.env}, exitCode: process.exitCode, exit: process.exit}
  const writes = {stdout: process.stdout.write, stderr: process.stderr.write}
  const ttys = [process.stdin, process.stdout, process.stderr].map((stream) => [stream, stream.isTTY] as const)
  // oclif's flush waits for 'drain' once per command; with writes captured it never comes: drop those listeners after.
  const drainListeners = process.stdout.listeners('drain')
  let stdout = ''
  let stderr = ''
  let exited: number | undefined
  let ended: void | (() => void) = undefined
  const capture = (append: (text: string) => void) =>
    ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), done?: (error?: Error | null) => void) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'))
      const callback = typeof encoding === 'function' ? encoding : done
      callback?.()
      return true
    }) as typeof process.stdout.write
  try {
    process.chdir(options.cwd ?? repoRoot)
    Object.assign(process.env, {CI: 'true', NO_COLOR: '1'}, options.env)
    for (const [k, v] of Object.entries(options.env ?? {})) if (v === undefined) delete process.env[k]
    process.exitCode = undefined
    // The command-not-found hook ends the process; here that ends the command.
    process.exit = ((code?: number) => {
      exited ??= code ?? 0
      throw new InProcessExit()
    }) as typeof process.exit
    for (const [stream] of ttys) (stream as {isTTY?: boolean}).isTTY = false
    process.stdout.write = capture((t) => {
      stdout += t
      options.onOutput?.(t, control)
    })
    process.stderr.write = capture((t) => {
      stderr += t
      options.onOutput?.(t, control)
    })
    ended = options.onStart?.(control)
    await execute({dir: pathToFileURL(binRun).href, args}).catch((error: unknown) => {
      if (!(error instanceof InProcessExit)) throw error
    })
  } finally {
    ended?.()
    process.stdout.write = writes.stdout
    process.stderr.write = writes.stderr
    for (const listener of process.stdout.listeners('drain')) if (!drainListeners.includes(listener)) process.stdout.off('drain', listener as () => void)
    for (const [stream, isTTY] of ttys) (stream as {isTTY?: boolean}).isTTY = isTTY
    const code = exited ?? (typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0))
    process.exit = saved.exit
    process.exitCode = saved.exitCode
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key]
    Object.assign(process.env, saved.env)
    process.chdir(saved.cwd)
    exited = code
  }
  return {code: exited, signal: null, stdout, stderr}
}

class InProcessExit extends Error {}

/** What a test can do to a command running in the test process. */
export interface InProcessControl {
  /** Ctrl-C: the SIGINT the command's own handlers would get from the terminal (test/commands/run.test.ts sends a real one). */
  interrupt(): void
}

export interface InProcessOptions {
  /** Called with each chunk written to stdout or stderr (e.g. to press Ctrl-C at a given line). */
  onOutput?: (text: string, control: InProcessControl) => void
  /** Called as the command starts (e.g. to press Ctrl-C once the journal shows a step); the returned function when it ends. */
  onStart?: (control: InProcessControl) => void | (() => void)
}

/** The scratch directories made while the current test file runs: removed when it ends (file-isolation.ts). */
const scratchDirs = new Set<string>()

/** A scratch working directory with the repository's catalog (and optional extra files), removed when the test file ends. */
export function scratchDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-'))
  scratchDirs.add(dir)
  cpSync(join(repoRoot, 'runbooks.yaml'), join(dir, 'runbooks.yaml'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

/**
 * Removes the scratch directories the ending test file made (a full suite made ~60 of them per run, each with runs,
 * journals and emulator state, and left them all in /tmp). Best effort: one still busy is left.
 */
export function removeScratchDirs(): void {
  for (const dir of scratchDirs) {
    try {
      rmSync(dir, {recursive: true, force: true, maxRetries: 2})
    } catch {
      // Left for the OS's tmp cleaning; never fails the file.
    }
  }
  scratchDirs.clear()
}

/** Parse stdout as exactly one JSON document (throws otherwise). */
export function onlyJson(result: CliResult): any {
  return JSON.parse(result.stdout)
}
