/**
 * Production needs explicit confirmation: off a terminal a changing run without --yes is exit 4 with nothing changed;
 * on a terminal the user types the environment's name (a wrong name changes nothing).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {binRun, repoRoot, runCliInProcess, scratchDir} from '../helpers/cli.js'
import {onPty} from '../helpers/pty.js'

let emulator: RunningEmulator
let catalogDir: string

beforeAll(async () => {
  // The repository's platform, declared production.
  catalogDir = scratchDir()
  const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('production: false', 'production: true')
  writeFileSync(join(catalogDir, 'runbooks.yaml'), text)
  emulator = await startEmulator({catalogFile: join(catalogDir, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())

const restoreTime = () => new Date(Date.now() - 10 * 60_000).toISOString()
const creates = () => emulator.requestLog().filter((r) => r.method === 'PUT' && /flexibleServers\//i.test(r.path))

describe('production confirmation', () => {
  it('off a terminal, without --yes: exit 4 and nothing changed', async () => {
    const before = creates().length
    // In the test process (the same command, stdin and stdout not a terminal, no process start); the prompts below are
    // on a real terminal.
    const result = await runCliInProcess(['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime()}`, '--json'], {
      cwd: catalogDir,
      env: emulator.env(),
    })
    expect(result.code).toBe(4)
    expect(JSON.parse(result.stdout).error.message).toContain('production')
    expect(creates().length).toBe(before)
  })

  it('on a terminal, typing the environment name confirms the run and its approval step', async () => {
    const before = creates().length
    const command = `node ${binRun} run pg-pitr --env local --target orders-db --param restoreTime=${restoreTime()}`
    const {code, screen} = await onPty(
      command,
      catalogDir,
      [
        {when: 'Type the environment name', send: 'local\r'},
        {when: 'Type the environment name', send: 'local\r'},
      ],
      {env: emulator.env(), timeoutMs: 60_000},
    )
    expect(code, screen).toBe(0)
    expect(creates().length).toBe(before + 1)
  })

  it('on a terminal, a wrong name changes nothing', async () => {
    const before = creates().length
    const command = `node ${binRun} run pg-pitr --env local --target orders-db --param restoreTime=${restoreTime()}`
    const {code} = await onPty(command, catalogDir, [{when: 'Type the environment name', send: 'prod\r'}], {env: emulator.env()})
    expect(code).toBe(4)
    expect(creates().length).toBe(before)
  })
})
