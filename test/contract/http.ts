/** A raw HTTPS request to an emulator (what curl or az would send), trusting its CA; the body parsed when JSON. */
import {request as httpsRequest} from 'node:https'
import type {RunningEmulator} from '../../src/emulator/server.js'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body?: unknown
}

export function sendRaw(emulator: RunningEmulator, method: string, path: string, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${emulator.armEndpoint}${path}`,
      {method, ca: emulator.caPem, headers: body === undefined ? {} : {'content-type': 'application/json'}},
      (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            ...(text ? {body: JSON.parse(text)} : {}),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
