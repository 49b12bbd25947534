/**
 * The fault matrix's names and its table (issue 16), apart from the cells themselves (fault-cells.ts), so that what
 * prints the table (test/faults/table.ts, a global setup in vitest's main process) does not load the runner.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

export const FAULTS = [
  '429 burst',
  '500/503',
  'conn reset',
  'LRO failed',
  'LRO hung',
  'token expiry',
  'Blob down',
  'lease lost',
  'SIGINT',
  'double SIGINT',
  'SIGKILL+resume',
  'concurrent resume',
  'disk full',
] as const
export type Fault = (typeof FAULTS)[number]

export const RUNBOOKS = ['pg-pitr', 'pg-promote-replica', 'redis-restore', 'redis-export', 'slot-swap', 'maintenance-window', 'dr-drill'] as const
export type RunbookName = (typeof RUNBOOKS)[number]

export type Cell = [RunbookName, Fault]

export const ALL_CELLS: Cell[] = RUNBOOKS.flatMap((runbook) => FAULTS.map((fault): Cell => [runbook, fault]))

/**
 * OPSBOOK_FAULT_CELLS narrows a run to some cells while working on them: `runbook:fault` pairs separated by commas,
 * either side may be `*` (e.g. `dr-drill:*,pg-pitr:LRO hung`). Undefined when not set.
 */
export function selectedCells(env: NodeJS.ProcessEnv = process.env): Cell[] | undefined {
  const only = env.OPSBOOK_FAULT_CELLS?.split(',')
    .map((pair) => pair.trim().split(':') as [string, string | undefined])
    .filter(([r]) => r)
  if (!only) return undefined
  return ALL_CELLS.filter(([runbook, fault]) => only.some(([r, f]) => (r === '*' || r === runbook) && (f === undefined || f === '*' || f === fault)))
}

export interface CellRow {
  runbook: RunbookName
  fault: Fault | 'none'
  /** Exit code, and the resume's after an arrow. */
  exit: string
  /** What the run ended as (status, and after a resume the resumed run's). */
  end: string
  leftBehind: number
  chain: string
  blob: string
  ms: number
}

/** Where the full matrix's shards leave their rows for test/faults/table.ts (set by that global setup). */
export const ROWS_DIR_ENV = 'OPSBOOK_FAULT_ROWS_DIR'

/**
 * A file where `npm test`'s quick set (fault-matrix.test.ts) leaves its cells' rows, and from which the full matrix
 * (`npm run test:faults`) takes the cells that passed there instead of running them again, when OPSBOOK_FAULT_QUICK_ROWS
 * names it. Only .ci/run sets the variable, right after the `npm test` that wrote the file (it deletes a stale one first):
 * the same checkout and build, so a cell that passed there is not paid for twice in one CI run. The printed table
 * still has all 91 cells, those from the quick set marked.
 */
export const QUICK_ROWS_FILE = join('.opsbook-test', 'fault-quick.json')
export const QUICK_ROWS_ENV = 'OPSBOOK_FAULT_QUICK_ROWS'

/** The rows of the quick set's cells that passed, from the file OPSBOOK_FAULT_QUICK_ROWS names; [] when unset or absent. */
export function quickRowsPassed(env: NodeJS.ProcessEnv = process.env): CellRow[] {
  const file = env[QUICK_ROWS_ENV]
  if (!file || !existsSync(file)) return []
  const {rows} = JSON.parse(readFileSync(file, 'utf8')) as {rows: CellRow[]}
  return rows.filter((r) => r.exit !== 'FAIL')
}

/** The full matrix's shards: test/faults/shard-1.faults.ts … shard-N.faults.ts, one vitest worker each. */
export const SHARD_FILES = readdirSync(join(import.meta.dirname, '..', 'faults')).filter((f) => /^shard-\d+\.faults\.ts$/.test(f))

/** The matrix as a grid (runbooks × faults, each cell its exit codes) and the cells as rows. */
export function matrixTable(rows: CellRow[]): string {
  const grid = [['runbook', ...FAULTS]]
  for (const runbook of RUNBOOKS)
    if (rows.some((r) => r.runbook === runbook)) grid.push([runbook, ...FAULTS.map((f) => rows.find((r) => r.runbook === runbook && r.fault === f)?.exit.replace(' → resume ', '→') ?? '·')])
  const detailHead = ['runbook', 'fault', 'exit', 'end state', 'left behind', 'chain', 'local = Blob', 's']
  const detail = [detailHead, ...rows.map((r) => [r.runbook, r.fault, r.exit, r.end, String(r.leftBehind), r.chain, r.blob, (r.ms / 1000).toFixed(1)])]
  return `${render(grid)}\n\n${render(detail)}`
}

function render(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n')
}
