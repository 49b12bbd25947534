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
 * the tail of the run is decided by these. Each figure is the file's whole time as vitest's reporter prints it (its
 * beforeAll/afterAll hooks included: a file's worker is busy for that long), not `endTime − startTime` of
 * results.json, which spans only its tests — witness.test.ts is 1.6 s of tests after a 7.8 s beforeAll, and the 164
 * files' hooks were 56 s of the two workers' ~445 s. Stop 31 (speed12), a whole run at load 1.4-3 after the YAML parse
 * cache and the initdb template cache (vitest Duration 267 s): postgres-upgrade 35.2, fault-matrix 34.7, postgres-data
 * 28.2, az-conformance 23.7, fleet 17.2, dr-drill-interrupt 11.4, workflow-run 11.1, witness 11.0, failover-resume
 * 10.7, policy 10.6, emulator start 9.9, contract/specs 9.7, dr-drill 9.6, leak 9.2, hung-operations 9.1,
 * evidence-and-leases 8.8, commands/run 8.8, slot-swap 8.6, connect 8.5, checks/run 8.3, then files of 5-7.6 s.
 * fault-matrix stays first (36.6 s in stop 30's idle CI, the longest there). contract/specs.test.ts was listed 29th
 * (13.2 s of tests in stop 30's CI, 6th): it could start late and decide the end; hostile-input (4.4 s now) left the
 * list. On a loaded machine such a file decides the end while the other worker idles.
 */
export const SLOWEST = [
  'test/integration/fault-matrix.test.ts',
  'test/emulator/engines/postgres-upgrade.test.ts',
  'test/integration/postgres-data.test.ts',
  'test/emulator/az-conformance.test.ts',
  'test/checks/fleet.test.ts',
  'test/integration/dr-drill-interrupt.test.ts',
  'test/ci/workflow-run.test.ts',
  'test/evidence/witness.test.ts',
  'test/integration/failover-resume.test.ts',
  'test/azure/policy.test.ts',
  'test/commands/emulator/start.test.ts',
  'test/contract/specs.test.ts',
  'test/integration/dr-drill.test.ts',
  'test/integration/leak.test.ts',
  'test/integration/hung-operations.test.ts',
  'test/integration/evidence-and-leases.test.ts',
  'test/commands/run.test.ts',
  'test/integration/slot-swap.test.ts',
  'test/emulator/connect.test.ts',
  'test/checks/run.test.ts',
  'test/emulator/server.test.ts',
  'test/emulator/services/redis.test.ts',
  'test/evidence/verify.test.ts',
  'test/actions/http.test.ts',
  'test/integration/resume.test.ts',
  'test/integration/runbooks.test.ts',
  'test/emulator/services/trafficmanager.test.ts',
  'test/emulator/engines/postgres.test.ts',
  'test/commands/tty.test.ts',
  'test/integration/production.test.ts',
  'test/ci/init.test.ts',
  'test/ci/reports.test.ts',
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
