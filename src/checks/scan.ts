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
}

export interface ScanResult {
  report: CheckReport
  failOn: Severity
  /** True when a fail or error at or above `failOn` exists. */
  failed: boolean
  blocking: Finding[]
}

/** Scan a catalog environment (starting or joining the emulator for `cloud: emulator`). */
export async function scanEnvironment(options: ScanOptions): Promise<ScanResult> {
  const {loadCatalog, getEnvironment} = await import('../catalog/loader.js')
  const loaded = loadCatalog({flag: options.catalogFlag, cwd: options.cwd})
  const environment: Environment = getEnvironment(loaded, options.envName)
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
    const report = await runChecks({
      environment,
      environmentName: options.envName,
      sources: sourcesFromServices(services),
      budgetOptions: options.budget,
      log: options.log,
      signal: options.signal,
    })
    return {report, failOn: options.failOn, ...gate(report, options.failOn)}
  } finally {
    await emulator?.stop()
  }
}
