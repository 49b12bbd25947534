/** How a run's outputs are shown: at the end of a run, in `runs show` and in the run's report. */

/**
 * The outputs an on-call engineer reads first: the run's top-level values that are text, numbers or booleans — the
 * restored server, its host, the point restored to — not the measurement records a drill reads (issue 11: pg-pitr
 * ended with step names only; runs show and the report omitted what it restored into).
 */
export function headlineOutputs(outputs: Record<string, unknown>): Array<{label: string; value: string}> {
  return Object.entries(outputs)
    .filter(([, value]) => (typeof value === 'string' && value !== '') || typeof value === 'number' || typeof value === 'boolean')
    .map(([label, value]) => ({label, value: String(value)}))
}
