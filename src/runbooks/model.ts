/**
 * The runbook model after loading and validation: what the engine, `plan` and the reporters work from.
 * `schema.ts` turns YAML into this; durations are already in milliseconds.
 */
import type {ComponentType} from '../catalog/schema.js'
import type {SourceLocation} from '../errors.js'

export type RunbookKind = 'incident' | 'drill' | 'maintenance' | 'checklist'

export type ParamSpec =
  | {type: 'string'; description?: string; default?: string; pattern?: string; required: boolean}
  | {type: 'integer'; description?: string; default?: number; min?: number; max?: number; required: boolean}
  | {type: 'boolean'; description?: string; default?: boolean; required: boolean}
  | {type: 'enum'; description?: string; default?: string; values: string[]; required: boolean}
  | {type: 'datetime'; description?: string; default?: string; required: boolean}
  | {type: 'duration'; description?: string; default?: string; required: boolean}
  | {type: 'secret'; description?: string; required: boolean}
  | {type: 'target'; description?: string; default?: string; component: ComponentType | ComponentType[]; required: boolean}

/** Whether a `target` param accepts a component of this type (`component:` names one kind or several, e.g. both Redis kinds). */
export function targetAccepts(spec: ParamSpec, type: string): boolean {
  return spec.type === 'target' && (Array.isArray(spec.component) ? (spec.component as string[]).includes(type) : spec.component === type)
}

/** The kinds a `target` param accepts, for messages: "redis" or "redis or managedredis". */
export function targetKinds(spec: ParamSpec): string {
  return spec.type === 'target' ? (Array.isArray(spec.component) ? spec.component.join(' or ') : spec.component) : ''
}

export type ParamType = ParamSpec['type']

export interface ActionCall {
  uses: string
  /** Raw inputs; strings may hold `${{ }}` expressions. */
  with: Record<string, unknown>
}

export interface StepSpec extends ActionCall {
  id: string
  /** Display name; defaults to the id. */
  name?: string
  needs: string[]
  /** Condition expression (the text inside `${{ }}` or a bare expression). */
  if?: string
  timeoutMs?: number
  retry?: {attempts: number; backoffMs: number}
  rollback?: ActionCall
  continueOnError: boolean
  /** Where the step starts in its file, for runtime messages. */
  location?: SourceLocation
  /** Run this step once per item (before expansion; `expandRunbook` turns it into one step per item). */
  forEach?: ForEachSpec
  /** Set on the steps `expandRunbook` made from a forEach step: which step and item it is. */
  instance?: ForEachInstance
  /**
   * A group (`steps:` instead of `uses:`; `uses` is then `group`) or a runbook call (`uses: runbook:<ref>`): one node
   * outside, a sub-DAG inside. See groups.ts for ids, scopes and failure semantics.
   */
  group?: GroupSpec
}

/** What `uses` holds for a group written with `steps:`. */
export const GROUP_USES = 'group'

export interface GroupSpec {
  /** Inner steps; their ids and needs are local to the group. */
  steps: StepSpec[]
  /** Run when the group ends (success, failure or interruption), before its outputs are read. */
  finally: StepSpec[]
  /** Expressions over the inner steps (and, for a plain group, what the group itself can read). */
  outputs: Record<string, unknown>
  /** A called runbook: its params come from the step's `with`, and its steps see only each other. */
  callee?: Runbook
}

/** `forEach:` of a step: every component of some types, or an expression yielding component keys. */
export type ForEachSpec = {components: ComponentType[]} | {expression: string}

/** What `item` holds in the expressions of an expanded step. */
export interface ForEachItem {
  /** The component key in the catalog environment. */
  key: string
  /** The Azure resource name. */
  name: string
  type: ComponentType
  resourceGroup: string
  /** The catalog entry. */
  component: Record<string, unknown>
}

export interface ForEachInstance {
  /** The forEach step's own id: `steps.<group>` reads this instance (from the same item) or the map of all. */
  group: string
  item: ForEachItem
}

export interface Runbook {
  name: string
  title: string
  description?: string
  kind: RunbookKind
  disruptive: boolean
  /** Declared `expectedDuration` in ms: how long the window must still be open when a disruptive run starts. */
  expectedDurationMs?: number
  params: Record<string, ParamSpec>
  steps: StepSpec[]
  finally: StepSpec[]
  /**
   * After expansion: each forEach step id → the component keys it was expanded over (in order). Expressions read
   * `steps.<id>.outputs` of such a step as a map itemKey → outputs.
   */
  forEachGroups?: Record<string, string[]>
  /** Run outputs (expressions), e.g. the measured objectives of a drill. */
  outputs: Record<string, unknown>
  /** Where it came from: a file path, or `builtin:<name>`. */
  source: string
  /** SHA-256 of the source text, recorded in the run summary. */
  sha256: string
}
