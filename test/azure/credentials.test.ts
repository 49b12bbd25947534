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

// A service principal's variables set, but its sign-in failing (a wrong secret, the authority unreachable): the SDK
// throws AuthenticationError from EnvironmentCredential instead of trying further sources, and `opsbook run` printed
// its raw message and exited 1 — preflight's "not ready" is exit 6 with the one formatted message.
describe('a credential source that fails to sign in', () => {
  it('is a credential failure (exit 6), not an unexplained error', async () => {
    const {DefaultAzureCredential} = await import('@azure/identity')
    const saved = {...process.env}
    Object.assign(process.env, {AZURE_CLIENT_ID: '11111111-1111-1111-1111-111111111111', AZURE_TENANT_ID: '22222222-2222-2222-2222-222222222222', AZURE_CLIENT_SECRET: 'not-the-secret'})
    try {
      // No retries: the SDK's default 3 retries of the refused connection waited ~5 s for the same AuthenticationError.
      const failure = await new DefaultAzureCredential({authorityHost: 'https://127.0.0.1:9', retryOptions: {maxRetries: 0}}).getToken('https://management.azure.com/.default').catch((e: unknown) => e)
      expect((failure as Error).name).toBe('AuthenticationError')
      expect(isCredentialFailure(failure)).toBe(true)
      const sources = await detectCredentialSources({env: bare({AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 'b', AZURE_CLIENT_SECRET: 'not-the-secret'})})
      const error = credentialError(failure, {environment: 'production', sources, env: {}})
      expect(error.exitCode).toBe(ExitCode.notReady)
      // The source that is configured says why it did not sign in.
      expect(error.message).toMatch(/✔ service principal .* — but: EnvironmentCredential authentication failed/)
      expect(error.message).toMatch(/^no Azure credential for environment "production"/)
      expect(error.message).not.toContain('not-the-secret')
    } finally {
      for (const key of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET']) if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
  }, 60_000)
})
