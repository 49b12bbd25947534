/**
 * Vitest global setup: every emulator the test suite starts (in-process, or a CLI child that inherits the
 * environment) appends each exchange it serves to a directory named by OPSBOOK_EMULATOR_EXCHANGE_LOG. At teardown,
 * every response is validated against the vendored Azure specs (./specs.ts); the coverage per provider (operations answered, responses
 * validated, spec examples replayed by examples.test.ts) is printed
 * and any violation fails the run.
 */
import {cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {EXCHANGE_LOG_ENV} from '../../src/emulator/server.js'
import {EXAMPLES_FILE_PREFIX, summarize, type ContractSummary} from './report.js'
import {ContractRegistry, type ContractExchange} from './specs.js'

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-contract-'))
  process.env[EXCHANGE_LOG_ENV] = dir
  return () => {
    try {
      // How long this takes is npm test's wall too (it runs after the last file, in vitest's main process): printed,
      // so a CI log shows it. Stop 30: 488 exchanges (9.3 MB, most of it checks/fleet's Resource Graph pages) took
      // 2.2 s at load 7 — 0.3 s import, 0.9 s reading the specs, 0.2 s reading the logs, 0.7 s validating (compiling
      // the validators it needs; 38 ms once compiled).
      const started = performance.now()
      const exchanges = readExchanges(dir)
      if (exchanges.length === 0) return
      const summary = summarize(new ContractRegistry(), exchanges, readExampleCounts(dir))
      writeReport(summary)
      process.stdout.write(`\n${summary.text}\n  (validated at teardown: ${exchanges.length} exchanges in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
      if (summary.violations.length > 0) {
        // Vitest reports a teardown error but keeps exit code 0: set it, so `npm test` fails.
        process.exitCode = 1
        throw new Error(`The emulator answered ${summary.violations.length} request kind(s) against Azure's published contract (see above).`)
      }
    } finally {
      // OPSBOOK_CONTRACT_KEEP=<dir>: keep the exchange logs there (to re-run the checks over them, test/contract/summarize-logs.ts).
      if (process.env.OPSBOOK_CONTRACT_KEEP) cpSync(dir, process.env.OPSBOOK_CONTRACT_KEEP, {recursive: true})
      rmSync(dir, {recursive: true, force: true})
      delete process.env[EXCHANGE_LOG_ENV]
    }
  }
}

function readExchanges(dir: string): ContractExchange[] {
  const exchanges: ContractExchange[] = []
  for (const file of readdirSync(dir)) {
    if (file.startsWith(EXAMPLES_FILE_PREFIX)) continue
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line) exchanges.push(JSON.parse(line) as ContractExchange)
  }
  return exchanges
}

/** Examples replayed per provider (examples.test.ts), summed over the workers that ran it. */
function readExampleCounts(dir: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const file of readdirSync(dir).filter((f) => f.startsWith(EXAMPLES_FILE_PREFIX)))
    for (const [provider, count] of Object.entries(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, number>)) counts[provider] = (counts[provider] ?? 0) + count
  return counts
}

function writeReport(summary: ContractSummary): void {
  const out = join(import.meta.dirname, '..', '..', '.opsbook-test')
  mkdirSync(out, {recursive: true})
  writeFileSync(join(out, 'contract.json'), `${JSON.stringify({providers: summary.providers, violations: summary.violations}, null, 2)}\n`)
}
