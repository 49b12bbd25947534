/**
 * The TTY progress tree. listr2 only renders: the engine schedules (listr is not a DAG scheduler, and waiting
 * tasks would hold its concurrency slots), so every step becomes an unbounded-concurrency task that settles when
 * the engine reports the step's outcome. Rollback and finally phases get their own trees when they start.
 */
import type {ListrTaskWrapper} from 'listr2'
import type {ApprovalDecision, ApprovalRequest, Approver} from '../actions/types.js'
import type {RunEvent, StepPhase} from '../runbooks/events.js'
import {humanDuration} from '../support/duration.js'
import {interruptedText} from './interrupt-text.js'
import type {Reporter} from './plain-reporter.js'

interface StepTask {
  title: string
  settle?: (outcome: {ok: boolean; skip?: string; error?: string}) => void
  task?: ListrTaskWrapper<any, any, any>
  /** Resolves once listr has started the step's task (`task` is set): it does so a few ticks after the tree starts. */
  attached: Promise<void>
  attach: () => void
  outcome?: {ok: boolean; skip?: string; error?: string}
  retries: number
}

export class ListrReporter implements Reporter {
  private tasks = new Map<string, StepTask>()
  private running: Promise<unknown> = Promise.resolve()
  private phase: StepPhase = 'main'
  private listrModule?: typeof import('listr2')

  async handle(event: RunEvent): Promise<void> {
    switch (event.type) {
      case 'run.started':
        this.listrModule = await import('listr2')
        process.stdout.write(`▶ ${event.runbook} on ${event.environment}${event.production ? ' (PRODUCTION)' : ''} — run ${event.runId}\n`)
        await this.startTree(
          'main',
          // The steps of a group or called runbook are indented under it.
          event.steps.filter((s) => s.phase === 'main').map((s) => ({key: this.key('main', s.id), title: `${'  '.repeat(s.id.split('.').length - 1)}${s.id} ${dim(`[${s.uses}]`)}`})),
        )
        return
      case 'rollback.started':
      case 'finally.started': {
        const phase: StepPhase = event.type === 'rollback.started' ? 'rollback' : 'finally'
        this.settleOpen('not started')
        await this.running
        if (event.steps.length === 0) return
        await this.startTree(
          phase,
          event.steps.map((id) => ({key: this.key(phase, id), title: `${phase === 'rollback' ? '↩ rollback' : '■ finally'} ${id}`})),
        )
        return
      }
      case 'step.log': {
        const t = this.tasks.get(this.key(event.phase, event.step))
        if (t?.task) t.task.output = event.message
        return
      }
      case 'step.retrying': {
        const t = this.tasks.get(this.key(event.phase, event.step))
        if (t?.task) {
          t.retries = event.attempt
          t.task.title = `${t.title} ${yellow(`[retry ${event.attempt + 1}]`)}`
          t.task.output = `${event.error.message}; retrying in ${humanDuration(event.delayMs)}`
        }
        return
      }
      case 'step.succeeded':
        this.settle(this.key(event.phase, event.step), {ok: true}, ` ${dim(humanDuration(event.durationMs))}`)
        return
      case 'step.failed':
        this.settle(this.key(event.phase, event.step), {ok: event.continued, error: event.error.message}, event.continued ? ` ${yellow('(failed, continuing)')}` : '')
        return
      case 'step.skipped':
        this.settle(this.key(event.phase, event.step), {ok: true, skip: event.reason})
        return
      case 'run.finished':
        this.settleOpen('not started')
        await this.running
        process.stdout.write(
          `${event.status === 'succeeded' ? green('✔') : red('✖')} run ${event.status} in ${humanDuration(event.durationMs)}\n` +
            (event.leftBehind.length > 0 ? `${red('Needs a human:')} ${event.leftBehind.join(', ')}\n` : ''),
        )
        return
      case 'run.interrupted':
        process.stderr.write(`\n${yellow('⚠ interrupted')}: ${interruptedText(event)}…\n`)
        return
      default:
    }
  }

