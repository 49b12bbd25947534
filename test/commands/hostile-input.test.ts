/**
 * Hostile input through the real CLI: every case is exit 2 with a message saying what was expected, quickly, and
 * nothing of it reaches the terminal as a control sequence.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
// A possible hang (FIFO, device, ReDoS) and what reaches the terminal are tested in a child process; the rest runs the
// CLI in-process (no start-up cost).
import {repoRoot, runCli, runCliInProcess, scratchDir} from '../helpers/cli.js'

describe('hostile input', () => {
  it('a YAML alias bomb is exit 2 pointing at the first alias', async () => {
    const dir = scratchDir({
      'bomb.yaml': ['name: bomb', 'title: t', 'kind: checklist', 'a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'steps: []', ''].join('\n'),
    })
    const result = await runCliInProcess(['runbooks', 'validate', 'bomb.yaml'], {cwd: dir})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/bomb\.yaml:5:\d+: YAML aliases expand too far/)
  })

  it('a folder, a device and a FIFO as the catalog or a runbook are exit 2 at once, never a hang', async () => {
    const dir = scratchDir()
    mkdirSync(join(dir, 'folder.yaml'))
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')])
    // A folder cannot hang a read (EISDIR at once): in-process, as the file's other cases that cannot hang.
    const folder = await runCliInProcess(['catalog', 'validate', '--catalog', dir], {cwd: dir})
    expect([folder.code, folder.stderr]).toEqual([2, expect.stringMatching(/is a folder; expected a YAML file/)])
    const device = await runCli(['catalog', 'validate', '--catalog', '/dev/zero'], {cwd: dir, timeoutMs: 60_000})
    expect([device.code, device.stderr]).toEqual([2, expect.stringMatching(/not a regular file \(a pipe or a device\)/)])
    const pipe = await runCli(['catalog', 'validate', '--catalog', join(dir, 'pipe.yaml')], {cwd: dir, timeoutMs: 60_000})
    expect([pipe.code, pipe.stderr]).toEqual([2, expect.stringMatching(/not a regular file/)])
    const runbookFolder = await runCliInProcess(['runbooks', 'validate', join(dir, 'folder.yaml')], {cwd: dir})
    expect(runbookFolder.code).toBe(2)
    // A folder as run's --junit failed with EISDIR (exit 1) after the run, when everything had happened (adversary8).
    const junit = await runCliInProcess(['run', 'hello', '--env', 'local', '--junit', dir], {cwd: dir})
    expect([junit.code, junit.stderr]).toEqual([2, expect.stringContaining(`--junit ${dir} is a folder`)])
    // A catalog whose runbooksDir names a file: `runbooks list` said "Error: ENOTDIR: not a directory, scandir", exit 1.
    const catalog = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8').replace(/^runbooksDir: .*$/m, 'runbooksDir: runbooks.yaml')
    writeFileSync(join(dir, 'runbooks.yaml'), catalog)
    const listed = await runCliInProcess(['runbooks', 'list'], {cwd: dir})
    expect([listed.code, listed.stderr]).toEqual([2, expect.stringMatching(/runbooks\.yaml:\d+:\d+: runbooksDir .* is not a folder/)])
    // A hang never ends; a loaded machine only starts a process slowly: generous limits, not a race against start-up.
  }, 180_000)

  it('names that are Object members (__proto__, constructor, toString) are a positioned error or an unknown name (exit 2), never a crash', async () => {
    // An environment named __proto__ was dropped without a word ("valid:" and nothing listed), and --env constructor,
    // --env toString found Object.prototype's function: "Cannot read properties of undefined (reading 'find')", exit 1.
    const catalog = readFileSync(join(process.cwd(), 'runbooks.yaml'), 'utf8')
    const dir = scratchDir({'runbooks.yaml': catalog, 'proto.yaml': 'version: 1\nenvironments:\n  __proto__:\n    cloud: emulator\n'})
    const proto = await runCliInProcess(['catalog', 'validate', '--catalog', 'proto.yaml'], {cwd: dir})
    expect([proto.code, proto.stderr]).toEqual([2, expect.stringMatching(/proto\.yaml:3:3: "__proto__" cannot be used as a key or name/)])
    for (const name of ['constructor', 'toString', '__proto__']) {
      const window = await runCliInProcess(['window', 'status', '--env', name], {cwd: dir})
      expect([window.code, window.stderr], name).toEqual([2, expect.stringMatching(new RegExp(`unknown environment "${name}"`))])
    }
    const plan = await runCliInProcess(['plan', 'pg-pitr', '--env', 'local', '--param', 'server=constructor'], {cwd: dir})
    expect(plan.code).toBe(2)
    expect(plan.stderr).not.toMatch(/undefined/)
    // `--param constructor=1` and `--param toString=1` were taken as declared params (Object.prototype's members) and
    // `--param __proto__=x` vanished: plan printed and exited 0 (adversary8, via the CLI).
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const param = await runCliInProcess(['plan', 'hello', '--env', 'local', '--param', `${name}=1`], {cwd: dir})
      expect([param.code, param.stderr], name).toEqual([2, expect.stringContaining(`unknown param "${name}" for runbook hello`)])
    }
  })

  it('a run id that climbs out of .opsbook/runs is refused (exit 2) by every command that takes one', async () => {
    const dir = scratchDir()
    // `evidence verify ../../x` (not a bundle from the working directory) verified a folder outside runs/ as a run:
    // "✔ run ../../orig-… verified" (adversary8, via the CLI).
    mkdirSync(join(dir, 'elsewhere'))
    writeFileSync(join(dir, 'elsewhere', 'journal.jsonl'), '')
    for (const args of [['runs', 'show', '..'], ['resume', '../../etc'], ['runs', 'show', 'a/../../b'], ['evidence', 'verify', '../../elsewhere', '--witness', 'none']]) {
      const result = await runCliInProcess(args, {cwd: dir})
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/is not a run id|nor a run id/)
    }
  })

  it('a catastrophic-backtracking pattern answers at once (RE2), and a backreference is refused at validate time', async () => {
    const dir = scratchDir({
      'redos.yaml': ['name: redos', 'title: t', 'kind: checklist', 'params:', '  name: {type: string, pattern: "(a+)+b"}', 'steps:', '  - {id: a, uses: core.log, with: {message: hi}}', ''].join('\n'),
      'backref.yaml': ['name: backref', 'title: t', 'kind: checklist', 'params:', '  name: {type: string, pattern: "(a)\\\\1"}', 'steps:', '  - {id: a, uses: core.log, with: {message: hi}}', ''].join('\n'),
    })
    const redos = await runCli(['plan', 'redos.yaml', '--env', 'local', '--param', `name=${'a'.repeat(40)}c`], {cwd: dir, timeoutMs: 60_000})
    expect(redos.code).toBe(2)
    expect(redos.stderr).toMatch(/param name: expected a value matching \(a\+\)\+b/)
    const backref = await runCliInProcess(['runbooks', 'validate', 'backref.yaml'], {cwd: dir})
    expect(backref.code).toBe(2)
    expect(backref.stderr).toMatch(/backref\.yaml:5:\d+: params\.name\.pattern is not a valid regular expression: .*RE2 syntax/)
  })

  it('escape sequences in a param value are shown escaped, never sent to the terminal', async () => {
    // hello, plus a step whose failure quotes the param (continueOnError: the run still succeeds).
    const hello = readFileSync(join(repoRoot, 'src', 'runbooks', 'library', 'hello.yaml'), 'utf8')
      .replace('name: hello', 'name: hello-esc')
      .replace('finally:', '  - {id: quote, uses: core.assert, continueOnError: true, with: {that: false, message: "${{ params.who }}"}}\nfinally:')
    // The core-only test catalog (test/fixtures/cli): what reaches the terminal does not depend on the environment, and
    // its `dev` runs without an emulator — `--env local` made this process start one and upload the evidence to it
    // (1.5 s more CPU and ~6 s more wall at load 16, for a run of 40 ms).
    const dir = scratchDir({'hello-esc.yaml': hello, 'runbooks.yaml': readFileSync(join(repoRoot, 'test', 'fixtures', 'cli', 'runbooks.yaml'), 'utf8')})
    const hostile = 'x\u001b]0;pwned\u0007\u001b[2J\ry'
    const result = await runCli(['run', 'hello-esc.yaml', '--env', 'dev', '--param', `who=${hostile}`, '--param', 'pause=PT0S'], {cwd: dir, timeoutMs: 90_000})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).not.toMatch(/[\u001b\u0007\r]/)
    expect(result.stdout).toContain('x\\x1b]0;pwned\\x07\\x1b[2J\\x0dy')
    // `plan` printed the value raw in its params and with lines, `runbooks show` a title and description, `runs show` a
    // failed step's error quoting a param (adversary8, via the CLI): everything `say`/`note` print is terminal-safe now.
    const plan = await runCliInProcess(['plan', 'hello', '--env', 'dev', '--param', `who=${hostile}`], {cwd: dir})
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('who=x\\x1b]0;pwned\\x07')
    writeFileSync(join(dir, 'esc.yaml'), ['name: esc', 'title: "T \\e]0;pwned\\a"', 'description: "D \\e[2J"', 'kind: checklist', 'steps:', '  - {id: a, uses: core.log, with: {message: hi}}', ''].join('\n'))
    const show = await runCliInProcess(['runbooks', 'show', 'esc.yaml'], {cwd: dir})
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain('T \\x1b]0;pwned\\x07')
    const runId = readdirSync(join(dir, '.opsbook', 'runs')).find((name) => name.includes('hello-esc'))!
    const shown = await runCliInProcess(['runs', 'show', runId], {cwd: dir})
    expect(shown.stdout).toContain('assertion failed: x\\x1b]0;pwned\\x07')
    for (const output of [plan, show, shown]) expect(output.stdout + output.stderr).not.toMatch(/[\u001b\u0007\r]/)
    const invalid = await runCliInProcess(['plan', 'hello', '--env', 'dev', '--param', `nope\u001b[2J=1`], {cwd: dir})
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).not.toContain('\u001b')
  }, 180_000)
})
