/** Contract coverage and violations over a set of emulator exchanges, per provider and api-version. */
import {apiVersionKey} from '../../src/emulator/api-versions.js'
import type {ContractExchange, ContractRegistry} from './specs.js'

/** examples.test.ts leaves its replayed-example counts per provider in `<prefix><pid>.json` beside the exchange logs. */
export const EXAMPLES_FILE_PREFIX = 'examples-'

export interface ProviderCoverage {
  provider: string
  /** Operations the vendored spec defines. */
  operations: number
  /** Of those, operations the emulator answered at least once. */
  answered: string[]
  /** Responses validated. */
  responses: number
  examples?: number
}

export interface ContractViolation {
  operationId: string
  specFile: string
  status: number
  message: string
  /** One request that showed it. */
  sample: string
  count: number
}

export interface ContractSummary {
  providers: ProviderCoverage[]
  violations: ContractViolation[]
  text: string
}

export function summarize(registry: ContractRegistry, exchanges: ContractExchange[], examplesPerProvider: Record<string, number> = {}): ContractSummary {
  const providers = new Map<string, ProviderCoverage>()
  for (const op of registry.operations) {
    const key = `${op.provider}@${op.apiVersion}`
    const entry = providers.get(key) ?? {provider: key, operations: 0, answered: [], responses: 0, ...(key in examplesPerProvider ? {examples: examplesPerProvider[key]} : {})}
    entry.operations++
    providers.set(key, entry)
  }
  const violations = new Map<string, ContractViolation>()
  let unspecified = 0
  /** namespace@api-version → responses with no vendored operation (what to vendor next). */
  const unspecifiedBy = new Map<string, number>()
  for (const exchange of exchanges) {
    const {operation, violations: found} = registry.check(exchange)
    if (!operation) {
      unspecified++
      const key = `${apiVersionKey(exchange.path) ?? '(not ARM)'}@${new URLSearchParams(exchange.query).get('api-version') ?? '-'}`
      unspecifiedBy.set(key, (unspecifiedBy.get(key) ?? 0) + 1)
      continue
    }
    const entry = providers.get(`${operation.provider}@${operation.apiVersion}`)!
    entry.responses++
    if (!entry.answered.includes(operation.operationId)) entry.answered.push(operation.operationId)
    for (const message of found) {
      const key = `${operation.operationId} ${exchange.status} ${message}`
      const seen = violations.get(key)
      if (seen) seen.count++
      else
        violations.set(key, {
          operationId: operation.operationId,
          specFile: operation.specFile,
          status: exchange.status,
          message,
          sample: `${exchange.method} ${exchange.path}?${exchange.query}`,
          count: 1,
        })
    }
  }
  const list = [...providers.values()].map((p) => ({...p, answered: p.answered.sort()}))
  const lines = ['Azure contract coverage (vendored specs, test/fixtures/azure-specs):']
  for (const p of list)
    lines.push(
      `  ${p.provider}: ${p.answered.length}/${p.operations} operations answered, ${p.responses} responses validated${p.examples === undefined ? '' : `, ${p.examples} examples replayed`}`,
    )
  lines.push(`  ${unspecified} responses had no vendored spec for their operation and api-version`)
  const top = [...unspecifiedBy.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
  if (top.length > 0) lines.push(`    most: ${top.map(([key, n]) => `${key} ${n}`).join(', ')}`)
  const violationList = [...violations.values()]
  if (violationList.length > 0) {
    lines.push(`Contract violations (${violationList.length}):`)
    for (const v of violationList) lines.push(`  ${v.operationId} ${v.status} (${v.specFile}): ${v.message}  [${v.count}× e.g. ${v.sample}]`)
  }
  return {providers: list, violations: violationList, text: lines.join('\n')}
}
