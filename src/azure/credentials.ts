/**
 * Who opsbook acts as, and one way of saying why it cannot act as anyone. DefaultAzureCredential tries its sources in
 * order (environment service principal, workload identity, managed identity, Azure CLI, Azure PowerShell, Azure
 * Developer CLI) and, when all fail, throws one error whose message lists every source — a dozen lines that bury the
 * fix. Every command (run, resume, check, evidence, doctor) reports a missing credential through
 * {@link credentialError}: the likely fix first, each source tried on one line, the SDK's full messages only with
 * --verbose, and exit code 6 (the environment is not ready: nothing was started).
 *
 * Before the SDK chain is asked at all, {@link detectCredentialSources} looks at what this machine offers (variables,
 * the managed-identity endpoint, an `az` profile with an account). When nothing is there, the chain is not run: it
 * would spend tens of seconds starting `az` and probing endpoints only to fail (measured 10–56 s on a loaded 2-core
 * machine with `az` installed but signed out). Source names and variables follow
 * https://learn.microsoft.com/en-us/javascript/api/overview/azure/identity-readme#defaultazurecredential.
 * No SDK import here: the module stays light.
 */
import {existsSync, readFileSync} from 'node:fs'
import {request} from 'node:http'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'
import {ExitCode, OpsbookError} from '../errors.js'

export type CredentialSourceId = 'environment' | 'workload-identity' | 'managed-identity' | 'azure-cli' | 'azure-powershell' | 'azure-developer-cli'

export interface CredentialSource {
  id: CredentialSourceId
  /** What a human calls it. */
  label: string
  /** Whether this machine offers it (a variable set, an endpoint answering, a signed-in profile). */
  available: boolean
  /** Why it is (not) available, one line. */
  detail: string
  /** What would make it work. */
  fix: string
}

/** DefaultAzureCredential's class names → our source ids (for the source a token came from). */
const CLASS_TO_SOURCE: Record<string, CredentialSourceId> = {
  EnvironmentCredential: 'environment',
  WorkloadIdentityCredential: 'workload-identity',
  ManagedIdentityCredential: 'managed-identity',
  AzureCliCredential: 'azure-cli',
  AzurePowerShellCredential: 'azure-powershell',
  AzureDeveloperCliCredential: 'azure-developer-cli',
}

const LABELS: Record<CredentialSourceId, string> = {
  environment: 'service principal (AZURE_CLIENT_SECRET / certificate variables)',
  'workload-identity': 'workload identity / OIDC (AZURE_FEDERATED_TOKEN_FILE)',
  'managed-identity': 'managed identity',
  'azure-cli': 'Azure CLI (az login)',
  'azure-powershell': 'Azure PowerShell (Connect-AzAccount)',
  'azure-developer-cli': 'Azure Developer CLI (azd auth login)',
}

const FIXES: Record<CredentialSourceId, string> = {
  environment: 'set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)',
  'workload-identity': 'in CI (GitHub OIDC, AKS workload identity): set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (azure/login@v2 with client-id/tenant-id does it)',
  'managed-identity': 'on an Azure VM, App Service, Container Apps or AKS: assign a managed identity (user-assigned: set AZURE_CLIENT_ID to its client id)',
  'azure-cli': 'run `az login` (and `az account set --subscription <id>`)',
  'azure-powershell': 'run `Connect-AzAccount` in PowerShell',
  'azure-developer-cli': 'run `azd auth login`',
}

/** A friendly label for the DefaultAzureCredential source class that produced a token. */
export function sourceLabel(className: string | undefined): string {
  const id = className ? CLASS_TO_SOURCE[className] : undefined
  return id ? LABELS[id] : className ?? 'unknown source'
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv
  /** Probe the managed-identity endpoint (IMDS) within this many ms (default 1000, as @azure/identity's own probe). */
  imdsTimeoutMs?: number
}

/**
 * What this machine offers, in DefaultAzureCredential's order, without running any of it: variables, the IMDS
 * endpoint (one request, 1 s at most), executables on PATH and whether `az` has a signed-in account.
 */
