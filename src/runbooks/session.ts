/**
 * The part of a run after every check has passed: connect (Azure or the emulator), open the journal, stream
 * evidence, hold target leases, execute, write the summary, release everything. Heavy modules (Azure SDK through
 * the services, Azurite through the emulator) load here, lazily, only when a run really starts.
 */
import {flattenSteps} from './groups.js'
import {join} from 'node:path'
import type {ApprovalDecision} from '../actions/types.js'
import {findAction} from '../actions/registry.js'
import type {AzureServices, EmulatorEndpoints} from '../azure/clients.js'
import {inspectOperation} from '../azure/inspect.js'
import {Journal, newRunId, runDir, JOURNAL_FILE, SUMMARY_FILE} from '../evidence/journal.js'
import type {Redactor} from '../evidence/redact.js'
import {startRunRedactor, writeRedactedFile} from '../evidence/writer.js'
import {acquireRunLock, releaseRunLock} from '../evidence/run-lock.js'
import type {RunEvent} from './events.js'
import type {GuardOverride} from './guards.js'
import {currentHost, exitCodeForOutcome, opsbookRoot, type PreparedRun, type RunOptions, type RunResult} from './runner.js'
import {componentResourceId} from '../catalog/resource-id.js'

/** What `opsbook resume` needs to start the same run again; written next to the journal. No secret values. */
export interface RunRequest {
  runId: string
  runbook: string
  runbookSha256: string
  environment: string
  catalogFile: string
  /**
   * SHA-256 of the catalog file the run started with, and the Azure resource (ARM id) each component the run acts on
   * resolved to in it: a resume elsewhere with another catalog is refused when a component now names another resource.
   * Absent in runs started before these were recorded.
   */
  catalogSha256?: string
  targets?: Record<string, string>
  params: Record<string, string>
  /** --component, when the run acted on some components only. */
  components?: string[]
  startedAt: string
}
export const REQUEST_FILE = 'request.json'

interface SessionInput {
  prepared: PreparedRun
  options: RunOptions
  overrides: GuardOverride[]
  confirmations: ApprovalDecision[]
  components: string[]
  user: string
  now: () => Date
  /** --no-lease / --no-evidence with the reason: the run may start without them (journaled as overrides). */
  optOuts: GuardOverride[]
}

export async function startRunSession(input: SessionInput): Promise<RunResult> {
  const {runbook, environment, envName, loaded, params} = input.prepared
  const warnings: string[] = []
  // The run's redactor, made the process's output redactor: the CLI's stdout/stderr then hide what this run's journal hides.
  const redactor = startRunRedactor()
  for (const [name, spec] of Object.entries(runbook.params)) if (spec.type === 'secret' && typeof params[name] === 'string') redactor.add(params[name] as string)
  const warn = (message: string) => {
    const safe = redactor.redactText(message)
    warnings.push(safe)
    process.stderr.write(`warning: ${safe}\n`)
  }

  // Connect: the embedded emulator for `cloud: emulator`, else Azure through DefaultAzureCredential.
  let emulator: (EmulatorEndpoints & {stop(): Promise<void>}) | undefined
  if (environment.cloud === 'emulator') {
    const {connectOrStartEmulator} = await import('../emulator/connect.js')
    emulator = await connectOrStartEmulator({cwd: loaded.dir, catalogFile: loaded.file, environmentName: envName, environment})
  }
  try {
    return await runConnected(input, emulator, warn, warnings, redactor)
  } finally {
    // Also when a guard or a journal error stops the run: an in-process emulator would keep the process alive.
    await emulator?.stop()
  }
}

