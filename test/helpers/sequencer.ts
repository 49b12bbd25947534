/**
 * The order test files start in (vitest.config.ts `sequence.sequencer`). Two workers take files from one queue, so
 * the run ends when the worker holding the last long file finishes it: the longest files must start first, and the
 * many short ones fill in at the end. Vitest orders by the durations it cached from this checkout's last run
 * (node_modules/.vite/vitest/…/results.json), which is right — but a fresh clone (CI, a new developer) has no cache,
 * and vitest then orders by file size, which puts files that are short in text but long to run (real PostgreSQL,
 * the fault matrix) anywhere in the queue, possibly last, with one worker idle meanwhile.
 *
 * So without a cached duration for every file, the files listed in SLOWEST start first, in that order, then the rest
 * as vitest orders them. The list is measured (per-file times from .opsbook-test/results.json, endTime − startTime)
 * and only needs to hold the few files long enough to matter; a file missing from it is still run.
 */
import {relative} from 'node:path'
import {BaseSequencer, type TestSpecification} from 'vitest/node'

/**
 * Longest first, as measured on the 2-core machine (per-file seconds vary with the load, the ranking roughly holds):
 * the tail of the run is decided by these. Stop 27, from the idle clean-clone CI of f1179a9 (seconds per file, first
 * test start to last test end): slot-swap 35.5, fault-matrix 32.9, az-conformance 27.7, postgres-upgrade 25.8,
 * postgres-data 19.6, dr-drill-interrupt 18.6, dr-drill 15.3, emulator start 13.5, fleet 12.3, specs 10.8,
 * hostile-input 10.2, integration/runbooks 10.1, then files of 7-10 s. Files of 7-11 s not listed then (specs,
 * integration/runbooks, preflight, production, evidence-and-leases, leak) started as late as 287 s into a 300 s run
 * (production.test.ts, 8.7 s): listed now, so that only files of a few seconds are left for the end.
 */
export const SLOWEST = [
  'test/integration/slot-swap.test.ts',
  'test/integration/fault-matrix.test.ts',
  'test/emulator/az-conformance.test.ts',
  'test/emulator/engines/postgres-upgrade.test.ts',
  'test/integration/postgres-data.test.ts',
  'test/integration/dr-drill-interrupt.test.ts',
  'test/integration/dr-drill.test.ts',
  'test/commands/emulator/start.test.ts',
  'test/checks/fleet.test.ts',
  'test/contract/specs.test.ts',
  'test/commands/hostile-input.test.ts',
  'test/integration/runbooks.test.ts',
  'test/azure/policy.test.ts',
  'test/commands/run.test.ts',
  'test/commands/tty.test.ts',
  'test/integration/resume-override.test.ts',
  'test/ci/reports.test.ts',
  'test/integration/preflight.test.ts',
  'test/integration/production.test.ts',
  'test/integration/evidence-and-leases.test.ts',
  'test/integration/resume.test.ts',
  'test/integration/leak.test.ts',
  'test/emulator/connect.test.ts',
  'test/commands/runbooks/compose.test.ts',
]

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const root = this.ctx.config.root
    const key = (spec: TestSpecification) => relative(root, spec.moduleId).split('\\').join('/')
    if (sorted.every((spec) => this.ctx.cache.getFileTestResults(`${spec.project.name}:${relative(root, spec.moduleId)}`))) return sorted
    const rank = (spec: TestSpecification) => {
      const at = SLOWEST.indexOf(key(spec))
      return at === -1 ? SLOWEST.length : at
    }
    // Array.prototype.sort is stable: files not listed keep vitest's order.
    return [...sorted].sort((a, b) => rank(a) - rank(b))
  }
}
