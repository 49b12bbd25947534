/** IPv4 helpers for firewall-rule checks. */

/** The address as a 32-bit number, or undefined when it is no dotted IPv4 address. */
export function ipv4ToNumber(address: unknown): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(address ?? '').trim())
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return parts.reduce((n, p) => n * 256 + p, 0)
}

/** How many addresses a start–end range holds, or undefined when either end is not an IPv4 address. */
export function ipv4Span(start: unknown, end: unknown): number | undefined {
  const a = ipv4ToNumber(start)
  const b = ipv4ToNumber(end)
  if (a === undefined || b === undefined) return undefined
  return Math.abs(b - a) + 1
}