async function runConnected(
  input: SessionInput,
  emulator: EmulatorEndpoints | undefined,
  warn: (message: string) => void,
  warnings: string[],
  redactor: Redactor,
): Promise<RunResult> {
  const {prepared, options, overrides, confirmations, user, now} = input
  const {runbook, environment, envName, loaded, params} = prepared
  const root = opsbookRoot({cwd: options.cwd, catalogFlag: loaded.file})
  // What the resume printed before the run (the catalog check): part of this run's warnings and of its record.
  const resumeWarnings = (options.resume?.warnings ?? []).map((w) => redactor.redactText(w))
  warnings.push(...resumeWarnings)
  const {createAzureServices} = await import('../azure/clients.js')
  const services: AzureServices = createAzureServices({environment, environmentName: envName, emulator})

  // Preflight, before any lease, journal or step: signed in, the subscription and groups readable, every permission
  // of the plan held (exit 6 with the missing ones named). A run that cannot work never starts.
  // A runbook of core actions with no evidence container touches nothing in Azure: it needs no identity either.
  const [{checkIdentityAndScopes, checkAccess, missingPermissionsError}, {buildPlan, planTargets, knownTargets, targetContext}] = await Promise.all([import('./preflight.js'), import('./plan.js')])
  const startedAt = now()
  const runId = options.resume?.runId ?? newRunId(runbook.name, startedAt)
  const changes = flattenSteps(runbook).some((n) => findAction(n.spec.uses)?.changes)
  // A replica promoted changes its primary's component: that lease is held too (a replica outside the catalog is read through ARM).
  const {replicaOwners} = await import('./replica-owners.js')
  const owners = changes && environment.evidence ? await replicaOwners(runbook, params, environment, services, options.signal) : []
  const components = [...new Set([...input.components, ...owners])]
  const dir = runDir(root, runId)
  // A refusal from here to the journal leaves a refused-run record and nothing else (refused.ts).
  const refused = (error: unknown) => recordRefusal(error, {input, dir, runId, changes, services, redactor, at: now()})
  const plan = buildPlan(prepared, {now: now()})
  // Who runs this segment, as ARM will name the caller in the Activity Log: journaled in run.started for the witness.
  let segmentPrincipal: {caller: string; objectId?: string} | undefined
  if (plan.permissions.length > 0) {
    try {
      const identity = await checkIdentityAndScopes(services, environment, options.signal)
      if (identity.display !== 'unknown') segmentPrincipal = {caller: identity.display, ...(identity.objectId ? {objectId: identity.objectId} : {})}
      const access = await checkAccess(plan, environment, services, options.signal)
      if (access.missing.length > 0) throw missingPermissionsError(access, runbook.name)
    } catch (error) {
      throw await refused(error)
    }
  }
  // Resuming: the run's lock first (a second live resumer is refused, exit 5). Holding it proves any earlier process
  // of this run on this host dead, so leases that process held may be taken over — and only those.
  if (options.resume) await acquireRunLock(dir, runId)
  // Leases next: a component held by another run is a guard (exit 5) and nothing of this run may exist yet.
  // A lease lost mid-run is journaled the moment it is noticed (once the journal is open).
  let journalLoss: (message: string, data?: Record<string, unknown>) => void = () => undefined
  const onLost = (message: string) => {
    warn(message)
    journalLoss(message)
  }
  const onRenewTrouble = (message: string) => {
    warn(message)
    journalLoss(message, {leaseRenewal: 'failing', warning: true})
  }
  const evidence = await openEvidence({
    root,
    runId,
    envName,
    environment,
    services,
    startedAt,
    changes,
    components,
    user,
    warn,
    onLost,
    onRenewTrouble,
    takeOverOwn: options.resume !== undefined,
    renewEveryMs: options.leaseRenewEveryMs,
    optOuts: input.optOuts,
  }).catch(async (error: unknown) => {
    throw await refused(error)
  })
  let journal: Journal
  try {
    journal = options.resume ? await Journal.open(runId, root, {redactor, now}) : await Journal.create(runId, {root, redactor, now})
  } catch (error) {
    // Nothing ran: give the targets back at once rather than leave them leased until the leases lapse.
    for (const lease of evidence.leases) await lease.release().catch(() => undefined)
    if (options.resume) await releaseRunLock(dir).catch(() => undefined)
    throw error
  }
  await evidence.attach(dir, () => journal.durableBytes)
  if (!options.resume) {
    const request: RunRequest = {
      runId,
      runbook: runbook.source.startsWith('builtin:') ? runbook.name : runbook.source,
      runbookSha256: runbook.sha256,
      environment: envName,
      catalogFile: loaded.file,
      catalogSha256: loaded.sha256,
      targets: Object.fromEntries(components.flatMap((key) => {
        const id = componentResourceId(environment, key)
        return id ? [[key, id]] : []
      })),
      params: withoutSecrets(prepared.rawParams, runbook),
      ...(prepared.selectedComponents ? {components: prepared.selectedComponents} : {}),
      startedAt: startedAt.toISOString(),
    }
    // Raw params are what the user typed: a key or SAS URL in a string param is redacted like everywhere else.
    await writeRedactedFile(join(dir, REQUEST_FILE), {json: request}, {redactor})
  }

  const {notifier, problems: notificationProblems} = await openNotifier(environment, runId, envName, services, redactor)
  for (const problem of notificationProblems) warn(problem)
  // The journal writes (and fsyncs) first; reporters, the blob sink and notifications see an event only after that.
  // The engine records through `record` (appends of one tick share an fsync) and delivers through `deliver`.
  const deliver = async (event: RunEvent) => {
    evidence.sink?.listener(event)
    notifier?.listener(event)
    for (const listener of options.listeners) await listener(event)
    if (event.type === 'run.started') for (const note of notesAfterStart(overrides, confirmations, evidence.store, notificationProblems, resumeWarnings)) await emit(note)
  }
  const record = (event: RunEvent) => journal.append(event)
  const emit = async (event: RunEvent) => {
    await record(event)
    await deliver(event)
  }
  let runFinished = false
  journalLoss = (message, data = {leaseLost: true, warning: true}) => {
    if (!runFinished) void emit({type: 'run.note', message, data}).catch(() => undefined)
  }

  const {executeRunbook} = await import('./engine.js')
  const preApproved: Record<string, ApprovalDecision> = {}
  for (const {spec: step} of flattenSteps(runbook)) {
    const decision = options.preApproved(step.id)
    if (decision) preApproved[step.id] = decision
  }
  let outcome
  try {
    outcome = await executeRunbook({
      runbook,
      runId,
      params,
      environmentName: envName,
      environment,
      catalog: loaded.catalog,
      approver: options.approver,
      services,
      signal: options.signal,
      teardownSignal: options.teardownSignal,
      emit: deliver,
      record,
      redactor,
      now,
      preApproved,
      resume: options.resume
        ? {completed: options.resume.completed, inFlight: options.resume.inFlight, interrupted: options.resume.interrupted, calls: options.resume.calls, from: options.resume.runId, ...(options.resume.rollbacks ? {rollbacks: options.resume.rollbacks, failure: options.resume.failure} : {})}
        : undefined,
      teardownTimeoutMs: options.teardownTimeoutMs,
      planTargets: planTargets(plan, environment, runId),
      stepTargets: (uses, inputs) => knownTargets(uses, inputs, targetContext(environment, envName, runId)),
      ...(segmentPrincipal ? {principal: segmentPrincipal} : {}),
      changeGuard: () => leaseLost(evidence.leases),
      teardownGuard: () => leaseTaken(evidence, envName, runId),
      inspectOperation: (operation) => inspectOperation(services, operation),
    })
  } finally {
    runFinished = true
    for (const lease of evidence.leases) await lease.release().catch(() => undefined)
  }

  if (notifier) {
    notifier.finished({status: outcome.status, leftBehind: outcome.leftBehind, durationMs: outcome.durationMs, objectives: outcome.outputs.objectives})
    // A notification that did not get through is part of the record, never a reason to fail the run.
    for (const failure of await notifier.drain())
      await emit({type: 'run.note', message: `notification not delivered: ${failure.kind} (${failure.target}) ${failure.event}: ${failure.error} after ${failure.attempts} attempt(s)`, data: {notification: failure}})
  }

  // Only a run that used Azure (a plan with permissions, or the evidence container) has a principal worth naming:
  // asking for one otherwise walks DefaultAzureCredential's chain (IMDS probes, `az`, `azd`), seconds for nothing.
  const principal =
    plan.permissions.length > 0 || environment.evidence
      ? await services
          .principal()
          .then((p) => p.display)
          .catch(() => undefined)
      : undefined
  const [{buildSummary}, {completeRun}] = await Promise.all([import('../evidence/summary.js'), import('../evidence/seal.js')])
  // A resumed run: the whole run's start, elapsed time and active time, from the journal (evidence/segments.ts).
  const times = await resumedTimes(journal.path)
  const summary = buildSummary({
    runId,
    runbook,
    catalog: {file: loaded.file, sha256: loaded.sha256},
    environmentName: envName,
    environment,
    outcome,
    params,
    journal: {lines: journal.lines, lastHash: journal.hash},
    approvals: confirmations.map((d) => ({step: 'run', approved: d.approved, by: d.by, via: d.via, at: startedAt.toISOString()})),
    overrides: overrides.map(({kind, reason, by, at}) => ({kind, reason, by, at})),
    azurePrincipal: principal,
    resumedFrom: options.resume?.runId,
    ...(times ? {times} : {}),
    extra: {...(evidence.store ? {evidenceStore: evidence.store} : {}), ...(resumeWarnings.length > 0 ? {resumeWarnings} : {})},
    redactor,
  })
  // summary.json and report.md, then the seal binding them (and request.json) to the chain as its last line.
  try {
    await completeRun(journal, summary, redactor)
  } catch (error) {
    // A run whose journal failed mid-run says why in its result (`error`: free space, then resume); the summary and
    // seal failing after it is that same cause, and `evidence sync` is not what continues such a run.
    if (outcome.error?.code !== 'journal-failed')
      warn(`summary or seal not written (${describeWriteError(error)}); the journal is intact — free space, then \`opsbook evidence sync\``)
    await journal.close().catch(() => undefined)
  }
  if (evidence.sink) {
    await evidence.sink.finish({timeoutMs: 20_000}).catch((error: Error) => warn(`evidence upload incomplete (${error.message}); \`opsbook evidence sync\` will finish it`))
  }

  return {
    runId,
    runbook: runbook.name,
    environment: envName,
    status: outcome.status,
    exitCode: exitCodeForOutcome(outcome),
    startedAt: times?.startedAt ?? outcome.startedAt,
    finishedAt: times?.finishedAt ?? outcome.finishedAt,
    durationMs: times?.durationMs ?? outcome.durationMs,
    ...(times ? {activeMs: times.activeMs, segments: times.segments} : {}),
    steps: outcome.steps.map((s) => ({id: s.id, uses: s.uses, phase: s.phase, status: s.status, durationMs: s.durationMs, attempts: s.attempts, error: s.error?.message})),
    outputs: outcome.outputs,
    objectives: outcome.outputs.objectives,
    leftBehind: outcome.leftBehind,
    overrides,
    ...(outcome.error?.code === 'journal-failed' ? {error: outcome.error.message} : {}),
    journal: join(dir, JOURNAL_FILE),
    summary: join(dir, SUMMARY_FILE),
    warnings,
  }
}

