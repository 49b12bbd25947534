/** Progress of a run with a group: the group's steps are indented under it in the plain (CI) reporter. */
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {PlainReporter} from '../../src/ui/plain-reporter.js'
import {run, runbook} from '../runbooks/engine-fixtures.js'

describe('plain progress with groups', () => {
  it('indents the steps of a group (and of a group in a group) under it', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => (text += String(d)))
    const reporter = new PlainReporter(out)
    const book = runbook(`
name: nested-progress
title: Nested progress
kind: checklist
steps:
  - id: outer
    steps:
      - {id: a, uses: core.log, with: {message: in a}}
      - id: inner
        needs: a
        steps:
          - {id: b, uses: core.log, with: {message: in b}}
`)
    await run(book, {onEvent: (e) => reporter.handle(e)})
    const lines = text.split('\n').map((l) => l.replace(/^\[[^\]]*\] /, ''))
    expect(lines).toEqual(
      expect.arrayContaining(['▸ outer [group]', '  ▸ outer.a [core.log]', '    outer.a: in a', '  ▸ outer.inner [group]', '    ▸ outer.inner.b [core.log]', '      outer.inner.b: in b']),
    )
  })
})
