/**
 * Drill groups: the components of an environment that the DR drill covers, grouped by the maintenance window they
 * share, so one CI job per group starts inside that window. Components without a window form one group of their own.
 */
import type {Environment, MaintenanceWindow} from '../catalog/schema.js'
import {openOccurrence, nextOpening} from '../catalog/windows.js'
import {CronExpressionParser} from 'cron-parser'
import {toIsoDuration} from '../support/duration.js'
import {unwindowedCronLines, windowCronLines, type Cadence, type CronLine} from './schedule.js'

/**
 * Component types `dr-drill` restores (its forEach steps; test/ci/init.test.ts checks the list against dr-drill.yaml).
 * It still named only postgres, redis and webapp: the generated CI drilled no SQL database, Cosmos DB account, Managed
 * Redis cache or Traffic Manager / Front Door router of the catalog, although `opsbook run dr-drill` does.
 */
export const DRILLED_TYPES = new Set(['postgres', 'redis', 'managedredis', 'webapp', 'sqldb', 'cosmosdb', 'trafficmanager', 'frontdoor'])
export const UNWINDOWED = 'unwindowed'

export interface DrillGroup {
  /** The window's name, or `unwindowed`. */
  name: string
  components: string[]
  window?: MaintenanceWindow
}

/** The names of the windows a component declares. */
export function windowNamesOf(component: {window?: string | string[]; windows?: string[]}): string[] {
  // `windows: [a, b]` too (the catalog's Managed Redis cache names two): it was read as no window at all.
  const single = component.window === undefined ? [] : Array.isArray(component.window) ? component.window : [component.window]
  return [...new Set([...single, ...(component.windows ?? [])])]
}

export function drillGroups(env: Environment, only?: string[]): DrillGroup[] {
  const groups = new Map<string, DrillGroup>()
  for (const [key, component] of Object.entries(env.components)) {
    if (!DRILLED_TYPES.has(component.type)) continue
    if (only && only.length > 0 && !only.includes(key)) continue
    // A component with several windows is scheduled in its first; the gate accepts any of them being open.
    const name = windowNamesOf(component)[0] ?? UNWINDOWED
    const group = groups.get(name) ?? {name, components: [], window: name === UNWINDOWED ? undefined : env.windows[name]}
    group.components.push(key)
    groups.set(name, group)
  }
  return [...groups.values()]
}

/** Cron lines of a group under a cadence (`quarterly`, `monthly`) or a user's own cron. */
export function groupCronLines(group: DrillGroup, schedule: Cadence | string): CronLine[] {
  if (schedule !== 'quarterly' && schedule !== 'monthly') return [{cron: schedule, note: 'the schedule given to ci init'}]
  if (!group.window) return unwindowedCronLines(schedule)
  return windowCronLines(group.window, schedule)
}

export interface GateDecision {
  environment: string
  at: string
  open: boolean
  /** Why it is closed (one line each), or why it is open. */
  reasons: string[]
  components: Array<{component: string; open: boolean; closesAt?: string; nextOpensAt?: string}>
}

/**
 * Whether a scheduled CI job should drill these components now: every component's window is open (a production
 * component without a window never is), and the cron line that fired (when given) is one of this group's lines and
 * the earliest of them scheduled inside this opening of the window — so the line of the other daylight-saving season,
 * which may land inside a long window too, does not start a second drill.
 */
export function decideGate(options: {
  environmentName: string
  env: Environment
  components: string[]
  at: Date
  schedule: Cadence | string
  fired?: string
  /** How long the drill is expected to take: a window with less left than that does not start it. */
  expected?: {ms?: number; description: string}
}): GateDecision {
  const {env, at} = options
  const reasons: string[] = []
  const rows: GateDecision['components'] = []
  for (const key of options.components) {
    const component = env.components[key]
    if (!component) {
      reasons.push(`${key}: not a component of ${options.environmentName}`)
      rows.push({component: key, open: false})
      continue
    }
    const windows = windowNamesOf(component).map((name) => env.windows[name]).filter((w): w is MaintenanceWindow => Boolean(w))
    if (windows.length === 0) {
      const open = !env.production
      if (!open) reasons.push(`${key}: production component without a maintenance window (declare one, or run by hand with --override-window --reason)`)
      rows.push({component: key, open})
      continue
    }
    const occurrence = windows.map((w) => openOccurrence(w, at)).find(Boolean)
    const next = windows
      .map((w) => nextOpening(w, at)?.opensAt)
      .filter((d): d is Date => Boolean(d))
      .sort((a, b) => a.getTime() - b.getTime())[0]
    if (!occurrence) reasons.push(`${key}: window closed${next ? `; next opens ${next.toISOString()}` : ''}`)
    else if (options.expected?.ms !== undefined && occurrence.closesAt.getTime() - at.getTime() < options.expected.ms)
      reasons.push(
        `${key}: ${toIsoDuration(Math.max(0, occurrence.closesAt.getTime() - at.getTime()))} left of its window (closes ${occurrence.closesAt.toISOString()}), the drill is expected to take ${options.expected.description}${next ? `; next opens ${next.toISOString()}` : ''}`,
      )
    rows.push({component: key, open: Boolean(occurrence), closesAt: occurrence?.closesAt.toISOString(), nextOpensAt: next?.toISOString()})
  }
  if (options.fired && reasons.length === 0) {
    const lines = drillGroups(env, options.components).flatMap((group) => groupCronLines(group, options.schedule))
    const fired = normaliseCron(options.fired)
    if (!lines.some((line) => normaliseCron(line.cron) === fired)) reasons.push(`the schedule that fired (${options.fired}) belongs to another group`)
    else {
      // Stateless de-duplication: of the lines scheduled inside this opening of the window (both daylight-saving
      // seasons' lines can land in a long window, and on the day the clocks change), only the earliest starts the drill.
      const opensAt = openingOf(env, options.components, at)
      const earlier = opensAt ? earliestFiring(lines.map((l) => l.cron), opensAt, at) : undefined
      if (earlier) reasons.push(`an earlier scheduled start in this opening of the window (${earlier.cron} at ${earlier.at.toISOString()}) runs the drill`)
    }
  }
  const open = reasons.length === 0
  if (open) reasons.push(`every window of ${options.components.join(', ')} is open`)
  return {environment: options.environmentName, at: at.toISOString(), open, reasons, components: rows}
}

/** When the opening of the window in force at `at` began (the latest opening among the components' windows). */
function openingOf(env: Environment, components: string[], at: Date): Date | undefined {
  const starts = components.flatMap((key) =>
    windowNamesOf(env.components[key] ?? {})
      .map((name) => env.windows[name])
      .filter((w): w is MaintenanceWindow => Boolean(w))
      .map((w) => openOccurrence(w, at)?.opensAt)
      .filter((d): d is Date => Boolean(d)),
  )
  return starts.sort((a, b) => b.getTime() - a.getTime())[0]
}

/** The first firing of any of `crons` in [from, before), as the CI scheduler reads them (UTC). */
function earliestFiring(crons: string[], from: Date, before: Date): {cron: string; at: Date} | undefined {
  let first: {cron: string; at: Date} | undefined
  for (const cron of crons) {
    const fires = CronExpressionParser.parse(cron, {tz: 'UTC', currentDate: new Date(from.getTime() - 1)})
    const next = fires.next().toDate()
    if (next < before && (!first || next < first.at)) first = {cron, at: next}
  }
  return first
}

function normaliseCron(cron: string): string {
  return cron.trim().split(/\s+/).join(' ')
}
