/**
 * Target leases: a run that changes a component holds a blob lease on `locks/<env>/<component>` in the evidence
 * container for as long as it runs, renewed in the background. A second run on the same component is refused with
 * a GuardError (exit 5) that names the holder. A process that dies stops renewing, so its lease expires by itself
 * after the lease duration; nothing has to be cleaned up by hand.
 */
import {hostname, userInfo} from 'node:os'
import type {BlobLeaseClient, BlockBlobClient, ContainerClient} from '@azure/storage-blob'
import {GuardError} from '../errors.js'

/** Blob that represents one component's lease. */
export function lockBlobName(environmentName: string, component: string): string {
  return `locks/${environmentName}/${component}`
}

export interface LeaseHolder {
  runId: string
  user: string
  host: string
  startedAt: string
}

export interface TargetLeaseOptions {
  container: ContainerClient
  environmentName: string
  component: string
  holder: {runId: string; user?: string; host?: string; startedAt?: string}
  /** Lease duration in seconds (Azure allows 15–60). Default 30: a dead process's lease is gone within 30 s. */
  durationSeconds?: number
  /** How often the lease is renewed. Default 10 s, a third of the duration, so two renewals may fail before it lapses. */
  renewEveryMs?: number
  /** Called once when a renewal finds the lease taken or expired (another run may now hold the component). */
  onLost?: (error: Error) => void
  /**
   * Called when a renewal fails for another reason (Blob unreachable), once until a renewal gets through again; the
   * lease may still be held. When renewals keep failing for the whole lease duration the lease has lapsed for certain
   * (another run may take it): it is lost.
   */
  onRenewError?: (error: Error) => void
  /**
   * Called once when releasing fails because Blob does not answer: the release is tried again until it gets through
   * or the lease lapses (`lapsesAt`), so a run that ends inside a Blob outage does not leave its targets leased.
   */
  onReleaseRetry?: (error: Error, lapsesAt: Date) => void
  /**
   * Whether a conflicting holder may be pushed out (its lease broken): only a holder provably dead, e.g. this run's
   * own crashed process on this host, never a live run. Default: never.
   */
  takeOver?: (holder: LeaseHolder | undefined) => boolean
}

export interface TargetLease {
  component: string
  blobName: string
  leaseId: string
  holder: LeaseHolder
  /** Successful renewals so far. */
  readonly renewals: number
  /** True once a renewal found the lease lost. */
  readonly lost: boolean
  /**
   * Whether this run can still count on the lease: not lost, and renewed within half its duration (a run that
   * cannot renew during a partition stops starting changes before the lease can lapse under it).
   */
  readonly secure: boolean
  /**
   * Whether this run can count on the lease right now, renewing it first when the last renewal is older than half
   * the lease duration (`secure` is false) but the lease is not known lost. The background renewal every
   * `renewEveryMs` can come late on a loaded machine — a late timer, a renewal answered after seconds — while the
   * lease itself (30 s) is held: refusing the change then failed a run that held all its leases (fault matrix
   * dr-drill × SIGKILL+resume at load 30: "the lease on component … is lost or could not be renewed" 11 s into a
   * run, another one aborted at its 10 s bound). A renewal that does not get through
   * now (a partition, the lease taken) leaves it false: the change waits at most one renewal's bound to be refused.
   */
  confirm(): Promise<boolean>
  /**
   * Stop renewing and release the lease; while Blob does not answer, tried again until the lease would have lapsed
   * anyway (at most the lease duration). Never throws: an unreleased lease expires by itself.
   */
  release(): Promise<void>
}

const METADATA_KEYS = {runId: 'runid', user: 'user', host: 'host', startedAt: 'startedat'} as const

/**
 * Acquire the lease on one component or throw GuardError `lease` (exit 5) naming the run that holds it.
 * Other failures (Blob unreachable, no permission) are thrown as they are: the caller decides whether to run unguarded.
 */
export async function acquireTargetLease(options: TargetLeaseOptions): Promise<TargetLease> {
  const durationSeconds = options.durationSeconds ?? 30
  const renewEveryMs = options.renewEveryMs ?? 10_000
  const blobName = lockBlobName(options.environmentName, options.component)
  const blob = options.container.getBlockBlobClient(blobName)
  const holder: LeaseHolder = {
    runId: options.holder.runId,
    user: options.holder.user ?? currentUser(),
    host: options.holder.host ?? hostname(),
    startedAt: options.holder.startedAt ?? new Date().toISOString(),
  }
  await ensureLockBlob(options.container, blob)
  const leaseClient = blob.getBlobLeaseClient()
  try {
    await leaseClient.acquireLease(durationSeconds)
  } catch (error) {
    if (statusOf(error) !== 409) throw error
    const refused = await leasedError(blob, options.environmentName, options.component)
    if (!options.takeOver?.((refused.details.holder as LeaseHolder | null) ?? undefined)) throw refused
    // Break Lease with period 0 ends the dead holder's lease at once; then acquire as usual.
    // https://learn.microsoft.com/en-us/rest/api/storageservices/lease-blob (x-ms-lease-break-period)
    await leaseClient.breakLease(0)
    await leaseClient.acquireLease(durationSeconds)
  }
  const leaseId = leaseClient.leaseId
  // The holder's identity goes into the blob's metadata so the next contender can name it.
  await blob.setMetadata(encodeHolder(holder), {conditions: {leaseId}})
  return startRenewing(leaseClient, blob, {...options, blobName, leaseId, holder, renewEveryMs, durationMs: durationSeconds * 1000})
}

