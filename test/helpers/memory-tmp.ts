/**
 * The system temp dir in memory for the test files that run real PostgreSQL servers: TMPDIR is pointed at /dev/shm
 * (a tmpfs) for the rest of the file — test/helpers/file-isolation.ts puts the environment back when the file ends —
 * so the engines' data directories, base backups, WAL archives and the initdb templates they copy
 * (engines/postgres.ts) are written to memory instead of the shared disk.
 *
 * Why: on the 2-core machine most of such a file's time went into the file system, not into PostgreSQL or the code
 * under test. A CPU profile of postgres-upgrade.test.ts (stop 29) spent 42 s of its 164 s in rmSync (the folders'
 * removal at the end), 16 s copying templates and backups, 15 s comparing a base backup's files; its `time -v` CPU
 * was 36.1 s on disk and 26.3 s with the same code on /dev/shm (system time 18.4 → 10.7 s), because ext4 (mounted
 * with `discard`) journals, allocates and writes back every copied megabyte while five other sessions use the disk.
 * What the tests check is unchanged: the same engine code runs the same servers; only the folder's file system
 * differs (tmpfs supports what the tests need of it, e.g. `chattr +i`, checked where used).
 *
 * Only when /dev/shm is a writable tmpfs with room to spare (2 GiB free: a file's servers take a few hundred MB);
 * otherwise the temp dir stays as it is.
 */
import {accessSync, constants, readFileSync, statfsSync} from 'node:fs'

const MEMORY_DIR = '/dev/shm'
const ROOM = 2 * 1024 ** 3

export function memoryTempDir(): string | undefined {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
    if (!mounts.split('\n').some((line) => line.split(' ')[1] === MEMORY_DIR && line.split(' ')[2] === 'tmpfs')) return undefined
    accessSync(MEMORY_DIR, constants.W_OK)
    const fs = statfsSync(MEMORY_DIR)
    return fs.bavail * fs.bsize >= ROOM ? MEMORY_DIR : undefined
  } catch {
    return undefined
  }
}

/**
 * Point TMPDIR (os.tmpdir()) at memory for this test file, when it can be. Call at the top of the file. The initdb
 * templates too (OPSBOOK_PG_TEMPLATE_DIR, kept there from run to run): a base backup hard-links the files it shares
 * with its server's template, which works only on the same file system.
 */
export function useMemoryTempDir(): void {
  const dir = memoryTempDir()
  if (dir) {
    process.env.TMPDIR = dir
    process.env.OPSBOOK_PG_TEMPLATE_DIR = dir
  }
}
