#!/usr/bin/env node
// `npm test` (after pretest, which builds dist/): vitest, with the typecheck of src + test + bench beside it instead of
// before it. Fails if either fails; the typecheck's output is printed after vitest's.
//
// Why beside: the tests need the build (dist/), not the typecheck, and tsc is one thread. In a clean clone (CI, a new
// developer) the typecheck has no tsbuildinfo yet and costs ~30 s of CPU (28.6 s user + 3.2 s sys here): before, the
// tests waited for it (pretest ran build and typecheck side by side, and the build is a no-op after `npm ci`'s prepare:
// 0.9 s user), ~14 s of the idle CI's npm test and ~30 s beside a CPU hog (tsc on one core, the hog on the other).
// Beside the tests it takes CPU the test workers leave idle (they wait on emulators, child processes and timers: the
// suite used ~1.3 of the 2 cores in CI) or shares it with them, and is done long before the suite (~4 min). It runs
// at the normal priority: at nice 10 on a machine at load 17 it got so little CPU that npm test of one 30-s file then
// waited 2 minutes for it (185 s wall against 99 s). An incremental typecheck (a second `npm test`) is ~2 s of CPU
// either way. Arguments go to vitest (`npm test -- test/x.test.ts`).
import {spawn} from 'node:child_process'
import {join} from 'node:path'

const root = join(import.meta.dirname, '..')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')

let typecheckOutput = ''
const typecheck = new Promise((resolve) => {
  const child = spawn(process.execPath, [tsc, '-b', 'tsconfig.test.json'], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout.on('data', (d) => (typecheckOutput += d))
  child.stderr.on('data', (d) => (typecheckOutput += d))
  child.on('error', (error) => resolve({code: 1, error}))
  child.on('close', (code, signal) => resolve({code: code ?? 1, signal}))
})

const tests = new Promise((resolve) => {
  const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {cwd: root, stdio: 'inherit'})
  child.on('error', (error) => resolve({code: 1, error}))
  child.on('close', (code, signal) => resolve({code: code ?? 1, signal}))
})

const testResult = await tests
const typecheckResult = await typecheck
if (typecheckResult.code !== 0) {
  process.stdout.write(`\n> typecheck (tsc -b tsconfig.test.json) failed\n${typecheckOutput}${typecheckResult.error ? `${typecheckResult.error.message}\n` : ''}`)
}
if (testResult.signal) process.kill(process.pid, testResult.signal)
process.exitCode = testResult.code !== 0 ? testResult.code : typecheckResult.code !== 0 ? 1 : 0