/**
 * Acquire leases on several components (in a stable order so two runs cannot deadlock each other); on a conflict the
 * leases already taken are released and the GuardError is thrown.
 */
export async function acquireTargetLeases(options: Omit<TargetLeaseOptions, 'component'> & {components: string[]}): Promise<TargetLease[]> {
  const leases: TargetLease[] = []
  try {
    for (const component of [...new Set(options.components)].sort()) leases.push(await acquireTargetLease({...options, component}))
    return leases
  } catch (error) {
    await Promise.all(leases.map((lease) => lease.release()))
    throw error
  }
}

/**
 * Who holds a component's lease now, or undefined when it is free (never taken, released or expired). Bounded
 * (`timeoutMs`, default 5 s, like a renewal's): it is asked before each teardown step of a run that lost a lease —
 * during the partition that cost the lease, where the Blob client's own retries have no per-try timeout and a
 * connection whose packets are dropped waits for TCP's (minutes), outside the teardown deadline.
 */
export async function currentLeaseHolder(container: ContainerClient, environmentName: string, component: string, options: {timeoutMs?: number} = {}): Promise<LeaseHolder | undefined> {
  const blob = container.getBlockBlobClient(lockBlobName(environmentName, component))
  try {
    const properties = await blob.getProperties({abortSignal: AbortSignal.timeout(options.timeoutMs ?? 5000)})
    if (properties.leaseState !== 'leased') return undefined
    return decodeHolder(properties.metadata ?? {})
  } catch (error) {
    if (statusOf(error) === 404) return undefined
    throw error
  }
}

/**
 * The components whose lease `runId`'s process on `host` still holds: on resume, what a crashed process of the run
 * held is taken over and given back at the end, also when the resumed run no longer needs it (a promoted replica has
 * no primary any more, so the primary's component would stay leased until the lease lapsed — issue 16 fault matrix:
 * pg-promote-replica × SIGKILL+resume).
 */
export async function componentsHeldBy(container: ContainerClient, environmentName: string, holder: {runId: string; host: string}): Promise<string[]> {
  const prefix = lockBlobName(environmentName, '')
  const held: string[] = []
  for await (const blob of container.listBlobsFlat({prefix, includeMetadata: true})) {
    if (blob.properties.leaseState !== 'leased') continue
    const owner = decodeHolder(blob.metadata ?? {})
    if (owner?.runId === holder.runId && owner.host === holder.host) held.push(blob.name.slice(prefix.length))
  }
  return held
}

