/** Contract coverage and violations over a set of emulator exchanges, per provider and api-version. */
import {apiVersionKey} from '../../src/emulator/api-versions.js'
import {LroContract, RPC_ASYNC_REFERENCE} from './lro.js'
import type {ContractExchange, ContractRegistry, SpecOperation} from './specs.js'

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
  /** Long-running operations' monitor polls validated (lro.ts), per monitor kind and what they were checked against. */
  lroPolls: {status: number; location: number; byProviderDocument: number; byRpc: number; byOriginOperation: number}
  text: string
}

export function summarize(registry: ContractRegistry, exchanges: ContractExchange[], examplesPerProvider: Record<string, number> = {}): ContractSummary {
  const providers = new Map<string, ProviderCoverage>()
  for (const op of registry.operations) {
    const key = providerKey(op)
    const entry = providers.get(key) ?? {provider: key, operations: 0, answered: [], responses: 0, ...(key in examplesPerProvider ? {examples: examplesPerProvider[key]} : {})}
    entry.operations++
    providers.set(key, entry)
  }
  const violations = new Map<string, ContractViolation>()
  let unspecified = 0
  /** namespace@api-version → responses with no vendored operation (what to vendor next). */
  const unspecifiedBy = new Map<string, number>()
  /** namespace@api-version → `METHOD template` → responses: which operations make up each bucket. */
  const unspecifiedOps = new Map<string, Map<string, number>>()
  /** Responses with no published contract to vendor (see notAzureContract), per kind. */
  const uncheckable = new Map<string, number>()
  const lro = new LroContract(registry, exchanges)
  const lroPolls = {status: 0, location: 0, byProviderDocument: 0, byRpc: 0, byOriginOperation: 0}
  const addViolation = (operationId: string, specFile: string, exchange: ContractExchange, message: string) => {
    const key = `${operationId} ${exchange.status} ${message}`
    const seen = violations.get(key)
    if (seen) seen.count++
    else violations.set(key, {operationId, specFile, status: exchange.status, message, sample: `${exchange.method} ${exchange.path}?${exchange.query}`, count: 1})
  }
  for (const exchange of exchanges) {
    // A monitor of a long-running operation: its provider's own status operation, else ARM's RPC (lro.ts).
    const poll = lro.check(exchange)
    if (poll) {
      lroPolls[poll.kind]++
      if (poll.operation) lroPolls.byProviderDocument++
      else if (poll.origin) lroPolls.byOriginOperation++
      else lroPolls.byRpc++
      if (poll.operation) {
        const entry = providers.get(providerKey(poll.operation))!
        entry.responses++
        if (!entry.answered.includes(poll.operation.operationId)) entry.answered.push(poll.operation.operationId)
      }
      const label = poll.operation?.operationId ?? (poll.kind === 'status' ? 'LRO Azure-AsyncOperation poll' : `LRO Location poll${poll.origin ? ` of ${poll.origin.operationId}` : ''}`)
      for (const message of poll.violations) addViolation(label, poll.operation?.specFile ?? (poll.origin && poll.kind === 'location' ? poll.origin.specFile : RPC_ASYNC_REFERENCE), exchange, message)
      continue
    }
    const {operation, violations: found} = registry.check(exchange)
    if (!operation) {
      const kind = notAzureContract(exchange)
      if (kind) {
        uncheckable.set(kind, (uncheckable.get(kind) ?? 0) + 1)
        continue
      }
      unspecified++
      const key = `${apiVersionKey(exchange.path) ?? '(not ARM)'}@${new URLSearchParams(exchange.query).get('api-version') ?? '-'}`
      unspecifiedBy.set(key, (unspecifiedBy.get(key) ?? 0) + 1)
      const ops = unspecifiedOps.get(key) ?? new Map<string, number>()
      const op = `${exchange.method} ${pathTemplate(exchange.path)}`
      ops.set(op, (ops.get(op) ?? 0) + 1)
      unspecifiedOps.set(key, ops)
      continue
    }
    const entry = providers.get(providerKey(operation))!
    entry.responses++
    if (!entry.answered.includes(operation.operationId)) entry.answered.push(operation.operationId)
    for (const message of found) addViolation(operation.operationId, operation.specFile, exchange, message)
  }
  const list = [...providers.values()].map((p) => ({...p, answered: p.answered.sort()}))
  const lines = ['Azure contract coverage (vendored specs, test/fixtures/azure-specs):']
  for (const p of list)
    lines.push(
      `  ${p.provider}: ${p.answered.length}/${p.operations} operations answered, ${p.responses} responses validated${p.examples === undefined ? '' : `, ${p.examples} examples replayed`}`,
    )
  lines.push(`  ${unspecified} responses had no vendored spec for their operation and api-version`)
  lines.push(
    `  ${lroPolls.status + lroPolls.location} long-running operation polls validated (${lroPolls.status} Azure-AsyncOperation, ${lroPolls.location} Location): ${lroPolls.byProviderDocument} against the provider's own status operation, ${lroPolls.byOriginOperation} against the operation that started them, ${lroPolls.byRpc} against ARM's RPC async reference only`,
  )
  if (uncheckable.size > 0)
    lines.push(`  not counted there (no provider document defines them as operations): ${[...uncheckable.entries()].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${n} ${kind}`).join(', ')}`)
  const top = [...unspecifiedBy.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
  if (top.length > 0) lines.push(`    most: ${top.map(([key, n]) => `${key} ${n}`).join(', ')}`)
  // The operations behind the biggest buckets (what exactly to vendor), five per bucket.
  for (const [key] of top.slice(0, 8)) {
    const ops = [...unspecifiedOps.get(key)!.entries()].sort((a, b) => b[1] - a[1])
    const shown = ops.slice(0, 5).map(([op, n]) => `${op} ${n}`)
    lines.push(`    ${key}: ${shown.join(', ')}${ops.length > 5 ? `, ${ops.length - 5} more` : ''}`)
  }
  const violationList = [...violations.values()]
  if (violationList.length > 0) {
    lines.push(`Contract violations (${violationList.length}):`)
    for (const v of violationList) lines.push(`  ${v.operationId} ${v.status} (${v.specFile}): ${v.message}  [${v.count}× e.g. ${v.sample}]`)
  }
  return {providers: list, violations: violationList, lroPolls, text: lines.join('\n')}
}

/** A provider's line in the report: `Microsoft.X@version`, `Microsoft.X data plane@version` for a data-plane document. */
export function providerKey(op: SpecOperation): string {
  return `${op.provider}${op.dataPlane ? ' data plane' : ''}@${op.apiVersion}`
}

/**
 * Why a response has no document in azure-rest-api-specs to be checked against, or undefined when it should have one:
 * - the emulator's own routes (`/_emulator/…` but Key Vault's data plane under `/_emulator/keyvault/`, `/opsbook/emulator`, a resource's `…/opsbookData`, `…/opsbookItems`, `…/opsbookFailover`): test
 *   and admin hooks with no Azure counterpart (src/emulator/README.md);
 * - the managed-identity token endpoint `/msi/token` (App Service's IDENTITY_ENDPOINT, api-version 2019-08-01): Microsoft
 *   documents it on a page (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference),
 *   not in an OpenAPI document;
 * - ARM's own refusal of a request without a served api-version (400 MissingApiVersionParameter /
 *   InvalidApiVersionParameter, src/emulator/api-versions.ts): the gateway answers before any provider document applies;
 * (Long-running operations' monitors are not set apart: summarize validates them first, lro.ts.)
 */
export function notAzureContract(exchange: Pick<ContractExchange, 'path' | 'status' | 'body'>): string | undefined {
  const {path} = exchange
  const code = (exchange.body as {error?: {code?: unknown}} | undefined)?.error?.code
  if (exchange.status === 400 && (code === 'MissingApiVersionParameter' || code === 'InvalidApiVersionParameter')) return "ARM's api-version refusals"
  // `/_emulator/keyvault/{vault}/…` is Key Vault's data plane (keyvault-data.ts), which Azure documents: not set apart.
  if ((/^\/(_emulator|opsbook)(\/|$)/i.test(path) && !/^\/_emulator\/keyvault\//i.test(path)) || /\/opsbook[A-Z][A-Za-z]*(\/|$)/.test(path)) return "emulator's own routes"
  if (/^\/msi\/token$/i.test(path)) return 'managed-identity token endpoint (/msi/token)'
  return undefined
}

/**
 * A request path with its names replaced by `{}`, so requests of one operation group together: ARM paths alternate a
 * literal segment (`subscriptions`, `resourceGroups`, a resource type) and a name, except `providers/{namespace}`, which
 * are both literal; the emulator's own paths keep their first two segments (`/_emulator/keyvault`, `/msi/token`).
 */
export function pathTemplate(path: string): string {
  const segments = path.split('/').filter(Boolean)
  const out: string[] = []
  let literal = true
  for (const [i, segment] of segments.entries()) {
    if (i < 2 && (segments[0] === '_emulator' || segments[0] === 'msi' || segments[0] === 'opsbook')) {
      out.push(segment)
      literal = false
      continue
    }
    if (segments[i - 1]?.toLowerCase() === 'providers') {
      out.push(segment)
      literal = true
      continue
    }
    out.push(literal ? segment : '{}')
    literal = !literal
  }
  return `/${out.join('/')}`
}
