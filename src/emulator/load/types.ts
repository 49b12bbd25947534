/**
 * The load generator's contract: one module per engine (postgres.ts, redis.ts …), each exporting
 * `start<Engine>Load(target, {ratePerSecond, signal}) → {stop()}`, driven by the orchestrator in index.ts. The
 * emulator runs it so restores and snapshots have data to lose.
 */

/** Where a load module writes: an emulated server's local endpoint as the emulator itself reaches it. */
export interface LoadTarget {
  /** The emulated resource's name (for messages), e.g. pg-shop-orders. */
  name: string
  /** Host or unix-socket folder. */
  host: string
  port: number
  /** Database (PostgreSQL) or db index (Redis, as a string), when the engine has one. */
  database?: string
  user?: string
  password?: string
  /** Redis: the key the load keeps set to its newest write's time (the catalog probe's canary; default opsbook:canary). */
  canaryKey?: string
  /** Cosmos DB: the emulator's in-process data plane takes items through this instead of a connection. */
  writeItem?: (item: {id: string; [field: string]: unknown}) => void
}

export interface LoadOptions {
  /** Writes per second, spread evenly. */
  ratePerSecond: number
  /** Aborting it stops the load like stop() does. */
  signal?: AbortSignal
  /**
   * Where the server is now, for a load whose connection broke (the server restarted on another port, e.g. after an
   * in-place major version upgrade): the load connects again instead of stopping for good.
   */
  retarget?: () => Promise<LoadTarget>
}

export interface RunningLoad {
  /** Stop writing; resolves once the last write finished and the connection is closed. */
  stop(): Promise<void>
  /** Writes done so far. */
  readonly written: number
}

export type StartLoad = (target: LoadTarget, options: LoadOptions) => Promise<RunningLoad>

/** A server the orchestrator should load, resolved (and started) only when the load starts. */
export interface LoadSource {
  engine: 'postgres' | 'redis' | 'cosmos'
  name: string
  target(): Promise<LoadTarget>
}
