/**
 * Shared by the runbook integration tests: an emulator started in the test process (the CLI child reaches it through
 * `emulator.env()`), the real CLI, and ways to look at the emulator from outside — its ARM API through the
 * unmodified SDK, its request log, and the slots' real HTTP ports.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator, type StartEmulatorOptions} from '../../src/emulator/server.js'
import {repoRoot, runCli, runCliInProcess, scratchDir, type CliResult, type InProcessOptions} from '../helpers/cli.js'

export {repoRoot, scratchDir}

/** An emulator for the repository's `local` environment with fast long-running operations. */
export function startLocalEmulator(options: Partial<StartEmulatorOptions> = {}): Promise<RunningEmulator> {
  return startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100, ...options})
}

/** `opsbook run <runbook> --env local --json --yes …` against `emulator`; stdout parsed when it is JSON. */
export async function runRunbook(
  emulator: RunningEmulator,
  runbook: string,
  args: string[] = [],
  options: {cwd?: string; env?: Record<string, string>; onStart?: NonNullable<Parameters<typeof runCli>[1]>['onStart']; cwdReady?: (cwd: string) => void; inProcess?: boolean | InProcessOptions} = {},
): Promise<CliResult & {cwd: string; json: any}> {
  const cwd = options.cwd ?? scratchDir()
  options.cwdReady?.(cwd)
  const argv = ['run', runbook, '--env', 'local', '--json', '--yes', ...args]
  const env = {...emulator.env(), ...options.env}
  const result = options.inProcess ? await runCliInProcess(argv, {cwd, env, ...(options.inProcess === true ? {} : options.inProcess)}) : await runCli(argv, {cwd, env, timeoutMs: 90_000, onStart: options.onStart})
  let json: any
  try {
    json = JSON.parse(result.stdout)
  } catch {
    json = undefined
  }
  return {...result, cwd, json}
}

/** `runRunbook` with the CLI run in the test process (runCliInProcess): the same command, without a process start. */
export function runRunbookInProcess(emulator: RunningEmulator, runbook: string, args: string[] = [], options: {cwd?: string; env?: Record<string, string>; cwdReady?: (cwd: string) => void} & InProcessOptions = {}) {
  const {onOutput, onStart, ...rest} = options
  return runRunbook(emulator, runbook, args, {...rest, inProcess: {onOutput, onStart}})
}

/** The repository catalog's `local` environment, read once: parsing and validating it took ~0.1 s a call (slot-swap.test
 * made a dozen calls, 1.1 s of CPU in all). */
let localEnvironment: ReturnType<typeof loadCatalog>['catalog']['environments'][string] | undefined
const repositoryLocalEnvironment = () => (localEnvironment ??= loadCatalog({flag: join(repoRoot, 'runbooks.yaml')}).catalog.environments.local!)

/** The SDK clients a user's own script would use against this emulator. */
export function sdkServices(emulator: RunningEmulator): AzureServices {
  return createAzureServices({
    environment: repositoryLocalEnvironment(),
    environmentName: 'local',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, blob: emulator.blob, subscription: emulator.subscription},
  })
}

/** Names of every PostgreSQL flexible server in the subscription, through the ARM API. */
export async function postgresServers(services: AzureServices): Promise<Array<{name: string; tags: Record<string, string>}>> {
  const client = await services.postgres()
  const out: Array<{name: string; tags: Record<string, string>}> = []
  for await (const server of client.servers.listBySubscription()) out.push({name: server.name!, tags: server.tags ?? {}})
  return out
}

/** Admin route of the emulator (not ARM): deploy a version to a slot. */
export async function deploy(emulator: RunningEmulator, site: string, slot: string, version: string, healthy = true): Promise<void> {
  const response = await services(emulator).armRequest('POST', `/_emulator/webapps/${site}/slots/${slot}/deploy`, {body: {version, healthy}})
  if (response.status !== 200) throw new Error(`deploy ${site}/${slot} ${version}: ${response.status} ${JSON.stringify(response.body)}`)
}

/** What a slot serves, asked over HTTP on the slot's own port (as a user's browser would). */
export async function servedVersion(emulator: RunningEmulator, site: string, slot = 'production'): Promise<{status: number; version?: string}> {
  const listed = await services(emulator).armRequest('GET', '/_emulator/webapps')
  const entry = (listed.body.value as Array<{site: string; slot: string; url: string}>).find((e) => e.site === site && e.slot.toLowerCase() === slot)
  if (!entry) throw new Error(`no slot ${site}/${slot}`)
  const response = await fetch(`${entry.url}/health`)
  return {status: response.status, version: response.headers.get('x-opsbook-version') ?? undefined}
}

const cache = new WeakMap<RunningEmulator, AzureServices>()
function services(emulator: RunningEmulator): AzureServices {
  let s = cache.get(emulator)
  if (!s) cache.set(emulator, (s = sdkServices(emulator)))
  return s
}

/** Requests the emulator served, as `METHOD operation path`. */
export function requests(emulator: RunningEmulator): Array<{method: string; operation: string; path: string; status: number}> {
  return emulator.requestLog().map((r) => ({method: r.method, operation: r.operation, path: r.path, status: r.status}))
}

/** A TLS connection to a cache's real redis-server, found the way opsbook finds it (host name → the local port). */
export async function redisData(emulator: RunningEmulator, cache = 'redis-shop-sessions'): Promise<import('ioredis').Redis> {
  const endpoint = await services(emulator).redisEndpoint(`${cache}.redis.cache.windows.net`, 6380, {user: 'integration-test'})
  const {Redis} = await import('ioredis')
  const client = new Redis({host: endpoint.host, port: endpoint.port, username: 'integration-test', password: 'token-not-checked', tls: {ca: endpoint.ca, servername: endpoint.servername}, lazyConnect: true})
  await client.connect()
  return client
}

/**
 * A snapshot whose data is `ageMs` old, as the cache's newest scheduled one: the canary is set back, the cache exported
 * under the scheduled snapshots' name pattern, and the canary put back to now (what a real cache with an old snapshot is).
 */
export async function oldSnapshot(emulator: RunningEmulator, ageMs: number): Promise<string> {
  const data = await redisData(emulator)
  await data.set('opsbook:canary', JSON.stringify({at: new Date(Date.now() - ageMs).toISOString(), by: 'test'}))
  const name = `redis-shop-sessions-${new Date().toISOString().slice(0, 19).replaceAll(/[-:]/g, '')}Z.rdb`
  const client = await services(emulator).redis()
  await client.redis.beginExportDataAndWait('rg-shop-local', 'redis-shop-sessions', {format: 'RDB', prefix: name, container: `${emulator.blob.endpoint}/redis-snapshots?sig=test`}, {updateIntervalInMs: 50})
  await data.set('opsbook:canary', JSON.stringify({at: new Date().toISOString(), by: 'test'}))
  data.disconnect()
  return name
}

/** A journal line as the tests read it. */
export interface JournalLine {
  type: string
  step: string | null
  data: any
}

/** The complete lines of the journal of the one run in `cwd` so far (none yet: empty; a line being written is skipped). */
export function journalLines(cwd: string): JournalLine[] {
  const runs = join(cwd, '.opsbook', 'runs')
  const [runId] = existsSync(runs) ? readdirSync(runs) : []
  const file = runId ? join(runs, runId, 'journal.jsonl') : ''
  if (!file || !existsSync(file)) return []
  // Complete lines are those a newline ends: the text after the last one is a line being written (possibly cut
  // inside a nested object, where it can end in `}` and not parse — thrown in a test's polling timer, that failed the
  // file as an uncaught error).
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as JournalLine)
}