  async close(): Promise<void> {
    this.settleOpen('not started')
    await this.running
  }

  /**
   * An approver that asks inside the step's task, so the prompt does not fight the renderer. `user` is who answers:
   * the same name the run's own production confirmation records (the OS account, as `runs show` and the evidence name
   * it), not $USER, which a container, `sudo` or `docker exec` may leave unset or set to someone else.
   */
  approver(fallback: Approver, user: string): Approver {
    return {
      approve: async (request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalDecision> => {
        const entry = this.tasks.get(this.key(this.phase, request.step))
        // The engine can reach an approval before listr has started the step's task (a fast step before it, a loaded
        // machine): wait for the task rather than prompt outside the tree, where the renderer redraws over the prompt
        // and the question is never seen (tty.test hung so in CI).
        if (entry && !entry.task) await Promise.race([entry.attached, this.running])
        const task = entry?.task
        if (!task) return fallback.approve(request, signal)
        const [{ListrInquirerPromptAdapter}, {confirm, input}] = await Promise.all([import('@listr2/prompt-adapter-inquirer'), import('@inquirer/prompts')])
        const prompt = task.prompt(ListrInquirerPromptAdapter)
        if (request.production) {
          const typed = await prompt.run(input, {message: `${request.message}\n  Type the environment name (${request.environment}) to approve:`})
          return {approved: typed.trim() === request.environment, by: user, via: 'prompt'}
        }
        const approved = await prompt.run(confirm, {message: request.message, default: false})
        return {approved, by: user, via: 'prompt'}
      },
    }
  }

  private key(phase: StepPhase, id: string): string {
    return `${phase}:${id}`
  }

  private async startTree(phase: StepPhase, steps: Array<{key: string; title: string}>): Promise<void> {
    const {Listr} = this.listrModule!
    this.phase = phase
    for (const step of steps) {
      let attach = () => {}
      const attached = new Promise<void>((resolve) => (attach = resolve))
      this.tasks.set(step.key, {title: step.title, retries: 0, attached, attach})
    }
    const listr = new Listr(
      steps.map((step) => ({
        title: step.title,
        task: (_: unknown, task: ListrTaskWrapper<any, any, any>) =>
          new Promise<void>((resolve, reject) => {
            const entry = this.tasks.get(step.key)!
            entry.task = task
            entry.attach()
            const finish = (outcome: {ok: boolean; skip?: string; error?: string}) => {
              if (outcome.skip) {
                task.skip(`${entry.title} ${dim(`(${outcome.skip})`)}`)
                resolve()
              } else if (outcome.ok) resolve()
              else reject(new Error(outcome.error ?? 'failed'))
            }
            if (entry.outcome) finish(entry.outcome)
            else entry.settle = finish
          }),
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false, // the CLI owns Ctrl-C: it must roll back, not just stop rendering
        rendererOptions: {collapseSubtasks: false, collapseErrors: false, showErrorMessage: true, persistentOutput: false},
      },
    )
    this.running = listr.run().catch(() => undefined)
  }

  private settle(key: string, outcome: {ok: boolean; skip?: string; error?: string}, titleSuffix = ''): void {
    const entry = this.tasks.get(key)
    if (!entry) return
    if (entry.task && titleSuffix) entry.task.title = `${entry.title}${titleSuffix}`
    entry.outcome = outcome
    entry.settle?.(outcome)
  }

  /** Steps the engine never started (the run failed or was interrupted first) end as skipped. */
  private settleOpen(reason: string): void {
    for (const [key, entry] of this.tasks) if (!entry.outcome) this.settle(key, {ok: true, skip: reason})
  }
}

const color = (code: number) => (text: string) => (process.env.NO_COLOR ? text : `\u001B[${code}m${text}\u001B[39m`)
const dim = (text: string) => (process.env.NO_COLOR ? text : `\u001B[2m${text}\u001B[22m`)
const green = color(32)
const red = color(31)
const yellow = color(33)
