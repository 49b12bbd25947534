/**
 * SARIF 2.1.0 for GitHub code scanning. Rule ids are the check ids; each rule's helpUri is its section of
 * docs/checks.md. Each result's location is the Azure resource id (as a relative URI, since the finding has no file)
 * plus a logical location; `partialFingerprints.primaryLocationLineHash` (the key GitHub code scanning matches on,
 * and which upload-sarif computes from file contents only when it is missing) is a hash of the check id and
 * resource id, so re-uploads update the same alert. Fails are results; errors are `review` results with level
 * `none` (the check could not decide; SARIF allows no other level for that kind) and make the invocation
 * `executionSuccessful: false` with a notification per errored check; waived fails carry an accepted external
 * suppression. Passes are not listed.
 */
import type {Log, ReportingDescriptor, Result} from 'sarif'
import {CHECKS} from '../rules/index.js'
import type {CheckReport, CheckRule, Finding, Severity} from '../types.js'
import {checkDocUrl, fingerprint, frameworksText, projectHomepage, toolVersion} from './common.js'

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'

/** GitHub's security-severity scale (as Prowler maps it). */
export const SECURITY_SEVERITY: Record<Severity, string> = {critical: '9.0', high: '7.0', medium: '4.0', low: '2.0'}
const LEVEL: Record<Severity, Result.level> = {critical: 'error', high: 'error', medium: 'warning', low: 'note'}

function ruleDescriptor(rule: CheckRule, homepage: string | undefined): ReportingDescriptor {
  const refs = frameworksText(rule.frameworks)
  const helpUri = checkDocUrl(homepage, rule.id)
  return {
    id: rule.id,
    ...(helpUri ? {helpUri} : {}),
    name: rule.id.replace(/[._]/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase()).replace(/ /g, ''),
    shortDescription: {text: rule.title},
    fullDescription: {text: `${rule.title}. Reads ${rule.reads.join(', ')}.`},
    help: {
      text: `${rule.remediation.text}\n\n${rule.remediation.az}${refs ? `\n\n${refs}` : ''}`,
      markdown: `${rule.remediation.text}\n\n\`\`\`\n${rule.remediation.az}\n\`\`\`${refs ? `\n\n${refs}` : ''}`,
    },
    defaultConfiguration: {level: LEVEL[rule.severity]},
    properties: {
      'security-severity': SECURITY_SEVERITY[rule.severity],
      precision: 'high',
      tags: ['security', 'azure', ...(rule.frameworks.cis ?? []).map((c) => `CIS ${c}`), ...(rule.frameworks.mcsb ?? []).map((m) => `MCSB ${m}`)],
    },
  }
}

function result(finding: Finding, ruleIndex: number): Result {
  const base: Result = {
    ruleId: finding.checkId,
    ruleIndex,
    // SARIF 2.1.0 §3.27.9/§3.27.10: a result whose kind is not `fail` must have level `none`.
    kind: finding.status === 'error' ? 'review' : 'fail',
    level: finding.status === 'error' ? 'none' : LEVEL[finding.severity],
    message: {text: `${finding.resourceName}: ${finding.message}`},
    locations: [
      {
        physicalLocation: {artifactLocation: {uri: finding.resourceId.replace(/^\/+/, '')}, region: {startLine: 1}},
        logicalLocations: [{fullyQualifiedName: finding.resourceId, kind: 'resource', name: finding.resourceName}],
      },
    ],
    partialFingerprints: {primaryLocationLineHash: fingerprint(finding), 'opsbookFinding/v1': fingerprint(finding)},
    properties: {status: finding.status, severity: finding.severity, resourceType: finding.resourceType, resourceGroup: finding.resourceGroup},
  }
  if (finding.status === 'waived' && finding.waiver)
    base.suppressions = [{kind: 'external', status: 'accepted', justification: `${finding.waiver.reason} (owner ${finding.waiver.owner}, expires ${finding.waiver.expires})`}]
  return base
}

/** The SARIF log object. */
export function toSarif(report: CheckReport, rules: CheckRule[] = CHECKS, homepage: string | undefined = projectHomepage()): Log {
  const index = new Map(rules.map((r, i) => [r.id, i]))
  const results = report.findings
    .filter((f) => f.status === 'fail' || f.status === 'error' || f.status === 'waived')
    .map((f) => result(f, index.get(f.checkId) ?? -1))
  const errored = report.findings.filter((f) => f.status === 'error')
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'opsbook',
            ...(homepage ? {informationUri: homepage} : {}),
            semanticVersion: toolVersion(),
            version: toolVersion(),
            rules: rules.map((rule) => ruleDescriptor(rule, homepage)),
          },
        },
        automationDetails: {id: `opsbook-check/${report.environment}/`},
        invocations: [
          {
            // A check that could not read its data did not run to completion (SARIF §3.20.14).
            executionSuccessful: errored.length === 0,
            endTimeUtc: report.scannedAt,
            toolExecutionNotifications: errored.map((f) => ({
              level: 'error' as const,
              message: {text: `${f.checkId} on ${f.resourceName}: ${f.message}`},
              descriptor: {id: f.checkId, index: index.get(f.checkId) ?? -1},
            })),
          },
        ],
        results,
        properties: {environment: report.environment, subscription: report.subscription, counts: report.counts},
      },
    ],
  }
}

export function formatSarif(report: CheckReport): string {
  return `${JSON.stringify(toSarif(report), null, 2)}\n`
}
