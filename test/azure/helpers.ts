/**
 * Test set-up for the Azure layer and actions: a real in-memory emulator seeded from the repository's catalog,
 * AzureServices built by the real factory, and an ActionContext that records what the action logged, marked
 * secret and journaled as started operations.
 */
import {join} from 'node:path'
import type {ActionContext, TrackedOperation} from '../../src/actions/types.js'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import type {Catalog, Environment} from '../../src/catalog/schema.js'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator, type StartEmulatorOptions} from '../../src/emulator/server.js'

export const RG = 'rg-shop-local'

export interface Fixture {
  emulator: RunningEmulator
  catalog: Catalog
  environment: Environment
  services: AzureServices
  stop(): Promise<void>
}

/** Start an emulator from runbooks.yaml's `local` environment and build services against it. */
export async function startFixture(options: StartEmulatorOptions = {}): Promise<Fixture> {
  const loaded = loadCatalog({flag: join(import.meta.dirname, '..', '..', 'runbooks.yaml')})
  const environment = getEnvironment(loaded, 'local')
  const emulator = await startEmulator({environment, environmentName: 'local', lroDurationMs: 150, ...options})
  const services = createAzureServices({
    environment,
    environmentName: 'local',
    emulator,
    retry: {baseDelayMs: 20, maxDelayMs: 200},
  })
  return {emulator, catalog: loaded.catalog, environment, services, stop: () => emulator.stop()}
}

export interface RecordingContext {
  context: ActionContext
  logs: string[]
  secrets: string[]
  started: TrackedOperation[]
}

/** A real ActionContext for one step attempt; `inFlight` simulates a resumed run. */
export function makeContext(
  fixture: Pick<Fixture, 'services' | 'environment' | 'catalog'>,
  options: {runId?: string; stepId?: string; inFlight?: TrackedOperation; signal?: AbortSignal; now?: () => Date} = {},
): RecordingContext {
  const logs: string[] = []
  const secrets: string[] = []
  const started: TrackedOperation[] = []
  const context: ActionContext = {
    runId: options.runId ?? 'run-20261123-abc123',
    stepId: options.stepId ?? 'step',
    attempt: 1,
    signal: options.signal ?? new AbortController().signal,
    log: (message) => logs.push(message),
    environmentName: 'local',
    environment: fixture.environment,
    catalog: fixture.catalog,
    secret: (value) => secrets.push(value),
    approver: {approve: async () => ({approved: true, by: 'test', via: 'flag'})},
    operations: {
      started: async (operation) => {
        started.push(JSON.parse(JSON.stringify(operation)))
      },
      inFlight: () => options.inFlight,
    },
    services: fixture.services,
    now: options.now ?? (() => new Date()),
  }
  return {context, logs, secrets, started}
}

/** An action's `with:` parsed by its own input schema (defaults applied), as the engine does before `run`. */
export const parseInput = <T extends {input: {parse(v: unknown): any}}>(action: T, input: unknown): any => action.input.parse(input)
