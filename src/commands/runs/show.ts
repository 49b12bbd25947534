import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import type {RunDetails} from '../../evidence/runs-store.js'

export default class RunsShow extends BaseCommand<RunDetails> {
  static override summary = 'Show one run: status, steps, outputs, measured objectives, and whether its journal\'s hash chain holds and binds summary.json (exit 1 when it does not)'
  static override examples = ['<%= config.bin %> runs show 20261123T153000Z-dr-drill-7f3a', '<%= config.bin %> runs show 20261123T1530 --json']
  static override args = {runId: Args.string({description: 'Run id (a unique prefix is enough)', required: true})}

  async run(): Promise<RunDetails> {
    const {args, flags} = await this.parse(RunsShow)
    const [{showRun}, {opsbookRoot}, {humanDuration}, {describeRunDuration, describeSegments}] = await Promise.all([
      import('../../evidence/runs-store.js'),
      import('../../catalog/locate.js'),
      import('../../support/duration.js'),
      import('../../evidence/segments.js'),
    ])
    const details = await showRun(opsbookRoot({catalogFlag: flags.catalog}), args.runId)
    const s = details.summary
    const r = details.refused
    if (r) {
      // Refused by preflight: nothing ran, so there is no journal to check.
      this.say(`${details.runId}: refused (exit ${r.why.exitCode}) — ${r.runbook} on ${r.environment} at ${r.refusedAt}, by ${r.who.osUser}${r.who.azurePrincipal ? ` (${r.who.azurePrincipal})` : ''}; nothing changed, no lease taken`)
      this.say(r.why.message)
      for (const suggestion of r.why.suggestions) this.say(`  try: ${suggestion}`)
      return details
    }
    this.say(`${details.runId}: ${details.status}${s ? ` — ${s.runbook.name} on ${s.environment}, started ${s.startedAt}, ${describeRunDuration(s)}, by ${s.who.osUser}${s.who.azurePrincipal ? ` (${s.who.azurePrincipal})` : ''}` : ''}`)
    if (s?.segments) this.say(`segments:\n${describeSegments(s.segments).map((line) => `  ${line}`).join('\n')}`)
    this.say(`journal ${details.journalPath}: ${details.chain.ok ? `hash chain OK (${details.chain.lines} lines)` : `HASH CHAIN BROKEN at line ${details.chain.firstBad?.line}: ${details.chain.firstBad?.reason}`}`)
    // summary.json edited after the run (its seal or the journal's events say otherwise): what follows is not the record.
    for (const problem of details.summaryProblems) this.say(`EVIDENCE CHANGED AFTER THE RUN: ${problem}`)
    if (!s && details.lastEvent) this.say(`last event: #${details.lastEvent.seq} ${details.lastEvent.type}${details.lastEvent.step ? ` (${details.lastEvent.step})` : ''} at ${details.lastEvent.ts}; continue with: opsbook resume ${details.runId}`)
    // One column for the step (phase prefix included), as wide as the longest: a drill's `finally <leg>.<step>` ids
    // pushed the status of those lines out of line with the others.
    const label = (step: {phase: string; id: string}) => `${step.phase === 'main' ? '' : `${step.phase} `}${step.id}`
    const width = Math.max(30, ...(s?.steps ?? []).map((step) => label(step).length))
    for (const step of s?.steps ?? [])
      this.say(`  ${label(step).padEnd(width)} ${step.status.padEnd(12)} ${step.durationMs === undefined ? '' : humanDuration(step.durationMs)}${step.error ? `  ${step.error.message}` : ''}`)
    if (s && Array.isArray(s.outputs.objectives)) {
      const {renderObjectives} = await import('../../ui/run-summary.js')
      this.say(renderObjectives(s.outputs.objectives as never))
    }
    const {headlineOutputs} = await import('../../evidence/outputs.js')
    const outputs = headlineOutputs(s?.outputs ?? {})
    if (outputs.length > 0) this.say(`outputs:\n${outputs.map((o) => `  ${o.label}: ${o.value}`).join('\n')}`)
    if (s?.leftBehind.length) this.say(`NEEDS A HUMAN: ${s.leftBehind.join(', ')}`)
    if (s && (s.status === 'interrupted' || s.status === 'rollback-failed')) {
      const {resumeCommand} = await import('../../support/resume-hint.js')
      this.say(`continue with: ${resumeCommand(details.runId, s.overrides)}`)
    }
    // Issue 16: a run that never reached Blob is only on this machine; a consistent forgery looks the same.
    if (!r && details.blob !== 'uploaded')
      this.say(
        `UNANCHORED: ${details.blob === 'pending' ? 'part of this run never reached the evidence container (upload pending)' : 'no upload of this run to an evidence container is recorded'} — nothing outside this machine confirms this record; \`opsbook evidence sync\` uploads it, \`opsbook evidence verify ${details.runId}\` checks it (also against Azure's Activity Log)`,
      )
    // A broken chain means the journal was altered: like `evidence verify`, that is a failure (exit 1).
    if (!details.chain.ok || details.summaryProblems.length > 0) this.exitWith = 1
    return details
  }
}
