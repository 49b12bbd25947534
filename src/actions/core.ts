/**
 * Core actions: logging, waiting, assertions and human approvals. They change nothing in Azure, need no
 * permissions, and are what every runbook uses to structure itself.
 */
import {z} from 'zod'
import {humanDuration, isDuration, parseDuration} from '../support/duration.js'
import {defineAction, type ActionDefinition} from './types.js'
import {setLongTimeout} from '../support/timer.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT30S or PT5M'})

/** An error an engine should not retry: repeating the attempt cannot change the outcome. */
export class StepError extends Error {
  readonly retryable: boolean
  readonly code?: string
  constructor(message: string, options: {retryable?: boolean; code?: string; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'StepError'
    this.retryable = options.retryable ?? true
    this.code = options.code
  }
}

/** Resolve after `ms`, or reject with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      timer.clear()
      reject(signal!.reason)
    }
    // Not setTimeout: a delay past 24.8 days overflows it and fires at once (support/timer.ts).
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

export const logAction = defineAction({
  name: 'core.log',
  summary: 'Write a line to the run output and the journal',
  input: z.strictObject({
    message: z.string().describe('The text to log; expressions are evaluated first'),
    level: z.enum(['info', 'warn', 'error']).default('info').describe('Severity shown next to the line'),
  }),
  output: z.strictObject({}),
  changes: false,
  permissions: [],
  // Shown and journaled redacted, sent nowhere (a notification carries the redacted text).
  localInputs: ['message'],
  async run(input, ctx) {
    ctx.log(input.level === 'info' ? input.message : `${input.level}: ${input.message}`)
    return {}
  },
})

export const waitAction = defineAction({
  name: 'core.wait',
  summary: 'Wait for a duration (ISO-8601), e.g. to let a change settle',
  input: z.strictObject({duration: isoDuration.describe('How long to wait, e.g. PT30S')}),
  output: z.strictObject({waitedMs: z.number()}),
  changes: false,
  permissions: [],
  az: (input) => {
    const ms = parseDuration(String(input.duration))
    // Before the run the duration may still be a placeholder such as <params.pause>.
    return [ms === undefined ? `sleep ${String(input.duration)}` : `sleep ${Math.ceil(ms / 1000)}`]
  },
  async run(input, ctx) {
    const ms = parseDuration(input.duration) ?? 0
    const started = Date.now()
    // A wait a user notices (slot-swap watches production for 2 minutes by default) says how long and until when: the
    // step line alone ("▸ watch [core.wait]") looked like a hang.
    if (ms >= 5000) ctx.log(`waiting ${humanDuration(ms)}, until ${new Date(started + ms).toISOString().slice(0, 19)}Z`)
    await sleep(ms, ctx.signal)
    return {waitedMs: Date.now() - started}
  },
})

export const assertAction = defineAction({
  name: 'core.assert',
  summary: 'Fail the step with a message when a condition is false',
  input: z.strictObject({
    that: z.boolean().describe('The condition, usually an expression such as ${{ steps.verify.outputs.rows > 0 }}'),
    message: z.string().describe('Why the run cannot continue when the condition is false'),
  }),
  output: z.strictObject({}),
  changes: false,
  permissions: [],
  localInputs: ['that', 'message'],
  async run(input) {
    if (!input.that) throw new StepError(`assertion failed: ${input.message}`, {retryable: false, code: 'assertion-failed'})
    return {}
  },
})

export const approvalAction = defineAction({
  name: 'core.approval',
  summary: 'Ask a human to approve before the run continues',
  description:
    'On a TTY the user confirms (in production by typing the environment name). Off a TTY, --yes or --approve <step> approves; otherwise the run stops with exit 4.',
  input: z.strictObject({message: z.string().describe('What the approver is agreeing to')}),
  output: z.strictObject({approved: z.literal(true), by: z.string(), via: z.enum(['prompt', 'flag', 'yes'])}),
  changes: false,
  permissions: [],
  // Shown to the approver, and in an approval notification, redacted.
  localInputs: ['message'],
  async run(input, ctx) {
    const decision = await ctx.approver.approve(
      {step: ctx.stepId, message: input.message, environment: ctx.environmentName, production: ctx.environment.production},
      ctx.signal,
    )
    if (!decision.approved)
      throw new StepError(`approval denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`, {
        retryable: false,
        code: 'approval-denied',
      })
    return {approved: true as const, by: decision.by, via: decision.via}
  },
})

export const coreActions: ActionDefinition[] = [logAction, waitAction, assertAction, approvalAction]
