/**
 * The standing leak test (issue 16): secrets planted in params (flag and environment variable), the catalog, an
 * HTTP response and Azure (the emulator's account keys behind a SAS) never appear in any byte opsbook writes —
 * stdout and stderr of `run` (JSON and plain), the journal, summary.json, report.md, request.json, upload state,
 * every blob in the evidence container, and every export format — including through every expression function.
 * A leak is any 8-character run of a planted value (10 for base64 keys), in any of the spellings JSON, URL, HTML,
 * CSV and Markdown escaping give it, or the value's base64. Two CLI processes at once; exports run in-process.
 */
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {exportEvidence, type ExportFormat} from '../../src/evidence/export.js'
import {repoRoot, runCli, scratchDir, type CliResult} from '../helpers/cli.js'

// Planted values. Letters and digits in runs of 8+ so a leaked fragment is recognisable; quotes, backslash, ;, &, <,
// space and apostrophe in between so every escaping and every credential-shape rule is exercised.
const SECRET_PARAM = `Kx7Qp2Vz"Lm9Wq4Rt\\8 &<Hb5Nc3Je'Yu6Io1Pa`
const SECRET_JSON = `["Ud6Fa1Ws", "Po4Ty7Gm", {"inner": "Ze2Xc9Vb"}]`
const PASSWORD_IN_STRING = `Sq1Wd2Er;Ty4 Ui5'Op6Lk`
const BEARER = 'Mn8Bv7Cx6Zl5Kj4Hg3'
const URL_PASSWORD = 'Pw9Qa8Ws7Ed6'
const SAS_SIG = 'Rf5Tg4Yh3Uj2Ik1Ol0Pz9%3D'
// Azure Functions access keys, in a health URL's `code` and in the x-functions-key header (adversary8).
const FUNCTION_KEY = 'aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1f=='
const FUNCTION_HEADER_KEY = 'Fk9Hd8Js7Ka6Lq5Wp4Oe3'
// A plain string param whose name says what it is (adminPassword): written verbatim before (adversary8).
const NAMED_PASSWORD = 'Np3Xk7Wq2Zl9Rm4'
const CATALOG_PASSWORD = `Cz3Xv2Bn1Mq0 with Qw8Er7Ty`
const RESPONSE_KEY = Buffer.from(Array.from({length: 64}, (_, i) => (i * 41 + 3) % 256)).toString('base64')
const RESPONSE_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJMZWFrUHJvYmUifQ.Gh7Jk6Lm5Nb4Vc3Xz2As1'

const STRING_PARAM = [
  `Host=pg;Password="${PASSWORD_IN_STRING}";Database=orders`,
  `authorization: bearer ${BEARER}`,
  `postgres://opsbook:${URL_PASSWORD}@pg-shop-orders:5432/orders`,
  `https://stshopsnapshots.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=${SAS_SIG}`,
  `https://fn-shop.azurewebsites.net/api/health?code=${FUNCTION_KEY}`,
  `x-functions-key: ${FUNCTION_HEADER_KEY}`,
].join(' | ')

