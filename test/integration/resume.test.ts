/**
 * Crash safety: a run killed with SIGKILL while PostgreSQL restores is continued with `opsbook resume`, which
 * re-attaches to the restore's operation monitor instead of asking Azure for a second restore. The killed run is a
 * real process; `runs list` and `resume` after it run in the test process (the same commands, no process start).
 */
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {verifyChain} from '../../src/evidence/journal.js'
import {repoRoot, runCli, runCliInProcess, scratchDir} from '../helpers/cli.js'

let emulator: RunningEmulator

beforeAll(async () => {
  // A restore that takes long enough to be killed in the middle of.
  emulator = await startEmulator({catalogFile: join(repoRoot, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 8000})
})
afterAll(async () => emulator?.stop())

function journalEvents(cwd: string): Array<{type: string; step: string | null; data: any}> {
  const runs = join(cwd, '.opsbook', 'runs')
  if (!existsSync(runs)) return []
  const [runId] = readdirSync(runs)
  if (!runId || !existsSync(join(runs, runId, 'journal.jsonl'))) return []
  return readFileSync(join(runs, runId, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l))
}

describe('opsbook resume', () => {
  it('continues a SIGKILLed restore without a second restore request', async () => {
    const cwd = scratchDir()
    const env = emulator.env()
    const restoreTime = new Date(Date.now() - 10 * 60_000).toISOString()
    let operation: {resourceUrl: string; monitorUrl?: string} | undefined
    const killed = await runCli(['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime}`, '--json'], {
      cwd,
      env,
      onStart(child) {
        const timer = setInterval(() => {
          const started = journalEvents(cwd).find((e) => e.type === 'operation.started' && e.step === 'restore')
          if (started) {
            operation = started.data.operation
            clearInterval(timer)
            child.kill('SIGKILL')
          }
        }, 50)
        child.on('close', () => clearInterval(timer))
      },
    })
    expect(killed.signal).toBe('SIGKILL')
    expect(operation?.monitorUrl).toBeTruthy()
    const serverPath = new URL(operation!.resourceUrl).pathname.toLowerCase()
    const creates = () => emulator.requestLog().filter((r) => r.method === 'PUT' && r.path.toLowerCase() === serverPath)
    expect(creates()).toHaveLength(1)

    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const listed = await runCliInProcess(['runs', 'list', '--json'], {cwd, env})
    expect(JSON.parse(listed.stdout).runs[0]).toMatchObject({runId, status: 'crashed'})

    const resumed = await runCliInProcess(['resume', runId, '--json'], {cwd, env})
    expect(resumed.code, resumed.stderr).toBe(0)
    const result = JSON.parse(resumed.stdout)
    expect(result).toMatchObject({runId, status: 'succeeded'})
    expect(result.outputs.server).toBe(serverPath.split('/').at(-1))
    // The same restore, re-attached: still exactly one create request for the restored server.
    expect(creates()).toHaveLength(1)
    const journal = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"resumedFrom"')
  })

  it('continues an interrupted run on another laptop from the journal in Blob (the first laptop and its folder are gone)', async () => {
    const first = scratchDir()
    const env = emulator.env()
    const restoreTime = new Date(Date.now() - 10 * 60_000).toISOString()
    const interrupted = await runCli(['run', 'pg-pitr', '--env', 'local', '--target', 'orders-db', '--param', `restoreTime=${restoreTime}`, '--json'], {
      cwd: first,
      env,
      onStart(child) {
        const timer = setInterval(() => {
          if (journalEvents(first).some((e) => e.type === 'operation.started' && e.step === 'restore')) {
            clearInterval(timer)
            child.kill('SIGINT')
          }
        }, 50)
        child.on('close', () => clearInterval(timer))
      },
    })
    expect(interrupted.code, interrupted.stderr).toBe(130)
    const runId = JSON.parse(interrupted.stdout).runId as string
    // The laptop is lost: its folder, catalog path and .opsbook with it. Another one has the same catalog elsewhere.
    rmSync(first, {recursive: true, force: true})
    const second = scratchDir()
    const resumed = await runCliInProcess(['resume', runId, '--env', 'local', '--json'], {cwd: second, env})
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({runId, status: 'succeeded'})
    // The continued journal is on this laptop now, one chain from the first laptop's lines on.
    const journal = readFileSync(join(second, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
    expect(verifyChain(journal).ok).toBe(true)
    expect(journal).toContain('"resumedFrom"')
    expect(existsSync(first)).toBe(false)
  })

  it('on another folder without the emulator variables, says where an emulator run\'s evidence is and how to reach it', async () => {
    const elsewhere = scratchDir()
    const {OPSBOOK_EMULATOR_URL: _url, ...rest} = emulator.env()
    const env = {...Object.fromEntries(Object.keys(rest).map((k) => [k, undefined])), OPSBOOK_EMULATOR_URL: undefined}
    const missing = await runCli(['resume', '20261203T000000Z-pg-pitr-0000', '--env', 'local', '--json'], {cwd: elsewhere, env})
    expect(missing.code, missing.stderr).toBe(2)
    const message = JSON.parse(missing.stdout).error.message as string
    expect(message).toContain('no journal for run 20261203T000000Z-pg-pitr-0000 locally or in evidence container')
    expect(message).toMatch(/local is an emulator environment: .*set the OPSBOOK_EMULATOR_\* variables `opsbook emulator start` printed/)
  }, 120_000)
})
