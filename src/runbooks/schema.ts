/**
 * The runbook YAML format as a zod schema: the one source of truth for validation, for `toRunbookModel()` and for
 * `schema/runbook.schema.json` (editors). Objects are strict: an unknown field is an error, not a silent no-op.
 * Checks that need more than one field (references, cycles, action inputs) live in `validate.ts`.
 */
import {z} from 'zod'
import {isoDuration} from '../catalog/schema.js'
import type {SourceLocation} from '../errors.js'
import {parseDuration} from '../support/duration.js'
import {GROUP_USES, type ActionCall, type ForEachSpec, type ParamSpec, type Runbook, type StepSpec} from './model.js'

// trafficmanager and frontdoor: the routers region-failover switches (a `target` param, dr-drill's failover leg).
export const COMPONENT_TYPES = ['postgres', 'redis', 'managedredis', 'webapp', 'storage', 'keyvault', 'sqldb', 'cosmosdb', 'servicebus', 'trafficmanager', 'frontdoor'] as const
export const RUNBOOK_KINDS = ['incident', 'drill', 'maintenance', 'checklist'] as const

/** Step ids and param names: usable as `steps.<id>` / `params.<name>` in expressions. */
export const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'expected an identifier: a letter or _, then letters, digits, _ or -')

const description = z.string().optional().describe('Shown by `runbooks show` and when prompting')
const required = z.boolean().optional().describe('Whether a value must be given; default: true unless there is a default')

export const paramSchema = z.discriminatedUnion('type', [
  z.strictObject({type: z.literal('string'), description, required, default: z.string().optional(), pattern: z.string().optional().describe('Regular expression the whole value must match')}),
  z.strictObject({type: z.literal('integer'), description, required, default: z.number().int().optional(), min: z.number().int().optional(), max: z.number().int().optional()}),
  z.strictObject({type: z.literal('boolean'), description, required, default: z.boolean().optional()}),
  z.strictObject({type: z.literal('enum'), description, required, default: z.string().optional(), values: z.array(z.string()).min(1).describe('The allowed values')}),
  z.strictObject({
    type: z.literal('datetime'),
    description,
    required,
    default: z.string().optional().describe('ISO-8601 date-time, or an expression such as ${{ subtractDuration(now(), \'PT15M\') }}'),
  }),
  z.strictObject({type: z.literal('duration'), description, required, default: z.string().optional().describe('ISO-8601 duration, e.g. PT15M')}),
  z.strictObject({type: z.literal('secret'), description, required}),
  z.strictObject({
    type: z.literal('target'),
    description,
    required,
    default: z.string().optional().describe('A component key of the environment'),
    component: z
      .union([z.enum(COMPONENT_TYPES), z.array(z.enum(COMPONENT_TYPES)).min(1)])
      .describe('Which kind of catalog component, or a list of kinds (e.g. [redis, managedredis]: a runbook that handles both)'),
  }),
])
export type ParamInput = z.input<typeof paramSchema>

const withSchema = z.record(z.string(), z.unknown()).describe('Inputs of the action; strings may hold ${{ }} expressions')

export const actionCallSchema = z.strictObject({
  uses: z.string().min(1).describe('The action, e.g. core.log or postgres.restore'),
  with: withSchema.optional(),
})

/** `uses: runbook:<name-or-path>` calls another runbook (see groups.ts). */
export const RUNBOOK_CALL_PREFIX = 'runbook:'

