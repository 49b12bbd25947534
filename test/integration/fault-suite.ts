/**
 * The fault matrix as vitest suites (issue 16): one emulator per suite, one test per cell (runCell, fault-cells.ts),
 * the cells' table printed at the end. Used by test/integration/fault-matrix.test.ts (the quick set in `npm test`) and
 * by the full matrix's shards, test/faults/shard-*.faults.ts (`npm run test:faults`, run by .ci/run after `npm test`):
 * vitest.faults.config.ts runs the shards side by side, one worker each, and test/faults/table.ts prints the whole
 * table once they are done.
 *
 * Why shards: a cell spends most of its time waiting (operations polled, tokens held until they expire, a CLI child
 * starting, evidence uploads), so one suite after the other leaves the two cores mostly idle (the whole matrix in one
 * suite: 196.7 s user + 28.4 s sys CPU in 9 min 50 s wall at load 12). Measured side by side on the 2-core machine at
 * load 15-17: 3 shards 167 s CPU, 6 min 46 s wall; 4 shards 194 s CPU, 6 min 52 s (each worker loads the modules and
 * starts an emulator of its own: a fourth costs CPU and gained nothing). 3 shards again at load 7-9: 161 s CPU, 3 min 40 s.
 * Back to back at load 2-6: main's single suite 152.7 s CPU, 5 min 9 s wall; 3 shards 153.5 s CPU, 2 min 29 s wall. Each shard has its own emulator (its own ARM
 * state, Azurite and faults), so cells of different shards cannot meet; within a shard cells run one after the other
 * against the one emulator, as before, each putting back what it changed (fault-cells.ts `cleanup`, `prepare`).
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCell, type MatrixContext} from './fault-cells.js'
import {ALL_CELLS, matrixTable, quickRowsPassed, ROWS_DIR_ENV, selectedCells, SHARD_FILES, type Cell, type CellRow, type Fault} from './fault-table.js'
import {startLocalEmulator} from './support.js'

export type {Cell} from './fault-table.js'

/** How many shards the full matrix is cut into: the files test/faults/shard-1.faults.ts … shard-N.faults.ts. */
export const SHARDS = SHARD_FILES.length

export {ALL_CELLS, selectedCells} from './fault-table.js'

/**
 * A cell's expected cost, in seconds of wall time on the idle 2-core machine, to balance the shards: a dr-drill is a
 * dozen runbooks at once; a cell that resumes runs twice; SIGKILL and concurrent resume start the real CLI; token
 * expiry waits for tokens to expire. Rough figures from the per-cell times the table prints — they only decide which
 * shard a cell joins, never what it checks.
 */
export function cellCost([runbook, fault]: Cell): number {
  const run = runbook === 'dr-drill' ? 8 : runbook === 'slot-swap' || runbook === 'redis-restore' ? 2 : 1.5
  const extra: Partial<Record<Fault, number>> = {
    'token expiry': 4,
    'SIGKILL+resume': 3 + run,
    'concurrent resume': 4 + run,
    SIGINT: run,
    'double SIGINT': run,
    'LRO hung': run,
    'disk full': run,
    'lease lost': runbook === 'dr-drill' ? run : 0,
    'Blob down': 1,
  }
  return run + (extra[fault] ?? 0)
}

/** The cells of shard `shard` (1-based) of `shards`: costliest first, each to the shard with the least cost so far. */
export function shardCells(cells: Cell[], shard: number, shards = SHARDS): Cell[] {
  const load = Array.from({length: shards}, () => 0)
  const of = new Map<Cell, number>()
  for (const cell of [...cells].sort((a, b) => cellCost(b) - cellCost(a))) {
    const least = load.indexOf(Math.min(...load))
    load[least]! += cellCost(cell)
    of.set(cell, least + 1)
  }
  // In the table's order within the shard.
  return cells.filter((cell) => of.get(cell) === shard)
}