/**
 * A refusal before anything started (exit 6: not ready; exit 5: a lease or evidence guard) is recorded as a refused
 * run: who, what, why, when — no journal, no lease, nothing changed. Resumed runs already have their record. Returns
 * the error to rethrow; a record that cannot be written never hides the refusal.
 */
async function recordRefusal(
  error: unknown,
  context: {input: SessionInput; dir: string; runId: string; changes: boolean; services: AzureServices; redactor: Redactor; at: Date},
): Promise<unknown> {
  const {input, dir, runId, changes, services, redactor, at} = context
  const {OpsbookError, ExitCode} = await import('../errors.js')
  if (input.options.resume || !(error instanceof OpsbookError) || (error.exitCode !== ExitCode.notReady && error.exitCode !== ExitCode.blocked)) return error
  const {runbook, envName} = input.prepared
  // The principal when there is one (a missing permission); none when no credential could be obtained.
  const principal = error.code === 'no-credentials' ? undefined : await services.identity().then((i) => `${i.display} (${i.source})`, () => undefined)
  const json = error.toJSON()
  const {writeRefusedRun} = await import('../evidence/refused.js')
  await writeRefusedRun(
    dir,
    {
      runId,
      status: 'refused',
      runbook: runbook.name,
      environment: envName,
      refusedAt: at.toISOString(),
      who: {osUser: input.user, host: currentHost(), ...(principal ? {azurePrincipal: principal} : {})},
      request: {params: withoutSecrets(input.prepared.rawParams, runbook), components: input.components, changes},
      why: {exitCode: error.exitCode, code: error.code, message: error.message, suggestions: error.suggestions, ...('details' in json ? {details: json.details} : {})},
      changed: false,
      leasesTaken: 0,
    },
    redactor,
  ).catch((writeError: Error) => process.stderr.write(`warning: the refused-run record was not written (${describeWriteError(writeError)})\n`))
  return error
}

