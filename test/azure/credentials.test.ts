import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {CredentialError, credentialError, detectCredentialSources, isCredentialFailure} from '../../src/azure/credentials.js'
import {ExitCode} from '../../src/errors.js'

/** An environment with nothing in it: no variables, an empty az config, IMDS pointed at a closed local port. */
function bare(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'opsbook-cred-'))
  // PATH: an empty folder, so what this machine has installed does not matter.
  return {PATH: home, HOME: home, AZURE_CONFIG_DIR: home, AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9', ...extra}
}

describe('credential sources', () => {
  it('finds none on a bare machine, and says why for each', async () => {
    const sources = await detectCredentialSources({env: bare()})
    expect(sources.map((s) => [s.id, s.available])).toEqual([
      ['environment', false],
      ['workload-identity', false],
      ['managed-identity', false],
      ['azure-cli', false],
      ['azure-powershell', false],
      ['azure-developer-cli', false],
    ])
    expect(sources.find((s) => s.id === 'workload-identity')!.detail).toBe('AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE not set')
  })

  it('sees OIDC variables with their token file, and a signed-in az profile', async () => {
    const env = bare()
    const tokenFile = join(env.HOME!, 'token')
    writeFileSync(tokenFile, 'x')
    writeFileSync(join(env.HOME!, 'az'), '')
    expect((await detectCredentialSources({env})).find((s) => s.id === 'azure-cli')).toMatchObject({available: false, detail: '`az` is installed but not signed in'})
    writeFileSync(join(env.AZURE_CONFIG_DIR!, 'azureProfile.json'), '\uFEFF{"subscriptions":[{"id":"s"}]}')
    const sources = await detectCredentialSources({env: {...env, AZURE_CLIENT_ID: 'c', AZURE_TENANT_ID: 't', AZURE_FEDERATED_TOKEN_FILE: tokenFile}})
    expect(sources.filter((s) => s.available).map((s) => s.id)).toEqual(['workload-identity', 'azure-cli'])
  })
})

describe('credentialError', () => {
  it('is one short message with exit 6: the likely fix first, one line per source, the SDK chain kept for --verbose', async () => {
    const sources = await detectCredentialSources({env: bare()})
    const sdk = Object.assign(new Error('ChainedTokenCredential authentication failed.'), {
      name: 'AggregateAuthenticationError',
      errors: [Object.assign(new Error("Please run 'az login' from a command prompt to authenticate before using this credential."), {name: 'CredentialUnavailableError'})],
    })
    expect(isCredentialFailure(sdk)).toBe(true)
    expect(isCredentialFailure(new Error('ECONNRESET'))).toBe(false)
    const error = credentialError(sdk, {environment: 'staging', sources, env: {}})
    expect(error).toBeInstanceOf(CredentialError)
    expect(error.exitCode).toBe(ExitCode.notReady)
    expect(error.message.split('\n')).toHaveLength(1 + sources.length)
    expect(error.message).toContain('no Azure credential for environment "staging"')
    expect(error.message).not.toContain('Please run')
    expect(error.suggestions[0]).toContain('az login')
    expect(error.verboseDetail()).toContain("Please run 'az login'")
    // In CI the OIDC variables come first.
    expect(credentialError(sdk, {sources, env: {GITHUB_ACTIONS: 'true'}}).suggestions[0]).toContain('AZURE_FEDERATED_TOKEN_FILE')
  })
})
