/**
 * The real Azure CLI (`az`, Debian's azure-cli 2.45) as an independent client of the emulator, run fully offline
 * (see ../shared/notes/az-offline.md for the verified facts this follows):
 * - an isolated AZURE_CONFIG_DIR per sandbox, with a custom cloud registered by `az cloud register` whose ARM
 *   endpoint is the emulator (all AD endpoints given, so registering fetches no metadata);
 * - a pre-seeded MSAL token cache (an Account and an AccessToken for the ARM audiences issued by the emulator's token
 *   endpoint — the emulator validates signatures —, no refresh token, so a cache miss fails locally) and an
 *   azureProfile.json whose default subscription is the emulator's;
 * - MSAL's HTTP cache (msal_http_cache.bin) seeded with the tenant's OpenID configuration, written by az's own
 *   interpreter through msal's ThrottledHttpClient so the entry has exactly the format that msal version reads;
 * - versionCheck.json with the local versions and a fresh timestamp, so az does not look for updates;
 * - REQUESTS_CA_BUNDLE = the system bundle + the emulator's CA (az hands it to every SDK client);
 * - an egress guard: HTTPS_PROXY points at a closed port and NO_PROXY lists only the emulator's host, so anything
 *   else az tries (telemetry, recommender, Entra ID) fails at once instead of hanging or leaving the machine.
 */
import {spawn} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {get as httpsGet} from 'node:https'
import {delimiter, join} from 'node:path'

/** The Azure CLI's public client id (MSAL token cache entries are keyed by it). */
const AZ_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const LOGIN_HOST = 'login.microsoftonline.com'
const ARM_AUDIENCE = 'https://management.core.windows.net/'
const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']

/** `az` on PATH, or undefined. */
export function findAz(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'az')
    if (dir && existsSync(candidate)) return candidate
  }
  return undefined
}

/**
 * Whether a suite that needs `az` runs: in CI (CI=true) a missing `az` is a failure with a clear message (CI
 * installs Debian's azure-cli in .ci/run); on a developer machine without it the suite is skipped with the reason.
 */
export function azAvailability(env: NodeJS.ProcessEnv = process.env): {az?: string; skipReason?: string; failReason?: string} {
  const az = findAz(env)
  if (az) return {az}
  const reason = 'the Azure CLI (`az`) is not installed: install Debian\'s azure-cli (`apt-get install azure-cli`), as .ci/run does'
  return /^(1|true)$/i.test(env.CI ?? '') ? {failReason: `CI=true but ${reason}`} : {skipReason: reason}
}

export interface AzResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON (undefined when empty or not JSON). */
  json: any
}

export interface AzSandbox {
  configDir: string
  env: Record<string, string>
  /** Run the `az` executable once: `az <args>` (with `--output json` unless an output is given); never throws for a non-zero exit. */
  run(args: string[], options?: {timeoutMs?: number}): Promise<AzResult>
  /**
   * A long-lived az interpreter that runs one command per call through the CLI's own entry object
   * (`azure.cli.core.get_default_cli().invoke(args)`, what `az` itself calls and what azure-cli's test SDK drives):
   * the same parser, command modules and HTTP pipeline, without paying Python's start-up (1–6 s) per command.
   */
  session(): AzSession
  dispose(): void
}

export interface AzSession {
  run(args: string[], options?: {timeoutMs?: number}): Promise<AzResult>
  /** Parse `az <args>` with the CLI's own parser and stop before anything runs: 0, or 2 with argparse's message. */
  parse(args: string[]): Promise<AzResult>
  /** Seed the config folder (SEED_PY with these arguments) in this interpreter. */
  seed(args: string[]): Promise<AzResult>
  close(): void
}

export interface AzSandboxOptions {
  az: string
  armEndpoint: string
  caPem: string
  /** The emulator's IDENTITY_HEADER secret: its token endpoint refuses a request without it. */
  identityHeader: string
  subscription: string
  tenant?: string
  cloudName?: string
}

