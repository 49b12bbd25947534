import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {checksMarkdown, coverage} from '../../src/checks/doc.js'
import {CHECKS} from '../../src/checks/rules/index.js'

describe('docs/checks.md', () => {
  it('is generated from the rule registry (run `npm run build && npm run checks-doc` after changing a rule)', () => {
    expect(readFileSync(new URL('../../docs/checks.md', import.meta.url), 'utf8')).toBe(checksMarkdown())
  })

  it('has an anchor per check for SARIF helpUri, and every framework reference a check makes is in the coverage lists', () => {
    const text = checksMarkdown()
    for (const rule of CHECKS) expect(text).toContain(`<a id="${rule.id}"></a>`)
    const c = coverage()
    // The goal the issue sets: at least 85 % of PSRule's GA rules for the five services.
    expect(c.psrule.covered / c.psrule.total).toBeGreaterThanOrEqual(0.85)
    expect(c.cis.covered / c.cis.total).toBeGreaterThanOrEqual(0.85)
  })
})
