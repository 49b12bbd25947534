import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {acquireEmulatorLock, assertNotServed, lockFile, readEmulatorLock, type EmulatorLock} from '../../src/emulator/lock.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
})

function stateDirWith(lock?: Partial<EmulatorLock>): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-emu-lock-'))
  dirs.push(dir)
  if (lock) writeFileSync(lockFile(dir), JSON.stringify({host: hostname(), mode: 'run', startedAt: '2026-01-01T00:00:00.000Z', token: 'other', ...lock}))
  return dir
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const {port} = server.address() as {port: number}
  await new Promise((done) => server.close(done))
  return port
}

describe('emulator lock', () => {
  it('reports a live holder (another process, still starting) instead of taking its lock', async () => {
    const dir = stateDirWith({pid: process.ppid, mode: 'server'})
    const taken = await acquireEmulatorLock(dir, 'run')
    expect(taken).toEqual({holder: expect.objectContaining({pid: process.ppid, mode: 'server'})})
    await expect(assertNotServed(dir, 'reset the emulator')).rejects.toMatchObject({exitCode: 5, message: expect.stringContaining(`pid ${process.ppid}`)})
  })

  it('takes over a lock whose pid was recycled: the endpoint it names refuses connections', async () => {
    const dir = stateDirWith({pid: process.ppid, armEndpoint: `https://127.0.0.1:${await closedPort()}`})
    const taken = await acquireEmulatorLock(dir, 'server')
    if (!('held' in taken)) throw new Error('expected the stale lock to be taken over')
    expect(readEmulatorLock(dir)).toMatchObject({pid: process.pid, mode: 'server', token: taken.held.lock.token})
    taken.held.release()
    expect(readEmulatorLock(dir)).toBeUndefined()
    await assertNotServed(dir, 'reset the emulator')
  })

  it('takes over a lock with this process\'s pid that this process does not hold (a restarted container)', async () => {
    const dir = stateDirWith({pid: process.pid, token: 'previous-container'})
    const taken = await acquireEmulatorLock(dir, 'run')
    if (!('held' in taken)) throw new Error('expected the stale lock to be taken over')
    const again = await acquireEmulatorLock(dir, 'run')
    expect(again).toEqual({holder: expect.objectContaining({token: taken.held.lock.token})})
    taken.held.release()
  })

  it('lets exactly one of several concurrent takers win', async () => {
    const dir = stateDirWith()
    const results = await Promise.all([1, 2, 3, 4].map(() => acquireEmulatorLock(dir, 'run')))
    const winners = results.filter((r) => 'held' in r)
    expect(winners).toHaveLength(1)
    for (const w of winners) if ('held' in w) w.held.release()
  })
})
