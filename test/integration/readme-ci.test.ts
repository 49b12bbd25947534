/**
 * The README's CI recipe, run against the README's own catalog (served by the emulator): at a moment inside the
 * `database` window the gate says go and `run dr-drill --component window:database` exits 0; outside it the gate
 * says no, and a run without --component is blocked (exit 5) naming each component's next window. The CLI runs in
 * the test process (runCliInProcess: the same command, without a process start per command).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {parseCatalog} from '../../src/catalog/loader.js'
import {catalogNotes} from '../../src/catalog/notes.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {guardDecision, prepareRun} from '../../src/runbooks/runner.js'
import {repoRoot, runCliInProcess as runCli, scratchDir} from '../helpers/cli.js'

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
/** The catalog block of "The catalog (`runbooks.yaml`)". */
const catalogBlock = /```yaml\n(version: 1\nrunbooksDir[\s\S]*?)```/.exec(readme)![1]!
/** The recipe's gate and run lines, with the matrix value filled in. */
const recipe = (/```yaml\n# \.github\/workflows\/dr-drill\.yml[\s\S]*?```/.exec(readme)![0])
const commandOf = (prefix: string) => {
  const line = recipe.split('\n').find((l) => l.includes(`npx opsbook ${prefix}`))!
  const command = line.slice(line.indexOf('npx opsbook ') + 'npx opsbook '.length).split(/ [|>] /)[0]!
  return command.replaceAll('${{ matrix.window }}', 'database').split(/\s+/)
}

// Sunday 2027-04-04: the database window is 02:00–04:00 UTC; the drill expects PT1H.
const INSIDE = '2027-04-04T02:10:00Z'
const OUTSIDE = '2027-04-04T03:30:00Z'

let emulator: RunningEmulator
let dir: string
let catalogFile: string

beforeAll(async () => {
  dir = scratchDir()
  const catalog = parse(catalogBlock)
  // Same estate, served by the emulator instead of Azure.
  catalog.environments.production.cloud = 'emulator'
  catalogFile = join(dir, 'runbooks.yaml')
  writeFileSync(catalogFile, stringify(catalog))
  emulator = await startEmulator({catalogFile, environmentName: 'production', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())

describe('README CI recipe', () => {
  it('the catalog in the README is valid, and says what opsbook cannot act on yet', () => {
    const loaded = parseCatalog(catalogFile, readFileSync(catalogFile, 'utf8'))
    expect(catalogNotes(loaded.catalog).production!.join('\n')).toContain('search-worker (Azure Container Apps)')
  })

  it('inside the database window: the gate says go and the drill of its components exits 0', async () => {
    const gate = await runCli([...commandOf('plan'), '--catalog', catalogFile, '--at', INSIDE], {cwd: dir})
    expect(gate.code, gate.stderr).toBe(0)
    const plan = JSON.parse(gate.stdout)
    expect(plan.guard).toMatchObject({applies: true, allowed: true})
    expect(plan.guard.components.map((c: {component: string}) => c.component)).toEqual(['orders-db'])

    const run = await runCli([...commandOf('run'), '--catalog', catalogFile, '--at', INSIDE], {cwd: dir, env: emulator.env()})
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.status).toBe('succeeded')
    expect(result.objectives.map((r: {component: string}) => r.component)).toEqual(['orders-db'])
  }, 150_000)

  it('outside it: the gate says no, and the whole drill is blocked per component with each next opening (exit 5)', async () => {
    const prepared = await prepareRun({runbook: 'dr-drill', envName: 'production', catalogFlag: catalogFile, params: {}, components: ['window:database'], cwd: dir})
    expect((await guardDecision(prepared, new Date(OUTSIDE), dir)).allowed).toBe(false)

    const run = await runCli(['run', 'dr-drill', '--env', 'production', '--yes', '--catalog', catalogFile, '--at', INSIDE], {cwd: dir, env: emulator.env()})
    expect(run.code, run.stdout + run.stderr).toBe(5)
    const output = run.stdout + run.stderr
    expect(output).toMatch(/sessions-cache is outside its window "cache".*next opens 2027-04-04T04:00:00\.000Z/)
    expect(output).toContain('--component orders-db')
  }, 60_000)
})
