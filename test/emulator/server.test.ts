import {generateKeyPairSync} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {request as httpsRequest} from 'node:https'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {resetEmulatorState} from '../../src/emulator/state.js'
import {issuerOf, signToken, type TokenClaims} from '../../src/emulator/tokens.js'
import {bearerFor, credentialFor, hlcOptions, RG, scopeFor} from './helpers.js'

let emulator: RunningEmulator
let pg: import('@azure/arm-postgresql-flexible').PostgreSQLManagementFlexibleServerClient

beforeAll(async () => {
  // Diagnostic settings are not in the catalog: the estate declares the vault's audit setting.
  emulator = await startEmulator({
    catalogFile: 'runbooks.yaml',
    lroDurationMs: 300,
    // And one user-assigned identity the token endpoint can sign in as (the unknown-identity refusal below).
    estate: {
      resources: {'kv-shop-local': {diagnosticSettings: [{name: 'audit-to-law', logs: [{category: 'AuditEvent', enabled: true}]}]}},
      identities: {reader: {clientId: '0b7c1c55-3a4e-4f0a-9d2b-6c1e8f7a9b10', roles: [{role: 'Reader'}]}},
    },
  })
  const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
  pg = new PostgreSQLManagementFlexibleServerClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator, 3))
})
afterAll(async () => emulator?.stop())
beforeEach(() => {
  emulator.faults.clear()
  emulator.clearRequestLog()
})

