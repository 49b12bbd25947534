/**
 * The CLI with no Azure credential at all (a real-Azure environment of examples/azure-platform.yaml, every AZURE_*
 * variable cleared, an empty az profile, the managed-identity endpoint pointed at a closed port): `run`, `check` and
 * `doctor` print the one short message and exit 6 instead of starting anything.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'

const home = mkdtempSync(join(tmpdir(), 'opsbook-nocred-'))
const catalog = join(repoRoot, 'examples', 'azure-platform.yaml')
const cleared = Object.fromEntries(Object.keys(process.env).filter((k) => /^(AZURE_|IDENTITY_|MSI_|OPSBOOK_EMULATOR)/.test(k)).map((k) => [k, undefined]))
const env = {...cleared, HOME: home, AZURE_CONFIG_DIR: home, AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9'}

describe('without any Azure credential', () => {
  it.each([
    ['run', ['run', 'hello', '--env', 'staging', '--catalog', catalog]],
    ['check', ['check', '--env', 'staging', '--catalog', catalog]],
  ])('%s prints the short message and exits 6', async (_name, args) => {
    const result = await runCli(args, {cwd: home, env})
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

  it('doctor says so on its credential line and exits 6; --json carries the same', async () => {
    const result = await runCli(['doctor', '--env', 'staging', '--catalog', catalog, '--json', '--verbose'], {cwd: home, env})
    expect(result.code, result.stderr).toBe(6)
    const report = JSON.parse(result.stdout)
    expect(report.ready).toBe(false)
    expect(report.lines.find((l: any) => l.check === 'credential')).toMatchObject({status: 'fail', fix: expect.stringContaining('AZURE_FEDERATED_TOKEN_FILE')})
    expect(report.lines.find((l: any) => l.check === 'node')).toMatchObject({status: 'ok'})
  })
})
