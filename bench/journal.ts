/**
 * Journal benchmark (issue #12 item 5): the old journal (one fsync per event) against the new one (group commit:
 * appends made while the previous group is being written share the next write and fsync), measured in the same run,
 * alternating so machine noise hits both alike. Every figure is wall-clock time, end to end:
 *  - 1,000 chained no-op steps (`core.assert`, each `needs` the one before) through the real engine, journal and an
 *    in-order listener that sees each event only once it is on disk: milliseconds per step (target ≤ 1 ms);
 *  - 10,000 events written to the journal and streamed by the real blob sink to Azurite (in-process), from the first
 *    append until every byte is in Blob (target ≤ 3 s), each event handed to the sink only once it is on disk. Two
 *    ways events arrive:
 *      as a run makes them — BENCH_BURST (default 10) per tick, nobody waiting for the disk (step logs, results of
 *        parallel steps: the engine records them at once and shows them when durable); the target applies here;
 *      bursts, each awaited — the producer waits until each burst is on disk before the next (a run whose every
 *        event gates the next, e.g. a change that starts only once its step.started is durable): one fsync per
 *        burst at best, so this one is bounded by the disk's fsync time, which is probed and printed beside it.
 * CPU time is printed under each figure, and the share of a core the process had: on a shared machine wall time
 * also measures everyone else's load, CPU time does not.
 * Run: `npx tsx bench/journal.ts` (BENCH_STEPS, BENCH_EVENTS, BENCH_BURST, BENCH_ROUNDS to change the sizes).
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseCatalog} from '../src/catalog/loader.js'
import {startBlobServer} from '../src/emulator/blob.js'
import {BlobSink, openEvidenceTarget} from '../src/evidence/blob-sink.js'
import {Journal, type JournalSync} from '../src/evidence/journal.js'
import {Redactor} from '../src/evidence/redact.js'
import {executeRunbook} from '../src/runbooks/engine.js'
import type {RunEvent} from '../src/runbooks/events.js'
import {parseRunbook} from '../src/runbooks/loader.js'
import {blobServices, testEnvironment} from '../test/evidence/blob-helpers.js'

const steps = Number(process.env.BENCH_STEPS ?? 1000)
const eventCount = Number(process.env.BENCH_EVENTS ?? 10_000)
const burst = Number(process.env.BENCH_BURST ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const modes: JournalSync[] = ['per-event', 'grouped']
type Arrival = 'streamed' | 'awaited'

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

/** ms until `eventCount` events are in the journal and every byte of it is in Blob; and how many fsyncs that took. */
async function eventsToBlob(sync: JournalSync, arrival: Arrival, blob: Awaited<ReturnType<typeof startBlobServer>>): Promise<{ms: number; cpu: number; fsyncs: number}> {
  const root = mkdtempSync(join(tmpdir(), 'opsbook-bench-'))
  const runId = `bench-blob-${sync}-${arrival}-${Date.now()}`
  const environment = testEnvironment()
  const target = (await openEvidenceTarget(environment, blobServices(environment, blob)))!
  await target.client.createIfNotExists()
  const started = performance.now()
  const cpu = process.cpuUsage()
  const journal = await Journal.create(runId, {root, sync})
  const sink = await BlobSink.open({root, runId, environmentName: 'local', startedAt: new Date(), target, durableBytes: () => journal.durableBytes})
  // The runner's order: on disk first, then shown (the sink is a listener).
  const show = (event: RunEvent) => journal.append(event).then(() => sink.listener(event))
  const all: Array<Promise<void>> = []
  for (let i = 0; i < eventCount; i += burst) {
    const group: Array<Promise<void>> = []
    for (let j = i; j < Math.min(eventCount, i + burst); j++) group.push(show({type: 'step.log', step: `s${j % 50}`, phase: 'main', message: `line ${j} of the benchmark's output`}))
    if (arrival === 'awaited') await Promise.all(group)
    else {
      all.push(...group)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  await Promise.all(all)
  await journal.close()
  const state = await sink.finish({timeoutMs: 120_000})
  const elapsed = performance.now() - started
  const used = process.cpuUsage(cpu)
  const size = statSync(journal.path).size
  if (state.files['journal.jsonl']?.uploadedBytes !== size) throw new Error(`only ${state.files['journal.jsonl']?.uploadedBytes} of ${size} bytes reached Blob`)
  rmSync(root, {recursive: true, force: true})
  // CPU includes Azurite's (in-process): the whole cost of writing and streaming.
  return {ms: elapsed, cpu: (used.user + used.system) / 1000, fsyncs: journal.fsyncs}
}

/** This disk, now: ms for one append of a journal-sized line and its fsync (about what every awaited group costs). */
async function fsyncMs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-'))
  const handle = await open(join(dir, 'probe.jsonl'), 'a')
  const line = Buffer.from(`${'x'.repeat(250)}\n`)
  const started = performance.now()
  for (let i = 0; i < 200; i++) {
    await handle.write(line)
    await handle.sync()
  }
  const ms = (performance.now() - started) / 200
  await handle.close()
  rmSync(dir, {recursive: true, force: true})
  return ms
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const series = () => ({'per-event': [] as number[], grouped: [] as number[]})
const perStep = series()
const cpuPerStep = series()
const toBlob = {streamed: series(), awaited: series()}
const cpuToBlob = {streamed: series(), awaited: series()}
const fsyncs = {streamed: series(), awaited: series()}
const fsyncProbe: number[] = []
const blob = await startBlobServer()
try {
  await chainedSteps('grouped') // warm-up: module loading and JIT are not what is measured
  await eventsToBlob('grouped', 'streamed', blob)
  for (let round = 0; round < rounds; round++) {
    fsyncProbe.push(await fsyncMs())
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
      const step = await chainedSteps(mode)
      perStep[mode].push(step.wall)
      cpuPerStep[mode].push(step.cpu)
      for (const arrival of ['streamed', 'awaited'] as const) {
        const result = await eventsToBlob(mode, arrival, blob)
        toBlob[arrival][mode].push(result.ms)
        cpuToBlob[arrival][mode].push(result.cpu)
        fsyncs[arrival][mode].push(result.fsyncs)
      }
    }
  }
} finally {
  await blob.close()
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const row = (label: string, old: string, now: string, ratio: string, target: string) =>
  console.log(`  ${label.padEnd(40)}${old.padStart(16)}${now.padStart(16)}${ratio.padStart(10)}   ${target}`)
const verdict = (value: number, limit: number) => (value <= limit ? 'met' : 'NOT met')
const stepNew = median(perStep.grouped)
const stepOld = median(perStep['per-event'])
const streamedNew = median(toBlob.streamed.grouped)
const awaitedNew = median(toBlob.awaited.grouped)
const probe = median(fsyncProbe)

console.log(`journal benchmark: wall-clock, median of ${rounds} alternating rounds; old = one fsync per event, new = grouped`)
console.log(`  this disk now: one append + fsync = ${probe.toFixed(2)} ms`)
row('', 'old journal', 'new journal', 'new/old', 'target')
row(`${steps} chained no-op steps, per step`, `${stepOld.toFixed(3)} ms`, `${stepNew.toFixed(3)} ms`, (stepNew / stepOld).toFixed(2), `≤ 1 ms: ${verdict(stepNew, 1)}`)
row('  of which CPU', `${median(cpuPerStep['per-event']).toFixed(3)} ms`, `${median(cpuPerStep.grouped).toFixed(3)} ms`, '', '')
for (const arrival of ['streamed', 'awaited'] as const) {
  const old = median(toBlob[arrival]['per-event'])
  const now = median(toBlob[arrival].grouped)
  const label = arrival === 'streamed' ? `${eventCount} events to Blob, as a run makes them` : `${eventCount} events to Blob, bursts of ${burst} awaited`
  const target = arrival === 'streamed' ? `≤ 3 s: ${verdict(now, 3000)}` : `bound by its ${Math.ceil(eventCount / burst)} fsyncs in a row (${probe.toFixed(2)} ms each just now)`
  row(label, seconds(old), seconds(now), (now / old).toFixed(2), target)
  row('  of which CPU', seconds(median(cpuToBlob[arrival]['per-event'])), seconds(median(cpuToBlob[arrival].grouped)), '', '')
  row('  events per second', `${Math.round(eventCount / (old / 1000))}`, `${Math.round(eventCount / (now / 1000))}`, '', '')
  row('  fsyncs', `${median(fsyncs[arrival]['per-event'])}`, `${median(fsyncs[arrival].grouped)}`, '', '')
}
// On a shared machine the wall figures also measure everyone else's load: say how much of a core this process got.
const share = (median(cpuPerStep.grouped) * steps + median(cpuToBlob.streamed.grouped)) / (stepNew * steps + streamedNew)
console.log(`  this process had ${Math.round(share * 100)}% of a core during the new journal's runs (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`)
console.log(
  `headline: new/old = ${(stepNew / stepOld).toFixed(2)} per step (${stepNew.toFixed(3)} ms, target ≤ 1 ms), ${(streamedNew / median(toBlob.streamed['per-event'])).toFixed(2)} for ${eventCount} events to Blob (${seconds(streamedNew)}, target ≤ 3 s; ${seconds(awaitedNew)} when each burst of ${burst} is awaited)`,
)
