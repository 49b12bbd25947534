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
