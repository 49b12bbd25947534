/**
 * A waiver naming a check that does not exist waives nothing: `catalog validate` and `check` say so with file:line:col
 * and the closest id (exit 2), instead of "valid" and a finding that silently stays failed.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {unmatchedWaiverWarning, waiverProblems, waiverResourceWarnings} from '../../src/checks/waivers.js'
import {repoRoot, runCliInProcess} from '../helpers/cli.js'

function catalogWithWaivers(): {file: string; line: number} {
  const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
  const at = text.split('\n').findIndex((l) => l === '    components:')
  expect(at).toBeGreaterThan(0)
  const lines = text.split('\n')
  lines.splice(
    at,
    0,
    '    waivers:',
    '      - {check: redis.net.public_disabled, resource: sessions-cache, reason: VNet migration, owner: web-team, expires: "2027-03-31"}',
    '      - {check: redis.net.public_disable, resource: sessions-cache, reason: VNet migration, owner: web-team, expires: "2027-03-31"}',
  )
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-waivers-'))
  const file = join(dir, 'runbooks.yaml')
  writeFileSync(file, lines.join('\n'))
  return {file, line: at + 3}
}

describe('waivers naming unknown checks', () => {
  it('are problems at the check field with the closest id; known ids pass', () => {
    const {file, line} = catalogWithWaivers()
    const problems = waiverProblems(parseCatalog(file, readFileSync(file, 'utf8')))
    expect(problems).toHaveLength(1)
    expect(problems[0]!.location).toMatchObject({file, line})
    expect(problems[0]!.message).toContain('"redis.net.public_disable", which does not exist, so it waives nothing (did you mean "redis.net.public_disabled"?)')
  })

  it('catalog validate and check refuse the catalog (exit 2) naming file:line:col', async () => {
    const {file, line} = catalogWithWaivers()
    for (const args of [['catalog', 'validate'], ['check', '--env', 'local']]) {
      const result = await runCliInProcess([...args, '--catalog', file])
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toMatch(new RegExp(`${file.replaceAll('.', '\\.')}:${line}:\\d+: waiver names check "redis\\.net\\.public_disable"`))
    }
  }, 60_000)
})

describe('waivers naming a resource a letter off a component', () => {
  function catalogWithResourceTypo(): {file: string; line: number} {
    const text = readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')
    const lines = text.split('\n')
    const at = lines.findIndex((l) => l === '    components:')
    lines.splice(
      at,
      0,
      '    waivers:',
      '      - {check: redis.net.public_disabled, resource: sesions-cache, reason: VNet migration, owner: web-team, expires: "2027-03-31"}',
      '      - {check: redis.net.public_disabled, resource: redis-in-another-subscription, reason: fleet, owner: web-team, expires: "2027-03-31"}',
    )
    const file = join(mkdtempSync(join(tmpdir(), 'opsbook-waivers-')), 'runbooks.yaml')
    writeFileSync(file, lines.join('\n'))
    return {file, line: at + 2}
  }

  it('catalog validate warns at the resource field with the component meant (still valid: exit 0)', async () => {
    const {file, line} = catalogWithResourceTypo()
    // Only the near miss: a resource outside the catalog (a fleet scan's) is not a typo.
    const warnings = waiverResourceWarnings(parseCatalog(file, readFileSync(file, 'utf8')))
    expect(warnings.map((w) => w.message)).toEqual([
      'waiver for redis.net.public_disabled names resource "sesions-cache", which is no component of local: did you mean "sessions-cache"? (as written it waives only a resource of that exact name)',
    ])
    const result = await runCliInProcess(['catalog', 'validate', '--catalog', file])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`⚠ ${file}:${line}:`)
    expect(result.stdout).toContain('did you mean "sessions-cache"?')
  }, 60_000)

  it('check says a waiver whose resource it did not find waived nothing', () => {
    expect(unmatchedWaiverWarning({check: 'redis.net.public_disabled', resource: 'sesions-cache', owner: 'web-team', closest: 'sessions-cache'})).toBe(
      'waiver for redis.net.public_disabled (owner web-team) names resource "sesions-cache", which this scan did not find (no resource, resource id or component of that name), so it waived nothing: did you mean "sessions-cache"?',
    )
  })
})

