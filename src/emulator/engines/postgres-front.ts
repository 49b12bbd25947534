/**
 * The TLS front door of an emulated flexible server's real PostgreSQL process: it speaks the start of the PostgreSQL
 * wire protocol (https://www.postgresql.org/docs/16/protocol-flow.html#PROTOCOL-FLOW-START-UP) — SSLRequest or direct
 * TLS, the StartupMessage, a cleartext password request — checks the login, then hands the connection to the real
 * server over its unix socket and relays bytes both ways untouched. Queries, errors, COPY and cancel requests are the
 * real server's.
 *
 * Why a front door: Azure validates a Microsoft Entra token given as the password (aud
 * https://ossrdbms-aad.database.windows.net, a valid signature and lifetime, and a principal mapped to the role —
 * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-azure-ad-authentication), which stock
 * PostgreSQL cannot do (Azure uses its own extension). Its `ldap`/`radius` methods could ask another process, but a
 * refused login then only says "LDAP authentication failed", never why; per-connection role passwords would race. So
 * the emulator asks for the password the way Azure does (cleartext over TLS: a token cannot go through SCRAM), judges
 * Entra logins itself with the reason in PostgreSQL's own FATAL error (SQLSTATE 28P01), and leaves every other login
 * to the real server's password check (pg_hba `password` on the socket). Real PostgreSQL, real clients (pg, psql).
 */
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {TLSSocket, createSecureContext} from 'node:tls'

/** What the front door decides for a login. */
export type LoginDecision =
  /** A Microsoft Entra login whose token was accepted: the server trusts the role on its socket. */
  | {kind: 'entra'}
  /** Not an Entra role: the real server checks the password. */
  | {kind: 'password'}
  | {kind: 'refused'; reason: string}

export interface FrontDoorOptions {
  tls: {certPem: string; keyPem: string}
  /** The real server's unix socket file (`<socketDir>/.s.PGSQL.<port>`). */
  socketPath(): string
  /** Judge a login: the role, the database and the password the client sent (a token for an Entra role). */
  authenticate(login: {user: string; database: string; password: string}): Promise<LoginDecision>
}

export interface FrontDoor {
  port: number
  close(): Promise<void>
}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
/** A startup packet larger than this is not one (PostgreSQL's own MAX_STARTUP_PACKET_LENGTH is 10000). */
const MAX_STARTUP = 10_000

/** Start a front door on a free loopback port. */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const context = createSecureContext({cert: options.tls.certPem, key: options.tls.keyPem, minVersion: 'TLSv1.2'})
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    void serve(socket, options, context).catch(() => socket.destroy())
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as {port: number}).port))
  })
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Reads whole messages off a socket (startup packets have no type byte; later messages do). */
class Reader {
  private buffer = Buffer.alloc(0)
  private waiting: (() => void) | undefined
  private ended = false

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onEnd)
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk])
    this.waiting?.()
  }

  private readonly onEnd = () => {
    this.ended = true
    this.waiting?.()
  }

  private async need(bytes: number): Promise<void> {
    while (this.buffer.length < bytes) {
      if (this.ended) throw new Error('the client closed the connection')
      await new Promise<void>((resolve) => (this.waiting = resolve))
      this.waiting = undefined
    }
  }

  /** A length-prefixed packet without a type byte (startup, SSLRequest, CancelRequest). */
  async startupPacket(): Promise<Buffer> {
    await this.need(4)
    const length = this.buffer.readInt32BE(0)
    if (length < 8 || length > MAX_STARTUP) throw new Error('invalid startup packet length')
    await this.need(length)
    return this.take(length)
  }

  /** A typed message: [type, body]. */
  async message(): Promise<{type: string; body: Buffer; raw: Buffer}> {
    await this.need(5)
    const length = this.buffer.readInt32BE(1)
    if (length < 4) throw new Error('invalid message length')
    await this.need(1 + length)
    const raw = this.take(1 + length)
    return {type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw}
  }

  private take(bytes: number): Buffer {
    const out = this.buffer.subarray(0, bytes)
    this.buffer = this.buffer.subarray(bytes)
    return out
  }

  /** Stop reading and hand back what was read but not consumed (the socket is then piped, or upgraded to TLS). */
  detach(pause = true): Buffer {
    this.socket.off('data', this.onData)
    this.socket.off('end', this.onEnd)
    this.socket.off('close', this.onEnd)
    if (pause) this.socket.pause()
    return this.buffer
  }
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([...[['S', 'FATAL'], ['V', 'FATAL'], ['C', code], ['M', message]].map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])])
  const header = Buffer.alloc(5)
  header.write('E', 0)
  header.writeInt32BE(4 + fields.length, 1)
  return Buffer.concat([header, fields])
}

