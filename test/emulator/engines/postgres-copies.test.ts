/**
 * The PostgreSQL engine's copies of data directories (src/emulator/engines/postgres.ts) with plain folders in place of
 * initdb's: a copy of a template is stamped with the template's time, and a base backup links a live file to the
 * template (or to the previous backup) without reading it only while nothing has written it since. What a user would
 * notice if that went wrong is a restored server without the rows its backup was taken after: here, a backup's file
 * holding the template's bytes where the live file held others.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {copyLiveDirectory, copyTree, stampOf} from '../../../src/emulator/engines/postgres.js'
import {cachedDirectory} from '../../../src/emulator/engines/template-cache.js'

let root: string
let template: string
let at: number

/** A page of one byte value: files of the same size that differ. */
const page = (value: number) => Buffer.alloc(8192, value)
const ino = (path: string) => statSync(path).ino

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'opsbook-pg-copies-'))
  template = await cachedDirectory(join(root, 'templates'), 'opsbook-pg-template-test', 'key', async (into) => {
    mkdirSync(join(into, 'base', '1'), {recursive: true})
    writeFileSync(join(into, 'PG_VERSION'), '16\n')
    writeFileSync(join(into, 'base', '1', '1259'), page(1))
    writeFileSync(join(into, 'base', '1', '1249'), page(2))
  })
  at = stampOf(template).stampedAt!
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

describe('copies of a template and the base backups of them', () => {
  it('a file written right after the copy (same size, other bytes) is copied into the backup, the others linked to the template', () => {
    const data = join(root, 'data')
    copyTree(template, data, undefined, {template, at, every: true})
    expect(Math.round(statSync(join(data, 'base', '1', '1259')).mtimeMs)).toBe(at)
    // Written within the same millisecond as the copy if the machine is fast enough: its time is still not the stamp.
    writeFileSync(join(data, 'base', '1', '1259'), page(9))
    for (const compare of [false, true]) {
      const backup = join(root, `backup-${compare}`)
      copyLiveDirectory(data, backup, [{dir: template, stampedAt: at, compare}], undefined)
      expect(readFileSync(join(backup, 'base', '1', '1259'))).toEqual(page(9))
      expect(ino(join(backup, 'base', '1', '1259'))).not.toBe(ino(join(template, 'base', '1', '1259')))
      expect(ino(join(backup, 'base', '1', '1249'))).toBe(ino(join(template, 'base', '1', '1249')))
      expect(ino(join(backup, 'PG_VERSION'))).toBe(ino(join(template, 'PG_VERSION')))
    }
  })

  it('a server made again under the name of a dropped one: its stamped files are not taken for the dropped server\'s backup (other bytes, taken later)', () => {
    // The dropped server's backup, begun after the template was made, holds another 1249 of the same size.
    const dropped = join(root, 'dropped-backup')
    mkdirSync(join(dropped, 'base', '1'), {recursive: true})
    writeFileSync(join(dropped, 'PG_VERSION'), '16\n')
    writeFileSync(join(dropped, 'base', '1', '1259'), page(1))
    writeFileSync(join(dropped, 'base', '1', '1249'), page(5))
    const data = join(root, 'data')
    copyTree(template, data, undefined, {template, at, every: true})
    const backup = join(root, 'backup')
    copyLiveDirectory(data, backup, [{dir: dropped, unchangedBefore: Date.now() + 60_000, compare: true}, {dir: template, stampedAt: at, compare: false}], undefined)
    expect(readFileSync(join(backup, 'base', '1', '1249'))).toEqual(page(2))
    expect(ino(join(backup, 'base', '1', '1249'))).toBe(ino(join(template, 'base', '1', '1249')))
  })

  it("a restore's copy of a backup stamps only the backup's files that are the template's, and the next backup links only those", () => {
    const data = join(root, 'data')
    copyTree(template, data, undefined, {template, at, every: true})
    writeFileSync(join(data, 'base', '1', '1259'), page(9))
    const backup = join(root, 'backup')
    copyLiveDirectory(data, backup, [{dir: template, stampedAt: at, compare: true}], undefined)
    const restored = join(root, 'restored')
    copyTree(backup, restored, undefined, {template, at, every: false})
    expect(Math.round(statSync(join(restored, 'base', '1', '1249')).mtimeMs)).toBe(at)
    expect(Math.round(statSync(join(restored, 'base', '1', '1259')).mtimeMs)).not.toBe(at)
    const next = join(root, 'next-backup')
    copyLiveDirectory(restored, next, [{dir: template, stampedAt: at, compare: false}], undefined)
    expect(readFileSync(join(next, 'base', '1', '1259'))).toEqual(page(9))
    expect(ino(join(next, 'base', '1', '1249'))).toBe(ino(join(template, 'base', '1', '1249')))
  })
})
