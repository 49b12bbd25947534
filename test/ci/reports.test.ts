/**
 * What CI sees of a run, through the real CLI against an emulator: `--junit` (one test case per step and per
 * measured objective, counts matching the run), the Markdown job summary written to GITHUB_STEP_SUMMARY, Azure
 * Pipelines logging commands (on stderr under --json so stdout stays one JSON document), and webhook notifications
 * received on loopback — and a run that still succeeds when the receiver is down, with the failure journaled.
 * The CLI runs in the test process (runRunbookInProcess: the same command, without a process start per run).
 */
import {createServer, type Server} from 'node:http'
import {readFileSync, writeFileSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {XMLParser} from 'fast-xml-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {junit10Violations} from '../helpers/junit-schema.js'
import {setKeyVaultSecret} from '../helpers/keyvault.js'
import {repoRoot, runRunbookInProcess as runRunbook, scratchDir, startLocalEmulator} from '../integration/support.js'

let emulator: RunningEmulator
let receiver: Server
let receiverUrl: string
const received: Array<{path: string; body: any}> = []

beforeAll(async () => {
  emulator = await startLocalEmulator()
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      received.push({path: req.url ?? '', body: JSON.parse(body)})
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
})
afterAll(async () => {
  await emulator?.stop()
  await new Promise((resolve) => receiver?.close(resolve))
})

/** A scratch project whose local environment notifies Teams, Slack and a plain webhook (URLs from the environment). */
function projectWithNotifications(): string {
  const dir = scratchDir()
  const catalog = readFileSync(join(dir, 'runbooks.yaml'), 'utf8').replace(
    '    rollbackWindow: PT30M\n',
    `    rollbackWindow: PT30M
    notifications:
      - { kind: teams, url: { env: TEST_TEAMS_HOOK }, on: [start, success, failure, left-behind] }
      - { kind: slack, url: { env: TEST_SLACK_HOOK }, on: [failure] }
      - { kind: webhook, url: { env: TEST_PLAIN_HOOK }, on: [start, success, failure] }
`,
  )
  writeFileSync(join(dir, 'runbooks.yaml'), catalog)
  return dir
}

const junitParser = new XMLParser({ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name)})

