/**
 * `evidence export --env a,b` / `--all-envs`: the runs of several environments, each read from its own evidence
 * container (Azurite, in process), in one bundle with a folder per environment that verifies on its own and a
 * top-level manifest that hashes every file.
 */
import {join} from 'node:path'
import {unzipSync} from 'fflate'
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openEvidenceTarget, type EvidenceTarget} from '../../src/evidence/blob-sink.js'
import {exportFleetEvidence, FLEET_BUNDLE_FORMAT} from '../../src/evidence/export-fleet.js'
import {MANIFEST_FILE, sha256} from '../../src/evidence/export.js'
import {newRunId} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import {syncPending} from '../../src/evidence/sync.js'
import {verifyBundleFiles} from '../../src/evidence/verify.js'
import {startBlobServer, type RunningBlob} from '../../src/emulator/blob.js'
import type {Environment} from '../../src/catalog/schema.js'
import type {RunEvent} from '../../src/runbooks/events.js'
import {blobServices, runStarted, summaryFor, tempDir, testEnvironment, writeJournal} from './blob-helpers.js'

let blob: RunningBlob
const envs: Record<string, {environment: Environment; target: EvidenceTarget; runIds: string[]}> = {}

/** A finished run of `env`, written through the real journal and seal, then synced to that environment's container. */
async function recordRun(root: string, env: string, runbook: string, at: string, status = 'succeeded'): Promise<string> {
  const runId = newRunId(runbook, new Date(at))
  const journal = await writeJournal(root, runId, [
    {...runStarted(runId, runbook, 'drill'), environment: env} as RunEvent,
    {type: 'run.finished', status: status as 'succeeded', durationMs: 95_000, leftBehind: [], outputs: {}},
  ])
  await completeRun(journal, {...summaryFor(journal, {runbook, kind: 'drill', status, startedAt: at}), environment: env})
  return runId
}

beforeAll(async () => {
  blob = await startBlobServer()
  for (const [name, container, runs] of [
    ['staging', 'evidence-staging', [['dr-drill', '2026-09-01T02:00:00Z', 'succeeded']]],
    ['production', 'evidence-production', [['dr-drill', '2026-09-06T02:00:00Z', 'succeeded'], ['pg-pitr', '2026-09-10T03:00:00Z', 'failed']]],
  ] as const) {
    const environment = testEnvironment({evidence: {storageAccount: 'stshopevidence', container}})
    const services = blobServices(environment, blob)
    const target = (await openEvidenceTarget(environment, services))!
    await target.client.createIfNotExists()
    // Each environment's runs were recorded on its own CI machine and synced to its own container.
    const root = join(tempDir('opsbook-fleet-ci-'), '.opsbook')
    const runIds: string[] = []
    for (const [runbook, at, status] of runs) runIds.push(await recordRun(root, name, runbook, at, status))
    await syncPending(root, {name, environment}, services, {target})
    envs[name] = {environment, target, runIds}
  }
})
afterAll(async () => blob?.close())

describe('evidence export of many environments', () => {
  it('one zip: a folder per environment from its own container, each verifying alone, under a manifest of every file', async () => {
    const closed: string[] = []
    const output = join(tempDir(), 'fleet.zip')
    const result = await exportFleetEvidence({
      environments: ['staging', 'production'],
      open: async (name) => ({name, environment: envs[name]!.environment, target: envs[name]!.target, close: async () => void closed.push(name)}),
      // Nothing local: every run comes from Blob.
      root: join(tempDir(), '.opsbook'),
      source: 'blob',
      format: 'zip',
      output,
      until: '2026-09-30',
    })
    expect(result.environments.map((e) => [e.environment, e.runs, e.failed])).toEqual([
      ['staging', 1, 0],
      ['production', 2, 1],
    ])
    expect(closed).toEqual(['staging', 'production'])
    const files = new Map(Object.entries(unzipSync(readFileSync(output))))
    const manifest = JSON.parse(Buffer.from(files.get(MANIFEST_FILE)!).toString('utf8'))
    expect(manifest.format).toBe(FLEET_BUNDLE_FORMAT)
    expect(result.sha256).toBe(sha256(files.get(MANIFEST_FILE)!))
    // The top-level manifest hashes every other file.
    expect(manifest.files.map((f: {path: string}) => f.path).sort()).toEqual([...files.keys()].filter((p) => p !== MANIFEST_FILE).sort())
    for (const f of manifest.files) expect(sha256(files.get(f.path)!)).toBe(f.sha256)
    for (const [name, env] of Object.entries(envs)) {
      const prefix = `environments/${name}/`
      const own = new Map([...files].filter(([p]) => p.startsWith(prefix)).map(([p, bytes]) => [p.slice(prefix.length), bytes]))
      // Each environment's runs, and only those.
      expect([...own.keys()].filter((p) => p.endsWith('journal.jsonl')).map((p) => p.split('/')[1]).sort()).toEqual([...env.runIds].sort())
      const verified = await verifyBundleFiles(prefix, own, {target: env.target})
      expect(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok))).toBe(true)
    }
    expect(Buffer.from(files.get('report.md')!).toString('utf8')).toMatch(/\| production \| 2 \| 1 \| 1 \|/)
  })

  it('an environment without an evidence container is exit 2, naming it', async () => {
    await expect(
      exportFleetEvidence({
        environments: ['staging', 'dev'],
        open: async (name) => ({name, environment: envs.staging!.environment, target: name === 'dev' ? undefined : envs.staging!.target, close: async () => undefined}),
        root: tempDir(),
        source: 'blob',
        format: 'zip',
        output: join(tempDir(), 'x.zip'),
      }),
    ).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/dev/)})
  })
})
