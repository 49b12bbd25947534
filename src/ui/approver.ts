/**
 * Approvals for the CLI. `--yes` approves everything, `--approve <step>` one step; otherwise a prompt on a TTY
 * (in production the user types the environment's name), and without a TTY an ApprovalRequiredError (exit 4),
 * never a hang. Prompts render on stderr so stdout stays clean for --json.
 */
import type {ApprovalDecision, ApprovalRequest, Approver} from '../actions/types.js'
import {ApprovalRequiredError, InterruptedError} from '../errors.js'

export interface ApprovalPolicy {
  /** --yes */
  yes: boolean
  /** --approve <step> (repeatable) */
  approvedSteps: string[]
  /** A human can answer prompts: stdin and stderr are TTYs and CI is not set. */
  interactive: boolean
  user: string
}

/** True when prompts can be shown and answered. */
export function canPrompt(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !isCI(env)
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.CI && env.CI !== 'false' && env.CI !== '0')
}

/** Whether a step's approval is already given by flags. */
export function preApproved(policy: ApprovalPolicy, step: string): ApprovalDecision | undefined {
  if (policy.yes) return {approved: true, by: policy.user, via: 'yes'}
  if (policy.approvedSteps.includes(step)) return {approved: true, by: policy.user, via: 'flag'}
  return undefined
}

export function createApprover(policy: ApprovalPolicy): Approver {
  return {
    async approve(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalDecision> {
      const given = preApproved(policy, request.step)
      if (given) return given
      if (!policy.interactive)
        throw new ApprovalRequiredError(`step "${request.step}" needs approval (${request.message}) and there is no terminal to ask on`, request.step)
      return promptApproval(request, policy.user, signal)
    },
  }
}

/** Ask on the terminal. Production approvals require typing the environment's name. */
export async function promptApproval(request: ApprovalRequest, user: string, signal: AbortSignal): Promise<ApprovalDecision> {
  const {confirm, input} = await import('@inquirer/prompts')
  const context = {output: process.stderr, signal}
  try {
    if (request.production) {
      const typed = await input(
        {message: `${request.message}\n  This is PRODUCTION (${request.environment}). Type the environment name to approve:`},
        context,
      )
      const approved = typed.trim() === request.environment
      // A mistyped name is said back, so the engineer sees why nothing happened (the message is redacted and escaped).
      return {approved, by: user, via: 'prompt', ...(approved ? {} : {reason: `${JSON.stringify(typed.trim())} was typed, not ${JSON.stringify(request.environment)}`})}
    }
    const approved = await confirm({message: request.message, default: false}, context)
    return {approved, by: user, via: 'prompt'}
  } catch (error) {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) throw new InterruptedError('approval prompt cancelled')
    throw error
  }
}