describe('run --junit, job summary and notifications', () => {
  it('a drill: JUnit has a case per step and per objective, the summary has the RTO/RPO table, Teams and the webhook hear start and success', async () => {
    const cwd = projectWithNotifications()
    const summaryFile = join(cwd, 'step-summary.md')
    received.length = 0
    // Two components' drill (a database and a cache, each with an RTO and an RPO): the reports have a case per step and
    // per objective whatever the components; the whole estate's drill is dr-drill.test's.
    const withEnv = await runRunbook(emulator, 'dr-drill', ['--component', 'orders-db,sessions-cache', '--junit', 'drill.xml'], {
      cwd,
      env: {GITHUB_STEP_SUMMARY: summaryFile, TEST_TEAMS_HOOK: `${receiverUrl}/teams`, TEST_SLACK_HOOK: `${receiverUrl}/slack`, TEST_PLAIN_HOOK: `${receiverUrl}/plain`},
    })
    expect(withEnv.code, withEnv.stderr).toBe(0)
    const result = withEnv.json
    // Valid for the schema CI servers check JUnit against (Jenkins' junit-10.xsd).
    expect(junit10Violations(readFileSync(join(cwd, 'drill.xml'), 'utf8'))).toEqual([])
    const junit = junitParser.parse(readFileSync(join(cwd, 'drill.xml'), 'utf8'))
    const [steps, objectives] = junit.testsuites.testsuite
    expect(steps.testcase).toHaveLength(result.steps.length)
    expect(steps.testcase.map((c: any) => c.name)).toEqual(result.steps.map((s: any) => s.id))
    expect(Number(steps.failures)).toBe(0)
    const measured = (result.objectives as any[]).flatMap((row) => (['rto', 'rpo'] as const).filter((k) => row[k]?.objectiveMs).map((k) => `${row.component} ${k.toUpperCase()}`))
    expect(measured).toEqual(expect.arrayContaining(['orders-db RTO', 'orders-db RPO', 'sessions-cache RTO', 'sessions-cache RPO']))
    expect(objectives.testcase.map((c: any) => c.name)).toEqual(measured)
    for (const c of objectives.testcase) expect(Number(c.time)).toBeGreaterThanOrEqual(0)

    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary).toMatch(/^### ✅ opsbook dr-drill on local: succeeded \(exit 0\)/)
    expect(summary).toMatch(/\| orders-db \| postgres \| ✅ .* \/ 1h 00m \|/)
    expect(summary).toContain(result.runId)

    const teams = received.filter((r) => r.path === '/teams').map((r) => r.body.attachments[0].content.body[0].text)
    expect(teams).toEqual([`dr-drill started on local`, `dr-drill on local: succeeded`])
    const plain = received.filter((r) => r.path === '/plain').map((r) => [r.body.event, r.body.runId, r.body.status])
    expect(plain).toEqual([
      ['start', result.runId, undefined],
      ['success', result.runId, 'succeeded'],
    ])
    // Slack was asked for failures only.
    expect(received.filter((r) => r.path === '/slack')).toEqual([])
  }, 180_000)

  it('a failed run: failures in JUnit and the summary, Slack hears it in Block Kit; Azure Pipelines gets logging commands on stderr under --json', async () => {
    const cwd = projectWithNotifications()
    received.length = 0
    const run = await runRunbook(emulator, join(repoRoot, 'test/fixtures/cli/failing.yaml'), ['--junit', 'failing.xml'], {
      cwd,
      env: {TF_BUILD: 'True', AGENT_TEMPDIRECTORY: cwd, TEST_TEAMS_HOOK: `${receiverUrl}/teams`, TEST_SLACK_HOOK: `${receiverUrl}/slack`, TEST_PLAIN_HOOK: `${receiverUrl}/plain`},
    })
    expect(run.code).toBe(1)
    expect(run.json.status).toBe('failed')
    expect(junit10Violations(readFileSync(join(cwd, 'failing.xml'), 'utf8'))).toEqual([])
    const suite = junitParser.parse(readFileSync(join(cwd, 'failing.xml'), 'utf8')).testsuites.testsuite[0]
    expect(Number(suite.failures)).toBe(run.json.steps.filter((s: any) => s.status === 'failed').length)
    expect(suite.testcase.find((c: any) => c.name === 'third').failure.message).toMatch(/the third step always fails/)
    expect(run.stderr).toMatch(/##vso\[task\.logissue type=error\]failing-test third: .*the third step always fails/)
    const uploaded = /##vso\[task\.uploadsummary\](.+)/.exec(run.stderr)![1]!
    expect(readFileSync(uploaded.trim(), 'utf8')).toMatch(/\*\*Failed steps\*\*\n\n- `third` \(core\.assert, main\)/)
    const slack = received.find((r) => r.path === '/slack')!.body
    expect(slack.text).toMatch(/failing-test on local: failed/)
    expect(slack.blocks[0].type).toBe('header')
  }, 120_000)

  it('webhook URLs by reference: a Key Vault secret and an OPSBOOK_PARAM_* variable are resolved at run time and never written; an unresolvable one is a journaled warning', async () => {
    const dir = scratchDir()
    writeFileSync(
      join(dir, 'runbooks.yaml'),
      readFileSync(join(dir, 'runbooks.yaml'), 'utf8').replace(
        '    rollbackWindow: PT30M\n',
        `    rollbackWindow: PT30M
    notifications:
      - { kind: webhook, url: { type: keyVaultSecret, vault: kv-shop-local, secret: ops-webhook }, on: [start, success] }
      - { kind: slack, url: { type: param, name: SLACK_HOOK }, on: [success] }
      - { kind: teams, url: { type: keyVaultSecret, vault: kv-shop-local, secret: no-such-webhook }, on: [start, success] }
`,
      ),
    )
    const vaultUrl = `${receiverUrl}/vault-hook-token-7c1e`
    await setKeyVaultSecret(emulator, 'kv-shop-local', 'ops-webhook', vaultUrl)
    received.length = 0
    const run = await runRunbook(emulator, 'hello', ['--param', 'pause=PT0S'], {cwd: dir, env: {OPSBOOK_PARAM_SLACK_HOOK: `${receiverUrl}/param-hook-token-9d2f`}})
    expect(run.code, run.stderr).toBe(0)
    expect(received.filter((r) => r.path === '/vault-hook-token-7c1e').map((r) => r.body.event)).toEqual(['start', 'success'])
    expect(received.filter((r) => r.path === '/param-hook-token-9d2f').map((r) => r.body.text)).toEqual([expect.stringMatching(/hello on local: succeeded/)])
    const journal = readFileSync(run.json.journal, 'utf8')
    expect(journal).toMatch(/warning: notification \(teams\) skipped: its webhook URL \(Key Vault kv-shop-local secret no-such-webhook\) could not be resolved: secret no-such-webhook in Key Vault kv-shop-local does not exist/)
    // The resolved URLs are secrets: not in the journal, the summary, the request or the output.
    const runFolder = join(run.json.journal, '..')
    for (const file of ['journal.jsonl', 'summary.json', 'request.json']) {
      const text = readFileSync(join(runFolder, file), 'utf8')
      expect(text).not.toContain('hook-token')
    }
    expect(run.stdout + run.stderr).not.toContain('hook-token')
    expect(run.stderr).toContain('no-such-webhook')
  }, 120_000)

  it('a receiver that is down never fails the run: the failed delivery is journaled, without the webhook URL', async () => {
    const cwd = projectWithNotifications()
    // A port nothing listens on: take one, then close it.
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const down = `http://127.0.0.1:${port}/hook-secret-token`
    const run = await runRunbook(emulator, 'hello', ['--param', 'pause=PT0S'], {cwd, env: {TEST_TEAMS_HOOK: down, TEST_PLAIN_HOOK: down}})
    expect(run.code, run.stderr).toBe(0)
    const journal = readFileSync(run.json.journal, 'utf8')
    expect(journal).toMatch(/notification not delivered: teams \(TEST_TEAMS_HOOK\) start: ECONNREFUSED after 4 attempt/)
    expect(journal).toMatch(/notification not delivered: webhook \(TEST_PLAIN_HOOK\) success/)
    expect(journal).not.toContain('hook-secret-token')
    expect(run.stdout + run.stderr).not.toContain('hook-secret-token')
  }, 120_000)
})