describe('emulator core', () => {
  it('authenticates the unmodified DefaultAzureCredential through the managed-identity endpoint', async () => {
    const saved = {...process.env}
    for (const k of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE']) delete process.env[k]
    Object.assign(process.env, emulator.env())
    try {
      const {DefaultAzureCredential} = await import('@azure/identity')
      const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
      const client = new PostgreSQLManagementFlexibleServerClient(new DefaultAzureCredential(), emulator.subscription, hlcOptions(emulator))
      const server = await client.servers.get(RG, 'pg-shop-orders')
      expect(server.name).toBe('pg-shop-orders')
      expect(emulator.requestLog().some((e) => e.operation === 'identity.token' && e.status === 200)).toBe(true)
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })

  it('refuses the unmodified ManagedIdentityCredential with a wrong IDENTITY_HEADER, and the user reads why', async () => {
    // In a child process: msal-node fixes the managed-identity source and its IDENTITY_HEADER process-wide on first
    // use, and vitest shares processes between files, so a stale header cannot be tried in this one.
    const {execFile} = await import('node:child_process')
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^AZURE_|^IDENTITY_|^MSI_/.test(k)) env[k] = v
    Object.assign(env, emulator.env(), {IDENTITY_HEADER: `${emulator.identityHeader}-stale`})
    const script = `import {ManagedIdentityCredential} from '@azure/identity'
      try { await new ManagedIdentityCredential().getToken('https://management.azure.com/.default'); console.log('TOKEN ISSUED') }
      catch (error) { console.log(error.message) }`
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], {cwd: join(import.meta.dirname, '..', '..'), env, timeout: 120_000}, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    )
    // The message comes from the body's \`message\` (App Service's error shape), not a generic failure.
    expect(output).toMatch(/X-IDENTITY-HEADER value is not this endpoint's IDENTITY_HEADER/)
    expect(emulator.requestLog().some((e) => e.operation === 'identity.token' && e.status === 401)).toBe(true)
  })

  it('throttles with 429 + Retry-After under a token bucket, and the SDK retries after waiting', async () => {
    emulator.faults.set({throttle: {capacity: 2, refillPerSecond: 2}})
    const names = []
    for (let i = 0; i < 4; i++) names.push((await pg.servers.get(RG, 'pg-shop-orders')).name)
    expect(names).toEqual(Array(4).fill('pg-shop-orders'))
    // (The credential's first token comes from the emulator's token endpoint: not an ARM request.)
    const statuses = emulator.requestLog().filter((e) => e.operation !== 'identity.token').map((e) => e.status)
    expect(statuses).toContain(429)
    expect(statuses.filter((s) => s === 200)).toHaveLength(4)
  })

  it('fails the next request with a transient 503 that the SDK retries', async () => {
    emulator.faults.set({transient: {next: 1}})
    const server = await pg.servers.get(RG, 'pg-shop-orders')
    expect(server.name).toBe('pg-shop-orders')
    expect(emulator.requestLog().filter((e) => e.operation !== 'identity.token').map((e) => e.status)).toEqual([503, 200])
  })

  it('answers unknown resource groups and resources with ARM 404s', async () => {
    await expect(pg.servers.get('rg-missing', 'x')).rejects.toMatchObject({statusCode: 404, code: 'ResourceGroupNotFound'})
    await expect(pg.servers.get(RG, 'pg-missing')).rejects.toMatchObject({statusCode: 404, code: 'ResourceNotFound'})
  })

  it('serves arm-monitor paths that start with // (resource ids inserted unencoded)', async () => {
    const {MonitorClient} = await import('@azure/arm-monitor')
    const monitor = new MonitorClient(credentialFor(emulator), emulator.subscription, hlcOptions(emulator))
    const id = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-shop-local`
    const settings = await monitor.diagnosticSettings.list(id)
    expect(settings.value?.[0]?.logs?.[0]?.category).toBe('AuditEvent')
  })
})

describe('bearer tokens, validated as ARM validates Microsoft Entra tokens', () => {
  /** GET a server with this Authorization header: status, error code and message, challenge. */
  const getWith = (authorization: string) =>
    new Promise<{status?: number; code?: string; message?: string; challenge?: string}>((resolve, reject) => {
      const url = `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders?api-version=2025-08-01`
      const req = httpsRequest(url, {ca: emulator.caPem, agent: false, headers: {authorization}}, (res) => {
        let body = ''
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => {
          const error = body ? (JSON.parse(body) as {error?: {code?: string; message?: string}}).error : undefined
          resolve({status: res.statusCode, code: error?.code, message: error?.message, challenge: res.headers['www-authenticate'] as string | undefined})
        })
      })
      req.on('error', reject)
      req.end()
    })
  const now = Math.floor(Date.now() / 1000)
  const tenant = '00000000-0000-0000-0000-000000000000'
  const claims: TokenClaims = {aud: 'https://management.azure.com/', iss: issuerOf(tenant), nbf: now - 60, exp: now + 3600, oid: '11111111-1111-1111-1111-111111111111', tid: tenant}
  const issuer = () => ({certPem: emulator.caPem, keyPem: readFileSync(join(dirname(emulator.caFile), 'key.pem'), 'utf8')})
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

  it("serves a token of the emulator's issuer for either ARM audience, and refuses any other with ARM's 401 codes", async () => {
    expect((await getWith(`Bearer ${signToken(claims, issuer())}`)).status).toBe(200)
    // az's custom cloud asks for https://management.core.windows.net/ (the cloud's active-directory resource id).
    expect((await getWith(`Bearer ${signToken({...claims, aud: 'https://management.core.windows.net/'}, issuer())}`)).status).toBe(200)

    expect(await getWith('Bearer static-test-token')).toMatchObject({status: 401, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'})
    expect(await getWith(`Bearer ${b64({alg: 'none', typ: 'JWT'})}.${b64(claims)}.`)).toMatchObject({status: 401, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'})
    const forgedKey = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'}).toString()
    const forged = await getWith(`Bearer ${signToken(claims, {certPem: emulator.caPem, keyPem: forgedKey})}`)
    expect(forged).toMatchObject({status: 401, code: 'InvalidAuthenticationToken', message: 'The access token has invalid signature.'})
    expect(forged.challenge).toMatch(/^Bearer authorization_uri="[^"]+", error="invalid_token"/)
    const postgresToken = await getWith(`Bearer ${signToken({...claims, aud: 'https://ossrdbms-aad.database.windows.net'}, issuer())}`)
    expect(postgresToken).toMatchObject({status: 401, code: 'InvalidAuthenticationTokenAudience'})
    expect(postgresToken.message).toContain("wrong audience or resource 'https://ossrdbms-aad.database.windows.net'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/'")
    const otherTenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
    expect(await getWith(`Bearer ${signToken({...claims, iss: issuerOf(otherTenant), tid: otherTenant}, issuer())}`)).toMatchObject({
      status: 401,
      code: 'InvalidAuthenticationTokenTenant',
      message: expect.stringContaining(`The access token is from the wrong issuer '${issuerOf(otherTenant)}'`),
    })
    expect(await getWith(`Bearer ${signToken({...claims, nbf: now - 7200, exp: now - 3600}, issuer())}`)).toMatchObject({status: 401, code: 'ExpiredAuthenticationToken'})
    const {oid: _oid, ...noPrincipal} = claims
    expect(await getWith(`Bearer ${signToken(noPrincipal as TokenClaims, issuer())}`)).toMatchObject({status: 401, code: 'InvalidAuthenticationToken', message: expect.stringContaining("'oid' should be present")})
    // Refused requests never reached the provider: the log shows the 401s and the two served GETs only.
    expect(emulator.requestLog().map((e) => e.status).filter((s) => s === 200)).toHaveLength(2)
  })

  it("refuses a request with no Authorization header as ARM does (401 AuthenticationFailed and ARM's challenge naming the tenant)", async () => {
    const paths: Array<[string, string]> = [
      ['GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders?api-version=2025-08-01`],
      ['GET', `/subscriptions/${emulator.subscription}?api-version=2019-11-01`],
      ['PATCH', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders?api-version=2025-08-01`],
      // Emulator-only paths (admin hooks, data probes) and the data planes on ARM's host are no exception.
      ['GET', '/_emulator/webapps'],
      ['GET', `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders/opsbookData`],
      ['POST', '/workspaces/ws-shop/query'],
    ]
    for (const [method, path] of paths) {
      const answer = await raw(path, {method, headers: {}, ...(method === 'GET' ? {} : {body: {tags: {owner: 'nobody'}}})})
      expect([method, path, answer.status, answer.json]).toEqual([method, path, 401, {error: {code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing."}}])
      const authority = path.startsWith('/subscriptions/') ? `https://login.windows.net/${tenant}` : 'https://login.windows.net/'
      expect(answer.headers['www-authenticate']).toBe(
        `Bearer authorization_uri="${authority}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
      )
    }
    // Nothing was changed: the PATCH never reached the provider.
    expect((await pg.servers.get(RG, 'pg-shop-orders')).tags?.owner).not.toBe('nobody')
    // Another scheme than Bearer is refused as ARM refuses it.
    const basic = await raw(paths[0]![1], {headers: {authorization: 'Basic dXNlcjpwYXNz'}})
    expect([basic.status, basic.json.error]).toEqual([401, {code: 'AuthenticationFailedInvalidHeader', message: "Authentication failed. The 'Authorization' header is provided in an invalid format."}])
    // Key Vault's data plane answers with its own 401 (Key Vault's code and text, not ARM's).
    const vault = await raw('/_emulator/keyvault/kv-shop-local/secrets/anything?api-version=7.5', {headers: {}})
    expect([vault.status, vault.json.error.code]).toEqual([401, 'Unauthorized'])
    expect(vault.headers['www-authenticate']).toBe(`Bearer authorization="https://login.windows.net/${tenant}", resource="https://vault.azure.net"`)
    // Open without a token, as their Azure counterparts are: the token endpoint and the discovery document.
    const token = await raw('/msi/token?api-version=2019-08-01&resource=https://management.azure.com/', {headers: {'X-IDENTITY-HEADER': emulator.identityHeader}})
    expect(token.status).toBe(200)
    // …but only with the IDENTITY_HEADER secret, as App Service's identity endpoint: missing or wrong, no token.
    for (const headers of [{} as Record<string, string>, {'X-IDENTITY-HEADER': 'guessed-value'}, {'X-IDENTITY-HEADER': `${emulator.identityHeader}x`}, {Metadata: 'true'}]) {
      const refused = await raw('/msi/token?api-version=2019-08-01&resource=https://management.azure.com/', {headers})
      // App Service's error shape (statusCode, message, correlationId), which @azure/identity reads the message from.
      expect(refused.status, JSON.stringify(headers)).toBe(401)
      expect(refused.json, JSON.stringify(headers)).toEqual({statusCode: 401, message: expect.stringContaining('X-IDENTITY-HEADER'), correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/)})
    }
    expect((await raw('/opsbook/emulator', {headers: {}})).status).toBe(200)
    // With the token from the token endpoint the same request is served.
    expect((await raw(paths[0]![1], {headers: {authorization: `Bearer ${token.json.access_token}`}})).status).toBe(200)
  })

  it('the token endpoint refuses an identity the estate does not have as App Service does (400 No MSI found), never with the Owner default', async () => {
    const header = {'X-IDENTITY-HEADER': emulator.identityHeader}
    const token = (query: string) => raw(`/msi/token?api-version=2019-08-01&resource=https://management.azure.com/&${query}`, {headers: header})
    const oidOf = (answer: {json: any}) => JSON.parse(Buffer.from(answer.json.access_token.split('.')[1], 'base64url').toString('utf8')).oid
    // The estate's identity by name, client id, object id and ARM id: its own token.
    const byName = await token('client_id=reader')
    expect(byName.status).toBe(200)
    const readerOid = oidOf(byName)
    expect(readerOid).not.toBe(oidOf(await token('')))
    for (const query of ['client_id=0b7c1c55-3a4e-4f0a-9d2b-6c1e8f7a9b10', `object_id=${readerOid}`, `principal_id=${readerOid}`, `mi_res_id=/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader`]) {
      const answer = await token(query)
      expect([query, answer.status, oidOf(answer)]).toEqual([query, 200, readerOid])
    }
    // Anything else: App Service's answer to an identity the app does not have (MicrosoftDocs/azure-docs#43543), no token.
    for (const query of ['client_id=raeder', 'client_id=5f2c9d1e-8a4b-4c3d-9e7f-1a2b3c4d5e6f', 'object_id=nobody', 'principal_id=nobody', `mi_res_id=/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/raeder`,
      // The estate's identity name under another subscription or resource group is another identity.
      `mi_res_id=/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader`,
      `mi_res_id=/subscriptions/${emulator.subscription}/resourceGroups/rg-elsewhere/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader`,
      `mi_res_id=/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader`]) {
      const refused = await token(query)
      expect([query, refused.status, refused.json]).toEqual([query, 400, {StatusCode: 400, Message: 'No MSI found for specified ClientId/ResourceId.', CorrelationId: expect.stringMatching(/^[0-9a-f-]{36}$/)}])
    }
    // The IDENTITY_HEADER check still comes first: without it, an unknown identity is the 401.
    expect((await raw('/msi/token?api-version=2019-08-01&resource=https://management.azure.com/&client_id=raeder', {headers: {}})).status).toBe(401)
    // The discovery document names the identities (opsbook's message for a misspelt OPSBOOK_EMULATOR_IDENTITY lists them).
    expect((await raw('/opsbook/emulator', {headers: {}})).json.identities).toEqual([{name: 'reader', clientId: '0b7c1c55-3a4e-4f0a-9d2b-6c1e8f7a9b10', objectId: readerOid}])
  })

  it('the Log Analytics query API refuses a token with its own documented answers (403), the metrics data plane with the spec\'s ErrorResponse; both send the challenge', async () => {
    const query = {query: 'AzureActivity | take 1', timespan: 'PT1H'}
    const challenge = /^Bearer authorization_uri="[^"]+", error="invalid_token", error_description="[^"]+"$/
    // learn.microsoft.com/azure/azure-monitor/logs/api/errors: a token that is not valid is 403 InvalidAuthenticationToken.
    for (const path of ['/v1/workspaces/ws-shop/query', '/workspaces/ws-shop/query']) {
      const invalid = await raw(path, {method: 'POST', body: query, headers: {authorization: 'Bearer not-a-token'}})
      expect([path, invalid.status, invalid.json]).toEqual([path, 403, {error: {code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}}])
      expect(invalid.headers['www-authenticate']).toMatch(challenge)
    }
    // A token for ARM is not one for Log Analytics: 403 InvalidAuthenticationTokenAudience naming the audience it takes.
    const armToken = await bearerFor(emulator)
    const audience = await raw('/v1/workspaces/ws-shop/query', {method: 'POST', body: query, headers: armToken})
    expect([audience.status, audience.json.error.code]).toEqual([403, 'InvalidAuthenticationTokenAudience'])
    expect(audience.json.error.message).toContain("'https://api.loganalytics.io'")
    expect(audience.headers['www-authenticate']).toMatch(challenge)
    // The metrics data plane: common-types ErrorResponse (metricBatch.json 2024-02-01), ARM's codes and statuses.
    const batch = `/subscriptions/${emulator.subscription}/metrics:getBatch?api-version=2024-02-01&metricnamespace=Microsoft.DBforPostgreSQL/flexibleServers&metricnames=cpu_percent`
    const missing = await raw(batch, {method: 'POST', body: {resourceids: []}, headers: {}})
    expect([missing.status, missing.json]).toEqual([401, {error: {code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing."}}])
    expect(missing.headers['www-authenticate']).toMatch(challenge)
    const bad = await raw(batch, {method: 'POST', body: {resourceids: []}, headers: {authorization: 'Bearer not-a-token'}})
    expect([bad.status, bad.json.error.code]).toEqual([401, 'InvalidAuthenticationToken'])
    expect(bad.headers['www-authenticate']).toMatch(challenge)
    // With the right token the same query is served.
    expect((await raw('/v1/workspaces/ws-shop/query', {method: 'POST', body: query})).status).toBe(200)
  })

  it('the SDK with a credential that is not the emulator\'s is refused, not served', async () => {
    const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
    const stranger = new PostgreSQLManagementFlexibleServerClient({getToken: async () => ({token: 'static-test-token', expiresOnTimestamp: Date.now() + 3_600_000})}, emulator.subscription, hlcOptions(emulator))
    await expect(stranger.servers.get(RG, 'pg-shop-orders')).rejects.toMatchObject({statusCode: 401, code: 'InvalidAuthenticationToken'})
  })
})

describe('history limits', () => {
  it('keeps no more requests and activity events than its limits say (the soak sets them low, bench/README.md)', async () => {
    const own = await startEmulator({catalogFile: 'runbooks.yaml', lroDurationMs: 0, limits: {requestLog: 5, activity: 3}})
    try {
      const credential = credentialFor(own)
      for (let i = 0; i < 12; i++) await credential.getToken('https://management.azure.com/.default')
      expect(own.requestCount()).toBe(12)
      // The newest 5, plus at most a tenth of the limit before a batch is dropped (request-log.ts).
      expect(own.requestLog().length).toBeLessThanOrEqual(6)
      expect(own.requestLog().at(-1)!.seq).toBe(12)
      for (let i = 1; i <= 5; i++) own.state.activity.append({resourceId: `/subscriptions/${own.subscription}/resourceGroups/rg-${i}`, kind: 'tags.update'})
      expect(own.state.activity.list().map((e) => e.resourceId.split('/').at(-1))).toEqual(['rg-3', 'rg-4', 'rg-5'])
    } finally {
      await own.stop()
    }
  })
})

describe('persistence', () => {
  it('keeps state across restarts under stateDir, and a reset seeds from the catalog again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'opsbook-emu-state-'))
    try {
      const {PostgreSQLManagementFlexibleServerClient} = await import('@azure/arm-postgresql-flexible')
      const first = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 100})
      const caFile = first.caFile
      const client1 = new PostgreSQLManagementFlexibleServerClient(credentialFor(first), first.subscription, hlcOptions(first))
      await client1.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {tags: {owner: 'someone-else'}}, {updateIntervalInMs: 50})
      await first.stop()

      const second = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 100})
      expect(second.caFile).toBe(caFile)
      const client2 = new PostgreSQLManagementFlexibleServerClient(credentialFor(second), second.subscription, hlcOptions(second))
      expect((await client2.servers.get(RG, 'pg-shop-orders')).tags).toEqual({owner: 'someone-else'})
      await second.stop()

      resetEmulatorState(stateDir)
      const third = await startEmulator({catalogFile: 'runbooks.yaml', stateDir, lroDurationMs: 100})
      const client3 = new PostgreSQLManagementFlexibleServerClient(credentialFor(third), third.subscription, hlcOptions(third))
      expect((await client3.servers.get(RG, 'pg-shop-orders')).tags).toEqual({owner: 'data-platform', costCenter: 'cc-1001'})
      await third.stop()
    } finally {
      rmSync(stateDir, {recursive: true, force: true})
    }
  })
})


