/**
 * The contract report over exchange logs kept by a run with OPSBOOK_CONTRACT_KEEP=<dir> (global-setup.ts), without
 * running the tests again: `npx tsx test/contract/summarize-logs.ts <dir> [more dirs]`.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {EXAMPLES_FILE_PREFIX, summarize} from './report.js'
import {ContractRegistry, type ContractExchange} from './specs.js'

const exchanges: ContractExchange[] = []
for (const dir of process.argv.slice(2))
  for (const file of readdirSync(dir).filter((f) => !f.startsWith(EXAMPLES_FILE_PREFIX)))
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line) exchanges.push(JSON.parse(line) as ContractExchange)
const summary = summarize(new ContractRegistry(), exchanges)
process.stdout.write(`${summary.text}\n  (${exchanges.length} exchanges)\n`)
