/**
 * What `run` and `resume` share on the CLI side: Ctrl-C handling, choosing reporters (listr2 tree on a TTY,
 * plain lines in CI or pipes, nothing but the final document under --json) and the approver.
 */
import type {Approver} from '../actions/types.js'
import type {RunEventListener} from '../runbooks/events.js'
import {canPrompt, createApprover, isCI, preApproved, type ApprovalPolicy} from '../ui/approver.js'
import type {Reporter} from '../ui/plain-reporter.js'
import {terminalSafeDeep} from '../ui/terminal-safe.js'
import {firstInterruptText, laterInterruptBeforeStartText, type RunProgress} from '../ui/interrupt-text.js'

export interface Interrupts {
  /** Aborted on the first Ctrl-C: stop launching steps, roll back, run finally. */
  signal: AbortSignal
  /** Aborted on a third Ctrl-C: give up on teardown too. */
  teardownSignal: AbortSignal
  dispose(): void
}

/**
 * SIGINT/SIGTERM → abort the run (first). Teardown is what keeps production safe (a slot swapped back, a scratch
 * server deleted), and a second Ctrl-C is often an impatient repeat: it does not abandon teardown, only a third one
 * does — and then the run ends with exit 3 naming what is left, and `opsbook resume` can finish it.
 */
export function trapInterrupts(stderr: Pick<NodeJS.WriteStream, 'write'> = process.stderr, progress: () => RunProgress = () => ({started: true, resumed: true, changeStarted: true, completedSteps: 0, finallySteps: 1})): Interrupts {
  const run = new AbortController()
  const teardown = new AbortController()
  let count = 0
  const onSignal = (signal: NodeJS.Signals) => {
    count++
    // What happens now depends on how far the run got: before it started there is nothing to roll back or tear down
    // (the line promised rollbacks and teardown while the emulator was still starting).
    const now = progress()
    if (count === 1) {
      stderr.write(`\n${firstInterruptText(signal, now)}\n`)
      run.abort(signal)
    } else if (!now.started) {
      stderr.write(`\n${laterInterruptBeforeStartText(signal)}\n`)
      if (count >= 3) teardown.abort(signal)
    } else if (count === 2) {
      stderr.write(`\n${signal}: still tearing down (rollbacks and finally steps keep production safe); press Ctrl-C once more to abandon teardown\n`)
    } else if (!teardown.signal.aborted) {
      stderr.write(`\n${signal}: abandoning teardown; what is left will be listed (exit 3) and \`opsbook resume\` can finish it\n`)
      teardown.abort(signal)
    }
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
    runApprover = listr.approver(approver, options.user)
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
  'promptParams' | 'approver' | 'interactive' | 'preApproved' | 'approvedSteps' | 'listeners' | 'signal' | 'teardownSignal' | 'override' | 'teardownTimeoutMs'
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
  const progress = runProgress()
  const interrupts = trapInterrupts(process.stderr, progress.now)
  try {
    const result = await body({
      promptParams: ui.interactive ? (await import('../ui/param-prompts.js')).promptForParams : undefined,
      approver: ui.approver,
      interactive: ui.interactive,
      preApproved: ui.preApproved,
      approvedSteps: flags.approve,
      override: flags.overrideWindow ? {reason: flags.reason} : undefined,
      listeners: [progress.listener, ...ui.listeners],
      signal: interrupts.signal,
      teardownSignal: interrupts.teardownSignal,
      teardownTimeoutMs: await teardownTimeoutFromEnvironment(),
    })
    await ui.close()
    if (!flags.json) (await import('../ui/run-summary.js')).printRunSummary(terminalSafeDeep(result))
    return result
  } catch (error) {
    // Ctrl-C while the run was still starting (the emulator, sign-in, preflight): what stopped is the SDK's AbortError
    // ("The operation was aborted"), which read as a failed run (exit 1). Once the run has started, the engine turns
    // an interruption into its result (exit 130 with the resume hint); before, there is nothing to resume.
    const {InterruptedError, OpsbookError} = await import('../errors.js')
    if (interrupts.signal.aborted && !(error instanceof OpsbookError))
      throw new InterruptedError(`${String(interrupts.signal.reason)} while starting, before any step ran: nothing was changed; the same command starts it again`)
    throw error
  } finally {
    interrupts.dispose()
  }
}

/** How far a run has got, from its events: what a Ctrl-C will do depends on it. */
export function runProgress(): {listener: RunEventListener; now: () => RunProgress} {
  const state: RunProgress = {started: false, resumed: false, changeStarted: false, completedSteps: 0, finallySteps: 0}
  const changes = new Map<string, boolean>()
  const listener: RunEventListener = (event) => {
    if (event.type === 'run.started') {
      state.started = true
      state.resumed = Boolean(event.resumedFrom)
      // Those of groups and called runbooks too: dr-drill has none of its own, its legs' teardowns are theirs.
      state.finallySteps = event.steps.filter((s) => s.phase === 'finally').length
      for (const step of event.steps) changes.set(step.id, step.changes)
    } else if ((event.type === 'step.started' && event.phase === 'main' && changes.get(event.step)) || event.type === 'operation.started') {
      state.changeStarted = true
    } else if (event.type === 'step.succeeded' && event.phase === 'main') {
      state.completedSteps++
    }
  }
  return {listener, now: () => ({...state})}
}

/** OPSBOOK_TEARDOWN_TIMEOUT (ISO 8601 duration, e.g. PT10M): how long rollbacks and finally may take in all. */
async function teardownTimeoutFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const text = env.OPSBOOK_TEARDOWN_TIMEOUT?.trim()
  if (!text) return undefined
  const {parseDuration} = await import('../support/duration.js')
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0) {
    const {ValidationError} = await import('../errors.js')
    throw new ValidationError([{code: 'invalid-env', message: `OPSBOOK_TEARDOWN_TIMEOUT=${text}: expected an ISO 8601 duration such as PT10M`}])
  }
  return ms
}
