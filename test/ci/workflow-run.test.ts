/**
 * The generated GitHub workflow runs: `ci init github` writes it into a scratch repository (the sample catalog, whose
 * `local` environment the emulator serves), and the `check` and `evidence` jobs of its `local` matrix entry run here
 * step by step, in order, each `run:` step in bash exactly as generated (`npx opsbook …` resolving the repository's
 * installed opsbook, as in a user's repository with opsbook as a dev dependency). Every step must exit 0.
 *
 * Not run here, each with its reason: `npm ci` (needs the npm registry; node_modules/.bin/opsbook is the build under
 * test), `uses:` actions (fetched from GitHub; see test/helpers/workflow.ts), and the `drill` job — a dr-drill through
 * the CLI takes over a minute on a loaded machine and only starts inside the window; test/integration/readme-ci.test.ts
 * runs the gate and the drill of a window group.
 */
import {existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {binRun, runCliInProcess, scratchDir} from '../helpers/cli.js'
import {runWorkflowJob, type JobRun} from '../helpers/workflow.js'

let emulator: RunningEmulator
let repo: string
let workflow: any

beforeAll(async () => {
  repo = scratchDir({'package.json': JSON.stringify({name: 'platform-drills', private: true, devDependencies: {opsbook: '*'}})})
  mkdirSync(join(repo, 'node_modules', '.bin'), {recursive: true})
  symlinkSync(binRun, join(repo, 'node_modules', '.bin', 'opsbook'))
  // Not the process under test (the workflow's steps are): in-process, one CLI start (~1 s of CPU) fewer.
  const init = await runCliInProcess(['ci', 'init', 'github', '--env', 'local'], {cwd: repo, env: {OPSBOOK_CATALOG: undefined}})
  expect(init.code, init.stderr).toBe(0)
  workflow = parse(readFileSync(join(repo, '.github', 'workflows', 'opsbook-dr-drill.yml'), 'utf8'))
  // The compliant estate: the check job's gate (--fail-on high) passes, as it should for a platform with no findings.
  emulator = await startEmulator({catalogFile: join(repo, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100, scenario: 'compliant'})
})
afterAll(async () => emulator?.stop())

const runJob = (job: string): Promise<JobRun> =>
  runWorkflowJob({
    workflow,
    job,
    matrix: workflow.jobs[job].strategy.matrix.include.find((m: any) => m.environment === 'local'),
    cwd: repo,
    // The runner's environment: the emulator's endpoints stand in for the Azure sign-in of a cloud environment.
    env: {PATH: process.env.PATH, HOME: process.env.HOME, OPSBOOK_EMULATOR_DATA_PLANE: 'modelled', NO_COLOR: '1', ...emulator.env()},
    skipRuns: {'npm ci': 'needs the npm registry; node_modules/.bin/opsbook is the build under test'},
  })

const describeRun = (run: JobRun) => run.steps.map((s) => `${s.status.padEnd(9)} ${s.name}${s.reason ? ` (${s.reason})` : ''}${s.status === 'failed' ? `\n${s.output}` : ''}`).join('\n')

describe('the generated GitHub workflow, run locally', () => {
  it('check job (local): the security checklist writes SARIF for code scanning and every run: step exits 0', async () => {
    const run = await runJob('check')
    expect(run.exitCode, describeRun(run)).toBe(0)
    expect(run.steps.filter((s) => s.status === 'succeeded').map((s) => s.name)).toEqual(['Security checklist (SARIF)'])
    const sarif = JSON.parse(readFileSync(join(repo, 'opsbook-local.sarif'), 'utf8'))
    expect(sarif.version).toBe('2.1.0')
    // A compliant estate: every rule is listed for code scanning, and no result is raised against it.
    expect(sarif.runs[0].tool.driver.rules.length).toBeGreaterThan(50)
    expect(sarif.runs[0].results.filter((r: {level?: string}) => r.level === 'error')).toEqual([])
    // The job summary GitHub shows on the run page.
    expect(readFileSync(join(repo, 'step-summary.md'), 'utf8')).toMatch(/opsbook check/)
  }, 180_000)

  it('evidence job (local): exports the environment\'s runs from its evidence container into a bundle that verifies', async () => {
    const run = await runJob('evidence')
    expect(run.exitCode, describeRun(run)).toBe(0)
    expect(run.steps.filter((s) => s.status === 'succeeded').map((s) => s.name)).toEqual(['Export every run of the environment from its evidence container', 'Verify the bundle'])
    expect(existsSync(join(repo, 'opsbook-evidence-local.zip'))).toBe(true)
  }, 180_000)

  it('the runner is real: a failing step fails the job and the steps after it are skipped', async () => {
    const broken = structuredClone(workflow)
    broken.jobs.evidence.steps.find((s: any) => s.name === 'Export every run of the environment from its evidence container').run += ' --format nonsense'
    writeFileSync(join(repo, 'broken.yml'), JSON.stringify(broken))
    const saved = workflow
    workflow = broken
    try {
      const run = await runJob('evidence')
      expect(run.exitCode).toBe(1)
      expect(run.steps.find((s) => s.name === 'Verify the bundle')?.status).toBe('skipped')
    } finally {
      workflow = saved
    }
  }, 120_000)
})
