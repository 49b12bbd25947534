/**
 * A web app on a Basic plan has no deployment slot. dr-drill must not call that "NEEDS A HUMAN" (exit 3): its row is
 * failed with the reason, nothing of it is changed, and the run exits 1. Also: a Basic plan listing slots is a
 * positioned catalog error.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {parseCatalog} from '../../src/catalog/loader.js'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {ValidationError} from '../../src/errors.js'
import {repoRoot, runCliInProcess, scratchDir} from '../helpers/cli.js'

let emulator: RunningEmulator
let dir: string
let catalogFile: string

beforeAll(async () => {
  dir = scratchDir()
  const catalog = parse(readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8'))
  catalog.environments.local.components['brochure'] = {type: 'webapp', name: 'app-shop-brochure', slots: [], plan: {sku: 'B1'}, objectives: {rto: 'PT15M'}, tags: {owner: 'web', costCenter: 'cc'}}
  catalogFile = join(dir, 'runbooks.yaml')
  writeFileSync(catalogFile, stringify(catalog))
  emulator = await startEmulator({catalogFile, environmentName: 'local', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())

describe('dr-drill of a web app without slots', () => {
  it('is a failed row saying why, nothing changed, exit 1 (not 3)', async () => {
    // The CLI's command in the test process (the exit code and output are the command's; the process start is not under test).
    const result = await runCliInProcess(['run', 'dr-drill', '--env', 'local', '--component', 'brochure', '--json', '--catalog', catalogFile], {cwd: dir, env: emulator.env()})
    expect(result.code, result.stderr).toBe(1)
    const run = JSON.parse(result.stdout)
    expect(run.leftBehind).toEqual([])
    expect(run.objectives).toHaveLength(1)
    expect(run.objectives[0]).toMatchObject({component: 'brochure', status: 'failed'})
    expect(run.objectives[0].error).toContain('no deployment slot')
    // nothing of the app was called but its row: no swap, no health check
    const touched = emulator.requestLog().filter((r) => r.path.toLowerCase().includes('app-shop-brochure'))
    expect(touched).toEqual([])
  }, 120_000)

  it('a Basic plan that lists slots is a catalog error at the slots line', () => {
    const text = readFileSync(catalogFile, 'utf8').replace(/slots: \[\]\n(\s+)plan:/, 'slots: [staging]\n$1plan:')
    let error: ValidationError | undefined
    try {
      parseCatalog(catalogFile, text)
    } catch (e) {
      error = e as ValidationError
    }
    expect(error?.problems.map((p) => p.message).join('\n')).toContain('a B1 plan has no deployment slots')
    expect(error?.problems[0]!.location?.line).toBeGreaterThan(1)
  })
})
