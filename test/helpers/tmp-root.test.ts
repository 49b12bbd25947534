/**
 * The run's temporary folder (./tmp-root.ts): every temporary file of the run is made inside one folder, which the
 * global setup removes at the end, so a run leaves nothing in the system temp dir.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {TMP_ROOT_ENV} from './tmp-root.js'

describe('the test run\'s temporary folder', () => {
  it('is where this worker and the processes it starts make their temporary files, reachable by other users (as /tmp)', () => {
    const root = process.env[TMP_ROOT_ENV]
    expect(root, 'vitest.config.ts globalSetup test/helpers/tmp-root.ts').toBeTruthy()
    expect(tmpdir()).toBe(root)
    // As a test file makes one (the scratch folders, emulator state).
    expect(dirname(mkdtempSync(join(tmpdir(), 'opsbook-cli-')))).toBe(root)
    // A child process (the CLI, an emulator's data plane) inherits it.
    expect(execFileSync(process.execPath, ['-p', 'require("node:os").tmpdir()'], {encoding: 'utf8'}).trim()).toBe(root)
    // Sticky and world-writable like /tmp: PostgreSQL, run as `postgres` under root, reaches its socket folder here.
    expect(statSync(root!).mode & 0o1777).toBe(0o1777)
    // Unix socket paths stay far below the 107-byte limit (postgres.ts socketDirOf).
    expect(join(root!, 'opsbook-pgs-0123456789ab', '.s.PGSQL.65535').length).toBeLessThan(100)
  })
})
