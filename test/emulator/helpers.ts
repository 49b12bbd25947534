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
        get(url, {ca: emulator.caPem, headers: {'X-IDENTITY-HEADER': emulator.identityHeader}}, (res) => {
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
