/**
 * Journal benchmark (issue #12 item 5): the old one-fsync-per-event journal against group commit (appends of one tick
 * share an fsync), measured in the same run, alternating so machine noise hits both alike. Two figures:
 *  - 1,000 chained no-op steps (`core.assert`, each `needs` the one before) through the real engine, journal and an
 *    in-order listener: milliseconds per step, end to end (target ≤ 1 ms);
 *  - 10,000 events written to the journal and streamed by the real blob sink to Azurite (in-process), from the first
 *    append until every byte is in Blob (target ≤ 3 s). Events arrive as a busy run makes them: bursts of
 *    BENCH_BURST (default 10) per tick, e.g. parallel steps logging, each burst awaited.
 * CPU per step is printed beside wall time: on a shared machine the wall figure mostly measures the other load.
 * Run: `npx tsx bench/journal.ts` (BENCH_STEPS, BENCH_EVENTS, BENCH_BURST, BENCH_ROUNDS to change the sizes).
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseCatalog} from '../src/catalog/loader.js'
import {startBlobServer} from '../src/emulator/blob.js'
import {BlobSink} from '../src/evidence/blob-sink.js'
import {Journal, type JournalSync} from '../src/evidence/journal.js'
import {Redactor} from '../src/evidence/redact.js'
import {executeRunbook} from '../src/runbooks/engine.js'
import type {RunEvent} from '../src/runbooks/events.js'
import {parseRunbook} from '../src/runbooks/loader.js'
import {blobServices, testEnvironment} from '../test/evidence/blob-helpers.js'
import {openEvidenceTarget} from '../src/evidence/blob-sink.js'

const steps = Number(process.env.BENCH_STEPS ?? 1000)
const eventCount = Number(process.env.BENCH_EVENTS ?? 10_000)
const burst = Number(process.env.BENCH_BURST ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const modes: JournalSync[] = ['per-event', 'grouped']

const catalog = parseCatalog('bench.yaml', 'version: 1\nenvironments:\n  dev:\n    cloud: azure\n    subscription: 11111111-2222-3333-4444-555555555555\n    resourceGroups: [rg]\n    components: {}\n').catalog
const lines = ['name: bench-chain', 'title: bench chain', 'kind: checklist', 'steps:']
for (let i = 0; i < steps; i++) lines.push(`  - {id: s${i}, uses: core.assert, with: {that: true, message: ok}${i > 0 ? `, needs: [s${i - 1}]` : ''}}`)
const chain = parseRunbook('bench-chain.yaml', lines.join('\n'))

/** ms per step for `steps` chained no-op steps, journaled, each event shown to a listener after it is on disk. */
async function chainedSteps(sync: JournalSync): Promise<{wall: number; cpu: number}> {
  const root = mkdtempSync(join(tmpdir(), 'opsbook-bench-'))
  const redactor = new Redactor()
  const journal = await Journal.create('bench-chain', {root, redactor, sync})
  let shown = 0
  const started = performance.now()
  const cpu = process.cpuUsage()
  const outcome = await executeRunbook({
    runbook: chain,
    runId: 'bench-chain',
    params: {},
    environmentName: 'dev',
    environment: catalog.environments.dev!,
    catalog,
    approver: {approve: async () => ({approved: true, by: 'bench', via: 'yes'})},
    services: undefined,
    signal: new AbortController().signal,
    record: (event) => journal.append(event),
    emit: async () => {
      shown++
    },
    redactor,
  })
  await journal.close()
  const elapsed = performance.now() - started
  const used = process.cpuUsage(cpu)
  if (outcome.status !== 'succeeded' || shown !== journal.lines) throw new Error(`bench run ${outcome.status}, ${shown} shown of ${journal.lines}`)
  rmSync(root, {recursive: true, force: true})
  return {wall: elapsed / steps, cpu: (used.user + used.system) / 1000 / steps}
}

/** ms until `eventCount` events are in the journal and every byte of it is in Blob. */
async function eventsToBlob(sync: JournalSync, blob: Awaited<ReturnType<typeof startBlobServer>>): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'opsbook-bench-'))
  const runId = `bench-blob-${sync}-${Date.now()}`
  const environment = testEnvironment()
  const target = (await openEvidenceTarget(environment, blobServices(environment, blob)))!
  await target.client.createIfNotExists()
  const started = performance.now()
  const journal = await Journal.create(runId, {root, sync})
  const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target, durableBytes: () => journal.durableBytes})
  const show = (event: RunEvent) => journal.append(event).then(() => sink.listener(event))
  for (let i = 0; i < eventCount; i += burst) {
    const group: Array<Promise<void>> = []
    for (let j = i; j < Math.min(eventCount, i + burst); j++) group.push(show({type: 'step.log', step: `s${j % 50}`, phase: 'main', message: `line ${j} of the benchmark's output`}))
    await Promise.all(group)
  }
  await journal.close()
  const state = await sink.finish({timeoutMs: 60_000})
  const elapsed = performance.now() - started
  const size = statSync(journal.path).size
  if (state.files['journal.jsonl']?.uploadedBytes !== size) throw new Error(`only ${state.files['journal.jsonl']?.uploadedBytes} of ${size} bytes reached Blob`)
  rmSync(root, {recursive: true, force: true})
  return elapsed
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const perStep: Record<JournalSync, number[]> = {'per-event': [], grouped: []}
const cpuPerStep: Record<JournalSync, number[]> = {'per-event': [], grouped: []}
const toBlob: Record<JournalSync, number[]> = {'per-event': [], grouped: []}
const blob = await startBlobServer()
try {
  await chainedSteps('grouped') // warm-up: module loading and JIT are not what is measured
  for (let round = 0; round < rounds; round++)
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
      const step = await chainedSteps(mode)
      perStep[mode].push(step.wall)
      cpuPerStep[mode].push(step.cpu)
      toBlob[mode].push(await eventsToBlob(mode, blob))
    }
} finally {
  await blob.close()
}
console.log(`journal benchmark, median of ${rounds} alternating rounds`)
for (const mode of modes)
  console.log(`  ${mode.padEnd(9)} fsync: ${steps} chained steps ${median(perStep[mode]).toFixed(3).padStart(7)} ms/step (CPU ${median(cpuPerStep[mode]).toFixed(3)})   ${eventCount} events to Blob ${(median(toBlob[mode]) / 1000).toFixed(2).padStart(6)} s`)
const stepRatio = median(perStep.grouped) / median(perStep['per-event'])
const blobRatio = median(toBlob.grouped) / median(toBlob['per-event'])
console.log(`headline: grouped / per-event = ${stepRatio.toFixed(2)} per step (target ≤ 1 ms/step: ${median(perStep.grouped).toFixed(3)} ms), ${blobRatio.toFixed(2)} for events to Blob (target ≤ 3 s: ${(median(toBlob.grouped) / 1000).toFixed(2)} s)`)
