/**
 * Param `pattern`s are matched with RE2 semantics (re2js, a pure-JavaScript port of RE2): matching takes time linear in
 * the input whatever the pattern, so a pattern such as `(a+)+b` cannot hang validation the way a backtracking engine
 * does (ReDoS). RE2 has no backreferences or lookaround; such a pattern is invalid input, said so at validate time.
 */
import {createRequire} from 'node:module'

type Re2js = typeof import('re2js')
let re2js: Re2js | undefined
/** Loaded on first use (the library is ~1 MB; most runbooks have no pattern), synchronously through its CommonJS build. */
function engine(): Re2js {
  re2js ??= createRequire(import.meta.url)('re2js') as Re2js
  return re2js
}

export interface ParamPattern {
  /** Whether the whole value matches. */
  matches(value: string): boolean
}

export function compileParamPattern(pattern: string): {pattern: ParamPattern} | {error: string} {
  try {
    const compiled = engine().RE2JS.compile(pattern)
    return {pattern: {matches: (value: string) => compiled.matches(value)}}
  } catch (error) {
    return {error: `${(error as Error).message} (patterns use RE2 syntax: no backreferences or lookaround)`}
  }
}

/**
 * A `/regex/flags` an action searches text with (http.check's expectBody), in RE2 semantics: linear in the text. The
 * JavaScript engine backtracks: `/^(a+)+$/` against 41 bytes held the event loop for minutes, and with it the
 * check's timeout, the step's timeout and Ctrl-C. Flags i, m and s are RE2's; g, y, d and u change nothing for a
 * yes/no search. Throws (naming RE2) for what RE2 cannot do: backreferences, lookaround.
 */
export function compileSearchPattern(source: string, flags = ''): {test(text: string): boolean} {
  const {RE2JS} = engine()
  let bits = 0
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE
  if (flags.includes('m')) bits |= RE2JS.MULTILINE
  if (flags.includes('s')) bits |= RE2JS.DOTALL
  try {
    const compiled = RE2JS.compile(source, bits)
    return {test: (text: string) => compiled.test(text)}
  } catch (error) {
    throw new Error(`/${source}/${flags} is not a valid regular expression: ${(error as Error).message} (patterns use RE2 syntax: no backreferences or lookaround)`)
  }
}
