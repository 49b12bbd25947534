/**
 * `opsbook check` without the terminal: load the catalog, reach Azure or the emulator, scan, and hand back the
 * report with the gate decision. The command formats and prints; everything else is here.
 */
import type {Environment} from '../catalog/schema.js'
import type {BudgetOptions} from './budget.js'
import {gate, runChecks} from './run.js'
import type {CheckReport, Finding, Severity} from './types.js'

export interface ScanOptions {
  envName: string
  catalogFlag?: string
  cwd?: string
  failOn: Severity
  budget?: BudgetOptions
  log?: (message: string) => void
  signal?: AbortSignal
  /** `--scope` values (mg:<id>, sub:<id>,…); default: the environment's `scope`, else its resource groups. */
  scope?: string[]
}

export interface ScanResult {
  report: CheckReport
  failOn: Severity
  /** True when a fail or error at or above `failOn` exists. */
  failed: boolean
  blocking: Finding[]
  /** The environment scanned, as the catalog describes it. */
  environment: Environment
}

/** Scan a catalog environment (starting or joining the emulator for `cloud: emulator`). */
export async function scanEnvironment(options: ScanOptions): Promise<ScanResult> {
  const {loadCatalog, getEnvironment} = await import('../catalog/loader.js')
  const loaded = loadCatalog({flag: options.catalogFlag, cwd: options.cwd})
  // Before anything connects: a waiver naming an unknown check would silently waive nothing (exit 2, file:line:col).
  ;(await import('./waivers.js')).assertWaiversValid(loaded)
  const environment: Environment = getEnvironment(loaded, options.envName)
  const scope = (await import('./scope.js')).scanScope(environment, options.scope)
  let emulator: Awaited<ReturnType<typeof import('../emulator/connect.js')['connectOrStartEmulator']>> | undefined
  if (environment.cloud === 'emulator') {
    const {connectOrStartEmulator} = await import('../emulator/connect.js')
    emulator = await connectOrStartEmulator({cwd: options.cwd ?? process.cwd(), catalogFile: loaded.file, environmentName: options.envName, environment})
  }
  try {
    const [{createAzureServices}, {sourcesFromServices}] = await Promise.all([import('../azure/clients.js'), import('./sources.js')])
    const services = createAzureServices({environment, environmentName: options.envName, emulator})
    // Signed in at all? One short message and exit 6 now, rather than every check failing on the same missing credential.
    await services.identity()
    // A fleet scan reads each resource's settings in its own subscription, with the same credential.
    const servicesFor = (subscription: string) =>
      createAzureServices({environment: {...environment, subscription}, environmentName: options.envName, emulator, credential: services.credential})
    const report = await runChecks({
      environment,
      environmentName: options.envName,
      sources: sourcesFromServices(services, servicesFor),
      scope,
      budgetOptions: options.budget,
      log: options.log,
      signal: options.signal,
    })
    return {report, failOn: options.failOn, ...gate(report, options.failOn), environment}
  } finally {
    await emulator?.stop()
  }
}
