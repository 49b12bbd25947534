/**
 * `opsbook evidence verify <bundle|runId>`: is the evidence what was recorded?
 * - a bundle (zip or unpacked folder): every file against the manifest's SHA-256, no unlisted files, every journal's
 *   hash chain, and each journal's end against its summary;
 * - a run id: the local journal's chain and its summary, and that the blob copies are byte-identical to the local ones.
 * The first problem is named precisely (file, or journal line) so an auditor knows where to look.
 */
import {existsSync, statSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'
import {ValidationError} from '../errors.js'
import {describeError, findRunBlobPrefix, isRunBlobPrefix, readUploadState, runBlobPrefix, type EvidenceTarget} from './blob-sink.js'
import {BUNDLE_FORMAT, describeRun, MANIFEST_FILE, runsCsv, sha256, toRunRow, type BundleManifest, type EvidenceReport, type SummaryLike} from './export.js'
import {JournalText, runDir, verifyChain} from './journal.js'
import {appendedAfterEnd, checkAgainstSeal, summaryContradictions} from './seal.js'
import {redactedBytes} from './writer.js'

export interface VerifyCheck {
  /** What was checked: a bundle path, or `local journal`, `blob summary.json` … */
  subject: string
  ok: boolean
  /** Could not be checked (no evidence container, Blob unreachable); does not fail the verification. */
  skipped?: boolean
  message: string
}

export interface VerifyResult {
  kind: 'bundle' | 'run'
  target: string
  ok: boolean
  checks: VerifyCheck[]
  /** The first failed check, as one line. */
  firstProblem?: string
  /**
   * A run id only: what outside this machine confirms the record — `blob`: the evidence container holds the same
   * journal; `activity-log`: no such copy, but Azure's Activity Log witnessed at least one of its steps; `none`:
   * neither (unanchored — its files agree with each other, which whoever can write `.opsbook` can make them do).
   */
  anchor?: 'blob' | 'activity-log' | 'none'
  /** With `anchor: 'none'`: why nothing anchors it, in words a compliance lead can act on. */
  unanchored?: string
  /**
   * A bundle only: each run's anchor. With --env it is recomputed (`blob`: byte-identical to the evidence container's
   * copy; `activity-log`: not there, but witnessed; `none`: neither); without, it is what the manifest recorded at
   * export (`confirmed: false`), and absent where the manifest records none (a bundle exported before the field).
   * The bundle's `anchor` is its weakest run's; any `none`, or offline any run without one, makes it unanchored (exit 3).
   */
  runs?: Array<{runId: string; anchor?: 'blob' | 'activity-log' | 'none'; confirmed: boolean}>
}

/** Whether `arg` names a bundle on disk (a .zip file or a folder with a manifest) rather than a run id. */
export function isBundlePath(arg: string): boolean {
  if (!existsSync(arg)) return false
  const stats = statSync(arg)
  return stats.isDirectory() ? existsSync(join(arg, MANIFEST_FILE)) : true
}

/**
 * Verify an exported bundle: a zip file or a folder it was unpacked into. With `target` (the environment's evidence
 * container), every run's files in the bundle must also be byte-identical to the blob copies: a bundle edited
 * consistently (chain, seal and manifest recomputed) still differs from the evidence in Blob.
 */
export async function verifyBundle(path: string, options: {target?: EvidenceTarget; witness?: RunWitness} = {}): Promise<VerifyResult> {
  return verifyBundleFiles(path, await readBundleFiles(path), options)
}

/** Verify a bundle's files (path inside the bundle → bytes), as read from a zip or folder named `path`. */
export async function verifyBundleFiles(path: string, files: Map<string, Uint8Array>, options: {target?: EvidenceTarget; witness?: RunWitness} = {}): Promise<VerifyResult> {
  const checks: VerifyCheck[] = []
  const manifestBytes = files.get(MANIFEST_FILE)
  if (!manifestBytes) return result('bundle', path, [{subject: MANIFEST_FILE, ok: false, message: `${MANIFEST_FILE}: missing, so nothing in the bundle can be checked`}])
  let manifest: BundleManifest
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as BundleManifest
  } catch {
    return result('bundle', path, [{subject: MANIFEST_FILE, ok: false, message: `${MANIFEST_FILE}: not valid JSON`}])
  }
  if (manifest.format !== BUNDLE_FORMAT || !Array.isArray(manifest.files))
    return result('bundle', path, [{subject: MANIFEST_FILE, ok: false, message: `${MANIFEST_FILE}: not an opsbook evidence manifest (format ${String(manifest.format)})`}])

  const listed = new Map(manifest.files.map((f) => [f.path, f]))
  const manifestRuns = new Map((manifest.runs ?? []).map((r) => [r.runId, r]))
  // Each journal split and parsed once for every check that reads it (its chain, its run's files, runs.csv).
  const journals = new Map<string, JournalText>()
  for (const entry of manifest.files) {
    const bytes = files.get(entry.path)
    if (!bytes) {
      checks.push({subject: entry.path, ok: false, message: `${entry.path}: listed in the manifest but missing from the bundle`})
      continue
    }
    const journal = /^runs\/([^/]+)\/journal\.jsonl$/.exec(entry.path)
    if (journal) {
      // The chain names the changed line, which says more than a file hash; the seal binds the run's other files.
      // The manifest records the journal's real end (the seal line included), which nothing inside the run binds.
      const run = bundleRunFiles(files, journal[1])!
      const expected = manifestRuns.get(journal[1])?.journal
      const text = new JournalText(Buffer.from(bytes).toString('utf8'))
      journals.set(entry.path, text)
      const chain = verifyChain(text, {lastHash: expected?.lastHash, lines: expected?.lines})
      checks.push(
        chain.ok
          ? {subject: entry.path, ok: true, message: `${entry.path}: hash chain intact (${chain.lines} lines)`}
          : {subject: entry.path, ok: false, message: `${entry.path} line ${chain.firstBad!.line}: ${chain.firstBad!.reason}`},
      )
      if (run.summary) checks.push(...runFileChecks(`bundle runs/${journal[1]}/`, run, text))
    }
    const actual = sha256(bytes)
    checks.push(
      actual === entry.sha256 && bytes.length === entry.bytes
        ? {subject: entry.path, ok: true, message: `${entry.path}: matches the manifest`}
        : {subject: entry.path, ok: false, message: `${entry.path}: SHA-256 ${actual.slice(0, 16)}… does not match the manifest's ${String(entry.sha256).slice(0, 16)}… (changed after export)`},
    )
  }
  for (const path of [...files.keys()].sort())
    if (path !== MANIFEST_FILE && !listed.has(path)) checks.push({subject: path, ok: false, message: `${path}: not listed in the manifest (added after export)`})
  const csv = runsCsvCheck(files, manifest, journals)
  if (csv) checks.push(csv)
  const inBlob = new Set<string>()
  if (options.target) {
    const {registeredManifestCheck} = await import('./bundle-registry.js')
    checks.push(await registeredManifestCheck(options.target, manifestBytes))
    const compared = await compareBundleWithBlob(files, options.target)
    checks.push(...compared.checks)
    for (const runId of compared.identical) inBlob.add(runId)
  }
  // Each run's ARM writes against the Activity Log (with --env: the environment's subscription).
  const witnessed = new Set<string>()
  if (options.witness)
    for (const entry of manifest.files) {
      const runId = /^runs\/([^/]+)\/journal\.jsonl$/.exec(entry.path)?.[1]
      const bytes = runId ? files.get(entry.path) : undefined
      if (bytes) {
        const report = await journalWitness(Buffer.from(bytes).toString('utf8'), options.witness)
        if (report.witnessed > 0) witnessed.add(runId!)
        for (const check of report.checks) checks.push({...check, subject: `bundle runs/${runId}/ ${check.subject}`, message: `bundle runs/${runId}/ ${check.message}`})
      }
    }
  return {...result('bundle', path, checks), ...bundleAnchors(manifest, {target: options.target, inBlob, witnessed})}
}

