/**
 * Azure Managed Redis through the real CLI against an emulator started here, with its own small catalog (a Managed
 * Redis component and the snapshot storage): redis-export and redis-restore choose the managedredis.* actions from the
 * component's kind, the database is a real redis-server (keys written before the export come back after the import),
 * and a user runbook reads persistence and the geo-replication group, then force-unlinks the lost region's database.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {loadCatalog} from '../../src/catalog/loader.js'
import {runCliInProcess} from '../helpers/cli.js'
import {requests, runRunbook, scratchDir} from './support.js'

const CATALOG = `version: 1
environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-00000000a3a3
    region: eastus
    resourceGroups: [rg-amr]
    components:
      snapshots:
        type: storage
        name: stamrsnapshots
      carts:
        type: managedredis
        name: amr-shop-carts
        sku: Balanced_B5
        snapshots: { storageAccount: stamrsnapshots, container: amr-snapshots, frequency: PT1H }
        probe: { canary: { key: "opsbook:canary", write: true }, keyCount: { tolerance: 0.25 } }
        persistence: { mode: rdb, frequency: PT6H }
        geoReplication: { group: shop-carts, linkedDatabases: [{ cluster: amr-shop-carts-west, region: westus }] }
        objectives: { rto: PT30M, rpo: PT1H }
`

const USER_RUNBOOK = `name: amr-geo
title: Read persistence and the geo-replication group, then drop the lost region
kind: incident
params:
  cache: { type: target, component: managedredis }
steps:
  - id: persistence
    uses: managedredis.persistence
    with: { cache: "\${{ params.cache }}", require: true }
  - id: group
    uses: managedredis.geoReplication
    with: { cache: "\${{ params.cache }}" }
  - id: unlink
    needs: [persistence, group]
    uses: managedredis.forceUnlink
    with: { cache: "\${{ params.cache }}", unlink: [amr-shop-carts-west] }
outputs:
  persistence: \${{ steps.persistence.outputs }}
  group: \${{ steps.group.outputs }}
  unlink: \${{ steps.unlink.outputs }}
`

let emulator: RunningEmulator
let arm: AzureServices
let dir: string
let catalogFile: string

beforeAll(async () => {
  dir = scratchDir()
  catalogFile = join(dir, 'runbooks.yaml')
  writeFileSync(catalogFile, CATALOG)
  writeFileSync(join(dir, 'amr-geo.yaml'), USER_RUNBOOK)
  emulator = await startEmulator({catalogFile, environmentName: 'local', lroDurationMs: 100})
  const loaded = loadCatalog({flag: catalogFile})
  arm = createAzureServices({
    environment: loaded.catalog.environments.local!,
    environmentName: 'local',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, blob: emulator.blob, subscription: emulator.subscription},
  })
})
afterAll(async () => emulator?.stop())

const step = (json: any, id: string) => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === 'main')

/** A TLS connection to the database's real redis-server, found the way opsbook finds it (host name → local port). */
async function database(): Promise<import('ioredis').Redis> {
  const endpoint = await arm.redisEndpoint('amr-shop-carts.eastus.redis.azure.net', 10000, {user: 'integration-test'})
  const {Redis} = await import('ioredis')
  const client = new Redis({host: endpoint.host, port: endpoint.port, username: 'integration-test', password: 'token-not-checked', tls: {ca: endpoint.ca, servername: endpoint.servername}, lazyConnect: true})
  await client.connect()
  return client
}

