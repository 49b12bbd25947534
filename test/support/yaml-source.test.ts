/**
 * parseYamlSource keeps what it parsed (src/support/yaml-source.ts): a runbook is parsed again for every runbook that
 * calls it, every plan and every command. What a caller gets must be what a fresh parse gives, whatever earlier
 * callers did with theirs, and a changed file must be parsed again.
 */
import {describe, expect, it} from 'vitest'
import {parseYamlSource} from '../../src/support/yaml-source.js'

const TEXT = `name: kept
steps:
  - id: a
    with: {message: hello}
base: &base {retries: 2}
again: *base
`

describe('parseYamlSource, parsed before', () => {
  it('hands each caller its own value: a change one caller makes is not seen by the next', () => {
    const first = parseYamlSource('kept.yaml', TEXT)
    const value = first.value as {name: string; steps: Array<{id: string}>; again: {retries: number}}
    value.name = 'changed'
    value.steps.push({id: 'added'})
    value.again.retries = 9
    first.problems.push({code: 'x', message: 'added by a caller'})
    const second = parseYamlSource('kept.yaml', TEXT)
    expect(second.value).toEqual({name: 'kept', steps: [{id: 'a', with: {message: 'hello'}}], base: {retries: 2}, again: {retries: 2}})
    expect(second.problems).toEqual([])
    // An alias is the same object as its anchor, as the yaml library makes it.
    const again = second.value as {base: object; again: object}
    expect(again.again).toBe(again.base)
  })

  it('parses a changed text again, and locates in the file asked for', () => {
    parseYamlSource('kept.yaml', TEXT)
    const changed = parseYamlSource('kept.yaml', TEXT.replace('name: kept', 'name: changed\nname: twice'))
    expect((changed.value as {name: string}).name).toBe('twice')
    expect(changed.problems).toEqual([expect.objectContaining({code: 'duplicate-key', location: {file: 'kept.yaml', line: 2, column: 1}})])
    const other = parseYamlSource('other.yaml', TEXT)
    expect(other.locate(['steps', 0, 'with', 'message'])).toEqual({file: 'other.yaml', line: 4, column: 21})
    expect(parseYamlSource('kept.yaml', TEXT).locate(['steps', 0, 'with', 'message'])).toEqual({file: 'kept.yaml', line: 4, column: 21})
  })

  it('reports a syntax error each time it is asked', () => {
    for (let i = 0; i < 2; i++) {
      const broken = parseYamlSource('broken.yaml', 'steps: [a, b\n')
      expect(broken.value).toBeUndefined()
      expect(broken.problems[0]).toMatchObject({code: 'yaml-syntax', location: {file: 'broken.yaml'}})
    }
  })
})
