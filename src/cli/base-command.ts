/**
 * The one base command: owns `--json`, the error document, and exit codes (DESIGN.md), with and without --json.
 * oclif's default loses the exit code under --json (it reads `err.exitCode`, not `err.oclif.exit`), so `catch`
 * is replaced here. Commands return a typed result; a command whose result means failure sets `this.exitWith`.
 */
import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {ExitCode, OpsbookError, ValidationError, type ExitCode as ExitCodeT} from '../errors.js'
import {outputRedactor, startCommandRedactor} from '../evidence/writer.js'
import {CredentialError} from '../azure/credentials.js'
import {terminalSafe} from '../ui/terminal-safe.js'
import {closestName} from '../support/closest-name.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand<T> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    catalog: Flags.string({
      description: 'Catalog file (default: $OPSBOOK_CATALOG, else runbooks.yaml found upward from the working directory)',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({
      description: 'More detail: a missing Azure credential shows each source\'s full message; `check` tables also list passing rows',
      helpGroup: 'GLOBAL',
      default: false,
    }),
  }

  /** Exit code for a result that is not a success (e.g. a failed run still prints its result). */
  protected exitWith: ExitCodeT = ExitCode.ok

  abstract override run(): Promise<T>

  override async init(): Promise<void> {
    // One redactor per command: the same as one per process for the CLI, and right when a host runs several.
    startCommandRedactor()
    await super.init()
  }

  /**
   * Print a line for humans: suppressed under --json so stdout holds exactly one JSON document. Redacted, and
   * terminal-safe: what commands print quotes params, runbook titles, errors and Azure's answers, whose escape
   * sequences (`plan`'s params and with lines, `runbooks show`, `runs show`'s step errors) were sent to the terminal.
   */
  protected say(text = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(`${terminalSafe(outputRedactor().redactText(text))}\n`)
  }

  /** Progress and warnings go to stderr, so they never mix with JSON or piped output. Redacted and terminal-safe. */
  protected note(text: string): void {
    process.stderr.write(`${terminalSafe(outputRedactor().redactText(text))}\n`)
  }

  /** The --json document, redacted like every file opsbook writes. */
  protected override logJson(json: unknown): void {
    super.logJson(outputRedactor().redact(json))
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<any> {
    const exitCode = exitCodeFor(err)
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
      return
    }
    // An error message can quote a value (a bad param, an Azure response): it is redacted like everything else.
    err.message = outputRedactor().redactText(err.message)
    if (exitCode === ExitCode.invalidInput && !(err instanceof OpsbookError) && err.oclif) {
      // oclif's parse errors (unknown flag, missing flag or arg, a bad value) are invalid input like any other exit 2:
      // the same label and the same "Try:" line, with the flag a typo was probably meant to be.
      const {message, suggestions} = this.flagError(err)
      process.stderr.write(`Invalid input: ${terminalSafe(message)}\n`)
      if (suggestions.length > 0) process.stderr.write(`Try: ${terminalSafe(suggestions.join('; '))}\n`)
      return
    }
    const label = {[ExitCode.invalidInput]: 'Invalid input', [ExitCode.blocked]: 'Blocked', [ExitCode.notReady]: 'Not ready', [ExitCode.interrupted]: 'Interrupted'}[exitCode as number] ?? 'Error'
    // Messages quote what the user gave (a param value, a file name): escape sequences in it are shown, not obeyed.
    process.stderr.write(`${label}: ${terminalSafe(err.message)}\n`)
    if (err instanceof OpsbookError && err.suggestions.length > 0) process.stderr.write(`Try: ${terminalSafe(outputRedactor().redactText(err.suggestions.join('; ')))}\n`)
    // The full credential chain is noise in an incident: only on request.
    if (err instanceof CredentialError && this.argv.includes('--verbose')) process.stderr.write(`${terminalSafe(outputRedactor().redactText(err.verboseDetail()))}\n`)
    if (!(err instanceof OpsbookError) && process.env.DEBUG && err.stack) process.stderr.write(`${err.stack}\n`)
  }

  protected override toErrorJson(err: unknown): any {
    if (err instanceof OpsbookError) return {status: 'error', exitCode: err.exitCode, error: err.toJSON()}
    const e = err as Error & {oclif?: {exit?: number}; code?: string}
    const exitCode = exitCodeFor(e)
    // oclif's flag errors (missing --env, unknown flag, a bad value) are invalid input like a ValidationError: the same
    // code and fields, so CI can branch on `error.code` whatever caught the mistake.
    const code = exitCode === ExitCode.invalidInput ? 'invalid-input' : (e?.code ?? 'error')
    const {message, suggestions} = exitCode === ExitCode.invalidInput && e?.oclif ? this.flagError(e) : {message: e?.message ?? String(err), suggestions: []}
    return {status: 'error', exitCode, error: {name: e?.name, code, message, exitCode, suggestions}}
  }

  /**
   * An oclif parse error in opsbook's words: without oclif's "The following error occurred:" wrapper, its colour codes
   * and "See more help with --help" (which help?), and for an unknown flag the command's flag it is closest to.
   */
  private flagError(err: Error & {flags?: unknown}): {message: string; suggestions: string[]} {
    const message = err.message
      .replaceAll(/\u001B\[[0-9;]*m/g, '')
      .replace(/\nSee more help with --help\s*$/, '')
      .replace(/^The following errors? occurred:\n\s*/, '')
      .replace(/^Parsing (--\S+)\s*\n\s*/, '$1: ')
      .replaceAll(/^Missing required flag (\S+)$/gm, 'missing required flag --$1')
      .trim()
    const known = Object.keys({...(this.ctor.flags ?? {}), ...(this.ctor.baseFlags ?? {})}).map((name) => `--${name}`)
    const unknown = Array.isArray(err.flags) ? err.flags.filter((flag): flag is string => typeof flag === 'string') : []
    const suggestions = unknown.flatMap((flag) => {
      const meant = closestName(flag.replace(/=.*$/, ''), known)
      return meant ? [`${meant} instead of ${flag}`] : []
    })
    const command = this.id ? `${this.config.bin} ${this.id.replaceAll(':', ' ')}` : this.config.bin
    return {message, suggestions: [...suggestions, `\`${command} --help\` lists its flags`]}
  }

  protected override async finally(err: Error | undefined): Promise<any> {
    if (!err && this.exitWith !== ExitCode.ok) process.exitCode = this.exitWith
    return super.finally(err)
  }
}

function exitCodeFor(err: {exitCode?: number; oclif?: {exit?: number}}): ExitCodeT {
  if (err instanceof OpsbookError) return err.exitCode
  if (err instanceof ValidationError) return ExitCode.invalidInput
  // oclif's own parse errors carry oclif.exit = 2.
  const code = err.oclif?.exit ?? err.exitCode ?? ExitCode.failed
  return code as ExitCodeT
}
