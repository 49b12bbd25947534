// Shard 2 of the full fault matrix (issue 16): test/integration/fault-suite.ts. Run by `npm run test:faults` (.ci/run).
import {faultMatrixShard} from '../integration/fault-suite.js'

faultMatrixShard(2)
