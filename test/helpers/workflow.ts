/**
 * Runs a GitHub Actions job of a generated workflow on this machine, step by step in order, the way a runner would
 * for one matrix entry: `${{ }}` values are substituted from the matrix, `env` and `inputs` (a manual dispatch with
 * the inputs' defaults), each `run:` step runs in bash (`bash -e {0}`, GitHub's default shell on Linux) with the
 * workflow's, job's and step's `env`, `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, and `if:` is evaluated for the
 * forms the workflow uses. `uses:` steps cannot run here (they are actions fetched from GitHub) and are skipped with
 * the reason recorded; an expression this runner does not know fails the job instead of being guessed.
 * Workflow syntax: docs.github.com/actions/writing-workflows/workflow-syntax-for-github-actions.
 */
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export interface StepOutcome {
  name: string
  /** The script as run (expressions substituted), for run: steps. */
  script?: string
  status: 'succeeded' | 'failed' | 'skipped'
  /** Why a step was skipped (a uses: step, or its if: was false). */
  reason?: string
  exitCode?: number | null
  output?: string
}

export interface JobRun {
  steps: StepOutcome[]
  /** 0 when every step that ran exited 0 (as the job's conclusion would be success). */
  exitCode: number
}

/** Why a `uses:` action does not run here. */
const SKIP_REASONS: Array<[RegExp, string]> = [
  [/^actions\/checkout@/, 'checkout: the working directory already holds the repository under test'],
  [/^actions\/setup-node@/, 'setup-node: this process runs on the Node the suite runs on'],
  [/^azure\/login@/, 'OIDC sign-in needs GitHub\'s token service; the emulator environment signs in through its own identity endpoint'],
  [/^actions\/upload-artifact@/, 'artifact upload needs the Actions service; the files it keeps are asserted by the test'],
  [/^github\/codeql-action\/upload-sarif@/, 'code-scanning upload needs the GitHub API; the SARIF file is asserted by the test'],
]

export interface RunJobOptions {
  workflow: any
  job: string
  matrix: Record<string, unknown>
  cwd: string
  /** The runner's environment (PATH, the emulator's endpoints…). */
  env: Record<string, string | undefined>
  /** `run:` commands replaced before running (e.g. `npm ci`, which needs the registry): command → reason. */
  skipRuns?: Record<string, string>
  timeoutMs?: number
}

export async function runWorkflowJob(options: RunJobOptions): Promise<JobRun> {
  const job = options.workflow.jobs[options.job]
  if (!job) throw new Error(`no job ${options.job}`)
  const inputs = Object.fromEntries(Object.entries(options.workflow.on?.workflow_dispatch?.inputs ?? {}).map(([k, v]: [string, any]) => [k, String(v?.default ?? '')]))
  const outputs: Record<string, Record<string, string>> = {}
  const baseEnv: Record<string, string> = {}
  const context = (path: string[]): string => {
    const [head, ...rest] = path
    const key = rest.join('.')
    if (head === 'matrix' && key in options.matrix) return String(options.matrix[key])
    if (head === 'env' && key in baseEnv) return baseEnv[key]!
    if (head === 'inputs' && key in inputs) return inputs[key]!
    // A manual dispatch: no schedule fired.
    if (head === 'github' && key === 'event.schedule') return ''
    if (head === 'secrets') return ''
    if (head === 'steps' && rest[1] === 'outputs') return outputs[rest[0]!]?.[rest[2]!] ?? ''
    throw new Error(`the local runner cannot evaluate ${path.join('.')}`)
  }
  const substitute = (text: string): string => text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => context(expression.trim().split('.')))
  for (const [k, v] of Object.entries({...(options.workflow.env ?? {}), ...(job.env ?? {})})) baseEnv[k] = substitute(String(v))

  const summary = join(options.cwd, 'step-summary.md')
  writeFileSync(summary, '')
  const steps: StepOutcome[] = []
  let failed = false
  for (const [index, step] of (job.steps as any[]).entries()) {
    const name = String(step.name ?? step.run ?? step.uses ?? `step ${index + 1}`)
    const condition = step.if === undefined ? !failed : evaluateIf(String(step.if), context, failed)
    if (!condition) {
      steps.push({name, status: 'skipped', reason: `if: ${step.if ?? 'success()'} is false`})
      continue
    }
    if (step.uses) {
      const reason = SKIP_REASONS.find(([pattern]) => pattern.test(step.uses))?.[1]
      if (!reason) throw new Error(`the local runner has no documented reason to skip ${step.uses}`)
      steps.push({name, status: 'skipped', reason})
      continue
    }
    const script = substitute(String(step.run))
    const skip = options.skipRuns?.[script]
    if (skip) {
      steps.push({name, script, status: 'skipped', reason: skip})
      continue
    }
    const outputFile = join(options.cwd, `step-${index}.output`)
    writeFileSync(outputFile, '')
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v))]))
    const env = {...options.env, ...baseEnv, ...stepEnv, CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summary}
    const result = await bash(script, options.cwd, env, options.timeoutMs ?? 120_000)
    if (step.id) outputs[step.id] = parseOutputs(readFileSync(outputFile, 'utf8'))
    steps.push({name, script, status: result.code === 0 ? 'succeeded' : 'failed', exitCode: result.code, output: result.output})
    if (result.code !== 0) failed = true
  }
  return {steps, exitCode: failed ? 1 : 0}
}

/** `if:` forms the generated workflow uses: `always()`, `x == 'v'`, `hashFiles(…) != ''`, joined by `&&`. */
function evaluateIf(expression: string, context: (path: string[]) => string, failed: boolean): boolean {
  let always = false
  const terms = expression.split('&&').map((t) => t.trim())
  const values = terms.map((term) => {
    if (term === 'always()') return (always = true)
    if (term === 'success()') return !failed
    const compare = /^([\w.-]+)\s*(==|!=)\s*'([^']*)'$/.exec(term)
    if (compare) {
      const value = context(compare[1]!.split('.'))
      return compare[2] === '==' ? value === compare[3] : value !== compare[3]
    }
    // hashFiles(...) != '': whether the file exists is what the following step needs; the upload it guards is skipped.
    if (/^hashFiles\(.*\)\s*!=\s*''$/.test(term)) return true
    throw new Error(`the local runner cannot evaluate if: ${expression}`)
  })
  return values.every(Boolean) && (always || !failed)
}

function parseOutputs(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
}

function bash(script: string, cwd: string, env: Record<string, string | undefined>, timeoutMs: number): Promise<{code: number | null; output: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', script], {cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`step did not finish within ${timeoutMs} ms: ${script}\n${output}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, output})
    })
  })
}
