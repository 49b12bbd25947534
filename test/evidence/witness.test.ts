/**
 * Issue 16: a forged "resumed segment" (correct hashes, written by the journal writer itself) is caught by
 * `evidence verify` with Azure's Activity Log as witness (src/evidence/witness.ts), and a real drill is witnessed.
 * The drill runs against the emulator, whose ARM records every write it accepts in its Activity Log.
 */
import {randomUUID} from 'node:crypto'
import {unzipSync} from 'fflate'
import {cpSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {listActions} from '../../src/actions/registry.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {Journal} from '../../src/evidence/journal.js'
import {completeRun} from '../../src/evidence/seal.js'
import type {RunSummary} from '../../src/evidence/summary.js'
import {verifyBundleFiles, verifyRun, type RunWitness} from '../../src/evidence/verify.js'
import {activityLogReader, ActivityLogUnreadable, witnessCandidates, witnessJournal, type ActivityLogReader} from '../../src/evidence/witness.js'
import {sendRaw} from '../contract/http.js'
import {repoRoot, runCliInProcess, scratchDir} from '../helpers/cli.js'
import {sdkServices} from '../integration/support.js'
import {parseLines, remanifest, type Line} from './forge.js'
import {tempDir} from './blob-helpers.js'

let emulator: RunningEmulator
let cwd: string
let runId: string
let reader: ActivityLogReader

beforeAll(async () => {
  emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
  cwd = scratchDir()
  // The whole estate's drill: copies restored and torn down, caches exported, slots swapped and back, traffic switched.
  const run = await runCliInProcess(['run', 'dr-drill', '--env', 'local', '--json'], {cwd, env: emulator.env()})
  expect(run.code, run.stderr).toBe(0)
  runId = JSON.parse(run.stdout).runId
  reader = activityLogReader(sdkServices(emulator))
}, 180_000)
afterAll(async () => emulator?.stop())

const runFolder = (root: string) => join(root, 'runs', runId)
// The action registry's armWrites, as `evidence verify` passes it (src/commands/evidence/verify.ts).
const armWrites = new Map(listActions().map((a) => [a.name, a.armWrites ?? ('always' as const)]))
const witness = (overrides: Partial<RunWitness> = {}): RunWitness => ({mode: 'auto', reader, armWrites, ...overrides})

/**
 * What a forger appends to a run that stopped before its teardown (a crash: legitimately resumable): the journal is
 * cut before the first teardown step, then the resume's lines are appended by the journal writer (correct hashes) —
 * run.started with resumedFrom, each teardown step started and succeeded with the genuine outputs, the genuine
 * run.finished — and the run is sealed over the genuine summary. `arm` says what each forged step records.
 */
async function forgeResumedSegment(
  arm: (step: Line, earlier: Line[]) => unknown[] | undefined,
  options: {cutOffTeardown?: boolean; found?: (step: Line, uses: string | undefined) => unknown[] | undefined; root?: string} = {},
): Promise<{root: string; forged: Array<{step: string; phase: string; cutOff: boolean; genuineWrites: number}>}> {
  const root = options.root ?? tempDir('opsbook-witness-')
  const genuine = parseLines(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'))
  // cutOffTeardown: the crash came after the teardown's step.started was on disk (its attempt cut off).
  const cut = genuine.findIndex((l) => l.type === 'step.started' && l.data.phase !== 'main') + (options.cutOffTeardown ? 1 : 0)
  expect(cut, 'the drill has a teardown').toBeGreaterThan(0)
  mkdirSync(runFolder(root), {recursive: true})
  cpSync(join(cwd, '.opsbook', 'runs', runId, 'request.json'), join(runFolder(root), 'request.json'))
  writeFileSync(join(runFolder(root), 'journal.jsonl'), readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8').split('\n').slice(0, cut).join('\n') + '\n')

  const journal = await Journal.open(runId, root)
  const first = genuine[0]!
  await journal.append({type: 'run.started', ...first.data, resumedFrom: runId} as never)
  const earlier = genuine.slice(0, cut).filter((l) => l.type === 'step.succeeded' && Array.isArray(l.data.arm))
  const forged: Array<{step: string; phase: string; cutOff: boolean; genuineWrites: number}> = []
  // Steps in flight when the journal was cut (started before the cut, ended after): a resume runs them again.
  const startedHere = new Set<string>()
  for (const line of genuine.slice(cut)) {
    if (line.type !== 'step.started' && line.type !== 'step.succeeded') continue
    if (!startedHere.has(line.step)) {
      const start = genuine.find((l) => l.type === 'step.started' && l.step === line.step)!
      await journal.append({type: 'step.started', step: start.step, ...start.data} as never)
      startedHere.add(line.step)
    }
    if (line.type !== 'step.succeeded') continue
    const {arm: _genuine, ...data} = line.data
    const claimed = arm(line, earlier)
    const found = options.found?.(line, first.data.steps.find((s: {id: string}) => s.id === line.step)?.uses)
    await journal.append({type: 'step.succeeded', step: line.step, ...data, ...(claimed ? {arm: claimed} : {}), ...(found ? {found} : {})} as never)
    const cutOff = genuine.slice(0, cut).some((l) => l.type === 'step.started' && l.step === line.step)
    if (first.data.steps.find((s: {id: string}) => s.id === line.step)?.changes)
      forged.push({step: line.step, phase: line.data.phase, cutOff, genuineWrites: Array.isArray(line.data.arm) ? line.data.arm.length : 0})
  }
  const finished = genuine.find((l) => l.type === 'run.finished')!
  await journal.append({type: 'run.finished', ...finished.data} as never)
  const summary = JSON.parse(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'summary.json'), 'utf8')) as RunSummary
  await completeRun(journal, {...summary, journal: journal.state})
  return {root, forged}
}

describe('evidence verify with the Activity Log as witness', () => {
  it('journals, in the run\'s first plan, who runs it and each idempotent teardown\'s own target', async () => {
    const started = parseLines(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'))[0]!
    // The emulator's managed identity: its app id, as the Activity Log names the caller.
    expect(started.data.principal).toMatchObject({caller: expect.stringMatching(/\S/), objectId: expect.stringMatching(/\S/)})
    const steps = started.data.steps as Array<{id: string; uses: string; targets?: string[]}>
    const targeted = steps.filter((s) => s.targets)
    // A copy per restored component (named for the run: `-<short run id>`), and the failover's router: each resolved
    // before the run, so a resumed step's "already gone" must be about its own copy.
    const short = runId.toLowerCase().replaceAll(/[^a-z0-9]/g, '').slice(-6)
    for (const uses of ['sql.delete', 'cosmos.delete', 'drill.teardown']) expect(targeted.map((s) => s.uses), uses).toContain(uses)
    const swapTeardowns = new Set(['drill.restoreProduction', 'webapp.resetSwap'])
    for (const s of targeted.filter((x) => x.uses !== 'failover.restore' && !swapTeardowns.has(x.uses))) for (const t of s.targets!) expect(t, s.id).toMatch(new RegExp(`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/.+-${short}$`))
    // A swap teardown's target is the app it swapped (not a copy): what its `swapped-back` / `no-preview` must be about.
    const swaps = targeted.filter((x) => swapTeardowns.has(x.uses))
    expect(swaps.length).toBeGreaterThan(0)
    for (const s of swaps) for (const t of s.targets!) expect(t, s.id).toMatch(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Web\/sites\/[^/]+$/)
    // Two components of one kind: two teardowns, two different targets.
    const sqlTargets = targeted.filter((s) => s.uses === 'sql.delete').flatMap((s) => s.targets!)
    expect(new Set(sqlTargets).size).toBe(sqlTargets.length)
  })

  it('witnesses every changing step of a real drill that wrote through ARM, through the CLI (exit 0)', async () => {
    const report = await witnessJournal(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'), reader)
    // Every step that made ARM writes is witnessed: restores, exports, swaps and back, traffic switches, teardowns.
    const wrote = report.steps.filter((s) => s.writes > 0)
    expect(wrote.length).toBeGreaterThanOrEqual(10)
    expect(wrote.filter((s) => s.verdict !== 'witnessed')).toEqual([])
    expect(wrote.map((s) => s.phase)).toContain('finally')
    // Who made them, as Azure recorded it (the run's identity): what the witness can say about the author.
    for (const s of wrote) expect(s.callers?.length, s.step).toBe(1)
    // The changing steps that made none (a cache export's blobs deleted, a swap reset with nothing pending) are not
    // checkable: nothing in the Activity Log to find. None is "not witnessed".
    for (const s of report.steps.filter((x) => x.writes === 0)) expect(s).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/made no ARM write/)})

    const verified = await runCliInProcess(['evidence', 'verify', runId, '--env', 'local'], {cwd, env: emulator.env()})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(new RegExp(`activity log: ${wrote.length} of ${report.steps.length} changing step\\(s\\) witnessed \\(.*\\), made by ${wrote[0]!.callers![0]}\n`))
  })

  for (const variant of [
    {name: 'records no ARM write', arm: () => undefined, reason: /records no ARM write for it|records neither an ARM write nor what it found/},
    {
      name: 'records invented correlation ids',
      arm: (step: Line) => [{method: 'DELETE', resourceId: String(step.data.outputs?.resourceId ?? `/subscriptions/${emulator.subscription}/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/forged`), operation: 'Microsoft.DBforPostgreSQL/flexibleServers/delete', status: 202, correlationId: randomUUID(), at: new Date().toISOString()}],
      reason: /no Activity Log event for DELETE .* \(correlation id [0-9a-f-]{36}\)/,
    },
    {
      // Genuine ids of earlier steps' writes (which the Activity Log has), copied onto the forged teardown.
      name: 'replays the correlation ids of earlier genuine writes',
      arm: (_step: Line, earlier: Line[]) => earlier.flatMap((l) => l.data.arm as unknown[]),
      reason: /is already the record of|none for this resource accepted within the step|no Activity Log event/,
    },
  ])
    it(`fails a forged resumed segment that ${variant.name}, naming its steps (the hash chain holds)`, async () => {
      const {root, forged} = await forgeResumedSegment(variant.arm)
      try {
        // Without the witness the forgery verifies: chain, seal and summary all hold.
        const unwitnessed = await verifyRun(runId, {root})
        expect(unwitnessed.checks.filter((c) => !c.ok)).toEqual([])

        const result = await verifyRun(runId, {root, witness: witness()})
        expect(result.ok).toBe(false)
        const failures = result.checks.filter((c) => !c.ok).map((c) => c.message)
        // Every forged changing step is named as not witnessed, in the resumed segment, with the reason.
        expect(forged.length).toBeGreaterThan(0)
        // Every forged changing step is named as not witnessed, with the reason — except, when it records no ARM write,
        // a step whose genuine attempt was in flight at the cut: a crash may have cut its writes off unjournaled, so
        // it is not checkable (fails with --witness activity-log only).
        const lenient = variant.name === 'records no ARM write'
        // Steps that genuinely made no ARM write keep their genuine finding (a swap reset with nothing pending), which
        // the Activity Log supports: true, whoever journaled it.
        const judged = forged.filter((f) => !(lenient && (f.cutOff || f.genuineWrites === 0)))
        expect(judged.length).toBeGreaterThan(0)
        for (const {step, phase} of judged) {
          const message = failures.find((f) => f.startsWith(`activity log: step ${phase === 'main' ? '' : `${phase} `}${step} (resumed segment 1) is not witnessed: `))
          expect(message, `${step} in ${failures.join('\n')}`).toBeDefined()
          expect(message).toMatch(variant.reason)
        }
        expect(result.firstProblem).toMatch(/^activity log: step .* \(resumed segment 1\) is not witnessed/)
        // The genuine first segment stays witnessed.
        expect(result.checks.find((c) => c.ok && !c.skipped && c.message.startsWith('activity log:'))?.message).toMatch(/changing step\(s\) witnessed/)
      } finally {
        rmSync(root, {recursive: true, force: true})
      }
    })

  it('judges a resumed teardown that made no ARM write after a crash cut its first attempt off by what it found, not as forged', async () => {
    // The genuine crash: the DELETE was sent, the process died before journaling it; the resume finds the server gone
    // (no write: it journals that finding, about its first plan's target), and re-runs the steps after it with their
    // real writes. The Activity Log has the cut-off attempt's delete: witnessed.
    const genuine = parseLines(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'))
    const teardown = genuine.find((l) => l.type === 'step.started' && l.data.phase !== 'main')!.step
    expect(teardown).toMatch(/\.teardown$/)
    const targets = (genuine[0]!.data.steps as Array<{id: string; targets?: string[]}>).find((s) => s.id === teardown)?.targets
    expect(targets?.length, 'the teardown\'s target is in the first plan').toBeGreaterThan(0)
    const {root, forged} = await forgeResumedSegment((line) => (line.step === teardown ? undefined : line.data.arm), {
      cutOffTeardown: true,
      found: (line) => (line.step === teardown ? targets!.map((resourceId) => ({kind: 'gone', resourceId})) : undefined),
    })
    try {
      const auto = await verifyRun(runId, {root, witness: witness()})
      // Its real writes again: the steps re-run after the cut are witnessed.
      expect(auto.checks.find((c) => c.ok && !c.skipped && c.message.startsWith('activity log:'))?.message).toMatch(/changing step\(s\) witnessed/)
      // The resumed steps that genuinely change nothing through ARM (a swap reset with nothing pending, production
      // already on its version, a cache export's blob) are judged by what they found: nothing fails.
      expect(forged.some((f) => f.genuineWrites === 0 && !f.cutOff)).toBe(true)
      expect(auto.checks.filter((c) => !c.ok)).toEqual([])
      expect(auto.ok).toBe(true)
      const report = await witnessJournal(readFileSync(join(runFolder(root), 'journal.jsonl'), 'utf8'), reader, {armWrites})
      expect(report.steps.find((s) => s.step === teardown && s.segment === 2)).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/already deleted \(deleted at /)})
      // Without what it found, the same step is not opsbook's: a cut-off segment is as easy to append as the rest.
      const bare = await forgeResumedSegment((line) => (line.step === teardown ? undefined : line.data.arm), {cutOffTeardown: true})
      try {
        const failed = await verifyRun(runId, {root: bare.root, witness: witness()})
        expect(failed.ok).toBe(false)
        const messages = failed.checks.filter((c) => !c.ok).map((c) => c.message)
        expect(messages.filter((m) => m.includes(`${teardown} (resumed segment 1) is not witnessed: the journal says it succeeded but records neither an ARM write nor what it found`)), messages.join('\n')).toHaveLength(1)
      } finally {
        rmSync(bare.root, {recursive: true, force: true})
      }
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('witnesses a bundle\'s runs with --env, and fails a bundle whose journal was swapped for a forged one', async () => {
    const exported = await runCliInProcess(['evidence', 'export', '--env', 'local', '--output', 'bundle.zip', '--json'], {cwd, env: emulator.env()})
    expect(exported.code, exported.stderr).toBe(0)
    const verified = await runCliInProcess(['evidence', 'verify', 'bundle.zip', '--env', 'local'], {cwd, env: emulator.env()})
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(new RegExp(`bundle runs/${runId}/ activity log: \\d+ of \\d+ changing step\\(s\\) witnessed`))
    // On a machine with no Azure access (no --env, no emulator in the environment): the witness does not fail the
    // bundle; it says once that it could not check.
    const offline = await runCliInProcess(['evidence', 'verify', 'bundle.zip'], {cwd, env: {}})
    expect(offline.code, offline.stdout + offline.stderr).toBe(0)
    expect(offline.stdout.match(/activity log/g)).toEqual(['activity log'])
    expect(offline.stdout).toMatch(/– activity log: not checkable: no environment to read it from/)
    expect((await runCliInProcess(['evidence', 'verify', 'bundle.zip', '--witness', 'activity-log'], {cwd, env: {}})).code).toBe(1)

    // The forged run put into the bundle, manifest recomputed: the bundle verifies on its own, not with the witness.
    const {root} = await forgeResumedSegment(() => undefined)
    try {
      const files = new Map(Object.entries(unzipSync(readFileSync(join(cwd, 'bundle.zip')))))
      for (const file of ['journal.jsonl', 'summary.json', 'report.md']) files.set(`runs/${runId}/${file}`, readFileSync(join(runFolder(root), file)))
      const forgedBundle = remanifest(files)
      expect((await verifyBundleFiles('forged.zip', forgedBundle)).checks.filter((c) => !c.ok && !c.subject.startsWith('runs.csv'))).toEqual([])
      const witnessed = await verifyBundleFiles('forged.zip', forgedBundle, {witness: witness()})
      expect(witnessed.ok).toBe(false)
      expect(witnessed.checks.filter((c) => !c.ok).map((c) => c.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^bundle runs/${runId}/ activity log: step .* \\(resumed segment 1\\) is not witnessed: `))]),
      )
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('reports what it cannot check: retention and a caller that may not read the Activity Log (fails only when required)', async () => {
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    const later = await witnessJournal(journal, reader, {now: new Date(Date.now() + 91 * 86_400_000)})
    const wrote = later.steps.filter((s) => s.writes > 0)
    expect(wrote.length).toBeGreaterThan(0)
    for (const s of wrote) expect(s).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/90-day retention/)})

    const refused: ActivityLogReader = {
      byCorrelationId: async () => {
        throw new ActivityLogUnreadable('the signed-in identity may not read the Activity Log (403): it needs Microsoft.Insights/eventtypes/values/read on the subscription, e.g. the Monitoring Reader or Reader role', true)
      },
    }
    const root = join(cwd, '.opsbook')
    const auto = await verifyRun(runId, {root, witness: witness({reader: refused})})
    expect(auto.ok, auto.firstProblem).toBe(true)
    expect(auto.checks.filter((c) => c.skipped && /Monitoring Reader or Reader/.test(c.message)).length).toBeGreaterThan(0)
    // Unreachable (or no credential): every step not checkable, said once; auto passes.
    const unreachable = activityLogReader({monitor: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9'))})
    const offline = await verifyRun(runId, {root, witness: witness({reader: unreachable})})
    expect(offline.ok, offline.firstProblem).toBe(true)
    expect(offline.checks.filter((c) => c.message.startsWith('activity log:')).map((c) => c.message)).toEqual([
      expect.stringMatching(/^activity log: \d+ changing step\(s\) not checkable: the Activity Log could not be read: connect ECONNREFUSED/),
      ...offline.checks.filter((c) => c.message.startsWith('activity log:') && !/ECONNREFUSED/.test(c.message)).map((c) => c.message),
    ])
    expect(offline.checks.filter((c) => /ECONNREFUSED/.test(c.message))).toHaveLength(1)
    const required = await verifyRun(runId, {root, witness: witness({reader: refused, mode: 'activity-log'})})
    expect(required.ok).toBe(false)
    expect(required.firstProblem).toMatch(/not checkable: .*Monitoring Reader or Reader/)
  })
  it('stops paging a query past its bound of events and says so (not checkable), instead of reading without end', async () => {
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    const write = witnessCandidates(journal).candidates.flatMap((c) => c.writes).find((w) => /\/resourceGroups\//i.test(w.resourceId))!
    const group = /\/resourceGroups\/([^/]+)/i.exec(write.resourceId)![1]!
    const from = new Date(Date.parse(write.at) - 3_600_000)
    const to = new Date()
    const all = await reader.byResourceGroup!(group, from, to)
    expect(all.length).toBeGreaterThan(3)
    const bounded = activityLogReader(sdkServices(emulator), {maxEvents: 3})
    await expect(bounded.byResourceGroup!(group, from, to)).rejects.toThrow(/more than 3 events for .*resourceGroupName eq/)
    await expect(activityLogReader(sdkServices(emulator), {maxEvents: all.length}).byResourceGroup!(group, from, to)).resolves.toHaveLength(all.length)
  })

  it('says how far a long read is, page after page, and when it is done (what verify shows on stderr)', async () => {
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    const write = witnessCandidates(journal).candidates.flatMap((c) => c.writes).find((w) => /\/resourceGroups\//i.test(w.resourceId))!
    const group = /\/resourceGroups\/([^/]+)/i.exec(write.resourceId)![1]!
    const from = new Date(Date.parse(write.at) - 3_600_000)
    const to = new Date()
    const all = await reader.byResourceGroup!(group, from, to)
    const messages: string[] = []
    const every = Math.max(1, Math.floor(all.length / 4))
    await activityLogReader(sdkServices(emulator), {progress: (m) => messages.push(m), progressEvery: every}).byResourceGroup!(group, from, to)
    expect(messages).toHaveLength(Math.floor(all.length / every) + 1)
    expect(messages[0]).toBe(`activity log: reading resource group ${group}: ${every.toLocaleString('en-US')} events so far (stops at 50,000)`)
    expect(messages.at(-1)).toBe(`activity log: read resource group ${group}: ${all.length.toLocaleString('en-US')} events`)
    // A short read (under the step) says nothing.
    const quiet: string[] = []
    await activityLogReader(sdkServices(emulator), {progress: (m) => quiet.push(m), progressEvery: all.length + 1}).byResourceGroup!(group, from, to)
    expect(quiet).toEqual([])
  })

  it('reads, through ARM, each endpoint and origin the drill switched as it was before the switch (the fail-back put it back)', async () => {
    const lines = parseLines(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'))
    const plan = lines[0]!.data.steps as Array<{id: string; uses: string}>
    const switches = lines.filter((l) => l.type === 'step.succeeded' && plan.find((s) => s.id === l.step)?.uses === 'failover.switch')
    const rows = switches.flatMap((l) => (l.data.outputs.changed as Array<{name: string; before: {enabled: boolean; priority: number}}>).map((row) => ({row, write: (l.data.arm as Array<{method: string; resourceId: string}>).find((w) => w.method === 'PATCH' && w.resourceId.endsWith(`/${row.name}`))!})))
    // Traffic Manager endpoints and Front Door origins both.
    expect(rows.some((r) => /trafficmanagerprofiles/i.test(r.write.resourceId)) && rows.some((r) => /\/origins\//i.test(r.write.resourceId))).toBe(true)
    for (const {row, write} of rows) expect(await reader.routerBackend!(write.resourceId), write.resourceId).toEqual({enabled: row.before.enabled, priority: row.before.priority})
  })

  it('reads the Activity Log once per resource group for a whole drill, not once per write', async () => {
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    const writes = witnessCandidates(journal).candidates.flatMap((c) => c.writes)
    const groups = new Set(writes.map((w) => /\/resourceGroups\/([^/]+)/i.exec(w.resourceId)?.[1]?.toLowerCase()))
    const calls = {group: 0, correlation: 0}
    const counted: ActivityLogReader = {
      byCorrelationId: (...args) => (calls.correlation++, reader.byCorrelationId(...args)),
      byResourceGroup: (...args) => (calls.group++, reader.byResourceGroup!(...args)),
    }
    const report = await witnessJournal(journal, counted)
    expect(report.steps.filter((s) => s.writes > 0 && s.verdict !== 'witnessed')).toEqual([])
    // Before: one query per write, one after the other (a drill's ~40 writes, 40 round trips to Azure).
    expect(writes.length).toBeGreaterThan(10)
    expect(calls).toEqual({group: groups.size, correlation: 0})
    expect(groups.size).toBeLessThan(writes.length / 3)
  })

  it('journals, when a changing step starts, the target its first plan could not name (an input read from another step\'s outputs)', async () => {
    // Issue 16: `app: ${{ steps.pick.outputs.app }}` has no target in run.started; the step's start records it.
    const dir = scratchDir({
      'output-target.yaml': `name: output-target
title: A reset whose app is another step's output
kind: maintenance
steps:
  - id: pick
    steps:
      - {id: note, uses: core.log, with: {message: picking}}
    outputs: {app: storefront}
  - id: reset
    needs: [pick]
    uses: webapp.resetSwap
    with: {app: "\${{ steps.pick.outputs.app }}"}
`,
    })
    const run = await runCliInProcess(['run', './output-target.yaml', '--env', 'local', '--yes', '--json'], {cwd: dir, env: emulator.env()})
    expect(run.code, run.stderr).toBe(0)
    const lines = parseLines(readFileSync(join(dir, '.opsbook', 'runs', JSON.parse(run.stdout).runId, 'journal.jsonl'), 'utf8'))
    const planned = (lines[0]!.data.steps as Array<{id: string; targets?: string[]}>).find((s) => s.id === 'reset')
    expect(planned?.targets).toBeUndefined()
    const start = lines.find((l) => l.type === 'step.started' && l.step === 'reset')!
    expect(start.data.targets).toEqual([expect.stringMatching(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Web\/sites\/app-shop-storefront$/)])
    // Only where the first plan could not name it: a step with a first-plan target records none at its start.
    const genuine = parseLines(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8'))
    const withPlanTargets = new Set((genuine[0]!.data.steps as Array<{id: string; targets?: string[]}>).filter((s) => s.targets).map((s) => s.id))
    expect(genuine.filter((l) => l.type === 'step.started' && withPlanTargets.has(l.step) && l.data.phase !== 'rollback' && l.data.targets)).toEqual([])
  })

  it('fails a forged resumed teardown that claims "nothing to do" while a copy the run made still stands (exit 1 in auto mode)', async () => {
    // What the forger hides: a copy of the run still standing (the crash came before its teardown). Here the drill's
    // SQL copy is made again through ARM after the genuine teardown deleted it, so its last event is a write.
    const own = witnessCandidates(readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')).facts.ownResources
    const copy = own.find((r) => /\/Microsoft\.Sql\/servers\/[^/]+\/databases\//i.test(r))
    expect(copy, own.join(', ')).toBeDefined()
    const made = await sendRaw(emulator, 'PUT', `${copy}?api-version=2022-08-01-preview`, JSON.stringify({location: 'eastus'}))
    expect(made.status, JSON.stringify(made.body)).toBeLessThan(300)
    const {root} = await forgeResumedSegment(() => undefined, {
      found: (_line, uses) => (uses === 'drill.teardown' || uses === 'sql.delete' ? [{kind: 'nothing-to-do', what: 'a webapp drill leaves no scratch resources'}] : undefined),
    })
    try {
      // What `opsbook evidence verify <run> --witness auto` decides (exit 1 when not ok; the forger's Blob copy, which
      // they can write too, left out here): the chain and seal hold, the witness does not.
      expect((await verifyRun(runId, {root})).ok).toBe(true)
      const result = await verifyRun(runId, {root, witness: witness({mode: 'auto'})})
      expect(result.ok).toBe(false)
      const name = copy!.split('/').at(-1)!
      const claims = result.checks.filter((c) => !c.ok && /"nothing to do" cannot be told from a teardown that skipped it/.test(c.message))
      expect(claims.length, result.checks.map((c) => c.message).join('\n')).toBeGreaterThan(0)
      for (const c of claims) expect(c.message).toMatch(new RegExp(`activity log: step finally .*teardown \\(resumed segment 1\\) is not witnessed: .*${name}, a copy this run made, was not deleted`))
    } finally {
      rmSync(root, {recursive: true, force: true})
      // The copy deleted again: the genuine run's teardown is what the Activity Log shows last, for the tests after.
      const deleted = await sendRaw(emulator, 'DELETE', `${copy}?api-version=2022-08-01-preview`)
      expect(deleted.status).toBeLessThan(300)
    }
  })
})

describe('witnessJournal on journals it cannot fully check', () => {
  const noEvents: ActivityLogReader = {byCorrelationId: async () => []}
  const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString()
  const plan = [{id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}]
  const journal = (events: Array<[string, string | null, Record<string, unknown>]>) =>
    events.map(([type, step, data], i) => JSON.stringify({seq: i + 1, ts: at(i), runId: 'r', type, step, data, prev: ''})).join('\n') + '\n'
  const now = new Date(Date.UTC(2026, 11, 2))

  it('takes a journal written before ARM writes were recorded as not checkable', async () => {
    const text = journal([
      ['run.started', null, {steps: plan}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}}],
    ])
    expect((await witnessJournal(text, noEvents, {now})).steps).toEqual([expect.objectContaining({step: 'restore', verdict: 'not-checkable', reason: expect.stringMatching(/recorded before/)})])
  })

  it('fails a resumed segment without the mark after a marked one, and a step the first plan does not have', async () => {
    const text = journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['run.finished', null, {status: 'interrupted'}],
      ['run.started', null, {steps: [...plan, {id: 'cleanup', uses: 'drill.teardown', phase: 'finally', changes: true, needs: []}]}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}}],
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'cleanup', {phase: 'finally'}],
      ['step.succeeded', 'cleanup', {phase: 'finally', outputs: {}, arm: [{method: 'DELETE', resourceId: '/subscriptions/s/x', correlationId: randomUUID(), at: at(7)}]}],
    ])
    const {steps} = await witnessJournal(text, noEvents, {now})
    expect(steps).toEqual([
      expect.objectContaining({step: 'restore', segment: 2, verdict: 'not-witnessed', reason: expect.stringMatching(/does not record ARM writes, although an earlier segment/)}),
      expect.objectContaining({step: 'cleanup', segment: 3, verdict: 'not-witnessed', reason: expect.stringMatching(/not a step of the run's plan/)}),
    ])
  })

  it('fails a resumed segment dated before the run (it would be "older than the retention"), and a write dated outside its step', async () => {
    const write = (when: string) => ({method: 'PUT', resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app', operation: 'Microsoft.Web/sites/write', status: 200, correlationId: randomUUID(), at: when})
    const lines = (resumedAt: (i: number) => string, writeAt: string) =>
      [
        ['run.started', null, {steps: plan, armWrites: true}],
        ['run.finished', null, {status: 'interrupted'}],
        ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
        ['step.started', 'restore', {phase: 'main'}],
        ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [write(writeAt)]}],
      ]
        .map(([type, step, data], i) => JSON.stringify({seq: i + 1, ts: i < 2 ? at(i) : resumedAt(i), runId: 'r', type, step, data, prev: ''}))
        .join('\n') + '\n'
    const longAgo = (i: number) => new Date(Date.UTC(2026, 7, 1, 10, 0, i)).toISOString()
    const backdated = await witnessJournal(lines(longAgo, longAgo(4)), noEvents, {now})
    expect(backdated.steps).toEqual([expect.objectContaining({step: 'restore', segment: 2, verdict: 'not-witnessed', reason: expect.stringMatching(/not in journal order: its line 3 \(run\.started\) is dated 2026-08-01/)})])
    const outside = await witnessJournal(lines(at, longAgo(4)), noEvents, {now})
    expect(outside.steps).toEqual([expect.objectContaining({step: 'restore', verdict: 'not-witnessed', reason: expect.stringMatching(/its write PUT .*sites\/app is dated 2026-08-01.*outside the step/)})])
    // In order, the same step is judged by the Activity Log as before (here: no event, not witnessed for that reason).
    const inOrder = await witnessJournal(lines(at, at(4)), noEvents, {now})
    expect(inOrder.steps).toEqual([expect.objectContaining({step: 'restore', verdict: 'not-witnessed', reason: expect.stringMatching(/^no Activity Log event for PUT/)})])
  })

  it('does not let a write whose lookup would fail (a correlation id no ARM gives) make the steps after it not checkable', async () => {
    // A reader that refuses a $filter it cannot parse, as the Activity Log answers 400 (the emulator splits on " and ").
    const strict: ActivityLogReader = {
      byCorrelationId: async (id) => {
        if (!/^[0-9a-f-]{36}$/i.test(id)) throw new ActivityLogUnreadable('the Activity Log could not be read: $filter searching parameters invalid', false)
        return []
      },
    }
    const write = (correlationId: string) => ({method: 'POST', resourceId: '/subscriptions/s', operation: 'Microsoft.Resources/subscriptions/x/action', status: 200, correlationId, at: at(4)})
    const text = journal([
      ['run.started', null, {steps: [...plan, {id: 'second', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}], armWrites: true}],
      ['run.finished', null, {status: 'interrupted'}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [write("x' and eventTimestamp ge '2000-01-01")]}],
      ['step.started', 'second', {phase: 'main'}],
      ['step.succeeded', 'second', {phase: 'main', outputs: {}, arm: [write(randomUUID())]}],
    ])
    const report = await witnessJournal(text, strict, {now})
    expect(report.steps).toEqual([
      expect.objectContaining({step: 'restore', verdict: 'not-witnessed', reason: expect.stringMatching(/not a correlation id and resource group ARM gives/)}),
      expect.objectContaining({step: 'second', verdict: 'not-witnessed', reason: expect.stringMatching(/^no Activity Log event for POST/)}),
    ])
    expect(report.unreadable).toBeUndefined()
  })

  // Issue 16: a resumed step of an idempotent ("when-needed") action that made no ARM write is judged by what it says it
  // found, against the Activity Log of the run's window; an "always" action with no write stays not witnessed.
  describe('what a resumed idempotent step found, checked against the Activity Log', () => {
    const server = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-drill-r'
    const site = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app'
    const armWrites = new Map([['drill.teardown', 'when-needed' as const], ['webapp.resetSwap', 'when-needed' as const], ['postgres.restore', 'always' as const]])
    const teardownPlan = [...plan, {id: 'teardown', uses: 'drill.teardown', phase: 'finally', changes: true, needs: []}, {id: 'reset', uses: 'webapp.resetSwap', phase: 'finally', changes: true, needs: []}]
    /** Segment 1 interrupted; the resume's step `step` succeeded with no ARM write and `found`. */
    const resumed = (step: string, found?: unknown[]) =>
      journal([
        ['run.started', null, {steps: teardownPlan, armWrites: true}],
        ['run.finished', null, {status: 'interrupted'}],
        ['run.started', null, {steps: teardownPlan, armWrites: true, resumedFrom: 'r'}],
        ['step.started', step, {phase: 'finally'}],
        // What it found is about what it acted on: its outputs name it (drill.teardown's alreadyGone).
        ['step.succeeded', step, {phase: 'finally', outputs: {alreadyGone: (found ?? []).flatMap((f) => ((f as {resourceId?: string}).resourceId ? [String((f as {resourceId: string}).resourceId).split('/').at(-1)] : []))}, ...(found ? {found} : {})}],
      ])
    const event = (resourceId: string, operationName: string, second: number, caller = 'someone@example.com') => ({correlationId: randomUUID(), resourceId, operationName, status: 'Succeeded', eventTimestamp: at(second), caller})
    const log = (events: ReturnType<typeof event>[]): ActivityLogReader => ({byCorrelationId: async () => [], byResourceGroup: async () => events})
    const judge = async (step: string, found: unknown[] | undefined, events: ReturnType<typeof event>[], reader = log(events)) =>
      (await witnessJournal(resumed(step, found), reader, {now, armWrites})).steps.find((x) => x.step === step)

    it('"already deleted": witnessed by a delete in the run\'s window (by anyone), contradicted by a create with no delete after it, not checkable without events', async () => {
      const gone = [{kind: 'gone', resourceId: server}]
      const deleted = await judge('teardown', gone, [event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 0), event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 2, 'colleague@example.com')])
      expect(deleted).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/pg-drill-r already deleted \(deleted at .* by colleague@example.com\)/), callers: ['colleague@example.com']})
      expect(await judge('teardown', gone, [event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 0)])).toMatchObject({
        verdict: 'not-witnessed',
        reason: expect.stringMatching(/contradicts .*last event for it is a flexibleservers\/write .* with no delete after it/),
      })
      expect(await judge('teardown', gone, [])).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/no write or delete of it in the run's window/)})
    })

    it('a finding about another resource than the target the step\'s first start recorded is not witnessed (a target read from outputs)', async () => {
      const other = server.replace('pg-drill-r', 'pg-other-drill-r')
      const gone = [{kind: 'gone', resourceId: other}]
      const events = [event(other, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 0), event(other, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 1)]
      // The first attempt started (cut off) recording its own copy; the resumed start names the other one, and finds it gone.
      const text = journal([
        ['run.started', null, {steps: teardownPlan, armWrites: true}],
        ['step.started', 'teardown', {phase: 'finally', targets: [server]}],
        ['run.finished', null, {status: 'interrupted'}],
        ['run.started', null, {steps: teardownPlan, armWrites: true, resumedFrom: 'r'}],
        ['step.started', 'teardown', {phase: 'finally', targets: [other]}],
        ['step.succeeded', 'teardown', {phase: 'finally', outputs: {alreadyGone: ['pg-other-drill-r']}, found: gone}],
      ])
      const verdict = (await witnessJournal(text, log(events), {now, armWrites})).steps.find((x) => x.step === 'teardown')
      expect(verdict).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/pg-other-drill-r is not the target the step's first start recorded \(pg-drill-r\)/)})
      // About the recorded target, the same finding is witnessed.
      const own = journal([
        ['run.started', null, {steps: teardownPlan, armWrites: true}],
        ['run.finished', null, {status: 'interrupted'}],
        ['run.started', null, {steps: teardownPlan, armWrites: true, resumedFrom: 'r'}],
        ['step.started', 'teardown', {phase: 'finally', targets: [server]}],
        ['step.succeeded', 'teardown', {phase: 'finally', outputs: {alreadyGone: ['pg-drill-r']}, found: [{kind: 'gone', resourceId: server}]}],
      ])
      const ownEvents = [event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 0), event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 1)]
      expect((await witnessJournal(own, log(ownEvents), {now, armWrites})).steps.find((x) => x.step === 'teardown')).toMatchObject({verdict: 'witnessed'})
    })

    it('"no preview pending": witnessed when every applySlotConfig was reset or swapped, not witnessed when one was left', async () => {
      const none = [{kind: 'no-preview', resourceId: site}]
      const apply = event(`${site}/slots/staging`, 'Microsoft.Web/sites/slots/applySlotConfig/action', 0)
      expect(await judge('reset', none, [apply, event(`${site}/slots/staging`, 'Microsoft.Web/sites/slots/slotsswap/action', 2)])).toMatchObject({verdict: 'witnessed'})
      expect(await judge('reset', none, [apply, event(`${site}/slots/staging`, 'Microsoft.Web/sites/slots/resetSlotConfig/action', 2)])).toMatchObject({verdict: 'witnessed'})
      expect(await judge('reset', none, [event(`${site}/slots/staging`, 'Microsoft.Web/sites/slots/resetSlotConfig/action', 0), {...apply, eventTimestamp: at(2)}])).toMatchObject({
        verdict: 'not-witnessed',
        reason: expect.stringMatching(/applySlotConfig at .* with no reset or swap after it/),
      })
    })

    it('a data-plane finding is not checkable; a finding-less idempotent step and an "always" step with a claimed finding are not witnessed', async () => {
      expect(await judge('teardown', [{kind: 'data-plane', what: 'the drill copy of c is a blob'}], [])).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/blob: nothing the Activity Log records/)})
      expect(await judge('teardown', undefined, [])).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/neither an ARM write nor what it found/)})
      // An action that always writes through ARM: a claimed finding does not excuse a resumed step with no write.
      const forged = journal([
        ['run.started', null, {steps: teardownPlan, armWrites: true}],
        ['run.finished', null, {status: 'interrupted'}],
        ['run.started', null, {steps: teardownPlan, armWrites: true, resumedFrom: 'r'}],
        ['step.started', 'restore', {phase: 'main'}],
        ['step.succeeded', 'restore', {phase: 'main', outputs: {}, found: [{kind: 'gone', resourceId: server}]}],
      ])
      const deletedLog = log([event(server, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 0)])
      expect((await witnessJournal(forged, deletedLog, {now, armWrites})).steps).toEqual([expect.objectContaining({step: 'restore', verdict: 'not-witnessed', reason: expect.stringMatching(/records no ARM write/)})])
      // A reader that cannot list a resource group's events: not checkable.
      expect(await judge('teardown', [{kind: 'gone', resourceId: server}], [], {byCorrelationId: async () => []})).toMatchObject({verdict: 'not-checkable'})
    })
  })
})