/**
 * The anchor of each run of a bundle, as `evidence verify <runId>` gives one run's: with --env, recomputed (in the
 * evidence container byte for byte, else witnessed by the Activity Log, else none); without, the manifest's record of
 * export time, said to be unconfirmed. A run the manifest records no anchor for (a bundle exported before the field)
 * has nothing saying it ever left the exporting machine: offline that bundle is unanchored too (exit 3), with its own
 * reason; --env recomputes it.
 */
function bundleAnchors(manifest: BundleManifest, found: {target?: EvidenceTarget; inBlob: Set<string>; witnessed: Set<string>}): Pick<VerifyResult, 'anchor' | 'unanchored' | 'runs'> {
  const recorded = new Map((manifest.runs ?? []).map((r) => [r.runId, r.anchor]))
  const runs = [...recorded.keys()].map((runId) => {
    if (found.target) return {runId, anchor: found.inBlob.has(runId) ? 'blob' : found.witnessed.has(runId) ? 'activity-log' : 'none', confirmed: true} as const
    const anchor = recorded.get(runId)
    return {runId, ...(anchor === 'blob' || anchor === 'none' ? {anchor} : {}), confirmed: false}
  })
  if (runs.length === 0) return {runs}
  const none = runs.filter((r) => r.anchor === 'none')
  // Offline only (with --env every run has an anchor): what the manifest is silent about.
  const silent = runs.filter((r) => r.anchor === undefined)
  if (none.length === 0 && silent.length === 0) return {runs, anchor: runs.some((r) => r.anchor === 'activity-log') ? 'activity-log' : 'blob'}
  const reasons: string[] = []
  if (none.length > 0) {
    const where = found.target
      ? `${none.length === 1 ? 'it is' : 'they are'} not in ${found.target.account}/${found.target.container} and no step of ${none.length === 1 ? 'it' : 'them'} is witnessed by Azure's Activity Log`
      : `the manifest records that ${none.length === 1 ? 'it' : 'they'} had not reached the evidence container when the bundle was exported`
    reasons.push(
      `${none.length} run(s) of the bundle unanchored (${none.map((r) => r.runId).join(', ')}): ${where} — their files agree with each other and the manifest, which whoever made the bundle can make them do; nothing outside this machine confirms the record (\`opsbook evidence sync\` them, export again and verify with --env)`,
    )
  }
  if (silent.length > 0)
    reasons.push(
      `${silent.length} run(s) of the bundle carry no anchor (${silent.map((r) => r.runId).join(', ')}): the manifest does not record whether ${silent.length === 1 ? 'it' : 'they'} had reached the evidence container — a bundle exported before opsbook recorded each run's anchor — so nothing in it says anything outside the exporting machine ever held ${silent.length === 1 ? 'it' : 'them'}; verify it with --env <env> (against the evidence container and Azure's Activity Log) or export it again`,
    )
  return {runs, anchor: 'none', unanchored: reasons.join('; ')}
}