function startRenewing(
  leaseClient: BlobLeaseClient,
  blob: BlockBlobClient,
  options: TargetLeaseOptions & {blobName: string; leaseId: string; holder: LeaseHolder; renewEveryMs: number; durationMs: number},
): TargetLease {
  let renewals = 0
  let lost = false
  let renewedAt = Date.now()
  let released = false
  /** A renewal failure was reported since the last renewal that got through (onRenewError says so once). */
  let failing = false
  let renewing: Promise<void> = Promise.resolve()
  /** The renewal confirm() is waiting for, shared by the steps asking meanwhile. */
  let confirming: Promise<void> | undefined
  /** One renewal, after any still in flight (never two at once). */
  const renew = (): Promise<void> =>
    (renewing = renewing.then(async () => {
      if (released || lost) return
      try {
        // Bounded: a renewal hanging on a dead connection must not stop the next ones from noticing the partition. At
        // least 5 s (well inside the half-duration the lease stays `secure`): a 1 s bound gave up on every renewal of
        // a loaded machine's slow answers, and a run lost a lease it held (fault matrix: dr-drill × 500/503).
        await leaseClient.renewLease({abortSignal: AbortSignal.timeout(Math.max(5000, options.renewEveryMs))})
        renewals++
        renewedAt = Date.now()
        failing = false
      } catch (error) {
        const status = statusOf(error)
        // 409: the lease id no longer matches (it expired and someone else took it, or it was broken).
        if (status === 409 || status === 412) {
          lost = true
          clearInterval(timer)
          options.onLost?.(asError(error))
        } else if (Date.now() - renewedAt >= options.durationMs) {
          // A partition: no renewal got through for the whole lease duration, so Azure has let the lease go.
          lost = true
          clearInterval(timer)
          options.onLost?.(new Error(`could not renew the lease for ${Math.round((Date.now() - renewedAt) / 1000)} s (${asError(error).message}); it has lapsed`))
        } else if (!failing) {
          failing = true
          options.onRenewError?.(asError(error))
        }
      }
    }))
  const timer = setInterval(() => void renew(), options.renewEveryMs)
  // Renewal must not keep a finished CLI process alive.
  timer.unref()
  return {
    component: options.component,
    blobName: options.blobName,
    leaseId: options.leaseId,
    holder: options.holder,
    get renewals() {
      return renewals
    },
    get lost() {
      return lost
    },
    get secure() {
      return !lost && !released && Date.now() - renewedAt < options.durationMs / 2
    },
    async confirm() {
      if (this.secure) return true
      if (lost || released) return false
      // One renewal for every step asking at once (a drill starts several changes together), not one each in turn.
      confirming ??= renew().finally(() => (confirming = undefined))
      await confirming
      return this.secure
    },
    async release() {
      if (released) return
      released = true
      clearInterval(timer)
      await renewing
      if (lost) return
      // Blob not answering (a run that ends inside an outage: fault matrix × Blob down): tried again until it answers
      // or the lease lapses by itself, whichever comes first. Given up at once, the finished run's lease would refuse
      // every run on the component (exit 5, naming a run that is over) for up to the lease duration.
      let pause = 100
      for (let attempt = 1; ; attempt++) {
        try {
          // Clear the holder first so a contender never reads a finished run's identity.
          await blob.setMetadata({}, {conditions: {leaseId: options.leaseId}, abortSignal: AbortSignal.timeout(5000)})
          await leaseClient.releaseLease({abortSignal: AbortSignal.timeout(5000)})
          return
        } catch (error) {
          const status = statusOf(error)
          // 409/412: the lease is not ours any more (it lapsed, or was broken); another status: Blob refuses for good.
          if (status !== undefined && status < 500 && status !== 408 && status !== 429) return
          const lapsesAt = renewedAt + options.durationMs
          if (Date.now() + pause >= lapsesAt) return
          if (attempt === 1) options.onReleaseRetry?.(asError(error), new Date(lapsesAt))
          await new Promise((resolve) => setTimeout(resolve, pause))
          pause = Math.min(pause * 2, 2000)
        }
      }
    },
  }
}

async function ensureLockBlob(container: ContainerClient, blob: BlockBlobClient): Promise<void> {
  try {
    await blob.getProperties()
    return
  } catch (error) {
    if (statusOf(error) !== 404) throw error
  }
  try {
    await container.createIfNotExists()
  } catch {
    // No permission to create containers: the upload below says whether the container is usable.
  }
  try {
    await blob.upload('', 0, {conditions: {ifNoneMatch: '*'}})
  } catch (error) {
    // Someone else created it (or already leased it) between our check and upload: fine.
    if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error
  }
}

async function leasedError(blob: BlockBlobClient, environmentName: string, component: string): Promise<GuardError> {
  // The winner writes its identity right after acquiring; give it a moment if we read in between.
  let holder: LeaseHolder | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const properties = await blob.getProperties()
      holder = decodeHolder(properties.metadata ?? {})
    } catch {
      holder = undefined
    }
    if (holder) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const who = holder
    ? `run ${holder.runId} (started ${holder.startedAt} by ${holder.user} on ${holder.host})`
    : 'another run (its identity could not be read)'
  return new GuardError(
    'lease',
    `component "${component}" in environment "${environmentName}" is in use by ${who}`,
    {environment: environmentName, component, holder: holder ?? null},
    [
      holder ? `wait for run ${holder.runId} to finish (opsbook runs show ${holder.runId})` : 'wait for the other run to finish',
      'a lease left by a crashed run expires by itself within 60 seconds',
    ],
  )
}

function encodeHolder(holder: LeaseHolder): Record<string, string> {
  // Metadata travels as HTTP headers: percent-encode so non-ASCII user names survive.
  return {
    [METADATA_KEYS.runId]: encodeURIComponent(holder.runId),
    [METADATA_KEYS.user]: encodeURIComponent(holder.user),
    [METADATA_KEYS.host]: encodeURIComponent(holder.host),
    [METADATA_KEYS.startedAt]: encodeURIComponent(holder.startedAt),
  }
}

function decodeHolder(metadata: Record<string, string>): LeaseHolder | undefined {
  const lower = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]))
  const runId = lower[METADATA_KEYS.runId]
  if (!runId) return undefined
  const decode = (v: string | undefined) => (v === undefined ? 'unknown' : safeDecode(v))
  return {runId: decode(runId), user: decode(lower[METADATA_KEYS.user]), host: decode(lower[METADATA_KEYS.host]), startedAt: decode(lower[METADATA_KEYS.startedAt])}
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as {statusCode?: number})?.statusCode
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
