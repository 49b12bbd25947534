/**
 * An on-call engineer starts a disruptive production run past a guard (--override-window --reason), presses Ctrl-C,
 * and continues it with the command the screen prints. That command must carry the override: `opsbook resume <id>`
 * alone is refused (exit 5) while the freeze lasts, and the refusal says how to continue the run.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import {startEmulator, type RunningEmulator} from '../../src/emulator/server.js'
import {repoRoot, runCliInProcess, scratchDir} from '../helpers/cli.js'

let emulator: RunningEmulator
let cwd: string

beforeAll(async () => {
  // The repository's platform, declared production, inside a change freeze that lasts the whole test.
  cwd = scratchDir()
  const day = 86_400_000
  const freeze = `    freezes:\n      - {from: "${new Date(Date.now() - day).toISOString()}", until: "${new Date(Date.now() + day).toISOString()}", reason: incident freeze}\n`
  const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace('production: false', 'production: true').replace('    rollbackWindow: PT30M\n', `    rollbackWindow: PT30M\n${freeze}`)
  writeFileSync(join(cwd, 'runbooks.yaml'), text)
  emulator = await startEmulator({catalogFile: join(cwd, 'runbooks.yaml'), environmentName: 'local', lroDurationMs: 100})
})
afterAll(async () => emulator?.stop())

function stepStarted(step: string): boolean {
  const runs = join(cwd, '.opsbook', 'runs')
  if (!existsSync(runs)) return false
  return readdirSync(runs).some((id) => {
    const journal = join(runs, id, 'journal.jsonl')
    return existsSync(journal) && readFileSync(journal, 'utf8').includes(`"type":"step.started","step":"${step}"`)
  })
}

describe('resume of a run started past a guard', () => {
  it('Ctrl-C mid-swap says why it swaps back, prints a resume command with the override and its reason; resume without it is refused and says so; the printed command continues the run', async () => {
    const reason = "INC-42: checkout down, can't wait"
    const env = emulator.env()
    // Ctrl-C lands after the swap, while production's metrics gate waits for Azure Monitor: its query gets no answer
    // until the run is interrupted (a condition; a long `watch` to interrupt in was waited out again by the resume).
    emulator.faults.set({holdOperations: ['monitor.metrics.getBatch']})
    onTestFinished(() => emulator.faults.clear())
    // In the test process, as the commands after it (the same command, no process start): Ctrl-C reaches the run's own
    // handler as from a terminal once the metrics step has started (a real SIGINT is test/commands/run.test.ts's).
    // watch=PT0S: nothing here is about the watch, a fixed wait.
    const interrupted = await runCliInProcess(['run', 'slot-swap', '--env', 'local', '--target', 'storefront', '--yes', '--override-window', '--reason', reason, '--param', 'watch=PT0S'], {
      cwd,
      env,
      onStart(control) {
        const timer = setInterval(() => {
          if (stepStarted('production-metrics')) {
            clearInterval(timer)
            control.interrupt()
          }
        }, 50)
        return () => {
          clearInterval(timer)
          emulator.faults.clear()
        }
      },
    })
    expect(interrupted.code, interrupted.stdout + interrupted.stderr).toBe(130)
    // The swap went through and is undone: the screen says it is because of the Ctrl-C, not a failed health gate.
    expect(interrupted.stdout + interrupted.stderr).toMatch(/run stopped \(Ctrl-C, a timeout or a failed step\) \S+ after the swap, inside the rollback window/)
    expect(interrupted.stdout + interrupted.stderr).not.toContain('post-swap gate failed')
    const printed = /continue with: (opsbook resume .+)$/m.exec(interrupted.stdout)?.[1]
    expect(printed).toBe(`opsbook resume ${/run (\S+): interrupted/.exec(interrupted.stdout)![1]} --override-window --reason 'INC-42: checkout down, can'\\''t wait'`)
    const runId = printed!.split(' ')[2]!

    const bare = await runCliInProcess(['resume', runId, '--yes', '--json'], {cwd, env})
    expect(bare.code).toBe(5)
    expect(JSON.parse(bare.stdout).error.suggestions[0]).toContain(printed!)

    const shown = await runCliInProcess(['runs', 'show', runId], {cwd, env})
    expect(shown.stdout).toContain(`continue with: ${printed}`)
    // The printed command, as a shell would split it.
    const resumed = await runCliInProcess(['resume', runId, '--yes', '--override-window', '--reason', reason, '--json'], {cwd, env})
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({runId, status: 'succeeded'})
  }, 180_000)
})
