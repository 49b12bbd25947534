/**
 * `opsbook resume` after Ctrl-C inside a called runbook: the real CLI process is interrupted while the callee waits at
 * a gate (an HTTP server of the test's, which also counts the callee's first request), then `resume` continues the run
 * in the test process. The callee's step from before the interruption is not run again (the server's count says so).
 */
import {cpSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {verifyChain} from '../../src/evidence/journal.js'
import {onlyJson, repoRoot, runCli, runCliInProcess} from '../helpers/cli.js'
import {startGateServer} from '../helpers/gate-server.js'

describe('opsbook resume', () => {
  it('after Ctrl-C inside a called runbook, continues the call from the step it stopped in', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-resume-'))
    cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), cwd, {recursive: true})
    const gate = await startGateServer()
    // The catalog's dev environment is Azure: the summary names who ran it, and DefaultAzureCredential would start
    // `az` (not signed in here) for that — seconds of CPU. Its own setting limits it to the (empty) environment source.
    const env = {AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential'}
    try {
      const first = await runCli(['run', './call-gated.yaml', '--env', 'dev', '--param', `base=${gate.base}`, '--json'], {
        cwd,
        env,
        // Ctrl-C once the callee is at its gate (the server has its first request), not after a fixed delay.
        onStart: (child) => void gate.reachedGate.then(() => child.kill('SIGINT')),
      })
      expect(first.code, first.stderr).toBe(130)
      const runId = onlyJson(first).runId as string
      expect(gate.count()).toBe(1)

      gate.open()
      const resumed = await runCliInProcess(['resume', runId, '--json'], {cwd, env})
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(onlyJson(resumed)).toMatchObject({runId, status: 'succeeded'})
      expect(gate.count()).toBe(1)

      const text = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
      expect(verifyChain(text).ok).toBe(true)
      const events = text.trim().split('\n').map((l) => JSON.parse(l) as {type: string; step: string | null; data: {phase?: string; message?: string}})
      const second = events.slice(events.findLastIndex((e) => e.type === 'run.started'))
      const started = second.filter((e) => e.type === 'step.started' && e.data.phase === 'main').map((e) => e.step)
      expect(started).toEqual(['gated', 'gated.gate', 'done'])
      expect(second.find((e) => e.type === 'step.log' && e.step === 'done')?.data.message).toBe("the callee's count step saw request 1")
      expect(readdirSync(join(cwd, '.opsbook', 'runs'))).toEqual([runId])
    } finally {
      gate.close()
    }
  })
})
