import {mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, copyFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {acquireEmulatorLock} from '../../../src/emulator/lock.js'
import {runCli} from '../../helpers/cli.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
})

describe('opsbook emulator reset', () => {
  it('refuses (exit 5) while an emulator serves the state, and resets once it is gone', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-emu-reset-'))
    dirs.push(cwd)
    copyFileSync('runbooks.yaml', join(cwd, 'runbooks.yaml'))
    const stateDir = join(cwd, '.opsbook', 'emulator')
    mkdirSync(stateDir, {recursive: true})
    writeFileSync(join(stateDir, 'state.json'), '{"format":1,"slices":{}}')
    // This test process stands for a running `opsbook run` that serves the emulator in-process.
    const taken = await acquireEmulatorLock(stateDir, 'run')
    if (!('held' in taken)) throw new Error('expected to take the lock')

    const refused = await runCli(['emulator', 'reset', '--json'], {cwd, env: {OPSBOOK_CATALOG: undefined, OPSBOOK_HOME: undefined}})
    expect(refused.code).toBe(5)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'blocked-emulator-in-use', details: {holder: {pid: process.pid, mode: 'run'}}})
    expect(existsSync(join(stateDir, 'state.json'))).toBe(true)

    taken.held.release()
    const done = await runCli(['emulator', 'reset', '--json'], {cwd, env: {OPSBOOK_CATALOG: undefined, OPSBOOK_HOME: undefined}})
    expect(done.code).toBe(0)
    expect(existsSync(join(stateDir, 'state.json'))).toBe(false)
  })
})
