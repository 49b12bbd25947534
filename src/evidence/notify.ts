/**
 * Run notifications to chat and webhooks, per environment in the catalog. A subscriber like the journal and the
 * reporters: it never blocks the run (deliveries go on in the background with bounded retries) and never fails it —
 * a delivery that did not get through is reported back so the session journals it.
 *
 * Payloads: Microsoft Teams takes an Adaptive Card in a message (Workflows "When a Teams webhook request is
 * received": learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook),
 * Slack takes Block Kit blocks with a `text` fallback (api.slack.com/messaging/webhooks), anything else a plain JSON
 * document. The webhook URL is itself a secret, so the catalog gives it by reference — an environment variable, an
 * OPSBOOK_PARAM_<name> variable or a Key Vault secret — resolved when the run starts (`resolveTargets`) and added to
 * the run's redactor, so it never reaches the journal, the output or the evidence.
 */
import type {RunEvent} from '../runbooks/events.js'

export type NotificationEvent = 'start' | 'approval' | 'success' | 'failure' | 'left-behind'
export const NOTIFICATION_EVENTS: NotificationEvent[] = ['start', 'approval', 'success', 'failure', 'left-behind']

/** Where a webhook URL is: an environment variable, OPSBOOK_PARAM_<name>, or a Key Vault secret (catalog schema). */
export type WebhookReference = {env: string} | {type: 'param'; name: string} | {type: 'keyVaultSecret'; vault: string; secret: string}

export interface NotificationTarget {
  kind: 'teams' | 'slack' | 'webhook'
  url: WebhookReference
  on: NotificationEvent[]
}

/** A target with its URL resolved. */
export type ResolvedTarget = NotificationTarget & {address: string}

/** How a reference is named in messages (never the URL). */
export function describeReference(url: WebhookReference): string {
  if ('env' in url) return url.env
  if (url.type === 'param') return `OPSBOOK_PARAM_${url.name}`
  return `Key Vault ${url.vault} secret ${url.secret}`
}

/**
 * Resolve every target's URL: environment variables from `env`, Key Vault secrets through `readSecret` (the vault's
 * data plane). A reference that cannot be resolved is reported in `problems` (the session journals it) and that
 * target is skipped; the run goes on.
 */
export async function resolveTargets(
  targets: NotificationTarget[],
  options: {env?: NodeJS.ProcessEnv; readSecret: (ref: {vault: string; secret: string}) => Promise<string>},
): Promise<{resolved: ResolvedTarget[]; problems: string[]}> {
  const env = options.env ?? process.env
  const resolved: ResolvedTarget[] = []
  const problems: string[] = []
  for (const target of targets) {
    const url = target.url
    let address: string | undefined
    try {
      if ('env' in url || url.type === 'param') {
        const name = describeReference(url)
        address = env[name]
        if (!address) throw new Error(`environment variable ${name} is not set`)
      } else address = await options.readSecret(url)
    } catch (error) {
      problems.push(`notification (${target.kind}) skipped: its webhook URL (${describeReference(url)}) could not be resolved: ${(error as Error).message}`)
      continue
    }
    resolved.push({...target, address})
  }
  return {resolved, problems}
}

export interface NotificationMessage {
  event: NotificationEvent
  runId: string
  runbook: string
  environment: string
  title: string
  /** One line a human reads first. */
  text: string
  facts: Array<[string, string]>
  status?: string
  leftBehind?: string[]
}

export interface DeliveryFailure {
  kind: NotificationTarget['kind']
  /** The reference naming the URL (never the URL: it is a secret). */
  target: string
  event: NotificationEvent
  attempts: number
  error: string
}

export interface NotifierOptions {
  /** Targets with their URLs resolved (resolveTargets). */
  targets: ResolvedTarget[]
  runId: string
  environment: string
  /** Applied to every payload before it leaves the process. */
  redact: <T>(value: T) => T
  attempts?: number
  /** First retry delay; doubles each attempt. */
  backoffMs?: number
  timeoutMs?: number
  fetchImpl?: typeof fetch
}

export class Notifier {
  private readonly pending = new Set<Promise<void>>()
  private readonly failures: DeliveryFailure[] = []
  private readonly resolved: ResolvedTarget[]
  private runbook = ''

  constructor(private readonly options: NotifierOptions) {
    this.resolved = options.targets
  }

  get enabled(): boolean {
    return this.resolved.length > 0
  }

  /** The event subscriber: turns run events into notifications. Returns at once. */
  readonly listener = (event: RunEvent): void => {
    const message = this.messageFor(event)
    if (message) this.send(message)
  }

  private messageFor(event: RunEvent): NotificationMessage | undefined {
    const base = {runId: this.options.runId, environment: this.options.environment}
    if (event.type === 'run.started') {
      this.runbook = event.runbook
      return {...base, runbook: event.runbook, event: 'start', title: `${event.runbook} started on ${event.environment}`, text: event.title, facts: [['steps', String(event.steps.length)], ...(event.resumedFrom ? [['resumed from', event.resumedFrom] as [string, string]] : [])]}
    }
    if (event.type === 'approval.requested')
      return {...base, runbook: this.runbook, event: 'approval', title: `${this.runbook} on ${this.options.environment} waits for an approval`, text: event.message, facts: [['step', event.step]]}
    return undefined
  }