/**
 * runs.csv regenerated from the bundle's own journals and summaries: an auditor's spreadsheet that says "passed" for
 * a run the evidence records as failed is caught even when the manifest was recomputed. (report.html and report.md
 * also need the catalog's objectives to regenerate; they are covered by the manifest.)
 */
function runsCsvCheck(files: Map<string, Uint8Array>, manifest: BundleManifest, journals: ReadonlyMap<string, JournalText>): VerifyCheck | undefined {
  const csv = files.get('runs.csv')
  if (!csv) return undefined
  const rows = (manifest.runs ?? []).map((r) => {
    const path = `runs/${r.runId}/journal.jsonl`
    const journal = files.get(path)
    const text = journals.get(path) ?? new JournalText(journal ? Buffer.from(journal).toString('utf8') : '')
    const summary = files.get(`runs/${r.runId}/summary.json`)
    return toRunRow(describeRun(r.runId, manifest.source, text.text, summary ? Buffer.from(summary).toString('utf8') : undefined), text)
  })
  const expected = redactedBytes({text: runsCsv({runs: rows} as EvidenceReport)})
  return expected.equals(Buffer.from(csv))
    ? {subject: 'runs.csv', ok: true, message: 'runs.csv: matches the runs in the bundle'}
    : {subject: 'runs.csv', ok: false, message: 'runs.csv: does not match what the bundle\'s journals and summaries record (changed after export)'}
}

function bundleRunFiles(files: Map<string, Uint8Array>, runId: string): RunFiles | undefined {
  const journal = files.get(`runs/${runId}/journal.jsonl`)
  if (!journal) return undefined
  return {
    journal,
    summary: files.get(`runs/${runId}/summary.json`),
    report: files.get(`runs/${runId}/report.md`),
    request: files.get(`runs/${runId}/request.json`),
  }
}

