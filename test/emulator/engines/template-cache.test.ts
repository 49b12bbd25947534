/**
 * The cache the PostgreSQL initdb templates are kept in (src/emulator/engines/template-cache.ts), with a build that
 * writes a few files in place of initdb: what is checked is the cache — built once, shared by builds racing each
 * other, a broken entry noticed and built again — not PostgreSQL (every real-engine test copies real templates).
 */
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {cachedDirectory, intact, UNUSED_ENTRY_MS} from '../../../src/emulator/engines/template-cache.js'

let root: string
let builds: number

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'opsbook-template-cache-'))
  builds = 0
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

/** A build as initdb's: a few folders and files, one of them larger; `gate` holds it until released. */
function build(gate?: Promise<void>) {
  return async (into: string) => {
    builds++
    await gate
    mkdirSync(join(into, 'base', '1'), {recursive: true})
    writeFileSync(join(into, 'PG_VERSION'), '16\n')
    writeFileSync(join(into, 'base', '1', '1259'), Buffer.alloc(64 * 1024, 7))
  }
}

const siblings = () => readdirSync(root).sort()

describe('the initdb template cache', () => {
  it('builds an entry once and hands out the same folder after, with the files the build wrote', async () => {
    const first = await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())
    const again = await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())
    expect([again, builds]).toEqual([first, 1])
    expect(first).toBe(join(root, 'opsbook-pg-template-x', 'data'))
    expect(readFileSync(join(first, 'base', '1', '1259')).length).toBe(64 * 1024)
    expect(siblings()).toEqual(['opsbook-pg-template-x'])
  })

  it('gives two builds racing each other (two processes starting at once) one complete entry, nothing left beside it', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const racing = [cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build(gate)), cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build(gate))]
    // Both are building (neither found an entry) before either finishes.
    await expect.poll(() => builds).toBe(2)
    release()
    const [a, b] = await Promise.all(racing)
    expect(a).toBe(b)
    expect(intact(join(root, 'opsbook-pg-template-x'), 'key-1')).toBe(true)
    expect(siblings()).toEqual(['opsbook-pg-template-x'])
  })

  it.each([
    ['a file removed (a temp-folder cleaner)', (data: string) => unlinkSync(join(data, 'base', '1', '1259'))],
    ['a file cut short (a full disk)', (data: string) => truncateSync(join(data, 'base', '1', '1259'), 100)],
    ['a file that was not built', (data: string) => writeFileSync(join(data, 'base', '1', 'stray'), 'x')],
    ['a folder removed', (data: string) => rmSync(join(data, 'base'), {recursive: true})],
    ['no manifest (an entry of an older opsbook, or one cut short)', (data: string) => unlinkSync(join(data, '..', 'manifest.json'))],
    ['a manifest that is not JSON', (data: string) => writeFileSync(join(data, '..', 'manifest.json'), '{"format":1,')],
  ])('builds an entry again when it finds %s', async (_what, breakIt) => {
    const data = await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())
    breakIt(data)
    expect(intact(join(root, 'opsbook-pg-template-x'), 'key-1')).toBe(false)
    expect(await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())).toBe(data)
    expect(builds).toBe(2)
    expect(readFileSync(join(data, 'base', '1', '1259')).length).toBe(64 * 1024)
    expect(existsSync(join(data, 'base', '1', 'stray'))).toBe(false)
    expect(intact(join(root, 'opsbook-pg-template-x'), 'key-1')).toBe(true)
    // The broken entry was moved aside and removed.
    expect(siblings()).toEqual(['opsbook-pg-template-x'])
  })

  it('builds again for other binaries or options (another key), under the same name', async () => {
    await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())
    await cachedDirectory(root, 'opsbook-pg-template-x', 'key-2', build())
    expect(builds).toBe(2)
    expect(intact(join(root, 'opsbook-pg-template-x'), 'key-2')).toBe(true)
  })

  it('leaves nothing behind when the build fails, and says why', async () => {
    await expect(
      cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', async (into) => {
        writeFileSync(join(into, 'PG_VERSION'), '16\n')
        throw new Error('initdb exited with 1: could not create directory')
      }),
    ).rejects.toThrow('initdb exited with 1')
    expect(siblings()).toEqual([])
  })

  it('removes what a crashed build left (its process gone, older than 10 minutes), not what a live one is writing', async () => {
    const old = Date.now() - 11 * 60_000
    // pid 2^22 + 1 is above Linux's largest pid (pid_max at most 2^22): no such process.
    const crashed = join(root, `opsbook-pg-template-x.${2 ** 22 + 1}.${old}`)
    const building = join(root, `opsbook-pg-template-x.${process.ppid}.${old}`)
    for (const dir of [crashed, building]) mkdirSync(join(dir, 'data'), {recursive: true})
    await cachedDirectory(root, 'opsbook-pg-template-x', 'key-1', build())
    expect(siblings()).toEqual(['opsbook-pg-template-x', `opsbook-pg-template-x.${process.ppid}.${old}`])
  })
  it('removes the entries of another install not used for a day when it builds one, keeps those used since, and marks its own as used', async () => {
    const family = 'opsbook-pg-template-'
    // Two other installs' entries (another clone's npm ci: other binaries, another name), one unused for a day.
    await cachedDirectory(root, `${family}16-aaaa`, 'key-a', build(), undefined, family)
    await cachedDirectory(root, `${family}16-bbbb`, 'key-b', build(), undefined, family)
    const dayAgo = new Date(Date.now() - UNUSED_ENTRY_MS - 60_000)
    utimesSync(join(root, `${family}16-aaaa`), dayAgo, dayAgo)
    // Not of the family: never touched.
    mkdirSync(join(root, 'unrelated'))
    utimesSync(join(root, 'unrelated'), dayAgo, dayAgo)

    await cachedDirectory(root, `${family}16-cccc`, 'key-c', build(), undefined, family)
    expect(siblings()).toEqual([`${family}16-bbbb`, `${family}16-cccc`, 'unrelated'])

    // Using an entry marks it, so an install in use keeps its template however old it is.
    utimesSync(join(root, `${family}16-bbbb`), dayAgo, dayAgo)
    await cachedDirectory(root, `${family}16-bbbb`, 'key-b', build(), undefined, family)
    expect(Date.now() - statSync(join(root, `${family}16-bbbb`)).mtimeMs).toBeLessThan(UNUSED_ENTRY_MS)
    await cachedDirectory(root, `${family}16-dddd`, 'key-d', build(), undefined, family)
    expect(siblings()).toEqual([`${family}16-bbbb`, `${family}16-cccc`, `${family}16-dddd`, 'unrelated'])
  })
})
