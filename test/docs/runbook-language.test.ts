/**
 * docs/runbook-language.md: every YAML example is a complete runbook that validates exactly as
 * `opsbook runbooks validate` does (resolveRunbook: the loader, actions, params of called runbooks), and every
 * feature the reference promises has an example. Also: the scaffold of `opsbook runbooks new` validates as written.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveRunbook} from '../../src/runbooks/discovery.js'
import {scaffoldRunbook} from '../../src/runbooks/scaffold.js'
import {ValidationError} from '../../src/errors.js'

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'runbook-language.md'), 'utf8')
const examples = [...doc.matchAll(/^## (.+)$|```yaml\n([\s\S]*?)```/gm)].reduce<Array<{section: string; yaml: string}>>((found, match) => {
  if (match[1]) found.push({section: match[1], yaml: ''})
  else if (found.length > 0) found[found.length - 1]!.yaml = match[2]!
  return found
}, [])
const dir = mkdtempSync(join(tmpdir(), 'opsbook-doc-examples-'))

describe('docs/runbook-language.md', () => {
  it('has one worked example per feature', () => {
    const withExample = examples.filter((e) => e.yaml).map((e) => e.section)
    expect(withExample).toEqual(['Params', 'Expressions', 'Needs', 'forEach', 'Groups', 'Calling runbooks', 'Rollback', 'Finally', 'Approvals', 'Outputs'])
  })

  for (const example of examples.filter((e) => e.yaml)) {
    it(`the ${example.section} example validates`, () => {
      const file = join(dir, `${example.section.replace(/\W+/g, '-').toLowerCase()}.yaml`)
      writeFileSync(file, example.yaml)
      let problems: string[] = []
      try {
        resolveRunbook(file)
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error
        problems = error.problems.map((p) => `${p.location?.line}:${p.location?.column} ${p.message}`)
      }
      expect(problems).toEqual([])
    })
  }

  it('the group and call examples really hold a group and a call', () => {
    const groups = resolveRunbook(writeExample('Groups'))
    expect(groups.steps[0]!.group?.steps.map((s) => s.id)).toEqual(['restorable', 'verify'])
    const calls = resolveRunbook(writeExample('Calling runbooks'))
    expect(calls.steps[0]!.group?.callee?.name).toBe('pg-pitr')
  })
})

describe('opsbook runbooks new (scaffold)', () => {
  it('writes a runbook with the schema header that validates as written, and refuses to overwrite one', () => {
    const {file, text} = scaffoldRunbook('db-failover', {dir})
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/runbook\.schema\.json$/)
    const runbook = resolveRunbook(file)
    expect(runbook.name).toBe('db-failover')
    expect(runbook.steps.find((s) => s.id === 'work')?.group?.steps).toHaveLength(2)
    expect(() => scaffoldRunbook('db-failover', {dir})).toThrow(/already exists; choose another name or pass --force/)
    expect(() => scaffoldRunbook('DB Failover', {dir})).toThrow(/expected a kebab-case name/)
  })
})

function writeExample(section: string): string {
  const file = join(dir, `again-${section.replace(/\W+/g, '-').toLowerCase()}.yaml`)
  writeFileSync(file, examples.find((e) => e.section === section)!.yaml)
  return file
}
