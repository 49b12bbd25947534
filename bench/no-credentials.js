#!/usr/bin/env node
// No-credential benchmark (#17: "without credentials, run, check and doctor print the short message and the
// documented exit code, under 3 s"): the three commands against a real-Azure environment of
// examples/azure-platform.yaml with DefaultAzureCredential pointed at nothing (the environment of
// test/integration/preflight.test.ts: every AZURE_* variable cleared, an empty az profile, the managed-identity
// endpoint on a closed port), against `opsbook --version` measured in the same run, interleaved so machine noise hits
// all alike. Prints medians, the ratio to the baseline and each command's wall time against the 3 s budget.
// Needs `npm run build` first. BENCH_RUNS (default 7) sets the number of rounds.
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.BENCH_RUNS ?? 7)
const home = mkdtempSync(join(tmpdir(), 'opsbook-bench-nocred-'))
const catalog = join(home, 'azure-platform.yaml')
copyFileSync(join(root, 'examples', 'azure-platform.yaml'), catalog)
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AZURE_|IDENTITY_|MSI_|OPSBOOK_EMULATOR)/.test(k)))
Object.assign(env, {HOME: home, AZURE_CONFIG_DIR: home, AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9', CI: 'true', NO_COLOR: '1'})

const bin = join(root, 'bin', 'run.js')
const cases = {
  'opsbook --version': {args: ['--version'], exit: 0},
  'run hello --env staging': {args: ['run', 'hello', '--env', 'staging', '--catalog', catalog], exit: 6},
  'check --env staging': {args: ['check', '--env', 'staging', '--catalog', catalog], exit: 6},
  'doctor --env staging': {args: ['doctor', '--env', 'staging', '--catalog', catalog], exit: 6},
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
const once = (name, {args, exit}) => {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, [bin, ...args], {cwd: home, env, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== exit) throw new Error(`${name} exited ${result.status}, expected ${exit}:\n${result.stderr}`)
  if (exit === 6 && !/no Azure credential/.test(result.stderr + result.stdout)) throw new Error(`${name} did not print the short message:\n${result.stderr}`)
  return ms
}

try {
  for (const [name, c] of Object.entries(cases)) once(name, c) // warm the file cache
  for (let i = 0; i < runs; i++) for (const [name, c] of Object.entries(cases)) times[name].push(once(name, c))
} finally {
  rmSync(home, {recursive: true, force: true})
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const baseline = median(times['opsbook --version'])
console.log(`no-credential benchmark, ${runs} interleaved runs each (ms, wall time of the whole process)`)
for (const [name, xs] of Object.entries(times))
  console.log(`  ${name.padEnd(26)} median ${median(xs).toFixed(0).padStart(6)}  max ${Math.max(...xs).toFixed(0).padStart(6)}  ratio ${(median(xs) / baseline).toFixed(2)}`)
const worst = Math.max(...['run hello --env staging', 'check --env staging', 'doctor --env staging'].map((k) => median(times[k])))
console.log(`headline: slowest no-credential command ${(worst / 1000).toFixed(2)} s median (budget 3 s), ${(worst / baseline).toFixed(2)}× opsbook --version`)