export async function detectCredentialSources(options: DetectOptions = {}): Promise<CredentialSource[]> {
  const env = options.env ?? process.env
  const has = (name: string) => Boolean(env[name]?.trim())
  const source = (id: CredentialSourceId, available: boolean, detail: string): CredentialSource => ({id, label: LABELS[id], available, detail, fix: FIXES[id]})
  const sources: CredentialSource[] = []

  const secret = has('AZURE_CLIENT_SECRET') || has('AZURE_CLIENT_CERTIFICATE_PATH') || (has('AZURE_USERNAME') && has('AZURE_PASSWORD'))
  const envReady = has('AZURE_TENANT_ID') && has('AZURE_CLIENT_ID') && secret
  sources.push(source('environment', envReady, envReady ? 'AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or certificate are set' : missingVars(env, ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'])))

  const federated = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE']
  const wiReady = federated.every(has) && existsSync(env.AZURE_FEDERATED_TOKEN_FILE!)
  sources.push(
    source(
      'workload-identity',
      wiReady,
      wiReady
        ? 'AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set'
        : federated.every(has)
          ? `AZURE_FEDERATED_TOKEN_FILE names ${env.AZURE_FEDERATED_TOKEN_FILE}, which does not exist`
          : missingVars(env, federated),
    ),
  )

  if (has('IDENTITY_ENDPOINT') || has('MSI_ENDPOINT')) sources.push(source('managed-identity', true, `endpoint ${env.IDENTITY_ENDPOINT ?? env.MSI_ENDPOINT}`))
  else {
    const host = env.AZURE_POD_IDENTITY_AUTHORITY_HOST?.trim() || 'http://169.254.169.254'
    const reachable = await endpointAnswers(new URL('/metadata/identity/oauth2/token', host), options.imdsTimeoutMs ?? 1000)
    sources.push(source('managed-identity', reachable, reachable ? `the instance metadata endpoint (${host}) answers` : `no managed-identity endpoint (${host} unreachable): not an Azure host`))
  }

  const az = onPath('az', env)
  const account = az ? azSignedIn(env) : undefined
  sources.push(source('azure-cli', Boolean(az && account !== false), !az ? '`az` is not on PATH' : account === false ? '`az` is installed but not signed in' : 'signed in'))
  const pwsh = onPath('pwsh', env)
  sources.push(source('azure-powershell', Boolean(pwsh), pwsh ? '`pwsh` is on PATH' : '`pwsh` is not on PATH'))
  const azd = onPath('azd', env)
  sources.push(source('azure-developer-cli', Boolean(azd), azd ? '`azd` is on PATH' : '`azd` is not on PATH'))
  return sources
}

function missingVars(env: NodeJS.ProcessEnv, names: string[]): string {
  const missing = names.filter((n) => !env[n]?.trim())
  return `${missing.join(', ')} not set`
}

/** Where `name` is found on PATH, or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : ['']
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean))
    for (const ext of exts) {
      const candidate = join(dir, name + ext)
      if (existsSync(candidate)) return candidate
    }
  return undefined
}

/**
 * Whether `az` has an account (its profile in AZURE_CONFIG_DIR or ~/.azure lists a subscription); undefined when the
 * profile cannot be read (then the SDK is left to find out). `az login` writes azureProfile.json:
 * https://learn.microsoft.com/en-us/cli/azure/azure-cli-configuration#cli-configuration-file
 */
function azSignedIn(env: NodeJS.ProcessEnv): boolean | undefined {
  const dir = env.AZURE_CONFIG_DIR?.trim() || join(env.HOME || homedir(), '.azure')
  const file = join(dir, 'azureProfile.json')
  if (!existsSync(file)) return false
  try {
    // az writes the profile with a UTF-8 byte-order mark.
    const profile = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as {subscriptions?: unknown[]}
    return Array.isArray(profile.subscriptions) && profile.subscriptions.length > 0
  } catch {
    return undefined
  }
}

/** Any HTTP answer within the timeout means the endpoint exists (what @azure/identity's IMDS probe decides too). */
function endpointAnswers(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, {method: 'GET', timeout: timeoutMs}, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** A credential could not be obtained: exit 6, nothing was started. */
export class CredentialError extends OpsbookError {
  readonly sources: Array<Pick<CredentialSource, 'id' | 'label' | 'available' | 'detail'>>
  /** DefaultAzureCredential's own message per source: printed only with --verbose. */
  readonly chain: string[]
  constructor(message: string, sources: CredentialError['sources'], suggestions: string[], chain: string[], cause?: unknown) {
    super(message, {exitCode: ExitCode.notReady, code: 'no-credentials', suggestions, cause})
    this.sources = sources
    this.chain = chain
  }

  /** The full chain, for --verbose. */
  verboseDetail(): string {
    return ['DefaultAzureCredential said:', ...(this.chain.length > 0 ? this.chain : ['(not run: no source was available)'])].map((l, i) => (i === 0 ? l : `  ${l}`)).join('\n')
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), sources: this.sources}
  }
}

/**
 * The `code` of the error for an OPSBOOK_EMULATOR_IDENTITY that names none of the emulator's estate identities
 * (azure/clients.ts throws it, exit 2): a credential problem, which doctor shows on its credential line.
 */
export const UNKNOWN_EMULATOR_IDENTITY = 'unknown-emulator-identity'

/** Whether an error is about the credential itself: none could be obtained, or the emulator identity asked for is unknown. */
export function isCredentialProblem(error: unknown): error is OpsbookError {
  return error instanceof CredentialError || (error instanceof OpsbookError && error.code === UNKNOWN_EMULATOR_IDENTITY)
}

/** True for what @azure/identity throws when no source gave a token (also when wrapped as a `cause`). */
export function isCredentialFailure(error: unknown): boolean {
  for (let e = error as {name?: string; cause?: unknown; message?: string} | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof CredentialError) return true
    // AuthenticationError: a source that is configured but cannot sign in (EnvironmentCredential with a wrong secret or an
    // unreachable authority) — the chain stops there instead of trying the next source.
    if (['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationRequiredError', 'AuthenticationError'].includes(e.name ?? '')) return true
    if (typeof e.message === 'string' && /ChainedTokenCredential authentication failed|DefaultAzureCredential/.test(e.message)) return true
  }
  return false
}

export interface FormatOptions {
  /** The environment (catalog) the credential was for, e.g. "staging". */
  environment?: string
  /** What this machine offers (detectCredentialSources); the SDK's errors are used when absent. */
  sources?: CredentialSource[]
  env?: NodeJS.ProcessEnv
}

/**
 * The one message for "no Azure credential": a headline, each source on one line (✔ offered / ✖ why not), the likely
 * fix first among the suggestions. The SDK's messages per source are kept for --verbose (CredentialError.chain).
 */
export function credentialError(cause: unknown, options: FormatOptions = {}): CredentialError {
  if (cause instanceof CredentialError) return cause
  const env = options.env ?? process.env
  const sdkErrors = sdkMessages(cause)
  const sources = options.sources ?? []
  const lines = sources.map((s) => `  ${s.available ? '✔' : '✖'} ${s.label}: ${s.detail}${s.available && sdkErrors.has(s.id) ? ` — but: ${oneLine(sdkErrors.get(s.id)!)}` : ''}`)
  if (sources.length === 0) for (const [id, message] of sdkErrors) lines.push(`  ✖ ${LABELS[id]}: ${oneLine(message)}`)
  const chain = sdkErrorList(cause)
  if (chain.length === 0 && cause !== undefined) chain.push(String((cause as Error)?.message ?? cause))
  const where = options.environment ? ` for environment "${options.environment}"` : ''
  const headline =
    sources.length > 0 && !sources.some((s) => s.available)
      ? `no Azure credential${where}: this machine offers none of DefaultAzureCredential's sources`
      : `no Azure credential${where}: every source DefaultAzureCredential tried failed`
  const summary = sources.map(({id, label, available, detail}) => ({id, label, available, detail}))
  return new CredentialError([headline, ...lines].join('\n'), summary, likelyFixes(sources, env), chain, cause)
}

/** The fixes to try, the likeliest first: OIDC in CI, `az login` where az is installed, managed identity on Azure hosts. */
export function likelyFixes(sources: CredentialSource[], env: NodeJS.ProcessEnv = process.env): string[] {
  const inCI = Boolean(env.CI || env.GITHUB_ACTIONS || env.TF_BUILD)
  const byId = (id: CredentialSourceId) => sources.find((s) => s.id === id)
  const order: CredentialSourceId[] = inCI
    ? ['workload-identity', 'managed-identity', 'environment', 'azure-cli']
    : byId('managed-identity')?.available
      ? ['managed-identity', 'azure-cli', 'workload-identity']
      : ['azure-cli', 'workload-identity', 'managed-identity']
  return order.map((id) => FIXES[id])
}

function sdkErrorList(error: unknown): string[] {
  for (let e = error as {errors?: unknown[]; cause?: unknown} | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++)
    if (Array.isArray(e.errors)) return e.errors.map((x) => String((x as Error)?.message ?? x))
  // One source's own failure (AuthenticationError: configured, but it cannot sign in): the chain stopped at it.
  const single = error as {name?: string; message?: unknown} | undefined
  return single?.name === 'AuthenticationError' && typeof single.message === 'string' ? [single.message] : []
}

/** The SDK's message per source (AggregateAuthenticationError.errors name their credential in the text). */
function sdkMessages(error: unknown): Map<CredentialSourceId, string> {
  const out = new Map<CredentialSourceId, string>()
  const patterns: Array<[CredentialSourceId, RegExp]> = [
    ['environment', /EnvironmentCredential/i],
    ['workload-identity', /WorkloadIdentityCredential|federated/i],
    ['managed-identity', /ManagedIdentityCredential|managed identity/i],
    ['azure-cli', /az login|Azure CLI/i],
    ['azure-powershell', /PowerShell/i],
    ['azure-developer-cli', /Azure Developer CLI|azd/i],
  ]
  for (const message of sdkErrorList(error)) {
    const hit = patterns.find(([, re]) => re.test(message))
    if (hit && !out.has(hit[0])) out.set(hit[0], message)
  }
  return out
}

function oneLine(text: string): string {
  const first = text.split(/\r?\n/)[0]!.replace(/\s*To troubleshoot, visit \S+/i, '').trim()
  return first.length > 160 ? `${first.slice(0, 157)}…` : first
}