/** An isolated, logged-in-from-cache `az` pointed at the emulator. */
export async function createAzSandbox(options: AzSandboxOptions): Promise<AzSandbox> {
  const configDir = mkdtempSync(join(tmpdir(), 'opsbook-az-'))
  const tenant = options.tenant ?? '00000000-0000-0000-0000-000000000000'
  const cloud = options.cloudName ?? 'OpsbookEmulator'
  const arm = new URL(options.armEndpoint)
  const caBundle = join(configDir, 'ca-bundle.pem')
  const systemBundle = SYSTEM_CA_BUNDLES.find((f) => existsSync(f))
  writeFileSync(caBundle, `${systemBundle ? readFileSync(systemBundle, 'utf8') : ''}\n${options.caPem}\n`)

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: configDir,
    LANG: 'C.UTF-8',
    AZURE_CONFIG_DIR: configDir,
    AZURE_CORE_COLLECT_TELEMETRY: '0',
    AZURE_CORE_SURVEY_MESSAGE: 'false',
    AZURE_CORE_NO_COLOR: 'true',
    AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
    AZURE_EXTENSION_USE_DYNAMIC_INSTALL: 'no',
    AZURE_CORE_ENCRYPT_TOKEN_CACHE: 'false',
    AZURE_CORE_DISABLE_CONFIRM_PROMPT: 'yes',
    REQUESTS_CA_BUNDLE: caBundle,
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    NO_PROXY: arm.hostname,
    no_proxy: arm.hostname,
  }

  const python = pythonOf(options.az)
  // Started first, so that its Python start-up (importing azure.cli.core; no config is read before a command) runs
  // beside the seeding below. It registers and sets the cloud (each command there builds a new CLI object, which reads
  // the config az wrote): two `az` processes, and their Python start-ups, fewer. The suite still runs the executable
  // itself (az-conformance), against the cloud registered this way.
  const first = startSession(python, env)
  const sessions: AzSession[] = [first]
  let firstHandedOut = false
  const run = (args: string[], runOptions: {timeoutMs?: number} = {}) => runAz(options.az, args, env, runOptions.timeoutMs ?? 60_000)
  try {
    await prepareConfig(first)
  } catch (error) {
    first.close()
    throw error
  }

  async function prepareConfig(session: AzSession): Promise<void> {
    // az's command index (which module has which command), as an earlier sandbox on this machine left it: without
    // it, the first command imports every command module to build it (about 1.5 s of CPU). az checks the index itself
    // (its version and cloud profile; a command not in it makes az load everything again), so a stale one only costs
    // that rebuild.
    if (existsSync(COMMAND_INDEX_CACHE)) copyFileSync(COMMAND_INDEX_CACHE, join(configDir, 'commandIndex.json'))
    // In the session's interpreter (az's own), before its first command: not a Python process of its own.
    const seeded = await session.seed([configDir, `https://${LOGIN_HOST}/${tenant}`])
    if (seeded.code !== 0) throw new Error(`seeding az's MSAL HTTP cache and version check failed:\n${seeded.stderr}`)
    // The access token az sends: one the emulator's token endpoint issued (signed by its issuer; ARM validates tokens).
    const issued = await emulatorToken(options.armEndpoint, options.caPem, options.identityHeader, ARM_AUDIENCE)
    writeTokenCache(configDir, tenant, options.subscription, cloud, issued)

    const register = await session.run([
      'cloud', 'register', '-n', cloud,
      '--endpoint-resource-manager', `${options.armEndpoint.replace(/\/$/, '')}/`,
      '--endpoint-active-directory', `https://${LOGIN_HOST}`,
      '--endpoint-active-directory-resource-id', ARM_AUDIENCE,
      '--endpoint-active-directory-graph-resource-id', 'https://graph.windows.net/',
      '--suffix-keyvault-dns', '.vault.azure.net',
      '--suffix-storage-endpoint', 'core.windows.net',
    ])
    if (register.code !== 0) throw new Error(`az cloud register failed: ${register.stderr}`)
    const set = await session.run(['cloud', 'set', '-n', cloud])
    if (set.code !== 0) throw new Error(`az cloud set failed: ${set.stderr}`)
    keepCommandIndex(join(configDir, 'commandIndex.json'))
  }
  return {
    configDir,
    env,
    run,
    session: () => {
      if (!firstHandedOut) {
        firstHandedOut = true
        return first
      }
      const session = startSession(python, env)
      sessions.push(session)
      return session
    },
    dispose: () => {
      for (const session of sessions) session.close()
      rmSync(configDir, {recursive: true, force: true})
    },
  }
}

