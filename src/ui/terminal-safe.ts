/**
 * Text from users and from Azure shown on a terminal: control characters (ESC sequences that move the cursor, set
 * the window title or rewrite earlier lines, carriage returns, C1 controls) are shown as visible escapes, so a param
 * value or an API message cannot forge or hide output. Newlines and tabs stay.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** A deep copy with every string made terminal-safe (events and results shown by reporters). */
export function terminalSafeDeep<T>(value: T): T {
  if (typeof value === 'string') return terminalSafe(value) as T
  if (Array.isArray(value)) return value.map((v) => terminalSafeDeep(v)) as T
  if (value && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = terminalSafeDeep(v)
    return out as T
  }
  return value
}
