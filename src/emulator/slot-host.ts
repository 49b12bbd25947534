/**
 * Real HTTP for web app slots: every slot (production included) listens on its own plain-http port on 127.0.0.1,
 * so health checks and swaps are observable from outside the emulator. The host only owns sockets; what a slot
 * serves (its deployment and health) is looked up on every request, so a swap — which moves deployments between
 * slots in the state — changes what a port answers without reopening it.
 *
 * Served paths:
 * - `GET /` → 200 `{site, slot, version, healthy: true}` (500 with the same fields and `error` when unhealthy);
 * - `GET <healthPath>` → 200 `{status: 'healthy', site, slot, version}` or 503 `{status: 'unhealthy', …}`;
 * - anything else → 404 (still carrying `x-opsbook-version`).
 * Every response carries `x-opsbook-site`, `x-opsbook-slot` and `x-opsbook-version` headers.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

/** What a slot serves at the moment of a request. */
export interface SlotView {
  site: string
  slot: string
  version: string
  healthy: boolean
  healthPath: string
}

/** Listening slot servers, keyed by `site/slot` (lower case). */
export class SlotHost {
  private readonly servers = new Map<string, {server: Server; url: string}>()

  /** @param resolve what `site`/`slot` serves now (undefined once the slot no longer exists → 404). */
  constructor(private readonly resolve: (site: string, slot: string) => SlotView | undefined) {}

  /** Open a port for a slot (idempotent) and return its base URL, e.g. `http://127.0.0.1:41234`. */
  async open(site: string, slot: string): Promise<string> {
    const key = keyOf(site, slot)
    const existing = this.servers.get(key)
    if (existing) return existing.url
    const server = createServer((request, response) => {
      const view = this.resolve(site, slot)
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body)
        response.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          'x-opsbook-site': site,
          'x-opsbook-slot': slot,
          ...(view ? {'x-opsbook-version': view.version} : {}),
        })
        response.end(request.method === 'HEAD' ? undefined : text)
      }
      if (!view) return send(404, {error: `slot ${site}/${slot} does not exist`})
      const path = (request.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'
      const healthPath = view.healthPath.replace(/\/+$/, '') || '/'
      const identity = {site: view.site, slot: view.slot, version: view.version}
      if (path.toLowerCase() === healthPath.toLowerCase())
        return view.healthy ? send(200, {status: 'healthy', ...identity}) : send(503, {status: 'unhealthy', ...identity})
      if (path === '/')
        return view.healthy
          ? send(200, {...identity, healthy: true})
          : send(500, {...identity, healthy: false, error: 'The deployment in this slot is failing (unhealthy build).'})
      return send(404, {error: `no route for ${path}`, ...identity})
    })
    // Health probes and tests open short-lived connections; never let an idle keep-alive hold the emulator open.
    server.keepAliveTimeout = 1000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.unref()
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.servers.set(key, {server, url})
    return url
  }

  /** The base URL of a slot's port, if open. */
  url(site: string, slot: string): string | undefined {
    return this.servers.get(keyOf(site, slot))?.url
  }

  /** Close every port. */
  async close(): Promise<void> {
    const all = [...this.servers.values()]
    this.servers.clear()
    await Promise.all(
      all.map(
        ({server}) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          }),
      ),
    )
  }
}

function keyOf(site: string, slot: string): string {
  return `${site}/${slot}`.toLowerCase()
}
