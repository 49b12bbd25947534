/**
 * The terminal experience on a real pseudo-terminal (util-linux `script`): the approval prompt appears inside the
 * progress tree, and answering it continues the run. Production approvals need the environment's name typed.
 */
import {cpSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {binRun, repoRoot} from '../helpers/cli.js'
import {onPty} from '../helpers/pty.js'

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-tty-'))
  cpSync(join(repoRoot, 'test', 'fixtures', 'cli'), dir, {recursive: true})
  return dir
}

function lastJournal(cwd: string): Array<{type: string; step: string | null; data: any}> {
  const runs = readdirSync(join(cwd, '.opsbook', 'runs')).sort()
  return readFileSync(join(cwd, '.opsbook', 'runs', runs.at(-1)!, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('on a terminal', () => {
  // One approved run serves the first two cases (each PTY run is a CLI start, ~1.6 s of CPU): it runs with $USER and
  // $USERNAME unset, which changes nothing the first case looks at and is what the second one is about.
  let approved: Promise<{cwd: string; code: number | null; screen: string}> | undefined
  const approvedRun = () =>
    (approved ??= (async () => {
      const cwd = workspace()
      const {code, screen} = await onPty(`node ${binRun} run ./approval.yaml --env dev`, cwd, [{when: 'Proceed with the change?', send: 'y\r'}], {env: {USER: '', USERNAME: ''}})
      return {cwd, code, screen}
    })())

  it('shows the approval prompt and continues when it is answered yes', async () => {
    const {cwd, code, screen} = await approvedRun()
    expect(screen).toContain('Proceed with the change?')
    expect(code).toBe(0)
    const decided = lastJournal(cwd).find((e) => e.type === 'approval.decided')
    expect(decided?.data.decision).toMatchObject({approved: true, via: 'prompt'})
    expect(lastJournal(cwd).some((e) => e.type === 'step.succeeded' && e.step === 'after')).toBe(true)
  })

  it('records who answered a prompt as the OS account, also where $USER is unset (a container, sudo, docker exec)', async () => {
    const {cwd, code} = await approvedRun()
    expect(code).toBe(0)
    const decided = lastJournal(cwd).filter((e) => e.type === 'approval.decided')
    expect(decided.length).toBeGreaterThan(0)
    for (const e of decided) expect(e.data.decision.by).toBe(userInfo().username)
  })

  it('a denied approval fails the run and the step after it never runs', async () => {
    const cwd = workspace()
    const {code} = await onPty(`node ${binRun} run ./approval.yaml --env dev`, cwd, [{when: 'Proceed with the change?', send: 'n\r'}])
    expect(code).toBe(1)
    expect(lastJournal(cwd).some((e) => e.type === 'step.succeeded' && e.step === 'after')).toBe(false)
  })

  it('prompts for a missing param instead of failing', async () => {
    const cwd = workspace()
    const {code, screen} = await onPty(`node ${binRun} run ./secret.yaml --env dev`, cwd, [{when: 'token', send: 'hunter2-top-secret\r'}])
    expect(code).toBe(0)
    expect(screen).not.toContain('hunter2-top-secret')
  })

  it('asking for the replica of plan pg-promote-replica names the catalog\'s replicas, and Enter alone chooses none', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-tty-'))
    cpSync(join(repoRoot, 'runbooks.yaml'), join(cwd, 'runbooks.yaml'))
    const {code, screen} = await onPty(`node ${binRun} plan pg-promote-replica --env local`, cwd, [
      {when: 'pg-shop-orders-dr (replica of orders-db', send: '\r', refused: true},
      {when: 'type one of the names above', send: 'pg-shop-orders-dr\r'},
    ])
    // (the prompt wraps at the terminal's width)
    expect(screen.replace(/\s+/g, ' ')).toContain("(the catalog's: pg-shop-orders-dr (replica of orders-db, server pg-shop-orders, in westus))")
    expect(code).toBe(0)
    expect(screen).toContain('pg-shop-orders-dr — read replica of orders-db (server pg-shop-orders, in westus)  (step promote)')
  })
})

