/**
 * The HTTP gate the `call-gated.yaml` fixture (test/fixtures/cli) waits at: `/count` counts its requests (a step run
 * twice would show 2), every other path answers 503 until the test opens the gate. `reachedGate` resolves on the first
 * gate request, so a test interrupts the run when it is really waiting there, not after a fixed delay.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface GateServer {
  base: string
  reachedGate: Promise<void>
  open(): void
  /** Requests to `/count` so far. */
  count(): number
  close(): void
}

export async function startGateServer(): Promise<GateServer> {
  let counted = 0
  let gateOpen = false
  let atGate: () => void = () => undefined
  const reachedGate = new Promise<void>((resolve) => (atGate = resolve))
  const server = createServer((request, response) => {
    if (request.url === '/count') return response.end(String(++counted))
    atGate()
    response.statusCode = gateOpen ? 200 : 503
    response.end(gateOpen ? 'open' : 'shut')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reachedGate,
    open: () => (gateOpen = true),
    count: () => counted,
    close: () => server.close(),
  }
}
