/**
 * Soak (issue 16): consecutive dr-drill runs in one process against one emulator, each with a random fault of the
 * matrix (or none), every run checked like a fault-matrix cell (exit code, nothing left behind through ARM, local
 * journal = Blob after sync, evidence verify). Prints memory (RSS, heap) and open handles at the start, the middle and
 * the end, with the ratio against the start (after one warm-up drill), and what ARM lists at the end.
 * After every drill the heap is measured per V8 space after a full GC. The emulator's bounded histories (request log,
 * finished operations, activity log) are set low (LIMITS), so they are full after the first ~12 drills; the window
 * judged is every drill after that point. The verdict is on the object spaces (old, new, large-object: everything
 * but V8's compiled code) net of the evidence the drills stored: slope under 50 KB a drill and the last 10 drills
 * within 10 % of the first 10 of the window. Code space (V8's compiled code, which grows as more functions get hot
 * and shrinks when optimized code is thrown away) is printed per space but not judged: it holds no data of the program. Handles, open file descriptors and child processes (redis-server…) are compared at the start
 * and the end; it ends `verdict: flat` or names what grew (exit 1). bench/README.md says why these figures.
 * Faults that need a second process (SIGKILL, concurrent resume) are left out: the soak measures this process.
 *
 * The emulator runs as `opsbook emulator start` runs it, with a state directory (a temporary one, removed at the
 * end): Blob contents are files there, not heap. What the drills legitimately keep — every run's evidence is stored
 * in Blob, and Azurite keeps its blob index (LokiJS) in memory by design — is measured at the end: the evidence is
 * deleted and the objects freed are the stored data's share (both are printed).
 * `--in-memory` keeps the emulator's blobs in the heap instead (the library default, as tests use it).
 * `--heap-snapshots 20,60` writes V8 heap snapshots after those drills (BENCH_SOAK_SNAPSHOT_DIR); compare two with
 * `node --max-old-space-size=6000 bench/heap-diff.mjs soak-20.heapsnapshot soak-60.heapsnapshot`.
 * BENCH_SOAK_SPACES_FILE=f.jsonl appends each drill's heap by space to f. `--max-seconds N` starts no drill after N s.
 * Run: `npx tsx bench/soak.ts --drills 50 --seed 16` (or BENCH_SOAK_DRILLS / BENCH_SOAK_SEED; 200 drills by default).
 */
