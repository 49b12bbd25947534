/**
 * Validation scaling (issue 16: validation time grew with the square of the steps, 8,000 steps took 26.7 s): a chain
 * of N `core.log` steps, each reading the step before it (`needs` and `${{ steps.<prev>.status }}`), parsed and
 * validated at N and at 8N in the same run. Linear validation makes the ratio about 8; quadratic about 64. Exits 1 when
 * the ratio passes 24 (three times linear), so a return of the quadratic walk is caught by `npm run bench:validate`.
 * Run: `npx tsx bench/validate.ts` (BENCH_VALIDATE_STEPS sets N, default 1000).
 */
import {parseRunbook} from '../src/runbooks/loader.js'

const base = Number(process.env.BENCH_VALIDATE_STEPS ?? 1000)
const LIMIT = 24

function chain(n: number): string {
  const lines = ['name: chain', 'title: a long chain', 'kind: checklist', 'params:', '  who: {type: string, default: x}', 'steps:']
  for (let i = 0; i < n; i++) {
    const previous = i > 0 ? ` \${{ steps.s${i - 1}.status }}` : ''
    lines.push(`  - {id: s${i}, uses: core.log, with: {message: "\${{ params.who }}${previous}"}${i > 0 ? `, needs: [s${i - 1}]` : ''}}`)
  }
  return `${lines.join('\n')}\n`
}

function measure(n: number): number {
  const text = chain(n)
  const started = performance.now()
  const runbook = parseRunbook('chain.yaml', text)
  const ms = performance.now() - started
  if (runbook.steps.length !== n) throw new Error(`expected ${n} steps, parsed ${runbook.steps.length}`)
  return ms
}

// Warm-up (module loading, JIT), then the baseline and the 8× chain.
measure(Math.min(base, 200))
const small = measure(base)
const large = measure(base * 8)
const ratio = large / small
console.log(`runbook validation: a chain of ${base} steps against one of ${base * 8}`)
console.log(`  ${String(base).padStart(6)} steps ${small.toFixed(0).padStart(7)} ms (baseline)`)
console.log(`  ${String(base * 8).padStart(6)} steps ${large.toFixed(0).padStart(7)} ms`)
console.log(`headline: ${base * 8} / ${base} steps = ${ratio.toFixed(1)}× the time (linear 8, quadratic 64; limit ${LIMIT})`)
process.exitCode = ratio > LIMIT ? 1 : 0
