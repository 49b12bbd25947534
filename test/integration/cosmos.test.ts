/**
 * cosmos-pitr through the real CLI against an emulator started here with the load generator writing into the catalog
 * account's probe container: as a drill leg (scratch copy restored, RTO/RPO measured from the copy's newest `_ts`,
 * torn down), and a periodic-backup account reported as not restorable with nothing changed. Two CLI starts.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {repoRoot, requests, runRunbook, scratchDir, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
let arm: AzureServices

beforeAll(async () => {
  emulator = await startLocalEmulator({load: {ratePerSecond: 5}})
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())

const step = (json: any, id: string, phase = 'main') => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)

async function accounts(): Promise<string[]> {
  const client = await arm.cosmos()
  const names: string[] = []
  for await (const a of client.databaseAccounts.listByResourceGroup('rg-shop-local')) names.push(a.name!)
  return names.sort()
}

describe('cosmos-pitr', () => {
  it('as a drill leg: restores a scratch account, measures RTO/RPO from the copy\'s newest _ts, and tears the copy down', async () => {
    const before = await accounts()
    const run = await runRunbook(emulator, 'cosmos-pitr', ['--target', 'catalog-cosmos', '--param', 'scratch=true', '--param', 'teardown=true'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.account).toMatch(/^cosmos-shop-local-drill-/)
    expect(run.json.outputs.dataAsOfSource).toBe('data')
    expect(run.json.outputs.items).toBeGreaterThan(100)
    // The drill table's row: RTO restore start → verified, RPO = restore point − newest _ts in the copy (whole seconds).
    expect(run.json.outputs.row).toMatchObject({component: 'catalog-cosmos', type: 'cosmosdb', status: 'met', rto: {objectiveMs: 3_600_000, met: true}, rpo: {objectiveMs: 300_000, met: true}})
    expect(run.json.outputs.rpoMs).toBeLessThan(2_000)
    const put = requests(emulator).find((r) => r.method === 'PUT' && /databaseAccounts\/cosmos-shop-local-drill-/.test(r.path))
    expect(put).toBeDefined()
    expect(step(run.json, 'teardown', 'finally').status).toBe('succeeded')
    expect(await accounts()).toEqual(before)
  })

  it('reports a periodic-backup account as not restorable by opsbook (exit 2, the reason, no change)', async () => {
    const client = await arm.cosmos()
    await client.databaseAccounts.beginCreateOrUpdateAndWait('rg-shop-local', 'cosmos-legacy', {location: 'eastus', databaseAccountOfferType: 'Standard', locations: [{locationName: 'eastus'}]}, {updateIntervalInMs: 20})
    const from = emulator.requestLog().length
    // The same catalog with one more account, periodic-backup as the catalog says (the CLI reads it with --catalog).
    const cwd = scratchDir()
    const catalog = join(cwd, 'runbooks.yaml')
    const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
    writeFileSync(catalog, text.replace(/^      catalog-cosmos:$/m, '      legacy-cosmos:\n        type: cosmosdb\n        name: cosmos-legacy\n        backup: periodic\n$&'))
    const run = await runRunbook(emulator, 'cosmos-pitr', ['--target', 'legacy-cosmos', '--catalog', catalog], {cwd})
    expect(run.code, run.stderr).toBe(2)
    expect(step(run.json, 'check').error).toMatch(/not restorable by opsbook: cosmos-legacy uses the Periodic backup mode: Azure restores periodic backups only through a support request/)
    expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
  })
})
