/**
 * Vitest global setup of the full fault matrix (vitest.faults.config.ts): the shards (shard-*.faults.ts) run side by
 * side and leave their cells' rows in a directory named by OPSBOOK_FAULT_ROWS_DIR; once all are done, the whole matrix
 * is printed as one table, runbooks × faults, then every cell with its exit codes, end state and seconds.
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {FAULTS, matrixTable, quickRowsPassed, ROWS_DIR_ENV, RUNBOOKS, selectedCells, type CellRow} from '../integration/fault-table.js'

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-fault-rows-'))
  process.env[ROWS_DIR_ENV] = dir
  const started = Date.now()
  return () => {
    try {
      const shards = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []
      const parts = shards.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as {cells: number; rows: CellRow[]})
      const order = (r: CellRow) => RUNBOOKS.indexOf(r.runbook) * 100 + FAULTS.indexOf(r.fault as (typeof FAULTS)[number])
      // The cells npm test's quick set passed in this CI run, which the shards left out (fault-table.ts QUICK_ROWS_FILE).
      const selected = selectedCells()
      const quick = quickRowsPassed().filter((r) => !selected || selected.some(([runbook, fault]) => r.runbook === runbook && r.fault === fault))
      const rows = [...parts.flatMap((p) => p.rows), ...quick.map((r) => ({...r, end: `${r.end} (npm test)`}))].sort((a, b) => order(a) - order(b))
      const cells = parts.reduce((sum, p) => sum + p.cells, 0) + quick.length
      const seconds = rows.reduce((sum, r) => sum + r.ms, 0) / 1000
      process.stdout.write(
        `\nfault matrix (${process.env.OPSBOOK_FAULT_CELLS ? `OPSBOOK_FAULT_CELLS=${process.env.OPSBOOK_FAULT_CELLS}` : 'full'}, ${shards.length} shards side by side): ` +
          `${rows.filter((r) => r.exit !== 'FAIL').length} of ${cells} cells passed${quick.length ? ` (${quick.length} of them in npm test's quick set, not run again)` : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s wall, ${seconds.toFixed(0)} s of cells\n${matrixTable(rows)}\n`,
      )
    } finally {
      rmSync(dir, {recursive: true, force: true})
      delete process.env[ROWS_DIR_ENV]
    }
  }
}
