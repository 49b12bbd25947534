/**
 * Vitest global setup: one temporary folder per test run, removed at its end. A full CI run left ~138 folders
 * /tmp/opsbook-* behind (test files' mkdtemp folders, emulator state, PostgreSQL data and socket folders, the
 * contract log): each file cleaning up its own was never finished, and a crash or a timeout skips an afterAll anyway.
 *
 * Here TMPDIR points at `<system temp>/opsbook-t-XXXXXX` before any worker starts: os.tmpdir() reads TMPDIR on each
 * call, the workers (forks) and every process they start (the CLI, redis-server) inherit it, so every temporary
 * folder of the run is made inside. At the end the folder is removed — unless a test failed (or OPSBOOK_KEEP_TMP=1):
 * then it stays, named, with the runs, journals and emulator state the failure left.
 *
 * The folder is mode 1777, as /tmp: as root the emulator's PostgreSQL servers run as `postgres`, which must reach its
 * socket folder (<TMPDIR>/opsbook-pgs-<12 hex>, src/emulator/engines/postgres.ts socketDirOf). The unix socket path
 * stays short: `/tmp/opsbook-t-XXXXXX/opsbook-pgs-<12 hex>/.s.PGSQL.65535` is 66 bytes of the 107 allowed.
 */
import {chmodSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'

/** The run's temporary folder, for a test that checks it is used (test/helpers/tmp-root.test.ts). */
export const TMP_ROOT_ENV = 'OPSBOOK_TEST_TMP_ROOT'
/**
 * The system temp dir outside it, for what is meant to outlive a run: a cache kept for the next run (az's command
 * index, test/helpers/az.ts), which costs seconds of CPU to build again.
 */
export const SYSTEM_TMP_ENV = 'OPSBOOK_TEST_SYSTEM_TMPDIR'
/**
 * The emulator's PostgreSQL initdb templates (src/emulator/engines/template-cache.ts) are such a cache: kept in the
 * system temp dir too (~1.1 s of CPU per major to build again), for the workers and every CLI process they start.
 */
const PG_TEMPLATE_DIR_ENV = 'OPSBOOK_PG_TEMPLATE_DIR'

export function setup(project: TestProject): () => void {
  const saved = {TMPDIR: process.env.TMPDIR, root: process.env[TMP_ROOT_ENV], system: process.env[SYSTEM_TMP_ENV], templates: process.env[PG_TEMPLATE_DIR_ENV]}
  process.env[SYSTEM_TMP_ENV] ??= tmpdir()
  process.env[PG_TEMPLATE_DIR_ENV] ??= process.env[SYSTEM_TMP_ENV]
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-t-'))
  chmodSync(dir, 0o1777)
  process.env.TMPDIR = dir
  process.env[TMP_ROOT_ENV] = dir
  return () => {
    if (saved.TMPDIR === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved.TMPDIR
    if (saved.root === undefined) delete process.env[TMP_ROOT_ENV]
    else process.env[TMP_ROOT_ENV] = saved.root
    if (saved.system === undefined) delete process.env[SYSTEM_TMP_ENV]
    else process.env[SYSTEM_TMP_ENV] = saved.system
    if (saved.templates === undefined) delete process.env[PG_TEMPLATE_DIR_ENV]
    else process.env[PG_TEMPLATE_DIR_ENV] = saved.templates
    const failed = project.vitest.state.getCountOfFailedTests() + project.vitest.state.getFailedFilepaths().length
    if (failed > 0 || process.env.OPSBOOK_KEEP_TMP === '1') {
      process.stdout.write(`\ntemporary files of this run kept in ${dir}${failed > 0 ? ' (a test failed)' : ' (OPSBOOK_KEEP_TMP=1)'}\n`)
      return
    }
    try {
      rmSync(dir, {recursive: true, force: true, maxRetries: 5, retryDelay: 200})
    } catch (error) {
      process.stdout.write(`\nwarning: could not remove this run's temporary folder ${dir}: ${(error as Error).message}\n`)
    }
    if (existsSync(dir)) process.stdout.write(`\nwarning: this run's temporary folder ${dir} is still there\n`)
  }
}
