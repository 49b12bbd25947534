/** plan of a runbook that calls an incident runbook: the callee's steps nested under the call, with its params. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildPlan, renderPlan} from '../../src/runbooks/plan.js'
import {prepareRun} from '../../src/runbooks/runner.js'
import {repoRoot} from '../helpers/cli.js'

describe('plan with groups and runbook calls', () => {
  it('lists the called runbook\'s steps under the call, indented, with the caller\'s with: as their params', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-plan-groups-'))
    const file = join(dir, 'restore-then-log.yaml')
    writeFileSync(
      file,
      `name: restore-then-log
title: Restore orders-db with pg-pitr, then log
kind: incident
steps:
  - id: pitr
    uses: runbook:pg-pitr
    with: {server: orders-db, restoreTime: "2026-12-02T05:00:00Z"}
  - id: after
    needs: pitr
    uses: core.log
    with: {message: "\${{ steps.pitr.outputs.server }}"}
`,
    )
    const prepared = await prepareRun({runbook: file, envName: 'local', params: {}, cwd: repoRoot, env: {}})
    const plan = buildPlan(prepared, {now: new Date('2026-12-02T06:00:00Z')})
    expect(plan.steps.map((s) => [s.id, s.depth ?? 0, s.parent])).toEqual([
      ['pitr', 0, undefined],
      ['pitr.check', 1, 'pitr'],
      ['pitr.approve', 1, 'pitr'],
      ['pitr.restore', 1, 'pitr'],
      ['pitr.geo-restore', 1, 'pitr'],
      ['pitr.ready', 1, 'pitr'],
      ['pitr.verify', 1, 'pitr'],
      ['pitr.cutover', 1, 'pitr'],
      ['pitr.teardown', 1, 'pitr'],
      ['pitr.cleanup-failed-restore', 1, 'pitr'],
      ['after', 0, undefined],
    ])
    expect(plan.steps[0]).toMatchObject({uses: 'runbook:pg-pitr', summary: expect.stringContaining('calls runbook pg-pitr'), inputs: {server: 'orders-db', cutover: false}})
    const restore = plan.steps.find((s) => s.id === 'pitr.restore')!
    // The callee's params resolve in its steps: the restore is planned against orders-db at the given time.
    expect(restore.az.join('\n')).toContain('--restore-time 2026-12-02T05:00:00Z')
    expect(plan.changes).toBe(true)
    const text = renderPlan(plan)
    expect(text).toMatch(/\n {4} 4\. pitr\.restore {2}\[postgres\.restore\]/)
  })
})
