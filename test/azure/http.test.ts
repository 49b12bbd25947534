/**
 * httpGet (health probes, the emulator's token and discovery reads, Key Vault reads) on a kept-alive connection that
 * the server closes as the request arrives — what a server's idle timeout does to a client that reuses the connection
 * at that moment (a flake beside a CPU hog: `read ECONNRESET`, stop 28). The server here closes the second request of
 * every connection unanswered, so the race is there every time, not by timing.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {httpGet} from '../../src/azure/http.js'

let server: Server
let base: string
const connections = new Set<Socket>()
/** Requests the server saw, in order: `<connection number>:<request number on it> <path>`. */
const seen: string[] = []

beforeAll(async () => {
  let opened = 0
  server = createServer((request, response) => {
    const socket = request.socket as Socket & {number?: number; served?: number}
    socket.served = (socket.served ?? 0) + 1
    seen.push(`${socket.number}:${socket.served} ${request.url}`)
    // A request that is not the first on its connection, to a path that says so: closed unanswered.
    if (socket.served > 1 && request.url?.startsWith('/closing')) return void socket.destroy()
    // The first request on a connection, to a path that says so: closed unanswered too (a server's refusal).
    if (request.url?.startsWith('/refuse')) return void socket.destroy()
    response.writeHead(200, {'content-type': 'text/plain'}).end('ok')
  })
  server.on('connection', (socket: Socket & {number?: number}) => {
    socket.number = ++opened
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('httpGet on a kept-alive connection', () => {
  it('sends a GET the server reset on a reused connection again, once, on a new connection', async () => {
    seen.length = 0
    expect((await httpGet(`${base}/closing/1`)).status).toBe(200)
    // The same connection (Node's global agent keeps it alive): the server closes it unanswered.
    const second = await httpGet(`${base}/closing/2`)
    expect(second).toMatchObject({status: 200, body: 'ok'})
    const first = Number(seen[0]!.split(':')[0])
    expect(seen).toEqual([`${first}:1 /closing/1`, `${first}:2 /closing/2`, `${first + 1}:1 /closing/2`])
  })

  it('does not send again what failed on a new connection: that is the server\'s answer', async () => {
    seen.length = 0
    const error = await httpGet(`${base}/refuse`, {}).catch((e) => e)
    expect(error).toMatchObject({code: 'ECONNRESET'})
    expect(seen.filter((line) => line.endsWith('/refuse'))).toHaveLength(1)
  })
})
