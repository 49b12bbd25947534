/**
 * How `opsbook run` reaches an emulator: the one named by OPSBOOK_EMULATOR_URL (started with
 * `opsbook emulator start`), or one started in-process and persisted under `<cwd>/.opsbook/emulator/`.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Environment} from '../catalog/schema.js'
import {AZURITE_ACCOUNT, AZURITE_KEY} from './blob.js'

export interface EmulatorConnection {
  armEndpoint: string
  caPem: string
  blob: {endpoint: string; account: string; key: string}
  identityEndpoint?: string
  subscription: string
  /** Stops the emulator if this connection started it; a no-op for an external one. */
  stop(): Promise<void>
}

export interface ConnectOptions {
  /** The catalog environment to serve when starting one (cloud: emulator). */
  environment?: Environment
  environmentName?: string
  catalogFile?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Override the persisted state directory (default `<cwd>/.opsbook/emulator`). */
  stateDir?: string
  lroDurationMs?: number
}

/** Emulator state directory of a project. */
export function emulatorStateDir(cwd: string = process.cwd()): string {
  return join(cwd, '.opsbook', 'emulator')
}

/** Connect to the running emulator named by OPSBOOK_EMULATOR_URL, or start one in-process. */
export async function connectOrStartEmulator(options: ConnectOptions = {}): Promise<EmulatorConnection> {
  const env = options.env ?? process.env
  const url = env.OPSBOOK_EMULATOR_URL
  if (url) {
    const caFile = env.OPSBOOK_EMULATOR_CA
    if (!caFile) throw new Error('OPSBOOK_EMULATOR_URL is set but OPSBOOK_EMULATOR_CA (the CA file `opsbook emulator start` printed) is not')
    const caPem = readFileSync(caFile, 'utf8')
    const https = await import('node:https')
    const info = await new Promise<{subscription: string; blob: {endpoint: string}; identityEndpoint?: string}>((resolve, reject) => {
      const req = https.get(`${url.replace(/\/$/, '')}/opsbook/emulator`, {ca: caPem}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`emulator at ${url} answered ${res.statusCode}`)
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
          } catch (error) {
            reject(error)
          }
        })
      })
      req.on('error', (error) => reject(new Error(`cannot reach the emulator at ${url} (OPSBOOK_EMULATOR_URL): ${error.message}`)))
    })
    return {
      armEndpoint: url.replace(/\/$/, ''),
      caPem,
      blob: {endpoint: env.OPSBOOK_EMULATOR_BLOB ?? info.blob.endpoint, account: AZURITE_ACCOUNT, key: AZURITE_KEY},
      ...(info.identityEndpoint ? {identityEndpoint: info.identityEndpoint} : {}),
      subscription: info.subscription,
      stop: async () => {},
    }
  }
  const {startEmulator} = await import('./server.js')
  const emulator = await startEmulator({
    ...(options.environment ? {environment: options.environment} : {catalogFile: options.catalogFile}),
    environmentName: options.environmentName,
    stateDir: options.stateDir ?? emulatorStateDir(options.cwd),
    lroDurationMs: options.lroDurationMs,
    env,
  })
  return {
    armEndpoint: emulator.armEndpoint,
    caPem: emulator.caPem,
    blob: {endpoint: emulator.blob.endpoint, account: emulator.blob.account, key: emulator.blob.key},
    identityEndpoint: emulator.identityEndpoint,
    subscription: emulator.subscription,
    stop: () => emulator.stop(),
  }
}
