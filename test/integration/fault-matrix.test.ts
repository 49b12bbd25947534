/**
 * The standing fault matrix (issue 16): every built-in runbook that changes Azure × every fault, each cell checked
 * for its defined end state and exit code, nothing left behind (through ARM), no journal event lost (local = Blob
 * after sync) and `evidence verify` passing — see fault-cells.ts. The matrix is printed as a table at the end.
 *
 * `npm test` runs a representative set (14 cells: each of the 13 faults at least once, each runbook but dr-drill — whose
 * interrupts dr-drill-interrupt.test.ts covers — at least once) to stay fast. The full matrix, 91 cells, runs in
 * shards side by side (test/faults/, fault-suite.ts): `npm run test:faults`, which .ci/run runs after `npm test` — without
 * the quick set's cells that passed in that `npm test` (their rows are in its table: fault-table.ts QUICK_ROWS_FILE), so
 * CI runs each of the 91 cells once.
 * OPSBOOK_FAULT_CELLS picks cells, here or in the shards (fault-suite.ts `selectedCells`); OPSBOOK_FAULT_MATRIX=full runs
 * all 91 here, in one suite.
 */
import type {Fault, RunbookName} from './fault-cells.js'
import {ALL_CELLS, faultMatrixSuite, selectedCells} from './fault-suite.js'
import {QUICK_ROWS_FILE} from './fault-table.js'

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

const selected = selectedCells()
// OPSBOOK_FAULT_MATRIX=full: all 91 cells in this one suite, one after the other (what the shards cut up).
const full = process.env.OPSBOOK_FAULT_MATRIX === 'full'
if (selected) faultMatrixSuite(selected, `OPSBOOK_FAULT_CELLS=${process.env.OPSBOOK_FAULT_CELLS}`)
else if (full) faultMatrixSuite(ALL_CELLS, 'full, one suite')
// The quick set leaves its rows in .opsbook-test/fault-quick.json: .ci/run's full matrix then runs only the other 77 cells.
else faultMatrixSuite(QUICK, 'quick set; npm run test:faults for all', {rowsFile: QUICK_ROWS_FILE})