/**
 * Where the command index az built is kept for the next sandbox (per user: az writes it with its user's rights) —
 * and the next test run: in the system temp dir, not the run's own folder that is removed at its end (tmp-root.ts).
 */
const COMMAND_INDEX_CACHE = join(process.env.OPSBOOK_TEST_SYSTEM_TMPDIR || tmpdir(), `opsbook-az-command-index-${process.getuid?.() ?? 'user'}.json`)

function keepCommandIndex(file: string): void {
  if (!existsSync(file)) return
  // Written aside, then renamed: a sandbox starting meanwhile reads the old index or the new one, never half of one.
  const temp = `${COMMAND_INDEX_CACHE}.${process.pid}.${Date.now()}`
  try {
    copyFileSync(file, temp)
    renameSync(temp, COMMAND_INDEX_CACHE)
  } catch {
    rmSync(temp, {force: true})
  }
}

function withJsonOutput(args: string[]): string[] {
  return args.some((a) => a === '-o' || a === '--output') || args[0] === 'cloud' ? args : [...args, '--output', 'json']
}

function parsed(stdout: string): unknown {
  try {
    return stdout.trim() ? JSON.parse(stdout) : undefined
  } catch {
    return undefined
  }
}

/** One az interpreter answering one JSON line per command (see AzSandbox.session). */
function startSession(python: string, env: Record<string, string>): AzSession {
  const child = spawn(python, ['-c', SESSION_PY, SEED_PY], {env: {...env, AZ_INSTALLER: 'DEB'}, stdio: ['pipe', 'pipe', 'pipe']})
  let buffer = ''
  let stderr = ''
  const waiting: Array<(line: string) => void> = []
  child.stdout.on('data', (d) => {
    buffer += d
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      waiting.shift()?.(line)
    }
  })
  child.stderr.on('data', (d) => (stderr += d))
  let queue: Promise<unknown> = Promise.resolve()
  const runOne = (args: string[], timeoutMs: number, mode: 'run' | 'parse' | 'seed' = 'run') =>
    new Promise<AzResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`az ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`)), timeoutMs)
      waiting.push((line) => {
        clearTimeout(timer)
        const answer = JSON.parse(line) as {code: number; stdout: string; stderr: string}
        resolve({...answer, json: parsed(answer.stdout)})
      })
      child.stdin.write(`${JSON.stringify(mode === 'parse' ? {parse: args} : mode === 'seed' ? {seed: args} : withJsonOutput(args))}\n`)
    })
  return {
    run(args, options = {}) {
      // One command at a time, in order: the interpreter is single-threaded.
      const next = queue.then(() => runOne(args, options.timeoutMs ?? 120_000))
      queue = next.catch(() => undefined)
      return next
    },
    parse(args) {
      const next = queue.then(() => runOne(args, 60_000, 'parse'))
      queue = next.catch(() => undefined)
      return next
    },
    seed(args) {
      const next = queue.then(() => runOne(args, 120_000, 'seed'))
      queue = next.catch(() => undefined)
      return next
    },
    close() {
      child.stdin.end()
      child.kill()
    },
  }
}

/**
 * The session loop: each line is a JSON argv; the answer is {code, stdout, stderr}. stdout is the CLI's out_file;
 * stderr is captured at the file-descriptor level, because knack's log handlers keep the stream they were given.
 */