const stepFields = {
  name: z.string().optional().describe('Display name; defaults to the id'),
  uses: z
    .string()
    .min(1)
    .optional()
    .describe('The action (e.g. core.log, postgres.restore), or runbook:<name-or-path> to call another runbook with `with:` as its params. A step has either uses or steps'),
  with: withSchema.optional(),
  needs: z.union([identifier, z.array(identifier)]).optional().describe('Steps that must succeed first'),
  if: z.union([z.string(), z.boolean()]).optional().describe('Condition: a bare expression or ${{ }}'),
  timeout: isoDuration.optional().describe("Per-attempt time limit, ISO-8601 (e.g. PT10M). Without it a step is bounded by its action's default timeout (docs/actions.md; shown by `plan` and `runbooks show`)"),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(100).describe('Total attempts, including the first'),
      backoff: isoDuration.optional().describe('Pause between attempts, ISO-8601 (default PT0S)'),
    })
    .optional(),
  rollback: actionCallSchema.optional().describe('Undo action, run in reverse order when a later step fails'),
  continueOnError: z.boolean().optional().describe('A failure of this step does not fail the run'),
  forEach: z
    .union([
      z.string().min(1).describe('An expression yielding a list of component keys, e.g. ${{ params.components }}'),
      z.strictObject({
        components: z
          .union([z.enum(COMPONENT_TYPES), z.array(z.enum(COMPONENT_TYPES)).min(1)])
          .describe('Every component of this type (or these types) in the environment'),
      }),
    ])
    .optional()
    .describe('Run the step once per component, as steps <id>-<componentKey>; `item` holds the component'),
}

/** Fields of a group: a step that holds `steps:` (a sub-DAG) instead of `uses:`. */
const groupFields = {
  steps: z
    .lazy(() => z.array(stepSchema).min(1))
    .optional()
    .describe('A group: these steps run as one node (a sub-DAG with their own needs); instead of uses'),
  finally: z
    .lazy(() => z.array(finallyStepSchema))
    .optional()
    .describe("A group's steps that always run when the group ends, even after a failure"),
  outputs: z.record(z.string(), z.unknown()).optional().describe("A group's outputs: expressions over its inner steps (steps.<inner>.outputs…)"),
}

export interface StepInput {
  id: string
  name?: string
  uses?: string
  with?: Record<string, unknown>
  needs?: string | string[]
  if?: string | boolean
  timeout?: string
  retry?: {attempts: number; backoff?: string}
  rollback?: {uses: string; with?: Record<string, unknown>}
  continueOnError?: boolean
  forEach?: string | {components: (typeof COMPONENT_TYPES)[number] | Array<(typeof COMPONENT_TYPES)[number]>}
  steps?: StepInput[]
  finally?: FinallyStepInput[]
  outputs?: Record<string, unknown>
}
export type FinallyStepInput = Omit<StepInput, 'id'> & {id?: string}

// Named in the JSON Schema's $defs (recursive: a group's steps are steps).
export const stepSchema: z.ZodType<StepInput, StepInput> = z
  .strictObject({id: identifier.describe('Unique step id, used as steps.<id>'), ...stepFields, ...groupFields})
  .meta({id: 'step'})
export const finallyStepSchema: z.ZodType<FinallyStepInput, FinallyStepInput> = z
  .strictObject({id: identifier.optional().describe('Optional; defaults to finally-<n>'), ...stepFields, ...groupFields})
  .meta({id: 'finallyStep'})

export const runbookSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a kebab-case name such as pg-pitr')
      .describe('Unique name, kebab-case; how `opsbook run <name>` finds it'),
    title: z.string().min(1).describe('One line saying what it does'),
    description: z.string().optional(),
    kind: z.enum(RUNBOOK_KINDS),
    disruptive: z.boolean().optional().describe('In production it needs a maintenance window (default false)'),
    expectedDuration: isoDuration
      .optional()
      .describe('How long a run usually takes (ISO-8601): the production window guard lets a disruptive run start only when it ends inside the window; default the median of past runs'),
    params: z.record(identifier, paramSchema).optional(),
    steps: z.array(stepSchema).min(1),
    finally: z.array(finallyStepSchema).optional().describe('Steps that always run at the end, even after a failure'),
    outputs: z.record(z.string(), z.unknown()).optional().describe('Run outputs: expressions over params and steps'),
  })
  .describe('An opsbook runbook')
export type RunbookInput = z.input<typeof runbookSchema>

/** JSON Schema of the runbook format, for `schema/runbook.schema.json`. */
export function runbookJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(runbookSchema, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>),
    $id: 'https://opsbook.dev/schema/runbook.schema.json',
    title: 'opsbook runbook',
  }
}

/** The id a `finally` step gets when it has none: finally-1, finally-2, … (1-based position). */
export function finallyStepId(step: {id?: string}, index: number): string {
  return step.id ?? `finally-${index + 1}`
}

