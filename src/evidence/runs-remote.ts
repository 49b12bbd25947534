/**
 * Runs of an environment wherever they are recorded: this machine's `.opsbook/runs` and the environment's evidence
 * container, which is what CI jobs on other machines (and colleagues' laptops) leave behind. A run in both places is
 * listed once, marked with both.
 */
import type {EvidenceTarget} from './blob-sink.js'
import {blobRunFolders, describeRun} from './export.js'
import {listRuns, type RunListEntry} from './runs-store.js'

export interface RecordedRun extends RunListEntry {
  /** Where the run's record is: this machine, the evidence container, or both. */
  where: Array<'local' | 'blob'>
}

/** Runs of the evidence container, read from summary.json (the journal's first line when a run has no summary yet). */
export async function listBlobRuns(target: EvidenceTarget, environmentName: string): Promise<RunListEntry[]> {
  const runs: RunListEntry[] = []
  for (const [runId, read] of await blobRunFolders(target)) {
    const summaryText = await read('summary.json')
    // Without a summary the run is running or crashed elsewhere: its journal's first line says what it is.
    const journalText = summaryText ? '' : ((await read('journal.jsonl')) ?? '')
    const run = describeRun(runId, 'blob', journalText, summaryText)
    if (run.environment !== environmentName) continue
    runs.push({
      runId,
      runbook: run.runbook ?? '?',
      environment: environmentName,
      status: (run.summary?.status as RunListEntry['status']) ?? 'running',
      startedAt: run.startedAt,
      durationMs: run.summary?.durationMs,
    })
  }
  return runs
}

/** This machine's runs of the environment and the container's, newest first, each once. */
export async function listRecordedRuns(root: string, environmentName: string, target?: EvidenceTarget): Promise<RecordedRun[]> {
  const byId = new Map<string, RecordedRun>()
  for (const run of await listRuns(root, {check: Number.POSITIVE_INFINITY})) if (run.environment === environmentName) byId.set(run.runId, {...run, where: ['local']})
  if (target)
    for (const run of await listBlobRuns(target, environmentName)) {
      const local = byId.get(run.runId)
      // The local record is the fresher one (a crashed run's status is only known here); the blob adds where it is.
      if (local) local.where.push('blob')
      else byId.set(run.runId, {...run, where: ['blob']})
    }
  return [...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId))
}
