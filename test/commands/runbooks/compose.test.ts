/**
 * The CLI on runbook composition, spawned as users run it (two spawns: they are slow): `runbooks validate` reports
 * a bad runbook call or group with file:line:col and exits 2; `runbooks new` writes a runbook that `runbooks validate`
 * accepts.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../../helpers/cli.js'

describe('opsbook runbooks validate / new with groups and calls', () => {
  it('exits 2 with positioned problems for a call with a wrong param, a missing one and a cycle, and for bad groups', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-compose-cli-'))
    const file = join(dir, 'drill-lite.yaml')
    writeFileSync(
      file,
      `name: drill-lite
title: Calls pg-pitr wrongly, and itself
kind: drill
steps:
  - id: pg
    uses: runbook:pg-pitr
    with:
      server: orders-db
      restoreTme: "2026-01-01T00:00:00Z"
  - id: again
    uses: runbook:drill-lite
  - id: grp
    needs: [pg]
    steps:
      - {id: a, uses: core.log, needs: [pg], with: {message: a}}
      - {id: empty}
`,
    )
    const result = await runCli(['runbooks', 'validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${file}:8:7: runbook pg-pitr needs param "restoreTime" (datetime: UTC point to restore to, e.g. just before the bad write)`)
    expect(result.stderr).toContain(`${file}:9:7: runbook pg-pitr has no param "restoreTme" (did you mean "restoreTime"?`)
    expect(result.stderr).toContain(`${file}:11:11: runbook call cycle: drill-lite.yaml → drill-lite.yaml`)
    // Groups: an inner step needs only steps of its group; a step runs an action or holds a group.
    expect(result.stderr).toContain(`${file}:15:41: step "a" needs "pg", which is not a step; a step of a group needs only steps of its group (put outside needs on the group)`)
    expect(result.stderr).toContain(`${file}:16:9: step "empty" needs either uses: (an action or runbook:<name>) or steps: (a group)`)
  })

  it('runbooks new writes a file that validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-compose-new-'))
    const made = await runCli(['runbooks', 'new', 'nightly-check', '--dir', dir, '--kind', 'checklist', '--json'])
    expect(made.code).toBe(0)
    const {file} = JSON.parse(made.stdout) as {file: string}
    expect(file).toBe(join(dir, 'nightly-check.yaml'))
    const checked = await runCli(['runbooks', 'validate', file])
    expect(checked.stderr).toBe('')
    expect(checked.code).toBe(0)
  })
})
