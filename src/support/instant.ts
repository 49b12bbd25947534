/** An instant given on the command line (ISO-8601), or now. Anything else is invalid input (exit 2). */
import {ValidationError} from '../errors.js'

export function parseInstant(value: string | undefined, flag: string, now: () => Date = () => new Date()): Date {
  if (value === undefined) return now()
  const at = new Date(value)
  if (Number.isNaN(at.getTime())) throw new ValidationError([{code: 'invalid-flag', message: `${flag} "${value}" is not an ISO-8601 date-time, e.g. 2026-11-29T02:30:00Z`}])
  return at
}