/** One suite: an emulator, a test per cell, the table (or, under test/faults/table.ts, the rows) at the end. */
export function faultMatrixSuite(cells: Cell[], label: string, options: {shard?: number; rowsFile?: string} = {}): void {
  let emulator: RunningEmulator
  const rows: CellRow[] = []
  const ctx = {n: 0} as MatrixContext

  beforeAll(async () => {
    // Tokens live 5 s, so clients renew them for real and an expired one can be refused (the token-expiry cells): a
    // client holds a token for half its life (src/azure/clients.ts), and the emulator holds a request whose token has
    // at most 10 s left until it runs out, then refuses it — the shorter the life, the shorter that wait.
    // Traffic Manager and Front Door route a change in 0.2 s instead of the default 3 s: the cells only pass through
    // dr-drill's region failovers (there and back), they do not measure the RTO the propagation causes.
    emulator = await startLocalEmulator({tokenLifetimeSeconds: 5, routingPropagationMs: 200})
    ctx.emulator = emulator
    // The runs below reach this emulator the way the CLI does (OPSBOOK_EMULATOR_URL …).
    Object.assign(process.env, emulator.env())
    // Starting Azurite and the emulator takes far longer than the default hook timeout on a loaded 2-core machine.
  }, 180_000)
  afterAll(async () => {
    const rowsDir = process.env[ROWS_DIR_ENV]
    if (rowsDir && options.shard !== undefined) {
      mkdirSync(rowsDir, {recursive: true})
      writeFileSync(join(rowsDir, `shard-${options.shard}.json`), JSON.stringify({cells: cells.length, rows}))
    } else console.log(`\nfault matrix (${label}: ${rows.filter((r) => r.exit !== 'FAIL').length} of ${cells.length} cells passed)\n${matrixTable(rows)}`)
    // The quick set's rows, for the full matrix of the same CI run (fault-table.ts QUICK_ROWS_FILE).
    if (options.rowsFile) {
      mkdirSync(dirname(options.rowsFile), {recursive: true})
      writeFileSync(options.rowsFile, JSON.stringify({cells: cells.length, rows}))
    }
    await emulator?.stop()
  })

  describe(`fault matrix (${label})`, () => {
    for (const [index, [runbook, fault]] of cells.entries()) {
      // OPSBOOK_FAULT_REPEAT: the second and later runs of a cell are named apart.
      const nth = cells.slice(0, index).filter(([r, f]) => r === runbook && f === fault).length + 1
      it(`${runbook} × ${fault}${nth > 1 ? ` (run ${nth})` : ''}`, async () => {
        const started = Date.now()
        const row = await runCell(ctx, runbook, fault).catch((error: Error) => {
          // A failing cell still has its place in the table, with what went wrong.
          rows.push({runbook, fault, exit: 'FAIL', end: error.message.split('\n')[0]!.slice(0, 100), leftBehind: NaN, chain: '?', blob: '?', ms: Date.now() - started})
          throw error
        })
        rows.push(row)
        expect(row.chain).toBe('verifies')
      }, runbook === 'dr-drill' ? 600_000 : 180_000) // a drill and its resume are two drills: minutes on a loaded machine
    }
  })
}

/** Shard `shard` of the full matrix (or of OPSBOOK_FAULT_CELLS' selection). */
export function faultMatrixShard(shard: number): void {
  const selected = selectedCells()
  // OPSBOOK_FAULT_REPEAT=N runs each cell N times (hunting a flaky cell), spread over the shards like any cells.
  const repeat = Math.max(1, Number(process.env.OPSBOOK_FAULT_REPEAT) || 1)
  // Cells npm test's quick set passed in this CI run are not run again (fault-table.ts QUICK_ROWS_FILE); the table has their rows.
  const done = quickRowsPassed()
  const chosen = (selected ?? ALL_CELLS).filter(([runbook, fault]) => !done.some((r) => r.runbook === runbook && r.fault === fault))
  const cells = shardCells(chosen.flatMap((cell) => Array.from({length: repeat}, (): Cell => [...cell])), shard)
  const label = `${selected ? `OPSBOOK_FAULT_CELLS=${process.env.OPSBOOK_FAULT_CELLS}` : 'full'}${repeat > 1 ? ` ×${repeat}` : ''}, shard ${shard} of ${SHARDS}`
  // A shard the selection leaves empty says so (skipped), so vitest does not call the file broken.
  if (cells.length === 0) it.skip(`fault matrix shard ${shard}: no cell of OPSBOOK_FAULT_CELLS falls here`, () => {})
  else faultMatrixSuite(cells, label, {shard})
}