const RUNBOOK = `
name: leak-probe
title: Every expression function over planted secrets
kind: checklist
params:
  pw: {type: secret, description: planted through the environment}
  pieces: {type: secret, description: a secret that is JSON}
  conn: {type: string, description: credential shapes in a plain string}
  url: {type: string, description: an HTTP endpoint answering with credentials}
  adminPassword: {type: string, description: "a password in a string param, recognisable by its name only"}
steps:
  - {id: tojson2, uses: core.log, with: {message: "\${{ toJSON(toJSON(params.pw)) }}"}}
  - {id: tojson3, uses: core.log, with: {message: "x \${{ toJSON(toJSON(toJSON(params.pw))) }} y"}}
  - {id: format, uses: core.log, with: {message: "\${{ format('{0}/{1}', params.pw, params.conn) }}"}}
  - {id: params-all, uses: core.log, with: {message: "\${{ toJSON(params) }}"}}
  # (fromJSON of a secret is refused at validation — whether it parses tells its shape — so a JSON secret is carried whole.)
  - {id: join, uses: core.log, with: {message: "\${{ join(params.*, ',') }}"}}
  - {id: substring, uses: core.log, with: {message: "piece \${{ toJSON(toJSON(params.pieces)) }} and \${{ format('[{0}]', params.pieces) }}"}}
  - {id: case, uses: core.log, with: {message: "\${{ case(params.pw != '', params.pw, 'no') }}"}}
  - {id: catalog, uses: core.log, with: {message: "\${{ toJSON(env.components['orders-db']) }} \${{ format('{0}', catalog.environments.local.components['orders-db'].description) }}"}}
  - {id: conn, uses: core.log, with: {message: "\${{ params.conn }} \${{ toJSON(params.conn) }}"}}
  - {id: named, uses: core.log, with: {message: "\${{ toJSON(params) }} \${{ format('{0}', params.adminPassword) }}"}}
  - id: response
    uses: http.check
    with: {url: "\${{ params.url }}", expectBody: connectionString, timeout: PT20S, interval: PT1S}
  # (A secret param in a URL — the url-path step of adversary8, redacted in WHATWG's spelling — is now refused before
  # the run: secret-sent-out, test/runbooks/secret-rules.test.ts.) A value that holds a secret validation cannot see
  # (a param named like a password) is refused when the step is about to send it: nothing reaches the server.
  - id: named-url
    uses: http.check
    continueOnError: true
    with: {url: "\${{ params.url }}/named/\${{ params.adminPassword }}", timeout: PT5S, interval: PT1S}
  - {id: echo-response, uses: core.log, needs: [response], with: {message: "\${{ steps.response.outputs.body }} \${{ toJSON(steps.response.outputs) }}"}}
  - id: export
    uses: redis.export
    with: {cache: sessions-cache, prefix: leak-probe.rdb}
  - id: fails
    uses: core.assert
    continueOnError: true
    with: {that: false, message: "\${{ format('could not log in with {0}', params.pw) }}"}
`

/** Every 8-character window of letters and digits in `value` (`width` for keys): the fragments a leak would show. */
function fragments(value: string, width = 8): string[] {
  return (value.match(new RegExp(`[A-Za-z0-9]{${width},}`, 'g')) ?? []).flatMap((run) => Array.from({length: run.length - width + 1}, (_, i) => run.slice(i, i + width)))
}

function walkFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walkFiles(path) : [path]
  })
}