const SESSION_PY = String.raw`
import io, json, os, sys, tempfile
# The config folder's seeding (SEED_PY), run on request before the first command.
SEED = sys.argv[1]
from azure.cli.core import get_default_cli
# az's LongRunningOperation looks whether the SDK's poller thread has finished every 500 ms (poller_done_interval_ms in
# azure/cli/core/commands/__init__.py: a progress-bar refresh loop; the poller thread itself polls the operation as the
# service's Retry-After says, and the emulator answers its first poll when the operation ends). So every long-running
# command took at least half a second after its operation had finished. Looked at every 20 ms here: the same requests
# go to the emulator in the same order, and the command ends when its poller does. The separate az process
# (AzSandbox.run) keeps the default.
import time
from azure.cli.core.commands import LongRunningOperation
LongRunningOperation._delay = lambda self: time.sleep(0.02)
# Answers go to a private copy of stdout; anything a command prints past the CLI's out_file lands on stderr.
reply = os.fdopen(os.dup(1), 'w')
os.dup2(2, 1)
from knack.events import EVENT_INVOKER_POST_PARSE_ARGS
class Parsed(Exception):
    pass
def stop_after_parsing(cli_ctx, **kwargs):
    # Parse-only mode: the CLI's own parser accepted the command and every flag; stop before validators and the call.
    raise Parsed()
for line in sys.stdin:
    request = json.loads(line)
    if isinstance(request, dict) and 'seed' in request:
        # SEED_PY, with its arguments as sys.argv[1:]; a failure is answered with its traceback.
        import traceback
        try:
            saved_argv = sys.argv
            sys.argv = ['seed'] + request['seed']
            exec(compile(SEED, 'seed', 'exec'), {'__name__': 'seed'})
            answer = {'code': 0, 'stdout': '', 'stderr': ''}
        except BaseException:
            answer = {'code': 1, 'stdout': '', 'stderr': traceback.format_exc()}
        finally:
            sys.argv = saved_argv
        reply.write(json.dumps(answer) + '\n')
        reply.flush()
        continue
    parse_only = isinstance(request, dict)
    args = request['parse'] if parse_only else request
    out = io.StringIO()
    err_file = tempfile.TemporaryFile(mode='w+')
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(err_file.fileno(), 2)
    try:
        cli = get_default_cli()
        if parse_only:
            cli.register_event(EVENT_INVOKER_POST_PARSE_ARGS, stop_after_parsing)
            # knack reports an exception raised by a handler as a failure: a Parsed exception means success here.
            import azure.cli.core.util as core_util
            original = core_util.handle_exception
            core_util.handle_exception = lambda ex: 0 if isinstance(ex, Parsed) else original(ex)
            try:
                code = cli.invoke(args, out_file=out)
            finally:
                core_util.handle_exception = original
        else:
            code = cli.invoke(args, out_file=out)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        sys.stderr.write('%r\n' % (e,))
        code = 1
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    err_file.seek(0)
    reply.write(json.dumps({'code': code, 'stdout': out.getvalue(), 'stderr': err_file.read()}) + '\n')
    reply.flush()
    err_file.close()
`

function runAz(az: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<AzResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(az, withJsonOutput(args), {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`az ${args.join(' ')} did not finish within ${timeoutMs} ms\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr, json: parsed(stdout)})
    })
  })
}

/** az is a Python script: its shebang names the interpreter that has azure.cli and msal on its path. */
function pythonOf(az: string): string {
  const first = readFileSync(az, 'utf8').split('\n', 1)[0] ?? ''
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first)
  if (!m) return 'python3'
  return m[1]!.endsWith('/env') && m[2] ? m[2] : m[1]!
}

/**
 * An access token from the emulator's token endpoint (`/msi/token` on its ARM host, the managed-identity protocol):
 * the emulator validates ARM tokens (signature of its own issuer, tenant, audience, expiry), so az's cache must hold
 * one it issued. Valid an hour (the endpoint's lifetime), longer than a conformance run.
 */
function emulatorToken(armEndpoint: string, caPem: string, identityHeader: string, resource: string): Promise<{token: string; expiresOn: number}> {
  const url = `${armEndpoint.replace(/\/$/, '')}/msi/token?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`
  return new Promise((resolve, reject) => {
    httpsGet(url, {ca: caPem, agent: false, headers: {'X-IDENTITY-HEADER': identityHeader}}, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`the emulator's token endpoint answered ${res.statusCode}: ${body}`))
        const parsed = JSON.parse(body) as {access_token: string; expires_on: string}
        resolve({token: parsed.access_token, expiresOn: Number(parsed.expires_on)})
      })
    }).on('error', reject)
  })
}

