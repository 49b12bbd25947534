/**
 * What Ctrl-C does at the moment it is pressed, in words a user reads while it happens: before the run has started
 * nothing has changed and nothing is undone; once it runs, what is rolled back and whether finally steps follow. The
 * first Ctrl-C (cli/run-support.ts) and the reporters' "interrupted" line (plain and listr2) say it alike. Light: no imports.
 */

/** How far the run had got when the signal came, from its events (cli/run-support.ts tracks them). */
export interface RunProgress {
  /** run.started was emitted: the journal exists, steps may run. */
  started: boolean
  /** A resumed run: earlier segments may have changed things and completed steps. */
  resumed: boolean
  /** A step that changes Azure has started (or an operation was sent). */
  changeStarted: boolean
  /** Main steps that completed (a rollback undoes those that have one). */
  completedSteps: number
  /** Finally steps of the run and of its groups and called runbooks. */
  finallySteps: number
}

/** The first Ctrl-C's line. */
export function firstInterruptText(signal: string, progress: RunProgress): string {
  if (!progress.started) return `${signal}: stopping before the run has started — nothing has been changed, nothing to undo`
  const parts = ['no new step starts']
  if (!progress.resumed && !progress.changeStarted) parts.push('nothing in Azure has been changed yet')
  parts.push(progress.resumed || progress.completedSteps > 0 ? 'completed steps that have a rollback are rolled back' : 'no step has completed, so there is nothing to roll back')
  parts.push(progress.finallySteps > 0 ? 'finally steps run' : 'the runbook has no finally steps')
  return `${signal}: stopping — ${parts.join('; ')}`
}

/** A further Ctrl-C before the run has started: there is no teardown to keep or abandon. */
export function laterInterruptBeforeStartText(signal: string): string {
  return `${signal}: still stopping — the run has not started, nothing has been changed`
}

/** The reporters' line when the engine stops the run: what it rolls back and whether finally steps follow. */
export function interruptedText(event: {rollback?: string[]; finally?: string[]}): string {
  // Journals written before the event said so.
  if (!event.rollback || !event.finally) return 'stopping, rolling back and running finally steps'
  const undo = event.rollback.length > 0 ? `rolling back ${event.rollback.join(', ')}` : 'nothing to roll back'
  // The run's own finally steps (a called runbook's ran when the call stopped, above this line).
  return `stopping: no new step starts; ${undo}${event.finally.length > 0 ? `; ${event.rollback.length > 0 ? 'then ' : ''}running finally steps` : ''}`
}
