/**
 * region-failover through the CLI against the emulator: Traffic Manager failing the storefront over to
 * its westus copy, proven over HTTP through the router's loopback front, with RTO measured from the switch and traffic
 * failed back; and a preflight that refuses an unhealthy DR region before anything changes. Front Door, and both
 * routers as legs of the drill (their rows measured), are in dr-drill.test.ts, on the drill's emulator. Both runs are
 * in the test process (runRunbookInProcess: the same command without ~1 s of CPU to start a CLI process); nothing here
 * is about the process itself (exit codes of the spawned binary: test/commands, the other integration files).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AzureServices} from '../../src/azure/clients.js'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {deploy, requests, runRunbookInProcess, sdkServices, startLocalEmulator} from './support.js'

let emulator: RunningEmulator
let arm: AzureServices
/** The (compressed) DNS TTL: how long clients keep the old answer after a routing change (the default is 3 s). */
const ROUTING_PROPAGATION_MS = 1000

beforeAll(async () => {
  emulator = await startLocalEmulator({routingPropagationMs: ROUTING_PROPAGATION_MS})
  arm = sdkServices(emulator)
})
afterAll(async () => emulator?.stop())

const step = (json: any, id: string, phase = 'main') => json.steps.find((s: {id: string; phase: string}) => s.id === id && s.phase === phase)

/** Which region the router's front answers from now, asked over HTTP as a browser would. */
async function servedRegion(kind: 'trafficmanager' | 'frontdoor'): Promise<string | null> {
  const listed = await arm.armRequest('GET', `/_emulator/${kind}`)
  const response = await fetch(`${listed.body.value[0].url}/health`)
  return response.headers.get('x-opsbook-region')
}

describe('region-failover', () => {
  it('Traffic Manager: switches to westus, sees healthy traffic from it over HTTP, measures RTO, fails back', async () => {
    const from = emulator.requestLog().length
    const run = await runRunbookInProcess(emulator, 'region-failover', ['--target', 'storefront-dns'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.outputs).toMatchObject({router: 'tm-shop-local', toRegion: 'westus', objective: 'PT15M', met: true, failedBack: true})
    // Clients keep the old answer for the (compressed) DNS TTL: healthy westus traffic cannot come sooner.
    expect(run.json.outputs.rtoMs).toBeGreaterThanOrEqual(ROUTING_PROPAGATION_MS)
    // Healthy traffic came from westus during the failover, and from eastus again after failing back.
    expect(run.json.outputs).toMatchObject({servedFrom: 'westus', servedAfterFailBack: 'eastus'})
    // Through ARM: only the eastus endpoint was disabled, then enabled again.
    const patches = requests(emulator).slice(from).filter((r) => r.method === 'PATCH')
    expect(patches.map((r) => r.path.split('/').at(-1))).toEqual(['eastus', 'eastus'])
    const profile = await (await arm.trafficManager()).profiles.get('rg-shop-local', 'tm-shop-local')
    expect(profile.endpoints?.map((e) => [e.name, e.endpointStatus, e.endpointMonitorStatus])).toEqual([
      ['eastus', 'Enabled', 'Online'],
      ['westus', 'Enabled', 'Online'],
    ])
    expect(await servedRegion('trafficmanager')).toBe('eastus')
  })

  it('refuses to fail over to an unhealthy DR region: exit 1, nothing changed', async () => {
    await deploy(emulator, 'app-shop-storefront-dr', 'production', 'broken', false)
    try {
      const from = emulator.requestLog().length
      const run = await runRunbookInProcess(emulator, 'region-failover', ['--param', 'router=storefront-dns'])
      expect(run.code, run.stderr).toBe(1)
      expect(step(run.json, 'preflight').error).toMatch(/no healthy endpoint in westus: westus: endpointMonitorStatus Degraded/)
      expect(requests(emulator).slice(from).filter((r) => r.method !== 'GET')).toEqual([])
      expect(await servedRegion('trafficmanager')).toBe('eastus')
    } finally {
      await deploy(emulator, 'app-shop-storefront-dr', 'production', 'v1', true)
    }
  })
})
