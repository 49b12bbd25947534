/**
 * How `opsbook run` reaches an emulator: the one named by OPSBOOK_EMULATOR_URL, the one `opsbook emulator start`
 * serves for this project (found through the lock in `.opsbook/emulator/`), or one started in-process on that state.
 * Only one process serves a state directory at a time (see lock.ts).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {projectDir} from '../catalog/loader.js'
import type {Environment} from '../catalog/schema.js'
import {GuardError, OpsbookError} from '../errors.js'
import {fileSizeLimit} from '../support/file-size-limit.js'
import {AZURITE_ACCOUNT, AZURITE_KEY} from './blob.js'
import {acquireEmulatorLock, readEmulatorLock, servedError, type EmulatorLock} from './lock.js'
import type {RunningEmulator, StartEmulatorOptions} from './server.js'

/** `modelled` keeps the emulator's data planes computed (no database processes); anything else means real. */
export const DATA_PLANE_ENV = 'OPSBOOK_EMULATOR_DATA_PLANE'

export interface EmulatorConnection {
  armEndpoint: string
  caPem: string
  blob: {endpoint: string; account: string; key: string}
  identityEndpoint?: string
  /** X-IDENTITY-HEADER value the token endpoint expects, when known. */
  identityHeader?: string
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
  /** Override the persisted state directory (default `.opsbook/emulator` in the project folder, beside the catalog). */
  stateDir?: string
  lroDurationMs?: number
}

/**
 * Emulator state directory of a project: `.opsbook/emulator` beside the catalog (as journals are), so `opsbook
 * emulator start` and runs from any sub-folder share one emulator.
 */
export function emulatorStateDir(options: {cwd?: string; catalogFile?: string; env?: NodeJS.ProcessEnv} = {}): string {
  return join(projectDir({flag: options.catalogFile, cwd: options.cwd, env: options.env}), '.opsbook', 'emulator')
}

/**
 * Serve the emulator for `stateDir` from this process, recording it in the state directory's lock (mode `server`
 * for `opsbook emulator start`, `run` for an in-process run). When another live process serves it, nothing is
 * started and its lock is returned instead. Stopping the emulator removes the lock.
 */
export async function serveEmulator(options: StartEmulatorOptions & {stateDir: string; mode: EmulatorLock['mode']}): Promise<{emulator: RunningEmulator} | {holder: EmulatorLock}> {
  const {mode, ...startOptions} = options
  // Served for the CLI: real database engines unless OPSBOOK_EMULATOR_DATA_PLANE=modelled (the test suite's default).
  startOptions.dataPlane ??= (startOptions.env ?? process.env)[DATA_PLANE_ENV] === 'modelled' ? 'modelled' : 'real'
  const taken = await acquireEmulatorLock(options.stateDir, mode)
  if ('holder' in taken) return taken
  const lock = taken.held
  try {
    const {startEmulator} = await import('./server.js')
    const emulator = await startEmulator(startOptions)
    lock.update({
      armEndpoint: emulator.armEndpoint,
      caFile: emulator.caFile,
      blob: {endpoint: emulator.blob.endpoint, account: emulator.blob.account, key: emulator.blob.key},
      identityEndpoint: emulator.identityEndpoint,
      identityHeader: emulator.identityHeader,
      subscription: emulator.subscription,
      environment: emulator.environmentName,
    })
    const stop = emulator.stop.bind(emulator)
    emulator.stop = async () => {
      // The lock goes first: from here on nobody may connect to this emulator.
      lock.release()
      await stop()
    }
    return {emulator}
  } catch (error) {
    lock.release()
    throw emulatorStartError(error, options.stateDir)
  }
}

/**
 * Why the emulator did not start, in words: Azurite answers a write it cannot make with a bare HTTP 500 (the SDK's
 * RestError then has an empty message, and the CLI said just "Error: "), and a database engine killed by SIGXFSZ
 * only closes its connection. Under a file-size limit (`ulimit -f`) that limit is named, with the fix (issue 16).
 */
export function emulatorStartError(error: unknown, stateDir: string, limit: number | undefined = fileSizeLimit()): OpsbookError {
  if (error instanceof OpsbookError) return error
  const e = error as {message?: unknown; name?: unknown; statusCode?: unknown; code?: unknown} | undefined
  const message = typeof e?.message === 'string' && e.message.trim() !== '' ? e.message.trim() : undefined
  const what =
    message ??
    (typeof e?.statusCode === 'number' ? `its Blob store (Azurite) answered HTTP ${e.statusCode} with no message` : typeof e?.name === 'string' ? e.name : String(error))
  const suggestions =
    limit !== undefined
      ? [`raise the file-size limit (ulimit -f allows files of ${limit} bytes): the emulator keeps its state, Blob store and engines' data under ${stateDir}`]
      : /\bE(NOSPC|DQUOT)\b/.test(what)
        ? [`free space where the emulator keeps its state (${stateDir})`]
        : []
  return new OpsbookError(`the emulator could not start (state in ${stateDir}): ${what}`, {code: 'emulator-start-failed', cause: error, suggestions})
}

