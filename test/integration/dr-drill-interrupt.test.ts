/**
 * Ctrl-C in the middle of a drill: the run stops launching steps, rolls back, runs `finally`, and the scratch server
 * the restore was creating is deleted — even though the restore step never produced its outputs.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {postgresServers, runRunbook, sdkServices, servedVersion, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  // Long enough for the restore to be in flight when Ctrl-C arrives.
  emulator = await startLocalEmulator({lroDurationMs: 3000})
})
afterAll(async () => emulator?.stop())

function journal(cwd: string): string {
  const runs = join(cwd, '.opsbook', 'runs')
  const [runId] = existsSync(runs) ? readdirSync(runs) : []
  const file = runId ? join(runs, runId, 'journal.jsonl') : ''
  return file && existsSync(file) ? readFileSync(file, 'utf8') : ''
}

describe('dr-drill interrupted', () => {
  it('tears the scratch server down after Ctrl-C and exits 130', async () => {
    let cwd = ''
    const run = await runRunbook(emulator, 'dr-drill', [], {
      onStart(child) {
        const timer = setInterval(() => {
          if (/"operation\.started".*"pg-geo-restore-orders-db"|"pg-geo-restore-orders-db".*"operation\.started"/.test(journal(cwd))) {
            clearInterval(timer)
            child.kill('SIGINT')
          }
        }, 20)
        child.on('close', () => clearInterval(timer))
      },
      cwdReady: (dir) => (cwd = dir),
    })
    expect(run.code, run.stderr).toBe(130)
    expect(run.json.status).toBe('interrupted')
    const teardown = run.json.steps.find((s: {id: string; phase: string}) => s.id === 'pg-teardown-orders-db' && s.phase === 'finally')
    expect(teardown.status).toBe('succeeded')
    const copies = async () => (await postgresServers(sdkServices(emulator))).filter((s) => /-drill-/.test(s.name))
    const logged = readFileSync(run.json.journal, 'utf8')
    // The restore was still running at Ctrl-C: teardown waited for it and deleted the server it created.
    expect(logged).toMatch(/still running: waiting for it before deleting/)
    expect(logged).toMatch(/deleted pg-shop-orders-drill-/)
    expect(await copies()).toEqual([])
    // And nothing appears later: no create of this run is still pending in the emulator.
    expect(emulator.state.operations().filter((o) => o.operation === 'postgres.create' && o.status === 'InProgress')).toEqual([])
    expect((await servedVersion(emulator, 'app-shop-storefront')).version).toBe('v1')
    // The Redis drill copy (its export may have been in flight too) is gone; the scheduled snapshot is not.
    const blobs: string[] = []
    for await (const blob of (await sdkServices(emulator).blob('stshopsnapshots')).getContainerClient('redis-snapshots').listBlobsFlat()) blobs.push(blob.name)
    expect(blobs.filter((b) => b.startsWith('opsbook-drill-'))).toEqual([])
    expect(blobs.some((b) => b.startsWith('redis-shop-sessions-'))).toBe(true)
    expect(verifyChain(readFileSync(run.json.journal, 'utf8')).ok).toBe(true)
  })
})
