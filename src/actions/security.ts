/**
 * `security.check`: the security checklist as a runbook step, so its counts and failing findings land in the journal
 * and the evidence. The step fails when a fail or error at or above `failOn` exists; the failure carries the same
 * outputs (the engine keeps a failed action's `error.outputs`), so a failed checklist is recorded, not just its error.
 */
import {z} from 'zod'
import type {AzureServices} from '../azure/clients.js'
import {StepError} from './core.js'
import {defineAction, type ActionDefinition} from './types.js'

const severity = z.enum(['critical', 'high', 'medium', 'low'])
const counts = z.object({pass: z.number(), fail: z.number(), error: z.number(), 'not-applicable': z.number(), waived: z.number()})

/** At most this many failing findings are carried in the outputs (journal, summary, evidence); the rest are counted. */
export const MAX_OUTPUT_FINDINGS = 100

const findingOutput = z.object({
  check: z.string(),
  resource: z.string(),
  severity,
  status: z.enum(['fail', 'error']),
  message: z.string(),
})

const checklistOutput = z.object({
  counts,
  resources: z.number(),
  /** Check ids with at least one fail (not waived), sorted. */
  failedChecks: z.array(z.string()),
  /** `checkId resourceName` of each fail or error at or above failOn. */
  blocking: z.array(z.string()),
  /** Every fail and error (not waived), most severe first, at most MAX_OUTPUT_FINDINGS. */
  findings: z.array(findingOutput),
  /** Fails and errors left out of `findings` by the cap. */
  findingsOmitted: z.number(),
  expiredWaivers: z.array(z.string()),
})
type ChecklistOutput = z.infer<typeof checklistOutput>

/** A failed gate that still hands its results to the engine, so they land in the journal, summary and evidence. */
class ChecklistFailed extends StepError {
  constructor(
    message: string,
    readonly outputs: ChecklistOutput,
  ) {
    super(message, {retryable: false, code: 'security-findings'})
  }
}

