/**
 * A journal's text split once (journal.ts re-exports this; it is a module of its own so that evidence/segments.ts,
 * which the CLI loads to show a run, reads it without loading the journal writer).
 */
import {createHash} from 'node:crypto'

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex')
}

/** What JournalText.json gives for a line that is not JSON. */
export const NOT_JSON: unique symbol = Symbol('not JSON')

/**
 * A journal's text, split once, for the checks that read it: each line's JSON and SHA-256 are computed the first
 * time one of them asks and kept. The checks of one verification — the chain (against the manifest, then against
 * summary.json), lines appended after the end, the seal, the summary's fields, runs.csv's row — each split and
 * parsed the whole text again, and the chain hashed every line again (evidence/verify.ts: thrice per journal of a
 * bundle). Functions that take journal text take this too; what they find is the same, as they read the same lines.
 * The JSON values are shared between them: read only.
 */
export class JournalText {
  /** `text.split('\n')`: a text ending in a newline ends in ''. */
  readonly parts: string[]
  private readonly parsed: unknown[] = []
  private readonly hashes: string[] = []

  constructor(readonly text: string) {
    this.parts = text.split('\n')
  }

  /** The lines (a last empty part, after the final newline, is not one). */
  get lineCount(): number {
    return this.parts.at(-1) === '' ? this.parts.length - 1 : this.parts.length
  }

  /** JSON.parse of part `index`, or NOT_JSON. */
  json(index: number): unknown {
    if (index in this.parsed) return this.parsed[index]
    let value: unknown
    try {
      value = JSON.parse(this.parts[index]!)
    } catch {
      value = NOT_JSON
    }
    this.parsed[index] = value
    return value
  }

  /** SHA-256 hex of part `index` (the chain's hash of that line). */
  hash(index: number): string {
    return (this.hashes[index] ??= sha256Hex(this.parts[index]!))
  }
}

/** Journal text as a JournalText (the same one when it is one already). */
export function journalText(journal: string | JournalText): JournalText {
  return typeof journal === 'string' ? new JournalText(journal) : journal
}
