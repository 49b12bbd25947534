/**
 * What `run` and `resume` share on the CLI side: Ctrl-C handling, choosing reporters (listr2 tree on a TTY,
 * plain lines in CI or pipes, nothing but the final document under --json) and the approver.
 */
import type {Approver} from '../actions/types.js'
import type {RunEventListener} from '../runbooks/events.js'
import {canPrompt, createApprover, isCI, preApproved, type ApprovalPolicy} from '../ui/approver.js'
import type {Reporter} from '../ui/plain-reporter.js'
import {terminalSafeDeep} from '../ui/terminal-safe.js'

export interface Interrupts {
  /** Aborted on the first Ctrl-C: stop launching steps, roll back, run finally. */
  signal: AbortSignal
  /** Aborted on a second Ctrl-C: give up on teardown too. */
  teardownSignal: AbortSignal
  dispose(): void
}

/** SIGINT/SIGTERM → abort the run (first) or its teardown (second). */
export function trapInterrupts(): Interrupts {
  const run = new AbortController()
  const teardown = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    if (!run.signal.aborted) {
      process.stderr.write(`\n${signal}: stopping; rollbacks and finally steps will run (press Ctrl-C again to abandon them)\n`)
      run.abort(signal)
    } else teardown.abort(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: run.signal,
    teardownSignal: teardown.signal,
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

export interface RunUi {
  listeners: RunEventListener[]
  approver: Approver
  interactive: boolean
  preApproved: (step: string) => ReturnType<typeof preApproved>
  close(): Promise<void>
}

/** Reporter and approver for this terminal. */
export async function createRunUi(options: {json: boolean; yes: boolean; approve: string[]; user: string}): Promise<RunUi> {
  const interactive = canPrompt()
  const policy: ApprovalPolicy = {yes: options.yes, approvedSteps: options.approve, interactive, user: options.user}
  const approver = createApprover(policy)
  let reporter: Reporter | undefined
  let runApprover = approver
  if (options.json) {
    // stdout carries only the result document; progress goes to stderr as plain lines.
    const {PlainReporter} = await import('../ui/plain-reporter.js')
    reporter = new PlainReporter(process.stderr)
  } else if (process.stdout.isTTY && !isCI()) {
    const {ListrReporter} = await import('../ui/listr-reporter.js')
    const listr = new ListrReporter()
    runApprover = listr.approver(approver)
    reporter = listr
  } else {
    const {PlainReporter} = await import('../ui/plain-reporter.js')
    reporter = new PlainReporter(process.stdout)
  }
  return {
    // Params and Azure messages reach the terminal here: escape sequences in them are shown, never obeyed.
    listeners: [(event) => reporter!.handle(terminalSafeDeep(event))],
    approver: runApprover,
    interactive,
    preApproved: (step) => preApproved(policy, step),
    close: () => reporter!.close(),
  }
}

/** The options `run` and `resume` pass alike: terminal, approvals, reporters and Ctrl-C. */
export type TerminalRunOptions = Pick<
  import('../runbooks/runner.js').RunOptions,
  'promptParams' | 'approver' | 'interactive' | 'preApproved' | 'approvedSteps' | 'listeners' | 'signal' | 'teardownSignal' | 'override'
>

/**
 * Run `body` with this terminal's reporter, approver and Ctrl-C handling, then print the end-of-run summary
 * (unless --json). Shared by `run` and `resume`.
 */
export async function runOnTerminal(
  flags: {json: boolean; yes: boolean; approve: string[]; overrideWindow: boolean; reason?: string},
  body: (options: TerminalRunOptions) => Promise<import('../runbooks/runner.js').RunResult>,
): Promise<import('../runbooks/runner.js').RunResult> {
  const {currentUser} = await import('../runbooks/runner.js')
  const ui = await createRunUi({json: flags.json, yes: flags.yes, approve: flags.approve, user: currentUser()})
  const interrupts = trapInterrupts()
  try {
    const result = await body({
      promptParams: ui.interactive ? (await import('../ui/param-prompts.js')).promptForParams : undefined,
      approver: ui.approver,
      interactive: ui.interactive,
      preApproved: ui.preApproved,
      approvedSteps: flags.approve,
      override: flags.overrideWindow ? {reason: flags.reason} : undefined,
      listeners: ui.listeners,
      signal: interrupts.signal,
      teardownSignal: interrupts.teardownSignal,
    })
    await ui.close()
    if (!flags.json) (await import('../ui/run-summary.js')).printRunSummary(terminalSafeDeep(result))
    return result
  } finally {
    interrupts.dispose()
  }
}
