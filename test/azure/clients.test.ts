import net from 'node:net'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {AGENT_IDLE_MS, createAzureServices} from '../../src/azure/clients.js'
import {identityAbortControllers} from '../../src/azure/identity-controllers.js'
import {ExitCode} from '../../src/errors.js'
import {startFixture, type Fixture} from './helpers.js'

let fixture: Fixture
beforeAll(async () => {
  // 30 s tokens, as the fault matrix and the soak serve (the held-token test below).
  fixture = await startFixture({tokenLifetimeSeconds: 30})
})
afterAll(async () => {
  await fixture?.stop()
})

describe('createAzureServices', () => {
  it('talks to the emulator with unmodified SDK clients and DefaultAzureCredential via its managed-identity endpoint', async () => {
    const {services, emulator} = fixture
    expect(services.target).toBe('emulator')
    expect(services.armEndpoint).toBe(emulator.armEndpoint)
    const [pg, redis, web] = await Promise.all([services.postgres(), services.redis(), services.web()])
    expect((await pg.servers.get('rg-shop-local', 'pg-shop-orders')).version).toBe('16')
    expect((await redis.redis.get('rg-shop-local', 'redis-shop-sessions')).sku.name).toBe('Premium')
    expect((await web.webApps.get('rg-shop-local', 'app-shop-storefront')).name).toBe('app-shop-storefront')
    // The token came from the emulator's managed-identity endpoint (its claims name the emulator identity).
    expect(await services.principal()).toMatchObject({kind: 'app', appId: 'opsbook-emulator', display: 'opsbook-emulator'})
  })

  it('reaches Resource Graph, metrics and storage management through the same factory', async () => {
    const {services, environment} = fixture
    const graph = await services.resourceGraph()
    const found = await graph.resources({subscriptions: [environment.subscription], query: "Resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project name"})
    expect(JSON.stringify(found.data)).toContain('pg-shop-orders')
    const storage = await services.storage()
    const container = await storage.blobContainers.get('rg-shop-local', 'stshopevidence', 'opsbook-evidence')
    expect(container.hasImmutabilityPolicy).toBe(true)
  })

  it('maps every storage account onto Azurite and hands out container SAS URLs that work', async () => {
    const {services} = fixture
    expect(services.blobAccountName('stshopsnapshots')).toBe('devstoreaccount1')
    const url = await services.containerSasUrl('stshopsnapshots', 'redis-snapshots', {permissions: 'rl', expiresInMs: 60_000})
    expect(url).toMatch(/\/redis-snapshots\?.*sig=/)
    const {ContainerClient} = await import('@azure/storage-blob')
    const names: string[] = []
    for await (const blob of new ContainerClient(url).listBlobsFlat()) names.push(blob.name)
    expect(names.some((n) => n.startsWith('redis-shop-sessions-'))).toBe(true)
  })

  it('asks the managed-identity endpoint once per scope while its short-lived token is good, not once per request (issue 16 soak)', async () => {
    // The file's emulator serves 30 s tokens: within MSAL's five-minute renewal offset, so without a held token every
    // client's every request fetched one, and @azure/identity keeps an AbortController of each fetch.
    const [pg, redis, web] = await Promise.all([fixture.services.postgres(), fixture.services.redis(), fixture.services.web()])
    const cursor = fixture.emulator.requestCount()
    for (let i = 0; i < 5; i++) {
      await pg.servers.get('rg-shop-local', 'pg-shop-orders')
      await redis.redis.get('rg-shop-local', 'redis-shop-sessions')
      await web.webApps.get('rg-shop-local', 'app-shop-storefront')
    }
    const log = fixture.emulator.requestLog(cursor)
    expect(log.filter((e) => e.operation !== 'identity.token' && e.status === 200)).toHaveLength(15)
    expect(log.filter((e) => e.operation === 'identity.token').length).toBeLessThanOrEqual(1)
  })

  it('keeps nothing of finished token requests: @azure/identity\'s AbortController per request is forgotten (Azure/azure-sdk-for-js#26161; issue 16 soak)', async () => {
    // Found by diffing the soak's heap snapshots: MSAL's static managed-identity source kept one controller per token
    // request for the life of the process (~7 a drill with the soak's 10 s tokens).
    const credential = fixture.services.credential as typeof fixture.services.credential & {refresh(scope: string): Promise<unknown>}
    const scope = 'https://management.azure.com/.default'
    const cursor = fixture.emulator.requestCount()
    for (let i = 0; i < 20; i++) await credential.refresh(scope)
    // Twenty real requests to the token endpoint (a refresh is never answered from a cache)…
    expect(fixture.emulator.requestLog(cursor).filter((e) => e.operation === 'identity.token' && e.status === 200)).toHaveLength(20)
    // …and none of their controllers left in the SDK's map (which must still be where this reads it: a renamed field
    // would make the clean-up a silent no-op).
    const controllers = await identityAbortControllers()
    expect(controllers).toBeInstanceOf(Map)
    expect([...controllers!.values()].reduce((n, list) => n + (list?.length ?? 0), 0)).toBe(0)
  })

  it('a caller that cancels its token request gets an AbortError at once; another caller waiting on the same request still gets its token', async () => {
    // A scope no earlier test asked for, so both calls share one request to the token endpoint.
    const scope = 'https://ossrdbms-aad.database.windows.net/.default'
    const cancelled = new AbortController()
    const first = fixture.services.credential.getToken(scope, {abortSignal: cancelled.signal})
    const second = fixture.services.credential.getToken(scope)
    cancelled.abort()
    await expect(first).rejects.toMatchObject({name: 'AbortError'})
    const token = await second
    expect(token?.token).toMatch(/^ey/)
  })

  it('answers a cancelled caller with the held token while it is good: the SDK retries a background refresh that way, and nobody awaits its rejection', async () => {
    // @azure/core-rest-pipeline's token cycler refreshes in the background with the options of the request that hit
    // the refresh window and retries with them; once that request was aborted (Ctrl-C), every retry was refused and the
    // refresh ended as an unhandled rejection (full fault matrix, dr-drill × double SIGINT, 5 s tokens).
    // A scope no other test asks for; the file's 30 s tokens are held until half their life (15 s before expiry).
    const scope = 'https://vault.azure.net/.default'
    const token = (await fixture.services.credential.getToken(scope))!
    expect(token.expiresOnTimestamp - Date.now()).toBeGreaterThan(20_000)
    // Into the refresh window without waiting 18 s for it: only Date moves (no timers are faked).
    vi.useFakeTimers({toFake: ['Date']})
    try {
      vi.setSystemTime(token.expiresOnTimestamp - 12_000)
      expect(await fixture.services.credential.getToken(scope, {abortSignal: AbortSignal.abort()})).toMatchObject({token: token.token})
    } finally {
      vi.useRealTimers()
    }
  })

  it('fetches a token for a caller already cancelled when none is held: the SDK retries an expired refresh that way, unawaited', async () => {
    // After the held token's expiry the cycler's last retry rethrows to nobody; refusing it made an unhandled rejection.
    const scope = 'https://redis.azure.com/.default' // no other test of this file asks for it: nothing is held
    const cursor = fixture.emulator.requestCount()
    const token = await fixture.services.credential.getToken(scope, {abortSignal: AbortSignal.abort()})
    expect(token?.token).toMatch(/^ey/)
    expect(fixture.emulator.requestLog(cursor).filter((e) => e.operation === 'identity.token')).toHaveLength(1)
  })

  it('a misspelt OPSBOOK_EMULATOR_IDENTITY asks the emulator for its identities once, however many token requests it fails', async () => {
    const saved = process.env.OPSBOOK_EMULATOR_IDENTITY
    process.env.OPSBOOK_EMULATOR_IDENTITY = 'raeder'
    try {
      const services = createAzureServices({environment: fixture.environment, environmentName: 'local', emulator: fixture.emulator})
      const cursor = fixture.emulator.requestCount()
      // Three clients' pipelines asking at once (each scope its own request), then one more later.
      const scopes = ['https://management.azure.com/.default', 'https://storage.azure.com/.default', 'https://ossrdbms-aad.database.windows.net/.default']
      const failures = await Promise.all(scopes.map((scope) => services.credential.getToken(scope).then(() => undefined, (error: unknown) => error)))
      failures.push(await services.credential.getToken(scopes[0]!).then(() => undefined, (error: unknown) => error))
      for (const error of failures) expect(error).toMatchObject({code: 'unknown-emulator-identity', exitCode: ExitCode.invalidInput})
      const log = fixture.emulator.requestLog(cursor)
      expect(log.filter((r) => r.operation === 'identity.token').length).toBeGreaterThanOrEqual(4)
      expect(log.filter((r) => r.operation === 'emulator.info')).toHaveLength(1)
    } finally {
      if (saved === undefined) delete process.env.OPSBOOK_EMULATOR_IDENTITY
      else process.env.OPSBOOK_EMULATOR_IDENTITY = saved
    }
  })

  /**
   * A TCP proxy in front of the emulator's ARM endpoint that plays Azure Load Balancer: a flow idle longer than
   * `idleMs` is dropped. `drop`: silently, the LB's default — what the client sends on it afterwards goes nowhere, and
   * the request hangs. `reset`: the rule's TCP reset — the client's next packet meets a reset.
   */
  const loadBalancer = async (idleMs: number, mode: 'drop' | 'reset', upstream: string = fixture.emulator.armEndpoint) => {
    const target = new URL(upstream)
    const flows = {opened: 0, closedByClient: 0, dropped: 0, lastActivity: Date.now()}
    const open = new Set<net.Socket>()
    const server = net.createServer((client) => {
      flows.opened++
      open.add(client)
      client.on('close', () => open.delete(client))
      const upstream = net.connect(Number(target.port), target.hostname)
      let last = Date.now()
      let dead = false
      const pass = (to: net.Socket, fromClient: boolean) => (chunk: Buffer) => {
        if (dead) return
        if (fromClient && Date.now() - last > idleMs) {
          dead = true
          flows.dropped++
          if (mode === 'reset') {
            client.resetAndDestroy()
            upstream.destroy()
          }
          return
        }
        last = Date.now()
        flows.lastActivity = last
        to.write(chunk)
      }
      client.on('data', pass(upstream, true))
      upstream.on('data', pass(client, false))
      client.on('end', () => {
        flows.closedByClient++
        upstream.end()
      })
      client.on('error', () => undefined)
      upstream.on('error', () => undefined)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const armEndpoint = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`
    // The upstream's URL through the balancer (its scheme and path: Azurite's is http://…/devstoreaccount1).
    const endpoint = `${target.protocol}//127.0.0.1:${(server.address() as net.AddressInfo).port}${target.pathname.replace(/\/$/, '')}`
    // Connections a client still keeps alive are cut, or close() would wait for them (60 s for the default agent).
    const close = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of open) socket.destroy()
      })
    return {flows, armEndpoint, endpoint, close}
  }

  it('closes an idle kept-alive connection before a load balancer drops its flow: a request after a long wait does not hang (issue 16)', async () => {
    // The SDK's keep-alive agent kept the connection until the server closed it; behind Azure Load Balancer (4 min
    // idle by default, silent drop) the next request — a POST after a long core.wait — went into a dead flow.
    const lb = await loadBalancer(1500, 'drop')
    try {
      const services = createAzureServices({environment: fixture.environment, environmentName: 'local', emulator: {...fixture.emulator, armEndpoint: lb.armEndpoint}, agentIdleMs: 300})
      const redis = (await services.redis()).redis
      expect((await redis.get('rg-shop-local', 'redis-shop-sessions')).name).toBe('redis-shop-sessions')
      expect(lb.flows.opened).toBe(1)
      // Past the balancer's idle timeout: a request on the old connection would hang (until this test's 10 s abort).
      await expect.poll(() => Date.now() - lb.flows.lastActivity, {timeout: 10_000, interval: 100}).toBeGreaterThan(1600)
      const keys = await redis.listKeys('rg-shop-local', 'redis-shop-sessions', {abortSignal: AbortSignal.timeout(10_000)})
      expect(keys.primaryKey).toBeTruthy()
      // opsbook had closed the connection itself once idle agentIdleMs, before the balancer's timeout; the request
      // went on a new one.
      expect(lb.flows).toMatchObject({opened: 2, closedByClient: 1, dropped: 0})
    } finally {
      await lb.close()
    }
  })

  it('closes an idle kept-alive Blob connection too (evidence, leases): a request after a long wait does not hang (issue 16)', async () => {
    // Storage's SDK used core-rest-pipeline's default keep-alive agent, which keeps an idle connection until the server
    // closes it (Azurite here: 60 s; Azure Storage's front ends behind the 4-minute balancer): an evidence append or a
    // lease renewal after a long quiet step went into a dropped flow.
    const lb = await loadBalancer(1500, 'drop', fixture.emulator.blob.endpoint)
    try {
      const services = createAzureServices({environment: fixture.environment, environmentName: 'local', emulator: {...fixture.emulator, blob: {...fixture.emulator.blob, endpoint: lb.endpoint}}, agentIdleMs: 300})
      const container = (await services.blob('stshopevidence')).getContainerClient('opsbook-evidence')
      expect(await container.exists()).toBe(true)
      expect(lb.flows.opened).toBe(1)
      // opsbook closes the idle connection itself, well before the balancer's timeout (1.5 s here; 4 min in Azure).
      await expect.poll(() => lb.flows.closedByClient, {timeout: 5000, interval: 50}).toBe(1)
      await expect.poll(() => Date.now() - lb.flows.lastActivity, {timeout: 10_000, interval: 100}).toBeGreaterThan(1600)
      expect(await container.exists({abortSignal: AbortSignal.timeout(10_000)})).toBe(true)
      expect(lb.flows).toMatchObject({opened: 2, dropped: 0})
    } finally {
      await lb.close()
    }
  })

  it('keeps idle connections of ARM and Blob clients for less than Azure Load Balancer\'s 4-minute idle timeout by default', () => {
    expect(AGENT_IDLE_MS).toBeLessThan(4 * 60_000)
  })

  it('sends an idempotent request again on a new connection when a reused one was reset under it', async () => {
    // The balancer's TCP reset (or a server closing as the request leaves) meets a request on a reused connection:
    // a GET is sent again (policy.ts), as httpGet does.
    const lb = await loadBalancer(200, 'reset')
    try {
      const services = createAzureServices({environment: fixture.environment, environmentName: 'local', emulator: {...fixture.emulator, armEndpoint: lb.armEndpoint}, retry: {baseDelayMs: 20, maxDelayMs: 200}})
      const redis = (await services.redis()).redis
      await redis.get('rg-shop-local', 'redis-shop-sessions')
      const opened = lb.flows.opened
      // The connection has been idle past the balancer's timeout (and is still kept: 60 s by default).
      await expect.poll(() => Date.now() - lb.flows.lastActivity, {timeout: 5000, interval: 50}).toBeGreaterThan(400)
      expect((await redis.get('rg-shop-local', 'redis-shop-sessions')).name).toBe('redis-shop-sessions')
      expect(lb.flows.dropped).toBe(1)
      expect(lb.flows.opened).toBe(opened + 1)
    } finally {
      await lb.close()
    }
  })

  it('refuses an emulator environment without an emulator connection (exit 2)', () => {
    expect(() => createAzureServices({environment: fixture.environment, environmentName: 'local'})).toThrow(
      expect.objectContaining({exitCode: ExitCode.invalidInput, code: 'emulator-required'}),
    )
  })

  it('points real-Azure clients at the catalog\'s sovereign cloud without connecting', () => {
    const china = createAzureServices({environment: {...fixture.environment, cloud: 'azure', azureCloud: 'AzureChinaCloud'}, environmentName: 'cn'})
    expect(china.target).toBe('azure')
    expect(china.armEndpoint).toBe('https://management.chinacloudapi.cn')
    expect(china.httpsCa).toBeUndefined()
    const gov = createAzureServices({environment: {...fixture.environment, cloud: 'azure', azureCloud: 'AzureUSGovernment'}, environmentName: 'gov'})
    expect(gov.armEndpoint).toBe('https://management.usgovcloudapi.net')
  })
})
