/**
 * One scan, end to end: collect, evaluate, report. The command, the `security.check` action and the bench call this.
 */
import type {Environment} from '../catalog/schema.js'
import type {BudgetOptions, RequestBudget} from './budget.js'
import {collectInventory} from './collect.js'
import {blockingFindings, evaluateInventory} from './evaluate.js'
import {CHECKS} from './rules/index.js'
import {describeScope, type FleetScope} from './scope.js'
import type {CheckSources} from './sources.js'
import type {CheckReport, CheckRule, Finding, Severity} from './types.js'

export interface RunChecksOptions {
  environment: Environment
  environmentName: string
  sources: CheckSources
  budget?: RequestBudget
  budgetOptions?: BudgetOptions
  rules?: CheckRule[]
  /** Clock for waiver expiry and window conversion (default: now). */
  now?: () => Date
  log?: (message: string) => void
  signal?: AbortSignal
  /** A fleet scan: management groups and subscription lists instead of the environment's resource groups. */
  scope?: FleetScope
}

/** Scan an environment and return the report (findings sorted by resource, then check order). */
export async function runChecks(options: RunChecksOptions): Promise<CheckReport> {
  const started = Date.now()
  const rules = options.rules ?? CHECKS
  const collected = await collectInventory({
    environment: options.environment,
    sources: options.sources,
    budget: options.budget,
    budgetOptions: options.budgetOptions,
    rules,
    log: options.log,
    signal: options.signal,
    scope: options.scope,
  })
  const now = options.now?.() ?? new Date()
  const evaluated = evaluateInventory(collected, {environment: options.environment, environmentName: options.environmentName, now, rules})
  const order = new Map(rules.map((r, i) => [r.id, i]))
  evaluated.findings.sort(
    (a, b) =>
      a.resourceType.localeCompare(b.resourceType) ||
      a.resourceId.toLowerCase().localeCompare(b.resourceId.toLowerCase()) ||
      // inventory.missing may be reported without being among the rules: it sorts first.
      (order.get(a.checkId) ?? -1) - (order.get(b.checkId) ?? -1),
  )
  return {
    environment: options.environmentName,
    subscription: options.environment.subscription,
    scannedAt: now.toISOString(),
    resources: collected.resources.length,
    counts: evaluated.counts,
    findings: evaluated.findings,
    expiredWaivers: evaluated.expiredWaivers,
    unmatchedWaivers: evaluated.unmatchedWaivers,
    collection: {...collected.budget.stats, durationMs: Date.now() - started},
    ...(options.scope ? {fleet: {scope: describeScope(options.scope), subscriptions: collected.subscriptions.length}} : {}),
  }
}

/** Whether the report breaks the gate at `failOn`, and the findings that do. */
export function gate(report: CheckReport, failOn: Severity): {failed: boolean; blocking: Finding[]} {
  const blocking = blockingFindings(report.findings, failOn)
  return {failed: blocking.length > 0, blocking}
}
