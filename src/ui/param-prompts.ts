/**
 * Prompts for params the user did not pass, on a TTY only (the caller checks). Targets are a select of the
 * environment's components of the right type; datetimes and durations are validated as typed.
 */
import type {Environment} from '../catalog/schema.js'
import {InterruptedError} from '../errors.js'
import {targetAccepts, type ParamSpec} from '../runbooks/model.js'
import {coerceParam} from '../runbooks/params.js'

/** Ask for each missing param; returns raw strings, coerced later exactly like --param values. */
export async function promptForParams(
  missing: Array<{name: string; spec: ParamSpec; suggestions?: Array<{value: string; label: string}>}>,
  environment: Environment,
): Promise<Record<string, string>> {
  const prompts = await import('@inquirer/prompts')
  const context = {output: process.stderr}
  const answers: Record<string, string> = {}
  try {
    for (const {name, spec, suggestions} of missing) {
      // The same check as --param, so an answer the prompt accepts is never rejected by the run afterwards.
      const validate = (value: string) => {
        const result = coerceParam(name, spec, value, environment)
        return 'error' in result ? result.error : true
      }
      const message = spec.description ? `${name} — ${spec.description}` : name
      switch (spec.type) {
        case 'target': {
          const choices = Object.entries(environment.components)
            .filter(([, c]) => targetAccepts(spec, c.type))
            .map(([key, c]) => ({name: `${key} (${c.name})`, value: key}))
          answers[name] = await prompts.select({message, choices}, context)
          break
        }
        case 'enum':
          answers[name] = await prompts.select({message, choices: spec.values.map((v) => ({name: v, value: v}))}, context)
          break
        case 'boolean':
          answers[name] = String(await prompts.confirm({message, default: false}, context))
          break
        case 'secret':
          answers[name] = await prompts.password({message, mask: '*', validate}, context)
          break
        case 'datetime':
          answers[name] = await prompts.input(
            {
              message: `${message} (UTC, e.g. ${new Date(Date.now() - 3600_000).toISOString().slice(0, 16)}Z, or now)`,
              validate,
            },
            context,
          )
          break
        case 'duration':
          answers[name] = await prompts.input({message: `${message} (ISO-8601, e.g. PT30M)`, validate}, context)
          break
        case 'integer':
          answers[name] = await prompts.input({message, validate}, context)
          break
        default:
          // The values the catalog knows (the replicas a promotion can take) are named, but none is the default: a
          // promotion cannot be undone, so Enter alone must not choose one.
          answers[name] = await prompts.input(
            suggestions?.length
              ? {message: `${message} (the catalog's: ${suggestions.map((s) => s.label).join(', ')})`, validate: (value: string) => (value.trim() === '' ? 'type one of the names above' : validate(value))}
              : {message, validate},
            context,
          )
      }
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') throw new InterruptedError('prompt cancelled')
    throw error
  }
  return answers
}
