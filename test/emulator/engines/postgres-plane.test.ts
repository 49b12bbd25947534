/**
 * Who may sign in to an emulated PostgreSQL flexible server with a Microsoft Entra token (engines/postgres-plane.ts):
 * only a Microsoft Entra administrator can initially connect with an Entra account, and only an administrator creates
 * roles for other principals (learn.microsoft.com/azure/postgresql/security/security-entra-concepts).
 */
import {get} from 'node:https'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../../src/azure/clients.js'
import {startEmulator, type RunningEmulator} from '../../../src/emulator/server.js'
import {sdkServices} from '../../integration/support.js'
import {useMemoryTempDir} from '../../helpers/memory-tmp.js'
import {credentialFor, hlcOptions, poll, RG} from '../helpers.js'

// Its servers' data, backups and WAL in memory, copied from the templates the other real-engine files keep there.
useMemoryTempDir()

const RUNNER_OID = '7d2e4b10-3c55-4f0e-8a61-0b9c2f4e6a13'
let emulator: RunningEmulator
let arm: AzureServices

beforeAll(async () => {
  emulator = await startEmulator({
    catalogFile: 'runbooks.yaml',
    lroDurationMs: 0,
    dataPlane: 'real',
    estate: {resources: {}, identities: {'ops-runner': {objectId: RUNNER_OID, roles: [{role: 'Owner'}]}}},
  })
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())

/** A Microsoft Entra token for Azure Database for PostgreSQL, for the estate identity ops-runner (its managed identity). */
function runnerToken(): Promise<string> {
  const url = `${emulator.armEndpoint}/msi/token?api-version=2019-08-01&resource=${encodeURIComponent('https://ossrdbms-aad.database.windows.net')}&object_id=${RUNNER_OID}`
  return new Promise((resolve, reject) =>
    get(url, {ca: emulator.caPem, agent: false, headers: {'X-IDENTITY-HEADER': emulator.identityHeader}}, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text).access_token))
    }).on('error', reject),
  )
}

describe('Microsoft Entra sign-in on a server without a Microsoft Entra administrator', () => {
  it('refuses a valid token for a login that is neither an administrator nor a role an administrator created, saying why', async () => {
    const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
    const client = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const name = 'pg-no-entra-admin'
    await client.servers.beginCreateOrUpdateAndWait(
      RG,
      name,
      {location: 'eastus', version: '16', sku: {name: 'Standard_D2ds_v5', tier: 'GeneralPurpose'}, administratorLogin: 'pgadmin', administratorLoginPassword: 'Not-a-real-secret-1', authConfig: {activeDirectoryAuth: 'Enabled'}},
      poll,
    )
    const id = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`
    const address = await arm.postgresAddress({id, fqdn: `${name}.postgres.database.azure.com`, port: 5432})
    const pg = (await import('pg')).default
    const login = new pg.Client({host: address!.host, port: address!.port, user: 'ops-runner', password: await runnerToken(), database: 'postgres', ssl: {ca: address!.ca, servername: address!.servername}})
    const refused = await login.connect().then(
      () => undefined,
      (error: Error & {code?: string}) => error,
    )
    await login.end().catch(() => undefined)
    expect(refused?.code).toBe('28P01')
    expect(refused?.message).toContain(`password authentication failed for user "ops-runner": ${name} has no Microsoft Entra administrator: only a Microsoft Entra administrator can initially connect`)
  }, 120_000)
})
