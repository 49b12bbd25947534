/** Shared set-up for emulator tests: a credential for the emulator and SDK client options that trust its CA. */
import {get} from 'node:https'
import type {TokenCredential} from '@azure/core-auth'
import type {RunningEmulator} from '../../src/emulator/server.js'

/**
 * Tokens from the emulator's own token endpoint (its managed-identity endpoint on the ARM host), the only tokens it
 * accepts: it validates signature, tenant, audience and lifetime as ARM does. The scope asked for is the audience.
 */
export function credentialFor(emulator: Pick<RunningEmulator, 'armEndpoint' | 'caPem' | 'identityHeader'>): TokenCredential {
  return {
    getToken: (scopes) =>
      new Promise((resolve, reject) => {
        const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? 'https://management.azure.com/.default'
        const url = `${emulator.armEndpoint}/msi/token?api-version=2019-08-01&resource=${encodeURIComponent(scope.replace(/\/\.default$/, ''))}`
        get(url, {ca: emulator.caPem, agent: false, headers: {'X-IDENTITY-HEADER': emulator.identityHeader}}, (res) => {
          let body = ''
          res.on('data', (chunk) => (body += chunk))
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`token endpoint answered ${res.statusCode}: ${body}`))
            const parsed = JSON.parse(body) as {access_token: string; expires_on: string}
            resolve({token: parsed.access_token, expiresOnTimestamp: Number(parsed.expires_on) * 1000})
          })
        }).on('error', reject)
      }),
  }
}

/**
 * An `Authorization` header for a raw request to the emulator (what curl sends after fetching a token from the
 * emulator's token endpoint): the emulator's ARM host answers a request without one with 401, as ARM does.
 * Tokens are cached per emulator and audience until five minutes before they expire.
 */
export async function bearerFor(
  emulator: Pick<RunningEmulator, 'armEndpoint' | 'caPem' | 'identityHeader'>,
  scope = 'https://management.azure.com/.default',
): Promise<{authorization: string}> {
  // Cached per emulator object, not per endpoint: test files share a process (isolate: false), and a later emulator
  // may listen on a port an earlier one freed — its token, signed with the other emulator's key, would be refused.
  let mine = tokens.get(emulator)
  if (!mine) tokens.set(emulator, (mine = new Map()))
  let cached = mine.get(scope)
  if (!cached || cached.expiresOnTimestamp - Date.now() < 5 * 60_000) {
    const token = await credentialFor(emulator).getToken(scope)
    if (!token) throw new Error(`the emulator's token endpoint gave no token for ${scope}`)
    cached = token
    mine.set(scope, cached)
  }
  return {authorization: `Bearer ${cached.token}`}
}
const tokens = new WeakMap<object, Map<string, {token: string; expiresOnTimestamp: number}>>()

/** The token audience a path on the emulator's host takes (server.ts audiencesFor): Logs, Key Vault, else ARM. */
export function scopeFor(path: string): string {
  if (/^\/(v1\/)?workspaces\//i.test(path)) return 'https://api.loganalytics.io/.default'
  if (/^\/_emulator\/keyvault\//i.test(path)) return 'https://vault.azure.net/.default'
  return 'https://management.azure.com/.default'
}

/** Options for the AutoRest (HLC) clients: endpoint, CA, ARM scope, no retries unless asked. */
export function hlcOptions(emulator: RunningEmulator, retries = 0) {
  return {
    endpoint: emulator.armEndpoint,
    tlsOptions: {ca: emulator.caPem},
    credentialScopes: ['https://management.azure.com/.default'],
    retryOptions: {maxRetries: retries},
  }
}

/** Options for the modular clients. */
export function modularOptions(emulator: RunningEmulator, retries = 0) {
  return {endpoint: emulator.armEndpoint, tlsOptions: {ca: emulator.caPem}, retryOptions: {maxRetries: retries}}
}

export const poll = {updateIntervalInMs: 50}
export const RG = 'rg-shop-local'

/**
 * The catalog's `local` environment plus PostgreSQL servers that already exist in the subscription (seeded, never
 * created through ARM): how a server on a major new servers cannot have (extended support, e.g. 12 or 13) comes to be.
 */
export async function localEnvironmentWithServers(servers: Array<{name: string; version: string}>): Promise<import('../../src/catalog/schema.js').Environment> {
  const {loadCatalog, getEnvironment} = await import('../../src/catalog/loader.js')
  const {postgresComponentSchema} = await import('../../src/catalog/schema.js')
  const {repoRoot} = await import('../helpers/cli.js')
  const {join} = await import('node:path')
  const environment = structuredClone(getEnvironment(loadCatalog({flag: join(repoRoot, 'runbooks.yaml')}), 'local'))
  for (const server of servers) environment.components[server.name] = postgresComponentSchema.parse({type: 'postgres', name: server.name, version: server.version})
  return environment
}
