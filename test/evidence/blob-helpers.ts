/**
 * Shared set-up for the evidence tests: Azurite in-process (the emulator's own blob server), the evidence target
 * reached through the real client factory, and journals written by the real Journal class.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import type {Environment} from '../../src/catalog/schema.js'
import {environmentSchema} from '../../src/catalog/schema.js'
import {startBlobServer, type RunningBlob} from '../../src/emulator/blob.js'
import {openEvidenceTarget, type EvidenceTarget} from '../../src/evidence/blob-sink.js'
import {Journal} from '../../src/evidence/journal.js'
import type {RunEvent} from '../../src/runbooks/events.js'

export function tempDir(prefix = 'opsbook-evidence-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** A small emulator environment with an evidence container and components with objectives. */
export function testEnvironment(overrides: Partial<Record<string, unknown>> = {}): Environment {
  return environmentSchema.parse({
    cloud: 'emulator',
    subscription: '00000000-0000-0000-0000-00000000c0de',
    resourceGroups: ['rg-shop-local'],
    evidence: {storageAccount: 'stshopevidence', container: 'opsbook-evidence'},
    components: {
      'orders-db': {type: 'postgres', name: 'pg-shop-orders', objectives: {rto: 'PT1H', rpo: 'PT15M'}, tier: 'tier-1'},
      'sessions-cache': {type: 'redis', name: 'redis-shop-sessions', objectives: {rto: 'PT30M', rpo: 'PT1H'}, tier: 'tier-2'},
      storefront: {type: 'webapp', name: 'app-shop-storefront', objectives: {rto: 'PT15M'}, tier: 'tier-1'},
      'evidence-store': {type: 'storage', name: 'stshopevidence'},
    },
    ...overrides,
  })
}

/** Services whose Blob goes to `blob` (ARM points nowhere: these tests only use Blob). */
export function blobServices(environment: Environment, blob: {endpoint: string; account: string; key: string}): AzureServices {
  return createAzureServices({
    environment,
    environmentName: 'local',
    emulator: {armEndpoint: 'https://127.0.0.1:9', caPem: '', blob, subscription: environment.subscription},
  })
}

export interface BlobFixture {
  blob: RunningBlob
  environment: Environment
  services: AzureServices
  target: EvidenceTarget
}

export async function startBlobFixture(options: {persistDir?: string; isDown?: () => boolean} = {}): Promise<BlobFixture> {
  const blob = await startBlobServer(options)
  const environment = testEnvironment()
  const services = blobServices(environment, blob)
  const target = (await openEvidenceTarget(environment, services))!
  await target.client.createIfNotExists()
  return {blob, environment, services, target}
}

/** A run.started event for the test environment. */
export function runStarted(runId: string, runbook = 'dr-drill', kind = 'drill'): RunEvent {
  return {
    type: 'run.started',
    runId,
    runbook,
    title: `${runbook} title`,
    kind,
    environment: 'local',
    production: false,
    params: {component: 'orders-db', password: '[REDACTED]'},
    steps: [
      {id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: []},
      {id: 'verify', uses: 'postgres.verify', phase: 'main', changes: false, needs: ['restore']},
    ],
  }
}

/** Write events through the real journal; `listener` sees each after it is on disk, like the runner does. */
export async function writeJournal(root: string, runId: string, events: RunEvent[], listener?: (e: RunEvent) => void): Promise<Journal> {
  const journal = await Journal.create(runId, {root})
  for (const event of events) {
    await journal.append(event)
    listener?.(event)
  }
  return journal
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const started = Date.now()
  while (!(await condition())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A summary.json as the runner writes it, for a run whose journal is `journal`. */
export function summaryFor(
  journal: Journal,
  fields: {runbook?: string; kind?: string; status?: string; startedAt?: string; objectives?: unknown[]; outputs?: Record<string, unknown>; approvals?: unknown[]; overrides?: unknown[]} = {},
) {
  const startedAt = fields.startedAt ?? new Date().toISOString()
  return {
    runId: journal.runId,
    runbook: {name: fields.runbook ?? 'dr-drill', title: 'Quarterly DR drill', kind: fields.kind ?? 'drill', source: 'builtin:dr-drill', sha256: 'a'.repeat(64)},
    catalog: {file: '/repo/runbooks.yaml', sha256: 'b'.repeat(64)},
    environment: 'local',
    production: false,
    status: fields.status ?? 'succeeded',
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + 95_000).toISOString(),
    durationMs: 95_000,
    who: {osUser: 'alice', host: 'laptop-7', azurePrincipal: 'alice@contoso.example'},
    versions: {opsbook: '0.1.0', node: process.version},
    params: {component: 'orders-db'},
    steps: [],
    outputs: {...(fields.outputs ?? {}), ...(fields.objectives ? {objectives: fields.objectives} : {})},
    approvals: fields.approvals ?? [],
    overrides: fields.overrides ?? [],
    leftBehind: [],
    journal: {lines: journal.lines, lastHash: journal.hash},
  } as any
}