/**
 * The run's notifier, its webhook URLs resolved from their references (environment, OPSBOOK_PARAM_*, Key Vault) and
 * added to the redactor before anything is written. References that cannot be resolved come back as problems: a
 * warning the session journals; the run goes on without that target.
 */
async function openNotifier(environment: PreparedRun['environment'], runId: string, envName: string, services: AzureServices, redactor: Redactor) {
  if (environment.notifications.length === 0) return {problems: []}
  const [{Notifier, resolveTargets}, {readKeyVaultSecret}] = await Promise.all([import('../evidence/notify.js'), import('../azure/keyvault.js')])
  const {resolved, problems} = await resolveTargets(environment.notifications, {readSecret: (ref) => readKeyVaultSecret(services, ref)})
  for (const target of resolved) redactor.add(target.address)
  const notifier = new Notifier({targets: resolved, runId, environment: envName, redact: (value) => redactor.redact(value)})
  return {notifier: notifier.enabled ? notifier : undefined, problems}
}

/**
 * Why a lease no longer protects this run, if one does not. A lease whose background renewal is merely late (a loaded
 * machine) is renewed here first (TargetLease.confirm): only one that cannot be renewed refuses the change.
 */
async function leaseLost(leases: OpenedEvidence['leases']): Promise<string | undefined> {
  if (leases.every((lease) => lease.secure)) return undefined
  const confirmed = await Promise.all(leases.map((lease) => lease.confirm()))
  const lost = leases.find((_, i) => !confirmed[i])
  if (!lost) return undefined
  return `the lease on component "${lost.component}" is lost or could not be renewed (another run may hold it now): no more changes are started`
}

