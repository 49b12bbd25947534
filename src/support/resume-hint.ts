/**
 * The command that continues a run, as the end of an interrupted run, `runs show` and a refused resume print it. A run
 * started outside its maintenance window or in a freeze (--override-window --reason) is refused again on resume
 * (exit 5) without the same flags, so the command carries them, with the reason that was journaled. Light: no imports.
 */
export function resumeCommand(runId: string, overrides: ReadonlyArray<{kind: string; reason?: string}> = []): string {
  const window = overrides.find((o) => (o.kind === 'maintenance-window' || o.kind === 'change-freeze') && o.reason?.trim())
  return `opsbook resume ${runId}${window ? ` --override-window --reason ${shellQuote(window.reason!)}` : ''}`
}

/** One shell word: single-quoted unless plainly safe (a ' inside becomes '\''). */
export function shellQuote(text: string): string {
  return /^[\w./:@=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}
