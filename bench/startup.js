#!/usr/bin/env node
// Startup benchmark: `opsbook --help` against the floor `node -e 0`, measured in the same run, interleaved so
// machine noise hits both alike. Prints both medians and the ratio (target ≤ 2.5). Needs `npm run build` first.
// Also measures what users type: `npx opsbook …` (npm's own start-up comes on top of opsbook's) and a real command
// that loads the catalog (`window status`), so the README's figures match the experience.
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.BENCH_RUNS ?? 20)
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'opsbook --help': [process.execPath, [join(root, 'bin', 'run.js'), '--help']],
  'opsbook runbooks --help': [process.execPath, [join(root, 'bin', 'run.js'), 'runbooks', '--help']],
  'opsbook window status': [process.execPath, [join(root, 'bin', 'run.js'), 'window', 'status', '--env', 'local']],
  'npx opsbook --help': [process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no-install', 'opsbook', '--help']],
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))

const once = ([cmd, args]) => {
  const start = process.hrtime.bigint()
  const result = spawnSync(cmd, args, {cwd: root, stdio: 'ignore', env: {...process.env, NO_COLOR: '1'}})
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}`)
  return Number(process.hrtime.bigint() - start) / 1e6
}

for (const c of Object.values(cases)) once(c) // warm the file cache
for (let i = 0; i < runs; i++) for (const [name, c] of Object.entries(cases)) times[name].push(once(c))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const floor = median(times['node -e 0'])
console.log(`startup benchmark, ${runs} interleaved runs each (ms)`)
for (const [name, xs] of Object.entries(times))
  console.log(`  ${name.padEnd(26)} median ${median(xs).toFixed(1).padStart(7)}  mean ${mean(xs).toFixed(1).padStart(7)}  ratio ${(median(xs) / floor).toFixed(2)}`)
const ratio = median(times['opsbook --help']) / floor
console.log(`headline: opsbook --help / node -e 0 = ${ratio.toFixed(2)} (target ≤ 2.5)`)
const npx = median(times['npx opsbook --help']) - median(times['opsbook --help'])
console.log(`npx adds ${npx.toFixed(0)} ms per command (npm's start-up): call node_modules/.bin/opsbook or an installed \`opsbook\` to skip it`)
