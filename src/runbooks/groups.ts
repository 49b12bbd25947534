/**
 * Step groups and runbook calls, as the engine, `plan`, the journal and the reporters see them.
 *
 * A group (`steps:` instead of `uses:`) and a call (`uses: runbook:<ref>`, whose steps are the callee's) are one node
 * outside and a sub-DAG inside. Inner steps get full ids `<group id>.<inner id>` — for a forEach group
 * `<group>-<item>.<inner>`, e.g. `pg-db1.restore` — so the journal, `--approve`, `resume` and the reports name
 * every step unambiguously; `.` cannot occur in a written id, so full ids never clash with written ones.
 *
 * Scopes: inside a group `steps.<inner>` means a step of the same group (instance), and the group's own scope stays
 * visible (outer steps, params, `item` of a forEach group). A called runbook sees only its own steps and its params
 * (the caller's `with:`), never the caller's steps or item.
 */
import type {Runbook, StepSpec} from './model.js'

/** The full id of a group's inner step. */
export function innerStepId(groupId: string, localId: string): string {
  return `${groupId}.${localId}`
}

/** One step in the tree, with its full id. */
export interface StepNode {
  /** Id and needs are full ids; an inner step of a forEach group carries the group's `instance` (its item). */
  spec: StepSpec
  /** Phase within its own list: a group's `finally` steps run when the group ends. */
  phase: 'main' | 'finally'
  /** Full id of the group the step belongs to. */
  parent?: string
  /** The id written in the runbook (or the callee). */
  localId: string
  /** 0 for the runbook's own steps. */
  depth: number
}

/** The inner steps of a group node, with full ids (and, except across a call, the group's item). */
export function innerSteps(group: StepSpec): {steps: StepSpec[]; finally: StepSpec[]} {
  if (!group.group) return {steps: [], finally: []}
  const inherit = group.group.callee ? undefined : group.instance
  const qualify = (step: StepSpec): StepSpec => ({
    ...step,
    id: innerStepId(group.id, step.id),
    needs: step.needs.map((need) => innerStepId(group.id, need)),
    ...(inherit && !step.instance ? {instance: inherit} : {}),
  })
  return {steps: group.group.steps.map(qualify), finally: group.group.finally.map(qualify)}
}

/** Every step of the (expanded) runbook in tree order: a group, then its steps, then its finally steps. */
export function flattenSteps(runbook: Pick<Runbook, 'steps' | 'finally'>): StepNode[] {
  const nodes: StepNode[] = []
  const visit = (step: StepSpec, phase: 'main' | 'finally', depth: number, localId: string, parent?: string) => {
    nodes.push({spec: step, phase, depth, localId, ...(parent ? {parent} : {})})
    if (!step.group) return
    const inner = innerSteps(step)
    step.group.steps.forEach((s, i) => visit(inner.steps[i]!, 'main', depth + 1, s.id, step.id))
    step.group.finally.forEach((s, i) => visit(inner.finally[i]!, 'finally', depth + 1, s.id, step.id))
  }
  for (const step of runbook.steps) visit(step, 'main', 0, step.id)
  for (const step of runbook.finally) visit(step, 'finally', 0, step.id)
  return nodes
}
