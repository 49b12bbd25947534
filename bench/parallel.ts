/**
 * Engine concurrency benchmark: N independent `core.wait` steps against the same steps chained one after another,
 * in the same run. The headline is the ratio of wall times (ideal: 1/N). Run: `npx tsx bench/parallel.ts`.
 */
import {executeRunbook} from '../src/runbooks/engine.js'
import {parseRunbook} from '../src/runbooks/loader.js'
import {parseCatalog} from '../src/catalog/loader.js'
import {Redactor} from '../src/evidence/redact.js'

const steps = Number(process.env.BENCH_STEPS ?? 8)
const waitMs = Number(process.env.BENCH_WAIT_MS ?? 250)
const catalog = parseCatalog('bench.yaml', 'version: 1\nenvironments:\n  dev:\n    cloud: azure\n    subscription: 11111111-2222-3333-4444-555555555555\n    resourceGroups: [rg]\n    components: {}\n').catalog

function runbookText(chained: boolean): string {
  const lines = ['name: bench', 'title: bench', 'kind: checklist', 'steps:']
  for (let i = 0; i < steps; i++)
    lines.push(`  - {id: w${i}, uses: core.wait, with: {duration: PT${waitMs / 1000}S}${chained && i > 0 ? `, needs: [w${i - 1}]` : ''}}`)
  return lines.join('\n')
}

async function measure(chained: boolean): Promise<number> {
  const runbook = parseRunbook('bench.yaml', runbookText(chained))
  const started = performance.now()
  const outcome = await executeRunbook({
    runbook,
    runId: 'bench',
    params: {},
    environmentName: 'dev',
    environment: catalog.environments.dev!,
    catalog,
    approver: {approve: async () => ({approved: true, by: 'bench', via: 'yes'})},
    services: undefined,
    signal: new AbortController().signal,
    emit: async () => undefined,
    concurrency: steps,
    redactor: new Redactor(),
  })
  if (outcome.status !== 'succeeded') throw new Error(`bench run ${outcome.status}`)
  return performance.now() - started
}

const parallel = await measure(false)
const sequential = await measure(true)
console.log(`engine concurrency: ${steps} independent waits of ${waitMs} ms`)
console.log(`  independent (DAG) ${parallel.toFixed(0).padStart(6)} ms`)
console.log(`  chained baseline  ${sequential.toFixed(0).padStart(6)} ms`)
console.log(`headline: independent / chained = ${(parallel / sequential).toFixed(3)} (ideal ${(1 / steps).toFixed(3)}); overhead over the critical path ${(parallel - waitMs).toFixed(0)} ms`)
