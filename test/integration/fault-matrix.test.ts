/**
 * The standing fault matrix (issue 16): every built-in runbook that changes Azure × every fault, each cell checked
 * for its defined end state and exit code, nothing left behind (through ARM), no journal event lost (local = Blob
 * after sync) and `evidence verify` passing — see fault-cells.ts. The matrix is printed as a table at the end.
 *
 * `npm test` runs a representative set (14 cells: each of the 13 faults at least once, each runbook but dr-drill — whose interrupts dr-drill-interrupt.test.ts covers — at least once) to stay fast; the full matrix
 * runs with OPSBOOK_FAULT_MATRIX=full (`npm run test:faults`; it takes far longer than CI's budget, so `.ci/run` does not
 * run it), and OPSBOOK_FAULT_CELLS picks cells (see below).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {FAULTS, matrixTable, runCell, RUNBOOKS, type CellRow, type Fault, type MatrixContext, type RunbookName} from './fault-cells.js'
import {startLocalEmulator} from './support.js'

const FULL = process.env.OPSBOOK_FAULT_MATRIX === 'full'

/** The quick set: a diagonal through the matrix, so every runbook and every fault appear. */
const QUICK: Array<[RunbookName, Fault]> = [
  ['slot-swap', '429 burst'],
  ['pg-pitr', '500/503'],
  ['redis-export', 'conn reset'],
  ['maintenance-window', 'LRO failed'],
  // The hung change is waited for on resume before it is sent again (slot-swap × LRO hung, ending 3, stays in the full
  // matrix; slot-swap × double SIGINT below covers exit 3 → resume).
  ['maintenance-window', 'LRO hung'],
  // Every fault once: token expiry passes on every runbook again (full matrix), and 429 is slot-swap's above.
  ['pg-promote-replica', 'token expiry'],
  ['redis-restore', 'Blob down'],
  ['pg-pitr', 'lease lost'],
  // The lease lost while the change's step.started is shown: the change must not start (cheap: the run stops at once).
  ['redis-export', 'lease lost'],
  ['redis-restore', 'SIGINT'],
  ['slot-swap', 'double SIGINT'],
  ['pg-pitr', 'SIGKILL+resume'],
  ['redis-export', 'concurrent resume'],
  ['maintenance-window', 'disk full'],
  // dr-drill: Ctrl-C, SIGKILL and concurrent resumes through the CLI are in dr-drill-interrupt.test.ts.
]

/**
 * OPSBOOK_FAULT_CELLS narrows the run to some cells while working on them: `runbook:fault` pairs separated by commas,
 * either side may be `*` (e.g. `dr-drill:*,pg-pitr:LRO hung`).
 */
const ONLY = process.env.OPSBOOK_FAULT_CELLS?.split(',').map((pair) => pair.trim().split(':') as [string, string | undefined]).filter(([r]) => r)
const ALL: Array<[RunbookName, Fault]> = RUNBOOKS.flatMap((runbook) => FAULTS.map((fault): [RunbookName, Fault] => [runbook, fault]))
const CELLS: Array<[RunbookName, Fault]> = ONLY
  ? ALL.filter(([runbook, fault]) => ONLY.some(([r, f]) => (r === '*' || r === runbook) && (f === undefined || f === '*' || f === fault)))
  : FULL
    ? ALL
    : QUICK

let emulator: RunningEmulator
const rows: CellRow[] = []
const ctx = {n: 0} as MatrixContext

beforeAll(async () => {
  // Tokens live 5 s, so clients renew them for real and an expired one can be refused (the token-expiry cells): a
  // client holds a token for half its life (src/azure/clients.ts), and the emulator holds a request whose token has
  // at most 10 s left until it runs out, then refuses it — the shorter the life, the shorter that wait.
  emulator = await startLocalEmulator({tokenLifetimeSeconds: 5})
  ctx.emulator = emulator
  // The runs below reach this emulator the way the CLI does (OPSBOOK_EMULATOR_URL …).
  Object.assign(process.env, emulator.env())
  // Starting Azurite and the emulator takes far longer than the default hook timeout on a loaded 2-core machine.
}, 180_000)
afterAll(async () => {
  console.log(`\nfault matrix (${ONLY ? `OPSBOOK_FAULT_CELLS=${process.env.OPSBOOK_FAULT_CELLS}` : FULL ? 'full' : 'quick set; OPSBOOK_FAULT_MATRIX=full for all'}: ${rows.filter((r) => r.exit !== 'FAIL').length} of ${CELLS.length} cells passed)\n${matrixTable(rows)}`)
  await emulator?.stop()
})

describe(`fault matrix (${ONLY ? 'selected' : FULL ? 'full' : 'quick'})`, () => {
  for (const [runbook, fault] of CELLS)
    it(`${runbook} × ${fault}`, async () => {
      const started = Date.now()
      const row = await runCell(ctx, runbook, fault).catch((error: Error) => {
        // A failing cell still has its place in the table, with what went wrong.
        rows.push({runbook, fault, exit: 'FAIL', end: error.message.split('\n')[0]!.slice(0, 100), leftBehind: NaN, chain: '?', blob: '?', ms: Date.now() - started})
        throw error
      })
      rows.push(row)
      expect(row.chain).toBe('verifies')
    }, runbook === 'dr-drill' ? 600_000 : 180_000) // a drill and its resume are two drills: minutes on a loaded machine
})