describe('redis-export and redis-restore on a Managed Redis component', () => {
  it('exports through managedredis.export, reads the RDB back, and restores the keys through managedredis.import', async () => {
    const data = await database()
    await data.set('cart:amr-1', 'three items')
    const exported = await runRunbook(emulator, 'redis-export', ['--catalog', catalogFile, '--target', 'carts'], {cwd: dir, inProcess: true})
    expect(exported.code, exported.stderr).toBe(0)
    expect(step(exported.json, 'export').status).toBe('skipped')
    expect(step(exported.json, 'export-managed').status).toBe('succeeded')
    const [blob] = exported.json.outputs.blobs as string[]
    // The export wrote into the directory the sasUri named: <cluster>-<UTC time>Z.rdb/<database>.rdb.
    expect(blob).toMatch(/^amr-shop-carts-\d{8}T\d{6}Z\.rdb\/default\.rdb$/)
    // RPO read from the data: the canary opsbook wrote just before the export is inside the RDB.
    expect(Date.parse(exported.json.outputs.canaryAt)).toBeGreaterThan(Date.now() - 5 * 60_000)
    expect(exported.json.outputs.keyCount).toBe(await data.dbsize())
    expect(exported.json.outputs.meetsRpo).toBe(true)
    expect(exported.stdout + exported.stderr).not.toMatch(/sig=/)
    expect(requests(emulator).some((r) => r.method === 'POST' && /\/redisEnterprise\/amr-shop-carts\/databases\/default\/export$/i.test(r.path))).toBe(true)

    await data.del('cart:amr-1')
    await data.set('cart:amr-2', 'after the snapshot')
    data.disconnect()
    const restored = await runRunbook(emulator, 'redis-restore', ['--catalog', catalogFile, '--target', 'carts', '--param', `snapshot=${blob}`], {cwd: dir, inProcess: true})
    expect(restored.code, restored.stderr).toBe(0)
    expect(step(restored.json, 'import').status).toBe('skipped')
    expect(step(restored.json, 'import-managed').status).toBe('succeeded')
    expect(step(restored.json, 'verify-managed').status).toBe('succeeded')
    expect(restored.json.outputs).toMatchObject({snapshot: blob, dataAsOf: exported.json.outputs.canaryAt, dataAsOfSource: 'data', keyCount: exported.json.outputs.keyCount})
    const after = await database()
    expect(await after.get('cart:amr-1')).toBe('three items')
    expect(await after.get('cart:amr-2')).toBeNull()
    after.disconnect()
  })
})

describe('Managed Redis persistence and active geo-replication', () => {
  it('reads persistence and the group, and force-unlinks the lost region\'s database', async () => {
    const run = await runRunbook(emulator, join(dir, 'amr-geo.yaml'), ['--catalog', catalogFile, '--target', 'carts'], {cwd: dir, inProcess: true})
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs.persistence).toMatchObject({mode: 'rdb', frequency: '6h', expected: 'rdb/PT6H', matches: true})
    expect(run.json.outputs.group).toMatchObject({group: 'shop-carts', allLinked: true})
    expect(run.json.outputs.group.linkedDatabases.map((l: {cluster: string}) => l.cluster)).toEqual(['amr-shop-carts', 'amr-shop-carts-west'])
    expect(run.json.outputs.unlink).toEqual({cache: 'amr-shop-carts', unlinked: ['amr-shop-carts-west'], remaining: ['amr-shop-carts']})
    const client = await arm.redisEnterprise()
    const db = await client.databases.get('rg-amr', 'amr-shop-carts', 'default')
    expect(db.geoReplication?.linkedDatabases?.map((l) => l.id)).toEqual([expect.stringMatching(/\/redisEnterprise\/amr-shop-carts\/databases\/default$/)])
  })
})

describe('opsbook check on a Managed Redis cluster', () => {
  it('reports TLS, public access, Entra-only auth and persistence, reading the database at the api-version that has them', async () => {
    const result = await runCliInProcess(['check', '--env', 'local', '--catalog', catalogFile, '--format', 'json'], {cwd: dir, env: emulator.env()})
    const findings = (JSON.parse(result.stdout).findings as Array<{checkId: string; resourceId: string; status: string}>).filter((f) => f.checkId.startsWith('amr.'))
    const status = Object.fromEntries(findings.map((f) => [f.checkId, f.status]))
    // The seeded cluster: TLS 1.2, public access on, access keys on, RDB persistence from the catalog.
    expect(status).toEqual({'amr.tls.min12': 'pass', 'amr.net.public_disabled': 'fail', 'amr.auth.entra_only': 'fail', 'amr.data.persistence': 'pass'})
    expect(findings.every((f) => /\/redisEnterprise\/amr-shop-carts$/i.test(f.resourceId))).toBe(true)
  })
})
