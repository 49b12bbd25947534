/**
 * Loopback HTTP "fronts" for the emulator's traffic routers (Traffic Manager profiles, Front Door endpoints): each
 * listens on its own plain-http port on 127.0.0.1 and answers every request from the web app the router would send
 * it to at that moment, so a regional failover is observable over HTTP (which region answers, and whether healthy).
 *
 * The host only owns sockets: which backend serves is asked of `resolve` on every request, so endpoint/origin
 * changes and web app health changes apply without reopening ports. Responses carry the backend's status and body,
 * plus `x-opsbook-router`, `x-opsbook-backend` (the endpoint/origin name) and `x-opsbook-region` headers. With no
 * backend to route to the front answers 503 (Traffic Manager would answer NXDOMAIN/no records, Front Door 503).
 */
import {createServer, request as httpRequest, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

/** Where a router sends a request now. */
export interface FrontBackend {
  /** Endpoint or origin name. */
  name: string
  region: string
  /** Base URL of the web app that serves (its loopback slot URL). */
  url: string
}

/** Response header naming the region that served (not an Azure header). */
export const REGION_HEADER = 'x-opsbook-region'
export const BACKEND_HEADER = 'x-opsbook-backend'

export class FrontHost {
  private readonly servers = new Map<string, {server: Server; url: string}>()

  /** Open (idempotent) the front of router `key`; `resolve` picks its backend per request. */
  async open(key: string, resolve: () => FrontBackend | undefined): Promise<string> {
    const existing = this.servers.get(key.toLowerCase())
    if (existing) return existing.url
    const server = createServer((request, response) => {
      const backend = resolve()
      const headers = {'x-opsbook-router': key}
      if (!backend) {
        const text = JSON.stringify({error: `${key}: no enabled endpoint or origin to route to`})
        response.writeHead(503, {...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text)})
        return response.end(request.method === 'HEAD' ? undefined : text)
      }
      const target = new URL(request.url ?? '/', backend.url)
      const upstream = httpRequest(target, {method: request.method, headers: {'user-agent': request.headers['user-agent'] ?? 'opsbook-front'}}, (answer) => {
        response.writeHead(answer.statusCode ?? 502, {...answer.headers, ...headers, [BACKEND_HEADER]: backend.name, [REGION_HEADER]: backend.region})
        answer.pipe(response)
      })
      upstream.on('error', (error) => {
        const text = JSON.stringify({error: `origin ${backend.name} (${backend.region}) did not answer: ${error.message}`})
        if (!response.headersSent) response.writeHead(502, {...headers, [BACKEND_HEADER]: backend.name, [REGION_HEADER]: backend.region, 'content-type': 'application/json; charset=utf-8'})
        response.end(text)
      })
      upstream.end()
    })
    server.keepAliveTimeout = 1000
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject)
        resolveListen()
      })
    })
    server.unref()
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.servers.set(key.toLowerCase(), {server, url})
    return url
  }

  url(key: string): string | undefined {
    return this.servers.get(key.toLowerCase())?.url
  }

  async close(): Promise<void> {
    const all = [...this.servers.values()]
    this.servers.clear()
    await Promise.all(all.map(({server}) => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))))
  }
}

/**
 * Routing changes reach clients late: Traffic Manager answers are cached by resolvers for the profile's DNS TTL, and
 * Front Door deploys configuration to its edges in minutes. The emulator compresses that to `delayMs`: a change
 * becomes visible once that long has passed; until then the configuration from before it serves.
 */
export interface Propagation<T> {
  /** Epoch ms from which `current` serves; before it, `previous`. */
  effectiveFrom: number
  previous?: T
}

/** Record a change of `current` (call before mutating it) so it serves only after `delayMs`. */
export function propagate<T>(p: Propagation<T>, snapshotBefore: T, now: number, delayMs: number): void {
  // A change made while an earlier one is still propagating keeps the configuration clients still see.
  if (now >= p.effectiveFrom || p.previous === undefined) p.previous = snapshotBefore
  p.effectiveFrom = now + delayMs
}

/** The configuration clients see now. */
export function visible<T>(p: Propagation<T>, current: T, now: number): T {
  return now < p.effectiveFrom && p.previous !== undefined ? p.previous : current
}