  /** End of the run: success or failure, and left-behind when anything is. */
  finished(outcome: {status: string; leftBehind: string[]; durationMs: number; objectives?: unknown}): void {
    const base = {runId: this.options.runId, environment: this.options.environment, runbook: this.runbook}
    const ok = outcome.status === 'succeeded'
    const facts: Array<[string, string]> = [
      ['status', outcome.status],
      ['duration', `${Math.round(outcome.durationMs / 1000)} s`],
    ]
    if (Array.isArray(outcome.objectives))
      for (const row of outcome.objectives as Array<{component?: string; status?: string}>) facts.push([`objectives ${row.component}`, row.status ?? ''])
    this.send({...base, event: ok ? 'success' : 'failure', status: outcome.status, title: `${this.runbook} on ${this.options.environment}: ${outcome.status}`, text: ok ? 'The run succeeded.' : 'The run did not succeed.', facts})
    if (outcome.leftBehind.length > 0)
      this.send({...base, event: 'left-behind', status: outcome.status, leftBehind: outcome.leftBehind, title: `${this.runbook} on ${this.options.environment} left resources behind`, text: 'A human must look at what is listed.', facts: outcome.leftBehind.map((item, i) => [`${i + 1}`, item])})
  }

  /** Wait (bounded) for deliveries still under way; returns every delivery that failed. */
  async drain(timeoutMs = 15_000): Promise<DeliveryFailure[]> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.pending]), deadline])
    clearTimeout(timer)
    for (const [target, event] of this.inFlight) this.failures.push({kind: target.kind, target: describeReference(target.url), event, attempts: 0, error: `still not delivered after ${timeoutMs} ms`})
    return [...this.failures]
  }

  private readonly inFlight = new Set<[NotificationTarget, NotificationEvent]>()

  private send(message: NotificationMessage): void {
    for (const target of this.resolved) {
      if (!target.on.includes(message.event)) continue
      const body = this.options.redact(payloadFor(target.kind, message))
      const entry: [NotificationTarget, NotificationEvent] = [target, message.event]
      this.inFlight.add(entry)
      const delivery = this.deliver(target.address, body)
        .then((failure) => {
          if (failure) this.failures.push({kind: target.kind, target: describeReference(target.url), event: message.event, ...failure})
        })
        .finally(() => {
          this.inFlight.delete(entry)
          this.pending.delete(delivery)
        })
      this.pending.add(delivery)
    }
  }

  /** POST with retries: network errors, 429 (Retry-After honoured up to 30 s) and 5xx are retried; other answers are final. */
  private async deliver(address: string, body: unknown): Promise<{attempts: number; error: string} | undefined> {
    const attempts = this.options.attempts ?? 4
    const fetchImpl = this.options.fetchImpl ?? fetch
    let delay = this.options.backoffMs ?? 500
    let lastError = ''
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfterMs: number | undefined
      try {
        const response = await fetchImpl(address, {
          method: 'POST',
          headers: {'content-type': 'application/json'},
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        })
        await response.arrayBuffer().catch(() => undefined)
        if (response.ok) return undefined
        lastError = `HTTP ${response.status}`
        if (response.status !== 429 && response.status < 500) return {attempts: attempt, error: lastError}
        const header = Number(response.headers.get('retry-after'))
        if (Number.isFinite(header) && header > 0) retryAfterMs = Math.min(header * 1000, 30_000)
      } catch (error) {
        // Never the address: it is the secret. The cause (ECONNREFUSED, timeout) is what helps.
        const cause = (error as {cause?: {code?: string; message?: string}}).cause
        lastError = cause?.code ?? cause?.message ?? (error as Error).message ?? 'network error'
      }
      if (attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs ?? delay))
        delay *= 2
      }
    }
    return {attempts, error: lastError}
  }
}

export function payloadFor(kind: NotificationTarget['kind'], message: NotificationMessage): unknown {
  if (kind === 'teams')
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              {type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: message.title, color: message.event === 'failure' || message.event === 'left-behind' ? 'Attention' : 'Default'},
              {type: 'TextBlock', wrap: true, text: message.text},
              {type: 'FactSet', facts: [['run', message.runId], ...message.facts].map(([title, value]) => ({title, value}))},
            ],
          },
        },
      ],
    }
  if (kind === 'slack')
    return {
      text: `${message.title}: ${message.text}`,
      blocks: [
        {type: 'header', text: {type: 'plain_text', text: message.title.slice(0, 150)}},
        {type: 'section', text: {type: 'mrkdwn', text: message.text}},
        {type: 'section', fields: [['run', message.runId], ...message.facts].slice(0, 10).map(([title, value]) => ({type: 'mrkdwn', text: `*${title}*\n${value}`}))},
      ],
    }
  return {
    source: 'opsbook',
    event: message.event,
    runId: message.runId,
    runbook: message.runbook,
    environment: message.environment,
    status: message.status,
    title: message.title,
    text: message.text,
    facts: Object.fromEntries(message.facts),
    ...(message.leftBehind ? {leftBehind: message.leftBehind} : {}),
  }
}
