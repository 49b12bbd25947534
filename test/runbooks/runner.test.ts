/**
 * runRunbook's checks before a resume continues a run: the params it would continue with must be the ones the run's
 * journal says it started with (issue 16, adversarial pass: an edited request.json pointed the rest of a killed
 * redis-export at another cache; the resume exported that one, left the first export in flight, and verified).
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCliInProcess} from '../helpers/cli.js'
import {emptyEmulatorProject} from '../helpers/project.js'

describe('resume: params against the journal', () => {
  it('refuses to continue a run with other params than it started with (an edited request.json or --param), and continues it with its own', async () => {
    const cwd = emptyEmulatorProject('runner')
    const first = await runCliInProcess(['run', 'hello', '--env', 'local', '--param', 'who=alice', '--param', 'pause=PT0S'], {cwd})
    expect(first.code, first.stderr).toBe(0)
    const runId = readdirSync(join(cwd, '.opsbook', 'runs'))[0]!
    const dir = join(cwd, '.opsbook', 'runs', runId)
    // The process died right after it started: the journal holds run.started, the seal and the rest never came.
    const journal = join(dir, 'journal.jsonl')
    writeFileSync(journal, `${readFileSync(journal, 'utf8').split('\n')[0]}\n`)
    const request = join(dir, 'request.json')
    const original = readFileSync(request, 'utf8')
    writeFileSync(request, original.replace('"who": "alice"', '"who": "mallory"'))

    const edited = await runCliInProcess(['resume', runId], {cwd})
    expect(edited.code).toBe(2)
    expect(edited.stderr).toContain(`param who: run ${runId} started with "alice" (its journal), but this resume would continue it with "mallory"`)
    const flag = await runCliInProcess(['resume', runId, '--param', 'who=mallory'], {cwd})
    expect(flag.code).toBe(2)
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1)

    writeFileSync(request, original)
    const resumed = await runCliInProcess(['resume', runId], {cwd})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain('Hello, alice')
  }, 120_000)
})
