/** IPv4 helpers for firewall-rule checks. */
import {MissingData} from './helpers.js'

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

/** PSRule's FirewallIPRange limit: no rule may admit more addresses than this. */
export const MAX_FIREWALL_RANGE = 256

/** A firewall rule as PostgreSQL (`startIpAddress`) or Redis (`startIP`) names its ends. */
export interface RangeRule {
  name: string
  start?: string
  end?: string
}

/** Rules admitting more than MAX_FIREWALL_RANGE addresses; a rule whose ends are not IPv4 addresses is MissingData. */
export function wideRules(rules: RangeRule[]): RangeRule[] {
  return rules.filter((r) => {
    const span = ipv4Span(r.start, r.end)
    if (span === undefined) throw new MissingData(`firewall rule ${r.name} has no valid start or end address`)
    return span > MAX_FIREWALL_RANGE
  })
}

/** `rule (start–end), …` for messages. */
export function describeRules(rules: RangeRule[]): string {
  return rules.map((r) => `${r.name} (${r.start}–${r.end})`).join(', ')
}
