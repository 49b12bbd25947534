/**
 * Soak (issue 16): consecutive dr-drill runs in one process against one emulator, each with a random fault of the
 * matrix (or none), every run checked like a fault-matrix cell (exit code, nothing left behind through ARM, local
 * journal = Blob after sync, evidence verify). Prints memory (RSS, heap) and open handles at the start, the middle and
 * the end, with the ratio against the start (after one warm-up drill), and what ARM lists at the end.
 * After every drill the heap is measured after a full GC: the verdict compares the mean of the first 10 drills with
 * the last 10 and fits a slope (KB per drill) over the second half, and compares handles, open file descriptors and
 * child processes (redis-server…) at the start and the end; it ends `verdict: flat` or names what grew (exit 1).
 * Faults that need a second process (SIGKILL, concurrent resume) are left out: the soak measures this process.
 *
 * The emulator runs as `opsbook emulator start` runs it, with a state directory (a temporary one, removed at the
 * end): Blob contents are files there, not heap. What the drills legitimately keep — every run's evidence is stored
 * in Blob, and Azurite keeps its blob index (LokiJS) in memory by design — is measured at the end: the evidence is
 * deleted and the heap freed is the stored data's share. The verdict is on the heap growth net of that share (both
 * are printed), so it measures what opsbook and the emulator hold, not what the user asked them to store.
 * `--in-memory` keeps the emulator's blobs in the heap instead (the library default, as tests use it).
 * Run: `npx tsx bench/soak.ts --drills 50 --seed 16` (or BENCH_SOAK_DRILLS / BENCH_SOAK_SEED; 200 drills by default).
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {writeHeapSnapshot} from 'node:v8'
import {startEmulator} from '../src/emulator/server.js'
import {outputRedactor} from '../src/evidence/writer.js'
import {runCell, type Fault, type MatrixContext} from '../test/integration/fault-cells.js'
import {postgresServers, repoRoot, sdkServices} from '../test/integration/support.js'

/** `--name value` on the command line, else the environment variable, else the default. */
function setting(name: string, env: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  const value = Number(at >= 0 ? process.argv[at + 1] : (process.env[env] ?? fallback))
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} expects a whole number, got ${process.argv[at + 1] ?? process.env[env]}`)
  return value
}
const drills = setting('drills', 'BENCH_SOAK_DRILLS', 200)
const initialSeed = setting('seed', 'BENCH_SOAK_SEED', 16)
let seed = initialSeed
/** `--heap-snapshots 20,60`: write a V8 heap snapshot after these drills (after the settle), to compare by constructor. */
const snapshotAt = (process.argv[process.argv.indexOf('--heap-snapshots') + 1] ?? '').split(',').filter(() => process.argv.includes('--heap-snapshots')).map(Number)
const snapshotDir = process.env.BENCH_SOAK_SNAPSHOT_DIR ?? process.cwd()
/** A small deterministic generator, so a failing sequence can be replayed with the same seed. */
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
const FAULTS: Array<Fault | 'none'> = ['none', '429 burst', '500/503', 'conn reset', 'LRO failed', 'token expiry', 'Blob down', 'lease lost', 'SIGINT', 'double SIGINT', 'disk full']

interface Sample {
  at: string
  rssMb: number
  heapMb: number
  handles: number
  /** Open file descriptors (/proc/self/fd; NaN where there is none). */
  fds: number
  /** Live child processes of this one (engines the emulator started…). */
  children: number
  /** Active resources by type (Timeout, TCPSocketWrap, FSReqCallback…): where a growth comes from. */
  byType: Record<string, number>
}

function sample(at: string, ports: Map<number, string>): Sample {
  const memory = process.memoryUsage()
  // Timers, sockets, servers, file handles… that keep the event loop alive (the emulator's own included).
  const resources = process.getActiveResourcesInfo()
  const byType: Record<string, number> = {}
  for (const type of resources) byType[type] = (byType[type] ?? 0) + 1
  // Sockets by what they connect: the emulator's side of a connection (its ARM, identity, Blob or slot servers) or
  // this process's client side, named by the server it reaches — a leak shows which client keeps its connections.
  for (const handle of (process as unknown as {_getActiveHandles(): unknown[]})._getActiveHandles())
    if (handle instanceof Socket && handle.remotePort !== undefined) {
      const key = ports.has(handle.localPort!) ? `served by ${ports.get(handle.localPort!)}` : `to ${ports.get(handle.remotePort) ?? `port ${handle.remotePort}`}`
      byType[key] = (byType[key] ?? 0) + 1
    }
  return {at, rssMb: memory.rss / 2 ** 20, heapMb: memory.heapUsed / 2 ** 20, handles: resources.length, fds: openFds(), children: childProcesses(), byType}
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return Number.NaN
  }
}

/** Child processes still alive (ps exits 1 when there are none). */
function childProcesses(): number {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], {encoding: 'utf8'}).trim().split('\n').filter((l) => l.trim()).length
  } catch {
    return 0
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

/**
 * Before a sample: garbage collected, and the idle keep-alive connections of the last requests given time to close
 * (Node's servers drop an idle one after 5 s, the emulator's slot hosts after 1 s). Sampled at once, those come and
 * go with the timing of the drill's last requests and hide a real trend.
 */
async function settle(): Promise<void> {
  global.gc?.()
  await new Promise((resolve) => setTimeout(resolve, 6000))
  global.gc?.()
}

async function main(): Promise<void> {
  const stateDir = process.argv.includes('--in-memory') ? undefined : mkdtempSync(join(tmpdir(), 'opsbook-soak-'))
  const emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100, tokenLifetimeSeconds: 10, stateDir})
  Object.assign(process.env, emulator.env())
  const ctx = {emulator, n: 0} as MatrixContext
  const portOf = (url: string) => Number(new URL(url).port)
  const ports = new Map<number, string>([
    [portOf(emulator.armEndpoint), 'emulator ARM'],
    [portOf(emulator.identityEndpoint), 'emulator identity'],
    [portOf(emulator.blob.endpoint), 'Azurite'],
  ])
  const samples: Sample[] = []
  /** Heap (MB, after a full GC) after each measured drill: [drill, MB]. */
  const heapByDrill: Array<[number, number]> = []
  const counts = new Map<string, number>()
  const failures: string[] = []
  const started = Date.now()
  const held = () => `emulator holds ${emulator.state.operations().length} operations, ${emulator.requestLog().length} of ${emulator.requestCount()} requests logged; output redactor: ${outputRedactor().size} secret forms`
  try {
    for (let i = 0; i <= drills; i++) {
      // Drill 0 is the warm-up (modules loaded, clients built, caches filled): the start is measured after it.
      const fault = i === 0 ? 'none' : FAULTS[Math.floor(random() * FAULTS.length)]!
      try {
        const row = await runCell(ctx, 'dr-drill', fault)
        counts.set(`${fault} → ${row.exit}`, (counts.get(`${fault} → ${row.exit}`) ?? 0) + 1)
      } catch (error) {
        failures.push(`drill ${i} (${fault}): ${(error as Error).message.split('\n')[0]}`)
      }
      if (i > 0) {
        global.gc?.()
        heapByDrill.push([i, process.memoryUsage().heapUsed / 2 ** 20])
      }
      const sampled = i === 0 || i === Math.ceil(drills / 2) || i % 10 === 0 || snapshotAt.includes(i) || process.env.BENCH_SOAK_TRACE
      if (sampled) await settle()
      if (i === 0) samples.push(sample('start', ports))
      if (i === Math.ceil(drills / 2)) samples.push(sample('middle', ports))
      if (snapshotAt.includes(i)) process.stderr.write(`heap snapshot after drill ${i}: ${writeHeapSnapshot(join(snapshotDir, `soak-${i}.heapsnapshot`))}\n`)
      if (sampled) {
        const now = sample(String(i), ports)
        process.stderr.write(`drill ${i}/${drills} ${fault} (${Math.round((Date.now() - started) / 1000)} s): ${now.handles} handles ${JSON.stringify(now.byType)}, ${now.fds} fds, ${now.children} children, heap ${now.heapMb.toFixed(0)} MB, RSS ${now.rssMb.toFixed(0)} MB; ${held()}\n`)
      }
    }
    await settle()
    samples.push(sample('end', ports))
    const services = sdkServices(emulator)
    const scratch = (await postgresServers(services)).filter((s) => s.tags['opsbook-scratch'] === 'true')
    const running = emulator.state.operations().filter((o) => o.status === 'InProgress')
    const first = samples[0]!
    console.log(`soak: ${drills} dr-drill runs with random faults in ${Math.round((Date.now() - started) / 1000)} s (seed ${initialSeed})`)
    console.log('| at     | RSS MB | × start | heap MB | × start | handles | × start | fds | children |')
    console.log('| ------ | ------ | ------- | ------- | ------- | ------- | ------- | --- | -------- |')
    for (const s of samples)
      console.log(
        `| ${s.at.padEnd(6)} | ${s.rssMb.toFixed(0).padStart(6)} | ${(s.rssMb / first.rssMb).toFixed(2).padStart(7)} | ${s.heapMb.toFixed(0).padStart(7)} | ${(s.heapMb / first.heapMb).toFixed(2).padStart(7)} | ${String(s.handles).padStart(7)} | ${(s.handles / first.handles).toFixed(2).padStart(7)} | ${String(s.fds).padStart(3)} | ${String(s.children).padStart(8)} |`,
      )
    const last = samples.at(-1)!
    const window = Math.min(10, Math.floor(heapByDrill.length / 2))
    const firstHeap = mean(heapByDrill.slice(0, window).map(([, mb]) => mb))
    const lastHeap = mean(heapByDrill.slice(-window).map(([, mb]) => mb))
    // The second half: the first drills still fill caches that are bounded (request log, finished operations…).
    const kbPerDrill = slope(heapByDrill.slice(Math.floor(heapByDrill.length / 2))) * 1024
    console.log(
      `heap after GC: first ${window} drills ${firstHeap.toFixed(1)} MB, last ${window} ${lastHeap.toFixed(1)} MB (× ${(lastHeap / firstHeap).toFixed(2)}); slope over the second half ${kbPerDrill.toFixed(0)} KB/drill`,
    )
    console.log(`handles ${first.handles} → ${last.handles}, fds ${first.fds} → ${last.fds}, child processes ${first.children} → ${last.children}; ${held()}`)
    console.log(`outcomes: ${[...counts].map(([k, v]) => `${k} ×${v}`).join(', ')}`)
    console.log(`left behind (through ARM): ${scratch.length} scratch server(s)${scratch.length ? ` (${scratch.map((s) => s.name).join(', ')})` : ''}, ${running.length} operation(s) still running`)
    console.log(failures.length ? `${failures.length} drill(s) did not end as their cell must:\n${failures.join('\n')}` : 'every drill ended as its cell must')
    // The stored data's share: every run's evidence deleted from Blob, and the heap measured again. What that frees,
    // a drill's worth at a time, is what the drills asked the emulator to store (in memory: Azurite's blob index, and
    // with --in-memory the blocks too), not something opsbook or the emulator holds on to.
    let storedKbPerDrill = 0
    if (ctx.evidence) {
      let blobs = 0
      for await (const blob of ctx.evidence.client.listBlobsFlat({prefix: 'runs/'})) {
        await ctx.evidence.client.deleteBlob(blob.name).catch(() => undefined)
        blobs++
      }
      await settle()
      const freed = Math.max(0, last.heapMb - process.memoryUsage().heapUsed / 2 ** 20)
      // Drill 0 (the warm-up) stored its evidence too.
      storedKbPerDrill = (freed * 1024) / (drills + 1)
      console.log(
        `evidence stored in Blob (${stateDir ? 'blocks on disk, Azurite\'s index in memory' : 'in memory'}): ${blobs} blobs; deleting them freed ${freed.toFixed(1)} MB of heap (${storedKbPerDrill.toFixed(0)} KB/drill)`,
      )
    }
    // Net of the stored evidence: the slope less a drill's evidence, and the last drills less the evidence stored
    // between the two windows.
    const span = mean(heapByDrill.slice(-window).map(([i]) => i)) - mean(heapByDrill.slice(0, window).map(([i]) => i))
    const netLastHeap = lastHeap - (storedKbPerDrill * span) / 1024
    const netKbPerDrill = kbPerDrill - storedKbPerDrill
    console.log(
      `heap net of stored evidence: first ${window} drills ${firstHeap.toFixed(1)} MB, last ${window} ${netLastHeap.toFixed(1)} MB (× ${(netLastHeap / firstHeap).toFixed(2)}); slope over the second half ${netKbPerDrill.toFixed(0)} KB/drill`,
    )
    const grew: string[] = []
    // Flat: the last 10 drills within 10 % of the first 10 and under 50 KB a drill over the second half (200 drills
    // would add < 10 MB), both net of stored evidence; handles, fds and children no more than at the start, give or
    // take two.
    if (!(netLastHeap <= firstHeap * 1.1 && netKbPerDrill < 50)) grew.push(`heap net of stored evidence (${firstHeap.toFixed(1)} → ${netLastHeap.toFixed(1)} MB, ${netKbPerDrill.toFixed(0)} KB/drill)`)
    if (last.handles > first.handles + 2) grew.push(`handles (${first.handles} → ${last.handles})`)
    if (last.fds > first.fds + 2) grew.push(`file descriptors (${first.fds} → ${last.fds})`)
    if (last.children > first.children) grew.push(`child processes (${first.children} → ${last.children})`)
    console.log(grew.length ? `verdict: GROWS — ${grew.join('; ')}` : `verdict: flat (heap net of stored evidence, handles, fds, child processes)`)
    process.exitCode = failures.length || scratch.length || running.length || grew.length ? 1 : 0
  } finally {
    await emulator.stop()
    if (stateDir) rmSync(stateDir, {recursive: true, force: true})
  }
}

await main()
