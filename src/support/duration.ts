/**
 * ISO-8601 durations (PT1H, P1D, PT15M, PT0.5S). Hand-written because the catalog and runbook loaders run on
 * every command and a date library would add to startup. Years and months are rejected: their length varies.
 */

const PATTERN = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/

/** Milliseconds in an ISO-8601 duration, or undefined when `text` is not one. */
export function parseDuration(text: string): number | undefined {
  const match = PATTERN.exec(text.trim().toUpperCase())
  if (!match || text.trim().toUpperCase() === 'P' || /T$/i.test(text.trim())) return undefined
  const [, w, d, h, m, s] = match
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v))
  return Math.round(((((n(w) * 7 + n(d)) * 24 + n(h)) * 60 + n(m)) * 60 + n(s)) * 1000)
}

export function isDuration(text: string): boolean {
  return parseDuration(text) !== undefined
}

/** Canonical ISO-8601 form of a millisecond count, e.g. 5400000 → PT1H30M. */
export function toIsoDuration(ms: number): string {
  if (ms <= 0) return 'PT0S'
  let rest = ms / 1000
  const days = Math.floor(rest / 86400)
  rest -= days * 86400
  const hours = Math.floor(rest / 3600)
  rest -= hours * 3600
  const minutes = Math.floor(rest / 60)
  rest -= minutes * 60
  const seconds = Math.round(rest * 1000) / 1000
  let out = 'P'
  if (days) out += `${days}D`
  if (hours || minutes || seconds) {
    out += 'T'
    if (hours) out += `${hours}H`
    if (minutes) out += `${minutes}M`
    if (seconds) out += `${seconds}S`
  }
  return out
}

/** Short human form for tables and progress lines: 1h 05m, 4m 10s, 2.3s, 120ms. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const totalSeconds = Math.round(ms / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  if (hours) return `${hours}h ${String(minutes).padStart(2, '0')}m`
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`
}