/** Each run of the bundle against its blob copy, file by file; a run missing from Blob is a failure. `identical`: the runs whose copies match. */
async function compareBundleWithBlob(files: Map<string, Uint8Array>, target: EvidenceTarget): Promise<{checks: VerifyCheck[]; identical: string[]}> {
  const runIds = [...new Set([...files.keys()].map((p) => /^runs\/([^/]+)\/journal\.jsonl$/.exec(p)?.[1]).filter((id): id is string => Boolean(id)))].sort()
  const checks: VerifyCheck[] = []
  const identical: string[] = []
  for (const runId of runIds) {
    const subject = `bundle runs/${runId}/ vs blob`
    let remote: RunFiles | undefined
    try {
      const prefix = await findRunBlobPrefix(target, runId)
      remote = prefix ? await downloadRun(target, prefix) : undefined
    } catch (error) {
      checks.push({subject, ok: true, skipped: true, message: `bundle runs/${runId}/: blob copy not checked: ${describeError(error)}`})
      continue
    }
    if (!remote) {
      checks.push({subject, ok: false, message: `bundle runs/${runId}/: no such run in ${target.account}/${target.container}`})
      continue
    }
    const bundled = bundleRunFiles(files, runId)!
    const differing: string[] = []
    for (const name of ['journal', 'summary', 'report', 'request'] as const) {
      const a = bundled[name]
      const b = remote[name]
      // Bundles from before report.md and request.json were exported do not hold them.
      if (a === undefined && (name === 'report' || name === 'request')) continue
      const file = name === 'journal' ? 'journal.jsonl' : name === 'summary' ? 'summary.json' : name === 'report' ? 'report.md' : 'request.json'
      if (a === undefined || b === undefined) {
        if (a !== b) differing.push(`bundle runs/${runId}/${file}: ${a === undefined ? 'missing from the bundle' : 'missing from Blob'}`)
      } else if (!Buffer.from(a).equals(b))
        differing.push(`bundle runs/${runId}/${file}: differs from the blob copy (bundle SHA-256 ${sha256(a).slice(0, 16)}…, blob ${sha256(b).slice(0, 16)}…)`)
    }
    if (differing.length === 0) {
      checks.push({subject, ok: true, message: `bundle runs/${runId}/: byte-identical to the blob copy`})
      identical.push(runId)
    }
    for (const message of differing) checks.push({subject, ok: false, message})
  }
  return {checks, identical}
}

/**
 * Verify one run: its local journal and summary, and (when `target` is given) that the evidence container holds
 * byte-identical copies. Without a local copy, the blob copy is verified on its own.
 */
export async function verifyRun(runId: string, options: {root: string; target?: EvidenceTarget; witness?: RunWitness}): Promise<VerifyResult> {
  const {verified: copies, blob} = await verifyRunCopies(runId, options)
  const witness = options.witness ? await witnessRunChecks(runId, options.root, options.target, options.witness) : undefined
  const verified = witness ? result('run', runId, [...copies.checks, ...witness.checks]) : copies
  // Issue 16: a run that never reached Blob, forged consistently (chain, seal and summary recomputed), verified when
  // no Activity Log witness was at hand. Its files agreeing proves nothing then: it is said to be unanchored.
  if (blob === true) return {...verified, anchor: 'blob'}
  if (witness && witness.witnessed > 0) return {...verified, anchor: 'activity-log'}
  const why = witness ? 'no step of it is witnessed by Azure\'s Activity Log' : 'the Activity Log witness was not asked (--witness none)'
  return {
    ...verified,
    anchor: 'none',
    unanchored: `run ${runId} is unanchored: ${blob}, and ${why} — its files agree with each other, which whoever can write .opsbook can make them do; nothing outside this machine confirms the record (upload it with \`opsbook evidence sync\` and verify again)`,
  }
}

/** How verify asks Azure's Activity Log to witness a run's ARM writes (evidence/witness.ts). */
export interface RunWitness {
  mode: 'auto' | 'activity-log'
  reader: import('./witness.js').ActivityLogReader
  /** Each action's relation to ARM writes, by name (the action registry's `armWrites`). */
  armWrites?: ReadonlyMap<string, import('./witness.js').ArmWriteMode>
  now?: Date
}

