/**
 * The fault matrix's names and its table (issue 16), apart from the cells themselves (fault-cells.ts), so that what
 * prints the table (test/faults/table.ts, a global setup in vitest's main process) does not load the runner.
 */
import {readdirSync} from 'node:fs'
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
