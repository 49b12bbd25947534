/**
 * Shared set-up for the engine tests: runbooks go through the real loader, the environment comes from the
 * repository's runbooks.yaml, and a few test-only actions (registered in the real registry) cover behaviour the core
 * actions cannot show on their own: flaky attempts, long-running operations, secrets and bad outputs.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {z} from 'zod'
import {sleep} from '../../src/actions/core.js'
import {registerActions} from '../../src/actions/registry.js'
import {defineAction, type ApprovalDecision, type Approver} from '../../src/actions/types.js'
import {parseCatalog} from '../../src/catalog/loader.js'
import {executeRunbook, type ExecuteOptions, type RunOutcome} from '../../src/runbooks/engine.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {parseRunbook} from '../../src/runbooks/loader.js'
import type {Runbook} from '../../src/runbooks/model.js'

const repoRoot = join(import.meta.dirname, '..', '..')
const loaded = parseCatalog(join(repoRoot, 'runbooks.yaml'), readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8'))
export const catalog = loaded.catalog
export const environment = catalog.environments.local!

/** How many times each `test.flaky` key has been attempted. */
export const flakyAttempts = new Map<string, number>()

/** The abort signals of the requests `test.unanswered` sent (ARM never answers them). */
export const unansweredRequests: AbortSignal[] = []

registerActions([
  defineAction({
    name: 'test.unanswered',
    summary: 'Sends a tracked ARM request that is never answered (what the emulator fault `hold` does)',
    input: z.strictObject({}),
    output: z.strictObject({}),
    changes: true,
    permissions: [],
    run: async (_inputs, ctx) => {
      const {runTracked} = await import('../../src/azure/lro.js')
      await runTracked(ctx, {armEndpoint: 'https://arm.invalid', pollIntervalMs: 10} as never, {
        description: 'delete scratch',
        method: 'DELETE',
        resource: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/scratch',
        call: (options) =>
          new Promise((_, reject) => {
            unansweredRequests.push(options.abortSignal)
            options.abortSignal.addEventListener('abort', () => reject(options.abortSignal.reason), {once: true})
          }),
      })
      return {}
    },
  }),
  defineAction({
    name: 'test.flaky',
    summary: 'Fails the first `failures` attempts for `key`, then succeeds',
    input: z.strictObject({key: z.string(), failures: z.number().int()}),
    output: z.strictObject({attempt: z.number()}),
    changes: false,
    permissions: [],
    async run(input) {
      const attempt = (flakyAttempts.get(input.key) ?? 0) + 1
      flakyAttempts.set(input.key, attempt)
      if (attempt <= input.failures) throw new Error(`transient failure ${attempt}`)
      return {attempt}
    },
  }),
  defineAction({
    name: 'test.operation',
    summary: 'Starts a tracked operation (or re-attaches to the one in flight) and waits',
    input: z.strictObject({name: z.string(), duration: z.number().default(0)}),
    output: z.strictObject({reattached: z.boolean(), name: z.string()}),
    changes: true,
    permissions: ['Test/things/write'],
    async run(input, ctx) {
      const inFlight = ctx.operations.inFlight()
      if (!inFlight)
        await ctx.operations.started({
          description: `create ${input.name}`,
          method: 'PUT',
          resourceUrl: `https://management.azure.com/things/${input.name}`,
          monitorUrl: `https://management.azure.com/operations/${input.name}`,
        })
      await sleep(input.duration, ctx.signal)
      return {reattached: inFlight !== undefined, name: input.name}
    },
  }),
  defineAction({
    name: 'test.secret',
    summary: 'Registers a secret, then logs and returns it',
    input: z.strictObject({value: z.string()}),
    output: z.strictObject({connection: z.string()}),
    changes: false,
    permissions: [],
    secretInputs: ['value'],
    async run(input, ctx) {
      ctx.secret(input.value)
      ctx.log(`connected with ${input.value}`)
      return {connection: `Server=db;Token=${input.value}`}
    },
  }),
  defineAction({
    name: 'test.bad-output',
    summary: 'Returns outputs that do not match its schema',
    input: z.strictObject({}),
    output: z.strictObject({count: z.number()}),
    changes: false,
    permissions: [],
    async run() {
      return {count: 'many'} as unknown as {count: number}
    },
  }),
  defineAction({
    name: 'test.stubborn',
    summary: 'Ignores its abort signal and never finishes',
    input: z.strictObject({}),
    output: z.strictObject({}),
    changes: false,
    permissions: [],
    run: () => new Promise<Record<string, never>>(() => undefined),
  }),
])

let counter = 0
/** A runbook from YAML text, through the real loader. */
export function runbook(yaml: string): Runbook {
  counter++
  return parseRunbook(`test-${counter}.yaml`, yaml)
}

export const approveAll: Approver = {
  approve: async (): Promise<ApprovalDecision> => ({approved: true, by: 'tester', via: 'prompt'}),
}

export interface Recorded {
  outcome: RunOutcome
  events: RunEvent[]
}

/** Execute with defaults filled in; records every event in order. */
export async function run(book: Runbook, overrides: Partial<ExecuteOptions> & {onEvent?: (event: RunEvent) => void} = {}): Promise<Recorded> {
  const events: RunEvent[] = []
  const {onEvent, ...options} = overrides
  const outcome = await executeRunbook({
    runbook: book,
    runId: `test-run-${counter}`,
    params: {},
    environmentName: 'local',
    environment,
    catalog,
    approver: approveAll,
    services: undefined,
    signal: new AbortController().signal,
    emit: async (event) => {
      events.push(event)
      onEvent?.(event)
    },
    abortGraceMs: 50,
    ...options,
  })
  return {outcome, events}
}

/** `type step phase` for each event, compact enough to compare whole sequences. */
export function trace(events: RunEvent[]): string[] {
  return events.map((event) => {
    const e = event as RunEvent & {step?: string; phase?: string}
    return [e.type, e.step, e.phase].filter(Boolean).join(' ')
  })
}