/** The witness's checks for a run (its local journal, or the blob copy when there is no local one), and how many steps it witnessed. */
async function witnessRunChecks(runId: string, root: string, target: EvidenceTarget | undefined, witness: RunWitness): Promise<{checks: VerifyCheck[]; witnessed: number}> {
  const path = join(runDir(root, runId), 'journal.jsonl')
  let journal: string | undefined = existsSync(path) ? await readFile(path, 'utf8') : undefined
  if (journal === undefined && target) {
    try {
      const prefix = await findRunBlobPrefix(target, runId)
      journal = prefix ? (await downloadRun(target, prefix))?.journal.toString('utf8') : undefined
    } catch (error) {
      return {checks: [{subject: 'activity log', ok: witness.mode !== 'activity-log', skipped: true, message: `activity log: not checked, the journal could not be read: ${describeError(error)}`}], witnessed: 0}
    }
  }
  if (journal === undefined) return {checks: [], witnessed: 0}
  return journalWitness(journal, witness)
}

/** The witness's checks for one journal's text, and how many of its steps the Activity Log witnessed. */
async function journalWitness(journal: string, witness: RunWitness): Promise<{checks: VerifyCheck[]; witnessed: number}> {
  const {witnessJournal, witnessChecks} = await import('./witness.js')
  try {
    const report = await witnessJournal(journal, witness.reader, {now: witness.now, armWrites: witness.armWrites})
    return {checks: witnessChecks(report, witness.mode), witnessed: report.steps.filter((s) => s.verdict === 'witnessed').length}
  } catch (error) {
    // A journal line that is not JSON is already named by the chain check.
    return {checks: [{subject: 'activity log', ok: witness.mode !== 'activity-log', skipped: true, message: `activity log: not checked: ${describeError(error)}`}], witnessed: 0}
  }
}

/**
 * The run's local and blob copies. `blob`: true when the evidence container holds the run's whole journal (the local
 * one, byte for byte, or the blob copy verified on its own); else why it does not, as a phrase.
 */
async function verifyRunCopies(runId: string, options: {root: string; target?: EvidenceTarget}): Promise<{verified: VerifyResult; blob: true | string}> {
  // runDir refuses an id with `..` or a separator: `verify ../../x` verified a folder outside runs/ as a run.
  const dir = runDir(options.root, runId)
  const checks: VerifyCheck[] = []
  const local = existsSync(join(dir, 'journal.jsonl'))
    ? {
        journal: await readFile(join(dir, 'journal.jsonl')),
        summary: existsSync(join(dir, 'summary.json')) ? await readFile(join(dir, 'summary.json')) : undefined,
        report: existsSync(join(dir, 'report.md')) ? await readFile(join(dir, 'report.md')) : undefined,
        request: existsSync(join(dir, 'request.json')) ? await readFile(join(dir, 'request.json')) : undefined,
      }
    : undefined
  if (local) checks.push(...runFileChecks('local', local))

  if (!options.target) {
    if (!local) throw new ValidationError([{code: 'run-not-found', message: `no run ${runId} under ${dir}, and no evidence container to look in`}])
    checks.push({subject: 'blob copy', ok: true, skipped: true, message: 'blob copy not checked: the environment has no evidence container configured'})
    return {verified: result('run', runId, checks), blob: 'it has no blob copy (no evidence container to look in)'}
  }
  let prefix: string | undefined
  let remote: {journal: Buffer; summary?: Buffer; report?: Buffer; request?: Buffer} | undefined
  try {
    // The run's own folder, never the one upload-state.json names: that file is local and anyone can edit it (a
    // forgery synced to another folder it named was compared with itself and verified).
    const state = local ? await readUploadState(dir) : undefined
    if (state?.blobPrefix !== undefined && state.account === options.target.account && state.container === options.target.container && !isRunBlobPrefix(state.blobPrefix, runId))
      checks.push({
        subject: 'upload state',
        ok: false,
        message: `upload-state.json: names ${state.blobPrefix} as the run's blob folder, not ${runBlobPrefix(runId)} — the file was edited; the run is compared with its own folder`,
      })
    prefix = await findRunBlobPrefix(options.target, runId)
    if (prefix) remote = await downloadRun(options.target, prefix)
  } catch (error) {
    if (!local) throw error
    checks.push({subject: 'blob copy', ok: true, skipped: true, message: `blob copy not checked: ${describeError(error)}`})
    return {verified: result('run', runId, checks), blob: `its blob copy could not be read (${describeError(error)})`}
  }
  if (!remote) {
    if (!local) throw new ValidationError([{code: 'run-not-found', message: `no run ${runId} locally (${dir}) or in ${options.target.account}/${options.target.container}`}])
    const pending = (await readUploadState(dir))?.pending
    checks.push({
      subject: 'blob journal',
      ok: Boolean(pending),
      message: pending
        ? `blob copy not uploaded yet (pending; run \`opsbook evidence sync\`)`
        : `blob journal: missing from ${options.target.account}/${options.target.container} (expected under ${prefix ?? 'runs/'})`,
    })
    return {verified: result('run', runId, checks), blob: `it never reached ${options.target.account}/${options.target.container} (no blob copy${pending ? '; upload pending' : ''})`}
  }
  const pending = local ? Boolean((await readUploadState(dir))?.pending) : false
  const whole = !local || Buffer.from(local.journal).equals(remote.journal)
  return {
    verified: result('run', runId, [...checks, ...blobCopyChecks(remote, local, pending)]),
    blob: whole ? true : `its blob copy holds ${remote.journal.length} of the local journal's ${local.journal.length} bytes (the rest never reached Blob)`,
  }
}