/**
 * Connect to the running emulator named by OPSBOOK_EMULATOR_URL, or the one `opsbook emulator start` serves for this
 * project, or start one in-process. Exit 5 (GuardError) when another `opsbook run` serves the state in-process.
 */
export async function connectOrStartEmulator(options: ConnectOptions = {}): Promise<EmulatorConnection> {
  const env = options.env ?? process.env
  const url = env.OPSBOOK_EMULATOR_URL
  if (url) {
    const caFile = env.OPSBOOK_EMULATOR_CA
    if (!caFile) throw new Error('OPSBOOK_EMULATOR_URL is set but OPSBOOK_EMULATOR_CA (the CA file `opsbook emulator start` printed) is not')
    return connectTo(url, readFileSync(caFile, 'utf8'), {blobEndpoint: env.OPSBOOK_EMULATOR_BLOB, source: 'OPSBOOK_EMULATOR_URL'})
  }
  const stateDir = options.stateDir ?? emulatorStateDir({cwd: options.cwd, catalogFile: options.catalogFile, env})
  const served = await serveEmulator({
    // The catalog file also locates the estate file beside it (opsbook.estate.yaml).
    ...(options.environment ? {environment: options.environment, catalogFile: options.catalogFile} : {catalogFile: options.catalogFile}),
    environmentName: options.environmentName,
    stateDir,
    lroDurationMs: options.lroDurationMs,
    env,
    mode: 'run',
  })
  if ('emulator' in served) {
    const {emulator} = served
    return {
      armEndpoint: emulator.armEndpoint,
      caPem: emulator.caPem,
      blob: {endpoint: emulator.blob.endpoint, account: emulator.blob.account, key: emulator.blob.key},
      identityEndpoint: emulator.identityEndpoint,
      identityHeader: emulator.identityHeader,
      subscription: emulator.subscription,
      stop: () => emulator.stop(),
    }
  }
  if (served.holder.mode === 'run') throw servedError(served.holder, stateDir, 'start an emulator for this run')
  return connectToServer(await untilListening(served.holder, stateDir), stateDir, options.environmentName)
}

/** `opsbook emulator start` writes its endpoints a moment after taking the lock: wait for them. */
async function untilListening(holder: EmulatorLock, stateDir: string): Promise<EmulatorLock> {
  for (let waited = 0; !holder.armEndpoint; waited += 100) {
    if (waited > 60_000) throw servedError(holder, stateDir, 'connect (it has not started listening within a minute)')
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = readEmulatorLock(stateDir)
    if (!now || now.token !== holder.token) throw new Error(`the emulator starting in ${stateDir} (pid ${holder.pid}) stopped before it listened`)
    holder = now
  }
  return holder
}

async function connectToServer(holder: EmulatorLock, stateDir: string, environmentName: string | undefined): Promise<EmulatorConnection> {
  if (environmentName && holder.environment && holder.environment.toLowerCase() !== environmentName.toLowerCase())
    throw new GuardError(
      'emulator-in-use',
      `the emulator serving ${stateDir} (\`opsbook emulator start\`, pid ${holder.pid}) serves environment '${holder.environment}', not '${environmentName}'`,
      {holder: {pid: holder.pid, mode: holder.mode, startedAt: holder.startedAt, environment: holder.environment}},
      [`stop it and run \`opsbook emulator start --env ${environmentName}\``],
    )
  const connection = await connectTo(holder.armEndpoint!, readFileSync(holder.caFile!, 'utf8'), {
    blobEndpoint: holder.blob?.endpoint,
    source: `the lock ${join(stateDir, 'emulator.lock')} (pid ${holder.pid})`,
  })
  return {...connection, ...(holder.identityHeader ? {identityHeader: holder.identityHeader} : {})}
}

/** Connect to an emulator another process serves, asking it for its subscription and endpoints. */
async function connectTo(url: string, caPem: string, options: {blobEndpoint?: string; source: string}): Promise<EmulatorConnection> {
  const https = await import('node:https')
  const base = url.replace(/\/$/, '')
  const info = await new Promise<{subscription: string; blob: {endpoint: string}; identityEndpoint?: string}>((resolve, reject) => {
    const req = https.get(`${base}/opsbook/emulator`, {ca: caPem}, (res) => {
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
    req.on('error', (error) => reject(new Error(`cannot reach the emulator at ${url} (from ${options.source}): ${error.message}`)))
  })
  return {
    armEndpoint: base,
    caPem,
    blob: {endpoint: options.blobEndpoint ?? info.blob.endpoint, account: AZURITE_ACCOUNT, key: AZURITE_KEY},
    ...(info.identityEndpoint ? {identityEndpoint: info.identityEndpoint} : {}),
    subscription: info.subscription,
    stop: async () => {},
  }
}
