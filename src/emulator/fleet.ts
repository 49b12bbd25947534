/**
 * The emulator's fleet (estate `fleet`): further subscriptions served as copies of the environment's own, and
 * management groups over them. A copy is a view, not separate state: a request to `/subscriptions/{copy}/…` is served
 * from the environment's subscription and every id in the response names the copy, so each subscription answers ARM
 * reads (locks, per-resource settings) and Resource Graph rows as its own. Writes to a copy change the shared state;
 * fleet scans only read.
 */
import type {EmulatorContext} from './context.js'

/** The subscriptions served as copies of the environment's (lower-case), never the environment's own. */
export function fleetCopies(ctx: EmulatorContext): string[] {
  const home = ctx.subscription.toLowerCase()
  return [...new Set((ctx.estate?.fleet?.subscriptions ?? []).map((s) => s.toLowerCase()))].filter((s) => s !== home)
}

/** Every subscription the emulator serves: the environment's first, then the copies. */
export function servedSubscriptions(ctx: EmulatorContext): string[] {
  return [ctx.subscription.toLowerCase(), ...fleetCopies(ctx)]
}

/**
 * Subscriptions under management groups (their own and their descendants'), or the first group id that is not
 * declared. Management groups nest (learn.microsoft.com/azure/governance/management-groups/overview: a group's scope
 * holds its child groups' subscriptions).
 */
export function managementGroupSubscriptions(ctx: EmulatorContext, groups: string[]): {subscriptions: string[]} | {unknown: string} {
  const declared = ctx.estate?.fleet?.managementGroups ?? {}
  const byLower = new Map(Object.entries(declared).map(([id, group]) => [id.toLowerCase(), group]))
  const found = new Set<string>()
  const seen = new Set<string>()
  const visit = (id: string): string | undefined => {
    const group = byLower.get(id.toLowerCase())
    if (!group) return id
    if (seen.has(id.toLowerCase())) return undefined
    seen.add(id.toLowerCase())
    for (const sub of group.subscriptions) found.add(sub.toLowerCase())
    for (const child of group.children) {
      const missing = visit(child)
      if (missing) return missing
    }
    return undefined
  }
  for (const group of groups) {
    const missing = visit(group)
    if (missing) return {unknown: missing}
  }
  return {subscriptions: [...found]}
}

/** The copy a path addresses (`/subscriptions/{copy}/…`), rewritten to the environment's subscription. */
export function fromCopy(ctx: EmulatorContext, path: string): {path: string; copy: string} | undefined {
  const m = /^\/subscriptions\/([^/?]+)/i.exec(path)
  if (!m) return undefined
  const copy = decodeURIComponent(m[1]!).toLowerCase()
  if (!fleetCopies(ctx).includes(copy)) return undefined
  return {path: `/subscriptions/${ctx.subscription}${path.slice(m[0].length)}`, copy}
}

/** A response body as the copy serves it: every `/subscriptions/{environment's}` becomes `/subscriptions/{copy}`. */
export function asCopy<T>(ctx: EmulatorContext, body: T, copy: string): T {
  if (body === undefined || body === null || Buffer.isBuffer(body)) return body
  const pattern = new RegExp(`(/subscriptions/)${escapeRegExp(ctx.subscription)}`, 'gi')
  const rewrite = (text: string) => text.replace(pattern, `$1${copy}`)
  if (typeof body === 'string') return rewrite(body) as T
  return JSON.parse(rewrite(JSON.stringify(body)).replace(new RegExp(`"subscriptionId":"${escapeRegExp(ctx.subscription)}"`, 'gi'), `"subscriptionId":"${copy}"`)) as T
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
