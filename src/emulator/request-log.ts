/**
 * The emulator's request log: what tests, benches and `opsbook emulator` read to see which requests were served.
 * Bounded, so a long-lived emulator (the CLI's, the soak's) does not grow with every request: the newest
 * `limit` entries are kept (older ones are dropped in batches of a tenth of the limit, so a request costs no copy
 * of the whole log). Each entry carries `seq`, its 1-based number over the emulator's life, and `count` is the number of
 * requests ever logged: a cursor taken with `count` stays valid after entries before it were dropped
 * (`since(cursor)`), where an index into the retained entries would not.
 */
import type {RequestLogEntry} from './types.js'

/** Requests kept by default: far more than one test, cell or drill makes (a dr-drill makes a few hundred). */
export const REQUEST_LOG_LIMIT = 10_000

export class RequestLog {
  private entries: RequestLogEntry[] = []
  private logged = 0

  constructor(readonly limit = REQUEST_LOG_LIMIT) {}

  push(entry: Omit<RequestLogEntry, 'seq'>): void {
    this.entries.push({seq: ++this.logged, ...entry})
    if (this.entries.length > this.limit + Math.ceil(this.limit / 10)) this.entries = this.entries.slice(-this.limit)
  }

  /** Requests ever logged (retained or not): a cursor for `since`. */
  get count(): number {
    return this.logged
  }

  /** Copies of the retained entries logged after `cursor` (a `count` taken earlier; default: all retained), oldest first. */
  since(cursor = 0): RequestLogEntry[] {
    const retainedFrom = this.entries[0]?.seq ?? this.logged + 1
    return this.entries.slice(Math.max(0, cursor + 1 - retainedFrom)).map((e) => ({...e}))
  }

  /** Entries currently held (at most `limit` plus one batch). */
  get retained(): number {
    return this.entries.length
  }

  clear(): void {
    this.entries = []
  }
}
