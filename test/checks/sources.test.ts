/**
 * The check sources over the unmodified SDK clients and the Key Vault data plane, against the emulator: lists are
 * read to their last page, at the page size Azure documents.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createAzureServices, type AzureServices} from '../../src/azure/clients.js'
import {sourcesFromServices} from '../../src/checks/sources.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {deployedEnvironment, RG} from './emulator-fixture.js'

// 30 certificates: more than one Key Vault page (up to 25, GetCertificates' maxresults default).
const certificates = Array.from({length: 30}, (_, i) => ({
  name: `cert-${String(i).padStart(2, '0')}`,
  enabled: true,
  expires: '2030-01-01T00:00:00Z',
  issuer: 'Self',
  validityMonths: 12,
  autoRenew: true,
  lifetimePercentage: 80,
}))
const environment = deployedEnvironment()
const running: RunningEmulator[] = []
afterAll(async () => Promise.all(running.map((e) => e.stop())))

async function start(listPageSizes?: Record<string, number>): Promise<{emulator: RunningEmulator; services: AzureServices; vaultUri: string}> {
  const emulator = await startEmulator({environment, environmentName: 'checks', lroDurationMs: 0, estate: {resources: {'kv-good': {certificates}}}, listPageSizes})
  running.push(emulator)
  const services = createAzureServices({
    environment,
    environmentName: 'checks',
    emulator: {armEndpoint: emulator.armEndpoint, caPem: emulator.caPem, identityHeader: emulator.identityHeader, blob: emulator.blob, subscription: emulator.subscription},
  })
  const vault = await (await services.keyvault()).vaults.get(RG, 'kv-good')
  return {emulator, services, vaultUri: vault.properties.vaultUri!}
}

describe('kvCertificates reads every page of Get Certificates', () => {
  let plain: Awaited<ReturnType<typeof start>>
  beforeAll(async () => {
    plain = await start()
  }, 60_000)

  it('Key Vault answers 25 certificates a page with an absolute nextLink on the vault host; the check reads both pages', async () => {
    const from = plain.emulator.requestLog().length
    const found = await sourcesFromServices(plain.services).kvCertificates(plain.vaultUri)
    expect(found.map((c) => c.name).sort()).toEqual(certificates.map((c) => c.name))
    expect(found.every((c) => c.policy?.issuer === 'Self')).toBe(true)
    const lists = plain.emulator.requestLog().slice(from).filter((e) => e.operation === 'keyvault.data.getCertificates')
    expect(lists.map((e) => new URLSearchParams(e.query).get('$skiptoken'))).toEqual([null, '25'])
  })

  it('maxresults (1–25, keyvault data-plane 7.5 certificates.json) sets the page size and rides along in the nextLink', async () => {
    const first = await plain.services.keyVaultGet(plain.vaultUri, '/certificates?maxresults=10')
    expect(first.status).toBe(200)
    expect(first.body.value).toHaveLength(10)
    const next = new URL(first.body.nextLink)
    expect(next.searchParams.get('maxresults')).toBe('10')
    const second = await plain.services.keyVaultGet(plain.vaultUri, `${next.pathname}?$skiptoken=${next.searchParams.get('$skiptoken')}&maxresults=10`)
    expect(second.body.value.map((c: {id: string}) => c.id.split('/').pop())).toEqual(certificates.slice(10, 20).map((c) => c.name))
  })

  it('a smaller page (test-only emulator knob) still yields every certificate, one request a page', async () => {
    const small = await start({'keyvault.data.getCertificates': 7})
    const found = await sourcesFromServices(small.services).kvCertificates(small.vaultUri)
    expect(found).toHaveLength(30)
    expect(small.emulator.requestLog().filter((e) => e.operation === 'keyvault.data.getCertificates')).toHaveLength(5)
  }, 60_000)
})