/**
 * A raw HTTPS request to the emulator (what curl would send), trusting its CA: with a bearer token from the
 * emulator's token endpoint for the path's audience unless `headers` says otherwise (`{}`: no Authorization header).
 */
async function raw(
  path: string,
  options: {method?: string; body?: unknown; headers?: Record<string, string>} = {},
): Promise<{status: number; headers: Record<string, string | string[] | undefined>; json: any}> {
  const headers = options.headers ?? (await bearerFor(emulator, scopeFor(path)))
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const req = httpsRequest(
      `${emulator.armEndpoint}${path}`,
      {method: options.method ?? 'GET', ca: emulator.caPem, agent: false, headers: payload ? {...headers, 'content-type': 'application/json'} : headers},
      (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : undefined}))
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

describe('api-version', () => {
  const server = () => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders`

  it('answers an ARM request without api-version with 400 MissingApiVersionParameter, as Azure does', async () => {
    for (const path of [server(), `/subscriptions/${emulator.subscription}/resourceGroups`, '/subscriptions', '/providers/Microsoft.ResourceGraph/resources']) {
      const response = await raw(path, {method: path.includes('ResourceGraph') ? 'POST' : 'GET', body: path.includes('ResourceGraph') ? {query: 'Resources'} : undefined})
      expect(response.status, path).toBe(400)
      expect(response.json.error).toEqual({code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.'})
    }
    const ok = await raw(`${server()}?api-version=2025-08-01`)
    expect(ok.status).toBe(200)
    expect(ok.json.name).toBe('pg-shop-orders')
  })

  it('answers a malformed api-version with 400 InvalidApiVersionParameter', async () => {
    const response = await raw(`${server()}?api-version=latest`)
    expect(response.status).toBe(400)
    expect(response.json.error.code).toBe('InvalidApiVersionParameter')
    expect(response.json.error.message).toContain("The api-version 'latest' is invalid.")
  })

  it('refuses a well-formed api-version the provider does not serve, listing the ones it does (ARM message shape)', async () => {
    const response = await raw(`${server()}?api-version=2017-12-01`)
    expect(response.status).toBe(400)
    expect(response.json.error).toEqual({
      code: 'InvalidApiVersionParameter',
      message: "The api-version '2017-12-01' is invalid. The supported versions are '2025-08-01,2024-08-01,2022-12-01'.",
    })
    const site = await raw(`/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app-shop-storefront?api-version=2025-08-01`)
    expect(site.status).toBe(400)
    expect(site.json.error.message).toContain("The supported versions are '2025-05-01,")
  })

  it('serves the api-versions Debian az 2.45 sends (notes/az-offline.md)', async () => {
    const sub = `/subscriptions/${emulator.subscription}`
    for (const path of [
      `${server()}?api-version=2022-12-01`,
      `${sub}/resourceGroups/${RG}/providers/Microsoft.Cache/redis/redis-shop-sessions?api-version=2022-06-01`,
      `${sub}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app-shop-storefront?api-version=2022-03-01`,
      `${sub}/resourceGroups?api-version=2021-04-01`,
      `${sub}?api-version=2019-11-01`,
    ])
      expect([path, (await raw(path)).status]).toEqual([path, 200])
  })

  it('serves a server and its firewall rules at 2024-08-01 (arm-postgresql-flexible 8, az 2.6x), validated against that version\'s FlexibleServers.json / FirewallRules.json', async () => {
    const sub = `/subscriptions/${emulator.subscription}`
    const one = await raw(`${server()}?api-version=2024-08-01`)
    expect([one.status, one.json.name]).toEqual([200, 'pg-shop-orders'])
    const list = await raw(`${sub}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2024-08-01`)
    expect(list.json.value.map((s: {name: string}) => s.name)).toContain('pg-shop-orders')
    const rules = await raw(`${server()}/firewallRules?api-version=2024-08-01`)
    expect(rules.status).toBe(200)
    expect(Array.isArray(rules.json.value)).toBe(true)
  })

  it('serves a vault and the vault list at 2023-02-01 and 2024-11-01 (az 2.5x–2.7x), validated against those versions\' keyvault.json', async () => {
    const vaults = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults`
    for (const version of ['2023-02-01', '2024-11-01']) {
      const one = await raw(`${vaults}/kv-shop-local?api-version=${version}`)
      expect([version, one.status, one.json.name]).toEqual([version, 200, 'kv-shop-local'])
      const list = await raw(`${vaults}?api-version=${version}`)
      expect(list.json.value.map((v: {name: string}) => v.name)).toContain('kv-shop-local')
    }
  })

  it('serves resource groups, the resource list, providers and tags at 2022-09-01, 2024-03-01 and 2024-11-01 (preflight, newer az), validated against those versions\' resources.json', async () => {
    const sub = `/subscriptions/${emulator.subscription}`
    const vault = `${sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-shop-local`
    for (const version of ['2022-09-01', '2024-03-01', '2024-11-01']) {
      const groups = await raw(`${sub}/resourceGroups?api-version=${version}`)
      expect(groups.json.value.map((g: {name: string}) => g.name)).toContain(RG)
      const group = await raw(`${sub}/resourceGroups/${RG}?api-version=${version}`)
      expect([version, group.status, group.json.properties.provisioningState]).toEqual([version, 200, 'Succeeded'])
      const resources = await raw(`${sub}/resources?api-version=${version}`)
      expect(resources.json.value.map((r: {name: string}) => r.name)).toContain('kv-shop-local')
      const provider = await raw(`${sub}/providers/Microsoft.KeyVault?api-version=${version}`)
      expect([version, provider.status, provider.json.registrationState]).toEqual([version, 200, 'Registered'])
      const merged = await raw(`${vault}/providers/Microsoft.Resources/tags/default?api-version=${version}`, {method: 'PATCH', body: {operation: 'Merge', properties: {tags: {checkedAt: version}}}})
      expect([version, merged.status, merged.json.properties.tags.checkedAt]).toEqual([version, 200, version])
      const tags = await raw(`${vault}/providers/Microsoft.Resources/tags/default?api-version=${version}`)
      expect(tags.json.properties.tags.checkedAt).toBe(version)
    }
  })

  it('serves a storage account, the account lists and its keys at the older storage versions (az), validated against each version\'s storage.json', async () => {
    const accounts = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts`
    for (const version of ['2021-06-01', '2023-01-01', '2023-05-01', '2024-01-01']) {
      const one = await raw(`${accounts}/stshopevidence?api-version=${version}`)
      expect([version, one.status, one.json.name]).toEqual([version, 200, 'stshopevidence'])
      const list = await raw(`${accounts}?api-version=${version}`)
      expect(list.json.value.map((a: {name: string}) => a.name)).toContain('stshopevidence')
      const all = await raw(`/subscriptions/${emulator.subscription}/providers/Microsoft.Storage/storageAccounts?api-version=${version}`)
      expect(all.json.value.map((a: {name: string}) => a.name)).toContain('stshopevidence')
      const keys = await raw(`${accounts}/stshopevidence/listKeys?api-version=${version}`, {method: 'POST'})
      expect([version, keys.status, keys.json.keys.map((k: {keyName: string}) => k.keyName)]).toEqual([version, 200, ['key1', 'key2']])
    }
  })

  it('serves SQL databases at 2021-11-01 (the stable version between az 2.45 and arm-sql 10), validated against that version\'s Databases.json', async () => {
    const databases = `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/sql-shop-local/databases`
    const list = await raw(`${databases}?api-version=2021-11-01`)
    expect(list.json.value.map((d: {name: string}) => d.name)).toContain('sqldb-shop-payments')
    const one = await raw(`${databases}/sqldb-shop-payments?api-version=2021-11-01`)
    expect([one.status, one.json.name, one.json.properties.status]).toEqual([200, 'sqldb-shop-payments', 'Online'])
  })

  it('shapes a server for the api-version asked where the specs differ (FlexibleServers.json 2022-12-01 vs Servers.json 2025-08-01)', async () => {
    const old = (await raw(`${server()}?api-version=2022-12-01`)).json
    const current = (await raw(`${server()}?api-version=2025-08-01`)).json
    expect(current.properties.replica).toBeDefined()
    expect(old.properties.replica).toBeUndefined()
    expect(Object.keys(old.properties.storage)).toEqual(['storageSizeGB'])
    expect(old.properties.storage.storageSizeGB).toBe(current.properties.storage.storageSizeGB)
  })

  it('keeps data-plane, discovery and emulator-only paths working without an api-version', async () => {
    expect((await raw('/opsbook/emulator')).status).toBe(200)
    expect((await raw('/workspaces/ws-shop/query', {method: 'POST', body: {query: 'AzureActivity | take 1', timespan: 'PT1H'}})).status).toBe(200)
    const batch = await raw(`/subscriptions/${emulator.subscription}/metrics:getBatch?api%2Dversion=2024-02-01&metricnamespace=Microsoft.DBforPostgreSQL/flexibleServers&metricnames=cpu_percent`, {
      method: 'POST',
      body: {resourceids: [server()]},
    })
    expect(batch.status).toBe(200)
    expect((await raw(`${server()}/opsbookData`)).status).toBe(200)
  })

  it('hands out long-running-operation monitors that carry the api-version and answer without an api-version too', async () => {
    const started = await raw(`${server()}?api-version=2025-08-01`, {method: 'PATCH', body: {tags: {owner: 'api-version-test'}}})
    expect(started.status).toBe(202)
    const monitors = [String(started.headers['azure-asyncoperation']), String(started.headers.location)]
    for (const url of monitors) {
      expect(new URL(url).searchParams.get('api-version')).toBe('2025-08-01')
      const path = new URL(url).pathname
      expect((await raw(`${path}${new URL(url).search}`)).status).toBeLessThan(300)
      expect((await raw(path)).status).toBeLessThan(300)
    }
  })
})

describe('a finished Location monitor answers what the operation would have answered synchronously (ARM RPC async-api-reference.md)', () => {
  const server = () => `/subscriptions/${emulator.subscription}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders`
  const Q = '?api-version=2025-08-01'
  /** Poll the Location URL of a 202 until it stops answering 202; its last answer. */
  async function finish(started: {status: number; headers: Record<string, string | string[] | undefined>}) {
    expect(started.status).toBe(202)
    const url = new URL(String(started.headers.location))
    let answer = await raw(`${url.pathname}${url.search}`)
    await expect.poll(async () => (answer = await raw(`${url.pathname}${url.search}`)).status, {interval: 50, timeout: 10_000}).not.toBe(202)
    return answer
  }

  it('PATCH: 200 with the resource as a GET reads it; the unmodified SDK returns that server (core-lro reads a PATCH result from Location)', async () => {
    const done = await finish(await raw(`${server()}${Q}`, {method: 'PATCH', body: {tags: {owner: 'location-final'}}}))
    expect(done.status).toBe(200)
    expect(done.json).toMatchObject({id: expect.stringMatching(/\/flexibleServers\/pg-shop-orders$/), name: 'pg-shop-orders', tags: {owner: 'location-final'}})
    expect(done.json.properties.version).toBe((await raw(`${server()}${Q}`)).json.properties.version)
    const updated = await pg.servers.beginUpdateAndWait(RG, 'pg-shop-orders', {tags: {owner: 'sdk-final'}}, {updateIntervalInMs: 20})
    expect(updated).toMatchObject({name: 'pg-shop-orders', tags: {owner: 'sdk-final'}})
  })

  it('DELETE: 204 No Content with no body; POST restart: 200 with no body (its documented 200 has no schema)', async () => {
    const rule = `${server()}/firewallRules/location-final`
    await finish(await raw(`${rule}${Q}`, {method: 'PUT', body: {properties: {startIpAddress: '10.1.2.3', endIpAddress: '10.1.2.3'}}}))
    const deleted = await finish(await raw(`${rule}${Q}`, {method: 'DELETE'}))
    expect(deleted.status).toBe(204)
    expect(deleted.json).toBeUndefined()
    expect((await raw(`${rule}${Q}`)).status).toBe(404)
    const restarted = await finish(await raw(`${server()}/restart${Q}`, {method: 'POST'}))
    expect(restarted.status).toBe(200)
    expect(restarted.json).toBeUndefined()
  })
})
