/**
 * A real `redis-server` (Debian's package, found on the PATH) behind one emulated Azure Cache for Redis.
 *
 * Started lazily, the first time something touches the cache, with `--save "" --appendonly no` so only the emulator
 * takes snapshots (SAVE on export and on the catalog's snapshot schedule). It listens on 127.0.0.1 twice: a plain
 * port the emulator itself uses, and a TLS port (the emulator's certificate, which is its own CA) that opsbook's
 * data-plane connections reach when they ask for the cache's host name (see `dataEndpoint` in routes). Import
 * replaces the data the way a restart does: the server stops, the RDB becomes its dump file, and it starts again.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {delimiter, join} from 'node:path'
import type {Redis as RedisClient} from 'ioredis'
import type {EmulatorCertificate} from '../context.js'

/** Environment variable naming the redis-server binary (default: `redis-server` on the PATH); `none` disables it. */
export const REDIS_SERVER_ENV = 'OPSBOOK_REDIS_SERVER'
const DUMP_FILE = 'dump.rdb'
const START_TIMEOUT_MS = 15_000

/** The redis-server binary to use, or undefined when there is none (the emulator then models the data). */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env[REDIS_SERVER_ENV]
  if (configured === 'none') return undefined
  if (configured) return existsSync(configured) ? configured : undefined
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, 'redis-server')
    if (existsSync(candidate)) return candidate
  }
  return undefined
}

/** `redis-server --version`, e.g. "7.0.15"; undefined when it cannot be run. */
export function redisServerVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ['--version'], {encoding: 'utf8', timeout: 5000})
  return /v=(\d+\.\d+\.\d+)/.exec(result.stdout ?? '')?.[1]
}

export interface RedisEngineOptions {
  binary: string
  /** Folder for this cache's dump file and TLS material. */
  dir: string
  certificate: EmulatorCertificate
  /** The default user's password (the cache's access key): a client signing in with another key is refused. */
  password?: string
  /** Keys written when the server starts with no data (a fresh cache). */
  seed?: (client: RedisClient) => Promise<void>
}

export class RedisEngine {
  private child?: ChildProcess
  private exitError?: Error
  private starting?: Promise<void>
  private control?: RedisClient
  private ports?: {plain: number; tls: number}
  private readonly users = new Set<string>()

  constructor(private readonly options: RedisEngineOptions) {}

  /** The TLS port clients reach (starts the server first). */
  async tlsPort(): Promise<number> {
    await this.ensureStarted()
    return this.ports!.tls
  }

  /** The plain (non-TLS) port the emulator's own connections use, e.g. its load generator (starts the server first). */
  async plainPort(): Promise<number> {
    await this.ensureStarted()
    return this.ports!.plain
  }

  /** The emulator's own connection (plain port), for SAVE, DBSIZE and the like. */
  async client(): Promise<RedisClient> {
    await this.ensureStarted()
    return this.control!
  }

  get running(): boolean {
    return this.child !== undefined && !hasExited(this.child)
  }

  ensureStarted(): Promise<void> {
    if (this.running && this.control) return Promise.resolve()
    this.starting ??= this.start().finally(() => (this.starting = undefined))
    return this.starting
  }

  /**
   * A Microsoft Entra principal allowed in, modelling a data access policy assignment: Azure checks the token; the
   * emulator does not validate tokens (see README), so the user is created with no password check.
   */
  async allowUser(user: string): Promise<void> {
    if (this.users.has(user)) return
    const client = await this.client()
    await client.call('ACL', 'SETUSER', user, 'on', 'nopass', '~*', '&*', '+@all')
    this.users.add(user)
  }