/**
 * The blob copy of a run on its own (chain, seal, summary against events) and, with a local copy, file by file
 * against it. `pending`: the local run still has bytes to upload, so a shorter blob journal is not a problem.
 */
export function blobCopyChecks(remote: RunFiles, local: RunFiles | undefined, pending: boolean): VerifyCheck[] {
  const checks = runFileChecks('blob', remote)
  if (local) {
    const buffer = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes))
    checks.push(compareJournals(Buffer.from(local.journal), Buffer.from(remote.journal), pending))
    checks.push(compareFile('summary.json', buffer(local.summary), buffer(remote.summary), pending))
    checks.push(compareFile('report.md', buffer(local.report), buffer(remote.report), pending))
    checks.push(compareFile('request.json', buffer(local.request), buffer(remote.request), pending))
  }
  return checks
}

/** A run's files as found in one place (local folder, Blob, a bundle). */
export interface RunFiles {
  journal: Uint8Array
  summary?: Uint8Array
  report?: Uint8Array
  request?: Uint8Array
}

/**
 * The checks one copy of a run must pass on its own: the journal's chain (and its end against summary.json), the
 * seal's hashes of summary.json, report.md and request.json, and summary.json against what the journal's events say.
 * `where` names the copy in every message: `local`, `blob`, `bundle runs/<id>/`.
 */
export function runFileChecks(where: string, files: RunFiles, journal?: JournalText): VerifyCheck[] {
  const prefix = where.endsWith('/') ? where : `${where} `
  const subject = `${prefix}journal.jsonl`
  // `journal`: files.journal already split (a bundle's, whose chain was checked against the manifest with it).
  const journalText = journal ?? new JournalText(Buffer.from(files.journal).toString('utf8'))
  const summary = files.summary ? parseSummary(files.summary) : undefined
  const chain = verifyChain(journalText, {lastHash: summary?.journal?.lastHash, lines: summary?.journal?.lines})
  const checks: VerifyCheck[] = [
    chain.ok
      ? {subject, ok: true, message: `${subject}: hash chain intact (${chain.lines} lines${summary?.journal ? ', matches summary.json' : ''})`}
      : {subject, ok: false, message: `${subject} line ${chain.firstBad!.line}: ${chain.firstBad!.reason}`},
  ]
  const problems = [
    ...appendedAfterEnd(prefix, journalText),
    ...checkAgainstSeal(prefix, journalText, {'summary.json': files.summary, 'report.md': files.report, 'request.json': files.request}),
    ...(files.summary ? summaryContradictions(prefix, journalText, files.summary) : []),
  ]
  for (const message of problems) checks.push({subject: `${prefix}evidence`, ok: false, message})
  if (problems.length === 0 && files.summary)
    checks.push({subject: `${prefix}evidence`, ok: true, message: `${prefix}summary.json, report.md, request.json: match the journal's seal and events`})
  return checks
}