function authRequest(code: number): Buffer {
  const out = Buffer.alloc(9)
  out.write('R', 0)
  out.writeInt32BE(8, 1)
  out.writeInt32BE(code, 5)
  return out
}

function passwordMessage(password: string): Buffer {
  const body = Buffer.from(`${password}\0`)
  const header = Buffer.alloc(5)
  header.write('p', 0)
  header.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([header, body])
}

function startupParameters(packet: Buffer): Record<string, string> {
  const parts = packet.subarray(8).toString('utf8').split('\0')
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) out[parts[i]!] = parts[i + 1]!
  return out
}

async function serve(raw: Socket, options: FrontDoorOptions, context: ReturnType<typeof createSecureContext>): Promise<void> {
  let socket: Socket = raw
  let reader = new Reader(raw)
  let encrypted = false
  for (;;) {
    const packet = await reader.startupPacket()
    const code = packet.readInt32BE(4)
    if (code === SSL_REQUEST && !encrypted) {
      // The client sends its TLS handshake only after the 'S': nothing is buffered. (Direct TLS, PostgreSQL 17's
      // opt-in sslnegotiation=direct, is not served: clients fall back to this negotiation.)
      reader.detach(false)
      raw.write('S')
      const tls = new TLSSocket(raw, {isServer: true, secureContext: context})
      tls.on('error', () => raw.destroy())
      socket = tls
      reader = new Reader(tls)
      encrypted = true
      continue
    }
    if (code === GSSENC_REQUEST) {
      socket.write('N')
      continue
    }
    if (code === CANCEL_REQUEST) {
      // The key in it is the real server's (its BackendKeyData went through untouched): the server judges it.
      const backend = createConnection(options.socketPath())
      backend.on('error', () => undefined)
      backend.end(packet)
      socket.end()
      return
    }
    if (code >> 16 !== 3) {
      socket.end(errorResponse('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: server supports 3.0 to 3.0`))
      return
    }
    const params = startupParameters(packet)
    const user = params.user ?? ''
    const database = params.database ?? user
    if (!encrypted) {
      // Azure requires TLS (require_secure_transport=on by default); PostgreSQL's own refusal for a plain connection.
      socket.end(errorResponse('28000', `no pg_hba.conf entry for host "127.0.0.1", user "${user}", database "${database}", no encryption`))
      return
    }
    // Azure asks for the password in clear (over TLS): an Entra token cannot take part in SCRAM.
    socket.write(authRequest(3))
    const reply = await reader.message()
    if (reply.type !== 'p') throw new Error('expected a password message')
    const password = reply.body.subarray(0, Math.max(0, reply.body.indexOf(0))).toString('utf8')
    const decision = await options.authenticate({user, database, password}).catch((error: Error): LoginDecision => ({kind: 'refused', reason: error.message}))
    if (decision.kind === 'refused') {
      socket.end(errorResponse('28P01', `password authentication failed for user "${user}": ${decision.reason}`))
      return
    }
    await relay(socket, reader, options.socketPath(), packet, decision.kind === 'password' ? password : undefined)
    return
  }
}

/**
 * Open the real server's socket, send the client's StartupMessage, answer its password request (for a password
 * login), pass its AuthenticationOk (or its error) to the client, then relay both ways.
 */
async function relay(client: Socket, reader: Reader, socketPath: string, startup: Buffer, password: string | undefined): Promise<void> {
  const backend = createConnection(socketPath)
  backend.on('error', () => client.destroy())
  await new Promise<void>((resolve, reject) => {
    backend.once('connect', resolve)
    backend.once('error', reject)
  })
  backend.write(startup)
  const fromBackend = new Reader(backend)
  for (;;) {
    const message = await fromBackend.message()
    if (message.type === 'R' && message.body.readInt32BE(0) === 3 && password !== undefined) {
      backend.write(passwordMessage(password))
      continue
    }
    if (message.type === 'R' && message.body.readInt32BE(0) !== 0) {
      // A method the front door cannot answer for the client (the server's pg_hba asks cleartext or trusts).
      client.end(errorResponse('28000', `the emulator cannot relay authentication method ${message.body.readInt32BE(0)}`))
      backend.destroy()
      return
    }
    client.write(message.raw)
    if (message.type === 'E') {
      client.end()
      backend.destroy()
      return
    }
    break
  }
  const clientRest = reader.detach()
  const backendRest = fromBackend.detach()
  if (backendRest.length > 0) client.write(backendRest)
  if (clientRest.length > 0) backend.write(clientRest)
  client.pipe(backend)
  backend.pipe(client)
  client.resume()
  backend.resume()
  client.on('close', () => backend.destroy())
  backend.on('close', () => client.destroy())
}
