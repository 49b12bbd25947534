/**
 * A run's session end to end through the CLI (in-process): what the user sees and what the journal keeps when the
 * disk fills mid-run (issue 16, item 10). On a nearly full disk a group of lines (a step's start, log and end) did not
 * fit, but a later, shorter line did: the journal then said a step succeeded that it never said started, with the
 * steps before it missing, on a chain that verified — and the run ended "failed" with no word of why.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DISK_FULL_ENV, verifyChain} from '../../src/evidence/journal.js'
import {runCliInProcess} from '../helpers/cli.js'
import {emptyEmulatorProject} from '../helpers/project.js'

const journalOf = (stdout: string) => /journal (\S+journal\.jsonl)/.exec(stdout)![1]!
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as {type: string; step: string | null})

describe('a run on a disk that fills mid-run', () => {
  it('keeps a journal without gaps, says why it failed and how to continue, and the resume finishes it', async () => {
    // The size of each line, from the same run on a disk with room.
    const reference = await runCliInProcess(['run', 'hello', '--env', 'local', '--param', 'pause=PT0S'], {cwd: emptyEmulatorProject('session')})
    expect(reference.code, reference.stderr).toBe(0)
    const sizes = readFileSync(journalOf(reference.stdout), 'utf8').split('\n').filter(Boolean).map((l) => Buffer.byteLength(l) + 1)
    const types = lines(journalOf(reference.stdout)).map((l) => l.type)
    // Room for run.started and one more short line (pause's step.succeeded), not for greet's lines written together.
    const shortest = Math.min(...sizes.slice(1))
    const fullAt = sizes[0]! + shortest + 8
    expect(sizes.slice(1, 3).reduce((a, b) => a + b)).toBeGreaterThan(shortest + 8)
    expect(types[0]).toBe('run.started')

    const cwd = emptyEmulatorProject('session')
    const full = await runCliInProcess(['run', 'hello', '--env', 'local', '--param', 'pause=PT0.3S'], {cwd, env: {[DISK_FULL_ENV]: String(fullAt)}})
    expect(full.code).toBe(1)
    expect(full.stdout).toMatch(/failed in .*\n {2}why: could not record event step\.\w+: cannot write the journal .*: the disk is full \(ENOSPC\); it is intact up to line 1 — free space, then `opsbook resume` continues the run/)
    // Not the advice for a finished run whose seal is missing.
    expect(full.stderr).not.toContain('evidence sync')
    const journal = journalOf(full.stdout)
    expect(verifyChain(readFileSync(journal, 'utf8'))).toMatchObject({ok: true, lines: 1})
    expect(lines(journal).map((l) => l.type)).toEqual(['run.started'])

    // Space is back: the resume runs what the journal does not say ran, recorded, and the run ends 0.
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const resumed = await runCliInProcess(['resume', runId], {cwd, env: {[DISK_FULL_ENV]: undefined}})
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    const after = lines(journal)
    expect(verifyChain(readFileSync(journal, 'utf8')).ok).toBe(true)
    const started = after.filter((l) => l.type === 'step.started').map((l) => l.step)
    const succeeded = after.filter((l) => l.type === 'step.succeeded').map((l) => l.step)
    expect(succeeded).toEqual(started)
    expect(started).toEqual(['greet', 'pause', 'finally-1'])
  }, 120_000)
})
