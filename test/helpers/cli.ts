/**
 * Runs the real CLI (`node bin/run.js`, the built dist) in a child process, the way users and CI do,
 * and returns its exit code and output. `npm test` builds dist first (pretest).
 */
import {spawn} from 'node:child_process'
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

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

/** A scratch working directory with the repository's catalog (and optional extra files). */
export function scratchDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-'))
  cpSync(join(repoRoot, 'runbooks.yaml'), join(dir, 'runbooks.yaml'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

/** Parse stdout as exactly one JSON document (throws otherwise). */
export function onlyJson(result: CliResult): any {
  return JSON.parse(result.stdout)
}