/**
 * Whether another run now holds a target whose lease this run lost: then a rollback or `finally` step that changes
 * something would change it beside that run. A lost lease nobody took (a partition that healed) does not stop teardown.
 */
async function leaseTaken(evidence: OpenedEvidence, envName: string, runId: string): Promise<string | undefined> {
  if (!evidence.container) return undefined
  const {currentLeaseHolder} = await import('../evidence/lease.js')
  for (const lease of evidence.leases.filter((l) => l.lost)) {
    const holder = await currentLeaseHolder(evidence.container, envName, lease.component).catch(() => undefined)
    if (holder && holder.runId !== runId)
      return `this run lost its lease on component "${lease.component}" and run ${holder.runId} holds it now; a teardown change is not made beside another run — \`opsbook resume ${runId}\` runs it once run ${holder.runId} has finished`
  }
  return undefined
}

/** The whole run's times when it was resumed (several segments), read from its journal; undefined otherwise. */
async function resumedTimes(journalPath: string): Promise<import('../evidence/segments.js').RunTimes | undefined> {
  const [{readFile}, {journalTextLines, resumedRunTimes}] = await Promise.all([import('node:fs/promises'), import('../evidence/segments.js')])
  try {
    return resumedRunTimes(journalTextLines(await readFile(journalPath, 'utf8')))
  } catch {
    return undefined
  }
}

