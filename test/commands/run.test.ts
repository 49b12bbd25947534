import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {cpSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {verifyChain} from '../../src/evidence/journal.js'
// Most cases run the CLI in-process (the same command code, without ~1 s of start-up each); those about the process
// itself (exit codes end to end, Ctrl-C) spawn it.
import {onlyJson, repoRoot, runCli as spawnCli, runCliInProcess as runCli} from '../helpers/cli.js'

const fixtures = join(repoRoot, 'test', 'fixtures', 'cli')

/** A working directory holding the core-only test catalog and runbooks. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-run-'))
  cpSync(fixtures, dir, {recursive: true})
  return dir
}

/**
 * A runbook that changes nothing and takes no time, for cases about where a run is kept or whether it needs a
 * confirmation: parallel.yaml's waits (a 1.2 s critical path) are what its own case measures, not theirs.
 */
function withQuickRunbook(cwd: string): string {
  writeFileSync(join(cwd, 'quick.yaml'), ['name: quick-test', 'title: One log line', 'kind: checklist', 'steps:', '  - {id: a, uses: core.log, with: {message: hi}}', ''].join('\n'))
  return cwd
}

function journalOf(cwd: string, runId: string): {text: string; events: Array<{type: string; step: string | null; data: any}>} {
  const text = readFileSync(join(cwd, '.opsbook', 'runs', runId, 'journal.jsonl'), 'utf8')
  return {text, events: text.trim().split('\n').map((l) => JSON.parse(l))}
}

describe('opsbook run', () => {
  it('rolls back completed steps in reverse order, then runs finally, and exits 1', async () => {
    const cwd = workspace()
    const result = await spawnCli(['run', './failing.yaml', '--env', 'dev', '--json'], {cwd})
    expect(result.code).toBe(1)
    const doc = onlyJson(result)
    expect(doc.status).toBe('failed')
    const {text, events} = journalOf(cwd, doc.runId)
    const order = events
      .filter((e) => e.type === 'step.succeeded' || e.type === 'step.failed')
      .map((e) => `${e.data.phase}:${e.step}:${e.type === 'step.failed' ? 'failed' : 'ok'}`)
    expect(order).toEqual(['main:first:ok', 'main:second:ok', 'main:third:failed', 'rollback:second:ok', 'rollback:first:ok', 'finally:cleanup:ok'])
    expect(verifyChain(text).ok).toBe(true)
    expect(JSON.parse(readFileSync(join(cwd, '.opsbook', 'runs', doc.runId, 'summary.json'), 'utf8')).status).toBe('failed')
  })

  it('keeps .opsbook beside the catalog, so a run from a sub-folder shows up in runs list at the project root', async () => {
    const cwd = workspace()
    const sub = join(withQuickRunbook(cwd), 'deep', 'er')
    mkdirSync(sub, {recursive: true})
    const result = await runCli(['run', '../../quick.yaml', '--env', 'dev', '--json'], {cwd: sub})
    expect(result.code).toBe(0)
    expect(existsSync(join(sub, '.opsbook'))).toBe(false)
    const listed = await runCli(['runs', 'list', '--json'], {cwd})
    expect(JSON.parse(listed.stdout).runs.map((r: {runId: string}) => r.runId)).toContain(JSON.parse(result.stdout).runId)
  })

  it('exits 3 and says what is left when a rollback fails', async () => {
    const cwd = workspace()
    const result = await runCli(['run', './rollback-fails.yaml', '--env', 'dev', '--json'], {cwd})
    expect(result.code).toBe(3)
    const doc = onlyJson(result)
    expect(doc.status).toBe('rollback-failed')
    expect(doc.leftBehind.join(' ')).toContain('first')
  })

  it('runs independent steps concurrently: wall time is the longest step, not the sum', async () => {
    const cwd = workspace()
    const result = await runCli(['run', './parallel.yaml', '--env', 'dev', '--json'], {cwd})
    expect(result.code).toBe(0)
    const doc = onlyJson(result)
    // Sum of waits is 4.2 s; the critical path is 1.2 s. Below the sum, which steps one after another can never be: a
    // bound of 3 s left 1.8 s for a spawned CLI's event-loop lag on a loaded machine.
    expect(doc.durationMs).toBeGreaterThanOrEqual(1200)
    expect(doc.durationMs).toBeLessThan(4200)
  })

  it('off a TTY, an approval step without --yes exits 4 before any step runs', async () => {
    const cwd = workspace()
    const result = await spawnCli(['run', './approval.yaml', '--env', 'dev'], {cwd})
    expect(result.code).toBe(4)
    expect(result.stderr).toContain('go-ahead')
    expect(result.stderr).toContain('--approve go-ahead')
    expect(existsSync(join(cwd, '.opsbook', 'runs'))).toBe(false)
    const json = await runCli(['run', './approval.yaml', '--env', 'dev', '--json'], {cwd})
    expect(json.code).toBe(4)
    expect(onlyJson(json).error.code).toBe('approval-required')
  })

  it('--approve <step> and --yes give the approval, and the journal records who approved', async () => {
    const cwd = workspace()
    const result = await runCli(['run', './approval.yaml', '--env', 'dev', '--approve', 'go-ahead', '--json'], {cwd})
    expect(result.code).toBe(0)
    const {events} = journalOf(cwd, onlyJson(result).runId)
    const decided = events.find((e) => e.type === 'approval.decided')
    expect(decided?.data.decision).toMatchObject({approved: true, via: 'flag'})
    expect((await runCli(['run', './approval.yaml', '--env', 'dev', '--yes'], {cwd})).code).toBe(0)
  })

  it('in production, a run that changes nothing needs no confirmation', async () => {
    const cwd = workspace()
    // core.* actions change nothing, so the production confirmation is not needed (test/commands/production.test.ts covers one that changes).
    expect((await runCli(['run', './quick.yaml', '--env', 'prod', '--json'], {cwd: withQuickRunbook(cwd)})).code).toBe(0)
  })

  it('never writes a secret param or a SAS token to output, journal or summary', async () => {
    const cwd = workspace()
    const secret = 'tok-9f8e7d6c5b4a-SECRET'
    const result = await runCli(['run', './secret.yaml', '--env', 'dev', '--param', `token=${secret}`], {cwd})
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('[REDACTED]')
    const runs = readdirSync(join(cwd, '.opsbook', 'runs'))
    const files = runs.flatMap((r) => readdirSync(join(cwd, '.opsbook', 'runs', r)).map((f) => readFileSync(join(cwd, '.opsbook', 'runs', r, f), 'utf8')))
    for (const text of [result.stdout, result.stderr, ...files]) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain('sig=AbCdEf1234567890abcdef')
    }
  })

  it('takes a secret from OPSBOOK_PARAM_<NAME> (never on the command line), and refuses one too short to redact', async () => {
    const cwd = workspace()
    const secret = 'env-secret-0451-value'
    const fromEnv = await runCli(['run', './secret.yaml', '--env', 'dev', '--json'], {cwd, env: {OPSBOOK_PARAM_TOKEN: secret}})
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain(secret)
    const short = await runCli(['run', './secret.yaml', '--env', 'dev', '--param', 'token=abc', '--json'], {cwd})
    expect(short.code).toBe(2)
    expect(JSON.parse(short.stdout).error.message).toContain('at least 4 characters')
    expect(short.stdout).not.toContain('abc"')
  })

  it('a missing param off a TTY is exit 2 naming the param; a bad value is exit 2 saying what was expected', async () => {
    const cwd = workspace()
    const missing = await runCli(['run', './secret.yaml', '--env', 'dev'], {cwd})
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('missing param "token"')
    const unknown = await runCli(['run', './secret.yaml', '--env', 'dev', '--param', 'tokn=x', '--json'], {cwd})
    expect(unknown.code).toBe(2)
    expect(onlyJson(unknown).error.message).toContain('did you mean "token"')
  })

  it('Ctrl-C stops the run, rolls back, runs finally, records interrupted, and exits 130', async () => {
    const cwd = workspace()
    let sent = false
    const result = await spawnCli(['run', './slow.yaml', '--env', 'dev'], {
      cwd,
      onOutput(text, child) {
        // The long wait has started (its line is out): Ctrl-C now, not after a fixed delay.
        if (!sent && text.includes('long-wait [core.wait]')) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(result.code).toBe(130)
    // What Ctrl-C will do, said when it is pressed and when the run stops: prepare (core.log) changed nothing in Azure
    // but has a rollback, which runs, then the finally step.
    expect(result.stderr).toContain('SIGINT: stopping — no new step starts; nothing in Azure has been changed yet; completed steps that have a rollback are rolled back; finally steps run')
    expect(result.stdout).toContain('⚠ interrupted (SIGINT): stopping: no new step starts; rolling back prepare; then running finally steps')
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const {events} = journalOf(cwd, runId)
    const types = events.map((e) => `${e.type}${e.step ? `:${e.step}` : ''}`)
    expect(types).toContain('run.interrupted')
    expect(types).toContain('step.succeeded:prepare')
    expect(events.find((e) => e.type === 'step.succeeded' && e.step === 'prepare' && e.data.phase === 'rollback')).toBeDefined()
    expect(events.find((e) => e.type === 'step.succeeded' && e.step === 'always')).toBeDefined()
    // The last event is the seal over summary.json, report.md and request.json; the one before it ends the run.
    expect(events.at(-1)).toMatchObject({type: 'evidence.sealed'})
    expect(events.at(-2)).toMatchObject({type: 'run.finished', data: {status: 'interrupted'}})
  })
})

describe('production guards', () => {
  const args = (env: string) => ['run', './disruptive.yaml', '--env', env, '--target', 'db', '--json']

  it('blocks a disruptive production run outside its window (exit 5) and names the next opening', async () => {
    const cwd = workspace()
    const result = await spawnCli(args('prod-closed'), {cwd})
    expect(result.code).toBe(5)
    const error = JSON.parse(result.stdout).error
    expect(error.code).toBe('blocked-maintenance-window')
    expect(error.message).toContain('outside its window "never-now"')
    expect(error.message).toContain('next opens')
    expect(existsSync(join(cwd, '.opsbook', 'runs'))).toBe(false)
  })

  it('blocks during a change freeze (exit 5) and names the freeze', async () => {
    const result = await runCli(args('prod-frozen'), {cwd: workspace()})
    expect(result.code).toBe(5)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'blocked-change-freeze'})
    expect(JSON.parse(result.stdout).error.message).toContain('test freeze')
  })

  it('--override-window needs --reason (exit 2); with one the run proceeds and the reason is journaled', async () => {
    const cwd = workspace()
    const noReason = await runCli([...args('prod-closed'), '--override-window'], {cwd})
    expect(noReason.code).toBe(2)
    const result = await runCli([...args('prod-frozen'), '--override-window', '--reason', 'INC-4711 data corruption', '--yes'], {cwd})
    expect(result.code, result.stdout).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc.overrides.map((o: {kind: string}) => o.kind).sort()).toEqual(['change-freeze', 'maintenance-window'])
    const {text} = journalOf(cwd, doc.runId)
    expect(text).toContain('INC-4711 data corruption')
    const summary = JSON.parse(readFileSync(join(cwd, '.opsbook', 'runs', doc.runId, 'summary.json'), 'utf8'))
    expect(summary.overrides[0]).toMatchObject({reason: 'INC-4711 data corruption'})
  })

  it('reports a misspelt --approve step id (exit 2) instead of ignoring it', async () => {
    const result = await runCli(['run', './approval.yaml', '--env', 'dev', '--approve', 'go-ahed', '--json'], {cwd: workspace()})
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout).error.message).toContain('did you mean "go-ahead"')
  })
})
