/**
 * `http.check`: GET a URL until it answers with the expected status (and body), within a timeout. Used for health
 * gates (slot swaps, restores) against real endpoints and the emulator's slot servers.
 *
 * Requests go through node:http/https rather than global fetch: fetch cannot take a per-request CA without importing
 * undici's Agent (not a dependency), and `caFile` is how a check trusts the emulator's self-signed certificate.
 */
import {readFile} from 'node:fs/promises'
import {z} from 'zod'
import {isDuration, parseDuration} from '../support/duration.js'
import {compileSearchPattern} from '../support/pattern.js'
import {sleep, StepError} from './core.js'
import {defineAction, previewText, type ActionDefinition} from './types.js'

const isoDuration = z.string().refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT2S or PT1M'})

/** How much of a body is kept in outputs and messages. */
export const BODY_PREVIEW_CHARS = 1000
/** How much of a body is read for matching. */
const BODY_READ_LIMIT = 256 * 1024
/** A single request never waits longer than this, so a hung connection does not eat the whole check. */
const REQUEST_TIMEOUT_MS = 10_000

interface HttpResult {
  status: number
  body: string
}

/** `/regex/flags` → an RE2 search (linear time, support/pattern.ts); anything else is a substring. */
export function bodyMatcher(expect: string): (body: string) => boolean {
  const regex = /^\/(.+)\/([dgimsuy]*)$/s.exec(expect)
  if (regex) {
    const pattern = compileSearchPattern(regex[1]!, regex[2])
    return (body) => pattern.test(body)
  }
  return (body) => body.includes(expect)
}

/** An expectBody that is a /regex/ RE2 cannot compile: the problem, else undefined. */
function expectBodyProblem(expect: string): string | undefined {
  try {
    bodyMatcher(expect)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

async function httpGet(url: URL, options: {method: string; ca?: string; signal: AbortSignal}): Promise<HttpResult> {
  const {request} = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return new Promise<HttpResult>((resolve, reject) => {
    const req = request(url, {method: options.method, ca: options.ca, signal: options.signal, headers: {'user-agent': 'opsbook http.check'}}, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < BODY_READ_LIMIT) chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, BODY_READ_LIMIT)}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code
    return code ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

export const httpCheckAction = defineAction({
  name: 'http.check',
  summary: 'GET a URL until it returns the expected status (and body), within a timeout',
  input: z.strictObject({
    url: z.url({protocol: /^https?$/}).describe('The URL to check, e.g. https://app-shop.azurewebsites.net/health'),
    expectStatus: z.number().int().min(100).max(599).default(200).describe('Expected HTTP status'),
    expectBody: z
      .string()
      .superRefine((value, ctx) => {
        const problem = expectBodyProblem(value)
        if (problem) ctx.addIssue({code: 'custom', message: problem})
      })
      .optional()
      .describe('Substring the body must contain, or /regex/ (RE2 syntax: linear time, no backreferences or lookaround) it must match'),
    timeout: isoDuration.default('PT1M').describe('Give up after this long'),
    interval: isoDuration.default('PT2S').describe('Pause between attempts'),
    method: z.enum(['GET', 'HEAD']).default('GET'),
    caFile: z.string().optional().describe('PEM file of a CA to trust (e.g. the emulator certificate)'),
  }),
  output: z.strictObject({
    status: z.number(),
    body: z.string().describe(`The body, cut to ${BODY_PREVIEW_CHARS} characters`),
    attempts: z.number(),
    elapsedMs: z.number(),
  }),
  changes: false,
  permissions: [],
  az: (input) => [`curl -sS -o /dev/null -w '%{http_code}' --retry-all-errors --max-time ${Math.ceil((parseDuration(String(input.timeout ?? 'PT1M')) ?? 60_000) / 1000)} '${input.url}'`],
  async run(input, ctx) {
    const url = new URL(input.url)
    const timeoutMs = parseDuration(input.timeout) ?? 60_000
    const intervalMs = parseDuration(input.interval) ?? 2000
    const matches = input.expectBody === undefined ? () => true : bodyMatcher(input.expectBody)
    const ca = input.caFile ? await readFile(input.caFile, 'utf8') : undefined
    const started = Date.now()
    const deadline = started + timeoutMs
    let attempts = 0
    let last = 'no response'
    for (;;) {
      attempts++
      const remaining = Math.max(1, deadline - Date.now())
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.min(remaining, REQUEST_TIMEOUT_MS))])
      try {
        const result = await httpGet(url, {method: input.method, ca, signal})
        const body = result.body
        if (result.status === input.expectStatus && matches(body))
          return {status: result.status, body: previewText(ctx, body, BODY_PREVIEW_CHARS), attempts, elapsedMs: Date.now() - started}
        last =
          result.status === input.expectStatus
            ? `status ${result.status} but the body did not match ${input.expectBody}: ${JSON.stringify(previewText(ctx, body, 200))}`
            : `status ${result.status}`
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason
        // A request cut short by the deadline says less than what the previous attempt got back.
        const timedOut = (error as {name?: string})?.name === 'AbortError' || (error as {code?: string})?.code === 'ABORT_ERR'
        if (timedOut && attempts === 1) last = `no answer (the request was still open when ${Math.min(timeoutMs, REQUEST_TIMEOUT_MS)} ms had passed)`
        else if (!timedOut) last = describeError(error)
      }
      if (attempts === 1 || attempts % 5 === 0) ctx.log(`${input.method} ${url.origin}${url.pathname}: ${last} (attempt ${attempts})`)
      if (Date.now() + intervalMs >= deadline)
        throw new StepError(
          `${input.method} ${input.url} did not return ${input.expectStatus}${input.expectBody === undefined ? '' : ` with ${input.expectBody}`} within ${input.timeout}: last ${last} after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
          {code: 'http-check-failed'},
        )
      await sleep(intervalMs, ctx.signal)
    }
  },
})

export const httpActions: ActionDefinition[] = [httpCheckAction]