function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk is full (${code})`
  return (error as Error)?.message ?? String(error)
}

function withoutSecrets(raw: Record<string, string>, runbook: PreparedRun['runbook']): Record<string, string> {
  return Object.fromEntries(Object.entries(raw).filter(([name]) => runbook.params[name]?.type !== 'secret'))
}

function notesAfterStart(overrides: GuardOverride[], confirmations: ApprovalDecision[], store: OpenedEvidence['store'], notificationProblems: string[], resumeWarnings: string[]): RunEvent[] {
  const notes: RunEvent[] = []
  // Printed live by `opsbook resume` before the run started (`warning: true`: reporters do not print them again).
  for (const warning of resumeWarnings) notes.push({type: 'run.note', message: `warning: ${warning}`, data: {resumeCatalog: true, warning: true}})
  for (const problem of notificationProblems) notes.push({type: 'run.note', message: `warning: ${problem}`, data: {notification: 'unresolved', warning: true}})
  for (const c of confirmations) notes.push({type: 'approval.decided', step: 'run', decision: c})
  for (const o of overrides) notes.push({type: 'run.note', message: `override: ${o.detail}; reason: ${o.reason}`, data: {override: o}})
  if (store)
    notes.push({
      type: 'run.note',
      message: `evidence → ${store.account}/${store.container}${store.error ? ' (properties unreadable)' : store.mutable ? ' (mutable)' : ' (immutable)'}`,
      data: {evidenceStore: store},
    })
  return notes
}

interface OpenedEvidence {
  sink?: import('../evidence/blob-sink.js').BlobSink
  leases: import('../evidence/lease.js').TargetLease[]
  /** The evidence container the leases live in (when there is one). */
  container?: import('@azure/storage-blob').ContainerClient
  store?: import('../evidence/blob-sink.js').EvidenceStoreInfo
  /** Start streaming once the run's folder exists; only the journal's fsynced bytes are copied. */
  attach(runDirectory: string, durableBytes: () => number): Promise<void>
}

/**
 * Evidence upload and target leases. Blob trouble never stops a run (the local journal is the record), except that
 * a component leased by another run is a guard (exit 5), raised before anything changes.
 */
async function openEvidence(options: {
  root: string
  runId: string
  envName: string
  environment: PreparedRun['environment']
  services: AzureServices
  startedAt: Date
  changes: boolean
  components: string[]
  user: string
  warn: (message: string) => void
  /** A lease was lost (taken by another run, or not renewable for its whole duration). */
  onLost: (message: string) => void
  /** A renewal failed (Blob unreachable) and the lease may still be held: said once until a renewal gets through. */
  onRenewTrouble: (message: string) => void
  renewEveryMs?: number
  /** Resuming with the run's lock held: leases this run's dead process held on this host may be broken. */
  takeOverOwn: boolean
  optOuts: GuardOverride[]
}): Promise<OpenedEvidence> {
  const {root, runId, envName, environment, services, startedAt, warn} = options
  const none: OpenedEvidence = {leases: [], attach: async () => undefined}
  if (!environment.evidence) return none
  const [{openEvidenceTarget, BlobSink, describeError}, {syncPending}, {GuardError}] = await Promise.all([
    import('../evidence/blob-sink.js'),
    import('../evidence/sync.js'),
    import('../errors.js'),
  ])
  // Production runs that change something fail closed: no evidence store or no leases is a guard (exit 5) unless the
  // user opted out with a reason (--no-evidence / --no-lease, journaled). Elsewhere a warning, and the run goes on.
  const strict = environment.production && options.changes
  const optedOut = (kind: 'no-lease' | 'no-evidence') => options.optOuts.some((o) => o.kind === kind)
  const withoutStore = (why: string) => {
    if (strict && !optedOut('no-evidence'))
      throw new GuardError(
        'evidence',
        `evidence container ${environment.evidence!.storageAccount}/${environment.evidence!.container} is unavailable (${why}); a production run that changes resources needs its evidence store; nothing was started`,
        {account: environment.evidence!.storageAccount, container: environment.evidence!.container},
        ['fix access to the container (`opsbook doctor --env <env>` shows what is missing)', 'or run without it: --no-evidence --reason "…" (journaled)'],
      )
    warn(`evidence container unavailable (${why}); the local journal is kept and \`opsbook evidence sync\` uploads it later${options.changes && options.components.length > 0 ? '; no target leases either (they live in that container)' : ''}`)
    return none
  }
  let target
  try {
    target = await openEvidenceTarget(environment, services)
    if (!target) return none
    // Reachable and there (or created): the same call Blob's own Get Container Properties answers; writability is the
    // RBAC preflight's (blobs/write held on the account's group).
    if (!(await target.client.exists({abortSignal: AbortSignal.timeout(10_000)}))) await target.client.createIfNotExists({abortSignal: AbortSignal.timeout(10_000)})
  } catch (error) {
    return withoutStore(describeError(error))
  }
  // Earlier runs' pending uploads go first, in the background of this run's start.
  void syncPending(root, {name: envName, environment}, services, {target, timeoutMs: 10_000}).catch(() => undefined)

  const leases: OpenedEvidence['leases'] = []
  const {acquireTargetLeases, componentsHeldBy} = await import('../evidence/lease.js')
  const host = currentHost()
  // Resuming: every lease the run's dead process still holds is taken over (and given back at the end), also one
  // this segment would not take by itself.
  const heldBefore = options.takeOverOwn && options.changes ? await componentsHeldBy(target.client, envName, {runId, host}).catch(() => []) : []
  const components = [...new Set([...options.components, ...heldBefore])]
  if (options.changes && components.length > 0) {
    try {
      leases.push(
        ...(await acquireTargetLeases({
          container: target.client,
          environmentName: envName,
          components,
          holder: {runId, user: options.user, host, startedAt: startedAt.toISOString()},
          renewEveryMs: options.renewEveryMs,
          onLost: (error) => options.onLost(`lost the lease on a target: ${error.message}; no more changes will be started`),
          // Said when it happens (once per lease until a renewal gets through), not only when a change is refused: a
          // partition from Blob was silent until then (issue 16 item 8).
          onRenewError: (error) => options.onRenewTrouble(`could not renew a target lease (${describeError(error)}); if no renewal gets through within 15 s of the last one, no more changes are started`),
          onReleaseRetry: (error, lapsesAt) => warn(`could not give back a target lease (${describeError(error)}); trying again until Blob answers or the lease lapses at ${lapsesAt.toISOString()}`),
          // Every lease our own dead process held (not only the first): provably dead, since we hold the run's lock.
          takeOver: (holder) => options.takeOverOwn && holder?.runId === runId && holder.host === host,
        })),
      )
    } catch (error) {
      if (error instanceof GuardError) throw error
      if (strict && !optedOut('no-lease'))
        throw new GuardError(
          'lease',
          `could not take the target leases (${describeError(error)}); a production run that changes resources needs them so no other run changes the same targets; nothing was started`,
          {components},
          ['fix access to the evidence container, where the leases live', 'or run without them: --no-lease --reason "…" (journaled)'],
        )
      warn(`could not take target leases (${describeError(error)}); running without protection against concurrent runs`)
    }
  }
  const {describeEvidenceStore} = await import('../evidence/blob-sink.js')
  const store = await describeEvidenceStore(environment, services)
  if (store?.warning) warn(store.warning)
  const opened: OpenedEvidence = {
    leases,
    container: target.client,
    store,
    async attach(_runDirectory, durableBytes) {
      try {
        opened.sink = await BlobSink.open({root, runId, environmentName: envName, startedAt, target, warn, durableBytes})
      } catch (error) {
        warn(`evidence upload disabled for this run (${describeError(error)}); \`opsbook evidence sync\` uploads it later`)
      }
    },
  }
  return opened
}
