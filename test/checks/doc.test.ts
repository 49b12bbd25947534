import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {checksMarkdown, coverage, malformedFrameworkIds} from '../../src/checks/doc.js'
import {DEFENDER_INITIATIVE_POLICIES} from '../../src/checks/coverage.js'
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

describe('framework ids in the rule registry', () => {
  it('every CIS, PSRule, Defender (Azure Policy) and azqr id has its framework format', () => {
    expect(malformedFrameworkIds()).toEqual([])
  })

  it('a malformed id is reported, per framework', () => {
    const rule = CHECKS.find((r) => r.id === 'st.tls.min12')!
    const bad = {
      ...rule,
      frameworks: {cis: ['9.3.6'], psrule: ['Storage.MinTLS'], defender: ['fe83a0eb-a853-422d-aac2-1bffd182c5d0', 'FE83A0EB'], azqr: ['st-9', 'ST-009', 'st-009', 'st-009']},
    }
    expect(malformedFrameworkIds([bad])).toEqual([
      'st.tls.min12: cis "9.3.6"',
      'st.tls.min12: psrule "Storage.MinTLS"',
      'st.tls.min12: defender "fe83a0eb-a853-422d-aac2-1bffd182c5d0"',
      'st.tls.min12: defender "FE83A0EB"',
      'st.tls.min12: azqr "st-9"',
      'st.tls.min12: azqr "ST-009"',
      'st.tls.min12: azqr st-009 listed twice',
    ])
  })

  it('the coverage table has one row per check, in registry order, with its Defender and azqr ids', () => {
    const lines = checksMarkdown().split('\n')
    const header = lines.indexOf('| check | severity | applies to | CIS | PSRule | Defender for Cloud (Azure Policy) | azqr |')
    expect(header).toBeGreaterThan(-1)
    const rows: string[][] = []
    for (let i = header + 2; lines[i]?.startsWith('|'); i++) rows.push(lines[i]!.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '')))
    expect(rows.map((row) => row[0]!.match(/^\[([^\]]+)\]/)?.[1])).toEqual(CHECKS.map((r) => r.id))
    for (const [i, rule] of CHECKS.entries()) {
      expect(rows[i]![5]!.replaceAll('‡', '')).toBe(rule.frameworks.defender?.join(', ') || '—')
      expect(rows[i]![6]).toBe(rule.frameworks.azqr?.join(', ') || '—')
    }
  })

  it('the Defender and azqr figures in the coverage section are counted from the registry', () => {
    const c = coverage()
    expect(c.defender.checks).toBe(CHECKS.filter((r) => (r.frameworks.defender ?? []).length > 0).length)
    expect(checksMarkdown()).toContain(`${c.defender.checks} of ${CHECKS.length} checks name at least one definition`)
    expect(checksMarkdown()).toContain(`${c.defender.initiativeChecks} of them one that Defender assigns`)
    expect(checksMarkdown()).toContain(`${c.azqr.checks} of ${CHECKS.length} checks name at least one recommendation`)
  })
})

describe('Defender for Cloud ids outside its default initiative', () => {
  it('are marked ‡ in the table, and the others are not', () => {
    const text = checksMarkdown()
    const cited = new Set(CHECKS.flatMap((r) => r.frameworks.defender ?? []))
    expect(cited.has('0b60c0b2') && DEFENDER_INITIATIVE_POLICIES.has('0b60c0b2')).toBe(true)
    for (const id of cited) {
      if (DEFENDER_INITIATIVE_POLICIES.has(id)) expect(text).not.toContain(`${id}‡`)
      else expect(text).toContain(`${id}‡`)
    }
  })
})