let emulator: RunningEmulator
let http: Server
let url: string
const outputs: Array<{where: string; bytes: string}> = []
let needles: Array<{secret: string; fragment: string}> = []
let namedRequests = 0

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
  http = createServer((req, res) => {
    if (req.url?.includes('/named/')) namedRequests++
    if (req.url?.includes('/missing/')) return void res.writeHead(404).end()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({connectionString: `DefaultEndpointsProtocol=https;AccountName=stx;AccountKey=${RESPONSE_KEY};EndpointSuffix=core.windows.net`, accessToken: RESPONSE_TOKEN, note: `bearer ${RESPONSE_TOKEN}`}))
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/keys`

  // Azure: the account key the emulator's listKeys hands out (the SAS behind redis.export is signed with it).
  const azureKeys = [emulator.blob.key]
  needles = [
    ...[SECRET_PARAM, SECRET_JSON, PASSWORD_IN_STRING, BEARER, URL_PASSWORD, SAS_SIG, CATALOG_PASSWORD, RESPONSE_TOKEN.split('.')[2]!, FUNCTION_KEY, FUNCTION_HEADER_KEY, NAMED_PASSWORD].flatMap((secret) =>
      fragments(secret).map((fragment) => ({secret, fragment})),
    ),
    ...[RESPONSE_KEY, ...azureKeys].flatMap((secret) => fragments(secret, 10).map((fragment) => ({secret, fragment}))),
    ...[SECRET_PARAM, SECRET_JSON].map((secret) => ({secret, fragment: Buffer.from(secret).toString('base64').slice(0, 16)})),
  ]
})

afterAll(async () => {
  http?.close()
  await emulator?.stop()
})

describe('leak test: planted secrets never reach any byte opsbook writes', () => {
  let cwd: string
  const runs: CliResult[] = []

  it('runs the probe (JSON and plain output) and exports in every format', async () => {
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace(
      /(\n      orders-db:\n        type: postgres\n)/,
      `$1        description: "admin Password=${CATALOG_PASSWORD};"\n`,
    )
    expect(catalog).toContain(CATALOG_PASSWORD)
    cwd = scratchDir({'leak-probe.yaml': RUNBOOK})
    writeFileSync(join(cwd, 'runbooks.yaml'), catalog)
    const args = ['run', 'leak-probe.yaml', '--env', 'local', '--yes', '--param', `pieces=${SECRET_JSON}`, '--param', `conn=${STRING_PARAM}`, '--param', `url=${url}`, '--param', `adminPassword=${NAMED_PASSWORD}`]
    const env = {...emulator.env(), OPSBOOK_PARAM_PW: SECRET_PARAM}
    // The two runs go at once (the plain one without the export step, so it needs no lease on the cache).
    const withoutExport = RUNBOOK.replace(/  - id: export\n    uses: redis.export\n    with: .*\n/, '')
    expect(withoutExport).not.toContain('redis.export')
    writeFileSync(join(cwd, 'leak-probe-plain.yaml'), withoutExport)
    runs.push(
      ...(await Promise.all([
        runCli([...args, '--json'], {cwd, env, timeoutMs: 120_000}),
        runCli(['run', 'leak-probe-plain.yaml', ...args.slice(2)], {cwd, env, timeoutMs: 120_000}),
      ])),
    )
    for (const [i, run] of runs.entries()) outputs.push({where: `run ${i} stdout`, bytes: run.stdout}, {where: `run ${i} stderr`, bytes: run.stderr})
    // Both steps that fail have continueOnError: the run succeeds, so a missing line is not hidden by a crash.
    for (const run of runs) expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
    const runId = JSON.parse(runs[0]!.stdout).runId as string
    // The probe really computed from the secrets: its journal shows the steps ran (redacted), not skipped.
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(journal).toContain('[REDACTED]')
    expect(journal).toContain('"step":"substring"')
    expect(journal).toContain('"step":"echo-response"')
    // Issue 16: a secret sent out through a step input. The step failed before the action ran, naming the input.
    expect(journal).toMatch(/"type":"step.failed","step":"named-url".*"code":"secret-sent-out"/)
    expect(journal).toContain('input url of http.check holds a secret, and http.check would send it out of this machine')
    expect(namedRequests).toBe(0)

    const loaded = loadCatalog({flag: join(cwd, 'runbooks.yaml')})
    await exportEvidence({environmentName: 'local', environment: loaded.catalog.environments.local, root: join(cwd, '.opsbook'), source: 'local', format: 'zip', output: join(cwd, 'bundle.zip')})
    const {unzipSync} = await import('fflate')
    for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(cwd, 'bundle.zip'))))) outputs.push({where: `bundle.zip ${name}`, bytes: Buffer.from(bytes).toString('utf8')})
    for (const format of ['html', 'md', 'json', 'csv'] as ExportFormat[]) {
      const output = join(cwd, `evidence.${format}`)
      await exportEvidence({environmentName: 'local', environment: loaded.catalog.environments.local, root: join(cwd, '.opsbook'), source: 'local', format, output})
    }
    for (const path of walkFiles(cwd)) {
      if (path.endsWith('.zip') || path.endsWith('.yaml') || path.endsWith('runbooks.yaml') || path.includes(`${join('.opsbook', 'emulator')}`)) continue
      outputs.push({where: path.slice(cwd.length + 1), bytes: readFileSync(path, 'utf8')})
    }
    // Every blob of the evidence container (journals, summaries, reports, requests, lease blobs).
    const {endpoint, account, key} = emulator.blob
    const container = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key)).getContainerClient('opsbook-evidence')
    let blobs = 0
    for await (const blob of container.listBlobsFlat()) {
      outputs.push({where: `blob ${blob.name}`, bytes: (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8')})
      blobs++
    }
    expect(blobs).toBeGreaterThanOrEqual(8)
    expect(outputs.some((o) => o.where.endsWith('request.json'))).toBe(true)
  }, 240_000)

  it('finds no fragment of any planted secret anywhere', () => {
    expect(outputs.length).toBeGreaterThan(20)
    const leaks: string[] = []
    for (const output of outputs)
      for (const {secret, fragment} of needles)
        if (output.bytes.includes(fragment)) leaks.push(`${output.where}: "${fragment}" of ${JSON.stringify(secret.slice(0, 12))}…`)
    expect([...new Set(leaks)]).toEqual([])
  })
})
