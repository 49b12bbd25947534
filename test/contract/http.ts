/**
 * A raw HTTPS request to an emulator (what curl or az would send: with a bearer token from the emulator's token
 * endpoint, as ARM requires one), trusting its CA; the body parsed when JSON.
 */
import {request as httpsRequest} from 'node:https'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {bearerFor, scopeFor} from '../emulator/helpers.js'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body?: unknown
}

export async function sendRaw(emulator: RunningEmulator, method: string, path: string, body?: string): Promise<RawAnswer> {
  const authorization = await bearerFor(emulator, scopeFor(path))
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${emulator.armEndpoint}${path}`,
      // A connection of its own per request, as curl or one az process has: a kept-alive socket from Node's global agent
      // can be closed by the server's keep-alive timeout (5 s) just as it is reused when the caller spends longer than
      // that between requests (a spec validator compiling under load), and the request then fails with ECONNRESET
      // (trafficmanager.test.ts beside a CPU hog, stop 28).
      {method, ca: emulator.caPem, agent: false, headers: body === undefined ? authorization : {...authorization, 'content-type': 'application/json'}},
      (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            // JSON parsed; any other body (an XML publishing profile) kept as text.
            ...(text ? {body: /json/i.test(String(res.headers['content-type'] ?? 'json')) ? JSON.parse(text) : text} : {}),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
