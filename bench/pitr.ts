/**
 * PostgreSQL data-plane benchmark, all in one run:
 * 1. the emulator's point-in-time restore of a ~100 MB database (base backup + WAL replay to a point after the bulk
 *    load) — the figure is the restore's wall time, against the time to copy the same data directory (the floor);
 * 2. `dr-drill --env local` through the CLI against an emulator with real PostgreSQL processes, against the same drill
 *    with the modelled data plane: the ratio is what reading real data costs a drill.
 * Run: `npm run build && npx tsx bench/pitr.ts` (BENCH_PITR_MB sets the size).
 */
import {spawn} from 'node:child_process'
import {chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadOrCreateCertificate, loadOrCreatePostgresCertificate} from '../src/emulator/certificate.js'
import {PostgresEngine} from '../src/emulator/engines/postgres.js'
import {startEmulator} from '../src/emulator/server.js'

const root = join(import.meta.dirname, '..')
const megabytes = Number(process.env.BENCH_PITR_MB ?? 100)

async function pitrOfBigDatabase(): Promise<{restoreMs: number; copyMs: number; sizeMb: number}> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-pitr-'))
  // The servers run as another user when this runs as root: let it reach the folder.
  chmodSync(dir, 0o755)
  const ca = await loadOrCreateCertificate(join(dir, 'certs'))
  const engine = new PostgresEngine({rootDir: join(dir, 'pg'), tls: await loadOrCreatePostgresCertificate(join(dir, 'certs'), ca)})
  try {
    await engine.ensure('big')
    // ~1 KB per row: the base backup is taken before, so the restore replays all of it from the WAL archive.
    await engine.query('big', `CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 32) AS payload, clock_timestamp() AS at FROM generate_series(1, ${megabytes * 1000}) g`)
    const [size] = await engine.query<{mb: number}>('big', "SELECT pg_database_size('postgres') / 1048576 AS mb")
    const point = new Date()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = performance.now()
    await engine.restore('big', 'big-copy', point)
    const restoreMs = performance.now() - started
    const [rows] = await engine.query<{n: string}>('big-copy', 'SELECT count(*) AS n FROM filler')
    if (Number(rows!.n) !== megabytes * 1000) throw new Error(`the copy has ${rows!.n} rows, expected ${megabytes * 1000}`)
    await engine.drop('big-copy', 'all')
    const copyStarted = performance.now()
    cpSync(join(dir, 'pg', 'big', 'data'), join(dir, 'plain-copy'), {recursive: true})
    return {restoreMs, copyMs: performance.now() - copyStarted, sizeMb: Number(size!.mb)}
  } finally {
    await engine.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}

async function drill(dataPlane: 'real' | 'modelled'): Promise<{ms: number; rpo?: number}> {
  const emulator = await startEmulator({catalogFile: join(root, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 1000, dataPlane, load: dataPlane === 'real'})
  const cwd = mkdtempSync(join(tmpdir(), 'opsbook-bench-drill-'))
  writeFileSync(join(cwd, 'runbooks.yaml'), readFileSync(join(root, 'runbooks.yaml')))
  try {
    const started = performance.now()
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'run', 'dr-drill', '--env', 'local', '--json', '--yes', '--param', 'geo=never'], {cwd, env: {...process.env, ...emulator.env(), CI: 'true'}})
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`dr-drill (${dataPlane}) exited ${code}`))))
    })
    const rows = JSON.parse(stdout).objectives as Array<{component: string; rpo: {measuredMs?: number}}>
    return {ms: performance.now() - started, rpo: rows.find((r) => r.component === 'orders-db')?.rpo.measuredMs}
  } finally {
    await emulator.stop()
    rmSync(cwd, {recursive: true, force: true})
  }
}

const pitr = await pitrOfBigDatabase()
console.log(`PITR of a ${pitr.sizeMb} MB database: ${(pitr.restoreMs / 1000).toFixed(2)} s (copying its data directory: ${(pitr.copyMs / 1000).toFixed(2)} s; ratio ${(pitr.restoreMs / pitr.copyMs).toFixed(1)})`)
const modelled = await drill('modelled')
const real = await drill('real')
console.log(`dr-drill wall time: real data plane ${(real.ms / 1000).toFixed(1)} s (PostgreSQL RPO ${real.rpo} ms, read from the copy) vs modelled ${(modelled.ms / 1000).toFixed(1)} s (RPO ${modelled.rpo} ms, modelled): ratio ${(real.ms / modelled.ms).toFixed(2)}`)
