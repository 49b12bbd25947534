/**
 * The full fault matrix (issue 16; `npm run test:faults`, which .ci/run runs after `npm test`): its shards
 * (test/faults/shard-*.faults.ts, test/integration/fault-suite.ts) side by side, one worker each, with the suite's
 * global setups (the build, Azure contract validation) and test/faults/table.ts, which prints the whole table.
 * The shards are not `*.test.ts`, so `npm test` does not run them (it runs the quick set, fault-matrix.test.ts).
 */
import {defineConfig} from 'vitest/config'
import base from './vitest.config.js'
import {SHARD_FILES} from './test/integration/fault-table.js'

const globalSetup = [base.test?.globalSetup ?? []].flat()

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/*.faults.ts'],
    globalSetup: [...globalSetup, 'test/faults/table.ts'],
    maxWorkers: SHARD_FILES.length,
    outputFile: {json: '.opsbook-test/fault-matrix.json'},
  },
})
