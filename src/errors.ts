/**
 * Errors that carry the exit code DESIGN.md promises. The domain throws these; the base command maps them
 * to `process.exitCode` and to the `--json` error document. Nothing here imports oclif.
 */

/** Exit codes, as fixed by DESIGN.md. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  invalidInput: 2,
  needsHuman: 3,
  approvalRequired: 4,
  blocked: 5,
  /**
   * Cannot start here: no Azure credential, the subscription or a resource group not readable, or the identity lacks
   * a permission a step needs (preflight). Nothing was started; distinct from 1 so CI does not read it as a failed run.
   */
  notReady: 6,
  interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A place in a source file; `line` and `column` are 1-based. */
export interface SourceLocation {
  file: string
  line: number
  column: number
}

/** One problem found while validating input. */
export interface Problem {
  location?: SourceLocation
  /** A stable machine-readable code, e.g. `unknown-action`, `cycle`. */
  code: string
  message: string
}

export function formatLocation(location: SourceLocation | undefined): string {
  return location ? `${location.file}:${location.line}:${location.column}` : ''
}

export function formatProblem(problem: Problem): string {
  const where = formatLocation(problem.location)
  return where ? `${where}: ${problem.message}` : problem.message
}

export class OpsbookError extends Error {
  readonly exitCode: ExitCode
  /** A stable code for `--json` consumers. */
  readonly code: string
  readonly suggestions: string[]

  constructor(message: string, options: {exitCode?: ExitCode; code?: string; suggestions?: string[]; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode ?? ExitCode.failed
    this.code = options.code ?? 'failed'
    this.suggestions = options.suggestions ?? []
  }

  /** Extra fields for the `--json` error document. */
  toJSON(): Record<string, unknown> {
    return {name: this.name, code: this.code, message: this.message, exitCode: this.exitCode, suggestions: this.suggestions}
  }
}

/** Invalid flags, catalog, runbook or params. Always reported before anything changes: exit 2. */
export class ValidationError extends OpsbookError {
  readonly problems: Problem[]

  constructor(problems: Problem[], summary?: string) {
    const lines = problems.map((p) => formatProblem(p))
    super(summary ? [summary, ...lines.map((l) => `  ${l}`)].join('\n') : lines.join('\n'), {
      exitCode: ExitCode.invalidInput,
      code: 'invalid-input',
    })
    this.problems = problems
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), problems: this.problems}
  }
}

/** A confirmation or approval is needed and nobody can give it (no TTY, no --yes/--approve): exit 4. */
export class ApprovalRequiredError extends OpsbookError {
  readonly step?: string
  constructor(message: string, step?: string, suggestions?: string[]) {
    super(message, {
      exitCode: ExitCode.approvalRequired,
      code: 'approval-required',
      suggestions: suggestions ?? (step ? [`pass --approve ${step}`, 'or --yes to approve every step'] : ['pass --yes']),
    })
    this.step = step
  }
}

/** Blocked by a guard: outside the maintenance window, change freeze, or the target is leased: exit 5. */
export class GuardError extends OpsbookError {
  readonly guard: string
  readonly details: Record<string, unknown>
  constructor(guard: string, message: string, details: Record<string, unknown> = {}, suggestions: string[] = []) {
    super(message, {exitCode: ExitCode.blocked, code: `blocked-${guard}`, suggestions})
    this.guard = guard
    this.details = details
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), guard: this.guard, details: this.details}
  }
}

/** Ctrl-C: exit 130. */
export class InterruptedError extends OpsbookError {
  constructor(message = 'interrupted') {
    super(message, {exitCode: ExitCode.interrupted, code: 'interrupted'})
  }
}

/** Map any thrown value to an exit code. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof OpsbookError) return error.exitCode
  return ExitCode.failed
}