export const securityCheck = defineAction({
  name: 'security.check',
  summary: 'Run the security checklist over the environment and fail on findings at or above a severity',
  description:
    'Reads every PostgreSQL server, Redis cache, web app and slot, storage account and key vault in the environment\'s resource groups through Resource Graph (plus a few ARM reads per resource), evaluates the checklist and applies the catalog\'s waivers. Unreadable data is an error, never a pass, and so is a catalog component the scan cannot see (inventory.missing). A failed step still records its counts and failing findings as outputs.',
  input: z.strictObject({
    failOn: severity.default('high').describe('Lowest severity whose fails (or errors) fail the step'),
    checks: z.array(z.string()).optional().describe('Only these check ids (default: all)'),
  }),
  output: checklistOutput,
  changes: false,
  permissions: [
    'Microsoft.ResourceGraph/resources/read',
    'Microsoft.DBforPostgreSQL/flexibleServers/configurations/read',
    'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read',
    'Microsoft.Storage/storageAccounts/blobServices/read',
    'Microsoft.Insights/diagnosticSettings/read',
    'Microsoft.Cache/redis/patchSchedules/read',
    'Microsoft.Web/sites/config/read',
    'Microsoft.Web/sites/basicPublishingCredentialsPolicies/read',
    'Microsoft.Web/sites/slots/config/read',
    'Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies/read',
    'Microsoft.KeyVault/vaults/keys/read',
    'Microsoft.KeyVault/vaults/secrets/read',
    'Microsoft.Authorization/locks/read',
  ],
  az: (input, plan) => [`opsbook check --env ${plan.environmentName} --fail-on ${input.failOn ?? 'high'}`],
  arm: () => [
    {method: 'POST', path: '/providers/Microsoft.ResourceGraph/resources', note: 'resources and appserviceresources, paged'},
    {method: 'GET', path: '…/flexibleServers/{server}/configurations and /firewallRules', note: 'per PostgreSQL server'},
    {method: 'GET', path: '…/storageAccounts/{account}/blobServices/default', note: 'per storage account'},
    {method: 'GET', path: '{resourceId}/providers/Microsoft.Insights/diagnosticSettings', note: 'per web app, slot and key vault'},
    {method: 'GET', path: '…/redis/{cache}/patchSchedules/default', note: 'per Redis cache'},
    {method: 'GET', path: '…/vaults/{vault}/keys and /secrets', note: 'per key vault (management plane: attributes and rotation policy, no values)'},
    {method: 'GET', path: '…/sites/{site}[/slots/{slot}]/basicPublishingCredentialsPolicies/ftp and /scm', note: 'per web app and slot'},
    {method: 'GET', path: '…/sites/{site}[/slots/{slot}]/config/authsettingsV2', note: 'per web app and slot (without secrets)'},
  ],
  async run(input, context) {
    const [{runChecks, gate}, {sourcesFromServices}, {CHECKS}, {severityRank}] = await Promise.all([
      import('../checks/run.js'),
      import('../checks/sources.js'),
      import('../checks/rules/index.js'),
      import('../checks/evaluate.js'),
    ])
    const rules = input.checks ? CHECKS.filter((c) => input.checks!.includes(c.id)) : CHECKS
    const unknown = (input.checks ?? []).filter((id) => !CHECKS.some((c) => c.id === id))
    if (unknown.length > 0) throw new StepError(`unknown check id(s): ${unknown.join(', ')}`, {retryable: false, code: 'unknown-check'})
    const report = await runChecks({
      environment: context.environment,
      environmentName: context.environmentName,
      sources: sourcesFromServices(context.services as AzureServices),
      rules,
      now: () => context.now(),
      log: (m) => context.log(m),
      signal: context.signal,
    })
    const result = gate(report, input.failOn)
    const c = report.counts
    context.log(`${report.resources} resource(s): ${c.fail} fail, ${c.error} error, ${c.waived} waived, ${c.pass} pass, ${c['not-applicable']} n/a`)
    for (const w of report.expiredWaivers) context.log(`expired waiver: ${w.check} (owner ${w.owner}, expired ${w.expires})`)
    if (report.unmatchedWaivers.length > 0) {
      const {unmatchedWaiverWarning} = await import('../checks/waivers.js')
      for (const w of report.unmatchedWaivers) context.log(`warning: ${unmatchedWaiverWarning(w)}`)
    }
    const failing = report.findings
      .filter((f) => f.status === 'fail' || f.status === 'error')
      .sort((a, b) => severityRank(a.severity) - severityRank(b.severity))
    const output: ChecklistOutput = {
      counts: report.counts,
      resources: report.resources,
      failedChecks: [...new Set(report.findings.filter((f) => f.status === 'fail').map((f) => f.checkId))].sort(),
      blocking: result.blocking.map((f) => `${f.checkId} ${f.resourceName}`),
      // Rule messages describe settings (never values of secrets) and unreadable data by HTTP status and ARM code.
      findings: failing.slice(0, MAX_OUTPUT_FINDINGS).map((f) => ({check: f.checkId, resource: f.resourceName, severity: f.severity, status: f.status as 'fail' | 'error', message: f.message})),
      findingsOmitted: Math.max(0, failing.length - MAX_OUTPUT_FINDINGS),
      expiredWaivers: report.expiredWaivers.map((w) => `${w.check}${w.resource ? ` ${w.resource}` : ''} (expired ${w.expires})`),
    }
    if (result.failed) {
      for (const f of result.blocking) context.log(`✖ [${f.severity}] ${f.checkId} ${f.resourceName}: ${f.message}`)
      const listed = output.blocking.slice(0, 10).join(', ') + (output.blocking.length > 10 ? `, … and ${output.blocking.length - 10} more` : '')
      throw new ChecklistFailed(`${result.blocking.length} fail(s) or error(s) at or above ${input.failOn}: ${listed}`, output)
    }
    return output
  },
})

export const securityActions: ActionDefinition[] = [securityCheck]