function compareJournals(local: Buffer, remote: Buffer, pending: boolean): VerifyCheck {
  const subject = 'blob journal vs local'
  if (local.equals(remote)) return {subject, ok: true, message: `blob and local journals are byte-identical (${local.length} bytes)`}
  if (remote.length < local.length && local.subarray(0, remote.length).equals(remote) && pending)
    return {subject, ok: true, message: `blob journal holds the first ${remote.length} of ${local.length} bytes, identical; the rest is pending (\`opsbook evidence sync\`)`}
  const a = local.toString('utf8').split('\n')
  const b = remote.toString('utf8').split('\n')
  let line = 0
  while (line < Math.min(a.length, b.length) && a[line] === b[line]) line++
  const where = line < Math.min(a.length, b.length) ? `line ${line + 1} differs` : a.length > b.length ? `the blob copy ends after line ${line}` : `the blob copy has more lines from line ${line + 1}`
  return {subject, ok: false, message: `journal.jsonl: blob and local copies differ: ${where}`}
}

function compareFile(name: string, local: Buffer | undefined, remote: Buffer | undefined, pending: boolean): VerifyCheck {
  const subject = `blob ${name} vs local`
  if (!local && !remote) return {subject, ok: true, skipped: true, message: `${name}: not present in either copy`}
  if (local && !remote) return {subject, ok: pending, message: pending ? `${name}: not uploaded yet (pending)` : `${name}: missing from Blob`}
  if (!local && remote) return {subject, ok: false, message: `${name}: in Blob but missing locally`}
  if (local!.equals(remote!)) return {subject, ok: true, message: `${name}: blob and local copies are byte-identical`}
  return {subject, ok: false, message: `${name}: blob and local copies differ (local SHA-256 ${sha256(local!).slice(0, 16)}…, blob ${sha256(remote!).slice(0, 16)}…)`}
}

async function downloadRun(target: EvidenceTarget, prefix: string): Promise<(RunFiles & {journal: Buffer; summary?: Buffer; report?: Buffer; request?: Buffer}) | undefined> {
  const get = async (name: string) => {
    try {
      return await target.client.getBlobClient(`${prefix}${name}`).downloadToBuffer()
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return undefined
      throw error
    }
  }
  const journal = await get('journal.jsonl')
  if (!journal) return undefined
  return {journal, summary: await get('summary.json'), report: await get('report.md'), request: await get('request.json')}
}

async function readBundleFiles(path: string): Promise<Map<string, Uint8Array>> {
  if (!existsSync(path)) throw new ValidationError([{code: 'bundle-not-found', message: `no bundle at ${path}`}])
  const files = new Map<string, Uint8Array>()
  if (statSync(path).isDirectory()) {
    for (const file of await walk(path)) files.set(relative(path, file).split(sep).join('/'), await readFile(file))
    return files
  }
  const bytes = await readFile(path)
  const {unzipSync} = await import('fflate')
  let entries: Record<string, Uint8Array>
  try {
    entries = unzipSync(bytes)
  } catch (error) {
    throw new ValidationError([{code: 'bundle-unreadable', message: `${path} is not a readable zip bundle: ${describeError(error)}`}])
  }
  for (const [name, content] of Object.entries(entries)) if (!name.endsWith('/')) files.set(name, content)
  return files
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(path)))
    else out.push(path)
  }
  return out
}

function parseSummary(bytes: Uint8Array): SummaryLike | undefined {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as SummaryLike
  } catch {
    return undefined
  }
}

function result(kind: 'bundle' | 'run', target: string, checks: VerifyCheck[]): VerifyResult {
  const failed = checks.find((c) => !c.ok)
  return {kind, target, ok: !failed, checks, firstProblem: failed?.message}
}

/** The environment a local run belongs to (from its summary or first journal line), if this machine has it. */
export async function environmentOfRun(root: string, runId: string): Promise<string | undefined> {
  const dir = runDir(root, runId)
  if (!existsSync(join(dir, 'journal.jsonl'))) return undefined
  const {describeRun} = await import('./export.js')
  const summaryPath = join(dir, 'summary.json')
  return describeRun(runId, 'local', await readFile(join(dir, 'journal.jsonl'), 'utf8'), existsSync(summaryPath) ? await readFile(summaryPath, 'utf8') : undefined).environment
}
