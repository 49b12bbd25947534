/** CSV (RFC 4180): one row per finding. */
import type {CheckReport} from '../types.js'
import {frameworksText} from './common.js'

export const CSV_COLUMNS = [
  'status',
  'severity',
  'check_id',
  'title',
  'resource_type',
  'resource_group',
  'resource_name',
  'resource_id',
  'message',
  'waiver_owner',
  'waiver_reason',
  'waiver_expires',
  'waiver_expired',
  'frameworks',
  'remediation',
  'remediation_az',
] as const

function cell(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value)
  // Also quote leading = + - @ so spreadsheets do not run a finding's text as a formula.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text
  return /[",\n\r]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe
}

export function formatCsv(report: CheckReport): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const f of report.findings)
    lines.push(
      [
        f.status,
        f.severity,
        f.checkId,
        f.title,
        f.resourceType,
        f.resourceGroup,
        f.resourceName,
        f.resourceId,
        f.message,
        f.waiver?.owner,
        f.waiver?.reason,
        f.waiver?.expires,
        f.waiver ? String(f.waiver.expired) : '',
        frameworksText(f.frameworks),
        f.remediation.text,
        f.remediation.az,
      ]
        .map(cell)
        .join(','),
    )
  return `${lines.join('\r\n')}\r\n`
}
