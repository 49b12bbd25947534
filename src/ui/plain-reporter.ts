/**
 * Plain line-per-event progress for CI logs and pipes: no cursor movement, no spinners, one line per state change,
 * each prefixed with the time since the run started so a log reads as a timeline.
 */
import type {RunEvent} from '../runbooks/events.js'
import {humanDuration} from '../support/duration.js'
import {interruptedText} from './interrupt-text.js'

export interface Reporter {
  handle(event: RunEvent): void | Promise<void>
  close(): Promise<void>
}

export class PlainReporter implements Reporter {
  private startedAt = Date.now()

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  handle(event: RunEvent): void {
    const line = this.format(event)
    if (line) this.out.write(`[${humanDuration(Date.now() - this.startedAt).padStart(7)}] ${line}\n`)
  }

  async close(): Promise<void> {}

  private format(event: RunEvent): string | undefined {
    // The steps of a group or called runbook (`<group>.<step>`) are indented under it, one level per group.
    const step = (event as {step?: string}).step
    const indent = step && event.type.startsWith('step.') ? '  '.repeat(step.split('.').length - 1) : ''
    const line = this.formatLine(event)
    return line === undefined ? undefined : `${indent}${line}`
  }

  private formatLine(event: RunEvent): string | undefined {
    const phase = (p: string) => (p === 'main' ? '' : `${p} `)
    switch (event.type) {
      case 'run.started':
        this.startedAt = Date.now()
        return `▶ ${event.runbook} on ${event.environment}${event.production ? ' (PRODUCTION)' : ''}: run ${event.runId}${event.resumedFrom ? ' (resumed)' : ''}`
      case 'step.started':
        return `▸ ${phase(event.phase)}${event.step} [${event.uses}]${event.attempt > 1 ? ` attempt ${event.attempt}` : ''}`
      case 'step.log':
        return `  ${event.step}: ${event.message}`
      case 'step.retrying':
        return `↻ ${event.step} failed (${event.error.message}); retry ${event.attempt + 1} in ${humanDuration(event.delayMs)}`
      case 'step.succeeded':
        return `✔ ${phase(event.phase)}${event.step} (${humanDuration(event.durationMs)})`
      case 'step.failed':
        return `✖ ${phase(event.phase)}${event.step} failed${event.continued ? ' (continuing)' : ''}: ${event.error.message}`
      case 'step.skipped':
        return `⊘ ${phase(event.phase)}${event.step} skipped: ${event.reason}`
      case 'operation.started':
        return `  ${event.step}: ${event.operation.description}${event.operation.monitorUrl ? ' (operation tracked for resume)' : ''}`
      case 'approval.requested':
        return `? ${event.step}: approval requested: ${event.message}`
      case 'approval.decided':
        return `${event.decision.approved ? '✔' : '✖'} ${event.step}: ${event.decision.approved ? 'approved' : 'denied'} by ${event.decision.by} (${event.decision.via})`
      case 'rollback.started':
        return `↩ rolling back: ${event.steps.join(', ') || 'nothing to roll back'}`
      case 'rollback.finished':
        return event.ok ? '↩ rollback complete' : `✖ rollback incomplete: ${event.failed.join(', ')}`
      case 'finally.started':
        return `■ finally: ${event.steps.join(', ')}`
      case 'run.interrupted':
        return `⚠ interrupted (${event.signal}): ${interruptedText(event)}`
      case 'run.note':
        // A warning the session already wrote live to stderr (session.ts `warn`): shown once, not again here.
        return event.data?.warning === true ? undefined : `• ${event.message}`
      case 'run.finished':
        return `${event.status === 'succeeded' ? '✔' : '✖'} run ${event.status} in ${humanDuration(event.durationMs)}${
          event.leftBehind.length > 0 ? `; needs a human: ${event.leftBehind.join(', ')}` : ''
        }`
    }
  }
}
