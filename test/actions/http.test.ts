import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {mkdtemp} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bodyMatcher} from '../../src/actions/http.js'
import {loadOrCreateCertificate} from '../../src/emulator/certificate.js'
import {run, runbook} from '../runbooks/engine-fixtures.js'

/** A health endpoint that is unhealthy for its first `unhealthyFor` requests. */
function healthServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{server: Server; url: string}> {
  const server = createHttpServer(handler)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`})))
}

let requests = 0
let http: {server: Server; url: string}

const ECHOED_SECRET = 'Kx7Qp2VzLm9Wq4RtHb5N'

beforeAll(async () => {
  http = await healthServer((req, res) => {
    requests++
    if (req.url === '/warming' && requests % 3 !== 0) {
      res.writeHead(503).end('warming up')
      return
    }
    if (req.url === '/hang') return // never answers
    if (req.url?.startsWith('/echo')) {
      // A secret the server knows (an endpoint that shows a key), after padding that puts it across the cut of a
      // message (200) or an output (1000). (It echoed the URL's `s=` before: a runbook may no longer send a secret in
      // a URL — secret-sent-out.)
      res.writeHead(200).end(`${'.'.repeat(req.url.startsWith('/echo-long') ? 990 : 190)}${ECHOED_SECRET}`)
      return
    }
    if (req.url === '/redos') {
      res.writeHead(200).end(`${'a'.repeat(25)}!`)
      return
    }
    if (req.url === '/big') {
      res.writeHead(200).end(`{"status":"Healthy","pad":"${'x'.repeat(5000)}"}`)
      return
    }
    res.writeHead(req.url === '/health' || req.url === '/warming' ? 200 : 404, {'content-type': 'application/json'}).end('{"status":"Healthy","version":"2026.11.3"}')
  })
})
afterAll(() => {
  http.server.closeAllConnections()
  http.server.close()
})

function checkRunbook(withYaml: string): string {
  return `
name: health
title: Health gate
kind: checklist
steps:
  - id: check
    uses: http.check
    with: ${withYaml}
`
}

describe('http.check', () => {
  it('polls until the endpoint answers 200 and reports the attempts', async () => {
    requests = 0
    const {outcome} = await run(runbook(checkRunbook(`{url: "${http.url}/warming", interval: PT0.02S, timeout: PT5S}`)))
    expect(outcome.status).toBe('succeeded')
    expect(outcome.steps[0]!.outputs).toMatchObject({status: 200, attempts: 3, body: '{"status":"Healthy","version":"2026.11.3"}'})
  })

  it('matches the body by substring or /regex/, and truncates long bodies in outputs', async () => {
    const regex = await run(runbook(checkRunbook(`{url: "${http.url}/health", expectBody: '/"version":"2026\\.11\\.\\d+"/'}`)))
    expect(regex.outcome.status).toBe('succeeded')
    const big = await run(runbook(checkRunbook(`{url: "${http.url}/big", expectBody: Healthy}`)))
    expect((big.outcome.steps[0]!.outputs as {body: string}).body).toHaveLength(1000)
    expect(bodyMatcher('/healthy/i')('{"status":"Healthy"}')).toBe(true)
    expect(bodyMatcher('Degraded')('{"status":"Healthy"}')).toBe(false)
  })

  // The timeouts below leave room for the first answer on a loaded machine: with 0.1 s the only attempt was sometimes
  // aborted before localhost answered, and the message named the abort instead of what the endpoint said.
  it('fails after its timeout with the last status it saw', async () => {
    const {outcome, events} = await run(runbook(checkRunbook(`{url: "${http.url}/missing", timeout: PT1S, interval: PT0.1S}`)))
    expect(outcome.status).toBe('failed')
    expect(outcome.steps[0]!.error!.message).toMatch(new RegExp(`^GET ${http.url}/missing did not return 200 within PT1S: last status 404 after \\d+ attempts?$`))
    expect(events.find((e) => e.type === 'step.log')).toMatchObject({message: 'GET http://127.0.0.1:' + new URL(http.url).port + '/missing: status 404 (attempt 1)'})
  })

  it('fails when the body never matches, quoting what it got', async () => {
    const {outcome} = await run(runbook(checkRunbook(`{url: "${http.url}/health", expectBody: Degraded, timeout: PT1S, interval: PT0.1S}`)))
    expect(outcome.steps[0]!.error!.message).toContain('status 200 but the body did not match Degraded: "{\\"status\\":\\"Healthy\\"')
  })

  it('says the endpoint never answered when the only attempt was still open at the deadline', async () => {
    const {outcome} = await run(runbook(checkRunbook(`{url: "${http.url}/hang", timeout: PT0.3S}`)))
    expect(outcome.steps[0]!.error!.message).toBe(`GET ${http.url}/hang did not return 200 within PT0.3S: last no answer (the request was still open when 300 ms had passed) after 1 attempt`)
  })

  it('trusts a self-signed endpoint only when given its CA file', async () => {
    const certificate = await loadOrCreateCertificate(await mkdtemp(join(tmpdir(), 'opsbook-http-cert-')))
    const server = createHttpsServer({cert: certificate.certPem, key: certificate.keyPem}, (_req, res) => res.writeHead(200).end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `https://localhost:${(server.address() as AddressInfo).port}/health`
    try {
      const trusted = await run(runbook(checkRunbook(`{url: "${url}", caFile: "${certificate.caFile}"}`)))
      expect(trusted.outcome.steps[0]!.outputs).toMatchObject({status: 200, body: 'ok', attempts: 1})
      const untrusted = await run(runbook(checkRunbook(`{url: "${url}", timeout: PT2S, interval: PT0.5S}`)))
      expect(untrusted.outcome.steps[0]!.error!.message).toMatch(/SELF_SIGNED_CERT|self-signed certificate/i)
    } finally {
      server.close()
    }
  })

  // Found by adversary8 (CLI): expectBody "/^(a+)+$/" against a 41-byte body froze `opsbook run` for 5 minutes — the
  // JavaScript regex engine backtracks exponentially and holds the event loop, so the check's timeout, the step's
  // timeout and Ctrl-C all waited for it. /regex/ is matched with RE2 (linear time), as param patterns are.
  it('matches /regex/ in linear time: a catastrophic pattern cannot hold the process past its timeout', async () => {
    const {outcome} = await run(runbook(checkRunbook(`{url: "${http.url}/redos", expectBody: "/^(a+)+$/", timeout: PT2S, interval: PT0.1S}`)))
    expect(outcome.steps[0]!.status).toBe('failed')
    // Each attempt answers at once, so the 2 s hold many (a backtracking match took seconds for its first one).
    const attempts = Number(/after (\d+) attempts?$/.exec(outcome.steps[0]!.error!.message)?.[1])
    expect(attempts, outcome.steps[0]!.error!.message).toBeGreaterThanOrEqual(3)
    expect(bodyMatcher('/^A+!$/im')('x\naaa!')).toBe(true)
    expect(bodyMatcher('/a.b/s')('a\nb')).toBe(true)
    expect(() => bodyMatcher('/(a)\\1/')).toThrow(/RE2 syntax/)
  }, 60_000)

  // Found by adversary8 (CLI): a body echoing a secret at its 190th character left the secret's first 10 characters
  // in the failure message (stdout, journal): the body was cut to 200 first, and a cut secret is no longer the secret.
  it('cuts a body for its message and output only after redacting it, so no piece of a secret is left', async () => {
    const secret = ECHOED_SECRET
    const book = runbook(`
name: echo
title: A body that echoes a secret
kind: checklist
params:
  pw: {type: secret}
steps:
  - {id: message, uses: http.check, continueOnError: true, with: {url: "${http.url}/echo", expectBody: nope, timeout: PT0.5S, interval: PT0.5S}}
  - {id: output, uses: http.check, with: {url: "${http.url}/echo-long", expectBody: "..."}}
`)
    const {outcome, events} = await run(book, {params: {pw: secret}})
    expect(outcome.steps.map((s) => s.status)).toEqual(['failed', 'succeeded'])
    expect(outcome.steps[0]!.error!.message).toMatch(/body did not match nope: "\.+\[REDAC/)
    const written = JSON.stringify({events, outputs: outcome.steps.map((s) => s.outputs), errors: outcome.steps.map((s) => s.error?.message)})
    expect(written).not.toMatch(/Kx7Q|Qp2V|Hb5N/)
  })

  it('stops polling when the step times out', async () => {
    const book = runbook(`
name: health-timeout
title: Step timeout beats check timeout
kind: checklist
steps:
  - {id: check, uses: http.check, timeout: PT0.2S, with: {url: "${http.url}/missing", timeout: PT30S, interval: PT0.05S}}
`)
    const {outcome} = await run(book, {abortGraceMs: 5000})
    expect(outcome.steps[0]).toMatchObject({status: 'failed', error: {message: 'timed out after PT0.2S', timedOut: true}})
    // Far below the check's own 30 s (what it would take if the step timeout did not stop it), with room for a loaded
    // machine: 3 s left 2.8 s for the abort to be noticed.
    expect(outcome.steps[0]!.durationMs).toBeLessThan(15_000)
  })
})
