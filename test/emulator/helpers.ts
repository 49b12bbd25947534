/** Shared set-up for emulator tests: a static credential and SDK client options that trust the emulator's CA. */
import type {RunningEmulator} from '../../src/emulator/server.js'

export const credential = {getToken: async () => ({token: 'static-test-token', expiresOnTimestamp: Date.now() + 3_600_000})}

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