import {execFileSync} from 'node:child_process'
import {appendFileSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {getHeapSpaceStatistics, writeHeapSnapshot} from 'node:v8'
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
/** `--max-seconds N`: start no drill after N seconds and judge the drills that ran (the report says how many); 0: none. */
const maxSeconds = setting('max-seconds', 'BENCH_SOAK_MAX_SECONDS', 0)
let seed = initialSeed
/** `--heap-snapshots 20,60`: write a V8 heap snapshot after these drills (after the settle), to compare by constructor. */
const snapshotAt = (process.argv[process.argv.indexOf('--heap-snapshots') + 1] ?? '').split(',').filter(() => process.argv.includes('--heap-snapshots')).map(Number)
const snapshotDir = process.env.BENCH_SOAK_SNAPSHOT_DIR ?? process.cwd()
/** A small deterministic generator, so a failing sequence can be replayed with the same seed. */
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
/**
 * The emulator's bounded histories, set low so they are full after the first drills (a drill makes ~170-250 requests,
 * ~15 operations, ~12 activity events plus one per ARM write the emulator accepted — ~19 in a whole-estate drill,
 * the Activity Log witness's record, services/activity-log.ts; the token-expiry cell reads its whole drill back from
 * the request log). At the defaults (10,000 requests, 500 operations, 5,000 events) they fill until drill ~65, ~35 and
 * ~160: growth that stops
 * by design, which a 200-drill soak could not tell from a leak. Their bounds have tests of their own.
 */
const LIMITS = {requestLog: 2000, finishedOperations: 100, activity: 200}
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

/** MB used per V8 heap space (old_space, code_space, large_object_space…). */
function heapSpaces(): Record<string, number> {
  return Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size / 2 ** 20]))
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
  const emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100, tokenLifetimeSeconds: 10, stateDir, limits: LIMITS})
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
  /** Heap by V8 space (MB used, after the same GC) after each measured drill. */
  const spacesByDrill: Array<[number, Record<string, number>]> = []
  /** The first drill measured with every bounded history full (request log, finished operations, activity log). */
  let steadyFrom: number | undefined
  const finishedOperations = () => emulator.state.operations().filter((o) => o.status !== 'InProgress').length
  const boundedFull = () =>
    emulator.requestLog().length >= LIMITS.requestLog && finishedOperations() >= LIMITS.finishedOperations && emulator.state.activity.list().length >= LIMITS.activity
  const counts = new Map<string, number>()
  const failures: string[] = []
  const started = Date.now()
  /** Drills run (the last one's number) and, when the time budget ended the soak, what it says. */
  let ran = 0
  let stoppedEarly: string | undefined
  const held = () =>
    `emulator holds ${emulator.state.operations().length} operations (${finishedOperations()} finished, bound ${LIMITS.finishedOperations}), ${emulator.requestLog().length} of ${emulator.requestCount()} requests logged (bound ${LIMITS.requestLog}), ${emulator.state.activity.list().length} activity events (bound ${LIMITS.activity}); output redactor: ${outputRedactor().size} secret forms`
  try {
    for (let i = 0; i <= drills; i++) {
      if (maxSeconds > 0 && i > 1 && Date.now() - started > maxSeconds * 1000) {
        stoppedEarly = `stopped by --max-seconds ${maxSeconds} after drill ${ran} of ${drills}`
        process.stderr.write(`${stoppedEarly}\n`)
        break
      }
      // Drill 0 is the warm-up (modules loaded, clients built, caches filled): the start is measured after it.
      const fault = i === 0 ? 'none' : FAULTS[Math.floor(random() * FAULTS.length)]!
      try {
        const row = await runCell(ctx, 'dr-drill', fault)
        counts.set(`${fault} → ${row.exit}`, (counts.get(`${fault} → ${row.exit}`) ?? 0) + 1)
      } catch (error) {
        failures.push(`drill ${i} (${fault}): ${(error as Error).message.split('\n')[0]}`)
      }
      ran = i
      if (i > 0) {
        global.gc?.()
        heapByDrill.push([i, process.memoryUsage().heapUsed / 2 ** 20])
        spacesByDrill.push([i, heapSpaces()])
        if (steadyFrom === undefined && boundedFull()) steadyFrom = i + 1
        if (process.env.BENCH_SOAK_SPACES_FILE) appendFileSync(process.env.BENCH_SOAK_SPACES_FILE, JSON.stringify({drill: i, fault, spaces: spacesByDrill.at(-1)![1]}) + '\n')
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
    console.log(`soak: ${ran} dr-drill runs with random faults in ${Math.round((Date.now() - started) / 1000)} s (seed ${initialSeed})${stoppedEarly ? ` — ${stoppedEarly}` : ''}`)
    console.log('| at     | RSS MB | × start | heap MB | × start | handles | × start | fds | children |')
    console.log('| ------ | ------ | ------- | ------- | ------- | ------- | ------- | --- | -------- |')
    for (const s of samples)
      console.log(
        `| ${s.at.padEnd(6)} | ${s.rssMb.toFixed(0).padStart(6)} | ${(s.rssMb / first.rssMb).toFixed(2).padStart(7)} | ${s.heapMb.toFixed(0).padStart(7)} | ${(s.heapMb / first.heapMb).toFixed(2).padStart(7)} | ${String(s.handles).padStart(7)} | ${(s.handles / first.handles).toFixed(2).padStart(7)} | ${String(s.fds).padStart(3)} | ${String(s.children).padStart(8)} |`,
      )
    const last = samples.at(-1)!
    // The window judged: the drills measured after every bounded history was full (LIMITS); without that point
    // (too few drills), the second half.
    const window = heapByDrill.filter(([i]) => steadyFrom !== undefined && i >= steadyFrom).length >= 20 ? heapByDrill.findIndex(([i]) => i >= steadyFrom!) : Math.floor(heapByDrill.length / 2)
    const judged = spacesByDrill.slice(window)
    const ends = Math.min(10, Math.floor(judged.length / 2))
    console.log(
      steadyFrom !== undefined && window === heapByDrill.findIndex(([i]) => i >= steadyFrom!)
        ? `bounded histories (request log ${LIMITS.requestLog}, finished operations ${LIMITS.finishedOperations}, activity log ${LIMITS.activity}) full from drill ${steadyFrom}: judged over drills ${judged[0]?.[0]}-${judged.at(-1)?.[0]} (${judged.length})`
        : `bounded histories not full for 20 drills (${steadyFrom === undefined ? 'never full' : `full from drill ${steadyFrom}`}): judged over the second half, drills ${judged[0]?.[0]}-${judged.at(-1)?.[0]}`,
    )
    // Per V8 space, after a full GC: the mean of the first and last drills of the window, and the slope over it.
    const spaceNames = Object.keys(judged[0]?.[1] ?? {}).filter((name) => judged.some(([, s]) => (s[name] ?? 0) > 0.01))
    const perSpace = (pick: (s: Record<string, number>) => number) => {
      const firstMb = mean(judged.slice(0, ends).map(([, s]) => pick(s)))
      const lastMb = mean(judged.slice(-ends).map(([, s]) => pick(s)))
      return {firstMb, lastMb, kbPerDrill: slope(judged.map(([i, s]) => [i, pick(s)])) * 1024}
    }
    /** What JavaScript objects take (old, new and large-object spaces): everything but V8's compiled code. */
    const objects = (s: Record<string, number>) => Object.entries(s).filter(([name]) => !name.startsWith('code')).reduce((a, [, mb]) => a + mb, 0)
    console.log(`heap by space after GC (MB; first ${ends} / last ${ends} drills of the window, slope):`)
    for (const name of spaceNames) {
      const {firstMb, lastMb, kbPerDrill} = perSpace((s) => s[name] ?? 0)
      console.log(`  ${name.padEnd(24)} ${firstMb.toFixed(1).padStart(7)} → ${lastMb.toFixed(1).padStart(7)}  ${kbPerDrill.toFixed(1).padStart(7)} KB/drill`)
    }
    const object = perSpace(objects)
    console.log(`  ${'objects (all but code)'.padEnd(24)} ${object.firstMb.toFixed(1).padStart(7)} → ${object.lastMb.toFixed(1).padStart(7)}  ${object.kbPerDrill.toFixed(1).padStart(7)} KB/drill`)
    const whole = perSpace((s) => Object.values(s).reduce((a, b) => a + b, 0))
    console.log(`  ${'whole heap'.padEnd(24)} ${whole.firstMb.toFixed(1).padStart(7)} → ${whole.lastMb.toFixed(1).padStart(7)}  ${whole.kbPerDrill.toFixed(1).padStart(7)} KB/drill`)
    console.log(`handles ${first.handles} → ${last.handles}, fds ${first.fds} → ${last.fds}, child processes ${first.children} → ${last.children}; ${held()}`)
    console.log(`outcomes: ${[...counts].map(([k, v]) => `${k} ×${v}`).join(', ')}`)
    console.log(`left behind (through ARM): ${scratch.length} scratch server(s)${scratch.length ? ` (${scratch.map((s) => s.name).join(', ')})` : ''}, ${running.length} operation(s) still running`)
    console.log(failures.length ? `${failures.length} drill(s) did not end as their cell must:\n${failures.join('\n')}` : 'every drill ended as its cell must')
    // The stored data's share: every run's evidence deleted from Blob, and the object heap measured again. What that
    // frees, a drill's worth at a time, is what the drills asked the emulator to store (in memory: Azurite's blob
    // index, and with --in-memory the blocks too), not something opsbook or the emulator holds on to.
    let storedKbPerDrill = 0
    if (ctx.evidence) {
      let blobs = 0
      for await (const blob of ctx.evidence.client.listBlobsFlat({prefix: 'runs/'})) {
        await ctx.evidence.client.deleteBlob(blob.name).catch(() => undefined)
        blobs++
      }
      const before = objects(spacesByDrill.at(-1)![1])
      await settle()
      const freed = Math.max(0, before - objects(heapSpaces()))
      // Drill 0 (the warm-up) stored its evidence too.
      storedKbPerDrill = (freed * 1024) / (ran + 1)
      console.log(
        `evidence stored in Blob (${stateDir ? "blocks on disk, Azurite's index in memory" : 'in memory'}): ${blobs} blobs; deleting them freed ${freed.toFixed(1)} MB of objects (${storedKbPerDrill.toFixed(1)} KB/drill)`,
      )
    }
    // The verdict, on objects net of the stored evidence over the window: under 50 KB a drill (200 drills would add
    // < 10 MB) and the last drills within 10 % of the first. V8's code space (compiled functions) is printed above
    // but not judged: it is no object the program keeps (bench/README.md).
    const span = mean(judged.slice(-ends).map(([i]) => i)) - mean(judged.slice(0, ends).map(([i]) => i))
    const netLast = object.lastMb - (storedKbPerDrill * span) / 1024
    const netKbPerDrill = object.kbPerDrill - storedKbPerDrill
    console.log(
      `objects net of stored evidence: first ${ends} drills ${object.firstMb.toFixed(1)} MB, last ${ends} ${netLast.toFixed(1)} MB (× ${(netLast / object.firstMb).toFixed(2)}); slope ${netKbPerDrill.toFixed(1)} KB/drill`,
    )
    const grew: string[] = []
    if (!(netLast <= object.firstMb * 1.1 && netKbPerDrill < 50)) grew.push(`objects net of stored evidence (${object.firstMb.toFixed(1)} → ${netLast.toFixed(1)} MB, ${netKbPerDrill.toFixed(1)} KB/drill)`)
    if (last.handles > first.handles + 2) grew.push(`handles (${first.handles} → ${last.handles})`)
    if (last.fds > first.fds + 2) grew.push(`file descriptors (${first.fds} → ${last.fds})`)
    if (last.children > first.children) grew.push(`child processes (${first.children} → ${last.children})`)
    console.log(grew.length ? `verdict: GROWS — ${grew.join('; ')}` : `verdict: flat (objects net of stored evidence, handles, fds, child processes)`)
    process.exitCode = failures.length || scratch.length || running.length || grew.length ? 1 : 0
  } finally {
    await emulator.stop()
    if (stateDir) rmSync(stateDir, {recursive: true, force: true})
  }
}

await main()
