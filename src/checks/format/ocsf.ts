/**
 * OCSF 1.5.0 Compliance Finding (class 2003), one event per finding, as Prowler writes with `--compliance`. 1.5.0
 * because `compliance.checks` first appears there; every other field used exists in it with the same meaning.
 * `compliance.status_id`: 1 Pass, 3 Fail, 2 Warning for a check that could not read its data (with
 * `status_detail` saying what was missing), 99 Other (n/a); a waived fail keeps Fail there and is `status_id` 3
 * Suppressed at the finding level. The cloud account is the subscription, `type_id` 6 (Azure AD Account).
 */
import {CHECKS} from '../rules/index.js'
import type {CheckReport, CheckStatus, Finding, Severity} from '../types.js'
import {fingerprint, toolVersion} from './common.js'

export const OCSF_VERSION = '1.5.0'
const SEVERITY_ID: Record<Severity, number> = {low: 2, medium: 3, high: 4, critical: 5}
const COMPLIANCE_STATUS: Record<CheckStatus, {id: number; name: string}> = {
  pass: {id: 1, name: 'Pass'},
  fail: {id: 3, name: 'Fail'},
  waived: {id: 3, name: 'Fail'},
  error: {id: 2, name: 'Warning'},
  'not-applicable': {id: 99, name: 'Other'},
}

export interface OcsfComplianceFinding {
  activity_id: 1
  activity_name: 'Create'
  category_uid: 2
  category_name: 'Findings'
  class_uid: 2003
  class_name: 'Compliance Finding'
  type_uid: 200301
  type_name: 'Compliance Finding: Create'
  time: number
  time_dt: string
  severity_id: number
  severity: string
  status_id: number
  status: string
  message: string
  metadata: {version: string; product: {name: string; vendor_name: string; version: string}; event_code: string}
  finding_info: {uid: string; title: string; desc: string; types: string[]}
  compliance: {
    standards: string[]
    requirements: string[]
    control: string
    status_id: number
    status: string
    status_detail?: string
    checks: Array<{uid: string; name: string; status: string; status_id: number}>
  }
  resources: Array<{uid: string; name: string; type: string; region?: string; group: {name: string}; labels: string[]}>
  cloud: {provider: 'Azure'; account: {uid: string; type: 'Azure AD Account'; type_id: 6}; region?: string}
  remediation: {desc: string}
  unmapped: Record<string, unknown>
}

function standardsOf(finding: Finding): {standards: string[]; requirements: string[]} {
  const standards: string[] = []
  const requirements: string[] = []
  const add = (standard: string, refs: string[] | undefined) => {
    if (!refs?.length) return
    standards.push(standard)
    requirements.push(...refs.map((r) => `${standard} ${r}`))
  }
  add('CIS Microsoft Azure Foundations Benchmark', finding.frameworks.cis)
  add('Microsoft Cloud Security Benchmark', finding.frameworks.mcsb)
  add('SOC 2', finding.frameworks.soc2)
  add('ISO/IEC 27001:2022', finding.frameworks.iso27001)
  return {standards, requirements}
}

export function toOcsf(report: CheckReport): OcsfComplianceFinding[] {
  const time = Date.parse(report.scannedAt)
  const titles = new Map(CHECKS.map((c) => [c.id, c.title]))
  return report.findings.map((f) => {
    const compliance = COMPLIANCE_STATUS[f.status]
    const {standards, requirements} = standardsOf(f)
    const status = f.status === 'waived' ? {id: 3, name: 'Suppressed'} : f.status === 'pass' ? {id: 4, name: 'Resolved'} : {id: 1, name: 'New'}
    return {
      activity_id: 1,
      activity_name: 'Create',
      category_uid: 2,
      category_name: 'Findings',
      class_uid: 2003,
      class_name: 'Compliance Finding',
      type_uid: 200301,
      type_name: 'Compliance Finding: Create',
      time,
      time_dt: report.scannedAt,
      severity_id: SEVERITY_ID[f.severity],
      severity: f.severity.charAt(0).toUpperCase() + f.severity.slice(1),
      status_id: status.id,
      status: status.name,
      message: f.message,
      metadata: {version: OCSF_VERSION, product: {name: 'opsbook', vendor_name: 'opsbook', version: toolVersion()}, event_code: f.checkId},
      finding_info: {uid: fingerprint(f), title: titles.get(f.checkId) ?? f.title, desc: f.message, types: ['Security Checklist']},
      compliance: {
        standards,
        requirements,
        control: f.checkId,
        status_id: compliance.id,
        status: compliance.name,
        ...(f.status === 'error' ? {status_detail: `missing information: ${f.message}`} : {}),
        checks: [{uid: f.checkId, name: f.title, status: compliance.name, status_id: compliance.id}],
      },
      resources: [
        {uid: f.resourceId, name: f.resourceName, type: f.resourceType, region: f.location, group: {name: f.resourceGroup}, labels: f.component ? [`component:${f.component}`] : []},
      ],
      cloud: {provider: 'Azure', account: {uid: f.subscriptionId, type: 'Azure AD Account', type_id: 6}, region: f.location},
      remediation: {desc: `${f.remediation.text} ${f.remediation.az}`},
      unmapped: {status: f.status, environment: report.environment, ...(f.waiver ? {waiver: f.waiver} : {})},
    }
  })
}

/** A JSON array (`lines: true`: one event per line, NDJSON). */
export function formatOcsf(report: CheckReport, options: {lines?: boolean} = {}): string {
  const events = toOcsf(report)
  return options.lines ? events.map((e) => JSON.stringify(e)).join('\n') + '\n' : `${JSON.stringify(events, null, 2)}\n`
}
