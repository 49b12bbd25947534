/**
 * The terminal view: one table per resource type, a row per check × resource, passing rows collapsed into a count
 * unless `verbose`, then a summary line. cli-table3 is imported lazily.
 */
import type {CheckReport, CheckStatus, Finding} from '../types.js'

const MARK: Record<CheckStatus, string> = {pass: '✔ pass', fail: '✖ fail', error: '! error', 'not-applicable': '– n/a', waived: '~ waived'}

export async function formatTable(report: CheckReport, options: {verbose?: boolean; width?: number} = {}): Promise<string> {
  const {default: Table} = await import('cli-table3')
  const width = options.width ?? 120
  const out: string[] = []
  const byType = new Map<string, Finding[]>()
  for (const f of report.findings) byType.set(f.resourceType, [...(byType.get(f.resourceType) ?? []), f])
  for (const [type, findings] of byType) {
    const shown = options.verbose ? findings : findings.filter((f) => f.status !== 'pass' && f.status !== 'not-applicable')
    const quiet = findings.length - shown.length
    out.push(`${type} — ${new Set(findings.map((f) => f.resourceId.toLowerCase())).size} resource(s)${quiet ? `, ${quiet} passing or n/a row(s) hidden` : ''}`)
    if (shown.length === 0) continue
    // Check ids are never cut: waivers are written with them (the message column gives way instead).
    const checkWidth = Math.max(8, ...shown.map((f) => f.checkId.length)) + 2
    const resourceWidth = Math.min(40, Math.max(10, ...shown.map((f) => f.resourceName.length)) + 2)
    const messageWidth = Math.max(30, width - 24 - checkWidth - resourceWidth)
    const table = new Table({
      head: ['Status', 'Severity', 'Check', 'Resource', 'Found'],
      colWidths: [10, 10, checkWidth, resourceWidth, messageWidth],
      wordWrap: true,
      style: {head: [], border: []},
    })
    for (const f of shown) table.push([MARK[f.status], f.severity, f.checkId, f.resourceName, f.message])
    out.push(table.toString())
  }
  const c = report.counts
  out.push(
    `${report.resources} resource(s), ${report.findings.length} finding(s): ${c.fail} fail, ${c.error} error, ${c.waived} waived, ${c.pass} pass, ${c['not-applicable']} n/a`,
  )
  for (const w of report.expiredWaivers) out.push(`Expired waiver: ${w.check}${w.resource ? ` on ${w.resource}` : ''} (owner ${w.owner}, expired ${w.expires}): ${w.reason}`)
  return `${out.join('\n')}\n`
}