/** MSAL's TokenCache schema (msal/token_cache.py): one Account and one AccessToken for every ARM audience. */
function writeTokenCache(configDir: string, tenant: string, subscription: string, cloud: string, issued: {token: string; expiresOn: number}): void {
  const oid = '11111111-1111-1111-1111-111111111111'
  const username = 'conformance@opsbook.test'
  const homeAccountId = `${oid}.${tenant}`
  const now = Math.floor(Date.now() / 1000)
  const far = String(issued.expiresOn)
  const target = [`${ARM_AUDIENCE}/.default`, 'https://management.azure.com//.default', 'https://management.azure.com/.default'].join(' ')
  const token = issued.token
  const accessKey = `${homeAccountId}-${LOGIN_HOST}-accesstoken-${AZ_CLIENT_ID}-${tenant}-${target}`.toLowerCase()
  const cache = {
    Account: {
      [`${homeAccountId}-${LOGIN_HOST}-${tenant}`.toLowerCase()]: {
        home_account_id: homeAccountId,
        environment: LOGIN_HOST,
        realm: tenant,
        local_account_id: oid,
        username,
        authority_type: 'MSSTS',
      },
    },
    AccessToken: {
      [accessKey]: {
        credential_type: 'AccessToken',
        secret: token,
        home_account_id: homeAccountId,
        environment: LOGIN_HOST,
        client_id: AZ_CLIENT_ID,
        target,
        realm: tenant,
        token_type: 'Bearer',
        cached_at: String(now),
        expires_on: far,
        extended_expires_on: far,
      },
    },
    IdToken: {},
    RefreshToken: {},
    AppMetadata: {},
  }
  writeFileSync(join(configDir, 'msal_token_cache.json'), JSON.stringify(cache))
  const profile = {
    installationId: '22222222-2222-2222-2222-222222222222',
    subscriptions: [
      {
        id: subscription,
        name: 'opsbook emulator',
        state: 'Enabled',
        user: {name: username, type: 'user'},
        isDefault: true,
        tenantId: tenant,
        environmentName: cloud,
        homeTenantId: tenant,
        managedByTenants: [],
      },
    ],
  }
  // azure-cli reads azureProfile.json with utf-8-sig: a BOM is allowed, not required.
  writeFileSync(join(configDir, 'azureProfile.json'), JSON.stringify(profile))
}

/**
 * Run by az's own interpreter: writes versionCheck.json (local versions, fresh timestamp) and seeds
 * msal_http_cache.bin with the tenant's OpenID configuration through msal's own ThrottledHttpClient.
 */
const SEED_PY = String.raw`
import datetime, json, os, sys
config_dir, authority = sys.argv[1], sys.argv[2]
from azure.cli.core.util import _get_local_versions
versions = _get_local_versions()
with open(os.path.join(config_dir, 'versionCheck.json'), 'w') as f:
    json.dump({'versions': {k: dict(v, pypi=v['local']) for k, v in versions.items()}, 'updateTime': str(datetime.datetime.now())}, f)
from azure.cli.core.auth.binary_cache import BinaryCache
from msal.throttled_http_client import ThrottledHttpClient
host = authority.split('/')[2]
tenant = authority.rstrip('/').split('/')[-1]
base = 'https://%s/%s' % (host, tenant)
document = {
  'token_endpoint': base + '/oauth2/v2.0/token',
  'authorization_endpoint': base + '/oauth2/v2.0/authorize',
  'device_authorization_endpoint': base + '/oauth2/v2.0/devicecode',
  'end_session_endpoint': base + '/oauth2/v2.0/logout',
  'issuer': 'https://%s/%s/v2.0' % (host, tenant),
  'jwks_uri': 'https://%s/%s/discovery/v2.0/keys' % (host, tenant),
  'response_types_supported': ['code', 'id_token', 'code id_token', 'id_token token'],
  'tenant_region_scope': 'NA',
}
import requests
def response():
    # A requests.Response, as msal's default http client returns: az unpickles the cache with requests importable.
    r = requests.models.Response()
    r.status_code = 200
    r.headers['Content-Type'] = 'application/json; charset=utf-8'
    r.encoding = 'utf-8'
    r._content = json.dumps(document).encode('utf-8')
    r.url = url
    return r
# The exact URL msal.authority builds for a well-known host (explicit :443, then /v2.0).
url = 'https://%s:443/%s/v2.0/.well-known/openid-configuration' % (host, tenant)
class Client(object):
    def get(self, url, **kwargs): return response()
    def post(self, url, **kwargs): raise RuntimeError('no POST while seeding')
    def close(self): pass
cache = BinaryCache(os.path.join(config_dir, 'msal_http_cache.bin'))
ThrottledHttpClient(Client(), cache).get(url)
cache.save()
`
