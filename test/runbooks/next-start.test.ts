/**
 * `window status` per disruptive runbook: the note under a runbook that can never start must tell the on-call engineer
 * something they can do with that runbook. A runbook acting on one target has no `--component`.
 */
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {getEnvironment, loadCatalog} from '../../src/catalog/loader.js'
import {disruptiveRunbookStarts} from '../../src/runbooks/next-start.js'
import {repoRoot} from '../helpers/cli.js'

describe('disruptiveRunbookStarts notes', () => {
  const loaded = loadCatalog({flag: join(repoRoot, 'examples', 'azure-platform.yaml')})
  const env = getEnvironment(loaded, 'production')
  const at = new Date('2026-12-03T12:00:00Z')

  it('a target without a window: give it one or override, never "--component for the others"', async () => {
    const starts = await disruptiveRunbookStarts(loaded, 'production', env, at)
    const swap = starts.find((s) => s.runbook === 'slot-swap' && s.target === 'brochure')
    expect(swap?.nextStart).toBeUndefined()
    expect(swap?.note).toBe('brochure has no maintenance window: give it one, or run with --override-window --reason "…"')
  })

  it('a runbook over many components still points at --component', async () => {
    const starts = await disruptiveRunbookStarts(loaded, 'production', env, at)
    const drill = starts.find((s) => s.runbook === 'dr-drill')
    expect(drill?.note).toMatch(/ no maintenance window: use --component for the others, or give them one$/)
  })
})
