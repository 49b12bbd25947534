import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {ValidationError} from '../../src/errors.js'
import {listRunbooks, loadRunbook, resolveRunbookReference} from '../../src/runbooks/discovery.js'
import {builtinRunbooksDir, packageRoot} from '../../src/runbooks/package-paths.js'

const catalogText = (runbooksDir?: string) => `version: 1
${runbooksDir ? `runbooksDir: ${runbooksDir}\n` : ''}environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg-app]
    components: {}
`

/** A catalog in a temp folder with its own runbook folder: one new runbook, one that shadows `hello`, one broken. */
function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-discovery-'))
  mkdirSync(join(dir, 'ops'))
  writeFileSync(
    join(dir, 'ops', 'warm-cache.yaml'),
    'name: warm-cache\ntitle: Warm the cache\nkind: maintenance\ndisruptive: true\nsteps:\n  - {id: a, uses: core.log, with: {message: warm}}\n',
  )
  writeFileSync(join(dir, 'ops', 'hello.yml'), 'name: hello\ntitle: Our own hello\nkind: checklist\nsteps:\n  - {id: a, uses: core.log, with: {message: hi}}\n')
  writeFileSync(join(dir, 'ops', 'broken.yaml'), 'name: [unclosed\n')
  const file = join(dir, 'runbooks.yaml')
  writeFileSync(file, catalogText('ops'))
  return {dir, catalog: parseCatalog(file, catalogText('ops'))}
}

describe('discovery', () => {
  it('finds the package root and the built-in runbooks from the source tree', () => {
    expect(builtinRunbooksDir()).toBe(join(packageRoot(), 'src', 'runbooks', 'library'))
    const hello = listRunbooks().find((entry) => entry.name === 'hello')
    expect(hello).toMatchObject({title: 'Say hello, pause briefly, and say goodbye', kind: 'checklist', disruptive: false, source: 'builtin:hello', origin: 'builtin'})
  })

  it('loads a built-in by name, recording builtin:<name> as its source', () => {
    const runbook = loadRunbook('hello')
    expect(runbook.source).toBe('builtin:hello')
    expect(runbook.steps.map((s) => s.uses)).toEqual(['core.log', 'core.wait'])
  })

  it('lists catalog runbooks, which shadow built-ins of the same name, and keeps broken files visible', () => {
    const {dir, catalog} = workspace()
    const entries = listRunbooks(catalog)
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]))
    expect(byName['warm-cache']).toMatchObject({title: 'Warm the cache', kind: 'maintenance', disruptive: true, origin: 'catalog', source: join(dir, 'ops', 'warm-cache.yaml')})
    expect(byName.hello).toMatchObject({title: 'Our own hello', origin: 'catalog'})
    expect(byName.broken!.error).toBeTruthy()
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort())
    expect(loadRunbook('warm-cache', catalog).title).toBe('Warm the cache')
  })

  it('resolves paths relative to the working directory', () => {
    const {dir} = workspace()
    expect(resolveRunbookReference('ops/warm-cache.yaml', undefined, {cwd: dir})).toEqual({
      file: join(dir, 'ops', 'warm-cache.yaml'),
      source: join(dir, 'ops', 'warm-cache.yaml'),
      origin: 'file',
    })
    expect(() => resolveRunbookReference('ops/missing.yaml', undefined, {cwd: dir})).toThrow(/runbook file not found/)
  })

  it('rejects an unknown name with exit 2, a suggestion and the known names', () => {
    const {catalog} = workspace()
    let error: unknown
    try {
      resolveRunbookReference('warm-cahce', catalog)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).exitCode).toBe(2)
    expect((error as Error).message).toContain('unknown runbook "warm-cahce" (did you mean "warm-cache"?); known runbooks: ')
    expect((error as Error).message).toMatch(/known runbooks: .*hello.*warm-cache/)
  })
})