  /** SAVE and return the RDB file's bytes. */
  async snapshot(): Promise<Buffer> {
    const client = await this.client()
    const child = this.child
    try {
      await client.call('SAVE')
    } catch (error) {
      // The server died mid-SAVE (SIGXFSZ under `ulimit -f`, out of memory…): ioredis only says "Connection is
      // closed"; the server's own end says why. Its 'close' comes a moment after the connection's: waited for, bounded.
      if (child && this.exitError === undefined)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000)
          child.once('close', () => (clearTimeout(timer), resolve()))
        })
      if (child && hasExited(child) && this.exitError) throw new Error(`SAVE failed: ${this.exitError.message}`, {cause: error})
      throw error
    }
    return readFileSync(join(this.options.dir, DUMP_FILE))
  }

  /** Replace all data with an RDB file: stop, put the file in place, start (redis-server loads it). */
  async load(rdb: Buffer): Promise<void> {
    await this.stop()
    mkdirSync(this.options.dir, {recursive: true})
    writeFileSync(join(this.options.dir, DUMP_FILE), rdb)
    try {
      await this.ensureStarted()
    } catch (error) {
      // An RDB the server refuses must not leave the cache unable to start.
      rmSync(join(this.options.dir, DUMP_FILE), {force: true})
      throw error
    }
  }

  async stop(): Promise<void> {
    const child = this.child
    const control = this.control
    this.child = undefined
    this.control = undefined
    this.users.clear()
    if (!child || hasExited(child)) {
      control?.disconnect()
      return
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    // NOSAVE: the emulator takes every snapshot itself; data lives on in the dump file of the last SAVE or load.
    await control?.call('SHUTDOWN', 'NOSAVE').catch(() => undefined)
    control?.disconnect()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  /**
   * Start redis-server. Its ports are picked free just before (freePort), so another process can take one in between
   * (a busy machine opens many connections): then redis-server exits with "Address already in use" and it is started
   * again on other ports, up to three times.
   */
  private async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce()
      } catch (error) {
        // A server that started but did not answer in time must not be left running.
        if (this.child && !hasExited(this.child)) this.child.kill('SIGKILL')
        if (attempt >= 3 || !/Address already in use/i.test((error as Error).message)) throw error
        this.ports = undefined
      }
    }
  }

  private async startOnce(): Promise<void> {
    const {dir, certificate} = this.options
    mkdirSync(join(dir, 'tls'), {recursive: true})
    const certFile = join(dir, 'tls', 'cert.pem')
    const keyFile = join(dir, 'tls', 'key.pem')
    writeFileSync(certFile, certificate.certPem)
    writeFileSync(keyFile, certificate.keyPem, {mode: 0o600})
    const fresh = !existsSync(join(dir, DUMP_FILE))
    this.ports ??= {plain: await freePort(), tls: await freePort()}
    const args = [
      '--bind', '127.0.0.1',
      '--port', String(this.ports.plain),
      '--tls-port', String(this.ports.tls),
      '--tls-cert-file', certFile,
      '--tls-key-file', keyFile,
      '--tls-ca-cert-file', certFile,
      '--tls-auth-clients', 'no',
      '--dir', dir,
      '--dbfilename', DUMP_FILE,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--loglevel', 'warning',
      '--logfile', '',
      ...(this.options.password ? ['--requirepass', this.options.password] : []),
    ]
    this.exitError = undefined
    // With --logfile '' redis-server logs to stdout: kept (the last 2,000 characters) to say why it exited.
    const child = spawn(this.options.binary, args, {stdio: ['ignore', 'pipe', 'pipe']})
    this.child = child
    // A process that exits without stopping the emulator (process.exit, a crash) must not leave the server running.
    const killOnExit = () => child.kill('SIGKILL')
    process.once('exit', killOnExit)
    child.once('exit', () => process.removeListener('exit', killOnExit))
    let stderr = ''
    const keep = (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000))
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    // 'close', not 'exit': by then its output has been read, so the error says why. It can come after a stop() has
    // returned and the next server started (load): only the current server's end is an error.
    child.once('close', (code, signal) => {
      if (this.child === child) this.exitError = new Error(`redis-server exited (${signal ?? `code ${code}`}${signal === 'SIGXFSZ' ? ': the file-size limit (ulimit -f) is reached — raise it' : ''})${stderr ? `: ${stderr.trim()}` : ''}`)
    })
    child.once('error', (error) => (this.exitError = error))
    this.control = await this.waitForPing(this.ports.plain)
    if (fresh && this.options.seed) await this.options.seed(this.control)
  }

  /** Connect and PING until the server answers, or fail when it exits or takes too long. */
  private async waitForPing(port: number): Promise<RedisClient> {
    const {Redis} = await import('ioredis')
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      if (this.exitError) throw this.exitError
      const client = new Redis({host: '127.0.0.1', port, password: this.options.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false})
      client.on('error', () => undefined)
      try {
        await client.connect()
        await client.ping()
        return client
      } catch (error) {
        client.disconnect()
        if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS / 1000}s: ${(error as Error).message}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
}

/**
 * Whether a child process has ended. One killed by a signal (SIGXFSZ past `ulimit -f`) has exitCode null and
 * signalCode set: taking exitCode alone for "running" made stop() wait for ever for an 'exit' already emitted.
 */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as {port: number}).port
      server.close(() => resolve(port))
    })
  })
}
