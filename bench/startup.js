#!/usr/bin/env node
// Startup benchmark (rule 6, issue #11): the CPU and wall time of the commands users type, in a scratch project
// holding the repository's catalog, against two baselines measured in the same run, interleaved so machine noise hits
// all alike:
//   - the floor, `node -e 0`;
//   - "eager": the same command through the plain oclif entry bin/run.js had before TurboFan was deferred (the
//     optimising compiler on from the first instruction), so the ratio after/eager is the saving of bin/run.js's
//     start-up settings on this machine, now.
// CPU is user+sys of the process and its children (what the suite's ~200 CLI children and an on-call engineer's
// shell pay on a shared machine); on Linux it is read from /proc/self/stat (the children's times the benchmark
// reaped), elsewhere only wall time is printed. Needs `npm run build` first. BENCH_RUNS (default 7) runs per case.
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.BENCH_RUNS ?? 7)
const bin = join(root, 'bin', 'run.js')
// bin/run.js without its start-up settings: what it was before (oclif's execute, compiled dist, TurboFan eager).
const eager = [
  '--input-type=module',
  '-e',
  `globalThis.oclif = {enableAutoTranspile: false}; const {execute} = await import(${JSON.stringify(pathToFileURL(join(root, 'node_modules', '@oclif', 'core', 'lib', 'execute.js')).href)}); await execute({dir: ${JSON.stringify(pathToFileURL(bin).href)}, args: process.argv.slice(1)})`,
  '--',
]
const commands = [
  ['--version'],
  ['--help'],
  ['runbooks', 'list'],
  ['catalog', 'validate'],
  ['plan', 'dr-drill', '--env', 'local'],
  ['window', 'status', '--env', 'local'],
  ['runs', 'list'],
]
const cases = {'node -e 0': [process.execPath, ['-e', '0']]}
for (const c of commands) {
  cases[`eager  ${c.join(' ')}`] = [process.execPath, [...eager, ...c]]
  cases[`opsbook ${c.join(' ')}`] = [process.execPath, [bin, ...c]]
}
cases['npx opsbook --help'] = [process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no-install', 'opsbook', '--help']]

const project = mkdtempSync(join(tmpdir(), 'opsbook-bench-startup-'))
copyFileSync(join(root, 'runbooks.yaml'), join(project, 'runbooks.yaml'))
const procStat = process.platform === 'linux'
// Children's user+sys in clock ticks (USER_HZ, 100 on Linux): fields 16 and 17 of /proc/self/stat, after the comm field.
const childTicks = () => {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return Number(fields[13]) + Number(fields[14])
}

const once = (name, [cmd, args]) => {
  const ticks = procStat ? childTicks() : 0
  const start = process.hrtime.bigint()
  // npx runs in the repository (where `opsbook` is this package); every other case in the scratch project.
  const cwd = name.startsWith('npx') ? root : project
  const result = spawnSync(cmd, args, {cwd, stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}: ${String(result.stderr).slice(-400)}`)
  return {wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: procStat ? (childTicks() - ticks) * 10 : NaN}
}

const times = Object.fromEntries(Object.keys(cases).map((k) => [k, {wall: [], cpu: []}]))
try {
  for (const [name, c] of Object.entries(cases)) once(name, c) // warm the file cache
  for (let i = 0; i < runs; i++)
    for (const [name, c] of Object.entries(cases)) {
      const t = once(name, c)
      times[name].wall.push(t.wall)
      times[name].cpu.push(t.cpu)
    }
} finally {
  rmSync(project, {recursive: true, force: true})
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const ms = (x) => (Number.isNaN(x) ? '     -' : x.toFixed(0).padStart(6))
const floor = {wall: median(times['node -e 0'].wall), cpu: median(times['node -e 0'].cpu)}
console.log(`startup benchmark, ${runs} interleaved runs each, medians in ms (CPU = user+sys incl. children${procStat ? '' : ': Linux only'})`)
console.log(`  ${'node -e 0'.padEnd(36)} cpu ${ms(floor.cpu)}  wall ${ms(floor.wall)}`)
let sumEager = 0
let sumAfter = 0
for (const c of commands) {
  const e = times[`eager  ${c.join(' ')}`]
  const a = times[`opsbook ${c.join(' ')}`]
  const [ec, ac] = [median(e.cpu), median(a.cpu)]
  sumEager += ec
  sumAfter += ac
  console.log(
    `  ${`opsbook ${c.join(' ')}`.padEnd(36)} cpu ${ms(ac)} (eager ${ms(ec)}, ratio ${(ac / ec).toFixed(2)}; ${(ac / floor.cpu).toFixed(1)}× node -e 0)  wall ${ms(median(a.wall))} (eager ${ms(median(e.wall))})`,
  )
}
const npx = times['npx opsbook --help']
console.log(`  ${'npx opsbook --help'.padEnd(36)} cpu ${ms(median(npx.cpu))}  wall ${ms(median(npx.wall))}`)
const help = median(times['opsbook --help'].wall)
console.log(`headline: CPU of the ${commands.length} commands ${sumAfter.toFixed(0)} ms vs ${sumEager.toFixed(0)} ms with TurboFan eager: ratio ${(sumAfter / sumEager).toFixed(2)}`)
console.log(`opsbook --help / node -e 0 (wall) = ${(help / floor.wall).toFixed(2)} (target ≤ 2.5)`)
console.log(`npx adds ${(median(npx.wall) - help).toFixed(0)} ms wall, ${(median(npx.cpu) - median(times['opsbook --help'].cpu)).toFixed(0)} ms CPU per command (npm's start-up): call node_modules/.bin/opsbook or an installed \`opsbook\` to skip it`)