/** `needs` as a list. */
export function needsList(needs: string | string[] | undefined): string[] {
  if (needs === undefined) return []
  return typeof needs === 'string' ? [needs] : [...needs]
}

export interface ModelOptions {
  /** A file path, or `builtin:<name>`. */
  source: string
  sha256: string
  /** Where a YAML path starts, for StepSpec.location. */
  locate?: (path: Array<string | number>) => SourceLocation
  /** Loads the callee of `uses: runbook:<ref>` (validated); calls are left out of the model without it. */
  resolveCall?: (reference: string) => Runbook
}

/** The reference of a runbook call (`runbook:<ref>`), or undefined for an action. */
export function calledRunbook(uses: string | undefined): string | undefined {
  return uses?.startsWith(RUNBOOK_CALL_PREFIX) ? uses.slice(RUNBOOK_CALL_PREFIX.length).trim() : undefined
}

/** The engine's model of a schema-valid runbook: defaults applied, durations in ms, `needs` as lists. */
export function toRunbookModel(input: RunbookInput, options: ModelOptions): Runbook {
  const params: Record<string, ParamSpec> = {}
  for (const [name, param] of Object.entries(input.params ?? {})) params[name] = toParamSpec(param)
  return {
    name: input.name,
    title: input.title,
    ...(input.description === undefined ? {} : {description: input.description}),
    kind: input.kind,
    disruptive: input.disruptive ?? false,
    ...(input.expectedDuration === undefined ? {} : {expectedDurationMs: parseDuration(input.expectedDuration)!}),
    params,
    steps: input.steps.map((step, index) => toStepSpec(step, step.id, ['steps', index], options)),
    finally: (input.finally ?? []).map((step, index) => toStepSpec(step, finallyStepId(step, index), ['finally', index], options)),
    outputs: {...(input.outputs ?? {})},
    source: options.source,
    sha256: options.sha256,
  }
}

function toParamSpec(param: ParamInput): ParamSpec {
  const {required, ...rest} = param
  const hasDefault = 'default' in param && param.default !== undefined
  return {...rest, required: required ?? !hasDefault} as ParamSpec
}

function toStepSpec(step: FinallyStepInput, id: string, path: Array<string | number>, options: ModelOptions): StepSpec {
  const spec: StepSpec = {
    id,
    uses: step.uses ?? GROUP_USES,
    with: {...(step.with ?? {})},
    needs: needsList(step.needs),
    continueOnError: step.continueOnError ?? false,
  }
  if (step.name !== undefined) spec.name = step.name
  if (step.if !== undefined) spec.if = String(step.if)
  if (step.timeout !== undefined) spec.timeoutMs = parseDuration(step.timeout)!
  if (step.retry) spec.retry = {attempts: step.retry.attempts, backoffMs: parseDuration(step.retry.backoff ?? 'PT0S')!}
  if (step.rollback) spec.rollback = {uses: step.rollback.uses, with: {...(step.rollback.with ?? {})}} satisfies ActionCall
  if (step.forEach !== undefined) spec.forEach = toForEachSpec(step.forEach)
  if (options.locate) spec.location = options.locate(path)
  if (step.steps) {
    spec.group = {
      steps: step.steps.map((inner, index) => toStepSpec(inner, inner.id, [...path, 'steps', index], options)),
      finally: (step.finally ?? []).map((inner, index) => toStepSpec(inner, finallyStepId(inner, index), [...path, 'finally', index], options)),
      outputs: {...(step.outputs ?? {})},
    }
  }
  const reference = calledRunbook(step.uses)
  if (reference !== undefined && options.resolveCall) {
    const callee = options.resolveCall(reference)
    spec.group = {steps: callee.steps, finally: callee.finally, outputs: callee.outputs, callee}
  }
  return spec
}

function toForEachSpec(forEach: NonNullable<FinallyStepInput['forEach']>): ForEachSpec {
  if (typeof forEach === 'string') return {expression: forEach}
  return {components: typeof forEach.components === 'string' ? [forEach.components] : [...forEach.components]}
}
