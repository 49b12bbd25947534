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
 * files' hooks were 56 s of the two workers' ~445 s. Stop 30, from the idle clean-clone CI of 1b8f42c (vitest Duration
 * 224 s; the two workers ended 0.7 s apart): fault-matrix 28.3, postgres-upgrade 27.3, postgres-data 23.2,
 * failover-resume 17.1, az-conformance 14.4, fleet 12.9, emulator/connect 12.1, dr-drill 11.6, policy 10.7,
 * slot-swap 10.2, dr-drill-interrupt 10.1, hung-operations 9.5, witness 9.4, emulator start 9.2, hostile-input 7.9,
 * commands/run 7.9, ci/workflow-run 7.0, then files of 4-7 s. failover-resume, hung-operations, witness and
 * workflow-run were not listed and started as late as 196-200 s into that run (failover-resume: 17 s from 196 s):
 * on a loaded machine such a file decides the end while the other worker idles.
 */
export const SLOWEST = [
  'test/integration/fault-matrix.test.ts',
  'test/emulator/engines/postgres-upgrade.test.ts',
  'test/integration/postgres-data.test.ts',
  'test/integration/failover-resume.test.ts',
  'test/emulator/az-conformance.test.ts',
  'test/checks/fleet.test.ts',
  'test/emulator/connect.test.ts',
  'test/integration/dr-drill.test.ts',
  'test/azure/policy.test.ts',
  'test/integration/slot-swap.test.ts',
  'test/integration/dr-drill-interrupt.test.ts',
  'test/integration/hung-operations.test.ts',
  'test/evidence/witness.test.ts',
  'test/commands/emulator/start.test.ts',
  'test/commands/hostile-input.test.ts',
  'test/commands/run.test.ts',
  'test/ci/workflow-run.test.ts',
  'test/checks/run.test.ts',
  'test/integration/leak.test.ts',
  'test/integration/evidence-and-leases.test.ts',
  'test/actions/http.test.ts',
  'test/emulator/server.test.ts',
  'test/integration/runbooks.test.ts',
  'test/emulator/services/trafficmanager.test.ts',
  'test/ci/reports.test.ts',
  'test/emulator/services/redis.test.ts',
  'test/commands/tty.test.ts',
  'test/integration/resume.test.ts',
  'test/contract/specs.test.ts',
  'test/emulator/engines/postgres.test.ts',
  'test/integration/production.test.ts',
  'test/evidence/verify.test.ts',
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
