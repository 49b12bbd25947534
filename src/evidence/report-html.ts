/**
 * The HTML report of an export: one self-contained file (inline CSS, hand-drawn SVG charts, no scripts, no network)
 * so it opens the same on an auditor's machine years later and prints cleanly.
 */
import {describeRunDuration, describeSegments} from './segments.js'
import {humanDuration} from '../support/duration.js'
import type {ComponentSeries, EvidenceReport, RunRow} from './export.js'
import {fmtMs, quarterRows} from './report-md.js'

export function renderReportHtml(report: EvidenceReport): string {
  const gaps = report.coverage.rows.filter((r) => r.hasObjectives && !r.covered)
  const broken = report.runs.filter((r) => !r.journal.chainOk)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Operational evidence: ${esc(report.environment)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Operational evidence: <code>${esc(report.environment)}</code>${report.production ? ' <span class="badge prod">production</span>' : ''}</h1>
<p>Period <strong>${report.period.since ? day(report.period.since) : 'all runs'}</strong> to <strong>${day(report.period.until)}</strong>.
Generated ${esc(report.generatedAt)} by ${esc(report.generatedBy)}.</p>
<p class="totals"><span>${report.totals.runs} runs</span><span class="ok">${report.totals.passed} passed</span><span class="bad">${report.totals.failed} failed or incomplete</span><span>${report.totals.drills} DR drills</span></p>
${broken.length ? `<p class="alert">Journal hash check fails for: ${broken.map((r) => `<code>${esc(r.runId)}</code> (${esc(r.journal.problem ?? '')})`).join(', ')}</p>` : ''}
</header>

<section id="coverage">
<h2>Drill coverage</h2>
<p>Components without a passing DR drill in the ${report.coverage.days} days up to ${day(report.coverage.asOf)}:
${gaps.length ? gaps.map((g) => `<strong class="bad">${esc(g.component)}</strong>${g.tier ? ` (${esc(g.tier)})` : ''}`).join(', ') : '<strong class="ok">none</strong>'}.</p>
<table>
<thead><tr><th>Component</th><th>Type</th><th>Tier</th><th>Last drill</th><th>Last passing drill</th><th>Passing drill in last ${report.coverage.days} days</th></tr></thead>
<tbody>
${report.coverage.rows
  .map(
    (c) => `<tr class="${c.covered ? 'row-ok' : c.hasObjectives ? 'row-bad' : ''}"><td><code>${esc(c.component)}</code></td><td>${esc(c.type)}</td><td>${esc(c.tier ?? '—')}</td>
<td>${c.lastDrill ? `${day(c.lastDrill.at)} <span class="${c.lastDrill.passed ? 'ok' : 'bad'}">${esc(c.lastDrill.outcome)}</span>` : 'never'}</td>
<td>${c.lastPassingDrill ? `${day(c.lastPassingDrill.at)} <code class="small">${esc(c.lastPassingDrill.runId)}</code>` : 'never'}</td>
<td>${c.covered ? '<span class="ok">yes</span>' : c.hasObjectives ? '<span class="bad">NO</span>' : 'no (no objectives set)'}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>

<section id="objectives">
<h2>Recovery objectives per component, by quarter</h2>
<p class="note">Bars: worst measurement in the quarter (green: every drill met the objective, red: at least one missed). Dots: individual drills. Dashed line: the catalog objective.</p>
${report.series.filter((s) => s.points.length > 0).length === 0 ? '<p>No drill measurements in this period.</p>' : ''}
<div class="charts">
${report.series
  .filter((s) => s.points.length > 0)
  .map((s) => `<figure class="component"><figcaption><code>${esc(s.component)}</code> ${esc(s.type)}${s.tier ? ` · ${esc(s.tier)}` : ''}</figcaption>
${s.points.some((p) => p.rtoMs !== undefined) ? objectiveChart(s, 'rto') : ''}
${s.points.some((p) => p.rpoMs !== undefined) ? objectiveChart(s, 'rpo') : ''}
</figure>`)
  .join('\n')}
</div>
</section>

<section id="controls">
<h2>Controls supported by this evidence</h2>
<p class="${report.evidenceStore.immutable === true ? '' : 'alert'}">Evidence store: ${esc(report.evidenceStore.detail)}. Only runs that passed count as evidence for a control.</p>
<table>
<thead><tr><th>Control</th><th>What it asks</th><th>Evidence in this bundle</th><th>Runs</th></tr></thead>
<tbody>
${report.controls
  .map(
    (c) => `<tr><td><strong>${esc(c.id)}</strong><br>${esc(c.title)}</td><td>${esc(c.description)}</td><td>${esc(c.evidence)}</td>
<td>${c.runIds.length ? `${c.runIds.length}: ${c.runIds.map((id) => `<a href="#run-${attr(id)}"><code class="small">${esc(id)}</code></a>`).join(' ')}` : '<span class="bad">none in this period</span>'}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>

<section id="runs">
<h2>Runs</h2>
${report.runs.length ? runsOverview(report.runs) : '<p>No runs in this period.</p>'}
${report.runs.map((r) => runDetail(r)).join('\n')}
</section>
</body>
</html>
`
}

function runsOverview(runs: RunRow[]): string {
  return `<table>
<thead><tr><th>Run</th><th>Runbook</th><th>Who</th><th>Started</th><th>Duration</th><th>Result</th></tr></thead>
<tbody>
${runs
  .map(
    (r) => `<tr class="${r.passed ? 'row-ok' : 'row-bad'}"><td><a href="#run-${attr(r.runId)}"><code class="small">${esc(r.runId)}</code></a></td><td>${esc(r.runbook)} <span class="muted">${esc(r.kind)}</span></td>
<td>${esc(r.who)}</td><td>${esc(r.startedAt)}</td><td>${r.durationMs !== undefined ? humanDuration(r.durationMs) : '—'}</td>
<td><span class="${r.passed ? 'ok' : 'bad'}">${r.passed ? 'pass' : 'fail'}</span> <span class="muted">${esc(r.status)}</span></td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`
}

function runDetail(r: RunRow): string {
  const params = Object.entries(r.params).map(([k, v]) => `<code>${esc(k)}=${esc(typeof v === 'string' ? v : JSON.stringify(v))}</code>`).join(' ')
  return `<article class="run" id="run-${attr(r.runId)}">
<h3><span class="${r.passed ? 'ok' : 'bad'}">${r.passed ? 'PASS' : 'FAIL'}</span> ${esc(r.title || r.runbook)} <code class="small">${esc(r.runId)}</code></h3>
<dl>
<dt>Runbook</dt><dd>${esc(r.runbook)} (${esc(r.kind)})</dd>
<dt>Status</dt><dd>${esc(r.status)}</dd>
<dt>Who</dt><dd>${esc(r.who)}</dd>
<dt>When</dt><dd>${esc(r.startedAt)} → ${esc(r.finishedAt ?? 'not recorded')}${r.durationMs !== undefined ? ` (${esc(describeRunDuration(r))})` : ''}</dd>${
    r.segments ? `\n<dt>Segments</dt><dd>${describeSegments(r.segments).map(esc).join('<br>')}</dd>` : ''
  }
<dt>Parameters</dt><dd>${params || 'none'}</dd>
<dt>Journal</dt><dd>${r.journal.lines} lines, last hash <code class="small">${esc(r.journal.lastHash)}</code> ${r.journal.chainOk ? '<span class="ok">chain intact</span>' : `<span class="bad">chain broken: ${esc(r.journal.problem ?? '')}</span>`}</dd>
</dl>
${
  r.objectives.length
    ? `<table><thead><tr><th>Component</th><th>RTO measured</th><th>RTO objective</th><th>RPO measured</th><th>RPO objective</th><th>Met</th></tr></thead><tbody>
${r.objectives
  .map((o) => {
    const met = [o.rto?.met, o.rpo?.met].filter((v) => v !== undefined && v !== null)
    const ok = met.every(Boolean)
    return `<tr><td><code>${esc(o.component)}</code></td><td>${fmtMs(o.rto?.measuredMs ?? undefined)}</td><td>${fmtMs(o.rto?.objectiveMs ?? undefined)}</td><td>${fmtMs(o.rpo?.measuredMs ?? undefined)}</td><td>${fmtMs(o.rpo?.objectiveMs ?? undefined)}</td><td class="${ok ? 'ok' : 'bad'}">${met.length === 0 ? 'n/a' : ok ? 'yes' : 'no'}</td></tr>`
  })
  .join('\n')}
</tbody></table>`
    : ''
}
${r.outputs?.length ? `<h4>Outputs</h4><table><tbody>${r.outputs.map((o) => `<tr><td>${esc(o.label)}</td><td>${esc(o.value)}</td></tr>`).join('')}</tbody></table>` : ''}
${r.checklist?.length ? `<h4>Checklist results</h4><table><tbody>${r.checklist.map((c) => `<tr><td>${esc(c.label)}</td><td>${esc(c.value)}</td></tr>`).join('')}</tbody></table>` : ''}
${r.approvals.length ? `<h4>Approvals</h4><table><thead><tr><th>Step</th><th>By</th><th>Via</th><th>At</th><th>Reason</th></tr></thead><tbody>${r.approvals.map((a) => `<tr><td>${esc(a.step ?? '')}</td><td>${esc(a.by ?? '')}</td><td>${esc(a.via ?? '')}</td><td>${esc(a.at ?? '')}</td><td>${esc(a.reason ?? '')}</td></tr>`).join('')}</tbody></table>` : ''}
${r.overrides.length ? `<h4>Overrides</h4><table><thead><tr><th>Guard</th><th>Reason</th><th>By</th><th>At</th></tr></thead><tbody>${r.overrides.map((o) => `<tr><td>${esc(o.kind ?? '')}</td><td>${esc(o.reason ?? '')}</td><td>${esc(o.by ?? '')}</td><td>${esc(o.at ?? '')}</td></tr>`).join('')}</tbody></table>` : ''}
${r.failedSteps.length ? `<p class="bad">Failed steps: ${r.failedSteps.map((s) => `${esc(s.id)}${s.message ? ` (${esc(s.message)})` : ''}`).join('; ')}</p>` : ''}
${r.leftBehind.length ? `<p class="alert">Left behind (needs a human): ${r.leftBehind.map(esc).join('; ')}</p>` : ''}
${r.evidenceStoreWarning ? `<p class="alert">Evidence store: ${esc(r.evidenceStoreWarning)}</p>` : ''}
</article>`
}

/** A bar chart of the worst measurement per quarter, drill dots and the objective as a dashed line. */
export function objectiveChart(series: ComponentSeries, which: 'rto' | 'rpo'): string {
  const width = 520
  const height = 220
  const m = {top: 28, right: 16, bottom: 36, left: 56}
  const plotW = width - m.left - m.right
  const plotH = height - m.top - m.bottom
  const objective = which === 'rto' ? series.rtoObjectiveMs : series.rpoObjectiveMs
  const points = series.points
    .map((p) => ({quarter: p.quarter, runId: p.runId, at: p.at, ms: which === 'rto' ? p.rtoMs : p.rpoMs, met: which === 'rto' ? p.rtoMet : p.rpoMet}))
    .filter((p): p is typeof p & {ms: number} => p.ms !== undefined)
  const quarters = quarterRange(points.map((p) => p.quarter))
  const worst = new Map(
    quarterRows(points.map((p) => ({quarter: p.quarter, rtoMs: p.ms, rtoMet: p.met ?? undefined}))).map((q) => [q.quarter, q]),
  )
  const maxValue = Math.max(1, objective ?? 0, ...points.map((p) => p.ms)) * 1.15
  const unit = pickUnit(maxValue)
  const y = (ms: number) => m.top + plotH - (ms / maxValue) * plotH
  const band = plotW / Math.max(1, quarters.length)
  const x = (quarter: string) => m.left + quarters.indexOf(quarter) * band + band / 2
  const ticks = niceTicks(maxValue / unit.ms).map((t) => t * unit.ms)
  const label = `${which.toUpperCase()} of ${series.component} per quarter (${unit.name})`
  const parts: string[] = []
  parts.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${attr(label)}">`)
  parts.push(`<title>${esc(label)}</title>`)
  parts.push(`<text x="${m.left}" y="16" class="chart-title">${which.toUpperCase()} (${unit.name})</text>`)
  for (const t of ticks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${n(y(t))}" y2="${n(y(t))}" class="grid"/>`)
    parts.push(`<text x="${m.left - 6}" y="${n(y(t) + 4)}" class="tick" text-anchor="end">${fmtNumber(t / unit.ms)}</text>`)
  }
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" class="axis"/>`)
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + plotH}" y2="${m.top + plotH}" class="axis"/>`)
  for (const quarter of quarters) {
    const q = worst.get(quarter)
    const barW = Math.min(48, band * 0.6)
    if (q?.worstRto !== undefined) {
      const top = y(q.worstRto)
      parts.push(
        `<rect x="${n(x(quarter) - barW / 2)}" y="${n(top)}" width="${n(barW)}" height="${n(m.top + plotH - top)}" class="${q.allMet ? 'bar-ok' : 'bar-bad'}"><title>${esc(`${quarter}: worst ${which.toUpperCase()} ${humanDuration(q.worstRto)} over ${q.drills} drill(s)`)}</title></rect>`,
      )
    }
    parts.push(`<text x="${n(x(quarter))}" y="${m.top + plotH + 16}" class="tick" text-anchor="middle">${esc(quarter)}</text>`)
  }
  for (const [index, p] of points.entries()) {
    const jitter = ((index % 5) - 2) * 4
    parts.push(`<circle cx="${n(x(p.quarter) + jitter)}" cy="${n(y(p.ms))}" r="3.5" class="${p.met === false ? 'dot-bad' : 'dot'}"><title>${esc(`${p.runId} (${p.at.slice(0, 10)}): ${humanDuration(p.ms)}`)}</title></circle>`)
  }
  if (objective !== undefined) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${n(y(objective))}" y2="${n(y(objective))}" class="objective"/>`)
    parts.push(`<text x="${width - m.right}" y="${n(y(objective) - 5)}" class="objective-label" text-anchor="end">objective ${esc(humanDuration(objective))}</text>`)
  }
  parts.push('</svg>')
  return parts.join('\n')
}

/** Every quarter from the first to the last given, so gaps between drills show as empty bands. */
function quarterRange(quarters: string[]): string[] {
  if (quarters.length === 0) return []
  const index = (q: string) => {
    const [year, part] = q.split('-Q')
    return Number(year) * 4 + Number(part) - 1
  }
  const sorted = quarters.map(index).sort((a, b) => a - b)
  const out: string[] = []
  for (let i = sorted[0]; i <= sorted.at(-1)!; i++) out.push(`${Math.floor(i / 4)}-Q${(i % 4) + 1}`)
  return out
}

function pickUnit(maxMs: number): {name: string; ms: number} {
  if (maxMs >= 3 * 3_600_000) return {name: 'hours', ms: 3_600_000}
  if (maxMs >= 3 * 60_000) return {name: 'minutes', ms: 60_000}
  return {name: 'seconds', ms: 1000}
}

function niceTicks(max: number): number[] {
  const raw = max / 4
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) ?? raw
  const ticks: number[] = []
  for (let t = 0; t <= max + 1e-9; t += step) ticks.push(Number(t.toFixed(6)))
  return ticks
}

function fmtNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

const n = (value: number) => value.toFixed(1)

function day(iso: string): string {
  return iso.slice(0, 10)
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function attr(text: string): string {
  return esc(text).replace(/'/g, '&#39;')
}

const CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; --bg-ok: #dafbe1; --bg-bad: #ffebe9; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 19px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 16px; margin: 0 0 8px; } h4 { margin: 12px 0 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 90%; } code.small { font-size: 80%; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.row-bad td:first-child { box-shadow: inset 4px 0 var(--bad); } tr.row-ok td:first-child { box-shadow: inset 4px 0 var(--ok); }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; } .muted, .note { color: var(--muted); }
.badge { font-size: 12px; border-radius: 10px; padding: 2px 8px; vertical-align: middle; } .badge.prod { background: var(--bg-bad); color: var(--bad); }
.totals span { display: inline-block; margin-right: 16px; }
.alert { background: var(--bg-bad); border: 1px solid var(--bad); padding: 8px 12px; border-radius: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.component { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { display: block; font-family: inherit; }
svg .grid { stroke: #eaeef2; } svg .axis { stroke: #8c959f; } svg .tick { font-size: 11px; fill: var(--muted); }
svg .chart-title { font-size: 12px; font-weight: 600; fill: #1f2328; }
svg .bar-ok { fill: #4ac26b; opacity: .75; } svg .bar-bad { fill: #ff8182; opacity: .85; }
svg .dot { fill: #0969da; } svg .dot-bad { fill: var(--bad); }
svg .objective { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; } svg .objective-label { font-size: 11px; fill: var(--bad); }
article.run { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 12px 0; page-break-inside: avoid; }
dl { display: grid; grid-template-columns: 110px 1fr; gap: 2px 12px; margin: 0 0 8px; } dt { color: var(--muted); } dd { margin: 0; }
@media print { body { padding: 0; } a { color: inherit; text-decoration: none; } }
`
