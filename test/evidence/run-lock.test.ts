/**
 * `run.lock`: one live process per run. Two `opsbook resume` of one run at once would both append to the journal
 * (duplicate sequence numbers, a broken chain): the second is refused with exit 5 while the first lives.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exitCodeOf, GuardError} from '../../src/errors.js'
import {Journal, runDir, verifyChain} from '../../src/evidence/journal.js'
import {acquireRunLock, readRunLock, RUN_LOCK_FILE} from '../../src/evidence/run-lock.js'
import {runStarted, tempDir, writeJournal} from './blob-helpers.js'

/** A real other process, alive until killed. */
function otherProcess(): {pid: number; stop(): Promise<void>} {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'})
  return {
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}

describe('run.lock', () => {
  it('refuses a second writer of a run while the first process lives (exit 5), and takes over once it is dead', async () => {
    const root = tempDir()
    const runId = 'run-lock-1'
    const journal = await writeJournal(root, runId, [runStarted(runId)])
    await journal.close()
    const dir = runDir(root, runId)
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false)

    const other = otherProcess()
    writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({pid: other.pid, host: hostname(), startedAt: '2026-12-02T06:00:00.000Z'}))
    const refused = await Journal.open(runId, root).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(GuardError)
    expect(exitCodeOf(refused)).toBe(5)
    expect((refused as Error).message).toContain(`pid ${other.pid}`)
    expect((refused as Error).message).toContain('2026-12-02T06:00:00.000Z')
    // Nothing was appended by the refused writer.
    expect(verifyChain(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).lines).toBe(1)

    await other.stop()
    const resumed = await Journal.open(runId, root)
    expect(await readRunLock(dir)).toMatchObject({pid: process.pid, host: hostname()})
    await resumed.close()
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false)
  })

  it('lets only one of two racing writers win', async () => {
    const dir = join(tempDir(), 'runs', 'race')
    mkdirSync(dir, {recursive: true})
    const other = otherProcess()
    try {
      // The other process got there first (O_EXCL decides between racers): this one is refused.
      writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({pid: other.pid, host: hostname()}))
      await expect(acquireRunLock(dir, 'race')).rejects.toBeInstanceOf(GuardError)
    } finally {
      await other.stop()
    }
    // Re-entrant for the holder itself.
    await acquireRunLock(dir, 'race')
    await expect(acquireRunLock(dir, 'race')).resolves.toMatchObject({pid: process.pid})
  })
  it('lets exactly one of several processes that find the same dead holder take the run over (concurrent resumes after a kill -9)', async () => {
    // A real dead process: its lock is what `kill -9` leaves behind.
    const dead = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
    await new Promise((done) => dead.once('exit', done))
    const root = tempDir()
    const trials = 12
    const dirs = Array.from({length: trials}, (_, i) => {
      const dir = join(root, 'runs', `stale-${i}`)
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({pid: dead.pid, host: hostname(), startedAt: '2026-12-03T06:00:00.000Z'}))
      return dir
    })
    // Each racer takes part in every trial at the same instant as the others, and stays alive throughout, so a
    // loser that found the winner alive is refused the way a second `opsbook resume` is.
    const script = `
      const {acquireRunLock} = await import(${JSON.stringify(resolve('dist/evidence/run-lock.js'))})
      const dirs = ${JSON.stringify(dirs)}
      process.stdout.write('ready\\n')
      process.stdin.once('data', async (chunk) => {
        const epoch = Number(String(chunk).trim())
        for (const [i, dir] of dirs.entries()) {
          while (Date.now() < epoch + i * 150) {}
          const outcome = await acquireRunLock(dir, 'stale-' + i).then(() => 'won', (e) => e.exitCode === 5 ? 'refused' : 'error ' + e.message)
          process.stdout.write(i + ' ' + outcome + '\\n')
        }
        process.stdout.write('done\\n')
        process.stdin.once('data', () => process.exit(0))
      })
    `
    const racers = Array.from({length: 4}, () => {
      // The build (dist/, as the CLI runs it: test/helpers/fresh-build.ts keeps it current), not src/ through tsx —
      // a TypeScript loader started in each of the four processes.
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['pipe', 'pipe', 'pipe']})
      let out = ''
      let err = ''
      child.stderr.on('data', (c) => (err += c))
      const lines = (marker: string) =>
        new Promise<string[]>((done, fail) => {
          const check = () => out.includes(`${marker}\n`) && done(out.split('\n'))
          child.stdout.on('data', (c) => {
            out += c
            check()
          })
          check()
          child.once('exit', () => fail(new Error(`racer exited: ${err}`)))
        })
      return {child, ready: lines('ready'), done: lines('done')}
    })
    try {
      await Promise.all(racers.map((r) => r.ready))
      const epoch = String(Date.now() + 300)
      for (const r of racers) r.child.stdin.write(`${epoch}\n`)
      const outputs = await Promise.all(racers.map((r) => r.done))
      for (let i = 0; i < trials; i++) {
        const outcomes = outputs.map((lines) => lines.find((l) => l.startsWith(`${i} `))!.slice(String(i).length + 1))
        expect(outcomes.filter((o) => o === 'won'), `trial ${i}: ${outcomes.join(', ')}`).toHaveLength(1)
        expect(outcomes.filter((o) => o !== 'won').every((o) => o === 'refused'), `trial ${i}: ${outcomes.join(', ')}`).toBe(true)
        const winner = racers[outcomes.indexOf('won')]!.child.pid
        expect(await readRunLock(dirs[i]!)).toMatchObject({pid: winner})
        expect(existsSync(join(dirs[i]!, `${RUN_LOCK_FILE}.takeover`))).toBe(false)
      }
    } finally {
      for (const r of racers) r.child.kill('SIGKILL')
    }
  }, 60_000)
})
