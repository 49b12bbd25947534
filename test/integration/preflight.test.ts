/**
 * The CLI with no Azure credential at all (a real-Azure environment of examples/azure-platform.yaml, every AZURE_*
 * variable cleared, an empty az profile, the managed-identity endpoint pointed at a closed port): `run`, `check` and
 * `doctor` print the one short message and exit 6 instead of starting anything; the refused run leaves a refused-run
 * record (who, what, why, when) that `runs list` and `runs show` show, and no journal.
 */
import {copyFileSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {repoRoot, runCli, runCliInProcess, type CliResult} from '../helpers/cli.js'

const home = mkdtempSync(join(tmpdir(), 'opsbook-nocred-'))
// A copy beside the temporary home, so the refused-run record lands in <home>/.opsbook, not in the repository.
const catalog = join(home, 'azure-platform.yaml')
copyFileSync(join(repoRoot, 'examples', 'azure-platform.yaml'), catalog)
const cleared = Object.fromEntries(Object.keys(process.env).filter((k) => /^(AZURE_|IDENTITY_|MSI_|OPSBOOK_EMULATOR)/.test(k)).map((k) => [k, undefined]))
const env = {...cleared, HOME: home, AZURE_CONFIG_DIR: home, AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9'}

describe('without any Azure credential', () => {
  // One refused run, read by the two tests about it: what it prints, and the record it leaves.
  let refusedRun: CliResult
  beforeAll(async () => {
    refusedRun = await runCli(['run', 'hello', '--env', 'staging', '--catalog', catalog, '--param', 'who=Ada'], {cwd: home, env})
  })

  it.each([
    ['run', async () => refusedRun],
    ['check', () => runCli(['check', '--env', 'staging', '--catalog', catalog], {cwd: home, env})],
  ])('%s prints the short message and exits 6', async (_name, command) => {
    const result = await command()
    expect(result.code, result.stderr).toBe(6)
    expect(result.stderr).toContain('Not ready: no Azure credential for environment "staging": this machine offers none of DefaultAzureCredential\'s sources')
    expect(result.stderr).toContain('✖ Azure CLI (az login):')
    // runCli runs as CI does (CI=true): the OIDC variables are the likely fix there, az login the next.
    expect(result.stderr).toMatch(/Try: in CI \(GitHub OIDC.*AZURE_FEDERATED_TOKEN_FILE.*`az login`/)
    // The SDK's own chain only with --verbose.
    expect(result.stderr).not.toContain('DefaultAzureCredential said')
    expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(9)
    expect(result.stdout).toBe('')
  })

  it('a refused run leaves only a refused-run record, which runs list and runs show show', async () => {
    const result = refusedRun
    expect(result.code, result.stderr).toBe(6)
    const list = JSON.parse((await runCliInProcess(['runs', 'list', '--catalog', catalog, '--json'], {cwd: home, env})).stdout)
    const refused = list.runs.filter((r: any) => r.status === 'refused' && r.runbook === 'hello')
    expect(refused.length).toBeGreaterThanOrEqual(1)
    const runId = refused[0].runId
    expect(refused[0]).toMatchObject({environment: 'staging'})
    // Nothing ran: the run's folder holds the record and nothing else (no journal, summary or request).
    expect(readdirSync(join(home, '.opsbook', 'runs', runId))).toEqual(['refused.json'])
    const shown = await runCliInProcess(['runs', 'show', runId, '--catalog', catalog], {cwd: home, env})
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(`${runId}: refused (exit 6) — hello on staging`)
    expect(shown.stdout).toContain('nothing changed, no lease taken')
    expect(shown.stdout).toContain('no Azure credential for environment "staging"')
    const details = {refused: JSON.parse(readFileSync(join(home, '.opsbook', 'runs', runId, 'refused.json'), 'utf8'))}
    expect(details.refused).toMatchObject({
      status: 'refused',
      changed: false,
      leasesTaken: 0,
      who: {osUser: expect.any(String), host: expect.any(String)},
      request: {params: {who: 'Ada'}},
      why: {exitCode: 6, code: 'no-credentials'},
    })
    expect(Date.parse(details.refused.refusedAt)).not.toBeNaN()
  }, 180_000)

  it('doctor says so on its credential line and exits 6; --json carries the same', async () => {
    const result = await runCli(['doctor', '--env', 'staging', '--catalog', catalog, '--json', '--verbose'], {cwd: home, env})
    expect(result.code, result.stderr).toBe(6)
    const report = JSON.parse(result.stdout)
    expect(report.ready).toBe(false)
    expect(report.lines.find((l: any) => l.check === 'credential')).toMatchObject({status: 'fail', fix: expect.stringContaining('AZURE_FEDERATED_TOKEN_FILE')})
    expect(report.lines.find((l: any) => l.check === 'node')).toMatchObject({status: 'ok'})
  })
})
