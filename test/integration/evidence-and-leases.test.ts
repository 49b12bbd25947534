/**
 * Evidence and leases through the CLI, against one emulator shared by every process:
 * a drill's journal and summary land in the evidence container byte-identical to the local copies, and two runs
 * against the same component at once — one proceeds, the other is blocked with exit 5 naming the first.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {BlobServiceClient, StorageSharedKeyCredential} from '@azure/storage-blob'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {runBlobPrefix} from '../../src/evidence/blob-sink.js'
import {repoRoot, runCli, runCliInProcess, scratchDir} from '../helpers/cli.js'

let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())

function evidenceContainer() {
  const {endpoint, account, key} = emulator.blob
  return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key)).getContainerClient('opsbook-evidence')
}

describe('evidence and target leases through the CLI', () => {
  it('uploads a drill\'s journal and summary byte-identical to the local copies', async () => {
    const cwd = scratchDir()
    // One component's drill: the upload is the same for any run (a whole estate's drill is dr-drill.test's). The run is
    // a real process, so the upload must be done before it exits.
    const result = await runCli(['run', 'dr-drill', '--env', 'local', '--component', 'orders-db', '--json'], {cwd, env: emulator.env(), timeoutMs: 120_000})
    expect(result.code, result.stderr).toBe(0)
    const {runId, startedAt} = JSON.parse(result.stdout)
    const prefix = runBlobPrefix(runId, startedAt)
    const container = evidenceContainer()
    for (const file of ['journal.jsonl', 'summary.json']) {
      const local = readFileSync(join(cwd, '.opsbook', 'runs', runId, file))
      const remote = await container.getBlobClient(`${prefix}${file}`).downloadToBuffer()
      expect(remote.equals(local), `${file} differs between Blob and the local copy`).toBe(true)
    }
    const verified = await runCliInProcess(['evidence', 'verify', runId, '--env', 'local', '--json'], {cwd, env: emulator.env()})
    expect(verified.code, verified.stdout).toBe(0)
  }, 150_000)

  it('blocks a second run on a component another run holds: exit 5 naming the holder', async () => {
    const restoreTime = new Date(Date.now() - 5 * 60_000).toISOString()
    const args = ['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime}`, '--json']
    let restoring!: () => void
    const firstIsRestoring = new Promise<void>((resolve) => (restoring = resolve))
    // The first run's restore stays in progress until the second run has been turned away: a condition, not a time.
    emulator.faults.set({hangOperations: ['postgres.create']})
    const first = runCli(args, {
      cwd: scratchDir(),
      env: emulator.env(),
      timeoutMs: 120_000,
      onOutput: (text) => text.includes('▸ restore') && restoring(),
    })
    let second
    try {
      await firstIsRestoring
      // The second run is turned away before it starts anything: in the test process (the first is a real process).
      second = await runCliInProcess(args, {cwd: scratchDir(), env: emulator.env()})
    } finally {
      emulator.faults.set({hangOperations: []})
    }
    const firstResult = await first
    expect(firstResult.code, firstResult.stderr).toBe(0)
    const firstRunId = JSON.parse(firstResult.stdout).runId
    expect(second.code).toBe(5)
    const error = JSON.parse(second.stdout).error
    expect(error.code).toBe('blocked-lease')
    expect(error.message).toContain(firstRunId)
    expect(error.details.holder).toMatchObject({runId: firstRunId})
  }, 150_000)
})
