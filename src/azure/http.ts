/**
 * A small HTTP GET for health checks that can trust an extra CA (the emulator's self-signed certificate) without
 * touching global TLS settings.
 */
import http from 'node:http'
import https from 'node:https'

export interface HttpGetOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
  headers?: Record<string, string>
  /** Extra CA PEM to trust for https URLs. */
  ca?: string
  /** Keep at most this many body bytes (default 64 KiB). */
  maxBodyBytes?: number
}

export interface HttpGetResult {
  status: number
  headers: Record<string, string>
  body: string
  /** Wall time of the request. */
  elapsedMs: number
}

/**
 * GET `url`. Rejects on network errors, timeouts and aborts; any HTTP status resolves.
 *
 * A request sent on a kept-alive connection the server was closing at that moment (its idle timeout: Node's servers
 * 5 s, Azure's front ends minutes) fails with ECONNRESET/EPIPE without the server having read it. Node's global agent
 * keeps connections alive, so such a failure is sent again once on a new connection — Node's documented answer
 * (https://nodejs.org/api/http.html#requestreusedsocket); a GET changes nothing, so sending it twice is safe. A reset on
 * a new connection is the server's answer and is not retried here (callers with attempts of their own go on).
 */
export async function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpGetResult> {
  try {
    return await getOnce(url, options, false)
  } catch (error) {
    const {code, reusedSocket} = error as {code?: string; reusedSocket?: boolean}
    if (!reusedSocket || (code !== 'ECONNRESET' && code !== 'EPIPE') || options.signal?.aborted) throw error
    return getOnce(url, options, true)
  }
}

function getOnce(url: string, options: HttpGetOptions, freshConnection: boolean): Promise<HttpGetResult> {
  const target = new URL(url)
  const transport = target.protocol === 'https:' ? https : http
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxBody = options.maxBodyBytes ?? 64 * 1024
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: 'GET',
        headers: {'user-agent': 'opsbook-health-check', ...options.headers},
        ...(target.protocol === 'https:' && options.ca ? {ca: options.ca} : {}),
        signal: options.signal,
        timeout: timeoutMs,
        ...(freshConnection ? {agent: false} : {}),
      },
      (response) => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size))
          size += chunk.length
        })
        response.on('end', () => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(response.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
          resolve({status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8'), elapsedMs: Date.now() - started})
        })
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(Object.assign(new Error(`GET ${target.origin}${target.pathname} timed out after ${timeoutMs} ms`), {code: 'ETIMEDOUT'})))
    request.on('error', (error) => reject(Object.assign(error, {reusedSocket: request.reusedSocket})))
    request.end()
  })
}
