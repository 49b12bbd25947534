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

/**
 * PSRule for Azure's firewall limits, which pg.fw.narrow and redis.fw.narrow follow (Azure/PSRule.Rules.Azure
 * src/PSRule.Rules.Azure/rules/Azure.PostgreSQL.Rule.ps1 and Azure.Redis.Rule.ps1 — FirewallRuleCount: "LessOrEqual
 * ($firewallRules, '.', 10)" over every rule; FirewallIPRange: "LessOrEqual($summary, 'Public', 10)", the addresses
 * all rules admit together (GetIPAddressSummary in Azure.Common.Rule.ps1), leaving out the allow-Azure-services
 * marker (0.0.0.0–0.0.0.0 or a rule named AllowAllWindowsAzureIps) and private ranges). An earlier reading here (no
 * single rule wider than 256 addresses) let ten /25 rules through, 1,280 public addresses.
 */
export const MAX_FIREWALL_RULES = 10
export const MAX_PUBLIC_ADDRESSES = 10

/** A firewall rule as PostgreSQL (`startIpAddress`) or Redis (`startIP`) names its ends. */
export interface RangeRule {
  name: string
  start?: string
  end?: string
}

/** The RFC 1918 private blocks as [first, last] address numbers. */
const PRIVATE_BLOCKS: Array<[number, number]> = [
  ['10.0.0.0', '10.255.255.255'],
  ['172.16.0.0', '172.31.255.255'],
  ['192.168.0.0', '192.168.255.255'],
].map(([a, b]) => [ipv4ToNumber(a)!, ipv4ToNumber(b)!])

/**
 * Whether a range lies inside one private block. PSRule tests the start address's prefix (`10.*`, `172.*`,
 * `192.168.*`); this reads RFC 1918 (172.16.0.0/12, not all of 172/8 — 172.217.x.x is public), both ends.
 */
function privateRange(start: number, end: number): boolean {
  const [low, high] = start <= end ? [start, end] : [end, start]
  return PRIVATE_BLOCKS.some(([first, last]) => low >= first && high <= last)
}

/** The allow-Azure-services marker PSRule leaves out of the address count (pg.fw.no_azure_wide judges it). */
export function isAzureServicesMarker(rule: RangeRule): boolean {
  return rule.name === 'AllowAllWindowsAzureIps' || (rule.start === '0.0.0.0' && rule.end === '0.0.0.0')
}

export interface FirewallSummary {
  rules: number
  publicAddresses: number
  /** The rules that admit public addresses, widest first. */
  publicRules: Array<RangeRule & {addresses: number}>
}

/** Rule count and public addresses admitted; a rule whose ends are not IPv4 addresses is MissingData. */
export function firewallSummary(rules: RangeRule[]): FirewallSummary {
  const publicRules: Array<RangeRule & {addresses: number}> = []
  for (const rule of rules) {
    if (isAzureServicesMarker(rule)) continue
    const start = ipv4ToNumber(rule.start)
    const end = ipv4ToNumber(rule.end)
    if (start === undefined || end === undefined) throw new MissingData(`firewall rule ${rule.name} has no valid start or end address`)
    if (privateRange(start, end)) continue
    publicRules.push({...rule, addresses: Math.abs(end - start) + 1})
  }
  publicRules.sort((a, b) => b.addresses - a.addresses)
  return {rules: rules.length, publicAddresses: publicRules.reduce((n, r) => n + r.addresses, 0), publicRules}
}

/** pass/fail text of a summary against PSRule's limits. */
export function judgeFirewall(summary: FirewallSummary): {ok: boolean; text: string} {
  const problems: string[] = []
  if (summary.rules > MAX_FIREWALL_RULES) problems.push(`${summary.rules} rules (more than ${MAX_FIREWALL_RULES})`)
  if (summary.publicAddresses > MAX_PUBLIC_ADDRESSES)
    problems.push(`${summary.publicAddresses.toLocaleString('en-US')} public addresses (more than ${MAX_PUBLIC_ADDRESSES}): ${describeRules(summary.publicRules.slice(0, 3))}${summary.publicRules.length > 3 ? ` and ${summary.publicRules.length - 3} more` : ''}`)
  return problems.length === 0
    ? {ok: true, text: `${summary.rules} firewall rule(s) admitting ${summary.publicAddresses} public address(es) (at most ${MAX_FIREWALL_RULES} rules and ${MAX_PUBLIC_ADDRESSES} addresses)`}
    : {ok: false, text: problems.join('; ')}
}

/** `rule (start–end), …` for messages. */
export function describeRules(rules: RangeRule[]): string {
  return rules.map((r) => `${r.name} (${r.start}–${r.end})`).join(', ')
}
